"""Internally standardised random SCMs (iSCM, Ormaniec et al. 2024) and the weight range of random_scm."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from latentscm.metrics.sortability import order_alignment, varsortability
from latentscm.scm.mechanisms import LinearGaussian
from latentscm.scm.random import random_scm
from scm_support import implied_covariance


def test_linear_iscm_has_unit_population_variances_and_the_same_graph():
    for seed in range(5):
        plain = random_scm(12, edge_prob=0.4, weight_range=(0.5, 2.0), seed=seed)
        internal = random_scm(12, edge_prob=0.4, weight_range=(0.5, 2.0), standardize="internal", seed=seed)
        assert internal.graph == plain.graph
        covariance = implied_covariance(internal)
        np.testing.assert_allclose(np.diag(covariance), 1.0, atol=1e-12)
        # every population variance is 1: variance sorts nothing (all ties)
        if plain.graph.edges:
            assert order_alignment(internal.graph, np.diag(covariance), tol=1e-9) == 0.5
            assert varsortability(plain.sample(5000, seed=0), plain.graph) > 0.5  # the plain SCM gives it away
        for name in plain.graph.nodes:  # the same weights up to one positive factor per node
            a, b = plain.mechanisms[name], internal.mechanisms[name]
            if isinstance(a, LinearGaussian):
                ratio = b.weights / a.weights
                np.testing.assert_allclose(ratio, ratio[0])
                np.testing.assert_allclose(b.std / a.std, ratio[0])
                assert ratio[0] > 0


def test_nonlinear_iscm_is_standardised_by_its_monte_carlo_sample():
    scm = random_scm(8, edge_prob=0.5, mechanism="nonlinear", standardize="internal", seed=2)
    sample = scm.sample(50_000, seed=7)
    x = np.column_stack([sample[name] for name in scm.graph.nodes])
    np.testing.assert_allclose(x.var(axis=0), 1.0, atol=0.03)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=0.03)
    again = random_scm(8, edge_prob=0.5, mechanism="nonlinear", standardize="internal", seed=2)
    np.testing.assert_array_equal(again.sample(100, seed=1)["x3"], scm.sample(100, seed=1)["x3"])
    restored = pickle.loads(pickle.dumps(scm))  # the standardised functions cross process boundaries
    np.testing.assert_array_equal(restored.sample(100, seed=1)["x3"], scm.sample(100, seed=1)["x3"])


def test_weight_range_and_default_draws():
    wide = random_scm(10, edge_prob=0.5, weight_range=(2.0, 3.0), seed=0)
    weights = np.concatenate([m.weights for m in wide.mechanisms.values() if isinstance(m, LinearGaussian)])
    assert weights.size and np.all((np.abs(weights) >= 2.0) & (np.abs(weights) <= 3.0))
    default = random_scm(10, edge_prob=0.5, seed=0)
    explicit = random_scm(10, edge_prob=0.5, weight_range=(0.5, 1.5), seed=0)
    np.testing.assert_array_equal(default.sample(50, seed=0)["x4"], explicit.sample(50, seed=0)["x4"])


@pytest.mark.parametrize(("options", "message"), [
    ({"standardize": "external"}, "'standardize'"),
    ({"weight_range": (2.0, 1.0)}, "'weight_range'.*0 <= low <= high"),
    ({"weight_range": 1.0}, "'weight_range'.*two numbers"),
    ({"weight_range": (0.5, np.inf)}, "'weight_range'"),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        random_scm(4, seed=0, **options)
