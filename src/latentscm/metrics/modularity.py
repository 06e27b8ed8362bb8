"""Modularity and explicitness.

Ridgeway & Mozer (2018), "Learning Deep Disentangled Embeddings with the F-Statistic Loss",
NeurIPS.

* Modularity: with m[j, k] the mutual information between code dimension j and factor k
  (histogram estimate, codes in ``n_bins`` equal-width bins) and θ_j = max_k m[j, k], the
  deviation of row j from its ideal template (θ_j in the best factor, 0 elsewhere) is
  δ_j = Σ_{k ≠ best} m[j, k]² / (θ_j² (K - 1)); modularity = mean over code dimensions of
  1 - δ_j. Code dimensions with zero MI to every factor (collapsed or dead units) are left
  out of the mean: they depend on no factor, so they are vacuously modular and say nothing
  (disentanglement_lib scores them 0 instead, which penalises spare dimensions).
* Explicitness: per factor, a logistic-regression classifier from all (standardised) code
  dimensions, trained on a training split; the one-vs-rest ROC-AUC of each class on the
  held-out split, averaged over classes and then over factors. We fit one multinomial model
  (scikit-learn >= 1.5 has no ``multi_class="ovr"`` switch) and read each class's
  probability column as its one-vs-rest score. Continuous factors are cut into ``n_bins``
  equal-width bins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from latentscm._validation import as_generator, check_array
from latentscm.metrics._common import (
    check_codes_factors,
    check_n_bins,
    check_test_fraction,
    discrete_mask,
    drop_constant_factors,
    factor_labels,
    oriented_code_bins,
    split_indices,
)
from latentscm.metrics._logistic import class_probabilities
from latentscm.metrics.mutual_info import mutual_info_histogram

__all__ = ["modularity_from_mutual_information", "one_vs_rest_auc", "modularity_explicitness"]


def modularity_from_mutual_information(mutual_info: np.ndarray) -> float:
    """Modularity (in [0, 1], higher is better) from an MI matrix (D codes, K factors)."""
    mutual_info = check_array(mutual_info, "mutual_info", "modularity_from_mutual_information", ndim=2)
    n_factors = mutual_info.shape[1]
    best = mutual_info.max(axis=1)
    informative = best > 0
    if not np.any(informative):
        return 0.0
    if n_factors == 1:
        return 1.0
    rows = mutual_info[informative]
    theta = best[informative]
    off_template = np.sum(rows ** 2, axis=1) - theta ** 2
    deviation = off_template / (theta ** 2 * (n_factors - 1))
    return float(np.mean(1.0 - deviation))


def one_vs_rest_auc(scores: np.ndarray, labels: np.ndarray, n_levels: int) -> float:
    """Mean over classes of the ROC-AUC of ``scores[:, c]`` (N, L) for "label == c" against
    the rest (Mann-Whitney form, ties counted half). Classes absent from ``labels`` or making
    up all of it are skipped."""
    ranks = rankdata(scores, axis=0)
    aucs = []
    for level in range(n_levels):
        positive = labels == level
        n_pos = int(positive.sum())
        n_neg = labels.size - n_pos
        if n_pos == 0 or n_neg == 0:
            continue
        rank_sum = ranks[positive, level].sum()
        aucs.append((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return float(np.mean(aucs)) if aucs else 0.5


def modularity_explicitness(codes: np.ndarray, factors: np.ndarray, *, n_bins: int = 20,
                            discrete: bool | Sequence[bool] | None = None,
                            test_fraction: float = 0.2, seed: int = 0) -> dict[str, float]:
    """Modularity and explicitness of a representation (Ridgeway & Mozer 2018). Both higher is
    better, in [0, 1] (explicitness 0.5 is chance).

    Parameters
    ----------
    codes : array (N, D).
    factors : array (N, K); constant factors are ignored, continuous ones binned.
    n_bins : equal-width bins for the codes (MI) and for continuous factors.
    discrete : None (auto: at most min(100, N / 2) distinct values means discrete), a bool, or one bool per
        factor.
    test_fraction : share of rows held out to score explicitness.
    seed : the train / held-out split (the same as InfoE's for the same seed, so a suite
        fits the shared classifiers once).

    Returns
    -------
    dict with ``"modularity_explicitness.modularity"`` and
    ``"modularity_explicitness.explicitness"``.
    """
    owner = "modularity_explicitness"
    codes, factors = check_codes_factors(codes, factors, owner, min_rows=3)
    n_bins = check_n_bins(n_bins, owner)
    test_fraction = check_test_fraction(test_fraction, owner)
    rng = as_generator(seed)
    factors, mask = drop_constant_factors(factors, discrete_mask(factors, discrete, owner), owner)
    labels, n_levels = factor_labels(factors, mask, n_bins)
    mutual_info = mutual_info_histogram(oriented_code_bins(codes, n_bins), n_bins, labels, n_levels)
    train, test = split_indices(codes.shape[0], test_fraction, rng, owner)
    aucs = []
    for k in range(labels.shape[1]):
        probabilities = class_probabilities(codes[train], labels[train, k], codes[test],
                                            int(n_levels[k]))
        aucs.append(one_vs_rest_auc(probabilities, labels[test, k], int(n_levels[k])))
    return {
        "modularity_explicitness.modularity": modularity_from_mutual_information(mutual_info),
        "modularity_explicitness.explicitness": float(np.mean(aucs)),
    }
