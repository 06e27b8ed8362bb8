"""The true average causal effect, and the true natural direct and indirect effects, of an SCM, for checking
estimators against.

``E[Y | do(T = t1)] - E[Y | do(T = t0)]`` by Monte Carlo with common random numbers: the same exogenous
noise is pushed through both intervened models, so the average is over unit-level effects. For a linear
SCM every unit has the same effect, and the result is exact up to rounding.

The natural effects need the nested counterfactual ``Y(t, M(s))`` of every unit: its mediators are computed under
``do(T = s)`` from its noise, then fixed, unit by unit, while the treatment is set to ``t`` and the same noise
gives the outcome (the cross-world counterfactual that only a structural model defines; Pearl, UAI 2001).

The conditional effects of :func:`true_conditional_effects` hold each unit's pre-treatment state (the noise of
every node that does not descend from the treatment) and average its effect over fresh noise of the treatment's
descendants: the CATE given everything the treatment cannot move, beside the unit's own individual effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentscm._validation import check_number

__all__ = ["ConditionalTruth", "true_conditional_effects", "true_effect", "true_mediation"]


def _roles(scm: Any, owner: str, **roles: str) -> None:
    from latentscm.scm.scm import SCM

    if not isinstance(scm, SCM):
        raise TypeError(f"The 'scm' argument of {owner} must be a latentscm SCM. Got {type(scm).__name__}.")
    for role, name in roles.items():
        if not isinstance(name, str):
            raise TypeError(f"The {role!r} argument of {owner} must be one node name. Got {name!r}.")
        scm.graph.check_node(name)


def _pair(contrast: Any, owner: str) -> tuple[float, float]:
    if not isinstance(contrast, (Sequence, np.ndarray)) or isinstance(contrast, (str, bytes)) or len(contrast) != 2:
        raise ValueError(f"The 'contrast' argument of {owner} must be two treatment values (t0, t1). "
                         f"Got {contrast!r}.")
    t0, t1 = (check_number(v, "contrast", owner) for v in contrast)
    return t0, t1


def true_effect(scm: Any, treatment: str, outcome: str, contrast: tuple[float, float] = (0.0, 1.0), *,
                n: int = 200_000, seed: int | np.random.Generator = 0) -> tuple[float, float]:
    """The effect of moving ``treatment`` from ``contrast[0]`` to ``contrast[1]`` on ``outcome`` in ``scm``
    (a :class:`~latentscm.scm.SCM`). Returns ``(effect, monte_carlo_std_error)``."""
    owner = "true_effect"
    _roles(scm, owner, treatment=treatment, outcome=outcome)
    if treatment == outcome:
        raise ValueError(f"{owner}: 'treatment' and 'outcome' are both {treatment!r}.")
    n = check_number(n, "n", owner, low=2, integer=True)
    t0, t1 = _pair(contrast, owner)
    noise = scm.sample_noise(n, seed=seed)
    low = scm.do({treatment: t0}).evaluate(noise)[outcome]
    high = scm.do({treatment: t1}).evaluate(noise)[outcome]
    unit = high - low
    return float(np.mean(unit)), float(np.std(unit, ddof=1) / np.sqrt(n))


def true_mediation(scm: Any, treatment: str, outcome: str, mediators: Sequence[str] | str,
                   contrast: tuple[float, float] = (0.0, 1.0), *, kind: str = "natural",
                   covariates: Sequence[str] | str = (), controlled: dict[str, float] | None = None,
                   n: int = 200_000,
                   seed: int | np.random.Generator = 0) -> dict[str, tuple[float, float]]:
    """The natural (or interventional) effects of ``treatment`` on ``outcome`` through ``mediators`` in ``scm``, by
    Monte Carlo over ``n`` units: ``{name: (effect, monte_carlo_std_error)}`` for every name of
    :data:`~latentscm.effects.mediation.MEDIATION_EFFECTS` (``total``, ``direct``, ``indirect``,
    ``direct_treated``, ``indirect_control``), and ``"Y(t, M(s))"`` for the four nested means.

    ``kind="interventional"``: the mediators are a random draw ``G(s | W)`` from their distribution under
    ``do(T = s)`` given ``covariates`` W (VanderWeele, Vansteelandt & Robins 2014), made exact by recomputing them
    from fresh noise for every node outside W. W must then hold the parents of its nodes (closed under ancestors),
    so that fixing W's noise fixes W and nothing else. The interventional effects depend on W; with no intermediate
    confounders and a W that satisfies the mediation formula's conditions, they equal the natural effects.

    ``controlled``: ``{mediator: value}`` for every mediator adds ``"controlled_direct"``,
    ``E[Y | do(T = t1, M = m)] - E[Y | do(T = t0, M = m)]``."""
    from latentscm._validation import as_generator, check_choice
    from latentscm.effects.adjustment import _names
    from latentscm.effects.mediation import MEDIATION_EFFECTS, mean_label
    from latentscm.effects.mediation_identification import mediation_roles
    from latentscm.interventions import Do

    owner = "true_mediation"
    _roles(scm, owner, treatment=treatment, outcome=outcome)
    _, _, names = mediation_roles(scm.graph, treatment, outcome, mediators, owner)
    check_choice(kind, "kind", owner, ("natural", "interventional"))
    w = _names(scm.graph, covariates, "covariates", owner, empty=True)
    if kind == "natural" and w:
        raise ValueError(f"The 'covariates' argument of {owner} defines the interventional effects' draw G(s | W); "
                         f"the natural effects need none (pass kind='interventional').")
    late = sorted(w & ({treatment, outcome, *names} | scm.graph.descendants(treatment)))
    if late:
        raise ValueError(f"The 'covariates' argument of {owner} names {late}: the treatment, outcome, a mediator or "
                         f"a descendant of the treatment.")
    open_parents = sorted({p for v in w for p in scm.graph.parents(v)} - w)
    if open_parents:
        raise ValueError(f"The 'covariates' argument of {owner} must hold the parents of its nodes; add "
                         f"{open_parents}.")
    n = check_number(n, "n", owner, low=2, integer=True)
    values = _pair(contrast, owner)
    rng = as_generator(seed)
    noise = scm.sample_noise(n, seed=rng)
    draw = noise
    if kind == "interventional":
        fresh = scm.sample_noise(n, seed=rng)
        draw = {v: noise[v] if v in w else fresh[v] for v in noise}
    held = {s: scm.do({treatment: values[s]}).evaluate(draw) for s in (0, 1)}
    unit = {(a, b): scm.do({treatment: values[a], **{v: Do(held[b][v]) for v in names}}).evaluate(noise)[outcome]
            for a in (0, 1) for b in (0, 1)}
    out = {}
    if controlled is not None:
        if not isinstance(controlled, dict) or set(controlled) != set(names):
            raise ValueError(f"The 'controlled' argument of {owner} must map every mediator {list(names)} to a value. "
                             f"Got {controlled!r}.")
        fixed = {v: check_number(controlled[v], "controlled", owner) for v in names}
        ends = [scm.do({treatment: values[a], **fixed}).evaluate(noise)[outcome] for a in (0, 1)]
        diff = ends[1] - ends[0]
        out["controlled_direct"] = (float(np.mean(diff)), float(np.std(diff, ddof=1) / np.sqrt(n)))
    for name, (high, low) in MEDIATION_EFFECTS.items():
        diff = unit[high] - unit[low]
        out[name] = (float(np.mean(diff)), float(np.std(diff, ddof=1) / np.sqrt(n)))
    for (a, b), outcome_values in unit.items():
        out[mean_label(values[a], values[b])] = (float(np.mean(outcome_values)),
                                                 float(np.std(outcome_values, ddof=1) / np.sqrt(n)))
    return out


@dataclass(frozen=True)
class ConditionalTruth:
    """Units of an SCM, their observed values and their true effects.

    Attributes
    ----------
    data:
        ``{node: (n,)}``, the units' observational values (hidden nodes included; drop them before estimating).
    cate, cate_std_error:
        (n,) each unit's ``E[Y(t1) - Y(t0) | its pre-treatment state]`` and the Monte Carlo standard error.
    individual:
        (n,) each unit's own effect ``Y(t1) - Y(t0)`` (its noise in both worlds).
    contrast:
        ``(t0, t1)``.
    """

    data: dict[str, np.ndarray]
    cate: np.ndarray
    cate_std_error: np.ndarray
    individual: np.ndarray
    contrast: tuple[float, float]


def true_conditional_effects(scm: Any, treatment: str, outcome: str, contrast: tuple[float, float] = (0.0, 1.0), *,
                             n: int = 2000, draws: int = 200, seed: int | np.random.Generator = 0
                             ) -> ConditionalTruth:
    """``n`` units of ``scm`` with their exact conditional effects of moving ``treatment`` from ``contrast[0]`` to
    ``contrast[1]`` on ``outcome``: each unit keeps the noise of every node that does not descend from the
    treatment, and the noise of its descendants is redrawn ``draws`` times (the same draws in both worlds), so
    ``cate`` is the effect given the unit's whole pre-treatment state. With an additive outcome noise and no
    noisy mediator, ``cate`` equals ``individual``."""
    from latentscm._validation import as_generator

    owner = "true_conditional_effects"
    _roles(scm, owner, treatment=treatment, outcome=outcome)
    if treatment == outcome:
        raise ValueError(f"{owner}: 'treatment' and 'outcome' are both {treatment!r}.")
    n = check_number(n, "n", owner, low=2, integer=True)
    draws = check_number(draws, "draws", owner, low=2, integer=True)
    if n * draws > 20_000_000:
        raise ValueError(f"{owner}: n * draws = {n * draws} exceeds 20,000,000 evaluations per world; lower 'n' or "
                         f"'draws'.")
    t0, t1 = _pair(contrast, owner)
    rng = as_generator(seed)
    noise = scm.sample_noise(n, seed=rng)
    data = scm.evaluate(noise)
    worlds = [scm.do({treatment: value}) for value in (t0, t1)]
    individual = worlds[1].evaluate(noise)[outcome] - worlds[0].evaluate(noise)[outcome]
    moved = scm.graph.descendants(treatment) | {treatment}
    fresh = scm.sample_noise(n * draws, seed=rng)
    tiled = {v: fresh[v] if v in moved else np.repeat(noise[v], draws, axis=0) for v in noise}
    unit = (worlds[1].evaluate(tiled)[outcome] - worlds[0].evaluate(tiled)[outcome]).reshape(n, draws)
    return ConditionalTruth(data=data, cate=unit.mean(axis=1), cate_std_error=unit.std(axis=1, ddof=1) / np.sqrt(draws),
                            individual=individual, contrast=(t0, t1))
