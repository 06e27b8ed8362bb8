"""Review s28a: defects found in direct_lingam / notears_linear, each pinned by a test that failed before its fix."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery.ges import ges
from latentscm.discovery.lingam import direct_lingam, pairwise_likelihood_ratio
from latentscm.discovery.notears import notears_linear
from latentscm.discovery.pc import pc


def _chain(n: int = 500) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (n, 3))
    x[:, 1] += 0.8 * x[:, 0]
    x[:, 2] += 0.8 * x[:, 1]
    return x


@pytest.mark.parametrize("unit", [1e-12, 1e-13])
def test_lingam_result_does_not_depend_on_the_unit_of_the_data(unit: float) -> None:
    # Before the fix, the collinearity check had an absolute floor (1e-12): data of std ~1e-12 were refused as
    # "a linear function of earlier columns".
    x = _chain()
    reference = direct_lingam(x)
    scaled = direct_lingam(x * unit)
    assert scaled.info["causal_order"] == reference.info["causal_order"]
    np.testing.assert_array_equal(scaled.adjacency, reference.adjacency)


def test_lingam_still_refuses_exact_collinearity_at_a_small_unit() -> None:
    x = _chain()
    collinear = np.column_stack([x, x[:, 0] - 2 * x[:, 1]]) * 1e-9
    with pytest.raises(ValueError, match="linear function"):
        direct_lingam(collinear)


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("method", [notears_linear, direct_lingam, pc, ges])
def test_too_few_rows_given_as_a_mapping_are_refused(n: int, method) -> None:
    # An array of < 4 rows was refused, the same rows as a mapping of columns were fitted by NOTEARS (one centred row
    # is 0). The row minimum now lives in as_data_matrix, for every method that reads data through it.
    x = np.random.default_rng(0).normal(size=(n, 2))
    with pytest.raises(ValueError, match="at least 4 rows"):
        method({"a": x[:, 0], "b": x[:, 1]})


@pytest.mark.parametrize(("xi", "xj", "match"), [
    (np.ones(100), np.arange(100.0), "'xi' argument .* constant"),
    (np.arange(100.0), np.r_[np.arange(99.0), np.nan], "'xj' argument .* NaN"),
    (np.arange(100.0), np.arange(50.0), "same length"),
    (np.arange(100.0)[:, None], np.arange(100.0), "'xi' argument .* 1-D"),
])
def test_pairwise_likelihood_ratio_names_bad_samples(xi, xj, match) -> None:
    # Before the fix: NaN for a constant or NaN-holding sample, numpy's concatenation error for unequal lengths and
    # a silently accepted (n, 1) column.
    with pytest.raises(ValueError, match=match):
        pairwise_likelihood_ratio(xi, xj)
