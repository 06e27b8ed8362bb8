"""Checking a command's output paths before it does any work (an unwritable path is named up front).

``check_output_path(path, flag)`` and ``check_output_dir(path, flag)`` are
:func:`latentscm._io.check_output_file` and :func:`latentscm._io.check_output_dir`, which the report
writers use too; ``flag`` (``"--out"``) names the path in the message. Each raises ValueError when the
path cannot be written: a directory where a file is wanted (or a file where a directory is), a path under
a regular file, or a folder without write permission (missing folders are created later).
"""

from __future__ import annotations

from latentscm._io import check_output_dir
from latentscm._io import check_output_file as check_output_path

__all__ = ["check_output_path", "check_output_dir"]
