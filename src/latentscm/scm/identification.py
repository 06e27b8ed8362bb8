"""Identification of ``P(y | do(x))`` from an observational joint, and the graphical criteria.

:func:`backdoor_adjustment` and :func:`frontdoor_adjustment` compute ``P(y | do(x))`` from an
*observational joint alone* (no model), and :func:`is_backdoor_set` / :func:`is_frontdoor_set`
check the graphical criteria that make them valid (Pearl 2009, *Causality*, 2nd ed., §3.3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentscm.graph import CausalGraph, UnknownNodeError
from latentscm.scm.probability_table import (
    Names,
    ProbabilityTable,
    StatesSpec,
    _as_names,
    _check_disjoint,
    _raise_positivity,
)

__all__ = ["backdoor_adjustment", "frontdoor_adjustment", "is_backdoor_set", "is_frontdoor_set"]


def backdoor_adjustment(joint: ProbabilityTable | Any, treatment: Names, outcome: Names,
                        adjustment_set: Names = (), *, variables: Sequence[str] | None = None,
                        states: Mapping[str, StatesSpec] | None = None,
                        graph: CausalGraph | None = None) -> ProbabilityTable:
    """``P(y | do(x)) = sum_z P(y | x, z) P(z)`` from an observational joint alone.

    Valid when ``adjustment_set`` satisfies the back-door criterion (:func:`is_backdoor_set`);
    with ``graph`` (the causal graph, hidden variables included) that is checked first, and a set
    that fails it is refused instead of giving a biased number.

    Parameters
    ----------
    joint:
        A joint :class:`ProbabilityTable` over observed variables, or an array of shape
        ``(card(v) for v in variables)`` together with ``variables`` (and optional ``states``).
    treatment, outcome, adjustment_set:
        Names (or sequences of names) of ``X``, ``Y`` and ``Z``; pairwise disjoint.

    Returns
    -------
    ProbabilityTable
        Axes ``(*treatment, *outcome)``, ``treatment`` marked as intervened.

    Raises
    ------
    PositivityError
        If ``P(x, z) = 0`` for some ``x`` and some ``z`` with ``P(z) > 0``.
    ValueError
        With ``graph``: ``adjustment_set`` does not satisfy the back-door criterion in it.
    """
    owner = "backdoor_adjustment"
    table = _as_joint(joint, variables, states, owner)
    x = _as_names(treatment, "treatment", owner)
    y = _as_names(outcome, "outcome", owner)
    z = _as_names(adjustment_set, "adjustment_set", owner)
    _check_identification_names(table, owner, treatment=x, outcome=y, adjustment_set=z)
    if graph is not None and not is_backdoor_set(graph, x, y, z):
        raise ValueError(f"The 'adjustment_set' {z} of {owner} does not satisfy the back-door criterion relative to "
                         f"treatment {x} and outcome {y} in the given graph, so the adjustment would not be "
                         f"P({', '.join(y)} | do({', '.join(x)})). Choose another set (is_backdoor_set), or "
                         f"use identify().")
    p = table._reduce(x + y + z)  # axes (X, Y, Z)
    y_axes = tuple(range(len(x), len(x) + len(y)))
    p_xz = p.sum(axis=y_axes, keepdims=True)
    p_z = p_xz.sum(axis=tuple(range(len(x))), keepdims=True)
    _raise_positivity(np.squeeze((p_xz <= 0) & (p_z > 0), axis=y_axes), x + z, table.states,
                      f"P({', '.join(y)} | {', '.join(x + z)})", owner)
    outcome_given_xz = np.divide(p, p_xz, out=np.zeros_like(p), where=p_xz > 0)
    values = (outcome_given_xz * p_z).sum(axis=tuple(range(len(x) + len(y), p.ndim)))
    return ProbabilityTable(values, x + y, {n: table.states[n] for n in x + y}, intervened=x)


def frontdoor_adjustment(joint: ProbabilityTable | Any, treatment: Names, mediator: Names,
                         outcome: Names, *, variables: Sequence[str] | None = None,
                         states: Mapping[str, StatesSpec] | None = None,
                         graph: CausalGraph | None = None) -> ProbabilityTable:
    """``P(y | do(x)) = sum_m P(m | x) sum_x' P(y | x', m) P(x')`` from an observational joint.

    Valid when ``mediator`` satisfies the front-door criterion (:func:`is_frontdoor_set`), even
    if ``X`` and ``Y`` share an unobserved confounder (Pearl 1995; Pearl 2009, §3.3.2); with
    ``graph`` (hidden variables included) that is checked first, and a failing set is refused.

    Parameters
    ----------
    joint:
        A joint :class:`ProbabilityTable`, or an array of shape ``(card(v) for v in variables)``
        together with ``variables`` (and optional ``states``).
    treatment, mediator, outcome:
        Names (or sequences of names) of ``X``, ``M`` and ``Y``; pairwise disjoint.

    Returns
    -------
    ProbabilityTable
        Axes ``(*treatment, *outcome)``, ``treatment`` marked as intervened.

    Raises
    ------
    PositivityError
        If ``P(x) = 0`` for some ``x``, or ``P(x, m) = 0`` for some ``x`` and some ``m`` with
        ``P(m) > 0``.
    ValueError
        With ``graph``: ``mediator`` does not satisfy the front-door criterion in it.
    """
    owner = "frontdoor_adjustment"
    table = _as_joint(joint, variables, states, owner)
    x = _as_names(treatment, "treatment", owner)
    m = _as_names(mediator, "mediator", owner)
    y = _as_names(outcome, "outcome", owner)
    _check_identification_names(table, owner, treatment=x, mediator=m, outcome=y)
    if not m:
        raise ValueError(f"{owner} needs at least one mediator variable.")
    if graph is not None and not is_frontdoor_set(graph, x, y, m):
        raise ValueError(f"The 'mediator' {m} of {owner} does not satisfy the front-door criterion relative to "
                         f"treatment {x} and outcome {y} in the given graph, so the adjustment would not be "
                         f"P({', '.join(y)} | do({', '.join(x)})). Choose another set (is_frontdoor_set), or "
                         f"use identify().")
    p = table._reduce(x + m + y)  # axes (X, M, Y)
    x_axes = tuple(range(len(x)))
    m_axes = tuple(range(len(x), len(x) + len(m)))
    y_axes = tuple(range(len(x) + len(m), p.ndim))
    p_xm = p.sum(axis=y_axes, keepdims=True)
    p_x = p_xm.sum(axis=m_axes, keepdims=True)
    p_m = p_xm.sum(axis=x_axes, keepdims=True)
    _raise_positivity(np.squeeze(p_x <= 0, axis=m_axes + y_axes), x, table.states,
                      f"P({', '.join(m)} | {', '.join(x)})", owner)
    _raise_positivity(np.squeeze((p_xm <= 0) & (p_m > 0), axis=y_axes), x + m, table.states,
                      f"P({', '.join(y)} | {', '.join(x + m)})", owner)
    mediator_given_x = p_xm / p_x  # (X, M, 1)
    outcome_given_xm = np.divide(p, p_xm, out=np.zeros_like(p), where=p_xm > 0)  # (X, M, Y)
    # sum_x' P(y | x', m) P(x'): the effect of m on y, adjusted for x' by back-door.
    outcome_do_m = (outcome_given_xm * p_x).sum(axis=x_axes, keepdims=True)  # (1, M, Y)
    values = (mediator_given_x * outcome_do_m).sum(axis=m_axes)  # (X, Y)
    return ProbabilityTable(values, x + y, {n: table.states[n] for n in x + y}, intervened=x)


def _check_identification_names(table: ProbabilityTable, owner: str, **groups: list[str]) -> None:
    for what, names in groups.items():
        for name in names:
            if name not in table.variables:
                raise UnknownNodeError(name, table.variables, what=f"{what} variable of {owner}")
    for what in ("treatment", "outcome"):
        if not groups[what]:
            raise ValueError(f"{owner} needs at least one {what} variable.")
    _check_disjoint(owner, **groups)


def _graph_sets(graph: CausalGraph, owner: str, **groups: Names) -> list[set[str]]:
    if not isinstance(graph, CausalGraph):
        raise TypeError(f"The 'graph' argument of {owner} must be a CausalGraph. Got {type(graph).__name__}.")
    sets = []
    for what, value in groups.items():
        names = _as_names(value, what, owner)
        for name in names:
            if name not in graph:
                raise UnknownNodeError(name, graph.nodes, what=f"node in {what!r} of {owner}")
        sets.append(set(names))
    _check_disjoint(owner, **{what: sorted(s) for what, s in zip(groups, sets)})
    return sets


def _without_outgoing(graph: CausalGraph, names: set[str]) -> CausalGraph:
    """``G`` with every edge out of ``names`` removed (Pearl's underlined-``X`` graph)."""
    return CausalGraph([e for e in graph.edges if e[0] not in names], nodes=graph.nodes)


def is_backdoor_set(graph: CausalGraph, x: Names, y: Names, z: Names) -> bool:
    """Whether ``z`` satisfies the back-door criterion relative to ``(x, y)`` (Pearl 2009,
    Def. 3.3.1): no node of ``z`` is a descendant of ``x``, and ``z`` blocks every path between
    ``x`` and ``y`` that starts with an arrow into ``x`` (d-separation once the edges out of ``x``
    are removed). ``graph`` may contain hidden variables."""
    xs, ys, zs = _graph_sets(graph, "is_backdoor_set", x=x, y=y, z=z)
    if not xs or not ys:
        raise ValueError("is_backdoor_set needs non-empty 'x' and 'y'.")
    if zs & graph.descendants_of(xs):
        return False
    return _without_outgoing(graph, xs).d_separated(xs, ys, zs)


def is_frontdoor_set(graph: CausalGraph, x: Names, y: Names, m: Names) -> bool:
    """Whether ``m`` satisfies the front-door criterion relative to ``(x, y)`` (Pearl 2009,
    Def. 3.3.3): ``m`` intercepts every directed path from ``x`` to ``y``; there is no unblocked
    back-door path from ``x`` to ``m``; and every back-door path from ``m`` to ``y`` is blocked
    by ``x``. ``graph`` may (and usually does) contain hidden variables."""
    xs, ys, ms = _graph_sets(graph, "is_frontdoor_set", x=x, y=y, m=m)
    if not xs or not ys or not ms:
        raise ValueError("is_frontdoor_set needs non-empty 'x', 'y' and 'm'.")
    without_m = graph.subgraph([n for n in graph.nodes if n not in ms])
    if ys & without_m.descendants_of(xs):
        return False
    if not _without_outgoing(graph, xs).d_separated(xs, ms, ()):
        return False
    return _without_outgoing(graph, ms).d_separated(ms, ys, xs)



def _as_joint(joint: ProbabilityTable | Any, variables: Sequence[str] | None,
              states: Mapping[str, StatesSpec] | None, owner: str) -> ProbabilityTable:
    """A joint (unconditional) table from a :class:`ProbabilityTable` or an array plus names."""
    if isinstance(joint, ProbabilityTable):
        if variables is not None or states is not None:
            raise ValueError(f"{owner}: pass 'variables' and 'states' only with a plain array joint; "
                             "a ProbabilityTable already names its axes.")
        if joint.given or joint.intervened:
            raise ValueError(f"{owner} needs an observational joint; got the conditional table "
                             f"{joint.label()}.")
        return joint
    if variables is None:
        raise ValueError(f"{owner} needs 'variables' (one name per axis) when the joint is a plain array.")
    return ProbabilityTable(joint, variables, states)

