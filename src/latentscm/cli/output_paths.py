"""Checking a command's output paths before it does any work (an unwritable path is named up front)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["check_output_path", "check_output_dir"]


def check_output_path(path: Path, flag: str) -> None:
    """Raise ValueError naming ``flag`` when the file ``path`` cannot be written: a directory, a path under a
    regular file, or one in a folder without write permission (missing folders are created later)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{flag} '{path}' is a directory; give the path of the file to write.")
    _check_parent(path, path.parent, flag)


def check_output_dir(path: Path, flag: str) -> None:
    """Raise ValueError naming ``flag`` when the directory ``path`` cannot be created or written into: an existing
    regular file, a path under one, or a folder without write permission."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} '{path}' is a file; give a directory.")
    _check_parent(path, path, flag)


def _check_parent(path: Path, folder: Path, flag: str) -> None:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{flag} '{path}' cannot be written: '{folder}' is a file, not a directory.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} '{path}' cannot be written: no write permission in '{folder}'.")
