"""random_walk_with_restart says when power iteration stops at its cap before converging."""

import warnings

import numpy as np
import pytest

from latentscm.rca.random_walk import random_walk_with_restart

# a 2-cycle without self-loops is periodic: from a restart distribution (1/3, 2/3) that is not stationary the
# iterates swap between the two nodes, and a tiny restart damps that by only 1e-6 per iteration
CYCLE = np.array([[0.0, 1.0], [1.0, 0.0]])
SCORES = np.array([1.0, 2.0])


def test_warns_naming_the_cap_and_residual_when_not_converged():
    with pytest.warns(RuntimeWarning, match=r"did not converge within max_iter=500 .*last L1 change 0\.66"):
        visits = random_walk_with_restart(CYCLE, SCORES, restart=1e-6, self_weight=0.0, max_iter=500)
    assert visits.sum() == pytest.approx(1.0)


def test_converged_walks_stay_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        visits = random_walk_with_restart(CYCLE, SCORES, restart=0.15, self_weight=0.0)
        # the fixed point of v = 0.85 v P + 0.15 p on the swap P: v0 = 0.85 v1 + 0.05, v0 + v1 = 1
        assert visits == pytest.approx([0.9 / 1.85, 0.95 / 1.85], abs=1e-9)
        random_walk_with_restart(np.triu(np.ones((4, 4)), 1), [0.1, 2.0, 0.5, 1.0])
