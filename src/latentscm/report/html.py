"""The static HTML report: one self-contained page (images embedded as data URIs, no network).

``build_report(run_dirs, out)`` opens with a headline table — the handful of numbers a reader
compares, each with its direction and the best run marked — and charts (bars per metric, the
true-counterfactual error per intervention against its "change nothing" floor); then, for every
run, reconstructions, latent traversals, counterfactual grids per factor (rows labelled input /
model / truth, do(cause) and do(effect) grouped, each with its own numbers), the world's graph
beside the learned graph and training curves, each section with one sentence on how to read it;
the full metric table comes last, collapsed.
"""

from __future__ import annotations

import html
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentscm._validation import check_number
from latentscm.report.figures import counterfactual_error_figure, curves_figure, graphs_figure, metric_bars_figure
from latentscm.report.images import atomic_write_bytes, check_output_file, image_grid, png_bytes
from latentscm.report.page import (
    PAGE_STYLE,
    counterfactual_grid_html,
    element_id,
    img_html,
    non_finite_note,
    page_bytes,
)

__all__ = ["build_report", "RunView", "collect_run", "matched_graph"]



#: (metrics.json key, label, "higher"/"lower" is better, what it measures)
HEADLINE = (
    ("mig", "MIG", "higher", "mutual information gap: each factor captured by one latent"),
    ("dci.disentanglement", "DCI-D", "higher", "each latent predicts one factor"),
    ("infomec.infom", "InfoM", "higher", "modularity: each latent informs about one factor"),
    ("infomec.infoe", "InfoE", "higher", "explicitness: factors readable from the latents"),
    ("infomec.infoc", "InfoC", "higher", "compactness: each factor in few latents"),
    ("mcc", "MCC", "higher", "correlation of matched latents and factors"),
    ("cf.reconstruction_error", "reconstruction", "lower", "mean |pixel| error of the null counterfactual"),
    ("cf.true_error", "true-CF error", "lower", "distance to the world's exact counterfactual"),
    ("cf.identity_error", "floor (change nothing)", "lower", "the true-CF error of returning the input"),
    ("cf.excess", "excess e", "lower", "(true-CF error − reconstruction) / floor: 0 perfect, 1 useless"),
    ("cf.cause_leak", "cause leak", "lower", "a cause that moved after intervening on its effect"),
    ("cf.effect", "effect error", "lower", "an effect that did not follow its intervened cause"),
    ("temporal.r2_diag", "R² diag (temporal)", "higher",
     "CITRIS's R² matrix: each causal variable from its own group of units"),
    ("temporal.r2_max_off_diag", "R² max off-diag (temporal)", "lower",
     "CITRIS's R² matrix: the most of another variable a group holds"),
    ("temporal.mcc", "MCC (temporal)", "higher", "correlation of matched latents and the process's variables"),
    ("temporal.jacobian_auroc", "graph AUROC (temporal)", "higher",
     "the learned transition's lag-1 edges against the true graph (0.5: chance)"),
    ("temporal.cf_excess", "CF excess (temporal)", "lower",
     "counterfactual sequences against the exact ones: 0 as close as reconstructing them, 1 no better than "
     "changing nothing"),
)
#: one sentence per section on how to read it
READING = {
    "Reconstructions": "Top: held-out inputs; bottom: the model's reconstructions — what it cannot encode is "
                       "blurred or missing.",
    "Latent traversals": "Each row sweeps one latent unit with the others fixed; a disentangled unit changes one "
                         "factor only.",
    "Counterfactuals": "For each factor the model intervenes on the same inputs; compare its row with the truth row "
                       "rendered by the world (e near 0 is good, near 1 no better than changing nothing). "
                       "Interventions on effects must leave their causes in place.",
    "Causal graphs": "The graph the world was generated from beside the graph the model uses.",
    "Training curves": "Losses logged during training; a curve still falling means more steps would help.",
}
_FLOOR = "cf.identity_error"


class RunView:
    """What the report shows of one run directory (computed once)."""

    def __init__(self, name: str, path: Path):
        self.name, self.path = name, path
        self.metrics: dict[str, Any] = {}
        self.figures: list[tuple[str, str]] = []  # (section title, html)
        self.notes: list[str] = []
        self.kinds: dict[str, str] = {}  # factor -> "do(cause)" / "do(effect)"


def collect_run(run_dir: str | os.PathLike, *, n_images: int = 8, seed: int = 0, trust_code: bool = False) -> RunView:
    """Load a run, its world and logs, and render every figure of its report section.

    ``trust_code`` allows unregistered classes recorded in the run (see :func:`latentscm.load`).
    """
    from latentscm.probes.traversal_counterfactual import TraversalCounterfactual
    from latentscm.probes.traversals import latent_traversal, traversal_values
    from latentscm.run import load, read_config, read_metrics
    from latentscm.training.logs import LOG_NAME, DamagedLogWarning, read_log
    from latentscm.training.resume import world_from_config

    n_images = int(check_number(n_images, "n_images", "collect_run", low=1, integer=True))
    seed = int(check_number(seed, "seed", "collect_run", low=0, integer=True))
    path = Path(run_dir)
    config = read_config(path)
    view = RunView(path.resolve().name or str(path), path)  # "." names the directory it stands for
    view.metrics = read_metrics(path)  # either form: `latentscm evaluate`'s {"metrics": {...}} or flat
    learner = load(path, trust_code=trust_code)
    learner_name = config["learner"].get("name", config["learner"]["class"])
    view.learner_name = learner_name
    try:
        world = world_from_config(config, path, trust_code=trust_code)
    except (ValueError, KeyError) as error:
        world = None
        view.notes.append(f"World figures skipped: {error}")

    if world is not None and not getattr(learner, "can_decode", True):
        view.notes.append(f"Reconstructions, latent traversals and counterfactuals skipped: {type(learner).__name__} "
                          f"has no decoder (an encoder-only learner); its codes are scored in the metrics.")
    elif world is not None:
        view.kinds = {f: "do(effect)" if world.graph.parents(f) else "do(cause)" for f in world.factor_names}
        batch = world.sample(n_images, seed=seed)
        recon = learner.reconstruct(batch.images)
        view.figures.append(("Reconstructions", img_html(png_bytes(image_grid([batch.images, recon], scale=2)),
                                                     f"{view.name} reconstructions",
                                                     "top: inputs, bottom: reconstructions",
                                                     warning=non_finite_note([("inputs", batch.images),
                                                                              ("reconstructions", recon)]))))
        reference = world.sample(512, seed=seed + 1)
        codes = learner.encode(reference.images)
        try:
            values = traversal_values(codes, steps=9)
        except ValueError as error:  # NaN codes (a diverged run): no traversal to draw, the rest of the page stays
            view.notes.append(f"Latent traversals skipped: {error}")
        else:
            order = np.argsort(-codes.std(0))[: min(10, codes.shape[1])]
            rows = latent_traversal(learner, batch.images[0], values, units=order)
            picture = png_bytes(image_grid(rows, scale=2))
            warning = non_finite_note([(f"unit {unit}", row) for unit, row in zip(order, rows)])
            view.figures.append(("Latent traversals", img_html(picture, f"{view.name} traversals",
                                                               "one row per latent unit (most variable first), "
                                                               "swept from its 2% to its 98% quantile",
                                                               warning=warning)))
        model = learner if hasattr(learner, "counterfactual") else TraversalCounterfactual(learner, world, seed=seed)
        how = ("learned latent SCM" if model is learner else
               "do() on the best-matched unit of the learned implicit SCM" if model.uses_do_ else
               "latent traversal of the best-matched unit (baseline)")
        section = _counterfactual_section(model, world, batch, view, how, seed)
        if section:
            view.figures.append(("Counterfactuals", section))
        graphs = [("world graph", world.graph)]
        learned = getattr(learner, "latent_graph_", None)
        matched = ""
        if learned is not None and model is not learner and not set(learned.nodes) <= set(world.graph.nodes):
            # a graph over units (ILCM's z0 ...): named by the units' matched factors, so it can be compared
            learned = matched_graph(learned, model.units_, learner.unit_names(), list(world.graph.nodes))
            matched = " (the model's units named by the factors they were matched to)"
        if learned is not None:
            graphs.append(("learned latent graph", learned))
        view.figures.append(("Causal graphs", img_html(graphs_figure(graphs), f"{view.name} graphs",
                                                   "left: the world's true graph; right: the graph the model uses"
                                                   + matched + " (red: edges absent from the true graph)"
                                                   + _graph_distances(world.graph, learned) if learned is not None
                                                   else "the world's true graph (this learner has no latent graph)")))
    try:
        with warnings.catch_warnings(record=True) as caught:  # damaged lines: plotted without them, and said so
            warnings.simplefilter("always", DamagedLogWarning)
            records = read_log(path)
        view.notes += [f"Training curves: {w.message}" for w in caught if issubclass(w.category, DamagedLogWarning)]
    except OSError as error:  # an unreadable log costs the curves, not the report
        records = []
        view.notes.append(f"Training curves skipped: '{path / LOG_NAME}' could not be read ({error}).")
    curves = curves_figure(records)
    if curves is not None:
        view.figures.append(("Training curves", img_html(curves, f"{view.name} training curves")))
    return view


def matched_graph(learned: Any, units: dict[str, int], unit_names: list[str], factor_names: list[str]) -> Any:
    """``learned`` (a CausalGraph over ``unit_names``) with each unit renamed to the factor it was matched to
    (``units``: factor -> unit index, e.g. :class:`~latentscm.probes.traversal_counterfactual.
    TraversalCounterfactual`'s ``units_``), over the nodes ``factor_names``; edges touching an unmatched unit are
    dropped."""
    from latentscm.graph import CausalGraph

    factor_of = {unit_names[u]: factor for factor, u in units.items()}
    edges = [(factor_of[a], factor_of[b]) for a, b in learned.edges if a in factor_of and b in factor_of]
    return CausalGraph(edges, nodes=list(factor_names))


def _graph_distances(true: Any, learned: Any) -> str:
    """Caption text: SHD and SID of the model's latent graph from the world's (nothing when their nodes
    differ, e.g. a graph over style latents too)."""
    from latentscm.metrics import shd, sid

    if set(learned.nodes) != set(true.nodes):
        return ""
    pairs = len(true.nodes) * (len(true.nodes) - 1)
    return (f"; SHD {shd(true, learned):g}, SID {sid(true, learned)['sid']:g} of {pairs} pairs (interventional "
            f"distributions the model's graph gets wrong; both lower is better)")


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
        # as counterfactual_metrics: no e where the intervention leaves every image unchanged (no floor)
        excess = (f"{(error - reconstruction) / floor:.2f}" if floor > 0 else
                  "– (these images do not change: no floor to compare with)")
        facts = (f"true-counterfactual error <b>{error:.4f}</b> (change nothing: {floor:.4f}; reconstruction: "
                 f"{reconstruction:.4f}; normalised excess e = {excess})")
        parents = graph.parents(spec.name)
        leaks = [view.metrics[f"cf.cause_leak.{p}->{spec.name}"] for p in parents
                 if isinstance(view.metrics.get(f"cf.cause_leak.{p}->{spec.name}"), (int, float))]
        if leaks:
            facts += f"; cause leak {float(np.mean(leaks)):.4f} (from metrics.json)"
        elif parents:
            facts += "; cause leak: run <code>latentscm evaluate</code> to measure it"
        caption = f"do({spec.name} = {target:.3g}), {len(batch)} images — model: {how}"
        key = "do(effect): factors with parents" if parents else "do(cause): factors without parents"
        groups[key].append(counterfactual_grid_html([("input", batch.images), ("model", produced), ("truth", truth)],
                                                caption, facts))
    return "".join(f"<h4>{html.escape(title)}</h4>{''.join(blocks)}" for title, blocks in groups.items() if blocks)


def _display_names(paths: Sequence[Path]) -> list[str]:
    """One name per run directory: its own name, with as many parent folders as it takes to tell
    runs of the same name apart (``a/run`` and ``b/run``), so no two columns, bars or series share
    a name (the same directory given twice keeps one)."""
    parts = [path.resolve().parts for path in paths]
    depth = [1] * len(paths)
    while True:
        names = [Path(*p[-d:]).as_posix() for p, d in zip(parts, depth)]
        owners: dict[str, set[tuple[str, ...]]] = {}
        for name, p in zip(names, parts):
            owners.setdefault(name, set()).add(p)
        clashing = [i for i, name in enumerate(names) if len(owners[name]) > 1 and depth[i] < len(parts[i])]
        if not clashing:
            return names
        for i in clashing:
            depth[i] += 1


def _value(view: RunView, key: str) -> float:
    value = view.metrics.get(key)
    return float(value) if isinstance(value, (int, float)) else float("nan")


def _headline_table(views: Sequence[RunView]) -> str:
    """The handful of numbers a reader compares, with direction and the best run in bold."""
    rows = []
    for key, label, better, meaning in HEADLINE:
        recorded = [isinstance(v.metrics.get(key), (int, float)) for v in views]
        if not any(recorded):
            continue
        values = [_value(v, key) for v in views]
        finite = [x for x in values if np.isfinite(x)]
        best = (max(finite) if better == "higher" else min(finite)) if finite else None
        cells = []
        for x, present in zip(values, recorded):
            if not present:  # not measured
                cells.append("<td>–</td>")
            elif not np.isfinite(x):  # measured, and diverged or undefined (metrics.json writes it as null)
                cells.append(f'<td class="nonfinite">{x:.4g}</td>')
            elif x == best and len(set(finite)) > 1 and key != _FLOOR:  # no star when all runs tie
                cells.append(f'<td class="best"><b>{x:.4g}</b> ★</td>')
            else:
                cells.append(f"<td>{x:.4g}</td>")
        arrow = "higher is better" if better == "higher" else "lower is better"
        rows.append(f'<tr><td title="{html.escape(meaning)}">{html.escape(label)}</td><td class="dir">{arrow}</td>'
                    f'{"".join(cells)}</tr>')
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(v.name)}</th>" for v in views)
    return (f'<table class="metrics headline" id="headline"><thead><tr><th>metric</th><th></th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _summary_charts(views: Sequence[RunView]) -> str:
    bars = metric_bars_figure([(label, better, {v.name: _value(v, key) for v in views})
                               for key, label, better, _ in HEADLINE if key != _FLOOR])
    parts = []
    if bars is not None:
        parts.append(img_html(bars, "headline metrics per run",
                              "one panel per headline metric (green: the best run, or the runs tied for it)"))
    kinds: dict[str, str] = {}
    for view in views:
        kinds.update(view.kinds)
    floors: dict[str, float] = {}
    run_floors: dict[str, dict[str, float]] = {}  # each run's own: runs on different worlds have different floors
    errors: dict[str, dict[str, float]] = {}
    for view in views:
        for factor in kinds:
            error, floor = _value(view, f"cf.true_error.{factor}"), _value(view, f"{_FLOOR}.{factor}")
            if np.isfinite(error):
                errors.setdefault(view.name, {})[factor] = error
            if np.isfinite(floor):
                floors.setdefault(factor, floor)
                run_floors.setdefault(view.name, {})[factor] = floor
    shared = all(np.isclose(floor, floors[factor]) for own in run_floors.values() for factor, floor in own.items())
    chart = (counterfactual_error_figure(errors, floors, kinds, run_floors=None if shared else run_floors)
             if errors and floors else None)
    if chart is not None:
        ticks = "black ticks" if shared else "black tick over each bar"
        parts.append(img_html(chart, "true-counterfactual error per intervention",
                          f"bars: each run's error against the world's exact counterfactual; {ticks}: the error "
                          "of changing nothing. A bar above its tick is worse than leaving the image unchanged."))
    return "".join(parts)


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
    """Write one self-contained HTML page for ``run_dirs`` (a list, even of one run) to ``out`` (atomically);
    returns its path."""
    if isinstance(run_dirs, (str, bytes, os.PathLike)):  # a string would be iterated as one run per character
        raise TypeError(f"The 'run_dirs' argument of build_report must be a sequence of run directories, not one "
                        f"path. Got {os.fspath(run_dirs)!r}; pass [{os.fspath(run_dirs)!r}].")
    if not run_dirs:
        raise ValueError("build_report needs at least one run directory.")
    n_images = int(check_number(n_images, "n_images", "build_report", low=1, integer=True))
    seed = int(check_number(seed, "seed", "build_report", low=0, integer=True))
    out = check_output_file(out, "out", "build_report")
    views = [collect_run(run, n_images=n_images, seed=seed, trust_code=trust_code) for run in run_dirs]
    for view, name in zip(views, _display_names([view.path for view in views])):
        view.name = name
    sections = []
    shown: dict[str, int] = {}  # the same directory given twice keeps its name: its second heading gets "-2"
    for view in views:
        shown[view.name] = shown.get(view.name, 0) + 1
        anchor = element_id("run", view.name, *([shown[view.name]] if shown[view.name] > 1 else []))
        parts = [f'<h2 id="{anchor}">{html.escape(view.name)} '
                 f'<small>({html.escape(getattr(view, "learner_name", ""))})</small></h2>']
        parts += [f'<p class="note">{html.escape(note)}</p>' for note in view.notes]
        parts += [f"<h3>{html.escape(title_)}</h3>"
                  + (f'<p class="how">{html.escape(READING[title_])}</p>' if title_ in READING else "") + body
                  for title_, body in view.figures]
        sections.append("\n".join(parts))
    headline = _headline_table(views)
    summary = (f'<p class="how">The numbers to compare first; hover a metric for what it measures, the best run '
               f'is in bold with a star. The full table is at the end.</p>{headline}{_summary_charts(views)}'
               if headline else '<p class="note">None of the headline metrics is in these runs\' metrics.json '
                                'yet (run <code>latentscm evaluate RUN</code>).</p>')
    page = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{PAGE_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"{f'<p>{html.escape(intro)}</p>' if intro else ''}"
            f"<h2>Summary</h2>{summary}{''.join(sections)}"
            f'<h2>All metrics</h2><details id="all-metrics"><summary>every number in metrics.json '
            f"({len(views)} run{'s' if len(views) != 1 else ''})</summary>{_metrics_table(views)}</details>"
            f"</body></html>")
    return atomic_write_bytes(out, page_bytes(page))
