"""Regression tests of the s22 review of the CausalTime generator's world."""

import numpy as np

from latentscm.timeseries import CausalTimeGenerator

FAST = dict(hidden=8, epochs=3, ig_steps=4, ig_windows=32, seed=0)


def test_a_world_keeps_its_fit_when_the_generator_is_refitted(series):
    generator = CausalTimeGenerator(tau_max=1, selection="top_k", top_k=1, residual="none", **FAST).fit(series)
    world = generator.to_world(burn_in=5)
    graph, before = world.graph("window"), world.sample(6, seed=0).values
    swapped = series[:, [2, 3, 0, 1]]
    generator.fit(swapped)
    assert not np.array_equal(generator.ground_truth(), graph)
    # the world's dynamics and its oracle stay together: both those of the fit it was built from
    assert np.array_equal(world.graph("window"), graph)
    assert np.array_equal(world.generator.ground_truth(), graph)
    assert np.array_equal(world.sample(6, seed=0).values, before)
    generator.fit(series[:, :3])  # another number of variables does not break it either
    assert world.sample(6, seed=0).values.shape == before.shape
