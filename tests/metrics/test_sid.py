"""SID against its definition: on random linear-Gaussian SCMs (generic weights), count the pairs whose
interventional distribution p(x_j | do(x_i)) -- its slope and its variance -- the parent adjustment of the estimated
graph gets wrong, computed exactly from the covariance; CPDAG bounds against the DAGs of the class."""

import itertools

import networkx as nx
import numpy as np
import pytest

from latentscm.graph import CausalGraph
from latentscm.metrics import dag_to_cpdag
from latentscm.metrics.sid import sid


def _random_dag(rng, d, p):
    upper = np.triu((rng.random((d, d)) < p).astype(np.int64), 1)
    order = rng.permutation(d)
    return upper[np.ix_(order, order)]


def _oracle_row(true, weights, noise, i, adjustment):
    """Mistakes of row i: p(x_j | do(x_i)) estimated by adjusting for ``adjustment``, against the truth."""
    d = true.shape[0]
    mix = np.linalg.inv(np.eye(d) - weights.T)
    cov = mix @ np.diag(noise) @ mix.T
    cut = weights.copy()
    cut[:, i] = 0.0  # do(x_i): x_i loses its parents and its noise
    cut_noise = noise.copy()
    cut_noise[i] = 0.0
    cut_mix = np.linalg.inv(np.eye(d) - cut.T)
    effect, do_cov = cut_mix[:, i], cut_mix @ np.diag(cut_noise) @ cut_mix.T
    mistakes = 0
    for j in range(d):
        if j == i:
            continue
        if j in adjustment:
            slope, variance = 0.0, cov[j, j]
        else:
            s = [i, *sorted(adjustment)]
            beta = np.linalg.solve(cov[np.ix_(s, s)], cov[s, j])
            residual = cov[j, j] - beta @ cov[s, j]
            variance = residual + beta[1:] @ cov[np.ix_(s[1:], s[1:])] @ beta[1:]
            slope = beta[0]
        mistakes += not (abs(slope - effect[j]) < 1e-8 and abs(variance - do_cov[j, j]) < 1e-8)
    return mistakes


def _scm(rng, true):
    signs = rng.choice([-1.0, 1.0], size=true.shape)
    return true * signs * rng.uniform(0.5, 1.5, size=true.shape), rng.uniform(0.5, 1.5, size=true.shape[0])


def test_sid_counts_the_wrongly_estimated_interventional_distributions():
    rng = np.random.default_rng(0)
    for _ in range(150):
        d = int(rng.integers(2, 8))
        true, estimated = _random_dag(rng, d, rng.uniform(0.2, 0.7)), _random_dag(rng, d, rng.uniform(0.2, 0.7))
        weights, noise = _scm(rng, true)
        expected = sum(_oracle_row(true, weights, noise, i, set(np.flatnonzero(estimated[:, i]).tolist()))
                       for i in range(d))
        result = sid(true, estimated)
        assert result["sid"] == expected
        assert result["sid.normalised"] == pytest.approx(expected / (d * (d - 1)))


def _extensions(cpdag):
    """Every DAG of the class: orientations of the undirected edges with no cycle and no new v-structure."""
    undirected = [(a, b) for a, b in zip(*np.nonzero(np.triu(cpdag & cpdag.T, 1)))]
    for choice in itertools.product([0, 1], repeat=len(undirected)):
        dag = cpdag * (1 - (cpdag & cpdag.T))
        for (a, b), flip in zip(undirected, choice):
            dag[(b, a) if flip else (a, b)] = 1
        if nx.is_directed_acyclic_graph(nx.DiGraph(dag)) and np.array_equal(dag_to_cpdag(dag), cpdag):
            yield dag


def test_cpdag_bounds_hold_every_dag_of_the_class_and_the_true_class_has_lower_bound_zero():
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(60):
        d = int(rng.integers(3, 7))
        true, other = _random_dag(rng, d, 0.5), _random_dag(rng, d, 0.5)
        for estimated in (dag_to_cpdag(true), dag_to_cpdag(other)):
            if not (estimated & estimated.T).any():
                continue
            bounds = sid(true, estimated)
            values = [sid(true, dag)["sid"] for dag in _extensions(estimated)]
            assert values and bounds["sid.lower"] <= min(values) and max(values) <= bounds["sid.upper"]
            checked += 1
        assert sid(true, dag_to_cpdag(true)).get("sid.lower", 0.0) == 0.0
    assert checked > 20


def test_known_values_and_named_graphs():
    chain = CausalGraph.from_text("a -> b; b -> c")
    assert sid(chain, chain) == {"sid": 0.0, "sid.normalised": 0.0}
    reversed_chain = CausalGraph.from_text("c -> b; b -> a")
    # do(a): b is claimed a parent (no effect) and adjusting for b blocks a -> b -> c; do(b): c claimed a parent,
    # and the path b <- a is left open for p(a | do(b)); do(c): nothing adjusted, c <- b <- a open for a and b
    assert sid(chain, reversed_chain)["sid"] == 6.0
    empty = CausalGraph(edges=[], nodes=["a", "b", "c"])
    # the empty graph adjusts for nothing: right for every effect downstream (no confounding), wrong for the three
    # upstream pairs, whose p(x_j | do(x_i)) = p(x_j) it estimates by p(x_j | x_i)
    assert sid(chain, empty)["sid"] == 3.0
    # the order of a named graph's nodes does not matter
    assert sid(chain, CausalGraph.from_text("b -> c; a -> b"))["sid"] == 0.0


def test_bad_graphs_are_refused_by_name():
    dag = np.array([[0, 1], [0, 0]])
    with pytest.raises(ValueError, match="'true' argument of sid must be a DAG; it has the undirected edge"):
        sid(np.array([[0, 1], [1, 0]]), dag)
    with pytest.raises(ValueError, match="'estimated' argument of sid has a directed cycle"):
        sid(np.zeros((3, 3), int), np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]]))
    with pytest.raises(ValueError, match="same nodes"):
        sid(dag, np.zeros((3, 3), int))


def test_discovered_graphs_are_scored_with_sid():
    from latentscm.discovery import DiscoveredGraph
    from latentscm.discovery.codes import compare_graphs

    truth = CausalGraph.from_text("a -> b; b -> c")
    directed = DiscoveredGraph(("a", "b", "c"), np.array([[0, 0, 0], [1, 0, 1], [0, 0, 0]]))  # a <- b -> c
    scores = compare_graphs(directed, truth)
    assert scores["sid"] == sid(truth, directed.adjacency)["sid"] > 0
    undirected = DiscoveredGraph(("a", "b", "c"), np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]))  # a - b - c
    scores = compare_graphs(undirected, truth)
    assert scores["sid.lower"] == 0.0 < scores["sid.upper"] and "sid" not in scores
    cyclic = DiscoveredGraph(("a", "b", "c"), np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]]))
    assert "sid" not in compare_graphs(cyclic, truth) and "shd" in compare_graphs(cyclic, truth)


def test_cpdag_parent_sets_are_the_cliques_of_the_undirected_neighbours():
    from latentscm.metrics.sid import _cliques

    rng = np.random.default_rng(3)
    for _ in range(30):
        d = int(rng.integers(2, 9))
        undirected = np.triu(rng.random((d, d)) < 0.5, 1)
        undirected = (undirected | undirected.T).astype(int)
        nodes = list(range(d))
        brute = {frozenset(c) for k in range(d + 1) for c in itertools.combinations(nodes, k)
                 if all(undirected[a, b] for a, b in itertools.combinations(c, 2))}
        found = [frozenset(c) for c in _cliques(nodes, undirected)]
        assert len(found) == len(set(found)) and set(found) == brute
    # a hub with 29 undirected, mutually non-adjacent neighbours: 30 parent sets, not 2**29 subsets to filter
    star = np.zeros((30, 30), int)
    star[0, 1:] = star[1:, 0] = 1
    assert len(_cliques(list(range(1, 30)), star)) == 30
    true = np.zeros((30, 30), int)
    true[0, 1:] = 1
    assert sid(true, star)["sid.lower"] == 0.0
