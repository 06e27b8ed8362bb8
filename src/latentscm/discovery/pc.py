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
also what causal-learn's ``pc`` does with its default ``uc_rule=0, uc_priority=2``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_number
from latentscm.discovery.ci_tests.base import BoundCITest, CIQuery, CITest, make_ci_test
from latentscm.discovery.ci_tests.discrete import encode_table
from latentscm.discovery.orientation import apply_meek_rules, orient_colliders, orient_exogenous
from latentscm.discovery.result import DiscoveredGraph, _names

__all__ = ["Skeleton", "as_data_matrix", "pc", "pc_skeleton"]


@dataclass
class Skeleton:
    """Undirected skeleton (int array (d, d), symmetric) with separating sets and test counts."""

    adjacency: np.ndarray
    separating_sets: dict[tuple[int, int], frozenset[int]] = field(default_factory=dict)
    n_tests: int = 0
    depth_reached: int = -1


def pc_skeleton(bound: BoundCITest, *, alpha: float, max_depth: int | None = None,
                forbidden: Iterable[tuple[int, int]] = (), columns: Sequence[int] | None = None) -> Skeleton:
    """PC-stable skeleton search over ``columns`` of a bound CI test (default: all columns).

    Parameters
    ----------
    bound: a CI test bound to the data matrix (n, d).
    alpha: significance level; an edge is removed when some test gives ``p > alpha``.
    max_depth: largest conditioning-set size (None: no limit).
    forbidden: pairs of positions (in ``columns``) that start non-adjacent.
    """
    cols = list(range(bound.n_columns)) if columns is None else list(columns)
    d = len(cols)
    adjacency = np.ones((d, d), dtype=np.int64) - np.eye(d, dtype=np.int64)
    separating: dict[tuple[int, int], set[int]] = {}
    for i, j in forbidden:
        adjacency[i, j] = adjacency[j, i] = 0
        separating.setdefault((min(i, j), max(i, j)), set())
    n_tests = 0
    depth = 0
    while d and adjacency.sum(axis=1).max() - 1 >= depth:
        if max_depth is not None and depth > max_depth:
            break
        # Every (edge, conditioning set) pair of this level, from both endpoints' frozen neighbours.
        plan: list[tuple[int, int, CIQuery]] = []
        for x in range(d):
            neighbours = np.flatnonzero(adjacency[x])
            for y in neighbours:
                others = [int(v) for v in neighbours if v != y]
                for subset in combinations(others, depth):
                    query = CIQuery.make(cols[x], cols[int(y)], [cols[s] for s in subset])
                    plan.append((x, int(y), query))
        results = bound.test_many(q for _, _, q in plan)
        n_tests += len({q for _, _, q in plan})
        removed: set[tuple[int, int]] = set()
        position = {c: k for k, c in enumerate(cols)}
        for (x, y, query), result in zip(plan, results):
            if result.p_value > alpha:
                pair = (min(x, y), max(x, y))
                removed.add(pair)
                separating.setdefault(pair, set()).update(position[c] for c in query.z)
        for x, y in removed:
            adjacency[x, y] = adjacency[y, x] = 0
        depth += 1
    return Skeleton(adjacency, {k: frozenset(v) for k, v in separating.items()}, n_tests, depth - 1)


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
        columns = [check_array(v, f"data[{k!r}]", owner, ndim=1) for k, v in data.items()]
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


def _bind(ci_test: str | CITest, ci_options: Mapping[str, Any] | None, data: np.ndarray) -> BoundCITest:
    return make_ci_test(ci_test, **dict(ci_options or {})).bind(data)


def pc(data: Any, *, ci_test: str | CITest = "fisherz", alpha: float = 0.05,
       node_names: Sequence[str] | None = None, max_depth: int | None = None,
       ci_options: Mapping[str, Any] | None = None) -> DiscoveredGraph:
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

    Returns
    -------
    DiscoveredGraph with ``.adjacency`` (d, d): ``[i, j] = 1`` for ``i -> j``, both for ``i - j``.
    """
    alpha = check_number(alpha, "alpha", "pc", low=0, high=1, low_inclusive=False, high_inclusive=False)
    if max_depth is not None:
        max_depth = int(check_number(max_depth, "max_depth", "pc", low=0, integer=True))
    test = make_ci_test(ci_test, **dict(ci_options or {}))
    matrix, names = as_data_matrix(data, node_names, "pc", categorical=test.discrete)
    bound = test.bind(matrix)
    skeleton = pc_skeleton(bound, alpha=alpha, max_depth=max_depth)
    graph = orient_colliders(skeleton.adjacency, skeleton.separating_sets)
    graph = apply_meek_rules(graph)
    info = {"method": "pc", "ci_test": bound.test.name, "alpha": alpha, "n_tests": skeleton.n_tests,
            "n_samples": int(matrix.shape[0])}
    return DiscoveredGraph(names, graph, skeleton.separating_sets, info)


def orient_with_exogenous(skeleton: Skeleton, exogenous: Iterable[int]) -> np.ndarray:
    """Orientation used by CD-NOD: edges at exogenous nodes first, then colliders, then Meek."""
    graph = orient_exogenous(skeleton.adjacency, exogenous)
    graph = orient_colliders(graph, skeleton.separating_sets)
    return apply_meek_rules(graph)
