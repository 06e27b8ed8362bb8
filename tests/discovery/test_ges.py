"""Greedy Equivalence Search: the BIC local score, the Insert / Delete operators against brute force, the
PDAG -> DAG -> CPDAG completion, large-sample recovery, agreement with causal-learn and input errors."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery import DiscoveredGraph
from latentscm.discovery.codes import compare_graphs
from latentscm.discovery.ges import (
    apply_delete,
    apply_insert,
    consistent_extension,
    cpdag_from_dag,
    delete_operators,
    ges,
    greedy_phase,
    insert_operators,
    pdag_to_cpdag,
)
from latentscm.discovery.scores import GaussianBIC
from latentscm.graph import CausalGraph
from latentscm.metrics.graphs import _is_acyclic, dag_to_cpdag
from latentscm.scm.random import random_dag
from latentscm.testing import cpdag_members

from .conftest import scm_data


def _dag(d: int, edge_prob: float, seed: int) -> np.ndarray:
    return np.asarray(random_dag(d, edge_prob=edge_prob, seed=seed).adjacency, dtype=np.int64)


def _key(g: np.ndarray) -> bytes:
    return np.asarray(g, dtype=np.int64).tobytes()


def _cl_adjacency(graph: np.ndarray) -> np.ndarray:
    """causal-learn's GeneralGraph matrix (``[j, i] = 1, [i, j] = -1`` for i -> j) in our convention."""
    d = graph.shape[0]
    out = np.zeros((d, d), dtype=np.int64)
    for i in range(d):
        for j in range(d):
            if graph[i, j] == -1 and graph[j, i] == 1:
                out[i, j] = 1
            elif graph[i, j] == -1 and graph[j, i] == -1:
                out[i, j] = out[j, i] = 1
    return out


# -------------------------------------------------------------------------------------------------- score
def test_bic_local_score_is_the_gaussian_regression_bic():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(300, 4))
    data[:, 3] += data[:, 0] - 0.5 * data[:, 1]
    n = data.shape[0]
    for discount in (0.5, 1.0, 3.0):
        scorer = GaussianBIC(data, penalty_discount=discount)
        for node, parents in [(3, []), (3, [0]), (3, [0, 1]), (0, [1, 2, 3])]:
            design = np.column_stack([np.ones(n), data[:, parents]])
            residual = data[:, node] - design @ np.linalg.lstsq(design, data[:, node], rcond=None)[0]
            variance = np.mean(residual ** 2)
            expected = -n / 2 * (1 + np.log(variance)) - discount / 2 * (len(parents) + 1) * np.log(n)
            assert scorer.local(node, parents) == pytest.approx(expected, rel=1e-10)
    # cached under (node, parent set), the order of the parents does not matter
    assert scorer.local(3, [1, 0]) == scorer.local(3, [0, 1])
    assert scorer.n_computed == 4


def test_bic_equals_causal_learn_local_score_with_lambda_half_the_discount():
    module = pytest.importorskip("causallearn.score.LocalScoreFunction")
    data, _ = scm_data(6, 400, edge_prob=0.5, mechanism="linear", seed=3)
    for discount in (0.5, 1.0, 2.0):
        scorer = GaussianBIC(data, penalty_discount=discount)
        for node, parents in [(0, []), (2, [0, 1]), (5, [1, 3, 4]), (1, [0, 2, 3, 4, 5])]:
            theirs = module.local_score_BIC(data, node, parents, {"lambda_value": discount / 2})
            assert scorer.local(node, parents) == pytest.approx(theirs, rel=1e-12, abs=1e-9)


# ------------------------------------------------------------------------------------- graph completion
def test_cpdag_from_dag_equals_meek_completion_on_random_dags():
    for seed in range(60):
        dag = _dag(7, 0.4, seed)
        assert np.array_equal(cpdag_from_dag(dag), dag_to_cpdag(dag)), seed


def test_consistent_extension_is_a_member_of_the_class():
    for seed in range(40):
        cpdag = dag_to_cpdag(_dag(7, 0.45, seed))
        dag = consistent_extension(cpdag)
        assert _is_acyclic(dag.astype(bool)) and not np.any(dag & dag.T)
        assert np.array_equal(dag_to_cpdag(dag), cpdag), seed


def test_pdag_without_consistent_extension_is_refused():
    cycle = np.zeros((4, 4), dtype=np.int64)  # a chordless undirected 4-cycle
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 0)]:
        cycle[a, b] = cycle[b, a] = 1
    with pytest.raises(ValueError, match="no consistent extension"):
        consistent_extension(cycle)


# -------------------------------------------------------------------------------------------- operators
def test_insert_blocked_by_a_semi_directed_path():
    # y -> a <- b, a -> x: adding x -> y would close the cycle y -> a -> x -> y.
    y, a, b, x = range(4)
    g = np.zeros((4, 4), dtype=np.int64)
    g[y, a] = g[b, a] = g[a, x] = 1
    ops = insert_operators(g)
    assert (x, y, frozenset()) not in ops
    assert (y, x, frozenset()) in ops


def test_insert_needs_na_and_t_to_be_a_clique():
    # t1 - y - t2 (a chain), x isolated: T = {t1, t2} would make the new v-structure t1 -> y <- t2 explicit,
    # which no member of the class + one edge gives.
    t1, y, t2, x = range(4)
    g = np.zeros((4, 4), dtype=np.int64)
    for a, b in [(t1, y), (y, t2)]:
        g[a, b] = g[b, a] = 1
    ops = insert_operators(g)
    assert (x, y, frozenset({t1})) in ops and (x, y, frozenset({t2})) in ops
    assert (x, y, frozenset({t1, t2})) not in ops


def _diamond() -> np.ndarray:
    """x - y with a and b both adjacent to x and y, a and b not adjacent: a CPDAG with every edge undirected."""
    x, y, a, b = range(4)
    g = np.zeros((4, 4), dtype=np.int64)
    for u, v in [(x, y), (x, a), (x, b), (y, a), (y, b)]:
        g[u, v] = g[v, u] = 1
    return g


def test_delete_needs_na_minus_h_to_be_a_clique():
    # Delete(x, y, {}) would leave the chordless cycle x - a - y - b - x, which no DAG without new v-structures has.
    x, y, a, b = range(4)
    ops = delete_operators(_diamond())
    assert (x, y, frozenset()) not in ops
    assert {(x, y, frozenset({a})), (x, y, frozenset({b})), (x, y, frozenset({a, b}))} <= set(ops)


def _check_neighbourhoods(cpdag: np.ndarray) -> None:
    """Chickering (2002), Theorems 15 and 17: the valid Inserts (Deletes) of a CPDAG lead exactly to the classes
    of the member DAGs with one edge added (removed)."""
    members = cpdag_members(cpdag)
    assert members
    d = cpdag.shape[0]
    added, removed = set(), set()
    for dag in members:
        for i in range(d):
            for j in range(d):
                if i == j:
                    continue
                if dag[i, j]:
                    smaller = dag.copy()
                    smaller[i, j] = 0
                    removed.add(_key(dag_to_cpdag(smaller)))
                elif not dag[j, i]:
                    larger = dag.copy()
                    larger[i, j] = 1
                    if _is_acyclic(larger.astype(bool)):
                        added.add(_key(dag_to_cpdag(larger)))
    by_insert = {_key(pdag_to_cpdag(apply_insert(cpdag, x, y, t))) for x, y, t in insert_operators(cpdag)}
    by_delete = {_key(pdag_to_cpdag(apply_delete(cpdag, x, y, h))) for x, y, h in delete_operators(cpdag)}
    assert by_insert == added
    assert by_delete == removed


@pytest.mark.parametrize("seed", range(10))
def test_operators_reach_exactly_the_brute_force_neighbours(seed):
    _check_neighbourhoods(dag_to_cpdag(_dag(5, 0.5, seed)))


def test_operators_reach_exactly_the_brute_force_neighbours_of_hand_made_classes():
    chain = np.zeros((4, 4), dtype=np.int64)
    for u, v in [(0, 1), (1, 2)]:
        chain[u, v] = chain[v, u] = 1
    collider = np.zeros((4, 4), dtype=np.int64)
    collider[0, 2] = collider[1, 2] = collider[2, 3] = 1
    for cpdag in (_diamond(), chain, collider, np.zeros((4, 4), dtype=np.int64)):
        _check_neighbourhoods(cpdag)


def test_operator_score_changes_are_the_class_score_changes():
    data, true = scm_data(6, 500, edge_prob=0.5, mechanism="linear", seed=5)
    scorer = GaussianBIC(data)
    cpdag = dag_to_cpdag(true)
    before = scorer.dag_score(consistent_extension(cpdag))
    from latentscm.discovery.ges import _best_delete, _best_insert, _Structure

    s = _Structure(cpdag)
    gains = []
    for x, y, t in insert_operators(cpdag):
        parents = set(np.flatnonzero(cpdag[:, y] & ~cpdag[y]).tolist()) | set(t)
        parents |= {v for v in np.flatnonzero(cpdag[:, y] & cpdag[y]) if cpdag[x, v] or cpdag[v, x]}
        delta = scorer.local(y, parents | {x}) - scorer.local(y, parents)
        after = scorer.dag_score(consistent_extension(apply_insert(cpdag, x, y, t)))
        assert delta == pytest.approx(after - before, abs=1e-6)
        gains.append(after - before)
    assert _best_insert(s, scorer, None)[0] == pytest.approx(max(0.0, *gains), abs=1e-6)
    losses = [scorer.dag_score(consistent_extension(apply_delete(cpdag, x, y, h))) - before
              for x, y, h in delete_operators(cpdag)]
    assert gains and losses
    assert _best_delete(s, scorer)[0] == pytest.approx(max(0.0, *losses), abs=1e-6)


# ------------------------------------------------------------------------------------------------ search
def _population_data(d: int, seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (n, d) whose sample covariance (divisor n) is exactly the covariance of a linear-Gaussian SEM on a
    seeded random DAG (weights uniform in +-[0.5, 1.5], unit noise), and that DAG's adjacency (d, d)."""
    rng = np.random.default_rng(seed)
    dag = _dag(d, 0.4, seed)
    weights = dag * rng.choice([-1.0, 1.0], size=(d, d)) * rng.uniform(0.5, 1.5, size=(d, d))
    mixing = np.linalg.inv(np.eye(d) - weights)  # x = weights^T x + e  =>  x^T = e^T mixing
    covariance = mixing.T @ mixing
    z = rng.normal(size=(n, d))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False, ddof=0))).T  # covariance exactly I
    return z @ np.linalg.cholesky(covariance).T, dag


@pytest.mark.parametrize("d", [5, 6, 7, 8])
def test_large_sample_limit_returns_the_true_cpdag(d):
    """At the population covariance, with the BIC of n' = 10^8 rows, GES finds the true class (Chickering 2002,
    Theorem 4). 20000 rows with covariance exactly S and penalty_discount = 20000 log n' / (n' log 20000) give the
    BIC of n' rows with covariance S divided by n' / 20000, so the same search. (With n' = 10^6, d = 6 and seed
    6000 stops at a local optimum below the truth: greedy search is exact only in the limit.)"""
    discount = 20_000 * np.log(1e8) / (1e8 * np.log(20_000))
    for seed in range(10):
        data, dag = _population_data(d, 1000 * d + seed, 20_000)
        found = ges(data, penalty_discount=discount)
        assert np.array_equal(found.adjacency, dag_to_cpdag(dag)), (d, seed)


def test_sampled_n20000_mostly_returns_the_true_cpdag():
    """On sampled data (n = 20000, random_scm weights) the greedy search can stop at a local optimum below the
    truth when some dependence is weak (19 of these 24 are exact; every miss is such a local optimum)."""
    exact, misses = 0, []
    for d in (5, 6, 7, 8):
        for seed in range(6):
            data, true = scm_data(d, 20_000, edge_prob=0.4, mechanism="linear", seed=seed)
            found = ges(data)
            if np.array_equal(found.adjacency, dag_to_cpdag(true)):
                exact += 1
            else:
                misses.append((d, seed))
    assert exact >= 18, misses


def test_equals_causal_learn_ges_on_seeded_data():
    cl = pytest.importorskip("causallearn.search.ScoreBased.GES")
    agree = 0
    for seed in range(12):
        d = 7 if seed < 9 else 12
        data, _ = scm_data(d, 300, edge_prob=0.4 if d == 7 else 0.25, mechanism="linear", seed=100 + seed)
        discount = 1.0 if seed % 3 else 2.0
        ours = ges(data, penalty_discount=discount)
        record = cl.ges(data, score_func="local_score_BIC", lambda_value=discount / 2)
        same = np.array_equal(ours.adjacency, _cl_adjacency(record["G"].graph))
        agree += same
        if same:
            assert ours.info["score_value"] == pytest.approx(record["score"], rel=1e-9)
    assert agree == 12


def _improving(scorer: GaussianBIC, pdags: list[np.ndarray], score: float) -> list[float]:
    return [gain for gain in (scorer.dag_score(consistent_extension(p)) - score for p in pdags) if gain > 1e-9]


def test_each_phase_ends_at_a_local_optimum_of_its_operators():
    """No valid Insert improves the end of the forward phase, no valid Delete the end of the backward phase
    (checked by rescoring every neighbour). An Insert may improve the final result: seed 58 is such a case."""
    for seed in (40, 41, 42, 58):
        data, _ = scm_data(6, 150, edge_prob=0.5, mechanism="linear", seed=seed)
        scorer = GaussianBIC(data)
        forward, gained, _ = greedy_phase(np.zeros((6, 6), dtype=np.int64), scorer, "insert")
        score = scorer.dag_score(consistent_extension(forward))
        assert score == pytest.approx(sum(scorer.local(v, []) for v in range(6)) + gained, rel=1e-10)
        assert not _improving(scorer, [apply_insert(forward, x, y, t) for x, y, t in insert_operators(forward)], score)
        final, _, _ = greedy_phase(forward, scorer, "delete")
        found = ges(data)
        assert np.array_equal(final, found.adjacency)
        score = scorer.dag_score(consistent_extension(final))
        assert score == pytest.approx(found.info["score_value"], rel=1e-10)
        assert not _improving(scorer, [apply_delete(final, x, y, h) for x, y, h in delete_operators(final)], score)
        inserts = _improving(scorer, [apply_insert(final, x, y, t) for x, y, t in insert_operators(final)], score)
        assert bool(inserts) == (seed == 58)


def test_result_mostly_scores_at_least_the_truth():
    """On finite data the greedy result scores at least the true DAG in most data sets (not always: the search
    can stop at a local optimum below it, as causal-learn's GES does on the same data). 20 of these 30 do; 73 of
    seeds 0-99."""
    at_least = 0
    for seed in range(30):
        data, true = scm_data(6, 2000, edge_prob=0.5, mechanism="linear", seed=seed)
        scorer = GaussianBIC(data)
        at_least += ges(data).info["score_value"] >= scorer.dag_score(true) - 1e-9
    assert at_least >= 18


def test_result_type_and_downstream_use():
    data, true = scm_data(5, 2000, edge_prob=0.5, mechanism="linear", seed=7)
    names = [f"v{k}" for k in range(5)]
    found = ges(data, node_names=names)
    assert isinstance(found, DiscoveredGraph) and found.nodes == tuple(names)
    assert found.info["method"] == "ges" and found.info["n_inserts"] >= 1
    truth = CausalGraph([(names[i], names[j]) for i, j in zip(*np.nonzero(true))], nodes=names)
    scores = compare_graphs(found, truth)
    assert scores["skeleton.f1"] == 1.0
    assert DiscoveredGraph.from_dict(found.to_dict()).adjacency.tolist() == found.adjacency.tolist()
    mapping = ges({name: data[:, k] for k, name in enumerate(names)})
    assert mapping.nodes == tuple(names) and np.array_equal(mapping.adjacency, found.adjacency)


def test_max_parents_limits_the_heads_and_penalty_sparsifies():
    data, _ = scm_data(7, 1000, edge_prob=0.6, mechanism="linear", seed=11)
    free = ges(data)
    limited = ges(data, max_parents=1)
    assert np.asarray(consistent_extension(limited.adjacency)).sum(axis=0).max() <= 1
    assert limited.skeleton.sum() < free.skeleton.sum()
    sparse = ges(data, penalty_discount=50.0)
    assert sparse.skeleton.sum() <= free.skeleton.sum()


# ------------------------------------------------------------------------------------------------ errors
def test_bad_input_is_refused_with_clear_errors():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(50, 3))
    bad = data.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValueError, match="'data'.*NaN"):
        ges(bad)
    bad[4, 1] = np.inf
    with pytest.raises(ValueError, match="'data'.*infinite"):
        ges(bad)
    with pytest.raises(ValueError, match="6 rows for 6 columns"):
        ges(rng.normal(size=(6, 6)))
    assert ges(rng.normal(size=(6, 6)), max_parents=2).nodes[0] == "X0"  # fewer parents, fewer rows needed
    constant = data.copy()
    constant[:, 2] = 3.0
    with pytest.raises(ValueError, match=r"constant columns \['X2'\]"):
        ges(constant)
    for value in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="'penalty_discount' parameter of ges"):
            ges(data, penalty_discount=value)
    with pytest.raises(TypeError, match="'penalty_discount' parameter of ges"):
        ges(data, penalty_discount="1")
    with pytest.raises(ValueError, match="'score' parameter of ges"):
        ges(data, score="k2")
    with pytest.raises((TypeError, ValueError), match="'max_parents' parameter of ges"):
        ges(data, max_parents=-1)
    with pytest.raises(TypeError, match="'max_parents' parameter of ges"):
        ges(data, max_parents=1.5)
