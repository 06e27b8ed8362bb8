"""The sequential executor: trials run one after another in the driver process (no Ray needed)."""

from __future__ import annotations

from collections import deque
from typing import Any

from latentscm.study.executor import TrialJob

__all__ = ["SequentialExecutor"]


class SequentialExecutor:
    """Run each submitted trial in this process when :meth:`wait` is called (one at a time).

    A trial that raises is recorded as failed by :func:`~latentscm.study.execute.execute_trial`;
    ``KeyboardInterrupt`` stops the study (the trial stays ``running`` and resumes next time).
    """

    name = "sequential"

    def __init__(self) -> None:
        self._queue: deque[TrialJob] = deque()

    def prepare(self, cpus_per_trial: int, gpus_per_trial: int) -> int:
        """One trial at a time, whatever it needs."""
        return 1

    def submit(self, job: TrialJob) -> None:
        """Queue ``job`` (it runs in :meth:`wait`)."""
        self._queue.append(job)

    def wait(self, timeout: float) -> list[dict[str, Any]]:
        """Run the oldest queued job to completion and return its outcome (``timeout`` is not used)."""
        from latentscm.study.execute import execute_trial

        if not self._queue:
            return []
        job = self._queue.popleft()
        return [execute_trial(job.trial, job.study_dir, threads=job.threads, trust_code=job.trust_code)]

    def close(self) -> None:
        """Drop queued jobs."""
        self._queue.clear()
