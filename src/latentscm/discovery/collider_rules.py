"""Order-independent collider rules for PC: conservative, majority and max-P.

PC's standard rule calls an unshielded triple ``i - j - k`` a collider when ``j`` is not in the
separating set the skeleton search happened to find for (i, k). On finite data that set depends on
which test passed first, and two colliders can claim opposite marks on one edge, so the
orientations depend on the variable order even when the skeleton (PC-stable) does not. The rules
here re-test every unshielded pair (i, k) given *every* subset ``S`` of ``adj(i) \\ {k}`` and of
``adj(k) \\ {i}`` in the final skeleton (the family), then decide each triple from all those tests:

* ``"conservative"`` — Ramsey, Zhang & Spirtes (2006), "Adjacency-faithfulness and conservative
  causal inference", UAI (CPC): among the sets with p-value > alpha, ``j`` in none is a collider,
  ``j`` in all a non-collider, anything else an *ambiguous* triple.
* ``"majority"`` — Colombo & Maathuis (2014), "Order-independent constraint-based causal structure
  learning", JMLR 15 (MPC): ``j`` in fewer than half of those sets is a collider, more than half a
  non-collider, exactly half ambiguous.

  Both rules call a triple ambiguous when no set of the family separates (i, k) (the pair was
  removed given a set that is no longer among the adjacencies, which faithfulness rules out), as
  PCMCI+ does (:mod:`latentscm.discovery.timeseries.pcmci_plus`). All colliders are collected before
  any is oriented; an edge that gets arrowheads at both ends is a *conflict* and stays undirected.
  Meek's rules then run in the order-independent form (:func:`apply_meek_rules_stable`), never
  through an ambiguous triple.
* ``"maxp"`` — Ramsey (2016), "Improving accuracy and scalability of the PC algorithm by maximizing
  P-value", arXiv:1610.00378: ``j`` is a collider when the largest p-value over the sets without
  ``j`` exceeds the largest over the sets with ``j``. Colliders are oriented from the strongest (the
  smallest largest-p-value with ``j``) down, a collider whose edge already points away from ``j``
  being skipped (causal-learn's ``uc_rule=1, uc_priority=3``), then Meek's rules as for the standard
  rule. No triple is ambiguous.

The decisions below are pure functions of the p-values; :func:`latentscm.discovery.pc.pc` runs the
tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from latentscm.discovery.orientation import apply_meek_rules_stable, orient_exogenous

__all__ = ["COLLIDER_RULES", "orient_by_rule", "separation_family", "unshielded_triples"]

#: Names accepted by ``pc(collider_rule=...)``; ``"standard"`` is the separating-set rule of
#: :func:`~latentscm.discovery.orientation.orient_colliders`.
COLLIDER_RULES = ("standard", "conservative", "majority", "maxp")

Triple = tuple[int, int, int]
Pair = tuple[int, int]


def unshielded_triples(adjacency: np.ndarray) -> list[Triple]:
    """Every unshielded triple ``(i, j, k)`` of a skeleton (d, d): i - j - k, i and k not adjacent,
    ``i < k``, sorted."""
    adjacent = (adjacency != 0) | (adjacency.T != 0)
    d = adjacent.shape[0]
    return [(i, j, k) for j in range(d) for i, k in combinations(np.flatnonzero(adjacent[j]).tolist(), 2)
            if not adjacent[i, k]]


def separation_family(adjacency: np.ndarray, pairs: Iterable[Pair], max_size: int | None = None
                      ) -> dict[Pair, list[tuple[int, ...]]]:
    """The conditioning sets each pair ``(i, k)`` is re-tested with: every subset (sorted tuple) of
    ``adj(i) \\ {k}`` and of ``adj(k) \\ {i}``, each once, of at most ``max_size`` elements (None: any
    size), ordered by size then content."""
    adjacent = (adjacency != 0) | (adjacency.T != 0)
    family: dict[Pair, list[tuple[int, ...]]] = {}
    for i, k in pairs:
        subsets: set[tuple[int, ...]] = set()
        for node, other in ((i, k), (k, i)):
            pool = [v for v in np.flatnonzero(adjacent[node]).tolist() if v != other]
            top = len(pool) if max_size is None else min(len(pool), max_size)
            for size in range(top + 1):
                subsets.update(combinations(pool, size))
        family[(i, k)] = sorted(subsets, key=lambda s: (len(s), s))
    return family


def _decide(triple: Triple, tests: Sequence[tuple[tuple[int, ...], float]], rule: str,
            alpha: float) -> tuple[bool, bool, float]:
    """(collider, decided, strength) of one triple from its pair's re-tests ``(set, p-value)``."""
    j = triple[1]
    if rule == "maxp":
        with_j = max((p for s, p in tests if j in s), default=-np.inf)
        without_j = max((p for s, p in tests if j not in s), default=-np.inf)
        return bool(without_j > with_j), True, float(with_j)
    separating = [s for s, p in tests if p > alpha]
    if not separating:
        return False, False, np.nan
    share = sum(j in s for s in separating) / len(separating)
    if rule == "conservative":
        return share == 0.0, share in (0.0, 1.0), share
    return share < 0.5, share != 0.5, share


def orient_by_rule(adjacency: np.ndarray, tests: Mapping[Pair, Sequence[tuple[tuple[int, ...], float]]],
                   rule: str, alpha: float, *, exogenous: Iterable[int] = (),
                   oriented: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Orient the skeleton ``adjacency`` (d, d) with ``rule`` (``"conservative"``, ``"majority"`` or
    ``"maxp"``) given the re-tests of every unshielded pair, ``tests[(i, k)] = [(S, p-value), ...]``.

    ``exogenous``: nodes with no parents (CD-NOD's domain or time index): their edges point away from them
    first, and a collider at one of them is not oriented (background knowledge wins).
    ``oriented``: (d, d) edges already oriented by background knowledge (``[a, b] = 1, [b, a] = 0`` for
    ``a -> b``; see :func:`~latentscm.discovery.knowledge.orient_by_knowledge`); a collider that would put
    an arrowhead against one of them is not oriented either.

    Returns the CPDAG (d, d) and an info dict: ``"ambiguous_triples"`` (sorted ``(i, j, k)``, i < k),
    ``"conflict_edges"`` (sorted ``(a, b)``, a < b, left undirected) and ``"colliders"`` (the triples
    oriented as colliders, sorted).
    """
    triples = unshielded_triples(adjacency)
    roots = set(exogenous)
    graph = orient_exogenous(((adjacency != 0) | (adjacency.T != 0)).astype(np.int64), roots)
    if oriented is not None:
        for a, b in np.argwhere((oriented != 0) & (oriented.T == 0) & (graph != 0)):
            graph[a, b], graph[b, a] = 1, 0

    def away_from(j: int, a: int) -> bool:  # the edge a - j already points j -> a
        return bool(graph[j, a] and not graph[a, j])

    colliders: list[tuple[float, Triple]] = []
    ambiguous: set[Triple] = set()
    for triple in triples:
        collider, decided, strength = _decide(triple, tests.get((triple[0], triple[2]), ()), rule, alpha)
        if not decided:
            ambiguous.add(triple)
        elif collider and triple[1] not in roots and not (away_from(triple[1], triple[0])
                                                           or away_from(triple[1], triple[2])):
            colliders.append((strength, triple))
    conflicts: set[Pair] = set()
    oriented: list[Triple] = []
    if rule == "maxp":
        for _, (i, j, k) in sorted(colliders):  # strongest first; ties in triple order
            if (graph[j, i] and not graph[i, j]) or (graph[j, k] and not graph[k, j]):
                continue  # an earlier, stronger collider already points this edge away from j
            graph[j, i] = graph[j, k] = 0
            oriented.append((i, j, k))
        graph = apply_meek_rules_stable(graph, conflicts=conflicts)
    else:
        heads = {(a, j) for _, (i, j, k) in colliders for a in (i, k)}  # (a, b): an arrowhead at b on a - b
        for a, b in heads:
            if (b, a) in heads:
                conflicts.add((min(a, b), max(a, b)))
            else:
                graph[b, a] = 0
        oriented = [t for _, t in colliders]
        both_ways = ambiguous | {(k, j, i) for i, j, k in ambiguous}
        graph = apply_meek_rules_stable(graph, ambiguous=both_ways, conflicts=conflicts)
    info = {"ambiguous_triples": sorted(ambiguous), "conflict_edges": sorted(conflicts),
            "colliders": sorted(oriented)}
    return graph, info
