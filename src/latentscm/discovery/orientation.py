"""Orientation of a skeleton into a CPDAG: unshielded colliders, then Meek's rules.

Works on an int matrix ``g`` (d, d) in the library convention: ``g[i, j] = g[j, i] = 1`` is the
undirected edge ``i - j``, ``g[i, j] = 1, g[j, i] = 0`` is ``i -> j``.

References: Spirtes, Glymour & Scheines (2000), *Causation, Prediction, and Search* (collider
orientation from separating sets); Meek (1995), "Causal inference and causal explanation with
background knowledge", UAI (rules R1–R3, which complete the orientation of a pattern; with
background knowledge — orientations made before the rules run — rule R4 is needed as well).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import combinations, permutations

import numpy as np

__all__ = ["apply_meek_rules", "apply_meek_rules_stable", "orient_colliders", "orient_exogenous"]


def _undirected(g: np.ndarray, i: int, j: int) -> bool:
    return bool(g[i, j] and g[j, i])


def _directed(g: np.ndarray, i: int, j: int) -> bool:
    return bool(g[i, j] and not g[j, i])


def _adjacent(g: np.ndarray, i: int, j: int) -> bool:
    return bool(g[i, j] or g[j, i])


def orient_exogenous(g: np.ndarray, exogenous: Iterable[int]) -> np.ndarray:
    """Orient every edge at an exogenous node (a domain or time index) away from it."""
    g = g.copy()
    exo = set(exogenous)
    for c in exo:
        for v in np.flatnonzero(g[c] | g[:, c]):
            if v not in exo:
                g[c, v], g[v, c] = 1, 0
    return g


def orient_colliders(g: np.ndarray, separating_sets: Mapping[tuple[int, int], frozenset[int]], *,
                     unknown: Iterable[tuple[int, int]] = ()) -> np.ndarray:
    """Orient each unshielded triple ``i - j - k`` with ``j`` in no separating set of (i, k) as
    ``i -> j <- k``. ``unknown``: pairs ``(i, k)``, i < k, non-adjacent without a separating set (background
    knowledge removed them): their triples are left alone.

    Conflicts (two colliders wanting opposite marks on one edge) keep the orientation found first;
    triples are visited with the middle node ascending, then ``i``, then ``k`` — the order
    causal-learn's ``uc_sepset`` (priority 2, "existing colliders win") uses, so both agree.
    """
    g = g.copy()
    d = g.shape[0]
    skipped = {(min(i, k), max(i, k)) for i, k in unknown}
    for j in range(d):
        neighbours = [v for v in range(d) if _adjacent(g, v, j)]
        for a, i in enumerate(neighbours):
            for k in neighbours[a + 1:]:
                if _adjacent(g, i, k) or (min(i, k), max(i, k)) in skipped:
                    continue
                if j in separating_sets.get((i, k), frozenset()):
                    continue
                if _directed(g, j, i) or _directed(g, j, k):
                    continue
                g[i, j], g[j, i] = 1, 0
                g[k, j], g[j, k] = 1, 0
    return g


def _is_ancestor(g: np.ndarray, a: int, b: int) -> bool:
    """Whether a directed path ``a -> ... -> b`` exists (through directed edges only)."""
    directed = (g != 0) & (g.T == 0)
    seen = {a}
    stack = [a]
    while stack:
        node = stack.pop()
        if node == b:
            return True
        for child in np.flatnonzero(directed[node]):
            if child not in seen:
                seen.add(int(child))
                stack.append(int(child))
    return False


def apply_meek_rules(g: np.ndarray, *, background: bool = False) -> np.ndarray:
    """Apply Meek's rules R1–R3 (and R4 with ``background=True``) to ``g`` (d, d) until nothing changes.

    R1: ``i -> j - k``, i and k non-adjacent  ⇒  ``j -> k``.
    R2: ``i -> j -> k`` and ``i - k``          ⇒  ``i -> k``.
    R3: ``i - j -> l``, ``i - k -> l``, ``i - l``, j and k non-adjacent  ⇒  ``i -> l``.
    R4: ``i - j``, ``i - k -> l -> j``, i and l adjacent, k and j non-adjacent  ⇒  ``i -> j``.
    R1–R3 complete a pattern (CPDAG); when edges were oriented by background knowledge beforehand
    (de Finetti's orientation tests, CD-NOD's changing-pair step), Meek (1995) needs R4 as well, so
    callers that add such orientations pass ``background=True``.
    An orientation that would close a directed cycle is skipped (this only happens when the input
    pattern is inconsistent, i.e. CI errors at finite n).
    """
    g = g.copy()
    d = g.shape[0]

    def orient(a: int, b: int) -> bool:
        if _is_ancestor(g, b, a):
            return False
        g[a, b], g[b, a] = 1, 0
        return True

    changed = True
    while changed:
        changed = False
        # R1
        for j in range(d):
            for i in range(d):
                if not _directed(g, i, j):
                    continue
                for k in range(d):
                    if k != i and _undirected(g, j, k) and not _adjacent(g, i, k) and orient(j, k):
                        changed = True
        # R2
        for i in range(d):
            for k in range(d):
                if not _undirected(g, i, k):
                    continue
                if any(_directed(g, i, j) and _directed(g, j, k) for j in range(d)) and orient(i, k):
                    changed = True
        # R3
        for i in range(d):
            for l in range(d):
                if not _undirected(g, i, l):
                    continue
                parents = [j for j in range(d) if _undirected(g, i, j) and _directed(g, j, l)]
                if any(not _adjacent(g, j, k) for a, j in enumerate(parents) for k in parents[a + 1:]):
                    if orient(i, l):
                        changed = True
        # R4 (sound only given the pattern's v-structures: j -> i would make k -> i <- j a new one)
        if background:
            for i in range(d):
                for j in range(d):
                    if not _undirected(g, i, j):
                        continue
                    if any(_directed(g, l, j) and _adjacent(g, i, l) and _undirected(g, i, k) and _directed(g, k, l)
                           and not _adjacent(g, k, j) for l in range(d) for k in range(d) if k not in (i, j)) \
                            and orient(i, j):
                        changed = True
    return g


def apply_meek_rules_stable(g: np.ndarray, *, ambiguous: Iterable[tuple[int, int, int]] = (),
                            conflicts: set[tuple[int, int]] | None = None) -> np.ndarray:
    """Meek's rules R1–R3 in an order-independent form, for the conservative and majority collider
    rules (Colombo & Maathuis 2014, JMLR 15, Sec. 5; Ramsey, Zhang & Spirtes 2006).

    Each rule's orientations are proposed on the graph as it stands and then applied together, so
    the result does not depend on the order of the variables. R1 (``i -> a - b`` ⇒ ``a -> b``) does
    not fire through an ambiguous triple ``(i, a, b)``, nor R3 through an ambiguous ``(k1, a, k2)``;
    ``ambiguous`` must hold both ``(i, j, k)`` and ``(k, j, i)``. Two opposite proposals for one edge,
    and a batch of proposals that would close a directed cycle (only with an inconsistent pattern:
    CI errors at finite n), leave the edges concerned undirected and add them to ``conflicts``
    (pairs ``(a, b)``, a < b; updated in place), whose edges no rule orients or uses.

    ``g`` (d, d): the library's CPDAG convention (see the module docstring). Returns a new array.
    """
    g = g.copy()
    d = g.shape[0]
    blocked = set(ambiguous)
    conflicted = conflicts if conflicts is not None else set()

    def undirected(a: int, b: int) -> bool:
        return bool(g[a, b] and g[b, a]) and (min(a, b), max(a, b)) not in conflicted

    def rule1(a: int, b: int) -> bool:
        return any(_directed(g, i, a) and i != b and not _adjacent(g, i, b) and (i, a, b) not in blocked
                   for i in range(d))

    def rule2(a: int, b: int) -> bool:
        return any(_directed(g, a, k) and _directed(g, k, b) for k in range(d))

    def rule3(a: int, b: int) -> bool:
        return any(undirected(a, k1) and undirected(a, k2) and _directed(g, k1, b) and _directed(g, k2, b)
                   and not _adjacent(g, k1, k2) and (k1, a, k2) not in blocked
                   for k1, k2 in combinations(range(d), 2))

    changed = True
    while changed:
        changed = False
        for rule in (rule1, rule2, rule3):
            proposals = {(a, b) for a, b in permutations(range(d), 2) if undirected(a, b) and rule(a, b)}
            applied = []
            for a, b in sorted(proposals):
                if (b, a) in proposals:
                    conflicted.add((min(a, b), max(a, b)))
                else:
                    g[b, a] = 0  # a -> b
                    applied.append((a, b))
            # an edge of this batch on a directed cycle is put back: a set rule, so still order-free
            cyclic = [(a, b) for a, b in applied if _is_ancestor(g, b, a)]
            for a, b in cyclic:
                g[b, a] = 1
                conflicted.add((min(a, b), max(a, b)))
            changed = changed or bool(proposals)
    return g
