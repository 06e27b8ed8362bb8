"""Online trigger-point detection: the shared streaming loop and what a detector returns.

A detector is fitted on a reference window of normal data (``fit``), then fed one step at a time
(``update(x_t) -> bool``, True on an alarm). After an alarm it can adopt the data that follows as
its new normal state: it collects ``reference`` steps and refits on them (the online behaviour of
Wang et al., KDD 2023, "Incremental causal graph learning for online root cause analysis" (CORAL),
whose detector restarts from the new system state after each trigger point). A new state with a constant
column cannot be refitted on; the detector then keeps its previous reference and counts the skip.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_number

__all__ = ["OnlineDetector", "TriggerResult", "check_stream"]


def check_stream(data: Any, name: str, owner: str, *, min_rows: int = 2, d: int | None = None) -> np.ndarray:
    """A finite float series (T, d): NaN, infinite values, a wrong width or too few rows raise ``ValueError``."""
    series = check_array(data, name, owner, ndim=2, min_rows=min_rows)
    if d is not None and series.shape[1] != d:
        raise ValueError(f"The {name!r} argument of {owner} must have {d} columns (the fitted width). "
                         f"Got {series.shape[1]}.")
    return series


@dataclass(frozen=True)
class TriggerResult:
    """What :meth:`OnlineDetector.detect` returns for a series of T steps.

    Attributes
    ----------
    alarms : ndarray of int, shape (n_alarms,)
        Steps at which an alarm was raised (indices into the series), increasing.
    statistic : ndarray, shape (T,)
        The per-step anomaly statistic (NaN where the detector was warming up or refitting).
    decision : ndarray, shape (T,)
        The accumulated decision statistic compared with the threshold (CUSUM, or the run length of
        the z-score detector); NaN where undefined.
    """

    alarms: np.ndarray
    statistic: np.ndarray
    decision: np.ndarray

    @property
    def first_alarm(self) -> int | None:
        """The first alarm step, or ``None`` without alarms."""
        return int(self.alarms[0]) if self.alarms.size else None


class OnlineDetector(ABC):
    """Base of the streaming detectors: ``fit(reference)``, ``update(x_t)``, ``detect(series)``.

    Parameters
    ----------
    reference : int
        Steps collected after an alarm before the detector refits on them (new normal state); at least the
        detector's smallest reference size are collected. No step raises an alarm while they are collected.
    refit : bool
        Whether to refit after an alarm (otherwise the detector keeps its first reference).

    Attributes
    ----------
    n_refits_ : int
        Refits on a new state since :meth:`fit`.
    n_skipped_refits_ : int
        Refits skipped since :meth:`fit` because a column was constant over the collected steps (a metric stuck at
        one value: its normal variation would be zero). The detector then keeps its previous reference, so the
        new state keeps raising alarms, about one per collection of ``reference`` steps.
    """

    def __init__(self, *, reference: int, refit: bool) -> None:
        owner = type(self).__name__
        self.reference = int(check_number(reference, "reference", owner, low=2, integer=True))
        if not isinstance(refit, bool):
            raise TypeError(f"The 'refit' parameter of {owner} must be a bool. Got {refit!r} instead.")
        self.refit = refit

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _fit_reference(self, reference: np.ndarray) -> None:
        """Learn the normal state from ``reference`` (n, d)."""

    @abstractmethod
    def _step(self, x: np.ndarray) -> tuple[float, float, bool]:
        """Consume one step (d,): (statistic, decision statistic, alarm)."""

    @abstractmethod
    def _min_reference(self) -> int:
        """The fewest reference rows the detector can fit on."""

    # ------------------------------------------------------------------ public API
    def fit(self, reference: Any) -> OnlineDetector:
        """Fit the normal state on ``reference`` (n, d) and reset the stream; returns ``self``."""
        owner = f"{type(self).__name__}.fit"
        series = check_stream(reference, "reference", owner, min_rows=self._min_reference())
        constant = np.flatnonzero(np.ptp(series, axis=0) == 0)
        if constant.size:
            raise ValueError(f"The 'reference' argument of {owner} has constant columns {constant.tolist()}; "
                             "their normal variation is zero, so any change would be infinitely anomalous.")
        self.n_features_ = int(series.shape[1])
        self._fit_reference(series)
        self._collecting: list[np.ndarray] | None = None
        self.n_refits_ = 0
        self.n_skipped_refits_ = 0
        return self

    def update(self, x: Any) -> bool:
        """Feed one step ``x`` (d,); True if it raises an alarm."""
        return self._consume(x)[2]

    def _consume(self, x: Any) -> tuple[float, float, bool]:
        owner = f"{type(self).__name__}.update"
        if not hasattr(self, "n_features_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(reference) first.")
        row = check_array(x, "x", owner, ndim=1)
        if row.shape[0] != self.n_features_:
            raise ValueError(f"The 'x' argument of {owner} must have {self.n_features_} values. Got {row.shape[0]}.")
        if self._collecting is not None:  # after an alarm: gather the new normal state, then refit
            self._collecting.append(row)
            if len(self._collecting) >= max(self.reference, self._min_reference()):
                collected = np.stack(self._collecting)
                self._collecting = None
                if np.all(np.ptp(collected, axis=0) > 0):
                    self._fit_reference(collected)
                    self.n_refits_ += 1
                else:  # a constant column: no normal variation to refit on (see the class docstring)
                    self.n_skipped_refits_ += 1
            return float("nan"), float("nan"), False
        statistic, decision, alarm = self._step(row)
        if alarm and self.refit:
            self._collecting = []
        return statistic, decision, alarm

    def detect(self, series: Any) -> TriggerResult:
        """Run the stream over ``series`` (T, d) from the current state; returns a :class:`TriggerResult`."""
        data = check_stream(series, "series", f"{type(self).__name__}.detect", min_rows=1,
                            d=getattr(self, "n_features_", None))
        statistic = np.full(data.shape[0], np.nan)
        decision = np.full(data.shape[0], np.nan)
        alarms = []
        for t, row in enumerate(data):
            statistic[t], decision[t], alarm = self._consume(row)
            if alarm:
                alarms.append(t)
        return TriggerResult(np.array(alarms, dtype=np.int64), statistic, decision)
