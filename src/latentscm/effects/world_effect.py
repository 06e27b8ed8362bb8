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

    def plot(self, ax: Any = None) -> Any:
        """:meth:`MediationResult.plot` with each effect's true value as a red cross; returns the Axes."""
        ax = self.result.plot(ax)
        names = [k for k in self.result.effects if k != "proportion_mediated"]
        rows = np.arange(len(names))[::-1]
        marked = [(self.truth[k][0], row) for k, row in zip(names, rows) if k in self.truth]
        if marked:
            ax.plot(*zip(*marked), "x", color="tab:red", ms=8, label=f"true value in world {self.world!r}")
            ax.legend(fontsize=8, loc="best")
        return ax

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
    """The world (made from a name), checked, and ``n`` samples of its factors ``{name: (n,)}``. Each role names one
    factor, ``mediators`` one or a list; a categorical factor (one with labels) of more than two values is refused,
    since the estimators treat a factor's values as numbers and its codes are not."""
    from latentscm.worlds import World, make

    if isinstance(world, str):
        world = make(world)
    if not isinstance(world, World):
        raise TypeError(f"The 'world' argument of {owner} must be a World or a registered world name. "
                        f"Got {type(world).__name__}.")
    for role, names in roles.items():
        listed = role == "mediators" and not isinstance(names, str) and isinstance(names, (list, tuple))
        for name in names if listed else [names]:
            if not isinstance(name, str) or name not in world.factor_names:
                what = "name factors" if role == "mediators" else "be a factor"
                raise ValueError(f"The {role!r} argument of {owner} must {what} of world {world.name!r} "
                                 f"({world.factor_names}). Got {names!r}.")
            labels = world.spec(name).labels
            if labels is not None and len(labels) > 2:
                raise ValueError(f"The {role!r} argument of {owner} names {name!r}, a categorical factor of world "
                                 f"{world.name!r} ({', '.join(labels)}): its codes are not numbers, so an effect "
                                 f"linear in them has no meaning. Use a numeric factor, or sample the world and "
                                 f"estimate from indicator columns of {name!r}.")
    batch = world.sample(n, seed=seed)
    return world, {name: np.asarray(batch.factors[:, j], dtype=np.float64)
                   for j, name in enumerate(world.factor_names)}


def _default_contrast(values: np.ndarray, *, discrete: bool = False, name: str = "treatment",
                      owner: str = "world_effect") -> tuple[float, float]:
    """Two different values of the treatment ``values`` (n,): both values of a two-valued one, else its sampled
    quartiles (25% and 75%; values the sample holds when the factor is ``discrete``, so on its grid). Where the
    quartiles coincide (one value holds the middle half), the next value the sample holds above it (below it at the
    top)."""
    levels = np.unique(values)
    if levels.size < 2:
        raise ValueError(f"Factor {name!r} takes one value ({levels.tolist()}) in the sample of {owner}, so no "
                         f"contrast can be drawn from it; pass 'contrast' or sample more.")
    if levels.size == 2:
        return float(levels[0]), float(levels[1])
    low, high = np.quantile(values, [0.25, 0.75], method="inverted_cdf" if discrete else "linear").tolist()
    if low == high:
        at = int(np.searchsorted(levels, low))
        low, high = (low, float(levels[at + 1])) if at + 1 < levels.size else (float(levels[at - 1]), low)
    return float(low), float(high)


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
    if contrast is None:
        contrast = _default_contrast(data[treatment], discrete=world.spec(treatment).discrete, name=treatment,
                                     owner=owner)
    result = mediation_analysis(data, world.scm.graph, treatment, outcome, mediators, contrast=contrast, seed=seed,
                                **options)
    # interventional estimates (given intermediate confounders) are scored against the interventional truth over the
    # covariates the analysis used: the mediators drawn given them, not the natural nested counterfactuals
    kind = {"kind": "interventional", "covariates": list(result.covariates)} \
        if result.info["effects"] == "interventional" else {}
    truth = true_mediation(world.scm, treatment, outcome, result.mediators, result.contrast, n=truth_samples,
                           seed=seed, **kind,
                           **({"controlled": options["controlled"]} if "controlled" in options else {}))
    return WorldMediation(world=world.name, result=result, truth=truth)


def world_effect(world: Any, treatment: str, outcome: str, *, n: int = 2000, seed: int = 0,
                 contrast: Any = None, truth_samples: int = 100_000, **options: Any) -> WorldEffect:
    """Estimate the effect of factor ``treatment`` on factor ``outcome`` from ``n`` samples of ``world`` (a
    :class:`~latentscm.worlds.World` or a registered name) and compare it with the world's true effect.

    ``contrast`` defaults to the two values of a two-valued treatment, else the treatment's sampled quartiles
    (25% and 75%; sampled values, so on the grid, for a discrete factor), so both values lie inside the world's
    range; where the quartiles coincide, the next value the sample holds. A categorical factor (labels) of more
    than two values is refused in any role. ``options`` go to :func:`estimate_effect`;
    ``seed`` seeds the sample, the estimator and the truth's Monte Carlo (``truth_samples`` draws).
    """
    owner = "world_effect"
    n = check_number(n, "n", owner, low=10, integer=True)
    seed = check_number(seed, "seed", owner, low=0, integer=True)
    truth_samples = check_number(truth_samples, "truth_samples", owner, low=2, integer=True)
    world, data = _factors(world, owner, n, seed, treatment=treatment, outcome=outcome)
    if contrast is None:
        contrast = _default_contrast(data[treatment], discrete=world.spec(treatment).discrete, name=treatment,
                                     owner=owner)
    result = estimate_effect(data, world.scm.graph, treatment, outcome, contrast=contrast, seed=seed, **options)
    truth, truth_error = true_effect(world.scm, treatment, outcome, result.contrast, n=truth_samples, seed=seed)
    return WorldEffect(world=world.name, estimate=result, truth=truth, truth_std_error=truth_error)
