"""The cross-fitted augmented IPW (doubly robust) estimator of the ATE of a binary treatment.

Robins, Rotnitzky & Zhao, JASA 1994; cross-fitted as the "interactive regression model" of Chernozhukov
et al., *Double/debiased machine learning*, Econometrics J. 2018, §5.1. With out-of-fold outcome models
``g1(Z) = E[Y | T = t1, Z]``, ``g0(Z) = E[Y | T = t0, Z]`` (each fitted on its arm's rows of the other folds)
and propensity ``e(Z)`` (truncated to ``[trim, 1 - trim]``), the score

    ψ = g1 - g0 + 1[T = t1] (Y - g1) / e - 1[T = t0] (Y - g0) / (1 - e)

has mean ATE; the estimate is its mean and the standard error ``sd(ψ) / sqrt(n)``. The estimate is
consistent when either nuisance is, and √n-normal when both converge faster than ``n^{-1/4}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm.effects.nuisance import cross_fit_propensity, cross_fit_regression
from latentscm.effects.result import finite
from latentscm.effects.weighting import truncate_propensity

__all__ = ["aipw_effect", "aipw_nuisances", "aipw_score"]


def aipw_nuisances(y: np.ndarray, treated: np.ndarray, z: np.ndarray, folds: np.ndarray, *,
                   outcome_learner: Any, treatment_learner: Any, trim: float, seed: int, owner: str
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """The cross-fitted nuisances ``(g1, g0, e, raw, n_trimmed)``, each (n,): the arms' outcome models, the
    propensity truncated to ``[trim, 1 - trim]``, the raw propensity and how many were truncated."""
    for arm, rows in (("treated", treated), ("untreated", ~treated)):
        for fold in np.unique(folds):
            if not np.any(rows & (folds != fold)):
                raise ValueError(f"{owner}: no {arm} rows outside fold {int(fold)}, so the {arm} outcome model "
                                 f"cannot be fitted; give more rows or fewer folds.")
    g1, = cross_fit_regression(y, z, folds, outcome_learner, rows=treated, seed=seed, name="outcome_learner",
                               owner=owner)
    g0, = cross_fit_regression(y, z, folds, outcome_learner, rows=~treated, seed=seed, name="outcome_learner",
                               owner=owner)
    raw = cross_fit_propensity(treated, z, folds, treatment_learner, seed=seed, name="treatment_learner",
                               owner=owner)
    e, n_trimmed = truncate_propensity(raw, trim, owner)
    return g1, g0, e, raw, n_trimmed


def aipw_score(y: np.ndarray, treated: np.ndarray, g1: np.ndarray, g0: np.ndarray, e: np.ndarray) -> np.ndarray:
    """The efficient (doubly robust) score of the average effect, (n,): ``g1 - g0 + T (y - g1)/e -
    (1 - T)(y - g0)/(1 - e)`` for outcomes ``y``, ``treated`` (bool), the arms' outcome models and the propensity."""
    return g1 - g0 + treated * (y - g1) / e - (~treated) * (y - g0) / (1.0 - e)


def aipw_effect(y: np.ndarray, treated: np.ndarray, z: np.ndarray, folds: np.ndarray, *,
                outcome_learner: Any = "linear", treatment_learner: Any = "linear", trim: float = 0.01,
                seed: int = 0, owner: str = "aipw_effect") -> tuple[float, float, dict[str, Any]]:
    """The cross-fitted AIPW effect of ``treated`` (n,) bool on ``y`` (n,), covariates ``z`` (n, k), with
    the fold of each row in ``folds`` (n,). Returns ``(estimate, std_error, info)``."""
    g1, g0, e, raw, n_trimmed = aipw_nuisances(y, treated, z, folds, outcome_learner=outcome_learner,
                                               treatment_learner=treatment_learner, trim=trim, seed=seed,
                                               owner=owner)
    score = aipw_score(y, treated, g1, g0, e)
    estimate = finite(np.mean(score), "effect", owner)
    std_error = finite(np.sqrt(np.mean((score - estimate) ** 2) / y.shape[0]), "standard error", owner)
    names = [v if isinstance(v, str) else type(v).__name__ for v in (outcome_learner, treatment_learner)]
    return estimate, std_error, {"outcome_learner": names[0], "treatment_learner": names[1], "trim": trim,
                                 "n_trimmed": n_trimmed, "n_folds": int(np.unique(folds).size),
                                 "propensity_range": [float(raw.min()), float(raw.max())],
                                 "std_error": "influence function (efficient score)"}
