"""``run(spec, out)``: the study driver — expand, skip what is finished, execute the rest, tabulate.

Resumable and idempotent: a trial whose ``status.json`` says ``done`` (with the same evaluation)
is skipped without touching its files; a trial left ``running`` by a killed driver, or ``failed``
by an earlier run, or with a damaged ``status.json``, is executed again and resumes from its newest
checkpoint (or reloads its trained model). A trial that fails
is retried up to ``retries`` more times in this run; its final failure is recorded with its
error message and never stops the other trials. One driver at a time holds ``study.lock``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentscm._io import atomic_write_json, read_json_object
from latentscm._validation import check_number
from latentscm.study.executor import Executor, TrialJob, available_cores
from latentscm.study.executors import make_executor
from latentscm.study.progress import StudyProgress
from latentscm.study.results import collect_results, write_results
from latentscm.study.spec import StudySpec, load_spec
from latentscm.study.status import METRICS_NAME, locate_trials, read_json, read_status, trial_dir, write_status
from latentscm.study.trials import Trial, expand

__all__ = ["run", "StudyResult", "StudyLockedError", "trial_states", "SPEC_NAME", "LOCK_NAME"]

SPEC_NAME = "study.json"
LOCK_NAME = "study.lock"
#: Seconds between rewrites of the results table while trials finish.
_TABLE_EVERY = 30.0


class StudyLockedError(RuntimeError):
    """Another driver is running the study in this directory."""


@dataclass
class StudyResult:
    """What :func:`run` did.

    Attributes
    ----------
    directory : Path
        The study directory.
    trials : list of Trial
        Every trial of the spec, in table order.
    rows : list of dict
        The results table (see :mod:`latentscm.study.results`).
    skipped : list of str
        Ids of trials that were already finished (nothing of theirs was touched).
    executed : list of str
        Ids of trials executed in this run (retries counted once).
    files : list of Path
        ``results.csv`` (and ``results.parquet``).
    """

    directory: Path
    trials: list[Trial]
    rows: list[dict[str, Any]]
    skipped: list[str] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Trials per state (``done``, ``failed``, ``running``, ``pending``)."""
        counts = {"done": 0, "failed": 0, "running": 0, "pending": 0}
        for row in self.rows:
            counts[row["status"]] += 1
        return counts


@contextlib.contextmanager
def _study_lock(directory: Path) -> Iterator[None]:
    """Hold ``study.lock`` (an OS lock, released by the kernel when the process dies, even by kill -9)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, one driver is the user's responsibility
        yield
        return
    handle = (directory / LOCK_NAME).open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StudyLockedError(f"Another latentscm study driver is running in '{directory}' (it holds "
                                   f"{directory / LOCK_NAME}); wait for it or stop it first.") from None
        yield
    finally:
        handle.close()


def _finished(trial: Trial, directory: Path) -> bool:
    try:  # a damaged status.json is not trusted: the trial runs again (it resumes or reloads its model)
        status = read_status(directory)
    except ValueError:
        return False
    if status["status"] != "done":
        return False
    if trial.evaluation is None:
        return True
    if status.get("evaluation") != trial.evaluation:
        return False
    try:  # a damaged metrics.json is evaluated again, not trusted
        return read_json(directory / METRICS_NAME) is not None
    except ValueError:
        return False


def trial_states(spec: Any, study_dir: str | os.PathLike) -> dict[str, str]:
    """Trial id -> state on disk (``pending``, ``running``, ``done``, ``failed``), without running anything
    (a trial recorded under its old id, see :func:`~latentscm.study.status.locate_trials`, is read there)."""
    trials = expand(spec)
    return {t.id: read_status(trial_dir(study_dir, where.id))["status"]
            for t, where in zip(trials, locate_trials(trials, study_dir))}


def _record_crash(study_dir: Path, outcome: dict[str, Any]) -> dict[str, Any]:
    """A worker that died (Ray reports it) left ``status.json`` at ``running`` (or, dying before it marked the
    trial running, as it was): record the failure."""
    directory = trial_dir(study_dir, outcome["id"])
    status = read_status(directory)
    if status["status"] != "done":
        attempts = int(status.get("attempts", 0))
        status["attempts"] = max(1, attempts if status["status"] == "running" else attempts + 1)
        status.update(status="failed", error=outcome["error"])
        status.setdefault("errors", []).append({"attempt": status["attempts"], "error": outcome["error"]})
        write_status(directory, status)
    return {**outcome, "attempts": status.get("attempts")}


def run(spec: StudySpec | dict[str, Any] | str | os.PathLike, out: str | os.PathLike, *,
        executor: str | Executor = "auto", address: str | None = None, workers: int | None = None,
        threads: int | None = None, retries: int = 1, trust_code: bool = False,
        progress: bool | None = None) -> StudyResult:
    """Run a study: every trial of ``spec`` not yet finished in ``out``, then the results table.

    Parameters
    ----------
    spec : StudySpec, dict, str or path-like
        The study (see :mod:`latentscm.study.spec`).
    out : str or path-like
        The study directory (created; see :mod:`latentscm.study.status` for its layout).
    executor : {"auto", "ray", "sequential"} or Executor, default "auto"
        ``"auto"``: Ray when installed, else one trial after another in this process. An
        executor object is used as given (and not closed).
    address : str or None, default None
        Ray cluster to join (``"auto"`` or ``"ray://host:10001"``); ``None``: local.
    workers : int or None, default None
        CPUs of a local Ray instance (default: the free cores).
    threads : int or None, default None
        Torch threads per trial (default: 1 per trial with Ray, so that one trial runs per core;
        all free cores with the sequential executor; at least one per DDP process). Results are
        bit-identical between executors for the same threads per trial.
    retries : int, default 1
        Extra attempts for a trial that fails, in this run.
    trust_code : bool, default False
        Allow ``module:Class`` learners and worlds that are not registered.
    progress : bool or None, default None
        Show the progress bar (default: when stderr is a terminal).

    Returns
    -------
    StudyResult
        The table and what was skipped and executed; ``results.csv`` is in ``out``.

    Raises
    ------
    StudySpecError
        The spec is malformed (nothing is run).
    StudyLockedError
        Another driver is running this study.
    ImportError
        ``executor="ray"`` or an ``address`` without Ray installed (the message says how to install it).
    """
    spec = load_spec(spec)
    retries = int(check_number(retries, "retries", "study.run", low=0, integer=True))
    if threads is not None:
        threads = int(check_number(threads, "threads", "study.run", low=1, integer=True))
    trials = expand(spec)
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    with _study_lock(directory):
        from latentscm.training.checkpoint import remove_temporaries

        remove_temporaries(directory)  # of results.csv or study.json, left by a driver killed while writing them
        try:
            recorded = read_json_object(directory / SPEC_NAME)
        except ValueError:  # a damaged study.json is the study's own record: rewrite it
            recorded = None
        if recorded != spec.as_dict():
            atomic_write_json(directory / SPEC_NAME, spec.as_dict())
        trials = locate_trials(trials, directory)  # trials recorded under their old ids are not trained again
        skipped = [t.id for t in trials if _finished(t, trial_dir(directory, t.id))]
        todo = [t for t in trials if t.id not in set(skipped)]
        executed: list[str] = []
        if todo:
            executed = _execute(todo, trials, directory, spec, executor=executor, address=address, workers=workers,
                                threads=threads, retries=retries, trust_code=trust_code, progress=progress,
                                already=len(skipped))
        rows = collect_results(trials, directory)
        files = write_results(rows, directory)
    return StudyResult(directory, trials, rows, skipped, executed, files)


def _execute(todo: list[Trial], trials: list[Trial], directory: Path, spec: StudySpec, *, executor: str | Executor,
             address: str | None, workers: int | None, threads: int | None, retries: int, trust_code: bool,
             progress: bool | None, already: int) -> list[str]:
    owned = isinstance(executor, str)
    engine: Executor = make_executor(executor, address=address, workers=workers) if owned else executor
    if threads is None:
        threads = max(spec.processes, 1 if engine.name == "ray" else available_cores())
    threads = max(threads, spec.processes)
    gpus = spec.processes if spec.device.startswith("cuda") else 0
    queue = deque(todo)
    by_id = {t.id: t for t in todo}
    attempts = dict.fromkeys(by_id, 0)
    display = StudyProgress(len(todo) + already, done=already, enabled=progress)
    in_flight = 0
    last_table = time.monotonic()
    try:
        slots = engine.prepare(threads, gpus)
        while queue or in_flight:
            while queue and in_flight < slots:
                trial = queue.popleft()
                engine.submit(TrialJob(trial.as_dict(), str(directory.resolve()), threads, trust_code, threads, gpus))
                in_flight += 1
            display.set_running(in_flight)
            for outcome in engine.wait(timeout=1.0):
                in_flight -= 1
                attempts[outcome["id"]] += 1
                if outcome.get("crashed"):
                    outcome = _record_crash(directory, outcome)
                if outcome["status"] == "failed" and attempts[outcome["id"]] <= retries:
                    queue.append(by_id[outcome["id"]])
                else:
                    display.finished(outcome)
                display.set_running(in_flight)
            if time.monotonic() - last_table > _TABLE_EVERY:  # partial results while a long study runs
                write_results(collect_results(trials, directory), directory)
                last_table = time.monotonic()
        display.set_running(0)
    finally:
        display.close()
        if owned:
            engine.close()
    return [t.id for t in todo]
