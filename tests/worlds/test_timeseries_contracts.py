"""Session-25 review of the time-series worlds: the recorded window graph is the mechanism's exact
dependency structure (perturbation with a fixed state), perfect estimates score perfectly, and bad
input is refused naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.interventions import Do, Scale, Shift
from latentscm.metrics import temporal_graph as tg
from latentscm.worlds import timeseries as ts
from latentscm.worlds.timeseries import TimeIntervention, Trajectory

WORLDS = [
    ("var", {"d": 4, "lag_max": 3, "edge_prob": 0.4, "self_lags": False, "seed": 3}),
    ("lagged_scm", {"d": 5, "lag_max": 2, "edge_prob": 0.5, "contemporaneous_fraction": 0.7, "seed": 1}),
    ("lagged_scm", {"d": 4, "mechanism": "quadratic", "noise": "heteroscedastic", "seed": 2}),
    ("regime_switching", {"d": 4, "lag_max": 2, "n_regimes": 3, "persistence": 0.7, "seed": 5}),
    ("drift", {"d": 4, "lag_max": 2, "period": 30.0, "changing_fraction": 1.0, "seed": 6}),
    ("lorenz96", {"d": 5}),
    ("microservice", {"n_services": 3, "max_callers": 2, "seed": 7}),
    ("factor_sequences", {"n_oscillation": 2, "n_trend": 1, "seed": 8}),
]


def _moved_inputs(world, trajectory, t: int, j: int) -> np.ndarray:
    """Bool (L+1, d): which inputs ``x_{i,t-tau}`` change the location or scale of ``x_{j,t}`` when moved."""
    L, d = world.lag_max, world.n_vars
    history = np.concatenate([trajectory.initial, trajectory.values])
    past, current = history[t: t + L], history[t + L]
    base = world._mechanism(t, np.array([j]), past, current, trajectory.context)
    moved = np.zeros((L + 1, d), dtype=bool)
    for tau in range(L + 1):
        for i in range(d):
            if tau == 0 and i == j:
                continue
            for delta in (0.37, -1.9):
                p, c = past.copy(), current.copy()
                (c if tau == 0 else p[-tau])[i] += delta
                out = world._mechanism(t, np.array([j]), p, c, trajectory.context)
                moved[tau, i] |= not (np.array_equal(out[0], base[0]) and np.array_equal(out[1], base[1]))
    return moved


@pytest.mark.parametrize("name, options", WORLDS, ids=[f"{n}-{k}" for k, (n, _) in enumerate(WORLDS)])
def test_the_window_graph_is_the_mechanisms_dependency_structure(name, options):
    world = ts.make(name, **options)
    trajectory = world.sample(30, seed=0)
    seen = np.zeros(world.graph("window").shape, dtype=bool)
    claimed = np.zeros_like(seen)
    for t in (0, 7, 19, 29):
        if name == "regime_switching":
            window = world.graph("window", regime=int(trajectory.regime[t]))
        else:
            window = world.graph("window")
        claimed |= window.astype(bool)
        for j in range(world.n_vars):
            moved = _moved_inputs(world, trajectory, t, j)
            # a claimed-absent input never moves the mechanism
            assert not np.any(moved & (window[:, :, j] == 0)), (t, j, np.argwhere(moved & (window[:, :, j] == 0)))
            seen[:, :, j] |= moved
    assert np.array_equal(seen, claimed)  # and every claimed input (in the regimes visited) does


@pytest.mark.parametrize("name, options", WORLDS, ids=[f"{n}-{k}" for k, (n, _) in enumerate(WORLDS)])
def test_a_perfect_estimate_scores_perfectly(name, options):
    world = ts.make(name, **options)
    window = world.graph("window")
    extra_lags = np.concatenate([window, np.zeros((2, *window.shape[1:]), np.int64)])
    for scores in (window.astype(float), extra_lags * 5.0 - 2.0):
        try:
            out = tg.temporal_graph_scores(world, scores)
        except ValueError as error:  # only when the compared entries are all links or no links
            assert "needs both links and non-links" in str(error)
            out = {k: tg.window_auroc(world, scores, diagonal=True) for k in ("window.auroc_with_diagonal",)}
        assert all(value == 1.0 for value in out.values()), out
    for tolerance in (0, 1):
        assert tg.lag_tolerant_f1(world, window, lag_tolerance=tolerance, diagonal=True)["window.f1"] == 1.0
    assert tg.normalized_shd(world, window, diagonal=True) == 0.0
    assert tg.normalized_shd(world, window, kind="summary", diagonal=True) == 0.0


def test_no_op_interventions_reproduce_the_trajectory_bit_for_bit():
    world = ts.make("lagged_scm", d=4, contemporaneous_fraction=0.8, edge_prob=0.5, seed=4)
    trajectory = world.sample(40, seed=1)
    for t0, j in ((0, 1), (17, 3), (39, 0)):
        name = world.var_names[j]
        for action in (Do(float(trajectory.values[t0, j])), Shift(0.0), Scale(1.0)):
            same = world.counterfactual(trajectory, [TimeIntervention(name, action, start=t0, stop=t0 + 1)])
            np.testing.assert_array_equal(same.values, trajectory.values)


def test_interventions_that_are_not_a_collection_are_named():
    world = ts.make("var", d=3, seed=0)
    with pytest.raises(TypeError, match="'interventions' argument"):
        world.sample(5, seed=0, interventions=3)


def test_replace_must_be_a_bool():
    world = ts.make("var", d=3, seed=0)
    trajectory = world.sample(5, seed=0)
    with pytest.raises(TypeError, match="'replace' argument"):
        world.counterfactual(trajectory, {"x0": 1.0}, replace="no")
    world.counterfactual(trajectory, {"x0": 1.0}, replace=np.bool_(False))


@pytest.mark.parametrize("name", ["var", "lagged_scm", "lorenz96", "regime_switching", "drift"])
def test_names_are_checked_and_may_be_an_array(name):
    options = {"d": 4}
    with pytest.raises(TypeError, match="'names' argument.*one string"):
        ts.make(name, **options, names="abcd")
    with pytest.raises(ValueError, match="'names' argument.*non-empty strings"):
        ts.make(name, **options, names=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="0 names were given"):  # an empty list is not "the default names"
        ts.make(name, **options, names=[])
    world = ts.make(name, **options, names=np.array(["a", "b", "c", "d"]))
    assert world.var_names == ("a", "b", "c", "d") and all(type(n) is str for n in world.var_names)
    world.sample(3, seed=0, interventions={"a": 1.0})


def test_var_self_lags_must_be_a_bool():
    with pytest.raises(TypeError, match="'self_lags' parameter"):
        ts.make("var", d=3, self_lags="no")


def test_a_trajectory_with_non_finite_noise_is_refused_by_name():
    world = ts.make("var", d=3, seed=0)
    trajectory = world.sample(10, seed=0)
    noise = np.array(trajectory.noise)
    noise[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"'noise' of a Trajectory must be finite.*\(3, 1\)"):
        Trajectory(trajectory.values, noise, trajectory.initial, trajectory.var_names)
