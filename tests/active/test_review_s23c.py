"""Regressions of the third s23 review of latentscm.active."""

import warnings

import numpy as np
import pytest

from latentscm import worlds
from latentscm.active import EFEAgent, PoseEnvironment, enumerate_policies, expected_free_energy, summarise_episodes


def _reachable_by_search(env, start_index):
    seen, frontier = {tuple(start_index)}, [np.asarray(start_index)]
    while frontier:
        moved = {tuple(np.clip(i + delta, 0, env.grid_sizes - 1)) for i in frontier for delta in env.action_deltas}
        frontier = [np.array(m) for m in moved - seen]
        seen |= moved
    return seen


def test_random_tasks_with_larger_steps_have_reachable_goals():
    # moves of 2 on the 15 orientations keep an even index even: 46 of 200 goals could never be reached
    env = PoseEnvironment(worlds.make("shapes3d", size=16), step=2)
    rng = np.random.default_rng(0)
    for _ in range(100):
        start, goal = env.random_task(rng)
        assert tuple(env.goal_indices(goal)) in _reachable_by_search(env, env.pose_indices(start)[0])
    start = env.with_pose(env.world.sample(1, seed=0).factors, np.array([[0]]))[0]
    with pytest.raises(ValueError, match="cannot be reached"):
        env.reset(start, env.world.spec("orientation").values[[1]])
    env.reset(start, env.world.spec("orientation").values[[14]])  # reachable by stopping at the grid's end


def test_non_contiguous_beliefs_and_priors_are_read(factorised, transitions):
    mean, logvar = factorised.infer(transitions.images[:2])
    policies = enumerate_policies(factorised.n_actions_, 2)
    stored_reversed = mean[0][::-1].copy()
    base = expected_free_energy(factorised, (mean[0], logvar[0]), (mean[1], logvar[1]), policies).total
    again = expected_free_energy(factorised, (stored_reversed[::-1], logvar[0]), (mean[1], logvar[1]), policies).total
    np.testing.assert_array_equal(again, base)
    prior = factorised.predict(mean, logvar, np.array([0, 1]))
    base = factorised.free_energy(transitions.images[:2], prior)["free_energy"]
    view = (prior[0][:, ::-1].copy()[:, ::-1], prior[1])
    np.testing.assert_array_equal(factorised.free_energy(transitions.images[:2], view)["free_energy"], base)


def test_agent_observes_once_per_action(factorised, env):
    agent = EFEAgent(factorised)
    start, goal = env.random_task(0)
    observation, goal_image = env.reset(start, goal)
    agent.reset(observation, goal_image)
    action = agent.act()
    observation, _ = env.step_episode(action)
    agent.observe(observation)
    assert agent.last_action_ == action
    with pytest.raises(RuntimeError, match="before act"):
        agent.observe(observation)
    assert len(agent.free_energy_) == 2
    observation, _ = env.step_episode(agent.act())
    agent.observe(observation)
    assert len(agent.free_energy_) == 3


def test_summarise_no_episodes_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = summarise_episodes([], 4)
    assert summary["episodes"] == 0 and len(summary["reach_curve"]) == 5
    assert all(np.isnan(summary["reach_curve"]))
