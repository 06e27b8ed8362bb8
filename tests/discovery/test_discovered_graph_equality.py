"""DiscoveredGraph equality and hashing: by nodes and adjacency (dataclass equality over the array raised)."""

from __future__ import annotations

import numpy as np

from latentscm.discovery import DiscoveredGraph, pc


def test_graphs_compare_by_nodes_and_adjacency_and_hash_alike():
    edge = np.array([[0, 1], [0, 0]])
    first = DiscoveredGraph(("x", "y"), edge, info={"method": "pc"})
    same = DiscoveredGraph(("x", "y"), edge.copy())
    reversed_edge = DiscoveredGraph(("x", "y"), edge.T)
    renamed = DiscoveredGraph(("y", "x"), edge)
    assert first == same and hash(first) == hash(same)  # info is not compared
    assert first != reversed_edge and first != renamed
    assert len({first, same, reversed_edge, renamed}) == 3
    assert first != "x -> y"


def test_a_discovered_graph_equals_its_round_trip():
    rng = np.random.default_rng(0)
    a = rng.normal(size=500)
    data = np.column_stack([a, a + rng.normal(size=500), rng.normal(size=500)])
    graph = pc(data, node_names=["a", "b", "c"])
    assert DiscoveredGraph.from_dict(graph.to_dict()) == graph
