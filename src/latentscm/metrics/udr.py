"""Unsupervised Disentanglement Ranking (UDR; Duan et al., ICLR 2020): agreement of the codes of
models trained with different seeds on the same images, without ground-truth factors.

For two models a and b with codes (N, D_a) and (N, D_b) of the same images, R is the matrix of
absolute Spearman correlations between their informative (active) units. A disentangled pair
matches each unit of one model to exactly one unit of the other:

    UDR_ab = (sum_i max_j R_ij^2 / sum_j R_ij + sum_j max_i R_ij^2 / sum_i R_ij) / (d_a + d_b)

over the d_a, d_b active units (the "Spearman, informative units" variant of the paper). The paper
calls a unit active when its KL to the prior exceeds 0.01; with codes only, a unit is active when its
variance exceeds ``threshold`` (Burda et al.'s activity, on the scale of a N(0, 1) prior). A model's
score is the median of its pairwise scores. Higher is better; 1 when the codes are the same units up
to permutation, sign and monotone rescaling and distinct units are uncorrelated. The threshold is on
the raw variance, so a rescaling that brings a unit's variance below it drops that unit. On a
finite sample, chance correlations between independent units enter the row and column sums, so
two identical codes score somewhat below 1 (the paper's formula, not an estimation error).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from latentscm._validation import check_array, check_number

__all__ = ["udr_pair", "udr"]


def _ranks(codes: np.ndarray) -> np.ndarray:
    ranked = rankdata(codes, axis=0)
    ranked -= ranked.mean(0)
    norms = np.linalg.norm(ranked, axis=0)
    return ranked / np.where(norms > 0, norms, 1.0)


def udr_pair(codes_a: np.ndarray, codes_b: np.ndarray, *, threshold: float = 0.01) -> float:
    """UDR of two models' codes of the same images.

    Parameters
    ----------
    codes_a, codes_b : array (N, D_a) and (N, D_b)
        Codes of the same N images, row for row.
    threshold : float, default 0.01
        A unit is informative when its code variance exceeds this (Burda et al.'s activity).

    Returns
    -------
    float
        In [0, 1], higher is better; 0 when either model has no informative unit.
    """
    owner = "udr_pair"
    a = check_array(codes_a, "codes_a", owner, ndim=2, min_rows=3)
    b = check_array(codes_b, "codes_b", owner, ndim=2, min_rows=3)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"The codes of {owner} must describe the same images: 'codes_a' has {a.shape[0]} rows, "
                         f"'codes_b' {b.shape[0]}.")
    threshold = check_number(threshold, "threshold", owner, low=0.0)
    a, b = a[:, a.var(0) > threshold], b[:, b.var(0) > threshold]
    if a.shape[1] == 0 or b.shape[1] == 0:
        return 0.0
    correlation = np.abs(_ranks(a).T @ _ranks(b))  # (d_a, d_b) |Spearman|
    eps = 1e-12
    rows = (correlation.max(1) ** 2 / (correlation.sum(1) + eps)).sum()
    cols = (correlation.max(0) ** 2 / (correlation.sum(0) + eps)).sum()
    return float((rows + cols) / (a.shape[1] + b.shape[1]))


def udr(codes: Sequence[np.ndarray], *, threshold: float = 0.01) -> dict[str, float]:
    """UDR of several models (e.g. one learner, several seeds) on the same images.

    Parameters
    ----------
    codes : sequence of arrays (N, D_m)
        One code matrix per model, all of the same N images.
    threshold : float, default 0.01
        Activity threshold on code variance (see :func:`udr_pair`).

    Returns
    -------
    dict of str to float
        ``"udr.model<m>"``: each model's median pairwise score; ``"udr.mean"``: their mean.
        Higher is better.
    """
    if (isinstance(codes, np.ndarray) and codes.ndim != 3) or not hasattr(codes, "__len__") or isinstance(codes, str):
        raise TypeError(f"The 'codes' argument of udr must be a sequence of code matrices (N, D_m), one per model. "
                        f"Got {type(codes).__name__}.")
    if len(codes) < 2:
        raise ValueError(f"udr compares models: give the codes of at least two. Got {len(codes)}.")
    m = len(codes)
    pairs = np.full((m, m), np.nan)
    for i in range(m):
        for j in range(i + 1, m):
            pairs[i, j] = pairs[j, i] = udr_pair(codes[i], codes[j], threshold=threshold)
    scores = {f"udr.model{i}": float(np.nanmedian(pairs[i])) for i in range(m)}
    scores["udr.mean"] = float(np.mean(list(scores.values())))
    return scores
