"""Content and style apart: how much of each block of factors a representation holds.

The evaluation of von Kügelgen et al. (NeurIPS 2021), "Self-supervised learning with data augmentations
provably isolates content from style": a representation that *block-identifies* content is an invertible
function of the content factors alone, so a nonlinear regression from it recovers every content factor
(R² near 1) and only the part of each style factor that content predicts (R² near 0 for style independent
of content). The R² is the held-out kernel-ridge one of :func:`latentscm.metrics.r2.r2_per_factor`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm.metrics.r2 import r2_per_factor

__all__ = ["content_style_r2"]


def content_style_r2(codes: Any, factors: Any, factor_names: Sequence[str], style: Sequence[str], *,
                     max_train: int = 2000, seed: int = 0) -> dict[str, Any]:
    """How much of each factor the codes hold: held-out nonlinear R² (kernel ridge, :func:`latentscm.metrics.r2`)
    of every factor from ``codes`` (N, D), given ``factors`` (N, K) named ``factor_names``, and the means over
    the ``style`` factors and over the others (the content). Block-identified content: content R² near 1,
    style R² near what content itself predicts of style (0 for independent factors).

    Returns ``{"per_factor": {name: r2}, "content": mean, "style": mean}`` (NaN factors left out of the means).
    """
    owner = "content_style_r2"
    names = list(factor_names)
    shape = np.shape(factors)
    if len(shape) != 2 or shape[1] != len(names):
        raise ValueError(f"The 'factor_names' argument of {owner} names {len(names)} factor(s), and 'factors' has "
                         f"shape {shape}: give one name per column.")
    if np.ndim(codes) != 2 or np.shape(codes)[0] != shape[0]:
        raise ValueError(f"The 'codes' argument of {owner} must have shape (N, D) with the {shape[0]} rows of "
                         f"'factors'. Got shape {np.shape(codes)}.")
    unknown = [name for name in style if name not in names]
    if unknown:
        raise ValueError(f"The 'style' argument of content_style_r2 names {unknown}, which are not among "
                         f"factor_names ({', '.join(names)}).")
    scores = r2_per_factor(codes, factors, max_train=max_train, seed=seed)
    per_factor = {name: float(value) for name, value in zip(names, scores)}
    content = [per_factor[name] for name in names if name not in style]
    styled = [per_factor[name] for name in style]
    return {"per_factor": per_factor,
            "content": float(np.nanmean(content)) if content and not np.all(np.isnan(content)) else float("nan"),
            "style": float(np.nanmean(styled)) if not np.all(np.isnan(styled)) else float("nan")}
