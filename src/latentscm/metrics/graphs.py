"""Graph-recovery metrics: structural Hamming distance, skeleton and arrowhead scores, and
ranking scores for weighted edges.

Graphs are adjacency matrices (d, d) in the convention of :mod:`latentscm.graph` and
:mod:`latentscm.discovery`: ``adjacency[i, j] = 1`` for ``i -> j``, both entries set for an
undirected edge ``i - j`` (as in a CPDAG); any object with an ``.adjacency`` attribute
(``CausalGraph``, discovery results) is accepted too. Two such objects are compared by node name
(their node sets must be equal); a bare matrix must list the nodes in the other graph's order.

* SHD (Tsamardinos, Brown & Aliferis 2006, "The Max-Min Hill-Climbing Bayesian Network
  Structure Learning Algorithm"): the number of node pairs whose edge differs — a missing or
  extra edge, a reversed edge, or a directed-versus-undirected mismatch each count 1.
  With ``cpdag=True`` every fully directed input is first replaced by its CPDAG (Markov
  equivalence class; Chickering 1995, Meek 1995), so equivalent DAGs are at distance 0.
* Skeleton precision / recall / F1 over unordered adjacent pairs; arrowhead precision /
  recall / F1 over directed edges ``i -> j`` (an undirected edge has no arrowhead).
  A ratio with an empty denominator is 1 when both graphs agree on that set being empty and
  0 otherwise.
* AUROC / AUPRC of edge scores (d, d) against the true edges (e.g. p-value complements or
  learned weights), over ordered pairs or, with ``directed=False``, unordered ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from latentscm._validation import check_array

__all__ = ["dag_to_cpdag", "shd", "skeleton_scores", "arrowhead_scores", "compare_graphs", "edge_auroc", "edge_auprc"]


def _adjacency(graph: Any, name: str, owner: str, *, binary: bool = True) -> np.ndarray:
    matrix = getattr(graph, "adjacency", graph)
    matrix = check_array(matrix, name, owner, ndim=2)
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"The {name!r} argument of {owner} must be a square adjacency matrix. "
                         f"Got shape {matrix.shape}.")
    if binary:
        if not np.all((matrix == 0) | (matrix == 1)):
            raise ValueError(f"The {name!r} argument of {owner} must hold only 0 and 1.")
        if np.any(np.diag(matrix) != 0):
            raise ValueError(f"The {name!r} argument of {owner} has a self-loop (non-zero "
                             f"diagonal at node {int(np.flatnonzero(np.diag(matrix))[0])}).")
        return matrix.astype(np.int64)
    return matrix


def _node_names(graph: Any) -> tuple[Any, ...] | None:
    """The node names of a graph object (``CausalGraph``, ``DiscoveredGraph``), None for a bare matrix."""
    if isinstance(graph, np.ndarray) or not hasattr(graph, "adjacency"):
        return None
    nodes = getattr(graph, "nodes", None)
    return None if nodes is None or isinstance(nodes, (str, bytes)) else tuple(nodes)


def _pair(true: Any, estimated: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    true_nodes, estimated_nodes = _node_names(true), _node_names(estimated)
    true = _adjacency(true, "true", owner)
    estimated = _adjacency(estimated, "estimated", owner)
    if true_nodes is not None and estimated_nodes is not None and true_nodes != estimated_nodes:
        # two named graphs: compare node by node, whatever order each lists its nodes in
        if len(true_nodes) != len(estimated_nodes) or set(true_nodes) != set(estimated_nodes):
            raise ValueError(f"The 'true' and 'estimated' graphs of {owner} must have the same nodes. Got "
                             f"{list(true_nodes)} and {list(estimated_nodes)}.")
        order = [estimated_nodes.index(node) for node in true_nodes]
        estimated = estimated[np.ix_(order, order)]
    if true.shape != estimated.shape:
        raise ValueError(f"The 'true' and 'estimated' graphs of {owner} must have the same nodes. "
                         f"Got shapes {true.shape} and {estimated.shape}.")
    return true, estimated


def _directed(adjacency: np.ndarray) -> np.ndarray:
    return (adjacency == 1) & (adjacency.T == 0)


def _is_acyclic(directed: np.ndarray) -> bool:
    in_degree = directed.sum(axis=0)
    ready = list(np.flatnonzero(in_degree == 0))
    seen = 0
    while ready:
        node = ready.pop()
        seen += 1
        for child in np.flatnonzero(directed[node]):
            in_degree[child] -= 1
            if in_degree[child] == 0:
                ready.append(child)
    return seen == directed.shape[0]


def _meek_closure(pdag: np.ndarray) -> np.ndarray:
    """Orient undirected edges of a PDAG with Meek's rules R1-R3 until nothing changes."""
    pdag = pdag.copy()
    n = pdag.shape[0]

    def adjacent(a: int, b: int) -> bool:
        return bool(pdag[a, b] or pdag[b, a])

    def undirected(a: int, b: int) -> bool:
        return bool(pdag[a, b] and pdag[b, a])

    def directed(a: int, b: int) -> bool:
        return bool(pdag[a, b] and not pdag[b, a])

    changed = True
    while changed:
        changed = False
        for b in range(n):
            for c in range(n):
                if not undirected(b, c):
                    continue
                # R1: a -> b - c, a and c not adjacent  =>  b -> c.
                r1 = any(directed(a, b) and not adjacent(a, c) and a != c for a in range(n))
                # R2: b -> a -> c and b - c  =>  b -> c.
                r2 = any(directed(b, a) and directed(a, c) for a in range(n))
                # R3: b - a1 -> c, b - a2 -> c, a1 and a2 not adjacent, b - c  =>  b -> c.
                middles = [a for a in range(n) if undirected(b, a) and directed(a, c)]
                r3 = any(not adjacent(x, y) for i, x in enumerate(middles) for y in middles[i + 1:])
                if r1 or r2 or r3:
                    pdag[c, b] = 0
                    changed = True
    return pdag


def dag_to_cpdag(dag: Any) -> np.ndarray:
    """The CPDAG (completed partially directed acyclic graph) of a DAG's Markov equivalence
    class: skeleton, v-structures directed, then Meek's (1995) rules R1-R3, which suffice
    without background knowledge ("Causal Inference and Causal Explanation with Background
    Knowledge", UAI).

    dag : adjacency (d, d) of a DAG (or an object with ``.adjacency``).
    Returns an int adjacency (d, d): compelled edges one-way, reversible edges both ways.
    """
    owner = "dag_to_cpdag"
    dag = _adjacency(dag, "dag", owner)
    if np.any((dag == 1) & (dag.T == 1)):
        raise ValueError(f"The 'dag' argument of {owner} has an undirected edge; it must be a DAG.")
    if not _is_acyclic(dag.astype(bool)):
        raise ValueError(f"The 'dag' argument of {owner} has a directed cycle; it must be a DAG.")
    skeleton = dag | dag.T
    pdag = skeleton.copy()
    n = dag.shape[0]
    for child in range(n):
        parents = np.flatnonzero(dag[:, child])
        for i, a in enumerate(parents):
            for b in parents[i + 1:]:
                if not skeleton[a, b]:  # a -> child <- b is a v-structure: both compelled
                    pdag[child, a] = 0
                    pdag[child, b] = 0
    return _meek_closure(pdag)


def _maybe_cpdag(adjacency: np.ndarray) -> np.ndarray:
    if np.any((adjacency == 1) & (adjacency.T == 1)):
        return adjacency  # already has undirected edges: taken as a CPDAG
    return dag_to_cpdag(adjacency)


def _edge_state(adjacency: np.ndarray) -> np.ndarray:
    """Per unordered pair i < j: 0 none, 1 i -> j, 2 j -> i, 3 undirected."""
    upper = np.triu_indices(adjacency.shape[0], k=1)
    forward = adjacency[upper]
    backward = adjacency.T[upper]
    return forward + 2 * backward


def shd(true: Any, estimated: Any, *, cpdag: bool = False) -> float:
    """Structural Hamming distance between two graphs. **Lower is better**; 0 means equal.

    true, estimated : adjacency matrices (d, d) (DAGs, CPDAGs or PDAGs) or objects with
        ``.adjacency``.
    cpdag : compare Markov equivalence classes: fully directed inputs are converted to their
        CPDAG first (they must then be acyclic); inputs with undirected edges are taken as
        CPDAGs already.

    Returns the number of node pairs whose edge differs (missing, extra, reversed, or
    directed vs undirected — each 1), as a float.
    """
    true, estimated = _pair(true, estimated, "shd")
    if cpdag:
        true, estimated = _maybe_cpdag(true), _maybe_cpdag(estimated)
    return float(np.sum(_edge_state(true) != _edge_state(estimated)))


def _ratio(hits: int, total: int, other_total: int) -> float:
    if total == 0:
        return 1.0 if other_total == 0 else 0.0
    return hits / total


def _precision_recall_f1(true_set: np.ndarray, estimated_set: np.ndarray, name: str
                         ) -> dict[str, float]:
    hits = int(np.sum(true_set & estimated_set))
    n_true, n_estimated = int(true_set.sum()), int(estimated_set.sum())
    precision = _ratio(hits, n_estimated, n_true)
    recall = _ratio(hits, n_true, n_estimated)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {f"{name}.precision": precision, f"{name}.recall": recall, f"{name}.f1": f1}


def skeleton_scores(true: Any, estimated: Any) -> dict[str, float]:
    """Precision, recall and F1 of the estimated adjacencies (orientation ignored). Higher is
    better. Returns ``"skeleton.precision"``, ``"skeleton.recall"``, ``"skeleton.f1"``."""
    true, estimated = _pair(true, estimated, "skeleton_scores")
    return _precision_recall_f1(_edge_state(true) > 0, _edge_state(estimated) > 0, "skeleton")


def arrowhead_scores(true: Any, estimated: Any) -> dict[str, float]:
    """Precision, recall and F1 of the estimated arrowheads (directed edges ``i -> j``; an
    undirected edge has none). Higher is better. Returns ``"arrowhead.precision"``,
    ``"arrowhead.recall"``, ``"arrowhead.f1"``."""
    true, estimated = _pair(true, estimated, "arrowhead_scores")
    return _precision_recall_f1(_directed(true), _directed(estimated), "arrowhead")


def compare_graphs(true: Any, estimated: Any, *, cpdag: bool = False) -> dict[str, float]:
    """SHD (``"graph.shd"``, lower is better) with skeleton and arrowhead precision / recall /
    F1 in one dict. ``cpdag=True`` converts fully directed inputs to CPDAGs for all of them."""
    true, estimated = _pair(true, estimated, "compare_graphs")
    if cpdag:
        true, estimated = _maybe_cpdag(true), _maybe_cpdag(estimated)
    return {"graph.shd": shd(true, estimated), **skeleton_scores(true, estimated),
            **arrowhead_scores(true, estimated)}


def _scored_pairs(true: Any, scores: Any, directed: bool, owner: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    true = _adjacency(true, "true", owner)
    scores = _adjacency(scores, "scores", owner, binary=False)
    if scores.shape != true.shape:
        raise ValueError(f"The 'scores' argument of {owner} must have the shape of 'true' "
                         f"{true.shape}. Got {scores.shape}.")
    if directed:
        off_diagonal = ~np.eye(true.shape[0], dtype=bool)
        labels, values = true[off_diagonal], scores[off_diagonal]
    else:
        upper = np.triu_indices(true.shape[0], k=1)
        labels = (true | true.T)[upper]
        values = np.maximum(scores, scores.T)[upper]
    if labels.size == 0:
        raise ValueError(f"{owner} needs at least two nodes (a node pair to score); the graphs have "
                         f"{true.shape[0]}.")
    if labels.min() == labels.max():
        raise ValueError(f"{owner} needs both edges and non-edges in 'true'; it has "
                         f"{'only edges' if labels.min() == 1 else 'no edges'}.")
    return labels, values


def edge_auroc(true: Any, scores: Any, *, directed: bool = True) -> float:
    """Area under the ROC curve of edge ``scores`` (d, d; larger = more likely an edge)
    against the true adjacency. Higher is better; 0.5 is chance.

    directed : rank ordered pairs ``i -> j`` (diagonal excluded); False ranks unordered pairs
        by max(scores[i, j], scores[j, i]) against the true skeleton.
    """
    labels, values = _scored_pairs(true, scores, directed, "edge_auroc")
    return float(roc_auc_score(labels, values))


def edge_auprc(true: Any, scores: Any, *, directed: bool = True) -> float:
    """Area under the precision-recall curve (average precision) of edge ``scores`` against
    the true adjacency. Higher is better; chance is the edge density. ``directed`` as in
    :func:`edge_auroc`."""
    labels, values = _scored_pairs(true, scores, directed, "edge_auprc")
    return float(average_precision_score(labels, values))
