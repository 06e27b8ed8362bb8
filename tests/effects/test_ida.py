"""IDA: the local parent sets against a brute-force enumeration of each equivalence class."""

from __future__ import annotations

from itertools import product

import networkx as nx
import numpy as np
import pytest

from latentscm.discovery.ges import cpdag_from_dag
from latentscm.discovery.result import DiscoveredGraph
from latentscm.effects import ida, possible_parent_sets
from latentscm.graph import CausalGraph
from latentscm.scm import random_dag


def _class_members(cpdag: np.ndarray) -> list[np.ndarray]:
    """Every DAG with this CPDAG: each orientation of its undirected edges that is acyclic and has it as CPDAG."""
    undirected = [(i, j) for i, j in zip(*np.nonzero(cpdag)) if i < j and cpdag[j, i]]
    members = []
    for flips in product([False, True], repeat=len(undirected)):
        dag = cpdag * (1 - cpdag.T)  # the directed part
        for (i, j), flip in zip(undirected, flips):
            dag[(j, i) if flip else (i, j)] = 1
        if nx.is_directed_acyclic_graph(nx.DiGraph(dag)) and np.array_equal(cpdag_from_dag(dag), cpdag):
            members.append(dag)
    return members


def test_local_parent_sets_are_the_parent_sets_of_the_class():
    checked = ambiguous = 0
    for seed in range(25):
        graph = random_dag(6, edge_prob=0.45, seed=seed)
        cpdag = cpdag_from_dag(graph.adjacency.astype(np.int64))
        discovered = DiscoveredGraph(graph.nodes, cpdag)
        members = _class_members(cpdag)
        assert any(np.array_equal(m, graph.adjacency) for m in members)
        for x, name in enumerate(graph.nodes):
            truth = {tuple(graph.nodes[i] for i in np.flatnonzero(m[:, x])) for m in members}
            local = possible_parent_sets(discovered, name)
            assert set(local) == truth and len(local) == len(truth), (seed, name)
            checked += 1
            ambiguous += len(truth) > 1
    assert checked == 150 and ambiguous > 20


def test_ida_brackets_the_true_effect_on_sampled_data():
    from latentscm.scm import SCM, LinearGaussian

    graph = CausalGraph.from_text("A -> X; B -> X; X -> Y; A -> Y; C -> A")
    scm = SCM(graph, {"C": LinearGaussian(), "A": LinearGaussian([0.9]), "B": LinearGaussian(),
                      "X": LinearGaussian({"A": 0.8, "B": 0.7}), "Y": LinearGaussian({"X": 1.0, "A": 1.2})})
    cpdag = cpdag_from_dag(graph.adjacency.astype(np.int64))
    result = ida(scm.sample(3000, seed=0), DiscoveredGraph(graph.nodes, cpdag), "X", "Y")
    assert result.parent_sets == (("A", "B"),) and result.identified  # A -> X <- B is a v-structure
    assert result.effects[0].covers(1.0)
    chain = CausalGraph.from_text("X -> Y; Z -> X")  # Z - X - Y: three DAGs, parent sets {}, {Z}, {Y}
    scm = SCM(chain, {"Z": LinearGaussian(), "X": LinearGaussian([1.0]), "Y": LinearGaussian([2.0])})
    cpdag = cpdag_from_dag(chain.adjacency.astype(np.int64))
    result = ida(scm.sample(3000, seed=1), DiscoveredGraph(chain.nodes, cpdag), "X", "Y")
    assert result.parent_sets == ((), ("Y",), ("Z",))  # siblings in node order: X, Y, Z
    assert result.effects[1] is None and result.minimum_absolute == 0.0
    assert result.effects[0].covers(2.0) and result.effects[2].covers(2.0)
    assert "the outcome is a parent" in str(result) and result.to_dict()["values"][1] == 0.0


def test_ida_refuses_hidden_nodes_and_bad_graphs():
    graph = DiscoveredGraph(("X", "Y", "Z"), np.array([[0, 1, 0], [1, 0, 0], [1, 0, 0]]))
    data = {"X": np.arange(10.0), "Y": np.arange(10.0) ** 2}
    with pytest.raises(ValueError, match=r"lacks the graph's nodes \['Z'\]"):
        ida(data, graph, "X", "Y")
    with pytest.raises(TypeError, match="'graph' argument of ida"):
        ida(data, "X - Y", "X", "Y")
    with pytest.raises(ValueError, match="Unknown node 'Q'"):
        possible_parent_sets(graph, "Q")
