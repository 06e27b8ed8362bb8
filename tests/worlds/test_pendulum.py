"""The CausalVAE pendulum world: original grid, shadow physics, exact counterfactuals, options."""

import numpy as np
import pytest

from latentscm.graph import CycleError, UnknownNodeError
from latentscm.scm import AdditiveNoise, Normal, Root, Uniform
from latentscm.testing import check_world
from latentscm.worlds import make
from latentscm.worlds.pendulum import Pendulum, light_x, shadow_geometry
from latentscm.worlds.store import dataset_key

ANGLES = np.arange(-40, 44) * np.pi / 200
LIGHTS = np.array([j for j in range(60, 148) if j != 100]) * np.pi / 200


def abduct(world, batch, name):
    """The noise of factor ``name`` recovered from the batch's factors by its mechanism's inverse.

    Goes through ``OnGrid.base`` because base.OnGrid does not forward ``abduct`` yet (reported)."""
    mechanism = world.scm.mechanisms[name]
    parents = np.stack([batch.factor(p) for p in world.scm.parent_order(name)], axis=1)
    return mechanism.base.abduct(batch.factor(name), parents)


def unchanged_fraction(world, batch, j, new_values):
    """Fraction of images left unchanged when factor j is set to new_values (N,)."""
    changed = batch.factors.copy()
    changed[:, j] = new_values
    images = world.render(changed)
    return float(np.mean(np.all(images.reshape(len(batch), -1) == batch.images.reshape(len(batch), -1), axis=1)))


def test_grid_matches_the_original():
    world = Pendulum()
    angle, light, length, position = world.factor_specs
    np.testing.assert_array_equal(angle.values, ANGLES)
    np.testing.assert_array_equal(light.values, LIGHTS)
    assert angle.size == 84 and light.size == 87 and angle.size * light.size == 7308
    assert not np.any(np.isclose(light.values, np.pi / 2))  # the original skipped j = 100
    assert not length.discrete and not position.discrete
    reference = Pendulum.reference_factors()
    assert reference.shape == (7308, 4)
    np.testing.assert_array_equal(reference[:87, 0], ANGLES[0])
    np.testing.assert_array_equal(reference[:87, 1], LIGHTS)
    for j, spec in enumerate(world.factor_specs):
        spec.check(reference[:, j])  # every original image is in range
    continuous = Pendulum(grid=False)
    assert continuous.factor_specs[0].low == ANGLES[0] and continuous.factor_specs[0].high == ANGLES[-1]
    assert continuous.factor_specs[1].low == LIGHTS[0] and continuous.factor_specs[1].high == LIGHTS[-1]


def test_shadow_physics_hand_computed():
    # theta = 0, phi = pi/4: the rays fall at 45 degrees, cot = 1. Pivot (10, 10.5) -> 10 - 11 = -1,
    # bob edge (10, 1) -> 10 - 1.5 = 8.5: midpoint 3.75, length 9.5.
    length, position = shadow_geometry(np.array([0.0]), np.array([np.pi / 4]))
    np.testing.assert_allclose(length, [9.5])
    np.testing.assert_allclose(position, [3.75])
    # closed form of the projection distance: 9.5 |cos(theta - phi)| / sin(phi), clamped at 3
    theta, phi, length, position = Pendulum.reference_factors().T
    np.testing.assert_allclose(length, np.maximum(3, 9.5 * np.abs(np.cos(theta - phi)) / np.sin(phi)), atol=1e-9)
    assert np.mean(length == 3.0) > 0.05  # the clamp is active for part of the grid
    # light straight down (phi = pi/2): shadow right under the pendulum, no singularity
    length, position = shadow_geometry(np.array([0.3]), np.array([np.pi / 2]))
    np.testing.assert_allclose(position, [10 + 9.5 * np.sin(0.3) / 2])
    np.testing.assert_allclose(light_x(np.array([np.pi / 2])), [10.0], atol=1e-12)


@pytest.mark.parametrize("options", [
    {},
    {"grid": False, "noise_std": 0.3, "size": 32},
    {"graph": "pendulum_angle -> light_position\npendulum_angle, light_position -> shadow_length, shadow_position",
     "mechanisms": {"light_position": AdditiveNoise(lambda p: 1.6 - 0.8 * p[:, 0], Normal(0, 0.1))}},
], ids=["original", "continuous-noisy", "custom-graph"])
def test_check_world(options):
    world = Pendulum(**options)
    report = check_world(world, n=12)
    assert all(fraction == 0.0 for fraction in report["unchanged_fraction"].values())


def test_custom_graph_correlates_causes_and_stays_on_grid():
    world = Pendulum(graph="pendulum_angle -> light_position\n"
                           "pendulum_angle, light_position -> shadow_length, shadow_position",
                     mechanisms={"light_position": AdditiveNoise(lambda p: 1.6 - 0.8 * p[:, 0], Normal(0, 0.1))})
    batch = world.sample(300, seed=0)
    theta, phi = batch.factor("pendulum_angle"), batch.factor("light_position")
    assert np.all(np.isin(phi, LIGHTS))
    assert np.corrcoef(theta, phi)[0, 1] < -0.7
    length, position = shadow_geometry(theta, phi)  # the physics still drives the shadow
    np.testing.assert_allclose(batch.factor("shadow_length"), length)


def test_hidden_confounder_variant():
    world = Pendulum(grid=False, graph="sun_season -> pendulum_angle, light_position\n"
                                       "pendulum_angle, light_position -> shadow_length, shadow_position",
                     mechanisms={"sun_season": Root(Uniform(0, 1)),
                                 "pendulum_angle": AdditiveNoise(lambda p: -0.5 + p[:, 0], Normal(0, 0.05)),
                                 "light_position": AdditiveNoise(lambda p: 1.2 + 0.8 * p[:, 0], Normal(0, 0.05))})
    assert world.hidden == ("sun_season",)
    batch = world.sample(300, seed=1)
    assert np.corrcoef(batch.factor("pendulum_angle"), batch.factor("light_position"))[0, 1] > 0.8
    cf = world.counterfactual(batch, {"pendulum_angle": 0.0})
    np.testing.assert_array_equal(cf.factor("light_position"), batch.factor("light_position"))


def test_intervening_on_light_moves_shadow_and_keeps_angle():
    world = Pendulum()
    batch = world.sample(20, seed=3)
    phi = LIGHTS[5]
    cf = world.counterfactual(batch, {"light_position": phi})
    np.testing.assert_array_equal(cf.factor("pendulum_angle"), batch.factor("pendulum_angle"))
    length, position = shadow_geometry(batch.factor("pendulum_angle"), np.full(20, phi))
    np.testing.assert_allclose(cf.factor("shadow_length"), length)
    np.testing.assert_allclose(cf.factor("shadow_position"), position)
    np.testing.assert_array_equal(cf.images, world.render(cf.factors))
    # intervening on an effect keeps both causes and the other effect
    cf = world.counterfactual(batch, {"shadow_length": 10.0})
    for name in ("pendulum_angle", "light_position", "shadow_position"):
        np.testing.assert_array_equal(cf.factor(name), batch.factor(name))
    np.testing.assert_array_equal(cf.factor("shadow_length"), 10.0)


def test_light_and_shadow_sit_on_opposite_sides():
    world = Pendulum(size=64)
    right_light = np.array([[0.0, LIGHTS[0], *[v[0] for v in shadow_geometry([0.0], [LIGHTS[0]])]]])
    image = world.render(right_light)[0]
    orange = (image[0] > 0.9) & (image[1] > 0.5) & (image[1] < 0.8) & (image[2] < 0.2)
    columns = np.nonzero(orange)[1]
    assert columns.mean() > 40  # light on the right (x = 17.3 of 20)
    bottom = image[:, -2:, :].mean(axis=(0, 1))  # the shadow row(s)
    dark = np.nonzero(bottom < 0.5)[0]
    assert dark.mean() < 32  # shadow on the left


def test_noise_makes_counterfactuals_differ_from_interventions():
    world = Pendulum(grid=False, noise_std=0.3)
    batch = world.sample(200, seed=4)
    abducted = {name: abduct(world, batch, name) for name in ("shadow_length", "shadow_position")}
    inside = (batch.factor("shadow_length") > 1.5) & (batch.factor("shadow_length") < 14.5) \
        & (batch.factor("shadow_position") > 0.0) & (batch.factor("shadow_position") < 20.5)
    for name in ("shadow_length", "shadow_position"):  # abduction recovers the stored noise (unclipped units)
        np.testing.assert_allclose(abducted[name][inside], batch.noise[name][inside], atol=1e-9)
    cf = world.counterfactual(batch, {"light_position": 1.0})
    length, position = shadow_geometry(batch.factor("pendulum_angle"), np.full(200, 1.0))
    expected = np.stack([batch.factor("pendulum_angle"), np.full(200, 1.0),
                         np.clip(length + abducted["shadow_length"], 1.5, 14.5),
                         np.clip(position + abducted["shadow_position"], 0.0, 20.5)], axis=1)
    np.testing.assert_allclose(cf.factors[inside], expected[inside], atol=1e-9)
    np.testing.assert_array_equal(world.render(cf.factors), cf.images)
    # the plain intervention re-draws the shadow noise: same causes, different shadows
    fresh = world.scm.do({"light_position": 1.0}).sample_noise(200, seed=99)
    fresh.update({n: batch.noise[n] for n in ("pendulum_angle",)})
    plain = world.scm.do({"light_position": 1.0}).evaluate(fresh)
    assert np.mean(np.abs(plain["shadow_length"] - cf.factor("shadow_length"))) > 0.1
    deterministic = Pendulum(grid=False)
    batch0 = deterministic.sample(50, seed=4)
    np.testing.assert_array_equal(batch0.noise["shadow_length"], 0.0)


def test_symmetries_measured():
    """Smallest changes (one grid step, 0.01 % of a range) and random changes all change the image."""
    world = Pendulum(size=32)
    assert world.symmetries == {}
    batch = world.sample(100, seed=5)
    rng = np.random.default_rng(0)
    for j, spec in enumerate(world.factor_specs):
        if spec.discrete:
            index = spec.index_of(batch.factors[:, j])
            step = np.where(index == 0, 1, -1)
            new = spec.values[index + step]
        else:
            delta = 1e-4 * (spec.high - spec.low)
            new = np.where(batch.factors[:, j] + delta <= spec.high, batch.factors[:, j] + delta,
                           batch.factors[:, j] - delta)
        assert unchanged_fraction(world, batch, j, new) == 0.0, spec.name
        assert unchanged_fraction(world, batch, j, rng.permutation(new)) <= 0.02, spec.name


def test_options_and_registry():
    world = make("pendulum", size=24, noise_std=0.1, grid=False)
    assert world.image_shape == (3, 24, 24)
    assert world.options()["noise_std"] == 0.1 and world.options()["grid"] is False
    clone = Pendulum(**world.options())  # options rebuild the same world
    np.testing.assert_array_equal(clone.sample(3, seed=1).images, world.sample(3, seed=1).images)
    images = world.sample(5, seed=0).images
    assert images.dtype == np.float32 and images.min() >= 0 and images.max() <= 1
    custom = Pendulum(graph=world.graph)  # a CausalGraph option is kept as text, so stored datasets can hash it
    assert isinstance(custom.options()["graph"], str)
    assert dataset_key(custom, 10, 0)[0] != dataset_key(Pendulum(), 10, 0)[0]
    batch = world.sample(40, seed=2)  # an image does not depend on the batch it was rendered in
    alone = np.concatenate([world.render(batch.factors[k:k + 1]) for k in range(0, 40, 7)])
    np.testing.assert_array_equal(alone, batch.images[::7])


def test_bad_input_errors():
    with pytest.raises(ValueError, match="'size' parameter of Pendulum must be an int >= 16"):
        Pendulum(size=8)
    with pytest.raises(TypeError, match="'size' parameter of Pendulum"):
        Pendulum(size=32.5)
    with pytest.raises(ValueError, match="'noise_std' parameter of Pendulum"):
        Pendulum(noise_std=-0.1)
    with pytest.raises(ValueError, match="'noise_std' parameter of Pendulum"):
        Pendulum(noise_std=2.0)
    with pytest.raises(TypeError, match="'grid' parameter of Pendulum must be a bool"):
        Pendulum(grid="yes")
    with pytest.raises(UnknownNodeError, match="Unknown world 'pendulm'"):
        make("pendulm")
    with pytest.raises(TypeError):
        make("pendulum", colour="red")
    world = Pendulum()
    batch = world.sample(2, seed=0)
    with pytest.raises(ValueError, match="Unknown intervention target 'light'"):
        world.counterfactual(batch, {"light": 1.0})
    with pytest.raises(ValueError, match="Factor 'light_position': intervention value .* not on its grid"):
        world.counterfactual(batch, {"light_position": np.pi / 2})
    with pytest.raises(ValueError, match="Factor 'shadow_length': intervention value 20.0 is out of range"):
        world.counterfactual(batch, {"shadow_length": 20.0})
    with pytest.raises(ValueError, match="Factor 'pendulum_angle'.*not on its grid"):
        world.render(np.array([[0.01, LIGHTS[0], 5.0, 5.0]]))
    with pytest.raises(CycleError, match="shadow_length"):
        Pendulum(graph="pendulum_angle -> shadow_length -> light_position -> pendulum_angle")
    with pytest.raises(ValueError, match="node 'light_position' has parents"):
        Pendulum(graph="pendulum_angle -> light_position")
