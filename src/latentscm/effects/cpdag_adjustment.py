"""Covariate adjustment in a CPDAG: effects that observational data identify without a unique DAG.

Perković, Kalisch & Maathuis, *Interpreting and using CPDAGs with background knowledge*, UAI 2017, and
Perković, Textor, Kalisch & Maathuis, JMLR 2018. A CPDAG (what PC or GES return) stands for its Markov
equivalence class. The effect of ``X`` on ``Y`` is the same in every DAG of the class, and identified by
adjustment, exactly when the CPDAG is **amenable** relative to ``(X, Y)``: every proper possibly causal path
from ``X`` to ``Y`` starts with an edge ``X -> ``, not ``X - ``. Then a set ``Z`` is a valid adjustment set
in every DAG of the class exactly when it avoids the CPDAG's forbidden nodes (the possible descendants of
the nodes on proper possibly causal paths, and ``X``) and is a valid adjustment set in one consistent
extension of the CPDAG (a DAG of the class; Dor & Tarsi 1992). ``tests/effects/test_cpdag_adjustment.py``
checks this rule against every member of enumerated classes. Graphs oriented further by background knowledge
(maximally oriented PDAGs, e.g. from ``pc(knowledge=...)``) are handled with the stricter b-possibly causal
paths of Perković et al. (2017), found by enumeration (refused above 200,000 path steps).

The optimal set is Henckel, Perković & Maathuis's (JRSS-B 2022) ``O = pa(cn) \\ forb`` with ``pa`` the
definite (directed) parents in the CPDAG. Every node must be observed (a CPDAG assumes no hidden variables).
A CPDAG that is not amenable is refused with the advice to use IDA (:func:`latentscm.effects.ida`), which
lists the possible effects instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import check_choice
from latentscm.effects.adjustment import (
    ADJUSTMENTS,
    NoAdjustmentSetError,
    _order,
    drop_while_valid,
    is_adjustment_set,
)
from latentscm.graph import CausalGraph, UnknownNodeError

__all__ = ["is_amenable", "cpdag_adjustment_set", "is_cpdag_adjustment_set", "NotAmenableError"]


#: Path extensions the exact (non-CPDAG) path search may make before it refuses the graph as too large.
_PATH_BUDGET = 200_000


class NotAmenableError(NoAdjustmentSetError):
    """The CPDAG leaves the effect unidentified: different DAGs of its class give different effects."""


class NamedGraph:
    """Shared by the CPDAG and PAG helpers: ``nodes`` (names), ``owner`` (the public function, for errors)."""

    nodes: tuple[str, ...]
    owner: str

    def index(self, name: Any, what: str) -> int:
        if not isinstance(name, str):
            raise TypeError(f"The {what!r} argument of {self.owner} must be one node name. Got {name!r}.")
        if name not in self.nodes:
            raise UnknownNodeError(name, self.nodes)
        return self.nodes.index(name)

    def covariates(self, covariates: Any) -> set[int]:
        """The positions of ``covariates`` (one name or a collection of names)."""
        try:
            items = [covariates] if isinstance(covariates, str) else list(covariates)
        except TypeError:
            raise TypeError(f"The 'covariates' argument of {self.owner} must be node names. "
                            f"Got {covariates!r}.") from None
        return {self.index(v, "covariates") for v in items}

    def pair(self, treatment: Any, outcome: Any) -> tuple[int, int]:
        x, y = self.index(treatment, "treatment"), self.index(outcome, "outcome")
        if x == y:
            raise ValueError(f"{self.owner}: 'treatment' and 'outcome' are both {treatment!r}.")
        return x, y


class _Cpdag(NamedGraph):
    """A CPDAG's nodes, its (d, d) adjacency (``a[i, j]`` for ``i -> j``, both for ``i - j``) and the queries."""

    def __init__(self, graph: Any, owner: str) -> None:
        from latentscm.discovery.result import DiscoveredGraph

        if not isinstance(graph, DiscoveredGraph):
            raise TypeError(f"The 'graph' argument of {owner} must be a DiscoveredGraph (a CPDAG). "
                            f"Got {type(graph).__name__}.")
        from latentscm.discovery.ges import consistent_extension, cpdag_from_dag

        self.nodes = tuple(graph.nodes)
        self.a = np.asarray(graph.adjacency) != 0
        self.owner = owner
        try:
            self.dag = consistent_extension(self.a.astype(np.int64))
        except ValueError:
            raise ValueError(f"The 'graph' argument of {owner} has no consistent extension (a directed cycle, or "
                             f"orientations no DAG of one class shares): it is not a CPDAG.") from None
        # A CPDAG (no background knowledge) needs only the fast path rule; other PDAGs (MPDAGs) the exact one.
        self.is_cpdag = bool(np.array_equal(cpdag_from_dag(self.dag) != 0, self.a))
        self.directed = self.a & ~self.a.T
        self.budget = _PATH_BUDGET

    def possibly_reached(self, start: int, avoid: set[int]) -> set[int]:
        """Nodes reached from ``start`` along edges ``->`` or ``-`` without entering ``avoid``."""
        seen: set[int] = set()
        stack = [start]
        while stack:
            v = stack.pop()
            for w in np.flatnonzero(self.a[v]):
                w = int(w)
                if w not in seen and w not in avoid:
                    seen.add(w)
                    stack.append(w)
        return seen

    def b_paths(self, path: list[int], target: int | None) -> tuple[set[int], set[int]]:
        """Extend ``path`` along b-possibly causal paths (Perković et al. 2017: consecutive edges ``->`` or ``-``,
        and no edge ``V_j -> V_i`` from a later node to an earlier one). Returns the nodes reached and, with a
        ``target``, the nodes after ``path[0]`` on the paths that end at it."""
        reached: set[int] = set()
        on_target: set[int] = set()

        def extend(current: list[int]) -> None:
            for w in np.flatnonzero(self.a[current[-1]]):
                w = int(w)
                if w in current or self.directed[w, current].any():
                    continue
                self.budget -= 1
                if self.budget < 0:
                    raise ValueError(f"{self.owner}: the graph is not a CPDAG (it carries background knowledge) and "
                                     f"has more than {_PATH_BUDGET} possibly causal paths to check; give a CPDAG "
                                     f"or a smaller graph.")
                reached.add(w)
                if w == target:
                    on_target.update(current[1:])
                    on_target.add(w)
                    continue
                extend([*current, w])

        extend(list(path))
        return reached, on_target

    def amenable(self, x: int, y: int) -> bool:
        siblings = [int(s) for s in np.flatnonzero(self.a[x] & self.a[:, x])]
        if self.is_cpdag:
            return not any(s == y or y in self.possibly_reached(s, {x}) for s in siblings)
        return not any(s == y or self.b_paths([x, s], y)[1] for s in siblings)

    def causal_nodes(self, x: int, y: int) -> set[int]:
        if self.is_cpdag:
            return {w for w in self.possibly_reached(x, {x}) if w == y or y in self.possibly_reached(w, {x})}
        return self.b_paths([x], y)[1]

    def forbidden(self, x: int, causal: set[int]) -> set[int]:
        out = set(causal) | {x}
        for w in causal:
            out |= self.possibly_reached(w, set()) if self.is_cpdag else self.b_paths([w], None)[0]
        return out

    def extension(self) -> CausalGraph:
        return CausalGraph.from_adjacency(self.dag, list(self.nodes))


def _setup(graph: Any, treatment: Any, outcome: Any, owner: str) -> tuple[_Cpdag, int, int]:
    cpdag = _Cpdag(graph, owner)
    return (cpdag, *cpdag.pair(treatment, outcome))


def is_amenable(graph: Any, treatment: str, outcome: str) -> bool:
    """Whether the CPDAG ``graph`` identifies the effect of ``treatment`` on ``outcome`` (every proper possibly
    causal path from the treatment starts with a directed edge out of it)."""
    cpdag, x, y = _setup(graph, treatment, outcome, "is_amenable")
    return cpdag.amenable(x, y)


def _valid(cpdag: _Cpdag, extension: CausalGraph, x: int, y: int, z: set[int], forb: set[int]) -> bool:
    return not (z & forb) and y not in z and is_adjustment_set(
        extension, cpdag.nodes[x], cpdag.nodes[y], [cpdag.nodes[v] for v in z])


def _refuse_unamenable(cpdag: _Cpdag, x: int, y: int, owner: str) -> NotAmenableError:
    return NotAmenableError(
        f"{owner}: the CPDAG does not identify the effect of {cpdag.nodes[x]!r} on {cpdag.nodes[y]!r}: a possibly "
        f"causal path leaves it by an undirected edge, so DAGs of its class disagree on the effect. Use ida() "
        f"(command line: --ida) for the possible effects, or orient the edges at the treatment (background "
        f"knowledge, then pass the oriented graph).")


def is_cpdag_adjustment_set(graph: Any, treatment: str, outcome: str, covariates: Any) -> bool:
    """Whether ``covariates`` is a valid adjustment set in every DAG of the CPDAG's class (False when the
    CPDAG is not amenable)."""
    owner = "is_cpdag_adjustment_set"
    cpdag, x, y = _setup(graph, treatment, outcome, owner)
    z = cpdag.covariates(covariates)
    if not cpdag.amenable(x, y):
        return False
    return _valid(cpdag, cpdag.extension(), x, y, z, cpdag.forbidden(x, cpdag.causal_nodes(x, y)))


def cpdag_adjustment_set(graph: Any, treatment: str, outcome: str, kind: str = "optimal") -> tuple[str, ...]:
    """The ``kind`` (one of :data:`~latentscm.effects.ADJUSTMENTS`) adjustment set of an amenable CPDAG, valid in
    every DAG of its class, in node order. Raises :class:`NotAmenableError` when the CPDAG does not identify the
    effect, and :class:`NoAdjustmentSetError` when the set asked for is not valid."""
    owner = "cpdag_adjustment_set"
    check_choice(kind, "kind", owner, ADJUSTMENTS)
    cpdag, x, y = _setup(graph, treatment, outcome, owner)
    if not cpdag.amenable(x, y):
        raise _refuse_unamenable(cpdag, x, y, owner)
    causal = cpdag.causal_nodes(x, y)
    forb = cpdag.forbidden(x, causal)
    extension = cpdag.extension()
    directed = cpdag.a & ~cpdag.a.T
    if kind == "optimal" and y in causal:
        chosen = {int(u) for w in causal for u in np.flatnonzero(directed[:, w])} - forb
    elif kind == "parents":
        chosen = {int(u) for u in np.flatnonzero(directed[:, x])}
        if np.any(cpdag.a[x] & cpdag.a[:, x]):
            raise NoAdjustmentSetError(f"{owner}: the treatment {cpdag.nodes[x]!r} has undirected edges, so its "
                                       f"parents differ across the class. Use the optimal set (adjustment='optimal').")
    else:  # minimal (and optimal with no possibly causal path: the effect is zero, O is undefined)
        ancestors = set()
        for v in (x, y):
            ancestors |= {extension.index(a) for a in extension.ancestors(cpdag.nodes[v])}
        chosen = ancestors - forb - {y}
        if _valid(cpdag, extension, x, y, chosen, forb):
            chosen = drop_while_valid(chosen, lambda z: _valid(cpdag, extension, x, y, z, forb))
    if not _valid(cpdag, extension, x, y, chosen, forb):
        raise NoAdjustmentSetError(f"{owner}: no valid {kind} adjustment set for the effect of {cpdag.nodes[x]!r} on "
                                   f"{cpdag.nodes[y]!r} in this CPDAG.")
    return _order(extension, {cpdag.nodes[v] for v in chosen})
