"""Episodes of agents reaching goal views, and the comparison of agents over the same goals.

:func:`run_episode` starts the environment at a state with a goal pose, lets the agent act until
the pose is within one grid step of the goal or ``max_steps`` actions were taken, and records the
true pose error after every step (from the world's state, which the agent never sees) and the
agent's variational free energy per observation. :func:`compare_agents` runs every agent on the
same seeded tasks and summarises: success rate, steps to the goal, the fraction of goals reached
by each step (the goal-reaching curve), mean free energy and mean complexity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.active.environment import PoseEnvironment

__all__ = ["Agent", "EpisodeResult", "run_episode", "compare_agents", "summarise_episodes", "replay"]


class Agent(Protocol):
    """What :func:`run_episode` needs of an agent."""

    free_energy_: list[float]
    complexity_: list[float]

    def reset(self, observation: np.ndarray, goal_image: np.ndarray) -> None: ...

    def act(self) -> int: ...

    def observe(self, observation: np.ndarray) -> None: ...


@dataclass(frozen=True)
class EpisodeResult:
    """One episode.

    Attributes
    ----------
    actions : np.ndarray
        (T,) int64 actions taken.
    pose_errors : np.ndarray
        (T + 1,) int64 true pose error (grid steps) before the first and after every action.
    reached_at : int or None
        Number of actions after which the goal was first reached (``None``: not within the cap).
    free_energy, complexity : np.ndarray
        (T + 1,) float64 the agent's free energy and complexity per observation (empty for an
        agent without a model).
    """

    actions: np.ndarray
    pose_errors: np.ndarray
    reached_at: int | None
    free_energy: np.ndarray
    complexity: np.ndarray


def run_episode(env: PoseEnvironment, agent: Agent, start: np.ndarray, goal: Any, *, max_steps: int,
                render_seed: int = 0) -> EpisodeResult:
    """Run ``agent`` from factors ``start`` (K,) toward goal pose ``goal`` (P,) for at most
    ``max_steps`` actions; returns the :class:`EpisodeResult`."""
    max_steps = check_number(max_steps, "max_steps", "run_episode", low=1, integer=True)
    observation, goal_image = env.reset(start, goal, render_seed=render_seed)
    agent.reset(observation, goal_image)
    errors = [int(env.pose_error(env.state_, env.goal_)[0])]
    actions: list[int] = []
    reached_at = 0 if errors[0] == 0 else None
    while reached_at is None and len(actions) < max_steps:
        action = int(agent.act())
        observation, reached = env.step_episode(action)
        agent.observe(observation)
        actions.append(action)
        errors.append(int(env.pose_error(env.state_, env.goal_)[0]))
        if reached:
            reached_at = len(actions)
    return EpisodeResult(np.array(actions, dtype=np.int64), np.array(errors, dtype=np.int64), reached_at,
                         np.array(agent.free_energy_, dtype=np.float64), np.array(agent.complexity_, dtype=np.float64))


def summarise_episodes(episodes: list[EpisodeResult], max_steps: int) -> dict[str, Any]:
    """Summary of episodes of one agent.

    Returns
    -------
    dict
        ``success_rate``; ``mean_steps`` (unreached goals counted at ``max_steps``, lower is
        better); ``mean_steps_reached`` (over reached goals only, NaN if none); ``mean_free_energy``
        and ``mean_complexity`` (per observation, NaN for agents without a model);
        ``reach_curve`` (list of ``max_steps + 1`` fractions: goals reached within k actions).

    Raises
    ------
    ValueError
        ``max_steps`` is not an int >= 1, or an episode took more actions than ``max_steps`` (the
        cap it ran under must be given, or unreached goals would count at the wrong number of steps).
    """
    max_steps = check_number(max_steps, "max_steps", "summarise_episodes", low=1, integer=True)
    longest = max((e.actions.shape[0] for e in episodes), default=0)
    if longest > max_steps:
        raise ValueError(f"The 'max_steps' parameter of summarise_episodes ({max_steps}) is below the "
                         f"{longest} actions of an episode; pass the cap the episodes ran under.")
    reached = np.array([e.reached_at is not None for e in episodes])
    steps = np.array([e.reached_at if e.reached_at is not None else max_steps for e in episodes], dtype=np.float64)
    # no episodes: NaN fractions, like the other entries (np.mean of nothing would warn once per step)
    curve = [float(np.mean([e.reached_at is not None and e.reached_at <= k for e in episodes])) if episodes
             else float("nan") for k in range(max_steps + 1)]
    energies = np.concatenate([e.free_energy for e in episodes]) if episodes else np.zeros(0)
    complexities = np.concatenate([e.complexity for e in episodes]) if episodes else np.zeros(0)
    return {
        "episodes": len(episodes),
        "success_rate": float(reached.mean()) if episodes else float("nan"),
        "mean_steps": float(steps.mean()) if episodes else float("nan"),
        "mean_steps_reached": float(steps[reached].mean()) if reached.any() else float("nan"),
        "mean_free_energy": float(energies.mean()) if energies.size else float("nan"),
        "mean_complexity": float(complexities.mean()) if complexities.size else float("nan"),
        "reach_curve": curve,
    }


def compare_agents(env: PoseEnvironment, agents: Mapping[str, Agent], *, n_goals: int, max_steps: int,
                   seed: int) -> dict[str, Any]:
    """Run every agent on the same ``n_goals`` seeded tasks (start state and goal pose from
    :meth:`PoseEnvironment.random_task`).

    Returns
    -------
    dict
        ``{"tasks": [{"start": [...], "goal": [...], "initial_error": int}, ...],
        "agents": {name: summary (see :func:`summarise_episodes`) plus "reached_at": [...]}}``,
        plain JSON values.
    """
    n_goals = check_number(n_goals, "n_goals", "compare_agents", low=1, integer=True)
    seed = check_number(seed, "seed", "compare_agents", low=0, integer=True)  # recorded in the result
    max_steps = check_number(max_steps, "max_steps", "compare_agents", low=1, integer=True)
    if not agents:
        raise ValueError("compare_agents needs at least one agent.")
    rng = as_generator(seed)
    tasks = [env.random_task(rng) for _ in range(n_goals)]
    result: dict[str, Any] = {"tasks": [], "agents": {}, "max_steps": max_steps, "seed": int(seed)}
    for start, goal in tasks:
        initial = int(env.pose_error(start[None], env.goal_indices(goal))[0])
        result["tasks"].append({"start": start.tolist(), "goal": goal.tolist(), "initial_error": initial})
    for name, agent in agents.items():
        episodes = [run_episode(env, agent, start, goal, max_steps=max_steps) for start, goal in tasks]
        summary = summarise_episodes(episodes, max_steps)
        summary["reached_at"] = [e.reached_at for e in episodes]
        summary["actions"] = [e.actions.tolist() for e in episodes]
        result["agents"][name] = summary
    return result


def replay(env: PoseEnvironment, start: Any, actions: Any, *, render_seed: int = 0) -> np.ndarray:
    """Images (T + 1, C, H, W) of the states visited from factors ``start`` (K,) under ``actions``
    (T,): the exact renders an episode showed its agent."""
    if not isinstance(env, PoseEnvironment):
        raise TypeError(f"replay needs a PoseEnvironment. Got {type(env).__name__}.")
    states = [env.check_state(start)[None, :]]
    array = np.asarray(actions)
    # checked as given, not cast first: a cast would truncate float actions (0.9 -> "stay") without a word
    for action in env.check_actions(array if array.size else array.astype(np.int64)).reshape(-1):
        states.append(env.transition(states[-1], np.array([action])))
    return env.render(np.concatenate(states), render_seed)
