"""Review (s27) of udr, user_model and generator_fidelity against hand-computed references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from latentscm.metrics.generator_fidelity import autocorrelation_distance, generator_fidelity, maximum_mean_discrepancy
from latentscm.metrics.udr import udr, udr_pair
from latentscm.metrics.user_model import as_model


def _udr_reference(a: np.ndarray, b: np.ndarray, threshold: float = 0.01) -> float:
    """Duan et al. (2020) eq. for UDR_ab, with scipy's Spearman and explicit loops."""
    a, b = a[:, a.var(0) > threshold], b[:, b.var(0) > threshold]
    da, db = a.shape[1], b.shape[1]
    r = np.array([[abs(spearmanr(a[:, i], b[:, j])[0]) for j in range(db)] for i in range(da)])
    total = sum(max(r[i]) ** 2 / sum(r[i]) for i in range(da))
    total += sum(max(r[:, j]) ** 2 / sum(r[:, j]) for j in range(db))
    return total / (da + db)


# Two rank sequences with exactly zero Spearman correlation: centred (-1.5,-.5,.5,1.5) . (-.5,1.5,-1.5,.5) = 0.
_ORTHOGONAL = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 1.0], [4.0, 3.0]])


def test_udr_exactly_one_for_permuted_sign_flipped_monotone_copy() -> None:
    b = np.column_stack([np.exp(_ORTHOGONAL[:, 1]) * 5.0, -_ORTHOGONAL[:, 0] ** 3])
    assert udr_pair(_ORTHOGONAL, b) == pytest.approx(1.0, abs=1e-9)


def test_udr_matches_hand_reference_on_entangled_rotation() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 3))
    angle = np.pi / 4
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    b = a @ rotation.T
    value = udr_pair(a, b)
    assert value == pytest.approx(_udr_reference(a, b), abs=1e-9)
    # a 45-degree rotation of two units: each rotated unit correlates equally with two units -> well below 1
    assert value < udr_pair(a, a[:, [2, 0, 1]] * [-1, 3, 0.5]) - 0.15
    # different widths: paper's 1/(d_a + d_b) normalisation
    assert udr_pair(a, b[:, :2]) == pytest.approx(_udr_reference(a, b[:, :2]), abs=1e-9)


def test_udr_inactive_units_are_dropped_and_range() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(100, 2))
    b = np.column_stack([a[:, 1], np.full(100, 3.0), 0.01 * rng.normal(size=100), a[:, 0]])
    assert udr_pair(a, b) == pytest.approx(udr_pair(a, b[:, [0, 3]]), abs=1e-12)
    assert udr_pair(a, np.zeros((100, 2))) == 0.0
    values = [udr_pair(rng.normal(size=(30, 3)), rng.normal(size=(30, 4))) for _ in range(5)]
    assert all(0.0 <= v <= 1.0 for v in values)


def test_udr_aggregation_is_median_then_mean() -> None:
    rng = np.random.default_rng(2)
    codes = [rng.normal(size=(60, 3)) for _ in range(4)]
    scores = udr(codes)
    for i in range(4):
        expected = np.median([udr_pair(codes[i], codes[j]) for j in range(4) if j != i])
        assert scores[f"udr.model{i}"] == pytest.approx(expected, abs=1e-12)
    assert scores["udr.mean"] == pytest.approx(np.mean([scores[f"udr.model{i}"] for i in range(4)]))
    assert udr(codes) == scores


@pytest.mark.parametrize(("call", "error", "word"), [
    (lambda: udr([np.zeros((5, 2))]), ValueError, "at least two"),
    (lambda: udr_pair(np.full((5, 2), np.nan), np.ones((5, 2))), ValueError, "codes_a"),
    (lambda: udr_pair(np.ones((5, 2)), np.ones((4, 2))), ValueError, "codes_b"),
    (lambda: udr_pair(np.ones((2, 2)), np.ones((2, 2))), ValueError, "codes_a"),
    (lambda: udr_pair(np.ones((5, 2)), np.ones((5, 2)), threshold=-1), ValueError, "threshold"),
])
def test_udr_bad_input(call, error, word) -> None:
    with pytest.raises(error, match=word):
        call()


def test_user_model_rejects_non_finite_decoder_and_counterfactual_output() -> None:
    model = as_model(lambda x: x.reshape(len(x), -1)[:, :2], decoder=lambda c: np.full((len(c), 1, 2, 2), np.nan),
                     counterfactual=lambda x, interventions: np.full(x.shape, np.inf))
    images = np.zeros((3, 1, 2, 2), np.float32)
    assert model.encode(images).shape == (3, 2)
    with pytest.raises(ValueError, match="decoder.*NaN or infinite"):
        model.decode(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="counterfactual.*NaN or infinite"):
        model.counterfactual(images, {})


def test_user_model_shape_errors_name_the_callable() -> None:
    model = as_model(lambda x: np.zeros((len(x) + 1, 2)), decoder=lambda c: np.zeros((len(c), 4)))
    with pytest.raises(ValueError, match="encoder.*codes"):
        model.encode(np.zeros((3, 1, 2, 2)))
    with pytest.raises(ValueError, match="decoder"):
        model.decode(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="learner"):
        as_model(3)


def _mmd_reference(real: np.ndarray, generated: np.ndarray, window: int) -> float:
    mean, std = real.mean(0), real.std(0)
    a = [((real - mean) / std)[t: t + window].ravel() for t in range(len(real) - window + 1)]
    b = [((generated - mean) / std)[t: t + window].ravel() for t in range(len(generated) - window + 1)]
    pooled = a + b
    d2 = [float(np.sum((x - y) ** 2)) for i, x in enumerate(pooled) for y in pooled[i + 1:]]
    h = float(np.median([v for v in d2 if v > 0]))
    k = lambda x, y: np.exp(-np.sum((x - y) ** 2) / h)  # noqa: E731
    m, n = len(a), len(b)
    kaa = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kbb = sum(k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kab = sum(k(x, y) for x in a for y in b) / (m * n)
    return kaa + kbb - 2 * kab


def test_mmd_matches_loop_reference_when_all_windows_are_used() -> None:
    rng = np.random.default_rng(3)
    real, generated = rng.normal(size=(12, 2)), rng.normal(loc=0.5, size=(9, 2))
    value = maximum_mean_discrepancy(real, generated, window=3, max_windows=100, seed=0)
    assert value == pytest.approx(_mmd_reference(real, generated, 3), abs=1e-10)


def test_acf_distance_closed_form() -> None:
    T = 10
    alternating = np.array([(-1.0) ** t for t in range(T)])[:, None]
    trend = np.arange(T, dtype=float)[:, None]
    # alternating: ACF(k) = (-1)^k (T - k) / T; the sign flip leaves it unchanged
    assert autocorrelation_distance(alternating, -alternating, max_lag=3) == pytest.approx(0.0, abs=1e-12)
    c = trend[:, 0] - trend.mean()
    trend_acf = [np.sum(c[k:] * c[:-k]) / np.sum(c**2) for k in (1, 2, 3)]
    alt_acf = [(-1) ** k * (T - k) / T for k in (1, 2, 3)]
    expected = np.mean(np.abs(np.subtract(alt_acf, trend_acf)))
    assert autocorrelation_distance(alternating, trend, max_lag=3) == pytest.approx(expected, abs=1e-12)


def test_generator_fidelity_deterministic_and_separates_noise() -> None:
    rng = np.random.default_rng(4)
    t = np.arange(200)
    real = np.column_stack([np.sin(t / 3.0), np.cos(t / 5.0)]) + 0.05 * rng.normal(size=(200, 2))
    noise = rng.normal(size=(200, 2))
    first = generator_fidelity(real, noise, window=5, max_lag=3, max_windows=150, seed=7)
    assert generator_fidelity(real, noise, window=5, max_lag=3, max_windows=150, seed=7) == first
    assert first["fidelity.discriminator_score"] > 0.3
    assert first["fidelity.acf_distance"] > 0.3
    with pytest.raises(ValueError, match="variables"):
        maximum_mean_discrepancy(real, noise[:, :1])
    with pytest.raises(ValueError, match="window"):
        maximum_mean_discrepancy(real, noise[:4], window=10)
    with pytest.raises(ValueError, match="real"):
        maximum_mean_discrepancy(np.full((20, 2), np.nan), noise)


def test_as_model_wraps_encode_only_learner_with_counterfactual() -> None:
    class EncodeOnly:
        def encode(self, images: np.ndarray) -> np.ndarray:
            return np.zeros((len(images), 2))

    model = as_model(EncodeOnly(), counterfactual=lambda x, interventions: x)
    assert not model.can_decode and model.can_counterfactual
    images = np.ones((2, 1, 2, 2), np.float32)
    np.testing.assert_array_equal(model.counterfactual(images, {}), images)


def test_udr_activity_threshold_is_on_raw_variance_as_documented() -> None:
    a = np.random.default_rng(5).normal(size=(200, 3))
    assert udr_pair(a, 0.05 * a) == 0.0
    assert udr_pair(a, 0.05 * a, threshold=0.0) == pytest.approx(udr_pair(a, a), abs=1e-12)
