"""Double/debiased machine learning with instruments: the partially linear IV model
``Y = θ X + g(W) + ε`` with ``E[ε | Z, W] = 0``.

Chernozhukov et al., *Double/debiased machine learning*, Econometrics J. 2018, §4.2 (the "partialling-out"
score). Cross-fitted ``l(W) = E[Y | W]``, ``r(W) = E[X | W]`` and ``m_j(W) = E[Z_j | W]`` give residuals
``u = Y - l``, ``w = X - r`` and ``v = Z - m``; with one instrument ``θ = Σ v u / Σ v w``, score
``ψ = (u - θ w) v``, Jacobian ``J = -mean(v w)`` and standard error ``sqrt(mean(ψ²) / J² / n)``. With several
instruments ``v`` is replaced by the least-squares projection of ``w`` on ``[1, v]`` (as DoubleML's ``DoubleMLPLIV``
does), which is two-stage least squares on the residuals. Unlike :func:`two_stage_least_squares`, ``g`` and the
instruments' dependence on ``W`` may be any function a learner can fit; ``X`` still enters linearly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm.effects.nuisance import cross_fit_regression
from latentscm.effects.result import finite

__all__ = ["dml_iv_effect"]


def dml_iv_effect(y: np.ndarray, x: np.ndarray, z: np.ndarray, w: np.ndarray, folds: np.ndarray, *,
                  outcome_learner: Any = "linear", treatment_learner: Any = "linear", seed: int = 0,
                  owner: str = "dml_iv_effect", names: Sequence[str] | None = None
                  ) -> tuple[float, float, dict[str, Any]]:
    """The partially linear IV slope of ``x`` (n,) on ``y`` (n,) with instruments ``z`` (n, q) and covariates ``w``
    (n, k), folds ``folds`` (n,). ``outcome_learner`` fits ``E[Y | W]``, ``treatment_learner`` fits ``E[X | W]`` and
    each ``E[Z_j | W]``; ``names`` (q,) name the instruments in errors. Returns ``(slope, std_error, info)``;
    ``info["residuals"]`` holds ``(u, w, v)``, the cross-fitted residuals (n,), (n,), (n, q), for diagnostics."""
    u = y - cross_fit_regression(y, w, folds, outcome_learner, seed=seed, name="outcome_learner", owner=owner)[0]
    wr = x - cross_fit_regression(x, w, folds, treatment_learner, seed=seed, name="treatment_learner",
                                  owner=owner)[0]
    v = np.column_stack([z[:, j] - cross_fit_regression(z[:, j], w, folds, treatment_learner, seed=seed,
                                                        name="treatment_learner", owner=owner)[0]
                         for j in range(z.shape[1])])
    for j in range(v.shape[1]):
        centred = z[:, j] - np.mean(z[:, j])
        if float(v[:, j] @ v[:, j]) <= 1e-20 * max(float(centred @ centred), 1e-300):
            name = repr(names[j]) if names is not None else f"column {j}"
            raise ValueError(f"{owner}: the instrument {name} is fixed by the covariates (its cross-fitted residual "
                             f"is zero), so given them it is irrelevant; drop it.")
    if v.shape[1] == 1:
        instrument = v[:, 0]
    else:
        design = np.column_stack([np.ones(v.shape[0]), v])
        instrument = design @ np.linalg.lstsq(design, wr, rcond=None)[0]
    jacobian = -float(np.mean(instrument * wr))
    if abs(jacobian) <= 1e-12 * max(float(np.std(instrument) * np.std(wr)), 1e-300):
        raise ValueError(f"{owner}: the instruments' residuals do not move the treatment's residuals (mean product "
                         f"{-jacobian:.3g}): given the covariates the instruments are irrelevant.")
    slope = float(np.mean(instrument * u)) / -jacobian
    score = (u - slope * wr) * instrument
    std_error = float(np.sqrt(np.mean(score ** 2) / jacobian ** 2 / y.shape[0]))
    names = [v_ if isinstance(v_, str) else type(v_).__name__ for v_ in (outcome_learner, treatment_learner)]
    return (finite(slope, "effect", owner), finite(std_error, "standard error", owner),
            {"outcome_learner": names[0], "treatment_learner": names[1], "n_folds": int(np.unique(folds).size),
             "residuals": (u, wr, v)})
