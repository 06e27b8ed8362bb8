"""Regression tests of the third review of the metrics (session 22)."""

import numpy as np
import pytest

from latentscm.metrics import mig, modularity_explicitness
from latentscm.metrics.mutual_info import mutual_information


def test_histogram_estimates_of_quantised_codes_ignore_shift_scale_and_sign():
    # 21 grid levels and 20 bins: every level sits on a bin edge, and float rounding used to decide its bin
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 21, (2000, 2)).astype(float)
    codes = np.column_stack([factors[:, 0] / 20, factors[:, 1] / 20, rng.normal(size=2000)])
    before_mi = mutual_information(codes, factors)
    before_mig = mig(codes, factors)
    before_mod = modularity_explicitness(codes, factors)["modularity_explicitness.modularity"]
    for transform in (np.array([-1.0, 1, 1]), np.array([3.0, -0.7, 1])):
        for shift in (0.0, 0.3):
            moved = codes * transform + shift
            assert mutual_information(moved, factors) == pytest.approx(before_mi, abs=1e-12)
            assert mig(moved, factors) == pytest.approx(before_mig, abs=1e-12)
            after_mod = modularity_explicitness(moved, factors)["modularity_explicitness.modularity"]
            assert after_mod == pytest.approx(before_mod, abs=1e-12)


def test_tied_scores_give_the_expected_value_over_random_orders_not_the_mapping_order():
    from latentscm.metrics.ranking import map_at_k, mrr, precision_at_k, ranking_scores

    for scores in ({"a": 0.0, "b": 0.0, "c": 0.0}, {"b": 0.0, "c": 0.0, "a": 0.0}):
        assert mrr(scores, "a") == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
        assert precision_at_k(scores, "a", 1) == pytest.approx(1 / 3)
        assert precision_at_k(scores, "a", 2) == pytest.approx(2 / 3)
        assert map_at_k(scores, "a", 3) == pytest.approx((1 / 3 + 2 / 3 + 1) / 3)
    for scores in ({"c": 1.0, "a": 0.5, "b": 0.5, "d": 0.1}, {"c": 1.0, "b": 0.5, "a": 0.5, "d": 0.1}):
        assert mrr(scores, "a") == pytest.approx((1 / 2 + 1 / 3) / 2)
        assert precision_at_k(scores, "a", 2) == pytest.approx(1 / 2)
        assert ranking_scores(scores, "a", ks=(1, 2))["rca.mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    # two root causes tied with two others at ranks 1-4: the first of them is at 1, 2 or 3 w.p. 1/2, 1/3, 1/6
    scores = {"a": 1.0, "x": 1.0, "b": 1.0, "y": 1.0}
    assert mrr(scores, {"a", "b"}) == pytest.approx(1 / 2 + 1 / 3 / 2 + 1 / 6 / 3)
    assert precision_at_k(scores, {"a", "b"}, 3) == pytest.approx(2 * 3 / 4 / 2)
    # distinct scores and sequences are unchanged
    assert mrr({"a": 0.1, "b": 0.9}, "a") == 0.5 and mrr(["b", "a"], "a") == 0.5


def test_normalized_shd_with_nothing_to_compare_is_refused():
    from latentscm.metrics.temporal_graph import normalized_shd

    true = np.zeros((3, 1, 1))
    true[1, 0, 0] = 1
    for kind in ("window", "summary"):
        with pytest.raises(ValueError, match="normalized_shd has no entries to compare.*diagonal=True"):
            normalized_shd(true, true, kind=kind)
        assert normalized_shd(true, true, kind=kind, diagonal=True) == 0.0


def test_lag0_diagonal_is_left_out_of_summary_scores_and_graphs():
    from latentscm.metrics.temporal_graph import normalized_shd, summary_auprc, summary_auroc

    true = np.zeros((2, 3, 3))
    true[1, 0, 0] = true[1, 0, 1] = true[1, 1, 2] = 1
    polluted = 0.9 * true
    polluted[0, [0, 1, 2], [0, 1, 2]] = 5.0
    assert summary_auroc(true, polluted, diagonal=True) == 1.0
    assert summary_auprc(true, polluted, diagonal=True) == 1.0
    found = true.copy()
    found[0, 1, 1] = 1
    assert normalized_shd(true, found, kind="summary", diagonal=True) == 0.0
    # a true window graph with a lag-0 self-entry does not make a self-dependence either
    assert normalized_shd(found, true, kind="summary", diagonal=True) == 0.0


def test_sequence_arguments_refuse_a_bare_name_or_int_and_repeated_factors():
    from latentscm.metrics.counterfactual import counterfactual_metrics
    from latentscm.metrics.domain_counterfactual import domain_counterfactual_soundness
    from latentscm.metrics.ranking import ranking_scores
    from latentscm.worlds import make

    class Identity:
        def counterfactual(self, images, interventions):
            return images

    world = make("pendulum", size=16)
    name = world.factor_names[0]
    with pytest.raises(TypeError, match="'factors' parameter of counterfactual_metrics must be a sequence"):
        counterfactual_metrics(Identity(), world, n=2, factors=name)
    with pytest.raises(ValueError, match="'factors' parameter of counterfactual_metrics names a factor more than"):
        counterfactual_metrics(Identity(), world, n=2, factors=[name, name])
    with pytest.raises(TypeError, match="'composition_steps' parameter of counterfactual_metrics must be a seq"):
        counterfactual_metrics(Identity(), world, n=2, composition_steps=5)
    with pytest.raises(TypeError, match="'ks' parameter of ranking_scores must be a sequence"):
        ranking_scores(["a", "b"], "a", ks=3)
    flow = make("flow", size=16, grid=False, domains={"n_domains": 2, "shifted": ["water_height"]})
    with pytest.raises(TypeError, match="'composition_steps' parameter of domain_counterfactual_soundness"):
        domain_counterfactual_soundness(lambda x, s, t: x, flow, n=2, composition_steps=2,
                                        read_factors=lambda x: np.zeros((len(x), len(flow.factor_names))))
