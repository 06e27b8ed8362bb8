"""What temporal discovery returns: scores and p-values over a window graph, one type for all methods.

``scores[tau, i, j]`` and ``pvalues[tau, i, j]`` are about the link ``x_{i,t-tau} -> x_{j,t}``; lag 0
holds contemporaneous links (``[0, i, j]`` and ``[0, j, i]`` both set is an undirected edge).
Links a method does not test (lag 0 for lagged-only methods, self-loops at lag 0) have score 0 and
p-value NaN, so they are never found at any level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from latentscm._io import dumps_strict
from latentscm._validation import check_number
from latentscm.discovery.result import _jsonable

__all__ = ["TemporalGraph"]


@dataclass(frozen=True)
class TemporalGraph:
    """A window graph found by a temporal discovery method.

    Attributes
    ----------
    var_names: variable names (d,).
    scores: float array (tau_max + 1, d, d); larger means stronger evidence for the link.
    pvalues: float array (tau_max + 1, d, d), NaN for untested links, or ``None`` for score-only
        methods (cMLP).
    method: the method's name.
    alpha: the level the method ran at (its own graph is the one at this level).
    threshold: for score-only methods, the score from which a link counts (``scores >= threshold``).
    graph: the method's own window graph (int, same shape) when it orients links itself (PCMCI+).
    summary_pvalues: float array (d, d) of a test per variable pair over all lags (Granger), or ``None``.
    info: method settings and counts (number of CI tests, run time, ...).
    """

    var_names: tuple[str, ...]
    scores: np.ndarray
    pvalues: np.ndarray | None
    method: str
    alpha: float | None = None
    threshold: float | None = None
    graph: np.ndarray | None = None
    summary_pvalues: np.ndarray | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        d = len(self.var_names)
        scores = np.array(self.scores, dtype=np.float64)
        if scores.ndim != 3 or scores.shape[1:] != (d, d):
            raise ValueError(f"The scores of a TemporalGraph must be (tau_max + 1, {d}, {d}). Got {scores.shape}.")
        for name in ("pvalues", "graph"):
            value = getattr(self, name)
            if value is not None and np.shape(value) != scores.shape:
                raise ValueError(f"The {name} of a TemporalGraph must match the scores' shape {scores.shape}. "
                                 f"Got {np.shape(value)}.")
        if self.summary_pvalues is not None and np.shape(self.summary_pvalues) != (d, d):
            raise ValueError(f"The summary_pvalues of a TemporalGraph must be ({d}, {d}), one per variable pair. "
                             f"Got {np.shape(self.summary_pvalues)}.")
        if self.pvalues is None and self.threshold is None:
            raise ValueError("A TemporalGraph needs p-values or a score threshold.")
        if self.pvalues is not None and self.alpha is None:
            raise ValueError("A TemporalGraph with p-values needs the level 'alpha' its own graph is read at.")
        if self.alpha is not None:
            object.__setattr__(self, "alpha", check_number(self.alpha, "alpha", "TemporalGraph", low=0, high=1))
        object.__setattr__(self, "var_names", tuple(self.var_names))
        object.__setattr__(self, "scores", scores)
        for name in ("pvalues", "graph", "summary_pvalues"):
            value = getattr(self, name)
            if value is not None:
                array = np.array(value, dtype=np.int64 if name == "graph" else np.float64)
                array.setflags(write=False)
                object.__setattr__(self, name, array)
        scores.setflags(write=False)

    @property
    def tau_max(self) -> int:
        return self.scores.shape[0] - 1

    def adjacency(self, alpha: float | None = None) -> np.ndarray:
        """Window adjacency, int (tau_max + 1, d, d), ``[tau, i, j] = 1`` for ``x_{i,t-tau} -> x_{j,t}``.

        Parameters
        ----------
        alpha: level for methods with p-values (``pvalues <= alpha``); for score-only methods the
            score threshold. ``None``: the method's own graph at its own level. Self-loops at lag 0
            (``[0, i, i]``) are never links, whatever the scores. At another level a
            method that orients contemporaneous links (PCMCI+) keeps its orientations where the
            link survives; new contemporaneous links are undirected.
        """
        if alpha is None and self.graph is not None:
            return np.array(self.graph)
        if self.pvalues is None:
            cut = self.threshold if alpha is None else check_number(alpha, "alpha", "TemporalGraph.adjacency")
            found = ((self.scores >= cut) & (self.scores > 0)).astype(np.int64)
            np.fill_diagonal(found[0], 0)  # no self-loop at lag 0, as for the methods with p-values
            return found
        level = self.alpha if alpha is None else check_number(alpha, "alpha", "TemporalGraph.adjacency",
                                                              low=0, high=1)
        found = (np.nan_to_num(self.pvalues, nan=2.0) <= level).astype(np.int64)
        if self.graph is not None:  # a method that orients lag 0 itself: p-values are per pair
            lag0 = found[0] | found[0].T
            oriented = (self.graph[0] == 1) & (self.graph[0].T == 0)
            lag0[oriented.T] = 0
            found[0] = lag0
        np.fill_diagonal(found[0], 0)
        return found

    def summary(self, alpha: float | None = None) -> np.ndarray:
        """Summary adjacency (d, d): ``[i, j] = 1`` if i causes j at some lag (diagonal: self-lags).
        Uses the per-pair test (Granger) when there is one, else the window adjacency."""
        if self.summary_pvalues is not None:
            level = self.alpha if alpha is None else check_number(alpha, "alpha", "TemporalGraph.summary",
                                                                  low=0, high=1)
            return (np.nan_to_num(self.summary_pvalues, nan=2.0) <= level).astype(np.int64)
        return (self.adjacency(alpha).sum(axis=0) > 0).astype(np.int64)

    def to_networkx(self, alpha: float | None = None) -> nx.MultiDiGraph:
        """A ``networkx.MultiDiGraph`` over the variable names with one edge per found link, keyed by
        lag, with attributes ``lag``, ``score`` and ``pvalue`` (``None`` for score-only methods)."""
        graph = nx.MultiDiGraph(method=self.method)
        graph.add_nodes_from(self.var_names)
        adjacency = self.adjacency(alpha)
        for tau, i, j in zip(*np.nonzero(adjacency)):
            pvalue = None if self.pvalues is None else float(self.pvalues[tau, i, j])
            graph.add_edge(self.var_names[i], self.var_names[j], key=int(tau), lag=int(tau),
                           score=float(self.scores[tau, i, j]), pvalue=pvalue)
        return graph

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field: arrays as nested lists with NaN (and any non-finite number) as
        ``None``; ``info`` converted as :class:`~latentscm.discovery.result.DiscoveredGraph` does (tuple keys
        and sets become text, so :meth:`from_dict` returns it in that form)."""
        def nested(array: np.ndarray | None) -> Any:
            if array is None:
                return None
            values = np.asarray(array, dtype=object)
            if np.asarray(array).dtype.kind == "f":
                values[~np.isfinite(np.asarray(array))] = None
            return values.tolist()

        return {"kind": "temporal_graph", "var_names": list(self.var_names), "method": self.method,
                "alpha": self.alpha, "threshold": self.threshold, "scores": nested(self.scores),
                "pvalues": nested(self.pvalues), "graph": nested(self.graph),
                "summary_pvalues": nested(self.summary_pvalues), "info": _jsonable(dict(self.info))}

    def to_json(self) -> str:
        """Strict JSON of :meth:`to_dict`."""
        return dumps_strict(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TemporalGraph:
        """Inverse of :meth:`to_dict` (``None`` entries of the arrays read back as NaN)."""
        required = ("var_names", "scores", "pvalues", "method")
        if not isinstance(data, Mapping) or any(key not in data for key in required):
            raise ValueError(f"A TemporalGraph dict needs the keys {', '.join(required)} (as written by to_dict).")

        def array(key: str, dtype: type) -> np.ndarray | None:
            value = data.get(key)
            return None if value is None else np.array(value, dtype=dtype)

        return cls(tuple(data["var_names"]), array("scores", np.float64), array("pvalues", np.float64),
                   str(data["method"]), alpha=data.get("alpha"), threshold=data.get("threshold"),
                   graph=array("graph", np.int64), summary_pvalues=array("summary_pvalues", np.float64),
                   info=dict(data.get("info") or {}))

    def __repr__(self) -> str:
        n_links = int(self.adjacency().sum())
        return (f"TemporalGraph(method={self.method!r}, d={len(self.var_names)}, tau_max={self.tau_max}, "
                f"links={n_links})")
