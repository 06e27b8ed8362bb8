"""Graph-free root-cause scores: NSigma, a BARO-style robust shift score and a random ranking.

A benchmark of root-cause analysis on real microservice systems (Pham, Ha & Zhang, 2024, "Root cause
analysis for microservices based on causal inference: how far are we?", ASE; and their BARO,
"Robust root cause analysis for microservices via multivariate Bayesian online change point
detection", FSE 2024) found that these simple scores match most graph-based methods, so every RCA
table should show them. Each score compares the data after the trigger (``anomalous``) with the data
before it (``normal``), per column:

* **NSigma**: ``max_t |x_t - mean| / std`` of the normal period;
* **BARO-style**: ``max_t |x_t - median| / IQR`` of the normal period (BARO's robust scaler; BARO
  itself also finds the trigger with a Bayesian online change-point detector, which this library
  replaces by its own detectors);
* **random**: a seeded random permutation (what a ranking worth nothing scores).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.rca.detection import check_stream

__all__ = ["baro_scores", "nsigma_scores", "random_scores"]


def _periods(normal: Any, anomalous: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    before = check_stream(normal, "normal", owner, min_rows=2)
    after = check_stream(anomalous, "anomalous", owner, min_rows=1, d=before.shape[1])
    return before, after


def nsigma_scores(normal: Any, anomalous: Any) -> np.ndarray:
    """NSigma scores (d,): the largest absolute z-score of each column after the trigger.

    Parameters
    ----------
    normal : array-like, shape (n, d)
        The normal period (mean and standard deviation per column).
    anomalous : array-like, shape (m, d)
        The period after the trigger.

    Raises
    ------
    ValueError
        NaN values, mismatched widths, or a column constant in the normal period.
    """
    before, after = _periods(normal, anomalous, "nsigma_scores")
    scale = before.std(0)
    # by range, not by std: the float std of a constant column can be ~1e-17 (0.1 repeated), not 0
    constant = np.flatnonzero(np.ptp(before, axis=0) == 0)
    if constant.size:
        raise ValueError(f"The 'normal' argument of nsigma_scores has constant columns {constant.tolist()}; "
                         "their z-scores are undefined.")
    return np.max(np.abs(after - before.mean(0)) / scale, axis=0)


def baro_scores(normal: Any, anomalous: Any) -> np.ndarray:
    """BARO-style robust shift scores (d,): ``max_t |x_t - median| / IQR`` with the normal period's
    median and interquartile range.

    Parameters
    ----------
    normal : array-like, shape (n, d)
    anomalous : array-like, shape (m, d)

    Raises
    ------
    ValueError
        NaN values, mismatched widths, or a column whose normal IQR is 0.
    """
    before, after = _periods(normal, anomalous, "baro_scores")
    q1, median, q3 = np.percentile(before, [25, 50, 75], axis=0)
    spread = q3 - q1
    flat = np.flatnonzero(spread == 0)
    if flat.size:
        raise ValueError(f"The 'normal' argument of baro_scores has columns {flat.tolist()} with zero "
                         "interquartile range; the robust score is undefined.")
    return np.max(np.abs(after - median) / spread, axis=0)


def random_scores(d: int, *, seed: int | np.random.Generator) -> np.ndarray:
    """Scores (d,) of a uniformly random ranking (a permutation of 0..d-1), seeded."""
    d = int(check_number(d, "d", "random_scores", low=1, integer=True))
    return as_generator(seed).permutation(d).astype(np.float64)
