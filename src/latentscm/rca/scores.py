"""Score mixing and rankings: turning per-variable root-cause scores into one ordered list.

Scores of different kinds (visit probabilities of a random walk, z-scores, coefficient changes) live
on different scales, so :func:`mix_scores` min-max normalises each to [0, 1] before the weighted sum
(the score combination of CORAL-style pipelines, Wang et al., KDD 2023).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_number, check_sequence

__all__ = ["mix_scores", "normalise_scores", "rank_by_score"]


def normalise_scores(scores: Any) -> np.ndarray:
    """Min-max normalised scores (d,) in [0, 1]; a constant vector becomes all zeros."""
    values = check_array(scores, "scores", "normalise_scores", ndim=1)
    spread = float(values.max() - values.min())
    return np.zeros_like(values) if spread == 0 else (values - values.min()) / spread


def mix_scores(scores: Sequence[Any], weights: Sequence[float]) -> np.ndarray:
    """Weighted sum (d,) of min-max normalised score vectors.

    Parameters
    ----------
    scores : sequence of array-like, each shape (d,)
        Score vectors (higher = more likely a root cause).
    weights : sequence of float
        One non-negative weight per vector, not all zero.
    """
    if len(scores) != len(weights) or len(scores) == 0:
        raise ValueError(f"mix_scores needs one weight per score vector. Got {len(scores)} vectors and "
                         f"{len(weights)} weights.")
    checked = [check_number(w, f"weights[{k}]", "mix_scores", low=0) for k, w in enumerate(weights)]
    if sum(checked) == 0:
        raise ValueError("The 'weights' of mix_scores are all zero.")
    vectors = [normalise_scores(s) for s in scores]
    if len({v.shape for v in vectors}) != 1:
        raise ValueError(f"The score vectors of mix_scores have different lengths: {[v.shape[0] for v in vectors]}.")
    return sum(w * v for w, v in zip(checked, vectors)) / sum(checked)


def rank_by_score(scores: Any, names: Sequence[str]) -> tuple[str, ...]:
    """``names`` sorted by decreasing score (ties keep the given order)."""
    values = check_array(scores, "scores", "rank_by_score", ndim=1)
    names = check_sequence(names, "names", "rank_by_score", what="names")
    if values.shape[0] != len(names):
        raise ValueError(f"rank_by_score got {values.shape[0]} scores for {len(names)} names.")
    order = np.argsort(-values, kind="stable")
    return tuple(names[k] for k in order)
