"""Batch.regime and Batch.domain refuse fractional indices instead of truncating them."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.worlds.batch import Batch


def _batch(**options) -> Batch:
    return Batch(np.zeros((3, 1, 2, 2), dtype=np.float32), np.zeros((3, 1)), ("f",), **options)


def test_fractional_domain_or_regime_is_refused():
    with pytest.raises(ValueError, match=r"Batch.domain must hold integer indices. Got 0.5"):
        _batch(domain=np.array([0.0, 0.5, 1.0]))
    with pytest.raises(ValueError, match=r"Batch.domain must hold integer indices. Got nan"):
        _batch(domain=np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match=r"Batch.regime must hold integer indices"):
        _batch(regime=np.array([0.0, 0.25, 0.0]))
    with pytest.raises(ValueError, match=r"Batch.domain must hold integer indices. Got dtype <U1"):
        _batch(domain=np.array(["a", "b", "c"]))


def test_whole_float_indices_are_kept():
    batch = _batch(domain=np.array([0.0, 2.0, 1.0]))
    assert batch.domain.dtype == np.int64 and batch.domain.tolist() == [0, 2, 1]
