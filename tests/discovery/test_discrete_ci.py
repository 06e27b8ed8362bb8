"""Chi-square and G-square CI tests: conformance, parity with causal-learn, df rule, text data, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from latentscm.discovery import pc
from latentscm.discovery.ci_tests import ChiSquare, GSquare, ci_test_names, encode_table, make_ci_test
from latentscm.discovery.ci_tests import discrete as discrete_module
from latentscm.testing import check_ci_test


@pytest.mark.parametrize("name", ["chisq", "gsq"])
def test_registered_and_conformant(name):
    assert name in ci_test_names()
    test = make_ci_test(name)
    assert test.discrete
    check_ci_test(test)


def test_check_ci_test_can_fail_for_discrete_tests():
    class NeverRejects(ChiSquare):
        def _compute(self, state, queries):
            return [type(r)(r.statistic, 1.0) for r in super()._compute(state, queries)]

    with pytest.raises(AssertionError, match="dependence not detected"):
        check_ci_test(NeverRejects())


def _random_table(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    cards = rng.integers(2, 5, size=d)
    data = np.stack([rng.integers(0, c, size=n) for c in cards], axis=1)
    # Some dependence so that p-values span the whole range, not only the null.
    data[:, 1] = np.where(rng.random(n) < 0.4, data[:, 0] % cards[1], data[:, 1])
    data[:, 2] = np.where(rng.random(n) < 0.3, data[:, 1] % cards[2], data[:, 2])
    return data


@pytest.mark.parametrize("method, cls", [("chisq", ChiSquare), ("gsq", GSquare)])
def test_p_values_match_causal_learn(method, cls):
    cit = pytest.importorskip("causallearn.utils.cit")
    rng = np.random.default_rng(11)
    empty_strata = 0
    compared = 0
    for _ in range(12):
        # Small n with up to 4^3 strata: many strata are empty and many tables have empty rows.
        data = _random_table(rng, int(rng.integers(25, 300)), 6)
        reference = cit.CIT(data.astype(float), method)
        ours = cls().bind(data)
        for size in range(4):
            for x, y in [(0, 1), (1, 2), (0, 5)]:
                z = [c for c in (2, 3, 4, 5, 0, 1) if c not in (x, y)][:size]
                expected = reference(x, y, z)
                got = ours(x, y, z).p_value
                assert got == pytest.approx(expected, abs=1e-6), (method, x, y, z)
                compared += 1
                if size:
                    configurations = np.prod([len(np.unique(data[:, c])) for c in z])
                    empty_strata += len(np.unique(data[:, z], axis=0)) < configurations
    assert compared == 12 * 4 * 3
    assert empty_strata > 10  # the comparison did exercise empty strata


def test_dense_and_sparse_counting_agree(monkeypatch):
    rng = np.random.default_rng(3)
    data = _random_table(rng, 200, 5)
    dense = [GSquare().bind(data)(0, 1, z) for z in ([], [2], [2, 3, 4])]
    dense += [ChiSquare().bind(data)(0, 1, z) for z in ([], [2], [2, 3, 4])]
    monkeypatch.setattr(discrete_module, "_DENSE_CELLS", 0)
    sparse = [GSquare().bind(data)(0, 1, z) for z in ([], [2], [2, 3, 4])]
    sparse += [ChiSquare().bind(data)(0, 1, z) for z in ([], [2], [2, 3, 4])]
    for a, b in zip(dense, sparse):
        assert a.statistic == pytest.approx(b.statistic, rel=1e-10, abs=1e-10)
        assert a.p_value == pytest.approx(b.p_value, rel=1e-9, abs=1e-12)


def test_degrees_of_freedom_drop_absent_levels():
    # Stratum z=0: x in {0, 1, 2}, y in {0, 1}  -> df (3-1)(2-1) = 2.
    # Stratum z=1: x only 0 (one level)          -> df 0.
    # Stratum z=2: never observed                -> dropped.
    x = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0, 0])
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1])
    z = np.array([0] * 9 + [1] * 3)
    result = ChiSquare().test(x, y, z)
    table = np.array([[2, 1], [1, 2], [1, 2]], dtype=float)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    assert result.statistic == pytest.approx(statistic)
    assert result.p_value == pytest.approx(stats.chi2.sf(statistic, 2))
    # No stratum with two levels of x: df = 0, no evidence, p = 1.
    assert GSquare().test(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1])).p_value == 1.0


def test_multicolumn_x_is_the_joint_category():
    rng = np.random.default_rng(5)
    data = _random_table(rng, 300, 4)
    joint = data[:, 0] * 10 + data[:, 3]
    bound = GSquare().bind(data)
    assert bound([0, 3], 1, [2]).p_value == pytest.approx(GSquare().test(joint, data[:, 1], data[:, 2]).p_value)


def test_text_categories_and_pc_on_named_columns():
    rng = np.random.default_rng(7)
    n = 1500
    smoke = rng.integers(0, 2, size=n)
    tar = np.where(rng.random(n) < 0.8, smoke, 1 - smoke)
    cough = np.where(rng.random(n) < 0.75, tar, rng.integers(0, 2, size=n))
    labels = np.array(["no", "yes"])
    columns = {"smoke": labels[smoke], "tar": labels[tar], "cough": labels[cough]}
    graph = pc(columns, ci_test="chisq")
    assert graph.nodes == ("smoke", "tar", "cough")
    assert graph.skeleton.tolist() == [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    same = pc(np.stack([smoke, tar, cough], axis=1), ci_test="chisq", node_names=["smoke", "tar", "cough"])
    assert np.array_equal(same.adjacency, graph.adjacency)


def test_bad_categorical_input_names_the_column():
    rng = np.random.default_rng(0)
    good = rng.integers(0, 3, size=50)
    with pytest.raises(ValueError, match=r"'height'.*non-integer"):
        pc({"a": good, "height": rng.normal(size=50)}, ci_test="chisq")
    with pytest.raises(ValueError, match=r"'const'.*single value"):
        pc({"a": good, "const": np.full(50, "x")}, ci_test="gsq")
    with pytest.raises(ValueError, match=r"'b'.*missing"):
        encode_table({"a": np.array(["u", "v"]), "b": np.array(["u", None], dtype=object)}, None, "pc")
    with pytest.raises(ValueError, match="NaN"):
        pc({"a": good, "b": np.where(good == 1, np.nan, 1.0)}, ci_test="chisq")
    with pytest.raises(ValueError, match="2 rows"):
        pc(np.array([[0, 1]]), ci_test="chisq")
    with pytest.raises(ValueError, match="Column 1 .* single value"):
        ChiSquare().bind(np.stack([good, np.zeros(50)], axis=1))(0, 1)


def test_cli_discovers_from_text_categories(tmp_path):
    rng = np.random.default_rng(2)
    n = 800
    a = rng.integers(0, 3, size=n)
    b = np.where(rng.random(n) < 0.7, a, rng.integers(0, 3, size=n))
    names = np.array(["low", "mid", "high"])
    lines = ["a,b,noise"] + [f"{names[i]},{names[j]},{k}" for i, j, k in zip(a, b, rng.integers(0, 2, size=n))]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "g.json"
    from latentscm.cli import app

    result = CliRunner().invoke(app, ["discover", str(tmp_path / "t.csv"), "--ci", "chisq", "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert graph["undirected"] == [["a", "b"]] and graph["info"]["ci_test"] == "chisq"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "t.csv"), "--ci", "fisherz", "--out", str(out)])
    assert result.exit_code == 2 and "chisq" in result.output
