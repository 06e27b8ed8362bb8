"""Shared input checks and lag embeddings for temporal discovery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_names, check_number

__all__ = ["check_full_rank", "check_innovations", "check_series", "embed", "lagged_design", "resolve_names"]


def check_series(data: Any, owner: str, *, tau_max: int, min_extra: int = 3, lag_name: str = "tau_max",
                 span: int = 1, name: str = "data") -> np.ndarray:
    """A finite float series (T, d) with ``d >= 1``, ``T > span * tau_max + min_extra`` and no constant column.

    ``lag_name`` is the caller's name of the lag parameter (``"max_lag"``, ``"tau_max"``) and ``span``
    how many times the caller embeds it (2 for PCMCI's ``2 tau_max``); errors name the value given and
    the series as the caller's argument ``name``.
    """
    series = check_array(data, name, owner, ndim=2, min_rows=2)
    if series.shape[1] == 0:
        raise ValueError(f"The {name!r} argument of {owner} has no columns (shape {series.shape}); it needs at "
                         "least one variable.")
    tau_max = int(check_number(tau_max, lag_name, owner, low=1, integer=True))
    T = series.shape[0]
    needed = span * tau_max + min_extra
    if T <= needed:
        formula = f"{span} * {lag_name}" if span != 1 else lag_name
        raise ValueError(f"The '{lag_name}' parameter of {owner} ({tau_max}) leaves too few samples: the series "
                         f"has T={T} steps; {owner} needs T > {formula} + {min_extra} = {needed}.")
    constant = np.flatnonzero(np.ptp(series, axis=0) == 0)
    if constant.size:
        raise ValueError(f"The {name!r} argument of {owner} has constant columns {constant.tolist()}; "
                         "they carry no information about causal links.")
    _check_lag_window(series, span * tau_max, owner, name)
    return series


def _check_lag_window(series: np.ndarray, max_lag: int, owner: str, name: str) -> None:
    """Raise ValueError when a variable of ``series`` (T, d) is constant over the T - max_lag rows that one
    of its lags 0..max_lag reads (it varies only in the first or last rows): that lagged column carries
    no information, and a CI test or regression would refuse it with the embedding's column numbers."""
    d = series.shape[1]
    constant = np.flatnonzero(np.ptp(embed(series, max_lag), axis=0) == 0)
    if constant.size:
        pairs = [(int(c % d), int(c // d)) for c in constant]
        raise ValueError(
            f"The {name!r} argument of {owner} has variables {sorted({i for i, _ in pairs})} constant over the "
            f"{series.shape[0] - max_lag} rows that some lag 0..{max_lag} reads ((variable, lag): {pairs}); they "
            "vary only in the first or last rows. Drop them or give a longer series.")


def resolve_names(var_names: Sequence[str] | None, d: int, owner: str) -> tuple[str, ...]:
    if var_names is None:
        return tuple(f"x{j}" for j in range(d))
    return check_names(var_names, "var_names", owner, size=d)


def embed(series: np.ndarray, max_lag: int) -> np.ndarray:
    """Lagged copies (T - max_lag, (max_lag + 1) d); column ``lag * d + i`` is ``x_{i, t - lag}``."""
    T, d = series.shape
    n = T - max_lag
    return np.concatenate([series[max_lag - lag: max_lag - lag + n] for lag in range(max_lag + 1)], axis=1)


def lagged_design(series: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets (T - p, d) and the VAR design (T - p, 1 + d p): ``[1, x_{t-1}, ..., x_{t-p}]``."""
    T, d = series.shape
    n = T - order
    design = np.ones((n, 1 + d * order))
    for lag in range(1, order + 1):
        design[:, 1 + (lag - 1) * d: 1 + lag * d] = series[order - lag: order - lag + n]
    return series[order:], design


def check_full_rank(design: np.ndarray, owner: str) -> None:
    """Raise ValueError when the lagged design (n, k) is rank-deficient (collinear or duplicated columns).

    A rank test (SVD) rather than a failed inversion: with exactly collinear columns rounding usually leaves
    ``Z'Z`` invertible, and its inverse then gives meaningless coefficients and p-values.
    """
    rank = int(np.linalg.matrix_rank(design))
    if rank < design.shape[1]:
        raise ValueError(f"The lagged design of {owner} is singular (collinear or duplicated columns): rank {rank} "
                         f"of {design.shape[1]} columns. Drop the columns of 'data' that are linear combinations "
                         "of others.")


#: Residual-to-total sum of squares below which an equation counts as noise-free (noise std 1e-10 of the column's).
_NOISELESS = 1e-20


def check_innovations(residuals: np.ndarray, targets: np.ndarray, owner: str) -> None:
    """Raise ValueError when a column of targets (n, d) is an exact linear function of the lags (residuals (n, d)
    ~ 0): its t- and F-tests would divide by rounding noise and report any coefficient as significant."""
    total = np.sum((targets - targets.mean(axis=0)) ** 2, axis=0)
    noiseless = np.flatnonzero(np.sum(residuals**2, axis=0) <= _NOISELESS * total)
    if noiseless.size:
        raise ValueError(f"The 'data' argument of {owner} has columns {noiseless.tolist()} that are exact linear "
                         "functions of the lagged values (zero innovation variance); the tests of their equations "
                         "are undefined.")
