"""The study's results: one tidy table, one row per trial with its parameters and every metric.

Columns, in this order: ``trial`` (id), ``status``, ``learner`` and ``world`` (the spec's labels),
``seed``, ``steps``; ``param.<name>`` for every learner hyperparameter (lists as JSON);
``world.<name>`` for every world option; ``attempts``, ``seconds`` and ``error`` (the
bookkeeping, :data:`BOOKKEEPING`); then every metric of ``metrics.json`` under its own key
(``mig``, ``dci.disentanglement``, ``cf.true_error``, ...) in order of first appearance. Timings
of the evaluation (``time.*``) stay in ``metrics.json``: they are not results. A trial without
a value for a column has an empty cell.

:func:`write_results` writes ``results.csv`` (and ``results.parquet`` when pyarrow is installed)
atomically; a ``results.parquet`` it cannot rewrite is removed, never left stale beside the new CSV.
:func:`read_results` reads the CSV back with numbers as numbers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latentscm._io import atomic_write
from latentscm.run import read_metrics
from latentscm.study.status import read_status, trial_dir
from latentscm.study.trials import Trial

__all__ = ["BOOKKEEPING", "collect_results", "write_results", "read_results", "metric_columns", "RESULTS_CSV",
           "RESULTS_PARQUET"]

RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
#: Columns that describe how a trial ran, not what it found (they differ between executors and
#: between an interrupted and an uninterrupted study).
BOOKKEEPING = ("attempts", "seconds", "error")
_LEADING = ("trial", "status", "learner", "world", "seed", "steps")
_SKIP_PARAMS = ("seed", "steps")


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True)
    return value


def _metrics(directory: Path) -> dict[str, Any]:
    """Flat metrics of ``metrics.json`` (either form, see :func:`latentscm.run.read_metrics`), without the
    evaluation's own timings (``time.*``)."""
    return {k: v for k, v in read_metrics(directory).items() if not k.startswith("time.")}


def collect_results(trials: Sequence[Trial], study_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """One row (column -> value) per trial, read from the trial directories.

    Parameters
    ----------
    trials : sequence of Trial
        The study's trials, in table order.
    study_dir : str or path-like
        The study directory.

    Returns
    -------
    list of dict
        Rows with the columns described in the module docstring (every row has every column;
        ``None`` where a trial has no value).
    """
    rows = []
    for trial in trials:
        directory = trial_dir(study_dir, trial.id)
        status = read_status(directory)
        row: dict[str, Any] = {"trial": trial.id, "status": status["status"], "learner": trial.learner_label,
                               "world": trial.world_label, "seed": trial.seed, "steps": trial.params.get("steps")}
        row.update({f"param.{k}": _cell(v) for k, v in sorted(trial.params.items()) if k not in _SKIP_PARAMS})
        row.update({f"world.{k}": _cell(v) for k, v in sorted(trial.world_options.items())})
        row.update({"attempts": status.get("attempts", 0), "seconds": status.get("seconds"),
                    "error": status.get("error") if status["status"] == "failed" else None})
        if status["status"] == "done":
            row.update(_metrics(directory))
        rows.append(row)
    columns = _columns(rows)
    return [{column: row.get(column) for column in columns} for row in rows]


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    params = sorted(c for c in seen if c.startswith("param."))
    options = sorted(c for c in seen if c.startswith("world."))
    fixed = set(_LEADING) | set(BOOKKEEPING) | set(params) | set(options)
    metrics = [c for c in seen if c not in fixed]
    return [*_LEADING, *params, *options, *BOOKKEEPING, *metrics]


def metric_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The metric columns of a results table (everything after the bookkeeping)."""
    if not rows:
        return []
    columns = list(rows[0])
    return columns[columns.index(BOOKKEEPING[-1]) + 1:]


def _csv_text(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def write_results(rows: Sequence[dict[str, Any]], study_dir: str | os.PathLike) -> list[Path]:
    """Write ``results.csv`` (and ``results.parquet`` when pyarrow is installed) atomically.

    Returns
    -------
    list of Path
        The files written.
    """
    study_dir = Path(study_dir)
    written = [atomic_write(study_dir / RESULTS_CSV, _csv_text(rows))]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        _drop_stale_parquet(study_dir, "pyarrow is not installed")
        return written
    try:
        table = pa.Table.from_pylist([dict(row) for row in rows]) if rows else pa.table({})
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:  # e.g. a column with numbers and strings
        warnings.warn(f"results.parquet not written ({error}); results.csv has every row.", stacklevel=2)
        _drop_stale_parquet(study_dir, "it could not be rewritten")
        return written
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    written.append(atomic_write(study_dir / RESULTS_PARQUET, sink.getvalue().to_pybytes()))
    return written


def _drop_stale_parquet(study_dir: Path, reason: str) -> None:
    """Remove a ``results.parquet`` of an earlier write (it would disagree with the new ``results.csv``)."""
    stale = study_dir / RESULTS_PARQUET
    if stale.exists():
        stale.unlink()
        warnings.warn(f"Removed the earlier '{stale}' ({reason}); '{study_dir / RESULTS_CSV}' has every row.",
                      stacklevel=3)


_BOOLEANS = {"True": True, "False": False}


def _parse(text: str) -> Any:
    """A cell as the csv writer wrote it: empty -> None, ``True``/``False`` -> bool, numbers (not
    Python's ``1_000`` spelling) -> int or float; anything else (JSON text of lists, as in the rows) as is."""
    if text == "":
        return None
    if text in _BOOLEANS:
        return _BOOLEANS[text]
    if "_" not in text:
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            pass
    return text


def read_results(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a ``results.csv`` (or of the ``results.csv`` in a study directory), as the study's
    rows hold them: numbers and booleans parsed, lists and mappings as their JSON text.

    Raises
    ------
    FileNotFoundError
        No results table at ``path``.
    """
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_CSV
    if not path.is_file():
        raise FileNotFoundError(f"No study results at '{path}' (run the study first: latentscm study run SPEC).")
    with path.open(newline="") as handle:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(handle)]
