"""Regression tests for the s23 review of latentscm.worlds (domains, store)."""

import numpy as np
import pytest

from latentscm.scm import Categorical, Functional, Root
from latentscm.scm.noise import Normal
from latentscm.worlds import FactorSpec
from latentscm.worlds.domains import perturb_mechanism


def test_perturbed_normal_root_scales_about_the_centre_of_the_range_as_a_functional():
    spec = FactorSpec("x", low=10.0, high=20.0)
    noise = np.random.default_rng(0).normal(15.0, 1.0, size=1000)
    parents = np.zeros((noise.size, 0))
    root = perturb_mechanism(Root(Normal(15.0, 1.0)), spec, np.random.default_rng([0, 2, 0]), 1.0)
    functional = perturb_mechanism(Functional(lambda p, u: u, Normal(15.0, 1.0), parent_names=()), spec,
                                   np.random.default_rng([0, 2, 0]), 1.0)
    values = root.evaluate(parents, noise)
    np.testing.assert_allclose(values, functional.evaluate(parents, noise))
    assert 12.0 < values.mean() < 18.0
    np.testing.assert_allclose(root.abduct(values, parents), noise)
    # a hidden node (no spec) still scales about 0
    hidden = perturb_mechanism(Root(Normal()), None, np.random.default_rng([0, 2, 0]), 1.0)
    assert hidden.function.centre == 0.0 and root.function.centre == 15.0


def test_full_grid_of_a_world_with_edges_is_refused(Bars, Grid, tmp_path):
    class CustomGrid(Bars):
        def __init__(self, graph=None, mechanisms=None):
            self.factor_specs = (FactorSpec("row", values=np.arange(8.0)), FactorSpec("col", values=np.arange(8.0)),
                                 FactorSpec("level", values=np.array([0.5, 1.0])))
            self.image_shape = (1, 8, 8)
            self._init_structure(graph, mechanisms)

    world = CustomGrid(graph="row -> col", mechanisms={"col": Categorical(np.eye(8), states=np.arange(8.0))})
    with pytest.raises(ValueError, match=r"causal edges \(row -> col\).*pass n="):
        world.generate(root=tmp_path, cache_key="row-col")
    stored = world.generate(16, seed=0, root=tmp_path, cache_key="row-col")
    np.testing.assert_array_equal(stored.factors[:, 0], stored.factors[:, 1])
    assert len(Grid().generate(root=tmp_path)) == 128  # no edges: the full grid as before


@pytest.mark.parametrize("low, high", [(0.0, np.inf), (-np.inf, 0.0)])
def test_factor_spec_refuses_an_infinite_range(low, high):
    with pytest.raises(ValueError, match="'speed' needs a finite range"):
        FactorSpec("speed", low=low, high=high)
    assert FactorSpec("speed", low=-1, high=1).low == -1.0


def test_single_node_regimes_takes_one_factor_name_whole(Bars):
    from latentscm.worlds.regimes import single_node_regimes

    names = [regime.name for regime in single_node_regimes(Bars(), factors="level")]
    assert names == ["observational", "do(level)"]
