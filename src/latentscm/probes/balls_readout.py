"""The exact read-out of the ``balls`` world: each ball's centre from the pixels, by colour unmixing.

Every ball of :class:`~latentscm.worlds.balls.Balls` has a known colour on a black background, painted with
anti-aliased coverage ``a`` (``pixel = a * colour + (1 - a) * below``). With up to three balls the colours are
linearly independent over the three channels, so a pixel's least-squares unmixing over the palette returns each
ball's visible coverage exactly; the coverage-weighted centroid of a whole, uncovered ball is its centre (a disc is
symmetric; the distance-field coverage is symmetric about the centre too). A ball cut by the image border or partly
covered by a later ball reads biased toward its visible part: that error is part of the reported ``mae_``, measured
on held-out renders of independent uniform factors (as for the sprites read-out).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import check_image_batch, check_number

__all__ = ["BallsReadout", "reads_balls"]

#: The most balls the unmixing separates (three colour channels).
MAX_BALLS = 3


def reads_balls(world: Any) -> bool:
    """Whether ``world`` is a ``balls`` world this read-out can unmix (at most three balls)."""
    return getattr(world, "name", None) == "balls" and int(getattr(world, "balls", MAX_BALLS + 1)) <= MAX_BALLS


class BallsReadout:
    """Exact read-out of every ``ball{i}_x`` and ``ball{i}_y`` from ``balls`` images (see the module docstring).

    Parameters
    ----------
    n_test:
        Renders (every factor independent and uniform) on which the held-out error ``mae_`` is measured.
    seed:
        Seeds that draw.

    Attributes (after :meth:`fit`)
    ------------------------------
    factor_names_ : list[str]
        The world's factors, in its order.
    mae_ : dict[str, float]
        Held-out mean absolute error per factor as a fraction of the factor's range (1); a ball hidden entirely
        (NaN) is left out.
    mae_whole_ : dict[str, float]
        The same on the held-out renders whose balls are all whole and uncovered (no overlap, no border cut): the
        read-out's own error, which the unmixing and the centroid leave.
    """

    def __init__(self, *, n_test: int = 1000, seed: int = 0):
        self.n_test = int(check_number(n_test, "n_test", "BallsReadout", low=16, integer=True))
        self.seed = int(check_number(seed, "seed", "BallsReadout", low=0, integer=True))

    def fit(self, world: Any) -> BallsReadout:
        """Record ``world``'s palette and size and measure ``mae_``; returns self."""
        if not reads_balls(world):
            raise ValueError(f"BallsReadout reads only 'balls' worlds of at most {MAX_BALLS} balls (three colour "
                             f"channels). Got world {getattr(world, 'name', type(world).__name__)!r}"
                             f"{'' if getattr(world, 'name', None) != 'balls' else f' with {world.balls} balls'}.")
        from latentscm.worlds.balls import PALETTE
        from latentscm.worlds.regimes import RandomDo, Regime

        self.factor_names_ = list(world.factor_names)
        self.image_shape_ = tuple(world.image_shape)
        self.palette_ = np.asarray(PALETTE[:world.balls], dtype=np.float64).T  # (3, balls)
        self.ranges_ = np.ones(len(self.factor_names_))
        regime = Regime("independent", {name: RandomDo("range") for name in world.factor_names})
        test = world.sample(self.n_test, seed=self.seed, regime=regime)
        residual = np.abs(self.predict(test.images) - test.factors)
        centres = test.factors.reshape(len(test.factors), -1, 2)
        fringe = world.radius + 0.5 / world.size  # the anti-aliased edge reaches half a pixel beyond the radius
        whole = (~world.overlap(test.factors)) & (np.abs(centres) <= 0.5 - fringe).all(axis=(1, 2))
        self.mae_ = {name: float(np.nanmean(residual[:, j])) for j, name in enumerate(self.factor_names_)}
        self.mae_whole_ = {name: float(np.nanmean(residual[whole, j])) if whole.any() else float("nan")
                           for j, name in enumerate(self.factor_names_)}
        return self

    def coverage(self, images: np.ndarray) -> np.ndarray:
        """Each ball's visible coverage (N, balls, H, W): the least-squares unmixing of every pixel over the
        palette, clipped to [0, 1]."""
        if not hasattr(self, "palette_"):
            raise RuntimeError("BallsReadout is not fitted; call fit(world) first.")
        images = check_image_batch(images, self.image_shape_, "BallsReadout", dtype=np.float64)
        unmix = np.linalg.pinv(self.palette_)  # (balls, 3)
        return np.clip(np.einsum("bc,nchw->nbhw", unmix, images), 0.0, 1.0)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Factors (N, 2 * balls) in ``factor_names_`` order (world units) of images (N, 3, H, W): each ball's
        coverage centroid. A ball with no visible coverage, or an image with a NaN or infinite pixel, gives NaN."""
        weights = self.coverage(images)  # (N, balls, H, W)
        unreadable = ~np.isfinite(np.asarray(images, dtype=np.float64)).all(axis=(1, 2, 3))
        size = self.image_shape_[-1]
        centres = (np.arange(size) + 0.5) / size - 0.5  # pixel centres, world units (x right; rows go down)
        mass = weights.sum(axis=(2, 3))
        with np.errstate(invalid="ignore", divide="ignore"):
            x = weights.sum(axis=2) @ centres / mass
            y = weights.sum(axis=3) @ centres[::-1] / mass
        out = np.stack([x, y], axis=2).reshape(len(weights), -1)
        out[np.repeat(mass <= 0, 2, axis=1)] = np.nan
        out[unreadable] = np.nan
        return out
