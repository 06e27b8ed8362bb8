"""BOSS with background knowledge: the search keeps to it, the result is the maximally oriented PDAG, bad input."""

from __future__ import annotations

import itertools
import sys

import networkx as nx
import numpy as np
import pytest

from latentscm.discovery.boss import boss, grow_shrink
from latentscm.discovery.ges import consistent_extension
from latentscm.discovery.knowledge import BackgroundKnowledge
from latentscm.discovery.scores import GaussianBIC
from latentscm.metrics.graphs import dag_to_cpdag
from latentscm.scm import random_scm
from latentscm.testing.oracles import maximally_oriented_pdag, random_knowledge

_boss = sys.modules["latentscm.discovery.boss"]  # the package exports the function under the module's name


def _data(d: int, degree: float, seed: int, n: int = 1000) -> tuple[np.ndarray, np.ndarray, list[str]]:
    scm = random_scm(d, edge_prob=min(1.0, degree / (d - 1)), mechanism="linear", seed=seed)
    sample = scm.sample(n, seed=seed + 1000)
    names = list(scm.graph.nodes)
    return np.stack([sample[name] for name in names], axis=1), np.asarray(scm.graph.adjacency), names


def _topological(a: np.ndarray) -> np.ndarray:
    return np.array(list(nx.topological_sort(nx.DiGraph(a))))


def _tiers(a: np.ndarray, names: list[str], parts: int = 3) -> BackgroundKnowledge:
    return BackgroundKnowledge(tiers=[[names[v] for v in part] for part in np.array_split(_topological(a), parts)])


def _directed(g: np.ndarray) -> np.ndarray:
    return (g == 1) & (g.T == 0)


def test_grow_shrink_keeps_required_parents() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 5))
    x[:, 4] += 0.8 * x[:, 0] - 0.7 * x[:, 2]
    scorer = GaussianBIC(x)
    assert grow_shrink(scorer, 4, 0b01111, {})[1] == 0b00101
    score, parents = grow_shrink(scorer, 4, 0b01111, {}, required=0b01000)  # x3 is useless but required
    assert parents == 0b01101 and score == pytest.approx(scorer.local_mask(4, 0b01101))
    cache: dict = {}  # the required set is part of the cache key
    grow_shrink(scorer, 4, 0b01111, cache)
    assert grow_shrink(scorer, 4, 0b01111, cache, required=0b01000)[1] == 0b01101


def test_random_true_knowledge_is_respected() -> None:
    """(a) Knowledge true of the DAG (``random_knowledge``), d = 8, n = 1000, seeds 0-19: every required edge is
    directed, no forbidden orientation is present, every edge between tiers points forward, and ``score_value``
    is the BIC of a DAG of the returned PDAG."""
    for seed in range(20):
        data, a, names = _data(8, 2.5, seed)
        knowledge = random_knowledge(seed, a, _topological(a), names)
        forbidden, required = knowledge.matrices(names)
        found = boss(data, seed=seed, node_names=names, knowledge=knowledge)
        g = np.asarray(found.adjacency)
        assert np.all(_directed(g)[required]), seed
        assert not np.any(forbidden & (g == 1)), seed  # g[i, j] = 1: i -> j or i - j, both allow i -> j
        tier = {n: t for t, group in enumerate(knowledge.tiers) for n in group}
        for i, j in np.argwhere(g | g.T):
            if names[i] in tier and names[j] in tier and tier[names[i]] < tier[names[j]]:
                assert _directed(g)[i, j], seed
        assert found.info["knowledge"] == knowledge.to_dict()
        assert GaussianBIC(data).dag_score(consistent_extension(g)) == pytest.approx(found.info["score_value"])


def test_true_tiers_give_the_maximally_oriented_pdag_at_large_n() -> None:
    """(b) Three tiers from the true order, d = 8, degree 2, n = 5000, seeds 0-19: the result equals the
    brute-force maximally oriented PDAG of the true DAG under the tiers on 19 of 20 seeds (measured); without
    knowledge, BOSS gets the true CPDAG on 16. Asserted: >= 17, and the tiers orient edges on some seed."""
    exact = oriented = 0
    for seed in range(20):
        data, a, names = _data(8, 2.0, seed, n=5000)
        knowledge = _tiers(a, names)
        truth = maximally_oriented_pdag(a, *knowledge.matrices(names))
        found = boss(data, seed=seed, node_names=names, knowledge=knowledge)
        exact += int(np.array_equal(found.adjacency, truth))
        oriented += found.info["n_knowledge_oriented"] + found.info["n_meek_oriented"]
    assert exact >= 17
    assert oriented > 0


def test_knowledge_does_not_raise_the_score() -> None:
    """(c) The constrained search space is a subset: with true knowledge the BIC found is never above the one
    found without (d = 10, degree 3, n = 1000, seeds 0-9; also held on 60 seeds at d = 12, degree 4)."""
    for seed in range(10):
        data, a, names = _data(10, 3.0, seed)
        knowledge = random_knowledge(seed, a, _topological(a), names)
        with_knowledge = boss(data, seed=seed, node_names=names, knowledge=knowledge).info["score_value"]
        assert with_knowledge <= boss(data, seed=seed).info["score_value"] + 1e-6, seed


def test_false_knowledge_wins_over_the_data() -> None:
    """(d) A strong true edge that knowledge forbids is absent, a required edge between independent variables is
    present and directed; BOSS without knowledge does the opposite."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2000, 4))
    x[:, 1] += 0.9 * x[:, 0]
    x[:, 2] += 0.8 * x[:, 1]
    names = ["a", "b", "c", "d"]
    plain = np.asarray(boss(x, node_names=names).adjacency)
    assert plain[0, 1] and plain[1, 2] and not (plain[0, 3] or plain[3, 0])
    knowledge = {"forbidden": [["a", "b"], ["b", "a"]], "required": [["a", "d"]]}
    g = np.asarray(boss(x, node_names=names, knowledge=knowledge).adjacency)
    assert not (g[0, 1] or g[1, 0])
    assert g[0, 3] == 1 and g[3, 0] == 0


def test_required_edge_orients_a_chain_by_meek() -> None:
    """(d) a -> b -> c is one class with a - b - c; requiring a -> b orients b -> c too (Meek R1)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 3))
    x[:, 1] += 0.8 * x[:, 0]
    x[:, 2] += 0.8 * x[:, 1]
    names = ["a", "b", "c"]
    assert np.asarray(boss(x, node_names=names).adjacency).sum() == 4  # two undirected edges
    found = boss(x, node_names=names, knowledge=BackgroundKnowledge(required=[("a", "b")]))
    np.testing.assert_array_equal(found.adjacency, [[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert found.info["n_knowledge_oriented"] == 1 and found.info["n_meek_oriented"] == 1


def test_tiers_with_untiered_nodes_do_not_restrict_the_order() -> None:
    """Tiers forbid edges; with an untiered node a later tier may still be an ancestor of an earlier one
    (t2 -> u -> t1). The truth t2 -> u <- w, u -> t1 is found; forcing t1 before t2 in the order could not."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3000, 4))  # columns t1, t2, u, w
    x[:, 2] += 0.8 * x[:, 1] + 0.8 * x[:, 3]
    x[:, 0] += 0.8 * x[:, 2]
    names = ["t1", "t2", "u", "w"]
    truth = np.zeros((4, 4), dtype=np.int64)
    truth[1, 2] = truth[3, 2] = truth[2, 0] = 1
    for seed in range(3):
        found = boss(x, node_names=names, seed=seed, knowledge={"tiers": [["t1"], ["t2"]]})
        np.testing.assert_array_equal(found.adjacency, truth)
        assert found.info["tiers_order"] is False


def test_exhaustive_search_over_consistent_orders_agrees() -> None:
    """d = 6 with tiers and a required edge: BOSS (3 starts) reaches the best constrained score over every order
    the knowledge allows, and its order is one of them."""
    data, a, names = _data(6, 2.5, 4)
    order = _topological(a)
    knowledge = BackgroundKnowledge(tiers=[[names[v] for v in order[:2]], [names[v] for v in order[2:]]],
                                    required=[(names[order[3]], names[order[5]])])
    constraints = _boss._knowledge(knowledge, names, "boss")[1]
    scorer, cache = GaussianBIC(data), {}
    allowed = [list(p) for p in itertools.permutations(range(6))
               if all(p.index(w) < p.index(v) for v in p for w in range(6) if constraints.before[v] >> w & 1)]
    assert 0 < len(allowed) < 720
    best = max(_boss._order_score(p, scorer, cache, constraints) for p in allowed)
    found = boss(data, n_starts=3, seed=0, node_names=names, knowledge=knowledge)
    assert found.info["score_value"] == pytest.approx(best)
    assert [names.index(v) for v in found.info["order"]] in allowed


def test_better_mutation_stays_in_the_window() -> None:
    """Under precedences, a move goes to the best allowed position (brute force) and keeps the order allowed."""
    data, _, names = _data(6, 2.5, 3)
    knowledge = BackgroundKnowledge(required=[(names[5], names[0]), (names[0], names[2])])
    constraints = _boss._knowledge(knowledge, names, "boss")[1]
    scorer, cache = GaussianBIC(data), {}

    def ok(p: list[int]) -> bool:
        return p.index(5) < p.index(0) < p.index(2)

    order = [5, 4, 0, 3, 2, 1]
    for v in range(6):
        rest = [w for w in order if w != v]
        options = [rest[:j] + [v] + rest[j:] for j in range(6)]
        scores = [_boss._order_score(p, scorer, cache, constraints) for p in options if ok(p)]
        before = _boss._order_score(order, scorer, cache, constraints)
        moved = _boss._better_mutation(v, order, scorer, cache, constraints)
        assert ok(order)
        assert _boss._order_score(order, scorer, cache, constraints) == pytest.approx(max(max(scores), before))
        assert moved == (max(scores) > before + 1e-9)


def test_bes_proposals_respect_the_knowledge() -> None:
    """The order BES proposes respects the precedences, whatever BES deleted; None when a compelled edge of its
    CPDAG goes against them."""
    names = ["a", "b", "c"]
    towards = np.zeros((3, 3), dtype=bool)
    towards[2, 0] = True  # c -> a fixed by the knowledge
    knowledge = BackgroundKnowledge(required=[("c", "a")])
    constraints = _boss._knowledge(knowledge, names, "boss")[1]
    chain = dag_to_cpdag(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]))  # a - b - c, no edge c - a (BES deleted it)
    order = _boss._bes_order(chain, constraints, towards)
    assert order is not None and order.index(2) < order.index(0)
    collider = np.array([[0, 1, 0], [0, 0, 0], [0, 1, 0]])  # a -> b <- c: fine, c may precede a
    order = _boss._bes_order(collider, constraints, towards)
    assert order is not None and order.index(2) < order.index(0)
    against = np.array([[0, 0, 1], [0, 0, 1], [0, 0, 0]])  # a -> c <- b: a -> c is compelled, c -> a required
    assert _boss._bes_order(against, constraints, towards) is None
    assert _boss._bes_order(against, None, None) is not None


def test_no_knowledge_is_unchanged_and_empty_knowledge_agrees() -> None:
    data, _, names = _data(8, 3.0, 2)
    plain = boss(data, seed=1, node_names=names)
    empty = boss(data, seed=1, node_names=names, knowledge=BackgroundKnowledge())
    np.testing.assert_array_equal(plain.adjacency, empty.adjacency)
    assert plain.info["score_value"] == pytest.approx(empty.info["score_value"])
    assert "knowledge" not in plain.info and empty.info["knowledge"]["required"] == []


def test_bad_knowledge() -> None:
    """(e) Unknown nodes, contradictions and cycles in the dict form, the wrong type: errors naming the argument."""
    data, _, names = _data(4, 1.5, 0)
    with pytest.raises(ValueError, match=r"boss names the node\(s\) \['zz'\]"):
        boss(data, node_names=names, knowledge={"required": [[names[0], "zz"]]})
    with pytest.raises(ValueError, match="'knowledge' argument of boss is inconsistent.*requires"):
        boss(data, node_names=names, knowledge={"required": [[names[0], names[1]]],
                                                "forbidden": [[names[0], names[1]]]})
    with pytest.raises(ValueError, match="'knowledge' argument of boss is inconsistent.*forbids it by its tiers"):
        boss(data, node_names=names, knowledge={"required": [[names[0], names[1]]],
                                                "tiers": [[names[1]], [names[0]]]})
    with pytest.raises(ValueError, match="'knowledge' argument of boss is inconsistent.*cycle"):
        boss(data, node_names=names, knowledge={"required": [[names[0], names[1]], [names[1], names[2]],
                                                             [names[2], names[0]]]})
    with pytest.raises(ValueError, match="'knowledge' argument of boss has the unknown key"):
        boss(data, node_names=names, knowledge={"order": []})
    with pytest.raises(TypeError, match="'knowledge' argument of boss"):
        boss(data, node_names=names, knowledge=[(names[0], names[1])])


def test_cli_and_codes_pass_the_knowledge(tmp_path) -> None:
    """A chain x -> y -> z: BOSS's CPDAG leaves it undirected; with the tiers [x], [y], [z] it is directed, from the
    CLI's --knowledge and from discover_from_codes."""
    import json

    from typer.testing import CliRunner

    from latentscm.cli import app
    from latentscm.discovery.codes import discover_from_codes

    rng = np.random.default_rng(0)
    x = rng.normal(size=3000)
    y = 0.9 * x + rng.normal(size=3000)
    data = np.stack([x, y, 0.9 * y + rng.normal(size=3000)], 1)
    path, known, out = tmp_path / "chain.csv", tmp_path / "tiers.json", tmp_path / "graph.json"
    np.savetxt(path, data, delimiter=",", header="x,y,z", comments="")
    known.write_text(json.dumps({"tiers": [["x"], ["y"], ["z"]]}))
    result = CliRunner().invoke(app, ["discover", str(path), "--method", "boss", "--knowledge", str(known),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert sorted(map(tuple, graph["directed"])) == [("x", "y"), ("y", "z")] and not graph["undirected"]
    found = discover_from_codes(data, ["x", "y", "z"], method="boss", knowledge={"tiers": [["x"], ["y"], ["z"]]})
    assert sorted(found.directed_edges) == [("x", "y"), ("y", "z")]
