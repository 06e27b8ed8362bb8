"""Double/debiased machine learning in the partially linear model ``Y = θ T + g(Z) + ε``, ``T = m(Z) + v``.

Chernozhukov et al., *Double/debiased machine learning*, Econometrics J. 2018, §4.1 (the
"partialling-out" score, after Robinson 1988). Cross-fitted ``l(Z) = E[Y | Z]`` and ``m(Z) = E[T | Z]``
give residuals ``u = Y - l`` and ``v = T - m``; ``θ = Σ u v / Σ v²``, with score
``ψ = (u - θ v) v``, Jacobian ``J = -mean(v²)`` and standard error ``sqrt(mean(ψ²) / J² / n)``.
Works for continuous and binary treatments; the effect of the contrast ``(t0, t1)`` is ``θ (t1 - t0)``,
which is the causal effect when ``T`` enters linearly (otherwise ``θ`` is a variance-weighted average
of the effects).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm.effects.nuisance import cross_fit_regression
from latentscm.effects.result import finite

__all__ = ["dml_effect", "partialled_residuals"]


def partialled_residuals(y: np.ndarray, t: np.ndarray, z: np.ndarray, folds: np.ndarray, *, outcome_learner: Any,
                         treatment_learner: Any, seed: int, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """Cross-fitted residuals ``u = y - l(z)`` and ``v = t - m(z)``, each (n,); refused when the covariates predict
    the treatment exactly (nothing left to identify the effect from)."""
    l_hat, = cross_fit_regression(y, z, folds, outcome_learner, seed=seed, name="outcome_learner", owner=owner)
    m_hat, = cross_fit_regression(t, z, folds, treatment_learner, seed=seed, name="treatment_learner", owner=owner)
    u, v = y - l_hat, t - m_hat
    spread = float(np.mean(v ** 2))
    if spread <= 1e-12 * max(float(np.var(t)), 1e-300):
        raise ValueError(f"{owner}: the covariates predict the treatment exactly (residual variance {spread:.3g}), "
                         f"so its effect cannot be separated from theirs; this is a positivity failure.")
    return u, v


def dml_effect(y: np.ndarray, t: np.ndarray, z: np.ndarray, folds: np.ndarray, contrast: tuple[float, float], *,
               outcome_learner: Any = "linear", treatment_learner: Any = "linear", seed: int = 0,
               owner: str = "dml_effect") -> tuple[float, float, dict[str, Any]]:
    """The partially linear DML effect of moving ``t`` (n,) from ``contrast[0]`` to ``contrast[1]`` on ``y``
    (n,), covariates ``z`` (n, k), folds ``folds`` (n,). Returns ``(estimate, std_error, info)``."""
    u, v = partialled_residuals(y, t, z, folds, outcome_learner=outcome_learner,
                                treatment_learner=treatment_learner, seed=seed, owner=owner)
    spread = float(np.mean(v ** 2))
    theta = float(np.sum(u * v) / np.sum(v ** 2))
    score = (u - theta * v) * v
    slope_se = np.sqrt(np.mean(score ** 2) / spread ** 2 / y.shape[0])
    width = contrast[1] - contrast[0]
    names = [x if isinstance(x, str) else type(x).__name__ for x in (outcome_learner, treatment_learner)]
    r2 = 1.0 - spread / float(np.var(t))
    return (finite(theta * width, "effect", owner), finite(slope_se * abs(width), "standard error", owner),
            {"outcome_learner": names[0], "treatment_learner": names[1], "n_folds": int(np.unique(folds).size),
             "slope": theta, "treatment_r2": r2, "std_error": "influence function (partialling-out score)"})
