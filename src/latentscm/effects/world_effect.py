"""Effect estimation on a procedural world's factors, scored against the world's exact effect.

A world knows its SCM (``world.scm``, hidden confounders included), so the effect an estimator should find
is known: :func:`world_effect` samples the factors, estimates the effect of one on another with the full
graph (hidden nodes are never adjusted for) and returns the estimate beside :func:`true_effect` of the same
contrast in the world's SCM. :func:`world_mediation` does the same for the natural direct and indirect effects
through given factors, against :func:`~latentscm.effects.true_mediation` (the world's own nested counterfactuals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from latentscm._validation import check_number
from latentscm.effects.estimate import estimate_effect
from latentscm.effects.ground_truth import true_effect
from latentscm.effects.result import EffectEstimate

__all__ = ["WorldEffect", "WorldMediation", "world_effect", "world_mediation"]


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


@dataclass(frozen=True)
class WorldMediation:
    """A mediation analysis on a world's factors and the world's true effects of the same contrast."""

    world: str
    result: Any  # MediationResult
    truth: dict[str, tuple[float, float]]

    def covered(self) -> dict[str, bool]:
        """``{effect: whether its interval holds the true value}`` for every effect the truth has."""
        return {name: item.covers(self.truth[name][0]) for name, item in self.result.effects.items()
                if name in self.truth}

    def to_dict(self) -> dict[str, Any]:
        from latentscm._io import json_ready

        return json_ready({"world": self.world, "result": self.result.to_dict(),
                           "truth": {k: {"value": v[0], "std_error": v[1]} for k, v in self.truth.items()},
                           "covered": self.covered()})

    def __str__(self) -> str:
        lines = [str(self.result), f"  world {self.world!r}, true effects (Monte Carlo s.e.):"]
        for name, hit in self.covered().items():
            value, error = self.truth[name]
            lines.append(f"  {name:<20} {value:>10.4g} ({error:.2g})  the interval {'covers' if hit else 'misses'} it")
        return "\n".join(lines)


def _factors(world: Any, owner: str, n: int, seed: int, **roles: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """The world (made from a name), checked, and ``n`` samples of its factors ``{name: (n,)}``."""
    from latentscm.worlds import World, make

    if isinstance(world, str):
        world = make(world)
    if not isinstance(world, World):
        raise TypeError(f"The 'world' argument of {owner} must be a World or a registered world name. "
                        f"Got {type(world).__name__}.")
    for role, names in roles.items():
        for name in [names] if isinstance(names, str) or names is None else names:
            if not isinstance(name, str) or name not in world.factor_names:
                what = "name factors" if role == "mediators" else "be a factor"
                raise ValueError(f"The {role!r} argument of {owner} must {what} of world {world.name!r} "
                                 f"({world.factor_names}). Got {name!r}.")
    batch = world.sample(n, seed=seed)
    return world, {name: np.asarray(batch.factors[:, j], dtype=np.float64)
                   for j, name in enumerate(world.factor_names)}


def _default_contrast(values: np.ndarray) -> tuple[float, ...]:
    """The two values of a two-valued treatment, else its sampled quartiles (25% and 75%)."""
    levels = np.unique(values)
    return tuple(levels.tolist()) if levels.size == 2 else tuple(np.quantile(values, [0.25, 0.75]).tolist())


def world_mediation(world: Any, treatment: str, outcome: str, mediators: Any, *, n: int = 2000, seed: int = 0,
                    contrast: Any = None, truth_samples: int = 100_000, **options: Any) -> WorldMediation:
    """The natural effects of factor ``treatment`` on factor ``outcome`` through the factors ``mediators``, from
    ``n`` samples of ``world`` with its graph (:func:`~latentscm.effects.mediation_analysis`; ``options`` go there),
    beside the world's true effects of the same contrast. ``contrast`` defaults as in :func:`world_effect`."""
    from latentscm.effects.ground_truth import true_mediation
    from latentscm.effects.mediation import mediation_analysis

    owner = "world_mediation"
    n = check_number(n, "n", owner, low=10, integer=True)
    seed = check_number(seed, "seed", owner, low=0, integer=True)
    truth_samples = check_number(truth_samples, "truth_samples", owner, low=2, integer=True)
    world, data = _factors(world, owner, n, seed, treatment=treatment, outcome=outcome, mediators=mediators)
    contrast = _default_contrast(data[treatment]) if contrast is None else contrast
    result = mediation_analysis(data, world.scm.graph, treatment, outcome, mediators, contrast=contrast, seed=seed,
                                **options)
    truth = true_mediation(world.scm, treatment, outcome, result.mediators, result.contrast, n=truth_samples,
                           seed=seed, **({"controlled": options["controlled"]} if "controlled" in options else {}))
    return WorldMediation(world=world.name, result=result, truth=truth)


def world_effect(world: Any, treatment: str, outcome: str, *, n: int = 2000, seed: int = 0,
                 contrast: Any = None, truth_samples: int = 100_000, **options: Any) -> WorldEffect:
    """Estimate the effect of factor ``treatment`` on factor ``outcome`` from ``n`` samples of ``world`` (a
    :class:`~latentscm.worlds.World` or a registered name) and compare it with the world's true effect.

    ``contrast`` defaults to the two values of a two-valued treatment, else the treatment's sampled quartiles
    (25% and 75%), so both values lie inside the world's range. ``options`` go to :func:`estimate_effect`;
    ``seed`` seeds the sample, the estimator and the truth's Monte Carlo (``truth_samples`` draws).
    """
    owner = "world_effect"
    n = check_number(n, "n", owner, low=10, integer=True)
    seed = check_number(seed, "seed", owner, low=0, integer=True)
    truth_samples = check_number(truth_samples, "truth_samples", owner, low=2, integer=True)
    world, data = _factors(world, owner, n, seed, treatment=treatment, outcome=outcome)
    if contrast is None:
        contrast = _default_contrast(data[treatment])
    result = estimate_effect(data, world.scm.graph, treatment, outcome, contrast=contrast, seed=seed, **options)
    truth, truth_error = true_effect(world.scm, treatment, outcome, result.contrast, n=truth_samples, seed=seed)
    return WorldEffect(world=world.name, estimate=result, truth=truth, truth_std_error=truth_error)
