"""Outcome regression (the g-formula plug-in): ``E[Y | do(t)] = E_Z m(t, Z)`` with ``m(t, z) = E[Y | t, z]``.

Robins, *A new approach to causal inference in mortality studies*, Math. Modelling 1986. With the
``"linear"`` learner the model is ``Y = a + b T + c'Z``: the effect is ``b (t1 - t0)``, with an HC1
(heteroscedasticity-robust, White 1980) standard error. With any other learner ``m`` is fitted on all rows
and averaged at ``t0`` and ``t1``; its standard error is the seeded nonparametric bootstrap's.
The plug-in is consistent only when ``m`` is: a misspecified outcome model gives a biased effect, which the
doubly robust estimators guard against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import as_generator
from latentscm.effects.nuisance import make_regressor
from latentscm.effects.result import finite

__all__ = ["regression_effect"]


def _ols_hc1(y: np.ndarray, design: np.ndarray, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients (p,) and their HC1 covariance (p, p)."""
    n, p = design.shape
    if n <= p:
        raise ValueError(f"{owner}: {n} rows for {p} coefficients (intercept, treatment, {p - 2} covariates) leave "
                         f"no residual degrees of freedom for a standard error; give more rows.")
    scale = np.linalg.norm(design, axis=0)  # unit-free columns: a change of units is not collinearity
    scale[scale == 0] = 1.0
    scaled = design / scale
    rank = np.linalg.matrix_rank(scaled)
    if rank < p:
        raise ValueError(f"{owner}: the treatment and covariates are collinear (the design matrix has rank "
                         f"{rank} < {p}); drop a redundant covariate.")
    inverse = np.linalg.inv(scaled.T @ scaled) / np.outer(scale, scale)
    beta = inverse @ design.T @ y
    return beta, hc1_sandwich(design, y - design @ beta, inverse)


def hc1_sandwich(design: np.ndarray, residual: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """HC1 covariance (p, p) of least-squares coefficients on ``design`` (n, p) with ``residual`` (n,) and
    ``inverse`` = (X'X)^-1 (p, p): the White sandwich scaled by n / (n - p) (MacKinnon & White 1985)."""
    n, p = design.shape
    meat = (design * residual[:, None] ** 2).T @ design
    return inverse @ meat @ inverse * n / (n - p)


def _plug_in(y: np.ndarray, t: np.ndarray, z: np.ndarray, contrast: tuple[float, float], learner: Any,
             seed: int, owner: str) -> float:
    model = make_regressor(learner, seed, "outcome_learner", owner).fit(np.column_stack([t, z]), y)
    n = t.shape[0]
    at = [model.predict(np.column_stack([np.full(n, value), z])) for value in contrast]
    return float(np.mean(at[1] - at[0]))


def regression_effect(y: np.ndarray, t: np.ndarray, z: np.ndarray, contrast: tuple[float, float], *,
                      learner: Any = "linear", n_bootstrap: int = 100, seed: int = 0,
                      owner: str = "regression_effect") -> tuple[float, float, dict[str, Any]]:
    """The g-formula effect of moving ``t`` (n,) from ``contrast[0]`` to ``contrast[1]`` on ``y`` (n,),
    adjusting for ``z`` (n, k). Returns ``(estimate, std_error, info)``."""
    t0, t1 = contrast
    if isinstance(learner, str) and learner == "linear":
        design = np.column_stack([np.ones_like(t), t, z])
        beta, cov = _ols_hc1(y, design, owner)
        estimate = finite(beta[1] * (t1 - t0), "effect", owner)
        std_error = finite(np.sqrt(cov[1, 1]) * abs(t1 - t0), "standard error", owner)
        return estimate, std_error, {"outcome_learner": "linear", "std_error": "HC1 sandwich",
                                     "coefficient": float(beta[1])}
    estimate = finite(_plug_in(y, t, z, contrast, learner, seed, owner), "effect", owner)
    rng = as_generator(seed)
    draws = np.empty(n_bootstrap)
    n = y.shape[0]
    for b in range(n_bootstrap):
        rows = rng.integers(0, n, size=n)
        draws[b] = _plug_in(y[rows], t[rows], z[rows], contrast, learner, seed, owner)
    std_error = finite(np.std(draws, ddof=1), "bootstrap standard error", owner)
    name = learner if isinstance(learner, str) else type(learner).__name__
    return estimate, std_error, {"outcome_learner": name, "std_error": f"bootstrap ({n_bootstrap} draws)"}
