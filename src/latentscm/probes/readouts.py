"""Read factors off images: exact ("oracle") read-outs where a world has one, and one interface
for every way a probe measures the factors of a generated image.

A probe that decodes a latent set to an extreme value must *measure* what the image shows. A
learned predictor (:class:`~latentscm.metrics.factor_regressor.FactorRegressor`) has its own
error and may answer anything off the training distribution; where the renderer is simple enough
the factor can be computed from the pixels instead. For ``sprites`` (binary variant) position is
the intensity centroid and scale a linear function of the square root of the intensity mass and
the radius of gyration:

- ``posX = (c_x - M / 2) / (size - M)`` with ``c_x`` the intensity-weighted mean column (pixel
  centres at ``i + 0.5``) and ``M`` the canvas side (see :mod:`latentscm.worlds.sprites`): the
  renderer pastes the canvas at ``round(posX * (size - M))``, so this inverts it up to pixel
  rounding and the offset of a heart's centroid from its canvas centre; likewise ``posY``.
- ``scale = a + b * sqrt(mass) + c * r_g``: area grows with ``scale ** 2`` and the radius of
  gyration ``r_g`` with ``scale``; the two together partly cancel the shapes' different areas per
  scale (a square covers 1.25 times an ellipse's area but has nearly its ``r_g``). ``a, b, c`` are
  fitted by least squares on the world's own renders, shapes pooled; what remains is part of the
  reported error (held-out ``mae_`` of scale: 0.12 of its range at size 16, 0.07 at 32, 0.05 at
  64; position 0.03 at 16, 0.014 at 32).

For ``balls`` (up to three balls) each ball's centre is its coverage centroid after unmixing the pixels over the
known palette (:mod:`latentscm.probes.balls_readout`).

Every read-out reports its held-out error against the world's true factors (``mae_``, per factor,
as a fraction of the factor's range), exactly as ``FactorRegressor`` does, so an effect can be
compared with the error of the instrument that measured it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from latentscm._validation import check_image_batch, check_number
from latentscm.probes.balls_readout import BallsReadout, reads_balls

__all__ = ["SpritesReadout", "CallableReadout", "oracle_readout", "as_readout", "has_oracle_readout",
           "reconstruction_readout_error"]


def _moments(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Intensity mass (N,), centroid column and row (N,) in pixel units (centres at i + 0.5) and
    radius of gyration (N,) of images (N, C, H, W); NaN where the mass is zero."""
    weights = images.sum(axis=1, dtype=np.float64)  # (N, H, W)
    mass = weights.sum(axis=(1, 2))
    h, w = weights.shape[1:]
    columns, rows = np.arange(w) + 0.5, np.arange(h) + 0.5
    by_column, by_row = weights.sum(axis=1), weights.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = by_column @ columns / mass
        cy = by_row @ rows / mass
        spread = by_column @ columns ** 2 / mass - cx ** 2 + by_row @ rows ** 2 / mass - cy ** 2
    return mass, cx, cy, np.sqrt(np.clip(spread, 0.0, None))


def _scale_features(mass: np.ndarray, gyration: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones_like(mass), np.sqrt(mass), gyration])


class SpritesReadout:
    """Exact read-out of ``posX``, ``posY`` (intensity centroid) and ``scale`` (mass and radius
    of gyration) from ``sprites`` images of the binary variant.

    Parameters
    ----------
    n_calibration:
        Renders drawn (every factor independent and uniform) to fit the mass -> scale map.
    n_test:
        Further renders on which the held-out error ``mae_`` is measured.
    seed:
        Seeds both draws.
    threshold:
        None (default) reads the intensity moments of the image as given (a decoder's Bernoulli
        means included); a value in (0, 1) first sets every pixel above it to 1 and the rest to
        0, so a decoded image is read as its most likely binary image, the kind of image the
        renderer draws and the read-out was calibrated on. Renders are binary, so ``mae_`` is the
        same either way.

    Attributes (after :meth:`fit`)
    ------------------------------
    factor_names_ : list[str]
        ``["scale", "posX", "posY"]``: the factors this read-out measures.
    mae_ : dict[str, float]
        Held-out mean absolute error per factor as a fraction of the factor's range.
    ranges_ : np.ndarray
        (3,) the factors' ranges (high - low), world units.
    """

    factor_names = ("scale", "posX", "posY")

    def __init__(self, *, n_calibration: int = 2000, n_test: int = 1000, seed: int = 0,
                 threshold: float | None = None):
        self.n_calibration = int(check_number(n_calibration, "n_calibration", "SpritesReadout", low=16,
                                              integer=True))
        self.n_test = int(check_number(n_test, "n_test", "SpritesReadout", low=16, integer=True))
        self.seed = int(check_number(seed, "seed", "SpritesReadout", low=0, integer=True))
        self.threshold = None if threshold is None else float(check_number(
            threshold, "threshold", "SpritesReadout", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False))

    def fit(self, world: Any) -> SpritesReadout:
        """Calibrate the mass -> scale map on ``world`` renders and measure ``mae_``; returns self."""
        if not _reads_sprites(world):
            raise ValueError(f"SpritesReadout reads only binary 'sprites' worlds. Got world "
                             f"{getattr(world, 'name', type(world).__name__)!r} with variant "
                             f"{getattr(world, 'variant', None)!r}.")
        from latentscm.worlds.regimes import RandomDo, Regime

        regime = Regime("independent", {name: RandomDo("range") for name in world.factor_names})
        calibration = world.sample(self.n_calibration, seed=self.seed, regime=regime)
        test = world.sample(self.n_test, seed=self.seed + 1, regime=regime)
        self.size_ = int(world.size)
        self.canvas_ = int(world.canvas)
        self.image_shape_ = tuple(world.image_shape)
        self.factor_names_ = list(self.factor_names)
        columns = [world.factor_names.index(name) for name in self.factor_names_]
        self.ranges_ = np.array([world.spec(name).high - world.spec(name).low for name in self.factor_names_])
        mass, _, _, gyration = _moments(calibration.images)
        design = _scale_features(mass, gyration)
        self.scale_coef_ = np.linalg.lstsq(design, calibration.factors[:, columns[0]], rcond=None)[0]
        residual = np.abs(self.predict(test.images) - test.factors[:, columns])
        self.mae_ = {name: float(residual[:, j].mean() / self.ranges_[j]) for j, name in enumerate(self.factor_names_)}
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Factors (N, 3) in ``factor_names_`` order, world units, of images (N, C, H, W).

        Images with no intensity at all, or with a NaN or infinite pixel, give NaN (there is nothing
        to read), with or without ``threshold``.
        """
        if not hasattr(self, "scale_coef_"):
            raise RuntimeError("SpritesReadout is not fitted; call fit(world) first.")
        images = check_image_batch(images, self.image_shape_, "SpritesReadout", dtype=np.float32)
        # a non-finite pixel leaves nothing to read; thresholded it would silently count as background (NaN) or ink
        unreadable = ~np.isfinite(images).all(axis=(1, 2, 3))
        images = np.clip(images, 0.0, None) if self.threshold is None else (images > self.threshold).astype(np.float32)
        mass, cx, cy, gyration = _moments(images)
        travel = self.size_ - self.canvas_
        scale = _scale_features(mass, gyration) @ self.scale_coef_
        out = np.column_stack([scale, (cx - self.canvas_ / 2) / travel, (cy - self.canvas_ / 2) / travel])
        out[(mass <= 0) | unreadable] = np.nan
        return out


class CallableReadout:
    """Wrap a user function ``images (N, C, H, W) -> factors (N, K)`` in the read-out interface;
    its error is unknown (``mae_`` holds NaN)."""

    def __init__(self, function: Callable[[np.ndarray], np.ndarray], factor_names: list[str]):
        self.function = function
        self.factor_names_ = list(factor_names)
        self.mae_ = {name: float("nan") for name in self.factor_names_}

    def predict(self, images: np.ndarray) -> np.ndarray:
        values = np.asarray(self.function(images), dtype=np.float64)
        if values.ndim != 2 or values.shape != (len(images), len(self.factor_names_)):
            raise ValueError(f"The 'measure' callable must return factors of shape ({len(images)}, "
                             f"{len(self.factor_names_)}) in the world's factor order. Got {values.shape}.")
        return values


def has_oracle_readout(world: Any) -> bool:
    """Whether :func:`oracle_readout` knows an exact read-out for ``world``."""
    return _reads_sprites(world) or reads_balls(world)


def _reads_sprites(world: Any) -> bool:
    return getattr(world, "name", None) == "sprites" and getattr(world, "variant", None) == "binary"


def oracle_readout(world: Any, *, seed: int = 0) -> SpritesReadout | BallsReadout:
    """The fitted exact read-out of ``world`` (binary ``sprites``: :class:`SpritesReadout`; ``balls`` of at most
    three balls: :class:`~latentscm.probes.balls_readout.BallsReadout`); ``ValueError`` (naming the world) if it has
    none."""
    if reads_balls(world):
        return BallsReadout(seed=seed).fit(world)
    if not _reads_sprites(world):
        name = getattr(world, "name", type(world).__name__)
        variant = getattr(world, "variant", None)
        raise ValueError(f"measure='oracle' needs a world with an exact read-out (binary 'sprites', or 'balls' of at "
                         f"most 3 balls); world {name!r}{'' if variant is None else f' (variant {variant!r})'} has "
                         f"none. Use measure='regressor' or pass a callable.")
    return SpritesReadout(seed=seed).fit(world)


def as_readout(measure: Any, world: Any, *, seed: int, owner: str) -> Any:
    """Resolve a probe's ``measure`` argument to an object with ``predict``, ``factor_names_``
    and ``mae_``: ``"oracle"``, ``"regressor"`` (a FactorRegressor fitted on ``world``), a fitted
    read-out / FactorRegressor, or a callable over the world's factors."""
    if isinstance(measure, str):
        if measure == "oracle":
            return oracle_readout(world, seed=seed)
        if measure == "regressor":
            from latentscm.metrics.factor_regressor import FactorRegressor

            return FactorRegressor(seed=seed).fit(world)
        raise ValueError(f"The 'measure' parameter of {owner} must be 'oracle', 'regressor', a fitted read-out "
                         f"or a callable. Got {measure!r} instead.")
    if hasattr(measure, "predict"):
        if not hasattr(measure, "factor_names_"):
            raise ValueError(f"The 'measure' read-out passed to {owner} is not fitted (no factor_names_); call "
                             f"fit(world) first.")
        unknown = [name for name in measure.factor_names_ if name not in world.factor_names]
        if unknown:
            raise ValueError(f"The 'measure' read-out passed to {owner} reads factors {unknown} that world "
                             f"{getattr(world, 'name', '?')!r} does not have ({world.factor_names}).")
        return measure
    if callable(measure):
        return CallableReadout(measure, list(world.factor_names))
    raise TypeError(f"The 'measure' parameter of {owner} must be 'oracle', 'regressor', a fitted read-out or a "
                    f"callable. Got {type(measure).__name__}.")


def reconstruction_readout_error(learner: Any, world: Any, readout: Any, *, n: int = 500,
                                 seed: int = 0) -> dict[str, float]:
    """How far the read-out of a model's reconstructions lies from its read-out of the inputs.

    Probes that decode edited codes measure the *decoded* image; if the model cannot redraw a
    factor, every effect on it is partly the decoder's loss, not the edit. Returns, per factor
    of ``readout.factor_names_``, the mean ``|read(decode(encode(x))) - read(x)|`` over ``n``
    observational images of ``world`` drawn with ``seed``, as a fraction of the factor's range
    (the unit of ``readout.mae_``). Images the read-out cannot read (NaN) are left out; a factor
    with no readable pair gives NaN. ``readout`` is anything :func:`as_readout` takes (``"oracle"``,
    ``"regressor"``, a fitted read-out or a callable), fitted with ``seed`` where it is a name.
    """
    owner = "reconstruction_readout_error"
    n = int(check_number(n, "n", owner, low=1, integer=True))
    for method in ("encode", "decode"):
        if not callable(getattr(learner, method, None)):
            raise ValueError(f"reconstruction_readout_error needs a learner with {method}(); "
                             f"{type(learner).__name__} has none.")
    readout = as_readout(readout, world, seed=seed, owner=owner)
    images = world.sample(n, seed=seed).images
    read_inputs = np.asarray(readout.predict(images), dtype=np.float64)
    read_recon = np.asarray(readout.predict(learner.decode(learner.encode(images))), dtype=np.float64)
    out = {}
    for j, name in enumerate(readout.factor_names_):
        spec = world.spec(name)
        gap = np.abs(read_recon[:, j] - read_inputs[:, j])
        gap = gap[np.isfinite(gap)]
        out[name] = float(gap.mean() / (spec.high - spec.low)) if gap.size else float("nan")
    return out
