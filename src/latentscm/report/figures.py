"""Matplotlib figures for the report, returned as PNG bytes (no files, no display)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentscm.report.page import figure_png, new_figure, panel_grid, plain_text

__all__ = ["graphs_figure", "curves_figure", "metric_bars_figure", "counterfactual_error_figure", "effect_table_figure",
           "edit_drift_figure"]


def _draw_graph(axis, graph, positions: Mapping[str, tuple[float, float]], title: str,
                highlight: set[tuple[str, str]] | None = None) -> None:
    axis.set_title(plain_text(title), fontsize=10)
    axis.set_axis_off()
    for parent, child in graph.edges:
        (x0, y0), (x1, y1) = positions[parent], positions[child]
        colour = "#1f77b4" if highlight is None or (parent, child) in highlight else "#d62728"
        axis.annotate("", xy=(x1, y1), xytext=(x0, y0),
                      arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.6,
                                  "shrinkA": 18, "shrinkB": 18})
    for name, (x, y) in positions.items():
        axis.text(x, y, plain_text(name), ha="center", va="center", fontsize=8,
                  bbox={"boxstyle": "round,pad=0.3", "fc": "#f4f4f4", "ec": "#555555"})
    axis.set_xlim(-1.5, 1.5)
    axis.set_ylim(-1.4, 1.4)


def graphs_figure(graphs: Sequence[tuple[str, Any]]) -> bytes:
    """Draw causal graphs side by side with the same node positions (a circle in node order).
    Edges of later graphs that are missing from the first graph are drawn in red."""
    nodes: list[str] = []
    for _, graph in graphs:
        nodes.extend(n for n in graph.nodes if n not in nodes)
    positions = {name: (1.1 * math.cos(2 * math.pi * i / len(nodes) + math.pi / 2),
                        1.1 * math.sin(2 * math.pi * i / len(nodes) + math.pi / 2)) for i, name in enumerate(nodes)}
    figure, axes = new_figure(4.2 * len(graphs), 3.6, columns=len(graphs))
    reference = set(graphs[0][1].edges)
    for k, (title, graph) in enumerate(graphs):
        _draw_graph(axes[0, k], graph, positions, title, None if k == 0 else reference)
    return figure_png(figure)


#: how :class:`~latentscm.training.logs.RunLog` writes a non-finite number (JSON has no NaN)
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _logged_number(value: Any) -> float | None:
    """A logged value as a float (a number, or a non-finite one as RunLog writes it); None for anything else
    (booleans, text, a missing value)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return _NON_FINITE.get(value) if isinstance(value, str) else None


def curves_figure(records: Sequence[Mapping[str, Any]], keys: Sequence[str] | None = None) -> bytes | None:
    """Training curves (value vs step) of the numeric keys of ``train`` records; None if empty.

    A key is drawn when any record holds a number for it (a diverged value, which the log writes as
    ``"nan"`` / ``"inf"``, counts, so a curve that ends in a divergence is still drawn); booleans are not curves.
    """
    train = [r for r in records if r.get("kind", "train") == "train" and "step" in r]
    if not train:
        return None
    skip = {"step", "time", "kind", "steps_per_s", "epoch"}
    available = list(dict.fromkeys(k for r in train for k, v in r.items()
                                   if k not in skip and _logged_number(v) is not None))
    keys = [k for k in (keys or available) if k in available][:6]
    if not keys:
        return None
    figure, axes = new_figure(3.0 * len(keys), 2.6, columns=len(keys))
    steps = np.array([r["step"] for r in train])
    for axis, key in zip(axes[0], keys):
        values = np.array([_logged_number(r.get(key)) for r in train], dtype=float)  # None -> NaN
        axis.plot(steps, values, lw=1.4)
        axis.set_title(plain_text(key), fontsize=9)
        axis.set_xlabel("step", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    return figure_png(figure)


def metric_bars_figure(metrics: Sequence[tuple[str, str, Mapping[str, float]]]) -> bytes | None:
    """One small bar chart per metric comparing runs (six per row): ``metrics`` is a list of
    (label, "higher"|"lower" is better, {run name: value}); None when nothing has a value."""
    shown = [(label, better, values) for label, better, values in metrics
             if any(np.isfinite(v) for v in values.values())]
    if not shown:
        return None
    figure, axes = panel_grid(len(shown), 6, 2.3, 2.6)
    for axis, (label, better, values) in zip(axes.flat, shown):
        names = list(values)
        heights = np.array([values[n] for n in names], dtype=float)
        colours = ["#1f77b4"] * len(names)
        finite = np.isfinite(heights)
        if finite.any():  # the best of the drawn (finite) values: an infinite one is an empty bar, never the best
            best = heights[finite].max() if better == "higher" else heights[finite].min()
            for k in np.flatnonzero(finite & (heights == best)):  # runs tied for the best are all marked
                colours[k] = "#2ca02c"
        axis.bar(range(len(names)), np.where(finite, heights, 0.0), color=colours)
        axis.set_xticks(range(len(names)), [plain_text(n) for n in names], rotation=30, ha="right", fontsize=7)
        axis.set_title(f"{plain_text(label)} ({'↑' if better == 'higher' else '↓'})", fontsize=9)
        axis.tick_params(labelsize=7)
        axis.grid(axis="y", alpha=0.3)
    return figure_png(figure)


def counterfactual_error_figure(errors: Mapping[str, Mapping[str, float]], floors: Mapping[str, float],
                                kinds: Mapping[str, str], *,
                                run_floors: Mapping[str, Mapping[str, float]] | None = None) -> bytes | None:
    """True-counterfactual error per intervened factor for each run (bars) against the "change
    nothing" floor (black tick); ``kinds`` labels each factor do(cause) / do(effect).

    ``floors`` (factor -> floor) is one tick per factor, shared by the runs; ``run_floors`` (run ->
    factor -> floor), when given, draws each run's own floor over its bar instead (runs on worlds that
    differ have different floors)."""
    factors = [f for f in floors if any(f in e for e in errors.values())]
    if not factors:
        return None
    runs = list(errors)
    figure, axes = new_figure(max(4.0, 1.3 * len(factors) * max(1, len(runs)) ** 0.5), 2.8)
    axis = axes[0, 0]
    width = 0.8 / max(1, len(runs))
    for r, run in enumerate(runs):
        heights = [errors[run].get(f, np.nan) for f in factors]
        positions = np.arange(len(factors)) - 0.4 + width * (r + 0.5)
        axis.bar(positions, heights, width, label=plain_text(run))
        if run_floors is not None:
            axis.scatter(positions, [run_floors.get(run, {}).get(f, np.nan) for f in factors], marker="_",
                         s=600 / len(runs) ** 2, color="black", label="change nothing" if r == 0 else None, zorder=3)
    if run_floors is None:
        axis.scatter(np.arange(len(factors)), [floors[f] for f in factors], marker="_", s=600, color="black",
                     label="change nothing", zorder=3)
    axis.set_xticks(range(len(factors)), [plain_text(f"{f}\n{kinds.get(f, '')}") for f in factors], fontsize=7)
    axis.set_ylabel("mean |pixel| error", fontsize=8)
    axis.set_title("true-counterfactual error per intervention (lower is better)", fontsize=9)
    axis.tick_params(labelsize=7)
    axis.grid(axis="y", alpha=0.3)
    axis.legend(fontsize=7)
    return figure_png(figure)


def effect_table_figure(effects: Any) -> bytes:
    """Heat map of an :class:`~latentscm.probes.ExtremeValueEffects` table: rows units, columns
    factors, colour the change across the unit's training range (fraction of the factor's
    range), each cell labelled with its value and CI; a cell whose CI excludes 0 gets a ``*``."""
    values = np.asarray(effects.effect_per_range, dtype=float)
    intervals = np.asarray(effects.effect_per_range_ci, dtype=float)
    excludes = effects.excludes_zero()
    n_units, n_factors = values.shape
    figure, axes = new_figure(1.6 + 1.5 * n_factors, 0.9 + 0.5 * n_units)
    axis = axes[0, 0]
    bound = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    image = axis.imshow(values, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto")
    for u in range(n_units):
        for k in range(n_factors):
            label = f"{values[u, k]:+.2f}{'*' if excludes[u, k] else ''}\n[{intervals[u, k, 0]:+.2f}, " \
                    f"{intervals[u, k, 1]:+.2f}]"
            axis.text(k, u, label, ha="center", va="center", fontsize=6)
    axis.set_xticks(range(n_factors), [plain_text(f) for f in effects.factor_names], fontsize=7)
    axis.set_yticks(range(n_units), [f"z{unit}" for unit in effects.units], fontsize=7)
    axis.set_title(f"extreme-value effects ({effects.measure}; * = {effects.ci:.0%} CI excludes 0)", fontsize=8)
    figure.colorbar(image, ax=axis, fraction=0.05).ax.tick_params(labelsize=6)
    return figure_png(figure)


def edit_drift_figure(methods: Mapping[str, Mapping[str, Any]], target: str, target_change: float) -> bytes | None:
    """One panel per non-target factor: its drift (fraction of range) against the target's gain
    along each method's edit path (``edit_fidelity(...).methods[m]["curve"]``), with the matched
    target change marked; None when no method has a path or no factor besides the target was read."""
    curves = {m: row["curve"] for m, row in methods.items() if row.get("curve")}
    if not curves:
        return None
    factors = list(next(iter(curves.values()))["drift"])
    if not factors:  # a read-out of the target alone: no drift to draw
        return None
    figure, axes = panel_grid(len(factors), 3, 3.0, 2.4)
    for axis, factor in zip(axes.flat, factors):
        for method, curve in curves.items():
            axis.plot(curve["gain"], curve["drift"][factor], marker=".", markersize=3, linewidth=1,
                      label=plain_text(method))
        axis.axvline(target_change, color="grey", linestyle=":", linewidth=1)
        axis.set_xlabel(plain_text(f"gain of {target} (fraction of range)"), fontsize=7)
        axis.set_ylabel(plain_text(f"drift of {factor}"), fontsize=7)
        axis.tick_params(labelsize=6)
    axes.flat[0].legend(fontsize=6)
    return figure_png(figure)
