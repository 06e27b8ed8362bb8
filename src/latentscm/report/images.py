"""Image grids and atomic PNG writing (shared by the CLI, figures and the report)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from latentscm._io import atomic_write
from latentscm._io import check_output_file as _check_output_file
from latentscm._validation import check_number

__all__ = ["image_grid", "to_uint8", "save_png", "png_bytes", "atomic_write_bytes", "check_output_file"]


def to_uint8(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) float in [0, 1] -> (N, H, W, 3) uint8 (grey images repeated to RGB).

    Floats are clipped to [0, 1]; integer images must hold 0 and 1 only (8-bit pictures are refused, a ValueError).
    Non-finite values (a diverged model's output) are drawn black (NaN, -inf) or white (+inf); pages say so next to
    the picture (:func:`latentscm.report.page.non_finite_note`).
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 3, 4):
        raise ValueError(f"Images must be (N, C, H, W) with C in 1, 3 or 4. Got shape {images.shape}.")
    if np.issubdtype(images.dtype, np.integer) and images.size and images.max() > 1:  # clipping would binarise them
        raise ValueError(f"Images must be in [0, 1]. Got {images.dtype} values up to {images.max()}; divide 8-bit "
                         "pictures by 255.")
    # NaN would otherwise be cast to an undefined byte (0 on x86, with a RuntimeWarning): draw it black on purpose
    array = np.clip(np.nan_to_num(images[:, :3], nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0).transpose(0, 2, 3, 1)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.rint(array * 255).astype(np.uint8)


def image_grid(rows: Sequence[np.ndarray], *, pad: int = 2, background: int = 255, scale: int = 1) -> np.ndarray:
    """Tile rows of images into one (H, W, 3) uint8 picture.

    ``rows`` is a sequence of (N_r, C, H, W) arrays in [0, 1] (all with the same H and W); row r
    shows its N_r images left to right, ``pad`` (int >= 0) pixels of grey level ``background`` (0-255)
    apart. ``scale`` (int >= 1) enlarges pixels by an integer factor.
    """
    if not rows:
        raise ValueError("image_grid needs at least one row of images.")
    pad = int(check_number(pad, "pad", "image_grid", low=0, integer=True))
    scale = int(check_number(scale, "scale", "image_grid", low=1, integer=True))
    background = int(check_number(background, "background", "image_grid", low=0, high=255, integer=True))
    tiles = [to_uint8(r) for r in rows]
    h, w = tiles[0].shape[1:3]
    for r, row in enumerate(tiles):
        if row.shape[1:3] != (h, w):
            raise ValueError(f"Row {r} has images of size {row.shape[1:3]}, expected {(h, w)}.")
    columns = max(len(t) for t in tiles)
    canvas = np.full((len(tiles) * (h + pad) + pad, columns * (w + pad) + pad, 3), background, np.uint8)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            top, left = pad + r * (h + pad), pad + c * (w + pad)
            canvas[top:top + h, left:left + w] = tile
    if scale > 1:
        canvas = np.repeat(np.repeat(canvas, scale, axis=0), scale, axis=1)
    return canvas


def png_bytes(picture: np.ndarray) -> bytes:
    """Encode an (H, W, 3) uint8 picture as PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(picture, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def check_output_file(path: str | os.PathLike, argument: str, owner: str) -> Path:
    """``path`` as a Path, checked before any work (:func:`latentscm._io.check_output_file`): a page cannot
    replace a directory, nor be written under a regular file (a ValueError names ``argument`` of ``owner``)."""
    return _check_output_file(path, f"The '{argument}' argument of {owner}")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`latentscm._io.atomic_write`)."""
    return atomic_write(path, data)


def save_png(path: str | os.PathLike, picture: np.ndarray) -> Path:
    """Atomically write an (H, W, 3) uint8 picture as PNG."""
    return atomic_write_bytes(path, png_bytes(picture))
