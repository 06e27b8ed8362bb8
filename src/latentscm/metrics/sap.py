"""Separated Attribute Predictability (SAP).

Kumar, Sattigeri & Balakrishnan (2018), "Variational Inference of Disentangled Latent Concepts
from Unlabeled Observations", ICLR. A score matrix S[j, k] measures how well code dimension j
alone predicts factor k; SAP is the mean over factors of the gap between the two highest
scores in the factor's column.

Scores here:

* continuous factor — R² of the 1-D linear regression of the factor on the code, i.e. the
  squared Pearson correlation (two parameters: no held-out split needed);
* discrete factor — held-out balanced accuracy of a 1-D classifier, adjusted for chance:
  (b - 1/L) / (1 - 1/L) for L classes, so that 0 is chance and 1 perfect like R² (unadjusted,
  a useless code already scores 1/L, and a 3-class factor's gap could never exceed 2/3). The
  paper leaves the classifier open; we use the Bayes classifier of the binned code: the training split's code
  range is cut into ``max(n_bins, L)`` equal-width bins (at least one per class) and each bin predicts its
  most frequent class (empty bins predict the overall most frequent class). Unlike a linear SVM on one feature
  (disentanglement_lib's choice), it can single out the middle classes of a many-class factor
  such as dSprites' 40 orientations, and it is one ``np.bincount`` for all code dimensions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentscm._validation import as_generator
from latentscm.metrics._common import (
    check_codes_factors,
    check_n_bins,
    check_test_fraction,
    discrete_mask,
    drop_constant_factors,
    encode_labels,
    equal_width_bins,
    orientation_signs,
    split_indices,
)

__all__ = ["sap_score_matrix", "sap"]


def _squared_correlation(codes: np.ndarray, target: np.ndarray) -> np.ndarray:
    """R² of 1-D linear fits of ``target`` (N,) on each code column (N, D); constant codes get 0."""
    centred_codes = codes - codes.mean(axis=0)
    centred_target = target - target.mean()
    covariance = centred_codes.T @ centred_target
    scale = np.sqrt(np.sum(centred_codes ** 2, axis=0) * np.sum(centred_target ** 2))
    correlation = np.divide(covariance, scale, out=np.zeros_like(covariance), where=scale > 0)
    return correlation ** 2


def _binned_balanced_accuracy(train_codes: np.ndarray, train_labels: np.ndarray,
                              test_codes: np.ndarray, test_labels: np.ndarray, n_levels: int,
                              n_bins: int) -> np.ndarray:
    """Held-out balanced accuracy (D,) of the per-bin majority classifier on each code column,
    adjusted for chance (0 chance or worse, 1 perfect)."""
    n_codes = train_codes.shape[1]
    low, high = train_codes.min(axis=0), train_codes.max(axis=0)
    train_bins = equal_width_bins(train_codes, n_bins, low=low, high=high)
    test_bins = equal_width_bins(test_codes, n_bins, low=low, high=high)
    offsets = (np.arange(n_codes) * n_bins)[None, :]
    counts = np.bincount(((train_bins + offsets) * n_levels + train_labels[:, None]).ravel(),
                         minlength=n_codes * n_bins * n_levels).reshape(n_codes, n_bins, n_levels)
    prediction = counts.argmax(axis=2)  # (D, n_bins)
    empty = counts.sum(axis=2) == 0
    prediction[empty] = np.bincount(train_labels, minlength=n_levels).argmax()
    predicted = prediction[np.arange(n_codes)[None, :], test_bins]  # (N_test, D)
    correct = predicted == test_labels[:, None]
    present = np.bincount(test_labels, minlength=n_levels)
    hits = np.zeros((n_levels, n_codes))
    np.add.at(hits, test_labels, correct)
    recall = hits[present > 0] / present[present > 0, None]
    chance = 1.0 / recall.shape[0]
    if recall.shape[0] == 1:
        return np.zeros(n_codes)
    return np.maximum((recall.mean(axis=0) - chance) / (1.0 - chance), 0.0)


def sap_score_matrix(codes: np.ndarray, factors: np.ndarray, *, n_bins: int = 20,
                     discrete: bool | Sequence[bool] | None = None, test_fraction: float = 0.2,
                     seed: int = 0) -> np.ndarray:
    """The SAP score matrix (D, K): per (code dimension, factor) predictability, 1 perfect and
    ~0 for none (R², or chance-adjusted balanced accuracy).

    See :func:`sap` for the parameters; constant factors are dropped (their columns do not
    appear).
    """
    codes, factors = check_codes_factors(codes, factors, "sap", min_rows=3)
    return _score_matrix(codes, factors, n_bins, discrete, test_fraction, seed)


def _score_matrix(codes: np.ndarray, factors: np.ndarray, n_bins: int, discrete: bool | Sequence[bool] | None,
                  test_fraction: float, seed: int) -> np.ndarray:
    """:func:`sap_score_matrix` of codes and factors already checked (``check_codes_factors``: once, so that its
    warnings are given once)."""
    owner = "sap"
    n_bins = check_n_bins(n_bins, owner)
    test_fraction = check_test_fraction(test_fraction, owner)
    rng = as_generator(seed)
    factors, mask = drop_constant_factors(factors, discrete_mask(factors, discrete, owner), owner)
    train, test = split_indices(codes.shape[0], test_fraction, rng, owner)
    # the classifier's bins put a value on an edge in the bin above it: codes in a canonical orientation first, so
    # that negating a quantised code (values on the edges) does not pair its levels differently
    oriented = codes * orientation_signs(codes)
    scores = np.empty((codes.shape[1], factors.shape[1]))
    for k in range(factors.shape[1]):
        if not mask[k]:
            scores[:, k] = _squared_correlation(codes, factors[:, k])
            continue
        labels, n_levels = encode_labels(factors[:, k])
        # at least one bin per class: with fewer bins than classes even a code equal to the factor
        # could name only n_bins of them (dSprites' 40 orientations would cap at ~0.5)
        scores[:, k] = _binned_balanced_accuracy(oriented[train], labels[train], oriented[test],
                                                 labels[test], n_levels, max(n_bins, n_levels))
    return scores


def sap(codes: np.ndarray, factors: np.ndarray, *, n_bins: int = 20,
        discrete: bool | Sequence[bool] | None = None, test_fraction: float = 0.2,
        seed: int = 0) -> float:
    """Separated Attribute Predictability. Higher is better; in [0, 1].

    Parameters
    ----------
    codes : array (N, D), D >= 2.
    factors : array (N, K); constant factors are ignored.
    n_bins : bins of the 1-D classifier for discrete factors (raised to the factor's number of
        classes when it has more).
    discrete : None (auto: at most min(100, N / 2) distinct values means discrete), a bool, or one bool per
        factor. Continuous factors are scored by R², discrete ones by held-out chance-adjusted
        balanced accuracy.
    test_fraction : share of rows held out to score the classifiers.
    seed : the train / held-out split.

    Returns
    -------
    float: mean over factors of (best score - second-best score) across code dimensions.
    ~1 when each factor is predictable from exactly one code dimension; ~0 when no dimension is
    singled out (entangled, random, or redundant codes). Invariant to permuting, shifting and
    rescaling (also negatively) code dimensions.
    """
    codes, factors = check_codes_factors(codes, factors, "sap", min_rows=3)
    if codes.shape[1] < 2:
        raise ValueError(f"The 'codes' argument of sap needs at least 2 columns (SAP compares the two "
                         f"most predictive code dimensions). Got shape {codes.shape}.")
    scores = _score_matrix(codes, factors, n_bins, discrete, test_fraction, seed)
    top_two = -np.sort(-scores, axis=0)[:2]
    return float(np.mean(top_two[0] - top_two[1]))
