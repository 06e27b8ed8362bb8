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
