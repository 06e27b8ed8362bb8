"""Trajectory.context arrays are read-only copies, as its values, noise and initial arrays are."""

import pickle

import numpy as np
import pytest

from latentscm.worlds.timeseries.base import Trajectory
from latentscm.worlds.timeseries.factor_sequences import FactorSequences
from latentscm.worlds.timeseries.regime_switching import RegimeSwitching


def test_simulated_context_arrays_cannot_be_written():
    trajectory = RegimeSwitching(d=3, seed=0).sample(20, seed=0)
    assert not trajectory.values.flags.writeable
    regime = trajectory.context["regime"]
    with pytest.raises(ValueError, match="read-only"):
        regime[0] = 1 - regime[0]
    factors = FactorSequences(seed=0).sample(8, seed=0).context["factors"]
    with pytest.raises(ValueError, match="read-only"):
        factors[0] = 5.0


def test_context_is_a_copy_of_the_arrays_given_and_keeps_their_dtype():
    regime = np.array([0, 1, 1], dtype=np.int64)
    trajectory = Trajectory(np.zeros((3, 1)), np.zeros((3, 1)), np.zeros((1, 1)), ("a",), context={"regime": regime})
    regime[0] = 7  # the caller's array changes later: the trajectory keeps what it was given
    np.testing.assert_array_equal(trajectory.regime, [0, 1, 1])
    assert trajectory.regime.dtype == np.int64 and regime.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        trajectory.context["regime"][1] = 0
    again = pickle.loads(pickle.dumps(trajectory))  # still a plain, picklable mapping
    np.testing.assert_array_equal(again.regime, [0, 1, 1])


def test_a_counterfactual_keeps_the_read_only_context():
    world = RegimeSwitching(d=3, seed=0)
    trajectory = world.sample(20, seed=1)
    counterfactual = world.counterfactual(trajectory, {world.var_names[0]: 1.0})
    np.testing.assert_array_equal(counterfactual.regime, trajectory.regime)
    assert not counterfactual.regime.flags.writeable


def test_a_context_that_is_not_a_mapping_is_refused():
    with pytest.raises(TypeError, match="'context' of a Trajectory must be a mapping"):
        Trajectory(np.zeros((3, 1)), np.zeros((3, 1)), np.zeros((1, 1)), ("a",), context=[np.zeros(3)])
