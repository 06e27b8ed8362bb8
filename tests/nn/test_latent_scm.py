import numpy as np
import pytest
import torch

from latentscm.graph import CausalGraph, UnknownNodeError
from latentscm.nn.latent_scm import LatentSCM, notears_acyclicity

CHAIN = CausalGraph.from_text("a -> b -> c; d")


@pytest.fixture(params=["additive", "post_nonlinear"])
def head(request):
    torch.manual_seed(0)
    return LatentSCM(["a", "b", "c", "d"], CHAIN, mechanism=request.param, hidden=16)


def test_forward_follows_the_graph(head):
    u = torch.randn(64, 4, generator=torch.Generator().manual_seed(1))
    z = head(u)
    # roots keep their exogenous value (additive) / a monotone map of it (pnl)
    if head.mechanism == "additive":
        torch.testing.assert_close(z[:, [0, 3]], u[:, [0, 3]])
    # changing u_a changes b and c; changing u_c changes only c
    bumped = u.clone()
    bumped[:, 0] += 1.0
    z2 = head(bumped)
    assert (z2[:, 1] != z[:, 1]).all() and (z2[:, 2] != z[:, 2]).all()
    assert torch.equal(z2[:, 3], z[:, 3])
    bumped = u.clone()
    bumped[:, 2] += 1.0
    z3 = head(bumped)
    assert torch.equal(z3[:, :2], z[:, :2])


def test_abduct_inverts_forward(head):
    with torch.no_grad():
        u = torch.randn(32, 4, generator=torch.Generator().manual_seed(2))
        z = head(u)
        torch.testing.assert_close(head.abduct(z), u, atol=1e-5, rtol=1e-5)


def test_intervention_reaches_grandchildren_and_spares_the_rest(head):
    with torch.no_grad():
        u = torch.randn(16, 4, generator=torch.Generator().manual_seed(3))
        z = head(u)
        same = head.intervene(z, {})
        assert torch.equal(same, z)
        out = head.intervene(z, {"a": 2.0})
        assert torch.all(out[:, 0] == 2.0)
        assert (out[:, 1] != z[:, 1]).all() and (out[:, 2] != z[:, 2]).all()  # child and grandchild
        assert torch.equal(out[:, 3], z[:, 3])
        # equals running the SCM forward with u_a replaced so that z_a = 2
        expected = head(torch.cat([head.abduct(out)[:, :1], u[:, 1:]], dim=1))
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
        effect = head.intervene(z, {"c": -1.0})  # intervening on an effect leaves causes alone
        assert torch.equal(effect[:, :2], z[:, :2]) and torch.all(effect[:, 2] == -1.0)


def test_empty_graph_is_identity():
    head = LatentSCM(["x", "y"])
    u = torch.randn(5, 2)
    assert torch.equal(head(u), u)
    assert float(head.acyclicity().detach()) == pytest.approx(0.0, abs=1e-6)


def test_notears_penalty():
    dag = torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    cycle = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert float(notears_acyclicity(dag)) == pytest.approx(0.0, abs=1e-6)
    assert float(notears_acyclicity(cycle)) > 0.5


def test_learned_graph_becomes_acyclic_and_recovers_direction():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    n = 512
    a = torch.randn(n, generator=gen)
    b = torch.tanh(2 * a) * 1.5 + 0.3 * torch.randn(n, generator=gen)
    c = 0.8 * b + 0.3 * torch.randn(n, generator=gen)
    z = torch.stack([a, b, c], 1)
    head = LatentSCM(["a", "b", "c"], learn_graph=True, hidden=16)
    optimiser = torch.optim.Adam(head.parameters(), lr=0.02)
    rho = 1.0
    for step in range(300):
        optimiser.zero_grad()
        residual = head.abduct(z)  # u = z - f(z): the fit of each mechanism
        sparsity = head.weighted_adjacency().abs().sum()
        loss = (residual**2).mean() + 0.01 * sparsity + rho * head.acyclicity() ** 2 + head.acyclicity()
        loss.backward()
        optimiser.step()
        if step % 100 == 99:
            rho *= 10
    graph = head.fix_graph(threshold=0.3)
    graph.topological_order()  # acyclic by construction
    assert not head.learn_graph
    skeleton = {frozenset(e) for e in graph.edges}
    assert frozenset({"a", "b"}) in skeleton and frozenset({"b", "c"}) in skeleton
    out = head.intervene(z[:4].detach(), {"a": 0.0})
    assert out.shape == (4, 3)


def test_errors():
    with pytest.raises(UnknownNodeError, match="'q'"):
        LatentSCM(["a", "q"], CHAIN)
    with pytest.raises(ValueError, match="distinct"):
        LatentSCM(["a", "a"])
    with pytest.raises(ValueError, match="'mechanism' parameter of LatentSCM"):
        LatentSCM(["a"], mechanism="quadratic")
    head = LatentSCM(["a", "b", "c", "d"], CHAIN)
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        head(torch.zeros(3, 2))
    with pytest.raises(UnknownNodeError, match="Valid names: a, b, c, d"):
        head.intervene(torch.zeros(2, 4), {"e": 1.0})
    learner = LatentSCM(["a", "b"], learn_graph=True)
    with pytest.raises(RuntimeError, match="fix_graph"):
        learner.intervene(torch.zeros(2, 2), {"a": 1.0})
    np.testing.assert_array_equal(head.graph.adjacency, CHAIN.subgraph(["a", "b", "c", "d"]).adjacency)


def test_learning_refuses_a_graph_it_would_ignore():
    with pytest.raises(ValueError, match=r"learn_graph=True\) learns every edge.*\('a', 'b'\)"):
        LatentSCM(["a", "b", "c", "d"], CHAIN, learn_graph=True)
    empty = LatentSCM(["a", "b"], CausalGraph.empty(["a", "b"]), learn_graph=True)  # what learners pass
    assert empty.mask.sum() == 2


def test_fix_graph_threshold_is_checked_and_never_adds_masked_edges():
    torch.manual_seed(0)
    for threshold in (-1.0, 1.5, float("nan"), "high"):
        with pytest.raises((TypeError, ValueError), match="'threshold' parameter of LatentSCM.fix_graph"):
            LatentSCM(["a", "b", "c", "d"], CHAIN).fix_graph(threshold)
    head = LatentSCM(["a", "b", "c", "d"], CHAIN)
    assert set(head.fix_graph(0.0).edges) == set(CHAIN.edges)  # weight-0 (masked) edges are no edges


def test_intervening_with_a_non_finite_value_is_refused():
    torch.manual_seed(0)
    head = LatentSCM(["a", "b", "c", "d"], CHAIN)
    for value in (float("nan"), float("inf"), torch.tensor([0.0, float("nan")])):
        with pytest.raises(ValueError, match="intervention value of latent 'a' must be finite"):
            head.intervene(torch.zeros(2, 4), {"a": value})


def test_mechanism_fit_is_the_labels_gaussian_likelihood(head):
    # additive: the squared residual; post-nonlinear: u² + 2 log g'(g^-1(y)), which has a minimum (the bare
    # squared residual shrank without bound as g got steeper)
    labels = torch.randn(16, 4, generator=torch.Generator().manual_seed(3))
    _, fit, _ = head(labels, labels=labels, terms=True)
    residual = head.abduct(labels)
    expected = residual ** 2
    if head.mechanism == "post_nonlinear":
        inner = head._outer_inverse(labels)
        x = inner.detach().requires_grad_(True)
        slope = torch.autograd.grad(head._outer(x).sum(), x)[0]
        expected = expected + 2 * torch.log(slope)
    torch.testing.assert_close(fit, expected)


def test_post_nonlinear_mechanism_fit_keeps_unit_noise():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(1000, generator=g)
    x = torch.tanh(2 * a) + 0.5 * torch.randn(1000, generator=g)
    y = torch.stack([a, 0.5 * x + 2 * torch.tanh(x)], 1)
    y = (y - y.mean(0)) / y.std(0)
    torch.manual_seed(0)
    head = LatentSCM(["a", "b"], CausalGraph([("a", "b")]), mechanism="post_nonlinear")
    optimiser = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(1500):
        _, fit, _ = head(y, labels=y, terms=True)
        loss = fit[:, 1].mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        noise = head.abduct(y)[:, 1]
    assert 0.7 < float(noise.std()) < 1.3  # without the log-Jacobian: 0.1 and falling
