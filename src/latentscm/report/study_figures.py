"""The study report's figures (PNG bytes): metrics against a hyperparameter with their seed
spread, and the rank correlation of metrics across runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentscm.report.page import figure_png, panel_grid, plain_text

__all__ = ["hyperparameter_figure", "correlation_figure"]

#: Where a hyperparameter's values are positive numbers spanning at least this ratio, the axis is logarithmic.
_LOG_RATIO = 10.0


def _ordered(values: Sequence[Any]) -> list[Any]:
    """The distinct hyperparameter values, in order (numbers by value; anything else by its type, then itself)."""
    distinct = list(dict.fromkeys(values))
    try:
        return sorted(distinct, key=lambda v: (0, "", float(v)) if _is_number(v) else (1, type(v).__name__, v))
    except TypeError:  # values of one type that do not compare: keep the order given
        return distinct


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _axis_positions(values: Sequence[Any]) -> tuple[np.ndarray, list[str], bool]:
    """x positions of hyperparameter values: the numbers themselves when all are numeric (log
    axis when they span a decade or more), else 0, 1, 2, ... with the values as tick labels."""
    if all(_is_number(v) for v in values):
        x = np.asarray(values, dtype=float)
        log = bool(np.all(x > 0) and x.max() / x.min() >= _LOG_RATIO)
        return x, [f"{v:g}" for v in x], log
    return np.arange(len(values), dtype=float), [str(v) for v in values], False


def hyperparameter_figure(panels: Sequence[tuple[str, str, Mapping[str, Mapping[Any, Sequence[float]]]]],
                          parameter: str) -> bytes | None:
    """One panel per metric: its value against ``parameter``, mean over seeds with the seed spread.

    Parameters
    ----------
    panels : sequence of (label, "higher"|"lower", lines)
        ``lines`` maps a line name (the other hyperparameters held fixed) to {parameter value:
        the metric of each seed}; each line is drawn through its means, with a bar from the
        lowest to the highest seed and a dot per seed. Lines need not share their values: every
        value of a panel has one x position and one tick.
    parameter : str
        The hyperparameter on the x axis.

    Returns
    -------
    bytes or None
        PNG bytes; ``None`` when no panel has a finite value.
    """
    shown = [(label, better, lines) for label, better, lines in panels
             if any(np.isfinite(v).any() for line in lines.values() for v in map(np.asarray, line.values()))]
    if not shown:
        return None
    figure, axes = panel_grid(len(shown), 4, 3.0, 2.7)
    for axis, (label, better, lines) in zip(axes.flat, shown):
        every = _ordered([value for by_value in lines.values() for value in by_value])
        positions, ticks, log = _axis_positions(every)
        where = dict(zip(every, positions))
        for name, by_value in lines.items():
            values = [v for v in every if v in by_value]
            x = np.array([where[v] for v in values], dtype=float)
            seeds = [np.asarray(by_value[v], dtype=float) for v in values]
            means = np.array([s[np.isfinite(s)].mean() if np.isfinite(s).any() else np.nan for s in seeds])
            low = np.array([np.nanmin(s) if np.isfinite(s).any() else np.nan for s in seeds])
            high = np.array([np.nanmax(s) if np.isfinite(s).any() else np.nan for s in seeds])
            line = axis.plot(x, means, marker="o", lw=1.4, ms=4, label=plain_text(name))[0]
            axis.vlines(x, low, high, color=line.get_color(), alpha=0.5, lw=3)
            for xi, s in zip(x, seeds):
                axis.scatter(np.full(len(s), xi), s, s=9, color=line.get_color(), alpha=0.6, zorder=3)
        if log:
            axis.set_xscale("log")
        axis.set_xticks(positions, [plain_text(t) for t in ticks], fontsize=7)
        axis.set_title(f"{plain_text(label)} ({'↑' if better == 'higher' else '↓'})", fontsize=9)
        axis.set_xlabel(plain_text(parameter), fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
        if len(lines) > 1:
            axis.legend(fontsize=6)
    figure.tight_layout()
    return figure_png(figure)


def correlation_figure(matrix: np.ndarray, labels: Sequence[str], title: str) -> bytes:
    """Heat map of a (M, M) correlation matrix between metrics, each cell labelled with its value.

    Parameters
    ----------
    matrix : array (M, M)
        Correlations in [-1, 1] (NaN where undefined, drawn blank).
    labels : sequence of str
        The M metric names.
    title : str
        Figure title.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    size = len(labels)
    figure, axis = plt.subplots(figsize=(1.4 + 0.55 * size, 1.0 + 0.5 * size))
    image = axis.imshow(np.ma.masked_invalid(matrix), cmap="RdBu_r", vmin=-1, vmax=1)
    for i in range(size):
        for j in range(size):
            if np.isfinite(matrix[i, j]):
                axis.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=6,
                          color="white" if abs(matrix[i, j]) > 0.6 else "black")
    axis.set_xticks(range(size), [plain_text(label) for label in labels], rotation=45, ha="right", fontsize=7)
    axis.set_yticks(range(size), [plain_text(label) for label in labels], fontsize=7)
    axis.set_title(plain_text(title), fontsize=9)
    figure.colorbar(image, ax=axis, fraction=0.046).ax.tick_params(labelsize=6)
    return figure_png(figure)
