"""Temporal-graph metrics on hand-built window graphs whose answers are known."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from latentscm.discovery.timeseries import TemporalGraph
from latentscm.metrics.temporal_graph import (
    lag_tolerant_f1,
    normalized_shd,
    summary_auprc,
    summary_auroc,
    temporal_graph_scores,
    window_auprc,
    window_auroc,
)
from latentscm.worlds.timeseries import make


def chain_window():
    """x0 -> x1 at lag 1, x1 -> x2 at lag 2, x0 -> x2 at lag 0, self-lags on x0 and x1."""
    window = np.zeros((3, 3, 3), dtype=int)
    window[1, 0, 1] = window[2, 1, 2] = window[0, 0, 2] = 1
    window[1, 0, 0] = window[1, 1, 1] = 1
    return window


def test_perfect_scores_give_one_and_reversed_scores_give_zero():
    true = chain_window()
    scores = true + 0.5 * np.random.default_rng(0).uniform(size=true.shape) * (1 - true)
    assert window_auroc(true, scores) == 1.0 and summary_auroc(true, scores) == 1.0
    assert window_auprc(true, scores) == 1.0 and summary_auprc(true, scores) == 1.0
    assert window_auroc(true, -scores) == 0.0
    assert window_auroc(true, TemporalGraph(("a", "b", "c"), scores, None, "m", threshold=0.5)) == 1.0


def test_diagonal_is_excluded_by_default_and_reported_both_ways():
    true = chain_window()
    scores = np.zeros(true.shape)
    scores[1, 0, 1] = scores[2, 1, 2] = scores[0, 0, 2] = 1.0  # the cross links ranked first
    scores[1, 2, 2] = 0.9  # a false self-link ranked above the true self-links (score 0)
    by_hand = np.ones(true.shape, bool)
    by_hand[0][np.eye(3, dtype=bool)] = False
    with_diagonal = roc_auc_score(true[by_hand], scores[by_hand])
    assert with_diagonal < 1.0
    assert window_auroc(true, scores) == 1.0  # self-links out: perfect
    assert window_auroc(true, scores, diagonal=True) == pytest.approx(with_diagonal)
    both = temporal_graph_scores(true, scores)
    assert both["window.auroc"] == 1.0 and both["window.auroc_with_diagonal"] == pytest.approx(with_diagonal)
    assert set(both) == {f"{level}.{name}{suffix}" for level in ("summary", "window")
                         for name in ("auroc", "auprc") for suffix in ("", "_with_diagonal")}


def test_summary_scores_take_the_largest_lag_and_lag_ranges_are_padded():
    true = chain_window()
    scores = np.zeros((2, 3, 3))  # a method that scored only lags 0..1
    scores[1, 0, 1] = scores[0, 0, 2] = 1.0
    scores[1, 1, 2] = 0.6  # right pair, wrong lag (true lag 2): counts at summary level only
    scores[1, 2, 0] = 0.5
    assert summary_auroc(true, scores) == 1.0
    assert window_auroc(true, scores) < 1.0  # the lag-2 link was never scored: ranked last


def test_a_world_is_accepted_as_truth():
    world = make("var", d=4, lag_max=2, seed=0)
    true = world.graph("window")
    assert window_auroc(world, true.astype(float)) == 1.0
    assert summary_auroc(world, true.astype(float)) == 1.0


def test_lag_tolerant_f1():
    true = chain_window()
    found = np.zeros_like(true)
    found[2, 0, 1] = 1  # true lag 1, found at lag 2
    found[2, 1, 2] = 1  # exact
    exact = lag_tolerant_f1(true, found)
    assert exact["window.precision"] == 0.5 and exact["window.recall"] == pytest.approx(1 / 3)
    tolerant = lag_tolerant_f1(true, found, lag_tolerance=1)
    # x0 -> x2 at lag 0 is not found at lag 0 or 1: recall 2/3
    assert tolerant["window.precision"] == 1.0 and tolerant["window.recall"] == pytest.approx(2 / 3)
    assert tolerant["window.f1"] == pytest.approx(0.8)
    assert lag_tolerant_f1(true, true)["window.f1"] == 1.0
    assert lag_tolerant_f1(true, true * 0)["window.f1"] == 0.0


def test_normalized_shd():
    true = chain_window()
    assert normalized_shd(true, true) == 0.0
    found = true.copy()
    found[0, 2, 0] = 1  # x0 - x2 undirected instead of x0 -> x2: one lag-0 pair differs
    found[1, 2, 1] = 1  # one extra lagged link
    # entries: lagged 2 lags x (9 - 3 diagonal) = 12, lag-0 pairs 3
    assert normalized_shd(true, found) == pytest.approx(2 / 15)
    # summary: x2 -> x0 (lag 0) and x2 -> x1 are new ordered pairs among 6
    assert normalized_shd(true, found, kind="summary") == pytest.approx(2 / 6)
    assert normalized_shd(true, 1 - np.eye(3, dtype=int), kind="summary") == pytest.approx(3 / 6)


def test_bad_input_is_named():
    true = chain_window()
    with pytest.raises(ValueError, match="both links and non-links"):
        window_auroc(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="different variables"):
        window_auroc(true, np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="'true' window graph .* only 0 and 1"):
        window_auroc(true * 2, np.zeros(true.shape))
    with pytest.raises(ValueError, match="'scores' argument .* NaN"):
        window_auroc(true, np.full(true.shape, np.nan))
    with pytest.raises(ValueError, match="'kind' parameter"):
        normalized_shd(true, true, kind="both")
    summary = (true.sum(axis=0) > 0).astype(int)
    with pytest.raises(ValueError, match="'found' summary graph of normalized_shd .* values \\[0.0, 2.0\\]"):
        normalized_shd(summary, summary * 2, kind="summary")
    with pytest.raises(ValueError, match="'lag_tolerance' parameter"):
        lag_tolerant_f1(true, true, lag_tolerance=-1)
