"""Regression tests of the s23 (second) review of the CausalTime generator."""

import numpy as np
import pytest
import torch

from latentscm.timeseries import CausalTimeGenerator

FAST = dict(hidden=8, epochs=3, ig_steps=4, ig_windows=32, seed=0)


def test_fit_errors_name_its_argument_x(series):
    constant = np.array(series)
    constant[:, 1] = 2.0
    with pytest.raises(ValueError, match="The 'X' argument of CausalTimeGenerator.fit has constant columns"):
        CausalTimeGenerator(**FAST).fit(constant)
    with pytest.raises(ValueError, match="The 'X' argument of CausalTimeGenerator.fit has no columns"):
        CausalTimeGenerator(**FAST).fit(np.zeros((100, 0)))
    with pytest.raises(TypeError, match="'var_names' argument of CausalTimeGenerator.fit .* not one string"):
        CausalTimeGenerator(**FAST).fit(series, var_names="abcd")


def test_fit_does_not_depend_on_torchs_default_dtype(series):
    reference = CausalTimeGenerator(**FAST).fit(series)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        other = CausalTimeGenerator(**FAST).fit(series)
    finally:
        torch.set_default_dtype(previous)
    np.testing.assert_array_equal(other.importance_, reference.importance_)
    np.testing.assert_array_equal(other.generate(2, 5, seed=0).values, reference.generate(2, 5, seed=0).values)
