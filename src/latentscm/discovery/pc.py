"""The PC algorithm, order-independent ("PC-stable") form, returning a CPDAG.

Spirtes, Glymour & Scheines (2000), *Causation, Prediction, and Search*; Colombo & Maathuis (2014),
"Order-independent constraint-based causal structure learning", JMLR 15 — adjacency sets are
frozen at the start of each level and edges removed only at its end, so the skeleton does not
depend on the variable order.

Every test of one level is known before any of them runs, so the whole level goes to the CI test
as one batch (:meth:`~latentscm.discovery.ci_tests.base.BoundCITest.test_many`): kernel tests share
conditioning-set factorisations across the batch and Fisher-z inverts all correlation submatrices
of one size at once. For each removed edge the union of all separating sets found at its level is
kept; an unshielded triple ``i - j - k`` is a collider when ``j`` lies in none of them (this is
also what causal-learn's ``pc`` does with its default ``uc_rule=0, uc_priority=2``). That rule's
orientations can depend on the variable order on finite data; ``collider_rule="conservative"``,
``"majority"`` or ``"maxp"`` re-test the unshielded pairs and do not
(:mod:`latentscm.discovery.collider_rules`).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_choice, check_number
from latentscm.discovery.ci_tests.base import BoundCITest, CIQuery, CITest, make_ci_test
from latentscm.discovery.ci_tests.discrete import encode_table
from latentscm.discovery.collider_rules import COLLIDER_RULES, orient_by_rule, separation_family, unshielded_triples
from latentscm.discovery.knowledge import BackgroundKnowledge, as_knowledge, orient_by_knowledge
from latentscm.discovery.orientation import apply_meek_rules, orient_colliders, orient_exogenous
from latentscm.discovery.result import DiscoveredGraph, _names
from latentscm.exceptions import TooFewSamplesError

__all__ = ["Skeleton", "as_data_matrix", "collider_tests", "pc", "pc_skeleton", "plan_p_values",
           "skeleton_with_knowledge"]


@dataclass
class Skeleton:
    """Undirected skeleton (int array (d, d), symmetric) with separating sets and test counts.

    ``stopped`` holds the reason when the search ended early (time budget), else None.
    """

    adjacency: np.ndarray
    separating_sets: dict[tuple[int, int], frozenset[int]] = field(default_factory=dict)
    n_tests: int = 0
    depth_reached: int = -1
    stopped: str | None = None


#: Queries handed to the CI test at once (the time budget is checked between chunks).
_CHUNK = 20_000


def _level_plan(adjacency: np.ndarray, depth: int) -> list[tuple[int, int, tuple[int, ...]]]:
    """Every (x, y, conditioning set) of one PC-stable level, x < y, each set once.

    The sets are the ``depth``-subsets of the frozen neighbours of x (without y) and of y (without
    x); an edge whose endpoints both have fewer than ``depth`` other neighbours has none, so it is
    not tested (an impossible conditioning set is never formed).
    """
    neighbours = [np.flatnonzero(row).tolist() for row in adjacency]
    plan: list[tuple[int, int, tuple[int, ...]]] = []
    for x, y in zip(*np.nonzero(np.triu(adjacency, 1))):
        x, y = int(x), int(y)
        from_x = [v for v in neighbours[x] if v != y]
        from_y = [v for v in neighbours[y] if v != x]
        if len(from_x) < depth and len(from_y) < depth:
            continue
        subsets = set(combinations(from_x, depth)) if len(from_x) >= depth else set()
        if len(from_y) >= depth:
            subsets.update(combinations(from_y, depth))
        plan.extend((x, y, subset) for subset in sorted(subsets))
    return plan


def pc_skeleton(bound: BoundCITest, *, alpha: float, max_depth: int | None = None,
                forbidden: Iterable[tuple[int, int]] = (), columns: Sequence[int] | None = None,
                time_budget: float | None = None, n_jobs: int | None = None,
                required: Iterable[tuple[int, int]] = ()) -> Skeleton:
    """PC-stable skeleton search over ``columns`` of a bound CI test (default: all columns).

    Parameters
    ----------
    bound: a CI test bound to the data matrix (n, d).
    alpha: significance level in (0, 1); an edge is removed when some test gives ``p > alpha``.
    max_depth: largest conditioning-set size (None: no limit).
    forbidden: pairs of positions (in ``columns``) that start non-adjacent.
    required: pairs of positions (in ``columns``) that stay adjacent: never tested (background knowledge
        requires an edge between them), though each is a neighbour in the other pairs' conditioning sets.
    time_budget: seconds after which the search stops between two chunks of tests (None: no limit).
        Removals found so far are kept, untested edges stay, a RuntimeWarning says where it stopped,
        and ``Skeleton.stopped`` holds the same message.
    n_jobs: workers for the tests of one level (None or 1: serial; -1: one per core). Tests with an
        indexed interface run in threads (their batched linear algebra releases the GIL); others in
        joblib worker processes, each getting a contiguous run of the level sorted by conditioning
        set (so a worker reuses its factorisations). Every test is a deterministic function of the
        data and removals happen at the end of the level (PC-stable), so the output is identical
        to ``n_jobs=1``.

    Tests with an indexed interface (Fisher-z) take each level as index arrays: no query objects, no
    memo, partial correlations from the correlation matrix only — what makes d = 100-200 practical.
    """
    started = time.perf_counter()
    alpha = check_number(alpha, "alpha", "pc_skeleton", low=0, high=1, low_inclusive=False, high_inclusive=False)
    if max_depth is not None:
        max_depth = int(check_number(max_depth, "max_depth", "pc_skeleton", low=0, integer=True))
    if time_budget is not None:
        time_budget = check_number(time_budget, "time_budget", "pc_skeleton", low=0, low_inclusive=False)
    workers = _check_n_jobs(n_jobs, "pc_skeleton")
    cols = list(range(bound.n_columns)) if columns is None else _check_positions(columns, bound.n_columns, "columns")
    if len(set(cols)) != len(cols):
        raise ValueError(f"The 'columns' parameter of pc_skeleton names a column twice. Got {cols}.")
    d = len(cols)
    adjacency = np.ones((d, d), dtype=np.int64) - np.eye(d, dtype=np.int64)
    separating: dict[tuple[int, int], set[int]] = {}
    for pair in forbidden:
        # numpy would wrap a negative position onto another edge without a word
        positions = _check_positions(pair, d, "forbidden")
        if len(positions) != 2 or positions[0] == positions[1]:
            raise ValueError(f"Each pair of the 'forbidden' parameter of pc_skeleton must be two different positions "
                             f"in 0..{d - 1}. Got {pair!r}.")
        i, j = positions
        adjacency[i, j] = adjacency[j, i] = 0
        separating.setdefault((min(i, j), max(i, j)), set())
    kept: set[tuple[int, int]] = set()
    for pair in required:
        positions = _check_positions(pair, d, "required")
        if len(positions) != 2 or positions[0] == positions[1]:
            raise ValueError(f"Each pair of the 'required' parameter of pc_skeleton must be two different positions "
                             f"in 0..{d - 1}. Got {pair!r}.")
        i, j = min(positions), max(positions)
        if not adjacency[i, j]:
            raise ValueError(f"The pair ({i}, {j}) is both 'forbidden' and 'required' in pc_skeleton.")
        kept.add((i, j))
    n_tests = 0
    depth = 0
    stopped: str | None = None
    column_of = np.asarray(cols, dtype=np.intp)
    position = {c: k for k, c in enumerate(cols)}
    indexed = bound.has_indexed
    while d and adjacency.sum(axis=1).max() - 1 >= depth and stopped is None:
        if max_depth is not None and depth > max_depth:
            break
        plan = _level_plan(adjacency, depth)
        if kept:
            plan = [entry for entry in plan if (entry[0], entry[1]) not in kept]
        removed: set[tuple[int, int]] = set()
        for begin in range(0, len(plan), _CHUNK):
            chunk = plan[begin:begin + _CHUNK]
            if indexed:
                index = column_of[np.array([(x, y, *z) for x, y, z in chunk], dtype=np.intp).reshape(len(chunk), -1)]
                p_values = _indexed_p_values(bound, index, workers)
                separated = [(x, y, z) for (x, y, z), p in zip(chunk, p_values) if p > alpha]
            else:
                queries = [CIQuery.make(cols[x], cols[y], [cols[s] for s in z]) for x, y, z in chunk]
                p_values = _query_p_values(bound, queries, workers)
                separated = [(x, y, [position[c] for c in q.z])
                             for (x, y, _), q, p in zip(chunk, queries, p_values) if p > alpha]
            n_tests += len(chunk)
            for x, y, z in separated:
                removed.add((x, y))
                separating.setdefault((x, y), set()).update(z)
            elapsed = time.perf_counter() - started
            if time_budget is not None and elapsed > time_budget and begin + _CHUNK < len(plan):
                stopped = (f"PC stopped after {elapsed:.1f} s (time budget {time_budget:g} s) during depth {depth}, "
                           f"having run {begin + len(chunk)} of its {len(plan)} tests ({n_tests} in all); edges "
                           "not yet tested there are kept, so the skeleton may have extra edges. Raise time_budget "
                           "or lower max_depth.")
                break
        for x, y in removed:
            adjacency[x, y] = adjacency[y, x] = 0
        if stopped is None and time_budget is not None and time.perf_counter() - started > time_budget \
                and adjacency.sum(axis=1).max() - 1 >= depth + 1 and (max_depth is None or depth + 1 <= max_depth):
            stopped = (f"PC stopped after {time.perf_counter() - started:.1f} s (time budget {time_budget:g} s) at "
                       f"the end of depth {depth} ({n_tests} tests); deeper conditioning sets were not tried, so "
                       "the skeleton may have extra edges. Raise time_budget or lower max_depth.")
        depth += 1
    if stopped is not None:
        warnings.warn(stopped, RuntimeWarning, stacklevel=3)
    return Skeleton(adjacency, {k: frozenset(v) for k, v in separating.items()}, n_tests, depth - 1, stopped)


def _check_positions(values: Iterable[int], size: int, name: str) -> list[int]:
    """``values`` as a list of ints in ``0 .. size - 1``; ValueError naming the parameter of pc_skeleton."""
    try:
        items = list(values)
    except TypeError:
        raise ValueError(f"The {name!r} parameter of pc_skeleton needs sequences of positions. "
                         f"Got {values!r}.") from None
    for value in items:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < size:
            raise ValueError(f"The {name!r} parameter of pc_skeleton takes positions (ints) in 0..{size - 1}. Got "
                             f"{value!r} in {values!r}.")
    return [int(value) for value in items]


def _check_n_jobs(n_jobs: int | None, owner: str) -> int:
    """Number of workers for ``n_jobs`` (None or 1: 1; -1: every core)."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"The 'n_jobs' parameter of {owner} must be a positive integer, -1 (all cores) or "
                         f"None. Got {n_jobs!r}.")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


def _parts(count: int, workers: int) -> list[tuple[int, int]]:
    """``workers`` contiguous, near-equal (start, stop) ranges covering ``range(count)``."""
    bounds = np.linspace(0, count, min(workers, count) + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _indexed_p_values(bound: BoundCITest, index: np.ndarray, workers: int) -> np.ndarray:
    if workers == 1 or index.shape[0] < 2 * workers:
        return bound.p_values_indexed(index)
    from joblib import Parallel, delayed

    parts = _parts(index.shape[0], workers)
    first = bound.p_values_indexed(index[parts[0][0]:parts[0][1]])  # prepares the shared state once
    rest = Parallel(n_jobs=workers, prefer="threads")(
        delayed(bound.p_values_indexed)(index[a:b]) for a, b in parts[1:])
    return np.concatenate([first, *rest])


def _worker_p_values(test: CITest, data: np.ndarray, queries: list[CIQuery]) -> list[float]:
    return [r.p_value for r in test.bind(data).test_many(queries)]


def _query_p_values(bound: BoundCITest, queries: list[CIQuery], workers: int) -> list[float]:
    todo = [k for k, q in enumerate(queries) if bound.cached(q) is None]
    if workers == 1 or len(todo) < 2 * workers:
        return [r.p_value for r in bound.test_many(queries)]
    from joblib import Parallel, delayed

    # Sorted by conditioning set, so each worker gets whole groups sharing a factorisation.
    todo.sort(key=lambda k: (queries[k].z, queries[k].x, queries[k].y))
    parts = [[queries[k] for k in todo[a:b]] for a, b in _parts(len(todo), workers)]
    answers = Parallel(n_jobs=workers)(delayed(_worker_p_values)(bound.test, bound.data, part) for part in parts)
    computed = {q: p for part, ps in zip(parts, answers) for q, p in zip(part, ps)}
    return [computed[q] if q in computed else bound.cached(q).p_value for q in queries]  # type: ignore[union-attr]


def as_data_matrix(data: Any, node_names: Sequence[str] | None, owner: str, *,
                   categorical: bool = False) -> tuple[np.ndarray, tuple[str, ...]]:
    """Data as a float matrix (n, d) and node names, from an array, a mapping name -> (n,) array
    (what ``SCM.sample`` returns) or a pandas DataFrame.

    With ``categorical=True`` (tests such as ``chisq``), columns may hold text; every column is
    re-coded to integer categories ``0 .. L-1`` and checked (no NaN, no fractional floats, at least
    two categories), errors naming the column.
    """
    if categorical:
        return encode_table(data, node_names, owner)
    if isinstance(data, Mapping):
        names = tuple(str(k) for k in data)
        columns = [check_array(v, f"data[{k!r}]", owner, ndim=1, min_rows=4) for k, v in data.items()]
        lengths = {c.shape[0] for c in columns}
        if len(lengths) > 1:
            raise ValueError(f"The columns of 'data' given to {owner} have different lengths "
                             f"{sorted(lengths)}.")
        matrix = np.stack(columns, axis=1) if columns else np.zeros((0, 0))
        if node_names is not None:
            raise TypeError(f"{owner}: 'node_names' cannot be combined with a mapping of named columns.")
        return matrix, names
    if hasattr(data, "columns") and hasattr(data, "to_numpy") and node_names is None:
        node_names = [str(c) for c in data.columns]
        data = data.to_numpy()
    matrix = check_array(data, "data", owner, ndim=2, min_rows=4)
    return matrix, _names(node_names, matrix.shape[1], owner)


def too_few_rows(owner: str, n_rows: int, error: TooFewSamplesError) -> ValueError:
    """The error for a search whose CI test ran out of rows (``n_rows``), naming ``owner``'s data and the
    ``max_depth`` that would avoid it."""
    return ValueError(f"The 'data' argument of {owner} has {n_rows} rows, too few for a test conditioning on "
                      f"{error.conditions} variables, which needs {error.needed} ({error}). Give more rows, or limit "
                      f"the conditioning sets with max_depth={max(error.conditions - 1, 0)}.")


def pc(data: Any, *, ci_test: str | CITest = "fisherz", alpha: float = 0.05,
       node_names: Sequence[str] | None = None, max_depth: int | None = None,
       ci_options: Mapping[str, Any] | None = None, time_budget: float | None = None,
       n_jobs: int | None = None, collider_rule: str = "standard",
       knowledge: BackgroundKnowledge | Mapping[str, Any] | None = None) -> DiscoveredGraph:
    """PC-stable with Meek's rules: a CPDAG from observational data.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame.
    ci_test: a registered CI test name (``"fisherz"``, ``"kci"``, ``"rcit"``, ``"rcot"``, ``"qkci"``; for
        categorical data ``"chisq"``, ``"gsq"``, which accept text columns) or a
        :class:`~latentscm.discovery.ci_tests.base.CITest` instance.
    alpha: significance level in (0, 1).
    node_names: names of the d columns (default ``X0, X1, ...``).
    max_depth: largest conditioning-set size (None: no limit).
    ci_options: constructor options for a CI test given by name (e.g. ``{"width": "kta"}``).
    time_budget: seconds after which the skeleton search stops (between chunks of tests) with a
        RuntimeWarning saying where; the result is then marked ``info["stopped"]`` and may keep edges
        that a full search would remove. None: no limit.
    n_jobs: parallel workers for the tests of one level (see :func:`pc_skeleton`); the result is
        identical to the serial one. None: serial.
    collider_rule: how unshielded triples are oriented. ``"standard"``: from the separating sets the
        skeleton search found (causal-learn's default; orientations can depend on the variable order
        on finite data). ``"conservative"`` (CPC), ``"majority"`` (MPC) or ``"maxp"`` (PC-Max):
        re-test each unshielded pair given every subset of either endpoint's adjacencies (at most
        ``max_depth`` elements when given; the time budget bounds the skeleton search only) and
        decide from all of them, independently of the variable order; see
        :mod:`latentscm.discovery.collider_rules`. The first two leave *ambiguous* triples
        unoriented (``info["ambiguous_triples"]``) and conflicting edges undirected
        (``info["conflict_edges"]``).
    knowledge: :class:`~latentscm.discovery.knowledge.BackgroundKnowledge` (or its ``to_dict`` form) by node
        name: forbidden and required edges, tiers. A required pair is never tested; a pair forbidden both ways
        is tested as usual (for its separating set) and then made non-adjacent, and when the data never
        separated it no collider is read at it (``info["unseparated_forbidden_pairs"]``). The edges it
        constrains are oriented before the colliders (a collider against them is not oriented) and Meek's
        rules complete the rest (R4 included with the standard collider rule; the other rules'
        order-independent Meek pass has R1-R3). ``info["knowledge"]`` records it.

    Returns
    -------
    DiscoveredGraph with ``.adjacency`` (d, d): ``[i, j] = 1`` for ``i -> j``, both for ``i - j``.
    ``info`` holds the method, test, alpha, ``n_tests`` (skeleton tests plus ``n_collider_tests``,
    the re-tests of the non-standard collider rules), ``n_samples``, ``depth_reached`` and
    ``collider_rule``.
    """
    alpha = check_number(alpha, "alpha", "pc", low=0, high=1, low_inclusive=False, high_inclusive=False)
    if max_depth is not None:
        max_depth = int(check_number(max_depth, "max_depth", "pc", low=0, integer=True))
    collider_rule = check_choice(collider_rule, "collider_rule", "pc", COLLIDER_RULES)
    workers = _check_n_jobs(n_jobs, "pc")
    test = make_ci_test(ci_test, owner="pc", **dict(ci_options or {}))
    matrix, names = as_data_matrix(data, node_names, "pc", categorical=test.discrete)
    if hasattr(test, "for_names"):  # a test told its columns by name (cg_lrt's categorical ones)
        test = test.for_names(names)
    bound = test.bind(matrix)
    if time_budget is not None:
        time_budget = check_number(time_budget, "time_budget", "pc", low=0, low_inclusive=False)
    knowledge = as_knowledge(knowledge, "pc")
    forbidden, required = knowledge.matrices(names, "pc") if knowledge is not None else (None, None)
    tests = None
    try:
        skeleton, unseparated = skeleton_with_knowledge(bound, forbidden, required, alpha=alpha, max_depth=max_depth,
                                                        time_budget=time_budget, n_jobs=workers)
        if collider_rule != "standard":
            tests = collider_tests(bound, skeleton.adjacency, max_depth=max_depth, n_jobs=workers)
    except TooFewSamplesError as error:
        raise too_few_rows("pc", matrix.shape[0], error) from error
    info: dict[str, Any] = {"method": "pc", "ci_test": bound.test.name, "alpha": alpha, "n_tests": skeleton.n_tests,
                            "n_samples": int(matrix.shape[0]), "depth_reached": skeleton.depth_reached,
                            "collider_rule": collider_rule}
    known = None if knowledge is None else orient_by_knowledge(skeleton.adjacency, forbidden, required)
    if knowledge is not None:
        info["knowledge"] = knowledge.to_dict()
    if unseparated:
        info["unseparated_forbidden_pairs"] = [(names[i], names[k]) for i, k in unseparated]
    if tests is None:
        start = skeleton.adjacency if known is None else known
        graph = apply_meek_rules(orient_colliders(start, skeleton.separating_sets, unknown=unseparated),
                                 background=known is not None)
    else:
        graph, found = orient_by_rule(skeleton.adjacency, tests, collider_rule, alpha, oriented=known)
        n_retests = sum(len(v) for v in tests.values())
        info.update(found, n_collider_tests=n_retests, n_tests=skeleton.n_tests + n_retests)
    if skeleton.stopped is not None:
        info["stopped"] = skeleton.stopped
    return DiscoveredGraph(names, graph, skeleton.separating_sets, info)


def skeleton_with_knowledge(bound: BoundCITest, forbidden: np.ndarray | None, required: np.ndarray | None,
                            **options: Any) -> tuple[Skeleton, list[tuple[int, int]]]:
    """:func:`pc_skeleton` (``options``) under background knowledge (``forbidden`` / ``required``, (d, d) bool over
    the bound columns, ``[i, j]`` for i -> j; None: no knowledge).

    A required pair is never tested. A pair forbidden both ways is tested like any other, so that a separated
    one has a separating set and the other pairs' tests condition on the same neighbours as without knowledge,
    and is removed afterwards. Returns the skeleton and the pairs removed that way which the data never
    separated (sorted ``(i, k)``, i < k): they have no separating set, so no collider is to be read at them
    (:func:`~latentscm.discovery.orientation.orient_colliders`'s ``unknown``).
    """
    if forbidden is None or required is None:
        return pc_skeleton(bound, **options), []
    kept = [(int(i), int(j)) for i, j in np.argwhere(np.triu(required | required.T, 1))]
    skeleton = pc_skeleton(bound, required=kept, **options)
    both_ways = forbidden & forbidden.T
    adjacency = skeleton.adjacency.copy()
    unseparated = [(int(i), int(k)) for i, k in np.argwhere(np.triu(both_ways & (adjacency != 0), 1))]
    for i, k in unseparated:
        adjacency[i, k] = adjacency[k, i] = 0
    return Skeleton(adjacency, skeleton.separating_sets, skeleton.n_tests, skeleton.depth_reached,
                    skeleton.stopped), unseparated


def plan_p_values(bound: BoundCITest, plan: Sequence[tuple[int, int, tuple[int, ...]]], workers: int = 1
                  ) -> list[float]:
    """P-values of the queries ``(x, y, S)`` of ``plan`` (column positions of ``bound``'s data), in order: an
    indexed test (Fisher-z) gets one index array per set size, any other test one batch of queries;
    ``workers`` run them in parallel (see :func:`pc_skeleton`)."""
    if not plan:
        return []
    if not bound.has_indexed:
        return [float(p) for p in _query_p_values(bound, [CIQuery.make(x, y, s) for x, y, s in plan], workers)]
    out = [0.0] * len(plan)
    for size in sorted({len(s) for _, _, s in plan}):
        rows = [r for r, (_, _, s) in enumerate(plan) if len(s) == size]
        index = np.array([(plan[r][0], plan[r][1], *plan[r][2]) for r in rows], dtype=np.intp)
        for r, p in zip(rows, _indexed_p_values(bound, index.reshape(len(rows), -1), workers)):
            out[r] = float(p)
    return out


def collider_tests(bound: BoundCITest, adjacency: np.ndarray, *, max_depth: int | None = None,
                   n_jobs: int | None = None) -> dict[tuple[int, int], list[tuple[tuple[int, ...], float]]]:
    """P-values of every unshielded pair (i, k) of the skeleton ``adjacency`` (d, d) given each set of
    its :func:`~latentscm.discovery.collider_rules.separation_family` (at most ``max_depth``
    elements): ``{(i, k): [(S, p-value), ...]}``, for the non-standard collider rules. All tests go
    to the CI test as one batch per set size (Fisher-z: index arrays), in parallel with ``n_jobs``.
    Positions are columns of ``bound``'s data."""
    workers = _check_n_jobs(n_jobs, "collider_tests")
    pairs = sorted({(i, k) for i, _, k in unshielded_triples(adjacency)})
    family = separation_family(adjacency, pairs, max_depth)
    plan = [(i, k, subset) for (i, k), subsets in family.items() for subset in subsets]
    p_values = plan_p_values(bound, plan, workers)
    tests: dict[tuple[int, int], list[tuple[tuple[int, ...], float]]] = {pair: [] for pair in pairs}
    for (i, k, z), p in zip(plan, p_values):
        tests[(i, k)].append((z, p))
    return tests


def orient_with_exogenous(skeleton: Skeleton, exogenous: Iterable[int]) -> np.ndarray:
    """Orientation used by CD-NOD: edges at exogenous nodes first, then colliders, then Meek."""
    graph = orient_exogenous(skeleton.adjacency, exogenous)
    graph = orient_colliders(graph, skeleton.separating_sets)
    return apply_meek_rules(graph)
