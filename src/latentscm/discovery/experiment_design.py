"""Which interventions to run next: experiment design on an (I-)essential graph.

Hauser & Bühlmann (2014), "Two optimal strategies for active learning of causal models from interventional data",
International Journal of Approximate Reasoning 55. Given the essential graph of what is known so far (a CPDAG, or an
I-essential graph from :func:`~latentscm.discovery.gies.gies`), an intervention's worth is how many of its
undirected edges it is sure to orient, whichever member of the class is the truth:

* :func:`single_intervention_gains` / :func:`best_single_intervention` (the paper's OptSingle): intervening on ``v``
  orients every undirected edge at ``v``; in the member where ``v``'s undirected neighbours ``C`` are its parents,
  the graph becomes ``C -> v -> (the rest)`` closed under Meek's rules. ``C`` ranges over the cliques of ``v``'s
  undirected neighbours (each is a parent set of ``v`` in some member: a maximum-cardinality search of the chordal
  component that starts with ``C`` and then ``v`` orients it so). The worst case over ``C`` is the guaranteed gain;
  the best ``v`` maximises it.
* :func:`identifying_targets` (the paper's OptUnb): the fewest target sets, of any size, after which every member
  is fully oriented: ``ceil(log2 w)`` for ``w`` the largest clique of the undirected components (Eberhardt's
  conjecture, proved there). Colour each chordal component with ``w`` colours (greedily along a maximum-cardinality
  search, optimal on chordal graphs) and let target ``k`` hold the nodes whose colour has bit ``k`` set: the two
  ends of every undirected edge differ in some bit, so some target cuts it.

Both read the undirected part only: directed edges are already known.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from latentscm._validation import node_position
from latentscm.discovery.orientation import apply_meek_rules

__all__ = ["InterventionGain", "best_single_intervention", "identifying_targets", "single_intervention_gains"]


def _essential(graph: Any, owner: str) -> tuple[np.ndarray, list[str] | None]:
    """The adjacency (d, d) int of a graph or DiscoveredGraph, and its names (None for a bare array)."""
    names = None
    if hasattr(graph, "adjacency") and hasattr(graph, "nodes"):
        names = list(graph.nodes)
        graph = graph.adjacency
    a = np.asarray(graph)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"The 'graph' argument of {owner} must be a square adjacency matrix (d, d). Got shape "
                         f"{a.shape}.")
    if not np.isin(a, (0, 1)).all() or np.any(np.diag(a)):
        raise ValueError(f"The 'graph' argument of {owner} must hold 0/1 entries with an empty diagonal "
                         "([i, j] = 1 for i -> j, both for i - j).")
    return (a != 0).astype(np.int64), names


def _undirected_count(g: np.ndarray) -> int:
    return int(np.sum((g != 0) & (g.T != 0)) // 2)


def _neighbours(g: np.ndarray, v: int) -> list[int]:
    return [int(w) for w in np.flatnonzero((g[v] != 0) & (g[:, v] != 0))]


class InterventionGain(tuple):
    """``(node, guaranteed, worst_parents)``: intervening on ``node`` orients at least ``guaranteed`` undirected
    edges, the fewest when ``worst_parents`` (positions, or names) are its parents."""

    __slots__ = ()

    def __new__(cls, node: Any, guaranteed: int, worst_parents: tuple) -> InterventionGain:
        return super().__new__(cls, (node, guaranteed, worst_parents))

    @property
    def node(self) -> Any:
        return self[0]

    @property
    def guaranteed(self) -> int:
        return self[1]

    @property
    def worst_parents(self) -> tuple:
        return self[2]


def _orient_at(g: np.ndarray, v: int, parents: Iterable[int]) -> np.ndarray:
    """``g`` with ``parents -> v`` and ``v -> w`` for v's other undirected neighbours, closed under Meek's rules."""
    h = g.copy()
    chosen = set(parents)
    for w in _neighbours(g, v):
        if w in chosen:
            h[v, w] = 0
        else:
            h[w, v] = 0
    return apply_meek_rules(h, background=True)


def _cliques(g: np.ndarray, nodes: list[int]) -> list[tuple[int, ...]]:
    """Every clique (the empty one included) of the undirected graph ``g`` among ``nodes``, each grown only by
    nodes adjacent to all of it (so a hub's many non-adjacent neighbours cost one clique each, not 2^k subsets);
    by size, then in lexicographic order."""
    found: list[tuple[int, ...]] = []

    def grow(clique: tuple[int, ...], candidates: list[int]) -> None:
        found.append(clique)
        for k, w in enumerate(candidates):
            grow((*clique, w), [u for u in candidates[k + 1:] if g[w, u] and g[u, w]])

    grow((), sorted(nodes))
    return sorted(found, key=lambda c: (len(c), c))


def single_intervention_gains(graph: Any, *, candidates: Sequence[Any] | None = None) -> list[InterventionGain]:
    """For each candidate node, the number of undirected edges an intervention on it orients in the worst case.

    Parameters
    ----------
    graph: a CPDAG or I-essential graph: adjacency (d, d) (``[i, j] = 1`` for ``i -> j``, both for ``i - j``) or a
        DiscoveredGraph (then nodes are named).
    candidates: the nodes that may be intervened on (names or positions; default all).

    Returns
    -------
    One :class:`InterventionGain` per candidate, in the candidates' order (nodes by name when the graph has names).
    """
    owner = "single_intervention_gains"
    g, names = _essential(graph, owner)
    d = g.shape[0]
    positions = _candidates(candidates, d, names, owner)
    before = _undirected_count(g)
    gains = []
    for v in positions:
        worst, worst_parents = None, ()
        for parents in _cliques(g, _neighbours(g, v)):  # a non-clique would be a v-structure at v: no member has it
            oriented = before - _undirected_count(_orient_at(g, v, parents))
            if worst is None or oriented < worst:
                worst, worst_parents = oriented, parents
        label = names[v] if names is not None else v
        parents_out = tuple(names[p] for p in worst_parents) if names is not None else tuple(worst_parents)
        gains.append(InterventionGain(label, int(worst or 0), parents_out))
    return gains


def best_single_intervention(graph: Any, *, candidates: Sequence[Any] | None = None) -> InterventionGain:
    """The candidate whose intervention orients the most undirected edges in the worst case (Hauser & Bühlmann
    2014, OptSingle); ties go to the first candidate. See :func:`single_intervention_gains`."""
    gains = single_intervention_gains(graph, candidates=candidates)
    if not gains:
        raise ValueError("The 'candidates' argument of best_single_intervention is empty; name at least one node.")
    return max(gains, key=lambda gain: gain.guaranteed)  # max keeps the first of equal ones


def _candidates(candidates: Sequence[Any] | None, d: int, names: list[str] | None, owner: str) -> list[int]:
    if candidates is None:
        return list(range(d))
    if isinstance(candidates, (str, bytes, int, np.integer)):
        candidates = [candidates]
    return [node_position(item, names, d, "candidates", owner) for item in candidates]


def _maximum_cardinality_order(g: np.ndarray, nodes: list[int]) -> list[int]:
    """A maximum-cardinality search order of the undirected graph ``g`` restricted to ``nodes`` (Tarjan &
    Yannakakis 1984); on a chordal graph its reverse is a perfect elimination ordering."""
    order: list[int] = []
    weight = {v: 0 for v in nodes}
    while weight:
        v = max(weight, key=lambda u: (weight[u], -u))
        order.append(v)
        del weight[v]
        for w in _neighbours(g, v):
            if w in weight:
                weight[w] += 1
    return order


def identifying_targets(graph: Any) -> list[tuple[Any, ...]]:
    """The fewest intervention target sets (of any size) that orient every edge of every member of the class
    (Hauser & Bühlmann 2014, OptUnb): ``ceil(log2 w)`` sets, ``w`` the largest clique of the undirected part.

    Parameters
    ----------
    graph: a CPDAG or I-essential graph (d, d), or a DiscoveredGraph. Its undirected part must be chordal (as every
        essential graph's is).

    Returns
    -------
    A list of target sets, each a tuple of nodes (names when the graph has names); empty when nothing is undirected.
    Run each as one experiment (with the observational data): the I-essential graph is then the true DAG.
    """
    owner = "identifying_targets"
    g, names = _essential(graph, owner)
    undirected = ((g != 0) & (g.T != 0)).astype(np.int64)
    colour: dict[int, int] = {}
    for v in _maximum_cardinality_order(undirected, list(range(g.shape[0]))):
        used = {colour[w] for w in _neighbours(undirected, v) if w in colour}
        earlier = [w for w in _neighbours(undirected, v) if w in colour]
        if any(not undirected[a, b] for a, b in combinations(earlier, 2)):
            raise ValueError(f"The 'graph' argument of {owner} has an undirected part that is not chordal (node {v}'s "
                             "earlier neighbours in a maximum-cardinality search are not a clique): it is no "
                             "essential graph.")
        colour[v] = min(set(range(len(used) + 1)) - used)
    largest = max(colour.values(), default=0) + 1
    if not undirected.any():
        return []
    bits = math.ceil(math.log2(largest))
    targets = []
    for k in range(bits):
        members = [v for v in sorted(colour) if colour[v] >> k & 1]
        targets.append(tuple(names[v] for v in members) if names is not None else tuple(members))
    return targets
