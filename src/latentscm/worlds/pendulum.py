"""The pendulum world of CausalVAE (Yang et al. 2021, "CausalVAE: Disentangled representation
learning via neural structural causal models", CVPR): a pendulum and a light source cast a
shadow on the ground.

Factors (all angles in radians, lengths in canvas units):

- ``pendulum_angle`` θ — the rod's angle from the vertical (positive: bob to the right);
- ``light_position`` φ — the direction of the light rays (φ = π/2: straight down); the light
  source sits on the ray through the pivot at height 20.5, i.e. at ``x = 10 + 10 cot φ``;
- ``shadow_length`` and ``shadow_position`` — the length and midpoint of the shadow on the
  ground line ``y = -0.5``.

Physics (the world's default SCM, graph ``{θ, φ} -> {shadow_length, shadow_position}``): project
the pivot (10, 10.5) and the bob's far edge (distance 9.5 from the pivot) onto the ground along
the light direction, ``x_ground = x - (y + 0.5) cot φ``; the shadow position is the midpoint of
the two projections and its length their distance, at least 3. With ``noise_std > 0`` each shadow
mechanism adds independent Gaussian noise (additive, hence invertible), so a counterfactual keeps
the unit's noise while a plain intervention draws fresh noise; with the default ``noise_std = 0``
the world is the original's deterministic one.

``grid=True`` (default) uses the original grid of causes: θ = iπ/200 for i in -40..43 and
φ = jπ/200 for j in 60..147 except j = 100 (84 x 87 = 7,308 images; the original skipped
φ = π/2, where its tan-based projection divides by zero — this module uses cot and has no such
singularity, so ``grid=False`` samples φ uniformly over the whole interval). The shadow factors
are continuous in both modes. :meth:`Pendulum.reference_factors` lists the original 7,308
images' factors in the original order.

Rendering: the canvas x in [0, 20], y in [-1, 21] fills the image (the matplotlib original left
white margins around its axes), white background, an orange light disc (radius 3), a black rod
to a firebrick bob (radius 1.5) and a black shadow bar, drawn with anti-aliased distance fields.
The original is 96 x 96 (``size=96``); the default here is 64 x 64 like the other worlds, so the
same networks fit every world.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from latentscm._validation import check_number
from latentscm.graph import CausalGraph
from latentscm.scm import AdditiveNoise, Mechanism, Normal
from latentscm.worlds._canvas import Canvas, paint
from latentscm.worlds.base import FactorSpec, World

__all__ = ["Pendulum", "shadow_geometry", "light_x", "ANGLE_INDEX", "LIGHT_INDEX"]

PIVOT = (10.0, 10.5)
ROD_LENGTH = 8.0
BOB_RADIUS = 1.5
SHADOW_REACH = 9.5  # pivot to the bob's far edge: ROD_LENGTH + BOB_RADIUS
GROUND = -0.5
LIGHT_HEIGHT = 20.5
LIGHT_RADIUS = 3.0
MIN_SHADOW = 3.0
X_RANGE = (0.0, 20.0)
Y_RANGE = (-1.0, 21.0)
LINE_WIDTH = 0.7  # ~3 pt at the original's 96 dpi, in canvas units

ANGLE_INDEX = np.arange(-40, 44)
LIGHT_INDEX = np.array([j for j in range(60, 148) if j != 100])

WHITE = (1.0, 1.0, 1.0)
BLACK = (0.0, 0.0, 0.0)
ORANGE = (1.0, 165 / 255, 0.0)
FIREBRICK = (178 / 255, 34 / 255, 34 / 255)

MAX_NOISE_STD = 0.5
# Ranges of the effects: the noise-free physics gives length in [3, 12.58] and position in
# [2.01, 19.61]; the margins absorb noise up to MAX_NOISE_STD (values beyond are clipped) and keep
# every shadow at least partly on the canvas, so any value in range is visible.
SHADOW_LENGTH_RANGE = (1.5, 14.5)
SHADOW_POSITION_RANGE = (0.0, 20.5)


def _ground_x(x: np.ndarray, y: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Where the light ray with direction angle ``phi`` through ``(x, y)`` meets the ground."""
    return x - (y - GROUND) * np.cos(phi) / np.sin(phi)


def shadow_geometry(theta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free shadow ``(length, position)`` (each (N,)) for pendulum angles ``theta`` (N,)
    and light angles ``phi`` (N,), by projecting the pivot and the bob's far edge to the ground."""
    theta, phi = np.asarray(theta, dtype=np.float64), np.asarray(phi, dtype=np.float64)
    pivot = _ground_x(np.full_like(theta, PIVOT[0]), np.full_like(theta, PIVOT[1]), phi)
    tip = _ground_x(PIVOT[0] + SHADOW_REACH * np.sin(theta), PIVOT[1] - SHADOW_REACH * np.cos(theta), phi)
    return np.maximum(MIN_SHADOW, np.abs(tip - pivot)), (pivot + tip) / 2.0


def light_x(phi: np.ndarray) -> np.ndarray:
    """x of the light source (at height 20.5, on the ray through the pivot) for light angles (N,)."""
    phi = np.asarray(phi, dtype=np.float64)
    return PIVOT[0] + (LIGHT_HEIGHT - PIVOT[1]) * np.cos(phi) / np.sin(phi)


# Module-level mechanism functions (parents (N, 2) in (pendulum_angle, light_position) order), so
# worlds pickle.
def _shadow_length(parents: np.ndarray) -> np.ndarray:
    return shadow_geometry(parents[:, 0], parents[:, 1])[0]


def _shadow_position(parents: np.ndarray) -> np.ndarray:
    return shadow_geometry(parents[:, 0], parents[:, 1])[1]


class Pendulum(World):
    """The CausalVAE pendulum (see the module docstring for factors, physics and rendering).

    Parameters
    ----------
    size:
        Image side in pixels (>= 16; default 64, the original is 96). Images are RGB (3, size, size).
    noise_std:
        Standard deviation of the additive Gaussian noise on ``shadow_length`` and
        ``shadow_position`` (0 to 0.5 canvas units; default 0, the deterministic original).
    grid:
        ``True`` (default): the causes take the original's discrete values (84 angles, 87 light
        angles); ``False``: they are uniform on the same intervals.
    graph, mechanisms:
        A custom causal structure over the factors (see :meth:`World._init_structure`); the
        physics stays the default for every node whose parents are unchanged.
    """

    name = "pendulum"
    # Measured on 2,000 samples per factor (float32 renders, sizes 16, 28, 64, 96): no change leaves
    # the image unchanged — random changes, one grid step, or 0.01 % of a range. Quantised to uint8
    # (as worlds.store keeps them) changes of 0.1 % of a range still show; at 0.01 % 2.7 % of
    # shadow_length changes vanish, the other factors 0 %. Tested in tests/worlds/test_pendulum.py.
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
        if grid:
            angle = FactorSpec("pendulum_angle", values=ANGLE_INDEX * np.pi / 200,
                               description="rod angle from the vertical (rad), i*pi/200 for i in -40..43")
            light = FactorSpec("light_position", values=LIGHT_INDEX * np.pi / 200,
                               description="light ray angle (rad), j*pi/200 for j in 60..147 except 100")
        else:
            angle = FactorSpec("pendulum_angle", low=ANGLE_INDEX[0] * np.pi / 200, high=ANGLE_INDEX[-1] * np.pi / 200,
                               description="rod angle from the vertical (rad)")
            light = FactorSpec("light_position", low=LIGHT_INDEX[0] * np.pi / 200, high=LIGHT_INDEX[-1] * np.pi / 200,
                               description="light ray angle (rad)")
        self.factor_specs = (
            angle,
            light,
            FactorSpec("shadow_length", low=SHADOW_LENGTH_RANGE[0], high=SHADOW_LENGTH_RANGE[1],
                       description="shadow length on the ground (canvas units)"),
            FactorSpec("shadow_position", low=SHADOW_POSITION_RANGE[0], high=SHADOW_POSITION_RANGE[1],
                       description="x of the shadow's midpoint (canvas units)"),
        )
        self.image_shape = (3, size, size)
        self._canvas = Canvas(size, X_RANGE, Y_RANGE)
        causes = ("pendulum_angle", "light_position")
        physics = CausalGraph.from_text("pendulum_angle, light_position -> shadow_length, shadow_position")
        self._init_structure(graph, mechanisms, default_graph=physics, default_mechanisms={
            "shadow_length": AdditiveNoise(_shadow_length, Normal(0.0, noise_std), parent_names=causes),
            "shadow_position": AdditiveNoise(_shadow_position, Normal(0.0, noise_std), parent_names=causes),
        })

    @staticmethod
    def reference_factors() -> np.ndarray:
        """Factors (7308, 4) of the original dataset's images, in its order (angle index outer,
        light index inner), with the noise-free shadows."""
        theta = np.repeat(ANGLE_INDEX * np.pi / 200, LIGHT_INDEX.size)
        phi = np.tile(LIGHT_INDEX * np.pi / 200, ANGLE_INDEX.size)
        length, position = shadow_geometry(theta, phi)
        return np.stack([theta, phi, length, position], axis=1)

    def _render(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        """Factors (N, 4) -> RGB images (N, 3, size, size) float32 in [0, 1]; deterministic."""
        chunks = [self._render_chunk(factors[start:start + 256]) for start in range(0, factors.shape[0], 256)]
        return np.concatenate(chunks) if chunks else np.zeros((0, *self.image_shape), np.float32)

    def _render_chunk(self, factors: np.ndarray) -> np.ndarray:
        theta, phi, length, position = factors.T
        canvas = self._canvas
        images = canvas.blank(factors.shape[0], WHITE)
        bob_x = PIVOT[0] + ROD_LENGTH * np.sin(theta)
        bob_y = PIVOT[1] - ROD_LENGTH * np.cos(theta)
        paint(images, canvas.disc(light_x(phi), LIGHT_HEIGHT, LIGHT_RADIUS), ORANGE)
        paint(images, canvas.segment(PIVOT[0], PIVOT[1], bob_x, bob_y, LINE_WIDTH), BLACK)
        paint(images, canvas.disc(bob_x, bob_y, BOB_RADIUS), FIREBRICK)
        half = LINE_WIDTH / 2
        paint(images, canvas.box(position - length / 2, position + length / 2, GROUND - half, GROUND + half), BLACK)
        return np.clip(images, 0.0, 1.0)
