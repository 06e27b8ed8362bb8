"""Covariate adjustment in a causal DAG: which sets ``Z`` make ``P(y | do(x)) = E_z P(y | x, z)``.

- :func:`is_adjustment_set` is the generalised adjustment criterion for DAGs (Shpitser, VanderWeele &
  Robins, UAI 2010; in the form of Perković, Textor, Kalisch & Maathuis, JMLR 2018, Def. 3.3):
  ``Z`` avoids the forbidden nodes ``forb(X, Y)`` and d-separates ``X`` from ``Y`` in the proper
  back-door graph (the DAG without the first edge of every proper causal path from ``X`` to ``Y``).
  It is sound and complete: every valid set passes and no other does.
- :func:`optimal_adjustment_set` is ``O(X, Y) = pa(cn(X, Y)) \\ forb(X, Y)`` (Henckel, Perković &
  Maathuis, JRSS-B 2022): among all valid sets it gives the smallest asymptotic variance of the
  OLS estimate of a total effect in a linear SEM, and in practice a good set for any estimator.
- :func:`minimal_adjustment_set` is an inclusion-minimal valid set: no node can be dropped from it.
  It starts from ``(An(X ∪ Y) ∩ observed) \\ forb`` (valid whenever any valid set exists; van der
  Zander, Liśkiewicz & Textor, AIJ 2019, Thm. 3.4) and drops nodes while the set stays valid. A
  d-separator from which no single node can be dropped is minimal (Tian, Paz & Pearl 1998).
- :func:`parents_adjustment_set` is ``pa(X)``, the textbook back-door set for one treatment.

Nodes of the graph that are not ``observed`` are hidden: no returned set contains them, and a hidden
node in ``O`` makes :func:`optimal_adjustment_set` refuse (name the node) rather than return a set
that is not valid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from latentscm._validation import check_choice
from latentscm.exceptions import LatentSCMError
from latentscm.graph import CausalGraph

__all__ = ["ADJUSTMENTS", "NoAdjustmentSetError", "causal_nodes", "forbidden_nodes", "is_adjustment_set",
           "optimal_adjustment_set", "minimal_adjustment_set", "parents_adjustment_set", "adjustment_set"]

#: The names :func:`adjustment_set` (and ``estimate_effect(adjustment=...)``) accept.
ADJUSTMENTS = ("optimal", "minimal", "parents")


class NoAdjustmentSetError(LatentSCMError, ValueError):
    """No set of observed covariates identifies the effect by adjustment in the given graph."""


def _names(graph: CausalGraph, names: Iterable[str] | str, what: str, owner: str, *, empty: bool = False
           ) -> frozenset[str]:
    if not isinstance(graph, CausalGraph):
        raise TypeError(f"The 'graph' argument of {owner} must be a CausalGraph (a DAG). Got {type(graph).__name__}.")
    try:
        items = (names,) if isinstance(names, str) else tuple(names)
    except TypeError:
        raise TypeError(f"The {what!r} argument of {owner} must be a node name or a sequence of node names. "
                        f"Got {names!r}.") from None
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"The {what!r} argument of {owner} must hold node names (str). Got {item!r}.")
        graph.check_node(item)
    if not items and not empty:
        raise ValueError(f"The {what!r} argument of {owner} is empty; give at least one node.")
    return frozenset(items)


def _pair(graph: CausalGraph, treatment, outcome, owner: str) -> tuple[frozenset[str], frozenset[str]]:
    x = _names(graph, treatment, "treatment", owner)
    y = _names(graph, outcome, "outcome", owner)
    if x & y:
        raise ValueError(f"{owner}: 'treatment' and 'outcome' share the node(s) {sorted(x & y)}.")
    return x, y


def _causal_nodes(graph: CausalGraph, x: frozenset[str], y: frozenset[str]) -> frozenset[str]:
    # A path that starts in X and never re-enters X is a path of the graph without the edges into X.
    cut = graph.remove_incoming(x)
    reached = set().union(*(cut.descendants(v) for v in x)) - x
    feeds_y = set(y).union(*(cut.ancestors(v) for v in y))
    return frozenset(reached & feeds_y)


def causal_nodes(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str) -> frozenset[str]:
    """``cn(X, Y)``: the nodes other than ``X`` on a proper causal path from ``X`` to ``Y`` (a directed
    path whose only node in ``X`` is its first). Empty when ``Y`` is not a descendant of ``X``."""
    x, y = _pair(graph, treatment, outcome, "causal_nodes")
    return _causal_nodes(graph, x, y)


def _forbidden(graph: CausalGraph, x: frozenset[str], cn: frozenset[str]) -> frozenset[str]:
    return frozenset(graph.descendants_of(cn) if cn else set()) | x


def forbidden_nodes(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str
                    ) -> frozenset[str]:
    """``forb(X, Y) = De(cn(X, Y)) ∪ X``: the nodes no adjustment set may contain."""
    x, y = _pair(graph, treatment, outcome, "forbidden_nodes")
    return _forbidden(graph, x, _causal_nodes(graph, x, y))


def _valid(graph: CausalGraph, x: frozenset[str], y: frozenset[str], z: frozenset[str],
           cn: frozenset[str], forb: frozenset[str]) -> bool:
    if z & forb or z & y:
        return False
    backdoor = CausalGraph([e for e in graph.edges if not (e[0] in x and e[1] in cn)], nodes=graph.nodes)
    return backdoor.d_separated(x, y, z)


def is_adjustment_set(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str,
                      covariates: Iterable[str] | str) -> bool:
    """Whether ``covariates`` is a valid adjustment set for the effect of ``treatment`` on ``outcome``.

    The generalised adjustment criterion (sound and complete in a DAG): the covariates contain no node
    of ``forb(X, Y)`` and d-separate ``X`` and ``Y`` once the first edge of every proper causal path
    from ``X`` to ``Y`` is removed. When ``Y`` is not a descendant of ``X`` (the effect is zero), a set
    is valid when it d-separates ``X`` and ``Y`` in the graph itself.
    """
    owner = "is_adjustment_set"
    x, y = _pair(graph, treatment, outcome, owner)
    z = _names(graph, covariates, "covariates", owner, empty=True)
    cn = _causal_nodes(graph, x, y)
    return _valid(graph, x, y, z, cn, _forbidden(graph, x, cn))


def _observed(graph: CausalGraph, observed: Iterable[str] | None, owner: str) -> frozenset[str]:
    if observed is None:
        return frozenset(graph.nodes)
    return _names(graph, observed, "observed", owner, empty=True)


def _none_exists(x: frozenset[str], y: frozenset[str], cn: frozenset[str],
                 hidden: frozenset[str], owner: str) -> NoAdjustmentSetError:
    why = ("" if cn else " The outcome is not a descendant of the treatment, so the effect is zero in this graph, "
           "but an open path between them cannot be blocked.")
    hid = f" (hidden nodes: {sorted(hidden)})" if hidden else ""
    return NoAdjustmentSetError(
        f"{owner}: no set of observed nodes{hid} is a valid adjustment set for the effect of {sorted(x)} on "
        f"{sorted(y)} in this graph.{why} Identify it another way (front-door, the ID algorithm) or observe more.")


def drop_while_valid(chosen: frozenset | set, valid: Callable[[frozenset | set], bool],
                     key: Callable[[Any], Any] | None = None) -> frozenset | set:
    """Drop nodes from the valid set ``chosen`` (last by ``key`` first) while ``valid`` holds, until no single node
    can be dropped: a set from which no node can be dropped (Tian, Paz & Pearl 1998)."""
    changed = True
    while changed:
        changed = False
        for node in sorted(chosen, key=key, reverse=True):
            smaller = chosen - {node}
            if valid(smaller):
                chosen, changed = smaller, True
    return chosen


def _order(graph: CausalGraph, nodes: Iterable[str]) -> tuple[str, ...]:
    chosen = set(nodes)
    return tuple(v for v in graph.nodes if v in chosen)


def optimal_adjustment_set(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str, *,
                           observed: Iterable[str] | None = None) -> tuple[str, ...]:
    """``O(X, Y) = pa(cn(X, Y)) \\ forb(X, Y)`` (Henckel, Perković & Maathuis 2022), in node order.

    ``O`` is valid whenever some valid set exists, and has the smallest asymptotic variance among valid
    sets for OLS in linear SEMs. ``O`` is defined for outcomes that descend from the treatment; when one does
    not, the minimal set is returned instead. Raises :class:`NoAdjustmentSetError` when no valid set exists,
    or when ``O`` needs a node that is not ``observed`` (use :func:`minimal_adjustment_set` there).
    """
    owner = "optimal_adjustment_set"
    x, y = _pair(graph, treatment, outcome, owner)
    seen = _observed(graph, observed, owner)
    cn = _causal_nodes(graph, x, y)
    forb = _forbidden(graph, x, cn)
    if not y <= cn:  # an outcome with no causal path from X: O is not defined there (Henckel et al. need
        return _minimal(graph, x, y, seen, cn, forb, owner)  # Y ⊆ De(X)); the minimal set is the natural choice
    chosen = frozenset(p for v in cn for p in graph.parents(v)) - forb - y
    if not _valid(graph, x, y, chosen, cn, forb):
        raise _none_exists(x, y, cn, frozenset(graph.nodes) - seen, owner)
    hidden = chosen - seen
    if hidden:
        ancestors = set().union(*(graph.ancestors(v) for v in x | y))
        if not _valid(graph, x, y, frozenset(ancestors & seen) - forb - y, cn, forb):
            raise _none_exists(x, y, cn, frozenset(graph.nodes) - seen, owner)
        raise NoAdjustmentSetError(
            f"{owner}: the optimal adjustment set for the effect of {sorted(x)} on {sorted(y)} holds the hidden "
            f"node(s) {sorted(hidden)}. Use adjustment='minimal' (a valid set of observed nodes exists) or "
            f"observe them.")
    return _order(graph, chosen)


def minimal_adjustment_set(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str, *,
                           observed: Iterable[str] | None = None) -> tuple[str, ...]:
    """An inclusion-minimal valid adjustment set of ``observed`` nodes, in node order.

    Starts from ``(An(X ∪ Y) ∩ observed) \\ forb(X, Y)``, which is valid if any valid set of observed
    nodes is (van der Zander et al. 2019), and drops nodes (last in topological order first) while the
    set stays valid, until no single node can be dropped. Raises :class:`NoAdjustmentSetError` when no
    valid set of observed nodes exists.
    """
    owner = "minimal_adjustment_set"
    x, y = _pair(graph, treatment, outcome, owner)
    seen = _observed(graph, observed, owner)
    cn = _causal_nodes(graph, x, y)
    return _minimal(graph, x, y, seen, cn, _forbidden(graph, x, cn), owner)


def _minimal(graph: CausalGraph, x: frozenset[str], y: frozenset[str], seen: frozenset[str], cn: frozenset[str],
             forb: frozenset[str], owner: str) -> tuple[str, ...]:
    ancestors = set().union(*(graph.ancestors(v) for v in x | y))
    current = frozenset(ancestors & seen) - forb - y
    if not _valid(graph, x, y, current, cn, forb):
        raise _none_exists(x, y, cn, frozenset(graph.nodes) - seen, owner)
    rank = {v: i for i, v in enumerate(graph.topological_order())}
    current = drop_while_valid(current, lambda z: _valid(graph, x, y, z, cn, forb), rank.__getitem__)
    return _order(graph, current)


def parents_adjustment_set(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str, *,
                           observed: Iterable[str] | None = None) -> tuple[str, ...]:
    """``pa(X)``, the back-door set for one treatment (valid when every parent is observed and the outcome
    is not a parent). Raises :class:`NoAdjustmentSetError` when it is not valid, naming why."""
    owner = "parents_adjustment_set"
    x, y = _pair(graph, treatment, outcome, owner)
    seen = _observed(graph, observed, owner)
    chosen = frozenset(p for v in x for p in graph.parents(v)) - x
    hidden = chosen - seen
    if hidden:
        raise NoAdjustmentSetError(f"{owner}: the treatment's parents {sorted(hidden)} are hidden. Use "
                                   f"adjustment='minimal' or 'optimal'.")
    cn = _causal_nodes(graph, x, y)
    if not _valid(graph, x, y, chosen, cn, _forbidden(graph, x, cn)):
        raise NoAdjustmentSetError(
            f"{owner}: the treatment's parents {sorted(chosen)} are not a valid adjustment set for the effect of "
            f"{sorted(x)} on {sorted(y)} (the outcome is a parent, or a parent is forbidden: a descendant of a "
            f"node on a causal path). Use adjustment='optimal'.")
    return _order(graph, chosen)


def adjustment_set(graph: CausalGraph, treatment: Iterable[str] | str, outcome: Iterable[str] | str,
                   kind: str = "optimal", *, observed: Iterable[str] | None = None) -> tuple[str, ...]:
    """The adjustment set named by ``kind`` (one of :data:`ADJUSTMENTS`)."""
    rules = {"optimal": optimal_adjustment_set, "minimal": minimal_adjustment_set,
             "parents": parents_adjustment_set}
    check_choice(kind, "kind", "adjustment_set", ADJUSTMENTS)
    return rules[kind](graph, treatment, outcome, observed=observed)
