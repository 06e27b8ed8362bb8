"""RFCI: a faster FCI without the Possible-D-SEP stage, returning a PAG whose marks are sound.

Colombo, Maathuis, Kalisch & Richardson (2012), "Learning high-dimensional directed acyclic graphs with latent and
selection variables", Annals of Statistics 40(1) (RFCI, with its Algorithms 4.4 and 4.5; pcalg's ``rfci``).
FCI's Possible-D-SEP stage conditions on subsets of large sets and can take exponential time; RFCI skips it and
instead runs a few targeted tests that make each orientation it commits to sound. Steps:

1. **Skeleton**: PC-stable (:func:`~latentscm.discovery.pc.pc_skeleton`), every edge ``o-o``. It may keep edges the
   MAG lacks (those only Possible-D-SEP would remove).
2. **Unshielded triples** (Algorithm 4.4): every unshielded triple ``a - b - c`` (a, c not adjacent, separated by
   S = sepset(a, c)) is checked: a vs b and c vs b given ``S \\ {b}``. If both are dependent the triple is kept;
   it becomes a collider ``a *-> b <-* c`` when b is not in S (else it stays a non-collider). If one pair, say
   (a, b), is independent, the edge a - b is removed, its separating set is a smallest subset of ``S \\ {b}`` that
   separates (searched by size from 1: the empty set was tested by the skeleton), every triple through a - b is
   dropped, and the triples ``a - m - b`` that the removal unshields are added to the list and checked in turn.
   Colliders are oriented once the list is empty, on the triples kept whose edges remain.
3. **Orientation rules**: Zhang's (2008) R1-R3 and R8-R10 (reused from :mod:`latentscm.discovery.fci`), with R4
   replaced by Algorithm 4.5: for a shortest discriminating path ``<d, ..., a, b, c>`` for b (``b o-* c``), every
   two consecutive nodes (r, q) of the path are tested given ``sepset(d, c) \\ {r, q}``. Independent pairs lose
   their edge (separating set: a smallest separating subset, as in step 2), the triples the removal unshields are
   checked as in step 2 (new colliders oriented), and the rules start over without orienting on this path.
   Only when every edge of the path stands is b oriented: ``b -> c`` when b is in sepset(d, c), else
   ``a <-> b <-> c``. Rules R5-R7 are not run: no selection bias is assumed (as fci's default).

With a d-separation oracle, Colombo et al. (2012) prove every arrowhead and tail of the output (its "causal
information") correct for the true DAG (an arrowhead at j on ``i *-> j``: j is not an ancestor of i; a tail at i
on ``i --> j``: i is an ancestor of j), but the skeleton can keep edges of the PC skeleton that the MAG lacks, and
the result can have fewer marks than FCI's PAG. When the PC skeleton already is the MAG's (FCI's Possible-D-SEP
stage removes nothing), no extra test finds an independence (adjacent nodes of a MAG are dependent given any set),
so the separating sets, colliders and rules are FCI's and the two PAGs are equal (checked in the tests).
Random oracle DAGs rarely need RFCI's extra tests (2 removals in a search over 52,846 small DAGs; none by R4), so the
removal code is checked by unit tests with scripted independences and by hand-built DAGs, not by the random ones.

**Differences from pcalg's ``rfci``** (read, not copied): R4's path tests use the full ``sepset(d, c)`` minus the
pair first and then look for a smallest separating subset (pcalg's ``checkEdges`` tries the subsets by size and
stops at the first removal on the path), and every pair found independent is removed before the rules restart; the
triples a removal unshields are checked (pcalg's ``dep.triple`` loops over a list fixed at its start, so the appended
ones go untested), as the paper's Algorithm 4.4 says. A smallest separating subset is searched one size at a time,
each size as one batch of tests (more tests than stopping at the first hit, the same result).

On finite data, as with FCI, the tests can contradict each other and the PAG need not be valid.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from latentscm.discovery.ci_tests.base import BoundCITest, CITest
from latentscm.discovery.fci import _circles, _key, check_search_arguments, orient_pag
from latentscm.discovery.pag import ARROW, CIRCLE, TAIL, PartialAncestralGraph
from latentscm.discovery.pc import pc_skeleton, too_few_rows
from latentscm.discovery.pc import plan_p_values as _p_values
from latentscm.exceptions import TooFewSamplesError

__all__ = ["rfci"]

Sepsets = dict[tuple[int, int], frozenset[int]]
Triple = tuple[int, int, int]


class _Tester:
    """The extra tests of steps 2 and 3: p-values by ``(x, y, S)`` (x < y, S sorted), each query run once, counted
    by stage; the edges removed, in order, with their stage."""

    def __init__(self, bound: BoundCITest, alpha: float, workers: int) -> None:
        self.bound, self.alpha, self.workers = bound, alpha, workers
        self.memo: dict[tuple[int, int, tuple[int, ...]], float] = {}
        self.counts = {"triples": 0, "discriminating_paths": 0}
        self.removed: list[tuple[str, int, int, frozenset[int]]] = []

    def independent(self, queries: Sequence[tuple[int, int, frozenset[int]]], stage: str) -> list[bool]:
        """Whether each pair (x, y) is independent given its set (``p > alpha``); one batch for the new queries."""
        keyed = [(*_key(x, y), tuple(sorted(s))) for x, y, s in queries]
        todo = sorted({k for k in keyed if k not in self.memo})
        for k, p in zip(todo, _p_values(self.bound, todo, self.workers)):
            self.memo[k] = p
        self.counts[stage] += len(todo)
        return [self.memo[k] > self.alpha for k in keyed]

    def smallest_separator(self, x: int, y: int, given: frozenset[int], stage: str) -> frozenset[int]:
        """A smallest subset of ``given`` separating x and y (``given`` itself separates them); by size from 1, the
        first in sorted order. The empty set is not tried: the skeleton tested it and kept the edge."""
        pool = sorted(given)
        for size in range(1, len(pool)):
            subsets = [frozenset(s) for s in combinations(pool, size)]
            for subset, separated in zip(subsets, self.independent([(x, y, s) for s in subsets], stage)):
                if separated:
                    return subset
        return frozenset(given)

    def remove(self, marks: np.ndarray, sepsets: Sepsets, x: int, y: int, given: frozenset[int],
               stage: str) -> list[Triple]:
        """Delete x - y (found independent given ``given``) with a smallest separating subset as its separating
        set; returns the triples ``x - m - y`` the removal unshields (x < y)."""
        separator = self.smallest_separator(x, y, given, stage)
        x, y = _key(x, y)
        sepsets[(x, y)] = separator
        marks[x, y] = marks[y, x] = 0
        self.removed.append((stage, x, y, separator))
        return [(x, m, y) for m in np.flatnonzero((marks[x] != 0) & (marks[y] != 0)).tolist()]


def _unshielded_triples(marks: np.ndarray) -> list[Triple]:
    """Every ``(a, b, c)``, a < c, with a - b - c in ``marks`` (d, d) and a, c not adjacent, sorted."""
    out = []
    for b in range(marks.shape[0]):
        for a, c in combinations(np.flatnonzero(marks[:, b]).tolist(), 2):
            if not marks[a, c]:
                out.append((a, b, c))
    return sorted(out)


def _check_triples(tester: _Tester, marks: np.ndarray, sepsets: Sepsets, triples: Sequence[Triple],
                   stage: str) -> int:
    """Step 2 (Algorithm 4.4) in place on ``marks`` (d, d): check the unshielded ``triples`` (and those that edge
    removals unshield), removing edges found independent, then put arrowheads at b on every kept triple
    ``a - b - c`` with b in no separating set of (a, c). Returns the number of colliders oriented."""
    pending = list(triples)
    queued = set(pending)
    kept: list[Triple] = []
    while pending:
        triple = pending.pop(0)
        a, b, c = triple
        if not (marks[a, b] and marks[b, c]) or marks[a, c]:
            continue  # an edge of it was removed since it was listed
        given = sepsets.get(_key(a, c), frozenset()) - {b}
        if not given:  # dependent given the empty set: the skeleton kept both edges
            kept.append(triple)
            continue
        separated = tester.independent([(a, b, given), (c, b, given)], stage)
        if not any(separated):
            kept.append(triple)
            continue
        for r, independent in zip((a, c), separated):
            if not independent or not marks[r, b]:
                continue
            for new in tester.remove(marks, sepsets, r, b, given, stage):
                if new not in queued:
                    queued.add(new)
                    pending.append(new)
    oriented = 0
    for a, b, c in kept:
        if marks[a, b] and marks[b, c] and not marks[a, c] and b not in sepsets.get(_key(a, c), frozenset()):
            marks[a, b] = marks[c, b] = ARROW
            oriented += 1
    return oriented


def _discriminating_path(marks: np.ndarray, a: int, b: int, c: int, max_path_length: int | None) -> list[int] | None:
    """A shortest discriminating path ``[d, ..., a, b, c]`` for b (breadth first from a), or None: d and c not
    adjacent, every node strictly between d and b a collider on the path and a parent of c (``a -> c`` and
    ``a <-* b`` are the caller's), at most ``max_path_length`` edges."""
    parent: dict[int, int | None] = {a: None}
    frontier = [a]
    length = 2  # edges a - b, b - c
    while frontier:
        if max_path_length is not None and length + 1 > max_path_length:
            return None
        following = []
        for node in frontier:
            for d in np.flatnonzero(marks[:, node] == ARROW).tolist():  # d *-> node: node a collider on the path
                if d in parent or d in (b, c):
                    continue
                if not marks[d, c]:
                    path = [d, node]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])  # type: ignore[arg-type]
                    return [*path, b, c]
                if marks[d, c] == ARROW and marks[c, d] == TAIL and marks[node, d] == ARROW:
                    parent[d] = node  # d -> c and node *-> d: d can be an inner collider
                    following.append(d)
        frontier = following
        length += 1
    return None


def _rule4(tester: _Tester, marks: np.ndarray, sepsets: Sepsets, max_path_length: int | None) -> bool:
    """R4 of RFCI (Algorithm 4.5) in place: on the first shortest discriminating path found, test the consecutive
    pairs given the end points' separating set; remove the independent ones (and check the triples they unshield),
    or, when none is, orient b. Returns whether anything changed."""
    n = marks.shape[0]
    for b in range(n):
        for c in np.flatnonzero(marks[:, b] == CIRCLE).tolist():  # b o-* c
            for a in np.flatnonzero(marks[b]).tolist():
                if a == c or marks[b, a] != ARROW or not (marks[a, c] == ARROW and marks[c, a] == TAIL):
                    continue  # need a <-* b and a -> c
                path = _discriminating_path(marks, a, b, c, max_path_length)
                if path is None:
                    continue
                separator = sepsets.get(_key(path[0], c), frozenset())
                pairs = [(r, q, separator - {r, q}) for r, q in zip(path, path[1:]) if separator - {r, q}]
                separated = tester.independent(pairs, "discriminating_paths")
                if any(separated):
                    unshielded: list[Triple] = []
                    for (r, q, given), independent in zip(pairs, separated):
                        if independent:
                            unshielded += tester.remove(marks, sepsets, r, q, given, "discriminating_paths")
                    _check_triples(tester, marks, sepsets, sorted(set(unshielded)), "discriminating_paths")
                elif b in separator:
                    marks[c, b], marks[b, c] = TAIL, ARROW
                else:
                    marks[a, b] = marks[b, a] = marks[c, b] = marks[b, c] = ARROW
                return True
    return False


def _orient(tester: _Tester, marks: np.ndarray, sepsets: Sepsets, max_path_length: int | None) -> np.ndarray:
    """Step 3 in place: FCI's rule loop (:func:`~latentscm.discovery.fci.orient_pag`, no selection bias) with
    RFCI's R4."""
    return orient_pag(marks, sepsets, max_path_length=max_path_length, copy=False,
                      rule4=lambda m: _rule4(tester, m, sepsets, max_path_length))


def rfci(data: Any, *, ci_test: str | CITest = "fisherz", alpha: float = 0.05,
         node_names: Sequence[str] | None = None, max_depth: int | None = None, max_path_length: int | None = None,
         ci_options: Mapping[str, Any] | None = None, n_jobs: int | None = None) -> PartialAncestralGraph:
    """RFCI: a PAG over the columns of ``data`` when unobserved common causes may exist, without FCI's
    Possible-D-SEP stage (see the module docstring).

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame.
    ci_test: a registered CI test name or instance (as for :func:`~latentscm.discovery.pc.pc`).
    alpha: significance level in (0, 1).
    node_names: names of the d columns (default ``X0, X1, ...``).
    max_depth: largest conditioning set of the skeleton search (None: no limit); the extra tests condition on
        subsets of its separating sets, so they are bounded too.
    max_path_length: longest discriminating path and uncovered potentially directed path followed (None: any).
    ci_options: constructor options for a CI test given by name.
    n_jobs: parallel workers for each batch of tests (the result does not depend on it).

    Returns
    -------
    PartialAncestralGraph with ``marks`` (d, d) (see :mod:`latentscm.discovery.pag`); ``info`` holds the test
    counts (skeleton, unshielded-triple checks, discriminating-path checks, total), the edges the extra tests
    removed (``triple_removed``, ``discriminating_path_removed``: name pairs in the order removed) and ``time_s``.
    """
    owner = "rfci"
    alpha, max_depth, max_path_length, workers, test, matrix, names = check_search_arguments(
        owner, data, node_names, ci_test, ci_options, alpha, max_depth, max_path_length, n_jobs)
    bound = test.bind(matrix)
    start = time.perf_counter()
    tester = _Tester(bound, alpha, workers)
    try:
        skeleton = pc_skeleton(bound, alpha=alpha, max_depth=max_depth, n_jobs=workers)
        sepsets: Sepsets = dict(skeleton.separating_sets)
        marks = _circles(skeleton.adjacency)
        _check_triples(tester, marks, sepsets, _unshielded_triples(marks), "triples")
        marks = _orient(tester, marks, sepsets, max_path_length)
    except TooFewSamplesError as error:
        raise too_few_rows("rfci", matrix.shape[0], error) from error
    removed = {stage: [(names[x], names[y]) for kind, x, y, _ in tester.removed if kind == stage]
               for stage in tester.counts}
    info = {"method": "rfci", "ci_test": bound.test.name, "alpha": alpha, "n_samples": int(matrix.shape[0]),
            "n_skeleton_tests": skeleton.n_tests, "n_triple_tests": tester.counts["triples"],
            "n_discriminating_path_tests": tester.counts["discriminating_paths"],
            "n_tests": skeleton.n_tests + sum(tester.counts.values()),
            "triple_removed": removed["triples"], "discriminating_path_removed": removed["discriminating_paths"],
            "time_s": time.perf_counter() - start}
    return PartialAncestralGraph(names, marks, sepsets, info)
