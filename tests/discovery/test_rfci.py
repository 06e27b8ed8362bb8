"""RFCI: soundness of its marks with a d-separation oracle, equality with FCI where the Possible-D-SEP stage has nothing
to remove, the extra tests of its unshielded-triple step and of its discriminating-path rule, data, bad input."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from latentscm.discovery import fci
from latentscm.discovery.pag import ARROW, CIRCLE, TAIL
from latentscm.discovery.pc import pc_skeleton
from latentscm.discovery.rfci import _check_triples, _discriminating_path, _rule4, _Tester, _unshielded_triples, rfci
from latentscm.testing.oracles import DSeparationOracle, random_latent_dag, true_mag


def _oracle(edges, n_observed, method=rfci, **options):
    """``method`` with a d-separation oracle over the DAG ``edges`` (nodes >= n_observed hidden)."""
    graph = nx.DiGraph(edges)
    graph.add_nodes_from(range(n_observed))
    return method(np.zeros((20, n_observed)), ci_test=DSeparationOracle(graph), alpha=0.5, **options)


def _unsound_marks(marks: np.ndarray, graph: nx.DiGraph) -> list[tuple[int, int]]:
    """The marks (i, j) of ``marks`` (p, p) that contradict the DAG: an arrowhead at j on i *-> j with j an ancestor
    of i, or a tail at j on j --> i with j not an ancestor of i."""
    wrong = []
    for i, j in zip(*np.nonzero(marks)):
        i, j = int(i), int(j)
        ancestor = nx.has_path(graph, j, i)
        if (marks[i, j] == ARROW and ancestor) or (marks[i, j] == TAIL and not ancestor):
            wrong.append((i, j))
    return wrong


def test_oracle_rfci_is_sound_and_equals_fci_when_possible_dsep_removes_nothing():
    rng = np.random.default_rng(3)
    committed = equal = without_pds = 0
    for _ in range(60):
        a, p = random_latent_dag(rng, observed=(4, 9), hidden=(1, 4))
        graph = nx.DiGraph(a)
        graph.add_nodes_from(range(a.shape[0]))
        edges = list(zip(*np.nonzero(a)))
        pag = _oracle(edges, p)
        mag = true_mag(a, p)
        assert np.all((pag.marks != 0) >= (mag != 0)), a.tolist()  # no Possible-D-SEP step: a superset
        assert _unsound_marks(pag.marks, graph) == [], a.tolist()
        committed += int(((pag.marks == ARROW) | (pag.marks == TAIL)).sum())
        full = _oracle(edges, p, fci)
        if full.info["possible_dsep_removed"] == []:
            # then the PC skeleton is the MAG's, no extra test can separate adjacent nodes, and RFCI runs FCI's steps
            without_pds += 1
            equal += bool(np.array_equal(pag.marks, full.marks))
    assert committed > 300  # many marks were checked
    assert without_pds > 50 and equal == without_pds


def test_triple_check_removes_an_edge_the_skeleton_keeps():
    """X5 and X6 are separated only given sets holding X4, adjacent to neither in the PC skeleton, so PC keeps
    X5 - X6; the unshielded-triple check of RFCI's step 2 finds the independence (FCI needs Possible-D-SEP for it).
    The DAG (7 observed, 5 hidden nodes, each hidden one a common cause) was found by a seeded random search."""
    edges = [(0, 4), (1, 3), (1, 4), (1, 5), (2, 5), (3, 4), (4, 6), (7, 0), (7, 5), (8, 2), (8, 6), (9, 0), (9, 3),
             (10, 2), (10, 4), (11, 1), (11, 6)]
    graph = nx.DiGraph(edges)
    assert pc_skeleton(DSeparationOracle(graph).bind(np.zeros((20, 7))), alpha=0.5).adjacency[5, 6] == 1
    pag = _oracle(edges, 7)
    assert pag.info["triple_removed"] == [("X5", "X6")] and pag.info["discriminating_path_removed"] == []
    assert pag.info["n_tests"] == (pag.info["n_skeleton_tests"] + pag.info["n_triple_tests"]
                                   + pag.info["n_discriminating_path_tests"])
    separator = pag.separating_sets[(5, 6)]
    assert nx.is_d_separator(graph, {5}, {6}, set(separator))
    a = np.zeros((12, 12), dtype=np.int64)
    a[tuple(zip(*edges))] = 1
    np.testing.assert_array_equal(pag.marks != 0, true_mag(a, 7) != 0)
    assert _unsound_marks(pag.marks, graph) == []
    full = _oracle(edges, 7, fci)
    assert full.info["possible_dsep_removed"] == [("X5", "X6")]
    np.testing.assert_array_equal(pag.marks, full.marks)


def test_discriminating_path_rule_removes_an_independent_pair_and_orients_nothing():
    """A partly oriented graph with the discriminating path <d, a, b, c> for b (d *-> a <-> b o-o c, a -> c, d and c
    not adjacent, sepset(d, c) = {a}); in the DAG d -> a <- b, a -> c the pair (b, c) is separated by {a}: RFCI's R4
    tests it, removes b - c with separating set {a}, and orients no mark on the path."""
    d, a, b, c = range(4)
    graph = nx.DiGraph([(d, a), (b, a), (a, c)])
    marks = np.zeros((4, 4), dtype=np.int64)
    marks[d, a], marks[a, d] = ARROW, CIRCLE  # d o-> a
    marks[b, a], marks[a, b] = ARROW, ARROW  # a <-> b
    marks[a, c], marks[c, a] = ARROW, TAIL  # a -> c
    marks[b, c], marks[c, b] = CIRCLE, CIRCLE  # b o-o c
    sepsets = {(d, c): frozenset({a})}
    tester = _Tester(DSeparationOracle(graph).bind(np.zeros((20, 4))), 0.5, 1)
    assert _rule4(tester, marks, sepsets, None)
    assert marks[b, c] == marks[c, b] == 0 and sepsets[(b, c)] == frozenset({a})
    assert [entry[:3] for entry in tester.removed] == [("discriminating_paths", b, c)]
    assert marks[d, a] == ARROW and marks[a, b] == marks[b, a] == ARROW
    # the same marks, with the pair dependent (a DAG with b -> c): R4 orients b as a collider (b not in {a})
    marks[b, c] = marks[c, b] = CIRCLE
    dependent = _Tester(DSeparationOracle(nx.DiGraph([(d, a), (b, a), (a, c), (b, c)])).bind(np.zeros((20, 4))),
                        0.5, 1)
    assert _rule4(dependent, marks, {(d, c): frozenset({a})}, None)
    assert marks[c, b] == ARROW and marks[b, c] == ARROW and dependent.removed == []
    assert dependent.counts["discriminating_paths"] == 1  # only (b, c) has something to condition on: {a}


def test_discriminating_path_textbook_cases_match_fci():
    # b a non-collider: d -> a <- L -> b -> c, a -> c;  b a collider: d -> a <- L1 -> b <- L2 -> c, a -> c
    for edges in ([(0, 1), (4, 1), (4, 2), (1, 3), (2, 3)], [(0, 1), (4, 1), (4, 2), (5, 2), (5, 3), (1, 3)]):
        pag = _oracle(edges, 4, node_names=["d", "a", "b", "c"])
        assert sorted(pag.edges()) == sorted(_oracle(edges, 4, fci, node_names=["d", "a", "b", "c"]).edges())
        assert pag.info["n_discriminating_path_tests"] > 0 and pag.info["discriminating_path_removed"] == []


def test_rfci_on_data_with_a_hidden_confounder():
    rng = np.random.default_rng(0)
    n = 5000
    a, d, hidden = rng.normal(size=(3, n))
    b = a + hidden + 0.5 * rng.normal(size=n)
    c = d + hidden + 0.5 * rng.normal(size=n)
    data = np.stack([a, b, c, d], 1)
    pag = rfci(data, node_names=list("abcd"))
    assert sorted(pag.edges()) == ["a o-> b", "b <-> c", "d o-> c"]
    assert pag.info["method"] == "rfci" and pag.info["time_s"] >= 0
    np.testing.assert_array_equal(rfci(data, n_jobs=2, node_names=list("abcd")).marks, pag.marks)
    named = rfci({"a": a, "b": b, "c": c, "d": d})
    assert named.nodes == ("a", "b", "c", "d")


def test_rfci_bad_input_is_named():
    data = np.random.default_rng(0).normal(size=(100, 3))
    with pytest.raises(ValueError, match="'alpha' parameter of rfci"):
        rfci(data, alpha=1.5)
    with pytest.raises(ValueError, match="'max_depth' parameter of rfci"):
        rfci(data, max_depth=-1)
    with pytest.raises(ValueError, match="'max_path_length' parameter of rfci"):
        rfci(data, max_path_length=0)
    with pytest.raises(ValueError, match="'n_jobs' parameter of rfci"):
        rfci(data, n_jobs=0)
    with pytest.raises(ValueError, match="Unknown CI test 'no_such_test'"):
        rfci(data, ci_test="no_such_test")
    with pytest.raises(ValueError, match="'data' argument of rfci must be 2-D"):
        rfci(data[:, 0])
    rng = np.random.default_rng(9)  # strongly dependent columns: edges survive to a level with |Z| = 2
    x, y = rng.standard_normal((5, 1)), rng.standard_normal((5, 1))
    short = np.hstack([x + 1e-3 * rng.standard_normal((5, 1)) for _ in range(3)]
                      + [x + y, y, y + 1e-3 * rng.standard_normal((5, 1))])
    with pytest.raises(ValueError, match=r"'data' argument of rfci has 5 rows, too few .*max_depth=1"):
        rfci(short, alpha=0.5)


def test_tester_runs_each_query_once():
    graph = nx.DiGraph([(0, 1), (1, 2)])
    tester = _Tester(DSeparationOracle(graph).bind(np.zeros((20, 3))), 0.5, 1)
    assert tester.independent([(2, 0, frozenset({1})), (0, 2, frozenset({1})), (0, 1, frozenset({2}))],
                              "triples") == [True, True, False]
    assert tester.counts["triples"] == 2 and (0, 2, (1,)) in tester.memo


def test_cli_and_codes_method_rfci(tmp_path, collider_table) -> None:
    import json

    from typer.testing import CliRunner

    from latentscm.cli import app
    from latentscm.discovery.codes import discover_from_codes

    data, path = collider_table
    out = tmp_path / "pag.json"
    result = CliRunner().invoke(app, ["discover", str(path), "--method", "rfci", "--alpha", "0.01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    pag = json.loads(out.read_text())
    assert pag["kind"] == "pag" and sorted(pag["edges"]) == ["a o-> c", "b o-> c"] and pag["info"]["method"] == "rfci"
    found = discover_from_codes(data, ["a", "b", "c"], method="rfci", ci_test="fisherz")
    assert sorted(found.edges()) == ["a o-> c", "b o-> c"]


# ------------------------------------------------------------------ Algorithm 4.4's bookkeeping (review s31)
class _Scripted(_Tester):
    """An RFCI tester whose answers are the listed independences ``(x, y, S)``, x < y (review s31)."""

    def __init__(self, independences: set[tuple[int, int, frozenset[int]]]) -> None:
        super().__init__(None, 0.5, 1)
        self.independences = independences

    def independent(self, queries, stage):
        self.counts[stage] += len(queries)
        return [(min(x, y), max(x, y), frozenset(s)) in self.independences for x, y, s in queries]


def _skeleton(d: int, edges: list[tuple[int, int]]) -> np.ndarray:
    marks = np.zeros((d, d), dtype=np.int64)
    for x, y in edges:
        marks[x, y] = marks[y, x] = CIRCLE
    return marks


def test_triple_colliders_are_oriented_after_every_removal() -> None:
    """0 - 1 - 2 passes its tests, then checking 1 - 2 - 4 removes 1 - 2: 0 - 1 - 2 is no longer a triple, so no
    arrowhead at 1 (orienting as soon as a triple passed would leave one)."""
    tester = _Scripted({(1, 2, frozenset({0}))})
    marks = _skeleton(5, [(0, 1), (1, 2), (2, 4)])
    sepsets = {(0, 2): frozenset({3}), (1, 4): frozenset({0})}
    _check_triples(tester, marks, sepsets, _unshielded_triples(marks), "triples")
    assert marks[1, 2] == 0 and marks[0, 1] == CIRCLE and marks[4, 2] == CIRCLE


def test_a_removal_records_a_smallest_separating_set() -> None:
    """0 - 1 - 2 with sepset(0, 2) = {3, 4}: 0 and 1 are independent given {3, 4} and given {3} alone; the edge
    goes with the separating set {3}."""
    tester = _Scripted({(0, 1, frozenset({3, 4})), (0, 1, frozenset({3}))})
    marks = _skeleton(5, [(0, 1), (1, 2)])
    sepsets = {(0, 2): frozenset({1, 3, 4})}
    _check_triples(tester, marks, sepsets, _unshielded_triples(marks), "triples")
    assert marks[0, 1] == 0 and sepsets[(0, 1)] == frozenset({3})


def test_triples_a_removal_unshields_are_checked_and_can_be_colliders() -> None:
    """Checking 0 - 2 - 3 removes 0 - 2 (independent given {4}); 0 - 1 - 2 becomes unshielded, passes its tests and,
    1 not separating 0 and 2, is a collider: arrowheads at 1 (never checking new triples would leave circles)."""
    tester = _Scripted({(0, 2, frozenset({4}))})
    marks = _skeleton(5, [(0, 1), (1, 2), (0, 2), (2, 3)])
    sepsets = {(0, 3): frozenset({4}), (1, 3): frozenset({4})}
    _check_triples(tester, marks, sepsets, _unshielded_triples(marks), "triples")
    assert marks[0, 2] == 0 and sepsets[(0, 2)] == frozenset({4})
    assert marks[0, 1] == ARROW and marks[2, 1] == ARROW  # 0 *-> 1 <-* 2
    assert marks[1, 2] == ARROW and marks[3, 2] == ARROW  # 1 *-> 2 <-* 3, the triple listed at the start


def test_the_discriminating_path_found_is_a_shortest_one() -> None:
    """Two discriminating paths for b: <d1, a, b, c> and <d2, e, a, b, c>; e has the lower index (a depth-first
    search from a would take it), the breadth-first search returns the shorter one."""
    a, b, c, e, d2, d1 = range(6)
    marks = np.zeros((6, 6), dtype=np.int64)

    def edge(x: int, y: int, at_x: int, at_y: int) -> None:
        marks[y, x], marks[x, y] = at_x, at_y

    edge(a, c, TAIL, ARROW)  # a -> c
    edge(b, a, CIRCLE, ARROW)  # b o-> a
    edge(b, c, CIRCLE, CIRCLE)  # b o-o c
    edge(d1, a, CIRCLE, ARROW)  # d1 o-> a, d1 and c not adjacent
    edge(e, a, ARROW, ARROW)  # e <-> a
    edge(e, c, TAIL, ARROW)  # e -> c
    edge(d2, e, CIRCLE, ARROW)  # d2 o-> e, d2 and c not adjacent
    assert _discriminating_path(marks, a, b, c, None) == [d1, a, b, c]
    marks[d1, a] = marks[a, d1] = 0  # without d1 the longer path is the one
    assert _discriminating_path(marks, a, b, c, None) == [d2, e, a, b, c]
