"""pcmci_plus names the variable and lags when a variable is constant over the rows some lag reads."""

import numpy as np
import pytest

from latentscm.discovery.timeseries import pcmci_plus


@pytest.mark.parametrize(("rows", "lags"), [([0], "[(2, 0), (2, 1)]"), ([-1], "[(2, 1), (2, 2)]")])
def test_variable_constant_inside_the_lag_window_is_named(rows, lags):
    # varies only in the first (or last) row: check_series accepts it, but every row the lags read is constant
    data = np.random.default_rng(0).standard_normal((120, 3))
    data[:, 2] = 0.0
    data[rows, 2] = 1.0
    with pytest.raises(ValueError, match=r"'data' argument of pcmci_plus has variables \[2\] constant") as error:
        pcmci_plus(data, tau_max=1)
    assert f"(variable, lag): {lags}" in str(error.value)


def test_variable_varying_inside_the_window_is_accepted():
    data = np.random.default_rng(0).standard_normal((120, 3))
    data[:60, 2] = 0.0  # constant over a long segment, but not over any lag's rows
    assert pcmci_plus(data, tau_max=1).graph.shape == (2, 3, 3)
