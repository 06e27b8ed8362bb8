"""VARLiNGAM: a structural VAR identified by non-Gaussian innovations.

Hyvärinen, Zhang, Shimizu & Hoyer (2010), "Estimation of a structural vector autoregression model
using non-Gaussianity", JMLR 11. The model is ``x_t = B_0 x_t + sum_tau B_tau x_{t-tau} + e_t`` with
acyclic ``B_0`` and independent non-Gaussian ``e_t``. Steps:

1. fit the reduced-form VAR(p) by least squares and keep its residuals ``u_t = (I - B_0)^{-1} e_t``;
2. find the causal order of the residuals with DirectLiNGAM (Shimizu et al. 2011, JMLR 12): repeatedly
   pick the most exogenous variable and regress it out of the others. Exogeneity is measured with the
   pairwise likelihood ratios of Hyvärinen & Smith (2013, JMLR 14): for standardised ``x_i, x_j``,
   ``R(j -> i) = H(x_i) + H(r_{j|i}) - H(x_j) - H(r_{i|j})`` (``r`` standardised regression residuals,
   ``H`` the maximum-entropy approximation of differential entropy, Hyvärinen 1998), and the chosen
   variable minimises ``sum_i min(0, R(j -> i))^2``;
3. estimate each structural equation by least squares of ``x_{j,t}`` on its predecessors in the order
   (lag 0) and on all lags: the coefficients are ``B_0`` and ``B_tau = (I - B_0) M_tau`` at once, and
   their t-tests give p-values (in place of the adaptive-lasso pruning of the reference code).

Against the ``lingam`` package's ``VARLiNGAM``: the same causal order and, on that order, least squares
where it prunes with the adaptive lasso; the VAR here has an intercept (``lingam`` fits none, so its order
and coefficients differ on series with a non-zero mean).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import linalg, stats

from latentscm._validation import check_number
from latentscm.discovery.timeseries._series import (
    check_full_rank,
    check_innovations,
    check_series,
    lagged_design,
    resolve_names,
)
from latentscm.discovery.timeseries.result import TemporalGraph

__all__ = ["direct_lingam_order", "varlingam"]

_K1, _K2, _GAMMA = 79.047, 7.4129, 0.37457


def _entropy(u: np.ndarray) -> np.ndarray:
    """Maximum-entropy approximation of the differential entropy of standardised columns (n, m) -> (m,)."""
    return ((1 + np.log(2 * np.pi)) / 2 - _K1 * (np.mean(np.log(np.cosh(u)), axis=0) - _GAMMA) ** 2
            - _K2 * np.mean(u * np.exp(-u * u / 2), axis=0) ** 2)


def _standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=0)) / x.std(axis=0)


def direct_lingam_order(residuals: np.ndarray) -> list[int]:
    """DirectLiNGAM causal order (first = most exogenous) of the columns of (n, d)."""
    x = np.array(residuals, dtype=np.float64)
    remaining = list(range(x.shape[1]))
    order: list[int] = []
    while len(remaining) > 1:
        z = _standardise(x[:, remaining])
        m = len(remaining)
        corr = (z.T @ z) / z.shape[0]
        h = _entropy(z)
        score = np.zeros(m)
        for a in range(m):
            others = [b for b in range(m) if b != a]
            rho = corr[a, others]
            scale = np.sqrt(np.maximum(1 - rho**2, 1e-12))
            r_other_given_a = (z[:, others] - rho * z[:, [a]]) / scale  # r_{i|j}, j = a
            r_a_given_other = (z[:, [a]] - rho * z[:, others]) / scale  # r_{j|i}
            ratio = h[others] + _entropy(r_a_given_other) - h[a] - _entropy(r_other_given_a)
            score[a] = np.sum(np.minimum(0.0, ratio) ** 2)
        chosen = remaining[int(np.argmin(score))]
        order.append(chosen)
        remaining.remove(chosen)
        column = x[:, chosen] - x[:, chosen].mean()
        for k in remaining:  # regress the chosen variable out of the others
            x[:, k] = x[:, k] - (column @ (x[:, k] - x[:, k].mean()) / (column @ column)) * column
    order.extend(remaining)
    return order


def varlingam(data: Any, *, max_lag: int = 1, alpha: float = 0.05,
              var_names: Sequence[str] | None = None) -> TemporalGraph:
    """VARLiNGAM on a multivariate series.

    Parameters
    ----------
    data: series (T, d) with non-Gaussian innovations.
    max_lag: VAR order p.
    alpha: level in (0, 1) of the returned graph (t-tests of the structural coefficients).
    var_names: names of the d columns.

    Returns
    -------
    TemporalGraph with ``scores = |B_tau[i, j]|`` (the effect of ``x_{i,t-tau}`` on ``x_{j,t}``, lag 0
    contemporaneous and acyclic), p-values, and ``info["causal_order"]`` and ``info["coefficients"]``.
    """
    owner = "varlingam"
    start = time.perf_counter()
    series = check_series(data, owner, tau_max=max_lag, lag_name="max_lag")
    alpha = check_number(alpha, "alpha", owner, low=0, high=1, low_inclusive=False, high_inclusive=False)
    p = int(max_lag)
    d = series.shape[1]
    targets, design = lagged_design(series, p)
    n = design.shape[0]
    if n - design.shape[1] - d < 1:
        raise ValueError(f"The 'max_lag' parameter of {owner} ({p}) leaves too few samples ({n}) for {d} "
                         "variables.")
    check_full_rank(design, owner)
    reduced = np.linalg.lstsq(design, targets, rcond=None)[0]
    innovations = targets - design @ reduced
    check_innovations(innovations, targets, owner)
    rank = int(np.linalg.matrix_rank(innovations))
    if rank < d:  # then some structural equation has no noise left and its t-tests divide by rounding noise
        raise ValueError(f"The 'data' argument of {owner} has linearly dependent innovations (VAR residuals of rank "
                         f"{rank} for {d} variables): some variable is an exact linear combination of others at the "
                         "same time step and of the lags, so its structural equation has no noise. Drop it.")
    order = direct_lingam_order(innovations)
    coefficients = np.zeros((p + 1, d, d))
    pvalues = np.full((p + 1, d, d), np.nan)  # lag 0: only predecessors in the order are tested
    for position, j in enumerate(order):
        before = order[:position]
        regressors = np.concatenate([targets[:, before], design], axis=1)  # [x_pred,t | 1 | lags]
        # QR, not an inverse of the Gram matrix: that squares the condition number, and on near-collinear columns
        # (condition number ~3e6) gave coefficients off by ~10^2
        q, r = np.linalg.qr(regressors)
        beta = linalg.solve_triangular(r, q.T @ targets[:, j])
        resid = targets[:, j] - regressors @ beta
        df = n - regressors.shape[1]
        sigma2 = resid @ resid / df
        variance = np.sum(linalg.solve_triangular(r, np.eye(r.shape[0])) ** 2, axis=1)  # diag (R'R)^{-1}
        t_stat = beta / np.sqrt(variance * sigma2)
        pv = 2 * stats.t.sf(np.abs(t_stat), df)
        k = len(before)
        coefficients[0, before, j] = beta[:k]
        pvalues[0, before, j] = pv[:k]
        coefficients[1:, :, j] = beta[k + 1:].reshape(p, d)
        pvalues[1:, :, j] = pv[k + 1:].reshape(p, d)
    info = {"causal_order": order, "coefficients": coefficients, "max_lag": p, "n_samples": n,
            "time_s": time.perf_counter() - start}
    return TemporalGraph(resolve_names(var_names, d, owner), np.abs(coefficients), pvalues, "varlingam",
                         alpha=alpha, info=info)
