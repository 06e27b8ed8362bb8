"""Sortability: how well a simple per-variable score orders a dataset's variables along its true causal graph.

Reisach, Seiler & Weichwald (NeurIPS 2021), "Beware of the simulated DAG! Causal discovery benchmarks may be easy
to game": in the linear additive-noise data most benchmarks simulate, marginal variances tend to grow along the
causal order, so sorting by variance recovers much of the graph, and continuous-optimisation methods whose loss is
an unscaled least squares exploit it. Their *varsortability* is the share of causally ordered pairs whose
variances increase along the order. Reisach, Tami, Seiler, Chambaz & Weichwald (NeurIPS 2023), "A scale-invariant
sorting criterion to find a causal order in additive noise models", replace the variance by each variable's
coefficient of determination R^2 given all the others, which rescaling the variables does not change
(*R^2-sortability*), and compare with the R^2 of each variable given its true causes (its share of variance
explained by the causes, the signal-to-noise ratio of its mechanism: ``"snr"``).

For scores ``s`` (d,) and a DAG with edge set E, let ``E^k`` be the ordered pairs (i, j) joined by at least one
directed path of length k from i to j. With ``measure="paths"`` (both papers' definition; Reisach et al. 2021
§3.1, Reisach et al. 2023 eq. 3)::

    sortability = sum_k sum_{(i, j) in E^k} inc(s_i, s_j) / sum_k |E^k|,   k = 1 .. d - 1,

    inc(a, b) = 1 if b - a > tol, 1/2 if |b - a| <= tol, 0 otherwise,

so a pair joined by paths of several lengths counts once per length. ``measure="edges"`` counts the edges
(``E^1``) only. 1 means the score increases along every causal path, 1/2 is what an order unrelated to the graph
gives on average, 0 means it decreases along every path. A graph with no edges has no pairs: the result is NaN.

Scores (all computed from the data; ``"snr"`` also reads the true parents):

* ``"var"``: each column's variance;
* ``"r2"``: the R^2 of each column regressed (OLS, with intercept) on all other columns,
  ``1 - 1 / diag(C^-1)`` for the correlation matrix C, or per-column least squares when C is near-singular;
* ``"snr"``: the R^2 of each column regressed on its parents in the graph (0 for a root).

The reference implementation is the authors' ``CausalDisco`` package (``benchmarks/bench_sortability.py``
cross-checks every value on the same data; none of its code is used here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_choice, check_number

__all__ = ["SORTABILITY_CRITERIA", "SORTABILITY_MEASURES", "order_alignment", "orderable_variances", "r2_coefficients",
           "r2_sortability", "sortability", "sortability_scores", "varsortability"]

#: Scores :func:`sortability` can sort by.
SORTABILITY_CRITERIA = ("var", "r2", "snr")
#: Which causally ordered pairs :func:`order_alignment` counts.
SORTABILITY_MEASURES = ("paths", "edges")
#: Above this condition number of the correlation matrix, R^2 is computed by least squares per column.
_CONDITION_LIMIT = 1e10


def _dag_matrix(graph: Any, owner: str) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """The directed adjacency (d, d) bool of ``graph`` (a CausalGraph, a fully directed DiscoveredGraph or a (d, d)
    matrix whose non-zero ``[i, j]`` is ``i -> j``) and its node names (None for a matrix)."""
    from latentscm.metrics.graphs import _is_acyclic

    names = getattr(graph, "nodes", None) if hasattr(graph, "adjacency") else None
    matrix = np.asarray(getattr(graph, "adjacency", graph))
    if matrix.dtype == object or matrix.dtype.kind not in "biuf":
        raise TypeError(f"The 'graph' argument of {owner} must be a CausalGraph, a DiscoveredGraph or a (d, d) "
                        f"numeric adjacency matrix. Got {type(graph).__name__}.")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"The 'graph' argument of {owner} must be a square adjacency matrix with at least one node. "
                         f"Got shape {matrix.shape}.")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"The 'graph' argument of {owner} has non-finite entries.")
    edges = matrix != 0
    if np.any(np.diag(edges)):
        node = int(np.flatnonzero(np.diag(edges))[0])
        raise ValueError(f"The 'graph' argument of {owner} has a self-loop at node "
                         f"{names[node] if names is not None else node!r}.")
    both = edges & edges.T
    if both.any():
        i, j = (int(k) for k in np.argwhere(both)[0])
        label = (names[i], names[j]) if names is not None else (i, j)
        raise ValueError(f"The 'graph' argument of {owner} must be a DAG; it has the undirected (or two-way) edge "
                         f"{label[0]!r} - {label[1]!r}. Sortability orders the variables of a fully directed graph.")
    if not _is_acyclic(edges.astype(np.int64)):
        raise ValueError(f"The 'graph' argument of {owner} has a directed cycle; sortability is defined on a DAG.")
    return edges, (tuple(str(n) for n in names) if names is not None else None)


def _data_matrix(data: Any, names: tuple[str, ...] | None, d: int, owner: str) -> np.ndarray:
    """``data`` (an array (n, d) in the graph's node order, or a mapping / DataFrame with one column per node name)
    as a float matrix (n, d) in the graph's node order; errors name the missing or extra columns."""
    from latentscm.discovery.pc import as_data_matrix

    mapped = isinstance(data, Mapping) or hasattr(data, "columns")
    matrix, columns = as_data_matrix(data, None, owner)
    if mapped and names is not None:
        _check_same_names(columns, names, "data", "one column per node of 'graph'", owner)
        matrix = matrix[:, [columns.index(n) for n in names]]
    if matrix.shape[1] != d:
        raise ValueError(f"The 'data' argument of {owner} has {matrix.shape[1]} columns for a graph of {d} nodes.")
    if matrix.shape[0] < 2:
        raise ValueError(f"The 'data' argument of {owner} needs at least 2 rows. Got {matrix.shape[0]}.")
    return matrix


def _check_same_names(given: Sequence[Any], names: tuple[str, ...], argument: str, what: str, owner: str) -> None:
    """ValueError naming ``owner``'s ``argument`` when the labels ``given`` are not the graph's node ``names``."""
    missing = [n for n in names if n not in given]
    extra = [k for k in given if k not in names]
    if missing or extra:
        raise ValueError(f"The {argument!r} argument of {owner} must have {what}"
                         f"{'; missing ' + str(missing) if missing else ''}"
                         f"{'; not in the graph ' + str(extra) if extra else ''}.")


def _check_not_constant(x: np.ndarray, names: tuple[str, ...] | None, criterion: str, owner: str,
                        argument: str = "data") -> None:
    constant = np.flatnonzero(np.ptp(x, axis=0) == 0)  # not std == 0: a rounded mean leaves a std of 1e-17
    if constant.size:
        label = [names[j] if names is not None else int(j) for j in constant[:5]]
        raise ValueError(f"The {argument!r} argument of {owner} has constant columns {label}; criterion={criterion!r} "
                         f"regresses every column, and a constant has no R^2.")


def _unit_scale(x: np.ndarray) -> np.ndarray:
    """Each column of ``x`` (n, d) divided by its largest absolute value (no column may be all zero): R^2 does not
    change, and the squares in a regression then neither overflow nor underflow at extreme scales."""
    return x / np.abs(x).max(axis=0)


def _r2_on(x: np.ndarray, target: int, predictors: np.ndarray) -> float:
    """R^2 of OLS (with intercept) of column ``target`` of ``x`` (n, d) on the ``predictors`` columns."""
    if predictors.size == 0:
        return 0.0
    design = x[:, predictors] - x[:, predictors].mean(axis=0)
    response = x[:, target] - x[:, target].mean()
    coef, *_ = np.linalg.lstsq(design, response, rcond=None)
    residual = response - design @ coef
    return float(np.clip(1.0 - (residual @ residual) / (response @ response), 0.0, 1.0))


def r2_coefficients(x: Any) -> np.ndarray:
    """(d,) R^2 of each column of ``x`` (n, d) regressed (OLS, with intercept) on all other columns (0 when d = 1);
    finite, at least 2 rows, no constant column."""
    owner = "r2_coefficients"
    matrix = check_array(x, "x", owner, ndim=2, min_rows=2)
    _check_not_constant(matrix, None, "r2", owner, argument="x")
    return _r2_all(matrix)


def _r2_all(x: np.ndarray) -> np.ndarray:
    d = x.shape[1]
    if d == 1:
        return np.zeros(1)
    x = _unit_scale(x)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    corr = (z.T @ z) / len(z)
    if np.linalg.cond(corr) < _CONDITION_LIMIT:
        return np.clip(1.0 - 1.0 / np.diag(np.linalg.inv(corr)), 0.0, 1.0)
    everything = np.arange(d)
    return np.array([_r2_on(z, j, everything[everything != j]) for j in range(d)])


def sortability_scores(data: Any, criterion: str = "var", *, graph: Any = None) -> np.ndarray:
    """The (d,) score of each column that :func:`sortability` sorts by (see the module docstring).

    ``data`` is an array (n, d), or a mapping / DataFrame (with ``graph``, its columns are put in the graph's node
    order); ``graph`` is needed for ``criterion="snr"`` (the true parents) and otherwise only orders the columns.
    """
    owner = "sortability_scores"
    check_choice(criterion, "criterion", owner, SORTABILITY_CRITERIA)
    if graph is None:
        if criterion == "snr":
            raise ValueError(f"The 'graph' argument of {owner} is required for criterion='snr' (each column's R^2 on "
                             f"its true parents).")
        from latentscm.discovery.pc import as_data_matrix

        x, names = as_data_matrix(data, None, owner)
        if x.shape[0] < 2:
            raise ValueError(f"The 'data' argument of {owner} needs at least 2 rows. Got {x.shape[0]}.")
        edges = None
    else:
        edges, names = _dag_matrix(graph, owner)
        x = _data_matrix(data, names, edges.shape[0], owner)
    return _scores(x, criterion, edges, names, owner)


def _scores(x: np.ndarray, criterion: str, edges: np.ndarray | None, names: tuple[str, ...] | None,
            owner: str) -> np.ndarray:
    """The (d,) scores of ``x`` (n, d)."""
    if criterion == "var":
        with np.errstate(over="ignore", under="ignore"):  # sortability rescales what over- or underflows
            return x.var(axis=0)
    _check_not_constant(x, names, criterion, owner)
    if criterion == "r2":
        return _r2_all(x)
    if edges is None:
        raise ValueError(f"The 'graph' argument of {owner} is required for criterion='snr' (each column's R^2 on its "
                         f"true parents).")
    x = _unit_scale(x)
    return np.array([_r2_on(x, j, np.flatnonzero(edges[:, j])) for j in range(x.shape[1])])


def orderable_variances(x: np.ndarray) -> tuple[np.ndarray, float]:
    """The variances of the columns of ``x`` (n, d) divided by ``factor ** 2``, and ``factor``: 1 unless a variance
    over- or underflows (near the ends of the float range), then the data's largest absolute value. Their order is
    the variances' order either way."""
    with np.errstate(over="ignore", under="ignore"):
        variances = x.var(axis=0)
    if np.all(np.isfinite(variances) & ((variances > 0) | (np.ptp(x, axis=0) == 0))):
        return variances, 1.0
    factor = float(np.abs(x).max())
    return (x / factor).var(axis=0), factor


def _labelled_scores(scores: Any, names: tuple[str, ...] | None, d: int, owner: str) -> np.ndarray:
    """``scores`` as a float array (d,) in the graph's node order: a sequence in that order, or a mapping / pandas
    Series by node name (a named graph only)."""
    if isinstance(scores, Mapping) or (hasattr(scores, "index") and hasattr(scores, "to_dict")):
        if names is None:
            raise ValueError(f"The 'scores' argument of {owner} is labelled by name, but the graph is a bare matrix "
                             f"with no node names; give the scores as a sequence in the matrix's order.")
        by_name = dict(scores) if isinstance(scores, Mapping) else scores.to_dict()
        _check_same_names(list(by_name), names, "scores", "one score per node of the graph", owner)
        scores = [by_name[n] for n in names]
    try:
        values = np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"The 'scores' argument of {owner} must be numbers, one per node (a sequence in the graph's "
                        f"node order, or a mapping by node name). Got {str(scores)[:80]}.") from None
    if values.shape != (d,):
        raise ValueError(f"The 'scores' argument of {owner} must hold one score per node, shape ({d},). "
                         f"Got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"The 'scores' argument of {owner} has non-finite entries.")
    return values


def order_alignment(graph: Any, scores: Any, *, measure: str = "paths", tol: float = 0.0) -> float:
    """The share of causally ordered pairs of ``graph`` (a DAG: CausalGraph, fully directed DiscoveredGraph or
    (d, d) matrix) along which ``scores`` (d,), one per node in the graph's order, increase (ties within ``tol``
    count 1/2); ``measure="paths"`` counts pairs once per length of path joining them, ``"edges"`` counts edges
    only. NaN for a graph with no edges. See the module docstring."""
    owner = "order_alignment"
    check_choice(measure, "measure", owner, SORTABILITY_MEASURES)
    tol = float(check_number(tol, "tol", owner, low=0.0))
    edges, names = _dag_matrix(graph, owner)
    return _alignment(edges, _labelled_scores(scores, names, edges.shape[0], owner), measure, tol)


def _alignment(edges: np.ndarray, scores: np.ndarray, measure: str, tol: float) -> float:
    difference = scores[None, :] - scores[:, None]  # [i, j] = s_j - s_i: positive when j (the later) scores higher
    credit = np.where(difference > tol, 1.0, np.where(difference >= -tol, 0.5, 0.0))
    step = edges.astype(np.float64)  # float products go through BLAS (integer ones do not: 20x slower at d = 400)
    reach = edges.copy()
    pairs, ordered = 0, 0.0
    for _ in range(edges.shape[0] - 1):
        if not reach.any():  # a DAG's paths are at most d - 1 long, and usually end sooner
            break
        pairs += int(reach.sum())
        ordered += float(credit[reach].sum())
        if measure == "edges":
            break
        reach = (reach.astype(np.float64) @ step) > 0
    return ordered / pairs if pairs else float("nan")


def sortability(data: Any, graph: Any, *, criterion: str = "var", measure: str = "paths", tol: float = 0.0) -> float:
    """How well ``criterion`` scores of ``data`` sort its variables along the true DAG ``graph`` (in [0, 1]; 1/2
    for an unrelated order; NaN if the graph has no edges). See the module docstring for the definitions.

    Parameters
    ----------
    data: array (n, d) with columns in the graph's node order, or a mapping name -> (n,) array / DataFrame with one
        column per node of a named graph (``SCM.sample`` output, a world batch's factors); with a bare matrix as
        ``graph``, a mapping's columns are taken in its key order.
    graph: the true DAG: :class:`~latentscm.graph.CausalGraph`, a fully directed discovery result, or a (d, d)
        matrix (non-zero ``[i, j]`` for ``i -> j``, e.g. a weight matrix).
    criterion: ``"var"`` (varsortability), ``"r2"`` (R^2-sortability) or ``"snr"`` (R^2 on the true parents).
    measure: ``"paths"`` (the papers' definition) or ``"edges"`` (adjacent pairs only).
    tol: score differences within ``tol`` are ties (count 1/2).
    """
    owner = "sortability"
    check_choice(criterion, "criterion", owner, SORTABILITY_CRITERIA)
    check_choice(measure, "measure", owner, SORTABILITY_MEASURES)
    tol = float(check_number(tol, "tol", owner, low=0.0))
    edges, names = _dag_matrix(graph, owner)
    x = _data_matrix(data, names, edges.shape[0], owner)
    if criterion == "var":
        scores, factor = orderable_variances(x)
        tol = tol / factor / factor
    else:
        scores = _scores(x, criterion, edges, names, owner)
    if not np.all(np.isfinite(scores)):  # never count NaN as a decrease
        raise ValueError(f"The {criterion!r} scores of the 'data' argument of {owner} are not finite; rescale the "
                         f"data.")
    return _alignment(edges, scores, measure, tol)


def varsortability(data: Any, graph: Any, *, measure: str = "paths", tol: float = 0.0) -> float:
    """:func:`sortability` by marginal variance (Reisach et al. 2021)."""
    return sortability(data, graph, criterion="var", measure=measure, tol=tol)


def r2_sortability(data: Any, graph: Any, *, measure: str = "paths", tol: float = 0.0) -> float:
    """:func:`sortability` by the R^2 of each variable given all others (Reisach et al. 2023); unchanged by rescaling
    the variables."""
    return sortability(data, graph, criterion="r2", measure=measure, tol=tol)
