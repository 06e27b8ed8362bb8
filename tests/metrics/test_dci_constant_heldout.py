"""DCI informativeness with a continuous factor that is constant on the held-out rows (R² undefined there)."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.metrics import dci
from latentscm.metrics._common import split_indices


def test_factor_constant_on_held_out_rows_is_left_out_with_a_warning():
    rng = np.random.default_rng(0)
    n = 400
    codes = rng.normal(size=(n, 2))
    good = codes[:, 0] + 0.05 * rng.normal(size=n)
    _, test = split_indices(n, 0.2, np.random.default_rng(3), "dci")  # the split dci(seed=3) draws first
    odd = codes[:, 1].copy()
    odd[test] = 0.25  # varies only on the training rows
    alone = dci(codes, good[:, None], discrete=False, seed=3)["dci.informativeness"]
    with pytest.warns(RuntimeWarning, match=r"positions \[1\].*constant on the held-out rows"):
        both = dci(codes, np.stack([good, odd], 1), discrete=False, seed=3)["dci.informativeness"]
    assert both == pytest.approx(alone)  # before: the mean with a 0 (or a huge negative R²) for the odd factor
    with pytest.warns(RuntimeWarning, match=r"positions \[0\]"):
        assert np.isnan(dci(codes, odd[:, None], discrete=False, seed=3)["dci.informativeness"])
