"""Readers for your own images: an image folder, an ``.npy`` / ``.npz`` array, a Hugging Face
``datasets`` dataset; and label tables (CSV) matched to them.

Every reader yields uint8 images (C, H, W) in a fixed order and checks as it goes: a file Pillow
cannot decode, an image of another size or channel count, a NaN or a value outside [0, 1]
raises :class:`DataError` naming the file (or the array row). Float arrays are quantised to
uint8 (value = round(255 * pixel)), as stored worlds are; uint8 and 8-bit images (palette ones
through their palette and transparency) are exact; 16-bit grey images are scaled to 0..255 (value =
round(255 * v / 65535); a colour-key transparency becomes alpha when ``channels`` is 2 or 4, as
for 8-bit grey). 16-bit colour PNGs keep what Pillow decodes, the high byte of each value (value =
v // 256, within one level of that rule, above or below: 65280 gives 255 where the rule gives 254),
and a 16-bit grey+alpha PNG opens as RGBA (4 channels, grey repeated; ``channels=2`` converts it back).
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentscm.exceptions import LatentSCMError

__all__ = ["DataError", "IMAGE_SUFFIXES", "image_files", "file_digest", "read_image", "open_array",
           "array_images", "read_labels", "hf_images"]

#: File suffixes read as images in a folder (case-insensitive); other files are ignored.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

_CHANNEL_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


class DataError(LatentSCMError, ValueError):
    """Your data cannot be imported as it is; the message names the file, row or column."""


def image_files(folder: str | os.PathLike) -> list[Path]:
    """The PNG / JPEG files of ``folder`` (not its subfolders; hidden files skipped), sorted by name.

    Raises
    ------
    DataError
        ``folder`` is not a directory or holds no image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"The data folder '{folder}' does not exist or is not a directory.")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"The data folder '{folder}' holds no image ({', '.join(IMAGE_SUFFIXES)} files).")
    return files


def file_digest(path: Path, sha: Any = None) -> str:
    """Hex SHA-256 of a file's bytes (or fed into ``sha`` when given)."""
    own = sha is None
    sha = hashlib.sha256() if own else sha
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            sha.update(block)
    return sha.hexdigest() if own else ""


def _mode_channels(image: Any) -> int:
    if image.mode == "P":
        return 4 if "transparency" in image.info else 3
    if image.mode in ("1", "L", "I", "I;16", "I;16B", "I;16L", "F"):
        return 1
    return min(len(image.getbands()), 4) if image.mode not in ("CMYK", "YCbCr", "LAB", "HSV") else 3


#: Pillow modes of 16-bit grey images (a 16-bit PNG opens as one of them)
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")


def _to_eight_bit(image: Any, where: str) -> Any:
    """A 16-bit grey image scaled to 8-bit ``L`` (value = round(255 * v / 65535)); Pillow's own
    conversion would clip every value above 255 to white. With a colour-key transparency (a PNG
    tRNS value) it is ``LA``, alpha 0 where the 16-bit value is the key: after scaling, the key's
    8-bit value would also hide the up to 256 other values that round to it, and dropping the key
    would lose the transparency that 8-bit grey keeps. ``where`` names the image in errors."""
    from PIL import Image

    array = np.asarray(image)
    if array.size and (array.min() < 0 or array.max() > 65535):
        raise DataError(f"{where} (mode {image.mode}) has values outside 0..65535; only 8- and 16-bit "
                        f"images can be imported.")
    scaled = np.rint(array.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)
    key = image.info.get("transparency")
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        alpha = np.where(array == key, 0, 255).astype(np.uint8)
        return Image.fromarray(np.stack([scaled, alpha], axis=-1))  # (H, W, 2) uint8: mode LA
    return Image.fromarray(scaled, mode="L")


def read_image(path: Path, channels: int | None) -> np.ndarray:
    """One image file as uint8 (C, H, W); ``channels`` converts (1 grey, 2 grey+alpha, 3 RGB,
    4 RGBA), ``None`` keeps the file's own; converting to 1 or 3 channels drops an alpha channel (a
    transparent pixel keeps its stored colour, nothing is composited), as Pillow's ``convert`` does.
    16-bit grey images are scaled to 0..255 (16-bit colour PNGs keep Pillow's high byte; see the
    module docstring). Pixels are
    read as stored: an EXIF orientation tag is not applied (as torchvision's image folders), so
    a camera photo tagged "rotate 90" keeps its sensor orientation.

    Raises
    ------
    DataError
        Pillow cannot decode the file (corrupt or not an image).
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            wanted = channels if channels is not None else _mode_channels(image)
            if image.mode in _SIXTEEN_BIT_MODES:
                image = _to_eight_bit(image, f"Image '{path}'")
            converted = image.convert(_CHANNEL_MODES[wanted]) if image.mode != _CHANNEL_MODES[wanted] else image
            array = np.asarray(converted, dtype=np.uint8)
    except DataError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(f"Cannot read image '{path}': {error}") from None
    return array[None] if array.ndim == 2 else np.ascontiguousarray(array.transpose(2, 0, 1))


def open_array(path: Path, key: str | None) -> np.ndarray:
    """The image array stored in an ``.npy`` file (memory-mapped) or under ``key`` in an ``.npz``.

    Raises
    ------
    DataError
        Unreadable file, unknown or ambiguous ``key``.
    """
    try:
        if path.suffix.lower() == ".npy":
            if key is not None:
                raise DataError(f"key={key!r} applies to .npz archives; '{path}' is an .npy file.")
            return np.load(path, mmap_mode="r", allow_pickle=False)
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            if key is None:
                if len(names) == 1:
                    key = names[0]
                elif "images" in names:
                    key = "images"
                else:
                    raise DataError(f"'{path}' holds arrays {names}; say which holds the images (key=..., "
                                    f"command line: --data-key).")
            if key not in names:
                raise DataError(f"'{path}' has no array {key!r}; it holds {names}.")
            return archive[key]
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:  # a damaged .npz: not a zip,
        # a bad CRC-32, a broken compressed stream
        raise DataError(f"Cannot read array file '{path}': {error}") from None


def _layout(shape: tuple[int, ...], layout: str, where: str) -> str:
    if len(shape) == 3:
        if layout != "auto":  # would be ignored: a 3-D array has no channel axis to place
            raise DataError(f"The images in {where} have shape {shape}, read as (N, H, W) grey images without a "
                            f"channel axis, so layout={layout!r} (command line: --layout) cannot apply; leave "
                            f"layout='auto', or give a 4-D array.")
        if shape[2] in (3, 4) and min(shape[0], shape[1]) >= 8:
            # at least 8 grey images of at least 8 rows, yet 3 or 4 pixels wide: in truth one (H, W, C) image
            raise DataError(f"The array of {where} has shape {shape}: as (N, H, W) grey images they would be "
                            f"{shape[2]} pixels wide, so it is more likely one (H, W, C) image with {shape[2]} "
                            f"channels. Give one image as a 4-D array (1, H, W, C) (array[None]), or grey images "
                            f"that narrow as (N, H, W, 1).")
        return "NHW"
    if len(shape) != 4:
        raise DataError(f"The images in {where} must be (N, C, H, W), (N, H, W, C) or (N, H, W). Got shape {shape}.")
    if layout != "auto":
        return layout
    first, last = shape[1] in (1, 2, 3, 4), shape[3] in (1, 2, 3, 4)
    if first and not last:
        return "NCHW"
    if last and not first:
        return "NHWC"
    raise DataError(f"Cannot tell the channel axis of {where} from its shape {shape}; pass layout='NCHW' or "
                    f"'NHWC' (command line: --layout).")


#: Pixel values per chunk of :func:`array_images` (float arrays take ~25 bytes per value while checked:
#: 2**21 values are ~50 MB, where 1024 rows of 3x512x512 float images would be ~19 GiB)
_CHUNK_VALUES = 1 << 21


def array_images(array: np.ndarray, *, layout: str = "auto", channels: int | None = None,
                 where: str = "the array", chunk: int = 1024,
                 image_row: int | None = None) -> tuple[tuple[int, int, int], Iterator[np.ndarray]]:
    """Image shape (C, H, W) and an iterator of uint8 chunks (n, C, H, W) of an image array.

    A chunk holds at most ``chunk`` rows and about ``_CHUNK_VALUES`` pixel values, so that a large
    memory-mapped array is read in bounded memory (its checks take ~25 bytes per value of a chunk).
    uint8 is kept; bool becomes 0 / 255; other numbers must be finite and in [0, 1] (floats, quantised
    to 1/255) — the first bad row is named. ``channels`` converts 1 -> 3 (repeat) or 3/4 -> 1 (luma,
    ITU-R 601-2 as Pillow), else must match. ``image_row``: ``array`` is the one image of that row
    of ``where`` (a dataset's row), which errors name.
    """
    row_where = where  # "Row 3 of <where>" names a row of the array, or the given one
    where = where if image_row is None else f"row {image_row} of {where}"
    if array.ndim in (3, 4) and array.shape[0] == 0:  # before the layout, which no empty shape needs
        raise DataError(f"{where} holds no images (shape {tuple(array.shape)}).")
    form = _layout(tuple(array.shape), layout, where)
    if form == "NHW":
        c, h, w = 1, array.shape[1], array.shape[2]
    elif form == "NCHW":
        c, h, w = array.shape[1:]
    else:
        h, w, c = array.shape[1:]
    if h == 0 or w == 0:
        raise DataError(f"The images in {where} have no pixels: {w}x{h} (shape {tuple(array.shape)}, layout {form}).")
    if c not in _CHANNEL_MODES:
        # more than 4 "channels" is another axis read as channels (a wrong layout, or (C, H, W)
        # where (H, W, C) was expected), never an image
        raise DataError(f"The images in {where} would have {c} channels (shape {tuple(array.shape)}, layout "
                        f"{form}); images have 1 to 4 channels. Check the layout (layout='NCHW' or 'NHWC', "
                        f"command line: --layout).")
    if np.issubdtype(array.dtype, np.complexfloating) or not (np.issubdtype(array.dtype, np.number)
                                                              or array.dtype == bool):
        raise DataError(f"The images in {where} must be real numbers. Got dtype {array.dtype}.")
    target = c if channels is None else channels
    if target != c and not (c == 1 and target in (3, 4)) and not (c in (3, 4) and target == 1):
        raise DataError(f"Cannot convert the {c}-channel images of {where} to {target} channels.")

    rows = max(1, min(int(chunk), _CHUNK_VALUES // (c * h * w)))

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, array.shape[0], rows):
            part = np.asarray(array[start:start + rows])
            if form == "NHW":
                part = part[:, None]
            elif form == "NHWC":
                part = part.transpose(0, 3, 1, 2)
            if part.dtype == np.uint8:
                values = part
            elif part.dtype == bool:
                values = part.astype(np.uint8) * np.uint8(255)
            else:
                floats = part.astype(np.float64)
                bad = ~np.isfinite(floats) | (floats < 0) | (floats > 1)
                if bad.any():
                    row = start + int(np.argwhere(bad.reshape(len(part), -1).any(1))[0, 0])
                    found = floats[row - start][bad[row - start]][0]
                    raise DataError(f"Row {row if image_row is None else image_row} of {row_where} holds "
                                    f"{float(found)!r}; images must be uint8, or numbers in "
                                    f"[0, 1] without NaN.")
                values = np.rint(floats * 255.0).astype(np.uint8)
            if target != c:
                values = _convert_channels(values, target)
            yield np.ascontiguousarray(values)

    return (target, int(h), int(w)), chunks()


def _convert_channels(values: np.ndarray, target: int) -> np.ndarray:
    if values.shape[1] == 1:
        repeated = np.repeat(values, 3, axis=1)
        if target == 4:
            repeated = np.concatenate([repeated, np.full_like(values, 255)], axis=1)
        return repeated
    # Pillow's own fixed-point ITU-R 601-2 luma (rounds half up), so that the same pixels give the
    # same grey values from a folder (converted by Pillow) and from an array
    r, g, b = (values[:, i].astype(np.int64) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)[:, None].astype(np.uint8)


def _label_number(value: Any) -> float:
    """``float(value)``, or NaN when it is not a number; text with ``_`` is not one (Python's ``float``
    reads PEP 515 digit separators, '1_2' as 12, where CSV readers such as pandas' keep it as text); nor is
    text with non-ASCII characters (``float`` reads other scripts' digits, '١٢' as 12, and full-width ones)."""
    if isinstance(value, (str, bytes)) and ("_" if isinstance(value, str) else b"_") in value:
        return math.nan
    if isinstance(value, str) and not value.isascii():
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def read_labels(path: str | os.PathLike, ids: Sequence[str], *, id_column: str,
                label_columns: Sequence[str] | None = None) -> tuple[tuple[str, ...], np.ndarray]:
    """Factor names and values (N, K) float64 from a CSV, one row per image in the order of ``ids``.

    Parameters
    ----------
    path : str or path-like
        CSV with a header; ``id_column`` names the image (``"file"``: a file name of the folder;
        ``"row"``: a row index of the array), the other columns (or ``label_columns``) are numeric
        factors.
    ids : sequence of str
        The images' ids, in import order (file names, or row indices as text).
    id_column : str
        ``"file"`` or ``"row"``.
    label_columns : sequence of str or None
        The factor columns to keep (default: every other column).

    Raises
    ------
    DataError
        Naming the CSV line: an id not among the images, a duplicate id, a missing or non-numeric
        value; or naming the images without a row; or a missing column.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"Cannot read the labels file '{path}': {error}") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise DataError(f"The labels file '{path}' is empty; it needs a header row ({id_column},<factor>,...).")
    header = [cell.strip() for cell in rows[0]]
    if id_column not in header:
        raise DataError(f"The labels file '{path}' needs a {id_column!r} column naming each image "
                        f"({'its file name' if id_column == 'file' else 'its row index in the array'}); its "
                        f"columns are {header}.")
    others = [name for name in header if name != id_column]
    columns = list(label_columns) if label_columns is not None else others
    unknown = [name for name in columns if name not in others]
    if unknown or not columns:
        raise DataError(f"The labels file '{path}' has no factor column{'s' if len(unknown) != 1 else ''} "
                        f"{unknown or ''}; its factor columns are {others}.".replace(" ''", ""))
    if len(set(header)) != len(header):
        raise DataError(f"The labels file '{path}' repeats a column name: {header}.")
    position = {name: i for i, name in enumerate(ids)}
    # a name in another Unicode normalisation (a file name stored decomposed, NFD, as macOS writes
    # them, in a CSV typed composed, NFC) is the same name, which macOS opens as that file; None: two
    # ids with one composed form (possible on Linux), matched only as spelled
    composed: dict[str, int | None] = {}
    for i, name in enumerate(ids):
        form = unicodedata.normalize("NFC", name)
        composed[form] = None if form in composed else i
    values = np.full((len(ids), len(columns)), np.nan)
    seen: dict[int, int] = {}
    id_index = header.index(id_column)
    indices = [header.index(name) for name in columns]
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(f"Line {line} of '{path}' has {len(row)} fields; the header has {len(header)}.")
        name = row[id_index].strip()
        # ASCII digits only: int() also reads '١' (Arabic-Indic) as 1 and fails on '²' naming no line
        if id_column == "row" and name.isascii() and name.lstrip("-").isdigit():
            name = str(int(name))
        target = position.get(name, composed.get(unicodedata.normalize("NFC", name)))
        if target is None:
            what = "no image file of that name in the folder" if id_column == "file" else \
                f"no such row (the array has rows 0..{len(ids) - 1})"
            raise DataError(f"Line {line} of '{path}' labels {id_column} {name!r}, but there is {what}.")
        if target in seen:
            raise DataError(f"Line {line} of '{path}' labels {id_column} {name!r} again (first on line "
                            f"{seen[target]}).")
        seen[target] = line
        for k, (column, index) in enumerate(zip(columns, indices)):
            cell = row[index].strip()
            value = _label_number(cell)
            if not math.isfinite(value):
                raise DataError(f"Line {line} of '{path}', column {column!r}: {cell!r} is not a finite number.")
            values[target, k] = value
    missing = [ids[i] for i in range(len(ids)) if i not in seen]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DataError(f"The labels file '{path}' has no row for {id_column} {shown} ({len(missing)} of "
                        f"{len(ids)} images unlabelled).")
    return tuple(columns), values


def hf_images(dataset: Any, *, image_column: str, channels: int | None,
              label_columns: Sequence[str] | None) -> tuple[tuple[int, int, int], Iterator[np.ndarray],
                                                            tuple[str, ...], np.ndarray | None]:
    """Images and labels of a Hugging Face ``datasets.Dataset`` (or any sequence of dicts).

    Returns the image shape (C, H, W), an iterator of uint8 images (1, C, H, W), the label
    names and the labels (N, K) (``None`` without ``label_columns``). Images may be PIL images
    (float ones, mode ``"F"``, read as numbers in [0, 1] like float arrays) or arrays (H, W),
    (H, W, C); an image of another size is named by its row.
    """
    from PIL import Image

    n = len(dataset)
    if n == 0:
        raise DataError("The dataset holds no rows.")
    first = dataset[0]
    if not isinstance(first, Mapping):
        raise DataError(f"Row 0 of the dataset is a {type(first).__name__}; rows must be dicts of columns.")
    if image_column not in first:
        raise DataError(f"The dataset has no column {image_column!r}; its columns are {sorted(first)} "
                        f"(image_column=..., command line: --image-column).")
    names = tuple(label_columns or ())
    missing = [name for name in names if name not in first]
    if missing:
        raise DataError(f"The dataset has no label column(s) {missing}; its columns are {sorted(first)}.")

    def as_array(value: Any, row: int) -> np.ndarray:
        if isinstance(value, Image.Image) and value.mode == "F":
            # float pixels: read as a float array (in [0, 1], quantised to 1/255); Pillow's convert("L")
            # would truncate them to 0 or 1 of 255 and clip the rest silently
            value = np.asarray(value)
        if isinstance(value, Image.Image):
            wanted = channels if channels is not None else _mode_channels(value)
            if value.mode in _SIXTEEN_BIT_MODES:  # scaled as the folder reader does, not clipped
                value = _to_eight_bit(value, f"Row {row} of the dataset")
            value = value.convert(_CHANNEL_MODES[wanted]) if value.mode != _CHANNEL_MODES[wanted] else value
            array = np.asarray(value, dtype=np.uint8)
            return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
        array = np.asarray(value)
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in _CHANNEL_MODES):
            raise DataError(f"Row {row} of the dataset is an array of shape {array.shape}; images must be (H, W) or "
                            f"(H, W, C) with 1 to 4 channels C.")
        shape, chunks = array_images(array[None], layout="NHWC" if array.ndim == 3 else "auto", channels=channels,
                                     where="the dataset", image_row=row)
        return next(chunks)[0]

    shape = tuple(as_array(first[image_column], 0).shape)
    labels = np.empty((n, len(names))) if names else None

    def rows() -> Iterator[np.ndarray]:
        for row in range(n):
            record = dataset[row]
            if not isinstance(record, Mapping):
                raise DataError(f"Row {row} of the dataset is a {type(record).__name__}; rows must be dicts of "
                                f"columns.")
            lacking = [name for name in (image_column, *names) if name not in record]
            if lacking:  # row 0 had them: a ragged sequence of rows
                raise DataError(f"Row {row} of the dataset lacks the column(s) {lacking} that row 0 has.")
            image = as_array(record[image_column], row)
            if image.shape != shape:
                raise DataError(f"Row {row} of the dataset is an image of shape {image.shape}; row 0 is {shape} "
                                f"(all images must have the same size and channels).")
            if labels is not None:
                for k, name in enumerate(names):
                    value = _label_number(record[name])
                    if not math.isfinite(value):
                        raise DataError(f"Row {row} of the dataset, column {name!r}: {record[name]!r} is not a "
                                        f"finite number.")
                    labels[row, k] = value
            yield image[None]

    return shape, rows(), names, labels  # type: ignore[return-value]
