"""``hue-sprites``: dSprites shapes painted in a continuous hue, for multi-domain experiments.

A small world whose colour is a *factor* (not per-image rendering noise as in ``sprites``'
``"color"`` variant), so that a :class:`~latentscm.worlds.domains.DomainShift` of ``hue`` gives
domains that differ in colour only — the setting of GCRL's invariant/variant split and of image
domain counterfactuals (ILD on images). Factors:

========== ===================================================================
shape      3 values: square, ellipse, heart (the shapes of :mod:`latentscm.worlds.sprites`)
scale      ``linspace(0.5, 1.0, n_scales)``
posX       ``linspace(0, 1, n_positions)``, 0 = left edge
posY       ``linspace(0, 1, n_positions)``, 0 = top edge
hue        continuous on ``[0, max_hue]`` (``max_hue`` < 1 keeps red at one end only, so hue is
           an ordered factor rather than an angle)
========== ===================================================================

Rendering: the ``sprites`` shapes upright (the same shape tests, ``MASK_SUPERSAMPLE``^2 samples
per pixel binarised at half coverage, the same canvas side), one mask per (shape, scale) drawn
once per instance, pasted at the integer offset ``round(pos * (size - M))`` and multiplied by the
RGB colour of the hue at saturation ``SATURATION`` and value 1 (``shapes3d.hsv_to_rgb``) on a
black background; 3 channels. Every colour channel is >= 0.1, so the hue never hides the shape.
By default every factor is an independent uniform root; ``graph=``/``mechanisms=`` give it
causal structure like any world. ``symmetries`` are exact (computed from the masks and offsets):
at small sizes, small sprites of different shapes or scales can share a mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from latentscm._validation import check_number
from latentscm.graph import CausalGraph
from latentscm.scm import Mechanism
from latentscm.worlds._raster import box_downsample, subpixel_centres
from latentscm.worlds.base import FactorSpec, World
from latentscm.worlds.shapes3d import hsv_to_rgb
from latentscm.worlds.sprites import (
    _INSIDE,
    MASK_SUPERSAMPLE,
    MIN_SIZE,
    SHAPES,
    SPRITE_RADIUS,
    _pair_equal_fraction,
    canvas_side,
)

__all__ = ["HueSprites", "SATURATION", "upright_masks"]

#: Saturation of the sprite colour (value is 1).
SATURATION = 0.9


def upright_masks(size: int, scales: np.ndarray) -> np.ndarray:
    """Binary upright sprite masks float32 (3, S, M, M) indexed (shape, scale) for images of side
    ``size`` (M = ``canvas_side(size)``), sprite centred on the canvas."""
    m, s = canvas_side(size), MASK_SUPERSAMPLE
    coords = subpixel_centres(m, s) - m / 2.0
    x = coords[None, :]
    y = -coords[:, None]
    masks = np.empty((3, len(scales), m, m), dtype=np.float32)
    for j, scale in enumerate(scales):
        radius = SPRITE_RADIUS * size * float(scale)
        for i, inside in enumerate(_INSIDE):
            masks[i, j] = box_downsample(inside(x / radius, y / radius), s) >= 0.5
    if not np.all(masks.reshape(masks.shape[0] * masks.shape[1], -1).any(axis=1)):
        raise RuntimeError(f"HueSprites: a sprite mask came out empty at size {size}.")
    return masks


class HueSprites(World):
    """dSprites shapes at a continuous hue (see the module docstring).

    Parameters
    ----------
    size : int, default 32
        Image side in pixels (>= 16).
    n_scales : int, default 3
        Grid points of ``scale`` on ``[0.5, 1.0]`` (>= 1; 1 means scale 1 only).
    n_positions : int, default 8
        Grid points of ``posX`` and ``posY`` on ``[0, 1]`` (>= 1; 1 means centred).
    max_hue : float, default 0.8
        Upper end of the hue range ``[0, max_hue]`` (in (0, 1)).
    graph, mechanisms
        Optional causal structure over the factors (see :meth:`World._init_structure`).
    """

    name = "hue-sprites"

    def __init__(self, *, size: int = 32, n_scales: int = 3, n_positions: int = 8, max_hue: float = 0.8,
                 graph: CausalGraph | str | None = None, mechanisms: Mapping[str, Mechanism] | None = None):
        owner = type(self).__name__
        self.size = check_number(size, "size", owner, low=MIN_SIZE, integer=True)
        self.n_scales = check_number(n_scales, "n_scales", owner, low=1, integer=True)
        self.n_positions = check_number(n_positions, "n_positions", owner, low=1, integer=True)
        self.max_hue = check_number(max_hue, "max_hue", owner, low=0.0, high=1.0, low_inclusive=False,
                                    high_inclusive=False)
        self._options: dict[str, Any] = {"size": self.size, "n_scales": self.n_scales,
                                         "n_positions": self.n_positions, "max_hue": self.max_hue}
        scales = np.linspace(0.5, 1.0, self.n_scales) if self.n_scales > 1 else np.array([1.0])
        positions = np.linspace(0.0, 1.0, self.n_positions) if self.n_positions > 1 else np.array([0.5])
        self.factor_specs = (
            FactorSpec("shape", values=np.arange(3.0), labels=SHAPES, description="sprite shape"),
            FactorSpec("scale", values=scales, description="sprite size"),
            FactorSpec("posX", values=positions, description="horizontal position, 0 = left"),
            FactorSpec("posY", values=positions, description="vertical position, 0 = top"),
            FactorSpec("hue", low=0.0, high=self.max_hue, description="hue of the sprite (HSV, saturation 0.9)"),
        )
        self.image_shape = (3, self.size, self.size)
        self._init_structure(graph, mechanisms)
        self.canvas = canvas_side(self.size)
        self.offsets = np.floor(positions * (self.size - self.canvas) + 0.5).astype(np.int64)
        self._masks = upright_masks(self.size, scales)
        self._masks.flags.writeable = False

    @property
    def symmetries(self) -> dict[str, float]:
        """Exact fraction of changes of each grid factor (to another uniformly chosen value) that
        leave the image unchanged; factors that always change it are left out."""
        flat = self._masks.reshape(-1, self.canvas * self.canvas) > 0
        _, ids = np.unique(np.packbits(flat, axis=1), axis=0, return_inverse=True)
        ids = ids.reshape(self._masks.shape[:2])
        fractions = {"shape": _pair_equal_fraction(ids, 0), "scale": _pair_equal_fraction(ids, 1),
                     "posX": _pair_equal_fraction(self.offsets, 0), "posY": _pair_equal_fraction(self.offsets, 0)}
        return {name: value for name, value in fractions.items() if value > 0.0}

    def _render(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        """Factors (N, 5) on the grids -> float32 images (N, 3, size, size) in [0, 1]."""
        n, m = factors.shape[0], self.canvas
        specs = self.factor_specs
        shape, scale, pos_x, pos_y = (specs[j].index_of(factors[:, j]) for j in range(4))
        sprites = np.zeros((n, self.size, self.size), dtype=np.float32)
        span = np.arange(m)
        rows = self.offsets[pos_y][:, None, None] + span[None, :, None]
        cols = self.offsets[pos_x][:, None, None] + span[None, None, :]
        sprites[np.arange(n)[:, None, None], rows, cols] = self._masks[shape, scale]
        colour = hsv_to_rgb(factors[:, 4], saturation=SATURATION).astype(np.float32)  # (N, 3)
        return sprites[:, None] * colour[:, :, None, None]
