"""Regression tests of the third review of the worlds (scripts in bench_out/s22/review_worlds)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from latentscm.scm import Functional, Normal
from latentscm.worlds import Batch, make
from latentscm.worlds.base import FactorSpec
from latentscm.worlds.regimes import Regime, RegimeMixture
from latentscm.worlds.store import CorruptDatasetError, dataset_key, generate, load


def test_counterfactual_refuses_per_sample_values_of_another_length():
    """d01: with several regimes, each regime's part was handed the whole wrong-length array."""
    world = make("sprites", size=16)
    batch = world.sample(6, seed=0, regime=[Regime("observational"), Regime("do(scale)", {"scale": 0.5})])
    grid = world.spec("posX").values
    with pytest.raises(ValueError, match="posX.*one value per sample"):
        world.counterfactual(batch, {"posX": grid[[1, 2, 3]]})
    cf = world.counterfactual(batch, {"posX": grid[:6]})  # one per sample still works
    np.testing.assert_array_equal(cf.factor("posX"), grid[:6])


def test_concatenate_refuses_batches_of_other_factors_or_noise():
    """d02: batches of other worlds (or another column order) were joined under the first one's names."""
    flow = make("flow", size=16).sample(2, seed=0)
    reordered = Batch(flow.images, flow.factors[:, ::-1], dict(flow.noise), flow.factor_names[::-1])
    with pytest.raises(ValueError, match="batch 1 has factors"):
        Batch.concatenate([flow, reordered])
    with pytest.raises(ValueError, match="batch 1 has factors"):
        Batch.concatenate([make("pendulum", size=16).sample(2, seed=0), flow])
    stripped = Batch(flow.images, flow.factors, {"ball_size": flow.noise["ball_size"]}, flow.factor_names)
    with pytest.raises(ValueError, match="batch 1 has noise"):
        Batch.concatenate([flow, stripped])


@pytest.mark.parametrize("seed, error", [(1.9, TypeError), (True, TypeError), (-1, ValueError),
                                         (np.random.default_rng(0), TypeError)])
def test_dataset_key_needs_a_non_negative_int_seed(seed, error):
    """d03: seed=1.9 and seed=True were filed under seed 1; a Generator failed inside int()."""
    world = make("sprites", size=16)
    with pytest.raises(error, match="'seed' of a stored dataset"):
        dataset_key(world, 4, seed)


_DAMAGES = {
    "factor_names": lambda m: m.update(factor_names=["shape", "scale", "orientation", "posY", "posX"]),
    "count": lambda m: m.update(count=7),
    "image_shape": lambda m: m.update(image_shape=[3, 16, 16]),
    "seed": lambda m: m.update(seed=5),
    "regimes": lambda m: m["regimes"]["regimes"][1]["interventions"]["posX"].update(value=1.0),
}


@pytest.mark.parametrize("digest", [True, False], ids=["with-digest", "older-manifest"])
@pytest.mark.parametrize("damage", list(_DAMAGES))
def test_a_damaged_manifest_is_detected(tmp_path, damage, digest):
    """d04: a manifest edited in the fields read back (names, count, shape, seed, regimes) was used."""
    world = make("sprites", size=16)
    regime = [Regime("observational"), Regime("do(posX)", {"posX": 0.0})]
    stored = generate(world, 6, seed=0, root=tmp_path, regime=regime)
    path = stored.path / "manifest.json"
    manifest = json.loads(path.read_text())
    _DAMAGES[damage](manifest)
    if not digest:  # a manifest written before it recorded its own digest
        manifest.pop("manifest_sha256", None)
    path.write_text(json.dumps(manifest))
    if digest or damage != "factor_names":  # without a world, swapped names are caught by the digest only
        with pytest.raises(CorruptDatasetError, match="manifest.json"):
            load(stored.path)
    with pytest.warns(RuntimeWarning, match="regenerating"):
        again = generate(world, 6, seed=0, root=tmp_path, regime=regime)
    assert again.factor_names == tuple(world.factor_names) and len(again) == again.manifest["count"] == 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(again.path)  # the regenerated copy verifies


def test_mixture_counts_sum_to_n_when_fractions_sum_slightly_over_one():
    """d05: fractions summing to 1 + 5e-7 (accepted) gave counts summing to n + 1 for large n."""
    mixture = RegimeMixture([Regime("observational"), Regime("do(z0)", {"z0": 0.0})], [0.500001, 0.4999995])
    for n in (1, 10, 2_000_000):
        counts = mixture.counts(n)
        assert counts.sum() == n and np.all(counts >= 0)
    assert mixture.counts(2_000_000).tolist() == [1000001, 999999]
    thirds = RegimeMixture([Regime("a"), Regime("b", {"x": 0.0}), Regime("c", {"y": 0.0})], [0.3333334] * 3)
    assert thirds.counts(10_000_000).sum() == 10_000_000
    assert thirds.counts(10).tolist() == [4, 3, 3]  # unchanged where the floors did not overflow


def test_sample_in_a_domain_lets_a_hard_intervention_override_a_replaced_mechanism():
    """d06: the same call without domain= worked; with domain= it blamed the regime."""
    world = make("flow", size=16, domains={"n_domains": 2, "shifted": ["water_height"]})
    regime = Regime("new_flow", mechanisms={"flow": world.scm.mechanisms["flow"].base})
    plain = world.sample(4, seed=0, regime=regime, interventions={"flow": 3.0})
    for domain in (0, 1):
        batch = world.sample(4, seed=0, regime=regime, interventions={"flow": 3.0}, domain=domain)
        np.testing.assert_array_equal(batch.factor("flow"), 3.0)
        assert "flow" not in batch.regimes[0].mechanisms and batch.targets[:, 3].all()
    np.testing.assert_array_equal(world.sample(4, seed=0, regime=regime, interventions={"flow": 3.0}, domain=0).factors,
                                  plain.factors)
    from latentscm.interventions import Shift

    with pytest.raises(ValueError, match="put the soft intervention in the regime"):
        world.sample(4, seed=0, regime=regime, interventions={"flow": Shift(0.5)}, domain=1)


def test_snap_refuses_nan_and_sends_infinities_to_the_ends():
    """d07: NaN snapped to the top grid value and +inf to the second-highest one, silently."""
    spec = FactorSpec("scale", values=np.linspace(0.5, 1.0, 6))
    assert spec.snap(np.array([np.inf, -np.inf])).tolist() == [1.0, 0.5]
    with pytest.raises(ValueError, match="'scale' got a NaN"):
        spec.snap(np.array([0.7, np.nan]))

    def scale_from_position(parents, noise):
        return 0.5 + np.sqrt(parents[:, 0] - 0.5)  # NaN left of the centre

    world = make("sprites", size=16, graph="posX -> scale",
                 mechanisms={"scale": Functional(scale_from_position, Normal(0.0, 1.0), parent_names=("posX",))})
    with np.errstate(invalid="ignore"), pytest.raises(ValueError, match="'scale' got a NaN"):
        world.sample(32, seed=0)


def test_environments_factors_as_one_name_or_empty():
    """d08: a string was split into letters; an empty list gave environments that differ in nothing."""
    world = make("flow", size=16)
    envs = world.environments(2, 3, seed=0, factors="water_height", render=False)
    assert [sorted(r.mechanisms) for r in envs.batch.regimes] == [["water_height"]] * 2
    with pytest.raises(ValueError, match="'factors' of environments"):
        world.environments(2, 3, seed=0, factors=[], render=False)


def test_trajectory_shapes_and_per_step_context_are_checked():
    """d09: noise of 10 steps for 30 values replayed 10 steps silently; other shapes gave IndexErrors."""
    from latentscm.worlds.timeseries import Trajectory
    from latentscm.worlds.timeseries import make as make_series

    world = make_series("var")
    trajectory = world.sample(30, seed=1)
    for noise in (trajectory.noise[:10], trajectory.noise[:, :4]):
        with pytest.raises(ValueError, match="values \\(T, d\\) and noise \\(T, d\\)"):
            Trajectory(trajectory.values, noise, trajectory.initial, trajectory.var_names)
    with pytest.raises(ValueError, match="values \\(T, d\\)"):
        Trajectory(trajectory.values[:, 0], trajectory.noise[:, 0], trajectory.initial, trajectory.var_names)
    switching = make_series("regime_switching")
    trajectory = switching.sample(30, seed=0)
    short = Trajectory(trajectory.values, trajectory.noise, trajectory.initial, trajectory.var_names,
                       context={"regime": trajectory.context["regime"][:5]})
    with pytest.raises(ValueError, match="'regime' context series"):
        switching.counterfactual(short, {})
    np.testing.assert_array_equal(switching.counterfactual(trajectory, {}).values, trajectory.values)


def test_temporaries_of_writers_on_other_machines_are_left_alone(tmp_path, renames):
    """d10: temporaries were named by the pid alone, and every one whose pid is not alive on this
    machine was deleted, a live writer's on another machine (shared cache) included."""
    import os
    import re
    import socket

    from latentscm.worlds import store

    world = make("sprites", size=16)
    key = dataset_key(world, 8, 0)[0]
    prefix = f".tmp-sprites-{key[:16]}-"
    host = re.sub(r"[^A-Za-z0-9._]", "_", socket.gethostname()) or "host"
    renamed = renames(store)
    pid = 4_000_000 + 17  # beyond pid_max: not alive here
    other = tmp_path / f"{prefix}other-host-{pid}"
    mine = tmp_path / f"{prefix}{host}-{pid}"
    legacy = tmp_path / f"{prefix}{pid}"  # pid-only names (as latentscm.data.store writes) are this machine's
    for path in (other, mine, legacy):
        path.mkdir()
    generate(world, 8, seed=0, root=tmp_path)
    # the writer's temporary names its machine and process (then a token of the call: threads share the pid)
    assert len(renamed) == 1 and renamed[0].startswith(f"{prefix}{host}-{os.getpid()}~")
    assert other.exists() and not mine.exists() and not legacy.exists()


def test_counterfactuals_compose():
    """d11: a counterfactual of a counterfactual forgot the first intervention wherever it recomputed that
    factor: cf(cf(b, do(water_height=3)), do(ball_size=0.5)) gave water_height 1.6, 3.5, ... instead of 3."""
    from latentscm.interventions import Shift
    from latentscm.worlds import DomainShift, make
    from latentscm.worlds.batch import Batch

    world = make("flow", grid=False, size=16)
    batch = world.sample(6, seed=0)
    chained = world.counterfactual(world.counterfactual(batch, {"water_height": 3.0}), {"ball_size": 0.5})
    both = world.counterfactual(batch, {"water_height": 3.0, "ball_size": 0.5})
    np.testing.assert_array_equal(chained.factors, both.factors)
    np.testing.assert_array_equal(chained.images, both.images)
    assert chained.targets[:, :2].all() and not chained.targets[:, 2:].any()
    # a later intervention on the same factor replaces the earlier one; soft ones compose the same way
    again = world.counterfactual(world.counterfactual(batch, {"water_height": 3.0}), {"water_height": 2.0})
    np.testing.assert_array_equal(again.factors, world.counterfactual(batch, {"water_height": 2.0}).factors)
    soft = world.counterfactual(world.counterfactual(batch, {"water_height": Shift(0.3)}), {"ball_size": 0.5})
    np.testing.assert_allclose(soft.factors, world.counterfactual(
        batch, {"water_height": Shift(0.3), "ball_size": 0.5}).factors)
    # slicing and joining keep the per-sample interventions; a factual batch cannot join a counterfactual one
    np.testing.assert_array_equal(chained[2:4].interventions["water_height"].value, [3.0, 3.0])
    joined = Batch.concatenate([chained[:2], chained[2:]])
    np.testing.assert_array_equal(world.counterfactual(joined, {"hole_position": 3.0}).factors,
                                  world.counterfactual(chained, {"hole_position": 3.0}).factors)
    with pytest.raises(ValueError, match="same kinds of interventions"):
        Batch.concatenate([batch, chained])
    # the domain counterfactual keeps them too, and commutes with the counterfactual
    shifted = make("flow", grid=False, size=16, domains=DomainShift(3, shifted=("water_height",)))
    units = shifted.sample(4, seed=1, domain=1)
    one = shifted.domain_counterfactual(shifted.counterfactual(units, {"ball_size": 0.5}), to_domain=2)
    other = shifted.counterfactual(shifted.domain_counterfactual(units, to_domain=2), {"ball_size": 0.5})
    np.testing.assert_allclose(one.factors, other.factors)
