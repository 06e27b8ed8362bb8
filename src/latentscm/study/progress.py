"""The study's progress display: trials done / running / failed and the time left (tqdm).

Trials already finished when the study starts count as done from the start and do not enter the
rate, so the ETA reflects the trials this run actually trains.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["StudyProgress"]


class StudyProgress:
    """A progress bar over a study's trials.

    Parameters
    ----------
    total : int
        Trials in the study.
    done, failed : int
        Trials finished (or failed) before this run started.
    enabled : bool or None, default None
        Show the bar (default: when stderr is a terminal).
    """

    def __init__(self, total: int, *, done: int = 0, failed: int = 0, enabled: bool | None = None):
        from tqdm.auto import tqdm

        if enabled is None:
            enabled = bool(getattr(sys.stderr, "isatty", lambda: False)())
        self.done, self.failed, self.running = done, failed, 0
        self._bar = tqdm(total=total, initial=done + failed, disable=not enabled, unit="trial", dynamic_ncols=True,
                         desc="study")
        self._show()

    def _show(self) -> None:
        self._bar.set_postfix_str(f"done {self.done}, running {self.running}, failed {self.failed}")

    def set_running(self, running: int) -> None:
        """Trials in flight now."""
        self.running = running
        self._show()

    def finished(self, outcome: dict[str, Any]) -> None:
        """One trial reached its final state (done, or failed after its retries)."""
        if outcome["status"] == "done":
            self.done += 1
        else:
            self.failed += 1
        self._bar.update(1)
        self._show()

    def close(self) -> None:
        self._bar.close()
