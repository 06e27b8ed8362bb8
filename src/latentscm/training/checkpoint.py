"""Checkpoint files that are written atomically and verified on load.

Format: a magic line, a JSON header line ``{"format": 1, "length": L, "sha256": H}``, then the
``torch.save`` payload of L bytes. Writing goes through :func:`latentscm._io.atomic_write`
(temporary file, fsync, rename), so a crash leaves either the old file or the new one — never
half of one. Loading checks the length
and the hash first, so a truncated or damaged file raises :class:`CheckpointError` naming it
instead of a pickle traceback. Payloads load with ``weights_only=True`` (tensors, numbers,
strings, lists and dicts only).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import torch

from latentscm._io import TEMP_MARK, atomic_write, atomic_write_json, in_flight, orphaned
from latentscm.exceptions import LatentSCMError

__all__ = [
    "CheckpointError",
    "write_atomic",
    "write_json_atomic",
    "save_checkpoint",
    "load_checkpoint",
    "checkpoint_path",
    "list_checkpoints",
    "latest_checkpoint",
    "prune_checkpoints",
    "remove_temporaries",
]

MAGIC = b"LATENTSCM-CHECKPOINT\n"
_STEP_FILE = re.compile(r"^step_(\d{8,})\.pt$")


class CheckpointError(LatentSCMError, ValueError):
    """A checkpoint (or saved model) file is truncated, corrupt or not a latentscm checkpoint."""


def checkpoint_options(out: Any, checkpoint_every: int | None, keep_checkpoints: int | None, steps: int,
                       owner: str) -> tuple[int, int]:
    """``(checkpoint_every, keep_checkpoints)`` checked, with their defaults (a tenth of the run, at most 1000
    steps; 3 kept). Either one given with ``out=None`` is refused: checkpoints are files of the run directory,
    so without one the option would be ignored."""
    from latentscm._validation import check_number

    if out is None:
        given = [f"'{name}' ({value!r})" for name, value in (("checkpoint_every", checkpoint_every),
                                                               ("keep_checkpoints", keep_checkpoints))
                 if value is not None]
        if given:
            raise ValueError(f"The {' and '.join(given)} argument{'s' if len(given) > 1 else ''} of {owner} would "
                             f"be ignored: checkpoints are written to the run directory, and out=None keeps the run "
                             f"in memory only. Give out=DIRECTORY to checkpoint, or leave them out.")
    every = check_number(checkpoint_every if checkpoint_every is not None else max(1, min(1000, steps // 10)),
                         "checkpoint_every", owner, low=1, integer=True)
    keep = check_number(keep_checkpoints if keep_checkpoints is not None else 3, "keep_checkpoints", owner, low=1,
                        integer=True)
    return int(every), int(keep)


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`latentscm._io.atomic_write`)."""
    return atomic_write(path, data)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_json(path, obj)


def save_checkpoint(path: str | os.PathLike, obj: Any) -> Path:
    """``torch.save`` ``obj`` into a verified, atomically written checkpoint file."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = buffer.getvalue()
    header = json.dumps({"format": 1, "length": len(payload), "sha256": hashlib.sha256(payload).hexdigest()})
    return write_atomic(path, MAGIC + header.encode() + b"\n" + payload)


def load_checkpoint(path: str | os.PathLike, *, map_location: Any = "cpu") -> Any:
    """Load a file written by :func:`save_checkpoint`, checking its length and hash first."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"Checkpoint file '{path}' does not exist.") from None
    if not data.startswith(MAGIC):
        raise CheckpointError(f"'{path}' is not a latentscm checkpoint (missing header); it may be truncated to "
                              f"{len(data)} bytes or come from another program.")
    newline = data.find(b"\n", len(MAGIC))
    try:
        if newline < 0:
            raise ValueError("no end of header")
        header = json.loads(data[len(MAGIC):newline])
        length, digest = int(header["length"]), str(header["sha256"])
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(f"Checkpoint file '{path}' is truncated or corrupt: its header cannot be read "
                              f"({len(data)} bytes in the file).") from None
    if header.get("format") != 1:  # a damaged header, or a format this version cannot read: never guessed at
        raise CheckpointError(f"Checkpoint file '{path}' has format {header.get('format')!r} in its header; this "
                              f"version of latentscm reads format 1 (the file is damaged, or was written by a newer "
                              f"version).")
    payload = data[newline + 1:]
    if len(payload) != length:
        state = "truncated" if len(payload) < length else "longer than recorded"
        raise CheckpointError(f"Checkpoint file '{path}' is {state}: expected {length} bytes of payload, found "
                              f"{len(payload)}. Delete it to resume from an earlier checkpoint.")
    if hashlib.sha256(payload).hexdigest() != digest:
        raise CheckpointError(f"Checkpoint file '{path}' is corrupt: its SHA-256 does not match the header. "
                              f"Delete it to resume from an earlier checkpoint.")
    return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)


def checkpoint_path(directory: str | os.PathLike, step: int) -> Path:
    """``directory/step_XXXXXXXX.pt`` for a step count."""
    return Path(directory) / f"step_{int(step):08d}.pt"


def list_checkpoints(directory: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, path)`` of the checkpoint files in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        match = _STEP_FILE.match(entry.name)
        if match and entry.is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def latest_checkpoint(directory: str | os.PathLike) -> tuple[int, Path] | None:
    """The newest ``(step, path)`` in ``directory`` or ``None``."""
    found = list_checkpoints(directory)
    return found[-1] if found else None


def prune_checkpoints(directory: str | os.PathLike, keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints."""
    found = list_checkpoints(directory)
    for _, path in found[:-keep] if keep > 0 else found:
        path.unlink(missing_ok=True)


def remove_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Remove temporary files left by an interrupted :func:`write_atomic` (their writer, named in
    the file name, is gone, or is this process and no longer writing them); returns them.
    A temporary of another live process (``latentscm evaluate`` writing the run's metrics.json), of
    another thread of this one still writing it, or of another machine writing into a shared folder,
    is left alone: it may still be renamed into place."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for entry in directory.iterdir():
        if entry.name.startswith(".") and TEMP_MARK in entry.name:
            # <host>-<pid>, less the random part, after the last mark (the target's own name may hold one too)
            writer = entry.name.rsplit(TEMP_MARK, 1)[1].rpartition("-")[0]
            if orphaned(writer, mine=True) and not in_flight(entry.name):
                entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed
