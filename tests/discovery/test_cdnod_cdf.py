"""CD-NOD on domain-shifted data and Causal de Finetti on exchangeable environments."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery import causal_de_finetti, cdnod, pc


def _domain_shift(seed: int, n_per: int = 80, domains: int = 5):
    rng = np.random.default_rng(seed)
    c = np.repeat(np.arange(domains), n_per).astype(float)
    x = 1.0 * c + rng.normal(size=c.size)  # X's mechanism changes with the domain
    y = 0.8 * x + 0.5 * rng.normal(size=c.size)  # Y's does not
    return np.stack([x, y], axis=1), c


@pytest.mark.parametrize("ci_test", ["fisherz", "kci"])
def test_cdnod_orients_where_pc_cannot(ci_test):
    data, c = _domain_shift(0)
    plain = pc(data, ci_test=ci_test, node_names=["X", "Y"])
    assert plain.undirected_edges == [("X", "Y")]
    g = cdnod(data, c, ci_test=ci_test, node_names=["X", "Y"], context_name="domain")
    assert ("X", "Y") in g.directed_edges and ("domain", "X") in g.directed_edges
    assert g.info["changing"] == ["X"]  # only the changing mechanism is adjacent to the index
    assert g.nodes == ("X", "Y", "domain")


def test_cdnod_validates_context():
    data, c = _domain_shift(1)
    with pytest.raises(ValueError, match="single value"):
        cdnod(data, np.zeros(len(c)))
    with pytest.raises(ValueError, match="entries"):
        cdnod(data, c[:-1])
    with pytest.raises(ValueError, match="context_name"):
        cdnod(data, c, node_names=["C", "Y"])


def _exchangeable(seed: int, environments: int = 300, samples: int = 2):
    # Each environment draws its own mechanism parameters, independently per variable: theta shifts
    # X, psi shifts Y given X. Then `samples` exchangeable draws per environment. Given Y_1, X_1
    # reveals psi (= Y_1 - f(X_1) up to noise), which Y_2 shares: the reverse test sees dependence.
    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 0.5, size=environments)
    psi = rng.normal(0.0, 1.0, size=environments)
    x = theta[:, None] + rng.normal(size=(environments, samples))
    y = np.tanh(x) + x + psi[:, None] + 0.2 * rng.normal(size=(environments, samples))
    return np.stack([x, y], axis=2)  # (E, samples, 2)


def test_causal_de_finetti_recovers_bivariate_direction():
    env = _exchangeable(0)
    g = causal_de_finetti(env, node_names=["X", "Y"])
    assert g.directed_edges == [("X", "Y")]
    reversed_columns = causal_de_finetti(env[:, :, ::-1], node_names=["Y", "X"])
    assert reversed_columns.directed_edges == [("X", "Y")]
    # i.i.d. PC on the same (pooled) samples cannot orient a two-variable graph.
    assert pc(env.reshape(-1, 2), ci_test="kci", node_names=["X", "Y"]).undirected_edges == [("X", "Y")]


def test_causal_de_finetti_multivariate_chain():
    rng = np.random.default_rng(5)
    e = 300
    theta, psi, phi = rng.normal(0, 0.5, e), rng.normal(0, 1, e), rng.normal(0, 1, e)
    a = theta[:, None] + rng.normal(size=(e, 2))
    b = a + psi[:, None] + 0.2 * rng.normal(size=(e, 2))
    c = np.tanh(b) + b + phi[:, None] + 0.2 * rng.normal(size=(e, 2))
    g = causal_de_finetti(np.stack([a, b, c], axis=2), node_names=["a", "b", "c"])
    assert sorted(g.directed_edges) == [("a", "b"), ("b", "c")]


def test_causal_de_finetti_accepts_lists_and_validates():
    env = _exchangeable(2, environments=40, samples=3)
    g = causal_de_finetti(list(env), ci_test="fisherz")
    assert g.nodes == ("X0", "X1")
    with pytest.raises(ValueError, match="at least 2 samples"):
        causal_de_finetti(env[:, :1, :])
    with pytest.raises(ValueError, match="at least 10 environments"):
        causal_de_finetti(env[:5])


@pytest.mark.parametrize(("bad", "error"), [(-1, ValueError), ("1", TypeError), (1.5, TypeError), (True, TypeError)])
def test_cdnod_and_causal_de_finetti_validate_max_depth(bad, error):
    data, c = _domain_shift(1)
    with pytest.raises(error, match=r"'max_depth' parameter of cdnod must be an int >= 0"):
        cdnod(data, c, ci_test="fisherz", max_depth=bad)
    env = _exchangeable(2, environments=40)
    with pytest.raises(error, match=r"'max_depth' parameter of causal_de_finetti must be an int >= 0"):
        causal_de_finetti(env, ci_test="fisherz", max_depth=bad)
    assert cdnod(data, c, ci_test="fisherz", max_depth=0).info["n_tests"] > 0
