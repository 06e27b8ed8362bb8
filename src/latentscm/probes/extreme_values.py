"""Extreme-value effects of latent units, measured against a world's own factors.

Beguš, Leban and Gero (2023), "Approaching an unknown communication system by latent space
exploration and causal inference" (CDEV: causal disentanglement with extreme values) set one
latent variable of a trained generator to values far outside its training range, generate, measure
properties of the outputs, and estimate the effect of the latent on each property with
causal-inference estimators: average effects per level and incremental (finite-difference)
effects, separately inside and beyond the training range. This module reimplements that design
from the paper's description (their notebooks were read, not copied) for any latentscm learner
with a decoder, and adds what the paper's notebooks do not have:

- **paired** contrasts: every base code gets every level, so each effect is a within-code
  difference, and its uncertainty comes from a **cluster bootstrap over base codes** (seeded);
- an **OLS slope** per (unit, factor) with its cluster-bootstrap CI. With every base at every level
  the design is balanced, so the pooled OLS slope equals the mean of the per-base slopes, and
  resampling base codes resamples whole clusters;
- **measured properties with a known error**: the factors are read by an exact read-out of the
  world where one exists (``measure="oracle"``, see :mod:`latentscm.probes.readouts`) or by a
  :class:`~latentscm.metrics.factor_regressor.FactorRegressor` with its held-out error, and read-outs
  beyond the world's factor range are flagged as extrapolation.

Shapes: U probed units, L levels, n base codes, K read factors.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata

from latentscm._validation import as_generator, check_number
from latentscm.probes.readouts import as_readout

__all__ = ["extreme_values", "ExtremeValueEffects", "cluster_bootstrap_mean"]


def cluster_bootstrap_mean(per_cluster: np.ndarray, *, n_boot: int, ci: float,
                           rng: int | np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mean over clusters and its percentile bootstrap interval, resampling clusters.

    Parameters
    ----------
    per_cluster:
        (n, ...) one value per cluster, n >= 1 (NaN where a cluster has no value: ignored).
    n_boot, ci, rng:
        Resamples (>= 1), interval coverage (in (0, 1)), random source (a seed or a numpy Generator).

    Returns
    -------
    mean : (...) the NaN-ignoring mean over clusters.
    interval : (..., 2) lower and upper bounds.
    """
    owner = "cluster_bootstrap_mean"
    n_boot = int(check_number(n_boot, "n_boot", owner, low=1, integer=True))
    ci = check_number(ci, "ci", owner, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    rng = as_generator(rng)
    values = np.asarray(per_cluster, dtype=np.float64)
    if values.ndim == 0 or values.shape[0] == 0:
        raise ValueError(f"The 'per_cluster' argument of {owner} needs at least one cluster (axis 0). "
                         f"Got shape {values.shape}.")
    n = values.shape[0]
    flat = values.reshape(n, -1)
    present = np.isfinite(flat)
    filled = np.where(present, flat, 0.0)
    # resample counts (B, n): one multinomial draw of n clusters per replicate, kept as counts so
    # the bootstrap means are one matrix product instead of a (B, n, ...) gather
    picks = rng.integers(0, n, size=(n_boot, n))
    counts = np.bincount((np.arange(n_boot)[:, None] * n + picks).ravel(), minlength=n_boot * n)
    counts = counts.reshape(n_boot, n).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(0) / present.sum(0)
        boot = (counts @ filled) / (counts @ present)
    alpha = (1.0 - ci) / 2.0
    interval = np.nanquantile(boot, [alpha, 1.0 - alpha], axis=0).T if np.isfinite(boot).any() \
        else np.full((flat.shape[1], 2), np.nan)
    return mean.reshape(values.shape[1:]), interval.reshape(values.shape[1:] + (2,))


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation of x (L,) with each column of y (L, M), ties given their average rank
    (NaN where y is constant or has a missing value)."""
    rx = rankdata(x) - (len(x) + 1) / 2.0
    out = np.full(y.shape[1], np.nan)
    for m in range(y.shape[1]):
        column = y[:, m]
        if not np.all(np.isfinite(column)) or np.ptp(column) == 0:
            continue
        ry = rankdata(column) - (len(column) + 1) / 2.0
        out[m] = float(rx @ ry / np.sqrt((rx @ rx) * (ry @ ry)))
    return out


def _drawdown_rows(curves: np.ndarray) -> np.ndarray:
    """Largest move of each column of ``curves`` (L, M) against its overall direction (the sign of last - first):
    ``max_{l < l'} y_l - y_l'`` for a rising column, ``max_{l < l'} y_l' - y_l`` for a falling one; 0 for a
    weakly monotone column, plateaus included. Missing (NaN) levels are skipped; NaN for fewer than two."""
    out = np.full(curves.shape[1], np.nan)
    for m in range(curves.shape[1]):
        column = curves[np.isfinite(curves[:, m]), m]
        if len(column) < 2:
            continue
        oriented = column if column[-1] >= column[0] else -column
        out[m] = float(np.max(np.maximum.accumulate(oriented) - oriented))
    return out


def _per_base_slopes(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """OLS slope of each base's read-out on x over the levels where it is finite: x (L,), values (L, n, K) ->
    (n, K) (NaN with fewer than two finite levels). With every level finite their mean is the pooled slope."""
    present = np.isfinite(values)
    weight = present.astype(np.float64)
    filled = np.where(present, values, 0.0)
    count = weight.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_mean = np.einsum("l,lnk->nk", x, weight) / count
        y_mean = filled.sum(0) / count
        dx = (x[:, None, None] - x_mean[None]) * weight
        slope = (dx * (filled - y_mean[None])).sum(0) / (dx * dx).sum(0)
    return np.where(count >= 2, slope, np.nan)


@dataclass
class ExtremeValueEffects:
    """Result of :func:`extreme_values`. Intervals are percentile cluster-bootstrap intervals.

    Attributes
    ----------
    units : list[int]  (U,) probed latent units.
    factor_names : list[str]  (K,) factors read from the decoded images.
    levels : (U, L) the values each unit was set to; ``in_range`` (U, L) marks those inside the
        unit's training range ``centre ± half_range`` (U,).
    outcomes : (U, L, n, K) read-out factors, world units.
    effect, effect_ci : (U, L, K), (U, L, K, 2) paired average effect of setting the unit to each
        level instead of its centre value, world units.
    incremental_in_range, incremental_extreme : (U, K) mean finite-difference slope (factor units
        per code unit) over adjacent levels inside the training range / wholly beyond it;
        ``*_ci`` (U, K, 2).
    ols_slope, ols_ci : (U, K), (U, K, 2) OLS slope of factor on level over all levels.
    effect_per_range, effect_per_range_ci : (U, K), (U, K, 2) the OLS slope times the unit's
        in-range width, over the factor's range: the change in the factor (fraction of its
        range) from one end of the training range to the other.
    monotonicity : (U, K) Spearman correlation (ties at their average rank) of the mean read-out
        with the level. A read-out that saturates ties at the ends and scores below 1 though it
        never reverses: :meth:`monotone` asks that question.
    drawdown : (U, K) the largest move of the mean read-out against its overall direction (world
        units; 0 for a curve that never reverses, plateaus included).
    extrapolated : (U, L, K) fraction of the (finite) read-outs outside the world's factor range; NaN
        where no image of that level could be read.
    readout_error : dict factor -> held-out mean absolute error of the read-out (fraction of range).
    factor_ranges : (K,) high - low of each factor.
    """

    units: list[int]
    factor_names: list[str]
    levels: np.ndarray
    in_range: np.ndarray
    centre: np.ndarray
    half_range: np.ndarray
    outcomes: np.ndarray
    effect: np.ndarray
    effect_ci: np.ndarray
    incremental_in_range: np.ndarray
    incremental_in_range_ci: np.ndarray
    incremental_extreme: np.ndarray
    incremental_extreme_ci: np.ndarray
    ols_slope: np.ndarray
    ols_ci: np.ndarray
    effect_per_range: np.ndarray
    effect_per_range_ci: np.ndarray
    monotonicity: np.ndarray
    drawdown: np.ndarray
    extrapolated: np.ndarray
    readout_error: dict[str, float]
    factor_ranges: np.ndarray
    ci: float
    n_boot: int
    measure: str
    settings: dict[str, Any] = field(default_factory=dict)

    def excludes_zero(self) -> np.ndarray:
        """(U, K) bool: whether the OLS-slope interval excludes 0."""
        return (self.ols_ci[..., 0] > 0) | (self.ols_ci[..., 1] < 0)

    def _margin(self, margin: float | Sequence[float] | None, method: str) -> np.ndarray:
        """(K,) margin as fractions of each factor's range: ``margin`` (scalar or per factor), or by default the
        read-out's held-out error per factor."""
        if margin is None:
            bound = np.array([self.readout_error[name] for name in self.factor_names], dtype=np.float64)
            if not np.all(np.isfinite(bound)):
                raise ValueError(f"ExtremeValueEffects.{method}: the read-out has no held-out error for "
                                 f"{[n for n, b in zip(self.factor_names, bound) if not np.isfinite(b)]}; "
                                 "pass 'margin'.")
            return bound
        n_factors = len(self.factor_names)
        try:
            bound = np.asarray(margin, dtype=np.float64)
        except (TypeError, ValueError):
            bound = np.array([np.nan])
        if bound.ndim > 1 or bound.size not in (1, n_factors) or not np.all(np.isfinite(bound)) \
                or np.any(bound < 0):
            raise ValueError(f"The 'margin' parameter of ExtremeValueEffects.{method} must be a non-negative "
                             f"number or one per factor ({n_factors}). Got {margin!r}.")
        return np.broadcast_to(bound.reshape(-1), (n_factors,)).astype(np.float64)

    def monotone(self, margin: float | Sequence[float] | None = None) -> np.ndarray:
        """(U, K) bool: the mean read-out never moves against its overall direction by more than ``margin``
        (fractions of each factor's range; default the read-out's held-out error): monotone up to what the
        read-out can resolve, plateaus (a saturating read-out) allowed. False where the curve is undefined.

        Parameters
        ----------
        margin:
            Tolerated reversal per factor (scalar or (K,)), fraction of the factor's range.
        """
        bound = self._margin(margin, "monotone")
        with np.errstate(invalid="ignore"):
            return self.drawdown / self.factor_ranges[None, :] <= bound[None, :]

    def negligible(self, margin: float | Sequence[float] | None = None) -> np.ndarray:
        """(U, K) bool: an equivalence test that the effect is negligible — the whole interval of
        ``effect_per_range`` lies within ``± margin`` (fractions of each factor's range).

        "The CI covers 0" is the wrong check for "this unit does nothing" when the read-out is
        exact and the decoder deterministic: every base code's outcome is then a fixed function of
        the level, so with enough base codes any effect, however small, gets an interval that
        excludes 0. The sound question is whether the effect is smaller than what the probe can
        resolve (two one-sided tests, TOST, Schuirmann 1987: with the stored ``ci``-level interval
        this is a TOST at level (1 - ci) / 2 per side, conservative).

        Parameters
        ----------
        margin:
            Equivalence margin per factor (scalar or (K,)), fraction of the factor's range. Default:
            the read-out's own held-out error per factor (``readout_error``), i.e. "smaller than
            what the read-out can tell apart".
        """
        bound = self._margin(margin, "negligible")
        interval = self.effect_per_range_ci
        return (interval[..., 0] >= -bound) & (interval[..., 1] <= bound)

    def table(self) -> dict[str, Any]:
        """The unit x factor effect table as plain lists (JSON-ready): ``effect_per_range`` with
        its interval, OLS slopes, monotonicity, drawdown and whether the interval excludes 0.

        An undefined statistic stays NaN (e.g. the in-range incremental effect when no two adjacent levels lie
        inside the training range), which ``json.dumps`` writes as the non-JSON token ``NaN``: write with
        :func:`latentscm._io.atomic_write_json` or :func:`latentscm._io.dumps_strict` (NaN as ``null``), as the
        ``probe`` command does."""
        return {
            "units": list(self.units),
            "factors": list(self.factor_names),
            "effect_per_range": self.effect_per_range.tolist(),
            "effect_per_range_ci": self.effect_per_range_ci.tolist(),
            "ols_slope": self.ols_slope.tolist(),
            "ols_ci": self.ols_ci.tolist(),
            "monotonicity": self.monotonicity.tolist(),
            "drawdown": self.drawdown.tolist(),
            "excludes_zero": self.excludes_zero().tolist(),
            "negligible": self.negligible().tolist() if all(
                np.isfinite(self.readout_error.get(name, np.nan)) for name in self.factor_names) else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything but the raw read-outs, as plain types (NaN kept: see :meth:`table` for strict JSON)."""
        out = self.table()
        out.update({
            "levels": self.levels.tolist(), "in_range": self.in_range.tolist(),
            "centre": self.centre.tolist(), "half_range": self.half_range.tolist(),
            "effect": self.effect.tolist(), "effect_ci": self.effect_ci.tolist(),
            "incremental_in_range": self.incremental_in_range.tolist(),
            "incremental_in_range_ci": self.incremental_in_range_ci.tolist(),
            "incremental_extreme": self.incremental_extreme.tolist(),
            "incremental_extreme_ci": self.incremental_extreme_ci.tolist(),
            "extrapolated": self.extrapolated.tolist(),
            "readout_error": dict(self.readout_error), "factor_ranges": self.factor_ranges.tolist(),
            "ci": self.ci, "n_boot": self.n_boot, "measure": self.measure, "settings": dict(self.settings),
        })
        return out


def _check_units(units: Sequence[int] | None, latent_dim: int) -> list[int]:
    if units is None:
        return list(range(latent_dim))
    if isinstance(units, np.ndarray) and units.ndim == 0:  # np.array(2): one unit, not a sequence
        units = units[()]
    if isinstance(units, (bool, np.bool_)) or not (isinstance(units, (int, np.integer)) or hasattr(units, "__iter__")):
        # True is an int (it probed unit 1); a float or numpy bool failed as "not iterable"
        raise ValueError(f"The 'units' parameter of extreme_values must be a unit index or a sequence of unit "
                         f"indices in [0, {latent_dim}). Got {units!r}.")
    if isinstance(units, (int, np.integer)):
        units = [int(units)]
    chosen = []
    for unit in units:
        if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or not 0 <= int(unit) < latent_dim:
            raise ValueError(f"The 'units' parameter of extreme_values must hold unit indices in [0, {latent_dim}). "
                             f"Got {unit!r}.")
        if int(unit) in chosen:  # a repeated unit would be probed twice and fill two rows of the table
            raise ValueError(f"The 'units' parameter of extreme_values repeats unit {int(unit)}; name each unit once.")
        chosen.append(int(unit))
    if not chosen:
        raise ValueError("The 'units' parameter of extreme_values is empty.")
    return chosen


def _segment_slopes(values: np.ndarray, levels: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Per-base mean finite-difference slope (n, K) over the adjacent level pairs marked in
    ``pairs`` (L - 1,) bool; values (L, n, K), levels (L,)."""
    if not pairs.any():
        return np.full(values.shape[1:], np.nan)
    steps = np.diff(levels)[pairs]  # (P,)
    differences = np.diff(values, axis=0)[pairs] / steps[:, None, None]  # (P, n, K)
    return np.nanmean(differences, axis=0) if np.isfinite(differences).any() else np.full(values.shape[1:], np.nan)


def extreme_values(learner: Any, world: Any, *, units: Sequence[int] | int | None = None, scale: float = 4.0,
                   levels: int = 41, n: int = 500, measure: Any = "oracle", ci: float = 0.95,
                   n_boot: int = 1000, range_quantile: float = 0.005, seed: int = 0) -> ExtremeValueEffects:
    """Set each latent unit to levels over ± ``scale`` times its training range and measure the
    factors of the decoded images (Beguš, Leban & Gero 2023, with paired cluster-bootstrap CIs).

    Parameters
    ----------
    learner:
        A fitted learner with ``encode`` (images -> codes (N, D)) and ``decode`` (codes -> images).
    world:
        The world the learner was trained on: it draws the ``n`` base images and defines the
        factors, their ranges and (for ``measure="oracle"``) the read-out.
    units:
        Units to probe (default all D).
    scale:
        Half-width of the swept interval in units of the training half-range (>= 1): levels span
        ``centre ± scale * half_range``.
    levels:
        Number of levels (odd, >= 5), evenly spaced, so that the centre is one of them.
    n:
        Number of base codes (posterior means of ``world.sample(n, seed=seed)``); they are the
        bootstrap clusters.
    measure:
        ``"oracle"`` (the world's exact read-out), ``"regressor"`` (a FactorRegressor fitted on the
        world, held-out error reported), a fitted read-out / FactorRegressor, or a callable
        ``images (N, C, H, W) -> factors (N, K_world)``.
    ci:
        Coverage of the intervals.
    n_boot:
        Bootstrap resamples of the base codes.
    range_quantile:
        The training range of a unit is the [q, 1 - q] quantile interval of the codes the decoder
        saw in training: posterior *samples* of the base images (for a passive unit this is the
        prior's spread, not the collapsed posterior means).
    seed:
        Seeds the base images, the posterior samples, the read-out fit and the bootstrap.

    Returns
    -------
    ExtremeValueEffects
    """
    owner = "extreme_values"
    if not getattr(learner, "can_decode", True):
        raise TypeError(f"extreme_values needs a learner with encode and decode; {type(learner).__name__} has no "
                        f"decoder (an encoder-only learner).")
    if not callable(getattr(learner, "decode", None)) or not callable(getattr(learner, "encode", None)):
        raise TypeError(f"extreme_values needs a learner with encode and decode; {type(learner).__name__} has "
                        f"{'no decode' if not callable(getattr(learner, 'decode', None)) else 'no encode'}.")
    scale = check_number(scale, "scale", owner, low=1.0)
    levels = int(check_number(levels, "levels", owner, low=5, integer=True))
    if levels % 2 == 0:
        raise ValueError(f"The 'levels' parameter of extreme_values must be odd (so the centre is a level). "
                         f"Got {levels}.")
    n = int(check_number(n, "n", owner, low=4, integer=True))
    ci = check_number(ci, "ci", owner, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_boot = int(check_number(n_boot, "n_boot", owner, low=10, integer=True))
    range_quantile = check_number(range_quantile, "range_quantile", owner, low=0.0, high=0.5, high_inclusive=False)
    seed = int(check_number(seed, "seed", owner, low=0, integer=True))

    declared = getattr(learner, "latent_dim_", None)  # a fitted learner's code width
    if isinstance(declared, int) and not isinstance(declared, bool):
        _check_units(units, declared)  # before a read-out is fitted: a bad unit fails at once
    readout = as_readout(measure, world, seed=seed, owner=owner)
    factor_names = list(readout.factor_names_)
    specs = [world.spec(name) for name in factor_names]
    low = np.array([s.low for s in specs])
    high = np.array([s.high for s in specs])
    factor_ranges = high - low

    batch = world.sample(n, seed=seed)
    base = np.asarray(learner.encode(batch.images), dtype=np.float32)
    if base.ndim != 2:
        raise ValueError(f"extreme_values: {type(learner).__name__}.encode returned shape {base.shape}; "
                         f"expected (N, D).")
    chosen = _check_units(units, base.shape[1])
    try:
        seen = np.asarray(learner.encode(batch.images, sample=True, seed=seed), dtype=np.float64)
    except TypeError:  # deterministic encoders take no sampling arguments
        seen = base.astype(np.float64)
    for codes, what in ((base, "codes"), (seen, "posterior samples")):
        if not np.all(np.isfinite(codes)):  # one NaN made a unit's whole range, so every statistic of it, NaN
            bad = int((~np.isfinite(codes)).any(axis=1).sum())
            raise ValueError(f"extreme_values: {bad} of the {n} base images have non-finite {what} from "
                             f"{type(learner).__name__}.encode (units "
                             f"{np.flatnonzero(~np.isfinite(codes).all(axis=0)).tolist()}); did training diverge?")
    lo_q, hi_q = np.quantile(seen, [range_quantile, 1.0 - range_quantile], axis=0)
    centre_all = (lo_q + hi_q) / 2.0
    half_all = np.maximum((hi_q - lo_q) / 2.0, 1e-6)

    grid = np.linspace(-scale, scale, levels)  # in units of the half-range
    in_range_row = np.abs(grid) <= 1.0 + 1e-9
    middle = levels // 2
    n_units, n_factors = len(chosen), len(factor_names)
    level_values = np.empty((n_units, levels))
    outcomes = np.empty((n_units, levels, n, n_factors))
    for u, unit in enumerate(chosen):
        level_values[u] = centre_all[unit] + half_all[unit] * grid
        for j, value in enumerate(level_values[u]):
            codes = base.copy()
            codes[:, unit] = value
            outcomes[u, j] = readout.predict(learner.decode(codes))

    effect = np.empty((n_units, levels, n_factors))
    effect_ci = np.empty((n_units, levels, n_factors, 2))
    inc_in = np.empty((n_units, n_factors))
    inc_in_ci = np.empty((n_units, n_factors, 2))
    inc_ext = np.empty((n_units, n_factors))
    inc_ext_ci = np.empty((n_units, n_factors, 2))
    slope = np.empty((n_units, n_factors))
    slope_ci = np.empty((n_units, n_factors, 2))
    monotonicity = np.empty((n_units, n_factors))
    drawdown = np.empty((n_units, n_factors))
    in_pairs = in_range_row[:-1] & in_range_row[1:]
    extreme_pairs = ~in_range_row[:-1] & ~in_range_row[1:]
    with warnings.catch_warnings():  # a level no base can be read at gives NaN statistics, not a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        for u in range(n_units):
            # every statistic of every unit resamples the same base codes with the same draws (a fresh generator from
            # ``seed`` per call), so a unit's intervals do not depend on which other units are probed
            boot = {"n_boot": n_boot, "ci": ci}
            values = outcomes[u]  # (L, n, K)
            paired = np.moveaxis(values - values[middle][None], 1, 0)  # (n, L, K)
            effect[u], effect_ci[u] = cluster_bootstrap_mean(paired, rng=as_generator(seed), **boot)
            inc_in[u], inc_in_ci[u] = cluster_bootstrap_mean(
                _segment_slopes(values, level_values[u], in_pairs), rng=as_generator(seed), **boot)
            inc_ext[u], inc_ext_ci[u] = cluster_bootstrap_mean(
                _segment_slopes(values, level_values[u], extreme_pairs), rng=as_generator(seed), **boot)
            # per-base OLS slopes (code units), each over the levels its read-out is finite at
            per_base = _per_base_slopes(grid, values) / half_all[chosen[u]]
            slope[u], slope_ci[u] = cluster_bootstrap_mean(per_base, rng=as_generator(seed), **boot)
            curve = np.nanmean(values, axis=1)  # (L, K)
            monotonicity[u] = _spearman_rows(grid, curve)
            drawdown[u] = _drawdown_rows(curve)
    width = (2.0 * half_all[chosen])[:, None] / factor_ranges[None, :]
    tolerance = 1e-6 * factor_ranges
    outside = (outcomes < low - tolerance) | (outcomes > high + tolerance)
    readable = np.isfinite(outcomes).sum(axis=2)  # an unreadable image (NaN) is no read-out, in range or not
    with np.errstate(invalid="ignore", divide="ignore"):
        extrapolated = np.where(readable > 0, (outside & np.isfinite(outcomes)).sum(axis=2) / readable, np.nan)
    return ExtremeValueEffects(
        units=chosen, factor_names=factor_names, levels=level_values,
        in_range=np.repeat(in_range_row[None], n_units, axis=0),
        centre=centre_all[chosen], half_range=half_all[chosen], outcomes=outcomes,
        effect=effect, effect_ci=effect_ci,
        incremental_in_range=inc_in, incremental_in_range_ci=inc_in_ci,
        incremental_extreme=inc_ext, incremental_extreme_ci=inc_ext_ci,
        ols_slope=slope, ols_ci=slope_ci,
        effect_per_range=slope * width, effect_per_range_ci=slope_ci * width[..., None],
        monotonicity=monotonicity, drawdown=drawdown, extrapolated=extrapolated,
        readout_error={name: float(readout.mae_.get(name, np.nan)) for name in factor_names},
        factor_ranges=factor_ranges, ci=ci, n_boot=n_boot,
        measure=measure if isinstance(measure, str) else type(readout).__name__,
        settings={"scale": scale, "levels": levels, "n": n, "range_quantile": range_quantile, "seed": seed},
    )
