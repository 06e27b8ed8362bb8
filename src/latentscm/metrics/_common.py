"""Shared input checks and small helpers for :mod:`latentscm.metrics`.

Every metric takes ``codes`` (N, D) and ``factors`` (N, K). This module turns them into
validated float arrays, decides which factors are discrete, turns factor columns into integer
labels, and splits rows into training and held-out parts — once, the same way for every metric.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_number

#: A factor column with at most this many distinct values is treated as discrete when the caller
#: does not say (``discrete=None``). dSprites' largest factor has 40 values, Shapes3D's 15.
DISCRETE_MAX_LEVELS = 100


def check_codes_factors(codes: Any, factors: Any, owner: str, *,
                        min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (codes, factors) pair: both 2-D, finite, same number of rows (>= ``min_rows``),
    at least one column each. Returns float64 copies-or-views."""
    codes = check_array(codes, "codes", owner, ndim=2, min_rows=min_rows)
    factors = check_array(factors, "factors", owner, ndim=2, min_rows=min_rows)
    if codes.shape[0] != factors.shape[0]:
        raise ValueError(f"The 'codes' and 'factors' arguments of {owner} must have the same number "
                         f"of rows. Got {codes.shape[0]} and {factors.shape[0]}.")
    if codes.shape[1] == 0:
        raise ValueError(f"The 'codes' argument of {owner} needs at least one column. Got shape "
                         f"{codes.shape}.")
    if factors.shape[1] == 0:
        raise ValueError(f"The 'factors' argument of {owner} needs at least one column. Got shape "
                         f"{factors.shape}.")
    if not varying_columns(codes).any():
        warnings.warn(f"{owner}: every code dimension is constant (a collapsed representation); the "
                      "score is defined (no information: 0 or chance level) but says nothing more.",
                      RuntimeWarning, stacklevel=3)
    return codes, factors


def check_sequence(value: Any, name: str, owner: str, what: str) -> list[Any]:
    """``value`` as a list, refusing a str (which would be read letter by letter) and anything not iterable;
    ``what`` says what the items are, for the message."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"The {name!r} parameter of {owner} must be a sequence of {what}. Got {value!r} instead.")
    return list(value)


def rank_key(column: np.ndarray) -> tuple[str, float]:
    """A key (hex str) and a sign (+1 or -1) of a code column (N,) that shift, positive scaling and
    negation leave unchanged: the hash of its dense ranks or of its reversed dense ranks, whichever
    is lower; the sign is -1 when the reversed ranks were chosen (so ``sign * column`` is the same
    for a column and its negation)."""
    _, ranks = np.unique(column, return_inverse=True)
    ranks = ranks.reshape(-1).astype(np.int64)
    forward = hashlib.sha1(ranks.tobytes()).hexdigest()
    backward = hashlib.sha1((ranks.max() - ranks).tobytes()).hexdigest()
    return min(forward, backward), (1.0 if forward <= backward else -1.0)


def varying_columns(array: np.ndarray) -> np.ndarray:
    """Boolean mask (n_columns,) of columns that are not constant."""
    return np.ptp(array, axis=0) > 0


def drop_constant_factors(factors: np.ndarray, discrete: np.ndarray, owner: str
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Remove constant factor columns (e.g. dSprites' single colour): there is nothing to
    capture in them, and entropy-normalised scores are undefined for them. Raises when every
    factor is constant."""
    keep = varying_columns(factors)
    if not np.any(keep):
        raise ValueError(f"Every column of the 'factors' argument of {owner} is constant; there is "
                         f"nothing to measure.")
    return factors[:, keep], discrete[keep]


def discrete_mask(factors: np.ndarray, discrete: bool | Sequence[bool] | None, owner: str
                  ) -> np.ndarray:
    """Which factor columns are discrete, as a boolean array (K,).

    ``None`` decides per column: discrete when it has at most :data:`DISCRETE_MAX_LEVELS`
    distinct values and its values repeat (each level seen at least twice on average, i.e. at
    most N / 2 levels for N rows). The second condition matters for small N: with N <= 100 rows
    every continuous column has at most 100 distinct values, and read as one class per row it
    would make every metric meaningless (a perfect code scored MIG ~0). A bool applies to every
    column; a sequence gives one bool per column.
    """
    n_factors = factors.shape[1]
    if discrete is None:
        limit = min(DISCRETE_MAX_LEVELS, factors.shape[0] // 2)
        return np.array([np.unique(factors[:, k]).size <= limit
                         for k in range(n_factors)], dtype=bool)
    if isinstance(discrete, (bool, np.bool_)):
        return np.full(n_factors, bool(discrete))
    mask = np.asarray(discrete)
    if mask.dtype != bool or mask.shape != (n_factors,):
        raise ValueError(f"The 'discrete' parameter of {owner} must be None, a bool, or a sequence "
                         f"of {n_factors} bools (one per factor). Got {discrete!r} instead.")
    return mask


def encode_labels(column: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer labels 0..L-1 (N,) for the distinct values of a column, and L."""
    levels, labels = np.unique(column, return_inverse=True)
    return labels.reshape(-1).astype(np.int64), int(levels.size)


def equal_width_bins(values: np.ndarray, n_bins: int, *, low: np.ndarray | None = None,
                     high: np.ndarray | None = None) -> np.ndarray:
    """Bin each column of ``values`` (N, C) into ``n_bins`` equal-width bins between its minimum
    and maximum (or the given ``low``/``high`` per column, values outside them go to the end
    bins). Returns int64 (N, C) in 0..n_bins-1; a constant column lands entirely in bin 0.

    This is the histogram discretisation of Chen et al. (2018), "Isolating Sources of
    Disentanglement in VAEs", as used for MIG: the maximum falls in the last bin. A value on a
    bin edge goes to the bin above it; "on" allows for float rounding (a few ulps of the operands),
    so that grid values of quantised codes, which often sit exactly on the edges, are binned the
    same way after a shift or a rescaling of their column.
    """
    values = np.asarray(values, dtype=np.float64)
    low = values.min(axis=0) if low is None else low
    high = values.max(axis=0) if high is None else high
    width = np.asarray(high - low, dtype=np.float64)
    safe = np.where(width > 0, width, 1.0)
    scaled = (values - low) / safe * n_bins
    # (x - low) / width * n_bins is off by up to a few eps (|x| + |low| + |high|) / width * n_bins: within that
    # of an edge the value counts as on it
    slack = 8.0 * np.finfo(np.float64).eps * n_bins * (np.abs(values) + np.abs(low) + np.abs(high)) / safe
    nearest = np.round(scaled)
    scaled = np.where(np.abs(scaled - nearest) <= slack, nearest, scaled)
    bins = np.floor(scaled).astype(np.int64)
    bins = np.clip(bins, 0, n_bins - 1)
    bins[:, width <= 0] = 0
    return bins


def orientation_signs(codes: np.ndarray) -> np.ndarray:
    """Signs (D,) of code columns (N, D) that put each column in a canonical orientation (the sign of
    :func:`rank_key`; +1 for a constant column): ``codes * signs`` is the same for a column and its
    negation, so binning it afterwards does not depend on the column's sign."""
    return np.array([rank_key(codes[:, d])[1] if np.ptp(codes[:, d]) > 0 else 1.0
                     for d in range(codes.shape[1])])


def oriented_code_bins(codes: np.ndarray, n_bins: int) -> np.ndarray:
    """:func:`equal_width_bins` (N, D) of code columns (N, D) put in a canonical orientation first
    (:func:`orientation_signs`): a value on an edge goes to the bin above it, so a negated column
    would otherwise split its edge values the other way. Histogram estimates on these bins do not
    change when code dimensions are permuted, shifted or rescaled by any non-zero factor."""
    return equal_width_bins(codes * orientation_signs(codes), n_bins)


def factor_labels(factors: np.ndarray, discrete: np.ndarray, n_bins: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels (N, K) and level counts (K,) for every factor column.

    Discrete columns get one label per distinct value; continuous columns are cut into
    ``n_bins`` equal-width bins between their minimum and maximum (empty bins dropped), so that
    metrics defined for discrete factors apply to them.
    """
    labels = np.empty(factors.shape, dtype=np.int64)
    n_levels = np.empty(factors.shape[1], dtype=np.int64)
    for k in range(factors.shape[1]):
        column = factors[:, k]
        if not discrete[k]:
            column = equal_width_bins(column[:, None], n_bins)[:, 0]
        labels[:, k], n_levels[k] = encode_labels(column)
    return labels, n_levels


def check_n_bins(n_bins: Any, owner: str) -> int:
    return int(check_number(n_bins, "n_bins", owner, low=2, integer=True))


def check_test_fraction(test_fraction: Any, owner: str) -> float:
    return check_number(test_fraction, "test_fraction", owner, low=0.0, high=1.0,
                        low_inclusive=False, high_inclusive=False)


def split_indices(n_rows: int, test_fraction: float, rng: np.random.Generator, owner: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A random train / held-out split of ``n_rows`` rows (both sorted index arrays)."""
    n_test = int(round(n_rows * test_fraction))
    if n_test < 1 or n_rows - n_test < 2:
        raise ValueError(f"{owner} needs at least 2 training rows and 1 held-out row; "
                         f"{n_rows} rows with test_fraction={test_fraction} give "
                         f"{n_rows - n_test} and {n_test}.")
    order = rng.permutation(n_rows)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Centre and scale columns by the training mean and std (constant columns are only
    centred). Returns the transformed ``train`` followed by the transformed ``others``."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return [(array - mean) / std for array in (train, *others)]


def entropy_rows(probabilities: np.ndarray, base: int) -> np.ndarray:
    """Entropy (in log base ``base``) of each row of a non-negative matrix after normalising it
    to sum 1; rows summing to 0 get entropy 1 (maximal). ``base == 1`` gives 0 (a single
    outcome carries no uncertainty)."""
    totals = probabilities.sum(axis=1, keepdims=True)
    p = np.divide(probabilities, totals, out=np.zeros_like(probabilities), where=totals > 0)
    logs = np.log(p, out=np.zeros_like(p), where=p > 0)
    entropy = -np.sum(p * logs, axis=1)
    if base <= 1:
        return np.zeros(probabilities.shape[0])
    entropy = entropy / np.log(base)
    entropy[totals[:, 0] <= 0] = 1.0
    return entropy
