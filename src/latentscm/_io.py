"""The one atomic file writer of the library: nothing on disk is ever left half-written.

:func:`atomic_write` writes to a uniquely named temporary file beside the target (created with
``O_EXCL`` and mode ``0o666``, so the kernel applies the process umask exactly as for a plain
``open(path, "w")``), fsyncs it, renames it over the target with ``os.replace`` and fsyncs the
directory. A crash leaves the old file or the new one, never a mix. Temporary files are named
``.{name}.tmp-{host}-{pid}-{token}`` (:func:`host_tag`) so
:func:`latentscm.training.checkpoint.remove_temporaries` can clean up after an interrupted process.
:func:`read_json_object` is the matching reader of the small JSON records (status, metrics) such writes leave.

JSON written here is strict (RFC 8259): JSON has no NaN or infinity, so :func:`json_ready` writes a
non-finite number as ``null``, as ``pandas.DataFrame.to_json`` and JavaScript's ``JSON.stringify`` do.
Python's ``json`` would write bare ``NaN`` tokens, which ``JSON.parse``, ``jq`` and most strict
parsers reject. Readers of numeric records (:func:`latentscm.run.read_metrics`) read ``null`` back
as NaN.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["atomic_write", "atomic_write_json", "check_output_dir", "check_output_file", "dumps_strict", "json_ready",
           "read_json_object", "TEMP_MARK"]

#: Part of every temporary file name written here.
TEMP_MARK = ".tmp-"

#: Names of the temporary files this process is writing now (any thread): never anyone's to remove.
_IN_FLIGHT: set[str] = set()


def host_tag() -> str:
    """This machine's name as temporary names carry it (a shared folder may have writers on several machines)."""
    return re.sub(r"[^A-Za-z0-9._]", "_", socket.gethostname()) or "host"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (someone else's live process counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphaned(writer: str, *, mine: bool = False) -> bool:
    """Whether the writer a temporary name records (``<host>-<pid>``, or a bare ``<pid>`` of this machine)
    is gone: a process of this machine that no longer runs. Another machine's never is; this process's own
    temporaries count as gone only with ``mine`` (a caller that knows none of its writes is in flight)."""
    host, _, pid = writer.rpartition("-")
    if (host and host != host_tag()) or not pid.isdigit():
        return False
    return mine if int(pid) == os.getpid() else not pid_alive(int(pid))


def in_flight(name: str) -> bool:
    """Whether the temporary file ``name`` (a file name) is being written by :func:`atomic_write` in this
    process now, in any thread: it is about to be renamed into place, not left by an interrupted write."""
    return name in _IN_FLIGHT


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path.

    Parameters
    ----------
    path : str or path-like
        The file to create or replace (parent directories are created).
    data : bytes or str
        The whole content; text is encoded as UTF-8.

    Returns
    -------
    Path
        ``path``. A new file gets the usual mode (``0o666`` minus the umask); a replaced file
        keeps its permission bits.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"atomic_write writes bytes or str to '{path}'. Got {type(data).__name__}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        keep_mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        keep_mode = None
    temporary = path.with_name(f".{path.name}{TEMP_MARK}{host_tag()}-{os.getpid()}-{secrets.token_hex(4)}")
    _IN_FLIGHT.add(temporary.name)  # before the file exists, until it is renamed or removed
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if keep_mode is not None:
            os.chmod(temporary, keep_mode)
        os.replace(temporary, path)
    except BaseException as error:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:  # a read-only file system refuses even this: the error to report is the write's
            pass
        if isinstance(error, OSError) and error.errno is not None:
            # named by the file being written: a full disk's error names none, a refused temporary its own name
            raise OSError(error.errno, f"{error.strerror or error} (not written; the file is unchanged)",
                          str(path)) from error
        raise
    finally:
        _IN_FLIGHT.discard(temporary.name)
    _fsync_directory(path.parent)
    return path


def json_ready(value: Any, default: Callable[[Any], Any] | None = None) -> Any:
    """``value`` with every non-finite number as ``None`` (JSON ``null``), ready for strict JSON.

    Walks dicts, lists and tuples (tuples become lists); numpy scalars and arrays, and numpy dict
    keys, become Python numbers and lists first. ``default``, when given, converts any other object (as in
    :func:`json.dumps`), and its result is walked too, so a ``default`` returning NaN still gives
    ``null``. Everything else is returned unchanged.
    """
    if isinstance(value, dict):  # numpy keys (np.int64 from an array's values) as Python ones: json refuses them
        return {(key.item() if isinstance(key, np.generic) else key): json_ready(item, default)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item, default) for item in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist(), default)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int)):
        return value
    if default is not None:
        return json_ready(default(value))
    return value


def dumps_strict(obj: Any, **dumps: Any) -> str:
    """``json.dumps`` of :func:`json_ready` (``obj``): strict JSON, a non-finite number as ``null``."""
    default = dumps.pop("default", None)
    return json.dumps(json_ready(obj, default), allow_nan=False, **dumps)


def atomic_write_json(path: str | os.PathLike, obj: Any, *, sort_keys: bool = True, **dumps: Any) -> Path:
    """Write ``obj`` as indented strict JSON (with a final newline) to ``path`` with :func:`atomic_write`.

    A non-finite number is written as ``null`` (see :func:`json_ready`); ``dumps`` go to
    :func:`json.dumps` (``default`` converts other objects).
    """
    return atomic_write(path, dumps_strict(obj, indent=2, sort_keys=sort_keys, **dumps) + "\n")


def read_json_object(path: str | os.PathLike, *, remedy: str = "") -> dict[str, Any] | None:
    """The JSON object in ``path``; ``None`` when the file does not exist.

    Parameters
    ----------
    path : the file.
    remedy : what the user should do about a damaged file, appended to the error message.

    Raises
    ------
    ValueError
        The file is not valid JSON or holds something other than an object (the message names it).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    hint = f"; {remedy}" if remedy else ""
    try:
        value = json.loads(data.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:  # damaged into bytes that are not even UTF-8
        raise ValueError(f"'{path}' is not valid JSON ({error}){hint}.") from None
    if not isinstance(value, dict):
        raise ValueError(f"'{path}' must hold a JSON object. Got {type(value).__name__}{hint}.")
    return value


def check_output_file(path: str | os.PathLike, what: str, *, suffixes: tuple[str, ...] = ()) -> Path:
    """``path`` as a Path, once it is known that a file can be written there; checked before any work.

    ``ValueError`` naming ``what`` (an option such as ``"--out"``, or ``"The 'out' argument of
    build_report"``) when ``path`` is a directory, lies under a regular file, or is in a folder
    without write permission. Missing folders are fine: :func:`atomic_write` creates them.
    ``suffixes`` (e.g. ``(".png",)``), when given, are the file endings allowed for a fixed-format
    output, compared case-insensitively, so that a PNG is never written to ``grid.txt``.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} '{path}' is a directory; give the path of the file to write.")
    if suffixes and path.suffix.lower() not in suffixes:
        raise ValueError(f"{what} '{path}' must end in {' or '.join(suffixes)}: that is the format written.")
    _check_writable_folder(path, path.parent, what)
    return path


def check_output_dir(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path, once it is known that the directory can be created or written into.

    ``ValueError`` naming ``what`` when ``path`` is an existing regular file, lies under one, or is
    in a folder without write permission.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} '{path}' is a file; give a directory.")
    _check_writable_folder(path, path, what)
    return path


def _check_writable_folder(path: Path, folder: Path, what: str) -> None:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} '{path}' cannot be written: '{folder}' is a file, not a directory.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{what} '{path}' cannot be written: no write permission in '{folder}'.")
