"""Review of the latent SCM (CausalVAE's head): exact inverses, interventions against a hand computation
through the mechanisms, the loss terms against their formulas, NOTEARS against scipy, and bad input."""

import numpy as np
import pytest
import scipy.linalg
import torch

from latentscm.graph import CausalGraph
from latentscm.nn.latent_scm import LatentSCM, notears_acyclicity

NAMES = ["a", "b", "c", "d"]
EDGES = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")]


def _scm(mechanism: str) -> LatentSCM:
    torch.manual_seed(0)
    scm = LatentSCM(NAMES, CausalGraph(EDGES, nodes=NAMES), mechanism=mechanism, hidden=8).double()
    if mechanism == "post_nonlinear":  # steep and flat outer functions, from nearly tanh to nearly linear
        with torch.no_grad():
            scm.pnl_linear.copy_(torch.tensor([-6.0, -1.0, 0.5, 2.0]))
            scm.pnl_tanh.copy_(torch.tensor([3.0, 1.0, -2.0, 0.0]))
    return scm


def _by_hand(scm: LatentSCM):
    """(f_i, g_i) written out from the parameters, one node at a time."""
    def f(i: int, z: torch.Tensor) -> torch.Tensor:
        if scm.mask[i].sum() == 0:
            return torch.zeros(z.shape[0], dtype=z.dtype)
        hidden = torch.nn.functional.silu(z @ (scm.weight_in[i] * scm.mask[i][:, None]) + scm.bias_in[i])
        return hidden @ scm.weight_out[i] + scm.bias_out[i]

    def g(i: int, x: torch.Tensor) -> torch.Tensor:
        if scm.mechanism == "additive":
            return x
        a = torch.nn.functional.softplus(scm.pnl_linear[i]) + 1e-3
        b = torch.nn.functional.softplus(scm.pnl_tanh[i])
        return a * x + b * torch.tanh(x)

    return f, g


@pytest.mark.parametrize("mechanism", ["additive", "post_nonlinear"])
def test_forward_and_abduct_are_exact_inverses_in_float64(mechanism):
    scm = _scm(mechanism)
    u = 2 * torch.randn(400, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        z = scm(u)
        assert torch.allclose(scm.abduct(z), u, rtol=0, atol=1e-11)
        assert torch.allclose(scm(scm.abduct(z)), z, rtol=0, atol=1e-11)
        f, g = _by_hand(scm)  # forward is the topological solution z_i = g_i(f_i(z_pa) + u_i)
        hand = torch.zeros_like(u)
        for i in range(4):
            hand[:, i] = g(i, f(i, hand) + u[:, i])
        assert torch.allclose(z, hand, rtol=0, atol=1e-12)


@pytest.mark.parametrize("mechanism", ["additive", "post_nonlinear"])
def test_interventions_cut_the_mechanism_and_recompute_every_descendant(mechanism):
    scm = _scm(mechanism)
    f, g = _by_hand(scm)
    with torch.no_grad():
        z = scm(torch.randn(64, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2)))
        u = scm.abduct(z)
        for name, value in (("a", 2.0), ("b", -0.7), ("c", 1.3)):
            index = NAMES.index(name)
            hand = z.clone()
            hand[:, index] = value
            for i in range(index + 1, 4):  # NAMES is a topological order; non-descendants keep their value
                if NAMES[i] in scm.graph.descendants(name):
                    hand[:, i] = g(i, f(i, hand) + u[:, i])
            cf = scm.intervene(z, {name: value})
            assert torch.allclose(cf, hand, rtol=0, atol=1e-12), name
            untouched = [i for i, n in enumerate(NAMES) if n != name and n not in scm.graph.descendants(name)]
            assert torch.equal(cf[:, untouched], z[:, untouched])  # bit for bit
        assert torch.allclose(scm.intervene(z, {"c": z[:, 2]}), z, rtol=0, atol=1e-12)  # do(own value): no change
        # known-target data: the intervened node's mechanism is cut in forward too
        targets = torch.zeros(64, 4, dtype=torch.bool)
        targets[:, 1] = True
        cut = scm(u, targets=targets)
        assert torch.allclose(cut, scm.intervene(z, {"b": g(1, u[:, 1])}), rtol=0, atol=1e-12)


@pytest.mark.parametrize("mechanism", ["additive", "post_nonlinear"])
def test_the_mechanism_fit_term_is_twice_the_label_nll(mechanism):
    scm = _scm(mechanism)
    f, g = _by_hand(scm)
    y = torch.randn(30, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        _, fit, h = scm(y, labels=y, terms=True, with_acyclicity=True)
        for i in range(4):  # g_i^{-1}(y) by bisection, independent of the Newton solve in the code
            low, high = torch.full((30,), -1e4, dtype=torch.float64), torch.full((30,), 1e4, dtype=torch.float64)
            for _ in range(200):
                mid = (low + high) / 2
                above = g(i, mid) > y[:, i]
                high, low = torch.where(above, mid, high), torch.where(above, low, mid)
            inner = (low + high) / 2
            expected = (inner - f(i, y)) ** 2
            if mechanism == "post_nonlinear":  # change of variables: log g'(g^{-1}(y))
                delta = 1e-6
                slope = (g(i, inner + delta) - g(i, inner - delta)) / (2 * delta)
                expected = expected + 2 * torch.log(slope)
            assert torch.allclose(fit[:, i], expected, rtol=1e-7, atol=1e-8), i
    assert float(h) == pytest.approx(0.0, abs=1e-12)  # a fixed DAG


def test_notears_matches_scipy_expm():
    rng = np.random.default_rng(0)
    for d in (1, 3, 6):
        adjacency = rng.normal(size=(d, d)) * 0.7
        expected = np.trace(scipy.linalg.expm(adjacency * adjacency)) - d
        assert float(notears_acyclicity(torch.as_tensor(adjacency))) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert float(notears_acyclicity(torch.as_tensor(np.triu(rng.normal(size=(5, 5)), 1)))) == 0.0


def test_intervene_names_misshapen_u_and_values():
    scm = _scm("additive")
    z = torch.randn(5, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="'u' must have the shape of z"):  # used to broadcast one row silently
        scm.intervene(z, {"a": 1.0}, u=torch.zeros(1, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="'u' must have the shape of z"):
        scm.intervene(z, {"a": 1.0}, u=torch.zeros(5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="latent 'a' must be one value or one per row"):
        scm.intervene(z, {"a": torch.ones(3)})
    with pytest.raises(ValueError, match="latent 'b' must be one value or one per row"):
        scm.intervene(z, {"b": torch.ones(5, 1)})
    assert scm.intervene(z, {"a": torch.ones(1)}).shape == (5, 4)  # one value, as a length-1 array
    assert scm.intervene(z, {"a": torch.arange(5.0)})[:, 0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
