"""causal-learn's graphs in latentscm's conventions, for the cross-checks in tests and benchmarks.

causal-learn (Zheng et al. 2024, "Causal-learn: causal discovery in Python", JMLR) stores a graph as an
endpoint matrix ``G.graph`` (d, d): ``g[j, i]`` is the mark *at i* on the edge between i and j, ``-1`` a
tail, ``1`` an arrowhead, ``2`` a circle, ``0`` no edge (so ``i -> j`` is ``g[i, j] = -1, g[j, i] = 1``).
Only the array is read, so causal-learn itself is not imported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import check_array
from latentscm.discovery.pag import ARROW, CIRCLE, TAIL

__all__ = ["cpdag_from_causallearn", "pag_from_causallearn"]

_TAIL, _ARROW, _CIRCLE = -1, 1, 2


def _endpoints(graph: Any, owner: str) -> np.ndarray:
    g = check_array(getattr(graph, "graph", graph), "graph", owner, ndim=2)
    if g.shape[0] != g.shape[1]:
        raise ValueError(f"The 'graph' argument of {owner} must be a square endpoint matrix. Got {g.shape}.")
    unknown = sorted(set(np.unique(g).tolist()) - {0, _TAIL, _ARROW, _CIRCLE})
    if unknown:
        raise ValueError(f"The 'graph' argument of {owner} has endpoint codes {[float(v) for v in unknown]}; "
                         f"causal-learn uses 0 (none), -1 (tail), 1 (arrowhead) and 2 (circle).")
    return g.astype(np.int64)


def cpdag_from_causallearn(graph: Any) -> np.ndarray:
    """A PC / GES result (``G`` or its ``G.graph`` (d, d)) as latentscm's CPDAG adjacency (d, d) int64:
    ``i -> j`` is ``[i, j] = 1``; an undirected ``i - j`` is 1 both ways, and so is a bidirected ``i <-> j``
    (causal-learn's PC can give one at conflicting colliders; latentscm's leaves such an edge undirected)."""
    g = _endpoints(graph, "cpdag_from_causallearn")
    if np.any(g == _CIRCLE):
        raise ValueError("The 'graph' argument of cpdag_from_causallearn has circle marks, so it is a PAG; use "
                         "pag_from_causallearn.")
    out = ((g == _TAIL) & (g.T == _ARROW)).astype(np.int64)
    both = ((g == _TAIL) & (g.T == _TAIL)) | ((g == _ARROW) & (g.T == _ARROW))
    out[both] = 1
    return out


def pag_from_causallearn(graph: Any) -> np.ndarray:
    """An FCI result (``G`` or its ``G.graph`` (d, d)) as latentscm's PAG marks (d, d) int64 (pcalg's
    convention, :mod:`latentscm.discovery.pag`: ``marks[i, j]`` is the mark at j)."""
    g = _endpoints(graph, "pag_from_causallearn")
    convert = np.array([0, ARROW, CIRCLE, TAIL])  # indexed by the causal-learn code, -1 wrapping to the tail
    return convert[g].T.copy()
