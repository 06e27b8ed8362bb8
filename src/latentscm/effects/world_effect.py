"""Effect estimation on a procedural world's factors, scored against the world's exact effect.

A world knows its SCM (``world.scm``, hidden confounders included), so the effect an estimator should find
is known: :func:`world_effect` samples the factors, estimates the effect of one on another with the full
graph (hidden nodes are never adjusted for) and returns the estimate beside :func:`true_effect` of the same
contrast in the world's SCM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from latentscm._validation import check_number
from latentscm.effects.estimate import estimate_effect
from latentscm.effects.ground_truth import true_effect
from latentscm.effects.result import EffectEstimate

__all__ = ["WorldEffect", "world_effect"]


@dataclass(frozen=True)
class WorldEffect:
    """An estimate on a world's factors and the world's true effect of the same contrast."""

    world: str
    estimate: EffectEstimate
    truth: float
    truth_std_error: float

    @property
    def error(self) -> float:
        """``estimate - truth``."""
        return self.estimate.estimate - self.truth

    def to_dict(self) -> dict[str, Any]:
        from latentscm._io import json_ready

        return json_ready({"world": self.world, "estimate": self.estimate.to_dict(), "truth": self.truth,
                           "truth_std_error": self.truth_std_error, "error": self.error,
                           "covered": self.estimate.covers(self.truth)})

    def __str__(self) -> str:
        verdict = "covers" if self.estimate.covers(self.truth) else "misses"
        return (f"{self.estimate}\n  world {self.world!r}: true effect {self.truth:.4g} (Monte Carlo s.e. "
                f"{self.truth_std_error:.2g}); the interval {verdict} it; error {self.error:+.3g}")


def world_effect(world: Any, treatment: str, outcome: str, *, n: int = 2000, seed: int = 0,
                 contrast: Any = None, truth_samples: int = 100_000, **options: Any) -> WorldEffect:
    """Estimate the effect of factor ``treatment`` on factor ``outcome`` from ``n`` samples of ``world`` (a
    :class:`~latentscm.worlds.World` or a registered name) and compare it with the world's true effect.

    ``contrast`` defaults to the two values of a two-valued treatment, else the treatment's sampled quartiles
    (25% and 75%), so both values lie inside the world's range. ``options`` go to :func:`estimate_effect`;
    ``seed`` seeds the sample, the estimator and the truth's Monte Carlo (``truth_samples`` draws).
    """
    from latentscm.worlds import World, make

    owner = "world_effect"
    if isinstance(world, str):
        world = make(world)
    if not isinstance(world, World):
        raise TypeError(f"The 'world' argument of {owner} must be a World or a registered world name. "
                        f"Got {type(world).__name__}.")
    n = check_number(n, "n", owner, low=10, integer=True)
    seed = check_number(seed, "seed", owner, low=0, integer=True)
    truth_samples = check_number(truth_samples, "truth_samples", owner, low=2, integer=True)
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if not isinstance(name, str) or name not in world.factor_names:
            raise ValueError(f"The {role!r} argument of {owner} must be a factor of world {world.name!r} "
                             f"({world.factor_names}). Got {name!r}.")
    batch = world.sample(n, seed=seed)
    data = {name: np.asarray(batch.factors[:, j], dtype=np.float64) for j, name in enumerate(world.factor_names)}
    if contrast is None:
        levels = np.unique(data[treatment])
        contrast = tuple(levels.tolist()) if levels.size == 2 else tuple(
            np.quantile(data[treatment], [0.25, 0.75]).tolist())
    result = estimate_effect(data, world.scm.graph, treatment, outcome, contrast=contrast, seed=seed, **options)
    truth, truth_error = true_effect(world.scm, treatment, outcome, result.contrast, n=truth_samples, seed=seed)
    return WorldEffect(world=world.name, estimate=result, truth=truth, truth_std_error=truth_error)
