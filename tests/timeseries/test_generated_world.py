"""CausalTimeGenerator.to_world: the fitted dynamics as a world with an exact oracle — its graph is the
generator's ground truth, the counterfactual without intervention is bit-identical, abduction recovers
the noise, and an intervention moves only the intervened variable's descendants in time."""

import networkx as nx
import numpy as np
import pytest

from latentscm.graph import UnknownNodeError
from latentscm.interventions import Do, Shift
from latentscm.timeseries import CausalTimeGenerator, GeneratedWorld
from latentscm.worlds.timeseries import TimeIntervention

FAST = {"hidden": 8, "epochs": 8, "ig_steps": 8, "ig_windows": 64, "seed": 0}

@pytest.fixture(scope="module")
def generators(series):
    none = CausalTimeGenerator(tau_max=2, top_k=1, selection="top_k", residual="none", target="level",
                               noise="gaussian", **FAST).fit(series)
    return {"none": none, "child": none.with_residual("child"), "added": none.with_residual("added"),
            "empirical": CausalTimeGenerator(tau_max=2, top_k=1, selection="top_k", residual="none",
                                             noise="empirical", **FAST).fit(series)}


@pytest.mark.parametrize("mode", ["none", "child", "added", "empirical"])
def test_graph_is_the_ground_truth_and_no_intervention_replays_bit_for_bit(generators, mode):
    gen = generators[mode]
    world = gen.to_world(burn_in=20)
    assert isinstance(world, GeneratedWorld) and world.lag_max == gen.tau_max
    assert np.array_equal(world.graph("window"), gen.ground_truth())
    d = len(gen.var_names_)
    assert world.n_vars == (2 * d if mode == "child" else d)
    trajectory = world.sample(120, seed=5)
    assert trajectory.values.shape == (120, world.n_vars) and np.all(np.isfinite(trajectory.values))
    assert np.array_equal(world.sample(120, seed=5).values, trajectory.values)  # seeded
    assert not np.array_equal(world.sample(120, seed=6).values, trajectory.values)
    assert np.array_equal(world.counterfactual(trajectory).values, trajectory.values)  # bit for bit
    abducted = world.abduct(trajectory.values, trajectory.initial)
    np.testing.assert_allclose(abducted, trajectory.noise, atol=1e-8)
    if mode == "child":
        assert np.all(trajectory.noise[:, d:] == 0)  # residual columns are deterministic


def test_an_intervention_moves_only_descendants_in_time(series):
    prior = np.zeros((4, 4), dtype=int)
    prior[0, 1] = prior[1, 2] = prior[3, 0] = 1  # H = the source's graph: x3 is no descendant of x0
    gen = CausalTimeGenerator(tau_max=2, selection="prior", residual="none", target="level", **FAST).fit(
        series, prior)
    world = gen.to_world(burn_in=20)
    trajectory = world.sample(80, seed=2)
    names = world.var_names
    target, start = names[0], 30
    value = float(trajectory.column(target).max() + 3.0)
    cf = world.counterfactual(trajectory, [TimeIntervention(target, Do(value), start=start)])
    assert np.array_equal(cf.values[:start], trajectory.values[:start])  # the past is untouched
    assert np.all(cf.column(target)[start:] == value)
    # at the first intervened step only the target moves: the graph has no lag-0 links
    moved_now = np.flatnonzero(cf.values[start] != trajectory.values[start])
    assert moved_now.tolist() == [0]
    graph = nx.DiGraph([(names[i], names[j]) for i, j in zip(*np.nonzero(gen.graph_)) if i != j])
    graph.add_nodes_from(names)
    descendants = nx.descendants(graph, target)
    for j, name in enumerate(names):
        changed = not np.array_equal(cf.values[:, j], trajectory.values[:, j])
        if name == target or name in descendants:
            assert changed, name
        else:
            assert not changed, name  # exactly equal, not close
    assert descendants == {"x1", "x2"}  # both branches above ran: x1, x2 moved and x3 did not


def test_soft_interventions_and_window_stop(generators):
    world = generators["added"].to_world(burn_in=10)
    trajectory = world.sample(60, seed=3)
    name = world.var_names[1]
    shifted = world.counterfactual(trajectory, [TimeIntervention(name, Shift(2.0), start=10, stop=20)])
    assert np.array_equal(shifted.values[:10], trajectory.values[:10])
    np.testing.assert_allclose(shifted.column(name)[10], trajectory.column(name)[10] + 2.0, atol=1e-9)
    back = world.counterfactual(shifted, replace=True)  # without the shift: the factual trajectory
    assert np.array_equal(back.values, trajectory.values)


def test_generated_world_series_resemble_the_fitted_series(generators, series):
    world = generators["none"].to_world()
    values = world.sample(2000, seed=0).values
    assert np.all(np.abs(values.mean(axis=0) - series.mean(axis=0)) < 0.5 * series.std(axis=0))
    ratio = values.std(axis=0) / series.std(axis=0)
    assert np.all((ratio > 0.5) & (ratio < 2.0)), ratio


def test_bad_input_gets_a_clear_error(generators):
    with pytest.raises(RuntimeError, match="not fitted"):
        CausalTimeGenerator(**FAST).to_world()
    world = generators["none"].to_world()
    trajectory = world.sample(20, seed=0)
    with pytest.raises(UnknownNodeError, match="nope"):
        world.counterfactual(trajectory, {"nope": 1.0})
    with pytest.raises(ValueError, match="burn_in"):
        generators["none"].to_world(burn_in=-1)
