"""PC-stable on many variables: the indexed Fisher-z path, planning, max_depth and the time budget."""

from __future__ import annotations

import time

import numpy as np
import pytest

from latentscm.discovery import FisherZ, pc, skeleton_scores
from latentscm.discovery.pc import _level_plan, pc_skeleton


def _linear_sparse(d: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = np.triu(rng.random((d, d)) < 1.5 / d, 1) * rng.uniform(0.3, 0.8, (d, d)) * rng.choice([-1, 1], (d, d))
    data = np.zeros((n, d))
    for j in range(d):
        data[:, j] = data @ weights[:, j] + rng.normal(size=n)
    return data, (weights != 0).astype(int)


class _GenericFisherZ(FisherZ):
    """Overriding ``_compute`` turns the indexed path off: PC goes through query objects."""

    def _compute(self, state, queries):
        return super()._compute(state, queries)


def test_indexed_path_equals_query_path():
    data, _ = _linear_sparse(25, 800, seed=1)
    fast = pc(data, ci_test=FisherZ())
    slow = pc(data, ci_test=_GenericFisherZ())
    assert FisherZ().bind(data).has_indexed and not _GenericFisherZ().bind(data).has_indexed
    assert np.array_equal(fast.adjacency, slow.adjacency)
    assert dict(fast.separating_sets) == dict(slow.separating_sets)
    assert fast.info["n_tests"] == slow.info["n_tests"]


def test_matches_causal_learn_on_forty_variables():
    from .conftest import causallearn_cpdag

    data, _ = _linear_sparse(40, 2000, seed=2)
    ours = pc(data, ci_test="fisherz")
    reference = causallearn_cpdag(data, 0.05, "fisherz")
    assert np.array_equal(ours.skeleton, ((reference + reference.T) > 0).astype(int))


def test_level_plan_forms_only_possible_sets():
    # Star: 0 is adjacent to 1..4, and 1 - 2 also adjacent. At depth 2 only edges with an endpoint
    # having >= 2 other neighbours are tested, and each set appears once per edge.
    adjacency = np.zeros((5, 5), dtype=np.int64)
    for leaf in range(1, 5):
        adjacency[0, leaf] = adjacency[leaf, 0] = 1
    adjacency[1, 2] = adjacency[2, 1] = 1
    plan = _level_plan(adjacency, 2)
    assert {(x, y) for x, y, _ in plan} == {(0, 1), (0, 2), (0, 3), (0, 4)}
    assert sorted(z for x, y, z in plan if (x, y) == (0, 3)) == [(1, 2), (1, 4), (2, 4)]
    assert len(plan) == len(set(plan))
    assert _level_plan(adjacency, 4) == []


def test_many_variables_are_practical():
    data, truth = _linear_sparse(150, 20_000, seed=3)
    start = time.perf_counter()
    # alpha small: with ~11,000 pairs, alpha = 0.05 would keep hundreds of type-I-error edges.
    graph = pc(data, ci_test="fisherz", alpha=1e-4, max_depth=3)
    elapsed = time.perf_counter() - start
    assert skeleton_scores(graph, truth)["skeleton.f1"] > 0.9
    assert elapsed < 30.0, elapsed  # about 1 s on an idle core; generous for a shared machine


def test_time_budget_stops_with_a_clear_message():
    data, _ = _linear_sparse(60, 500, seed=4)
    full = pc_skeleton(FisherZ().bind(data), alpha=0.05)
    with pytest.warns(RuntimeWarning, match=r"PC stopped .*time budget.*extra edges"):
        graph = pc(data, ci_test="fisherz", time_budget=1e-9)
    assert "time budget" in graph.info["stopped"]
    # Stopping early only keeps edges: the result is a superset of the full skeleton.
    assert np.all(graph.skeleton >= full.adjacency)
    assert "stopped" not in pc(data, ci_test="fisherz", time_budget=600).info
    with pytest.raises(ValueError, match="time_budget"):
        pc(data, ci_test="fisherz", time_budget=0)


def test_max_depth_zero_runs_marginal_tests_only():
    data, _ = _linear_sparse(20, 500, seed=5)
    graph = pc(data, ci_test="fisherz", max_depth=0)
    assert graph.info["depth_reached"] == 0 and graph.info["n_tests"] == 20 * 19 // 2
