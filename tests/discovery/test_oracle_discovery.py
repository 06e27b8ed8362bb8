"""PC, CD-NOD and causal de Finetti with a d-separation oracle against an enumeration of the equivalence class."""

from __future__ import annotations

from itertools import product

import networkx as nx
import numpy as np

from latentscm.discovery.causal_de_finetti import causal_de_finetti
from latentscm.discovery.cdnod import cdnod
from latentscm.discovery.pc import pc
from latentscm.metrics import dag_to_cpdag
from latentscm.testing.oracles import DSeparationOracle as _Oracle


def _random_dag(d: int, p: float, rng: np.random.Generator) -> np.ndarray:
    order = rng.permutation(d)
    a = np.zeros((d, d), dtype=np.int64)
    for i in range(d):
        for j in range(i + 1, d):
            if rng.random() < p:
                a[order[i], order[j]] = 1
    return a


def _v_structures(a: np.ndarray) -> set[tuple[int, int, int]]:
    skeleton = a | a.T
    return {(int(i), c, int(j)) for c in range(a.shape[0]) for i in np.flatnonzero(a[:, c])
            for j in np.flatnonzero(a[:, c]) if i < j and not skeleton[i, j]}


def _class_union(a: np.ndarray, no_parents: tuple[int, ...] = ()) -> np.ndarray:
    """Union (d, d) of every DAG with a's skeleton and v-structures whose nodes ``no_parents`` have no parents:
    an edge is one-way exactly when all of them agree on it."""
    d = a.shape[0]
    edges = [(i, j) for i in range(d) for j in range(i + 1, d) if a[i, j] or a[j, i]]
    target, union = _v_structures(a), np.zeros_like(a)
    for bits in product((0, 1), repeat=len(edges)):
        g = np.zeros_like(a)
        for (i, j), forward in zip(edges, bits):
            g[(i, j) if forward else (j, i)] = 1
        if any(g[:, c].any() for c in no_parents):
            continue
        if nx.is_directed_acyclic_graph(nx.DiGraph(g)) and _v_structures(g) == target:
            union |= g
    return union


def _dags(count: int, seed: int, max_edges: int = 11):
    rng = np.random.default_rng(seed)
    while count:
        a = _random_dag(int(rng.integers(3, 7)), float(rng.uniform(0.2, 0.7)), rng)
        if a.sum() <= max_edges:
            count -= 1
            yield a, rng


def _placeholder(d: int) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(20, d))


def test_pc_with_oracle_returns_the_cpdag_in_any_variable_order():
    for a, rng in _dags(150, seed=0):
        d = a.shape[0]
        expected = _class_union(a)
        got = pc(_placeholder(d), ci_test=_Oracle(nx.DiGraph(a)), alpha=0.5).adjacency
        np.testing.assert_array_equal(got, expected, err_msg=str(a.tolist()))
        np.testing.assert_array_equal(dag_to_cpdag(a), expected)
        perm = rng.permutation(d)
        permuted = pc(_placeholder(d), ci_test=_Oracle(nx.DiGraph(a[np.ix_(perm, perm)])), alpha=0.5).adjacency
        np.testing.assert_array_equal(permuted, got[np.ix_(perm, perm)])


def test_cdnod_with_oracle_returns_the_class_with_an_exogenous_context():
    for a, rng in _dags(120, seed=1, max_edges=9):
        d = a.shape[0]
        augmented = np.zeros((d + 1, d + 1), dtype=np.int64)
        augmented[:d, :d] = a
        augmented[d, :d] = rng.random(d) < 0.4
        expected = _class_union(augmented, no_parents=(d,))
        got = cdnod(_placeholder(d), np.arange(20) % 2, ci_test=_Oracle(nx.DiGraph(augmented)), alpha=0.5)
        np.testing.assert_array_equal(got.adjacency, expected, err_msg=str(augmented.tolist()))


def test_causal_de_finetti_with_oracle_returns_the_dag():
    for a, _ in _dags(120, seed=2):
        d = a.shape[0]
        # nodes 0..d-1: first samples, d..2d-1: second samples, 2d..3d-1: per-variable mechanism parameters
        graph = nx.DiGraph()
        graph.add_nodes_from(range(3 * d))
        for i, j in zip(*np.nonzero(a)):
            graph.add_edges_from([(int(i), int(j)), (int(i) + d, int(j) + d)])
        for i in range(d):
            graph.add_edges_from([(2 * d + i, i), (2 * d + i, d + i)])
        environments = np.random.default_rng(2).normal(size=(12, 2, d))
        got = causal_de_finetti(environments, ci_test=_Oracle(graph), alpha=0.5).adjacency
        np.testing.assert_array_equal(got, a, err_msg=str(a.tolist()))
