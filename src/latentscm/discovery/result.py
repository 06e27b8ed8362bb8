"""What discovery returns: a partially directed graph (CPDAG) over named nodes.

``adjacency[i, j] = 1`` and ``adjacency[j, i] = 0`` encode ``i -> j``; both set encode the undirected
edge ``i - j`` (an edge whose direction the data do not determine). A fully directed result converts
to the library's :class:`~latentscm.graph.CausalGraph`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentscm._io import dumps_strict
from latentscm._validation import check_names
from latentscm.graph import CausalGraph

__all__ = ["DiscoveredGraph", "skeleton_scores"]


@dataclass(frozen=True)
class DiscoveredGraph:
    """A CPDAG (or other partially directed graph) found by a discovery method.

    Attributes
    ----------
    nodes: node names, in column order of the data.
    adjacency: int array (d, d); ``adjacency[i, j] = 1`` for ``i -> j``, both entries for ``i - j``.
    separating_sets: for each removed pair ``(i, j)`` with ``i < j``, the union of the conditioning
        sets (node indices) that made ``i`` and ``j`` independent.
    info: method name, CI test, alpha, number of tests, ...
    """

    nodes: tuple[str, ...]
    adjacency: np.ndarray
    separating_sets: Mapping[tuple[int, int], frozenset[int]] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.nodes, (str, bytes)):  # "abc" is not the nodes 'a', 'b', 'c'
            raise TypeError(f"The nodes of a DiscoveredGraph must be a sequence of names, not a single string. Got "
                            f"{self.nodes!r}.")
        adjacency = np.asarray(self.adjacency)
        d = len(self.nodes)
        if adjacency.dtype.kind not in "biuf":
            raise ValueError(f"The adjacency of a DiscoveredGraph must hold numbers (0 or 1). Got {adjacency.dtype} "
                             f"entries such as {adjacency.ravel()[:4].tolist()}.")
        if adjacency.shape != (d, d):
            raise ValueError(f"The adjacency of a DiscoveredGraph must be ({d}, {d}) for {d} nodes. "
                             f"Got shape {adjacency.shape}.")
        if np.any(np.diag(adjacency) != 0):
            raise ValueError("The adjacency of a DiscoveredGraph must have a zero diagonal.")
        if len(set(self.nodes)) != d:
            raise ValueError(f"Node names must be unique. Got {list(self.nodes)}.")
        matrix = (adjacency != 0).astype(np.int64)
        matrix.setflags(write=False)
        object.__setattr__(self, "adjacency", matrix)
        object.__setattr__(self, "nodes", tuple(self.nodes))

    def __eq__(self, other: object) -> bool:
        """Graphs are equal when their nodes (in order) and adjacency are; ``info`` and separating sets are not
        compared (dataclass equality over the arrays raised)."""
        if not isinstance(other, DiscoveredGraph):
            return NotImplemented
        return self.nodes == other.nodes and np.array_equal(self.adjacency, other.adjacency)

    def __hash__(self) -> int:
        return hash((self.nodes, self.adjacency.tobytes()))

    # ------------------------------------------------------------------ queries
    @property
    def skeleton(self) -> np.ndarray:
        """Symmetric int array (d, d): 1 where the two nodes are adjacent."""
        return ((self.adjacency + self.adjacency.T) > 0).astype(np.int64)

    @property
    def directed_edges(self) -> list[tuple[str, str]]:
        a = self.adjacency
        return [(self.nodes[i], self.nodes[j]) for i, j in zip(*np.nonzero(a)) if not a[j, i]]

    @property
    def undirected_edges(self) -> list[tuple[str, str]]:
        a = self.adjacency
        return [(self.nodes[i], self.nodes[j]) for i, j in zip(*np.nonzero(a)) if i < j and a[j, i]]

    def is_fully_directed(self) -> bool:
        return not self.undirected_edges

    def to_causal_graph(self) -> CausalGraph:
        """The DAG, when every edge is directed (raises ValueError otherwise, CycleError on cycles)."""
        undirected = self.undirected_edges
        if undirected:
            listed = ", ".join(f"{u} - {v}" for u, v in undirected)
            raise ValueError(f"The discovered graph has undirected edges ({listed}); only a fully "
                             "directed graph converts to a CausalGraph.")
        return CausalGraph(self.directed_edges, nodes=self.nodes)

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": list(self.nodes),
            "directed": [list(e) for e in self.directed_edges],
            "undirected": [list(e) for e in self.undirected_edges],
            "adjacency": self.adjacency.tolist(),
            "info": _jsonable(dict(self.info)),
        }

    def to_json(self) -> str:
        """Strict JSON of :meth:`to_dict` (a non-finite number in ``info`` is ``null``)."""
        return dumps_strict(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DiscoveredGraph:
        """Inverse of :meth:`to_dict` (separating sets are not stored)."""
        for key in ("nodes", "adjacency"):
            if key not in data:
                raise ValueError(f"A discovered-graph dict needs a {key!r} key. Got keys {sorted(data)}.")
        if isinstance(data["nodes"], (str, bytes)):
            raise ValueError(f"The 'nodes' of a discovered-graph dict must be a list of names. Got {data['nodes']!r}.")
        return cls(tuple(data["nodes"]), np.asarray(data["adjacency"]), info=dict(data.get("info", {})))

    def to_dot(self, name: str = "G") -> str:
        """Graphviz DOT source; undirected edges are drawn without arrowheads."""
        def quote(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        body = [f"  {quote(n)};" for n in self.nodes]
        body += [f"  {quote(u)} -> {quote(v)};" for u, v in self.directed_edges]
        body += [f"  {quote(u)} -> {quote(v)} [dir=none];" for u, v in self.undirected_edges]
        return f"digraph {quote(name)} {{\n" + "\n".join(body) + "\n}\n"

    def __repr__(self) -> str:
        edges = [f"{u}->{v}" for u, v in self.directed_edges] + [f"{u}-{v}" for u, v in self.undirected_edges]
        return f"DiscoveredGraph(nodes={list(self.nodes)}, edges=[{', '.join(edges)}])"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def skeleton_scores(estimated: Any, truth: Any) -> dict[str, float]:
    """Precision, recall and F1 of the estimated skeleton against the true one (higher is better).

    Both arguments are adjacency arrays (d, d) (any orientation convention: an entry in either
    direction counts as adjacency) or objects with an ``.adjacency`` attribute. A ratio with an
    empty denominator is 1 when both skeletons are empty and 0 otherwise, as in
    :func:`latentscm.metrics.skeleton_scores` (an empty estimate of a non-empty graph has
    precision 0, not 1). Two graph objects with node names are compared by name (their node sets
    must be equal). Returns Python floats.
    """
    est = _skeleton(estimated, "estimated")
    true = _skeleton(truth, "truth")
    named = [getattr(value, "nodes", None) if hasattr(value, "adjacency") else None for value in (estimated, truth)]
    if all(nodes is not None and not isinstance(nodes, (str, bytes)) for nodes in named):
        est_nodes, true_nodes = (list(nodes) for nodes in named)
        if sorted(map(str, est_nodes)) != sorted(map(str, true_nodes)) or len(set(est_nodes)) != len(est_nodes):
            raise ValueError(f"The estimated and true graphs have different nodes: {est_nodes} vs {true_nodes}.")
        order = [est_nodes.index(node) for node in true_nodes]
        est = est[np.ix_(order, order)]
    if est.shape != true.shape:
        raise ValueError(f"Skeletons of different sizes: {est.shape} vs {true.shape}.")
    upper = np.triu_indices(est.shape[0], k=1)
    e, t = est[upper], true[upper]
    tp, n_estimated, n_true = int(np.sum(e & t)), int(e.sum()), int(t.sum())
    precision = tp / n_estimated if n_estimated else float(n_true == 0)
    recall = tp / n_true if n_true else float(n_estimated == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"skeleton.precision": precision, "skeleton.recall": recall, "skeleton.f1": f1}


def _skeleton(value: Any, name: str) -> np.ndarray:
    matrix = np.asarray(getattr(value, "adjacency", value))
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"The {name!r} adjacency must be square. Got shape {matrix.shape}.")
    return (matrix != 0) | (matrix.T != 0)


def _names(nodes: Sequence[str] | None, d: int, owner: str, argument: str = "node_names") -> tuple[str, ...]:
    if nodes is None:
        return tuple(f"X{i}" for i in range(d))
    return check_names(nodes, argument, owner, size=d)
