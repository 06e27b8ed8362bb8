"""Oracle checks shared by every time-series world, and world-specific checks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from latentscm.graph import UnknownNodeError
from latentscm.interventions import Do, Scale, Shift
from latentscm.worlds import timeseries as ts
from latentscm.worlds.timeseries import TimeIntervention
from latentscm.worlds.timeseries.var import VAR, companion_spectral_radius

SMALL = {
    "var": {"d": 4, "lag_max": 2, "edge_prob": 0.4, "seed": 1},
    "lorenz96": {"d": 6},
    "lagged_scm": {"d": 5, "contemporaneous_fraction": 0.6, "edge_prob": 0.4, "seed": 2},
    "regime_switching": {"d": 4, "n_regimes": 3, "persistence": 0.9, "seed": 3},
    "drift": {"d": 4, "seed": 4, "period": 50.0},
    "microservice": {"n_services": 4, "seed": 5},
    "factor_sequences": {"n_oscillation": 2, "n_trend": 2, "seed": 6},
}
T = 120


@pytest.fixture(params=sorted(SMALL))
def world(request):
    return ts.make(request.param, **SMALL[request.param])


def test_registry_lists_every_world():
    assert sorted(ts.names()) == sorted(SMALL)
    with pytest.raises(UnknownNodeError, match="time-series world 'nope'"):
        ts.make("nope")


def test_sampling_is_seeded_and_shaped(world):
    a, b, c = world.sample(T, seed=0), world.sample(T, seed=0), world.sample(T, seed=1)
    assert a.values.shape == a.noise.shape == (T, world.n_vars)
    assert a.initial.shape == (world.lag_max, world.n_vars)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values, c.values)
    assert np.all(np.isfinite(a.values))


def test_no_intervention_reproduces_the_trajectory_bit_for_bit(world):
    trajectory = world.sample(T, seed=0)
    again = world.counterfactual(trajectory, None)
    np.testing.assert_array_equal(again.values, trajectory.values)
    np.testing.assert_array_equal(world.counterfactual(trajectory, {}).values, trajectory.values)


def test_abduction_recovers_the_noise(world):
    trajectory = world.sample(T, seed=0)
    noise = world.abduct(trajectory.values, trajectory.initial, trajectory.context)
    np.testing.assert_allclose(noise, trajectory.noise, atol=1e-9)


def test_graph_kinds_are_consistent(world):
    window = world.graph("window")
    summary = world.graph("summary")
    d = world.n_vars
    assert window.shape == (world.lag_max + 1, d, d) or window.shape[1:] == (d, d)
    np.testing.assert_array_equal(summary, (window.sum(axis=0) > 0).astype(int))
    assert not np.any(np.diagonal(window[0]))
    with pytest.raises(ValueError, match="'kind' parameter"):
        world.graph("full")


def _descendants_in_time(window: np.ndarray, target: int, t0: int, n_steps: int) -> np.ndarray:
    """Boolean (T, d): entries reachable from (t0, target) in the unrolled window graph."""
    L, d = window.shape[0] - 1, window.shape[1]
    reached = np.zeros((n_steps, d), dtype=bool)
    reached[t0:, target] = True  # an intervention over [t0, end) touches every later step of the target
    for t in range(t0, n_steps):
        for _ in range(d):  # contemporaneous closure
            for tau in range(0, L + 1):
                if t - tau < 0:
                    continue
                sources = reached[t - tau]
                reached[t] |= (sources[:, None] & (window[tau] > 0)).any(axis=0)
    return reached


def test_intervention_changes_only_descendants_after_onset(world):
    trajectory = world.sample(T, seed=0)
    t0 = 60
    target = world.var_names[0]
    changed = world.counterfactual(trajectory, [TimeIntervention(target, Shift(1.0), start=t0, stop=t0 + 3)])
    diff = np.abs(changed.values - trajectory.values) > 0
    np.testing.assert_array_equal(changed.values[:t0], trajectory.values[:t0])
    allowed = _descendants_in_time(world.graph("window"), 0, t0, T)
    assert not np.any(diff & ~allowed)
    assert diff[t0, 0]


def test_hard_intervention_over_a_window(world):
    trajectory = world.sample(T, seed=0)
    target = world.var_names[-1]
    done = world.counterfactual(trajectory, [TimeIntervention(target, 2.5, start=10, stop=20)])
    np.testing.assert_array_equal(done.values[10:20, -1], 2.5)
    np.testing.assert_array_equal(done.values[:10], trajectory.values[:10])
    assert len(done.interventions) == 1


def test_interventions_compose_in_order():
    world = VAR(d=3, seed=0)
    trajectory = world.sample(50, seed=0)
    both = world.counterfactual(trajectory, [TimeIntervention("x1", Do(1.0), start=5, stop=6),
                                             TimeIntervention("x1", Scale(3.0), start=5, stop=6),
                                             TimeIntervention("x1", Shift(1.0), start=5, stop=6)])
    assert both.values[5, 1] == pytest.approx(4.0)


def test_bad_input_names_the_argument(world):
    trajectory = world.sample(20, seed=0)
    with pytest.raises(UnknownNodeError, match="intervention target"):
        world.counterfactual(trajectory, {"no_such_variable": 1.0})
    with pytest.raises(ValueError, match="starts at step 30"):
        world.counterfactual(trajectory, [TimeIntervention(world.var_names[0], 1.0, start=30)])
    with pytest.raises(ValueError, match="'T' parameter"):
        world.sample(0, seed=0)
    with pytest.raises(TypeError, match="seed"):
        world.sample(10, seed=None)
    with pytest.raises(ValueError, match="'stop' parameter"):
        TimeIntervention(world.var_names[0], 1.0, start=5, stop=5)


def test_trajectories_and_worlds_pickle(world):
    trajectory = world.sample(30, seed=0)
    world2 = pickle.loads(pickle.dumps(world))
    np.testing.assert_array_equal(world2.counterfactual(trajectory).values, trajectory.values)


# ---------------------------------------------------------------------- world-specific checks
@pytest.mark.parametrize("seed", range(5))
def test_var_is_stable(seed):
    world = VAR(d=8, lag_max=3, edge_prob=0.5, spectral_radius=0.95, seed=seed)
    assert world.spectral_radius == pytest.approx(0.95)
    assert world.spectral_radius < 1
    assert np.abs(world.sample(2000, seed=seed).values).max() < 100


def test_var_refuses_unstable_coefficients():
    with pytest.raises(ValueError, match="unstable process"):
        VAR(coefficients=np.full((1, 2, 2), 0.8))
    with pytest.raises(ValueError, match="'spectral_radius' parameter of VAR"):
        VAR(spectral_radius=1.0)


def test_companion_radius_of_a_univariate_ar2():
    # x_t = 0.5 x_{t-1} + 0.3 x_{t-2}: roots of z^2 - 0.5 z - 0.3
    coefs = np.array([[[0.5]], [[0.3]]])
    assert companion_spectral_radius(coefs) == pytest.approx(max(abs(np.roots([1, -0.5, -0.3]))))


def test_lorenz96_graph_and_divergence_message():
    world = ts.make("lorenz96", d=5)
    window = world.graph("window")
    assert sorted(np.flatnonzero(window[1][:, 0])) == [0, 1, 3, 4]  # x1 (j+1), x4 (j-1), x3 (j-2), self
    with pytest.raises(FloatingPointError, match="diverged"):
        ts.make("lorenz96", d=5, dt=0.1).sample(100, seed=0)


def test_lorenz96_substeps_are_euler_steps_between_samples():
    world = ts.make("lorenz96", d=6, substeps=4, noise_std=0.1)
    assert np.array_equal(world.graph("window"), ts.make("lorenz96", d=6).graph("window"))  # the ODE's graph
    trajectory = world.sample(30, seed=2)
    x = trajectory.values[9].copy()
    for _ in range(4):  # four Euler steps of dt = 0.01 by hand
        x = x + 0.01 * ((np.roll(x, -1) - np.roll(x, 2)) * np.roll(x, 1) - x + 10.0)
    np.testing.assert_allclose(trajectory.values[10], x + 0.1 * trajectory.noise[10], rtol=0, atol=1e-12)
    assert np.array_equal(world.counterfactual(trajectory).values, trajectory.values)
    with pytest.raises(ValueError, match="substeps"):
        ts.make("lorenz96", d=6, substeps=0)


@pytest.mark.parametrize("mechanism", ["linear", "tanh", "sin", "quadratic", "mixed"])
@pytest.mark.parametrize("noise", ["gaussian", "laplace", "heteroscedastic"])
def test_lagged_scm_variants_are_bounded(mechanism, noise):
    world = ts.make("lagged_scm", d=4, mechanism=mechanism, noise=noise, contemporaneous_fraction=0.5,
                    edge_prob=0.6, seed=1)
    values = world.sample(500, seed=0).values
    assert np.abs(values).max() < 50
    assert world.graph("window")[0].sum() > 0  # some contemporaneous edges
    with pytest.raises(ValueError, match="'mechanism' parameter"):
        ts.make("lagged_scm", mechanism="cubic")


def test_regime_labels_are_known_and_graphs_differ():
    world = ts.make("regime_switching", d=4, n_regimes=2, persistence=0.95, seed=0)
    trajectory = world.sample(400, seed=0)
    assert set(np.unique(trajectory.regime)) == {0, 1}
    union = world.graph("window")
    per_regime = [world.graph("window", regime=r) for r in range(2)]
    np.testing.assert_array_equal(union, np.maximum(*per_regime))
    assert not np.array_equal(*per_regime)
    np.testing.assert_array_equal(world.counterfactual(trajectory, {"x0": 0.0}).regime, trajectory.regime)


def test_drift_changes_only_the_changing_mechanisms():
    world = ts.make("drift", d=5, changing_fraction=0.4, seed=0)
    changing = [world.var_names.index(n) for n in world.changing_nodes]
    assert len(changing) == 2
    modulation = world.modulation(np.arange(500))
    assert np.ptp(modulation[:, changing], axis=0).min() > 1.0
    fixed = np.setdiff1d(np.arange(5), changing)
    np.testing.assert_array_equal(modulation[:, fixed], 1.0)
    assert world.sample(50, seed=0).context["time"][0] == 0


def test_microservice_fault_oracle():
    world = ts.make("microservice", n_services=5, seed=0)
    faulty = world.inject(300, seed=1, root_causes="s3.latency", onset=150)
    assert faulty.root_causes == ("s3.latency",) and faulty.fault_onset == 150
    healthy = world.counterfactual(faulty, replace=True)
    diff = np.abs(faulty.values - healthy.values)
    np.testing.assert_array_equal(diff[:150], 0.0)
    assert diff[150, world.var_names.index("s3.latency")] == pytest.approx(8 * world.noise_std)
    # the anomaly reaches every caller of s3 (services that call it propagate its latency)
    for caller in np.flatnonzero(world.call_graph[:, 3]):
        assert diff[150:, world.var_names.index(f"s{caller}.latency")].max() > 0
    # and nothing that cannot be reached changes
    assert np.all(diff[:, world.var_names.index("s3.cpu")] == 0)
    with pytest.raises(UnknownNodeError, match="root cause"):
        world.inject(100, seed=0, root_causes="s9.cpu")


def test_factor_sequence_counterfactual_changes_only_its_group():
    world = ts.make("factor_sequences", n_oscillation=2, n_trend=2, seed=0)
    trajectory = world.sample(200, seed=0)
    moved = world.counterfactual(trajectory, {"trend": 0.9})
    osc = [world.var_names.index(c) for c in world.groups["oscillation"]]
    trend = [world.var_names.index(c) for c in world.groups["trend"]]
    np.testing.assert_array_equal(moved.values[:, osc], trajectory.values[:, osc])
    assert not np.allclose(moved.values[:, trend], trajectory.values[:, trend])
    assert world.factor_graph().shape == (5, 4)
    batch = world.sample_sequences(4, 50, seed=0)
    assert batch.values.shape == (4, 50, 4) and batch.factors.shape == (4, 5)
    with pytest.raises(ValueError, match="'waveform' parameter"):
        world.counterfactual(trajectory, {"waveform": 7})


@pytest.mark.parametrize("factor, value", [("amplitude", 0.5), ("noise_level", 0.2), ("waveform", 2.0)])
def test_factor_sequence_counterfactual_equals_regenerating_with_the_new_factor(factor, value):
    from latentscm.worlds.timeseries.factor_sequences import FACTOR_NAMES, FactorSequences

    class Forced(FactorSequences):  # the same world with the factor set before anything is simulated
        def sample_factors(self, n, *, seed):
            factors = super().sample_factors(n, seed=seed)
            factors[:, FACTOR_NAMES.index(factor)] = value
            return factors

    world = FactorSequences(ar=0.5, burn_in=5)
    trajectory = world.sample(40, seed=3)
    truth = Forced(ar=0.5, burn_in=5).sample(40, seed=3)  # same seed: same noise, burn-in included
    np.testing.assert_array_equal(truth.noise, trajectory.noise)
    moved = world.counterfactual(trajectory, {factor: value})
    np.testing.assert_allclose(moved.initial, truth.initial, atol=1e-12)
    np.testing.assert_allclose(moved.values, truth.values, atol=1e-12)


@pytest.mark.parametrize("name", ["drift", "regime_switching", "factor_sequences"])
def test_abduct_names_a_missing_or_short_context(name):
    world = ts.make(name, **SMALL[name])
    trajectory = world.sample(20, seed=0)
    np.testing.assert_allclose(world.abduct(trajectory.values, trajectory.initial, trajectory.context),
                               trajectory.noise, atol=1e-9)
    with pytest.raises(ValueError, match="'context'.*lacks"):
        world.abduct(trajectory.values, trajectory.initial)
    short = {k: (v[:5] if k in ("time", "regime") else v) for k, v in trajectory.context.items()}
    with pytest.raises(ValueError, match="'context'.*one entry per step"):
        world.abduct(trajectory.values, trajectory.initial, short)


@pytest.mark.parametrize("factor, value", [("noise_level", -0.2), ("noise_level", 0.0), ("frequency", -0.05),
                                           ("amplitude", 3.0), ("trend", 1.5)])
def test_factor_sequence_counterfactual_rejects_factors_off_their_range(factor, value):
    world = ts.make("factor_sequences", **SMALL["factor_sequences"])
    trajectory = world.sample(30, seed=0)
    with pytest.raises(ValueError, match=f"'{factor}' parameter"):
        world.counterfactual(trajectory, {factor: value})


@pytest.mark.parametrize("name", ["var", "lorenz96", "lagged_scm", "drift", "regime_switching"])
def test_names_of_the_wrong_length_are_named(name):
    with pytest.raises(ValueError, match="2 names were given"):
        ts.make(name, **{**SMALL[name], "names": ["a", "b"]})


def test_microservice_inject_refuses_a_repeated_root_cause():
    from latentscm.worlds.timeseries.microservice import Microservice

    world = Microservice()
    cause = world.var_names[0]
    with pytest.raises(ValueError, match="more than once"):
        world.inject(200, seed=0, root_causes=[cause, cause])
