"""PCMCI, PCMCI+ and the lagged-regression methods name the variable and lags when a variable is constant over the
rows some lag reads."""

import numpy as np
import pytest

from latentscm.discovery.timeseries import granger, pcmci, pcmci_plus


@pytest.mark.parametrize("method", [pcmci_plus, pcmci])
@pytest.mark.parametrize(("rows", "lags"), [([0], "[(2, 0), (2, 1)]"), ([-1], "[(2, 1), (2, 2)]")])
def test_variable_constant_inside_the_lag_window_is_named(method, rows, lags):
    # varies only in the first (or last) row: check_series accepts it, but every row the lags read is constant
    data = np.random.default_rng(0).standard_normal((120, 3))
    data[:, 2] = 0.0
    data[rows, 2] = 1.0
    with pytest.raises(ValueError, match=rf"'data' argument of {method.__name__} has variables \[2\] constant") \
            as error:
        method(data, tau_max=1)
    assert f"(variable, lag): {lags}" in str(error.value)


def test_variable_varying_inside_the_window_is_accepted():
    data = np.random.default_rng(0).standard_normal((120, 3))
    data[:60, 2] = 0.0  # constant over a long segment, but not over any lag's rows
    assert pcmci_plus(data, tau_max=1).graph.shape == (2, 3, 3)


def test_a_lagged_regression_names_the_variable_too():
    data = np.random.default_rng(0).standard_normal((120, 3))
    data[:, 1] = 0.0
    data[-1, 1] = 1.0
    with pytest.raises(ValueError, match=r"variables \[1\] constant over the 119 rows that some lag 0..1 reads"):
        granger(data, max_lag=1)
