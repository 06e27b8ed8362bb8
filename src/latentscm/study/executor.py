"""What the study driver needs from an executor, and how one is chosen.

An executor runs :func:`latentscm.study.execute.execute_trial` for the jobs it is given:
``prepare`` says how many trials may run at once for the resources one trial needs, ``submit``
hands over a job, ``wait`` returns the outcomes of jobs that finished (blocking up to a timeout),
``close`` releases what the executor started. Two exist: :class:`~latentscm.study.sequential.
SequentialExecutor` (in this process, one trial after another) and :class:`~latentscm.study.
ray_executor.RayExecutor` (local Ray or a cluster). :func:`make_executor` picks one by name;
``"auto"`` takes Ray when it is installed and the sequential executor otherwise.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from typing import Any, Protocol

from latentscm._validation import check_choice

__all__ = ["Executor", "TrialJob", "available_cores", "make_executor", "ray_available", "EXECUTORS",
           "RAY_INSTALL_HINT"]

EXECUTORS = ("auto", "ray", "sequential")
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


def make_executor(name: str = "auto", *, address: str | None = None, workers: int | None = None) -> Executor:
    """The executor called ``name``.

    Parameters
    ----------
    name : {"auto", "ray", "sequential"}, default "auto"
        ``"auto"``: Ray when installed (and always when ``address`` is given), else sequential.
    address : str or None, default None
        A Ray cluster: ``"auto"`` (the cluster this machine belongs to) or ``"ray://host:10001"``
        (Ray Client). ``None``: a local Ray instance.
    workers : int or None, default None
        Local Ray: CPUs of the local instance (default: the free cores, see
        :func:`available_cores`).

    Raises
    ------
    ImportError
        ``"ray"`` (or an ``address``) without Ray installed; the message says how to install it.
    ValueError
        An unknown name, or an ``address`` with the sequential executor.
    """
    check_choice(name, "executor", "make_executor", EXECUTORS)
    if name == "sequential":
        if address is not None:
            raise ValueError(f"The sequential executor runs in this process; --address {address!r} needs the Ray "
                             f"executor.")
        from latentscm.study.sequential import SequentialExecutor

        return SequentialExecutor()
    if not ray_available():
        if name == "ray" or address is not None:
            raise ImportError(RAY_INSTALL_HINT)
        from latentscm.study.sequential import SequentialExecutor

        return SequentialExecutor()
    from latentscm.study.ray_executor import RayExecutor

    return RayExecutor(address=address, workers=workers)
