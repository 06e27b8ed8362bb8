"""The conditional Gaussian likelihood-ratio CI test (``cg_lrt``): conformance, its exact special cases (partial
correlation, G-square), calibration on mixed data, discovery with it, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from mixed_data import mixed_collider

from latentscm.discovery import fci, gfci, make_ci_test
from latentscm.discovery.ci_tests import CIQuery, ConditionalGaussianLRT, GSquare
from latentscm.testing import check_ci_test


def test_conformance() -> None:
    check_ci_test(make_ci_test("cg_lrt"))
    rebuilt = ConditionalGaussianLRT(**ConditionalGaussianLRT(categorical=[0, 2], max_levels=5).get_params())
    assert rebuilt.get_params() == {"categorical": [0, 2], "max_levels": 5, "min_extra_rows": 4}


def test_all_continuous_is_the_partial_correlation_likelihood_ratio() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    x[:, 1] += 0.15 * x[:, 0] + 0.5 * x[:, 2]
    x[:, 0] += 0.5 * x[:, 2]
    residuals = [v - np.polyval(np.polyfit(x[:, 2], v, 1), x[:, 2]) for v in (x[:, 0], x[:, 1])]
    r = np.corrcoef(*residuals)[0, 1]
    result = ConditionalGaussianLRT().test(x[:, 0], x[:, 1], x[:, 2])
    assert result.statistic == pytest.approx(-400 * np.log(1 - r ** 2), rel=1e-9)


def test_all_categorical_is_the_g_square_statistic() -> None:
    rng = np.random.default_rng(1)
    z = rng.integers(0, 2, 2000)
    x = (z + rng.integers(0, 2, 2000)) % 3
    y = (x + z + (rng.random(2000) < 0.3)) % 2
    ours, theirs = ConditionalGaussianLRT().test(x, y, z), GSquare().test(x, y, z)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9)
    assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-6)  # dense tables: the same df


def test_calibrated_on_mixed_null_data() -> None:
    """A categorical and a continuous column, independent given a categorical or a continuous one: the rejection
    rate at 0.05 over 300 seeded data sets each (measured 0.047 and 0.047)."""
    rng = np.random.default_rng(2)
    test = ConditionalGaussianLRT()
    for continuous_z in (False, True):
        p = []
        for _ in range(300):
            z = rng.normal(size=500) if continuous_z else rng.integers(0, 2, 500)
            a = (rng.random(500) < 0.4).astype(int) + rng.integers(0, 2, 500)
            x = 0.8 * z + rng.normal(size=500)
            p.append(test.test(a, x, z).p_value)
        assert 0.02 <= np.mean(np.array(p) < 0.05) <= 0.09


def test_a_query_with_too_small_cells_answers_p_one() -> None:
    rng = np.random.default_rng(3)
    z = np.repeat(np.arange(8), 5)  # 8 cells of 5 rows; x, y continuous need k + 4 = 6 rows per cell
    x = rng.normal(size=40)
    result = ConditionalGaussianLRT(max_levels=10).test(x, x + 0.1 * rng.normal(size=40), z)
    assert result.p_value == 1.0 and result.statistic == 0.0


def test_fci_and_gfci_on_mixed_data() -> None:
    """The true PAG a o-> y <-o x, y --> c. (PC with cg_lrt adds x -> c on this seed: c is a logistic function of
    y, which the CG model only approximates, and at n = 3000 the test sees the misfit as x and c dependent given
    y.)"""
    data, names = mixed_collider(3000, 0)
    expected = ["a o-> y", "x o-> y", "y --> c"]
    assert sorted(fci(data, ci_test="cg_lrt", node_names=names).edges()) == expected
    pag = gfci(data, ci_test="cg_lrt", score="cg", score_options={"discrete": ["a", "c"]}, node_names=names)
    assert sorted(pag.edges()) == expected and pag.info["ci_test"] == "cg_lrt"


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="'categorical'.*'auto'"):
        ConditionalGaussianLRT(categorical="all")
    with pytest.raises(ValueError, match="categorical"):
        ConditionalGaussianLRT(categorical=[-1])
    with pytest.raises(ValueError, match="max_levels"):
        ConditionalGaussianLRT(max_levels=1)
    data, _ = mixed_collider(100, 1)
    with pytest.raises(ValueError, match="columns \\[7\\], outside"):
        ConditionalGaussianLRT(categorical=[7]).bind(data).test_query(CIQuery.make(0, 1))
    with pytest.raises(ValueError, match="columns \\[1\\], which hold non-integer"):
        ConditionalGaussianLRT(categorical=[1]).bind(data).test_query(CIQuery.make(0, 1))


def test_gfci_with_cg_lrt_scores_with_the_same_model() -> None:
    """gfci(ci_test="cg_lrt") without a score: the CG score on the columns the test reads as categorical."""
    data, names = mixed_collider(3000, 0)
    pag = gfci(data, ci_test="cg_lrt", node_names=names)
    assert pag.info["score_info"]["score"] == "cg" and pag.info["score_info"]["score_options"] == {"discrete": [0, 3]}
    assert sorted(pag.edges()) == ["a o-> y", "x o-> y", "y --> c"]
    named = gfci(data, ci_test="cg_lrt", score_options={"discrete": ["a", "c"]}, node_names=names)
    assert named.info["score_info"]["score_options"] == {"discrete": ["a", "c"]}


def test_categorical_columns_by_name_through_the_searches() -> None:
    """ci_options={"categorical": [names]} works in pc, fci, rfci and gfci (which know the names); the same test on
    a bare matrix, or a name that is no column, is refused with the reason."""
    from latentscm.discovery import pc, rfci

    data, names = mixed_collider(3000, 0)
    by_name = {"categorical": ["a", "c"]}
    assert sorted(fci(data, ci_test="cg_lrt", ci_options=by_name, node_names=names).edges()) == \
        sorted(fci(data, ci_test="cg_lrt", ci_options={"categorical": [0, 3]}, node_names=names).edges())
    assert ("a", "y") in pc(data, ci_test="cg_lrt", ci_options=by_name, node_names=names).directed_edges
    assert rfci(data, ci_test="cg_lrt", ci_options=by_name, node_names=names).info["ci_test"] == "cg_lrt"
    with pytest.raises(ValueError, match="names \\['zz'\\], not columns of the data; columns: a, x, y, c"):
        fci(data, ci_test="cg_lrt", ci_options={"categorical": ["zz"]}, node_names=names)
    with pytest.raises(ValueError, match="by name; names work through pc, fci, rfci and gfci"):
        ConditionalGaussianLRT(categorical=["a"]).test(data[:, 0], data[:, 1])
