"""Where a study keeps each trial, and the trial's ``status.json``.

Layout of a study directory::

    study.json                   the normalised spec of the last run
    study.lock                   held (flock) by the running driver; a second driver is refused
    results.csv / .parquet       one row per trial (see :mod:`latentscm.study.results`)
    trials/<id>/                 an ordinary run directory (config.json, checkpoints/, train.jsonl,
                                 model.pt) that ``latentscm resume/evaluate/report`` accept, plus
        trial.json               the trial's parameters (rewritten when a run of the same trial brings
                                 another device or evaluation; DDP processes read it)
        status.json              running / done / failed, attempts, errors, seconds
        metrics.json             the evaluation (flat metric -> value, as the run report reads it)

Every file is written atomically. ``status.json`` says ``running`` while a worker holds the trial;
a driver killed mid-study leaves it so, and the next run resumes that trial from its newest
checkpoint.

A trial with a whole float (``beta: 1.0``) recorded before ids hashed numbers by value is in
``trials/<old id>/``; :func:`locate_trials` gives such a trial the name of that directory (the
directory is used as it is, never renamed), so it is neither trained again nor moved.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latentscm._io import atomic_write_json, read_json_object
from latentscm.study.trials import Trial, legacy_trial_id, trial_id

__all__ = ["TRIALS_DIR", "STATUS_NAME", "TRIAL_NAME", "METRICS_NAME", "STATES", "trial_dir", "read_status",
           "write_status", "read_json", "locate_trials"]

TRIALS_DIR = "trials"
STATUS_NAME = "status.json"
TRIAL_NAME = "trial.json"
METRICS_NAME = "metrics.json"
#: The states a trial can be in (``pending``: never started).
STATES = ("pending", "running", "done", "failed")


def trial_dir(study_dir: str | os.PathLike, trial_id: str) -> Path:
    """``study_dir/trials/<trial_id>``."""
    return Path(study_dir) / TRIALS_DIR / trial_id


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from ``path``; ``None`` when the file does not exist.

    Raises
    ------
    ValueError
        The file is not a JSON object (the message names it).
    """
    return read_json_object(path, remedy="delete it to start the trial afresh")


def read_status(directory: Path) -> dict[str, Any]:
    """The trial's ``status.json`` (``{"status": "pending", "attempts": 0, "errors": []}`` if absent)."""
    status = read_json(directory / STATUS_NAME)
    if status is None:
        return {"status": "pending", "attempts": 0, "errors": []}
    if status.get("status") not in STATES:
        raise ValueError(f"'{directory / STATUS_NAME}' has an unknown status {status.get('status')!r}.")
    return status


def write_status(directory: Path, status: dict[str, Any]) -> Path:
    """Write ``status.json`` atomically."""
    return atomic_write_json(directory / STATUS_NAME, status)


def _recorded_by_new_id(root: Path, names: set[str]) -> dict[str, str]:
    """New id -> name of a directory under ``root`` whose ``trial.json`` records a trial (with the directory's
    name as its id, so that a copied one is not adopted); a done one is preferred when two spellings of one
    trial were both run."""
    found: dict[str, tuple[bool, str]] = {}
    for name in sorted(names):
        try:
            recorded = Trial.from_dict(read_json(root / name / TRIAL_NAME) or {})
            done = read_status(root / name)["status"] == "done"
        except (ValueError, KeyError, TypeError):  # missing or damaged records: not a trial to adopt
            continue
        if recorded.id != name:
            continue
        new = trial_id(recorded.learner, recorded.identity())
        if new not in found or (done and not found[new][0]):
            found[new] = (done, name)
    return {new: name for new, (_, name) in found.items()}


def locate_trials(trials: Sequence[Trial], study_dir: str | os.PathLike) -> list[Trial]:
    """``trials`` with each id replaced by the name of the directory of ``study_dir`` that holds it.

    A trial is in ``trials/<id>/``; when that does not exist, a directory made before ids hashed numbers
    by value holds it: ``trials/<old id>/`` (the spec's spelling, :func:`~latentscm.study.trials.legacy_trial_id`),
    or a directory whose ``trial.json`` records another spelling of the same numbers (``1`` for ``1.0``).
    Nothing is written or renamed. Trials found nowhere keep their id.
    """
    root = Path(study_dir) / TRIALS_DIR
    if not root.is_dir():
        return list(trials)
    names = {entry.name for entry in root.iterdir() if entry.is_dir()}
    recorded: dict[str, str] | None = None  # read only when a trial is in none of the expected places
    located = []
    for trial in trials:
        name = trial.id
        if name not in names:
            legacy = legacy_trial_id(trial.learner, trial.identity())
            if legacy in names:
                name = legacy
            else:
                if recorded is None:
                    recorded = _recorded_by_new_id(root, names - {t.id for t in trials})
                name = recorded.get(trial.id, trial.id)
        located.append(trial if name == trial.id else dataclasses.replace(trial, id=name))
    return located
