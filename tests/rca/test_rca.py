"""Root-cause analysis: trigger detectors, incremental graph, random walk, baselines, the CORAL-style pipeline."""

import numpy as np
import pytest

from latentscm.graph import UnknownNodeError
from latentscm.metrics.ranking import ranking_scores
from latentscm.rca import (
    CoralRCA,
    IncrementalGraph,
    SSACusumDetector,
    ZScoreDetector,
    baro_scores,
    detection_delay,
    false_alarms,
    mix_scores,
    nsigma_scores,
    random_scores,
    random_walk_with_restart,
    rank_by_score,
    walk_and_mix,
)
from latentscm.worlds.timeseries import make


def _var1(T, weights, seed, shift_at=None, shift=None):
    """x_t = x_{t-1} W + eps (W[i, j] for i -> j), optional mean shift added to the noise from shift_at on."""
    rng = np.random.default_rng(seed)
    d = weights.shape[0]
    x = np.zeros((T, d))
    for t in range(1, T):
        x[t] = x[t - 1] @ weights + rng.standard_normal(d)
        if shift_at is not None and t >= shift_at:
            x[t] += shift
    return x


CHAIN = np.array([[0.5, 0.6, 0.0, 0.0], [0.0, 0.5, 0.6, 0.0], [0.0, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.5]])


@pytest.mark.parametrize("detector", [SSACusumDetector(rank=4),
                                      ZScoreDetector(threshold=4.0, patience=3)])
def test_detectors_find_a_mean_shift_without_false_alarms(detector):
    x = _var1(500, CHAIN, seed=0, shift_at=300, shift=np.array([4.0, 0, 0, 0]))
    result = detector.fit(x[:200]).detect(x[200:])
    onset = 100
    assert false_alarms(result.alarms, onset) == 0
    assert detection_delay(result.alarms, onset) <= 10
    assert result.statistic.shape == result.decision.shape == (300,)


def test_detector_refits_on_the_new_state():
    x = _var1(700, CHAIN, seed=1, shift_at=300, shift=np.array([4.0, 0, 0, 0]))
    detector = ZScoreDetector(threshold=4.0, patience=3, reference=100)
    alarms = detector.fit(x[:200]).detect(x[200:]).alarms
    assert alarms.size == 1  # after refitting on the shifted state, the shift is the new normal
    frozen = ZScoreDetector(threshold=4.0, patience=3, refit=False).fit(x[:200]).detect(x[200:]).alarms
    assert frozen.size > 5


def test_detection_metrics_by_hand():
    assert detection_delay([3, 10, 12], onset=9) == 1.0
    assert detection_delay([3], onset=9) == float("inf")
    assert detection_delay([30], onset=9, horizon=5) == float("inf")
    assert false_alarms([3, 5, 10, 12], onset=9) == 2
    assert false_alarms([3, 5], onset=None) == 2
    with pytest.raises(ValueError, match="alarms"):
        false_alarms([-1], onset=3)


def test_detector_errors_are_named():
    with pytest.raises(ValueError, match="NaN"):
        ZScoreDetector().fit(np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="constant columns"):
        SSACusumDetector(window=2).fit(np.column_stack([np.arange(20.0), np.ones(20)]))
    with pytest.raises(ValueError, match="window"):
        SSACusumDetector(window=0)
    with pytest.raises(RuntimeError, match="not fitted"):
        ZScoreDetector().update(np.zeros(2))
    detector = ZScoreDetector().fit(np.random.default_rng(0).standard_normal((10, 2)))
    with pytest.raises(ValueError, match="2 values"):
        detector.update(np.zeros(3))


def test_incremental_graph_recovers_the_lagged_support():
    x = _var1(1000, CHAIN, seed=2)
    graph = IncrementalGraph(sparsity=0.02).fit(x)
    summary = graph.summary()
    off = ~np.eye(4, dtype=bool)
    true_edges = (CHAIN > 0) & off
    assert summary[true_edges].min() > 3 * summary[~true_edges & off].max()


def test_incremental_update_matches_a_full_refit_of_the_state():
    x = _var1(600, CHAIN, seed=3)
    changed = CHAIN.copy()
    changed[3, 0] = 0.6  # a new edge x3 -> x0 in the new state
    y = _var1(300, changed, seed=4)
    refit = IncrementalGraph().fit(x).new_state().partial_fit(y, n_iter=5000, warm=False)
    # chunked updates accumulate the same sufficient statistics; enough warm iterations reach the
    # refit's optimum (the problem is convex)
    warm = IncrementalGraph().fit(x).new_state()
    for start in range(0, 300, 100):
        warm.partial_fit(y[start:start + 100], n_iter=5000)
    np.testing.assert_allclose(warm.weights_, refit.weights_, atol=1e-5)
    np.testing.assert_allclose(warm.invariant_, refit.invariant_)
    change = np.abs(refit.window("change")[1])
    assert change[3, 0] == change.max() > 0.2


def test_incremental_graph_errors():
    with pytest.raises(ValueError, match="lag"):
        IncrementalGraph(lag=5).fit(np.random.default_rng(0).standard_normal((6, 2)))
    with pytest.raises(ValueError, match="constant columns"):
        IncrementalGraph().fit(np.column_stack([np.arange(30.0), np.zeros(30)]))
    with pytest.raises(ValueError, match="NaN"):
        IncrementalGraph().fit(np.full((30, 2), np.nan))
    graph = IncrementalGraph().fit(np.random.default_rng(0).standard_normal((30, 2)))
    with pytest.raises(ValueError, match="2 columns"):
        graph.partial_fit(np.zeros((5, 3)))


def test_random_walk_stops_at_the_most_upstream_anomaly():
    chain = np.zeros((4, 4))
    chain[0, 1] = chain[1, 2] = chain[2, 3] = 1.0  # 0 -> 1 -> 2 -> 3; 1 is the root cause
    anomaly = np.array([0.0, 1.0, 0.8, 0.6])
    visits = random_walk_with_restart(chain, anomaly)
    assert visits.sum() == pytest.approx(1.0)
    assert int(np.argmax(visits)) == 1
    with pytest.raises(ValueError, match="non-negative"):
        random_walk_with_restart(-chain)
    with pytest.raises(ValueError, match="restart"):
        random_walk_with_restart(chain, restart=0.0)
    for tol in (-1.0, 0.0, "x"):
        with pytest.raises((ValueError, TypeError), match="'tol' parameter of random_walk_with_restart"):
            random_walk_with_restart(chain, tol=tol)


def test_graph_free_scores_by_hand():
    normal = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]])
    after = np.array([[3.0, 13.0]])
    std = normal.std(0)
    np.testing.assert_allclose(nsigma_scores(normal, after), [0.0 / std[0], 9.0 / std[1]])
    # median 3 / 4, IQR 3 / 3
    np.testing.assert_allclose(baro_scores(normal, after), [0.0, 3.0])
    with pytest.raises(ValueError, match="constant columns"):
        nsigma_scores(np.ones((3, 2)), after)
    np.testing.assert_array_equal(random_scores(5, seed=1), random_scores(5, seed=1))
    assert sorted(random_scores(5, seed=1)) == [0, 1, 2, 3, 4]


def test_mixing_and_ranking():
    mixed = mix_scores([[0.0, 1.0, 2.0], [10.0, 0.0, 0.0]], [1.0, 1.0])
    np.testing.assert_allclose(mixed, [0.5, 0.25, 0.5])
    assert rank_by_score(mixed, ["a", "b", "c"]) == ("a", "c", "b")
    with pytest.raises(ValueError, match="one weight per score"):
        mix_scores([[0.0, 1.0]], [1.0, 2.0])
    scores, walk = walk_and_mix(np.zeros((3, 3)), [0.0, 1.0, 0.5], [0.0, 1.0, 0.5], mix=0.5)
    assert int(np.argmax(scores)) == 1 and walk.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="'adjacency' argument of walk_and_mix must be square"):
        walk_and_mix(np.zeros((2, 3)), [0.0, 1.0], [0.0, 1.0])
    # score vectors as the rows of one array are mixed like a list of them
    np.testing.assert_allclose(mix_scores(np.array([[0.0, 1.0, 2.0], [10.0, 0.0, 0.0]]), [1.0, 1.0]), mixed)
    with pytest.raises(ValueError, match="one weight per score"):
        mix_scores(np.empty((0, 3)), [])


@pytest.fixture(scope="module")
def faults():
    world = make("microservice", n_services=3, seed=0, burn_in=20)
    return world, [world.inject(220, seed=k, onset=150 + 5 * k, magnitude=8.0) for k in range(2)]


def test_coral_ranks_injected_root_causes_first(faults):
    world, trajectories = faults
    rankings, truth = [], []
    for trajectory in trajectories:
        reference = 100
        rca = CoralRCA(chunk=10, max_window=40).fit(trajectory.values[:reference], var_names=world.var_names)
        result = rca.run(trajectory.values[reference:])
        assert result.trigger is not None and result.trigger >= trajectory.fault_onset - reference
        assert result.update_seconds and len(result.history) == len(result.update_seconds)
        rankings.append(result.ranking)
        truth.append(set(trajectory.root_causes))
        # run starts from the fitted normal state every time: the same stream gives the same analysis
        again = rca.run(trajectory.values[reference:])
        assert again.trigger == result.trigger and again.history == result.history
        np.testing.assert_array_equal(again.scores, result.scores)
    assert ranking_scores(rankings, truth)["rca.pr@3"] == 1.0


def test_coral_errors(faults):
    world, trajectories = faults
    values = trajectories[0].values
    with pytest.raises(RuntimeError, match="not fitted"):
        CoralRCA().run(values)
    rca = CoralRCA().fit(values[:100], var_names=world.var_names)
    broken = values[100:].copy()
    broken[5, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rca.run(broken)
    with pytest.raises(ValueError, match="individual"):
        CoralRCA(individual="pagerank")
    with pytest.raises(ValueError, match="var_names"):
        CoralRCA().fit(values[:100], var_names=["a"])
    with pytest.raises(UnknownNodeError, match="s7.cpu"):
        world.inject(100, seed=0, root_causes="s7.cpu")
