"""Mutual information between code dimensions and factors, as one (D, K) matrix.

Two estimators, both vectorised (no per-pair loop of library calls):

* ``"histogram"`` — each code dimension is cut into ``n_bins`` equal-width bins between its
  minimum and maximum (Chen et al. 2018, as disentanglement_lib does for MIG); the joint
  histogram of every (code dimension, factor) pair comes from a single ``np.bincount`` per
  factor, and the plug-in MI follows.
* ``"knn"`` — the nearest-neighbour estimator for a continuous variable against a discrete one
  of Ross (2014), "Mutual Information between Discrete and Continuous Data Sets" (PLoS ONE
  9(2): e87357). Codes stay continuous; in one dimension the k nearest same-label neighbours of
  a point lie among its k neighbours on either side in the (label, value) ordering, so the
  whole estimate is a sort, a few shifted differences and two ``searchsorted`` calls. A point whose
  class has one member has no same-class neighbour and is left out of the estimate entirely (of N
  and of every neighbour count), as in Ross (2014) and scikit-learn's ``mutual_info_classif``.

Factors are always used as discrete labels; continuous factors are cut into ``n_bins``
equal-width bins first. All values are in nats.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import digamma

from latentscm._validation import as_generator, check_choice, check_number
from latentscm.metrics._common import (
    check_codes_factors,
    check_n_bins,
    discrete_mask,
    factor_labels,
    oriented_code_bins,
    rank_key,
)

__all__ = [
    "ESTIMATORS",
    "KNN_JITTER",
    "entropy",
    "factor_entropies",
    "mutual_info_histogram",
    "mutual_info_knn",
    "mutual_information",
]

ESTIMATORS = ("histogram", "knn")

#: Codes are standardised and then jittered by this much (in standard deviations) for the kNN
#: estimator, so that tied values (quantised latents) are ordered at random instead of making
#: neighbour distances zero.
KNN_JITTER = 1e-10


def entropy(labels: np.ndarray, n_levels: int) -> float:
    """Plug-in entropy (nats) of integer labels (N,) in 0..n_levels-1."""
    counts = np.bincount(labels, minlength=n_levels).astype(np.float64)
    p = counts[counts > 0] / labels.size
    return float(-np.sum(p * np.log(p)))


def factor_entropies(labels: np.ndarray, n_levels: np.ndarray) -> np.ndarray:
    """Plug-in entropy (nats) of each label column of ``labels`` (N, K)."""
    return np.array([entropy(labels[:, k], int(n_levels[k])) for k in range(labels.shape[1])])


def mutual_info_histogram(code_bins: np.ndarray, n_bins: int, labels: np.ndarray,
                          n_levels: np.ndarray) -> np.ndarray:
    """Plug-in MI (nats) between binned codes (N, D) in 0..n_bins-1 and factor labels (N, K).

    Returns (D, K). One joint histogram over all D code dimensions per factor.
    """
    n_rows, n_codes = code_bins.shape
    code_offsets = (np.arange(n_codes) * n_bins)[None, :]
    flat_codes = (code_bins + code_offsets)  # (N, D): a distinct id per (dimension, bin)
    result = np.empty((n_codes, labels.shape[1]))
    for k in range(labels.shape[1]):
        n_lab = int(n_levels[k])
        joint_ids = flat_codes * n_lab + labels[:, k][:, None]
        joint = np.bincount(joint_ids.ravel(), minlength=n_codes * n_bins * n_lab)
        joint = joint.reshape(n_codes, n_bins, n_lab).astype(np.float64) / n_rows
        p_code = joint.sum(axis=2, keepdims=True)
        p_label = joint.sum(axis=1, keepdims=True)
        expected = p_code * p_label
        ratio = np.divide(joint, expected, out=np.ones_like(joint), where=joint > 0)
        result[:, k] = np.sum(joint * np.log(ratio), axis=(1, 2))
    return np.maximum(result, 0.0)


def _knn_mi_column(values: np.ndarray, labels: np.ndarray, n_levels: int, n_neighbors: int
                   ) -> float:
    """Ross (2014) MI (nats) between one continuous column (N,) and labels (N,).

    A point whose class has a single member has no same-class neighbour, so it is removed from the
    estimate entirely, as in Ross (2014) and scikit-learn's ``mutual_info_classif``: it counts neither in
    N nor among the neighbours m_i of the other points (it is not in the sample). The estimate is
    psi(N) + <psi(k_i)> - <psi(N_c(i))> - <psi(m_i)> over the N remaining points, with k_i = min(k, N_c - 1)
    and m_i the number of other remaining points within the distance to the k_i-th same-class neighbour
    (inclusive); 0 when every class is a singleton. Clipped at 0.
    """
    n_rows = values.size
    order = np.lexsort((values, labels))
    sorted_values = values[order]
    sorted_labels = labels[order]
    class_sizes = np.bincount(labels, minlength=n_levels)[sorted_labels]
    # The k nearest same-label neighbours in 1-D are among the k on either side in this order.
    candidates = np.full((n_rows, 2 * n_neighbors), np.inf)
    for step in range(1, n_neighbors + 1):
        gaps = sorted_values[step:] - sorted_values[:-step]
        same = sorted_labels[step:] == sorted_labels[:-step]
        gaps = np.where(same, gaps, np.inf)
        candidates[step:, 2 * step - 2] = gaps   # neighbour to the left
        candidates[:-step, 2 * step - 1] = gaps  # neighbour to the right
    candidates.sort(axis=1)
    usable = class_sizes > 1  # a point alone in its class has no neighbour: left out (Ross 2014)
    if not np.any(usable):
        return 0.0
    k_point = np.minimum(n_neighbors, class_sizes - 1)
    radius = candidates[np.arange(n_rows), np.maximum(k_point, 1) - 1]
    centre = sorted_values[usable]
    radius = radius[usable]
    everything = np.sort(centre)  # only the points that are in the estimate count as neighbours
    # Count every point within the radius (inclusive), minus the point itself. The radius is the gap
    # v - c to the k-th neighbour v, and c + (v - c) may round up to 1.5 ulp of v away from v, so the
    # bounds are widened by 4 eps (|c| + r): the k-th neighbour is never lost (the count is >= k, as in
    # exact arithmetic); a point farther away by less than that is a tie at this precision anyway.
    slack = 4.0 * np.finfo(np.float64).eps * (np.abs(centre) + radius)
    upper = centre + radius + slack
    lower = centre - radius - slack
    within = np.searchsorted(everything, upper, side="right") - np.searchsorted(everything, lower,
                                                                                  side="left") - 1
    n_used = int(usable.sum())
    estimate = (digamma(n_used) + np.mean(digamma(k_point[usable]))
                - np.mean(digamma(class_sizes[usable])) - np.mean(digamma(within)))
    return max(float(estimate), 0.0)


def mutual_info_knn(codes: np.ndarray, labels: np.ndarray, n_levels: np.ndarray, n_neighbors: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Ross (2014) kNN MI (nats) between continuous codes (N, D) and factor labels (N, K).

    Returns (D, K); constant code dimensions get 0.
    """
    n_rows, n_codes = codes.shape
    result = np.zeros((n_codes, labels.shape[1]))
    base = int(rng.integers(2 ** 62))
    for d in range(n_codes):
        # one contiguous column at a time: its mean and std (hence every estimate) do not depend on the
        # column's position in ``codes`` (axis-0 reductions of a matrix may round differently)
        values = np.ascontiguousarray(codes[:, d])
        std = values.std()
        if std <= 0:
            continue
        # the tie-breaking jitter follows the column's content, not its position, with the column's canonical
        # sign: permuting or negating code dimensions leaves every estimate unchanged
        key, sign = rank_key(values)
        jitter = sign * np.random.default_rng([base, int(key[:15], 16)]).standard_normal(n_rows) * KNN_JITTER
        column = (values - values.mean()) / std + jitter
        for k in range(labels.shape[1]):
            result[d, k] = _knn_mi_column(column, labels[:, k], int(n_levels[k]), n_neighbors)
    return result


def mutual_information(codes: np.ndarray, factors: np.ndarray, *, estimator: str = "histogram",
                       n_bins: int = 20, n_neighbors: int = 3,
                       discrete: bool | Sequence[bool] | None = None, seed: int = 0) -> np.ndarray:
    """Mutual information matrix between code dimensions and factors.

    Parameters
    ----------
    codes : array (N, D)
    factors : array (N, K); continuous columns are cut into ``n_bins`` equal-width bins.
    estimator : ``"histogram"`` (codes binned into ``n_bins`` equal-width bins; Chen et al.
        2018) or ``"knn"`` (Ross 2014, ``n_neighbors`` neighbours, codes left continuous).
    discrete : which factors are discrete (see :func:`latentscm.metrics._common.discrete_mask`).
    seed : only the kNN estimator is random (a 1e-10 jitter that orders tied code values).

    Returns
    -------
    array (D, K) of MI values in nats (>= 0). Invariant to permuting, shifting and positively
    or negatively scaling code dimensions.
    """
    owner = "mutual_information"
    codes, factors = check_codes_factors(codes, factors, owner)
    estimator = check_choice(estimator, "estimator", owner, ESTIMATORS)
    n_bins = check_n_bins(n_bins, owner)
    mask = discrete_mask(factors, discrete, owner)
    labels, n_levels = factor_labels(factors, mask, n_bins)
    if estimator == "histogram":
        return mutual_info_histogram(oriented_code_bins(codes, n_bins), n_bins, labels, n_levels)
    n_neighbors = int(check_number(n_neighbors, "n_neighbors", owner, low=1, integer=True))
    return mutual_info_knn(codes, labels, n_levels, n_neighbors, as_generator(seed))
