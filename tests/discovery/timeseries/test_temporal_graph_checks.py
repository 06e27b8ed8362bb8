"""TemporalGraph refuses what it cannot read: p-values without their level, a summary test of the wrong shape;
and its summary graph and p-value conventions hold on a Granger result."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery.timeseries import TemporalGraph, granger


def _pvalues() -> np.ndarray:
    pvalues = np.full((2, 2, 2), np.nan)
    pvalues[1] = [[0.01, 0.5], [0.03, 0.2]]
    return pvalues


def test_pvalues_without_alpha_are_refused_at_construction():
    # before: accepted, then repr(), adjacency() and summary() raised TypeError ('<=' between float and None)
    with pytest.raises(ValueError, match="needs the level 'alpha'"):
        TemporalGraph(("a", "b"), np.ones((2, 2, 2)), _pvalues(), "m")


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan")])
def test_an_alpha_outside_zero_one_is_refused(alpha):
    with pytest.raises(ValueError, match="'alpha' parameter of TemporalGraph"):
        TemporalGraph(("a", "b"), np.ones((2, 2, 2)), _pvalues(), "m", alpha=alpha)


def test_summary_pvalues_of_the_wrong_shape_are_refused():
    # before: accepted, and summary() returned a (3, 3) graph for 2 variables
    with pytest.raises(ValueError, match=r"summary_pvalues of a TemporalGraph must be \(2, 2\)"):
        TemporalGraph(("a", "b"), np.ones((2, 2, 2)), _pvalues(), "m", alpha=0.05, summary_pvalues=np.zeros((3, 3)))


def test_window_and_summary_conventions():
    graph = TemporalGraph(("a", "b"), np.ones((2, 2, 2)), _pvalues(), "m", alpha=0.05)
    np.testing.assert_array_equal(graph.adjacency(), [[[0, 0], [0, 0]], [[1, 0], [1, 0]]])
    np.testing.assert_array_equal(graph.summary(), [[1, 0], [1, 0]])
    np.testing.assert_array_equal(graph.summary(0.3), [[1, 0], [1, 1]])
    assert repr(graph) == "TemporalGraph(method='m', d=2, tau_max=1, links=2)"


def test_granger_summary_uses_the_joint_test_and_lag_zero_is_untested():
    rng = np.random.default_rng(0)
    x = np.zeros((400, 3))
    for t in range(2, 400):
        x[t] = [0.5 * x[t - 1, 0], 0.3 * x[t - 1, 1] + 0.6 * x[t - 2, 0], 0.2 * x[t - 1, 2]] + rng.normal(size=3)
    found = granger(x, max_lag=2, alpha=0.01)
    assert np.all(np.isnan(found.pvalues[0])) and np.all(found.scores[0] == 0)
    np.testing.assert_array_equal(found.summary(), found.summary_pvalues <= 0.01)
    assert found.summary()[0, 1] == 1 and found.summary()[1, 0] == 0
    # the joint test of one lag is the square of that lag's t statistic
    one_lag = granger(x, max_lag=1)
    np.testing.assert_allclose(one_lag.info["f_statistics"], one_lag.scores[1] ** 2, rtol=1e-10)
