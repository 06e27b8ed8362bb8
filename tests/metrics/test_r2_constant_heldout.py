"""r2 with a factor that varies only in the training rows: R² is undefined on the held-out rows."""

import warnings

import numpy as np
import pytest

from latentscm.metrics import r2
from latentscm.metrics._common import split_indices
from latentscm.metrics.r2 import kernel_ridge_r2


def _data(n=100):
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(n, 2))
    good = codes[:, 0] ** 3
    _, test = split_indices(n, 0.2, np.random.default_rng(0), "r2")  # the split r2(seed=0) draws
    rare = np.zeros(n)
    rare[np.setdiff1d(np.arange(n), test)[:5]] = 1.0  # five training rows differ; every held-out row is 0
    return codes, good, rare


def test_r2_leaves_out_a_factor_constant_on_the_held_out_rows_with_a_warning():
    # it used to score 0 without a word, halving the mean here (0.49 instead of 0.98)
    codes, good, rare = _data()
    alone = r2(codes, good[:, None], seed=0)
    assert alone > 0.9
    factors = np.column_stack([np.ones(len(good)), good, rare])  # column 0 constant everywhere: ignored silently
    with pytest.warns(RuntimeWarning, match=r"r2: factor column\(s\) \[2\] of 'factors' .* 20 held-out rows"):
        assert r2(codes, factors, seed=0) == pytest.approx(alone, abs=1e-12)


def test_r2_is_nan_when_every_factor_is_constant_on_the_held_out_rows():
    codes, _, rare = _data()
    with pytest.warns(RuntimeWarning, match=r"factor column\(s\) \[0\]"):
        assert np.isnan(r2(codes, rare[:, None], seed=0))


def test_r2_gives_no_warning_when_every_held_out_factor_varies():
    codes, good, _ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r2(codes, good[:, None], seed=0)


def test_kernel_ridge_r2_is_nan_for_a_held_out_constant_target():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 2))
    y = np.column_stack([x[:, 0], np.r_[rng.normal(size=30), np.full(10, 0.5)]])
    scores = kernel_ridge_r2(x[:30], y[:30], x[30:], y[30:], np.array([0.01, 0.1]))
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
