"""Adjustment in a CPDAG, checked against every DAG of the enumerated equivalence class."""

from __future__ import annotations

from itertools import combinations, product

import networkx as nx
import numpy as np
import pytest

from latentscm.discovery.ges import cpdag_from_dag
from latentscm.discovery.result import DiscoveredGraph
from latentscm.effects import (
    NoAdjustmentSetError,
    NotAmenableError,
    cpdag_adjustment_set,
    estimate_effect,
    is_adjustment_set,
    is_amenable,
    is_cpdag_adjustment_set,
    optimal_adjustment_set,
)
from latentscm.graph import CausalGraph
from latentscm.scm import SCM, LinearGaussian, random_dag


def _members(cpdag: np.ndarray, nodes) -> list[CausalGraph]:
    undirected = [(i, j) for i, j in zip(*np.nonzero(cpdag)) if i < j and cpdag[j, i]]
    out = []
    for flips in product([False, True], repeat=len(undirected)):
        dag = cpdag * (1 - cpdag.T)
        for (i, j), flip in zip(undirected, flips):
            dag[(j, i) if flip else (i, j)] = 1
        if nx.is_directed_acyclic_graph(nx.DiGraph(dag)) and np.array_equal(cpdag_from_dag(dag), cpdag):
            out.append(CausalGraph.from_adjacency(dag, list(nodes)))
    return out


def _member_effect(member: CausalGraph, cov: np.ndarray, x: str, y: str) -> float:
    """The effect of x on y that the member DAG implies for the covariance: OLS of y on x and pa(x)."""
    parents = list(member.parents(x))
    if y in parents:
        return 0.0
    rows = [member.index(v) for v in (x, *parents)]
    return float(np.linalg.solve(cov[np.ix_(rows, rows)], cov[rows, member.index(y)])[0])


def _classes(n_graphs: int):
    for seed in range(n_graphs):
        truth = random_dag(6, edge_prob=0.45, seed=seed)
        rng = np.random.default_rng(500 + seed)
        weights = truth.adjacency * rng.uniform(0.5, 1.5, (6, 6)) * rng.choice([-1.0, 1.0], (6, 6))
        total = np.linalg.inv(np.eye(6) - weights)
        cov = total.T @ np.diag(rng.uniform(0.5, 1.5, 6)) @ total
        cpdag = cpdag_from_dag(truth.adjacency.astype(np.int64))
        yield DiscoveredGraph(truth.nodes, cpdag), _members(cpdag, truth.nodes), cov


def test_amenable_exactly_when_every_member_implies_the_same_effect():
    counts = {True: 0, False: 0}
    for graph, members, cov in _classes(40):
        for x, y in product(graph.nodes, repeat=2):
            if x == y:
                continue
            effects = {round(_member_effect(m, cov, x, y), 9) for m in members}
            assert is_amenable(graph, x, y) == (len(effects) == 1), (graph.nodes, x, y, effects)
            counts[len(effects) == 1] += 1
    assert counts[True] > 300 and counts[False] > 150


def test_cpdag_criterion_is_validity_in_every_member():
    checked = valid = 0
    for graph, members, _ in _classes(25):
        for x, y in product(graph.nodes, repeat=2):
            if x == y or not is_amenable(graph, x, y):
                continue
            others = [v for v in graph.nodes if v not in (x, y)]
            pair_valid = 0
            for size in range(len(others) + 1):
                for z in combinations(others, size):
                    truth = all(is_adjustment_set(m, x, y, z) for m in members)
                    assert is_cpdag_adjustment_set(graph, x, y, z) == truth, (x, y, z)
                    checked += 1
                    pair_valid += truth
            valid += pair_valid
            for kind in ("optimal", "minimal"):
                if not pair_valid:  # e.g. the outcome is a parent of the treatment: nothing blocks that edge
                    with pytest.raises(NoAdjustmentSetError):
                        cpdag_adjustment_set(graph, x, y, kind)
                    continue
                chosen = cpdag_adjustment_set(graph, x, y, kind)
                assert all(is_adjustment_set(m, x, y, chosen) for m in members)
            if not pair_valid:
                continue
            if any(y in m.descendants(x) for m in members):
                assert {optimal_adjustment_set(m, x, y) for m in members} == {cpdag_adjustment_set(graph, x, y)}
    assert checked > 5000 and 0.05 * checked < valid < 0.95 * checked


def test_estimate_effect_takes_an_amenable_cpdag_and_refuses_the_rest():
    # Z -> T <- W is a v-structure; Meek's rules then compel T -> Y and Z -> Y; A - Z stays undirected.
    truth = CausalGraph.from_text("A -> Z; Z -> T; W -> T; T -> Y; Z -> Y")
    scm = SCM(truth, {"A": LinearGaussian(), "Z": LinearGaussian([1.0]), "W": LinearGaussian(),
                      "T": LinearGaussian({"Z": 0.8, "W": 0.6}), "Y": LinearGaussian({"T": 0.5, "Z": 1.0})})
    cpdag = DiscoveredGraph(truth.nodes, cpdag_from_dag(truth.adjacency.astype(np.int64)))
    assert cpdag.undirected_edges == [("A", "Z")]
    data = scm.sample(2000, seed=0)
    assert is_amenable(cpdag, "T", "Y")
    result = estimate_effect(data, cpdag, "T", "Y", method="regression")
    assert result.adjustment_set == ("Z",) and result.covers(0.5)
    assert estimate_effect(data, cpdag, "T", "Y", adjustment="minimal").adjustment_set == ("Z",)
    assert is_amenable(cpdag, "A", "Y") is False  # A - Z: DAGs with Z -> A give A no effect
    with pytest.raises(NotAmenableError, match="ida"):
        estimate_effect(data, cpdag, "A", "Y")
    with pytest.raises(ValueError, match="lacks the CPDAG's nodes"):
        estimate_effect({k: data[k] for k in ("Z", "T", "Y")}, cpdag, "T", "Y")
    with pytest.raises(ValueError, match="not a valid adjustment set .* every DAG"):
        estimate_effect(data, cpdag, "T", "Y", adjustment=["A"])


def test_refutation_runs_on_an_amenable_cpdag():
    from latentscm.effects import refute_effect

    truth = CausalGraph.from_text("A -> Z; Z -> T; W -> T; T -> Y; Z -> Y")
    scm = SCM(truth, {"A": LinearGaussian(), "Z": LinearGaussian([1.0]), "W": LinearGaussian(),
                      "T": LinearGaussian({"Z": 0.8, "W": 0.6}), "Y": LinearGaussian({"T": 0.5, "Z": 1.0})})
    cpdag = DiscoveredGraph(truth.nodes, cpdag_from_dag(truth.adjacency.astype(np.int64)))
    report = refute_effect(scm.sample(1000, seed=1), cpdag, "T", "Y", n_simulations=3, method="regression")
    assert report.original.adjustment_set == ("Z",) and report.passed


def test_graphs_oriented_by_background_knowledge_against_their_members():
    from latentscm.discovery.orientation import apply_meek_rules
    from latentscm.effects import possible_parent_sets

    checked = identified = 0
    for k, (graph, members, cov) in enumerate(_classes(30)):
        truth = members[k % len(members)]
        adjacency = np.asarray(graph.adjacency).copy()
        undirected = [(i, j) for i, j in zip(*np.nonzero(adjacency)) if i < j and adjacency[j, i]]
        for i, j in undirected[: (len(undirected) + 1) // 2]:  # orient about half as that member does
            if truth.adjacency[i, j]:
                adjacency[j, i] = 0
            else:
                adjacency[i, j] = 0
        mpdag = apply_meek_rules(adjacency, background=True)
        oriented = (mpdag != 0) & (mpdag.T == 0)
        kept = [m for m in members if np.all(m.adjacency[oriented])]
        shown = DiscoveredGraph(graph.nodes, mpdag)
        for x, y in product(graph.nodes, repeat=2):
            if x == y:
                continue
            same = len({round(_member_effect(m, cov, x, y), 9) for m in kept}) == 1
            assert is_amenable(shown, x, y) == same, (k, x, y)
            if same:
                identified += 1
                others = [v for v in graph.nodes if v not in (x, y)]
                for size in range(len(others) + 1):
                    for z in combinations(others, size):
                        valid = all(is_adjustment_set(m, x, y, z) for m in kept)
                        assert is_cpdag_adjustment_set(shown, x, y, z) == valid, (k, x, y, z)
                        checked += 1
        for x in graph.nodes:
            assert set(possible_parent_sets(shown, x)) == {tuple(m.parents(x)) for m in kept}, (k, x)
    assert checked > 5000 and identified > 400
