"""FCI with selection bias (Zhang 2008, R1-R10): oracle FCI equals the PAG enumerated over MAGs with undirected
edges, on random DAGs with selection nodes."""

from __future__ import annotations

import networkx as nx
import numpy as np

from latentscm.discovery import PartialAncestralGraph, fci
from latentscm.discovery.pag import ARROW, CIRCLE
from latentscm.testing.oracles import DSeparationOracle, _unshielded_colliders, random_selection_dag, true_mag, true_pag


def _sound_start(mag: np.ndarray) -> np.ndarray:
    start = np.where(mag != 0, CIRCLE, 0)
    for a, b, c in _unshielded_colliders(mag):
        start[a, b] = start[c, b] = ARROW
    return start


def test_oracle_fci_with_selection_bias_equals_the_enumerated_pag():
    checked = 0
    for seed in range(40):
        a, p, k = random_selection_dag(seed, observed=(4, 6), selection=(1, 3), edge_prob=(0.15, 0.35))
        mag = true_mag(a, p, n_selection=k)
        if (mag != 0).sum() // 2 > 7:
            continue
        graph = nx.DiGraph(a)
        graph.add_nodes_from(range(a.shape[0]))
        oracle = DSeparationOracle(graph, selection=list(range(a.shape[0] - k, a.shape[0])))
        pag = fci(np.zeros((20, p)), ci_test=oracle, alpha=0.5, selection_bias=True)
        assert pag.info["selection_bias"] is True
        np.testing.assert_array_equal(pag.marks, true_pag(mag, _sound_start(mag), selection=True),
                                      err_msg=f"seed {seed}")
        checked += 1
    assert checked >= 20


def test_selection_chain_gives_undirected_edges_and_prints_them():
    # a -> S <- b, b -> S2 <- c with S, S2 selected: a --- b --- c is in the MAG
    a, p, k = np.zeros((5, 5), dtype=int), 3, 2
    a[0, 3] = a[1, 3] = a[1, 4] = a[2, 4] = 1
    mag = true_mag(a, p, n_selection=k)
    assert PartialAncestralGraph(("a", "b", "c"), mag).edges() == ["a --- b", "b --- c"]


def test_selection_bias_assumed_where_there_is_none():
    """On DAGs without selection nodes, selection_bias=True gives the enumerated PAG of the class with undirected
    edges allowed, and on all 55 graphs checked that is the usual PAG (R5-R7 set no tail: a class whose MAGs with
    undirected edges exist only as equivalents of directed ones commits to no mark the usual PAG lacks)."""
    checked = 0
    for seed in range(60):
        a, p = random_selection_dag(seed, observed=(4, 6), selection=(0, 1), edge_prob=(0.15, 0.35))[:2]
        mag = true_mag(a, p)
        if (mag != 0).sum() // 2 > 7:
            continue
        graph = nx.DiGraph(a)
        graph.add_nodes_from(range(a.shape[0]))
        oracle = DSeparationOracle(graph)
        wide = fci(np.zeros((20, p)), ci_test=oracle, alpha=0.5, selection_bias=True).marks
        np.testing.assert_array_equal(wide, true_pag(mag, _sound_start(mag), selection=True), err_msg=f"seed {seed}")
        np.testing.assert_array_equal(wide, fci(np.zeros((20, p)), ci_test=oracle, alpha=0.5).marks)
        checked += 1
    assert checked == 55
