"""The active-inference report: one self-contained HTML page for a comparison of agents.

:func:`write_active_report` takes the result of :func:`latentscm.active.evaluate_run` (or
:func:`~latentscm.active.episodes.compare_agents`) and writes the goal-reaching curves (fraction
of goals reached within k steps, one line per agent), a table of success rate, steps, free
energy and complexity per agent, the held-out free energy of each world model and, when given,
image strips of one episode per agent (goal view first). Images are embedded as data URIs and
the page is written atomically, like :func:`latentscm.report.build_report`.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from latentscm.report.images import atomic_write_bytes, check_output_file, image_grid, png_bytes
from latentscm.report.page import PAGE_STYLE, figure_png, img_html, new_figure, page_bytes, plain_text

__all__ = ["reach_curves_figure", "agent_table", "write_active_report"]

#: (summary key, label, direction)
_COLUMNS = (
    ("success_rate", "goals reached", "higher"),
    ("mean_steps", "mean steps (unreached = cap)", "lower"),
    ("mean_steps_reached", "mean steps of reached goals", "lower"),
    ("mean_free_energy", "mean free energy (nats / obs.)", "lower"),
    ("mean_complexity", "mean complexity KL (nats / obs.)", "lower"),
)


def reach_curves_figure(agents: Mapping[str, Mapping[str, Any]]) -> bytes:
    """PNG of the fraction of goals reached within k steps (k = 0 .. max steps), one line per
    agent (``agents[name]["reach_curve"]``)."""
    figure, axes = new_figure(5.2, 3.2)
    axis = axes[0, 0]
    for name, summary in agents.items():
        curve = np.asarray(summary["reach_curve"], dtype=float)
        axis.step(np.arange(curve.size), curve, where="post", lw=1.8, label=plain_text(name))
    axis.set_xlabel("steps", fontsize=8)
    axis.set_ylabel("fraction of goals reached", fontsize=8)
    axis.set_ylim(-0.02, 1.02)
    axis.set_title("goal-reaching curves (higher and earlier is better)", fontsize=9)
    axis.tick_params(labelsize=7)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    return figure_png(figure)


def _number(value: Any) -> bool:
    """Whether ``value`` is a number to show (numpy's too; booleans are not)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _cell(value: Any, best: bool) -> str:
    if not _number(value) or math.isnan(value):  # missing or undefined (no goal reached: no mean of their steps)
        return "<td>–</td>"
    text = f"{value:.4g}"
    if math.isinf(value):  # a diverged free energy is a number to see, not a missing one (never the best)
        return f'<td class="nonfinite">{text}</td>'
    return f'<td class="best"><b>{text}</b> ★</td>' if best else f"<td>{text}</td>"


def agent_table(agents: Mapping[str, Mapping[str, Any]]) -> str:
    """HTML table: one row per summary number, one column per agent, the best marked."""
    names = list(agents)
    rows = []
    for key, label, better in _COLUMNS:
        values = [agents[n].get(key) for n in names]
        finite = [float(v) for v in values if _number(v) and math.isfinite(v)]
        best = (max(finite) if better == "higher" else min(finite)) if len(set(finite)) > 1 else None
        cells = "".join(_cell(v, best is not None and _number(v) and float(v) == best) for v in values)
        rows.append(f'<tr><td>{html.escape(label)}</td><td class="dir">{better} is better</td>{cells}</tr>')
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    return (f'<table class="metrics" id="agents"><thead><tr><th>measure</th><th></th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _held_out_table(held_out: Mapping[str, Mapping[str, float]]) -> str:
    if not held_out:
        return ""
    keys = list(dict.fromkeys(key for values in held_out.values() for key in values))  # every model's numbers
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join(f"<tr><td>{html.escape(name)}</td>" + "".join(_cell(values.get(k), False) for k in keys) + "</tr>"
                   for name, values in held_out.items())
    return (f'<table class="metrics" id="held-out"><thead><tr><th>model</th>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def write_active_report(result: Mapping[str, Any], out: str | os.PathLike, *,
                        episodes: Mapping[str, np.ndarray] | None = None, goal_image: np.ndarray | None = None,
                        title: str = "latentscm active inference") -> Path:
    """Write the report page for ``result`` to ``out`` (atomically); returns its path.

    Parameters
    ----------
    result : mapping
        The comparison (``"agents"``: name -> summary with ``"reach_curve"``; optional
        ``"held_out"``, ``"settings"``, ``"world"``).
    out : path
        The HTML file.
    episodes : mapping of str to np.ndarray, optional
        Per agent, the images (T + 1, C, H, W) of one episode, shown as strips.
    goal_image : np.ndarray, optional
        (C, H, W) the goal view of that episode, shown above the strips.
    title : str
        Page title.
    """
    agents = result.get("agents")
    if not isinstance(agents, Mapping) or not agents:
        raise ValueError("write_active_report needs a result with at least one agent under 'agents'.")
    out = check_output_file(out, "out", "write_active_report")
    settings = result.get("settings", {})
    facts = ", ".join(f"{k} = {v}" for k, v in settings.items())
    world = result.get("world", {})
    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="note">World: {html.escape(str(world.get("name", "?")))} '
             f'{html.escape(str(world.get("options", "")))}; '
             f'{html.escape(facts)}. A goal is reached when the true pose is within one grid step of the goal view\'s '
             f"pose.</p>",
             "<h2>Goal-reaching curves</h2>",
             '<p class="how">Fraction of the goals reached within k steps, per agent, on the same start states and '
             "goals.</p>",
             img_html(reach_curves_figure(agents), "goal-reaching curves"),
             "<h2>Agents</h2>", agent_table(agents),
             '<p class="how">Free energy and complexity are the agent\'s own, per observation: inaccuracy plus '
             "KL(posterior || prior predicted from the previous belief and action). The random policy has no "
             "model.</p>"]
    held_out = result.get("held_out")
    if held_out:
        parts += ["<h2>World models on held-out transitions</h2>",
                  '<p class="how">Free energy of o<sub>t+1</sub> against each model\'s own transition prior (nats per '
                  "image); complexity is its KL part.</p>", _held_out_table(held_out)]
    if episodes:
        parts.append("<h2>One episode per agent</h2>")
        if goal_image is not None:
            scale = max(1, -(-64 // goal_image.shape[-1]))
            parts.append(img_html(png_bytes(image_grid([goal_image[None]], scale=scale)), "goal view", "goal view"))
        for name, images in episodes.items():
            images = np.asarray(images)
            scale = max(1, -(-48 // images.shape[-1]))
            parts.append(img_html(png_bytes(image_grid([images], scale=scale)), f"{name} episode",
                              f"{name}: observations from the start, {len(images) - 1} steps"))
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{PAGE_STYLE}</style></head><body>{''.join(parts)}</body></html>")
    return atomic_write_bytes(out, page_bytes(page))

