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
           "mediation_roles"]

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


def _cut_outgoing(graph: CausalGraph, nodes: Iterable[str]) -> CausalGraph:
    nodes = set(nodes)
    return CausalGraph([e for e in graph.edges if e[0] not in nodes], nodes=graph.nodes)


def _failure(graph: CausalGraph, t: str, y: str, m: tuple[str, ...], w: frozenset[str]) -> str | None:
    """Why ``w`` does not identify the natural effects (a sentence), or None when it does."""
    bad = sorted(w & ({t, y} | set(m)))
    if bad:
        return f"the covariates include the treatment, outcome or a mediator ({bad})"
    late = sorted(w & graph.descendants(t))
    if late:
        return f"the covariates {late} are descendants of the treatment"
    if not _cut_outgoing(graph, [t]).d_separated(t, {y, *m}, w):
        return (f"a back-door path from the treatment {t!r} to the mediators or the outcome stays open given "
                f"{sorted(w) or 'nothing'} (unblocked treatment confounding)")
    if not _cut_outgoing(graph, m).d_separated(set(m), y, w | {t}):
        return (f"a back-door path from the mediators {list(m)} to the outcome {y!r} stays open given the treatment "
                f"and {sorted(w) or 'nothing else'} (mediator-outcome confounding: a hidden confounder, or one the "
                f"treatment affects)")
    return None


def is_mediation_identified(graph: CausalGraph, treatment: str, outcome: str, mediators: Iterable[str] | str,
                            covariates: Iterable[str] | str = ()) -> bool:
    """Whether ``covariates`` make the mediation formula hold for the natural effects of ``treatment`` on
    ``outcome`` through ``mediators`` in the DAG ``graph`` (conditions (a) and (b) of the module docstring, with
    covariates that are not descendants of the treatment)."""
    owner = "is_mediation_identified"
    t, y, m = mediation_roles(graph, treatment, outcome, mediators, owner)
    w = _names(graph, covariates, "covariates", owner, empty=True)
    return _failure(graph, t, y, m, w) is None


def mediation_covariates(graph: CausalGraph, treatment: str, outcome: str, mediators: Iterable[str] | str,
                         kind: str = "minimal", *, observed: Iterable[str] | None = None) -> tuple[str, ...]:
    """Covariates (observed, in node order) that make the mediation formula hold, by the rule ``kind`` (one of
    :data:`MEDIATION_COVARIATES`). Raises :class:`NoMediationFormulaError` naming the failing condition when no set
    of observed covariates does (the search is complete, see the module docstring)."""
    owner = "mediation_covariates"
    check_choice(kind, "kind", owner, MEDIATION_COVARIATES)
    t, y, m = mediation_roles(graph, treatment, outcome, mediators, owner)
    seen = frozenset(graph.nodes) if observed is None else _names(graph, observed, "observed", owner, empty=True)
    hidden = [v for v in (t, y, *m) if v not in seen]
    if hidden:
        raise ValueError(f"{owner}: the treatment, outcome and mediators must be observed; {hidden} are not.")
    roots = {t, y, *m}
    ancestors = set().union(*(graph.ancestors(v) for v in roots))
    start = frozenset(ancestors & seen) - graph.descendants(t) - roots
    why = _failure(graph, t, y, m, start)
    if why is not None:
        hid = sorted(frozenset(graph.nodes) - seen)
        hid = f" (hidden nodes: {hid})" if hid else ""
        raise NoMediationFormulaError(
            f"{owner}: no set of observed covariates{hid} identifies the natural direct and indirect effects of "
            f"{t!r} on {y!r} through {list(m)}: even the largest candidate fails, since {why}. Observe the "
            f"confounder, choose other mediators, or estimate the total effect instead (estimate_effect).")
    if kind == "ancestral":
        return _order(graph, start)
    rank = {v: i for i, v in enumerate(graph.topological_order())}
    chosen = drop_while_valid(start, lambda w: _failure(graph, t, y, m, frozenset(w)) is None, rank.__getitem__)
    return _order(graph, chosen)


def explain_failure(graph: CausalGraph, treatment: str, outcome: str, mediators: tuple[str, ...],
                    covariates: Iterable[str]) -> str | None:
    """Why ``covariates`` fail (a sentence), or None when they identify the natural effects (roles pre-checked)."""
    return _failure(graph, treatment, outcome, mediators, frozenset(covariates))
