"""Morpho-MNIST-like digits: thickness causes intensity (Castro et al. 2019, "Morpho-MNIST:
quantitative assessment and diagnostics for representation learning", JMLR; the SCM of Pawlowski,
Castro & Glocker 2020, "Deep structural causal models for tractable counterfactual inference").

Factors:

- ``digit`` — the class 0..9 (discrete, labels "0".."9");
- ``thickness`` t — stroke width in pixels of a 28 x 28 image, ``t = 0.5 + Gamma(10, rate 5)``,
  clipped to [0.5, 6.0] (the range holds 99.996 % of the prior's mass);
- ``intensity`` i — grey level of the stroke in 0..255 units, in [64, 255],
  ``i = 64 + 191 sigmoid(2 (t - 2.5) + u)`` with ``u ~ N(0, noise_std^2)``; Morpho-MNIST's
  ``0.5 eps`` with ``eps ~ N(0, 1)`` is the default ``noise_std = 0.5``. The mechanism is
  invertible: ``u = logit((i - 64) / 191) - 2 (t - 2.5)``;
- ``slant`` s — horizontal shear (x shift per pixel of height, positive leans right), uniform
  on [-0.3, 0.3].

Graph: ``thickness -> intensity``; digit and slant are independent roots.

Rendering (deterministic): each digit is a skeleton of polylines defined here (not a font). A
stroke's pixels are those within ``t/2`` of the skeleton — Morpho-MNIST's thickening, as a
distance threshold rather than repeated morphological dilation. Per digit, the distance to the
skeleton is precomputed once on a 4x supersampled grid; an image shears that distance map by the
slant (linear interpolation along rows), thresholds it at ``t/2`` with a one-subpixel soft edge,
averages 4 x 4 blocks down to the output size, and scales the result so its maximum equals
``i / 255``. So the image maximum is exactly ``i / 255`` and thin strokes are not darkened by
partial coverage; the median of the pixels above half the maximum (Morpho-MNIST's definition)
equals ``i / 255`` for every image with t >= 3 and for 62 % of prior samples (measured on 2,000;
thinner strokes have mostly partially covered pixels, so their median is lower). At
``size=32`` the glyph and its thickness scale by 32/28, so the same factors give the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import expit, logit

from latentscm._validation import check_number
from latentscm.graph import CausalGraph
from latentscm.scm import AdditiveNoise, Functional, Gamma, Mechanism, Normal
from latentscm.worlds.base import FactorSpec, World

__all__ = ["Glyphs", "digit_skeletons", "intensity_from"]

THICKNESS_RANGE = (0.5, 6.0)
INTENSITY_RANGE = (64.0, 255.0)
SLANT_RANGE = (-0.3, 0.3)
SUPERSAMPLE = 4
REFERENCE_SIZE = 28
# The skeleton box (in 28-pixel units): 18 px tall, centred; strokes and slant stay inside the frame.
BOX_HEIGHT, BOX_WIDTH = 18.0, 11.0
FAR = 1.0e3  # distance outside the precomputed map (beyond any stroke)


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, points: int = 24) -> np.ndarray:
    """Points (points, 2) of an elliptical arc in a y-down unit box; angles in degrees, 90 = top."""
    angle = np.radians(np.linspace(start, stop, points))
    return np.stack([cx + rx * np.cos(angle), cy - ry * np.sin(angle)], axis=1)


def _line(*points: tuple[float, float]) -> np.ndarray:
    return np.asarray(points, dtype=np.float64)


def digit_skeletons() -> list[list[np.ndarray]]:
    """Per digit 0..9, the polylines (each (M, 2), x right and y down in a unit box) of its strokes."""
    return [
        [_arc(0.5, 0.5, 0.45, 0.5, 0, 360, 40)],
        [_line((0.3, 0.18), (0.58, 0.0), (0.52, 1.0))],
        [np.concatenate([_arc(0.5, 0.28, 0.42, 0.28, 160, -35), _line((0.05, 1.0), (0.97, 1.0))])],
        [np.concatenate([_arc(0.5, 0.25, 0.38, 0.25, 150, -90), _arc(0.5, 0.74, 0.45, 0.26, 90, -150)])],
        [_line((0.72, 1.0), (0.72, 0.0), (0.04, 0.68), (0.97, 0.68))],
        [np.concatenate([_line((0.92, 0.0), (0.2, 0.0), (0.12, 0.47)), _arc(0.47, 0.7, 0.45, 0.3, 145, -150)])],
        [_arc(0.88, 0.68, 0.78, 0.68, 100, 180), _arc(0.5, 0.7, 0.4, 0.3, 0, 360, 32)],
        [_line((0.03, 0.0), (0.97, 0.0), (0.38, 1.0))],
        [_arc(0.5, 0.24, 0.34, 0.24, 0, 360, 32), _arc(0.5, 0.73, 0.42, 0.27, 0, 360, 32)],
        [_arc(0.5, 0.3, 0.42, 0.3, 0, 360, 32), _line((0.92, 0.3), (0.86, 1.0))],
    ]


def _distance_to_polylines(px: np.ndarray, py: np.ndarray, polylines: list[np.ndarray]) -> np.ndarray:
    """Euclidean distance from points (px, py) (broadcastable grids) to a set of polylines."""
    best = np.full(np.broadcast(px, py).shape, np.inf)
    for line in polylines:
        for (ax, ay), (bx, by) in zip(line[:-1], line[1:]):
            dx, dy = bx - ax, by - ay
            along = np.clip(((px - ax) * dx + (py - ay) * dy) / max(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
            best = np.minimum(best, np.hypot(px - ax - along * dx, py - ay - along * dy))
    return best


def _thickness_noise(values: np.ndarray, parents: np.ndarray) -> np.ndarray:
    return np.asarray(values) - 0.5


def _offset(parents: np.ndarray) -> np.ndarray:
    return np.full(parents.shape[0], 0.5)


def intensity_from(thickness: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Morpho-MNIST's intensity ``64 + 191 sigmoid(2 (t - 2.5) + noise)`` (N,) in 0..255 units."""
    logits = 2.0 * (np.asarray(thickness, dtype=np.float64) - 2.5) + noise
    return INTENSITY_RANGE[0] + (INTENSITY_RANGE[1] - INTENSITY_RANGE[0]) * expit(logits)


def _intensity(parents: np.ndarray, noise: np.ndarray) -> np.ndarray:
    return intensity_from(parents[:, 0], noise)


def _intensity_noise(values: np.ndarray, parents: np.ndarray) -> np.ndarray:
    low, high = INTENSITY_RANGE
    p = np.clip((np.asarray(values, dtype=np.float64) - low) / (high - low), 1e-12, 1.0 - 1e-12)
    return logit(p) - 2.0 * (parents[:, 0] - 2.5)


class Glyphs(World):
    """Morpho-MNIST-like digits (see the module docstring for factors, SCM and rendering).

    Parameters
    ----------
    size:
        Image side in pixels (>= 16; 28 as MNIST, the default, or 32). Images are grey (1, size, size).
    noise_std:
        Standard deviation of the exogenous term of the intensity mechanism (>= 0; default 0.5,
        Morpho-MNIST's ``0.5 eps``). 0 makes intensity a deterministic function of thickness.
    graph, mechanisms:
        A custom causal structure over the factors (see :meth:`World._init_structure`).
    """

    name = "glyphs"
    # Measured on 2,000 samples per factor (float32 renders, sizes 28 and 32): no change leaves the
    # image unchanged — random changes, another digit, or 0.01 % of a range. Quantised to uint8 (as
    # worlds.store keeps them) changes of 0.1 % of a range still show (intensity: 0.05 % vanish); at
    # 0.01 % 45 % of intensity, 11 % of slant and 6 % of thickness changes vanish. Tested in
    # tests/worlds/test_glyphs.py.
    symmetries: dict[str, float] = {}

    _maps_cache: dict[int, np.ndarray] = {}

    def __init__(self, *, size: int = 28, noise_std: float = 0.5,
                 graph: CausalGraph | str | None = None, mechanisms: Mapping[str, Mechanism] | None = None):
        owner = type(self).__name__
        size = check_number(size, "size", owner, low=16, integer=True)
        noise_std = check_number(noise_std, "noise_std", owner, low=0.0)
        graph_option = graph.to_text() if isinstance(graph, CausalGraph) else graph  # text keeps options hashable
        self._options = {"size": size, "noise_std": noise_std, "graph": graph_option, "mechanisms": mechanisms}
        self.factor_specs = (
            FactorSpec("digit", values=np.arange(10.0), labels=tuple(str(d) for d in range(10)),
                       description="digit class"),
            FactorSpec("thickness", low=THICKNESS_RANGE[0], high=THICKNESS_RANGE[1],
                       description="stroke width in pixels of a 28 x 28 image"),
            FactorSpec("intensity", low=INTENSITY_RANGE[0], high=INTENSITY_RANGE[1],
                       description="stroke grey level in 0..255 units (image maximum = intensity / 255)"),
            FactorSpec("slant", low=SLANT_RANGE[0], high=SLANT_RANGE[1],
                       description="horizontal shear (x shift per pixel of height; positive leans right)"),
        )
        self.image_shape = (1, size, size)
        physics = CausalGraph(edges=[("thickness", "intensity")], nodes=self.factor_names)
        self._init_structure(graph, mechanisms, default_graph=physics, default_mechanisms={
            "thickness": AdditiveNoise(_offset, Gamma(10.0, 5.0), parent_names=()),
            "intensity": Functional.with_inverse(_intensity, _intensity_noise, Normal(0.0, noise_std),
                                                 parent_names=("thickness",)),
        })

    # ------------------------------------------------------------------ rendering
    def _distance_maps(self) -> np.ndarray:
        """Distances (10, S*k, S*k) float32, in output pixels, from each supersampled pixel centre
        to the digit's skeleton (computed once per size and shared by all instances)."""
        size = self.image_shape[1]
        if size not in Glyphs._maps_cache:
            scale = size / REFERENCE_SIZE
            centres = (np.arange(size * SUPERSAMPLE, dtype=np.float64) + 0.5) / SUPERSAMPLE
            px, py = centres[None, :], centres[:, None]
            maps = []
            for polylines in digit_skeletons():
                placed = [np.stack([size / 2 + (line[:, 0] - 0.5) * BOX_WIDTH * scale,
                                    size / 2 + (line[:, 1] - 0.5) * BOX_HEIGHT * scale], axis=1)
                          for line in polylines]
                maps.append(_distance_to_polylines(px, py, placed))
            Glyphs._maps_cache[size] = np.stack(maps).astype(np.float32)
        return Glyphs._maps_cache[size]

    def _render(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        """Factors (N, 4) -> grey images (N, 1, size, size) float32 in [0, 1]; rendered per digit."""
        maps = self._distance_maps()
        images = np.zeros((factors.shape[0], *self.image_shape), np.float32)
        digits = np.rint(factors[:, 0]).astype(np.int64)
        for digit in np.unique(digits):
            index = np.flatnonzero(digits == digit)
            for start in range(0, index.size, 128):
                part = index[start:start + 128]
                images[part, 0] = self._render_digit(maps[digit], factors[part, 1:])
        return images

    def _render_digit(self, distance: np.ndarray, factors: np.ndarray) -> np.ndarray:
        """One digit's distance map (S*k, S*k) and factors (n, 3) = (thickness, intensity, slant)
        -> images (n, S, S)."""
        size = self.image_shape[1]
        k = SUPERSAMPLE
        scale = size / REFERENCE_SIZE
        thickness, intensity, slant = (factors[:, j].reshape(-1, 1, 1) for j in range(3))
        n_sub = size * k
        rows = (np.arange(n_sub) + 0.5) / k
        # Shear about the image centre (the top moves right for positive slant): row r of the
        # output reads the distance map at columns c - shift[r], shift in subpixels. Each row is a
        # contiguous window of the padded map (block copies, not per-pixel gathers) blended
        # linearly with its neighbour window.
        shift = slant[:, :, 0] * (size / 2 - rows[None, :]) * k  # (n, R)
        offset = np.floor(-shift)
        weight = (-shift - offset).astype(np.float32)[:, :, None]
        pad = int(np.ceil(SLANT_RANGE[1] * size / 2 * k)) + 2
        padded = np.pad(distance, ((0, 0), (pad, pad + 1)), constant_values=FAR)
        windows = np.lib.stride_tricks.sliding_window_view(padded, n_sub, axis=1)  # (R, 2 pad + 2, C)
        start = np.clip(offset.astype(np.int64) + pad, 0, windows.shape[1] - 2)
        row_index = np.arange(n_sub)[None, :]
        sheared = (1 - weight) * windows[row_index, start] + weight * windows[row_index, start + 1]
        radius = (thickness * scale / 2).astype(np.float32)
        coverage = np.clip((radius - sheared) * np.float32(k) + np.float32(0.5), 0.0, 1.0)
        pixels = coverage.reshape(-1, size, k, size, k).mean(axis=(2, 4), dtype=np.float32)
        peak = pixels.reshape(pixels.shape[0], -1).max(axis=1).reshape(-1, 1, 1)
        level = (intensity / 255.0).astype(np.float32)
        return np.clip(pixels / np.maximum(peak, np.float32(1e-6)) * level, 0.0, 1.0).astype(np.float32)
