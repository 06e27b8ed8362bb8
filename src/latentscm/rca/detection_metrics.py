"""How well a trigger detector did on a stream with a known fault onset: detection delay and false alarms.

Pure functions on alarm steps (as in :attr:`~latentscm.rca.detection.TriggerResult.alarms`) and the
true onset (as in :attr:`~latentscm.worlds.timeseries.Trajectory.fault_onset`). Lower is better for both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import check_number

__all__ = ["detection_delay", "false_alarms"]


def _alarms(alarms: Any, owner: str) -> np.ndarray:
    array = np.asarray(alarms)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"The 'alarms' argument of {owner} must be a 1-D sequence of integer steps. "
                         f"Got {array!r}.")
    if np.any(array < 0):
        raise ValueError(f"The 'alarms' argument of {owner} holds negative steps: {array[array < 0].tolist()}.")
    return np.sort(array.astype(np.int64))


def detection_delay(alarms: Any, onset: int, *, horizon: int | None = None) -> float:
    """Steps from the onset to the first alarm at or after it (lower is better).

    Parameters
    ----------
    alarms : sequence of int
        Alarm steps.
    onset : int
        The true fault onset.
    horizon : int or None
        Alarms later than ``onset + horizon`` do not count as detections.

    Returns
    -------
    float
        The delay, or ``inf`` when the fault was missed.
    """
    owner = "detection_delay"
    onset = int(check_number(onset, "onset", owner, low=0, integer=True))
    found = _alarms(alarms, owner)
    found = found[found >= onset]
    if horizon is not None:
        horizon = int(check_number(horizon, "horizon", owner, low=0, integer=True))
        found = found[found <= onset + horizon]
    return float(found[0] - onset) if found.size else float("inf")


def false_alarms(alarms: Any, onset: int | None) -> int:
    """Alarms raised before the onset (all alarms when there is no fault, ``onset=None``); lower is better."""
    found = _alarms(alarms, "false_alarms")
    if onset is None:
        return int(found.size)
    onset = int(check_number(onset, "onset", "false_alarms", low=0, integer=True))
    return int(np.sum(found < onset))
