"""The balls world: coloured balls whose centre coordinates are the factors, as RGB images.

The image data of the interventional causal-representation literature: Ahuja, Mahajan, Wang & Bengio (ICML 2023),
"Interventional causal representation learning", render balls whose coordinates are the latents, and Buchholz,
Rajendran, Rosenfeld, Aragam, Schölkopf & Ravikumar (NeurIPS 2023) use such images with coordinates from a linear
Gaussian SCM under one perfect intervention per coordinate. Their renderer (pygame, in the authors' code, read, not
copied) snaps each centre to a whole pixel, so the image is a step function of the latents; here every ball is an
anti-aliased disc (:class:`~latentscm.worlds._canvas.Canvas`, distance-field coverage) at its exact sub-pixel centre,
so the image changes continuously with every coordinate.

- Factors ``ball{i}_x`` and ``ball{i}_y`` (``i = 0 .. balls - 1``), continuous on ``[-0.5, 0.5]``: the offset of ball
  ``i``'s centre from the image centre in image widths (x to the right, y up); a centre near an end is a ball cut by
  the image border. By default independent and uniform; any causal structure a user gives (``graph`` and
  ``mechanisms``, as every world allows; values are clipped to the range), e.g. the linear Gaussian SCM of
  :meth:`latentscm.testing.InterventionalLatents.world_structure`.
- Images ``(3, size, size)`` in [0, 1]: a black background and ball ``i`` in colour ``i`` of a fixed palette of
  distinct colours (the first three linearly independent over the channels), painted in index order (a later ball
  covers an earlier one where they overlap, so overlapping balls hide information: the mixing is injective only
  while they do not overlap).
- :meth:`Balls.overlap` says which samples have overlapping balls, so a user can measure how often that happens.
"""

from __future__ import annotations

import numpy as np

from latentscm._validation import check_array, check_number
from latentscm.graph import CausalGraph
from latentscm.worlds._canvas import Canvas, paint
from latentscm.worlds.base import FactorSpec, World

__all__ = ["Balls", "PALETTE"]

#: Ball colours (RGB in [0, 1]), in the order the balls are painted.
PALETTE = (
    (0.95, 0.35, 0.30), (0.25, 0.75, 0.35), (0.30, 0.50, 0.95), (0.95, 0.80, 0.20),
    (0.80, 0.35, 0.85), (0.20, 0.80, 0.85), (0.95, 0.60, 0.25), (0.65, 0.65, 0.65),
)


class Balls(World):
    """Coloured balls on a black square (see the module docstring).

    Parameters
    ----------
    balls : int, default 2
        Number of balls, 1 to 8; there are two factors per ball.
    size : int, default 64
        Image side in pixels (>= 8).
    radius : float, default 0.08
        Ball radius in image widths (as in Ahuja et al.'s and Buchholz et al.'s renderers, ``2 * 0.04``).
    graph, mechanisms
        Optional causal structure over the coordinates (see :meth:`World._init_structure`); none by default.
    """

    name = "balls"

    def __init__(self, *, balls: int = 2, size: int = 64, radius: float = 0.08,
                 graph: CausalGraph | str | None = None, mechanisms=None):
        owner = type(self).__name__
        self.balls = int(check_number(balls, "balls", owner, low=1, high=len(PALETTE), integer=True))
        self.size = int(check_number(size, "size", owner, low=8, integer=True))
        self.radius = check_number(radius, "radius", owner, low=0, high=0.5, low_inclusive=False)
        specs = []
        for i in range(self.balls):
            specs += [FactorSpec(f"ball{i}_x", low=-0.5, high=0.5,
                                 description=f"horizontal offset of ball {i} from the image centre (image widths)"),
                      FactorSpec(f"ball{i}_y", low=-0.5, high=0.5,
                                 description=f"vertical offset of ball {i} from the image centre (image widths, up)")]
        self.factor_specs = tuple(specs)
        self.image_shape = (3, self.size, self.size)
        self._options = {"balls": self.balls, "size": self.size, "radius": self.radius}
        self._init_structure(graph, mechanisms)
        self._canvas = Canvas(self.size, (-0.5, 0.5), (-0.5, 0.5))

    def overlap(self, factors: np.ndarray) -> np.ndarray:
        """(N,) bool: whether any two balls of the samples ``factors`` (N, 2 * balls) overlap (centres closer than two
        radii)."""
        factors = check_array(factors, "factors", f"{type(self).__name__}.overlap", ndim=2)
        if factors.shape[1] != 2 * self.balls:
            raise ValueError(f"Balls.overlap: 'factors' has {factors.shape[1]} columns for {2 * self.balls} factors "
                             f"{self.factor_names}.")
        centres = factors.reshape(-1, self.balls, 2)
        gaps = np.linalg.norm(centres[:, :, None, :] - centres[:, None, :, :], axis=-1)  # (N, balls, balls)
        gaps[:, np.arange(self.balls), np.arange(self.balls)] = np.inf
        return (gaps < 2 * self.radius).any(axis=(1, 2))

    def _render(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        images = self._canvas.blank(factors.shape[0], (0.0, 0.0, 0.0))
        for i in range(self.balls):
            coverage = self._canvas.disc(factors[:, 2 * i], factors[:, 2 * i + 1], self.radius)
            paint(images, coverage, PALETTE[i])
        return images
