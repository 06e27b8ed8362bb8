"""UDR's input checks (its scores are tested on imported data in tests/data/test_user_data.py)."""

import numpy as np
import pytest

from latentscm.metrics.udr import udr


def test_udr_names_codes_that_are_not_one_matrix_per_model():
    with pytest.raises(TypeError, match="'codes' argument of udr must be a sequence of code matrices"):
        udr(5)
    with pytest.raises(TypeError, match="'codes' argument of udr"):
        udr(np.zeros((10, 3)))  # one matrix, not a list of them
    with pytest.raises(ValueError, match="at least two"):
        udr([np.zeros((10, 3))])
