"""Exact ground truth for testing discovery algorithms: a d-separation oracle over a known DAG (hidden nodes
allowed), random DAGs with hidden common causes, and the maximal ancestral graph (MAG) such a DAG induces on its
observed nodes; the PAG of a MAG's Markov equivalence class, and the maximally oriented PDAG of a DAG's, under
background knowledge, both by enumeration.

With the oracle as its CI test, a sound and complete algorithm must return the true equivalence class: PC the
CPDAG, FCI the PAG of :func:`true_mag` (Richardson & Spirtes 2002, "Ancestral graph Markov models", Ann. Statist.
30), and PC with background knowledge :func:`maximally_oriented_pdag` (Meek 1995). Only the oracle's answers
matter, so the data passed alongside it are placeholders of the right width.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, product
from typing import Any

import networkx as nx
import numpy as np

from latentscm._validation import as_generator
from latentscm.discovery.ci_tests.base import CIQuery, CIResult, CITest
from latentscm.discovery.pag import ARROW, CIRCLE, TAIL

__all__ = ["DSeparationOracle", "instrumented_latent_dag", "is_ancestral", "mag_class", "maximally_oriented_pdag",
           "minimal_imap", "random_dag", "random_knowledge", "random_latent_dag", "random_latent_graph",
           "random_selection_dag", "true_mag", "true_pag"]


class DSeparationOracle(CITest):
    """A CI test answering from d-separation in ``graph`` (a DAG whose nodes are the data's column indices
    0..p-1, plus any hidden nodes numbered from p): p-value 1 when x and y are d-separated given z, else 0.
    ``selection``: hidden selection nodes of ``graph`` (numbered from p), added to every conditioning set (the data
    are a sample selected on them; Spirtes, Meek & Richardson 1995). The data it is bound to are not read."""

    name = "d_separation"

    def __init__(self, graph: nx.DiGraph | None = None, *, selection: Sequence[int] = ()) -> None:
        super().__init__()
        self.graph = graph
        self.selection = selection

    def _prepare(self, data: np.ndarray) -> Any:
        if not isinstance(self.graph, nx.DiGraph) or not nx.is_directed_acyclic_graph(self.graph):
            raise ValueError("DSeparationOracle needs 'graph', a networkx DiGraph without cycles.")
        missing = [c for c in range(data.shape[1]) if c not in self.graph]
        if missing:
            raise ValueError(f"DSeparationOracle's graph has no node for data columns {missing}.")
        selection = list(self.selection)
        bad = [s for s in selection
               if s not in self.graph or (isinstance(s, (int, np.integer)) and 0 <= s < data.shape[1])]
        if bad:
            raise ValueError(f"The 'selection' argument of DSeparationOracle must name hidden nodes of 'graph' (not "
                             f"data columns 0..{data.shape[1] - 1}). Got {bad}.")
        return frozenset(selection)

    def _compute(self, state: Any, queries: Sequence[CIQuery]) -> list[CIResult]:
        given = state or frozenset()
        return [CIResult(0.0, float(nx.is_d_separator(self.graph, set(q.x), set(q.y), set(q.z) | given)))
                for q in queries]


def random_latent_dag(seed: int | np.random.Generator, *, observed: tuple[int, int] = (4, 8),
                      hidden: tuple[int, int] = (1, 3), edge_prob: tuple[float, float] = (0.2, 0.5)
                      ) -> tuple[np.ndarray, int]:
    """A random DAG over p observed nodes (0..p-1) and h hidden ones (p..p+h-1), each hidden node a parent of two
    observed nodes (where that keeps the graph acyclic). p and h are drawn from the half-open ranges
    ``observed`` and ``hidden``, the edge probability uniformly from ``edge_prob``.

    Returns the adjacency (p + h, p + h) (``[i, j] = 1`` for i -> j) and p.
    """
    rng = as_generator(seed)
    p, h = int(rng.integers(*observed)), int(rng.integers(*hidden))
    n = p + h
    order = rng.permutation(n)
    adjacency = np.zeros((n, n), dtype=np.int64)
    prob = rng.uniform(*edge_prob)
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < prob:
                adjacency[order[i], order[j]] = 1
    for node in range(p, n):
        for child in rng.choice(p, 2, replace=False):
            if not nx.has_path(nx.DiGraph(adjacency), int(child), node):
                adjacency[node, child] = 1
    return adjacency, p


def random_latent_graph(seed: int | np.random.Generator, *, observed: tuple[int, int] = (4, 8),
                        hidden: tuple[int, int] = (1, 3)) -> tuple[Any, list[str]]:
    """:func:`random_latent_dag` as a :class:`~latentscm.graph.CausalGraph` with nodes ``V0 .. V{p-1}`` (observed)
    then ``U0 ..`` (hidden), in the adjacency's order (so ``graph.adjacency`` is the same matrix), and the observed
    names."""
    from latentscm.graph import CausalGraph

    adjacency, p = random_latent_dag(seed, observed=observed, hidden=hidden)
    names = [f"V{i}" if i < p else f"U{i - p}" for i in range(adjacency.shape[0])]
    return CausalGraph([(names[i], names[j]) for i, j in zip(*np.nonzero(adjacency))], nodes=names), names[:p]


def instrumented_latent_dag(seed: int | np.random.Generator, *, observed: tuple[int, int] = (3, 6),
                            hidden: tuple[int, int] = (1, 3)) -> tuple[np.ndarray, int]:
    """A DAG of :func:`random_latent_dag` (p observed nodes, then h hidden ones) whose observed node 0 gets two new
    observed root parents, numbered p and p + 1 (the hidden nodes move up by two). The collider they make at node 0
    makes edges out of it visible in the PAG, so effects of node 0 are often identified by adjustment despite the
    hidden nodes. Returns the adjacency (p + 2 + h, p + 2 + h) (``[i, j] = 1`` for i -> j) and p + 2."""
    adjacency, p = random_latent_dag(seed, observed=observed, hidden=hidden)
    n = adjacency.shape[0]
    out = np.zeros((n + 2, n + 2), dtype=np.int64)
    keep = list(range(p)) + list(range(p + 2, n + 2))
    out[np.ix_(keep, keep)] = adjacency
    out[p, 0] = out[p + 1, 0] = 1
    return out, p + 2


def random_selection_dag(seed: int | np.random.Generator, *, observed: tuple[int, int] = (4, 7),
                         hidden: tuple[int, int] = (1, 3), selection: tuple[int, int] = (1, 3),
                         edge_prob: tuple[float, float] = (0.2, 0.5)) -> tuple[np.ndarray, int, int]:
    """A DAG of :func:`random_latent_dag` (p observed nodes, then h hidden ones) with k selection nodes appended
    (p+h..p+h+k-1), k drawn from the half-open range ``selection``. Each selection node is a child of two observed
    nodes and of each other non-selection node with probability 0.15 (a common effect the sample is selected on:
    selection bias). Returns the adjacency (p+h+k, p+h+k) (``[i, j] = 1`` for i -> j), p and k; the selection nodes
    are the last k, the layout :func:`true_mag` takes."""
    rng = as_generator(seed)
    if len(selection) != 2 or not 0 <= selection[0] < selection[1]:
        raise ValueError(f"The 'selection' argument of random_selection_dag must be a half-open range (low, high) with "
                         f"0 <= low < high. Got {selection!r}.")
    base, p = random_latent_dag(rng, observed=observed, hidden=hidden, edge_prob=edge_prob)
    k = int(rng.integers(*selection))
    n = base.shape[0]
    adjacency = np.zeros((n + k, n + k), dtype=np.int64)
    adjacency[:n, :n] = base
    for s in range(n, n + k):
        adjacency[rng.choice(p, 2, replace=False), s] = 1
        adjacency[np.flatnonzero(rng.random(n) < 0.15), s] = 1
    return adjacency, p, k


def true_mag(adjacency: np.ndarray, n_observed: int, *, n_selection: int = 0) -> np.ndarray:
    """The MAG over the first ``n_observed`` nodes of a DAG (d, d) whose last ``n_selection`` nodes are selection
    variables (always conditioned on; the nodes between are hidden), in the PAG convention of
    :mod:`latentscm.discovery.pag` (``marks[i, j]`` is the mark at j; Richardson & Spirtes 2002, "Ancestral graph
    Markov models", Ann. Statist. 30): i and j are adjacent when no set Z of other observed nodes d-separates them
    given Z and the selection nodes S (checked by enumeration: keep ``n_observed`` small); the mark at j is a tail
    when j is an ancestor of i or of a node of S, else an arrowhead (so ``i --- j`` appears with selection)."""
    graph = nx.DiGraph(np.asarray(adjacency))
    graph.add_nodes_from(range(np.asarray(adjacency).shape[0]))
    p = int(n_observed)
    n_sel = int(n_selection)
    if n_sel < 0 or n_sel > graph.number_of_nodes() - p:
        raise ValueError(f"The 'n_selection' argument of true_mag must be in 0..{graph.number_of_nodes() - p} (the "
                         f"nodes after the {p} observed ones). Got {n_selection!r}.")
    if n_sel == 0:
        ancestors = {v: nx.ancestors(graph, v) for v in range(p)}
        marks = np.zeros((p, p), dtype=np.int64)
        for i, j in combinations(range(p), 2):
            others = [v for v in range(p) if v not in (i, j)]
            if not any(nx.is_d_separator(graph, {i}, {j}, set(s)) for r in range(len(others) + 1)
                       for s in combinations(others, r)):
                marks[i, j] = TAIL if j in ancestors[i] else ARROW
                marks[j, i] = TAIL if i in ancestors[j] else ARROW
        return marks
    n = graph.number_of_nodes()
    selected = list(range(n - n_sel, n))
    of_selection = set(selected).union(*(nx.ancestors(graph, s) for s in selected))
    ancestors = {v: nx.ancestors(graph, v) | of_selection for v in range(p)}
    marks = np.zeros((p, p), dtype=np.int64)
    for i, j in combinations(range(p), 2):
        others = [v for v in range(p) if v not in (i, j)]
        if not any(nx.is_d_separator(graph, {i}, {j}, set(s) | set(selected)) for r in range(len(others) + 1)
                   for s in combinations(others, r)):
            marks[i, j] = TAIL if j in ancestors[i] else ARROW
            marks[j, i] = TAIL if i in ancestors[j] else ARROW
    return marks


def _v_structures(adjacency: np.ndarray) -> set[tuple[int, int, int]]:
    out = set()
    for j in range(adjacency.shape[0]):
        for i, k in combinations(np.flatnonzero(adjacency[:, j]).tolist(), 2):
            if not (adjacency[i, k] or adjacency[k, i]):
                out.add((i, j, k))
    return out


def maximally_oriented_pdag(adjacency: np.ndarray, forbidden: np.ndarray | None = None,
                            required: np.ndarray | None = None, *, max_edges: int = 16) -> np.ndarray:
    """The edges oriented alike in every DAG Markov equivalent to ``adjacency`` (d, d), ``[i, j] = 1`` for
    i -> j, that has no ``forbidden`` edge and every ``required`` one ((d, d) bool, ``[i, j]`` for i -> j), as a
    PDAG (``[i, j] = [j, i] = 1`` for an undirected edge). Without knowledge it is the CPDAG.

    Computed by brute force, without Meek's rules: every orientation of the skeleton is kept when it is acyclic,
    has the same v-structures (Verma & Pearl 1990) and respects the knowledge. Hence ``max_edges`` (2**edges
    orientations). Raises ValueError when the DAG itself breaks the knowledge (no DAG would remain).
    """
    a = (np.asarray(adjacency) != 0).astype(np.int64)
    d = a.shape[0]
    forbidden = np.zeros((d, d), bool) if forbidden is None else np.asarray(forbidden, dtype=bool)
    required = np.zeros((d, d), bool) if required is None else np.asarray(required, dtype=bool)
    edges = [(int(i), int(j)) for i, j in np.argwhere(np.triu(a + a.T, 1))]
    if len(edges) > max_edges:
        raise ValueError(f"maximally_oriented_pdag enumerates 2**{len(edges)} orientations, more than max_edges="
                         f"{max_edges} allows.")
    target = _v_structures(a)
    kept = []
    for flips in product((False, True), repeat=len(edges)):
        b = np.zeros_like(a)
        for (i, j), flip in zip(edges, flips):
            b[(j, i) if flip else (i, j)] = 1
        if np.any(b.astype(bool) & forbidden) or np.any(required & ~b.astype(bool)):
            continue
        if _v_structures(b) != target or not nx.is_directed_acyclic_graph(nx.DiGraph(b)):
            continue
        kept.append(b)
    if not kept:
        raise ValueError("No DAG Markov equivalent to 'adjacency' respects the knowledge (the DAG breaks it).")
    stacked = np.stack(kept)
    return stacked.any(0).astype(np.int64)


class _BitDSeparation:
    """d-separation in a small DAG by bit masks (Lauritzen et al. 1990: i and j are d-separated by S iff S
    separates them in the moral graph of the ancestors of {i, j} ∪ S). Tens of times faster than networkx's
    general routine for the many queries of :func:`true_pag`; checked against networkx in the tests.
    ``selection``: nodes added to every conditioning set (selection variables)."""

    def __init__(self, graph: nx.DiGraph, selection: Sequence[int] = ()) -> None:
        nodes = sorted(graph.nodes)
        if nodes != list(range(len(nodes))):
            raise ValueError(f"_BitDSeparation needs nodes 0..n-1. Got {nodes}.")
        self.parents = [sum(1 << int(u) for u in graph.predecessors(v)) for v in nodes]
        self.ancestors = [(1 << v) | sum(1 << int(u) for u in nx.ancestors(graph, v)) for v in nodes]
        self.always = 0  # the selection nodes as a mask, and the union of their ancestors
        self.always_closed = 0
        for v in selection:
            self.always |= 1 << int(v)
            self.always_closed |= self.ancestors[int(v)]

    def __call__(self, i: int, j: int, given: Sequence[int]) -> bool:
        s_mask = self.always
        for v in given:
            s_mask |= 1 << v
        closed = self.ancestors[i] | self.ancestors[j] | self.always_closed
        for v in given:
            closed |= self.ancestors[v]
        neighbours: dict[int, int] = {}
        rest = closed
        while rest:
            v = (rest & -rest).bit_length() - 1
            rest &= rest - 1
            parents = self.parents[v]  # all in ``closed``: it is closed under ancestors
            neighbours[v] = neighbours.get(v, 0) | parents
            others = parents
            while others:
                u = (others & -others).bit_length() - 1
                others &= others - 1
                neighbours[u] = neighbours.get(u, 0) | (1 << v) | (parents & ~(1 << u))
        allowed = closed & ~s_mask
        reached = frontier = 1 << i
        while frontier:
            grown = 0
            while frontier:
                v = (frontier & -frontier).bit_length() - 1
                frontier &= frontier - 1
                grown |= neighbours.get(v, 0)
            frontier = grown & allowed & ~reached
            if frontier >> j & 1:
                return False
            reached |= frontier
        return True


def _separations(graph: nx.DiGraph, p: int) -> set[tuple[int, int, tuple[int, ...]]]:
    """Every d-separation ``(i, j, S)`` among the first p nodes of ``graph`` (nodes 0..n-1), each also given the
    selection nodes listed in ``graph.graph["selection"]`` (none when absent)."""
    separated = _BitDSeparation(graph, graph.graph.get("selection", ()))
    found = set()
    for i, j in combinations(range(p), 2):
        others = [v for v in range(p) if v not in (i, j)]
        for size in range(len(others) + 1):
            for s in combinations(others, size):
                if separated(i, j, s):
                    found.add((i, j, s))
    return found


def _same_separations(graph: nx.DiGraph, p: int, target: set[tuple[int, int, tuple[int, ...]]]) -> bool:
    """Whether the d-separations among the first p nodes of ``graph`` are exactly ``target`` (stops at the first
    difference: most candidates differ early); selection nodes as in :func:`_separations`."""
    separated = _BitDSeparation(graph, graph.graph.get("selection", ()))
    for i, j in combinations(range(p), 2):
        others = [v for v in range(p) if v not in (i, j)]
        for size in range(len(others) + 1):
            for s in combinations(others, size):
                if separated(i, j, s) != ((i, j, s) in target):
                    return False
    return True


def _mag_as_dag(marks: np.ndarray) -> nx.DiGraph:
    """A DAG with the MAG's m-separations among its p nodes (Richardson & Spirtes 2002, the canonical DAG): a hidden
    parent for each bidirected edge, a selection child for each undirected edge ``i --- j``. The selection nodes are
    listed in ``graph.graph["selection"]``: every separation query must condition on them."""
    p = marks.shape[0]
    graph = nx.DiGraph(selection=[])
    graph.add_nodes_from(range(p))
    extra = p
    for i, j in combinations(range(p), 2):
        if not marks[i, j]:
            continue
        if marks[i, j] == ARROW and marks[j, i] == TAIL:
            graph.add_edge(i, j)
        elif marks[j, i] == ARROW and marks[i, j] == TAIL:
            graph.add_edge(j, i)
        elif marks[i, j] == TAIL and marks[j, i] == TAIL:
            graph.add_edges_from([(i, extra), (j, extra)])
            graph.graph["selection"].append(extra)
            extra += 1
        else:
            graph.add_edges_from([(extra, i), (extra, j)])
            extra += 1
    return graph


def _directed_part(marks: np.ndarray) -> nx.DiGraph:
    p = marks.shape[0]
    directed = nx.DiGraph()
    directed.add_nodes_from(range(p))
    directed.add_edges_from((i, j) for i in range(p) for j in range(p) if marks[i, j] == ARROW and marks[j, i] == TAIL)
    return directed


def is_ancestral(marks: np.ndarray) -> bool:
    """Whether a mixed graph of directed, bidirected and undirected edges (marks (p, p), pcalg convention) is
    ancestral (Richardson & Spirtes 2002): no directed cycle, no bidirected edge between an ancestor and its
    descendant, and no arrowhead at an endpoint of an undirected edge."""
    undirected = ((marks == TAIL) & (marks.T == TAIL)).any(axis=0)
    if (marks[:, undirected] == ARROW).any():
        return False
    directed = _directed_part(marks)
    if not nx.is_directed_acyclic_graph(directed):
        return False
    return not any(marks[i, j] == ARROW and marks[j, i] == ARROW
                   and (nx.has_path(directed, i, j) or nx.has_path(directed, j, i))
                   for i, j in combinations(range(marks.shape[0]), 2))


def _respects_tiers(marks: np.ndarray, tier: np.ndarray) -> bool:
    """No node of a later tier is an ancestor of a node of an earlier one (``tier[v] < 0``: in no tier)."""
    directed = _directed_part(marks)
    for v in range(marks.shape[0]):
        if tier[v] < 0:
            continue
        if any(tier[u] >= 0 and tier[u] < tier[v] for u in nx.descendants(directed, v)):
            return False
    return True


def _unshielded_colliders(marks: np.ndarray) -> set[tuple[int, int, int]]:
    """Every ``(a, b, c)``, a < c not adjacent, with ``a *-> b <-* c`` (marks (p, p), ``marks[i, j]`` the mark at j)."""
    p = marks.shape[0]
    return {(a, b, c) for b in range(p) for a, c in combinations(np.flatnonzero(marks[:, b] == ARROW).tolist(), 2)
            if not marks[a, c]}


def _edge_respects_tiers(tier: np.ndarray, i: int, j: int, mark_j: int, mark_i: int) -> bool:
    """Whether the edge with ``mark_j`` at j and ``mark_i`` at i keeps a later tier from being a parent of an earlier
    one (a local filter before the whole-graph :func:`_respects_tiers`)."""
    if tier[i] < 0 or tier[j] < 0:
        return True
    if mark_i == TAIL and tier[i] > tier[j]:  # i -> j
        return False
    return not (mark_j == TAIL and tier[j] > tier[i])  # j -> i


def mag_class(mag: np.ndarray, start: np.ndarray | None = None, *, tiers: Sequence[int] | None = None,
              max_open: int = 24, selection: bool = False) -> list[np.ndarray]:
    """Every MAG (p, p) Markov equivalent to ``mag`` (same skeleton and m-separations; with ``tiers``, also
    respecting them), by enumeration; the arguments as in :func:`true_pag`, whose marks are those shared by
    every member."""
    mag = np.asarray(mag, dtype=np.int64)
    p = mag.shape[0]
    circles = np.where(mag != 0, CIRCLE, 0) if start is None else np.asarray(start, dtype=np.int64)
    tier = None if tiers is None else np.asarray(tiers, dtype=np.int64)
    target = _separations(_mag_as_dag(mag), p)
    edges = [(i, j) for i, j in combinations(range(p), 2)
             if mag[i, j] and (circles[i, j] == CIRCLE or circles[j, i] == CIRCLE)]
    if len(edges) > max_open:
        raise ValueError(f"true_pag would enumerate {len(edges)} open edges, more than max_open={max_open}.")
    kinds = ((ARROW, TAIL), (TAIL, ARROW), (ARROW, ARROW)) + (((TAIL, TAIL),) if selection else ())
    options = [[(mj, mi) for mj, mi in kinds
                if circles[i, j] in (CIRCLE, mj) and circles[j, i] in (CIRCLE, mi)
                and (tier is None or _edge_respects_tiers(tier, i, j, mj, mi))] for i, j in edges]
    colliders = _unshielded_colliders(mag)
    members = []
    for choice in product(*options):
        m = circles.copy()
        for (i, j), (mj, mi) in zip(edges, choice):
            m[i, j], m[j, i] = mj, mi
        # Markov-equivalent MAGs share their unshielded colliders (Spirtes & Richardson 1996): a cheap filter
        if _unshielded_colliders(m) != colliders or not is_ancestral(m):
            continue
        if tier is not None and not _respects_tiers(m, tier):
            continue
        if _same_separations(_mag_as_dag(m), p, target):
            members.append(m)
    if not members:
        raise ValueError("true_pag found no MAG in the class (does 'mag' break the tiers?).")
    return members


def true_pag(mag: np.ndarray, start: np.ndarray | None = None, *, tiers: Sequence[int] | None = None,
             max_open: int = 24, selection: bool = False) -> np.ndarray:
    """The PAG of ``mag``'s Markov equivalence class by enumeration: the marks shared by every MAG with the same
    skeleton and m-separations (and, with ``tiers``, no ancestor in a later tier than its descendant).

    ``mag``: (p, p) marks in the pcalg convention (``marks[i, j]`` the mark at j); it may hold undirected edges
    (tails at both ends, from selection). ``start``: a sound PAG of the class (e.g. FCI's with an oracle); only its
    circle marks are enumerated (default: every mark, so keep p small). ``tiers``: a tier number per node (-1: in
    no tier). ``selection``: whether the class admits undirected edges (selection bias possible); without it an open
    edge is ``->``, ``<-`` or ``<->`` in each member. Raises ValueError when more than ``max_open`` edges are open,
    or no member is left (``mag`` itself breaks the tiers).
    """
    stack = np.stack(mag_class(mag, start, tiers=tiers, max_open=max_open, selection=selection))
    mag = np.asarray(mag, dtype=np.int64)
    return np.where((stack == stack[0]).all(axis=0), stack[0], CIRCLE) * (mag != 0)


def minimal_imap(adjacency: np.ndarray, n_observed: int, order: Sequence[int]) -> np.ndarray:
    """The minimal independence map (p, p) of the observed nodes 0..p-1 of the DAG ``adjacency`` (hidden nodes from
    p) in ``order`` (a permutation of 0..p-1): each node's parents are the predecessors it is d-connected to given
    the other predecessors (Pearl's boundary DAG). What a score search finds in the large-sample limit when it ends
    in that order; latent confounding, or an order against the causal one, gives it extra edges. ``[i, j] = 1`` for
    i -> j."""
    p = int(n_observed)
    order = [int(v) for v in order]
    if sorted(order) != list(range(p)):
        raise ValueError(f"The 'order' argument of minimal_imap must be a permutation of 0..{p - 1}. Got {order}.")
    graph = nx.DiGraph(np.asarray(adjacency))
    graph.add_nodes_from(range(np.asarray(adjacency).shape[0]))
    dag = np.zeros((p, p), dtype=np.int64)
    for k, v in enumerate(order):
        for u in order[:k]:
            if not nx.is_d_separator(graph, {u}, {v}, set(order[:k]) - {u}):
                dag[u, v] = 1
    return dag


def random_dag(seed: int | np.random.Generator, n_nodes: int, *, edge_prob: tuple[float, float] = (0.25, 0.6)
               ) -> tuple[np.ndarray, np.ndarray]:
    """A random DAG over ``n_nodes`` nodes: a random topological order, each ordered pair an edge with a
    probability drawn uniformly from ``edge_prob``. Returns the adjacency (d, d) (``[i, j] = 1`` for i -> j) and
    the order (d,)."""
    rng = as_generator(seed)
    d = int(n_nodes)
    order = rng.permutation(d)
    prob = rng.uniform(*edge_prob)
    adjacency = np.zeros((d, d), dtype=np.int64)
    for i, j in combinations(range(d), 2):
        if rng.random() < prob:
            adjacency[order[i], order[j]] = 1
    return adjacency, order


def random_knowledge(seed: int | np.random.Generator, adjacency: np.ndarray, order: np.ndarray,
                     names: Sequence[str], *, share: float = 0.2) -> Any:
    """Background knowledge true of the DAG ``adjacency`` (d, d) with topological ``order`` (d,), by ``names``:
    each edge required with probability ``share``, its reverse forbidden with that probability, each absent
    orientation forbidden with it too, and in half the draws tiers from a split of ``order`` into up to three
    parts. Returns a :class:`~latentscm.discovery.knowledge.BackgroundKnowledge`."""
    from latentscm.discovery.knowledge import BackgroundKnowledge

    rng = as_generator(seed)
    a = np.asarray(adjacency)
    d = a.shape[0]
    edges = np.argwhere(a)
    required = [(names[i], names[j]) for i, j in edges if rng.random() < share]
    forbidden = [(names[j], names[i]) for i, j in edges if rng.random() < share]  # the reverse of a true edge
    absent = [(names[i], names[j]) for i, j in product(range(d), repeat=2) if i != j and not (a[i, j] or a[j, i])]
    forbidden += [pair for pair in absent if rng.random() < share]
    tiers = []
    if rng.random() < 0.5:
        cuts = sorted(rng.choice(np.arange(1, d), size=min(2, d - 1), replace=False))
        tiers = [[names[v] for v in part] for part in np.split(np.asarray(order), cuts)]
    return BackgroundKnowledge(forbidden=forbidden, required=required, tiers=tiers)


def cpdag_members(cpdag: np.ndarray) -> list[np.ndarray]:
    """Every DAG (d, d) of the Markov equivalence class of ``cpdag`` (d, d) (``[i, j] = 1`` for i -> j, both for
    i - j), by brute force over the orientations of its undirected edges: keep those that are acyclic and have
    ``cpdag`` as their CPDAG. Keep the number of undirected edges small (2 ** edges orientations)."""
    from latentscm.metrics.graphs import _is_acyclic, dag_to_cpdag

    cpdag = np.asarray(cpdag, dtype=np.int64)
    undirected = list(zip(*np.nonzero(np.triu(cpdag & cpdag.T, 1))))
    out = []
    for flips in product((0, 1), repeat=len(undirected)):
        dag = cpdag.copy()
        for (i, j), flip in zip(undirected, flips):
            if flip:
                dag[i, j] = 0
            else:
                dag[j, i] = 0
        if _is_acyclic(dag.astype(bool)) and np.array_equal(dag_to_cpdag(dag), cpdag):
            out.append(dag)
    return out


def random_tiers(rng: np.random.Generator, adjacency: np.ndarray, n_observed: int, *, drop: float = 0.0
                 ) -> np.ndarray:
    """True tiers (int (p,), -1: in no tier) of the first ``n_observed`` nodes of a DAG (d, d): a topological
    order of the whole DAG (hidden nodes included) cut at 1-2 random points, each node then left out of the tiers
    with probability ``drop``. A node of a later tier is never an ancestor of one of an earlier tier."""
    graph = nx.DiGraph(np.asarray(adjacency))
    graph.add_nodes_from(range(np.asarray(adjacency).shape[0]))
    p = int(n_observed)
    order = [v for v in nx.topological_sort(graph) if v < p]
    tier = np.zeros(p, dtype=np.int64)
    for cut in rng.choice(np.arange(1, p), size=int(rng.integers(1, 3)), replace=False):
        for v in order[cut:]:
            tier[v] += 1
    tier[rng.random(p) < drop] = -1
    return tier
