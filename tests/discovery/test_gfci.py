"""GFCI (Ogarrio, Spirtes & Ramsey 2016): the true PAG with a d-separation oracle from any independence map, the
collider step on a triple the score's CPDAG shields, a latent confounder on data, the CLI, and bad input."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest

from latentscm.discovery import fci, ges, gfci
from latentscm.discovery.ges import cpdag_from_dag
from latentscm.testing.oracles import DSeparationOracle, minimal_imap, random_latent_dag, true_mag


def _graph(adjacency: np.ndarray) -> nx.DiGraph:
    graph = nx.DiGraph(adjacency)
    graph.add_nodes_from(range(adjacency.shape[0]))
    return graph


@pytest.mark.parametrize("options", [{}, {"possible_dsep": False}, {"test_edges": "triangles"}])
def test_oracle_gfci_is_the_true_pag_from_any_independence_map(options) -> None:
    """Started from the CPDAG of the minimal independence map of the observed nodes in a random order (extra edges
    that latent confounding or a wrong order forces), GFCI with the oracle gives FCI's oracle PAG, the true one."""
    rng = np.random.default_rng(3)
    extra = 0
    for _ in range(40):
        a, p = random_latent_dag(rng, observed=(4, 9), hidden=(1, 4))
        graph = _graph(a)
        g1 = cpdag_from_dag(minimal_imap(a, p, rng.permutation(p)))
        oracle = DSeparationOracle(graph)
        truth = fci(np.zeros((20, p)), ci_test=oracle, alpha=0.5).marks
        np.testing.assert_array_equal(truth != 0, true_mag(a, p) != 0)
        extra += int(((g1 + g1.T) > 0).sum() // 2 - (truth != 0).sum() // 2)
        got = gfci(np.zeros((20, p)), ci_test=oracle, alpha=0.5, cpdag=g1, **options)
        np.testing.assert_array_equal(got.marks, truth, err_msg=str(a.tolist()))
    assert extra > 60  # the tests had many score edges to remove


def test_a_collider_the_cpdag_shields_is_decided_by_the_separating_set() -> None:
    """True DAG 2 -> 0, 2 -> 1, 3 -> 0, 3 -> 4. Its minimal independence map in the order 4, 1, 0, 3, 2 has the
    shielded collider 0 -> 2 <- 1; the removal step separates 0 and 1 by {2}, so 0 - 2 - 1 is no collider. (Copying
    the CPDAG's collider there, as Tetrad's gfciR0 does, would put arrowheads at 2.)"""
    a = np.zeros((5, 5), dtype=np.int64)
    a[2, 0] = a[2, 1] = a[3, 0] = a[3, 4] = 1
    graph = _graph(a)
    g1 = cpdag_from_dag(minimal_imap(a, 5, [4, 1, 0, 3, 2]))
    assert g1[0, 2] and not g1[2, 0] and g1[1, 2] and not g1[2, 1] and g1[1, 0]  # 0 -> 2 <- 1, 0 and 1 adjacent
    pag = gfci(np.zeros((20, 5)), ci_test=DSeparationOracle(graph), alpha=0.5, cpdag=g1, node_names=list("abcde"))
    truth = fci(np.zeros((20, 5)), ci_test=DSeparationOracle(graph), alpha=0.5, node_names=list("abcde"))
    np.testing.assert_array_equal(pag.marks, truth.marks)
    assert {"c o-> a", "b o-o c"} <= set(pag.edges())  # circles at c: no collider there
    assert pag.info["n_removed"] >= 1 and pag.info["search"] == "given"


def _confounded(n: int, seed: int) -> np.ndarray:
    """x1 -> x2 <- L -> x3 <- x4, x3 -> x5 (L hidden): the true PAG is x1 o-> x2 <-> x3 <-o x4, x3 --> x5."""
    rng = np.random.default_rng(seed)
    x1, x4, hidden = rng.normal(size=(3, n))
    x2 = 0.9 * x1 + 1.0 * hidden + rng.normal(size=n)
    x3 = 1.0 * hidden - 0.9 * x4 + rng.normal(size=n)
    x5 = 0.8 * x3 + rng.normal(size=n)
    return np.stack([x1, x2, x3, x4, x5], 1)


@pytest.mark.parametrize("search", ["ges", "xges", "boss"])
def test_a_hidden_confounder_on_data(search) -> None:
    """GES needs extra edges (x1 - x3, x2 - x4) for the confounded pair; GFCI removes them and finds x2 <-> x3."""
    data = _confounded(5000, 0)
    names = ["x1", "x2", "x3", "x4", "x5"]
    score_graph = ges(data, node_names=names).adjacency
    assert score_graph[0, 2] or score_graph[2, 0]  # the score search alone keeps an edge x1 - x3
    pag = gfci(data, search=search, node_names=names)
    assert sorted(pag.edges()) == ["x1 o-> x2", "x2 <-> x3", "x3 --> x5", "x4 o-> x3"], pag.edges()
    assert pag.info["n_removed"] >= 1 and pag.info["search"] == search


def test_cli_and_codes_method_gfci(tmp_path, collider_table) -> None:
    from typer.testing import CliRunner

    from latentscm.cli import app
    from latentscm.discovery.codes import discover_from_codes

    data, path = collider_table
    out = tmp_path / "pag.json"
    result = CliRunner().invoke(app, ["discover", str(path), "--method", "gfci", "--alpha", "0.01", "--param",
                                      "search=boss", "--out", str(out)])
    assert result.exit_code == 0, result.output
    pag = json.loads(out.read_text())
    assert pag["kind"] == "pag" and sorted(pag["edges"]) == ["a o-> c", "b o-> c"]
    assert pag["info"]["method"] == "gfci" and pag["info"]["search"] == "boss" and pag["info"]["alpha"] == 0.01
    found = discover_from_codes(data, ["a", "b", "c"], method="gfci", ci_test="fisherz", seed=2)
    assert sorted(found.edges()) == ["a o-> c", "b o-> c"]


def test_bad_input_names_the_argument() -> None:
    data = _confounded(200, 1)
    with pytest.raises(ValueError, match="'search'"):
        gfci(data, search="fges")
    with pytest.raises(ValueError, match="'test_edges'"):
        gfci(data, test_edges="some")
    with pytest.raises(TypeError, match="'possible_dsep'"):
        gfci(data, possible_dsep="yes")
    with pytest.raises(ValueError, match="'max_parents'.*boss"):
        gfci(data, search="boss", max_parents=2)
    with pytest.raises(ValueError, match="'cpdag'.*\\(5, 5\\)"):
        gfci(data, cpdag=np.zeros((4, 4)))
    loop = np.zeros((5, 5))
    loop[2, 2] = 1
    with pytest.raises(ValueError, match="self-loop at column 2"):
        gfci(data, cpdag=loop)
    with pytest.raises(ValueError, match="'alpha'"):
        gfci(data, alpha=1.5)


def test_triangles_mode_leaves_the_other_score_edges_to_possible_d_sep() -> None:
    """x0 independent of x1 and x2 = x1 + noise, from a CPDAG x0 - x1 - x2 (no triangle): "triangles" tests no edge
    in step 2, so Possible-D-SEP must test x0 - x1 from the empty set up (it skipped subsets of the adjacencies,
    as if a test had looked at them: review s31); without that stage the score's edge stays."""
    rng = np.random.default_rng(0)
    x0, x1 = rng.normal(size=(2, 500))
    data = np.stack([x0, x1, x1 + rng.normal(size=500)], 1)
    chain = np.zeros((3, 3), dtype=np.int64)
    chain[0, 1] = chain[1, 0] = chain[1, 2] = chain[2, 1] = 1
    every = gfci(data, cpdag=chain)
    assert every.edges() == ["X1 o-o X2"] and every.info["n_removal_tests"] >= 2
    triangles = gfci(data, cpdag=chain, test_edges="triangles")
    assert triangles.edges() == ["X1 o-o X2"] and triangles.info["n_removal_tests"] == 0
    assert triangles.info["possible_dsep_removed"] == [("X0", "X1")]
    kept = gfci(data, cpdag=chain, test_edges="triangles", possible_dsep=False)
    assert kept.edges() == ["X0 o-o X1", "X1 o-o X2"]


def test_oracle_gfci_with_tiers_is_fcis_tiered_pag() -> None:
    """True tiers (every node in one; random_tiers): from the minimal independence map in a random order that
    respects them, GFCI with the oracle gives FCI's tiered PAG, which is the enumerated PAG of the tier-restricted
    class (test_fci_knowledge.py)."""
    from latentscm.discovery import BackgroundKnowledge
    from latentscm.testing import random_tiers

    rng = np.random.default_rng(5)
    gained = 0
    for _ in range(40):
        a, p = random_latent_dag(rng, observed=(4, 8), hidden=(1, 4))
        tier = random_tiers(rng, a, p)
        names = [f"x{i}" for i in range(p)]
        knowledge = BackgroundKnowledge(tiers=[[names[v] for v in range(p) if tier[v] == t]
                                               for t in range(tier.max() + 1) if (tier == t).any()])
        order = sorted(range(p), key=lambda v: (tier[v], rng.random()))  # a random order within the tiers
        g1 = cpdag_from_dag(minimal_imap(a, p, order))
        oracle = DSeparationOracle(_graph(a))
        truth = fci(np.zeros((20, p)), ci_test=oracle, alpha=0.5, node_names=names, knowledge=knowledge)
        got = gfci(np.zeros((20, p)), ci_test=oracle, alpha=0.5, node_names=names, cpdag=g1, knowledge=knowledge)
        np.testing.assert_array_equal(got.marks, truth.marks, err_msg=str(a.tolist()))
        assert got.info["knowledge"] == knowledge.to_dict()
        gained += got.info["n_tier_marks"]
    assert gained > 30


def test_tiers_on_data_and_in_the_cli(tmp_path) -> None:
    """A chain x -> y -> z: without knowledge x o-o y o-o z; the tiers [x], [y], [z] give x o-> y and then, by R1,
    y --> z. With search="boss" the score search keeps to the tiers too; the CLI passes --knowledge through."""
    from typer.testing import CliRunner

    from latentscm.cli import app

    rng = np.random.default_rng(0)
    x = rng.normal(size=3000)
    y = 0.9 * x + rng.normal(size=3000)
    data = np.stack([x, y, 0.9 * y + rng.normal(size=3000)], 1)
    names = ["x", "y", "z"]
    tiers = {"tiers": [["x"], ["y"], ["z"]]}
    assert sorted(gfci(data, node_names=names).edges()) == ["x o-o y", "y o-o z"]
    pag = gfci(data, search="boss", node_names=names, knowledge=tiers)
    assert sorted(pag.edges()) == ["x o-> y", "y --> z"] and pag.info["n_tier_marks"] == 2
    assert pag.info["score_info"]["knowledge"]["tiers"] == tiers["tiers"]
    path, known, out = tmp_path / "chain.csv", tmp_path / "tiers.json", tmp_path / "pag.json"
    np.savetxt(path, data, delimiter=",", header="x,y,z", comments="")
    known.write_text(json.dumps(tiers))
    result = CliRunner().invoke(app, ["discover", str(path), "--method", "gfci", "--knowledge", str(known),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(out.read_text())["edges"]) == ["x o-> y", "y --> z"]
    with pytest.raises(ValueError, match="tiers only"):
        gfci(data, node_names=names, knowledge={"forbidden": [["x", "y"]]})
    with pytest.raises(ValueError, match="selection_bias=False"):
        gfci(data, node_names=names, knowledge=tiers, selection_bias=True)
