"""Regression tests of the s23 review of the discovery area (one per fixed defect)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from latentscm.discovery import DiscoveredGraph, FisherZ, causal_de_finetti, pc_skeleton
from latentscm.discovery.ci_tests.base import CIResult, CITest
from latentscm.discovery.orientation import apply_meek_rules
from latentscm.discovery.timeseries import ParCorr, TemporalGraph, cmlp_granger

# The kite of Meek's rule R4: DAG i -> k, i -> l, i -> j, k -> l, l -> j (no v-structure, so the CPDAG is
# undirected); with k -> l known, R1 gives l -> j and R4 gives i -> j (every consistent DAG has it).
_I, _K, _L, _J = range(4)
_KITE = [(_I, _K), (_I, _L), (_I, _J), (_K, _L), (_L, _J)]


def test_meek_rule_4_with_background_knowledge():
    g = np.zeros((4, 4), int)
    for a, b in _KITE:
        g[a, b] = g[b, a] = 1
    g[_L, _K] = 0  # background knowledge: k -> l
    out = apply_meek_rules(g, background=True)
    assert out[_L, _J] == 1 and out[_J, _L] == 0  # R1
    assert out[_I, _J] == 1 and out[_J, _I] == 0  # R4
    assert out[_I, _K] == out[_K, _I] == 1 and out[_I, _L] == out[_L, _I] == 1  # nothing else is implied
    assert apply_meek_rules(g)[_J, _I] == 1  # R1-R3 alone (a pattern without background knowledge)


class _TwinOracle(CITest):
    """d-separation in the de Finetti twin graph of the kite; orientation tests other than those of the pair
    {k, l} are inconclusive (p = 1 both ways), as at low power."""

    name = "twin_oracle_s23"

    def __init__(self) -> None:
        super().__init__()
        self.graph = nx.DiGraph()
        for a, b in _KITE:
            self.graph.add_edges_from([(a, b), (4 + a, 4 + b)])
        for v in range(4):
            self.graph.add_edges_from([(8 + v, v), (8 + v, 4 + v)])

    def _prepare(self, data: np.ndarray) -> None:
        return None

    def _compute(self, state, queries):
        separated = getattr(nx, "is_d_separator", None) or nx.d_separated
        results = []
        for q in queries:
            columns = {*q.x, *q.y}
            if any(c >= 4 for c in columns) and {c % 4 for c in columns} != {_K, _L}:
                results.append(CIResult(0.0, 1.0))
            else:
                results.append(CIResult(0.0, float(separated(self.graph, set(q.x), set(q.y), set(q.z)))))
        return results


def test_causal_de_finetti_applies_meek_rule_4():
    # i - j stayed undirected: the de Finetti orientations are background knowledge, which needs R4.
    envs = np.random.default_rng(0).normal(size=(20, 2, 4))
    found = causal_de_finetti(envs, ci_test=_TwinOracle(), alpha=0.5, node_names=list("iklj"))
    assert sorted(found.directed_edges) == [("i", "j"), ("k", "l"), ("l", "j")]
    assert sorted(found.undirected_edges) == [("i", "k"), ("i", "l")]


def _columns(seed: int = 0) -> tuple[np.ndarray, ...]:
    return tuple(np.random.default_rng(seed).normal(size=(3, 300)))


@pytest.mark.parametrize("test", [FisherZ(), ParCorr()], ids=["fisherz", "parcorr"])
def test_undefined_partial_correlation_is_named(test):
    # x0 is a linear function of (x1, x2): the inverse "succeeded" on rounding and gave p = 0.99999994.
    x0, x1, x3 = _columns()
    data = np.column_stack([x0, x1, x0 + 2 * x1, x3])
    with pytest.raises(ValueError, match=r"columns 0 and 3 given columns \[1, 2\]: column 0 is a linear function"):
        test.bind(data)(0, 3, [1, 2])
    with pytest.raises(ValueError, match=r"conditioning columns are collinear"):
        test.bind(np.column_stack([x0, x1, x3, x3]))(0, 1, [2, 3])
    # given x2 the residuals of x0 and x1 are exactly collinear: a defined, perfect dependence
    assert test.bind(data)(0, 1, [2]).p_value == 0.0


@pytest.mark.parametrize("test", [FisherZ(), ParCorr()], ids=["fisherz", "parcorr"])
def test_identical_columns_are_perfectly_dependent(test):
    # ParCorr raised "singular" for both queries, Fisher-z for the conditional one.
    x0, x1, _ = _columns()
    bound = test.bind(np.column_stack([x0, x0, x1]))
    assert bound(0, 1).p_value == 0.0
    assert bound(0, 1, [2]).p_value == 0.0
    if isinstance(test, ParCorr):
        assert bound(0, 1).statistic == 1.0


def test_score_only_temporal_graph_has_no_lag0_self_loops():
    scores = np.zeros((2, 2, 2))
    scores[0, 0, 0], scores[1, 0, 1] = 0.5, 0.7
    graph = TemporalGraph(("a", "b"), scores, None, "custom", threshold=0.1)
    for adjacency in (graph.adjacency(), graph.adjacency(0.2)):
        assert adjacency[0].tolist() == [[0, 0], [0, 0]] and adjacency[1, 0, 1] == 1
    assert sorted(graph.to_networkx().edges(keys=True)) == [("a", "b", 1)]


@pytest.mark.parametrize("lambdas", [[0.0], [0.0, 0.5]])
def test_cmlp_refuses_lambda_zero(lambdas):
    # links active only at lambda = 0 scored 0 and were missing from the graph chosen at lambda = 0
    x = np.random.default_rng(0).normal(size=(80, 2))
    with pytest.raises(ValueError, match="'lambdas' parameter of cmlp_granger .* > 0"):
        cmlp_granger(x, max_lag=1, hidden=4, max_iter=2, lambdas=lambdas)


@pytest.mark.parametrize("options, message", [
    ({"forbidden": [(0, -1)]}, "'forbidden' parameter of pc_skeleton takes positions"),
    ({"forbidden": [(0, 7)]}, "'forbidden' parameter of pc_skeleton takes positions"),
    ({"forbidden": [(1, 1)]}, "two different positions"),
    ({"forbidden": [(0, 1, 2)]}, "two different positions"),
    ({"columns": [0, 0, 2]}, "names a column twice"),
    ({"columns": [0, 5]}, "'columns' parameter of pc_skeleton takes positions"),
])
def test_pc_skeleton_checks_forbidden_and_columns(options, message):
    # (0, -1) silently forbade the true edge 0 - 2 (numpy wraps -1); the others gave IndexError or a CI-test error
    x = np.random.default_rng(0).normal(size=(200, 3))
    x[:, 2] += x[:, 0]
    with pytest.raises(ValueError, match=message):
        pc_skeleton(FisherZ().bind(x), alpha=0.05, **options)


def test_discovered_graph_refuses_a_string_of_nodes():
    # {"nodes": "abc"} became the nodes 'a', 'b', 'c'
    with pytest.raises(ValueError, match="'nodes' of a discovered-graph dict must be a list"):
        DiscoveredGraph.from_dict({"nodes": "abc", "adjacency": np.zeros((3, 3), int).tolist()})
    with pytest.raises(TypeError, match="not a single string"):
        DiscoveredGraph("xyz", np.zeros((3, 3), int))


def test_discovery_skeleton_scores_compare_named_graphs_by_name():
    from latentscm.discovery.result import skeleton_scores
    from latentscm.graph import CausalGraph

    truth = CausalGraph.from_text("a -> b; b -> c")
    listed_otherwise = CausalGraph([("a", "b"), ("b", "c")], nodes=["c", "b", "a"])
    assert skeleton_scores(listed_otherwise, truth)["skeleton.f1"] == 1.0
    with pytest.raises(ValueError, match="different nodes"):
        skeleton_scores(CausalGraph.from_text("a -> b; b -> d"), truth)
