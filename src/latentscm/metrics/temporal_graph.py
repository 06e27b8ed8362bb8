"""Metrics of temporal causal discovery against a time-series world's true graph.

Conventions (those of :mod:`latentscm.worlds.timeseries` and :mod:`latentscm.discovery.timeseries`):

* a **window graph** is an array (L+1, d, d) with ``[tau, i, j] = 1`` for ``x_{i,t-tau} -> x_{j,t}``;
  lag 0 holds contemporaneous links (``[0, i, j]`` and ``[0, j, i]`` both set is an undirected edge);
* a **summary graph** is (d, d) with ``[i, j] = 1`` if i causes j at some lag; its diagonal marks
  self-dependence (autocorrelation);
* **scores** ``[tau, i, j]`` (L+1, d, d) grade each window link, larger meaning more likely (a
  :class:`~latentscm.discovery.timeseries.TemporalGraph` is accepted and its ``scores`` used). The
  summary score of ``i -> j`` is the largest score over lags (for ``i -> i``, over lags >= 1).

The **diagonal** (self-links ``x_{i,t-tau} -> x_{i,t}``, ``tau >= 1``) is excluded by default: nearly
every series is autocorrelated, so self-links are easy and would inflate every score;
``diagonal=True`` includes them and :func:`temporal_graph_scores` reports both. The lag-0 diagonal
never exists and is always left out.

A world and a ``TemporalGraph`` are compared by variable name (their variable sets must be equal);
a bare array must list the variables in the other graph's order.

When the true window and the scores have different lag ranges, the shorter one is padded: true
links beyond the world's largest lag do not exist, and links a method did not score get a score
below all others.

AUROC / AUPRC use scikit-learn's ``roc_auc_score`` / ``average_precision_score`` (AUPRC is average
precision; chance is the share of true links). The lag-tolerant F1 counts a found link as correct
when the true graph has the same ordered pair within ``lag_tolerance`` lags, and a true link as
recalled when a found link of the same pair lies within that tolerance (a tolerance of 0 is the
exact window F1). The normalised SHD is the number of differing entries over the number of
entries compared (lower is better): ordered pairs of the summary graph; for the window graph the
lagged entries plus, at lag 0, unordered pairs (missing, extra, reversed or directed-vs-undirected
each count once, as in :func:`latentscm.metrics.shd`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from latentscm._validation import check_array, check_choice, check_number

__all__ = [
    "lag_tolerant_f1",
    "normalized_shd",
    "summary_auprc",
    "summary_auroc",
    "temporal_graph_scores",
    "window_auprc",
    "window_auroc",
]


def _true_window(true: Any, owner: str) -> np.ndarray:
    if hasattr(true, "graph") and callable(true.graph):  # a time-series world
        true = true.graph("window")
    window = check_array(true, "true", owner, ndim=3)
    if window.shape[1] != window.shape[2]:
        raise ValueError(f"The 'true' window graph of {owner} must be (L+1, d, d). Got {window.shape}.")
    if not np.all((window == 0) | (window == 1)):
        raise ValueError(f"The 'true' window graph of {owner} must hold only 0 and 1.")
    return window.astype(np.int64)


def _true_summary(true: Any, owner: str, name: str = "true") -> np.ndarray:
    if hasattr(true, "graph") and callable(true.graph):
        true = true.graph("window")
    array = np.asarray(true)
    if array.ndim == 3:
        return _window_summary(_true_window(array, owner))
    summary = check_array(array, name, owner, ndim=2)
    if summary.shape[0] != summary.shape[1] or not np.all((summary == 0) | (summary == 1)):
        raise ValueError(f"The {name!r} summary graph of {owner} must be a square 0/1 array (d, d). "
                         f"Got shape {summary.shape} with values {sorted(set(np.unique(summary).tolist()))[:5]}.")
    return summary.astype(np.int64)


def _window_summary(window: np.ndarray) -> np.ndarray:
    """Summary graph (d, d) of a 0/1 window graph (L+1, d, d); the lag-0 diagonal, which no link can
    occupy, is left out."""
    lagged = window.copy()
    lagged[0][np.eye(window.shape[1], dtype=bool)] = 0
    return (lagged.sum(axis=0) > 0).astype(np.int64)


def _scores(scores: Any, owner: str) -> np.ndarray:
    scores = getattr(scores, "scores", scores)
    array = check_array(scores, "scores", owner, ndim=3)
    if array.shape[1] != array.shape[2]:
        raise ValueError(f"The 'scores' of {owner} must be (tau_max + 1, d, d). Got {array.shape}.")
    return array


def _found_window(found: Any, owner: str) -> np.ndarray:
    if hasattr(found, "adjacency") and callable(found.adjacency):
        found = found.adjacency()
    window = check_array(found, "found", owner, ndim=3)
    if window.shape[1] != window.shape[2] or not np.all((window == 0) | (window == 1)):
        raise ValueError(f"The 'found' window graph of {owner} must be a 0/1 array (L+1, d, d). "
                         f"Got shape {window.shape}.")
    return window.astype(np.int64)


def _variable_names(graph: Any) -> tuple[Any, ...] | None:
    """The variable names of a time-series world or a ``TemporalGraph``; None for a bare array."""
    if isinstance(graph, np.ndarray):
        return None
    names = getattr(graph, "var_names", None)
    return None if names is None or isinstance(names, (str, bytes)) else tuple(names)


def _in_true_order(array: np.ndarray, true: Any, other: Any, owner: str) -> np.ndarray:
    """``array`` (..., d, d) read from ``other`` with its variables put in the order of ``true`` when both
    name their variables (a world, a ``TemporalGraph``); unchanged when either is a bare array."""
    true_names, other_names = _variable_names(true), _variable_names(other)
    if true_names is None or other_names is None or true_names == other_names:
        return array
    if len(true_names) != len(other_names) or set(true_names) != set(other_names):
        raise ValueError(f"{owner} compares graphs over different variables: {list(true_names)} and "
                         f"{list(other_names)}.")
    order = [other_names.index(name) for name in true_names]
    return array[..., order, :][..., order]


def _align(first: np.ndarray, second: np.ndarray, owner: str, second_fill: float = 0.0
           ) -> tuple[np.ndarray, np.ndarray]:
    """Pad two window arrays to the same number of lags (checks d)."""
    if first.shape[1:] != second.shape[1:]:
        raise ValueError(f"{owner} compares graphs over different variables: {first.shape[1]} and "
                         f"{second.shape[1]}.")
    lags = max(first.shape[0], second.shape[0])
    pad = [(0, lags - first.shape[0]), (0, 0), (0, 0)]
    first = np.pad(first, pad)
    second = np.pad(second, [(0, lags - second.shape[0]), (0, 0), (0, 0)], constant_values=second_fill)
    return first, second


def _window_mask(shape: tuple[int, ...], diagonal: bool, contemporaneous: bool) -> np.ndarray:
    d = shape[1]
    mask = np.ones(shape, dtype=bool)
    mask[0][np.eye(d, dtype=bool)] = False
    if not diagonal:
        mask[:, np.arange(d), np.arange(d)] = False
    if not contemporaneous:
        mask[0] = False
    return mask


def _window_pairs(true: Any, scores: Any, diagonal: bool, contemporaneous: bool, owner: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    scores = _in_true_order(_scores(scores, owner), true, scores, owner)
    true = _true_window(true, owner)
    low = float(np.min(scores)) - 1.0 if scores.size else -1.0
    true, scores = _align(true, scores, owner, second_fill=low)
    mask = _window_mask(true.shape, diagonal, contemporaneous)
    return _both_classes(true[mask], scores[mask], owner)


def _summary_pairs(true: Any, scores: Any, diagonal: bool, owner: str) -> tuple[np.ndarray, np.ndarray]:
    scores = _in_true_order(_scores(scores, owner), true, scores, owner).copy()
    true = _true_summary(true, owner)
    if scores.size:  # the lag-0 diagonal is no link: a score there must not become a self-dependence score
        scores[0][np.eye(scores.shape[1], dtype=bool)] = float(np.min(scores)) - 1.0
    scores = scores.max(axis=0)
    if scores.shape != true.shape:
        raise ValueError(f"{owner} compares graphs over different variables: {true.shape[0]} and "
                         f"{scores.shape[0]}.")
    mask = np.ones(true.shape, dtype=bool) if diagonal else ~np.eye(true.shape[0], dtype=bool)
    return _both_classes(true[mask], scores[mask], owner)


def _both_classes(labels: np.ndarray, values: np.ndarray, owner: str) -> tuple[np.ndarray, np.ndarray]:
    if labels.size == 0 or labels.min() == labels.max():
        kind = "no links" if labels.size == 0 or labels.max() == 0 else "only links"
        raise ValueError(f"{owner} needs both links and non-links among the compared entries of 'true'; "
                         f"it has {kind} (try diagonal=True or another graph).")
    return labels, values


def window_auroc(true: Any, scores: Any, *, diagonal: bool = False, contemporaneous: bool = True) -> float:
    """AUROC of window-link scores against the true window graph. Higher is better; 0.5 is chance.

    Parameters
    ----------
    true : true window graph (L+1, d, d) or a time-series world.
    scores : scores (tau_max + 1, d, d) or a ``TemporalGraph``.
    diagonal : include self-links at lags >= 1.
    contemporaneous : include lag 0 (False for methods that only score lagged links).

    Returns
    -------
    float in [0, 1].
    """
    labels, values = _window_pairs(true, scores, diagonal, contemporaneous, "window_auroc")
    return float(roc_auc_score(labels, values))


def window_auprc(true: Any, scores: Any, *, diagonal: bool = False, contemporaneous: bool = True) -> float:
    """AUPRC (average precision) of window-link scores against the true window graph. Higher is
    better; chance is the share of true links among the compared entries.

    Parameters
    ----------
    true, scores, diagonal, contemporaneous : as in :func:`window_auroc`.

    Returns
    -------
    float in [0, 1].
    """
    labels, values = _window_pairs(true, scores, diagonal, contemporaneous, "window_auprc")
    return float(average_precision_score(labels, values))


def summary_auroc(true: Any, scores: Any, *, diagonal: bool = False) -> float:
    """AUROC of summary scores (the largest score over lags) against the true summary graph.
    Higher is better; 0.5 is chance.

    Parameters
    ----------
    true : true summary graph (d, d), window graph (L+1, d, d) or a time-series world.
    scores : scores (tau_max + 1, d, d) or a ``TemporalGraph``.
    diagonal : include self-dependence ``i -> i``.

    Returns
    -------
    float in [0, 1].
    """
    labels, values = _summary_pairs(true, scores, diagonal, "summary_auroc")
    return float(roc_auc_score(labels, values))


def summary_auprc(true: Any, scores: Any, *, diagonal: bool = False) -> float:
    """AUPRC (average precision) of summary scores against the true summary graph. Higher is better.

    Parameters
    ----------
    true, scores, diagonal : as in :func:`summary_auroc`.

    Returns
    -------
    float in [0, 1].
    """
    labels, values = _summary_pairs(true, scores, diagonal, "summary_auprc")
    return float(average_precision_score(labels, values))


def lag_tolerant_f1(true: Any, found: Any, *, lag_tolerance: int = 0, diagonal: bool = False) -> dict[str, float]:
    """Precision, recall and F1 of a found window graph with a tolerance on the lag. Higher is better.

    Parameters
    ----------
    true : true window graph (L+1, d, d) or a time-series world.
    found : found window graph (tau_max + 1, d, d), 0/1, or a ``TemporalGraph`` (its ``adjacency()``).
    lag_tolerance : a found link ``(tau, i, j)`` is correct if the true graph has ``(tau', i, j)`` with
        ``|tau - tau'| <= lag_tolerance``; recall is counted the same way from the true side.
    diagonal : include self-links at lags >= 1.

    Returns
    -------
    ``{"window.precision", "window.recall", "window.f1"}``. A ratio with an empty denominator is 1
    when the other graph is empty too and 0 otherwise.
    """
    owner = "lag_tolerant_f1"
    tolerance = int(check_number(lag_tolerance, "lag_tolerance", owner, low=0, integer=True))
    found = _in_true_order(_found_window(found, owner), true, found, owner)
    true, found = _align(_true_window(true, owner), found, owner)
    mask = _window_mask(true.shape, diagonal, True)
    true, found = true * mask, found * mask
    lags = true.shape[0]

    def near(graph: np.ndarray) -> np.ndarray:
        """[tau, i, j] = 1 if graph has (i, j) within the tolerance of tau."""
        out = np.zeros_like(graph)
        for tau in range(lags):
            out[tau] = graph[max(0, tau - tolerance): tau + tolerance + 1].max(axis=0)
        return out

    n_found, n_true = int(found.sum()), int(true.sum())
    hits_found = int((found & near(true)).sum())
    hits_true = int((true & near(found)).sum())
    precision = hits_found / n_found if n_found else float(n_true == 0)
    recall = hits_true / n_true if n_true else float(n_found == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"window.precision": precision, "window.recall": recall, "window.f1": f1}


def normalized_shd(true: Any, found: Any, *, kind: str = "window", diagonal: bool = False) -> float:
    """Structural Hamming distance divided by the number of entries compared. **Lower is better**;
    0 means equal, 1 that every entry differs.

    Parameters
    ----------
    true : true window graph (L+1, d, d) or a time-series world (or a summary graph (d, d) with
        ``kind="summary"``).
    found : found window graph (tau_max + 1, d, d) or a ``TemporalGraph``; with ``kind="summary"`` a
        summary graph (d, d) is accepted too.
    kind : ``"window"`` (lagged entries plus lag-0 unordered pairs) or ``"summary"`` (ordered pairs).
    diagonal : include self-links (lags >= 1 in the window graph; the summary diagonal).

    Returns
    -------
    float in [0, 1].
    """
    owner = "normalized_shd"
    check_choice(kind, "kind", owner, ("window", "summary"))
    if kind == "summary":
        true_summary = _true_summary(true, owner)
        if hasattr(found, "summary") and callable(found.summary):
            found_summary = _in_true_order(np.asarray(found.summary(), dtype=np.int64), true, found, owner)
        else:
            found_array = np.asarray(found)
            found_summary = _window_summary(_found_window(found_array, owner)) \
                if found_array.ndim == 3 else _true_summary(found_array, owner, "found")
        if found_summary.shape != true_summary.shape:
            raise ValueError(f"{owner} compares graphs over different variables: {true_summary.shape[0]} and "
                             f"{found_summary.shape[0]}.")
        mask = np.ones(true_summary.shape, dtype=bool) if diagonal else ~np.eye(true_summary.shape[0], dtype=bool)
        _check_compared(int(mask.sum()), owner)
        return float(np.sum(true_summary[mask] != found_summary[mask]) / mask.sum())
    found = _in_true_order(_found_window(found, owner), true, found, owner)
    true, found = _align(_true_window(true, owner), found, owner)
    d = true.shape[1]
    lagged_mask = _window_mask(true.shape, diagonal, False)
    lagged = int(np.sum(true[lagged_mask] != found[lagged_mask]))
    upper = np.triu_indices(d, k=1)
    state_true = true[0][upper] + 2 * true[0].T[upper]
    state_found = found[0][upper] + 2 * found[0].T[upper]
    contemporaneous = int(np.sum(state_true != state_found))
    total = int(lagged_mask.sum()) + len(upper[0])
    _check_compared(total, owner)
    return float((lagged + contemporaneous) / total)


def _check_compared(total: int, owner: str) -> None:
    if total == 0:
        raise ValueError(f"{owner} has no entries to compare: a single variable has only self-links; pass "
                         "diagonal=True to compare them.")


def temporal_graph_scores(true: Any, scores: Any, *, contemporaneous: bool = True) -> dict[str, float]:
    """Summary and window AUROC / AUPRC, each without and with the diagonal (self-links).

    Parameters
    ----------
    true : true window graph (L+1, d, d) or a time-series world.
    scores : scores (tau_max + 1, d, d) or a ``TemporalGraph``.
    contemporaneous : include lag 0 in the window scores.

    Returns
    -------
    ``{"summary.auroc", "summary.auprc", "window.auroc", "window.auprc"}`` (diagonal excluded) and the
    same keys with ``"_with_diagonal"`` appended. Higher is better.

    Raises
    ------
    ValueError
        When the compared entries of ``true`` are all links or all non-links (AUROC is undefined).
    """
    out: dict[str, float] = {}
    for diagonal, suffix in ((False, ""), (True, "_with_diagonal")):
        out["summary.auroc" + suffix] = summary_auroc(true, scores, diagonal=diagonal)
        out["summary.auprc" + suffix] = summary_auprc(true, scores, diagonal=diagonal)
        out["window.auroc" + suffix] = window_auroc(true, scores, diagonal=diagonal, contemporaneous=contemporaneous)
        out["window.auprc" + suffix] = window_auprc(true, scores, diagonal=diagonal, contemporaneous=contemporaneous)
    return out
