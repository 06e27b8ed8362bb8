"""Sortability (Reisach et al. 2021, 2023): the definitions on hand-counted graphs, the scores against independent
regressions, scale invariance of R^2, and the errors."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from latentscm.discovery.result import DiscoveredGraph
from latentscm.graph import CausalGraph
from latentscm.metrics import order_alignment, r2_sortability, sortability, varsortability
from latentscm.metrics.sortability import r2_coefficients, sortability_scores
from latentscm.scm.random import random_scm

CHAIN = CausalGraph([("a", "b"), ("b", "c")])
DIAMOND = CausalGraph([("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("a", "d")])


def _brute_force(graph: CausalGraph, scores: np.ndarray, tol: float = 0.0) -> float:
    """The paths definition by enumerating simple paths with networkx: each ordered pair once per distinct length."""
    g = graph.to_networkx()
    index = {n: k for k, n in enumerate(graph.nodes)}
    total, ordered = 0, 0.0
    for i, j in itertools.permutations(graph.nodes, 2):
        lengths = {len(path) - 1 for path in nx.all_simple_paths(g, i, j)}
        diff = scores[index[j]] - scores[index[i]]
        credit = 1.0 if diff > tol else 0.5 if diff >= -tol else 0.0
        total += len(lengths)
        ordered += credit * len(lengths)
    return ordered / total


def test_chain_counts_by_hand():
    assert order_alignment(CHAIN, [1.0, 2.0, 3.0]) == 1.0
    assert order_alignment(CHAIN, [3.0, 2.0, 1.0]) == 0.0
    # a->b up (1), b->c down (0), a->c (length 2) up (1): 2 of 3; the edges alone: 1 of 2
    assert order_alignment(CHAIN, [1.0, 3.0, 2.0]) == pytest.approx(2 / 3)
    assert order_alignment(CHAIN, [1.0, 3.0, 2.0], measure="edges") == 0.5


def test_pairs_count_once_per_path_length():
    # E^1 = {ab, ac, bd, cd, ad}; E^2 = {ad} (two paths of length 2, counted once): 6 pairs; up: ab, ac only
    scores = np.array([0.0, 1.0, 1.0, -1.0])
    assert order_alignment(DIAMOND, scores) == pytest.approx(2 / 6)
    assert order_alignment(DIAMOND, scores, measure="edges") == pytest.approx(2 / 5)


def test_random_graphs_match_path_enumeration():
    rng = np.random.default_rng(0)
    for seed in range(6):
        graph = random_scm(7, edge_prob=0.4, seed=seed).graph
        if not graph.edges:
            continue
        scores = rng.integers(0, 4, size=7).astype(float)  # small integers: ties happen
        assert order_alignment(graph, scores) == pytest.approx(_brute_force(graph, scores))
        assert order_alignment(graph, scores, tol=1.0) == pytest.approx(_brute_force(graph, scores, tol=1.0))


def test_ties_and_tolerance():
    pair = np.array([[0, 1], [0, 0]])
    assert order_alignment(pair, [1.0, 1.0]) == 0.5
    assert order_alignment(pair, [1.0, 1.05]) == 1.0
    assert order_alignment(pair, [1.0, 1.05], tol=0.1) == 0.5
    assert order_alignment(pair, [1.0, 0.9], tol=0.1) == 0.5  # a difference of exactly tol is a tie
    assert order_alignment(pair, [1.0, 0.85], tol=0.1) == 0.0


def test_no_edges_is_nan():
    assert np.isnan(order_alignment(CausalGraph.empty(["a", "b"]), [1.0, 2.0]))


def _chain_data(n: int = 4000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = a + rng.normal(size=n)
    c = b + rng.normal(size=n)
    return np.column_stack([a, b, c])


def test_variance_grows_down_a_unit_weight_chain_and_standardising_removes_it():
    x = _chain_data()
    assert varsortability(x, CHAIN) == 1.0
    z = (x - x.mean(0)) / x.std(0)
    # standardised, every variance is 1 up to rounding: with a tolerance all pairs tie
    assert varsortability(z, CHAIN, tol=1e-9) == 0.5
    # R^2 given all others: a 1/2, b 3/4, c 2/3 in the population, the same before and after scaling
    assert r2_sortability(x, CHAIN) == r2_sortability(z, CHAIN) == pytest.approx(2 / 3)
    np.testing.assert_allclose(sortability_scores(x, "r2"), [0.5, 0.75, 2 / 3], atol=0.02)


def test_r2_is_scale_invariant_and_var_is_not():
    scm = random_scm(8, edge_prob=0.4, seed=3)
    sample = scm.sample(2000, seed=1)
    x = np.column_stack([sample[n] for n in scm.graph.nodes])
    scales = np.exp(np.random.default_rng(2).normal(scale=2.0, size=8))
    np.testing.assert_allclose(r2_coefficients(x * scales), r2_coefficients(x), atol=1e-10)
    assert r2_sortability(x * scales, scm.graph) == r2_sortability(x, scm.graph)
    reversed_scales = 1.0 / np.sqrt(x.var(0)) * np.arange(8, 0, -1.0)[np.argsort(np.argsort(
        [scm.graph.topological_order().index(n) for n in scm.graph.nodes]))]
    # variances made to fall along the topological order: every ordered pair goes the wrong way
    assert varsortability(x * reversed_scales, scm.graph) == 0.0


def test_scores_match_independent_regressions():
    scm = random_scm(6, edge_prob=0.5, seed=4)
    sample = scm.sample(1500, seed=2)
    x = np.column_stack([sample[n] for n in scm.graph.nodes])
    expected_r2 = [LinearRegression().fit(np.delete(x, j, 1), x[:, j]).score(np.delete(x, j, 1), x[:, j])
                   for j in range(6)]
    np.testing.assert_allclose(sortability_scores(x, "r2"), expected_r2, atol=1e-10)
    expected_snr = []
    for j, node in enumerate(scm.graph.nodes):
        parents = [scm.graph.index(p) for p in scm.graph.parents(node)]
        expected_snr.append(LinearRegression().fit(x[:, parents], x[:, j]).score(x[:, parents], x[:, j])
                            if parents else 0.0)
    np.testing.assert_allclose(sortability_scores(x, "snr", graph=scm.graph), expected_snr, atol=1e-10)
    np.testing.assert_allclose(sortability_scores(x, "var"), x.var(0))


def test_collinear_columns_take_the_least_squares_path():
    # x3 = x0 + x1 exactly (integers: no rounding): the correlation matrix is singular, so each R^2 comes from a
    # least-squares fit; x0, x1, x3 are explained exactly, x2 as by x0 and x1 alone (the same column space)
    rng = np.random.default_rng(5)
    x = rng.integers(-50, 50, size=(500, 3)).astype(float)
    x = np.column_stack([x, x[:, 0] + x[:, 1]])
    assert np.linalg.cond(np.corrcoef(x.T)) > 1e10
    alone = LinearRegression().fit(x[:, :2], x[:, 2]).score(x[:, :2], x[:, 2])
    np.testing.assert_allclose(r2_coefficients(x), [1.0, 1.0, alone, 1.0], atol=1e-9)
    assert r2_coefficients(x[:, :1]).tolist() == [0.0]


def test_named_data_is_put_in_the_graphs_order():
    x = _chain_data()
    mapping = {"c": x[:, 2], "a": x[:, 0], "b": x[:, 1]}
    for criterion in ("var", "r2", "snr"):
        assert sortability(mapping, CHAIN, criterion=criterion) == sortability(x, CHAIN, criterion=criterion)
    directed = DiscoveredGraph(CHAIN.nodes, CHAIN.adjacency)
    assert varsortability(mapping, directed) == 1.0
    weights = np.array([[0, 0.7, 0], [0, 0, -1.3], [0, 0, 0]])  # a weight matrix: non-zero entries are edges
    assert varsortability(x, weights) == 1.0


def test_bad_input_is_named():
    x = _chain_data(200)
    with pytest.raises(ValueError, match="'criterion'"):
        sortability(x, CHAIN, criterion="variance")
    with pytest.raises(ValueError, match="'measure'"):
        sortability(x, CHAIN, measure="pairs")
    with pytest.raises(ValueError, match="'tol'"):
        sortability(x, CHAIN, tol=-1.0)
    with pytest.raises(ValueError, match="directed cycle"):
        sortability(x, np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]]))
    with pytest.raises(ValueError, match="undirected .* 'a' - 'b'"):
        sortability(x, DiscoveredGraph(("a", "b", "c"), np.array([[0, 1, 0], [1, 0, 1], [0, 0, 0]])))
    with pytest.raises(ValueError, match="self-loop"):
        sortability(x, np.eye(3))
    with pytest.raises(ValueError, match="2 columns for a graph of 3 nodes"):
        sortability(x[:, :2], CHAIN)
    with pytest.raises(ValueError, match=r"missing \['c'\].*not in the graph \['d'\]"):
        sortability({"a": x[:, 0], "b": x[:, 1], "d": x[:, 2]}, CHAIN)
    with pytest.raises(ValueError, match=r"constant columns \['b'\]"):
        sortability({"a": x[:, 0], "b": np.ones(200), "c": x[:, 2]}, CHAIN, criterion="r2")
    assert np.isfinite(sortability({"a": x[:, 0], "b": np.ones(200), "c": x[:, 2]}, CHAIN))  # variance 0 is a score
    with pytest.raises(ValueError, match="'graph' argument of sortability_scores is required for criterion='snr'"):
        sortability_scores(x, "snr")
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        order_alignment(CHAIN, [1.0, 2.0])
    with pytest.raises(ValueError, match="non-finite"):
        order_alignment(CHAIN, [1.0, np.nan, 2.0])
    with pytest.raises(TypeError, match="'graph' argument of sortability"):
        sortability(x, "a -> b")


def test_matches_the_authors_package_when_installed():
    analytics = pytest.importorskip("CausalDisco.analytics", reason="CausalDisco (test-only cross-check) is not "
                                    "installed")
    for seed in range(3):
        scm = random_scm(9, edge_prob=0.35, seed=seed)
        sample = scm.sample(800, seed=seed)
        x = np.column_stack([sample[n] for n in scm.graph.nodes])
        w = scm.graph.adjacency
        for ours, theirs in (("var", analytics.var_sortability), ("r2", analytics.r2_sortability),
                             ("snr", analytics.snr_sortability)):
            assert sortability(x, scm.graph, criterion=ours) == pytest.approx(theirs(x, w), abs=1e-12)
            assert sortability(x, scm.graph, criterion=ours, measure="edges") == pytest.approx(
                theirs(x, w, measure="adjacent_pairs"), abs=1e-12)
