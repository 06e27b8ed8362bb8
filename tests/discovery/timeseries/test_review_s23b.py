"""Regression tests of the s23 (second) review of temporal discovery."""

import numpy as np
import pytest

from latentscm.discovery.timeseries import cmlp_granger, granger, pcmci, pcmci_plus, varlingam
from latentscm.worlds.timeseries import make


@pytest.mark.parametrize("method", [pcmci, pcmci_plus, granger, varlingam])
def test_a_string_of_var_names_is_refused_not_split_into_letters(method):
    x = np.random.default_rng(0).standard_normal((120, 3))
    with pytest.raises(TypeError, match="'var_names' argument of .* not one string. Got 'abc'"):
        method(x, var_names="abc")
    assert method(x, var_names=("a", "b", "c")).var_names == ("a", "b", "c")


@pytest.mark.parametrize("method", [pcmci, pcmci_plus, granger, varlingam, cmlp_granger])
def test_a_series_without_columns_is_refused(method):
    with pytest.raises(ValueError, match=r"'data' argument of .* has no columns \(shape \(100, 0\)\)"):
        method(np.zeros((100, 0)))


def test_cmlp_names_the_step_size_when_training_diverges():
    x = make("var", d=3, lag_max=1, seed=0).sample(200, seed=0).values
    with pytest.raises(FloatingPointError, match=r"diverged .* lower 'lr' \(now 50.0\)"):
        cmlp_granger(x, lr=50.0, max_iter=20, lambdas=[0.01, 0.1])
