"""BOSS (Andrews et al. 2023): grow-shrink, better mutation, the BES phase, and the result against the truth."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from latentscm.discovery.boss import _better_mutation, _order_score, boss, grow_shrink
from latentscm.discovery.ges import consistent_extension, ges
from latentscm.discovery.scores import GaussianBIC
from latentscm.metrics.graphs import dag_to_cpdag, shd
from latentscm.scm import random_scm


def _data(d: int, degree: float, seed: int, n: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    scm = random_scm(d, edge_prob=min(1.0, degree / (d - 1)), mechanism="linear", seed=seed)
    sample = scm.sample(n, seed=seed + 1000)
    return np.stack([sample[name] for name in scm.graph.nodes], axis=1), np.asarray(scm.graph.adjacency)


def test_grow_shrink_finds_the_parents_among_the_predecessors() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 5))
    x[:, 4] += 0.8 * x[:, 0] - 0.7 * x[:, 2]
    scorer = GaussianBIC(x)
    score, parents = grow_shrink(scorer, 4, 0b01111, {})
    assert parents == 0b00101 and score == pytest.approx(scorer.local_mask(4, 0b00101))
    assert grow_shrink(scorer, 4, 0b00010, {})[1] == 0  # only x1 before x4: no parent pays


def test_better_mutation_moves_to_the_best_position_by_brute_force() -> None:
    data, _ = _data(6, 2.5, 3)
    scorer, cache = GaussianBIC(data), {}
    order = [5, 4, 3, 2, 1, 0]
    for v in range(6):
        rest = [w for w in order if w != v]
        scores = [_order_score(rest[:j] + [v] + rest[j:], scorer, cache) for j in range(6)]
        before = _order_score(order, scorer, cache)
        moved = _better_mutation(v, order, scorer, cache)
        assert _order_score(order, scorer, cache) == pytest.approx(max(max(scores), before))
        assert moved == (max(scores) > before + 1e-9)


def test_boss_order_is_a_local_optimum_and_the_score_is_its_dag() -> None:
    data, _ = _data(8, 3.0, 1)
    found = boss(data, bes=False, seed=2)
    scorer = GaussianBIC(data)
    order = [int(name[1:]) for name in found.info["order"]]
    best = _order_score(order, scorer, {})
    assert found.info["score_value"] == pytest.approx(best)
    for v in range(8):  # no single move improves
        rest = [w for w in order if w != v]
        assert all(_order_score(rest[:j] + [v] + rest[j:], scorer, {}) <= best + 1e-6 for j in range(8))
    assert scorer.dag_score(consistent_extension(np.asarray(found.adjacency))) == pytest.approx(best)


def test_boss_beats_ges_on_dense_graphs() -> None:
    """Dense ER graphs (degree 4, d = 10, n = 1000, seeds 0-2): GES stops below the true DAG's BIC, BOSS does not,
    and its CPDAGs are far closer to the truth."""
    for seed in range(3):
        data, dag = _data(10, 4.0, seed)
        truth = GaussianBIC(data).dag_score(dag)
        found, greedy = boss(data, seed=seed), ges(data)
        assert greedy.info["score_value"] < truth - 1e-6 <= found.info["score_value"]
        true_cpdag = dag_to_cpdag(dag)
        assert shd(true_cpdag, np.asarray(found.adjacency)) < shd(true_cpdag, np.asarray(greedy.adjacency))


def test_boss_recovers_a_sparse_graph_from_any_start() -> None:
    data, dag = _data(6, 1.5, 2, n=3000)
    for seed in range(3):
        assert shd(dag_to_cpdag(dag), np.asarray(boss(data, seed=seed, n_starts=2).adjacency)) == 0


def test_exhaustive_order_search_agrees_on_a_small_problem() -> None:
    """With d = 5 every order can be scored: BOSS reaches the best order score (several starts)."""
    data, _ = _data(5, 2.0, 4)
    scorer, cache = GaussianBIC(data), {}
    best = max(_order_score(list(p), scorer, cache) for p in itertools.permutations(range(5)))
    assert boss(data, n_starts=3, seed=0).info["score_value"] == pytest.approx(best)


def test_deterministic_and_bad_input() -> None:
    data, _ = _data(6, 2.0, 0)
    first, again = boss(data, seed=7), boss(data, seed=7)
    np.testing.assert_array_equal(first.adjacency, again.adjacency)
    assert first.info["order"] == again.info["order"]
    with pytest.raises(TypeError, match="'bes'"):
        boss(data, bes=1)
    with pytest.raises(ValueError, match="n_starts"):
        boss(data, n_starts=0)
    with pytest.raises(ValueError, match="'score'"):
        boss(data, score="k2")


def test_cli_and_run_codes_method_boss(tmp_path, collider_table) -> None:
    import json

    from typer.testing import CliRunner

    from latentscm.cli import app
    from latentscm.discovery.codes import discover_from_codes

    data, path = collider_table
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(path), "--method", "boss", "--param", "n_starts=2",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert sorted(map(tuple, graph["directed"])) == [("a", "c"), ("b", "c")]
    assert graph["info"]["method"] == "boss" and graph["info"]["n_starts"] == 2
    found = discover_from_codes(data, ["a", "b", "c"], method="boss", seed=3)
    assert sorted(found.directed_edges) == [("a", "c"), ("b", "c")]
