"""SortnRegress (Reisach et al. 2021, 2023): the order each criterion gives, what rescaling does to it, knowledge,
the registries and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.discovery import sortnregress
from latentscm.discovery.codes import compare_graphs, discover_from_codes
from latentscm.discovery.order_regression import regress_on_order
from latentscm.graph import CausalGraph
from latentscm.metrics.sortability import r2_coefficients
from latentscm.scm.random import random_scm


def _sample(scm, n=2000, seed=0):
    sample = scm.sample(n, seed=seed)
    return np.column_stack([sample[name] for name in scm.graph.nodes])


def _chain(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = 0.9 * a + rng.normal(size=n)
    c = -1.1 * b + rng.normal(size=n)
    d = 1.0 * c + rng.normal(size=n)
    return np.column_stack([a, b, c, d])


CHAIN = CausalGraph([("a", "b"), ("b", "c"), ("c", "d")])


def test_variance_sorted_chain_is_recovered():
    result = sortnregress(_chain(), node_names=list("abcd"))
    assert result.info["causal_order"] == ["a", "b", "c", "d"]
    assert compare_graphs(result, CHAIN)["shd"] == 0.0
    np.testing.assert_allclose(result.info["scores"], _chain().var(0))
    weights = np.array(result.info["weights"])
    np.testing.assert_allclose([weights[0, 1], weights[1, 2], weights[2, 3]], [0.9, -1.1, 1.0], atol=0.05)


def test_rescaling_reverses_the_variance_order_but_not_r2():
    x = _chain()
    shrink = x / x.std(0) * np.array([4.0, 3.0, 2.0, 1.0])  # variances now fall along the chain
    assert sortnregress(shrink, node_names=list("abcd")).info["causal_order"] == ["d", "c", "b", "a"]
    plain = sortnregress(x, criterion="r2", node_names=list("abcd"))
    scaled = sortnregress(shrink, criterion="r2", node_names=list("abcd"))
    assert plain.info["causal_order"] == scaled.info["causal_order"]
    assert plain == scaled
    order = np.argsort(r2_coefficients(x), kind="stable")
    assert plain.info["causal_order"] == [list("abcd")[i] for i in order]


def test_random_order_is_seeded():
    x = _sample(random_scm(7, edge_prob=0.4, seed=1))
    first = sortnregress(x, criterion="random", seed=3)
    assert first.info["causal_order"] == sortnregress(x, criterion="random", seed=3).info["causal_order"]
    orders = {tuple(sortnregress(x, criterion="random", seed=s).info["causal_order"]) for s in range(5)}
    assert len(orders) > 1 and all(sorted(order) == sorted(first.nodes) for order in orders)


def test_weights_are_the_order_regressions():
    x = _sample(random_scm(6, edge_prob=0.5, seed=2))
    result = sortnregress(x, prune="none")
    order = [result.nodes.index(name) for name in result.info["causal_order"]]
    np.testing.assert_allclose(result.info["weights"], regress_on_order(x, order, prune="none"))
    assert result.adjacency.sum() == 6 * 5 // 2  # no pruning: every earlier node is a parent
    cut = sortnregress(x, prune="ols_threshold", threshold=0.3)
    weights = np.array(cut.info["weights"])
    assert np.all((weights == 0) | (np.abs(weights) >= 0.3))


def test_knowledge_restricts_the_order_and_edges():
    x = _chain()
    tiers = sortnregress(x, node_names=list("abcd"), knowledge={"tiers": [["d"], ["a", "b", "c"]]})
    assert tiers.info["causal_order"][0] == "d"
    forbidden = sortnregress(x, node_names=list("abcd"), knowledge={"forbidden": [["b", "c"]]})
    assert ("b", "c") not in forbidden.directed_edges
    required = sortnregress(x, node_names=list("abcd"), prune="ols_threshold", threshold=100.0,
                            knowledge={"required": [["a", "d"]]})
    assert required.directed_edges == [("a", "d")]


def test_bad_input_is_named():
    x = _chain(200)
    with pytest.raises(ValueError, match="'criterion'"):
        sortnregress(x, criterion="variance")
    with pytest.raises(ValueError, match="'prune'"):
        sortnregress(x, prune="lasso")
    with pytest.raises(ValueError, match="5 rows for 4 columns"):
        sortnregress(x[:5])
    with pytest.raises(ValueError, match=r"constant columns \['X1'\]"):
        sortnregress(np.column_stack([x[:, 0], np.ones(200)]))
    with pytest.raises(ValueError, match="form the cycle a -> b -> c -> a"):
        sortnregress(x, node_names=list("abcd"), knowledge={"required": [["a", "b"], ["b", "c"], ["c", "a"]]})


def test_registered_for_codes_and_the_command_line(tmp_path):
    x = _chain(1000)
    graph = discover_from_codes(x, list("abcd"), method="sortnregress", options={"criterion": "r2"})
    assert graph.info["criterion"] == "r2" and graph.info["method"] == "sortnregress"
    table = tmp_path / "chain.csv"
    table.write_text("a,b,c,d\n" + "\n".join(",".join(f"{v:.6f}" for v in row) for row in x) + "\n")
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(table), "--method", "sortnregress", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["info"]["causal_order"] == ["a", "b", "c", "d"]
    assert {tuple(edge) for edge in written["directed"]} == set(CHAIN.edges)
    result = CliRunner().invoke(app, ["discover", str(table), "--method", "sortnregress", "--param",
                                      "criterion=random", "--param", "seed=4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["info"]["criterion"] == "random"


def test_same_edges_as_the_authors_package_when_installed():
    baselines = pytest.importorskip("CausalDisco.baselines", reason="CausalDisco (test-only cross-check) is not "
                                    "installed")
    for seed in range(3):
        x = _sample(random_scm(8, edge_prob=0.35, seed=seed), n=1000, seed=seed)
        for criterion, theirs in (("var", baselines.var_sort_regress), ("r2", baselines.r2_sort_regress)):
            np.testing.assert_array_equal(sortnregress(x, criterion=criterion).adjacency, theirs(x) != 0)


def test_discover_scores_a_table_against_a_known_graph(tmp_path):
    x = _chain(1000)
    table = tmp_path / "chain.csv"
    table.write_text("a,b,c,d\n" + "\n".join(",".join(f"{v:.6f}" for v in row) for row in x) + "\n")
    truth_file = tmp_path / "truth.json"
    truth_file.write_text(CHAIN.to_json())
    out = tmp_path / "graph.json"
    for truth in ("a -> b; b -> c; c -> d", str(truth_file)):
        result = CliRunner().invoke(app, ["discover", str(table), "--method", "sortnregress", "--truth", truth,
                                          "--out", str(out)])
        assert result.exit_code == 0, result.output
        comparison = json.loads(out.read_text())["comparison"]
        assert comparison["shd"] == 0.0 and comparison["skeleton.f1"] == 1.0
        assert comparison["sortability.var"] == 1.0  # variances 1, 1.81, 3.19, 4.19 grow down the chain
        assert "SHD 0" in result.output and "varsortability 1.000" in result.output
    result = CliRunner().invoke(app, ["discover", str(table), "--method", "fci", "--truth", "a -> b; b -> c; c -> d",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "arrowhead.precision" in " ".join(json.loads(out.read_text())["comparison"])
    for arguments, message in (
            (["--truth", "a -> q"], "must have one node per variable of the table (a, b, c, d); it has a, q"),
            (["--truth", "a -> -> b"], "is neither a JSON file nor graph text"),
            (["--truth", str(tmp_path / "missing.json")], "does not exist"),
            (["--truth", "a -> b", "--timeseries"], "--truth cannot be used with --timeseries")):
        result = CliRunner().invoke(app, ["discover", str(table), *arguments, "--out", str(tmp_path / "bad.json")])
        assert result.exit_code == 2 and message in result.output, result.output
        assert not (tmp_path / "bad.json").exists()
    result = CliRunner().invoke(app, ["discover", "--run", str(tmp_path), "--truth", "a -> b", "--out",
                                      str(tmp_path / "bad.json")])
    assert result.exit_code == 2 and "--truth goes with a CSV table" in result.output, result.output
