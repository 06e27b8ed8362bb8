"""When does a causal DAG identify the natural direct and indirect effects through given mediators?

The natural effects compare the nested counterfactual means ``ψ(t, t*) = E[Y(t, M(t*))]``: the outcome with the
treatment set to ``t`` and the mediators ``M`` held at the values they would take under ``t*`` (Robins & Greenland
1992; Pearl, UAI 2001). They are identified by the *mediation formula*

    ψ(t, t*) = Σ_w P(w) Σ_m P(m | t*, w) E[Y | t, m, w]

when covariates ``W`` give the four conditions of VanderWeele & Vansteelandt (Stat. Interface 2009), sequential
ignorability in the words of Imai, Keele & Yamamoto (Stat. Sci. 2010): no unblocked confounding of treatment and
outcome, of treatment and mediators, of mediators and outcome given the treatment, and no mediator–outcome
confounder that the treatment affects (a "recanting witness", Avin, Shpitser & Pearl, IJCAI 2005). In a DAG, with
``W`` free of descendants of ``T``, they read (after Pearl, Psychological Methods 2014):

(a) ``W`` d-separates ``T`` from ``M ∪ {Y}`` once the edges out of ``T`` are removed (the back-door criterion for the
    joint effect of ``T`` on the mediators and the outcome);
(b) ``W ∪ {T}`` d-separates ``M`` from ``Y`` once the edges out of the mediators are removed (the back-door
    criterion for the effect of the mediators on the outcome).

A descendant ``L`` of ``T`` that confounds ``M`` and ``Y`` opens a path ``M ← … L … → Y`` that (b) cannot close
(``L`` is neither ``T`` nor allowed in ``W``), so (b) also rules out the recanting witness. Hidden nodes (nodes that
are not columns) are never in ``W``; a hidden confounder of ``M`` and ``Y`` makes (b) fail, as it should.

With such an observed intermediate confounder ``L`` the natural effects are not identified (Avin, Shpitser & Pearl
2005), but the *interventional* effects are (VanderWeele, Vansteelandt & Robins, Epidemiology 2014): they replace
``M(s)`` by a random draw ``G(s | W)`` from the mediators' distribution under ``do(T = s)`` given ``W``, and

    E[Y(t, G(s | W))] = Σ_w P(w) Σ_l P(l | t, w) Σ_m P(m | s, w) E[Y | t, l, m, w].

Their conditions, with ``intermediates = L`` (descendants of ``T``, not of a mediator): (a') ``W`` d-separates ``T``
from ``M ∪ L ∪ {Y}`` in the graph without ``T``'s out-edges, and (b') ``W ∪ L ∪ {T}`` d-separates ``M`` from ``Y``
in the graph without the mediators' out-edges. With ``L`` empty they are (a) and (b), and the interventional
effects equal the natural ones.

:func:`mediation_covariates` searches ``W`` among the observed non-descendants of ``T``: by the ancestral-set
argument of van der Zander, Liśkiewicz & Textor (AIJ 2019; applied to (a) and (b) separately, whose allowed and
ancestral sets coincide here), ``An(T ∪ M ∪ Y) ∩ observed ∖ De(T)`` satisfies both whenever any
set does, so a failure there proves that no set of observed covariates works, and the search is complete.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from latentscm._validation import check_choice
from latentscm.effects.adjustment import _names, _order, drop_while_valid
from latentscm.exceptions import LatentSCMError
from latentscm.graph import CausalGraph

__all__ = ["MEDIATION_COVARIATES", "NoMediationFormulaError", "is_mediation_identified", "mediation_covariates",
           "mediation_roles", "intermediate_roles", "search_covariates", "suggest_intermediates"]

#: The rules of :func:`mediation_covariates`: ``"minimal"`` (no single covariate can be dropped) and
#: ``"ancestral"`` (every observed non-descendant of the treatment that is an ancestor of T, M or Y).
MEDIATION_COVARIATES = ("minimal", "ancestral")


class NoMediationFormulaError(LatentSCMError, ValueError):
    """No set of observed covariates makes the mediation formula hold for these mediators in the given graph."""


def mediation_roles(graph: CausalGraph, treatment: Any, outcome: Any, mediators: Any, owner: str
                    ) -> tuple[str, str, tuple[str, ...]]:
    """``(treatment, outcome, mediators)`` checked against ``graph``: one treatment and one outcome node, at least
    one mediator, all distinct; every mediator a descendant of the treatment and none a descendant of the outcome."""
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if not isinstance(name, str):
            raise TypeError(f"The {role!r} argument of {owner} must be one node name. Got {name!r}.")
    m = _names(graph, mediators, "mediators", owner)
    if treatment == outcome:
        raise ValueError(f"{owner}: 'treatment' and 'outcome' are both {treatment!r}.")
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if name in m:
            raise ValueError(f"The 'mediators' argument of {owner} holds the {role} {name!r}.")
    downstream = graph.descendants(treatment)
    outside = [v for v in _order(graph, m) if v not in downstream]
    if outside:
        raise ValueError(f"The 'mediators' argument of {owner} names {outside}, which are not descendants of the "
                         f"treatment {treatment!r}: the treatment cannot act through them.")
    after = [v for v in _order(graph, m) if v in graph.descendants(outcome)]
    if after:
        raise ValueError(f"The 'mediators' argument of {owner} names {after}, which are descendants of the outcome "
                         f"{outcome!r}: a mediator lies between the treatment and the outcome.")
    return treatment, outcome, _order(graph, m)


def intermediate_roles(graph: CausalGraph, treatment: str, outcome: str, mediators: tuple[str, ...],
                       intermediates: Any, owner: str) -> tuple[str, ...]:
    """The intermediate confounders ``L`` checked: nodes other than the treatment, outcome and mediators, each a
    descendant of the treatment and none a descendant of a mediator or the outcome. In node order; may be empty."""
    ell = _names(graph, intermediates, "intermediate_confounders", owner, empty=True)
    taken = sorted(ell & {treatment, outcome, *mediators})
    if taken:
        raise ValueError(f"The 'intermediate_confounders' argument of {owner} names {taken}, the treatment, outcome "
                         f"or a mediator.")
    early = [v for v in _order(graph, ell) if v not in graph.descendants(treatment)]
    if early:
        raise ValueError(f"The 'intermediate_confounders' argument of {owner} names {early}, which are not "
                         f"descendants of the treatment {treatment!r}: adjust for them as covariates instead.")
    late = [v for v in _order(graph, ell) if v in graph.descendants_of([*mediators, outcome])]
    if late:
        raise ValueError(f"The 'intermediate_confounders' argument of {owner} names {late}, which are descendants of "
                         f"a mediator or the outcome: an intermediate confounder lies between the treatment and the "
                         f"mediators.")
    return _order(graph, ell)


def _cut_outgoing(graph: CausalGraph, nodes: Iterable[str]) -> CausalGraph:
    nodes = set(nodes)
    return CausalGraph([e for e in graph.edges if e[0] not in nodes], nodes=graph.nodes)


def _failure(graph: CausalGraph, t: str, y: str, m: tuple[str, ...], w: frozenset[str],
             ell: tuple[str, ...] = ()) -> str | None:
    """Why ``w`` does not identify the natural effects (or, with intermediate confounders ``ell``, the
    interventional ones): a sentence, or None when it does."""
    bad = sorted(w & ({t, y} | set(m) | set(ell)))
    if bad:
        return f"the covariates include the treatment, outcome, a mediator or an intermediate confounder ({bad})"
    late = sorted(w & graph.descendants(t))
    if late:
        return f"the covariates {late} are descendants of the treatment"
    if not _cut_outgoing(graph, [t]).d_separated(t, {y, *m, *ell}, w):
        also = ", intermediate confounders" if ell else ""
        return (f"a back-door path from the treatment {t!r} to the mediators{also} or the outcome stays open "
                f"given {sorted(w) or 'nothing'} (unblocked treatment confounding)")
    given = sorted(w | set(ell))
    if not _cut_outgoing(graph, m).d_separated(set(m), y, w | set(ell) | {t}):
        return (f"a back-door path from the mediators {list(m)} to the outcome {y!r} stays open given the treatment "
                f"and {given or 'nothing else'} (mediator-outcome confounding: a hidden confounder, or one the "
                f"treatment affects)")
    return None


def is_mediation_identified(graph: CausalGraph, treatment: str, outcome: str, mediators: Iterable[str] | str,
                            covariates: Iterable[str] | str = (), *,
                            intermediate_confounders: Iterable[str] | str = ()) -> bool:
    """Whether ``covariates`` make the mediation formula hold for the natural effects of ``treatment`` on
    ``outcome`` through ``mediators`` in the DAG ``graph`` (conditions (a) and (b) of the module docstring, with
    covariates that are not descendants of the treatment), or, given ``intermediate_confounders``, the
    interventional effects' formula (conditions (a') and (b'))."""
    owner = "is_mediation_identified"
    t, y, m = mediation_roles(graph, treatment, outcome, mediators, owner)
    ell = intermediate_roles(graph, t, y, m, intermediate_confounders, owner)
    w = _names(graph, covariates, "covariates", owner, empty=True)
    return _failure(graph, t, y, m, w, ell) is None


def _start(graph: CausalGraph, t: str, y: str, m: tuple[str, ...], ell: tuple[str, ...],
           seen: frozenset[str]) -> frozenset[str]:
    """``An(T ∪ M ∪ L ∪ Y) ∩ observed ∖ De(T)``: the largest candidate, which works if any set does."""
    roots = {t, y, *m, *ell}
    ancestors = set().union(*(graph.ancestors(v) for v in roots))
    return frozenset(ancestors & seen) - graph.descendants(t) - roots


def suggest_intermediates(graph: CausalGraph, treatment: str, outcome: str, mediators: tuple[str, ...],
                          seen: frozenset[str]) -> tuple[str, ...] | None:
    """The observed descendants of the treatment that lead into a mediator (not through one) when, taken as
    intermediate confounders, they identify the interventional effects; else None."""
    into = set().union(*(graph.ancestors(v) for v in mediators))
    after = graph.descendants_of([*mediators, outcome])
    ell = _order(graph, (graph.descendants(treatment) & into & seen) - after - set(mediators) - {outcome})
    if not ell or _failure(graph, treatment, outcome, mediators, _start(graph, treatment, outcome, mediators, ell,
                                                                        seen), ell) is not None:
        return None
    return ell


def mediation_covariates(graph: CausalGraph, treatment: str, outcome: str, mediators: Iterable[str] | str,
                         kind: str = "minimal", *, observed: Iterable[str] | None = None,
                         intermediate_confounders: Iterable[str] | str = ()) -> tuple[str, ...]:
    """Covariates (observed, in node order) that make the mediation formula hold, by the rule ``kind`` (one of
    :data:`MEDIATION_COVARIATES`), for the natural effects or, given ``intermediate_confounders``, the
    interventional ones. Raises :class:`NoMediationFormulaError` naming the failing condition when no set of observed
    covariates does (the search is complete, see the module docstring); when observed intermediate confounders would
    identify the interventional effects, the message names them."""
    return search_covariates(graph, treatment, outcome, mediators, kind, observed=observed,
                             intermediate_confounders=intermediate_confounders)


def search_covariates(graph: CausalGraph, treatment: str, outcome: str, mediators: Iterable[str] | str,
                      kind: str = "minimal", *, observed: Iterable[str] | None = None,
                      intermediate_confounders: Iterable[str] | str = (), owner: str = "mediation_covariates",
                      suggest: bool = True) -> tuple[str, ...]:
    """:func:`mediation_covariates` for a caller ``owner`` (named in errors); ``suggest=False`` leaves out the
    advice to pass intermediate confounders (for callers that take none)."""
    check_choice(kind, "kind", owner, MEDIATION_COVARIATES)
    t, y, m = mediation_roles(graph, treatment, outcome, mediators, owner)
    ell = intermediate_roles(graph, t, y, m, intermediate_confounders, owner)
    seen = frozenset(graph.nodes) if observed is None else _names(graph, observed, "observed", owner, empty=True)
    hidden = [v for v in (t, y, *m, *ell) if v not in seen]
    if hidden:
        raise ValueError(f"{owner}: the treatment, outcome, mediators and intermediate confounders must be observed; "
                         f"{hidden} are not.")
    start = _start(graph, t, y, m, ell, seen)
    why = _failure(graph, t, y, m, start, ell)
    if why is not None:
        hid = sorted(frozenset(graph.nodes) - seen)
        hid = f" (hidden nodes: {hid})" if hid else ""
        kind_of = "interventional" if ell else "natural"
        advice = ("Observe the confounder, choose other mediators, or estimate the total effect instead "
                  "(estimate_effect).")
        suggestion = None if ell or not suggest else suggest_intermediates(graph, t, y, m, seen)
        if suggestion is not None:
            advice = (f"The interventional direct and indirect effects are identified with "
                      f"intermediate_confounders={list(suggestion)} (command line: --intermediates "
                      f"{','.join(suggestion)}).")
        raise NoMediationFormulaError(
            f"{owner}: no set of observed covariates{hid} identifies the {kind_of} direct and indirect effects of "
            f"{t!r} on {y!r} through {list(m)}: even the largest candidate fails, since {why}. {advice}")
    if kind == "ancestral":
        return _order(graph, start)
    rank = {v: i for i, v in enumerate(graph.topological_order())}
    chosen = drop_while_valid(start, lambda w: _failure(graph, t, y, m, frozenset(w), ell) is None,
                              rank.__getitem__)
    return _order(graph, chosen)


def explain_failure(graph: CausalGraph, treatment: str, outcome: str, mediators: tuple[str, ...],
                    covariates: Iterable[str], intermediates: tuple[str, ...] = ()) -> str | None:
    """Why ``covariates`` fail (a sentence), or None when they identify the natural effects (or the interventional
    ones, given ``intermediates``; roles pre-checked)."""
    return _failure(graph, treatment, outcome, mediators, frozenset(covariates), intermediates)
