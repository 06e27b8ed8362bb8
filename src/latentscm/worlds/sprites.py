"""``sprites``: the dSprites grid (Matthey et al. 2017) as a world with an exact SCM.

Factors, in dSprites' storage order (row-major, ``posY`` fastest):

========== ===== ===============================================
shape      3     0, 1, 2 = square, ellipse, heart
scale      6     ``linspace(0.5, 1.0, 6)``
orientation 40   ``linspace(0, 2 pi, 40)`` radians (0 and 2 pi both present)
posX       32    ``linspace(0, 1, 32)``, 0 = left edge, 1 = right edge
posY       32    ``linspace(0, 1, 32)``, 0 = top edge, 1 = bottom edge
========== ===== ===============================================

dSprites' one-valued ``color`` factor is left out: with one value it changes no index, so
``grid_factors(i)`` here is image ``i`` of the dSprites file (3 * 6 * 40 * 32 * 32 = 737,280).

Rendering: each (shape, scale, orientation) is one of 720 sprite masks, drawn once per image size
(cached, shared by instances) with 8 x 8 supersampling and binarised at half coverage, on a square canvas of side ``M``
around the sprite's centre. Every shape lies in a disc of radius ``0.16 * size * scale`` pixels
around its centre whatever the rotation, and the canvas holds the largest disc, so a sprite
never leaves the frame: the canvas is pasted at integer offset ``round(pos * (size - M))``.
Orientation turns the sprite counter-clockwise on screen. A batch is composed by one vectorised
scatter of the masks' set pixels into zeroed images (no Python loop per image), in chunks of
``RENDER_CHUNK`` images so the index arrays stay small.

Variants (as in disentanglement_lib): ``"binary"`` (1 channel, the dSprites images),
``"color"`` (3 channels; the mask times an RGB colour uniform(0.5, 1) per image) and
``"noisy"`` (3 channels; uniform(0, 1) background noise per pixel and channel, sprite added,
clipped at 1). The colour and the background come from the per-image ``render_seed`` through a
counter-based hash, so the counterfactual of an image keeps its colour or background exactly.

Symmetries (``Sprites.symmetries``: the exact chance, over the uniform grid, that changing one
factor to another grid value leaves the image unchanged, computed from the masks). At size 64
only the orientation repeats: 0.0148 overall — hearts 0.0013 (just the duplicated 0 / 2 pi pose);
ellipses 0.0053 (also poses 175.4 or 184.6 degrees apart, 4.6 degrees from the exact half turn,
at the two smallest scales, and 2 pairs of neighbouring poses, 9.2 degrees apart, at scale 0.5);
squares 0.0378 (also poses about a multiple of 90 degrees apart, e.g. 92.3 or 267.7, at every
scale, and neighbouring poses: 8 pairs at scale 0.5, 3 at scale 0.7). So, unlike dSprites, whose
values were chosen so that neighbouring grid points differ, 13 of the 702 neighbouring-orientation
steps (1.9 %) repeat an image at size 64. posX, posY, scale and shape changes always alter the
image. Below 64 pixels 32 positions cannot all land on distinct pixel offsets: at size 32 the
fractions are posX 0.0262, posY 0.0262, scale 0.0156, orientation 0.1073.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.graph import CausalGraph
from latentscm.scm import Mechanism
from latentscm.worlds._raster import box_downsample, rotate, subpixel_centres
from latentscm.worlds.base import FactorSpec, World

__all__ = ["Sprites", "SHAPES", "VARIANTS"]

SHAPES = ("square", "ellipse", "heart")
VARIANTS = ("binary", "color", "noisy")
MIN_SIZE = 16

# Circumradius of a scale-1 sprite as a fraction of the image side (all shapes fit this disc).
SPRITE_RADIUS = 0.16
MASK_SUPERSAMPLE = 8
# Sprites placed per scatter step inside _render: bounds the (n, P) index array.
RENDER_CHUNK = 4096

SQUARE_HALF_SIDE = 0.7  # circumradius 0.99
ELLIPSE_SEMI_AXES = (1.0, 0.5)  # along the sprite's x and y axes
# The implicit heart (x^2 + y^2 - 1)^3 <= x^2 y^3 spans x in [-1.139, 1.139], y in [-1, 1.236];
# its smallest enclosing circle has centre (0, 0.25) and radius 1.25 (the tip and both lobes
# touch it), so mapping (u, v) -> (1.25 u, 1.25 v + 0.25) puts it in the unit disc.
HEART_RADIUS, HEART_CENTRE_Y = 1.25, 0.25


def _inside_square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (np.abs(u) <= SQUARE_HALF_SIDE) & (np.abs(v) <= SQUARE_HALF_SIDE)


def _inside_ellipse(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    a, b = ELLIPSE_SEMI_AXES
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


def _inside_heart(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    x = HEART_RADIUS * u
    y = HEART_RADIUS * v + HEART_CENTRE_Y
    x2, y2 = x * x, y * y
    r = x2 + y2 - 1.0
    return r * r * r <= x2 * y2 * y  # products, not **: float powers are ~10x slower


_INSIDE = (_inside_square, _inside_ellipse, _inside_heart)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def _splitmix(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


def hash_uniform(seeds: np.ndarray, count: int) -> np.ndarray:
    """Per-seed uniform [0, 1) streams: float32 (N, count) from int seeds (N,).

    Counter-based (SplitMix64 of the hashed seed plus the counter), so a batch of any size is
    drawn in one vectorised pass and stream ``i`` depends on ``seeds[i]`` only.
    """
    keys = _splitmix(np.asarray(seeds, dtype=np.int64).astype(np.uint64))
    counters = (np.arange(count, dtype=np.uint64) + np.uint64(1)) * _GOLDEN
    bits = _splitmix(keys[:, None] + counters[None, :])
    # 24 random bits -> exactly representable float32 in [0, 1)
    return ((bits >> np.uint64(40)).astype(np.float32)) * np.float32(2.0 ** -24)


def _pair_equal_fraction(ids: np.ndarray, axis: int) -> float:
    """Fraction of ordered pairs (i, j != i) along ``axis`` of an id grid with equal ids, averaged
    over the other axes: the chance that changing that factor to another uniformly chosen value
    leaves the image unchanged."""
    moved = np.moveaxis(ids, axis, -1)
    k = moved.shape[-1]
    if k < 2:
        return 0.0
    equal = moved[..., :, None] == moved[..., None, :]
    return float((equal.sum(axis=(-1, -2)) - k).mean() / (k * (k - 1)))


def canvas_side(size: int) -> int:
    """Side ``M`` of the square canvas that holds a sprite of any scale and rotation."""
    return 2 * int(np.ceil(SPRITE_RADIUS * size)) + 2


@functools.lru_cache(maxsize=4)
def sprite_masks(size: int) -> np.ndarray:
    """The 720 binary sprite masks for images of side ``size``: read-only float32
    (3, 6, 40, M, M) indexed (shape, scale, orientation), sprite centred on the canvas.

    Each mask is drawn with ``MASK_SUPERSAMPLE``^2 samples per pixel and binarised at half
    coverage, so edges are placed as an anti-aliased rendering would place them.
    """
    m, s = canvas_side(size), MASK_SUPERSAMPLE
    coords = subpixel_centres(m, s) - m / 2.0  # pixel units from the canvas centre
    x = coords[None, None, :]
    y = -coords[None, :, None]  # y up, so positive orientation turns counter-clockwise on screen
    angles = np.linspace(0.0, 2.0 * np.pi, 40)[:, None, None]
    masks = np.empty((3, 6, 40, m, m), dtype=np.float32)
    for j, scale in enumerate(np.linspace(0.5, 1.0, 6)):
        radius = SPRITE_RADIUS * size * scale
        # the inverse rotation takes screen points back to the sprite's own frame
        u, v = rotate(x / radius, y / radius, -angles)
        for i, inside in enumerate(_INSIDE):
            masks[i, j] = box_downsample(inside(u, v), s) >= 0.5
    if not np.all(masks.reshape(720, -1).any(axis=1)):
        raise RuntimeError(f"Sprites: a sprite mask came out empty at size {size}.")
    masks.flags.writeable = False
    return masks


class Sprites(World):
    """dSprites: 2-D shapes (square, ellipse, heart) at 6 scales, 40 orientations and 32 x 32
    positions. See the module docstring for geometry, variants and symmetries.

    Parameters
    ----------
    size:
        Image side in pixels (int >= 16; 64 is dSprites).
    variant:
        ``"binary"`` (1 channel), ``"color"`` or ``"noisy"`` (3 channels, random per image).
    graph, mechanisms:
        Optional causal structure over the factors (see :meth:`World._init_structure`), e.g.
        ``graph="scale -> posX"`` with ``mechanisms={"posX": ...}``. Values snap to the grids.
    """

    name = "sprites"

    def __init__(self, *, size: int = 64, variant: str = "binary",
                 graph: CausalGraph | str | None = None,
                 mechanisms: Mapping[str, Mechanism] | None = None):
        owner = "Sprites"
        self.size = check_number(size, "size", owner, low=MIN_SIZE, integer=True)
        self.variant = check_choice(variant, "variant", owner, VARIANTS)
        self._options: dict[str, Any] = {"size": self.size, "variant": self.variant,
                                         "graph": graph, "mechanisms": mechanisms}
        self.render_random = self.variant != "binary"
        self.factor_specs = (
            FactorSpec("shape", values=np.arange(3.0), labels=SHAPES, description="sprite shape"),
            FactorSpec("scale", values=np.linspace(0.5, 1.0, 6), description="sprite size"),
            FactorSpec("orientation", values=np.linspace(0.0, 2.0 * np.pi, 40),
                       description="counter-clockwise rotation in radians"),
            FactorSpec("posX", values=np.linspace(0.0, 1.0, 32), description="horizontal position, 0 = left"),
            FactorSpec("posY", values=np.linspace(0.0, 1.0, 32), description="vertical position, 0 = top"),
        )
        self.image_shape = (1 if self.variant == "binary" else 3, self.size, self.size)
        self._init_structure(graph, mechanisms)

        self.canvas = canvas_side(self.size)
        travel = self.size - self.canvas
        self.offsets = np.floor(self.factor_specs[3].values * travel + 0.5).astype(np.int64)  # (32,)
        rows, cols = np.divmod(np.arange(self.canvas * self.canvas, dtype=np.int64), self.canvas)
        self._window = rows * self.size + cols  # flat image offsets of the canvas pixels (M * M,)
        self._masks: np.ndarray | None = None
        self._sprite_pixels: np.ndarray | None = None
        self._symmetries: dict[str, float] | None = None

    # ------------------------------------------------------------------ sprite masks
    @property
    def masks(self) -> np.ndarray:
        """Binary sprite masks float32 (3, 6, 40, M, M) indexed (shape, scale, orientation),
        read-only, drawn on first use and shared by all instances of the same size."""
        if self._masks is None:
            self._masks = sprite_masks(self.size)
        return self._masks

    @property
    def sprite_pixels(self) -> np.ndarray:
        """Flat image offsets (720, P) int64 of each mask's set pixels relative to the canvas'
        top-left pixel; rows shorter than the largest sprite repeat their first pixel (writing a
        pixel twice is harmless), so a batch is placed by one scatter of ones."""
        if self._sprite_pixels is None:
            flat = self.masks.reshape(720, -1) > 0
            counts = flat.sum(axis=1)
            pixels = np.empty((720, int(counts.max())), dtype=np.int64)
            for k in range(720):  # 720 masks once per instance, not per image
                on = self._window[flat[k]]
                pixels[k, :on.size] = on
                pixels[k, on.size:] = on[0]
            self._sprite_pixels = pixels
        return self._sprite_pixels

    # ------------------------------------------------------------------ symmetries
    @property
    def symmetries(self) -> dict[str, float]:
        """Exact fraction of changes of each factor (to another uniformly chosen grid value, the
        other factors uniform on their grids) that leave the image unchanged; factors that
        always change the image are left out. See the module docstring."""
        if self._symmetries is None:
            flat = self.masks.reshape(720, -1)
            _, mask_ids = np.unique(np.packbits(flat > 0, axis=1), axis=0, return_inverse=True)
            mask_ids = mask_ids.reshape(3, 6, 40)
            fractions = {
                "shape": _pair_equal_fraction(mask_ids, 0),
                "scale": _pair_equal_fraction(mask_ids, 1),
                "orientation": _pair_equal_fraction(mask_ids, 2),
                "posX": _pair_equal_fraction(self.offsets, 0),
                "posY": _pair_equal_fraction(self.offsets, 0),
            }
            self._symmetries = {name: value for name, value in fractions.items() if value > 0.0}
        return dict(self._symmetries)

    # ------------------------------------------------------------------ rendering
    def _render(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        """Factors (N, 5) on the grid -> float32 images (N, C, size, size) in [0, 1]."""
        n = factors.shape[0]
        specs = self.factor_specs
        shape, scale, orientation, pos_x, pos_y = (specs[j].index_of(factors[:, j]) for j in range(5))
        mask_index = (shape * 6 + scale) * 40 + orientation
        pixels = self.size * self.size
        starts = self.offsets[pos_y] * self.size + self.offsets[pos_x]  # flat top-left of the canvas
        sprite_pixels = self.sprite_pixels
        sprites = np.zeros((n, pixels), dtype=np.float32)
        flat = sprites.reshape(-1)
        for begin in range(0, n, RENDER_CHUNK):
            stop = min(begin + RENDER_CHUNK, n)
            base = np.arange(begin, stop, dtype=np.int64) * pixels + starts[begin:stop]
            flat[base[:, None] + sprite_pixels[mask_index[begin:stop]]] = 1.0
        sprites = sprites.reshape(n, 1, self.size, self.size)
        if self.variant == "binary":
            return sprites
        seeds = np.zeros(n, dtype=np.int64) if render_seeds is None else np.asarray(render_seeds)
        if self.variant == "color":
            colour = 0.5 + 0.5 * hash_uniform(seeds, 3)  # (N, 3) uniform(0.5, 1)
            return sprites * colour[:, :, None, None]
        background = hash_uniform(seeds, 3 * pixels).reshape(n, 3, self.size, self.size)
        return np.minimum(background + sprites, np.float32(1.0))
