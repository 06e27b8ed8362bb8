import numpy as np
import pytest

from latentscm.metrics import correlation_matrix, mcc, r2


def test_mcc_perfect_random_entangled(factors, perfect, rotated, random):
    assert mcc(perfect, factors) == pytest.approx(1.0, abs=1e-12)
    assert mcc(perfect, factors, method="spearman") == pytest.approx(1.0, abs=1e-12)
    assert mcc(random, factors) < 0.1
    assert mcc(rotated, factors) < 0.9


def test_mcc_hand_computed_matching():
    # |r| = [[0.2, 0.9], [0.8, 0.1]]: the Hungarian matching takes the anti-diagonal.
    correlation = np.array([[0.2, 0.9], [0.8, 0.1]])
    rng = np.random.default_rng(0)
    factors = rng.standard_normal((20000, 2))
    factors = (factors - factors.mean(0)) / factors.std(0)
    # Build codes with the chosen correlations: code_j = sum_k c_jk f_k + noise, unit variance.
    noise = rng.standard_normal((20000, 2))
    codes = factors @ correlation.T + noise * np.sqrt(1 - (correlation ** 2).sum(1))
    measured = correlation_matrix(codes, factors)
    expected = (measured[0, 1] + measured[1, 0]) / 2
    assert mcc(codes, factors) == pytest.approx(expected, abs=1e-12)
    assert expected == pytest.approx(0.85, abs=0.02)


def test_mcc_invariances_and_spearman(build, factors, rotated):
    codes = rotated + build.perfect_codes(factors)
    assert mcc(build.transformed(codes), factors) == pytest.approx(mcc(codes, factors), abs=1e-12)
    # A monotone nonlinear map keeps Spearman at 1 while Pearson drops.
    warped = np.exp(3 * build.perfect_codes(factors))
    assert mcc(warped, factors, method="spearman") == pytest.approx(1.0, abs=1e-12)
    assert mcc(warped, factors) < 0.95


def test_mcc_too_few_dimensions_and_constant_columns(factors, perfect):
    # Two perfect dimensions for four factors: unmatched factors count 0.
    assert mcc(perfect[:, :2], factors) == pytest.approx(0.5, abs=1e-12)
    codes = np.concatenate([perfect, np.zeros((len(perfect), 1))], axis=1)
    assert mcc(codes, factors) == pytest.approx(1.0, abs=1e-12)
    assert correlation_matrix(codes, factors)[-1].tolist() == [0.0] * 4
    with pytest.raises(ValueError, match="'method'.*'pearson', 'spearman'"):
        mcc(perfect, factors, method="kendall")


def test_r2_nonlinear_identifiability():
    rng = np.random.default_rng(0)
    factors = rng.uniform(-1, 1, size=(800, 2))
    # An invertible nonlinear mix: linear MCC is below 1, kernel ridge R² is ~1.
    codes = np.stack([np.tanh(2 * factors[:, 0]) + 0.3 * factors[:, 1] ** 3,
                      factors[:, 1] + 0.5 * np.sin(3 * factors[:, 0])], axis=1)
    assert r2(codes, factors) > 0.97
    assert r2(rng.standard_normal((800, 2)), factors) < 0.05
    # Half the information: the second factor cannot be predicted.
    assert r2(factors[:, :1] ** 3, factors) == pytest.approx(0.5, abs=0.05)


def test_r2_invariant_to_permutation(build):
    rng = np.random.default_rng(1)
    factors = rng.uniform(size=(400, 3))
    codes = np.sin(3 * factors) + 0.05 * rng.standard_normal((400, 3))
    assert r2(codes[:, [2, 0, 1]], factors) == pytest.approx(r2(codes, factors), abs=1e-9)


def test_r2_rejects_bad_input():
    codes = np.zeros((20, 2)) + np.arange(20)[:, None]
    with pytest.raises(ValueError, match="'alphas'"):
        r2(codes, codes, alphas=[0.1, -1.0])
    with pytest.raises(ValueError, match="'max_train'"):
        r2(codes, codes, max_train=1)
