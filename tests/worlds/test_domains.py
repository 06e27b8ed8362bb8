"""Multi-domain worlds: shared graph and noise, exact domain counterfactuals, environments."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from latentscm.graph import UnknownNodeError
from latentscm.interventions import Do
from latentscm.scm import LinearGaussian
from latentscm.worlds import Batch, DomainShift, make
from latentscm.worlds.domains import perturb_mechanism
from latentscm.worlds.regimes import RandomDo, Regime, RegimeMixture


@pytest.fixture(scope="module")
def flow():
    """ball_size -> water_height -> flow <- hole_position; water_height shifts across 3 domains."""
    return make("flow", size=16, grid=False, noise_std=0.1,
                domains=DomainShift(3, shifted=("water_height",), strength=0.5, seed=1))


def test_domain_counterfactual_to_its_own_domain_is_the_identity(flow):
    for d in range(3):
        batch = flow.sample(40, seed=d, domain=d)
        same = flow.domain_counterfactual(batch, to_domain=d)
        np.testing.assert_array_equal(same.images, batch.images)
        np.testing.assert_array_equal(same.factors, batch.factors)
        assert (same.domain == d).all()


def test_shifted_node_and_descendants_change_others_never(flow):
    batch = flow.sample(200, seed=0, domain=0)
    for d in (1, 2):
        moved = flow.domain_counterfactual(batch, to_domain=d)
        change = np.abs(moved.factors - batch.factors)
        ball, water, hole, reach = (flow.factor_names.index(n) for n in
                                    ("ball_size", "water_height", "hole_position", "flow"))
        assert change[:, ball].max() == 0 and change[:, hole].max() == 0  # not descendants: bit for bit
        assert np.mean(change[:, water] > 1e-6) > 0.9                       # the shifted node
        assert np.mean(change[:, reach] > 1e-6) > 0.5                       # its descendant
        assert not np.array_equal(moved.images, batch.images)


def test_unshifted_mechanisms_are_shared_objects(flow):
    shifted = set(flow.domains.shifted)
    for regime in flow._domain_regimes:
        assert set(regime.mechanisms) <= shifted
        scm = flow._regime_scm(regime, {})
        for name in flow.scm.nodes:
            if name not in shifted:
                assert scm.mechanisms[name] is flow.scm.mechanisms[name]
    assert flow._domain_regimes[0].observational  # domain 0 is the world as built


def test_domain_zero_samples_like_the_plain_world(flow):
    plain = make("flow", size=16, grid=False, noise_std=0.1).sample(30, seed=4)
    zero = flow.sample(30, seed=4, domain=0)
    np.testing.assert_array_equal(plain.factors, zero.factors)
    np.testing.assert_array_equal(plain.images, zero.images)


def test_round_trip_and_composition_are_exact(flow):
    batch = flow.sample(50, seed=2, domain=1)
    there = flow.domain_counterfactual(batch, to_domain=2)
    back = flow.domain_counterfactual(there, to_domain=1)
    np.testing.assert_array_equal(back.images, batch.images)
    via = flow.domain_counterfactual(flow.domain_counterfactual(batch, to_domain=0), to_domain=2)
    np.testing.assert_array_equal(via.factors, there.factors)


def test_sample_domains_and_batch_domain_survive_slicing_and_concatenation(flow):
    batch = flow.sample_domains(10, seed=0)
    assert len(batch) == 30
    np.testing.assert_array_equal(batch.domain, np.repeat([0, 1, 2], 10))
    part = batch[np.array([0, 15, 29])]
    np.testing.assert_array_equal(part.domain, [0, 1, 2])
    joined = Batch.concatenate([batch[:12], batch[12:]])
    np.testing.assert_array_equal(joined.domain, batch.domain)
    # each sample moves to domain 2 in its own row, whatever domain it came from
    moved = flow.domain_counterfactual(batch, to_domain=2)
    np.testing.assert_array_equal(moved.factors[20:], batch.factors[20:])


def test_counterfactual_keeps_hard_interventions_of_the_sample(flow):
    regime = Regime("do(ball)", {"ball_size": RandomDo("range")})
    batch = flow.sample(40, seed=5, domain=1, regime=RegimeMixture([Regime("observational"), regime]))
    moved = flow.domain_counterfactual(batch, to_domain=2)
    np.testing.assert_array_equal(moved.factor("ball_size"), batch.factor("ball_size"))
    np.testing.assert_array_equal(flow.domain_counterfactual(batch, to_domain=1).images, batch.images)
    fixed = flow.sample(10, seed=0, domain=2, interventions={"water_height": 3.0})
    np.testing.assert_allclose(flow.domain_counterfactual(fixed, to_domain=0).factor("water_height"), 3.0)


def test_every_registered_world_accepts_domains():
    for name, shifted in (("sprites", "scale"), ("shapes3d", "object_hue"), ("pendulum", "shadow_length"),
                          ("glyphs", "intensity")):
        world = make(name, size=16 if name != "glyphs" else 28, domains={"n_domains": 2, "shifted": [shifted]})
        batch = world.sample(60, seed=0, domain=1)
        np.testing.assert_array_equal(world.domain_counterfactual(batch, to_domain=1).images, batch.images)
        moved = world.domain_counterfactual(batch, to_domain=0)
        j = world.factor_names.index(shifted)
        assert np.any(moved.factors[:, j] != batch.factors[:, j]), name
        affected = world.graph.descendants_of([shifted])
        others = [i for i, f in enumerate(world.factor_names) if f != shifted and f not in affected]
        np.testing.assert_array_equal(moved.factors[:, others], batch.factors[:, others])
        pickle.loads(pickle.dumps(world))  # perturbed mechanisms stay picklable


def test_perturbation_keeps_the_class_and_noise_of_linear_gaussian():
    base = LinearGaussian({"a": 1.0, "b": -2.0}, bias=0.5, std=0.3)
    moved = perturb_mechanism(base, None, np.random.default_rng(0), 0.5)
    assert isinstance(moved, LinearGaussian) and moved.parent_names == ("a", "b") and moved.std == 0.3
    assert not np.allclose(moved.weights, base.weights)


def test_environments_shapes_and_independent_mechanisms(flow):
    env = flow.environments(6, 3, seed=0)
    assert env.factors.shape == (6, 3, 4) and env.images.shape == (6, 3, 3, 16, 16)
    np.testing.assert_array_equal(env.environment, np.repeat(np.arange(6), 3))
    np.testing.assert_array_equal(env.batch.factors.reshape(6, 3, 4), env.factors)
    again = flow.environments(6, 3, seed=0, render=False)
    np.testing.assert_array_equal(again.factors, env.factors)
    assert again.images is None
    # the hole's mechanism varies across environments: its within-environment means differ more
    # than exchangeable draws from one fixed mechanism would
    many = flow.environments(200, 8, seed=1, render=False)
    hole = many.factors[:, :, flow.factor_names.index("hole_position")]
    between = hole.mean(axis=1).var()
    within = hole.var(axis=1, ddof=1).mean() / 8
    assert between > 2 * within


def test_bad_input_is_named(flow):
    with pytest.raises(ValueError, match="'domain'.*\\[0, 3\\)"):
        flow.sample(5, seed=0, domain=3)
    with pytest.raises(ValueError, match="'to_domain'"):
        flow.domain_counterfactual(flow.sample(5, seed=0, domain=0), to_domain=-1)
    with pytest.raises(UnknownNodeError, match="shadow"):
        make("flow", size=16, domains={"shifted": ["shadow"]})
    with pytest.raises(ValueError, match="per_env"):
        flow.environments(10, 1, seed=0)
    with pytest.raises(ValueError, match="'kind'"):
        DomainShift(2, shifted=("flow",), kind="teleport")
    with pytest.raises(ValueError, match="'shifted'"):
        DomainShift(2, shifted=())
    with pytest.raises(ValueError, match="'strength'"):
        DomainShift(2, shifted=("flow",), strength=0.0)
    with pytest.raises(ValueError, match="has no domains"):
        make("flow", size=16).sample(4, seed=0, domain=0)
    with pytest.raises(ValueError, match="scalar"):
        flow.sample(4, seed=0, domain=1, interventions={"ball_size": Do(np.full(4, 0.5))})


def test_counterfactual_of_a_domain_sample_keeps_its_domain(flow):
    batch = flow.sample(6, seed=0, domain=2)
    moved = flow.counterfactual(batch, {"hole_position": 3.0})
    np.testing.assert_array_equal(moved.domain, batch.domain)
    np.testing.assert_array_equal(moved[np.array([0, 3])].domain, [2, 2])


def test_sampling_domain_regimes_labels_their_domains(flow):
    batch = flow.sample(12, seed=0, regime=list(flow._domain_regimes))
    np.testing.assert_array_equal(batch.domain, [batch.regimes[r].domain for r in batch.regime])
    assert set(batch.domain.tolist()) == {0, 1, 2}


@pytest.mark.parametrize("kind", ["mechanism", "shift"])
def test_domain_counterfactual_targets_are_those_of_the_target_domain(kind):
    world = make("flow", size=16, domains={"n_domains": 2, "shifted": ["water_height"], "kind": kind})
    water = world.factor_names.index("water_height")
    there = world.domain_counterfactual(world.sample(5, seed=0, domain=0), to_domain=1)
    np.testing.assert_array_equal(there.targets, world.sample(5, seed=0, domain=1).targets)
    assert there.targets[:, water].all()
    back = world.domain_counterfactual(world.sample(5, seed=0, domain=1), to_domain=0)
    assert not back.targets.any()


@pytest.mark.parametrize("kind", ["mechanism", "shift"])
def test_soft_counterfactual_acts_on_top_of_the_domain_change(kind):
    from latentscm.interventions import Scale, Shift

    world = make("flow", size=16, domains={"n_domains": 2, "shifted": ["water_height"], "kind": kind,
                                           "strength": 1.0})
    batch = world.sample(8, seed=1, domain=1)
    for identity in (Shift(0.0), Scale(1.0)):  # doing nothing to the shifted factor changes nothing
        np.testing.assert_array_equal(world.counterfactual(batch, {"water_height": identity}).factors, batch.factors)
    water = world.factor_names.index("water_height")
    moved = world.counterfactual(batch, {"water_height": Shift(0.25)})
    np.testing.assert_allclose(moved.factors[:, water], np.clip(batch.factors[:, water] + 0.25, 1.0, 5.4))


def test_domain_counterfactual_keeps_what_an_earlier_counterfactual_set(flow):
    batch = flow.sample(20, seed=0, domain=0)
    hole = flow.factor_names.index("hole_position")
    earlier = flow.counterfactual(batch, {"hole_position": 2.0})
    same = flow.domain_counterfactual(earlier, to_domain=0)
    np.testing.assert_array_equal(same.factors, earlier.factors)
    np.testing.assert_array_equal(same.images, earlier.images)
    moved = flow.domain_counterfactual(earlier, to_domain=1)
    np.testing.assert_array_equal(moved.factors[:, hole], 2.0)  # not a descendant of water_height
    # the descendant follows the kept hole: the same as moving first and intervening after
    np.testing.assert_allclose(moved.factors, flow.counterfactual(flow.domain_counterfactual(batch, to_domain=1),
                                                                  {"hole_position": 2.0}).factors)


def test_counterfactuals_need_the_rendering_seeds_of_a_random_renderer():
    world = make("sprites", size=16, variant="color", domains={"n_domains": 2, "shifted": ["posX"]})
    batch = world.sample(4, seed=0, domain=0)
    stripped = Batch(batch.images, batch.factors, {k: v for k, v in batch.noise.items() if k != "render_seed"},
                     batch.factor_names)
    with pytest.raises(ValueError, match="render_seed"):
        world.counterfactual(stripped, {})
    with pytest.raises(ValueError, match="render_seed"):
        world.domain_counterfactual(stripped, to_domain=1)


def test_marginal_random_do_in_a_domain_draws_from_that_domain():
    world = make("flow", size=16, grid=False, domains={"n_domains": 2, "shifted": ["water_height"], "strength": 2.0,
                                                       "seed": 3})
    regime = Regime("do(water)", {"water_height": RandomDo("marginal")})
    for d in (0, 1):
        observational = world.sample(3000, seed=0, domain=d).factor("water_height")
        intervened = world.sample(3000, seed=1, domain=d, regime=regime).factor("water_height")
        assert abs(np.mean(intervened) - np.mean(observational)) < 0.1, d
    plain = make("flow", size=16, grid=False)  # without domains, the marginal is the world's as before
    np.testing.assert_array_equal(plain.sample(50, seed=2, regime=regime).factors,
                                  world.sample(50, seed=2, domain=0, regime=regime).factors)
