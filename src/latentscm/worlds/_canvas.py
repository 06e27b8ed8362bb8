"""Anti-aliased vector drawing on batches of images with numpy (used by the pendulum and flow worlds).

A :class:`Canvas` maps a rectangle of *world* coordinates (y pointing up, as in the matplotlib
scenes of the original datasets) onto a square image. Shapes are signed distance fields in world
units (negative inside); a pixel's coverage is approximated by ``clip(0.5 - d / pixel, 0, 1)``,
the usual distance-field anti-aliasing: exact for straight edges, close for curved ones, and a
continuous function of the shape parameters (so small changes of a factor change the pixels).

All shape parameters are scalars or (N,) arrays; coverages are float32 (N, H, W). Only
IEEE-exact operations (``+ * / sqrt``, comparisons) run per pixel, so an image does not depend on
which batch it was rendered in.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Canvas", "paint"]


def _column(value: float | np.ndarray) -> np.ndarray:
    """A scalar or (N,) array as float32 (N, 1, 1) for broadcasting against (1, H, W) grids."""
    return np.asarray(value, dtype=np.float32).reshape(-1, 1, 1)


class Canvas:
    """Pixel-centre coordinates of a ``size`` x ``size`` image showing ``x_range`` x ``y_range``.

    ``x`` is (1, 1, W) and ``y`` is (1, H, 1), both float32 world coordinates; row 0 is the top of
    the world rectangle (largest y). ``pixel_width`` and ``pixel_height`` are a pixel's size in
    world units and ``pixel`` their geometric mean (they differ when the rectangle is not square).
    """

    def __init__(self, size: int, x_range: tuple[float, float], y_range: tuple[float, float]):
        self.size = int(size)
        (x0, x1), (y0, y1) = x_range, y_range
        step_x, step_y = (x1 - x0) / self.size, (y1 - y0) / self.size
        centres = np.arange(self.size, dtype=np.float64) + 0.5
        self.x = (x0 + centres * step_x).astype(np.float32).reshape(1, 1, -1)
        self.y = (y1 - centres * step_y).astype(np.float32).reshape(1, -1, 1)
        self.pixel_width, self.pixel_height = float(step_x), float(step_y)
        self.pixel = float(np.sqrt(step_x * step_y))

    def blank(self, n: int, rgb: tuple[float, float, float]) -> np.ndarray:
        """Images (n, 3, H, W) float32 filled with the colour ``rgb`` (components in [0, 1])."""
        colour = np.asarray(rgb, dtype=np.float32).reshape(1, 3, 1, 1)
        return np.broadcast_to(colour, (n, 3, self.size, self.size)).copy()

    def coverage(self, distance: np.ndarray) -> np.ndarray:
        """Coverage (N, H, W) in [0, 1] from a signed distance (N, H, W) in world units."""
        return np.clip(np.float32(0.5) - distance / np.float32(self.pixel), 0.0, 1.0).astype(np.float32)

    def disc(self, cx, cy, radius) -> np.ndarray:
        """Coverage of discs with centres ``(cx, cy)`` and ``radius`` (world units)."""
        dx, dy = self.x - _column(cx), self.y - _column(cy)
        return self.coverage(np.sqrt(dx * dx + dy * dy) - _column(radius))

    def segment(self, ax, ay, bx, by, width) -> np.ndarray:
        """Coverage of thick line segments from ``(ax, ay)`` to ``(bx, by)`` with round caps."""
        ax, ay = _column(ax), _column(ay)
        dx, dy = _column(bx) - ax, _column(by) - ay
        px, py = self.x - ax, self.y - ay
        length2 = np.maximum(dx * dx + dy * dy, np.float32(1e-12))
        along = np.clip((px * dx + py * dy) / length2, 0.0, 1.0)
        ex, ey = px - along * dx, py - along * dy
        return self.coverage(np.sqrt(ex * ex + ey * ey) - _column(width) / np.float32(2.0))

    def box(self, x0, x1, y0, y1) -> np.ndarray:
        """Coverage of axis-aligned rectangles ``[x0, x1] x [y0, y1]``: the exact fraction of each
        pixel's area inside (product of the overlaps along x and y), so moving an edge always
        changes the pixels it crosses, even for boxes thinner than a pixel."""
        half_w, half_h = np.float32(self.pixel_width / 2), np.float32(self.pixel_height / 2)
        overlap_x = np.minimum(_column(x1), self.x + half_w) - np.maximum(_column(x0), self.x - half_w)
        overlap_y = np.minimum(_column(y1), self.y + half_h) - np.maximum(_column(y0), self.y - half_h)
        return (np.clip(overlap_x / (2 * half_w), 0.0, 1.0) * np.clip(overlap_y / (2 * half_h), 0.0, 1.0)).astype(
            np.float32)


def paint(images: np.ndarray, coverage: np.ndarray, rgb: tuple[float, float, float]) -> None:
    """Composite a colour over ``images`` (N, 3, H, W) in place with alpha ``coverage`` (N, H, W)."""
    alpha = coverage[:, None, :, :]
    colour = np.asarray(rgb, dtype=np.float32).reshape(1, 3, 1, 1)
    images *= np.float32(1.0) - alpha
    images += alpha * colour
