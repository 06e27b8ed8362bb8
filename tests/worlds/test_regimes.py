"""Regimes: interventional data with known targets, exact counterfactuals per regime, store keys."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.graph import UnknownNodeError
from latentscm.interventions import Do, Shift
from latentscm.scm import AdditiveNoise, Normal
from latentscm.worlds import make
from latentscm.worlds.regimes import RandomDo, Regime, RegimeMixture, interventional_mixture, single_node_regimes
from latentscm.worlds.store import dataset_key, generate

NAMES = ["pendulum_angle", "light_position", "shadow_length", "shadow_position"]


@pytest.fixture(scope="module")
def world():
    return make("pendulum", size=16, noise_std=0.3, grid=False)


def test_observational_sample_is_unchanged_by_the_regime_machinery(world):
    plain = world.sample(20, seed=3)
    explicit = world.sample(20, seed=3, regime=Regime("observational"))
    np.testing.assert_array_equal(plain.factors, explicit.factors)
    np.testing.assert_array_equal(plain.images, explicit.images)
    assert not plain.targets.any() and (plain.regime == 0).all()


def test_targets_match_the_regime_and_the_value_is_set(world):
    regime = Regime("do(shadow_length)", {"shadow_length": Do(5.0)})
    batch = world.sample(30, seed=0, regime=regime)
    assert batch.targets.shape == (30, 4)
    np.testing.assert_array_equal(batch.targets, np.tile([False, False, True, False], (30, 1)))
    np.testing.assert_allclose(batch.factor("shadow_length"), 5.0)


def test_non_descendants_follow_the_observational_mechanisms(world):
    batch = world.sample(40, seed=1, regime=Regime("do(shadow_length)", {"shadow_length": RandomDo("range")}))
    observational = world.scm.evaluate({k: batch.noise[k] for k in world.scm.nodes})
    for name in ("pendulum_angle", "light_position", "shadow_position"):  # no directed path from the target
        np.testing.assert_allclose(batch.factor(name), world.spec(name).snap(observational[name]))
    spec = world.spec("shadow_length")
    values = batch.factor("shadow_length")
    assert values.min() >= spec.low and values.max() <= spec.high
    # drawn independently of the parents: not the observational value
    assert np.abs(values - observational["shadow_length"]).mean() > 0.5


def test_shift_regime_adds_to_the_mechanism_output(world):
    batch = world.sample(25, seed=2, regime=Regime("shift", {"shadow_position": Shift(0.5)}))
    observational = world.scm.evaluate({k: batch.noise[k] for k in world.scm.nodes})
    spec = world.spec("shadow_position")
    np.testing.assert_allclose(batch.factor("shadow_position"), spec.snap(observational["shadow_position"] + 0.5))


def test_replaced_mechanism_regime(world):
    mechanism = AdditiveNoise(lambda parents: 6.0 + 0.0 * parents[:, 0], noise=Normal(0.0, 0.1),
                              parent_names=("pendulum_angle", "light_position"))
    batch = world.sample(200, seed=4, regime=Regime("softer", mechanisms={"shadow_length": mechanism}))
    assert abs(batch.factor("shadow_length").mean() - 6.0) < 0.05
    assert batch.targets[:, 2].all() and not batch.targets[:, [0, 1, 3]].any()


def test_mixture_counts_regime_index_and_targets(world):
    regimes = single_node_regimes(world)
    assert [r.name for r in regimes] == ["observational", *[f"do({n})" for n in NAMES]]
    mixture = interventional_mixture(world, 0.3)
    assert mixture.fractions[0] == pytest.approx(0.7)
    batch = world.sample(100, seed=5, regime=mixture)
    counts = np.bincount(batch.regime, minlength=5)
    np.testing.assert_array_equal(counts, mixture.counts(100))
    assert counts.sum() == 100 and counts[0] == 70
    for r, regime in enumerate(mixture.regimes):
        rows = batch.targets[batch.regime == r]
        expected = np.array([name in regime.targets for name in NAMES])
        assert (rows == expected).all()
    # same seed, same data; the order is shuffled, not blocked
    again = world.sample(100, seed=5, regime=mixture)
    np.testing.assert_array_equal(again.factors, batch.factors)
    assert not np.all(np.diff(batch.regime) >= 0)


def test_counterfactual_of_an_interventional_sample_stays_in_its_regime(world):
    regime = Regime("do(shadow_length)", {"shadow_length": RandomDo()})
    batch = world.sample(16, seed=6, regime=regime)
    same = world.counterfactual(batch, {})
    np.testing.assert_array_equal(same.factors, batch.factors)
    np.testing.assert_array_equal(same.images, batch.images)
    moved = world.counterfactual(batch, {"light_position": Do(1.2)})
    # the unit lived under do(shadow_length): its shadow length stays, its position follows the light
    np.testing.assert_array_equal(moved.factor("shadow_length"), batch.factor("shadow_length"))
    assert np.abs(moved.factor("shadow_position") - batch.factor("shadow_position")).max() > 0.1
    np.testing.assert_array_equal(moved.regime, batch.regime)
    # an observational unit with the same noise recomputes the length
    plain = world.sample(16, seed=6)
    plain_moved = world.counterfactual(plain, {"light_position": Do(1.2)})
    assert np.abs(plain_moved.factor("shadow_length") - plain.factor("shadow_length")).max() > 0.01


def test_counterfactual_per_sample_values_across_regimes(world):
    batch = world.sample(30, seed=7, regime=interventional_mixture(world, 0.5))
    values = np.linspace(1.0, 2.2, 30)
    moved = world.counterfactual(batch, {"light_position": Do(values)})
    np.testing.assert_allclose(moved.factor("light_position"), values)


def test_batch_slicing_and_concatenation_keep_regimes(world):
    a = world.sample(10, seed=8, regime=interventional_mixture(world, 0.5))
    b = world.sample(6, seed=9)
    joined = type(a).concatenate([a, b])
    assert len(joined) == 16 and len(joined.regimes) == 5
    assert [joined.regimes[i].name for i in joined.regime[10:]] == ["observational"] * 6
    part = a[np.array([1, 3])]
    np.testing.assert_array_equal(part.targets, a.targets[[1, 3]])


def test_dataset_key_changes_with_the_regime_mix(world):
    base, _ = dataset_key(world, 50, 0)
    observational, _ = dataset_key(world, 50, 0, regime=Regime("observational"))
    a, identity = dataset_key(world, 50, 0, regime=interventional_mixture(world, 0.3))
    b, _ = dataset_key(world, 50, 0, regime=interventional_mixture(world, 0.5))
    assert base == observational
    assert len({base, a, b}) == 3
    assert identity["regimes"]["fractions"][0] == pytest.approx(0.7)


def test_stored_interventional_dataset_round_trip(world, tmp_path):
    mixture = interventional_mixture(world, 0.4)
    stored = generate(world, 40, seed=1, root=tmp_path, regime=mixture)
    batch = stored.batch(slice(0, 40))
    direct = world.sample(40, seed=1, regime=mixture)
    np.testing.assert_array_equal(batch.targets, direct.targets)
    np.testing.assert_array_equal(batch.regime, direct.regime)
    assert [r.name for r in batch.regimes] == [r.name for r in mixture.regimes]
    assert (stored.path / "regimes.npz").exists()


def test_description_round_trip():
    mixture = RegimeMixture([Regime("observational"), Regime("a", {"x": Do(1.0), "y": RandomDo("marginal")}),
                             Regime("b", {"z": Shift(-0.5)})], [0.5, 0.25, 0.25])
    again = RegimeMixture.from_description(mixture.describe())
    assert again.describe() == mixture.describe()


def test_bad_input_gets_clear_errors(world):
    with pytest.raises(UnknownNodeError, match="colour"):
        world.sample(5, seed=0, regime=Regime("bad", {"colour": Do(1.0)}))
    with pytest.raises(ValueError, match="interventional_fraction"):
        interventional_mixture(world, 1.5)
    with pytest.raises(ValueError, match="interventional_fraction"):
        interventional_mixture(world, -0.1)
    with pytest.raises(ValueError, match="sum to 1"):
        RegimeMixture([Regime("a"), Regime("b")], [0.5, 0.6])
    with pytest.raises(ValueError, match="distinct names"):
        RegimeMixture([Regime("a"), Regime("a")])
    with pytest.raises(ValueError, match="source"):
        RandomDo("everywhere")
    with pytest.raises(ValueError, match="scalar"):
        Regime("arr", {"shadow_length": Do(np.ones(3))})
    with pytest.raises(ValueError, match="out of range"):
        world.sample(5, seed=0, regime=Regime("far", {"shadow_length": Do(100.0)}))
    with pytest.raises(UnknownNodeError, match="factor in regime"):
        single_node_regimes(world, factors=["pendulum_angle", "wind"])


def test_generate_removes_temporaries_of_killed_generators(world, tmp_path):
    import subprocess
    import sys

    from latentscm.worlds.store import dataset_key

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    key, _ = dataset_key(world, 8, 0)
    orphan = tmp_path / f".tmp-{world.name}-{key[:16]}-{dead.pid}"
    orphan.mkdir()
    (orphan / "images.npy").write_bytes(b"half written")
    generate(world, 8, seed=0, root=tmp_path)
    assert not orphan.exists()
    assert not list(tmp_path.glob(".tmp-*"))
