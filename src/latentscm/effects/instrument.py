"""Instrumental sets: which observed nodes ``Z``, given observed covariates ``W``, identify a total effect in a
linear model when hidden confounders leave no adjustment set and no front-door set.

A conditional instrumental set (Brito & Pearl, UAI 2002, for a single edge; for total effects Henckel,
Buttenschön & Maathuis, *Graphical tools for selecting conditional instrumental sets*, Biometrika 2024, the
"linearly valid" sets) for the effect of ``X`` on ``Y`` in a DAG whose hidden variables are nodes without data:

(i) no node of ``Z ∪ W`` is in ``forb(X, Y) = De(cn(X, Y)) ∪ X``, where ``cn`` are the nodes other than ``X`` on a
    proper causal path from ``X`` to ``Y`` (the same forbidden set as for adjustment);
(ii) ``Z ⊥ Y | W`` in the proper back-door graph, ``G`` without the first edge of every proper causal path (the
    exclusion restriction and exogeneity given ``W``);
(iii) ``Z`` and ``X`` are d-connected given ``W`` in ``G`` (relevance: without it the first stage is empty).

Then, in a linear structural equation model, ``Y = τ X + R`` where ``R`` is ``Y`` under ``do(X = 0)``, and (ii)
makes ``Cov(Z, R | W) = 0``, so ``Cov(Z, Y | W) = τ Cov(Z, X | W)``: two-stage least squares with instruments ``Z``
and exogenous regressors ``W`` is consistent for ``τ`` (estimated from data by
:func:`~latentscm.effects.instrumental_effect`). Outside linear models it is not the average effect (for a binary
instrument and treatment it is the complier average of Angrist, Imbens & Rubin 1996, under monotonicity).

Finding a set: for given covariates every candidate instrument is checked on its own, and the candidates that
pass are jointly valid (set d-separation is pairwise). Without covariates, :func:`instrument_set` gives each
candidate ``z`` the separator of ``z`` from ``Y`` nearest to ``Y`` among the allowed nodes (van der Zander, Textor &
Liśkiewicz, *Efficiently finding conditional instruments for causal inference*, IJCAI 2015: the nodes of the
ancestral separator next to ``Y``'s component of the moral graph): of all separators it blocks the fewest paths
from ``z`` towards ``X``. The candidates are then pooled greedily (in node order, each added while the pool keeps a
valid nearest separator, each instrument moving the treatment given the covariates and the other instruments,
and with passes repeated until none joins), which usually, though not always, finds an over-identified set when
one exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations
from typing import NamedTuple

import networkx as nx

from latentscm._validation import check_choice
from latentscm.effects.adjustment import _causal_nodes, _forbidden, _names, _order, _pair
from latentscm.exceptions import LatentSCMError
from latentscm.graph import CausalGraph

__all__ = ["INSTRUMENT_KINDS", "InstrumentSet", "NoInstrumentError", "covariates_for", "instrument_set",
           "is_instrument_set"]

#: The kinds of :func:`instrument_set`: every instrument that can be pooled, or the single one first in node order.
INSTRUMENT_KINDS = ("all", "single")


class NoInstrumentError(LatentSCMError, ValueError):
    """No set of observed nodes is a conditional instrumental set for the effect in the given graph."""


class InstrumentSet(NamedTuple):
    """Instruments and the covariates they need, each in the graph's node order."""

    instruments: tuple[str, ...]
    covariates: tuple[str, ...]


def _back_door_graph(graph: CausalGraph, x: frozenset[str], cn: frozenset[str]) -> CausalGraph:
    """``G`` without the first edge of every proper causal path from ``x`` (the edges ``x -> cn``)."""
    return CausalGraph([e for e in graph.edges if not (e[0] in x and e[1] in cn)], nodes=graph.nodes)


def _valid(graph: CausalGraph, pbd: CausalGraph, x: frozenset[str], y: frozenset[str], z: frozenset[str],
           w: frozenset[str], forb: frozenset[str]) -> bool:
    """Conditions (i)-(iii) for instruments ``z`` and covariates ``w``."""
    if not z or z & w or (z | w) & (forb | y):
        return False
    return pbd.d_separated(z, y, w) and not graph.d_separated(z, x, w)


def _single_pair(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str, owner: str
                 ) -> tuple[frozenset[str], frozenset[str]]:
    """``_pair``, refusing several treatments or outcomes: with one instrument per treatment the rank condition of
    several treatments is not a d-connection statement, and it is not checked here."""
    x, y = _pair(graph, treatment, outcome, owner)
    for what, nodes in (("treatment", x), ("outcome", y)):
        if len(nodes) > 1:
            raise ValueError(f"The {what!r} argument of {owner} names {sorted(nodes)}; instrumental sets are defined "
                             f"here for one treatment and one outcome.")
    return x, y


def is_instrument_set(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str,
                      instruments: Iterable[str] | str, covariates: Iterable[str] | str = ()) -> bool:
    """Whether ``instruments`` given ``covariates`` form a conditional instrumental set for the total effect of
    ``treatment`` on ``outcome`` (conditions (i)-(iii) of the module docstring; one treatment, one outcome)."""
    owner = "is_instrument_set"
    x, y = _single_pair(graph, treatment, outcome, owner)
    z = _names(graph, instruments, "instruments", owner)
    w = _names(graph, covariates, "covariates", owner, empty=True)
    cn = _causal_nodes(graph, x, y)
    return _valid(graph, _back_door_graph(graph, x, cn), x, y, z, w, _forbidden(graph, x, cn))


def _moral_neighbours(graph: CausalGraph, keep: set[str]) -> dict[str, set[str]]:
    """The moral graph of the subgraph induced by the ancestral set ``keep``: parent-child edges, and edges
    between parents of a common child."""
    near: dict[str, set[str]] = {v: set() for v in keep}
    for child in keep:
        parents = [p for p in graph.parents(child) if p in keep]
        for p in parents:
            near[p].add(child)
            near[child].add(p)
        for i, a in enumerate(parents):
            for b in parents[i + 1:]:
                near[a].add(b)
                near[b].add(a)
    return near


def _nearest_separator(graph: CausalGraph, y: frozenset[str], z: frozenset[str], allowed: frozenset[str]
                       ) -> frozenset[str] | None:
    """A set of ``allowed`` nodes that d-separates ``z`` from ``y`` in ``graph``, nearest to ``y``; None when no
    subset of ``allowed`` does. The allowed ancestors of ``y ∪ z`` separate whenever any allowed set does (Tian,
    Paz & Pearl 1998); of those, the ones next to ``y``'s component of the moral graph suffice."""
    ends = y | z
    keep = set(ends).union(*(graph.ancestors(v) for v in ends))
    near = _moral_neighbours(graph, keep)
    blockers = (allowed & keep) - ends
    reached, frontier = set(y), list(y)
    separator: set[str] = set()
    while frontier:
        node = frontier.pop()
        for other in near[node]:
            if other in blockers:
                separator.add(other)
            elif other not in reached:
                reached.add(other)
                frontier.append(other)
    if reached & z:
        return None
    return frozenset(separator)


#: Above this many allowed nodes, covariates for given instruments are not searched subset by subset.
_SUBSET_LIMIT = 14


def covariates_for(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str,
                   instruments: Iterable[str] | str, *, observed: Iterable[str] | None = None) -> tuple[str, ...]:
    """Covariates of ``observed`` nodes that make ``instruments`` a conditional instrumental set, in node order.

    The nearest separator (module docstring) first; when it cuts an instrument off from the treatment, the
    smallest subsets of the allowed nodes in turn (an instrument can need a collider's descendant conditioned on
    to reach the treatment, which no separator adds; at most 2**14 subsets). Raises :class:`NoInstrumentError`.
    """
    owner = "covariates_for"
    x, y = _single_pair(graph, treatment, outcome, owner)
    z = _names(graph, instruments, "instruments", owner)
    seen = frozenset(graph.nodes) if observed is None else _names(graph, observed, "observed", owner, empty=True)
    cn = _causal_nodes(graph, x, y)
    forb = _forbidden(graph, x, cn)
    pbd = _back_door_graph(graph, x, cn)
    bad = sorted(z & (forb | y))
    if bad:
        raise NoInstrumentError(f"{owner}: the instruments {bad} are the treatment, the outcome or descendants of a "
                                f"node on a causal path from the treatment to the outcome, so no covariates make them "
                                f"instruments.")
    allowed = seen - forb - y - z
    w = _nearest_separator(pbd, y, z, allowed)
    if w is not None and _valid(graph, pbd, x, y, z, w, forb):
        return _order(graph, w)
    # Only nodes joined to the treatment, the outcome or an instrument by some path can change a d-separation.
    linked = nx.node_connected_component(graph.to_networkx().to_undirected(), next(iter(x)))
    candidates = _order(graph, allowed & linked)
    if w is not None and len(candidates) <= _SUBSET_LIMIT:
        for size in range(len(candidates) + 1):
            for subset in combinations(candidates, size):
                if _valid(graph, pbd, x, y, z, frozenset(subset), forb):
                    return subset
    if w is None:
        why = ("no set of observed nodes separates them from the outcome in the graph without the treatment's "
               "causal edges")
    elif len(candidates) <= _SUBSET_LIMIT:
        why = ("every set of observed nodes that separates them from the outcome also cuts one of them off from the "
               "treatment")
    else:
        why = (f"the nearest separator {sorted(w)} cuts one of them off from the treatment, and the {len(candidates)} "
               f"candidate covariates are too many to search every subset (at most {_SUBSET_LIMIT}); pass the "
               f"covariates yourself (is_instrument_set checks them)")
    raise NoInstrumentError(f"{owner}: {sorted(z)} cannot be instruments for the effect of {sorted(x)} on {sorted(y)}: "
                            f"{why}.")


def _given_covariates(graph: CausalGraph, pbd: CausalGraph, x: frozenset[str], y: frozenset[str],
                      w: frozenset[str], candidates: Iterable[str], forb: frozenset[str]) -> frozenset[str]:
    return frozenset(v for v in candidates if _valid(graph, pbd, x, y, frozenset({v}), w, forb))


def instrument_set(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str,
                   kind: str = "all", *, observed: Iterable[str] | None = None,
                   covariates: Iterable[str] | str | None = None) -> InstrumentSet:
    """A conditional instrumental set of ``observed`` nodes for the total effect of ``treatment`` on ``outcome``.

    ``covariates=None`` (default) lets the graph choose them (the nearest separators of the module docstring);
    given covariates are conditioned on as they are, and every observed node that is an instrument given them is
    taken. ``kind="single"`` returns one instrument (the first in node order that has a set); ``"all"`` pools as
    many as stay valid together. ``observed`` defaults to every node; the others are hidden and never chosen.
    Raises :class:`NoInstrumentError` naming why when there is none.
    """
    owner = "instrument_set"
    check_choice(kind, "kind", owner, INSTRUMENT_KINDS)
    x, y = _single_pair(graph, treatment, outcome, owner)
    seen = frozenset(graph.nodes) if observed is None else _names(graph, observed, "observed", owner, empty=True)
    cn = _causal_nodes(graph, x, y)
    forb = _forbidden(graph, x, cn)
    pbd = _back_door_graph(graph, x, cn)
    allowed = seen - forb - y
    hidden = sorted(set(graph.nodes) - seen)
    hid = f" (hidden nodes: {hidden})" if hidden else ""
    if covariates is not None:
        w = _names(graph, covariates, "covariates", owner, empty=True)
        if w - seen:
            raise ValueError(f"The 'covariates' argument of {owner} names {sorted(w - seen)}, which are not observed.")
        if w & (forb | y):
            raise ValueError(f"The 'covariates' argument of {owner} holds {sorted(w & (forb | y))}: the treatment, "
                             f"the outcome or descendants of a node on a causal path, which no instrumental set may "
                             f"condition on.")
        found = _given_covariates(graph, pbd, x, y, w, sorted(allowed - w), forb)
        if not found:
            raise NoInstrumentError(f"{owner}: no observed node{hid} is an instrument for the effect of {sorted(x)} on "
                                    f"{sorted(y)} given the covariates {sorted(w)}. Pass covariates=None to let the "
                                    f"graph choose them.")
        chosen = _order(graph, found)
        return InstrumentSet(chosen[:1] if kind == "single" else chosen, _order(graph, w))
    pool: frozenset[str] = frozenset()
    pool_w: frozenset[str] | None = None
    grown = True
    while grown and not (kind == "single" and pool):
        # Passes until nothing joins: an instrument can reach the treatment only given another one (through a
        # collider between them), so one that fails early can join once its partner is in.
        grown = False
        for z in _order(graph, allowed - pool):
            trial = pool | {z}
            w = _nearest_separator(pbd, y, trial, allowed - trial)
            # Each instrument must move the treatment given the covariates and the other instruments, as in the
            # first-stage regression.
            if w is None or any(graph.d_separated({v}, x, w | (trial - {v})) for v in trial):
                continue
            pool, pool_w, grown = trial, w, True
            if kind == "single":
                break
    if pool_w is None:
        raise NoInstrumentError(f"{owner}: no set of observed nodes{hid} is a conditional instrument for the effect "
                                f"of {sorted(x)} on {sorted(y)}: every observed node outside forb(X, Y) either stays "
                                f"connected to the outcome other than through the treatment whatever is conditioned "
                                f"on, or is cut off from the treatment by the covariates that separate it. Observe a "
                                f"cause of the treatment that reaches the outcome only through it, or identify the "
                                f"effect another way (latentscm.scm.identify).")
    return InstrumentSet(_order(graph, pool), _order(graph, pool_w))
