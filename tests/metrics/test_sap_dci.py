import numpy as np
import pytest

from latentscm.metrics import dci, dci_from_importance, importance_matrix, sap, sap_score_matrix
from latentscm.metrics.dci import canonical_columns


def test_sap_perfect_random_entangled(factors, perfect, rotated, random):
    assert sap(perfect, factors) > 0.9
    assert sap(random, factors) < 0.05
    assert sap(rotated, factors) < 0.4


def test_sap_score_matrix_known_values(build):
    # Factor 0 copied into code 0; code 1 is noise: chance-adjusted accuracy 1 vs ~0.
    factors = build.make_factors(3000, sizes=(4, 3))
    codes = np.stack([factors[:, 0], build.random_codes(factors, 1)[:, 0]], axis=1)
    scores = sap_score_matrix(codes, factors)
    assert scores[0, 0] == pytest.approx(1.0)
    assert scores[1, 0] < 0.05 and scores[0, 1] < 0.05 and scores[1, 1] < 0.05
    assert sap(codes, factors) == pytest.approx(np.mean([1.0 - scores[1, 0],
                                                         abs(scores[0, 1] - scores[1, 1])]))


def test_sap_continuous_factor_uses_r2():
    rng = np.random.default_rng(0)
    factor = rng.uniform(size=(2000, 1))
    noise = rng.standard_normal((2000, 1))
    codes = np.concatenate([2 * factor + 0.1 * noise, rng.standard_normal((2000, 1))], axis=1)
    scores = sap_score_matrix(codes, factor, discrete=False)
    expected = np.corrcoef(codes[:, 0], factor[:, 0])[0, 1] ** 2
    assert scores[0, 0] == pytest.approx(expected, abs=1e-12)


def test_sap_invariant_to_permutation_and_scaling(build, factors, rotated):
    codes = rotated + 0.5 * build.perfect_codes(factors)
    assert sap(build.transformed(codes), factors) == pytest.approx(sap(codes, factors), abs=1e-9)


def test_sap_rejects_bad_input(factors, perfect):
    with pytest.raises(ValueError, match="'codes'.*at least 2 columns"):
        sap(perfect[:, :1], factors)
    with pytest.raises(ValueError, match="'test_fraction'"):
        sap(perfect, factors, test_fraction=1.5)
    with pytest.raises(TypeError, match="seed"):
        sap(perfect, factors, seed="zero")


def test_dci_from_importance_hand_computed():
    assert dci_from_importance(np.eye(3)) == pytest.approx((1.0, 1.0))
    assert dci_from_importance(np.ones((3, 3))) == pytest.approx((0.0, 0.0), abs=1e-12)
    # Rows: code 0 -> factor 0 only; code 1 split evenly. Code weights 1/2, 1/2: D = 0.5.
    # Columns (1, .5) and (0, .5): weights 3/4 and 1/4; H2(2/3, 1/3) = 0.918296.
    importance = np.array([[1.0, 0.0], [0.5, 0.5]])
    h = -(2 / 3 * np.log2(2 / 3) + 1 / 3 * np.log2(1 / 3))
    d, c = dci_from_importance(importance)
    assert d == pytest.approx(0.5)
    assert c == pytest.approx(0.75 * (1 - h) + 0.25 * 1.0)
    assert dci_from_importance(np.zeros((2, 2))) == (0.0, 0.0)
    # A dead code dimension (zero row) does not change D; a spare dimension lowers nothing.
    assert dci_from_importance(np.vstack([np.eye(2), [0.0, 0.0]])) == pytest.approx((1.0, 1.0))


def test_dci_perfect_random_entangled(factors, perfect, rotated, random):
    good = dci(perfect, factors)
    assert good["dci.disentanglement"] > 0.9
    assert good["dci.completeness"] > 0.9
    # Informativeness is held-out *accuracy* of a classifier: ~1 for perfect codes, not ~0.
    assert good["dci.informativeness"] > 0.97
    bad = dci(random, factors)
    assert bad["dci.disentanglement"] < 0.2
    chance = np.mean([1 / 3, 1 / 6, 1 / 10, 1 / 8])
    assert bad["dci.informativeness"] < chance + 0.05
    assert bad["dci.informativeness_train"] > bad["dci.informativeness"]  # over-fitting shows
    assert dci(rotated, factors)["dci.disentanglement"] < 0.5


def test_dci_invariant_to_permutation_and_scaling(build, factors, rotated):
    codes = rotated[:, :3] + build.perfect_codes(factors)[:, :3]
    before = dci(codes, factors)
    after = dci(build.transformed(codes), factors)
    for key in before:
        assert after[key] == pytest.approx(before[key], abs=1e-9), key


def test_canonical_columns_undo_permutation_and_sign():
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((50, 4))
    moved = codes[:, [2, 0, 3, 1]] * np.array([-2.0, 1.0, 0.5, -1.0]) + 3.0
    order_a, signs_a = canonical_columns(codes)
    order_b, signs_b = canonical_columns(moved)
    canon_a = codes[:, order_a] * signs_a
    canon_b = moved[:, order_b] * signs_b
    standard = [(c - c.mean(0)) / c.std(0) for c in (canon_a, canon_b)]
    np.testing.assert_allclose(standard[0], standard[1], atol=1e-12)


def test_columns_with_the_same_ranks_are_ordered_by_content():
    # x and x ** 3 share their rank pattern; the order must still not depend on the input order
    rng = np.random.default_rng(0)
    factors = rng.uniform(-1, 1, size=(400, 2))
    x = factors[:, 0] + 0.3 * rng.standard_normal(400)
    codes = np.c_[x, x ** 3, factors[:, 1] + 0.3 * rng.standard_normal(400)]
    moved = codes[:, [1, 2, 0]] * np.array([2.0, -1.0, 0.5]) + 1.0
    for a, b in ((codes, moved), (codes, codes[:, [1, 0, 2]])):
        order_a, signs_a = canonical_columns(a)
        order_b, signs_b = canonical_columns(b)
        standard = [(c - c.mean(0)) / c.std(0) for c in (a[:, order_a] * signs_a, b[:, order_b] * signs_b)]
        np.testing.assert_allclose(standard[0], standard[1], atol=1e-12)
    before = dci(codes, factors, discrete=False)
    after = dci(codes[:, [1, 0, 2]], factors, discrete=False)
    for key in before:
        assert after[key] == pytest.approx(before[key], abs=1e-12), key


def test_dci_continuous_factor_uses_regression():
    rng = np.random.default_rng(0)
    factors = rng.uniform(size=(1500, 2))
    codes = np.concatenate([factors[:, ::-1] ** 3, rng.standard_normal((1500, 1))], axis=1)
    result = importance_matrix(codes, factors, discrete=False)
    assert result["importance"][1, 0] > 0.9 and result["importance"][0, 1] > 0.9
    assert np.all(result["test_score"] > 0.95)  # held-out R²


def test_dci_gbt_parity_estimator_small(build):
    factors = build.make_factors(200, sizes=(2, 3))
    codes = build.perfect_codes(factors)
    result = dci(codes, factors, estimator="gbt")
    assert result["dci.disentanglement"] > 0.9
    assert result["dci.informativeness"] == pytest.approx(1.0)


def test_dci_deterministic_and_rejects_bad_input(factors, perfect):
    assert dci(perfect, factors, seed=4) == dci(perfect, factors, seed=4)
    with pytest.raises(ValueError, match="'estimator'.*'forest', 'gbt'"):
        dci(perfect, factors, estimator="lasso")
    with pytest.raises(ValueError, match="2-D"):
        dci(perfect[:, 0], factors)


def test_dci_accepts_discrete_factors_on_a_float_grid():
    # a discrete factor whose grid values are not integers (e.g. angles iπ/200) is still a class label
    rng = np.random.default_rng(0)
    grid = np.arange(-40, 44) * np.pi / 200
    factors = np.stack([rng.choice(grid, 600), rng.uniform(size=600)], axis=1)
    codes = np.column_stack([factors[:, 0], factors[:, 1], rng.normal(size=600)])
    result = dci(codes, factors, discrete=[True, False], seed=0)
    assert result["dci.disentanglement"] > 0.5


def test_sap_factor_with_more_levels_than_bins_can_score_one():
    # dSprites-like 40-level factor: with only n_bins (20) bins a code equal to the factor could name at most
    # 20 of the 40 classes (score ~0.49); the classifier gets at least one bin per class
    rng = np.random.default_rng(0)
    factors = np.column_stack([rng.integers(0, 40, 4000), rng.integers(0, 3, 4000)]).astype(float)
    codes = np.column_stack([factors[:, 0], factors[:, 1], rng.standard_normal(4000)])
    scores = sap_score_matrix(codes, factors)
    assert scores[0, 0] > 0.95
    assert sap(codes, factors) > 0.95


def test_dci_unchanged_by_a_large_offset():
    # scikit-learn's trees work in float32 (spacing 1.0 at 1e7): without standardising, an offset erased the code
    rng = np.random.default_rng(0)
    factors = np.column_stack([rng.integers(0, 10, 1000), rng.uniform(0, 1, 1000)])
    codes = np.column_stack([factors[:, 0] / 10 + 0.01 * rng.standard_normal(1000), factors[:, 1],
                             rng.standard_normal(1000)])
    reference = dci(codes, factors, discrete=[True, False])
    shifted = dci(codes + np.array([1e7, -3e6, 5e5]), factors, discrete=[True, False])
    assert reference["dci.informativeness"] > 0.95
    for key, value in reference.items():
        assert shifted[key] == pytest.approx(value, abs=1e-9), key
