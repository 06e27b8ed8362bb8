"""Your own images in the verified, content-addressed store that worlds use.

``import_data(source, labels=...)`` reads an image folder, an ``.npy`` / ``.npz`` array or a
Hugging Face dataset once into ``<cache>/data-<key>/`` (``images.npy`` uint8 (N, C, H, W),
``factors.npy`` when labelled, ``manifest.json`` with the SHA-256 of every file and its own). The key
is a SHA-256 of the source's bytes (every image file, or the array file; the labels file) and of the
options, so a changed folder is a different dataset — never the stale copy; the source is hashed
again once it is decoded, so one changed during the import is refused rather than stored under the
key of its old bytes. Later calls hash the source again, find the stored copy, verify it and
memory-map it (no decoding).

As for worlds (:mod:`latentscm.worlds.store`), everything is written into a temporary directory
renamed into place at the end: a failed import (a corrupt image, a label row that names no file)
leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentscm._io import host_tag
from latentscm._version import __version__
from latentscm.data.readers import (
    DataError,
    array_images,
    file_digest,
    hf_images,
    image_files,
    open_array,
    read_image,
    read_labels,
)
from latentscm.worlds.store import (
    _MANIFEST_DIGEST,
    CorruptDatasetError,
    _manifest_digest,
    _remove_orphans,
    _RowWriter,
    _verify,
    _write_error,
    cache_root,
)

__all__ = ["UserDataset", "import_data", "load_data", "content_key", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_PREFIX = "data-"
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _import_lock(final: Path) -> threading.Lock:
    """The lock of this process's imports into ``final``: one thread imports, the others then open its copy."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(str(final.absolute()), threading.Lock())


def _verify_user(path: Path, key: str | None = None) -> dict:
    """The verified manifest of an imported dataset (:func:`latentscm.worlds.store._verify` with the
    entries and files a user-data manifest has: no world, noise or required factors), then what the
    file digests do not cover: the manifest's own SHA-256 (ids, factor names, source; written since
    it was recorded) and its identity hashing to its key."""
    manifest = _verify(path, key, entries=("source", "ids", "count", "files", "key"), required_files=("images.npy",))
    manifest_path = path / "manifest.json"
    if _MANIFEST_DIGEST in manifest and manifest[_MANIFEST_DIGEST] != _manifest_digest(manifest):
        raise CorruptDatasetError(manifest_path, "the manifest does not match its own SHA-256 (edited?)")
    identity = manifest.get("identity")
    if isinstance(identity, dict) and hashlib.sha256(
            json.dumps(identity, sort_keys=True).encode()).hexdigest() != manifest["key"]:
        raise CorruptDatasetError(manifest_path, "its identity (source bytes, options) does not hash to its key "
                                                 "(edited?)")
    return manifest


class UserDataset:
    """Your images, imported and verified: ``images`` (N, C, H, W) uint8 memmap (image = value /
    255), ``factors`` (N, K) float64 or ``None``, ``factor_names``, ``ids`` (file names or row
    indices), ``manifest`` and ``key`` (the content address).

    Parameters
    ----------
    path : Path
        The stored dataset directory.
    manifest : dict
        Its verified manifest.
    """

    def __init__(self, path: Path, manifest: dict, source: dict[str, Any] | None = None):
        self.path = Path(path)
        self.manifest = manifest
        # the same bytes imported from another place share the stored copy; keep where *this* came from
        self._source = dict(source if source is not None else manifest["source"])
        self.images = np.load(self.path / "images.npy", mmap_mode="r")
        self.factors = np.load(self.path / "factors.npy") if "factors.npy" in manifest["files"] else None
        self.factor_names: tuple[str, ...] = tuple(manifest.get("factor_names", ()))
        self.ids: list[str] = list(manifest["ids"])
        self.key: str = manifest["key"]
        self._check_layout()

    def _check_layout(self) -> None:
        """The arrays' counts and shapes are those the manifest records (ids, count, image shape, factor
        names): a damaged manifest that still lists the right files would otherwise mislabel them."""
        count = self.manifest["count"]
        shapes = {"ids": ((len(self.ids),), (count,)),
                  "images.npy": (self.images.shape, (count, *self.manifest.get("image_shape", self.images.shape[1:])))}
        if self.factors is not None:
            shapes["factors.npy"] = (self.factors.shape, (count, len(self.factor_names)))
        for name, (shape, expected) in shapes.items():
            if tuple(shape) != tuple(expected):
                raise CorruptDatasetError(self.path / "manifest.json", f"{name} has shape {tuple(shape)} but the "
                                                                       f"manifest describes {tuple(expected)}")

    @property
    def labelled(self) -> bool:
        """Whether the images have factor labels."""
        return self.factors is not None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W)."""
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]

    @property
    def source(self) -> dict[str, Any]:
        """What was imported and how (the arguments :func:`import_data` needs to do it again)."""
        return dict(self._source)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def float_images(self, index: Any = slice(None)) -> np.ndarray:
        """Images (n, C, H, W) float32 in [0, 1] (``value / 255``, as stored worlds read)."""
        return np.asarray(self.images[index], dtype=np.float32) / np.float32(255.0)

    def __repr__(self) -> str:
        return f"UserDataset({self._source['path']!r}, n={len(self)}, key={self.key[:12]!r})"


def _check_channels(channels: Any) -> int | None:
    if channels is None:
        return None
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels not in (1, 2, 3, 4):
        raise ValueError(f"The 'channels' parameter of import_data must be 1, 2, 3, 4 or None (keep). Got "
                         f"{channels!r}.")
    return int(channels)


def _identity(kind: str, source: dict[str, Any], sha: Any) -> tuple[str, dict[str, Any]]:
    identity = {"kind": kind, "source_sha256": sha.hexdigest(), "version": __version__, "format": FORMAT_VERSION,
                **{k: v for k, v in source.items() if k != "path"}}
    identity.pop("labels", None)  # a path: its bytes are in source_sha256 already
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest(), identity


def content_key(source: Any, *, labels: str | os.PathLike | None = None, channels: int | None = None,
                layout: str = "auto", key: str | None = None, label_columns: Sequence[str] | None = None,
                image_column: str = "image") -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    """The content address of a source with its options, without importing it: hex SHA-256,
    the identity hashed, the source kind and the recorded source (see :func:`import_data`).

    Reads every byte of the source (and labels) but decodes nothing.
    """
    if layout not in ("auto", "NCHW", "NHWC"):
        raise ValueError(f"The 'layout' parameter of import_data must be 'auto', 'NCHW' or 'NHWC'. Got {layout!r}.")
    if label_columns is not None and (isinstance(label_columns, (str, bytes)) or not all(
            isinstance(name, str) for name in label_columns)):
        # a bare string would be read letter by letter, silently picking one-letter columns
        raise TypeError(f"The 'label_columns' parameter of import_data must be a list of column names. Got "
                        f"{label_columns!r}.")
    if not isinstance(image_column, str):
        raise TypeError(f"The 'image_column' parameter of import_data must be a column name (str). Got "
                        f"{image_column!r}.")
    if label_columns is not None and len(set(label_columns)) != len(label_columns):
        raise ValueError(f"The 'label_columns' parameter of import_data names a column twice: {list(label_columns)}.")
    sha = hashlib.sha256()
    options: dict[str, Any] = {"channels": channels,
                               "label_columns": None if label_columns is None else list(label_columns)}
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).resolve()
        if path.is_dir():
            kind = "folder"
            files = image_files(path)
            for file in files:  # names and bytes, in order: renaming or editing a file changes the key
                # a name's own bytes, also when they are not UTF-8 (surrogateescape: the same key for UTF-8 names)
                sha.update(file.name.encode("utf-8", "surrogateescape") + b"\0")
                file_digest(file, sha)
                sha.update(b"\0")
        elif path.suffix.lower() in (".npy", ".npz") and path.is_file():
            kind = "array"
            options.update(layout=layout, key=key)
            file_digest(path, sha)
        elif not path.exists():
            raise DataError(f"The data '{source}' does not exist.")
        else:
            raise DataError(f"The data '{source}' must be an image folder, an .npy or .npz file, or a Hugging Face "
                            f"dataset.")
        recorded: dict[str, Any] = {"kind": kind, "path": str(path), **options}
    else:
        kind = "huggingface"
        fingerprint = getattr(source, "_fingerprint", None)
        if not isinstance(fingerprint, str):
            raise TypeError(f"The 'source' argument of import_data must be a folder, an .npy/.npz path or a Hugging "
                            f"Face datasets.Dataset. Got {type(source).__name__}.")
        sha.update(fingerprint.encode())
        options.update(image_column=image_column)
        recorded = {"kind": kind, "path": f"huggingface:{fingerprint}", "fingerprint": fingerprint, **options}
    # an option that does nothing for this kind of source is refused, not silently dropped
    unused = [f"{name}={value!r}" for name, value, applies in (
        ("layout", layout, layout == "auto" or kind == "array"),
        ("key", key, key is None or kind == "array"),
        ("image_column", image_column, image_column == "image" or kind == "huggingface"),
        ("label_columns", label_columns, label_columns is None or labels is not None or kind == "huggingface"))
        if not applies]
    if unused:
        raise ValueError(f"import_data: {', '.join(unused)} would be ignored for {kind} data '{recorded['path']}' "
                         f"(layout and key apply to .npy/.npz arrays, image_column to Hugging Face datasets, "
                         f"label_columns to the columns of labels=... or of a dataset).")
    if labels is not None:
        labels_path = Path(labels).resolve()
        if not labels_path.is_file():
            raise DataError(f"The labels file '{labels}' does not exist.")
        sha.update(b"labels\0")
        file_digest(labels_path, sha)
        recorded["labels"] = str(labels_path)
    digest, identity = _identity(kind, recorded, sha)
    return digest, identity, kind, recorded


def import_data(source: Any, *, labels: str | os.PathLike | None = None, channels: int | None = None,
                layout: str = "auto", key: str | None = None, label_columns: Sequence[str] | None = None,
                image_column: str = "image", root: str | os.PathLike | None = None) -> UserDataset:
    """Import (once) and open your images as a verified :class:`UserDataset`.

    Parameters
    ----------
    source : str, path-like or datasets.Dataset
        An image folder (PNG / JPEG files, sorted by name, all the same size), an ``.npy`` /
        ``.npz`` file of images ((N, C, H, W), (N, H, W, C) or (N, H, W) grey; uint8, bool, or numbers
        in [0, 1]; a 3-D array 3 or 4 wide and at least 8 by 8 is refused as one (H, W, C) image), or
        a Hugging Face ``datasets.Dataset`` (any object with ``len`` and rows as
        dicts; its ``_fingerprint`` is its content address).
    labels : str, path-like or None, default None
        A CSV with a ``file`` column (folder: the image's file name) or a ``row`` column (array,
        dataset: the row index) and one numeric column per factor.
    channels : {1, 2, 3, 4} or None, default None
        Convert every image to this many channels; ``None`` keeps the source's (which must then
        agree across images).
    layout : {"auto", "NCHW", "NHWC"}, default "auto"
        Channel axis of a 4-D array (``"auto"`` decides from the shape when it can).
    key : str or None, default None
        The array of an ``.npz`` holding the images (default: its only array, or ``"images"``).
    label_columns : sequence of str or None, default None
        The factor columns to keep (CSV or dataset columns); default every CSV column but the id.
    image_column : str, default "image"
        The image column of a Hugging Face dataset.
    root : str, path-like or None, default None
        Store directory (default: :func:`latentscm.worlds.store.cache_root`).

    Returns
    -------
    UserDataset

    Raises
    ------
    DataError
        The data cannot be imported; the message names the file, row or column.
    ValueError
        An option that does nothing for this source (``layout`` or ``key`` for a folder or a
        dataset, ``image_column`` for files, ``label_columns`` for files without ``labels``) or
        a column named twice in ``label_columns``.
    """
    channels = _check_channels(channels)
    digest, identity, kind, recorded = content_key(source, labels=labels, channels=channels, layout=layout, key=key,
                                                   label_columns=label_columns, image_column=image_column)
    base = cache_root(root)
    if base.exists() and not base.is_dir():
        raise ValueError(f"The store root '{base}' of import_data is not a directory (root=..., $LATENTSCM_CACHE).")
    final = base / f"{_PREFIX}{digest[:16]}"
    # threads of this process would share the temporary's name (host and pid) and remove each other's
    with _import_lock(final):
        if final.exists():
            try:
                return UserDataset(final, _verify_user(final, digest), recorded)
            except CorruptDatasetError as error:
                warnings.warn(f"{error}; importing {final} again from the source.", RuntimeWarning, stacklevel=2)
                shutil.rmtree(final, ignore_errors=True)  # re-imported below from the source itself
        base.mkdir(parents=True, exist_ok=True)
        _remove_orphans(base, f".tmp-{_PREFIX}{digest[:16]}-")
        # pids repeat across machines (and in containers of one host): the token keeps each call's own
        temporary = base / f".tmp-{_PREFIX}{digest[:16]}-{secrets.token_hex(8)}-{host_tag()}-{os.getpid()}"
        temporary.mkdir()
        try:
            manifest = _write(temporary, kind, source, recorded, channels=channels, layout=layout, key=key,
                              labels=labels, label_columns=label_columns, image_column=image_column)
            if kind != "huggingface" and content_key(source, labels=labels, channels=channels, layout=layout, key=key,
                                                     label_columns=label_columns,
                                                     image_column=image_column)[0] != digest:
                # read after its key was hashed: what was stored need not be the bytes the key names
                raise DataError(f"The data '{recorded['path']}'{' or its labels' if labels is not None else ''} "
                                f"changed while it was imported (a file written, added, removed or renamed "
                                f"meanwhile); nothing was stored. Import it again once it is complete.")
            manifest.update(identity=identity, key=digest)
            manifest[_MANIFEST_DIGEST] = _manifest_digest(manifest)
            (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2))
            try:
                os.replace(temporary, final)
            except OSError:  # another process imported the same data first: use theirs if it verifies
                shutil.rmtree(temporary, ignore_errors=True)
                return UserDataset(final, _verify_user(final, digest), recorded)
        except BaseException as error:
            shutil.rmtree(temporary, ignore_errors=True)
            named = _write_error(error, final)
            if named is not error:
                raise named from error
            raise
        return UserDataset(final, manifest)


def _write(temporary: Path, kind: str, source: Any, recorded: dict[str, Any], *, channels: int | None, layout: str,
           key: str | None, labels: Any, label_columns: Sequence[str] | None, image_column: str) -> dict[str, Any]:
    """Write images.npy (and factors.npy) into ``temporary``; returns the manifest (without key)."""
    factor_names: tuple[str, ...] = ()
    factors = None
    if kind == "folder":
        files = image_files(recorded["path"])
        ids = [file.name for file in files]
        first = read_image(files[0], channels)
        image_shape = list(first.shape)
        # written row by row through a file handle, not a memory map: a full disk is an OSError, not a SIGBUS
        with _RowWriter(temporary / "images.npy", np.uint8, (len(files), *first.shape)) as images:
            images.write(first[None])
            for file in files[1:]:
                image = read_image(file, channels)
                if image.shape != first.shape:
                    raise DataError(f"Image '{file}' is {_describe(image.shape)}, but '{files[0].name}' (the first) "
                                    f"is {_describe(first.shape)}: every image must have the same size and channels"
                                    f"{'' if channels is not None else ' (channels=... converts them)'}.")
                images.write(image[None])
    else:
        if kind == "array":
            array = open_array(Path(recorded["path"]), key)
            shape, chunks = array_images(array, layout=layout, channels=channels, where=f"'{recorded['path']}'")
            n = int(array.shape[0])
        else:
            shape, chunks, factor_names, factors = hf_images(
                source, image_column=image_column, channels=channels,
                label_columns=label_columns if labels is None else None)
            n = len(source)
        ids = [str(i) for i in range(n)]
        image_shape = list(shape)
        with _RowWriter(temporary / "images.npy", np.uint8, (n, *shape)) as images:
            for part in chunks:
                images.write(part)
    if labels is not None:
        if factors is not None:
            raise DataError("Give labels as dataset columns (label_columns=...) or as a CSV (labels=...), not both.")
        factor_names, factors = read_labels(labels, ids, id_column="file" if kind == "folder" else "row",
                                            label_columns=label_columns)
    names = ["images.npy"]
    if factors is not None:
        np.save(temporary / "factors.npy", np.asarray(factors, dtype=np.float64))
        names.append("factors.npy")
    files_meta = {}
    for name in names:
        file = temporary / name
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())
        files_meta[name] = {"bytes": file.stat().st_size, "sha256": file_digest(file)}
    return {"source": recorded, "ids": ids, "factor_names": list(factor_names), "image_shape": image_shape,
            "count": len(ids), "files": files_meta, "image_encoding": "uint8, pixel = value / 255"}


def _describe(shape: tuple[int, ...]) -> str:
    c, h, w = shape
    return f"{w}x{h} with {c} channel{'s' if c != 1 else ''}"


def load_data(path: str | os.PathLike) -> UserDataset:
    """Open an imported dataset directory after verifying every file (raises
    :class:`~latentscm.worlds.store.CorruptDatasetError` naming a bad file)."""
    path = Path(path)
    return UserDataset(path, _verify_user(path))
