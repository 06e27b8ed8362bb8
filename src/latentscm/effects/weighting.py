"""Inverse propensity weighting (Horvitz & Thompson 1952; the normalised, Hájek form) for a binary treatment.

``E[Y | do(t1)] ≈ Σ 1[T = t1] Y / e(Z) / Σ 1[T = t1] / e(Z)`` with the propensity ``e(Z) = P(T = t1 | Z)``
(Rosenbaum & Rubin 1983), fitted on all rows and truncated to ``[trim, 1 - trim]``; likewise for ``t0``
with ``1 - e``. The standard error treats the propensity as known, which is conservative for the ATE
when it is estimated by maximum likelihood (Lunceford & Davidian, Stat. Med. 2004). Consistent only when
the propensity model is right; see the doubly robust estimator.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from latentscm.effects.nuisance import make_classifier
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


def ipw_effect(y: np.ndarray, treated: np.ndarray, z: np.ndarray, *, learner: Any = "linear",
               trim: float = 0.01, seed: int = 0, owner: str = "ipw_effect") -> tuple[float, float, dict[str, Any]]:
    """The Hájek IPW effect of ``treated`` (n,) bool on ``y`` (n,), with covariates ``z`` (n, k).
    Returns ``(estimate, std_error, info)``."""
    features = z if z.shape[1] else np.zeros((z.shape[0], 1))
    model = make_classifier(learner, seed, "treatment_learner", owner).fit(features, treated.astype(np.int64))
    raw = model.predict_proba(features)[:, list(model.classes_).index(1)]
    e, n_trimmed = truncate_propensity(raw, trim, owner)
    w1, w0 = treated / e, (~treated) / (1.0 - e)
    mu1, mu0 = np.sum(w1 * y) / np.sum(w1), np.sum(w0 * y) / np.sum(w0)
    influence = w1 * (y - mu1) / np.mean(w1) - w0 * (y - mu0) / np.mean(w0)
    estimate = finite(mu1 - mu0, "effect", owner)
    std_error = finite(np.sqrt(np.mean(influence ** 2) / y.shape[0]), "standard error", owner)
    name = learner if isinstance(learner, str) else type(learner).__name__
    return estimate, std_error, {"treatment_learner": name, "trim": trim, "n_trimmed": n_trimmed,
                                 "propensity_range": [float(raw.min()), float(raw.max())],
                                 "std_error": "influence function, propensity treated as known (conservative)"}
