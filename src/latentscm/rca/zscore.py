"""The z-score trigger baseline: an alarm when some column leaves its normal range for a few steps.

Each step is standardised with the reference window's per-column mean and standard deviation; the
statistic is ``max_j |z_{j,t}|`` and an alarm is raised when it exceeds ``threshold`` for
``patience`` consecutive steps (the classic 3-sigma rule when ``threshold = 3, patience = 1``).
"""

from __future__ import annotations

import numpy as np

from latentscm._validation import check_number
from latentscm.rca.detection import OnlineDetector

__all__ = ["ZScoreDetector"]


class ZScoreDetector(OnlineDetector):
    """Per-column z-scores against a reference window, alarm after ``patience`` exceedances in a row.

    Parameters
    ----------
    threshold : float, default 4.0
        Level of ``max_j |z_j|`` that counts as anomalous.
    patience : int, default 3
        Consecutive anomalous steps needed for an alarm.
    reference : int, default 100
        Steps of a new state collected after an alarm before refitting.
    refit : bool, default True
        Refit on the new state after an alarm (skipped, and counted in ``n_skipped_refits_``, when a column is
        constant over the collected steps; see :class:`~latentscm.rca.detection.OnlineDetector`).
    """

    def __init__(self, *, threshold: float = 4.0, patience: int = 3, reference: int = 100,
                 refit: bool = True) -> None:
        owner = "ZScoreDetector"
        self.threshold = check_number(threshold, "threshold", owner, low=0, low_inclusive=False)
        self.patience = int(check_number(patience, "patience", owner, low=1, integer=True))
        super().__init__(reference=reference, refit=refit)

    def _min_reference(self) -> int:
        return 2

    def _fit_reference(self, reference: np.ndarray) -> None:
        self.mean_ = reference.mean(0)
        self.scale_ = reference.std(0)
        self.run_length_ = 0

    def _step(self, x: np.ndarray) -> tuple[float, float, bool]:
        statistic = float(np.max(np.abs((x - self.mean_) / self.scale_)))
        self.run_length_ = self.run_length_ + 1 if statistic > self.threshold else 0
        alarm = self.run_length_ >= self.patience
        decision = float(self.run_length_)
        if alarm:
            self.run_length_ = 0
        return statistic, decision, alarm
