"""Seeded transition data ``(image_t, action, image_t+1)`` from a :class:`PoseEnvironment`.

States are drawn from the world (its SCM and grid), actions uniformly over the environment's
action set, next states by the environment's exact dynamics, and both images rendered exactly
(with the same render seed, so a random renderer keeps the object's colour across the pair).
Both world models of :mod:`latentscm.active` are trained on the same :class:`Transitions`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.active.environment import PoseEnvironment
from latentscm.worlds.batch import RENDER_SEED

__all__ = ["Transitions", "sample_transitions"]


@dataclass(frozen=True)
class Transitions:
    """N transitions.

    Attributes
    ----------
    images : np.ndarray
        (N, C, H, W) float32 observations at time t.
    actions : np.ndarray
        (N,) int64 action indices.
    next_images : np.ndarray
        (N, C, H, W) float32 observations at time t + 1.
    factors, next_factors : np.ndarray
        (N, K) float64 true states at t and t + 1.
    """

    images: np.ndarray
    actions: np.ndarray
    next_images: np.ndarray
    factors: np.ndarray
    next_factors: np.ndarray

    def __len__(self) -> int:
        return int(self.actions.shape[0])


def sample_transitions(env: PoseEnvironment, n: int, *, seed: int | np.random.Generator) -> Transitions:
    """Draw ``n`` transitions from ``env`` (seeded: the same seed gives the same arrays).

    Parameters
    ----------
    env : PoseEnvironment
        The environment (world, pose factors, step).
    n : int
        Number of transitions (>= 1).
    seed : int or numpy Generator
        Seeds states, render seeds and actions.

    Returns
    -------
    Transitions
        Images (n, C, H, W), actions (n,), next images, and the true factors of both.
    """
    if not isinstance(env, PoseEnvironment):
        raise TypeError(f"sample_transitions expects a PoseEnvironment. Got {type(env).__name__}.")
    n = check_number(n, "n", "sample_transitions", low=1, integer=True)
    rng = as_generator(seed)
    batch = env.world.sample(n, seed=rng)
    actions = rng.integers(0, env.n_actions, size=n).astype(np.int64)
    next_factors = env.transition(batch.factors, actions)
    seeds = batch.noise.get(RENDER_SEED)
    next_images = env.world.render(next_factors, render_seeds=seeds)
    return Transitions(batch.images, actions, next_images, batch.factors, next_factors)
