"""Greedy Equivalence Search (GES): score-based discovery of a CPDAG.

Chickering (2002), "Optimal structure identification with greedy search", JMLR 3; Meek (1997), PhD thesis
(the two-phase search). The search moves between Markov equivalence classes, each held as its CPDAG:

* forward phase: from the empty graph, apply the best score-improving ``Insert(X, Y, T)`` until none
  improves. For non-adjacent X, Y, ``T`` is a subset of the undirected neighbours of Y not adjacent to X,
  and with ``NA`` the undirected neighbours of Y adjacent to X, the operator is valid iff ``NA ∪ T`` is a
  clique and every semi-directed path from Y to X has a node in ``NA ∪ T`` (Chickering's Theorem 15).
  It adds ``X -> Y`` and orients each ``T - Y`` as ``T -> Y``; its score change is
  ``s(Y, NA ∪ T ∪ Pa_Y ∪ {X}) - s(Y, NA ∪ T ∪ Pa_Y)``.
* backward phase: apply the best score-improving ``Delete(X, Y, H)`` until none improves. For adjacent
  X, Y (``X - Y`` or ``X -> Y``), ``H`` is a subset of ``NA``, valid iff ``NA \\ H`` is a clique (Theorem
  17); it removes the edge and orients ``Y - H`` as ``Y -> H`` and ``X - H`` as ``X -> H``; its score
  change is ``s(Y, (NA \\ H) ∪ Pa_Y \\ {X}) - s(Y, (NA \\ H) ∪ Pa_Y ∪ {X})``.

After each step the PDAG is completed back to a CPDAG: a consistent extension (Dor & Tarsi 1992, "A
simple algorithm to construct a consistent extension of a partially oriented graph"), then that DAG's
CPDAG (Chickering 1995, "A transformational characterization of equivalent Bayesian network structures",
UAI: ordering the edges and labelling them compelled or reversible).

Graphs are int matrices (d, d) in the library convention: ``g[i, j] = 1, g[j, i] = 0`` is ``i -> j``,
both set is ``i - j``. Inside the search node sets are bit masks (bit ``v`` for node ``v``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.discovery.pc import as_data_matrix
from latentscm.discovery.result import DiscoveredGraph
from latentscm.discovery.scores import GaussianBIC

__all__ = ["GES_SCORES", "apply_delete", "apply_insert", "consistent_extension", "cpdag_from_dag",
           "delete_operators", "ges", "greedy_phase", "insert_operators", "pdag_to_cpdag"]

#: Scores ``ges`` accepts.
GES_SCORES = ("bic",)


# ---------------------------------------------------------------------------------------------- bit masks
def _mask(nodes: Any) -> int:
    out = 0
    for v in nodes:
        out |= 1 << int(v)
    return out


def _bits(mask: int) -> list[int]:
    out = []
    v = 0
    while mask:
        if mask & 1:
            out.append(v)
        mask >>= 1
        v += 1
    return out


class _Structure:
    """Parents, children, undirected neighbours and adjacencies of every node of a PDAG, as bit masks."""

    def __init__(self, g: np.ndarray) -> None:
        a = np.asarray(g) != 0
        undirected = a & a.T
        directed = a & ~a.T
        d = a.shape[0]
        self.d = d
        self.pa = [_mask(np.flatnonzero(directed[:, v])) for v in range(d)]
        self.ch = [_mask(np.flatnonzero(directed[v])) for v in range(d)]
        self.ne = [_mask(np.flatnonzero(undirected[v])) for v in range(d)]
        self.adj = [self.pa[v] | self.ch[v] | self.ne[v] for v in range(d)]

    def is_clique(self, mask: int) -> bool:
        """Whether the nodes of ``mask`` are pairwise adjacent."""
        for v in _bits(mask):
            if mask & ~(1 << v) & ~self.adj[v]:
                return False
        return True

    def blocks_semi_directed(self, y: int, x: int, blocked: int) -> bool:
        """Whether every semi-directed path from ``y`` to ``x`` (each edge ``a - b`` or ``a -> b``, walked
        away from ``y``) has a node in ``blocked``."""
        seen = (1 << y) | blocked
        stack = [y]
        while stack:
            v = stack.pop()
            step = (self.ch[v] | self.ne[v]) & ~seen
            if step >> x & 1:
                return False
            seen |= step
            stack.extend(_bits(step))
        return True


def _subsets(nodes: list[int]) -> Iterator[int]:
    """Every subset of ``nodes`` as a bit mask, by size, then in lexicographic order."""
    for size in range(len(nodes) + 1):
        for chosen in combinations(nodes, size):
            yield _mask(chosen)


# ------------------------------------------------------------------------------------------- operators
def _insert_candidates(s: _Structure, max_parents: int | None) -> Iterator[tuple[int, int, int, int]]:
    """``(x, y, T, NA ∪ T)`` of every Insert whose ``NA ∪ T`` is a clique and that respects ``max_parents``
    (the semi-directed-path condition is left to the caller)."""
    for x in range(s.d):
        for y in range(s.d):
            if x == y or s.adj[x] >> y & 1:
                continue
            na = s.ne[y] & s.adj[x]
            if not s.is_clique(na):  # NA is part of every NA ∪ T
                continue
            for t in _subsets(_bits(s.ne[y] & ~s.adj[x])):
                clique = na | t
                if max_parents is not None and (s.pa[y] | clique).bit_count() + 1 > max_parents:
                    continue
                if s.is_clique(clique):
                    yield x, y, t, clique


def _delete_candidates(s: _Structure) -> Iterator[tuple[int, int, int, int]]:
    """``(x, y, H, NA \\ H)`` of every valid Delete: ``x - y`` or ``x -> y``, ``NA \\ H`` a clique."""
    for x in range(s.d):
        for y in range(s.d):
            if not (s.ne[y] | s.pa[y]) >> x & 1:
                continue
            na = s.ne[y] & s.adj[x]
            for h in _subsets(_bits(na)):
                rest = na & ~h
                if s.is_clique(rest):
                    yield x, y, h, rest


def insert_operators(cpdag: np.ndarray, *, max_parents: int | None = None) -> list[tuple[int, int, frozenset[int]]]:
    """Every valid ``Insert(X, Y, T)`` of a CPDAG (d, d), as ``(X, Y, T)`` (Chickering 2002, Theorem 15)."""
    s = _Structure(cpdag)
    return [(x, y, frozenset(_bits(t))) for x, y, t, clique in _insert_candidates(s, max_parents)
            if s.blocks_semi_directed(y, x, clique)]


def delete_operators(cpdag: np.ndarray) -> list[tuple[int, int, frozenset[int]]]:
    """Every valid ``Delete(X, Y, H)`` of a CPDAG (d, d), as ``(X, Y, H)`` (Chickering 2002, Theorem 17)."""
    return [(x, y, frozenset(_bits(h))) for x, y, h, _ in _delete_candidates(_Structure(cpdag))]


def apply_insert(cpdag: np.ndarray, x: int, y: int, t: Sequence[int] | frozenset[int]) -> np.ndarray:
    """The PDAG after ``Insert(x, y, t)``: ``x -> y`` added, each ``t_k - y`` oriented ``t_k -> y`` (a copy;
    complete it with :func:`pdag_to_cpdag`)."""
    g = np.array(cpdag, dtype=np.int64, copy=True)
    g[x, y], g[y, x] = 1, 0
    for k in t:
        g[k, y], g[y, k] = 1, 0
    return g


def apply_delete(cpdag: np.ndarray, x: int, y: int, h: Sequence[int] | frozenset[int]) -> np.ndarray:
    """The PDAG after ``Delete(x, y, h)``: the edge removed, ``y - h_k`` oriented ``y -> h_k`` and an undirected
    ``x - h_k`` oriented ``x -> h_k`` (a copy; complete it with :func:`pdag_to_cpdag`)."""
    g = np.array(cpdag, dtype=np.int64, copy=True)
    g[x, y] = g[y, x] = 0
    for k in h:
        g[y, k], g[k, y] = 1, 0
        if g[x, k] and g[k, x]:
            g[x, k], g[k, x] = 1, 0
    return g


# ----------------------------------------------------------------------------------- graph completion
def consistent_extension(pdag: np.ndarray) -> np.ndarray:
    """A DAG (d, d) with the PDAG's skeleton, directed edges and v-structures (Dor & Tarsi 1992).

    Repeatedly removes a node ``x`` that is a sink among the remaining nodes (no directed edge out) and whose
    every undirected neighbour is adjacent to all other nodes adjacent to ``x``, orienting its undirected
    edges into it. Raises ValueError when the PDAG has no consistent extension.
    """
    s = _Structure(pdag)
    dag = np.zeros((s.d, s.d), dtype=np.int64)
    for v in range(s.d):
        for p in _bits(s.pa[v]):
            dag[p, v] = 1
    remaining = (1 << s.d) - 1
    while remaining:
        for x in _bits(remaining):
            if s.ch[x] & remaining:
                continue
            around = s.adj[x] & remaining
            neighbours = s.ne[x] & remaining
            if all(not (around & ~(1 << y) & ~s.adj[y]) for y in _bits(neighbours)):
                for y in _bits(neighbours):
                    dag[y, x] = 1
                remaining &= ~(1 << x)
                break
        else:
            raise ValueError("The PDAG has no consistent extension (every orientation of its undirected edges "
                             "creates a directed cycle or a new v-structure).")
    return dag


def _topological_order(dag: np.ndarray) -> list[int]:
    d = dag.shape[0]
    indegree = dag.sum(axis=0).astype(int).tolist()
    ready = [v for v in range(d) if indegree[v] == 0]
    order = []
    while ready:
        v = ready.pop(0)
        order.append(v)
        for c in np.flatnonzero(dag[v]):
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(int(c))
    if len(order) != d:
        raise ValueError("The graph given to cpdag_from_dag has a directed cycle.")
    return order


def cpdag_from_dag(dag: np.ndarray) -> np.ndarray:
    """The CPDAG (d, d) of a DAG's Markov equivalence class: compelled edges directed, reversible ones both
    ways (Chickering 1995, Order-Edges and Find-Compelled)."""
    dag = (np.asarray(dag) != 0).astype(np.int64)
    order = _topological_order(dag)
    rank = {v: k for k, v in enumerate(order)}
    parents = [set(np.flatnonzero(dag[:, v]).tolist()) for v in range(dag.shape[0])]
    compelled: dict[tuple[int, int], bool] = {}
    for y in order:  # edges into y, y in topological order, the highest-ranked tail first
        for x in sorted(parents[y], key=lambda v: -rank[v]):
            if (x, y) in compelled:
                continue
            done = False
            for w in parents[x]:
                if not compelled[(w, x)]:
                    continue
                if w not in parents[y]:  # w -> x -> y unshielded: everything into y is compelled
                    for z in parents[y]:
                        compelled[(z, y)] = True
                    done = True
                    break
                compelled[(w, y)] = True
            if done:
                continue
            value = any(z != x and z not in parents[x] for z in parents[y])  # a v-structure at y
            for z in parents[y]:
                compelled.setdefault((z, y), value)
    cpdag = dag.copy()
    for (x, y), forced in compelled.items():
        if not forced:
            cpdag[y, x] = 1
    return cpdag


def pdag_to_cpdag(pdag: np.ndarray) -> np.ndarray:
    """The CPDAG of the class a PDAG represents: its consistent extension's CPDAG (ValueError when none)."""
    return cpdag_from_dag(consistent_extension(pdag))


# ------------------------------------------------------------------------------------------------ search
def _best_insert(s: _Structure, scorer: GaussianBIC, max_parents: int | None
                 ) -> tuple[float, tuple[int, int, int] | None]:
    best, choice = 0.0, None
    for x, y, t, clique in _insert_candidates(s, max_parents):
        parents = s.pa[y] | clique
        delta = scorer.local_mask(y, parents | 1 << x) - scorer.local_mask(y, parents)
        # the path condition costs a graph search: only for a candidate that would win
        if delta > best and s.blocks_semi_directed(y, x, clique):
            best, choice = delta, (x, y, t)
    return best, choice


def _best_delete(s: _Structure, scorer: GaussianBIC) -> tuple[float, tuple[int, int, int] | None]:
    best, choice = 0.0, None
    for x, y, h, rest in _delete_candidates(s):
        without = (s.pa[y] | rest) & ~(1 << x)
        delta = scorer.local_mask(y, without) - scorer.local_mask(y, without | 1 << x)
        if delta > best:
            best, choice = delta, (x, y, h)
    return best, choice


def greedy_phase(cpdag: np.ndarray, scorer: GaussianBIC, phase: str, *, max_parents: int | None = None
                 ) -> tuple[np.ndarray, float, int]:
    """One phase of GES from a CPDAG (d, d): apply the best score-improving operator (``phase="insert"``: the
    forward phase, ``"delete"``: the backward phase), complete the PDAG to a CPDAG, until none improves.

    Returns the CPDAG (d, d), the score gained and the number of steps. The result has no improving operator
    of its phase; the backward phase can make an Insert improving again (GES does not go back to it).
    """
    check_choice(phase, "phase", "greedy_phase", ("insert", "delete"))
    graph = np.array(cpdag, dtype=np.int64, copy=True)
    gained, steps = 0.0, 0
    while True:
        s = _Structure(graph)
        delta, choice = _best_insert(s, scorer, max_parents) if phase == "insert" else _best_delete(s, scorer)
        if choice is None:
            return graph, gained, steps
        x, y, nodes = choice
        step = apply_insert if phase == "insert" else apply_delete
        graph = pdag_to_cpdag(step(graph, x, y, _bits(nodes)))
        gained += delta
        steps += 1


def ges(data: Any, *, score: str = "bic", penalty_discount: float = 1.0, max_parents: int | None = None,
        node_names: Sequence[str] | None = None) -> DiscoveredGraph:
    """Greedy Equivalence Search with the linear-Gaussian BIC: a CPDAG from observational data.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame; finite, no constant column, n > d (or
        n > max_parents + 1).
    score: ``"bic"``, the linear-Gaussian BIC of :class:`~latentscm.discovery.scores.GaussianBIC`.
    penalty_discount: multiplier (> 0) of the BIC penalty ``(|Pa| + 1) / 2 * log n``; 1 is the usual BIC,
        larger values give sparser graphs. causal-learn's ``lambda_value`` is ``penalty_discount / 2``.
    max_parents: largest parent set an Insert may give its head node (None: no limit).
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    DiscoveredGraph with ``.adjacency`` (d, d): ``[i, j] = 1`` for ``i -> j``, both for ``i - j`` (a CPDAG).
    ``info`` holds the method, score, penalty_discount, max_parents, ``n_samples``, ``score_value`` (the BIC of
    the result, higher is better), ``n_inserts``, ``n_deletes`` and ``n_local_scores`` (distinct local scores
    computed). No valid Delete improves the result; an Insert may, on finite data (see :func:`greedy_phase`).
    """
    owner = "ges"
    score = check_choice(score, "score", owner, GES_SCORES)
    penalty_discount = check_number(penalty_discount, "penalty_discount", owner, low=0, low_inclusive=False)
    if max_parents is not None:
        max_parents = int(check_number(max_parents, "max_parents", owner, low=0, integer=True))
    matrix, names = as_data_matrix(data, node_names, owner)
    n, d = matrix.shape
    needed = min(d, d if max_parents is None else max_parents + 1) + 1
    if n < needed:
        raise ValueError(f"The 'data' argument of {owner} has {n} rows for {d} columns; the BIC of a node with "
                         f"{needed - 2} parents needs at least {needed} rows (a non-singular covariance). Give more "
                         f"rows{'' if max_parents is not None else ', or limit the parents with max_parents'}.")
    spread = np.ptp(matrix, axis=0) if n else np.zeros(d)
    constant = [names[j] for j in np.flatnonzero(spread == 0)]
    if constant:
        raise ValueError(f"The 'data' argument of {owner} has constant columns {constant}; a Gaussian score needs "
                         f"every column to vary. Drop them.")
    scorer = GaussianBIC(matrix, penalty_discount=penalty_discount)
    empty = sum(scorer.local_mask(v, 0) for v in range(d))
    forward, gain_in, n_inserts = greedy_phase(np.zeros((d, d), dtype=np.int64), scorer, "insert",
                                               max_parents=max_parents)
    graph, gain_out, n_deletes = greedy_phase(forward, scorer, "delete")
    info = {"method": "ges", "score": score, "penalty_discount": penalty_discount, "max_parents": max_parents,
            "n_samples": int(n), "score_value": float(empty + gain_in + gain_out), "n_inserts": n_inserts,
            "n_deletes": n_deletes, "n_local_scores": scorer.n_computed}
    return DiscoveredGraph(names, graph, {}, info)
