"""What the study driver needs from an executor.

An executor runs :func:`latentscm.study.execute.execute_trial` for the jobs it is given:
``prepare`` says how many trials may run at once for the resources one trial needs, ``submit``
hands over a job, ``wait`` returns the outcomes of jobs that finished (blocking up to a timeout),
``close`` releases what the executor started. Two exist: :class:`~latentscm.study.sequential.
SequentialExecutor` (in this process, one trial after another) and :class:`~latentscm.study.
ray_executor.RayExecutor` (local Ray or a cluster); :func:`latentscm.study.executors.make_executor`
picks one by name.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Executor", "TrialJob", "available_cores", "ray_available", "RAY_INSTALL_HINT"]

RAY_INSTALL_HINT = ("Ray is not installed; install it with  pip install 'latentscm[ray]'  (or  pip install ray) "
                    "to run trials in parallel or on a cluster. The sequential executor runs the same study "
                    "one trial at a time.")


@dataclass(frozen=True)
class TrialJob:
    """One call of :func:`~latentscm.study.execute.execute_trial`: the trial (as a dict), the study
    directory, torch threads, whether to trust ``module:Class`` paths, and the resources asked for."""

    trial: dict[str, Any]
    study_dir: str
    threads: int
    trust_code: bool
    cpus: int
    gpus: int


class Executor(Protocol):
    """The executor interface the driver (:func:`latentscm.study.runner.run`) uses."""

    name: str

    def prepare(self, cpus_per_trial: int, gpus_per_trial: int) -> int:
        """How many trials may run at once (at least 1)."""

    def submit(self, job: TrialJob) -> None:
        """Start (or queue) ``job``."""

    def wait(self, timeout: float) -> list[dict[str, Any]]:
        """Outcomes of finished jobs (the dicts :func:`execute_trial` returns); may be empty after ``timeout``."""

    def close(self) -> None:
        """Release what this executor started."""


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask; ``os.cpu_count()`` elsewhere)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def ray_available() -> bool:
    """Whether Ray can be imported."""
    return importlib.util.find_spec("ray") is not None
