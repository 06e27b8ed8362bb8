"""Covariate adjustment in a PAG: effects that data identify although hidden confounders may exist.

Perković, Textor, Kalisch & Maathuis, *Complete graphical characterization and construction of adjustment sets
in Markov equivalence classes of ancestral graphs*, JMLR 18 (2018). A PAG (what FCI returns, marks as in
:mod:`latentscm.discovery.pag`) stands for a Markov equivalence class of maximal ancestral graphs (MAGs), and so
for every DAG, with any number of hidden variables, whose MAG lies in that class. A set ``Z`` of the PAG's nodes
is an adjustment set for the effect of ``X`` on ``Y`` when ``P(y | do(x)) = E_z P(y | x, z)`` in every such DAG.
The generalised adjustment criterion (GAC) says exactly when:

- the PAG is **amenable** relative to ``(X, Y)``: every proper possibly directed path from ``X`` to ``Y`` starts
  with a *visible* edge ``X -> D``. An edge ``A -> B`` is visible (Zhang 2008, *Causal reasoning with ancestral
  graphs*, JMLR 9) when some node ``C`` not adjacent to ``B`` has an edge into ``A``, or a collider path into
  ``A`` whose inner nodes are all parents of ``B``: then no DAG of the class confounds ``A`` and ``B``;
- ``Z`` holds no node of ``Forb(X, Y)``: the possible descendants of the nodes other than ``X`` on proper
  possibly directed paths from ``X`` to ``Y``;
- ``Z`` blocks every proper definite-status non-causal path from ``X`` to ``Y``. Given the two conditions above,
  this holds exactly when ``Z`` m-separates ``X`` and ``Y`` in the proper back-door graph of one MAG of the class
  (the reduction of the paper's Section 5, as van der Zander, Liśkiewicz & Textor, UAI 2014, do for one MAG). The
  MAG is Zhang's (2008, AIJ 172, Thm. 2) representative: ``o->`` read as ``->``, and the circle component
  oriented as a DAG without unshielded colliders.

A path is possibly directed when each edge on it can point away from ``X``: no arrowhead toward ``X`` and no
tail away from it. ``tests/effects/test_pag_adjustment.py`` checks the whole rule against the definition: every
MAG of enumerated classes, with each MAG's own criterion checked against DAGs that have it as their MAG.

The canonical set ``Adjust(X, Y) = PossAn(X ∪ Y) \\ (Forb(X, Y) ∪ {X, Y})`` is an adjustment set whenever any
set is (the paper's Thm. 4.4); ``"minimal"`` drops nodes from it while the rest stays valid. No optimal set is
known for PAGs (Runge 2021 treats one known graph with hidden nodes). PAGs with undirected edges (selection bias)
are outside the criterion and refused.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from latentscm._validation import check_choice
from latentscm.discovery.pag import ARROW as _ARROW
from latentscm.discovery.pag import CIRCLE as _CIRCLE
from latentscm.discovery.pag import TAIL as _TAIL
from latentscm.effects.adjustment import NoAdjustmentSetError, drop_while_valid
from latentscm.effects.cpdag_adjustment import NamedGraph, NotAmenableError

__all__ = ["PAG_ADJUSTMENTS", "is_pag_amenable", "is_pag_adjustment_set", "pag_adjustment_set",
           "pag_forbidden_nodes", "visible_edges"]

#: The set kinds :func:`pag_adjustment_set` (and ``estimate_effect`` given a PAG) accept.
PAG_ADJUSTMENTS = ("canonical", "minimal")



class _Pag(NamedGraph):
    """A PAG's nodes, marks (d, d; ``m[i, j]`` the mark at j), its possibly directed edges and one MAG."""

    def __init__(self, graph: Any, owner: str) -> None:
        from latentscm.discovery.pag import PartialAncestralGraph

        if not isinstance(graph, PartialAncestralGraph):
            raise TypeError(f"The 'graph' argument of {owner} must be a PartialAncestralGraph (a PAG, e.g. from "
                            f"fci()). Got {type(graph).__name__}.")
        m = np.asarray(graph.marks, dtype=np.int64)
        strangers = [v for v in graph.nodes if not isinstance(v, str)]
        if strangers:
            raise TypeError(f"The 'graph' argument of {owner} must name its nodes with strings. Got {strangers[:3]}.")
        self.nodes = tuple(graph.nodes)
        self.owner = owner
        self.m = m
        self.d = len(self.nodes)
        tails = (m == _TAIL) & (m.T != _ARROW) & (m != 0)
        if tails.any():
            i, j = (int(v) for v in np.argwhere(tails)[0])
            raise ValueError(f"The 'graph' argument of {owner} has the edge {self.nodes[j]!r} - {self.nodes[i]!r} "
                             f"with no arrowhead (undirected or o-), which comes from selection bias: adjustment "
                             f"in PAGs is defined without selection variables.")
        # pd[a, b]: the edge a *-* b can point a -> b (mark at a not an arrowhead, mark at b not a tail)
        self.pd = (m != 0) & (m.T != _ARROW) & (m != _TAIL)
        self.directed = (m == _ARROW) & (m.T == _TAIL)
        self.mag = self._zhang_mag()

    def _zhang_mag(self) -> np.ndarray:
        """Zhang's MAG of the class: ``o->`` as ``->``, the ``o-o`` component as a DAG without unshielded
        colliders (a consistent extension of a chordal undirected graph)."""
        from latentscm.discovery.ges import consistent_extension

        m = self.m.copy()
        half = (m == _ARROW) & (m.T == _CIRCLE)  # [a, b]: a o-> b
        m.T[half] = _TAIL
        both = (m == _CIRCLE) & (m.T == _CIRCLE)
        if both.any():
            try:
                dag = consistent_extension(both.astype(np.int64))
            except ValueError:
                raise ValueError(f"The 'graph' argument of {self.owner} is not a PAG: its circle component cannot "
                                 f"be oriented without a new collider (it is not chordal).") from None
            m[both] = np.where(dag[both] != 0, _ARROW, _TAIL)
        return m

    def reached(self, starts: set[int], edges: np.ndarray, avoid: frozenset[int] = frozenset()) -> set[int]:
        """Nodes reachable from ``starts`` (included) along ``edges[a, b]`` without entering ``avoid``."""
        seen = set(starts)
        stack = list(starts)
        while stack:
            v = stack.pop()
            for w in np.flatnonzero(edges[v]):
                w = int(w)
                if w not in seen and w not in avoid:
                    seen.add(w)
                    stack.append(w)
        return seen

    def visible(self, a: int, b: int) -> bool:
        """Whether the edge ``a -> b`` is visible (Zhang 2008, JMLR 9, Def. 2; on the PAG's definite marks)."""
        m = self.m
        seen = {a}
        frontier = [a]
        while frontier:
            v = frontier.pop()
            for c in np.flatnonzero(m[:, v] == _ARROW):  # c *-> v
                c = int(c)
                if c == b or c in seen:
                    continue
                if not m[c, b]:
                    return True  # c is not adjacent to b and reaches a by a collider path into a
                if self.directed[c, b] and m[v, c] == _ARROW:  # c -> b, and c a collider if the path goes on
                    seen.add(c)
                    frontier.append(c)
        return False

    def first_steps(self, x: int, y: int) -> list[int]:
        """The nodes ``D`` that start a proper possibly directed path ``x *-* D ... y``."""
        return [int(v) for v in np.flatnonzero(self.pd[x])
                if v == y or y in self.reached({int(v)}, self.pd, frozenset({x}))]

    def amenable(self, x: int, y: int) -> bool:
        return all(self.directed[x, v] and self.visible(x, v) for v in self.first_steps(x, y))

    def forbidden(self, x: int, y: int) -> set[int]:
        """``Forb(x, y)``: the possible descendants of every node other than x on a proper possibly directed path
        from x to y (empty when there is none)."""
        back_to_y = self.reached({y}, self.pd.T, frozenset({x}))
        on_paths = self.reached(set(self.first_steps(x, y)), self.pd, frozenset({x})) & back_to_y
        return self.reached(on_paths, self.pd) if on_paths else set()

    def possible_ancestors(self, nodes: set[int]) -> set[int]:
        return self.reached(nodes, self.pd.T)

    def separated_in_backdoor_mag(self, x: int, y: int, z: set[int]) -> bool:
        """Whether z m-separates x and y in the proper back-door graph of the MAG: the MAG without its edges
        ``x -> D`` with D an ancestor of y (or y), as a DAG with a hidden parent per bidirected edge."""
        mag = self.mag
        directed = (mag == _ARROW) & (mag.T == _TAIL)
        to_y = self.reached({y}, directed.T)
        graph = nx.DiGraph()
        graph.add_nodes_from(range(self.d))
        hidden = self.d
        for a, b in zip(*np.nonzero(mag == _ARROW)):
            a, b = int(a), int(b)
            if mag[b, a] == _TAIL:
                if not (a == x and b in to_y):
                    graph.add_edge(a, b)
            elif a < b:  # a <-> b, once
                graph.add_edges_from([(hidden, a), (hidden, b)])
                hidden += 1
        return nx.is_d_separator(graph, {x}, {y}, set(z))

    def valid(self, x: int, y: int, z: set[int], forb: set[int]) -> bool:
        return not (z & forb) and x not in z and y not in z and self.separated_in_backdoor_mag(x, y, z)


def _setup(graph: Any, treatment: Any, outcome: Any, owner: str) -> tuple[_Pag, int, int]:
    pag = _Pag(graph, owner)
    return (pag, *pag.pair(treatment, outcome))


def visible_edges(graph: Any) -> list[tuple[str, str]]:
    """Every directed edge ``(a, b)`` (``a -> b``) of the PAG or MAG ``graph`` that is visible: no DAG of the
    class has a hidden confounder of a and b. An invisible ``a -> b`` says a causes b, but maybe also shares a
    hidden cause with it."""
    pag = _Pag(graph, "visible_edges")
    return [(pag.nodes[a], pag.nodes[b]) for a, b in zip(*np.nonzero(pag.directed)) if pag.visible(int(a), int(b))]


def is_pag_amenable(graph: Any, treatment: str, outcome: str) -> bool:
    """Whether the PAG identifies the effect of ``treatment`` on ``outcome`` by adjustment in principle: every
    proper possibly directed path from the treatment to the outcome starts with a visible edge out of it."""
    pag, x, y = _setup(graph, treatment, outcome, "is_pag_amenable")
    return pag.amenable(x, y)


def pag_forbidden_nodes(graph: Any, treatment: str, outcome: str) -> tuple[str, ...]:
    """``Forb(X, Y)`` of the PAG, in node order: the nodes no adjustment set may contain."""
    pag, x, y = _setup(graph, treatment, outcome, "pag_forbidden_nodes")
    forb = pag.forbidden(x, y)
    return tuple(v for k, v in enumerate(pag.nodes) if k in forb)


def is_pag_adjustment_set(graph: Any, treatment: str, outcome: str, covariates: Any) -> bool:
    """Whether ``covariates`` is an adjustment set for the effect of ``treatment`` on ``outcome`` in every DAG
    (hidden variables allowed) whose MAG lies in the PAG's class. False when the PAG is not amenable."""
    owner = "is_pag_adjustment_set"
    pag, x, y = _setup(graph, treatment, outcome, owner)
    z = pag.covariates(covariates)
    return pag.amenable(x, y) and pag.valid(x, y, z, pag.forbidden(x, y))


def _refuse_unamenable(pag: _Pag, x: int, y: int, owner: str) -> NotAmenableError:
    bad = [pag.nodes[v] for v in pag.first_steps(x, y) if not (pag.directed[x, v] and pag.visible(x, v))]
    return NotAmenableError(
        f"{owner}: the PAG does not identify the effect of {pag.nodes[x]!r} on {pag.nodes[y]!r} by adjustment: a "
        f"possibly causal path leaves it through {bad}, by an edge that is not a visible '->' (its direction is "
        f"open, or a hidden confounder of the two is possible). No covariate set is valid in every DAG of the class.")


def pag_adjustment_set(graph: Any, treatment: str, outcome: str, kind: str = "canonical") -> tuple[str, ...]:
    """An adjustment set of the PAG, valid in every DAG (hidden variables allowed) of its class, in node order.

    ``kind``: ``"canonical"`` (Perković et al. 2018, ``Adjust(X, Y) = PossAn(X ∪ Y) \\ (Forb ∪ {X, Y})``, valid
    whenever any set is) or ``"minimal"`` (the canonical set with nodes dropped while it stays valid: no single
    node can be dropped from it). Raises :class:`NotAmenableError` when the PAG is not amenable and
    :class:`NoAdjustmentSetError` when no set of its nodes is valid.
    """
    owner = "pag_adjustment_set"
    check_choice(kind, "kind", owner, PAG_ADJUSTMENTS)
    pag, x, y = _setup(graph, treatment, outcome, owner)
    if not pag.amenable(x, y):
        raise _refuse_unamenable(pag, x, y, owner)
    forb = pag.forbidden(x, y)
    chosen = pag.possible_ancestors({x, y}) - forb - {x, y}
    if not pag.valid(x, y, chosen, forb):
        raise NoAdjustmentSetError(
            f"{owner}: no set of the PAG's nodes is an adjustment set for the effect of {pag.nodes[x]!r} on "
            f"{pag.nodes[y]!r} in every DAG of its class: a non-causal path between them stays open whatever set "
            f"outside Forb(X, Y) is adjusted for (e.g. one through a possible hidden confounder).")
    if kind == "minimal":
        chosen = drop_while_valid(chosen, lambda z: pag.valid(x, y, z, forb))
    return tuple(v for k, v in enumerate(pag.nodes) if k in chosen)
