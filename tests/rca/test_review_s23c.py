"""Regressions of the third s23 review of latentscm.rca."""

import numpy as np
import pytest

from latentscm.rca import CoralRCA, ZScoreDetector, rank_by_score


@pytest.mark.parametrize("detector, rows", [(None, 9), (ZScoreDetector(), 3)])
def test_coral_fit_names_its_own_argument(detector, rows):
    normal = np.random.default_rng(0).normal(size=(rows, 3))
    with pytest.raises(ValueError, match="'normal' argument of CoralRCA.fit needs at least"):
        CoralRCA(detector=detector).fit(normal)
    normal = np.random.default_rng(0).normal(size=(40, 3))
    normal[:, 1] = 0.5
    with pytest.raises(ValueError, match=r"'normal' argument of CoralRCA.fit has constant columns \[1\]"):
        CoralRCA(detector=detector).fit(normal)
    CoralRCA(detector=detector).fit(normal[:rows + 1] + np.arange(3 * (rows + 1)).reshape(rows + 1, 3))


def test_one_string_of_names_is_not_split_into_letters():
    normal = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(TypeError, match="not one string"):
        CoralRCA().fit(normal, var_names="abc")
    with pytest.raises(TypeError, match="not one string"):
        rank_by_score(np.array([1.0, 3.0, 2.0]), "xyz")
    assert CoralRCA().fit(normal, var_names=["a", "b", "c"]).var_names_ == ("a", "b", "c")
    assert rank_by_score(np.array([1.0, 3.0, 2.0]), ["x", "y", "z"]) == ("y", "z", "x")


def test_walk_steps_only_backward_as_documented():
    from latentscm.rca import random_walk
    from latentscm.rca.random_walk import transition_matrix

    chain = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=float)  # a -> b -> c
    P = transition_matrix(chain, np.array([1.0, 2.0, 3.0]))
    assert P[0, 1] == 0 and P[1, 2] == 0 and P[0, 0] == 1  # never to an effect; a (no causes) keeps the walker
    assert "Deviation from MicroCause" in random_walk.__doc__
