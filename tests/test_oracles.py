"""latentscm.testing's ground truth for discovery: the d-separation oracle, random latent DAGs, the true MAG."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from latentscm.discovery.ci_tests.base import CIQuery
from latentscm.discovery.pag import ARROW, TAIL
from latentscm.testing import DSeparationOracle, random_latent_dag, true_mag


def test_oracle_answers_d_separation_and_checks_its_graph():
    graph = nx.DiGraph([(0, 1), (1, 2)])  # a chain
    bound = DSeparationOracle(graph).bind(np.zeros((5, 3)))
    results = bound.test_many([CIQuery.make(0, 2), CIQuery.make(0, 2, [1]), CIQuery.make(0, 1, [2])])
    assert [r.p_value for r in results] == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="networkx DiGraph without cycles"):  # checked at the first query
        DSeparationOracle(nx.DiGraph([(0, 1), (1, 0)])).bind(np.zeros((5, 2))).test_many([CIQuery.make(0, 1)])
    with pytest.raises(ValueError, match=r"no node for data columns \[3\]"):
        DSeparationOracle(graph).bind(np.zeros((5, 4))).test_many([CIQuery.make(0, 1)])


def test_random_latent_dag_is_seeded_and_hides_common_causes():
    a, p = random_latent_dag(3)
    b, q = random_latent_dag(3)
    assert p == q and np.array_equal(a, b)
    assert nx.is_directed_acyclic_graph(nx.DiGraph(a))
    assert 4 <= p < 8 and 1 <= a.shape[0] - p < 3


def test_true_mag_of_a_hidden_confounder():
    # 0 -> 1 <- L -> 2 <- 3, L = node 4 hidden: the MAG is 0 -> 1 <-> 2 <- 3
    a = np.zeros((5, 5), dtype=np.int64)
    for i, j in ((0, 1), (4, 1), (4, 2), (3, 2)):
        a[i, j] = 1
    mag = true_mag(a, 4)
    assert (mag[0, 1], mag[1, 0]) == (ARROW, TAIL)
    assert (mag[1, 2], mag[2, 1]) == (ARROW, ARROW)
    assert (mag[3, 2], mag[2, 3]) == (ARROW, TAIL)
    assert mag[0, 2] == mag[0, 3] == mag[1, 3] == 0


def test_true_pag_enumerates_the_class_of_a_mag():
    """a -> b <- L -> c <- d (L hidden): the class's invariant marks are a o-> b <-> c <-o d, FCI's PAG."""
    from latentscm.discovery import fci
    from latentscm.discovery.pag import CIRCLE
    from latentscm.testing.oracles import true_pag

    a = np.zeros((5, 5), dtype=np.int64)
    for i, j in ((0, 1), (4, 1), (4, 2), (3, 2)):
        a[i, j] = 1
    mag = true_mag(a, 4)
    truth = true_pag(mag)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 1] = expected[2, 1] = expected[1, 2] = expected[3, 2] = ARROW
    expected[1, 0] = expected[2, 3] = CIRCLE
    np.testing.assert_array_equal(truth, expected)
    graph = nx.DiGraph(a)
    pag = fci(np.zeros((20, 4)), ci_test=DSeparationOracle(graph), alpha=0.5).marks
    np.testing.assert_array_equal(true_pag(mag, pag), pag)
    # tiers: b before a, so a is no ancestor of b: of the class's a -> b and a <-> b only the latter remains
    tiered = true_pag(mag, tiers=[1, 0, -1, -1])
    assert tiered[1, 0] == ARROW and tiered[0, 1] == ARROW
    chain = true_mag(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), 3)  # a -> b -> c
    with pytest.raises(ValueError, match="no MAG"):
        true_pag(chain, tiers=[0, 1, 0])  # b after a and c: arrowheads at b from both, a collider the data deny


def test_bit_mask_d_separation_equals_networkx():
    """true_pag's fast d-separation (moral graph of the ancestral set, bit masks) gives networkx's answer on every
    query of 60 random DAGs of 3-8 nodes (the enumeration of the MAG class rests on it)."""
    from itertools import combinations

    from latentscm.testing.oracles import _BitDSeparation, random_dag

    queries = 0
    for seed in range(60):
        adjacency, _ = random_dag(seed, 3 + seed % 6)
        graph = nx.DiGraph(adjacency)
        graph.add_nodes_from(range(adjacency.shape[0]))
        separated = _BitDSeparation(graph)
        d = adjacency.shape[0]
        for i, j in combinations(range(d), 2):
            others = [v for v in range(d) if v not in (i, j)]
            for size in range(len(others) + 1):
                for given in combinations(others, size):
                    assert separated(i, j, given) == nx.is_d_separator(graph, {i}, {j}, set(given)), (seed, i, j,
                                                                                                     given)
                    queries += 1
    assert queries > 5000
    with pytest.raises(ValueError, match="nodes 0..n-1"):
        _BitDSeparation(nx.DiGraph([(1, 2)]))
