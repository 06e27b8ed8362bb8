"""Checking a command's output paths before it does any work (an unwritable path is named up front).

The checks themselves are :func:`latentscm._io.check_output_file` and :func:`latentscm._io.check_output_dir`,
which the report writers use too; here ``flag`` (``"--out"``) names the path in the message.
"""

from __future__ import annotations

from pathlib import Path

from latentscm._io import check_output_dir as _check_dir
from latentscm._io import check_output_file

__all__ = ["check_output_path", "check_output_dir"]


def check_output_path(path: Path, flag: str) -> None:
    """Raise ValueError naming ``flag`` when the file ``path`` cannot be written: a directory, a path under a
    regular file, or one in a folder without write permission (missing folders are created later)."""
    check_output_file(path, flag)


def check_output_dir(path: Path, flag: str) -> None:
    """Raise ValueError naming ``flag`` when the directory ``path`` cannot be created or written into: an existing
    regular file, a path under one, or a folder without write permission."""
    _check_dir(path, flag)
