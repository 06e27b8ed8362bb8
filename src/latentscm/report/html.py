"""The static HTML report: one self-contained page (images embedded as data URIs, no network).

``build_report(run_dirs, out)`` shows, for every run: a metrics table comparing runs, latent
traversals, reconstructions, counterfactual grids per factor (input | model counterfactual |
true counterfactual from the world's oracle), the world's graph beside the learned graph, and
training curves.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentscm.report.figures import curves_figure, graphs_figure
from latentscm.report.images import atomic_write_bytes, image_grid, png_bytes

__all__ = ["build_report", "RunView", "collect_run"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
h3{font-size:1.05rem;margin-top:1.4rem}
table.metrics{border-collapse:collapse;font-size:.85rem;margin:1rem 0}
table.metrics th,table.metrics td{border:1px solid #ccc;padding:.25rem .55rem;text-align:right}
table.metrics th:first-child,table.metrics td:first-child{text-align:left;font-family:monospace}
figure{margin:.6rem 0 1.2rem}figcaption{font-size:.82rem;color:#555;margin-top:.25rem}
img{image-rendering:pixelated;max-width:100%}
.note{font-size:.85rem;color:#555}
table.cfgrid{border-collapse:collapse}table.cfgrid th{font-size:.8rem;text-align:right;padding-right:.5rem;
font-weight:600;color:#444;vertical-align:middle}table.cfgrid td{padding:1px 0}
h4{font-size:.95rem;margin:1rem 0 .4rem}
"""


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _img(png: bytes, alt: str, caption: str = "", css_class: str = "") -> str:
    cls = f' class="{css_class}"' if css_class else ""
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img{cls} alt="{html.escape(alt)}" src="{_data_uri(png)}">{cap}</figure>'


class RunView:
    """What the report shows of one run directory (computed once)."""

    def __init__(self, name: str, path: Path):
        self.name, self.path = name, path
        self.metrics: dict[str, Any] = {}
        self.figures: list[tuple[str, str]] = []  # (section title, html)
        self.notes: list[str] = []


def collect_run(run_dir: str | os.PathLike, *, n_images: int = 8, seed: int = 0, trust_code: bool = False) -> RunView:
    """Load a run, its world and logs, and render every figure of its report section.

    ``trust_code`` allows unregistered classes recorded in the run (see :func:`latentscm.load`).
    """
    from latentscm.probes.traversal_counterfactual import TraversalCounterfactual
    from latentscm.probes.traversals import latent_traversal, traversal_values
    from latentscm.run import load, read_config
    from latentscm.training.logs import read_log
    from latentscm.training.resume import world_from_config

    path = Path(run_dir)
    config = read_config(path)
    view = RunView(path.name, path)
    metrics_path = path / "metrics.json"
    if metrics_path.exists():
        view.metrics = json.loads(metrics_path.read_text())
    learner = load(path, trust_code=trust_code)
    learner_name = config["learner"].get("name", config["learner"]["class"])
    view.learner_name = learner_name
    try:
        world = world_from_config(config, path, trust_code=trust_code)
    except (ValueError, KeyError) as error:
        world = None
        view.notes.append(f"World figures skipped: {error}")

    if world is not None:
        batch = world.sample(n_images, seed=seed)
        recon = learner.reconstruct(batch.images)
        view.figures.append(("Reconstructions", _img(png_bytes(image_grid([batch.images, recon], scale=2)),
                                                     f"{view.name} reconstructions",
                                                     "top: inputs, bottom: reconstructions")))
        reference = world.sample(512, seed=seed + 1)
        codes = learner.encode(reference.images)
        values = traversal_values(codes, steps=9)
        order = np.argsort(-codes.std(0))[: min(10, codes.shape[1])]
        rows = latent_traversal(learner, batch.images[0], values, units=order)
        view.figures.append(("Latent traversals", _img(png_bytes(image_grid(rows, scale=2)), f"{view.name} traversals",
                                                       "one row per latent unit (most variable first), swept from its "
                                                       "2% to its 98% quantile")))
        model = learner if hasattr(learner, "counterfactual") else TraversalCounterfactual(learner, world, seed=seed)
        how = "learned latent SCM" if model is learner else "latent traversal of the best-matched unit (baseline)"
        section = _counterfactual_section(model, world, batch, view, how, seed)
        if section:
            view.figures.append(("Counterfactuals", section))
        graphs = [("world graph", world.graph)]
        learned = getattr(learner, "latent_graph_", None)
        if learned is not None:
            graphs.append(("learned latent graph", learned))
        view.figures.append(("Causal graphs", _img(graphs_figure(graphs), f"{view.name} graphs",
                                                   "left: the world's true graph; right: the graph the model uses "
                                                   "(red: edges absent from the true graph)" if learned is not None
                                                   else "the world's true graph (this learner has no latent graph)")))
    curves = curves_figure(read_log(path))
    if curves is not None:
        view.figures.append(("Training curves", _img(curves, f"{view.name} training curves")))
    return view


def _counterfactual_grid(rows: Sequence[tuple[str, np.ndarray]], caption: str, facts: str) -> str:
    """Labelled rows of images (nearest-neighbour upscaled to >= 96 px cells) with numbers beside."""
    height = rows[0][1].shape[2]
    scale = max(1, -(-96 // height))
    body = "".join(f'<tr><th scope="row">{html.escape(label)}</th><td>'
                   f'<img alt="{html.escape(label)}: {html.escape(caption)}" '
                   f'src="{_data_uri(png_bytes(image_grid([images], scale=scale)))}"></td></tr>'
                   for label, images in rows)
    return (f'<figure class="cf"><table class="cfgrid">{body}</table><figcaption>{html.escape(caption)}<br>'
            f"{facts}</figcaption></figure>")


def _counterfactual_section(model: Any, world: Any, batch: Any, view: RunView, how: str, seed: int) -> str:
    """Counterfactual grids per factor (rows input | model | truth), do(cause) and do(effect)
    grouped, each with its true-counterfactual error, floor and normalised excess error, and the
    cause leak measured by ``latentscm evaluate`` when the run's metrics.json has it."""
    rng = np.random.default_rng(seed)
    graph = world.graph
    null = np.asarray(model.counterfactual(batch.images, {}), dtype=np.float32)
    reconstruction = float(np.abs(null - batch.images).mean())
    groups: dict[str, list[str]] = {"do(cause): factors without parents": [],
                                    "do(effect): factors with parents": []}
    for spec in world.factor_specs:
        target = spec.other_values(batch.factor(spec.name)[:1], rng)[0]
        try:
            produced = np.asarray(model.counterfactual(batch.images, {spec.name: float(target)}), dtype=np.float32)
        except (ValueError, TypeError) as error:
            view.notes.append(f"No counterfactual for {spec.name}: {error}")
            continue
        truth = world.counterfactual(batch, {spec.name: float(target)}).images
        error = float(np.abs(produced - truth).mean())
        floor = float(np.abs(batch.images - truth).mean())
        facts = (f"true-counterfactual error <b>{error:.4f}</b> (change nothing: {floor:.4f}; reconstruction: "
                 f"{reconstruction:.4f}; normalised excess e = {(error - reconstruction) / max(floor, 1e-12):.2f})")
        parents = graph.parents(spec.name)
        leaks = [view.metrics[f"cf.cause_leak.{p}->{spec.name}"] for p in parents
                 if isinstance(view.metrics.get(f"cf.cause_leak.{p}->{spec.name}"), (int, float))]
        if leaks:
            facts += f"; cause leak {float(np.mean(leaks)):.4f} (from metrics.json)"
        elif parents:
            facts += "; cause leak: run <code>latentscm evaluate</code> to measure it"
        caption = f"do({spec.name} = {target:.3g}), {len(batch)} images — model: {how}"
        key = "do(effect): factors with parents" if parents else "do(cause): factors without parents"
        groups[key].append(_counterfactual_grid([("input", batch.images), ("model", produced), ("truth", truth)],
                                                caption, facts))
    return "".join(f"<h4>{html.escape(title)}</h4>{''.join(blocks)}" for title, blocks in groups.items() if blocks)


def _metrics_table(views: Sequence[RunView]) -> str:
    keys: list[str] = []
    for view in views:
        keys.extend(k for k, v in view.metrics.items() if k not in keys and isinstance(v, (int, float)))
    if not keys:
        return '<p class="note">No metrics.json in these runs yet (run <code>latentscm evaluate RUN</code>).</p>'
    head = "".join(f"<th>{html.escape(v.name)}</th>" for v in views)
    body = []
    for key in keys:
        cells = []
        for view in views:
            value = view.metrics.get(key)
            cells.append(f"<td>{value:.4g}</td>" if isinstance(value, (int, float)) else "<td>–</td>")
        body.append(f"<tr><td>{html.escape(key)}</td>{''.join(cells)}</tr>")
    return f'<table class="metrics" id="metrics"><thead><tr><th>metric</th>{head}</tr></thead><tbody>' \
           f'{"".join(body)}</tbody></table>'


def build_report(run_dirs: Sequence[str | os.PathLike], out: str | os.PathLike, *, title: str = "latentscm report",
                 n_images: int = 8, seed: int = 0, intro: str = "", trust_code: bool = False) -> Path:
    """Write one self-contained HTML page for ``run_dirs`` to ``out`` (atomically); returns its path."""
    if not run_dirs:
        raise ValueError("build_report needs at least one run directory.")
    views = [collect_run(run, n_images=n_images, seed=seed, trust_code=trust_code) for run in run_dirs]
    sections = []
    for view in views:
        parts = [f'<h2 id="run-{html.escape(view.name)}">{html.escape(view.name)} '
                 f'<small>({html.escape(getattr(view, "learner_name", ""))})</small></h2>']
        parts += [f'<p class="note">{html.escape(note)}</p>' for note in view.notes]
        parts += [f"<h3>{html.escape(title_)}</h3>{body}" for title_, body in view.figures]
        sections.append("\n".join(parts))
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"{f'<p>{html.escape(intro)}</p>' if intro else ''}"
            f"<h2>Metrics</h2>{_metrics_table(views)}{''.join(sections)}</body></html>")
    return atomic_write_bytes(out, page.encode("utf-8"))
