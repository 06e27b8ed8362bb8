"""The water-flow world of CausalVAE (Yang et al. 2021, "CausalVAE: Disentangled representation
learning via neural structural causal models", CVPR): a ball in a beaker raises the water, and
water jets out of a hole in the beaker's wall.

Factors (canvas units):

- ``ball_size`` R — the ball's radius, ``r / 30``;
- ``water_height`` h — ``R^3 + h_raw / 10``: the ball's displacement plus the water's own
  exogenous amount (``h_raw / 10`` is this node's noise, so the mechanism is invertible);
- ``hole_position`` — the hole's height in the right wall, ``hole / 3``;
- ``flow`` — the jet's horizontal reach from the wall to the ground line ``y = 0.5``,
  ``sqrt(2 g' h (hole_height - 0.5))`` with ``g' = 0.98`` (the original's Torricelli-like law),
  plus additive Gaussian noise of standard deviation ``noise_std`` (default 0: the original's
  labels, which carried no noise in their reach).

Graph: ``ball_size -> water_height -> flow <- hole_position``.

``grid=True`` (default) uses the original's grid: r in 5..34, h_raw in 10..39, hole in 6..14
(30 x 30 x 9 = 8,100 images); ``ball_size`` and ``hole_position`` are then discrete factors and
the water's exogenous part is uniform on the 30 values ``h_raw / 10``. ``grid=False`` makes all
three uniform on the same intervals. ``water_height`` and ``flow`` are continuous factors in both
modes. :meth:`Flow.reference_factors` lists the original 8,100 images' factors in its order.

Rendering (canvas x, y in [0, 20], white background): a beaker with black walls at x = 3 and
x = 8 (a 0.4 gap in the right wall at the hole), light-blue water up to ``y = 5 + h`` as in the
original, a firebrick ball resting on the ground line, the light-blue jet
``x = 8 + flow * sqrt((hole - y) / (hole - 0.5))`` (the projectile curve through the measured
reach) and a black ground line; anti-aliased distance fields, deterministic. The original is
96 x 96; the default here is 64 x 64.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from latentscm._validation import check_number
from latentscm.graph import CausalGraph
from latentscm.scm import AdditiveNoise, Mechanism, NoiseDistribution, Normal, Uniform
from latentscm.worlds._canvas import Canvas, paint
from latentscm.worlds.base import FactorSpec, World

__all__ = ["Flow", "flow_reach", "BALL_INDEX", "WATER_INDEX", "HOLE_INDEX"]

BALL_INDEX = np.arange(5, 35)    # r
WATER_INDEX = np.arange(10, 40)  # h_raw
HOLE_INDEX = np.arange(6, 15)    # hole
GRAVITY = 0.98
GROUND = 0.5
HOLE_GAP = 0.4
BEAKER = (3.0, 8.0)
BEAKER_TOP = 19.0
WATER_BASE = 5.0  # the original draws the water surface at 5 + h
LINE_WIDTH = 0.45  # ~2 pt at the original's 96 dpi, in canvas units
CANVAS = (0.0, 20.0)

WHITE = (1.0, 1.0, 1.0)
BLACK = (0.0, 0.0, 0.0)
SKY_BLUE = (135 / 255, 206 / 255, 250 / 255)
FIREBRICK = (178 / 255, 34 / 255, 34 / 255)

MAX_NOISE_STD = 0.5
# The noise-free reach lies in [1.72, 6.62]; the margins absorb noise up to MAX_NOISE_STD
# (values beyond are clipped) and keep every jet drawable (positive, inside the canvas).
FLOW_RANGE = (0.2, 8.0)
WATER_RANGE = (1.0, 5.4)  # (1/6)^3 + 1.0 = 1.0046 .. (34/30)^3 + 3.9 = 5.3557


def flow_reach(water_height: np.ndarray, hole_position: np.ndarray) -> np.ndarray:
    """Noise-free horizontal reach (N,) of the jet from the wall to the ground line."""
    water_height = np.asarray(water_height, dtype=np.float64)
    return np.sqrt(2.0 * GRAVITY * water_height * np.maximum(np.asarray(hole_position) - GROUND, 0.0))


# Module-level mechanism functions (parents (N, P) in the declared order), so worlds pickle.
def _displacement(parents: np.ndarray) -> np.ndarray:
    return parents[:, 0] ** 3


def _reach(parents: np.ndarray) -> np.ndarray:
    return flow_reach(parents[:, 0], parents[:, 1])


class GridUniform(NoiseDistribution):
    """Noise uniform over a finite set of ``values`` (the original's water grid ``h_raw / 10``)."""

    def __init__(self, values: np.ndarray):
        self.values = np.asarray(values, dtype=np.float64)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.values[rng.integers(0, self.values.size, size=n)]

    def __repr__(self) -> str:
        return f"GridUniform({self.values.size} values in [{self.values[0]:g}, {self.values[-1]:g}])"


class Flow(World):
    """The CausalVAE water-flow world (see the module docstring for factors, physics and rendering).

    Parameters
    ----------
    size:
        Image side in pixels (>= 16; default 64, the original is 96). Images are RGB (3, size, size).
    noise_std:
        Standard deviation of the additive Gaussian noise on ``flow`` (0 to 0.5 canvas units;
        default 0).
    grid:
        ``True`` (default): ball size, water amount and hole take the original's discrete values;
        ``False``: uniform on the same intervals.
    graph, mechanisms:
        A custom causal structure over the factors (see :meth:`World._init_structure`); the
        physics stays the default for every node whose parents are unchanged.
    """

    name = "flow"
    # Measured on 2,000 samples per factor (float32 renders, sizes 32 and 64): no change leaves the
    # image unchanged — random changes, one grid step, or 0.01 % of a range. Quantised to uint8 (as
    # worlds.store keeps them) changes of 0.1 % of a range still show; at 0.01 % 52 % of
    # water_height and 2.4 % of flow changes vanish. Tested in tests/worlds/test_flow.py.
    symmetries: dict[str, float] = {}

    def __init__(self, *, size: int = 64, noise_std: float = 0.0, grid: bool = True,
                 graph: CausalGraph | str | None = None, mechanisms: Mapping[str, Mechanism] | None = None):
        owner = type(self).__name__
        size = check_number(size, "size", owner, low=16, integer=True)
        noise_std = check_number(noise_std, "noise_std", owner, low=0.0, high=MAX_NOISE_STD)
        if not isinstance(grid, (bool, np.bool_)):
            raise TypeError(f"The 'grid' parameter of {owner} must be a bool. Got {grid!r} instead.")
        graph_option = graph.to_text() if isinstance(graph, CausalGraph) else graph  # text keeps options hashable
        self._options = {"size": size, "noise_std": noise_std, "grid": bool(grid), "graph": graph_option,
                         "mechanisms": mechanisms}
        ball_values, hole_values = BALL_INDEX / 30.0, HOLE_INDEX / 3.0
        if grid:
            ball = FactorSpec("ball_size", values=ball_values, description="ball radius r/30, r in 5..34")
            hole = FactorSpec("hole_position", values=hole_values, description="hole height hole/3, hole in 6..14")
            water_noise: NoiseDistribution = GridUniform(WATER_INDEX / 10.0)
        else:
            ball = FactorSpec("ball_size", low=ball_values[0], high=ball_values[-1], description="ball radius")
            hole = FactorSpec("hole_position", low=hole_values[0], high=hole_values[-1], description="hole height")
            water_noise = Uniform(WATER_INDEX[0] / 10.0, WATER_INDEX[-1] / 10.0)
        self.factor_specs = (
            ball,
            FactorSpec("water_height", low=WATER_RANGE[0], high=WATER_RANGE[1],
                       description="water height R^3 + h_raw/10 (surface drawn at 5 + h)"),
            hole,
            FactorSpec("flow", low=FLOW_RANGE[0], high=FLOW_RANGE[1],
                       description="horizontal reach of the jet from the wall (canvas units)"),
        )
        self.image_shape = (3, size, size)
        self._canvas = Canvas(size, CANVAS, CANVAS)
        physics = CausalGraph.from_text("ball_size -> water_height -> flow\nhole_position -> flow")
        self._init_structure(graph, mechanisms, default_graph=physics, default_mechanisms={
            "water_height": AdditiveNoise(_displacement, water_noise, parent_names=("ball_size",)),
            "flow": AdditiveNoise(_reach, Normal(0.0, noise_std), parent_names=("water_height", "hole_position")),
        })

    @staticmethod
    def reference_factors() -> np.ndarray:
        """Factors (8100, 4) of the original dataset's images in its order (r outer, then h_raw,
        hole innermost), with the noise-free reach."""
        r, h_raw, hole = np.meshgrid(BALL_INDEX, WATER_INDEX, HOLE_INDEX, indexing="ij")
        ball = r.ravel() / 30.0
        water = ball ** 3 + h_raw.ravel() / 10.0
        hole_height = hole.ravel() / 3.0
        return np.stack([ball, water, hole_height, flow_reach(water, hole_height)], axis=1)

    def _render(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        """Factors (N, 4) -> RGB images (N, 3, size, size) float32 in [0, 1]; deterministic."""
        chunks = [self._render_chunk(factors[start:start + 256]) for start in range(0, factors.shape[0], 256)]
        return np.concatenate(chunks) if chunks else np.zeros((0, *self.image_shape), np.float32)

    def _jet(self, hole: np.ndarray, reach: np.ndarray) -> np.ndarray:
        """Coverage (N, H, W) of the jet ``y = hole - (hole - 0.5) ((x - 8) / reach)^2`` for x in
        [8, 8 + reach]; distance to the curve by the first-order estimate |f| / |grad f|, and to
        its end points outside that span."""
        canvas = self._canvas
        hole32 = hole.astype(np.float32).reshape(-1, 1, 1)
        reach32 = reach.astype(np.float32).reshape(-1, 1, 1)
        drop = hole32 - np.float32(GROUND)
        u = (canvas.x - np.float32(BEAKER[1])) / reach32  # 0 at the wall, 1 at the ground
        curve_y = hole32 - drop * u * u
        slope = np.float32(2.0) * drop * u / reach32
        distance = np.abs(canvas.y - curve_y) / np.sqrt(np.float32(1.0) + slope * slope)
        dx0, dy0 = canvas.x - np.float32(BEAKER[1]), canvas.y - hole32
        dx1, dy1 = canvas.x - (np.float32(BEAKER[1]) + reach32), canvas.y - np.float32(GROUND)
        ends = np.minimum(np.sqrt(dx0 * dx0 + dy0 * dy0), np.sqrt(dx1 * dx1 + dy1 * dy1))
        distance = np.where((u >= 0) & (u <= 1), np.minimum(distance, ends), ends)
        return canvas.coverage(distance - np.float32(LINE_WIDTH / 2))

    def _render_chunk(self, factors: np.ndarray) -> np.ndarray:
        ball, water, hole, reach = factors.T
        canvas = self._canvas
        n = factors.shape[0]
        left, right = BEAKER
        images = canvas.blank(n, WHITE)
        paint(images, canvas.box(left, right, np.zeros(n), WATER_BASE + water), SKY_BLUE)
        paint(images, canvas.disc((left + right) / 2, GROUND + LINE_WIDTH / 2 + ball, ball), FIREBRICK)
        paint(images, canvas.segment(left, 0.0, left, BEAKER_TOP, LINE_WIDTH), BLACK)
        paint(images, canvas.segment(right, 0.0, right, hole, LINE_WIDTH), BLACK)
        paint(images, canvas.segment(right, hole + HOLE_GAP, right, BEAKER_TOP, LINE_WIDTH), BLACK)
        paint(images, self._jet(hole, reach), SKY_BLUE)
        paint(images, canvas.segment(CANVAS[0], GROUND, CANVAS[1], GROUND, LINE_WIDTH), BLACK)
        return np.clip(images, 0.0, 1.0)
