"""Domain-counterfactual metrics against a multi-domain world's exact oracle.

A *domain-counterfactual model* is anything with ``domain_counterfactual(x (N, ...), source,
target) -> x' (N, ...)`` ("this observation, had it come from domain ``target``"; ``source`` and
``target`` are ints), or a plain callable with that signature — e.g. ILD (Zhou, Bai, Kulinski,
Kocaoglu & Inouye, ICLR 2024, "Towards characterizing domain counterfactuals for invertible
latent causal models"), whose evaluation measures the distance between the model's and the true
domain counterfactual. A world built with ``domains=...`` returns the exact domain counterfactual
of every sample (:meth:`World.domain_counterfactual`), so here the error is measured directly,
over all ordered pairs of distinct domains, together with the identity floor (the error of
changing nothing), and the axiomatic soundness measures of Monteiro et al. (ICLR 2023, "Measuring
axiomatic soundness of counterfactual image models") read on exact factors:

- *effectiveness*: the factors that should change (shifted factors and their descendants) match
  the true counterfactual's;
- *preservation*: the others keep their values;
- *reversibility*: ``d -> d' -> d`` returns the input;
- *composition*: the null counterfactual ``d -> d`` applied m times returns the input.

Lower is better for every key. Observation distances are mean squared differences (``"mse"``,
default) or mean absolute differences (``"l1"``, as in :mod:`latentscm.metrics.counterfactual`);
factor errors are absolute differences divided by the factor's range.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.metrics._common import check_sequence

__all__ = ["domain_counterfactual_error", "domain_counterfactual_soundness", "domain_pairs", "DISTANCES"]

DISTANCES = ("mse", "l1")


def _distance(a: np.ndarray, b: np.ndarray, distance: str) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"A domain counterfactual must have the shape of its input {b.shape}. Got {a.shape}.")
    diff = a - b
    return float(np.mean(diff * diff) if distance == "mse" else np.mean(np.abs(diff)))


def _counterfactual_function(model: Any) -> Callable[[np.ndarray, int, int], np.ndarray]:
    method = getattr(model, "domain_counterfactual", None)
    if callable(method):
        return method
    if callable(model):
        return model
    raise TypeError(f"The 'model' must have a domain_counterfactual(x, source, target) method or be such a "
                    f"callable. Got {type(model).__name__}.")


def _check_world(world: Any, owner: str) -> int:
    shift = getattr(world, "domains", None)
    if shift is None:
        raise ValueError(f"{owner} needs a multi-domain world (worlds.make(name, domains=...)). Got "
                         f"{getattr(world, 'name', type(world).__name__)!r} without domains.")
    if shift.n_domains < 2:
        raise ValueError(f"{owner} needs at least 2 domains. World {world.name!r} has {shift.n_domains}.")
    return int(shift.n_domains)


def domain_pairs(n_domains: int, pairs: Sequence[tuple[int, int]] | None, owner: str) -> list[tuple[int, int]]:
    """Checked (source, target) domain pairs: every ordered pair of distinct domains when ``pairs`` is
    None, else ``pairs`` validated against ``n_domains`` (errors name ``owner``)."""
    if pairs is None:
        return [(d, e) for d in range(n_domains) for e in range(n_domains) if d != e]
    out = []
    for pair in pairs:
        if (not isinstance(pair, (tuple, list)) or len(pair) != 2
                or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair)):
            raise TypeError(f"The 'pairs' of {owner} must be (source, target) int pairs. Got {pair!r}.")
        source, target = int(pair[0]), int(pair[1])
        for name, value in (("source", source), ("target", target)):
            if not 0 <= value < n_domains:
                raise ValueError(f"The 'pairs' of {owner}: {name} domain {value} is out of range [0, {n_domains}).")
        if source == target:
            raise ValueError(f"The 'pairs' of {owner} must pair distinct domains. Got ({source}, {target}).")
        out.append((source, target))
    if not out:
        raise ValueError(f"The 'pairs' of {owner} must not be empty.")
    return out


def _source_batches(world: Any, n: int, seed: int, sources: Sequence[int]) -> dict[int, Any]:
    """``n`` samples of each domain in ``sources``. Every domain is drawn, in order, from one
    generator seeded ``seed``, so a domain's samples do not depend on which pairs are asked for."""
    rng = np.random.default_rng(seed)
    drawn = {d: world.sample(n, seed=rng, domain=d) for d in range(world.domains.n_domains)}
    return {d: drawn[d] for d in sorted(set(sources))}


def _apply(function: Callable, x: np.ndarray, source: int, target: int) -> np.ndarray:
    out = np.asarray(function(x, source, target))
    if out.shape != x.shape:
        raise ValueError(f"The model's domain_counterfactual returned shape {out.shape} for an input of shape "
                         f"{x.shape} ({source} -> {target}).")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"The model's domain_counterfactual returned NaN or infinite values ({source} -> {target}).")
    return out


def domain_counterfactual_error(model: Any, world: Any, *, n: int = 128, seed: int = 0,
                                pairs: Sequence[tuple[int, int]] | None = None,
                                distance: str = "mse") -> dict[str, float]:
    """Distance of ``model``'s domain counterfactuals to the exact ones, normalised by the identity floor.

    For each ordered pair ``(d, d')`` of distinct domains (default: all), ``n`` samples of domain
    ``d`` are moved to ``d'`` by the model and by the world's oracle.

    Parameters
    ----------
    model : object or callable
        ``model.domain_counterfactual(x, d, d')`` or ``model(x, d, d')`` on observations
        ``x`` (N, ...) (images (N, C, H, W) or vectors), returning the same shape.
    world : World
        A multi-domain world (``worlds.make(name, domains=...)``).
    n : int
        Samples per source domain (>= 1).
    seed : int
        Seed of the samples.
    pairs : sequence of (int, int), optional
        The ordered domain pairs (default: all ``n_domains * (n_domains - 1)``).
    distance : {"mse", "l1"}
        Mean squared (default) or mean absolute difference.

    Returns
    -------
    dict
        ``"dcf.error"`` (mean over pairs of the model's distance to the truth),
        ``"dcf.identity"`` (the same for returning the input unchanged: the floor any model must
        beat), ``"dcf.normalised"`` = error / identity (0: exact; 1: no better than changing
        nothing), and per pair ``"dcf.error.d->d'"``, ``"dcf.identity.d->d'"``,
        ``"dcf.normalised.d->d'"``. Lower is better.
    """
    owner = "domain_counterfactual_error"
    n_domains = _check_world(world, owner)
    n = check_number(n, "n", owner, low=1, integer=True)
    seed = check_number(seed, "seed", owner, low=0, integer=True)
    distance = check_choice(distance, "distance", owner, DISTANCES)
    chosen = domain_pairs(n_domains, pairs, owner)
    function = _counterfactual_function(model)
    batches = _source_batches(world, n, seed, [s for s, _ in chosen])
    out: dict[str, float] = {}
    errors, floors = [], []
    for source, target in chosen:
        batch = batches[source]
        truth = world.domain_counterfactual(batch, to_domain=target).images
        predicted = _apply(function, batch.images, source, target)
        error, floor = _distance(predicted, truth, distance), _distance(batch.images, truth, distance)
        key = f"{source}->{target}"
        out[f"dcf.error.{key}"] = error
        out[f"dcf.identity.{key}"] = floor
        out[f"dcf.normalised.{key}"] = error / floor if floor > 0 else float("nan")
        errors.append(error)
        floors.append(floor)
    out["dcf.error"] = float(np.mean(errors))
    out["dcf.identity"] = float(np.mean(floors))
    if out["dcf.identity"] <= 0:
        raise ValueError(f"The domains of world {world.name!r} give identical observations on these samples "
                         f"(identity floor 0), so the error cannot be normalised; raise the DomainShift's strength.")
    out["dcf.normalised"] = out["dcf.error"] / out["dcf.identity"]
    return out


def _exact_reader(world: Any) -> Callable[[np.ndarray], np.ndarray]:
    reader = getattr(world, "read_factors", None)
    if reader is None:
        raise ValueError(f"World {world.name!r} cannot read factors off its observations exactly; pass "
                         f"read_factors=... (e.g. a fitted FactorRegressor's predict).")
    return reader


def domain_counterfactual_soundness(model: Any, world: Any, *, n: int = 128, seed: int = 0,
                                    pairs: Sequence[tuple[int, int]] | None = None,
                                    read_factors: Callable[[np.ndarray], np.ndarray] | None = None,
                                    composition_steps: Sequence[int] = (1, 10),
                                    distance: str = "mse") -> dict[str, float]:
    """Effectiveness, preservation, reversibility and composition of domain counterfactuals.

    Parameters
    ----------
    model, world, n, seed, pairs, distance
        As in :func:`domain_counterfactual_error`.
    read_factors : callable, optional
        Observations (N, ...) -> factors (N, K) in ``world.factor_names`` order. Default: the
        world's exact inverse ``world.read_factors`` (worlds whose rendering is invertible, such
        as ``ild-linear``); for image worlds pass e.g. a fitted ``FactorRegressor().predict``.
    composition_steps : sequence of int
        How many times the null counterfactual ``d -> d`` is applied (each >= 1).

    Returns
    -------
    dict
        Lower is better for every key.

        - ``"dcf.effectiveness"`` (and ``.f`` per factor): mean |read factor of the model's
          counterfactual − true counterfactual factor| / range, over the factors that descend
          from a shifted factor (shifted ones included);
        - ``"dcf.preservation"`` (and ``.f``): the same over the other factors, which the true
          counterfactual leaves unchanged (each NaN when its group has no factor: every factor, or
          none, descends from a shifted one);
        - ``"dcf.reader_error"``: the reader's own error on the true counterfactuals (0 for an
          exact reader), a floor for the two above;
        - ``"dcf.reversibility"``: distance to the input after ``d -> d' -> d``;
        - ``"dcf.composition.m{m}"``: distance to the input after the null counterfactual
          ``d -> d`` applied m times.
    """
    owner = "domain_counterfactual_soundness"
    n_domains = _check_world(world, owner)
    n = check_number(n, "n", owner, low=1, integer=True)
    seed = check_number(seed, "seed", owner, low=0, integer=True)
    distance = check_choice(distance, "distance", owner, DISTANCES)
    steps = [check_number(m, "composition_steps", owner, low=1, integer=True)
             for m in check_sequence(composition_steps, "composition_steps", owner, "ints")]
    chosen = domain_pairs(n_domains, pairs, owner)
    function = _counterfactual_function(model)
    reader = _exact_reader(world) if read_factors is None else read_factors
    if not callable(reader):
        raise TypeError(f"The 'read_factors' of {owner} must be callable. Got {type(reader).__name__}.")
    names = list(world.factor_names)
    changing = set(world.graph.descendants_of(list(world.domains.shifted))) | set(world.domains.shifted)
    widths = np.array([world.spec(f).high - world.spec(f).low for f in names], dtype=np.float64)
    widths[widths <= 0] = 1.0
    batches = _source_batches(world, n, seed, [d for pair in chosen for d in pair])

    def read(x: np.ndarray) -> np.ndarray:
        values = np.asarray(reader(x), dtype=np.float64)
        if values.shape != (x.shape[0], len(names)):
            raise ValueError(f"read_factors must return factors of shape (N, {len(names)}). Got {values.shape}.")
        return values

    factor_errors, reader_errors, reversibility = [], [], []
    for source, target in chosen:
        batch = batches[source]
        truth = world.domain_counterfactual(batch, to_domain=target)
        predicted = _apply(function, batch.images, source, target)
        factor_errors.append(np.abs(read(predicted) - truth.factors).mean(axis=0) / widths)
        reader_errors.append(np.abs(read(truth.images) - truth.factors).mean(axis=0) / widths)
        back = _apply(function, predicted, target, source)
        reversibility.append(_distance(back, batch.images, distance))
    per_factor = np.mean(factor_errors, axis=0)
    out: dict[str, float] = {}
    for group, members in (("effectiveness", [f for f in names if f in changing]),
                           ("preservation", [f for f in names if f not in changing])):
        for f in members:
            out[f"dcf.{group}.{f}"] = float(per_factor[names.index(f)])
        # a group without factors has nothing to score: NaN, not a perfect 0
        out[f"dcf.{group}"] = float(np.mean([per_factor[names.index(f)] for f in members])) if members else math.nan
    out["dcf.reader_error"] = float(np.mean(reader_errors))
    out["dcf.reversibility"] = float(np.mean(reversibility))
    for m in steps:
        distances = []
        for d, batch in batches.items():
            x = batch.images
            for _ in range(m):
                x = _apply(function, x, d, d)
            distances.append(_distance(x, batch.images, distance))
        out[f"dcf.composition.m{m}"] = float(np.mean(distances))
    return out
