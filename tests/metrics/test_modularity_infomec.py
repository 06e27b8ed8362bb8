import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from latentscm.metrics import infomec, modularity_explicitness
from latentscm.metrics.infomec import active_latents, infom_infoc
from latentscm.metrics.modularity import modularity_from_mutual_information, one_vs_rest_auc

MOD = "modularity_explicitness.modularity"
EXP = "modularity_explicitness.explicitness"


def test_modularity_hand_computed():
    # Row 0 matches its template (1 - 0); row 1 has equal MI with both factors:
    # delta = 1^2 / (1^2 * (2 - 1)) = 1 -> 0. Row 2 carries no information: left out.
    mutual_info = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    assert modularity_from_mutual_information(mutual_info) == pytest.approx(0.5)
    # Three factors, row (2, 1, 1): delta = (1 + 1) / (4 * 2) = 0.25.
    assert modularity_from_mutual_information(np.array([[2.0, 1.0, 1.0]])) == pytest.approx(0.75)
    assert modularity_from_mutual_information(np.zeros((2, 2))) == 0.0


def test_one_vs_rest_auc_matches_sklearn():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 300)
    scores = rng.random((300, 4)) + 0.5 * np.eye(4)[labels]
    scores[:10, 0] = scores[10:20, 0]  # ties
    expected = np.mean([roc_auc_score(labels == c, scores[:, c]) for c in range(4)])
    assert one_vs_rest_auc(scores, labels, 4) == pytest.approx(expected, abs=1e-12)


def test_modularity_explicitness_known_answers(factors, perfect, rotated, random):
    good = modularity_explicitness(perfect, factors)
    assert good[MOD] > 0.95
    assert good[EXP] > 0.95
    bad = modularity_explicitness(random, factors)
    assert bad[EXP] == pytest.approx(0.5, abs=0.05)
    assert modularity_explicitness(rotated, factors)[MOD] < good[MOD] - 0.1


def test_modularity_invariant_to_permutation_and_scaling(build, factors, rotated):
    before = modularity_explicitness(rotated, factors)
    after = modularity_explicitness(build.transformed(rotated), factors)
    assert after[MOD] == pytest.approx(before[MOD], abs=1e-9)
    assert after[EXP] == pytest.approx(before[EXP], abs=1e-3)


def test_infom_infoc_hand_computed():
    assert infom_infoc(np.eye(3)) == pytest.approx((1.0, 1.0))
    assert infom_infoc(np.full((3, 3), 0.2)) == pytest.approx((0.0, 0.0))
    # Sources x latents. Latent columns: (0.8, 0) sparsity 1 -> 1; (0.4, 0.4) -> 1/2 -> 0.
    # Source rows: (0.8, 0.4) -> 2/3 -> (2/3 - 1/2) / (1/2) = 1/3; (0, 0.4) -> 1.
    nmi = np.array([[0.8, 0.4], [0.0, 0.4]])
    assert infom_infoc(nmi) == pytest.approx((0.5, (1 / 3 + 1) / 2))
    # An uninformative latent is left out of InfoM; an uncaptured source scores 0 in InfoC.
    assert infom_infoc(np.array([[1.0, 0.0], [0.0, 0.0]])) == pytest.approx((1.0, 0.5))


def test_active_latents_prunes_small_ranges():
    codes = np.array([[0.0, 0.0, 5.0], [1.0, 0.04, 5.0], [2.0, 0.2, 5.0]])
    np.testing.assert_array_equal(active_latents(codes, 0.05), [True, True, False])
    np.testing.assert_array_equal(active_latents(codes, 0.2), [True, False, False])


def test_infomec_known_answers(build, factors, perfect, rotated, random):
    good = infomec(np.concatenate([perfect, np.zeros((len(perfect), 2))], axis=1), factors)
    assert good["infomec.n_active"] == 4.0  # the two constant latents are pruned
    assert good["infomec.infom"] > 0.9 and good["infomec.infoc"] > 0.9
    assert good["infomec.infoe"] > 0.6  # a linear read-out of a 10-class factor is not sharp
    bad = infomec(random, factors)
    assert bad["infomec.infoe"] < 0.02
    entangled = infomec(rotated, factors)
    assert entangled["infomec.infoc"] < 0.3 and entangled["infomec.infom"] < 0.4
    assert entangled["infomec.infoe"] > 0.5  # still informative, only mixed


def test_infomec_invariant_to_permutation(build, factors, rotated):
    order = np.random.default_rng(0).permutation(rotated.shape[1])
    before, after = infomec(rotated, factors), infomec(rotated[:, order], factors)
    for key in before:
        assert after[key] == pytest.approx(before[key], abs=1e-4), key  # jitter moves with columns


def test_infomec_rejects_bad_input(factors, perfect):
    with pytest.raises(ValueError, match="'inactive_threshold'"):
        infomec(perfect, factors, inactive_threshold=2.0)
    with pytest.raises(TypeError, match="'n_neighbors'"):
        infomec(perfect, factors, n_neighbors=2.5)


def test_fully_collapsed_scores_zero(factors):
    result = infomec(np.ones((len(factors), 3)), factors)
    assert result == {"infomec.infom": 0.0, "infomec.infoe": 0.0, "infomec.infoc": 0.0,
                      "infomec.n_active": 0.0}
