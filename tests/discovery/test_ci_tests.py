"""CI tests: conformance, registry, memo cache, KCI parity with causal-learn, RCIT/RCoT, kernels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from latentscm.discovery import KCI, QKCI, RCIT, CIQuery, FisherZ, RCoT, ci_test_names, make_ci_test
from latentscm.discovery.ci_tests.base import content_hash
from latentscm.discovery.kernels import (
    GaussianKernel,
    center_gram,
    kernel_target_alignment,
    pivoted_cholesky,
    standardize,
)
from latentscm.discovery.quantum_kernel import QuantumFeatureMapKernel
from latentscm.testing import check_ci_test


@pytest.mark.parametrize("name", ["fisherz", "kci", "rcit", "rcot"])
def test_conformance(name):
    check_ci_test(make_ci_test(name))


def test_conformance_quantum_kernel_kci():
    check_ci_test(QKCI(), n=200)


def test_check_ci_test_can_fail():
    class AlwaysDependent(FisherZ):
        def _compute(self, state, queries):
            return [type(r)(r.statistic, 0.0) for r in super()._compute(state, queries)]

    with pytest.raises(AssertionError, match="independence rejected"):
        check_ci_test(AlwaysDependent())


def test_registry():
    assert {"fisherz", "kci", "rcit", "rcot", "qkci"} <= set(ci_test_names())
    assert isinstance(make_ci_test("kci", width="median"), KCI)
    with pytest.raises(ValueError, match="Unknown CI test 'nope'"):
        make_ci_test("nope")
    with pytest.raises(TypeError):
        make_ci_test(KCI(), width="median")
    with pytest.raises(ValueError, match="'width' parameter of KCI"):
        KCI(width="widest")
    with pytest.raises(ValueError, match="'epsilon'"):
        KCI(epsilon=-1.0)


def test_content_hash_distinguishes_arrays_numpy_elides():
    a = np.zeros(5000)
    b = a.copy()
    b[2500] = 1.0
    assert str(a) == str(b)  # numpy's summary hides the difference...
    assert content_hash(a) != content_hash(b)  # ...the content hash does not
    assert content_hash(a) != content_hash(a.reshape(50, 100))
    assert content_hash(a) != content_hash(a.astype(np.float32))


def test_memo_is_keyed_by_canonical_query_and_data():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(100, 4))
    test = FisherZ()
    bound = test.bind(data)
    first = bound(0, 1, [3, 2])
    assert bound(1, 0, (2, 3, 3)) == first
    assert bound.n_computed == 1 and bound.n_cached == 1
    assert CIQuery.make(1, 0, [3, 2]) == CIQuery.make(0, 1, [2, 3])
    assert test.bind(data.copy()) is bound  # same content, same session
    other = data.copy()
    other[0, 0] += 1.0
    assert test.bind(other) is not bound
    with pytest.raises(ValueError, match="disjoint"):
        bound(0, 1, [1])
    with pytest.raises(ValueError, match="outside"):
        bound(0, 7)


def test_fisherz_matches_partial_correlation():
    rng = np.random.default_rng(1)
    z = rng.normal(size=200)
    x = z + rng.normal(size=200)
    y = z + rng.normal(size=200)
    rx = x - np.polyval(np.polyfit(z, x, 1), z)
    ry = y - np.polyval(np.polyfit(z, y, 1), z)
    r = np.corrcoef(rx, ry)[0, 1]
    result = FisherZ().test(x, y, z)
    assert result.statistic == pytest.approx(np.sqrt(200 - 4) * abs(np.arctanh(r)), rel=1e-9)
    with pytest.raises(ValueError, match="one column"):
        FisherZ().test(np.stack([x, z], 1), y)


def _kci_queries():
    return [(0, 1, ()), (1, 2, ()), (0, 2, (1,)), (0, 3, (1, 2)), (3, 4, (0, 1, 2)), (2, 4, (0,)),
            (1, 4, (2, 3))]


@pytest.mark.parametrize("width", [0.8, 1.5])
def test_kci_p_values_match_causal_learn(width):
    cit = pytest.importorskip("causallearn.utils.cit")
    rng = np.random.default_rng(3)
    n = 250
    # A chain and a fork: several true conditional independences, so p-values spread over (0, 1).
    a = rng.normal(size=n)
    b = np.sin(1.5 * a) + 0.4 * rng.normal(size=n)
    c = b**2 + 0.4 * rng.normal(size=n)
    d = np.tanh(b) + 0.5 * rng.normal(size=n)
    e = rng.normal(size=n)
    data = np.stack([a, b, c, d, e], axis=1)
    reference = cit.CIT(data, "kci", est_width="manual", kwidthx=width, kwidthy=width, kwidthz=width)
    ours = KCI(width=width).bind(data)
    spread = []
    for x, y, s in _kci_queries():
        expected = reference(x, y, list(s))
        got = ours(x, y, s).p_value
        assert got == pytest.approx(expected, abs=1e-4), (x, y, s)
        spread.append(got)
    assert max(spread) > 0.2 and min(spread) < 0.01  # the comparison covers both regimes


def test_kci_empirical_widths_match_causal_learn_defaults():
    cit = pytest.importorskip("causallearn.utils.cit")
    rng = np.random.default_rng(4)
    z = rng.normal(size=(180, 2))
    x = np.cos(z[:, 0]) + 0.3 * rng.normal(size=180)
    y = z[:, 1] ** 2 + 0.3 * rng.normal(size=180)
    data = np.column_stack([x, y, z])
    reference = cit.CIT(data, "kci")
    ours = KCI().bind(data)
    for x_, y_, s in [(0, 1, ()), (0, 1, (2,)), (0, 1, (2, 3)), (0, 2, (3,))]:
        assert ours(x_, y_, s).p_value == pytest.approx(reference(x_, y_, list(s)), abs=1e-4)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kci_low_rank_path_matches_dense_formula(dtype):
    rng = np.random.default_rng(5)
    n, width, eps = 150, 1.0, 1e-3
    z = rng.normal(size=(n, 1))
    x = np.sin(2 * z[:, 0]) + 0.3 * rng.normal(size=n)
    y = np.cos(z[:, 0]) + 0.3 * rng.normal(size=n)
    result = KCI(width=width, epsilon=eps, dtype=dtype).test(x, y, z)
    # Dense O(n^3) evaluation of the formulas of Zhang et al. (2011), with explicit matrices.
    xs, ys, zs = (standardize(v.reshape(n, -1)) for v in (x, y, z))
    if content_hash(y.reshape(n, 1)) < content_hash(x.reshape(n, 1)):
        xs, ys = ys, xs  # the test orders x and y by content before augmenting x with z
    kernel, h = GaussianKernel(), np.eye(n) - 1.0 / n
    kx = h @ kernel.gram(np.hstack([xs, zs / 2]), width) @ h
    ky = h @ kernel.gram(ys, width) @ h
    kz = h @ kernel.gram(zs, width) @ h
    r = eps * np.linalg.inv(kz + eps * np.eye(n))
    kxr, kyr = r @ kx @ r, r @ ky @ r
    statistic = np.trace(kxr @ kyr)
    mean = np.sum(np.diag(kxr) * np.diag(kyr))
    variance = 2 * np.sum((kxr * kyr) ** 2)
    expected = stats.gamma.sf(statistic, mean**2 / variance, scale=variance / mean)
    assert result.statistic == pytest.approx(statistic, rel=1e-6)
    assert result.p_value == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("cls", [RCIT, RCoT])
def test_rcit_level_and_power(cls):
    rng = np.random.default_rng(6)
    rejections = 0
    for k in range(40):
        z = rng.normal(size=300)
        x = np.sin(2 * z) + 0.5 * rng.normal(size=300)
        y = z**2 + 0.5 * rng.normal(size=300)
        rejections += cls(seed=k).test(x, y, z).p_value < 0.05
    assert rejections <= 6  # about 5% expected under the null
    z = rng.normal(size=2000)
    x = np.sin(2 * z) + 0.5 * rng.normal(size=2000)
    y = np.cos(3 * x) + z + 0.5 * rng.normal(size=2000)
    assert cls().test(x, y, z).p_value < 1e-3


def test_rcit_is_deterministic_per_seed():
    rng = np.random.default_rng(7)
    x, y, z = rng.normal(size=(3, 200))
    assert RCoT(seed=3).test(x, y, z) == RCoT(seed=3).test(x, y, z)
    assert RCoT(seed=3).test(x, y, z) != RCoT(seed=4).test(x, y, z)
    with pytest.raises(ValueError, match="approximation"):
        RCoT(approximation="lpb5")


def test_kernel_helpers():
    rng = np.random.default_rng(8)
    block = standardize(rng.normal(size=(120, 2)))
    kernel = GaussianKernel()
    gram = kernel.gram(block, 1.0)
    factor = pivoted_cholesky(kernel, block, 1.0, tol=1e-10, max_rank=120)
    assert factor is not None and factor.shape[1] < 120
    assert np.max(np.abs(gram - factor @ factor.T)) <= 1e-9
    centred = center_gram(gram)
    h = np.eye(120) - 1.0 / 120
    np.testing.assert_allclose(centred, h @ gram @ h, atol=1e-12)
    assert kernel_target_alignment(gram, gram) == pytest.approx(1.0)
    assert pivoted_cholesky(kernel, block, 0.01, tol=1e-12, max_rank=10) is None


def test_quantum_kernel_is_a_fidelity_kernel():
    rng = np.random.default_rng(9)
    block = rng.normal(size=(30, 3))
    kernel = QuantumFeatureMapKernel()
    states = kernel.states(block, 0.7)
    np.testing.assert_allclose(np.linalg.norm(states, axis=1), 1.0, atol=1e-12)
    gram = kernel.gram(block, 0.7)
    np.testing.assert_allclose(np.diag(gram), 1.0, atol=1e-12)
    assert np.all(gram >= -1e-12) and np.all(gram <= 1 + 1e-12)
    assert np.linalg.eigvalsh(gram).min() > -1e-9
    with pytest.raises(ValueError, match="at most 6 qubits"):
        kernel.states(rng.normal(size=(4, 7)), 1.0)


def test_kci_low_rank_y_factor_matches_the_dense_path(monkeypatch):
    from latentscm.discovery.ci_tests import kci as kci_module

    rng = np.random.default_rng(21)
    z = rng.normal(size=(400, 2))
    x = np.sin(z[:, 0]) + 0.3 * rng.normal(size=400)
    y = np.cos(z[:, 1]) + 0.5 * x + 0.3 * rng.normal(size=400)
    w = np.tanh(z[:, 0] * z[:, 1]) + 0.3 * rng.normal(size=400)
    low_rank = [KCI(dtype="float64").test(a, b, z) for a, b in ((x, y), (x, w), (y, w))]
    monkeypatch.setattr(kci_module.KCI, "_centered_factor", lambda self, block, parameter, n: None)
    dense = [KCI(dtype="float64").test(a, b, z) for a, b in ((x, y), (x, w), (y, w))]
    for fast, exact in zip(low_rank, dense):
        assert fast.statistic == pytest.approx(exact.statistic, rel=1e-6)
        assert fast.p_value == pytest.approx(exact.p_value, abs=1e-6)


def test_kci_blocked_moments_equal_the_dense_sums():
    from latentscm.discovery.ci_tests.kci import _blocked_moments

    rng = np.random.default_rng(22)
    n = 300  # not a multiple of the block size: a short last block
    a = rng.normal(size=(n, 6))
    gram = a @ a.T
    left = rng.normal(size=(n, 8))  # [Q, M]
    right = np.concatenate([left[:, 4:], left[:, :4]], axis=1)  # [M, Q]: Q M^T + M Q^T is symmetric
    factor = rng.normal(size=(n, 3))
    kx = gram - left @ right.T
    assert np.allclose(kx, kx.T)
    ky = factor @ factor.T
    statistic, mean, variance = _blocked_moments(gram, left, right, factor)
    assert statistic == pytest.approx(np.sum(kx * ky), rel=1e-10)
    assert mean == pytest.approx(np.dot(np.diag(kx), np.diag(ky)), rel=1e-10)
    assert variance == pytest.approx(2 * np.sum((kx * ky) ** 2), rel=1e-10)


def test_kci_unconditional_low_rank_matches_the_dense_path(monkeypatch):
    from latentscm.discovery.ci_tests import kci as kci_module

    rng = np.random.default_rng(23)
    x = rng.normal(size=400)
    pairs = [(x, np.sin(x) + 0.5 * rng.normal(size=400)), (x, rng.normal(size=400))]
    low_rank = [KCI().test(a, b) for a, b in pairs]
    monkeypatch.setattr(kci_module.KCI, "_centered_factor", lambda self, block, parameter, n: None)
    dense = [KCI().test(a, b) for a, b in pairs]
    for fast, exact in zip(low_rank, dense):
        assert fast.statistic == pytest.approx(exact.statistic, rel=1e-6)
        assert fast.p_value == pytest.approx(exact.p_value, abs=1e-6)
    assert dense[0].p_value < 0.01 < dense[1].p_value


def test_kci_float32_p_values_equal_float64_to_1e_4_on_a_pc_level():
    from itertools import combinations

    from latentscm.scm import random_scm

    scm = random_scm(5, edge_prob=0.5, mechanism="nonlinear", seed=3)
    sample = scm.sample(700, seed=1003)
    data = np.stack([sample[name] for name in scm.graph.nodes], axis=1)
    # Every query of PC's levels 1 and 2 on the complete graph: the blocked conditional path.
    queries = [(x, y, z) for x, y in combinations(range(5), 2) for k in (1, 2)
               for z in combinations([v for v in range(5) if v not in (x, y)], k)]
    single, double = KCI().bind(data), KCI(dtype="float64").bind(data)
    p32 = np.array([single(x, y, z).p_value for x, y, z in queries])
    p64 = np.array([double(x, y, z).p_value for x, y, z in queries])
    np.testing.assert_allclose(p32, p64, rtol=0, atol=1e-4)
    assert np.sum((p64 > 0.01) & (p64 < 0.99)) >= 10  # the comparison covers p-values in between
    # The default really ran in single precision (its cached Gram matrices are float32).
    assert {g.dtype for g in single._state.grams.values()} == {np.dtype(np.float32)}
    assert {g.dtype for g in double._state.grams.values()} == {np.dtype(np.float64)}


def test_kci_rejects_an_unknown_dtype():
    with pytest.raises(ValueError, match="'dtype' parameter of KCI must be 'float32' or 'float64'"):
        KCI(dtype="float16")


def test_qkci_takes_the_kci_precision():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((150, 3))
    data[:, 1] += np.sin(2 * data[:, 0]) + 0.5 * data[:, 2]
    single, double = QKCI().bind(data), QKCI(dtype="float64").bind(data)
    assert QKCI(dtype="float64").dtype == "float64" and QKCI().dtype == "float32"
    for z in ([2], []):
        assert single(0, 1, z).p_value == pytest.approx(double(0, 1, z).p_value, abs=1e-4)
    with pytest.raises(ValueError, match="'dtype' parameter"):
        QKCI(dtype="half")
