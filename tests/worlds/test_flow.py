"""The CausalVAE water-flow world: original grid, physics, exact counterfactuals, options."""

import numpy as np
import pytest

from latentscm.graph import CycleError, UnknownNodeError
from latentscm.scm import AdditiveNoise, Normal
from latentscm.testing import check_world
from latentscm.worlds import make
from latentscm.worlds.flow import Flow, flow_reach
from latentscm.worlds.store import dataset_key


def abduct(world, batch, name):
    """The noise of factor ``name`` recovered from the batch's factors by its mechanism's inverse
    (through ``OnGrid.base``: base.OnGrid does not forward ``abduct`` yet, reported)."""
    parents = np.stack([batch.factor(p) for p in world.scm.parent_order(name)], axis=1)
    return world.scm.mechanisms[name].base.abduct(batch.factor(name), parents)


def test_grid_matches_the_original():
    world = Flow()
    ball, water, hole, flow = world.factor_specs
    np.testing.assert_array_equal(ball.values, np.arange(5, 35) / 30.0)
    np.testing.assert_array_equal(hole.values, np.arange(6, 15) / 3.0)
    np.testing.assert_array_equal(world.scm.mechanisms["water_height"].noise.values, np.arange(10, 40) / 10.0)
    assert ball.size * world.scm.mechanisms["water_height"].noise.values.size * hole.size == 8100
    assert not water.discrete and not flow.discrete
    reference = Flow.reference_factors()
    assert reference.shape == (8100, 4)
    for j, spec in enumerate(world.factor_specs):
        spec.check(reference[:, j])
    assert np.unique(reference[:, :3], axis=0).shape[0] == 8100  # every original image is distinct
    continuous = Flow(grid=False)
    assert (continuous.factor_specs[0].low, continuous.factor_specs[0].high) == (5 / 30, 34 / 30)
    assert (continuous.factor_specs[2].low, continuous.factor_specs[2].high) == (2.0, 14 / 3)


def test_physics_hand_computed():
    # r = 15, h_raw = 20, hole = 9: R = 0.5, h = 0.125 + 2.0 = 2.125, hole height 3,
    # reach = sqrt(2 * 0.98 * 2.125 * (3 - 0.5)) = sqrt(10.4125)
    reference = Flow.reference_factors()
    row = reference[(15 - 5) * 270 + (20 - 10) * 9 + (9 - 6)]
    np.testing.assert_allclose(row, [0.5, 2.125, 3.0, np.sqrt(10.4125)])
    np.testing.assert_allclose(flow_reach(np.array([2.125]), np.array([3.0])), [3.2268405], rtol=1e-7)
    batch = Flow().sample(500, seed=0)
    raw = batch.factor("water_height") - batch.factor("ball_size") ** 3
    np.testing.assert_allclose(raw * 10, np.rint(raw * 10), atol=1e-9)  # the water's own part is h_raw / 10
    np.testing.assert_allclose(batch.factor("flow"), flow_reach(batch.factor("water_height"),
                                                                batch.factor("hole_position")))


@pytest.mark.parametrize("options", [
    {},
    {"grid": False, "noise_std": 0.3, "size": 32},
    {"graph": "hole_position -> ball_size -> water_height -> flow\nhole_position -> flow",
     "mechanisms": {"ball_size": AdditiveNoise(lambda p: 1.5 - 0.25 * p[:, 0], Normal(0, 0.1))}},
], ids=["original", "continuous-noisy", "custom-graph"])
def test_check_world(options):
    report = check_world(Flow(**options), n=12)
    assert all(fraction == 0.0 for fraction in report["unchanged_fraction"].values())


def test_interventions_follow_the_graph():
    world = Flow()
    batch = world.sample(30, seed=1)
    cf = world.counterfactual(batch, {"ball_size": 1.0})
    np.testing.assert_array_equal(cf.factor("hole_position"), batch.factor("hole_position"))
    # same water amount, bigger ball: height rises by the displacement difference
    np.testing.assert_allclose(cf.factor("water_height"),
                               batch.factor("water_height") - batch.factor("ball_size") ** 3 + 1.0)
    np.testing.assert_allclose(cf.factor("flow"), flow_reach(cf.factor("water_height"), cf.factor("hole_position")))
    np.testing.assert_array_equal(cf.images, world.render(cf.factors))
    cf = world.counterfactual(batch, {"hole_position": 4.0})
    for name in ("ball_size", "water_height"):
        np.testing.assert_array_equal(cf.factor(name), batch.factor(name))
    cf = world.counterfactual(batch, {"water_height": 3.0})
    np.testing.assert_array_equal(cf.factor("ball_size"), batch.factor("ball_size"))
    np.testing.assert_allclose(cf.factor("flow"), flow_reach(np.full(30, 3.0), batch.factor("hole_position")))
    cf = world.counterfactual(batch, {"flow": 2.0})
    np.testing.assert_array_equal(cf.factors[:, :3], batch.factors[:, :3])


def test_noise_makes_counterfactuals_differ_from_interventions():
    world = Flow(grid=False, noise_std=0.3)
    batch = world.sample(200, seed=2)
    inside = (batch.factor("flow") > 0.2) & (batch.factor("flow") < 8.0)
    noise = abduct(world, batch, "flow")
    np.testing.assert_allclose(noise[inside], batch.noise["flow"][inside], atol=1e-9)
    np.testing.assert_allclose(abduct(world, batch, "water_height"), batch.noise["water_height"], atol=1e-9)
    cf = world.counterfactual(batch, {"hole_position": 4.5})
    expected = np.clip(flow_reach(batch.factor("water_height"), np.full(200, 4.5)) + noise, 0.2, 8.0)
    np.testing.assert_allclose(cf.factor("flow")[inside], expected[inside], atol=1e-9)
    np.testing.assert_array_equal(world.render(cf.factors), cf.images)
    model = world.scm.do({"hole_position": 4.5})
    fresh = model.sample_noise(200, seed=7)
    fresh.update({n: batch.noise[n] for n in ("ball_size", "water_height")})
    plain = model.evaluate(fresh)
    np.testing.assert_allclose(plain["water_height"], cf.factor("water_height"))
    assert np.mean(np.abs(plain["flow"] - cf.factor("flow"))) > 0.1


def test_jet_reaches_the_drawn_distance():
    world = Flow(size=128, grid=False)
    factors = np.array([[0.5, 3.0, 4.0, reach] for reach in (2.0, 4.0, 6.0)])
    images = world.render(factors)
    for image, reach in zip(images, (2.0, 4.0, 6.0)):
        blue = (image[2] > 0.8) & (image[0] < 0.8)  # sky blue: water and jet
        rows = slice(int(128 * (1 - 1.5 / 20)), int(128 * (1 - 0.75 / 20)))  # just above the ground line
        columns = np.nonzero(blue[rows].any(axis=0))[0]
        x_end = (columns.max() + 0.5) * 20 / 128
        assert abs(x_end - (8 + reach)) < 0.6, (x_end, reach)


def test_symmetries_measured():
    """Smallest changes (one grid step, 0.01 % of a range) and random changes all change the image."""
    world = Flow(size=32)
    assert world.symmetries == {}
    batch = world.sample(100, seed=5)
    rng = np.random.default_rng(0)
    for j, spec in enumerate(world.factor_specs):
        if spec.discrete:
            index = spec.index_of(batch.factors[:, j])
            new = spec.values[index + np.where(index == 0, 1, -1)]
        else:
            delta = 1e-4 * (spec.high - spec.low)
            new = np.where(batch.factors[:, j] + delta <= spec.high, batch.factors[:, j] + delta,
                           batch.factors[:, j] - delta)
        for values in (new, rng.permutation(new)):
            changed = batch.factors.copy()
            changed[:, j] = values
            moved = changed[:, j] != batch.factors[:, j]
            images = world.render(changed)
            same = np.all(images.reshape(100, -1) == batch.images.reshape(100, -1), axis=1)
            assert not np.any(same & moved), spec.name


def test_options_and_registry():
    world = make("flow", size=24, noise_std=0.2, grid=False)
    assert world.image_shape == (3, 24, 24)
    assert world.options()["noise_std"] == 0.2
    np.testing.assert_array_equal(Flow(**world.options()).sample(3, seed=1).images, world.sample(3, seed=1).images)
    custom = Flow(graph=world.graph)  # a CausalGraph option is kept as text, so stored datasets can hash it
    assert isinstance(custom.options()["graph"], str)
    assert dataset_key(custom, 10, 0)[0] != dataset_key(Flow(), 10, 0)[0]
    batch = world.sample(40, seed=2)  # an image does not depend on the batch it was rendered in
    alone = np.concatenate([world.render(batch.factors[k:k + 1]) for k in range(0, 40, 7)])
    np.testing.assert_array_equal(alone, batch.images[::7])


def test_bad_input_errors():
    with pytest.raises(ValueError, match="'size' parameter of Flow must be an int >= 16"):
        Flow(size=4)
    with pytest.raises(ValueError, match="'noise_std' parameter of Flow"):
        Flow(noise_std=1.0)
    with pytest.raises(TypeError, match="'grid' parameter of Flow must be a bool"):
        Flow(grid=1)
    with pytest.raises(UnknownNodeError, match="Unknown world 'flwo'"):
        make("flwo")
    world = Flow()
    batch = world.sample(2, seed=0)
    with pytest.raises(ValueError, match="Unknown intervention target 'ball'"):
        world.counterfactual(batch, {"ball": 1.0})
    with pytest.raises(ValueError, match="Factor 'ball_size': intervention value 0.51 is not on its grid"):
        world.counterfactual(batch, {"ball_size": 0.51})
    with pytest.raises(ValueError, match="Factor 'flow': intervention value 9.0 is out of range"):
        world.counterfactual(batch, {"flow": 9.0})
    with pytest.raises(CycleError):
        Flow(graph="ball_size -> water_height -> flow -> ball_size")
    with pytest.raises(ValueError, match="node 'hole_position' has parents"):
        Flow(graph="ball_size -> hole_position")
