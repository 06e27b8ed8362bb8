"""FCI: causal discovery when hidden confounders may exist, returning a PAG.

Spirtes, Glymour & Scheines (2000), *Causation, Prediction, and Search*, ch. 6 (FCI, Possible-D-SEP);
Zhang (2008), "On the completeness of orientation rules for causal discovery in the presence of
latent confounders and selection bias", Artificial Intelligence 172 (rules R1-R4 and R8-R10, complete
without selection bias). Steps:

1. **Skeleton**: PC-stable (:func:`~latentscm.discovery.pc.pc_skeleton`); every edge ``o-o``.
2. **Unshielded colliders**: ``a *-o b o-* c`` with a, c not adjacent and b in no separating set of
   (a, c) becomes ``a *-> b <-* c`` (arrowheads accumulate; ``<->`` is a legal PAG edge).
3. **Possible-D-SEP**: each remaining pair (x, y) is re-tested given subsets of Possible-D-SEP(x) and
   of Possible-D-SEP(y) (a node v is in Possible-D-SEP(x) when some walk from x to v has, at each inner
   node, a collider or a triangle), cut to the possible ancestors of x or y (nodes with a potentially
   directed path into x or y: a separating set exists among the ancestors, Spirtes et al. 2000; Tetrad
   and causal-learn cut the same way). Subsets lying inside adj(x) or adj(y) are skipped: the skeleton
   search already tested them. The sets are computed on the graph of step 2 and kept fixed while the
   tests run, removals applied together (order-independent, as PC-stable). The skeleton found is
   re-oriented from ``o-o`` with step 2 and the new separating sets. The tests stream in bounded batches;
   their number still grows as 2**|set| (``max_depth`` bounds it). Without the ancestor cut a sparse
   d = 30, n = 1000 graph had sets of 22 of its 30 nodes and needed 35 million tests (over 2 minutes);
   with it, 71-656 tests on five such graphs (0.01 s each).
4. **Tiered background knowledge** (optional; Andrews, Spirtes & Cooper 2020, "On the completeness of causal
   discovery in the presence of latent confounding with tiered background knowledge", AISTATS): a node of a
   later tier is never an ancestor of a node of an earlier one, so every edge from an earlier to a later tier
   gets an arrowhead at its later end (``x *-> y``). The paper shows that the rules of step 5 then give a
   complete PAG for the class restricted by the tiers (checked here against enumeration of the MAG class).
   Forbidden and required edges are not accepted: with hidden confounders a forbidden ``a -> b`` does not
   rule out an edge, nor fix a mark, between a and b in the PAG.
5. **Orientation rules** R1-R4 (R4: discriminating paths, decided by the recorded separating sets) and
   R8-R10, until nothing changes. With ``selection_bias=True`` (selection variables may exist, as pcalg's
   default) each round also runs R5-R7 (Zhang 2008 §4: uncovered circle paths make ``o-o`` edges undirected,
   ``---``; R6 and R7 put tails next to them) after R1-R4 and before R8-R10; with a d-separation oracle over
   DAGs with selection nodes this gives the enumerated PAG of the MAG class with undirected edges allowed (222 of
   222 small graphs; ``latentscm.testing.random_selection_dag``). Tiers are refused then.

With a d-separation oracle over a DAG with hidden nodes, the result is the PAG of the DAG's
maximal ancestral graph (tested against an independent construction of the MAG and causal-learn's
FCI). On finite data the tests can contradict each other; the rules then act on what they see and
the PAG need not be a valid one (as in every FCI implementation).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import combinations, islice
from typing import Any

import numpy as np

from latentscm._validation import check_number
from latentscm.discovery.ci_tests.base import CITest, make_ci_test
from latentscm.discovery.knowledge import BackgroundKnowledge, as_knowledge
from latentscm.discovery.pag import ARROW, CIRCLE, TAIL, PartialAncestralGraph
from latentscm.discovery.pc import _check_n_jobs, as_data_matrix, pc_skeleton, too_few_rows
from latentscm.discovery.pc import plan_p_values as _p_values
from latentscm.exceptions import TooFewSamplesError

__all__ = ["check_search_arguments", "fci", "orient_by_tiers", "orient_pag", "possible_d_sep", "tier_numbers"]

Sepsets = dict[tuple[int, int], frozenset[int]]
_PDS_CHUNK = 20_000  # queries per batch of the Possible-D-SEP stage


def _key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _circles(adjacency: np.ndarray) -> np.ndarray:
    """Every edge of the skeleton (d, d) as ``o-o``."""
    return np.where((adjacency != 0) | (adjacency.T != 0), CIRCLE, 0).astype(np.int64)


def _orient_unshielded_colliders(marks: np.ndarray, sepsets: Mapping[tuple[int, int], frozenset[int]]) -> None:
    """Step 2 in place: ``a *-> b <-* c`` for every unshielded triple with b in no separating set of (a, c)."""
    d = marks.shape[0]
    heads = []
    for b in range(d):
        neighbours = np.flatnonzero(marks[:, b])
        for a, c in combinations(neighbours.tolist(), 2):
            if not marks[a, c] and b not in sepsets.get(_key(a, c), frozenset()):
                heads += [(a, b), (c, b)]
    for a, b in heads:
        marks[a, b] = ARROW


def possible_d_sep(marks: np.ndarray, x: int, max_path_length: int | None = None) -> set[int]:
    """Possible-D-SEP(x) of a partially oriented graph ``marks`` (d, d) (the :mod:`pag` convention): every
    v != x reached by a path from x on which each inner node b of a consecutive triple (a, b, c) is a
    collider (``a *-> b <-* c``) or a, c are adjacent. Searched breadth first over edges (a, b), so the
    routes followed are walks (a node may repeat, x may not): the set can be a strict superset of the
    simple-path one (8 of 4,038 sets on oracle step-2 graphs of 8-10 nodes), which only adds tests.
    At most ``max_path_length`` edges long (None: any)."""
    found: set[int] = set()
    frontier = [(x, int(v)) for v in np.flatnonzero(marks[x])]
    seen = set(frontier)
    length = 1
    while frontier:
        found.update(b for _, b in frontier)
        if max_path_length is not None and length >= max_path_length:
            break
        following = []
        for a, b in frontier:
            for c in np.flatnonzero(marks[b]).tolist():
                if c == a or c == x or (b, c) in seen:
                    continue
                if (marks[a, b] == ARROW and marks[c, b] == ARROW) or marks[a, c]:
                    seen.add((b, c))
                    following.append((b, c))
        frontier = following
        length += 1
    found.discard(x)
    return found


def _pair_subsets(pools: Sequence[Sequence[int]], size: int) -> Iterator[tuple[int, ...]]:
    """The ``size``-subsets of either sorted pool, each once, in sorted order, generated lazily."""
    previous = None
    for subset in heapq.merge(*(combinations(pool, size) for pool in pools if len(pool) >= size)):
        if subset != previous:
            previous = subset
            yield subset


def _possible_ancestors(marks: np.ndarray, x: int) -> frozenset[int]:
    """Every node with a potentially directed path to ``x`` in ``marks`` (d, d): a path on which no edge has an
    arrowhead at its end nearer the node (``x`` included)."""
    found = {x}
    stack = [x]
    while stack:
        w = stack.pop()
        for u in np.flatnonzero(marks[w]).tolist():  # u - w; a potential parent of w when no arrowhead at u
            if u not in found and marks[w, u] != ARROW and marks[u, w] != TAIL:
                found.add(u)
                stack.append(u)
    return frozenset(found)


def _possible_d_sep_stage(bound: Any, marks: np.ndarray, sepsets: Sepsets, alpha: float, max_depth: int | None,
                          max_path_length: int | None, workers: int,
                          untested: frozenset[tuple[int, int]] = frozenset()) -> tuple[set[tuple[int, int]], int]:
    """Step 3: the pairs to remove (their separating sets go into ``sepsets``) and the number of tests run.

    Subsets inside the adjacencies of x or y are skipped (the skeleton search tested them), except for the pairs
    ``(x, y)``, x < y, in ``untested``: edges no earlier test looked at (GFCI's ``test_edges="triangles"``).

    Each level (set size) streams its queries in batches of ``_PDS_CHUNK``: the subsets of a large
    Possible-D-SEP are never all held at once, and a pair's remaining subsets are skipped once one
    separates it. A pair's separating set is the first separating subset in sorted order at the
    smallest size, whatever the batching."""
    d = marks.shape[0]
    pds = [possible_d_sep(marks, x, max_path_length) for x in range(d)]
    ancestors = [_possible_ancestors(marks, x) for x in range(d)]
    neighbours = [frozenset(np.flatnonzero(marks[x]).tolist()) for x in range(d)]
    # a separating set can be found among the (possible) ancestors of x and y, so Possible-D-SEP is cut to them
    pools = {(x, y): (sorted((pds[x] - {y}) & (ancestors[x] | ancestors[y])),
                      sorted((pds[y] - {x}) & (ancestors[x] | ancestors[y])))
             for x in range(d) for y in range(x + 1, d) if marks[x, y]}
    removed: set[tuple[int, int]] = set()
    n_tests = 0
    size = 0
    while max_depth is None or size <= max_depth:
        active = [pair for pair, both in pools.items()
                  if pair not in removed and any(len(pool) >= size for pool in both)]
        if not active:
            break

        def queries(active: list[tuple[int, int]] = active,
                    size: int = size) -> Iterator[tuple[int, int, tuple[int, ...]]]:
            for x, y in active:
                for subset in _pair_subsets(pools[(x, y)], size):
                    if (x, y) in removed:
                        break
                    if (x, y) not in untested and (set(subset) <= neighbours[x] - {y}
                                                   or set(subset) <= neighbours[y] - {x}):
                        continue  # the skeleton search tested every subset of the adjacencies, and kept the edge
                    yield x, y, subset

        stream = queries()
        while chunk := list(islice(stream, _PDS_CHUNK)):
            n_tests += len(chunk)
            for (x, y, subset), p in zip(chunk, _p_values(bound, chunk, workers)):
                if p > alpha and (x, y) not in removed:
                    removed.add((x, y))
                    sepsets[(x, y)] = frozenset(subset)
        size += 1
    return removed, n_tests


# ---------------------------------------------------------------------------------------------- rules

def _potentially_directed(marks: np.ndarray, a: int, b: int) -> bool:
    """The edge a - b could point a -> b: no arrowhead at a, no tail at b."""
    return bool(marks[a, b]) and marks[b, a] != ARROW and marks[a, b] != TAIL


def _uncovered_pd_first_steps(marks: np.ndarray, a: int, target: int, max_path_length: int | None,
                              avoid: frozenset[int] = frozenset()) -> set[int]:
    """Every node m such that an uncovered potentially directed path ``a, m, ..., target`` exists (simple path,
    not through ``avoid``, at most ``max_path_length`` edges)."""
    firsts: set[int] = set()
    for m in np.flatnonzero(marks[a]).tolist():
        if m in avoid or not _potentially_directed(marks, a, m):
            continue
        if m == target:
            firsts.add(m)
            continue
        stack = [(a, m, frozenset((a, m)))]
        done = False
        while stack and not done:
            previous, current, on_path = stack.pop()
            if max_path_length is not None and len(on_path) - 1 >= max_path_length:
                continue
            for nxt in np.flatnonzero(marks[current]).tolist():
                if nxt in on_path or nxt in avoid or marks[previous, nxt] or not _potentially_directed(
                        marks, current, nxt):
                    continue
                if nxt == target:
                    done = True
                    break
                stack.append((current, nxt, on_path | {nxt}))
        if done:
            firsts.add(m)
    return firsts


def _rule1(marks: np.ndarray) -> bool:
    """R1: a *-> b o-* c, a and c not adjacent  =>  b -> c."""
    d = marks.shape[0]
    changed = False
    for b in range(d):
        for a in np.flatnonzero(marks[:, b] == ARROW).tolist():
            for c in np.flatnonzero(marks[b]).tolist():
                if c != a and not marks[a, c] and marks[c, b] == CIRCLE:
                    marks[c, b], marks[b, c] = TAIL, ARROW
                    changed = True
    return changed


def _rule2(marks: np.ndarray) -> bool:
    """R2: a -> b *-> c or a *-> b -> c, and a *-o c  =>  a *-> c."""
    d = marks.shape[0]
    changed = False
    for a in range(d):
        for c in np.flatnonzero(marks[a] == CIRCLE).tolist():
            for b in range(d):
                if not (marks[a, b] and marks[b, c]):
                    continue
                if (marks[b, a] == TAIL and marks[a, b] == ARROW and marks[b, c] == ARROW) or (
                        marks[a, b] == ARROW and marks[c, b] == TAIL and marks[b, c] == ARROW):
                    marks[a, c] = ARROW
                    changed = True
                    break
    return changed


def _rule3(marks: np.ndarray) -> bool:
    """R3: a *-> b <-* c, a *-o d o-* c, a and c not adjacent, d *-o b  =>  d *-> b."""
    d_ = marks.shape[0]
    changed = False
    for b in range(d_):
        into_b = np.flatnonzero(marks[:, b] == ARROW).tolist()
        for d in np.flatnonzero(marks[:, b] == CIRCLE).tolist():
            if any(a != d and c != d and not marks[a, c] and marks[a, d] == CIRCLE and marks[c, d] == CIRCLE
                   for a, c in combinations(into_b, 2)):
                marks[d, b] = ARROW
                changed = True
    return changed


def _rule4(marks: np.ndarray, sepsets: Mapping[tuple[int, int], frozenset[int]],
           max_path_length: int | None) -> bool:
    """R4: a discriminating path ``<d, ..., a, b, c>`` for b with ``b o-* c``: b in the separating set of
    (d, c)  =>  b -> c; otherwise  a <-> b <-> c.

    On such a path d and c are not adjacent and every node strictly between d and b is a collider on the
    path and a parent of c."""
    n = marks.shape[0]
    changed = False
    for b in range(n):
        for c in np.flatnonzero(marks[:, b] == CIRCLE).tolist():  # the mark at b on b - c is a circle
            for a in np.flatnonzero(marks[b]).tolist():
                # a <-* b and a -> c
                if a == c or marks[b, a] != ARROW or not (marks[a, c] == ARROW and marks[c, a] == TAIL):
                    continue
                found = _discriminating_end(marks, a, b, c, max_path_length)
                if found is None:
                    continue
                if b in sepsets.get(_key(found, c), frozenset()):
                    marks[c, b], marks[b, c] = TAIL, ARROW
                else:
                    marks[a, b] = marks[b, a] = marks[c, b] = marks[b, c] = ARROW
                changed = True
                break
            if changed:
                return True
    return changed


def _discriminating_end(marks: np.ndarray, a: int, b: int, c: int, max_path_length: int | None) -> int | None:
    """The first node d (breadth first) of a discriminating path ``<d, ..., a, b, c>`` for b, or None."""
    frontier = [(a, frozenset((a, b, c)))]  # a: a collider on the path (arrowhead at a from b) and a parent of c
    length = 2  # edges a - b, b - c
    seen = {a}
    while frontier:
        if max_path_length is not None and length + 1 > max_path_length:
            return None
        following = []
        for node, on_path in frontier:
            for d in np.flatnonzero(marks[:, node] == ARROW).tolist():  # d *-> node: node is a collider
                if d in on_path:
                    continue
                if not marks[d, c]:
                    return d
                if marks[d, c] == ARROW and marks[c, d] == TAIL and marks[node, d] == ARROW and d not in seen:
                    seen.add(d)  # d -> c and d <-* node: d can be an inner collider
                    following.append((d, on_path | {d}))
        frontier = following
        length += 1
    return None


def _uncovered_circle_path(marks: np.ndarray, a: int, b: int, max_path_length: int | None) -> list[int] | None:
    """An uncovered circle path ``<a, c, ..., t, b>`` (every edge ``o-o``, no two nodes two apart on it adjacent) with
    a, t not adjacent and b, c not adjacent, at most ``max_path_length`` edges; None when there is none. Depth first
    over simple paths."""
    stack = [[a, c] for c in np.flatnonzero(marks[a] == CIRCLE).tolist()
             if c != b and marks[c, a] == CIRCLE and not marks[b, c]]
    while stack:
        path = stack.pop()
        if max_path_length is not None and len(path) > max_path_length:
            continue  # one more edge would make the path longer than max_path_length
        previous, current = path[-2], path[-1]
        for nxt in np.flatnonzero(marks[current] == CIRCLE).tolist():
            if marks[nxt, current] != CIRCLE or nxt in path or marks[previous, nxt]:
                continue
            if nxt == b:
                if not marks[current, a]:
                    return [*path, b]
                continue
            stack.append([*path, nxt])
    return None


def _rule5(marks: np.ndarray, max_path_length: int | None) -> bool:
    """R5: a o-o b and an uncovered circle path ``<a, c, ..., t, b>`` with a, t and b, c not adjacent  =>  a --- b
    and every edge of the path undirected."""
    d = marks.shape[0]
    changed = False
    for a in range(d):
        for b in np.flatnonzero(marks[a] == CIRCLE).tolist():
            if b < a or marks[b, a] != CIRCLE:
                continue
            path = _uncovered_circle_path(marks, a, b, max_path_length)
            if path is None:
                continue
            for u, v in zip(path, [*path[1:], a]):
                marks[u, v] = marks[v, u] = TAIL
            changed = True
    return changed


def _rule6(marks: np.ndarray) -> bool:
    """R6: a --- b o-* c  =>  b -* c (a and c adjacent or not)."""
    changed = False
    for b in np.flatnonzero(((marks == TAIL) & (marks.T == TAIL)).any(axis=0)).tolist():  # b on an undirected edge
        for c in np.flatnonzero(marks[:, b] == CIRCLE).tolist():
            marks[c, b] = TAIL
            changed = True
    return changed


def _rule7(marks: np.ndarray) -> bool:
    """R7: a -o b o-* c, a and c not adjacent  =>  b -* c."""
    d = marks.shape[0]
    changed = False
    for b in range(d):
        for a in np.flatnonzero((marks[b] == TAIL) & (marks[:, b] == CIRCLE)).tolist():  # a -o b
            for c in np.flatnonzero(marks[:, b] == CIRCLE).tolist():
                if c != a and not marks[a, c]:
                    marks[c, b] = TAIL
                    changed = True
    return changed


def _rule8(marks: np.ndarray) -> bool:
    """R8: a -> b -> c or a -o b -> c, and a o-> c  =>  a -> c."""
    d = marks.shape[0]
    changed = False
    for a in range(d):
        for c in np.flatnonzero((marks[a] == ARROW) & (marks[:, a] == CIRCLE)).tolist():
            for b in range(d):
                if marks[b, a] == TAIL and marks[a, b] in (ARROW, CIRCLE) and marks[b, c] == ARROW \
                        and marks[c, b] == TAIL:
                    marks[c, a] = TAIL
                    changed = True
                    break
    return changed


def _rule9(marks: np.ndarray, max_path_length: int | None) -> bool:
    """R9: a o-> c and an uncovered potentially directed path ``<a, b, ..., c>`` with b, c not adjacent
    =>  a -> c."""
    d = marks.shape[0]
    changed = False
    for a in range(d):
        for c in np.flatnonzero((marks[a] == ARROW) & (marks[:, a] == CIRCLE)).tolist():
            firsts = _uncovered_pd_first_steps(marks, a, c, max_path_length)
            if any(b != c and not marks[b, c] for b in firsts):
                marks[c, a] = TAIL
                changed = True
    return changed


def _rule10(marks: np.ndarray, max_path_length: int | None) -> bool:
    """R10: a o-> c, b -> c <- t, uncovered potentially directed paths from a to b and from a to t whose
    second nodes m and w differ and are not adjacent  =>  a -> c."""
    d = marks.shape[0]
    changed = False
    for a in range(d):
        for c in np.flatnonzero((marks[a] == ARROW) & (marks[:, a] == CIRCLE)).tolist():
            parents = [p for p in np.flatnonzero((marks[:, c] == ARROW) & (marks[c] == TAIL)).tolist() if p != a]
            firsts = {p: _uncovered_pd_first_steps(marks, a, p, max_path_length, frozenset((c,))) for p in parents}
            if any(m != w and not marks[m, w] for b, t in combinations(parents, 2)
                   for m in firsts[b] for w in firsts[t]):
                marks[c, a] = TAIL
                changed = True
    return changed


def tier_numbers(knowledge: BackgroundKnowledge, names: Sequence[str], owner: str = "fci") -> np.ndarray:
    """The tier of each of ``names`` (int (d,), -1 for a node in no tier) from tiers-only ``knowledge``.

    Raises ValueError for a node the knowledge names that is not among ``names``, and for forbidden or
    required edges or ``forbid_within_tiers``, which say nothing sound about a PAG's marks.
    """
    knowledge.matrices(names, owner)  # names an unknown node
    kinds = [kind for kind, given in (("forbidden edges", knowledge.forbidden), ("required edges", knowledge.required),
                                      ("forbid_within_tiers=True", knowledge.forbid_within_tiers)) if given]
    if kinds:
        raise ValueError(f"The 'knowledge' argument of {owner} may give tiers only, not {' or '.join(kinds)}: with "
                         "hidden confounders a forbidden or required direct edge fixes no edge or mark of the PAG "
                         "(an edge can come from a hidden common cause). State the knowledge as tiers.")
    tier_of = {n: t for t, tier in enumerate(knowledge.tiers) for n in tier}
    return np.array([tier_of.get(n, -1) for n in names], dtype=np.int64)


def orient_by_tiers(marks: np.ndarray, tier: np.ndarray) -> int:
    """Put an arrowhead at the later end of every edge between two tiers (in place; marks (d, d), ``tier`` (d,),
    -1 for no tier): a node of a later tier is not an ancestor of one of an earlier tier. Returns the number of
    marks set."""
    set_marks = 0
    for i, j in zip(*np.nonzero(marks)):
        if tier[i] >= 0 and tier[j] > tier[i] and marks[i, j] != ARROW:
            marks[i, j] = ARROW
            set_marks += 1
    return set_marks


def orient_pag(marks: np.ndarray, sepsets: Mapping[tuple[int, int], frozenset[int]], *,
               max_path_length: int | None = None, selection_bias: bool = False,
               rule4: Callable[[np.ndarray], bool] | None = None, copy: bool = True) -> np.ndarray:
    """Apply Zhang's (2008) rules R1-R4, then (with ``selection_bias``) R5 and R6-R7, then R8-R10 to ``marks``
    (d, d), in rounds until nothing changes; returns a new array (``marks`` itself, changed, with ``copy=False``).
    ``sepsets``: separating sets by pair ``(i, j)``, i < j (for R4). ``rule4``: another R4 acting on the marks in
    place and telling whether it changed them (RFCI's). Without ``selection_bias`` no rule makes an undirected edge
    ``a --- b``."""
    marks = np.array(marks, dtype=np.int64) if copy else marks
    if rule4 is None:
        def rule4(m: np.ndarray) -> bool:
            return _rule4(m, sepsets, max_path_length)
    changed = True
    while changed:
        changed = False
        while _rule1(marks) | _rule2(marks) | _rule3(marks) | rule4(marks):
            changed = True
        if selection_bias:
            while _rule5(marks, max_path_length):
                changed = True
            while _rule6(marks) | _rule7(marks):
                changed = True
        changed |= _rule8(marks) | _rule9(marks, max_path_length) | _rule10(marks, max_path_length)
    return marks


def check_search_arguments(owner: str, data: Any, node_names: Sequence[str] | None, ci_test: str | CITest,
                           ci_options: Mapping[str, Any] | None, alpha: float, max_depth: int | None,
                           max_path_length: int | None, n_jobs: int | None
                           ) -> tuple[float, int | None, int | None, int, CITest, np.ndarray, tuple[str, ...]]:
    """The checked arguments shared by the PAG searches (fci, rfci, gfci): ``alpha``, ``max_depth``,
    ``max_path_length``, the number of workers, the CI test, and the data matrix (n, d) with its names (categorical
    when the test is)."""
    alpha = check_number(alpha, "alpha", owner, low=0, high=1, low_inclusive=False, high_inclusive=False)
    if max_depth is not None:
        max_depth = int(check_number(max_depth, "max_depth", owner, low=0, integer=True))
    if max_path_length is not None:
        max_path_length = int(check_number(max_path_length, "max_path_length", owner, low=1, integer=True))
    workers = _check_n_jobs(n_jobs, owner)
    test = make_ci_test(ci_test, owner=owner, **dict(ci_options or {}))
    matrix, names = as_data_matrix(data, node_names, owner, categorical=test.discrete)
    if hasattr(test, "for_names"):  # a test told its columns by name (cg_lrt's categorical ones)
        test = test.for_names(names)
    return alpha, max_depth, max_path_length, workers, test, matrix, names


def fci(data: Any, *, ci_test: str | CITest = "fisherz", alpha: float = 0.05,
        node_names: Sequence[str] | None = None, max_depth: int | None = None, max_path_length: int | None = None,
        ci_options: Mapping[str, Any] | None = None, n_jobs: int | None = None,
        knowledge: BackgroundKnowledge | Mapping[str, Any] | None = None,
        selection_bias: bool = False) -> PartialAncestralGraph:
    """FCI: a PAG over the columns of ``data`` when unobserved common causes may exist.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame.
    ci_test: a registered CI test name or instance (as for :func:`~latentscm.discovery.pc.pc`).
    alpha: significance level in (0, 1).
    node_names: names of the d columns (default ``X0, X1, ...``).
    max_depth: largest conditioning set, in the skeleton and the Possible-D-SEP stage (None: no limit).
    max_path_length: longest path followed for Possible-D-SEP, discriminating paths and uncovered
        potentially directed paths (None: any length).
    ci_options: constructor options for a CI test given by name.
    n_jobs: parallel workers for each batch of tests (the result does not depend on it).
    knowledge: tiers of a :class:`~latentscm.discovery.knowledge.BackgroundKnowledge` (or its ``to_dict`` form)
        by node name: a node of a later tier is never an ancestor of one of an earlier tier (step 4 of the
        module docstring). Forbidden or required edges are refused.
    selection_bias: whether the sample may be selected on unobserved common effects (then edges ``a --- b``,
        tails at both ends, can appear: rules R5-R7). False (default) assumes no selection bias, which licenses
        more marks. Not with ``knowledge``.

    Returns
    -------
    PartialAncestralGraph with ``marks`` (d, d) (see :mod:`latentscm.discovery.pag`); ``info`` holds the
    test counts of both stages, the pairs the Possible-D-SEP stage removed, ``selection_bias``, and with knowledge
    the knowledge and ``n_tier_marks`` (arrowheads the tiers set before the rules).
    """
    owner = "fci"
    if not isinstance(selection_bias, (bool, np.bool_)):
        raise TypeError(f"The 'selection_bias' argument of fci must be True or False. Got {selection_bias!r}.")
    alpha, max_depth, max_path_length, workers, test, matrix, names = check_search_arguments(
        owner, data, node_names, ci_test, ci_options, alpha, max_depth, max_path_length, n_jobs)
    knowledge = as_knowledge(knowledge, owner)
    if knowledge is not None and selection_bias:
        raise ValueError("fci takes 'knowledge' (tiers) only with selection_bias=False: with selection bias a node of "
                         "a later tier may be an ancestor of a selection variable, so a tier gives no arrowhead.")
    tier = None if knowledge is None else tier_numbers(knowledge, names, owner)
    bound = test.bind(matrix)
    start = time.perf_counter()
    try:
        skeleton = pc_skeleton(bound, alpha=alpha, max_depth=max_depth, n_jobs=workers)
        sepsets: Sepsets = dict(skeleton.separating_sets)
        marks = _circles(skeleton.adjacency)
        _orient_unshielded_colliders(marks, sepsets)
        removed, n_pds_tests = _possible_d_sep_stage(bound, marks, sepsets, alpha, max_depth, max_path_length,
                                                     workers)
    except TooFewSamplesError as error:
        raise too_few_rows("fci", matrix.shape[0], error) from error
    adjacency = skeleton.adjacency.copy()
    for x, y in removed:
        adjacency[x, y] = adjacency[y, x] = 0
    marks = _circles(adjacency)
    _orient_unshielded_colliders(marks, sepsets)
    n_tier_marks = 0 if tier is None else orient_by_tiers(marks, tier)
    marks = orient_pag(marks, sepsets, max_path_length=max_path_length, selection_bias=bool(selection_bias))
    info = {"method": "fci", "ci_test": bound.test.name, "alpha": alpha, "n_samples": int(matrix.shape[0]),
            "selection_bias": bool(selection_bias),
            "n_skeleton_tests": skeleton.n_tests, "n_possible_dsep_tests": n_pds_tests,
            "n_tests": skeleton.n_tests + n_pds_tests,
            "possible_dsep_removed": sorted((names[x], names[y]) for x, y in removed),
            "time_s": time.perf_counter() - start}
    if knowledge is not None:
        info.update(knowledge=knowledge.to_dict(), n_tier_marks=n_tier_marks)
    return PartialAncestralGraph(names, marks, sepsets, info)
