"""Shared fixtures of the generator tests: a 4-variable VAR with a known graph and its series."""

import numpy as np
import pytest

from latentscm.worlds.timeseries import make


@pytest.fixture(scope="session")
def var_world():
    coefficients = np.zeros((1, 4, 4))
    coefficients[0][np.diag_indices(4)] = 0.5
    coefficients[0, 0, 1] = coefficients[0, 1, 2] = coefficients[0, 3, 0] = 0.8  # x0->x1, x1->x2, x3->x0
    return make("var", d=4, lag_max=1, coefficients=coefficients, seed=0)


@pytest.fixture(scope="session")
def series(var_world):
    return var_world.sample(300, seed=1).values
