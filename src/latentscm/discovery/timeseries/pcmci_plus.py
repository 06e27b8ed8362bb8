"""PCMCI+: lagged and contemporaneous links, with orientation of the contemporaneous ones.

Runge (2020), "Discovering contemporaneous and lagged causal relations in autocorrelated nonlinear
time series datasets", UAI (PMLR 124). Four phases, as in the paper:

1. **Lagged skeleton** (Alg. 1): PC1 condition selection (as in PCMCI) at level ``alpha`` gives the
   lagged adjacencies ``B(x_j)`` of every variable.
2. **Contemporaneous skeleton and MCI** (Alg. 2): start from all lagged links in ``B`` plus the complete
   contemporaneous graph; at level p = 0, 1, ... test every link ``x_{i,t-tau} - x_{j,t}`` (tau >= 0)
   given every subset S of size p of the contemporaneous adjacencies of ``x_{j,t}`` (PC-stable:
   adjacencies frozen per level), always also conditioning on ``B(x_j)`` and on ``B(x_i)`` shifted by
   tau (the MCI idea). A link is removed at its first p-value > alpha; S is its separating set. At each
   level, as in tigramite, every subset is tried for the lag-0 direction ``i -> j`` with ``i < j`` before
   the reverse direction, which is tested only if the pair survives (this fixes which tests run, hence
   the p-values, and which separating set is found).
3. **Collider orientation** (Alg. 3) for every unshielded triple ``x_{i,t-tau} *- x_{k,t} - x_{j,t}``
   (``x_{i,t-tau}`` and ``x_{j,t}`` not adjacent), with one of three rules (``collider_rule``):

   * ``"standard"``: orient ``x_{i,t-tau} -> x_{k,t} <- x_{j,t}`` when ``x_{k,t}`` is not in the
     separating set found in phase 2 (links removed in phase 1 have lagged separating sets, which
     never contain ``x_{k,t}``). Depends on which separating set the skeleton search met first.
   * ``"conservative"`` (Ramsey, Zhang & Spirtes 2006, "Adjacency-faithfulness and conservative
     causal inference", UAI; as adapted by Runge 2020): re-test the pair given every subset ``S`` of
     the contemporaneous adjacencies of ``x_{j,t}`` (and, at lag 0, of ``x_{i,t}``) — with the same
     MCI conditions as phase 2, and of any size (``max_conds_dim`` bounds phases 1-2 only) — and
     collect every ``S`` with p-value > alpha. ``x_{k,t}`` in none of
     them: collider; in all: non-collider; otherwise the triple is *ambiguous* and left alone.
   * ``"majority"`` (Colombo & Maathuis 2014, "Order-independent constraint-based causal structure
     learning", JMLR; Runge 2020): the same separating sets; ``x_{k,t}`` in fewer than half of them:
     collider; in more than half: non-collider; exactly half: ambiguous.

   When the re-test finds no separating set (the pair was separated in phase 2 by a set that is no
   longer among the adjacencies, which faithfulness rules out), the triple is ambiguous under both
   rules, as in Runge's reference implementation (tigramite's ``run_pcmciplus``). Colliders are
   collected first so the result does not depend on the order of the triples; an edge that gets
   arrowheads at both ends is a conflict, left undirected (tigramite's ``x-x``).
4. **Orientation propagation** (Alg. 4): Meek's rules R1–R3 on the contemporaneous edges, with lagged
   links always pointing forward in time. R1 and R3 do not fire through an ambiguous triple
   (conservative and majority rules); ambiguous triples are listed in ``info["ambiguous_triples"]``
   as ``(i, tau, k, j)``. Each rule collects its orientations on the current graph before applying
   them (order-independent, as tigramite's ``conflict_resolution=True``); two opposite orientations of
   one edge are a conflict and leave it undirected. Conflict edges of phases 3 and 4 are never
   oriented, are listed in ``info["conflict_edges"]`` as ``(a, b)`` with ``a < b`` and counted in
   ``info["conflicts"]``.

P-values follow tigramite's ``run_pcmciplus`` ``p_matrix`` (they quantify adjacencies, not orientations):
a lagged link kept by PC1 reports the largest p-value of its phase-2 (MCI) tests only, a lagged link
removed by PC1 the largest of its PC1 tests; a lag-0 pair the largest over its tests in both directions
(for a removed pair, that of the direction that removed it). Recorded tigramite outputs are matched to
1e-9 (tests/discovery/timeseries/test_pcmci_plus_tigramite_s24.py and ``_s25.py``, the latter with
``max_conds_dim``). Intentional differences: ``scores``
hold the smallest |statistic| of the same tests (tigramite's ``val_matrix`` holds the statistic of the
test with the largest p-value); only tigramite's ``conflict_resolution=True`` and
``reset_lagged_links=False`` are implemented, without ``max_conds_py``/``max_conds_px``; R3 skips
an ambiguous triple ``x_{k1,t} - x_{a,t} - x_{k2,t}`` (the non-collider it relies on), where tigramite
5.2 checks the shielded triples ``(a, k1, b)``, ``(a, k2, b)``, which are never ambiguous, so it orients there.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.discovery.ci_tests import CITest, make_ci_test
from latentscm.discovery.timeseries._series import check_series, resolve_names
from latentscm.discovery.timeseries.pcmci import Link, _check_link_assumptions, _Embedded, _pc1
from latentscm.discovery.timeseries.result import TemporalGraph

__all__ = ["COLLIDER_RULES", "LINK_MARKS", "pcmci_plus"]

#: The collider orientation rules of phase 3 (see the module docstring).
COLLIDER_RULES = ("standard", "conservative", "majority")

#: Link-assumption marks of ``x_{i,t-tau} ? x_{j,t}`` (tigramite's): middle ``-`` forces the link, ``?`` allows it;
#: ``-->`` / ``<--`` fix the orientation, ``o-o`` / ``o?o`` leave it to the data (lag 0 only, as ``<--``, ``<?-``).
LINK_MARKS = ("-->", "-?>", "<--", "<?-", "o-o", "o?o")
_MIRROR = {"-->": "<--", "<--": "-->", "-?>": "<?-", "<?-": "-?>", "o-o": "o-o", "o?o": "o?o"}


def _link_marks(link_assumptions: Any, d: int, tau_min: int, tau_max: int, owner: str) -> dict[int, dict[Link, str]]:
    """Marks ``{j: {(i, tau): mark}}`` (tau >= 0) of every allowed link from pcmci's list form
    ``{j: [(i, -tau), ...]}`` (lagged ``-?>``, lag-0 ``o?o``) or tigramite's ``{j: {(i, -tau): mark}}``;
    targets absent from the mapping keep every link ``tau_min <= tau <= tau_max`` (lagged ``-?>``, lag-0 ``o?o``).
    Variables, targets and lags are validated by pcmci's rules; lag-0 marks must mirror each other."""
    given = link_assumptions if isinstance(link_assumptions, dict) else None
    if given is not None and any(isinstance(links, dict) for links in given.values()):
        if not all(isinstance(links, dict) for links in given.values()):
            raise ValueError(f"The 'link_assumptions' argument of {owner} mixes lists and mark dicts; give "
                             f"{{j: {{(i, -tau): mark}}}} for every target, or {{j: [(i, -tau), ...]}}.")
        listed = {j: list(links) for j, links in given.items()}
    else:
        listed = link_assumptions
    for j, links in (listed.items() if isinstance(listed, dict) else ()):
        for link in (links if isinstance(links, (list, tuple, set)) else ()):
            if not (isinstance(link, (tuple, list, np.ndarray)) and len(link) == 2 and all(
                    isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in link)):
                raise ValueError(f"The 'link_assumptions' argument of {owner} has entry {link!r} for target {j!r}; "
                                 f"give (i, -tau) pairs of integers.")
    candidates = _check_link_assumptions(listed, d, tau_min, tau_max, owner)  # pcmci's validation
    explicit = set() if given is None else {int(j) for j in given}
    marks: dict[int, dict[Link, str]] = {}
    for j in range(d):
        marks[j] = {}
        for i, tau in candidates[j]:
            if tau == 0 and i == j:
                if j in explicit:
                    raise ValueError(f"The 'link_assumptions' argument of {owner} has link ({i}, 0) -> {j}: a "
                                     f"variable is no contemporaneous cause of itself.")
                continue
            mark = "o?o" if tau == 0 else "-?>"
            if j in explicit and isinstance(given[j], dict):
                mark = next(m for (k, lag), m in given[j].items() if (int(k), -int(lag)) == (i, tau))
                allowed = LINK_MARKS if tau == 0 else ("-->", "-?>")
                if mark not in allowed:
                    raise ValueError(f"The 'link_assumptions' argument of {owner} has mark {mark!r} for link "
                                     f"({i}, {-tau}) -> {j}; allowed at lag {tau}: {', '.join(allowed)}.")
            marks[j][(i, tau)] = mark
    for i, j in itertools.combinations(range(d), 2):
        forward, backward = marks[j].get((i, 0)), marks[i].get((j, 0))
        if forward is None and backward is None:
            continue
        if forward is None or backward is None:  # listed for one target only: mirrored, as tigramite
            if (i if forward is None else j) not in explicit:  # a listed target's omission beats a default
                marks[i].pop((j, 0), None)
                marks[j].pop((i, 0), None)
                continue
            if forward is None:
                marks[j][(i, 0)] = _MIRROR[backward]  # type: ignore[index]
            else:
                marks[i][(j, 0)] = _MIRROR[forward]
        elif i in explicit and j in explicit and _MIRROR[forward] != backward:
            raise ValueError(f"The 'link_assumptions' argument of {owner} is inconsistent at lag 0: ({i}, 0) -> {j} "
                             f"is {forward!r} but ({j}, 0) -> {i} is {backward!r} (expected {_MIRROR[forward]!r}).")
        elif j in explicit and i not in explicit:
            marks[i][(j, 0)] = _MIRROR[forward]
        elif i in explicit and j not in explicit:
            marks[j][(i, 0)] = _MIRROR[backward]
    _check_acyclic(marks, owner)
    return marks


def _check_acyclic(marks: dict[int, dict[Link, str]], owner: str) -> None:
    """Refuse lag-0 orientations fixed by ``-->`` / ``-?>`` that form a directed cycle."""
    children = {i: [j for j in marks if marks[j].get((i, 0), "")[2:] == ">"] for i in marks}
    state = dict.fromkeys(marks, 0)  # 0 new, 1 on the path, 2 done

    def visit(node: int, path: list[int]) -> None:
        state[node] = 1
        for child in children[node]:
            if state[child] == 1:
                cycle = " -> ".join(str(k) for k in path[path.index(child):] + [node, child])
                raise ValueError(f"The 'link_assumptions' argument of {owner} fixes a contemporaneous cycle: {cycle}.")
            if state[child] == 0:
                visit(child, path + [node])
        state[node] = 2

    for start in marks:
        if state[start] == 0:
            visit(start, [])


def pcmci_plus(data: Any, *, tau_max: int = 1, ci_test: str | CITest = "parcorr", alpha: float = 0.01,
               max_conds_dim: int | None = None, max_combinations: int = 1, collider_rule: str = "majority",
               tau_min: int = 0, link_assumptions: Any = None,
               var_names: Sequence[str] | None = None, ci_options: dict[str, Any] | None = None) -> TemporalGraph:
    """PCMCI+ on a multivariate series (lagged and contemporaneous links).

    Parameters
    ----------
    data: series (T, d).
    tau_max: largest lag.
    ci_test: a registered CI test name or instance.
    alpha: the one significance level of all phases, in (0, 1).
    max_conds_dim: largest conditioning set of the skeleton search (PC1 levels and the contemporaneous
        subsets of phase 2); ``None``: no limit. The re-tests of the conservative and majority collider
        rules try every subset of the adjacencies whatever its size, as tigramite (Runge's reference).
    max_combinations: conditioning sets tried per candidate and level in the lagged phase (PC1).
    collider_rule: ``"majority"`` (default, as tigramite's ``run_pcmciplus``), ``"conservative"`` or
        ``"standard"`` (phase 3; see the module docstring). The first two re-test each unshielded pair given every
        subset of the adjacencies, so the orientations do not depend on the order of the variables.
    tau_min: smallest lag, ``0 <= tau_min <= tau_max``; ``tau_min >= 1`` drops the contemporaneous links
        (lag 0 is neither tested nor oriented) and lags below it, as tigramite.
    link_assumptions: pcmci's list form ``{j: [(i, -tau), ...]}`` (the only candidate causes of ``x_j``; a lag-0
        pair listed by one target is mirrored at the other; one that a listed target omits is forbidden unless the
        other end is a listed target that lists it) or tigramite's ``{j: {(i, -tau): mark}}`` with
        marks of :data:`LINK_MARKS`: ``-->`` forced link (lag 0: orientation fixed too), ``-?>`` allowed link
        oriented ``i -> j`` if it is found, ``o-o`` forced lag-0 adjacency, ``o?o`` allowed lag-0 adjacency,
        ``<--`` / ``<?-`` the mirror images at lag 0 (lag-0 marks of ``i`` and ``j`` must mirror each other).
        Links not listed for a listed target are forbidden; absent targets keep every link. Forced links are
        never tested nor removed (p-value 0, score NaN; they rank first as conditions); fixed orientations
        override colliders and are never changed by the orientation rules. Variables, targets and lags are
        validated as in ``pcmci`` (integers only); fixed lag-0 orientations that form a cycle are refused.
    var_names: names of the d columns.
    ci_options: constructor options of a CI test given by name.

    Returns
    -------
    TemporalGraph whose ``graph`` is the oriented window graph: ``[0, i, j] = 1`` alone is ``i -> j``
    at lag 0, both ``[0, i, j]`` and ``[0, j, i]`` an undirected edge; ``pvalues`` (tau_max + 1, d, d)
    are the largest p-value of each link's phase-2 tests (PC1 tests for lagged links PC1 removed),
    as tigramite's ``p_matrix`` (see the module docstring).
    """
    owner = "pcmci_plus"
    start = time.perf_counter()
    tau_max = int(check_number(tau_max, "tau_max", owner, low=1, integer=True))
    tau_min = int(check_number(tau_min, "tau_min", owner, low=0, integer=True))
    if tau_min > tau_max:
        raise ValueError(f"The 'tau_min' argument of {owner} is {tau_min}, larger than tau_max={tau_max}.")
    series = check_series(data, owner, tau_max=tau_max, span=2)
    alpha = check_number(alpha, "alpha", owner, low=0, high=1, low_inclusive=False, high_inclusive=False)
    max_combinations = int(check_number(max_combinations, "max_combinations", owner, low=1, integer=True))
    check_choice(collider_rule, "collider_rule", owner, COLLIDER_RULES)
    if max_conds_dim is not None:
        max_conds_dim = int(check_number(max_conds_dim, "max_conds_dim", owner, low=0, integer=True))
    test = make_ci_test(ci_test, owner=owner, **(ci_options or {}))
    embedded = _Embedded(series, tau_max, test, owner)
    d = series.shape[1]
    marks = _link_marks(link_assumptions, d, tau_min, tau_max, owner)
    forced = {(i, tau, j) for j in range(d) for (i, tau), mark in marks[j].items() if mark[1] == "-"}
    fixed = {(i, j) for j in range(d) for (i, tau), mark in marks[j].items() if tau == 0 and mark[2] == ">"}
    lagged_candidates = {j: sorted((link for link in marks[j] if link[1] > 0), key=lambda link: (link[1], link[0]))
                         for j in range(d)}
    pc1_stats: dict[tuple[int, int, int], list[float]] = {}
    lagged = _pc1(embedded, pc_alpha=alpha, max_conds_dim=max_conds_dim, max_combinations=max_combinations,
                  stats_out=pc1_stats, candidates=lagged_candidates, forced=forced)
    base = {j: list(links) for j, links in lagged.items()}  # B(x_j): fixed conditioning sets of phase 2

    # ---- phase 2: contemporaneous skeleton + MCI on the lagged links
    links = {j: set(lagged[j]) for j in range(d)}
    adjacent = np.zeros((d, d), dtype=bool)
    for j in range(d):
        for i, tau in marks[j]:
            adjacent[i, j] = adjacent[i, j] or tau == 0
    sepsets: dict[Any, frozenset[int]] = {}
    # [max p-value, min |statistic|] of the phase-2 (MCI) tests of each ordered link (i, tau, j)
    stats: dict[tuple[int, int, int], list[float]] = {}
    for i, j in zip(*np.nonzero(adjacent)):
        stats[(int(i), 0, int(j))] = [0.0, math.inf]
    level = 0
    while max_conds_dim is None or level <= max_conds_dim:
        frozen = adjacent.copy()
        neighbours = {j: sorted(np.flatnonzero(frozen[:, j]), key=lambda k, j=j: -stats[(k, 0, j)][1])
                      for j in range(d)}
        candidates = [(i, tau, j) for j in range(d) for (i, tau) in links[j]]
        candidates += [(i, 0, j) for i in range(d) for j in range(d) if frozen[i, j]]
        candidates = [c for c in candidates if len([k for k in neighbours[c[2]] if k != c[0] or c[1]]) >= level]
        if not candidates:
            break
        # Every combination of one ordered link before the reverse direction of a lag-0 pair (i < j first),
        # as Runge's reference implementation: the reverse direction is tested only if the pair survives.
        for stage in (True, False):
            _skeleton_stage([c for c in candidates if (c[1] > 0 or c[0] < c[2]) == stage], level, alpha,
                            embedded, base, links, adjacent, neighbours, stats, sepsets, forced)
        level += 1

    # ---- phase 3: colliders, collected first so the result is order-independent
    def lag_adjacent(i: int, tau: int, j: int) -> bool:
        return bool(adjacent[i, j]) if tau == 0 else (i, tau) in links[j]

    def pair_key(i: int, tau: int, j: int) -> tuple[int, int, int]:
        return (min(i, j), 0, max(i, j)) if tau == 0 else (i, tau, j)

    triples: list[tuple[int, int, int, int]] = []  # (i, tau, k, j): x_{i,t-tau} *- x_{k,t} - x_{j,t}
    for k in range(d):
        causes: list[Link] = [(int(i), 0) for i in np.flatnonzero(adjacent[:, k])] + sorted(links[k])
        for j in np.flatnonzero(adjacent[:, k]):
            for i, tau in causes:
                if not ((tau == 0 and i == j) or lag_adjacent(i, tau, int(j))):
                    triples.append((i, tau, k, int(j)))
    all_sepsets = (_separating_sets(embedded, sorted({pair_key(i, tau, j) for i, tau, _, j in triples}),
                                    adjacent, base, alpha)
                   if collider_rule != "standard" else {})
    arrowheads: set[tuple[int, int]] = set()  # (a, b): an arrowhead at b on the lag-0 edge a - b
    ambiguous: set[tuple[int, int, int, int]] = set()
    for i, tau, k, j in triples:
        key = pair_key(i, tau, j)
        original = sepsets.get(key, frozenset())
        if collider_rule == "standard":
            collider = k not in original
        else:
            found = all_sepsets.get(key, [])
            share = sum(k in subset for subset in found) / max(len(found), 1)
            if not found:  # separated only by a set that is no longer among the adjacencies: unfaithful
                collider, decided = False, False
            elif collider_rule == "conservative":
                collider, decided = share == 0.0, share in (0.0, 1.0)
            else:
                collider, decided = share < 0.5, share != 0.5
            if not decided:
                ambiguous.add((i, tau, k, j))
                if tau == 0:
                    ambiguous.add((j, 0, k, i))
                continue
        if collider:
            arrowheads.add((j, k))
            if tau == 0:
                arrowheads.add((i, k))
    contemporaneous = adjacent.astype(np.int64)
    conflicted: set[tuple[int, int]] = set()  # (a, b), a < b: lag-0 edges with conflicting orientations
    for a, b in fixed:  # orientations fixed by link_assumptions override the colliders
        if adjacent[a, b]:
            contemporaneous[b, a] = 0
    for a, b in arrowheads:
        if (a, b) in fixed or (b, a) in fixed:
            continue
        if (b, a) in arrowheads:
            conflicted.add((min(a, b), max(a, b)))
            continue
        contemporaneous[b, a] = 0  # a -> b

    # ---- phase 4: Meek's rules R1-R3 on the remaining undirected lag-0 edges
    contemporaneous = _propagate_orientations(contemporaneous, links, ambiguous, conflicted)

    graph = np.zeros((tau_max + 1, d, d), dtype=np.int64)
    graph[0] = contemporaneous
    scores = np.zeros((tau_max + 1, d, d))
    pvalues = np.ones((tau_max + 1, d, d))
    for j in range(d):
        for i, tau in links[j]:
            graph[tau, i, j] = 1
    # a lagged link kept by PC1 reports its phase-2 (MCI) tests only, one removed by PC1 its PC1 tests
    for (i, tau, j), (pmax, smin) in itertools.chain(pc1_stats.items(), stats.items()):
        pvalues[tau, i, j] = pmax
        scores[tau, i, j] = 0.0 if math.isinf(smin) else smin
    # lag-0: the larger of the two directions; for a removed pair this is the removing direction's value,
    # since the other direction's tests all had p <= alpha (tigramite reports the removing direction)
    pvalues[0] = np.maximum(pvalues[0], pvalues[0].T)
    scores[0] = np.minimum(scores[0], scores[0].T)
    for i, tau, j in forced:  # never tested (tigramite reports p = 0)
        pvalues[tau, i, j], scores[tau, i, j] = 0.0, np.nan
    np.fill_diagonal(pvalues[0], np.nan)
    info = {"tau_max": tau_max, "tau_min": tau_min, "link_assumptions": marks, "ci_test": repr(test),
            "collider_rule": collider_rule, "conflicts": len(conflicted),
            "conflict_edges": sorted(conflicted),
            "ambiguous_triples": sorted(ambiguous), "all_separating_sets": dict(all_sepsets),
            "separating_sets": dict(sepsets), "n_tests": embedded.bound.n_computed,
            "n_samples": embedded.bound.n_samples, "time_s": time.perf_counter() - start}
    return TemporalGraph(resolve_names(var_names, d, owner), scores, pvalues, "pcmci+", alpha=alpha,
                         graph=graph, info=info)


def _skeleton_stage(candidates: list[tuple[int, int, int]], level: int, alpha: float, embedded: _Embedded,
                    base: dict[int, list[Link]], links: dict[int, set[Link]], adjacent: np.ndarray,
                    neighbours: dict[int, list[int]], stats: dict[tuple[int, int, int], list[float]],
                    sepsets: dict[Any, frozenset[int]], forced: set[tuple[int, int, int]]) -> None:
    """Phase 2 at one level for ``candidates`` (i, tau, j): test each link given the subsets of size
    ``level`` of ``neighbours[j]`` (plus the MCI conditions) until its first p-value > ``alpha``, one
    batch per combination index; links in ``forced`` are skipped (never removed); removals update ``links``,
    ``adjacent`` and ``sepsets``, every test ``stats`` ([max p-value, min |statistic|] per ordered link), in place."""
    for combination in itertools.count():
        keys, queries, subsets = [], [], []
        for i, tau, j in candidates:
            if (tau == 0 and not adjacent[i, j]) or (tau > 0 and (i, tau) not in links[j]) or (i, tau, j) in forced:
                continue
            pool = [k for k in neighbours[j] if not (tau == 0 and k == i)]
            subset = next(itertools.islice(itertools.combinations(pool, level), combination, None), None)
            if subset is None:
                continue
            conditions = [(k, 0) for k in subset] + [link for link in base[j] if link != (i, tau)]
            conditions += [(k, lag + tau) for k, lag in base[i]]
            keys.append((i, tau, j))
            queries.append(embedded.query((i, tau), j, conditions))
            subsets.append(frozenset(int(k) for k in subset))
        if not queries:
            return
        for key, subset, result in zip(keys, subsets, embedded.test_many(queries)):
            record = stats.setdefault(key, [0.0, math.inf])
            record[0] = max(record[0], result.p_value)
            record[1] = min(record[1], abs(result.statistic))
            if result.p_value > alpha:
                i, tau, j = key
                if tau == 0 and adjacent[i, j]:
                    adjacent[i, j] = adjacent[j, i] = False
                    sepsets[(min(i, j), 0, max(i, j))] = subset
                elif tau > 0 and (i, tau) in links[j]:
                    links[j].discard((i, tau))
                    sepsets[(i, tau, j)] = subset


def _propagate_orientations(contemporaneous: np.ndarray, links: dict[int, set[Link]],
                            ambiguous: set[tuple[int, int, int, int]], conflicted: set[tuple[int, int]]
                            ) -> np.ndarray:
    """Phase 4: Meek's rules R1, R2 and R3 on the undirected lag-0 edges of ``contemporaneous`` (d, d).

    Each rule's orientations are collected on the graph as it stands and then applied together, so the
    result does not depend on the order of the variables. Two opposite proposals for one edge are a
    conflict: the edge is left undirected and added to ``conflicted`` (updated in place), whose edges
    no rule orients nor uses as undirected. Lagged links ``links[j]`` (variable, lag) point into x_j.
    """
    graph = contemporaneous.copy()
    d = graph.shape[0]

    def undirected(a: int, b: int) -> bool:
        return bool(graph[a, b] and graph[b, a]) and (min(a, b), max(a, b)) not in conflicted

    def directed(a: int, b: int) -> bool:
        return bool(graph[a, b] and not graph[b, a])

    def any_adjacent(a: int, b: int) -> bool:
        return bool(graph[a, b] or graph[b, a])

    def rule1(a: int, b: int) -> bool:  # i *-> a - b, i and b not adjacent: a -> b
        return any((i, tau) not in links[b] and (i, tau, a, b) not in ambiguous for i, tau in links[a]) or any(
            directed(i, a) and i != b and not any_adjacent(i, b) and (i, 0, a, b) not in ambiguous
            for i in range(d))

    def rule2(a: int, b: int) -> bool:  # a -> k -> b and a - b: a -> b
        return any(directed(a, k) and directed(k, b) for k in range(d))

    def rule3(a: int, b: int) -> bool:  # a - k1 -> b, a - k2 -> b, k1 and k2 not adjacent, a - b: a -> b
        return any(undirected(a, k1) and undirected(a, k2) and directed(k1, b) and directed(k2, b)
                   and not any_adjacent(k1, k2) and (k1, 0, a, k2) not in ambiguous
                   for k1, k2 in itertools.combinations(range(d), 2))

    changed = True
    while changed:
        changed = False
        for rule in (rule1, rule2, rule3):
            proposals = {(a, b) for a, b in itertools.permutations(range(d), 2) if undirected(a, b) and rule(a, b)}
            for a, b in proposals:
                if (b, a) in proposals:
                    conflicted.add((min(a, b), max(a, b)))
                else:
                    graph[b, a] = 0  # a -> b
            changed = changed or bool(proposals)
    return graph


def _separating_sets(embedded: _Embedded, pairs: Sequence[tuple[int, int, int]], adjacent: np.ndarray,
                     base: dict[int, list[Link]], alpha: float) -> dict[tuple[int, int, int], list[frozenset[int]]]:
    """Every separating set of each non-adjacent pair ``(i, tau, j)`` among *all* subsets (any size:
    ``max_conds_dim`` bounds the skeleton search only, as in tigramite) of the
    contemporaneous adjacencies of ``x_{j,t}`` (and of ``x_{i,t}`` at lag 0), tested with the MCI
    conditions of phase 2 (one batch for all pairs)."""
    keys, queries = [], []
    for i, tau, j in pairs:
        pools = [[int(k) for k in np.flatnonzero(adjacent[:, j]) if not (tau == 0 and k == i)]]
        if tau == 0:
            pools.append([int(k) for k in np.flatnonzero(adjacent[:, i]) if k != j])
        subsets: set[frozenset[int]] = set()
        for pool in pools:
            for size in range(len(pool) + 1):
                subsets.update(frozenset(c) for c in itertools.combinations(pool, size))
        for subset in sorted(subsets, key=lambda s: (len(s), sorted(s))):
            conditions = [(k, 0) for k in sorted(subset)] + [link for link in base[j] if link != (i, tau)]
            conditions += [(k, lag + tau) for k, lag in base[i]]
            keys.append(((i, tau, j), subset))
            queries.append(embedded.query((i, tau), j, conditions))
    found: dict[tuple[int, int, int], list[frozenset[int]]] = {pair: [] for pair in pairs}
    for (pair, subset), result in zip(keys, embedded.test_many(queries) if queries else []):
        if result.p_value > alpha:
            found[pair].append(subset)
    return found
