"""A self-contained HTML page for time series: the series, true vs found graphs, and RCA rankings.

``timeseries_report(out, series=..., var_names=...)`` writes one HTML file with every figure inlined as
a PNG data URI (no other files), through an atomic write. It reuses the report's style, figure and
image helpers (:mod:`latentscm.report.html`, :mod:`latentscm.report.figures`).
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentscm._io import atomic_write
from latentscm._validation import check_array, check_names, check_number
from latentscm.report.figures import graphs_figure
from latentscm.report.images import check_output_file
from latentscm.report.page import PAGE_STYLE, figure_png, img_html, new_figure, page_bytes, plain_text

__all__ = ["series_figure", "summary_digraph", "timeseries_report"]


def series_figure(series: np.ndarray, var_names: Sequence[str], *, onset: int | None = None,
                  trigger: int | None = None, highlight: Sequence[str] = ()) -> bytes:
    """Small multiples of every column (T, d) against time, with the fault onset and the detected trigger
    marked; highlighted variables (root causes) in red. Returns PNG bytes."""
    d = series.shape[1]
    columns = 3 if d > 6 else 1
    rows = int(np.ceil(d / columns))
    figure, _ = new_figure(11, 1.1 * rows + 0.6, columns=1)
    figure.clf()
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True)
    for k, name in enumerate(var_names):
        axis = axes[k // columns, k % columns]
        axis.plot(series[:, k], lw=0.8, color="#d62728" if name in highlight else "#1f4e9c")
        axis.set_ylabel(plain_text(name), fontsize=7, rotation=0, ha="right", va="center")
        axis.tick_params(labelsize=6)
        if onset is not None:
            axis.axvline(onset, color="#d62728", lw=0.8, ls="--")
        if trigger is not None:
            axis.axvline(trigger, color="#2ca02c", lw=0.8, ls=":")
    for k in range(d, rows * columns):
        axes[k // columns, k % columns].set_axis_off()
    return figure_png(figure)


def summary_digraph(adjacency: Any, var_names: Sequence[str], *, threshold: float = 0.0,
                    argument: str = "adjacency", owner: str = "summary_digraph"):
    """A networkx DiGraph of a summary adjacency (d, d) (``[i, j]`` for ``i -> j``; self-loops dropped),
    keeping weights above ``threshold``; d is ``len(var_names)`` (a ValueError naming ``argument`` of
    ``owner`` otherwise)."""
    import networkx as nx

    check_names(var_names, "var_names", owner)
    weights = check_array(adjacency, argument, owner, ndim=2)
    if weights.shape != (len(var_names), len(var_names)):  # a smaller matrix would be drawn on the first names only
        raise ValueError(f"The {argument!r} argument of {owner} must be ({len(var_names)}, {len(var_names)}) for "
                         f"{len(var_names)} variables. Got shape {weights.shape}.")
    graph = nx.DiGraph()
    graph.add_nodes_from(var_names)
    for i, j in zip(*np.nonzero(np.abs(weights) > threshold)):
        if i != j:
            graph.add_edge(var_names[i], var_names[j], weight=float(weights[i, j]))
    return graph


def _ranking_table(rankings: Mapping[str, Sequence[str]], root_causes: Sequence[str], top: int) -> str:
    methods = list(rankings)
    head = "".join(f"<th>{html.escape(m)}</th>" for m in methods)
    body = []
    for position in range(top):
        cells = []
        for method in methods:
            ranking = list(rankings[method])
            if position < len(ranking):
                name = ranking[position]
                mark = " ✓" if name in root_causes else ""
                style = ' class="best"' if mark else ""
                cells.append(f"<td{style}>{html.escape(name)}{mark}</td>")
            else:
                cells.append("<td>–</td>")
        body.append(f"<tr><td>{position + 1}</td>{''.join(cells)}</tr>")
    return f'<table class="metrics"><tr><th>rank</th>{head}</tr>{"".join(body)}</table>'


def timeseries_report(out: str | os.PathLike, *, series: Any, var_names: Sequence[str], true_graph: Any = None,
                      found_graphs: Mapping[str, Any] | None = None,
                      rankings: Mapping[str, Sequence[str]] | None = None,
                      root_causes: Sequence[str] = (), onset: int | None = None, trigger: int | None = None,
                      metrics: Mapping[str, Mapping[str, float]] | None = None, title: str = "latentscm time series",
                      top: int = 5) -> Path:
    """Write the HTML page and return its path.

    Parameters
    ----------
    out : path
        The HTML file to write (atomically).
    series : array-like, shape (T, d)
        The series shown.
    var_names : sequence of str
        The d variable names.
    true_graph : array-like, shape (d, d), optional
        The true summary graph (``[i, j]`` for ``i -> j``).
    found_graphs : mapping of str to array-like (d, d), optional
        Graphs found by methods, by method name (edges absent from the true graph drawn red).
    rankings : mapping of str to sequence of str, optional
        RCA rankings (best first) by method name.
    root_causes : sequence of str
        True root causes, names of ``var_names`` (marked in the rankings and drawn red in the series); a list,
        even of one name.
    onset, trigger : int, optional
        Fault onset and detected trigger steps, in 0 .. T - 1 (dashed red / dotted green lines).
    metrics : mapping of str to mapping of str to float, optional
        A table of scores by method (e.g. PR@k); None (strict JSON's NaN) is shown as missing.
    title : str
        Page title.
    top : int, default 5
        Ranks shown per method (>= 1).
    """
    owner = "timeseries_report"
    out = check_output_file(out, "out", owner)
    values = check_array(series, "series", owner, ndim=2)
    names = list(check_names(var_names, "var_names", owner))
    if values.shape[1] != len(names) or not names:
        raise ValueError(f"timeseries_report got {values.shape[1]} columns but {len(names)} variable names (at least "
                         "one of each is needed).")
    top = int(check_number(top, "top", owner, low=1, integer=True))
    if isinstance(root_causes, str):  # iterated, "x1" would be the root causes "x" and "1"
        raise TypeError(f"The 'root_causes' argument of {owner} must be a sequence of variable names, not one "
                        f"string. Got {root_causes!r}; pass [{root_causes!r}].")
    root_causes = list(root_causes)
    unknown = [name for name in root_causes if name not in names]
    if unknown:
        raise ValueError(f"The 'root_causes' argument of {owner} names {unknown}, which are not variables "
                         f"({names}).")
    for method, ranking in (rankings or {}).items():
        if isinstance(ranking, str):  # iterated, "b1" would be the candidates "b" and "1"
            raise TypeError(f"The 'rankings' argument of {owner} must map each method to a sequence of variable "
                            f"names, not one string. Got {ranking!r} for {method!r}; pass [{ranking!r}].")
    for name, step in (("onset", onset), ("trigger", trigger)):
        if step is not None:  # a step outside the series would stretch every panel's time axis
            check_number(step, name, owner, low=0, high=values.shape[0] - 1, integer=True)
    for method, row in (metrics or {}).items():
        for key, value in row.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, np.number))):
                raise TypeError(f"The 'metrics' argument of {owner} must hold numbers (None for a missing one). "
                                f"Got {value!r} for {method!r}, {key!r}.")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{PAGE_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    facts = [f"{values.shape[0]} steps, {len(names)} variables"]
    if root_causes:
        facts.append("root cause(s): " + ", ".join(root_causes))
    if onset is not None:
        facts.append(f"fault onset: step {onset}")
    if trigger is not None:
        facts.append(f"detected trigger: step {trigger}")
    parts.append(f"<p class='note'>{html.escape('; '.join(facts))}</p>")
    parts.append("<h2>Series</h2><p class='how'>Each panel is one variable over time; the dashed red line is the "
                 "fault onset, the dotted green line the detected trigger, red series are the root causes.</p>")
    parts.append(img_html(series_figure(values, names, onset=onset, trigger=trigger, highlight=root_causes), "series"))
    graphs = []
    if true_graph is not None:
        graphs.append(("true graph", summary_digraph(true_graph, names, argument="true_graph", owner=owner)))
    for method, adjacency in (found_graphs or {}).items():
        graphs.append((f"found: {method}", summary_digraph(adjacency, names, argument=f"found_graphs[{method!r}]",
                                                                owner=owner)))
    if graphs:
        # graphs_figure draws red the edges a later graph has and the first one lacks: the true graph's, if given
        red = ("edges a method found that the true graph lacks are red" if true_graph is not None else
               f"no true graph was given: edges absent from the first graph ({graphs[0][0]}) are red")
        parts.append("<h2>Causal graphs</h2><p class='how'>Summary graphs (i → j if i causes j at some lag); "
                     f"{html.escape(red)}.</p>")
        parts.append(img_html(graphs_figure(graphs), "graphs"))
    if rankings:
        parts.append("<h2>Root-cause rankings</h2><p class='how'>Candidates per method, most likely first; "
                     "✓ marks a true root cause.</p>")
        parts.append(_ranking_table(rankings, root_causes, top))
    if metrics:
        keys = sorted({key for row in metrics.values() for key in row})
        head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        rows = "".join(f"<tr><td>{html.escape(m)}</td>" + "".join(
            f"<td>{row[k]:.3f}</td>" if row.get(k) is not None else "<td>–</td>" for k in keys) + "</tr>"
            for m, row in metrics.items())
        parts.append(f"<h2>Scores</h2><table class='metrics'><tr><th>method</th>{head}</tr>{rows}</table>")
    parts.append("</body></html>")
    return atomic_write(out, page_bytes("".join(parts)))
