"""VARLiNGAM against the ``lingam`` package (Hyvärinen et al.'s reference code; test-only, never a dependency).

On the same VAR residuals our DirectLiNGAM order equals ``lingam.DirectLiNGAM`` (pwling), and our B_0..B_p equal
least squares on that order with ``B_tau = (I - B_0) M_tau``. The documented differences from
``lingam.VARLiNGAM`` are the pruning (t-tests here, adaptive lasso there) and the intercept (lingam fits the VAR
without one). Measured (bench_out/s26/ts_baselines_review/varlingam_order_exact.py): 57/57 identical orders,
max |B difference| 8e-14; against lingam.VARLiNGAM(prune=False) on zero-mean data 30/30 identical orders.
"""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery.timeseries import direct_lingam_order, varlingam

lingam = pytest.importorskip("lingam", reason="lingam (test-only cross-check) is not installed")
sm = pytest.importorskip("statsmodels.tsa.api", reason="statsmodels not installed (dev extra)")


def _structural_var(seed: int, d: int, T: int, p: int) -> np.ndarray:
    """x_t = B_0' x_t + sum_k B_k' x_{t-k} + e_t with acyclic B_0 ([i, j]: i -> j) and non-Gaussian e_t."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(d)
    b0 = np.zeros((d, d))
    for a in range(d):
        for b in range(a + 1, d):
            if rng.random() < 0.5:
                b0[perm[a], perm[b]] = rng.choice([-1, 1]) * rng.uniform(0.5, 0.9)
    lags = [np.where(rng.random((d, d)) < 0.4, rng.uniform(-0.4, 0.4, (d, d)), 0) / p for _ in range(p)]
    inverse = np.linalg.inv(np.eye(d) - b0.T)
    x = np.zeros((T + 100, d))
    for t in range(p, T + 100):
        noise = 2 * rng.uniform(-1, 1, d) ** 3
        x[t] = inverse @ (sum(lags[k].T @ x[t - 1 - k] for k in range(p)) + noise)
    return x[100:] + 2.0


@pytest.mark.parametrize(("seed", "d", "p"), [(0, 4, 2), (3, 5, 1)])
def test_order_and_coefficients_equal_lingam_on_the_same_residuals(seed, d, p):
    x = _structural_var(seed, d, 800, p)
    fit = sm.VAR(x).fit(p, trend="c")
    residuals = np.asarray(fit.resid)
    reference_order = [int(v) for v in lingam.DirectLiNGAM().fit(residuals).causal_order_]
    assert direct_lingam_order(residuals) == reference_order
    found = varlingam(x, max_lag=p)
    assert found.info["causal_order"] == reference_order
    b0 = np.zeros((d, d))  # least squares of each residual on its predecessors in the order
    for position, j in enumerate(reference_order):
        before = reference_order[:position]
        if before:
            design = np.c_[np.ones(len(residuals)), residuals[:, before]]
            b0[before, j] = np.linalg.lstsq(design, residuals[:, j], rcond=None)[0][1:]
    coefs = np.asarray(fit.coefs)  # (p, d, d): [k][j, i] is the effect of x_{i,t-k-1} on x_{j,t}
    expected = np.stack([b0] + [((np.eye(d) - b0.T) @ coefs[k]).T for k in range(p)])
    np.testing.assert_allclose(found.info["coefficients"], expected, rtol=0, atol=1e-10)
