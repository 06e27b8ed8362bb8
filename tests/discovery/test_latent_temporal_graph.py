"""The lag-1 graph among (learned) causal variables, from transitions with known intervention targets."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm import worlds
from latentscm.discovery.latent_temporal_graph import (
    discover_latent_temporal_graph,
    graph_scores,
    latent_temporal_graph,
)
from latentscm.worlds import TemporalWorld


@pytest.fixture(scope="module")
def world():
    return worlds.make("hue-sprites", size=16, n_positions=8, n_scales=4)


def _state_transitions(temporal, seed=0):
    b = temporal.sample(100, 41, seed=seed)
    v = temporal.n_variables
    return (b.state[:, :-1].reshape(-1, v), b.state[:, 1:].reshape(-1, v), b.targets[:, 1:].reshape(-1, v))


@pytest.mark.parametrize("test", ["fisherz", "rcit"])
@pytest.mark.parametrize("parents", [None, {"hue": ["scale", "posX"], "posY": ["posX"]}])
def test_the_true_state_gives_the_true_graph(world, test, parents):
    temporal = TemporalWorld(world, parents=parents)
    x, y, targets = _state_transitions(temporal)
    found = latent_temporal_graph(x, y, targets, np.arange(4), ci_test=test)
    np.testing.assert_array_equal(found["adjacency"], temporal.temporal_graph())
    assert found["empty_groups"] == []


def test_units_are_grouped_and_empty_groups_left_out(world):
    temporal = TemporalWorld(world)
    x, y, targets = _state_transitions(temporal)
    rng = np.random.default_rng(0)
    # two units per variable (the variable and a monotone copy of it), hue's left out, one psi_0 unit of noise
    codes = np.concatenate([x[:, :3], np.tanh(2 * x[:, :3]), rng.normal(size=(len(x), 1))], axis=1)
    following = np.concatenate([y[:, :3], np.tanh(2 * y[:, :3]), rng.normal(size=(len(y), 1))], axis=1)
    groups = np.array([0, 1, 2, 0, 1, 2, 4])
    found = latent_temporal_graph(codes, following, targets, groups, ci_test="rcit")
    expected = temporal.temporal_graph()
    expected[3, :] = expected[:, 3] = False
    np.testing.assert_array_equal(found["adjacency"], expected)
    assert found["empty_groups"] == [3]


def test_intervened_transitions_are_left_out_of_their_variables_tests(world):
    # with every transition of posX intervened on except a few, posX's tests have too little data: refused
    temporal = TemporalWorld(world, intervention_prob=0.999)
    x, y, targets = _state_transitions(temporal)
    with pytest.raises(ValueError, match="without an intervention"):
        latent_temporal_graph(x, y, targets, np.arange(4))


def test_graph_scores():
    true = np.eye(3, dtype=bool)
    true[0, 1] = true[1, 2] = True
    found = np.eye(3, dtype=bool)
    found[0, 1] = found[2, 0] = True
    found[1, 1] = False
    scores = graph_scores(found, true)
    assert scores == {"shd": 2, "precision": 0.5, "recall": 0.5, "self_edges": pytest.approx(2 / 3)}


def test_discover_on_a_learner_and_bad_input(world):
    from latentscm.learners.citris import CITRISVAE

    temporal = TemporalWorld(world)
    learner = CITRISVAE(steps=2, seed=0, channels=(8, 8), hidden_dim=16, batch_size=16, prior_hidden=8).fit(
        temporal, n_samples=48, progress=False)
    result = discover_latent_temporal_graph(learner, temporal, n=400, ci_test="fisherz")
    assert result["adjacency"].shape == (4, 4) and result["groups"] == learner.assignment_.tolist()
    np.testing.assert_array_equal(result["true"], temporal.temporal_graph())
    assert {"shd", "precision", "recall", "self_edges", "pvalues"} <= set(result)
    with pytest.raises(TypeError, match="TemporalWorld"):
        discover_latent_temporal_graph(learner, world)
    x = np.zeros((20, 3))
    with pytest.raises(ValueError, match="one shape"):
        latent_temporal_graph(x, x[:, :2], np.zeros((20, 2), bool), np.arange(3))
    with pytest.raises(ValueError, match="targets"):
        latent_temporal_graph(x, x, np.zeros((19, 2), bool), np.arange(3))
    with pytest.raises(ValueError, match="groups"):
        latent_temporal_graph(x, x, np.zeros((20, 2), bool), np.arange(2))
    with pytest.raises(ValueError, match="alpha"):
        latent_temporal_graph(x, x, np.zeros((20, 2), bool), np.arange(3), alpha=1.5)
