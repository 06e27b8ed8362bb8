"""PR@k, MAP@k and MRR on small cases computed by hand."""

import pytest

from latentscm.metrics.ranking import map_at_k, mrr, precision_at_k, ranking_scores


def test_single_case():
    ranking = ["db", "api", "cache", "web"]
    assert precision_at_k(ranking, "api", 1) == 0.0
    assert precision_at_k(ranking, "api", 2) == 1.0
    assert mrr(ranking, "api") == 0.5
    # PR@1 = 0, PR@2 = PR@3 = 1 -> MAP@3 = 2/3
    assert map_at_k(ranking, "api", 3) == pytest.approx(2 / 3)


def test_several_cases_and_several_root_causes():
    rankings = [["a", "b", "c", "d"], ["c", "d", "a", "b"], {"a": 0.1, "b": 0.9, "c": 0.5, "d": 0.0}]
    truths = [{"a", "c"}, {"b"}, ["c"]]
    # case 0: top1 {a} -> 1/1; top3 {a,b,c} -> 2/2.  case 1: b at rank 4.  case 2: order b, c, a, d.
    assert precision_at_k(rankings, truths, 1) == pytest.approx((1 + 0 + 0) / 3)
    assert precision_at_k(rankings, truths, 2) == pytest.approx((0.5 + 0 + 1) / 3)
    assert precision_at_k(rankings, truths, 3) == pytest.approx((1 + 0 + 1) / 3)
    assert precision_at_k(rankings, truths, 4) == pytest.approx(1.0)
    assert mrr(rankings, truths) == pytest.approx((1 + 1 / 4 + 1 / 2) / 3)
    expected_map3 = (1 / 3 + 1.5 / 3 + 2 / 3) / 3
    assert map_at_k(rankings, truths, 3) == pytest.approx(expected_map3)
    scores = ranking_scores(rankings, truths, ks=(1, 3))
    assert scores == pytest.approx({"rca.pr@1": 1 / 3, "rca.pr@3": 2 / 3, "rca.map@3": expected_map3,
                                    "rca.mrr": (1 + 1 / 4 + 1 / 2) / 3})


def test_a_root_cause_missing_from_the_ranking_scores_zero():
    assert mrr(["a", "b"], "z") == 0.0
    assert precision_at_k(["a", "b"], "z", 2) == 0.0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="'k' parameter of precision_at_k"):
        precision_at_k(["a"], "a", 0)
    with pytest.raises(ValueError, match="2 rankings but 1 root-cause"):
        mrr([["a"], ["b"]], [{"a"}])
    with pytest.raises(ValueError, match="no root cause"):
        mrr(["a"], set())
    with pytest.raises(TypeError, match="Case 0 of mrr: the root causes must be a variable name or a set"):
        mrr([["a", "b"]], [3])
    with pytest.raises(TypeError, match="Case 0 of precision_at_k: .* Got None"):
        precision_at_k(["a", "b"], None, 1)
    with pytest.raises(ValueError, match=r"lists \['a'\] more than once"):
        mrr(["a", "a"], "a")
    with pytest.raises(ValueError, match=r"rankings\[0\]\[.a.\].* must be a float. Got nan"):
        mrr({"a": float("nan")}, "a")
