"""Nonlinear R²: how much of each factor a kernel ridge regression recovers from the codes.

The "R²" column of CausalVerse (2025) and of the identifiability literature: identifiability up
to an invertible nonlinear map means every true factor is a (smooth) function of the codes, so a
nonlinear regressor from codes to factor should explain it on held-out data.

Kernel ridge regression (Saunders, Gammerman & Vovk 1998) with a Gaussian kernel on
standardised codes: bandwidth by the median heuristic (γ = 1 / median squared distance between
training codes); the ridge α chosen per factor from ``alphas`` by exact leave-one-out error on
the training split (one eigendecomposition of the kernel matrix serves every α and factor:
the LOO residual is (y - ŷ) / (1 - H_ii) with H = K (K + αI)⁻¹). Training uses at most
``max_train`` rows (a random subset) because the cost is cubic in them.

R² = 1 - SSE / SST is undefined for a factor that takes a single value on the held-out rows
(SST = 0; it varies only in the training rows, e.g. a rare value). Such a factor gets NaN, like
other undefined per-factor values of this package (``cf.excess.<factor>`` without a floor,
``FactorRegressor.r2_`` of a constant factor), and :func:`r2` leaves it out of its mean with a
``RuntimeWarning`` naming its column, as ``cf.excess`` leaves out NaN factors (a score of 0
would silently pull the mean down; an error would make the call fail or not by the luck of the split).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from latentscm._validation import as_generator, check_array, check_number
from latentscm.metrics._common import (
    check_codes_factors,
    check_test_fraction,
    split_indices,
    standardise,
    varying_columns,
)

__all__ = ["kernel_ridge_r2", "r2", "r2_per_factor"]


def _squared_distances(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    distances = (np.sum(left ** 2, axis=1)[:, None] + np.sum(right ** 2, axis=1)[None, :]
                 - 2.0 * left @ right.T)
    return np.maximum(distances, 0.0)


def kernel_ridge_r2(train_codes: np.ndarray, train_targets: np.ndarray, test_codes: np.ndarray,
                    test_targets: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Held-out R² (K,) of Gaussian kernel ridge regressions, α per target by leave-one-out; NaN for a
    target that is constant on the held-out rows (SST = 0: R² is undefined)."""
    # constant on the held-out rows, judged before standardising: the mean of equal values may round away from them
    defined = np.ptp(test_targets, axis=0) > 0
    train_codes, test_codes = standardise(train_codes, test_codes)
    train_targets, test_targets = standardise(train_targets, test_targets)
    train_distances = _squared_distances(train_codes, train_codes)
    off_diagonal = train_distances[~np.eye(train_distances.shape[0], dtype=bool)]
    median = float(np.median(off_diagonal))
    gamma = 1.0 / median if median > 0 else 1.0
    # Threaded eigh spent 5x the CPU (and 3x the wall time) of one thread on a busy 2-core
    # machine at n = 2,000; one thread is the safer default for a problem this size.
    with threadpool_limits(limits=1):
        eigenvalues, eigenvectors = np.linalg.eigh(np.exp(-gamma * train_distances))
    eigenvalues = np.maximum(eigenvalues, 0.0)
    projected = eigenvectors.T @ train_targets  # (n, K)
    best_error = np.full(train_targets.shape[1], np.inf)
    best_coefficients = np.zeros_like(train_targets)
    for alpha in alphas:
        shrink = eigenvalues / (eigenvalues + alpha)
        fitted = eigenvectors @ (shrink[:, None] * projected)
        leverage = np.einsum("ij,j,ij->i", eigenvectors, shrink, eigenvectors)
        loo_residual = (train_targets - fitted) / np.maximum(1.0 - leverage, 1e-12)[:, None]
        error = np.mean(loo_residual ** 2, axis=0)
        better = error < best_error
        if np.any(better):
            coefficients = eigenvectors @ (projected / (eigenvalues + alpha)[:, None])
            best_coefficients[:, better] = coefficients[:, better]
            best_error[better] = error[better]
    prediction = np.exp(-gamma * _squared_distances(test_codes, train_codes)) @ best_coefficients
    residual = np.sum((test_targets - prediction) ** 2, axis=0)
    spread = np.sum((test_targets - test_targets.mean(axis=0)) ** 2, axis=0)
    return 1.0 - np.divide(residual, spread, out=np.full_like(residual, np.nan), where=defined & (spread > 0))


def r2(codes: np.ndarray, factors: np.ndarray, *,
       alphas: Sequence[float] = (1e-3, 1e-2, 1e-1, 1.0), max_train: int = 2000,
       test_fraction: float = 0.2, seed: int = 0) -> float:
    """Mean held-out R² of kernel ridge regressions from all codes to each factor. Higher is
    better; <= 1 (0 means no better than predicting the mean, negative is worse).

    Parameters
    ----------
    codes : array (N, D).
    factors : array (N, K), regressed as numbers; constant factors are ignored, and so are factors
        constant on the held-out rows (R² undefined there), with a ``RuntimeWarning`` naming them.
    alphas : candidate ridge penalties (on standardised targets), chosen per factor by
        leave-one-out error on the training split.
    max_train : at most this many training rows (random subset; cost grows as its cube).
    test_fraction : share of rows held out for the score.
    seed : the split and the subset.

    Returns
    -------
    float: mean over factors of 1 - SSE / SST on the held-out rows; NaN (with the warning) when
    every varying factor is constant on the held-out rows. Invariant to permuting code
    dimensions; rescaling them changes nothing after standardisation.
    """
    scores, keep = _r2_scores(codes, factors, alphas, max_train, test_fraction, seed, "r2")
    undefined = np.isnan(scores)
    return float("nan") if np.all(undefined) else float(np.mean(scores[~undefined]))


def r2_per_factor(codes: np.ndarray, factors: np.ndarray, *,
                  alphas: Sequence[float] = (1e-3, 1e-2, 1e-1, 1.0), max_train: int = 2000,
                  test_fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """The held-out R² of each factor, (K,) float64, as :func:`r2` computes them (same split for the same
    ``seed``): NaN for a constant factor and, with the same ``RuntimeWarning``, for one constant on the
    held-out rows. ``r2`` is their mean over the defined entries."""
    scores, keep = _r2_scores(codes, factors, alphas, max_train, test_fraction, seed, "r2_per_factor")
    result = np.full(keep.size, np.nan)
    result[keep] = scores
    return result


def _r2_scores(codes: np.ndarray, factors: np.ndarray, alphas: Sequence[float], max_train: int,
               test_fraction: float, seed: int, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """Held-out R² of the varying factors (M,) (NaN where undefined, with the warning) and which of the K
    columns vary (K,) bool."""
    codes, factors = check_codes_factors(codes, factors, owner, min_rows=4)
    alphas = check_array(alphas, "alphas", owner, ndim=1)
    if np.any(alphas <= 0):
        raise ValueError(f"The 'alphas' parameter of {owner} must hold positive floats. "
                         f"Got {alphas.tolist()!r} instead.")
    max_train = int(check_number(max_train, "max_train", owner, low=2, integer=True))
    test_fraction = check_test_fraction(test_fraction, owner)
    rng = as_generator(seed)
    keep = varying_columns(factors)
    if not np.any(keep):
        raise ValueError(f"Every column of the 'factors' argument of {owner} is constant; there is "
                         f"nothing to measure.")
    factors = factors[:, keep]
    train, test = split_indices(codes.shape[0], test_fraction, rng, owner)
    if train.size > max_train:
        train = np.sort(rng.choice(train, size=max_train, replace=False))
    scores = kernel_ridge_r2(codes[train], factors[train], codes[test], factors[test], alphas)
    undefined = np.isnan(scores)
    if np.any(undefined):
        columns = np.flatnonzero(keep)[undefined].tolist()
        warnings.warn(f"{owner}: factor column(s) {columns} of 'factors' take a single value on the {test.size} "
                      "held-out rows, where R² is undefined (zero total sum of squares); they are left out of the "
                      "mean. A larger test_fraction or another seed may include them.", RuntimeWarning, stacklevel=3)
    return scores, keep
