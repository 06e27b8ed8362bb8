"""TemporalWorld: exact temporal intervened sequences over a World's factors (CITRIS's data)."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm import worlds
from latentscm.data import TemporalTransitions
from latentscm.worlds import TemporalWorld
from latentscm.worlds.temporal import default_variables, reflect


@pytest.fixture(scope="module")
def world():
    return worlds.make("hue-sprites", size=16, n_positions=8, n_scales=4)


@pytest.fixture(scope="module")
def temporal(world):
    return TemporalWorld(world)


@pytest.fixture(scope="module")
def batch(temporal):
    return temporal.sample(12, 30, seed=3)


def test_reflect_folds_into_range_and_keeps_inside_values():
    x = np.array([-0.5, 0.0, 0.99, 1.2, -1.3, 3.5, -2.5])
    y = reflect(x)
    np.testing.assert_allclose(y, [-0.5, 0.0, 0.99, 0.8, -0.7, -0.5, 0.5], atol=1e-12)
    assert np.all(np.abs(reflect(np.linspace(-20, 20, 1001))) <= 1.0)


def test_default_variables_leave_out_categorical_factors(world):
    assert default_variables(world) == ["scale", "posX", "posY", "hue"]
    sprites = worlds.make("sprites", size=16)
    assert "shape" not in default_variables(sprites)


def test_sample_shapes_targets_and_rendering(temporal, batch, world):
    n, t, v = 12, 30, 4
    assert batch.images.shape == (n, t, 3, 16, 16) and batch.images.dtype == np.float32
    assert batch.factors.shape == (n, t, 5) and batch.state.shape == (n, t, v)
    assert batch.targets.shape == (n, t, v) and batch.targets.dtype == bool
    assert not batch.targets[:, 0].any()
    assert np.all(np.abs(batch.state) <= 1.0)
    # every frame is the world's rendering of its factors; the variables' factors are the mapped, snapped state
    flat = batch.factors.reshape(n * t, -1)
    np.testing.assert_array_equal(batch.images.reshape(n * t, 3, 16, 16), world.render(flat))
    np.testing.assert_array_equal(batch.variable_values(), temporal.to_factor_values(batch.state))
    # the other factor (shape) is fixed within each sequence
    shape = batch.factors[:, :, 0]
    assert np.all(shape == shape[:, :1])


def test_same_seed_same_sequences_other_seed_others(temporal, batch):
    again = temporal.sample(12, 30, seed=3)
    np.testing.assert_array_equal(again.images, batch.images)
    np.testing.assert_array_equal(again.targets, batch.targets)
    other = temporal.sample(12, 30, seed=4)
    assert not np.array_equal(other.state, batch.state)


def test_each_step_follows_the_structural_equations(temporal, batch):
    # recompute step t from step t - 1 by hand: chain scale -> posX -> posY -> hue, pull 0.5, noise 0.1
    previous, current = batch.state[:, :-1], batch.state[:, 1:]
    goal = previous.copy()
    goal[..., 1] = np.sin(np.pi / 2 * previous[..., 0])
    goal[..., 2] = np.sin(np.pi / 2 * previous[..., 1])
    goal[..., 3] = np.sin(np.pi / 2 * previous[..., 2])
    moved = reflect(previous + 0.5 * (goal - previous) + 0.1 * batch.noise[:, 1:])
    expected = np.where(batch.targets[:, 1:], batch.draws[:, 1:], moved)
    np.testing.assert_allclose(current, expected, atol=1e-12)


def test_two_parents_take_alternating_signs(world):
    temporal = TemporalWorld(world, ["scale", "posX", "hue"], {"hue": ["scale", "posX"]}, intervention_prob=0.0,
                             noise=0.0, pull=1.0)
    b = temporal.sample(5, 3, seed=0)
    expected = np.sin(np.pi / 2 * (b.state[:, 0, 0] - b.state[:, 0, 1]) / 2)
    np.testing.assert_allclose(b.state[:, 1, 2], expected, atol=1e-12)
    np.testing.assert_array_equal(b.state[:, 1, :2], b.state[:, 0, :2])  # roots: a random walk with no noise


def test_intervention_policies_have_the_stated_frequencies(world):
    independent = TemporalWorld(world, intervention_prob=0.3).sample(200, 40, seed=0)
    rates = independent.targets[:, 1:].mean(axis=(0, 1))
    np.testing.assert_allclose(rates, 0.3, atol=0.02)
    single = TemporalWorld(world, intervention_prob=0.4, targets="single").sample(200, 40, seed=0)
    per_step = single.targets[:, 1:].sum(axis=2)
    assert per_step.max() == 1
    assert abs(per_step.mean() - 0.4) < 0.02
    np.testing.assert_allclose(single.targets[:, 1:].mean(axis=(0, 1)), 0.1, atol=0.01)


def test_parents_drive_children_and_not_the_reverse(world):
    b = TemporalWorld(world, intervention_prob=0.0).sample(300, 30, seed=1)
    # posX^{t+1} moves towards sin(pi/2 scale^t): the change of posX correlates with its goal gap
    gap = np.sin(np.pi / 2 * b.state[:, :-1, 0]) - b.state[:, :-1, 1]
    step = b.state[:, 1:, 1] - b.state[:, :-1, 1]
    assert np.corrcoef(gap.ravel(), step.ravel())[0, 1] > 0.8
    # scale (a root) walks freely: its change has nothing to do with posX
    reverse = np.sin(np.pi / 2 * b.state[:, :-1, 1]) - b.state[:, :-1, 0]
    root_step = b.state[:, 1:, 0] - b.state[:, :-1, 0]
    assert abs(np.corrcoef(reverse.ravel(), root_step.ravel())[0, 1]) < 0.1


def test_temporal_graph_and_description_round_trip(world, temporal, batch):
    expected = np.eye(4, dtype=bool)
    expected[0, 1] = expected[1, 2] = expected[2, 3] = True
    np.testing.assert_array_equal(temporal.temporal_graph(), expected)
    rebuilt = TemporalWorld(world, **temporal.describe())
    np.testing.assert_array_equal(rebuilt.sample(12, 30, seed=3).images, batch.images)
    assert "posX->posY" in repr(temporal)


def test_counterfactual_reruns_the_same_noise(temporal, batch):
    same = temporal.counterfactual(batch, {"posX": 0.5}, at=0)
    assert not same.targets[:, 0].any()  # step 0 has no transition: the value is its initial state
    np.testing.assert_allclose(same.state[:, 0, 1], 0.0)  # posX 0.5, the middle of its range
    # doing at step 10 what already happened changes nothing
    spec = temporal.world.spec("posX")
    actual = spec.low + (batch.state[:, 10, 1] + 1) / 2 * (spec.high - spec.low)
    replay = temporal.counterfactual(batch, {"posX": actual}, at=10)
    np.testing.assert_allclose(replay.state, batch.state, atol=1e-12)
    np.testing.assert_array_equal(replay.images, batch.images)
    # a real intervention: the past and the non-descendants stay, the variable is set, its child moves later
    cf = temporal.counterfactual(batch, {"posX": spec.low}, at=10)
    np.testing.assert_array_equal(cf.state[:, :10], batch.state[:, :10])
    np.testing.assert_array_equal(cf.state[:, :, 0], batch.state[:, :, 0])  # scale is no descendant of posX
    np.testing.assert_allclose(cf.state[:, 10, 1], -1.0)
    np.testing.assert_array_equal(cf.state[:, 10, 2:], batch.state[:, 10, 2:])  # no instantaneous effects
    moved = np.abs(cf.state[:, 11, 2] - batch.state[:, 11, 2])
    free = ~batch.targets[:, 11, 2]
    assert np.all(moved[free] > 0)
    np.testing.assert_array_equal(cf.images[:, :10], batch.images[:, :10])
    assert cf.targets[:, 10, 1].all()


def test_triplets_mix_the_masked_variables(temporal, world):
    t = temporal.triplets(50, seed=2)
    assert t.mask.shape == (50, 4) and t.mask.any(axis=1).all() and not t.mask.all(axis=1).any()
    columns = [world.factor_names.index(v) for v in temporal.variables]
    mixed = np.where(t.mask, t.second_factors[:, columns], t.first_factors[:, columns])
    np.testing.assert_array_equal(t.combined_factors[:, columns], mixed)
    np.testing.assert_array_equal(t.combined_factors[:, 0], t.first_factors[:, 0])  # shape from the first
    np.testing.assert_array_equal(t.combined, world.render(t.combined_factors))


def test_independent_frames_draw_each_variable_alone(temporal, world):
    images, factors = temporal.independent_frames(3000, seed=0)
    assert images.shape == (3000, 3, 16, 16)
    columns = [world.factor_names.index(v) for v in temporal.variables]
    correlation = np.corrcoef(factors[:, columns].T)
    assert np.max(np.abs(correlation - np.eye(4))) < 0.06


def test_transitions_are_consecutive_frames(temporal):
    first, second, targets, factors = temporal.transitions(100, seed=0, length=11)
    b = temporal.sample(10, 11, seed=0)
    np.testing.assert_array_equal(first, b.images[:, :-1].reshape(100, 3, 16, 16))
    np.testing.assert_array_equal(second, b.images[:, 1:].reshape(100, 3, 16, 16))
    np.testing.assert_array_equal(targets, b.targets[:, 1:].reshape(100, 4))
    assert factors.shape == (100, 5)
    assert temporal.transitions(7, seed=0, length=5)[0].shape[0] == 7
    short = TemporalWorld(temporal.world, sequence_length=11)  # the default length of transitions
    np.testing.assert_array_equal(short.transitions(100, seed=0)[0], first)


@pytest.mark.parametrize("kwargs, match", [
    ({"variables": ["shape"]}, "categorical"),
    ({"variables": ["size"]}, "not a factor"),
    ({"variables": []}, "empty"),
    ({"variables": ["posX", "posX"]}, "repeats"),
    ({"parents": {"posX": ["posX"]}}, "own parent"),
    ({"parents": {"posX": ["shape"]}}, "not one of the variables"),
    ({"parents": {"nope": ["posX"]}}, "'nope'"),
    ({"pull": 0.0}, "pull"),
    ({"noise": -1.0}, "noise"),
    ({"intervention_prob": 1.5}, "intervention_prob"),
    ({"targets": "all"}, "targets"),
    ({"sequence_length": 1}, "sequence_length"),
])
def test_bad_arguments_are_named(world, kwargs, match):
    with pytest.raises(ValueError, match=match):
        TemporalWorld(world, **kwargs)


def test_bad_calls_are_named(world, temporal, batch):
    with pytest.raises(TypeError, match="World"):
        TemporalWorld("hue-sprites")
    with pytest.raises(ValueError, match="length"):
        temporal.sample(3, 1, seed=0)
    with pytest.raises(ValueError, match="'hue'.*range"):
        temporal.counterfactual(batch, {"hue": 5.0}, at=3)
    with pytest.raises(ValueError, match="not a causal variable"):
        temporal.counterfactual(batch, {"shape": 1.0}, at=3)
    with pytest.raises(ValueError, match="at"):
        temporal.counterfactual(batch, {"hue": 0.1}, at=30)
    other = TemporalWorld(world, ["posX", "posY"])
    with pytest.raises(ValueError, match="TemporalBatch drawn from this"):
        other.counterfactual(batch, {"posX": 0.5}, at=3)
    with pytest.raises(ValueError, match="one\\s+variable"):
        TemporalWorld(world, ["posX"]).triplets(3, seed=0)


def test_temporal_transitions_check_their_arrays():
    images = np.zeros((4, 1, 8, 8), np.float32)
    data = TemporalTransitions(images, images, np.array([[0, 1]] * 4), ["a", "b"])
    assert data.targets.dtype == bool and len(data) == 4
    with pytest.raises(ValueError, match="next_images"):
        TemporalTransitions(images, images[:3], np.zeros((4, 2), bool), ["a", "b"])
    with pytest.raises(ValueError, match="targets"):
        TemporalTransitions(images, images, np.zeros((3, 2), bool), ["a", "b"])
    with pytest.raises(ValueError, match="targets"):
        TemporalTransitions(images, images, np.full((4, 2), 2), ["a", "b"])
    with pytest.raises(ValueError, match="variables"):
        TemporalTransitions(images, images, np.zeros((4, 2), bool), ["a"])
    with pytest.raises(ValueError, match="variables"):
        TemporalTransitions(images, images, np.zeros((4, 2), bool), ["a", "a"])


def test_other_factors_can_follow_the_variables_through_the_worlds_mechanisms():
    pendulum = worlds.make("pendulum", size=16, grid=False)
    temporal = TemporalWorld(pendulum, ["pendulum_angle", "light_position"], others="mechanisms")
    assert temporal.describe()["others"] == "mechanisms"
    b = temporal.sample(3, 6, seed=0)
    # each frame is the world's exact counterfactual of the sequence's sample under do(angle, light)
    for t in (0, 5):
        from latentscm.worlds.base import Batch

        base = Batch(np.zeros((3, 1, 1, 1), np.float32), b.fixed, b.base_noise, tuple(pendulum.factor_names))
        expected = pendulum.counterfactual(base, {"pendulum_angle": b.factors[:, t, 0],
                                                  "light_position": b.factors[:, t, 1]})
        np.testing.assert_allclose(b.factors[:, t], expected.factors)
        np.testing.assert_array_equal(b.images[:, t], expected.images)
    assert np.ptp(b.factors[:, :, 3], axis=1).min() > 0  # the shadow moves with the angle and the light
    kept = TemporalWorld(pendulum, ["pendulum_angle", "light_position"]).sample(3, 6, seed=0)
    assert np.all(kept.factors[:, :, 3] == kept.factors[:, :1, 3])  # "fixed": the shadow stays as drawn
    cf = temporal.counterfactual(b, {"light_position": pendulum.spec("light_position").low}, at=2)
    np.testing.assert_array_equal(cf.factors[:, :2], b.factors[:, :2])
    assert not np.allclose(cf.factors[:, 2, 3], b.factors[:, 2, 3])  # the shadow follows at once
    t = temporal.triplets(5, seed=0)
    assert t.combined.shape == (5, 3, 16, 16)
    with pytest.raises(ValueError, match="others"):
        TemporalWorld(pendulum, others="free")
