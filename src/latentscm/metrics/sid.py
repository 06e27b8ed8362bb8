"""Structural intervention distance (SID; Peters & Bühlmann 2015, "Structural intervention distance
for evaluating causal graphs", Neural Computation 27(3)).

SHD counts differing edges; SID counts the ordered pairs ``(i, j)``, ``i != j``, whose interventional
distribution ``p(x_j | do(x_i))`` the estimated graph ``H`` gets wrong when it is computed, as the
estimated graph suggests, by adjusting for the parents of ``i`` in ``H``. For the true DAG ``G`` and
``Z = pa_H(i)``:

* ``j`` in ``Z``: ``H`` says ``i`` does not cause ``j`` (the estimate is ``p(x_j)``); wrong iff ``j`` is a
  descendant of ``i`` in ``G``;
* otherwise ``Z`` must be a valid adjustment set for ``(i, j)`` in ``G`` (Shpitser, VanderWeele & Robins
  2010): (a) no node of ``Z`` descends from a node ``w != i`` on a directed path from ``i`` to ``j``, and
  (b) ``Z`` d-separates ``i`` and ``j`` in the proper back-door graph, ``G`` without the first edge of every
  directed path from ``i`` to ``j`` (van der Zander, Liśkiewicz & Textor 2014).

``SID(G, G) = 0``; ``0 <= SID <= d (d - 1)``; it is not symmetric, and two Markov-equivalent DAGs can be
at a positive SID. **Lower is better.** An estimated CPDAG (undirected edges, both entries set) stands for
the DAGs of its Markov equivalence class: for each ``i`` every locally possible parent set is tried,
``pa(i)`` plus a subset of its undirected neighbours that is a clique (the local criterion of IDA, Maathuis,
Kalisch & Bühlmann 2009), and the mistakes of row ``i`` are bounded below and above over those sets, as
the paper's bounds for CPDAGs do. The bounds are per row, so a DAG of the class reaches the lower or
upper bound only when the rows' best (worst) sets fit one DAG.

Graphs are adjacency matrices (``adjacency[i, j] = 1`` for ``i -> j``) or objects with ``.adjacency``
compared by node name, as in :mod:`latentscm.metrics.graphs`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from latentscm.metrics.graphs import _directed, _is_acyclic, _pair

__all__ = ["sid"]


def sid(true: Any, estimated: Any) -> dict[str, float]:
    """Structural intervention distance of ``estimated`` from the ``true`` DAG (lower is better).

    Parameters
    ----------
    true : array (d, d) or graph object
        The true DAG (no undirected edges, no cycles).
    estimated : array (d, d) or graph object
        A DAG, or a CPDAG / partially directed graph with undirected edges ``i - j`` (both entries set),
        whose directed part is acyclic.

    Returns
    -------
    dict
        ``{"sid": count, "sid.normalised": count / (d (d - 1))}`` for a DAG estimate; for one with
        undirected edges ``"sid.lower"`` and ``"sid.upper"`` (and both normalised) instead, the bounds
        over the DAGs its undirected edges allow (see the module docstring). Counts are floats, whole.

    Raises
    ------
    ValueError
        ``true`` has an undirected edge or a cycle, ``estimated`` a directed cycle, or the graphs
        differ in size or node names.
    """
    owner = "sid"
    true_matrix, estimated_matrix = _pair(true, estimated, owner)
    if np.any(true_matrix & true_matrix.T):
        i, j = np.argwhere(true_matrix & true_matrix.T)[0]
        raise ValueError(f"The 'true' argument of {owner} must be a DAG; it has the undirected edge {i} - {j}.")
    if not _is_acyclic(true_matrix):
        raise ValueError(f"The 'true' argument of {owner} must be a DAG; it has a directed cycle.")
    directed = _directed(estimated_matrix)
    if not _is_acyclic(directed):
        raise ValueError(f"The 'estimated' argument of {owner} has a directed cycle.")
    undirected = estimated_matrix & estimated_matrix.T
    d = true_matrix.shape[0]
    pairs = max(d * (d - 1), 1)
    graph = _TrueGraph(true_matrix)
    lower = upper = 0
    for i in range(d):
        parents = set(np.flatnonzero(directed[:, i]).tolist())
        neighbours = np.flatnonzero(undirected[i]).tolist()
        counts = [graph.row_mistakes(i, parents | clique) for clique in _cliques(neighbours, undirected)]
        lower, upper = lower + min(counts), upper + max(counts)
    if not undirected.any():
        return {"sid": float(lower), "sid.normalised": lower / pairs}
    return {"sid.lower": float(lower), "sid.upper": float(upper), "sid.lower.normalised": lower / pairs,
            "sid.upper.normalised": upper / pairs}


def _cliques(nodes: list[int], undirected: np.ndarray) -> list[set[int]]:
    """Every subset of ``nodes`` that is a clique of ``undirected`` (the empty set included), grown one node at
    a time so that only cliques are visited (a hub with many non-adjacent neighbours has few)."""
    found: list[set[int]] = []

    def grow(chosen: list[int], rest: list[int]) -> None:
        found.append(set(chosen))
        for k, node in enumerate(rest):
            grow([*chosen, node], [m for m in rest[k + 1:] if undirected[node, m]])

    grow([], list(nodes))
    return found


class _TrueGraph:
    """The true DAG with its parents, children and descendant sets, for the per-row checks."""

    def __init__(self, adjacency: np.ndarray) -> None:
        self.d = adjacency.shape[0]
        self.parents = [set(np.flatnonzero(adjacency[:, v]).tolist()) for v in range(self.d)]
        self.children = [set(np.flatnonzero(adjacency[v]).tolist()) for v in range(self.d)]
        self.descendants = [self._reach(v, self.children) for v in range(self.d)]  # each includes v
        self.ancestors = [self._reach(v, self.parents) for v in range(self.d)]

    @staticmethod
    def _reach(start: int, step: list[set[int]]) -> set[int]:
        seen, todo = {start}, [start]
        while todo:
            for w in step[todo.pop()]:
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen

    def row_mistakes(self, i: int, adjustment: set[int]) -> int:
        """Number of ``j != i`` whose ``p(x_j | do(x_i))`` adjusting for ``adjustment`` (the estimated
        parents of ``i``) gets wrong."""
        mistakes = 0
        by_cut: dict[frozenset[int], list[int]] = {}  # targets grouped by their proper back-door graph
        for j in range(self.d):
            if j == i:
                continue
            if j in adjustment:
                mistakes += j in self.descendants[i]
                continue
            # nodes w != i on directed paths i -> ... -> j; their descendants may not be adjusted for
            on_paths = (self.descendants[i] & self.ancestors[j]) - {i}
            if any(adjustment & self.descendants[w] for w in on_paths):
                mistakes += 1
                continue
            by_cut.setdefault(frozenset(self.children[i] & on_paths), []).append(j)
        for cut, targets in by_cut.items():
            reached = self._d_connected(i, adjustment, cut)
            mistakes += sum(j in reached for j in targets)
        return mistakes

    def _d_connected(self, source: int, given: set[int], cut: frozenset[int]) -> set[int]:
        """The nodes outside ``given`` that an active trail joins to ``source`` given ``given``, in the graph
        without the edges ``source -> c`` for ``c`` in ``cut`` (reachability with directions, Koller &
        Friedman 2009, Algorithm 3.1)."""
        def parents(v: int) -> set[int]:
            return self.parents[v] - {source} if v in cut else self.parents[v]

        def children(v: int) -> set[int]:
            return self.children[v] - cut if v == source else self.children[v]

        # ancestors of the conditioning set (a collider is open iff it is one)
        open_colliders, todo = set(given), list(given)
        while todo:
            for p in parents(todo.pop()):
                if p not in open_colliders:
                    open_colliders.add(p)
                    todo.append(p)
        seen: set[tuple[int, bool]] = set()
        reached: set[int] = set()
        queue = deque([(source, True)])  # (node, arrived from a child, i.e. travelling up)
        while queue:
            node, up = queue.popleft()
            if (node, up) in seen:
                continue
            seen.add((node, up))
            if node not in given:
                reached.add(node)
            if up and node not in given:
                queue.extend((p, True) for p in parents(node))
                queue.extend((c, False) for c in children(node))
            elif not up:
                if node not in given:
                    queue.extend((c, False) for c in children(node))
                if node in open_colliders:
                    queue.extend((p, True) for p in parents(node))
        return reached
