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
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from latentscm._io import atomic_write_json, read_json_object

__all__ = ["TRIALS_DIR", "STATUS_NAME", "TRIAL_NAME", "METRICS_NAME", "STATES", "trial_dir", "read_status",
           "write_status", "read_json"]

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
