"""The ILD vector simulator: sparse per-domain linear latent SCMs behind an invertible mixing."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.worlds import make


@pytest.fixture(scope="module")
def world():
    return make("ild-linear", latent_dim=6, n_domains=3, int_set=(0, 1), seed=0)


def test_observations_are_vectors_in_the_unit_interval_and_invert_exactly(world):
    batch = world.sample_domains(300, seed=0)
    assert batch.images.shape == (900, 6, 1, 1) and batch.images.dtype == np.float32
    assert batch.images.min() > 0 and batch.images.max() < 1
    scale = batch.factors.std(axis=0)
    assert np.max(np.abs(world.read_factors(batch.images) - batch.factors) / scale) < 1e-3  # float32 rounding
    np.testing.assert_allclose(world.unmix(world.mix(batch.factors)), batch.factors, atol=1e-8)


def test_only_the_intervention_set_and_its_descendants_move(world):
    batch = world.sample(400, seed=1, domain=0)
    moved = world.domain_counterfactual(batch, to_domain=1)
    affected = world.graph.descendants_of(["z0", "z1"])
    for j, name in enumerate(world.factor_names):
        changed = np.abs(moved.factors[:, j] - batch.factors[:, j]).max()
        assert (changed > 0) == (name in affected), name
    np.testing.assert_array_equal(world.domain_counterfactual(batch, to_domain=0).images, batch.images)


def test_params_round_trip_and_seed(world):
    again = type(world)(**world.get_params())
    np.testing.assert_array_equal(again.sample(5, seed=0, domain=2).images, world.sample(5, seed=0, domain=2).images)
    other = make("ild-linear", latent_dim=6, n_domains=3, int_set=(0, 1), seed=1)
    assert not np.array_equal(other.sample(5, seed=0).images, world.sample(5, seed=0).images)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="'int_set'"):
        make("ild-linear", latent_dim=4, int_set=(4,))
    with pytest.raises(ValueError, match="'int_set'"):
        make("ild-linear", latent_dim=4, int_set=())
    with pytest.raises(ValueError, match="'n_domains'"):
        make("ild-linear", n_domains=1)
