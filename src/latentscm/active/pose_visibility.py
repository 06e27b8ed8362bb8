"""Does a world model see the pose at all? Latent and pixel sensitivity to the pose factors.

An expected-free-energy agent can only steer toward a goal view if its world model's posterior
moves when the pose moves. This diagnostic sweeps each pose factor over its whole grid with every
other factor fixed (for ``n_states`` random states), encodes the exact renders, and compares how
far the posterior means move across the sweep with how uncertain the posterior is:

``visibility[p, j] = mean over states of std over the grid of mean_j / mean over states and grid of sigma_j``

A unit with visibility well above 1 separates the poses; a model whose every unit has visibility
≲ 1 cannot tell the poses apart, and no planner on top of it can reach a goal view except by
chance. The pixel side says how much the pose changes the images at all: the mean absolute pixel
difference between adjacent grid values and between the two ends of the grid.

Shapes: P pose factors, D latent units.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.active.environment import PoseEnvironment

__all__ = ["pose_visibility"]


def pose_visibility(model: Any, env: Any, *, n_states: int = 20, seed: int = 0) -> dict[str, Any]:
    """Posterior-mean spread across each pose factor's grid against the posterior's own spread.

    Parameters
    ----------
    model : WorldModel
        A fitted world model (``infer(images) -> (mean, logvar)``).
    env : PoseEnvironment
        The environment whose pose factors are swept.
    n_states : int >= 1, default 20
        Random states (drawn from the world) whose pose is swept.
    seed : int, default 0
        Seeds the states.

    Returns
    -------
    dict
        ``pose_factors`` (P,); ``visibility`` (P, D) lists; ``best_unit_visibility`` (P,) the
        largest entry per pose factor; ``pixel_adjacent`` and ``pixel_ends`` (P,) mean absolute
        pixel differences between adjacent grid values / the grid's two ends, averaged over states.
    """
    owner = "pose_visibility"
    if not callable(getattr(model, "infer", None)):
        raise TypeError(f"{owner} needs a fitted world model with infer(); got {type(model).__name__}.")
    if not isinstance(env, PoseEnvironment):
        raise TypeError(f"The 'env' argument of {owner} must be a PoseEnvironment. Got {type(env).__name__}.")
    n_states = int(check_number(n_states, "n_states", owner, low=1, integer=True))
    if isinstance(seed, np.random.Generator):  # the result records its seed: it must be one that JSON can hold
        raise TypeError(f"The 'seed' argument of {owner} must be an int (it is recorded in the result). Got a "
                        f"numpy Generator.")
    seed = int(check_number(seed, "seed", owner, low=0, integer=True))
    rng = as_generator(seed)
    states = env.world.sample(n_states, seed=int(rng.integers(0, 2 ** 31 - 1))).factors
    visibility, adjacent, ends = [], [], []
    for p, size in enumerate(int(s) for s in env.grid_sizes):
        spreads, sigmas, adjacent_p, ends_p = [], [], [], []
        for state in states:
            index = np.repeat(env.pose_indices(state[None]), size, axis=0)
            index[:, p] = np.arange(size)
            images = env.render(env.with_pose(np.repeat(state[None], size, axis=0), index))
            mean, logvar = model.infer(images)
            spreads.append(mean.std(axis=0))
            sigmas.append(np.exp(0.5 * logvar).mean(axis=0))
            adjacent_p.append(float(np.abs(np.diff(images, axis=0)).mean()))
            ends_p.append(float(np.abs(images[-1] - images[0]).mean()))
        visibility.append(np.mean(spreads, axis=0) / np.maximum(np.mean(sigmas, axis=0), 1e-12))
        adjacent.append(float(np.mean(adjacent_p)))
        ends.append(float(np.mean(ends_p)))
    table = np.stack(visibility)
    return {"pose_factors": list(env.pose_factors), "visibility": table.tolist(),
            "best_unit_visibility": table.max(axis=1).tolist(), "pixel_adjacent": adjacent, "pixel_ends": ends,
            "n_states": n_states, "seed": seed}
