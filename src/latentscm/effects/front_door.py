"""Front-door sets: which observed mediators ``M`` identify ``P(y | do(x))`` when no adjustment set does.

Pearl, *Causal diagrams for empirical research*, Biometrika 1995 (Causality 2nd ed. 2009, Def. 3.3.3 and Thm.
3.3.4). ``M`` satisfies the front-door criterion relative to ``(X, Y)`` in a DAG whose hidden variables are
nodes without data when

(i) ``M`` intercepts every directed path from ``X`` to ``Y``;
(ii) no back-door path from ``X`` to ``M`` is open (``X ⊥ M`` once the edges out of ``X`` are removed);
(iii) ``X`` blocks every back-door path from ``M`` to ``Y`` (``M ⊥ Y | X`` once the edges out of ``M`` are
removed).

Then ``P(y | do(x)) = Σ_m P(m | x) Σ_x' P(y | x', m) P(x')`` (estimated from data by
:func:`~latentscm.effects.front_door_effect`). The check itself is :func:`is_front_door_set` (for discrete
probability tables also :func:`latentscm.scm.is_frontdoor_set`, a separate implementation the tests compare with).

:func:`front_door_set` finds a set the way Jeong, Tian & Bareinboim (*Finding and listing front-door
adjustment sets*, NeurIPS 2022) do: (ii) holds node by node, and the sets that satisfy (iii) are closed under
union (removing the edges out of more nodes only removes paths), so the observed nodes that satisfy (ii) hold a
unique largest subset satisfying (iii), found by removing violators until none is left. Every front-door set
lies inside it, and intercepting paths only gets easier with more nodes, so a front-door set exists exactly
when that largest set satisfies (i). ``kind="minimal"`` then shrinks it (dropping nodes last in topological order
first, each drop followed by the largest front-door candidate left) until no front-door set lies strictly inside.

**Observed covariates** ``W`` (the conditional front-door criterion: Hünermund & Bareinboim, *Causal inference and
data fusion in econometrics*, Econometrics J. 2023, §4; Fulcher et al., JRSS-B 2020, the generalised front door)
deconfound what the mediators alone cannot: ``W`` holds no descendant of ``X``, (ii) becomes ``X ⊥ M | W`` once the
edges out of ``X`` are removed and (iii) ``M ⊥ Y | X ∪ W`` once the edges out of ``M`` are removed; then ``P(y |
do(x)) = Σ_w P(w) Σ_m P(m | x, w) Σ_x' P(y | x', m, w) P(x' | w)`` (do-calculus: rule 2 by (ii), rules 2 and 3 by (i)
and (iii), and rule 3 for ``P(x' | do(m), w) = P(x' | w)``, whose paths from ``X`` into a mediator that is an
ancestor of ``W`` would make ``W`` a descendant of ``X``). Each condition is still node by node
or closed under union, so :func:`front_door_set` finds the mediators for given covariates the same way. (The
covariates are the user's: which ``W`` to pick is a search over sets that this module does not do.)
"""

from __future__ import annotations

from collections.abc import Iterable

from latentscm._validation import check_choice
from latentscm.effects.adjustment import _names, _order, _pair
from latentscm.exceptions import LatentSCMError
from latentscm.graph import CausalGraph

__all__ = ["FRONT_DOORS", "NoFrontDoorSetError", "front_door_set", "is_front_door_set"]

#: The kinds of :func:`front_door_set` (and ``front_door_effect(mediators=...)``).
FRONT_DOORS = ("minimal", "maximal")


class NoFrontDoorSetError(LatentSCMError, ValueError):
    """No set of observed nodes satisfies the front-door criterion for the effect in the given graph."""


def _without_outgoing(graph: CausalGraph, nodes: Iterable[str]) -> CausalGraph:
    cut = set(nodes)
    return CausalGraph([e for e in graph.edges if e[0] not in cut], nodes=graph.nodes)


def _intercepts(graph: CausalGraph, x: frozenset[str], y: frozenset[str], m: frozenset[str]) -> bool:
    """Condition (i): no directed path from ``x`` to ``y`` avoids ``m``."""
    without = graph.subgraph([v for v in graph.nodes if v not in m])
    return not y & without.descendants_of(x)


def _valid(graph: CausalGraph, x: frozenset[str], y: frozenset[str], m: frozenset[str], w: frozenset[str]) -> bool:
    """The (conditional) front-door criterion for mediators ``m`` and covariates ``w`` (checked separately)."""
    if not m or m & (x | y | w):
        return False
    return (_intercepts(graph, x, y, m) and _without_outgoing(graph, x).d_separated(x, m, w)
            and _without_outgoing(graph, m).d_separated(m, y, x | w))


def _covariates(graph: CausalGraph, x: frozenset[str], y: frozenset[str], covariates: Iterable[str] | str,
                owner: str) -> frozenset[str]:
    w = _names(graph, covariates, "covariates", owner, empty=True)
    if w & (x | y):
        raise ValueError(f"The 'covariates' argument of {owner} holds the treatment or the outcome "
                         f"({sorted(w & (x | y))}).")
    late = sorted(w & graph.descendants_of(x))
    if late:
        raise ValueError(f"The 'covariates' argument of {owner} holds {late}, descendants of the treatment; front-door "
                         f"covariates must be pre-treatment.")
    return w


def is_front_door_set(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str,
                      mediators: Iterable[str] | str, covariates: Iterable[str] | str = ()) -> bool:
    """Whether ``mediators`` satisfy the front-door criterion for the effect of ``treatment`` on ``outcome``, given
    the observed ``covariates`` (the conditional criterion; with none it is Pearl's, as in
    :func:`latentscm.scm.is_frontdoor_set`). Covariates that descend from the treatment are refused."""
    owner = "is_front_door_set"
    x, y = _pair(graph, treatment, outcome, owner)
    m = _names(graph, mediators, "mediators", owner)
    return _valid(graph, x, y, m, _covariates(graph, x, y, covariates, owner))


def _largest(graph: CausalGraph, x: frozenset[str], y: frozenset[str], w: frozenset[str],
             candidates: frozenset[str]) -> frozenset[str]:
    """The largest subset of ``candidates`` that satisfies conditions (ii) and (iii) given ``w``."""
    cut_x = _without_outgoing(graph, x)
    chosen = {v for v in candidates if cut_x.d_separated(x, {v}, w)}
    changed = True
    while changed and chosen:
        cut_m = _without_outgoing(graph, chosen)
        violators = {v for v in chosen if not cut_m.d_separated({v}, y, x | w)}
        chosen -= violators
        changed = bool(violators)
    return frozenset(chosen)


def front_door_set(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str,
                   kind: str = "minimal", *, observed: Iterable[str] | None = None,
                   covariates: Iterable[str] | str = ()) -> tuple[str, ...]:
    """A front-door set of ``observed`` nodes for the effect of ``treatment`` on ``outcome``, in node order.

    ``kind="maximal"`` is the largest one (it contains every other); ``"minimal"`` one with no front-door set
    strictly inside it. ``observed`` defaults to every node; the
    others are hidden and never chosen. ``covariates`` (observed, pre-treatment) are conditioned on: the
    conditional front-door criterion. Raises :class:`NoFrontDoorSetError` naming why when none exists.
    """
    owner = "front_door_set"
    check_choice(kind, "kind", owner, FRONT_DOORS)
    x, y = _pair(graph, treatment, outcome, owner)
    seen = frozenset(graph.nodes) if observed is None else _names(graph, observed, "observed", owner, empty=True)
    w = _covariates(graph, x, y, covariates, owner)
    if w - seen:
        raise ValueError(f"The 'covariates' argument of {owner} names {sorted(w - seen)}, which are not observed.")
    direct = sorted((a, b) for a, b in graph.edges if a in x and b in y)
    if direct:
        raise NoFrontDoorSetError(f"{owner}: the edge(s) {direct} go straight from the treatment to the outcome, "
                                  f"so no set of mediators intercepts every causal path.")
    largest = _largest(graph, x, y, w, seen - x - y - w)
    if not largest or not _intercepts(graph, x, y, largest):
        hidden = sorted(set(graph.nodes) - seen)
        hid = f" (hidden nodes: {hidden})" if hidden else ""
        given = f" given the covariates {sorted(w)}" if w else ""
        candidates = f"{sorted(largest)} are" if largest else "no node is"
        if not y & graph.descendants_of(x):
            raise NoFrontDoorSetError(
                f"{owner}: the outcome {sorted(y)} does not descend from the treatment {sorted(x)}, so the effect is "
                f"zero in this graph, and no set of observed nodes{hid} satisfies the front-door criterion{given} "
                f"(an adjustment set, if one exists, shows the zero).")
        raise NoFrontDoorSetError(
            f"{owner}: no set of observed nodes{hid} satisfies the front-door criterion for the effect of "
            f"{sorted(x)} on {sorted(y)}{given}: {candidates} free of back-door paths from the treatment and "
            f"shielded from the outcome by it, and that leaves a causal path from the treatment to the outcome "
            f"unintercepted. Observe a mediator of every causal path, condition on covariates that block the "
            f"mediators' confounding, or identify the effect another way (latentscm.scm.identify).")
    if kind == "maximal":
        return _order(graph, largest)
    return _order(graph, _minimal(graph, x, y, w, largest))


def _minimal(graph: CausalGraph, x: frozenset[str], y: frozenset[str], w: frozenset[str], chosen: frozenset[str]
             ) -> frozenset[str]:
    """A front-door set inside the front-door set ``chosen`` with no front-door set strictly inside it.

    Dropping one node at a time is not enough: two mediators can each open the other's back-door path to ``Y``,
    so neither can go alone while both can go together. Instead, dropping ``v`` replaces the set by the largest
    front-door candidate inside ``chosen - {v}``; when that fails for every ``v``, no front-door set lies strictly
    inside (each would lie inside one of those largest candidates, and interception only needs more nodes).
    """
    rank = {v: i for i, v in enumerate(graph.topological_order())}
    changed = True
    while changed:
        changed = False
        for node in sorted(chosen, key=rank.__getitem__, reverse=True):
            smaller = _largest(graph, x, y, w, chosen - {node})
            if smaller and _intercepts(graph, x, y, smaller):
                chosen, changed = smaller, True
                break
    return chosen
