"""Run logs: one JSON object per line in ``train.jsonl`` (always), TensorBoard when installed.

Records look like ``{"kind": "train", "step": 200, "time": 41.2, "steps_per_s": 4.9, "loss": ...}``
or ``{"kind": "eval", "step": 500, ...}``. TensorBoard is optional: the writer is created only if
``torch.utils.tensorboard`` imports (it needs the ``tensorboard`` package), and never required.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

from latentscm.training.checkpoint import write_atomic

__all__ = ["DamagedLogWarning", "RunLog", "read_log", "tensorboard_available"]

LOG_NAME = "train.jsonl"


def tensorboard_available() -> bool:
    """Whether ``torch.utils.tensorboard`` can be imported."""
    try:
        import torch.utils.tensorboard  # noqa: F401
    except Exception:  # ImportError, or a broken optional install
        return False
    return True


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no NaN; keep it readable and parseable
    return value


class DamagedLogWarning(RuntimeWarning):
    """``train.jsonl`` has lines that are not JSON records, other than an incomplete last line."""


def read_log(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """All records of ``run_dir/train.jsonl``.

    A line that is not a JSON object (bytes that are not UTF-8, broken JSON) is skipped. An
    incomplete last line (no final newline: each record is written with its newline) is what a kill
    leaves, and is skipped silently; any other damaged line, a complete last one too, is named in a
    :class:`DamagedLogWarning`, since records were lost.
    """
    path = Path(run_dir) / LOG_NAME
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.splitlines()
    records, damaged = [], []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if isinstance(record, dict):
            records.append(record)
        elif line.strip():
            damaged.append(number)
    if damaged and (damaged != [len(lines)] or data.endswith((b"\n", b"\r"))):
        shown = ", ".join(map(str, damaged[:10])) + (" ..." if len(damaged) > 10 else "")
        warnings.warn(f"'{path}': skipped {len(damaged)} damaged line(s) of {len(lines)} (line {shown}); "
                      f"the records on them are lost.", DamagedLogWarning, stacklevel=2)
    return records


class RunLog:
    """Appends records to ``run_dir/train.jsonl`` and mirrors scalars to TensorBoard.

    ``run_dir=None`` keeps records in memory only (``records``). ``tensorboard=None`` uses
    TensorBoard when available; ``True`` requires it; ``False`` turns it off.
    """

    def __init__(self, run_dir: str | os.PathLike | None, *, tensorboard: bool | None = None):
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.records: list[dict[str, Any]] = []
        self._handle = None
        self._writer = None
        if self.run_dir is None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.run_dir / LOG_NAME, "a", encoding="utf-8")
        if tensorboard or (tensorboard is None and tensorboard_available()):
            try:
                from torch.utils.tensorboard import SummaryWriter
            except Exception as error:
                raise ImportError("tensorboard=True needs the 'tensorboard' package (pip install tensorboard).") \
                    from error
            self._writer = SummaryWriter(str(self.run_dir / "tensorboard"))

    def rewind(self, step: int) -> list[dict[str, Any]]:
        """Drop records after ``step`` (work lost by an interrupted run) and return the rest. The
        TensorBoard events after ``step`` are purged too (a new writer with ``purge_step=step + 1``:
        TensorBoard hides them when it loads the run), so no step shows twice."""
        if self._writer is not None:
            self._writer.close()
            self._writer = type(self._writer)(str(self.run_dir / "tensorboard"), purge_step=int(step) + 1)
        if self.run_dir is None:
            self.records = [r for r in self.records if int(r.get("step", 0)) <= step]
            return self.records
        kept = [r for r in read_log(self.run_dir) if int(r.get("step", 0)) <= step]
        if self._handle is not None:
            self._handle.close()
        write_atomic(self.run_dir / LOG_NAME, "".join(json.dumps(r) + "\n" for r in kept).encode())
        self._handle = open(self.run_dir / LOG_NAME, "a", encoding="utf-8")
        self.records = kept
        return kept

    def log(self, record: dict[str, Any]) -> dict[str, Any]:
        """Write one record (tensors become floats); returns the plain record."""
        plain = {key: _plain(value) for key, value in record.items()}
        self.records.append(plain)
        if self._handle is not None:
            try:
                self._handle.write(json.dumps(plain) + "\n")
                self._handle.flush()
            except OSError as error:  # a full disk's error names no file
                if error.errno is None or error.filename is not None:
                    raise
                raise OSError(error.errno, f"{error.strerror or error} (appending a record to the run log)",
                              str(self.run_dir / LOG_NAME)) from error
        if self._writer is not None:
            kind = plain.get("kind", "train")
            step = int(plain.get("step", 0))
            for key, value in plain.items():
                if key not in ("kind", "step") and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._writer.add_scalar(f"{kind}/{key}", value, step)
        return plain

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
