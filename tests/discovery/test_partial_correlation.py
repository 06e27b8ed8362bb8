"""Fisher-z and ParCorr partial correlations on near-collinear data equal exact least squares (256-bit arithmetic).

x2 = x0 + x1 + noise: the correlation submatrix of a query over (x0, x1, x2) has condition number ~1/noise^2, and
the partial correlation read off its inverse lost digits as eps * cond (measured before session 27: 7e-9 at noise
1e-4; at 1e-6 a wrong r, off by 4e-5, or a refusal as "linear function"; at 1e-8 a refusal). Ill-conditioned queries
now go through a QR factorisation of the centred data: errors 1e-13, 1e-11, 5e-10 (tigramite's least squares: 8e-14,
1e-11, 9e-10; benchmarks/bench_partial_correlation.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery.ci_tests import FisherZ
from latentscm.discovery.ci_tests import fisher_z as fisher_z_module
from latentscm.discovery.ci_tests.fisher_z import partial_correlations
from latentscm.discovery.timeseries import pcmci
from latentscm.discovery.timeseries.parcorr import ParCorr

mpmath = pytest.importorskip("mpmath")

QUERIES = [(2, 3, [0, 1]), (0, 3, [1, 2]), (3, 4, [0, 1, 2]), (0, 1, [2]), (2, 3, [])]


def _near_collinear(noise: float, n: int, seed: int) -> np.ndarray:
    """(n, 5): x0, x1 ~ N(0, 1); x2 = x0 + x1 + noise e; x3 = x0 + 0.1 e + N(0, 1) (dependent on x2's noise);
    x4 ~ N(0, 1); an offset of 10 on every column."""
    rng = np.random.default_rng(seed)
    x0, x1, e, u, x4 = rng.normal(size=(5, n))
    return 10.0 + np.column_stack([x0, x1, x0 + x1 + noise * e, x0 + 0.1 * e + u, x4])


def _exact(data: np.ndarray, x: int, y: int, z: list[int]) -> float:
    """Partial correlation from the exact Gram matrix of the centred data, in 256-bit arithmetic."""
    mpmath.mp.prec = 256
    centred = []
    for column in (x, y, *z):
        values = [mpmath.mpf(float(v)) for v in data[:, column]]
        mean = mpmath.fsum(values) / len(values)
        centred.append([v - mean for v in values])
    k = len(centred)
    gram = mpmath.matrix(k, k)
    for i in range(k):
        for j in range(i, k):
            gram[i, j] = gram[j, i] = mpmath.fdot(centred[i], centred[j])
    precision = gram**-1
    return float(-precision[0, 1] / mpmath.sqrt(precision[0, 0] * precision[1, 1]))


@pytest.mark.parametrize(("noise", "tolerance"), [(1e-4, 1e-11), (1e-6, 1e-10), (1e-8, 1e-8)])
@pytest.mark.parametrize("seed", [0, 1])
def test_near_collinear_partial_correlations_are_exact(noise, tolerance, seed):
    # before: errors 7e-9 (1e-4), 4e-5 or ValueError (1e-6), ValueError (1e-8)
    data = _near_collinear(noise, 400, seed)
    n = data.shape[0]
    parcorr, fisher = ParCorr().bind(data), FisherZ().bind(data)
    for x, y, z in QUERIES:
        exact = _exact(data, x, y, z)
        assert abs(parcorr(x, y, z).statistic - exact) <= tolerance, (x, y, z)
        if z:  # Fisher-z's statistic: sqrt(n - |Z| - 3) |atanh r|
            r = np.tanh(fisher(x, y, z).statistic / np.sqrt(n - len(z) - 3))
            assert abs(r - abs(exact)) <= tolerance, (x, y, z)


def test_pcmci_accepts_near_collinear_series():
    # before: noise 1e-6 raised "column 4 is a linear function of the conditioning columns"
    rng = np.random.default_rng(1)
    x = np.zeros((500, 4))
    for t in range(1, 500):
        x[t, 0] = 0.5 * x[t - 1, 0] + rng.normal()
        x[t, 1] = 0.4 * x[t - 1, 1] + 0.3 * x[t - 1, 0] + rng.normal()
        x[t, 2] = x[t, 0] + x[t, 1] + 1e-6 * rng.normal()
        x[t, 3] = 0.5 * x[t - 1, 2] + rng.normal()
    lagged = pcmci(x, tau_max=1).adjacency()[1]  # (d, d): x_i(t-1) -> x_j(t)
    # x0, x1 and x3 each depend on lag-1 values of (x0, x1, x2), of which x2 = x0 + x1 stands in for any two
    assert all(lagged[:3, j].any() for j in (0, 1, 3))


@pytest.mark.parametrize("test", [FisherZ(), ParCorr()], ids=["fisherz", "parcorr"])
def test_exact_linear_functions_are_still_refused(test):
    # residual std 1e-12 of the column's counts as exact (threshold 1e-10); 1e-8 is tested (above)
    data = _near_collinear(1e-12, 300, 0)
    with pytest.raises(ValueError, match=r"columns 2 and 3 given columns \[0, 1\]: column 2 is a linear function"):
        test.bind(data)(2, 3, [0, 1])
    with pytest.raises(ValueError, match=r"columns 3 and 4 given columns \[0, 1, 2\]: the conditioning columns are "
                                         "collinear"):
        test.bind(data)(3, 4, [0, 1, 2])
    with pytest.raises(ValueError, match=r"columns 3 and 2 given columns \[0, 1\]: column 2 is a linear function"):
        partial_correlations(np.corrcoef(data, rowvar=False), np.array([[3, 2, 0, 1]]), "test", data=data)
    assert test.bind(data)(0, 1, [2]).p_value == 0.0  # residuals of x0 and x1 on x2 exactly collinear


def test_well_conditioned_queries_keep_the_batched_inverse():
    data = np.random.default_rng(3).normal(size=(200, 8)) @ np.random.default_rng(4).normal(size=(8, 8))
    correlation = np.corrcoef(data, rowvar=False)
    index = np.array([np.random.default_rng(k).permutation(8)[:5] for k in range(50)])
    precision = np.linalg.inv(correlation[index[:, :, None], index[:, None, :]])
    expected = -precision[:, 0, 1] / np.sqrt(precision[:, 0, 0] * precision[:, 1, 1])
    np.testing.assert_array_equal(partial_correlations(correlation, index, "test", data=data), expected)


def test_qr_path_is_the_same_in_chunks_and_in_a_mixed_batch(monkeypatch):
    data = _near_collinear(1e-6, 300, 2)
    correlation = np.corrcoef(data, rowvar=False)
    index = np.array([(2, 3, 0, 1), (3, 4, 0, 1), (0, 3, 1, 2), (1, 4, 0, 3), (4, 2, 1, 0)])
    together = partial_correlations(correlation, index, "test", data=data)
    one_by_one = [partial_correlations(correlation, row[None], "test", data=data)[0] for row in index]
    monkeypatch.setattr(fisher_z_module, "_QR_CHUNK", 1)  # one query per QR chunk
    chunked = partial_correlations(correlation, index, "test", data=data)
    np.testing.assert_array_equal(together, one_by_one)
    np.testing.assert_array_equal(together, chunked)
    for r, (x, y, *z) in zip(together, index.tolist()):
        assert abs(r - _exact(data, x, y, z)) <= 1e-10
