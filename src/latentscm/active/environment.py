"""An active-inference environment on a world: the agent moves the object's pose and sees the
exactly rendered image.

The hidden state is the world's factor vector (K,) on its grid. A fixed subset of grid factors
is the *pose* (``orientation`` of shapes3d — the camera azimuth around the object —, or ``posX``
and ``posY`` of sprites); the others (shape, hues, scale) stay fixed for an episode. The action
set is discrete: ``stay`` and ``±step`` grid steps on one pose factor at a time, so an action
moves the pose by a bounded step; moves past the end of a grid stop at its edge, so every state
stays on the world's grid. Every observation is ``world.render(state)`` — exact, with the
episode's render seed for worlds whose renderer is random. The task gives a *preferred
observation*: the goal view, the same object rendered at the goal pose. The goal is reached
when the pose error (largest grid-index distance over pose factors) is below one grid step.

Shapes: factors (N, K) in ``world.factor_names`` order; images float32 (N, C, H, W); actions
(N,) int64 indices into :attr:`PoseEnvironment.action_deltas` (A, P) of grid-index moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.exceptions import UnknownNodeError

__all__ = ["PoseEnvironment", "DEFAULT_POSE_FACTORS"]

#: Pose factors used when none are given, per world name.
DEFAULT_POSE_FACTORS: dict[str, tuple[str, ...]] = {
    "shapes3d": ("orientation",),
    "sprites": ("posX", "posY"),
}


class PoseEnvironment:
    """Move an object's pose on a world's grid and observe its exact rendering.

    Parameters
    ----------
    world : World
        A world whose pose factors are discrete (``latentscm.worlds.make("shapes3d", size=32)``).
    pose_factors : sequence of str or None, default None
        The factors actions change (default: :data:`DEFAULT_POSE_FACTORS` of the world).
    step : int, default 1
        Grid steps per move; at most half of the smallest pose grid (a bounded step).

    Raises
    ------
    UnknownNodeError
        A pose factor the world does not have.
    ValueError
        A continuous or single-valued pose factor, duplicated pose factors, or a step that is
        not a positive int or is larger than half of a pose grid.
    """

    def __init__(self, world: Any, *, pose_factors: Sequence[str] | None = None, step: int = 1):
        from latentscm.worlds.base import World

        if not isinstance(world, World):
            raise TypeError(f"The 'world' argument of PoseEnvironment must be a latentscm World. Got "
                            f"{type(world).__name__}.")
        self.world = world
        if pose_factors is None:
            if world.name not in DEFAULT_POSE_FACTORS:
                raise ValueError(f"PoseEnvironment has no default pose factors for world {world.name!r}; pass "
                                 f"pose_factors=[...] (factors: {', '.join(world.factor_names)}).")
            pose_factors = DEFAULT_POSE_FACTORS[world.name]
        if isinstance(pose_factors, str) or not isinstance(pose_factors, Sequence) or not pose_factors:
            raise TypeError(f"The 'pose_factors' parameter of PoseEnvironment must be a non-empty sequence of factor "
                            f"names. Got {pose_factors!r} instead.")
        names = list(pose_factors)
        if len(set(names)) != len(names):
            raise ValueError(f"The 'pose_factors' parameter of PoseEnvironment has duplicates: {names!r}.")
        for name in names:
            if name not in world.factor_names:
                raise UnknownNodeError(name, world.factor_names, what="pose factor")
            spec = world.spec(name)
            if not spec.discrete or spec.size < 2:
                raise ValueError(f"Pose factor {name!r} of world {world.name!r} must be discrete with at least 2 "
                                 f"grid values to be moved in grid steps.")
        self.pose_factors = tuple(names)
        self.step = check_number(step, "step", "PoseEnvironment", low=1, integer=True)
        smallest = min(world.spec(name).size for name in names)
        if self.step > smallest // 2:
            raise ValueError(f"The 'step' parameter of PoseEnvironment must be at most {smallest // 2} grid steps "
                             f"(half of the smallest pose grid, {smallest} values); a larger move is not a bounded "
                             f"step. Got {self.step}.")
        self.pose_columns = np.array([world.factor_names.index(n) for n in names], dtype=np.int64)
        self.grid_sizes = np.array([world.spec(n).size for n in names], dtype=np.int64)
        deltas = [np.zeros(len(names), dtype=np.int64)]
        labels = ["stay"]
        for p, name in enumerate(names):
            for sign in (1, -1):
                delta = np.zeros(len(names), dtype=np.int64)
                delta[p] = sign * self.step
                deltas.append(delta)
                labels.append(f"{name}{'+' if sign > 0 else '-'}{self.step}")
        #: (A, P) grid-index move of each action
        self.action_deltas = np.stack(deltas)
        #: name of each action
        self.action_names = tuple(labels)
        self.state_: np.ndarray | None = None
        self.goal_: np.ndarray | None = None
        self.render_seed_ = 0

    # ------------------------------------------------------------------ pure dynamics
    @property
    def n_actions(self) -> int:
        """Number of discrete actions A (``1 + 2 * len(pose_factors)``)."""
        return int(self.action_deltas.shape[0])

    def check_actions(self, actions: Any) -> np.ndarray:
        """Actions as an int64 array; raises ``ValueError`` naming a value outside ``0 .. A-1``."""
        array = np.asarray(actions)
        if array.dtype.kind not in "iu":
            raise TypeError(f"Actions of PoseEnvironment must be ints in 0..{self.n_actions - 1}. Got dtype "
                            f"{array.dtype}.")
        bad = (array < 0) | (array >= self.n_actions)
        if np.any(bad):
            raise ValueError(f"Action {int(array[bad].flat[0])} is not one of PoseEnvironment's {self.n_actions} "
                             f"actions (0..{self.n_actions - 1}: {', '.join(self.action_names)}).")
        return array.astype(np.int64)

    def pose_indices(self, factors: np.ndarray) -> np.ndarray:
        """Grid indices (N, P) int64 of the pose factors of factors (N, K) (checked on the grid)."""
        factors = np.atleast_2d(np.asarray(factors, dtype=np.float64))
        return np.stack([self.world.spec(n).index_of(factors[:, c]) for n, c in zip(self.pose_factors,
                                                                                   self.pose_columns)], axis=1)

    def with_pose(self, factors: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """Factors (N, K) with the pose factors set to grid indices (N, P)."""
        out = np.array(np.atleast_2d(factors), dtype=np.float64, copy=True)
        indices = np.atleast_2d(indices)
        for p, (name, column) in enumerate(zip(self.pose_factors, self.pose_columns)):
            out[:, column] = self.world.spec(name).values[indices[:, p]]
        return out

    def transition(self, factors: np.ndarray, actions: Any) -> np.ndarray:
        """Next factors (N, K) after actions (N,) from factors (N, K): the pose moves by the
        action's grid step, stopping at the grid's ends; the other factors are unchanged."""
        actions = np.atleast_1d(self.check_actions(actions))
        index = self.pose_indices(factors)
        if index.shape[0] != actions.shape[0]:
            raise ValueError(f"PoseEnvironment.transition got {index.shape[0]} states but {actions.shape[0]} actions.")
        moved = np.clip(index + self.action_deltas[actions], 0, self.grid_sizes - 1)
        return self.with_pose(factors, moved)

    def pose_error(self, factors: np.ndarray, goal_indices: np.ndarray) -> np.ndarray:
        """Largest grid-index distance (N,) int64 between the pose of factors (N, K) and the goal
        pose indices (P,); 0 means within one grid step (the goal is reached)."""
        return np.abs(self.pose_indices(factors) - np.asarray(goal_indices)[None, :]).max(axis=1)

    def render(self, factors: np.ndarray, render_seed: int = 0) -> np.ndarray:
        """Images (N, C, H, W) of factors (N, K): the world's exact rendering."""
        factors = np.atleast_2d(np.asarray(factors, dtype=np.float64))
        seeds = np.full(factors.shape[0], int(render_seed), dtype=np.int64) if self.world.render_random else None
        return self.world.render(factors, render_seeds=seeds)

    def reachable(self, start_indices: Any) -> list[np.ndarray]:
        """Which grid indices each pose factor can reach from pose indices ``start_indices`` (P,): P boolean masks,
        one (grid size,) per pose factor. With ``step`` > 1 not every index is reachable (moves of +-2 that stop at
        the grid's ends keep an even index even on a grid of odd size)."""
        masks = []
        for start, size in zip(np.asarray(start_indices, dtype=np.int64).reshape(-1), self.grid_sizes):
            mask = np.zeros(int(size), dtype=bool)
            frontier = [int(start)]
            mask[int(start)] = True
            while frontier:  # each pose factor moves alone (one factor per action), so the masks are independent
                moved = {min(max(i + s, 0), int(size) - 1) for i in frontier for s in (self.step, -self.step)}
                frontier = [i for i in moved if not mask[i]]
                mask[frontier] = True
            masks.append(mask)
        return masks

    def check_state(self, start: Any) -> np.ndarray:
        """A start state as factors (K,) float64; raises ``ValueError`` for a wrong length or an off-grid value."""
        start = np.asarray(start, dtype=np.float64).reshape(-1)
        if start.size != len(self.world.factor_names):
            raise ValueError(f"The start state of PoseEnvironment needs {len(self.world.factor_names)} factors "
                             f"({self.world.factor_names}). Got {start.size}.")
        for j, spec in enumerate(self.world.factor_specs):
            spec.check(start[j:j + 1], what="start value")
        return start

    # ------------------------------------------------------------------ goals
    def goal_indices(self, goal: Mapping[str, float] | Sequence[float] | np.ndarray) -> np.ndarray:
        """Grid indices (P,) of a goal pose, given as ``{pose factor: value}`` (every pose factor)
        or values (P,) in ``pose_factors`` order, in world units.

        Raises
        ------
        UnknownNodeError
            A name that is not a pose factor.
        ValueError
            A missing pose factor, a wrong length, or a value outside the world's grid.
        """
        if isinstance(goal, Mapping):
            for name in goal:
                if name not in self.pose_factors:
                    raise UnknownNodeError(name, self.pose_factors, what="goal pose factor")
            missing = [n for n in self.pose_factors if n not in goal]
            if missing:
                raise ValueError(f"The goal of PoseEnvironment lacks pose factor(s) {missing}.")
            values = np.array([float(goal[n]) for n in self.pose_factors])
        else:
            values = np.asarray(goal, dtype=np.float64).reshape(-1)
            if values.size != len(self.pose_factors):
                raise ValueError(f"The goal of PoseEnvironment needs {len(self.pose_factors)} values (one per pose "
                                 f"factor {list(self.pose_factors)}). Got {values.size}.")
        for name, value in zip(self.pose_factors, values):
            self.world.spec(name).check(np.array([value]), what="goal value")
        return np.array([int(self.world.spec(n).index_of(np.array([v]))[0]) for n, v in zip(self.pose_factors,
                                                                                             values)])

    def random_task(self, seed: int | np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A start state (K,) drawn from the world and a goal pose (P,) in world units, drawn
        uniformly over the poses other than the start's that the actions can reach from it (all of
        them with ``step`` 1; see :meth:`reachable`)."""
        rng = as_generator(seed)
        start = self.world.sample(1, seed=rng).factors[0]
        start_index = self.pose_indices(start)[0]
        masks = self.reachable(start_index)
        while True:  # rejection keeps the draws of step 1 (every pose reachable) as they were
            goal_index = np.array([rng.integers(0, size) for size in self.grid_sizes])
            if np.any(goal_index != start_index) and all(mask[i] for mask, i in zip(masks, goal_index)):
                break
        goal = np.array([self.world.spec(n).values[i] for n, i in zip(self.pose_factors, goal_index)])
        return start, goal

    # ------------------------------------------------------------------ episodes
    def reset(self, start: np.ndarray, goal: Mapping[str, float] | Sequence[float] | np.ndarray, *,
              render_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Start an episode at factors ``start`` (K,) with goal pose ``goal``.

        Returns
        -------
        observation : np.ndarray
            (C, H, W) the rendered start state.
        goal_image : np.ndarray
            (C, H, W) the preferred observation: the start's object rendered at the goal pose.

        Raises
        ------
        ValueError
            A start state off the grid, a goal off the grid, or a goal the actions cannot reach from
            the start (possible with ``step`` > 1; see :meth:`reachable`).
        """
        start = self.check_state(start)
        goal_index = self.goal_indices(goal)
        masks = self.reachable(self.pose_indices(start)[0])
        unreachable = [name for name, mask, i in zip(self.pose_factors, masks, goal_index) if not mask[i]]
        if unreachable:  # the episode could never succeed, whatever the agent did
            raise ValueError(f"The goal of PoseEnvironment cannot be reached from the start state with moves of "
                             f"{self.step} grid steps (pose factor(s) {unreachable}). Got goal {goal!r}.")
        self.goal_ = goal_index
        self.state_ = start[None, :]
        self.render_seed_ = int(render_seed)
        observation = self.render(self.state_, self.render_seed_)[0]
        goal_image = self.render(self.with_pose(self.state_, self.goal_[None, :]), self.render_seed_)[0]
        return observation, goal_image

    def step_episode(self, action: int) -> tuple[np.ndarray, bool]:
        """Apply one action to the current episode; returns the new observation (C, H, W) and
        whether the goal is reached."""
        if self.state_ is None or self.goal_ is None:
            raise RuntimeError("PoseEnvironment.step_episode called before reset(start, goal).")
        self.state_ = self.transition(self.state_, np.array([action]))
        return self.render(self.state_, self.render_seed_)[0], bool(self.pose_error(self.state_, self.goal_)[0] == 0)

    @property
    def reached(self) -> bool:
        """Whether the current episode's pose is within one grid step of the goal."""
        if self.state_ is None or self.goal_ is None:
            raise RuntimeError("PoseEnvironment.reached read before reset(start, goal).")
        return bool(self.pose_error(self.state_, self.goal_)[0] == 0)

    def __repr__(self) -> str:
        return f"PoseEnvironment(world={self.world.name!r}, pose_factors={list(self.pose_factors)}, step={self.step})"
