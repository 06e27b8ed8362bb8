"""Shared input checks and lag embeddings for temporal discovery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_number

__all__ = ["check_series", "embed", "lagged_design", "resolve_names"]


def check_series(data: Any, owner: str, *, tau_max: int, min_extra: int = 3) -> np.ndarray:
    """A finite float series (T, d) with ``T > tau_max + min_extra`` and no constant column."""
    series = check_array(data, "data", owner, ndim=2, min_rows=2)
    tau_max = int(check_number(tau_max, "tau_max", owner, low=1, integer=True))
    T = series.shape[0]
    if T <= tau_max + min_extra:
        raise ValueError(f"The 'tau_max' parameter of {owner} ({tau_max}) leaves too few samples: the series "
                         f"has T={T} steps; {owner} needs T > tau_max + {min_extra}.")
    constant = np.flatnonzero(np.ptp(series, axis=0) == 0)
    if constant.size:
        raise ValueError(f"The 'data' argument of {owner} has constant columns {constant.tolist()}; "
                         "they carry no information about causal links.")
    return series


def resolve_names(var_names: Sequence[str] | None, d: int, owner: str) -> tuple[str, ...]:
    if var_names is None:
        return tuple(f"x{j}" for j in range(d))
    names = tuple(var_names)
    if len(names) != d or len(set(names)) != d:
        raise ValueError(f"The 'var_names' argument of {owner} must be {d} unique names. Got {list(names)}.")
    return names


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
