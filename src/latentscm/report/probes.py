"""The probe report: one self-contained HTML page (images embedded) for ``latentscm probe``.

Sections, each present when its probe ran: the extreme-value effect table as a heat map with CI
marks (:func:`~latentscm.report.figures.effect_table_figure`), potential-flow trajectories (one
image row per flow, step 0 on the left, with each flow's factor concentration), and gradient
attribute controls (edited images per method, target gain and drift of the other factors at
matched target change). The page reuses the run report's style and figure helpers.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentscm._validation import check_sequence
from latentscm.report.figures import edit_drift_figure, effect_table_figure
from latentscm.report.images import atomic_write_bytes, check_output_file, image_grid, png_bytes
from latentscm.report.page import PAGE_STYLE, img_html, non_finite_note, page_bytes

__all__ = ["write_probe_report", "trajectory_rows", "extreme_section", "flows_section", "controls_section"]


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):  # a diverged number says which way it went
            return "nan" if np.isnan(value) else ("inf" if value > 0 else "-inf")
        # three decimals would print the small changes and drifts (fractions of a range) as 0.000
        return f"{value:.3f}" if value == 0 or abs(value) >= 0.01 else f"{value:.2g}"
    return html.escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table class="metrics"><tr>{head}</tr>{body}</table>'


def trajectory_rows(images: np.ndarray) -> list[np.ndarray]:
    """Rows for :func:`~latentscm.report.images.image_grid` from decoded trajectories
    (K, T + 1, C, H, W): one row per flow / method."""
    return [np.asarray(images[k]) for k in range(images.shape[0])]


def extreme_section(effects: Any) -> str:
    """HTML for an :class:`~latentscm.probes.ExtremeValueEffects`: the heat map and the
    read-out errors it should be compared with."""
    errors = ", ".join(f"{name} {value:.3f}" for name, value in effects.readout_error.items())
    scale = html.escape(str(effects.settings.get("scale", "?")))  # a setting, not markup
    return ("<h2>Extreme-value effects</h2>"
            "<p class=\"how\">Each cell: the change of a factor (fraction of its range) when the unit moves across "
            f"its training range, from an OLS slope over levels up to ±{scale}× that range, with its cluster-bootstrap "
            "CI; * marks a CI that excludes 0. Compare small effects with the read-out error.</p>"
            + img_html(effect_table_figure(effects), "extreme-value effect table",
                   f"measure {effects.measure}; held-out read-out error (fraction of range): {errors}"))


def flows_section(images: np.ndarray, concentration: Mapping[str, Any] | None = None,
                  pair_accuracy: float | None = None) -> str:
    """HTML for potential-flow trajectories: decoded images (K, T + 1, C, H, W) of one start
    code per flow and, when given, each flow's factor concentration (from
    :func:`~latentscm.probes.factor_concentration`) and the pair-classifier accuracy."""
    k = images.shape[0]
    caption = f"{k} flows (rows), steps left to right"
    if pair_accuracy is not None:
        caption += f"; pair-classifier accuracy {pair_accuracy:.3f} (chance {1 / k:.3f})"
    out = ("<h2>Potential flows</h2><p class=\"how\">Each row follows one learned flow from the same start code; a "
           "good flow changes one factor and differs visibly from the others.</p>"
           + img_html(png_bytes(image_grid(trajectory_rows(images), scale=3)), "flow trajectories", caption,
                      warning=non_finite_note([(f"flow {k}", row) for k, row in enumerate(trajectory_rows(images))])))
    if concentration is not None:
        factors = list(concentration["factors"])
        rows = [[f"flow {i}", concentration["dominant"][i], float(concentration["concentration"][i]),
                 *[float(c) for c in concentration["change"][i]]] for i in range(len(concentration["dominant"]))]
        out += _table(["flow", "dominant factor", "concentration", *[f"|Δ{f}|" for f in factors]], rows)
    return out


def controls_section(result: Any, images: np.ndarray | None = None, methods: Sequence[str] = ()) -> str:
    """HTML for :func:`~latentscm.probes.edit_fidelity` results, with optional edited images
    (M, T + 1, C, H, W), one row per method."""
    if isinstance(methods, str):  # iterated, the caption would list its letters as the rows
        raise TypeError(f"The 'methods' argument of controls_section must be a sequence of method names, not one "
                        f"string. Got {methods!r}; pass [{methods!r}].")
    data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    others = [f for f in data["factors"] if f != data["target"]]
    out = (f"<h2>Gradient attribute controls: {html.escape(data['target'])}</h2><p class=\"how\">Each method edits "
           "the same codes until the target has moved by the same amount; drift is how much the other factors "
           "moved, counterfactual error how far their change is from the world's exact counterfactual.</p>")
    if images is not None:
        rows = trajectory_rows(images)
        out += img_html(png_bytes(image_grid(rows, scale=3)), "edits",
                        "rows: " + ", ".join(methods) + "; steps left to right",
                        warning=non_finite_note([(methods[k] if k < len(methods) else f"row {k}", row)
                                                 for k, row in enumerate(rows)]))
    target_change = data.get("settings", {}).get("target_change")
    figure = edit_drift_figure(data["methods"], data["target"], target_change) if target_change else None
    if figure is not None:
        out += img_html(figure, "drift along the edits",
                        "each factor's drift against the target's gain; dotted: the matched target change")
    rows = []
    for method, row in data["methods"].items():
        matched = row.get("drift_at_target", {})
        rows.append([method, row["steps"], row["gain"], row["reached"],
                     *[matched.get(f, float("nan")) for f in others], *[row["drift"][f] for f in others],
                     *[row["counterfactual_error"][f] for f in others]])
    return out + _table(["method", "steps", "target gain", "reached", *[f"drift {f} at matched gain" for f in others],
                         *[f"drift {f} (last step)" for f in others], *[f"CF error {f}" for f in others]], rows)


def write_probe_report(out: str | os.PathLike, sections: Sequence[str], *, title: str = "latentscm probes",
                       notes: Sequence[str] = ()) -> Path:
    """Write one self-contained HTML page of ``sections`` (from the ``*_section`` helpers)
    atomically to ``out``; returns its path."""
    out = check_output_file(out, "out", "write_probe_report")
    notes = check_sequence(notes, "notes", "write_probe_report", what="notes")
    note_html = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    page = (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{PAGE_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{note_html}{''.join(sections)}"
            "</body></html>")
    return atomic_write_bytes(out, page_bytes(page))
