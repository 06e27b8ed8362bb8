"""Inverse propensity weighting (Horvitz & Thompson 1952; the normalised, Hájek form) for a binary treatment.

``E[Y | do(t1)] ≈ Σ 1[T = t1] Y / e(Z) / Σ 1[T = t1] / e(Z)`` with the propensity ``e(Z) = P(T = t1 | Z)``
(Rosenbaum & Rubin 1983), truncated to ``[trim, 1 - trim]``; likewise for ``t0`` with ``1 - e``. With the
``"linear"`` learner (a logistic propensity) the standard error is the sandwich of the stacked estimating
equations (Lunceford & Davidian, Stat. Med. 2004), which accounts for the propensity's estimation; treating
it as known instead overstated the standard error (1.65x the spread in a first run of
``benchmarks/bench_effects.py``). Consistent only when the propensity model is right; see the doubly robust
estimator.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from latentscm.effects.nuisance import cross_fit_propensity, make_classifier
from latentscm.effects.result import finite

__all__ = ["TRIM_WARNING_SHARE", "ipw_effect", "truncate_propensity"]


#: Above this share of truncated propensities the estimators warn: the treatment arms barely overlap.
TRIM_WARNING_SHARE = 0.1


def truncate_propensity(propensity: np.ndarray, trim: float, owner: str = "truncate_propensity"
                        ) -> tuple[np.ndarray, int]:
    """``propensity`` clipped to ``[trim, 1 - trim]``, and how many values were clipped. Warns (``UserWarning``)
    when more than :data:`TRIM_WARNING_SHARE` of them were: positivity nearly fails, and the estimate then
    leans on the truncation rather than on the data."""
    clipped = np.clip(propensity, trim, 1.0 - trim)
    count = int(np.count_nonzero(clipped != propensity))
    if count > TRIM_WARNING_SHARE * propensity.size:
        warnings.warn(f"{owner}: {count} of {propensity.size} propensities lie outside [{trim:g}, {1 - trim:g}] "
                      f"and were truncated: the treatment arms barely overlap given the covariates (near "
                      f"violation of positivity), so the estimate depends on the truncation. Check the covariates, "
                      f"or estimate the effect on a population where both arms occur.", UserWarning, stacklevel=3)
    return clipped, count


def _logistic_correction(treated: np.ndarray, y: np.ndarray, raw: np.ndarray, e: np.ndarray, features: np.ndarray,
                         mu1: float, mu0: float) -> tuple[np.ndarray, np.ndarray]:
    """The terms that the estimation of a logistic propensity ``raw = sigmoid([1, Z] β)`` adds to the influence
    functions of ``μ1`` and ``μ0`` (stacked M-estimation: the ``β`` rows of the sandwich), each (n,). The fit's
    own equations use ``raw``; the weights use the truncated ``e``, which does not move with ``β`` where it was
    clipped."""
    design = np.column_stack([np.ones(features.shape[0]), features])
    fisher = (design * (raw * (1.0 - raw))[:, None]).T @ design / design.shape[0]
    # pinv: a duplicated or constant covariate leaves the fit's directions unidentified, not the correction
    beta_influence = (np.linalg.pinv(fisher) @ (design * (treated - raw)[:, None]).T).T   # (n, p)
    moves = (e == raw) * raw * (1.0 - raw)  # d e / d(linear predictor), 0 where truncated
    slope1 = np.mean(design * (-(treated * (y - mu1) * moves / e ** 2))[:, None], axis=0)
    slope0 = np.mean(design * ((~treated) * (y - mu0) * moves / (1.0 - e) ** 2)[:, None], axis=0)
    return beta_influence @ slope1, beta_influence @ slope0


def ipw_effect(y: np.ndarray, treated: np.ndarray, z: np.ndarray, folds: np.ndarray | None = None, *,
               learner: Any = "linear", trim: float = 0.01, seed: int = 0, owner: str = "ipw_effect"
               ) -> tuple[float, float, dict[str, Any]]:
    """The Hájek IPW effect of ``treated`` (n,) bool on ``y`` (n,), with covariates ``z`` (n, k).
    Returns ``(estimate, std_error, info)``.

    With the ``"linear"`` learner the propensity is an (essentially unpenalised) logistic regression fitted on
    all rows, and the standard error is the stacked M-estimation sandwich, which accounts for its estimation
    (Lunceford & Davidian 2004). Any other learner is cross-fitted over ``folds`` (n,) (required then), and the
    standard error treats its propensities as known (conservative when the model is right; nothing guards a
    wrong one: ``benchmarks/bench_effects.py`` measures 0.56 coverage with forests); a warning says that IPW with a
    flexible propensity model is neither √n-consistent nor well calibrated in general (the doubly robust
    ``aipw`` is the estimator for flexible learners).
    """
    features = z if z.shape[1] else np.zeros((z.shape[0], 1))
    linear = isinstance(learner, str) and learner == "linear"
    if linear:
        model = make_classifier(learner, seed, "treatment_learner", owner).fit(features, treated.astype(np.int64))
        raw = model.predict_proba(features)[:, list(model.classes_).index(1)]
    else:
        if folds is None:
            raise ValueError(f"{owner}: a treatment_learner other than 'linear' is cross-fitted; give 'folds'.")
        make_classifier(learner, seed, "treatment_learner", owner)  # named errors before any fitting
        warnings.warn(f"{owner}: IPW with the flexible propensity model {learner!r} is cross-fitted, but its "
                      f"propensities are not calibrated and its error does not shrink at the √n rate, so the "
                      f"estimate can be biased; method='aipw' is the estimator for flexible learners.", UserWarning,
                      stacklevel=3)
        raw = cross_fit_propensity(treated, z, folds, learner, seed=seed, name="treatment_learner", owner=owner)
    e, n_trimmed = truncate_propensity(raw, trim, owner)
    w1, w0 = treated / e, (~treated) / (1.0 - e)
    mu1, mu0 = np.sum(w1 * y) / np.sum(w1), np.sum(w0 * y) / np.sum(w0)
    part1, part0 = w1 * (y - mu1), w0 * (y - mu0)
    if linear and z.shape[1]:
        extra1, extra0 = _logistic_correction(treated, y, raw, e, z, mu1, mu0)
        part1, part0 = part1 + extra1, part0 + extra0
        how = "stacked M-estimation sandwich (the logistic propensity's estimation included)"
    elif linear:
        how = "influence function (no covariates: a constant propensity)"
    else:
        how = "influence function, cross-fitted propensity treated as known"
    influence = part1 / np.mean(w1) - part0 / np.mean(w0)
    estimate = finite(mu1 - mu0, "effect", owner)
    std_error = finite(np.sqrt(np.mean(influence ** 2) / y.shape[0]), "standard error", owner)
    name = learner if isinstance(learner, str) else type(learner).__name__
    return estimate, std_error, {"treatment_learner": name, "trim": trim, "n_trimmed": n_trimmed,
                                 "propensity_range": [float(raw.min()), float(raw.max())], "std_error": how}
