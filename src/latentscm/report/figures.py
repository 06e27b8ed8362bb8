"""Matplotlib figures for the report, returned as PNG bytes (no files, no display)."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["graphs_figure", "curves_figure"]


def _png(figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _figure(width: float, height: float, columns: int = 1):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(1, columns, figsize=(width, height), squeeze=False)


def _draw_graph(axis, graph, positions: Mapping[str, tuple[float, float]], title: str,
                highlight: set[tuple[str, str]] | None = None) -> None:
    axis.set_title(title, fontsize=10)
    axis.set_axis_off()
    for parent, child in graph.edges:
        (x0, y0), (x1, y1) = positions[parent], positions[child]
        colour = "#1f77b4" if highlight is None or (parent, child) in highlight else "#d62728"
        axis.annotate("", xy=(x1, y1), xytext=(x0, y0),
                      arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.6,
                                  "shrinkA": 18, "shrinkB": 18})
    for name, (x, y) in positions.items():
        axis.text(x, y, name, ha="center", va="center", fontsize=8,
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
    figure, axes = _figure(4.2 * len(graphs), 3.6, columns=len(graphs))
    reference = set(graphs[0][1].edges)
    for k, (title, graph) in enumerate(graphs):
        _draw_graph(axes[0, k], graph, positions, title, None if k == 0 else reference)
    return _png(figure)


def curves_figure(records: Sequence[Mapping[str, Any]], keys: Sequence[str] | None = None) -> bytes | None:
    """Training curves (value vs step) of the numeric keys of ``train`` records; None if empty."""
    train = [r for r in records if r.get("kind", "train") == "train" and "step" in r]
    if not train:
        return None
    skip = {"step", "time", "kind", "steps_per_s", "epoch"}
    available = [k for k in train[-1] if k not in skip and isinstance(train[-1][k], (int, float))]
    keys = [k for k in (keys or available) if k in available][:6]
    if not keys:
        return None
    figure, axes = _figure(3.0 * len(keys), 2.6, columns=len(keys))
    steps = np.array([r["step"] for r in train])
    for axis, key in zip(axes[0], keys):
        values = np.array([r.get(key, np.nan) for r in train], dtype=float)
        axis.plot(steps, values, lw=1.4)
        axis.set_title(key, fontsize=9)
        axis.set_xlabel("step", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
    return _png(figure)
