"""Small rasterisation helpers shared by the procedural worlds: supersampled pixel grids, box
downsampling (anti-aliasing by averaging sub-pixel samples) and 2-D rotations.

Conventions: pixel ``i`` covers the interval ``[i, i + 1)`` in pixel units; a supersampled grid
with factor ``s`` samples each pixel at ``i + (k + 0.5) / s`` for ``k = 0 .. s - 1``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["subpixel_centres", "box_downsample", "rotate"]


def subpixel_centres(n_pixels: int, supersample: int) -> np.ndarray:
    """Sample coordinates (n_pixels * supersample,) float64 in pixel units, ``supersample``
    evenly spaced samples per pixel."""
    return (np.arange(n_pixels * supersample, dtype=np.float64) + 0.5) / supersample


def box_downsample(samples: np.ndarray, supersample: int) -> np.ndarray:
    """Average non-overlapping ``supersample x supersample`` blocks of the last two axes.

    ``samples`` (..., H * s, W * s) -> (..., H, W), same float dtype (booleans become float32).
    """
    if samples.dtype == np.bool_:
        samples = samples.astype(np.float32)
    *lead, height, width = samples.shape
    if height % supersample or width % supersample:
        raise ValueError(f"box_downsample: shape {samples.shape[-2:]} is not a multiple of {supersample}.")
    blocks = samples.reshape(*lead, height // supersample, supersample, width // supersample, supersample)
    return blocks.mean(axis=(-3, -1), dtype=np.float64).astype(samples.dtype)


def rotate(x: np.ndarray, y: np.ndarray, angle: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate points counter-clockwise by ``angle`` radians in a y-up frame (broadcasting):
    returns ``(x cos a - y sin a, x sin a + y cos a)``."""
    cos, sin = np.cos(angle), np.sin(angle)
    return x * cos - y * sin, x * sin + y * cos
