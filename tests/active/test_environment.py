"""The pose environment: observations are the world's exact renders, actions move the pose by
bounded grid steps and stay on the grid, and bad input gets errors that name the problem."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm import worlds
from latentscm.active import PoseEnvironment, replay, sample_transitions
from latentscm.exceptions import UnknownNodeError


def test_actions_and_names(env):
    assert env.pose_factors == ("orientation",)
    assert env.action_names == ("stay", "orientation+1", "orientation-1")
    np.testing.assert_array_equal(env.action_deltas, [[0], [1], [-1]])


def test_observations_are_the_worlds_exact_renders(env):
    start, goal = env.random_task(seed=3)
    observation, goal_image = env.reset(start, goal)
    np.testing.assert_array_equal(observation, env.world.render(start[None])[0])
    goal_state = start.copy()
    goal_state[env.world.factor_names.index("orientation")] = goal[0]
    np.testing.assert_array_equal(goal_image, env.world.render(goal_state[None])[0])
    rng = np.random.default_rng(0)
    states, seen = [start], [observation]
    actions = rng.integers(0, env.n_actions, size=12)
    for action in actions:
        observation, reached = env.step_episode(int(action))
        np.testing.assert_array_equal(observation, env.world.render(env.state_)[0])
        assert reached == (env.pose_error(env.state_, env.goal_)[0] == 0)
        states.append(env.state_[0])
        seen.append(observation)
    # non-pose factors never change; replaying the actions gives the same images
    other = [j for j, n in enumerate(env.world.factor_names) if n != "orientation"]
    np.testing.assert_array_equal(np.array(states)[:, other], np.repeat(start[None, other], len(states), axis=0))
    np.testing.assert_array_equal(replay(env, start, actions), np.stack(seen))


def test_actions_stay_in_range_and_move_by_one_step(env):
    world = env.world
    spec = world.spec("orientation")
    factors = world.sample(40, seed=1).factors
    column = world.factor_names.index("orientation")
    for push, end in ((1, spec.size - 1), (2, 0)):  # push against both ends of the grid
        for _ in range(spec.size):
            for action in range(env.n_actions):
                moved = env.transition(factors, np.full(len(factors), action))
                for j, s in enumerate(world.factor_specs):
                    s.check(moved[:, j])
                expected = np.clip(spec.index_of(factors[:, column]) + env.action_deltas[action, 0], 0, spec.size - 1)
                np.testing.assert_array_equal(spec.index_of(moved[:, column]), expected)
                np.testing.assert_array_equal(np.delete(moved, column, axis=1), np.delete(factors, column, axis=1))
            factors = env.transition(factors, np.full(len(factors), push))
        assert set(spec.index_of(factors[:, column]).tolist()) == {end}


def test_replay_and_transitions_are_exact(env, transitions):
    np.testing.assert_array_equal(transitions.next_images, env.world.render(transitions.next_factors))
    np.testing.assert_array_equal(transitions.images, env.world.render(transitions.factors))
    np.testing.assert_array_equal(transitions.next_factors, env.transition(transitions.factors, transitions.actions))
    again = sample_transitions(env, 24, seed=0)
    np.testing.assert_array_equal(again.images, transitions.images)
    np.testing.assert_array_equal(again.actions, transitions.actions)
    images = replay(env, transitions.factors[0], [1, 1, 2])
    assert images.shape == (4, *env.world.image_shape)
    np.testing.assert_array_equal(images[0], transitions.images[0])


def test_sprites_environment_moves_position():
    world = worlds.make("sprites", size=16)
    env = PoseEnvironment(world, step=2)
    assert env.pose_factors == ("posX", "posY") and env.n_actions == 5
    start, goal = env.random_task(seed=0)
    observation, _ = env.reset(start, goal)
    np.testing.assert_array_equal(observation, world.render(start[None])[0])
    observation, _ = env.step_episode(1)  # posX + 2 grid steps
    index = env.pose_indices(env.state_)[0]
    assert index[0] == min(env.pose_indices(start)[0][0] + 2, 31)
    np.testing.assert_array_equal(observation, world.render(env.state_)[0])


def test_random_tasks_are_seeded_and_need_a_move(env):
    tasks = [env.random_task(seed=s) for s in range(20)]
    for start, goal in tasks:
        assert env.pose_error(start[None], env.goal_indices(goal))[0] >= 1
    again = env.random_task(seed=7)
    np.testing.assert_array_equal(again[0], tasks[7][0])
    np.testing.assert_array_equal(again[1], tasks[7][1])


def test_bad_input_is_named(env):
    start, _ = env.random_task(seed=0)
    with pytest.raises(ValueError, match="orientation.*45.*out of range|orientation.*45"):
        env.reset(start, [45.0])
    with pytest.raises(ValueError, match="orientation.*not on its grid"):
        env.reset(start, {"orientation": 1.234})
    with pytest.raises(UnknownNodeError, match="Unknown goal pose factor 'posX'"):
        env.reset(start, {"posX": 0.5})
    with pytest.raises(ValueError, match="needs 1 values"):
        env.reset(start, [0.0, 0.0])
    with pytest.raises(UnknownNodeError, match="Unknown pose factor 'azimuth'"):
        PoseEnvironment(env.world, pose_factors=["azimuth"])
    with pytest.raises(ValueError, match="'step' parameter of PoseEnvironment must be at most 7 .*Got 8"):
        PoseEnvironment(env.world, step=8)
    with pytest.raises(ValueError, match="'step'"):
        PoseEnvironment(env.world, step=0)
    with pytest.raises(ValueError, match="duplicates"):
        PoseEnvironment(env.world, pose_factors=["orientation", "orientation"])
    with pytest.raises(ValueError, match="shadow_length.*must be discrete"):
        PoseEnvironment(worlds.make("pendulum", size=16), pose_factors=["shadow_length"])
    with pytest.raises(ValueError, match="no default pose factors for world 'pendulum'"):
        PoseEnvironment(worlds.make("pendulum", size=16))
    with pytest.raises(ValueError, match="Action 3 is not one of"):
        env.transition(start[None], np.array([3]))
    with pytest.raises(TypeError, match="must be ints"):
        env.transition(start[None], np.array([0.5]))
    with pytest.raises(RuntimeError, match="before reset"):
        PoseEnvironment(env.world).step_episode(0)
    with pytest.raises(TypeError, match="latentscm World"):
        PoseEnvironment("shapes3d")
