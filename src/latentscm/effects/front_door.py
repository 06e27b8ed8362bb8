"""Front-door sets: which observed mediators ``M`` identify ``P(y | do(x))`` when no adjustment set does.

Pearl, *Causal diagrams for empirical research*, Biometrika 1995 (Causality 2nd ed. 2009, Def. 3.3.3 and Thm.
3.3.4). ``M`` satisfies the front-door criterion relative to ``(X, Y)`` in a DAG whose hidden variables are
nodes without data when

(i) ``M`` intercepts every directed path from ``X`` to ``Y``;
(ii) no back-door path from ``X`` to ``M`` is open (``X ⊥ M`` once the edges out of ``X`` are removed);
(iii) ``X`` blocks every back-door path from ``M`` to ``Y`` (``M ⊥ Y | X`` once the edges out of ``M`` are
removed).

Then ``P(y | do(x)) = Σ_m P(m | x) Σ_x' P(y | x', m) P(x')`` (estimated from data by
:func:`~latentscm.effects.front_door_effect`). The check itself is
:func:`latentscm.scm.is_frontdoor_set`.

:func:`front_door_set` finds a set the way Jeong, Tian & Bareinboim (*Finding and listing front-door
adjustment sets*, NeurIPS 2022) do: (ii) holds node by node, and the sets that satisfy (iii) are closed under
union (removing the edges out of more nodes only removes paths), so the observed nodes that satisfy (ii) hold a
unique largest subset satisfying (iii), found by removing violators until none is left. Every front-door set
lies inside it, and intercepting paths only gets easier with more nodes, so a front-door set exists exactly
when that largest set satisfies (i). ``kind="minimal"`` then drops nodes (last in topological order first)
while the set stays a front-door set.
"""

from __future__ import annotations

from collections.abc import Iterable

from latentscm._validation import check_choice
from latentscm.effects.adjustment import _order, _pair, drop_while_valid
from latentscm.exceptions import LatentSCMError
from latentscm.graph import CausalGraph
from latentscm.scm.identification import is_frontdoor_set

__all__ = ["FRONT_DOORS", "NoFrontDoorSetError", "front_door_set", "is_frontdoor_set"]

#: The kinds of :func:`front_door_set` (and ``front_door_effect(mediators=...)``).
FRONT_DOORS = ("minimal", "maximal")


class NoFrontDoorSetError(LatentSCMError, ValueError):
    """No set of observed nodes satisfies the front-door criterion for the effect in the given graph."""


def _without_outgoing(graph: CausalGraph, nodes: Iterable[str]) -> CausalGraph:
    cut = set(nodes)
    return CausalGraph([e for e in graph.edges if e[0] not in cut], nodes=graph.nodes)


def _largest(graph: CausalGraph, x: frozenset[str], y: frozenset[str], candidates: frozenset[str]
             ) -> frozenset[str]:
    """The largest subset of ``candidates`` that satisfies conditions (ii) and (iii)."""
    cut_x = _without_outgoing(graph, x)
    chosen = {v for v in candidates if cut_x.d_separated(x, {v}, ())}
    changed = True
    while changed and chosen:
        cut_m = _without_outgoing(graph, chosen)
        violators = {v for v in chosen if not cut_m.d_separated({v}, y, x)}
        chosen -= violators
        changed = bool(violators)
    return frozenset(chosen)


def front_door_set(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str,
                   kind: str = "minimal", *, observed: Iterable[str] | None = None) -> tuple[str, ...]:
    """A front-door set of ``observed`` nodes for the effect of ``treatment`` on ``outcome``, in node order.

    ``kind="maximal"`` is the largest one (it contains every other); ``"minimal"`` drops nodes from it while
    it stays a front-door set, until no single node can be dropped. ``observed`` defaults to every node; the
    others are hidden and never chosen. Raises :class:`NoFrontDoorSetError` naming why when none exists.
    """
    owner = "front_door_set"
    check_choice(kind, "kind", owner, FRONT_DOORS)
    x, y = _pair(graph, treatment, outcome, owner)
    if observed is None:
        seen = frozenset(graph.nodes)
    else:
        from latentscm.effects.adjustment import _names

        seen = _names(graph, observed, "observed", owner, empty=True)
    direct = sorted((a, b) for a, b in graph.edges if a in x and b in y)
    if direct:
        raise NoFrontDoorSetError(f"{owner}: the edge(s) {direct} go straight from the treatment to the outcome, "
                                  f"so no set of mediators intercepts every causal path.")
    largest = _largest(graph, x, y, seen - x - y)
    without = graph.subgraph([v for v in graph.nodes if v not in largest])
    if not largest or y & without.descendants_of(x):
        hidden = sorted(set(graph.nodes) - seen)
        hid = f" (hidden nodes: {hidden})" if hidden else ""
        candidates = f"{sorted(largest)} are" if largest else "no node is"
        raise NoFrontDoorSetError(
            f"{owner}: no set of observed nodes{hid} satisfies the front-door criterion for the effect of "
            f"{sorted(x)} on {sorted(y)}: {candidates} free of back-door paths from the treatment and shielded "
            f"from the outcome by it, and that leaves a causal path from the treatment to the outcome "
            f"unintercepted. Observe a mediator of every causal path, or identify the effect another way "
            f"(latentscm.scm.identify).")
    if kind == "maximal":
        return _order(graph, largest)
    rank = {v: i for i, v in enumerate(graph.topological_order())}
    chosen = drop_while_valid(largest, lambda m: bool(m) and is_frontdoor_set(graph, x, y, m), rank.__getitem__)
    return _order(graph, chosen)
