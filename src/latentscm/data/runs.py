"""The data of a run trained on your own images, rebuilt from its ``config.json`` (for
``latentscm resume`` and ``latentscm evaluate``), refusing a source that changed since."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from latentscm._io import read_json_object
from latentscm.data.readers import DataError
from latentscm.data.store import UserDataset, content_key, import_data, load_data

__all__ = ["data_from_config", "import_options"]

_OPTIONS = ("channels", "layout", "label_columns", "image_column")


def import_options(recorded: dict[str, Any]) -> dict[str, Any]:
    """The :func:`~latentscm.data.import_data` keyword arguments recorded in a run's ``data`` entry (whose
    ``key`` is the content key; an ``.npz`` array name is recorded as ``array_key``)."""
    options = {name: recorded[name] for name in _OPTIONS if recorded.get(name) is not None}
    if recorded.get("array_key") is not None:
        options["key"] = recorded["array_key"]
    if recorded.get("labels"):
        options["labels"] = recorded["labels"]
    return options


def _array_name(recorded: dict[str, Any], options: dict[str, Any], stored: Any) -> dict[str, Any]:
    """``options`` with the ``.npz`` array name of a run recorded before ``array_key`` was (its content key
    overwrote the name): the name its stored copy's manifest records, else the array of the archive whose
    content key is the recorded one. ``options`` unchanged when neither says (the content check then decides)."""
    if recorded.get("format") != "array" or "array_key" in recorded or "key" in options:
        return options
    try:
        manifest = read_json_object(Path(stored) / "manifest.json") if stored else None
    except (OSError, ValueError):  # a damaged copy: load_data names it when it is needed
        manifest = None
    source = manifest.get("source") if isinstance(manifest, dict) else None
    if isinstance(source, dict):  # the import's own record (key None: the archive's default array)
        return {**options, "key": source["key"]} if isinstance(source.get("key"), str) else options
    path = Path(recorded.get("path", ""))
    if path.suffix.lower() != ".npz":
        return options
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # damaged: the content check then names it
        return options
    for name in names:
        try:
            if content_key(path, **options, key=name)[0] == recorded.get("key"):
                return {**options, "key": name}
        except DataError:
            continue
    return options


def _same_source(identity: Any, now: dict[str, Any]) -> bool:
    """Whether a stored copy's recorded identity is the source's identity now, but for the library version
    (which the content key hashes too, so that an upgrade imports afresh)."""
    return isinstance(identity, dict) and {**identity, "version": None} == {**now, "version": None}


def data_from_config(config: dict[str, Any], run_dir: str | os.PathLike) -> UserDataset:
    """The :class:`UserDataset` a run was trained on: the source imported again with the recorded
    options (or, when the source is gone or was a Hugging Face dataset, the verified stored copy). A
    source whose bytes and options are unchanged but whose content key differs because the library
    version did (the key hashes it) gives the run's verified stored copy, the images it trained on.

    Parameters
    ----------
    config : dict
        The run's ``config.json``; ``config["data"]`` has ``kind == "data"``.
    run_dir : str or path-like
        The run directory, for messages.

    Returns
    -------
    UserDataset
        Whose content key equals the recorded one.

    Raises
    ------
    DataError
        The source changed since training (its content hash differs), or neither the source nor
        the stored copy can be found.
    """
    recorded = config["data"]
    expected = recorded.get("key")
    source = recorded.get("path", "")
    stored = recorded.get("dataset")
    if recorded.get("format") in ("folder", "array") and Path(source).exists():
        options = _array_name(recorded, import_options(recorded), stored)
        try:
            now, identity, _, source_now = content_key(source, **options)  # hashes the bytes, decodes nothing
        except DataError as error:
            now, identity, source_now, reason = None, {}, {}, f" ({error})"
        else:
            reason = ""
        if now != expected and stored and Path(stored).exists():
            # the same bytes and options under another library version: the run's own stored copy
            data = load_data(stored)  # verified file by file
            if data.key == expected and _same_source(data.manifest.get("identity"), identity):
                return UserDataset(data.path, data.manifest, source_now)
        if now != expected:
            raise DataError(f"The data of run '{run_dir}' changed since it was trained: '{source}' now has content "
                            f"key {str(now)[:16]}, the run was trained on {str(expected)[:16]} (a file added, "
                            f"removed, renamed or edited, or the labels changed){reason}. Restore the data or train "
                            f"a new run.")
        # into the store the run's copy is in (import_data(root=...) or another $LATENTSCM_CACHE): the same
        # verified copy, not a second one in the default store
        return import_data(source, **options, root=Path(stored).parent if stored else None)
    if stored and Path(stored).exists():
        data = load_data(stored)  # verified file by file
        if data.key != expected:
            raise DataError(f"The stored copy '{stored}' of run '{run_dir}' holds other data (key {data.key[:16]}, "
                            f"expected {str(expected)[:16]}).")
        return data
    raise DataError(f"Run '{run_dir}' was trained on '{source}', which no longer exists, and its stored copy "
                    f"'{stored}' is gone too.")
