"""Run one trial: train (or resume, or reuse) its run directory, evaluate it, record its status.

:func:`execute_trial` is what every executor calls, in the driver process (sequential) or in a
Ray worker. It never raises for a failing trial: the error is written to ``status.json`` (and
returned), so one bad hyperparameter never stops a study. What it does, in order:

1. mark the trial ``running`` (attempt n) in ``status.json``;
2. if ``model.pt`` exists the trained learner is loaded; otherwise it trains with
   ``fit(..., resume=True)`` — from the newest checkpoint when an earlier attempt was
   interrupted, from scratch otherwise. A trial with ``processes > 1`` trains under
   ``torchrun --standalone --nproc-per-node P`` (DistributedDataParallel; rank 0 writes);
3. evaluates with :func:`latentscm.metrics.evaluate` and writes ``metrics.json``;
4. marks the trial ``done`` (or ``failed`` with the error message).

Torch uses ``threads`` threads while the trial runs (restored afterwards).
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from latentscm._io import atomic_write_json
from latentscm.study.status import METRICS_NAME, TRIAL_NAME, read_json, read_status, trial_dir, write_status
from latentscm.study.trials import Trial

__all__ = ["execute_trial", "make_trial_learner", "make_trial_world", "train_trial"]

#: Characters of a failing torchrun's output kept in the error message.
_OUTPUT_TAIL = 2000
#: Lines of a failing torchrun's output that name a worker's own failure (a C++ abort prints them long before
#: torchrun's summary, which fills the tail).
_WORKER_FAILURE = re.compile(r"terminate called|what\(\)|Error|Exception|Abort|Segmentation|Killed")
#: Innermost frames of a failing trial's traceback kept in ``status.json``.
_TRACEBACK_FRAMES = 8


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def make_trial_learner(trial: Trial, *, trust_code: bool = False) -> Any:
    """The unfitted learner of ``trial`` (a registered name, or ``module:Class`` with ``trust_code``)."""
    from latentscm import learners

    if ":" not in trial.learner:
        return learners.make(trial.learner, **trial.params)
    from latentscm._registry import resolve_class

    cls = resolve_class(trial.learner, base=learners.REGISTRY.base, registered=learners.REGISTRY.paths(),
                        trust_code=trust_code, what="learner", source=f"study trial {trial.id}")
    return cls(**trial.params)


def make_trial_world(trial: Trial, *, trust_code: bool = False) -> Any:
    """The world of ``trial`` (a registered name, or ``module:Class`` with ``trust_code``)."""
    from latentscm import worlds

    if ":" not in trial.world:
        return worlds.make(trial.world, **trial.world_options)
    from latentscm._registry import resolve_class
    from latentscm.worlds.registry import _registered_paths

    cls = resolve_class(trial.world, base=worlds.World, registered=_registered_paths(), trust_code=trust_code,
                        what="world", source=f"study trial {trial.id}")
    return cls(**trial.world_options)


def train_trial(trial: Trial, directory: Path, *, trust_code: bool = False, progress: bool = False) -> Any:
    """Train ``trial`` into ``directory`` in this process, resuming from its newest checkpoint."""
    learner = make_trial_learner(trial, trust_code=trust_code)
    world = make_trial_world(trial, trust_code=trust_code)
    return learner.fit(world, out=str(directory), resume=True, progress=progress, **trial.training)


def _failure_excerpt(output: str) -> str:
    """The end of a failing torchrun's ``output`` and, when that is cut, the earlier lines naming a failure."""
    if len(output) <= _OUTPUT_TAIL:
        return f"its output:\n{output}"
    head = output[:-_OUTPUT_TAIL]
    named = [line for line in head.splitlines() if _WORKER_FAILURE.search(line)]
    earlier = "\n".join(named)[-_OUTPUT_TAIL:]
    return (f"earlier lines naming a failure:\n{earlier}\n... its output ends with:\n" if named
            else "its output ends with:\n") + output[-_OUTPUT_TAIL:]


def _train_distributed(trial: Trial, study_dir: Path, threads: int, trust_code: bool) -> None:
    """``torchrun --standalone --nproc-per-node P -m latentscm.study.distributed_trial``."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={trial.processes}", "-m", "latentscm.study.distributed_trial",
               str(study_dir), trial.id] + (["--trust-code"] if trust_code else [])
    env = dict(os.environ)
    per_process = str(max(1, threads // trial.processes))
    env.update(OMP_NUM_THREADS=per_process, MKL_NUM_THREADS=per_process, LATENTSCM_STUDY_THREADS=per_process)
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"torchrun with {trial.processes} processes exited with status {result.returncode}; "
                           f"{_failure_excerpt(result.stdout + result.stderr)}")


def _evaluate(learner: Any, trial: Trial, trust_code: bool) -> dict[str, float]:
    from latentscm.metrics import evaluate

    world = make_trial_world(trial, trust_code=trust_code)
    results = evaluate(learner, world, **trial.evaluation)
    return {key: float(value) for key, value in results.items()}


def _trained_learner(trial: Trial, directory: Path, study_dir: Path, threads: int, trust_code: bool) -> tuple[Any, int]:
    """The trained learner and the step training resumed from (0: fresh start, or already trained)."""
    import latentscm
    from latentscm.run import CHECKPOINT_DIR, MODEL_NAME
    from latentscm.training.checkpoint import latest_checkpoint

    if (directory / MODEL_NAME).exists():
        learner = latentscm.load(directory, trust_code=trust_code)
        return learner, int(learner.n_steps_)
    latest = latest_checkpoint(directory / CHECKPOINT_DIR)
    resumed_from = latest[0] if latest is not None else 0
    if trial.processes > 1:
        _train_distributed(trial, study_dir, threads, trust_code)
        return latentscm.load(directory, trust_code=trust_code), resumed_from
    return train_trial(trial, directory, trust_code=trust_code), resumed_from


def execute_trial(trial: Trial | dict[str, Any], study_dir: str | os.PathLike, *, threads: int = 1,
                  trust_code: bool = False) -> dict[str, Any]:
    """Train and evaluate one trial in ``study_dir/trials/<id>``; never raises for a failing trial.

    Parameters
    ----------
    trial : Trial or dict
        The trial (a dict as :meth:`Trial.as_dict` gives, e.g. after crossing to a Ray worker).
    study_dir : str or path-like
        The study directory.
    threads : int, default 1
        Torch threads while this trial runs (DDP trials split them between processes).
    trust_code : bool, default False
        Allow ``module:Class`` learners and worlds that are not registered.

    Returns
    -------
    dict
        ``id``, ``status`` (``"done"`` or ``"failed"``), ``error`` (message or ``None``),
        ``attempts`` (this one included), ``seconds`` and ``resumed_from_step``.
    """
    import torch

    if isinstance(trial, dict):
        trial = Trial.from_dict(trial)
    study_dir = Path(study_dir)
    directory = trial_dir(study_dir, trial.id)
    directory.mkdir(parents=True, exist_ok=True)
    # temporaries of a killed attempt (its writer is gone): a trial that only reloads its model never
    # enters fit(), which cleans up the run directory, so the study would keep them for good
    from latentscm.training.checkpoint import remove_temporaries

    remove_temporaries(directory)
    try:
        recorded = read_json(directory / TRIAL_NAME)
    except ValueError:  # a damaged trial.json is rewritten: the trial itself is the record
        recorded = None
    if recorded != trial.as_dict():  # missing, damaged, or another device/evaluation under the same id
        atomic_write_json(directory / TRIAL_NAME, trial.as_dict())
    try:
        previous = read_status(directory)
    except ValueError:  # a damaged status.json is rewritten, like trial.json: this attempt is the record
        previous = {"attempts": 0, "errors": []}
    attempt = int(previous.get("attempts", 0)) + 1
    status = {"id": trial.id, "status": "running", "attempts": attempt, "errors": list(previous.get("errors", [])),
              "started": _now(), "host": platform.node(), "pid": os.getpid(), "threads": threads,
              "device": trial.device, "processes": trial.processes}
    write_status(directory, status)
    clock = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    resumed_from = 0
    try:
        learner, resumed_from = _trained_learner(trial, directory, study_dir, threads, trust_code)
        if trial.evaluation is not None:
            atomic_write_json(directory / METRICS_NAME, _evaluate(learner, trial, trust_code))
    except Exception as error:  # a failing trial is recorded, never raised: the study goes on
        message = f"{type(error).__name__}: {error}"
        status.update(status="failed", error=message, finished=_now(), seconds=time.perf_counter() - clock,
                      resumed_from_step=resumed_from)
        status["errors"].append({"attempt": attempt, "error": message,
                                 "traceback": "".join(traceback.format_exception(error, limit=-_TRACEBACK_FRAMES))})
        write_status(directory, status)
        return {"id": trial.id, "status": "failed", "error": message, "attempts": attempt,
                "seconds": status["seconds"], "resumed_from_step": resumed_from}
    finally:
        torch.set_num_threads(previous_threads)
    status.update(status="done", error=None, finished=_now(), seconds=time.perf_counter() - clock,
                  resumed_from_step=resumed_from, evaluation=trial.evaluation)
    write_status(directory, status)
    return {"id": trial.id, "status": "done", "error": None, "attempts": attempt, "seconds": status["seconds"],
            "resumed_from_step": resumed_from}
