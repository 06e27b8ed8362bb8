"""``check_world(world)``: the conformance checks every world passes (built-in or a user's own).

Raises ``AssertionError`` with a message naming the failed property; returns a report dict of
what it measured (e.g. the fraction of factor changes that leave the image unchanged).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm.graph import CausalGraph

__all__ = ["check_world"]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _same_data(a: Any, b: Any) -> bool:
    return (a.images.shape == b.images.shape and np.array_equal(a.images, b.images)
            and np.array_equal(a.factors, b.factors))


def _check_configuration(world: Any, batch: Any, *, n: int, seed: int) -> dict[str, Any]:
    """``get_params()`` is the world's whole configuration: rebuilding from it gives the same
    data, and another configuration with different data never shares its store key."""
    from latentscm.worlds.store import dataset_key

    owner = type(world).__name__
    try:
        params = world.get_params()
    except TypeError as error:
        raise AssertionError(str(error)) from None
    try:
        rebuilt = type(world)(**params)
    except Exception as error:  # any failure means the params do not rebuild the world
        raise AssertionError(f"{owner}(**get_params()) cannot rebuild the world: {error}") from None
    _require(_same_data(rebuilt.sample(n, seed=seed), batch),
             f"{owner}(**get_params()) samples different data than the world itself: get_params() {params} "
             f"misses part of the configuration, so two configurations would share a store key")
    try:
        key = dataset_key(world, n, seed)[0]
    except TypeError:
        return params  # not content-addressable (e.g. mechanism objects): datasets need a cache_key
    try:
        default = type(world)()
    except TypeError:
        return params  # required constructor arguments: no second configuration to compare with
    if not _same_data(default.sample(n, seed=seed), batch):
        _require(dataset_key(default, n, seed)[0] != key,
                 f"{owner}() and {owner}(**{params}) sample different data but share the store key "
                 f"{key[:16]}: get_params() does not capture the configuration")
    return params


def check_world(world: Any, *, n: int = 16, seed: int = 0) -> dict[str, Any]:
    """Run the World contract checks on ``world``; return measurements.

    Checks: factor specs and graph agree; ``sample`` is seeded, shaped (N, C, H, W) float32 in
    [0, 1] with factors on their grids; ``counterfactual(batch, {})`` reproduces the batch
    exactly; for an intervention on every factor, non-descendants keep their values, the target
    takes the value, its descendants are recomputed (at least one of them changes in at least one
    sample), and the counterfactual images equal ``render`` of the counterfactual factors;
    intervening on a sample with the value it already has leaves its factors unchanged (the
    counterfactual keeps the exogenous noise instead of drawing new noise);
    interventional sampling honours the value; changing one factor changes the image except for
    the world's documented symmetries (``world.symmetries``: factor -> allowed fraction); bad
    input (unknown factor, off-grid value, wrong shape) raises ``ValueError``; ``get_params()``
    is the whole configuration (``type(world)(**world.get_params())`` samples the same data, and
    the default configuration, when its data differ, has a different store key).

    A bad argument of the check itself (a World class instead of an instance, ``n`` below 1, a
    negative ``seed``) raises ``TypeError``/``ValueError`` naming it.
    """
    from latentscm._validation import check_number
    from latentscm.worlds.base import RENDER_SEED, Batch

    if isinstance(world, type):
        raise TypeError(f"The 'world' parameter of check_world must be a World instance (e.g. {world.__name__}()), "
                        f"not the class. Got {world!r} instead.")
    n = check_number(n, "n", "check_world", low=1, integer=True)
    seed = check_number(seed, "seed", "check_world", low=0, integer=True)
    report: dict[str, Any] = {}
    names = list(world.factor_names)
    _require(len(names) == len(world.factor_specs), "factor_names and factor_specs disagree")
    _require(names == [s.name for s in world.factor_specs], "factor_names are not in factor_specs order")
    graph = world.graph
    _require(isinstance(graph, CausalGraph), "world.graph must be a CausalGraph")
    _require(list(graph.nodes) == names, f"world.graph nodes {graph.nodes} differ from factor_names {names}")
    graph.topological_order()

    batch = world.sample(n, seed=seed)
    again = world.sample(n, seed=seed)
    _require(isinstance(batch, Batch), "sample must return a Batch")
    c, h, w = world.image_shape
    _require(batch.images.shape == (n, c, h, w), f"images have shape {batch.images.shape}, expected {(n, c, h, w)}")
    _require(batch.images.dtype == np.float32, f"images must be float32, got {batch.images.dtype}")
    _require(float(batch.images.min()) >= 0.0 and float(batch.images.max()) <= 1.0, "images must lie in [0, 1]")
    _require(batch.factors.shape == (n, len(names)), f"factors have shape {batch.factors.shape}")
    _require(np.array_equal(batch.images, again.images) and np.array_equal(batch.factors, again.factors),
             "sample(n, seed=s) is not deterministic")
    for j, spec in enumerate(world.factor_specs):
        spec.check(batch.factors[:, j], what="sampled value")
    other = world.sample(n, seed=seed + 1)
    _require(not np.array_equal(other.factors, batch.factors), "different seeds gave the same factors")

    same = world.counterfactual(batch, {})
    _require(np.array_equal(same.images, batch.images) and np.array_equal(same.factors, batch.factors),
             "counterfactual(batch, {}) does not reproduce the batch")
    rendered = world.render(batch.factors, render_seeds=batch.noise.get(RENDER_SEED))
    _require(np.array_equal(rendered, batch.images), "render(batch.factors) does not reproduce batch.images")

    rng = np.random.default_rng(seed)
    for j, spec in enumerate(world.factor_specs):
        target = spec.other_values(batch.factors[:1, j], rng)[0]
        cf = world.counterfactual(batch, {spec.name: float(target)})
        _require(np.allclose(cf.factors[:, j], target), f"do({spec.name}={target:g}) did not set the factor")
        affected = graph.descendants_of([spec.name])
        for k, other_name in enumerate(names):
            if other_name not in affected:
                _require(np.array_equal(cf.factors[:, k], batch.factors[:, k]),
                         f"do({spec.name}) changed non-descendant {other_name!r}")
        descendants = [k for k, other_name in enumerate(names) if other_name in affected and other_name != spec.name]
        if descendants:  # the exact counterfactual recomputes the descendants from their own noise
            _require(not np.array_equal(cf.factors[:, descendants], batch.factors[:, descendants]),
                     f"do({spec.name}={target:g}) changed none of its descendants "
                     f"{[names[k] for k in descendants]} in any of {n} samples: the counterfactual must recompute "
                     f"the descendants of the intervened factor (or the graph names effects that do not exist)")
        expected = world.render(cf.factors, render_seeds=cf.noise.get(RENDER_SEED))
        _require(np.array_equal(cf.images, expected),
                 f"counterfactual images under do({spec.name}) differ from render of its factors")
        # abduction is real: setting a factor to the value it already has, with the unit's own
        # exogenous noise, changes nothing (a world that re-draws the descendants' noise does)
        for i in range(min(n, 4)):
            unit = batch[i]
            own = world.counterfactual(unit, {spec.name: float(unit.factors[0, j])})
            _require(np.allclose(own.factors, unit.factors, rtol=1e-7, atol=1e-9),
                     f"do({spec.name}={float(unit.factors[0, j]):g}), the value sample {i} already has, changed its "
                     f"factors {unit.factors[0].tolist()} -> {own.factors[0].tolist()}: the counterfactual must "
                     f"keep the sample's exogenous noise, not draw new noise")
        interventional = world.sample(n, seed=seed, interventions={spec.name: float(target)})
        _require(np.allclose(interventional.factors[:, j], target),
                 f"sample(interventions={{{spec.name!r}: {target:g}}}) did not fix the factor")

    # distinct factor values give distinct images, apart from documented symmetries
    symmetries = dict(getattr(world, "symmetries", {}) or {})
    fractions = {}
    for j, spec in enumerate(world.factor_specs):
        if spec.size == 1:
            continue  # a one-valued factor cannot change
        changed = batch.factors.copy()
        changed[:, j] = spec.other_values(batch.factors[:, j], rng)
        images = world.render(changed, render_seeds=batch.noise.get(RENDER_SEED))
        identical = np.all(images.reshape(n, -1) == batch.images.reshape(n, -1), axis=1)
        fractions[spec.name] = float(identical.mean())
        allowed = float(symmetries.get(spec.name, 0.0))
        # binomial slack around the documented rate; zero documented symmetry means none at all
        slack = 3.0 * np.sqrt(allowed * (1.0 - allowed) / n) + 1e-12
        _require(fractions[spec.name] <= allowed + slack,
                 f"changing {spec.name!r} left {fractions[spec.name]:.0%} of images unchanged "
                 f"(documented symmetry allows {allowed:.0%})")
    report["unchanged_fraction"] = fractions

    def raises(call, what):
        try:
            call()
        except ValueError:
            return
        raise AssertionError(f"{what} did not raise ValueError")

    report["params"] = _check_configuration(world, batch, n=n, seed=seed)

    raises(lambda: world.counterfactual(batch, {"no_such_factor": 0.0}), "an unknown factor")
    raises(lambda: world.render(np.zeros((2, len(names) + 1))), "factors of the wrong shape")
    for spec in world.factor_specs:
        bad = spec.high + 10.0 * (spec.high - spec.low + 1.0)
        raises(lambda spec=spec, bad=bad: world.counterfactual(batch, {spec.name: bad}),
               f"an out-of-range value for {spec.name!r}")
        if spec.values is not None and spec.values.size > 1:
            between = float((spec.values[0] + spec.values[1]) / 2)
            raises(lambda spec=spec, between=between: world.counterfactual(batch, {spec.name: between}),
                   f"an off-grid value for {spec.name!r}")
    return report
