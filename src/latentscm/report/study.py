"""The study report: one self-contained HTML page for a study directory.

``build_study_report(study_dir)`` reads the study's spec (``study.json``) and its trials and
writes, in order: a summary (trials done / failed / pending, with every failure's message);
for each world, metric-by-hyperparameter plots (mean over seeds, with the seed spread) and a
rank table of the learner settings (mean ± std over seeds, rank per metric in the direction that
is better, mean rank); the rank correlation of metrics across runs (Spearman, as in Locatello et
al. 2019, "Challenging common assumptions in the unsupervised learning of disentangled
representations"); and the best run of each learner with its counterfactual grid (rendered by the
run report, :func:`latentscm.report.html.collect_run`). Every image is embedded; nothing is
fetched from the network.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from latentscm._io import read_json_object
from latentscm._validation import check_number
from latentscm.report.html import HEADLINE, READING, collect_run
from latentscm.report.images import atomic_write_bytes, check_output_file
from latentscm.report.page import PAGE_STYLE, element_id, img_html, page_bytes
from latentscm.report.study_figures import correlation_figure, hyperparameter_figure
from latentscm.study.results import collect_results, metric_columns
from latentscm.study.runner import SPEC_NAME
from latentscm.study.spec import load_spec
from latentscm.study.status import locate_trials, trial_dir
from latentscm.study.trials import expand

__all__ = ["build_study_report", "study_metrics", "rank_table", "metric_correlations", "best_trials",
           "metric_direction"]

#: Metrics the report ranks and plots, beyond the run report's headline: (key, label, direction).
_EXTRA = (("reconstruction.mse", "reconstruction MSE", "lower"), ("sap", "SAP", "higher"),
          ("dci.completeness", "DCI-C", "higher"), ("dci.informativeness", "DCI-I", "higher"))
_STUDY_STYLE = """
table.ranks td.rank{font-size:.75rem;color:#666}table.failed td{text-align:left;font-family:monospace;
font-size:.8rem}
"""


def study_metrics(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(key, label, "higher"|"lower") of the headline metrics present in the results, in headline order."""
    present = set(metric_columns(rows))
    known = [(key, label, better) for key, label, better, _ in HEADLINE if key != "cf.identity_error"] + list(_EXTRA)
    return [(key, label, better) for key, label, better in known
            if key in present and any(isinstance(r.get(key), (int, float)) for r in rows)]


def metric_direction(key: str) -> tuple[str, str, bool]:
    """(label, "higher"|"lower", known) for a results column.

    A headline metric gives its own label and direction; a column of one of their families gives
    the family's direction (``cf.true_error.shape`` is an error like ``cf.true_error``, and every
    ``cf.*`` / ``dcf.*`` / ``reconstruction.*`` column is a distance or an error); ``sampled.*`` and
    ``active.*`` columns are the metric of that name on other codes. ``known`` is False where
    nothing says which way is better ("higher" is then assumed).
    """
    known = [(k, label, better) for k, label, better, _ in HEADLINE] + list(_EXTRA)
    for k, label, better in known:
        if key == k:
            return label, better, True
    base = key.split(".", 1)[1] if key.startswith(("sampled.", "active.")) else key
    for k, _, better in known:
        if base == k or base.startswith(k + "."):
            return key, better, True
    if base.startswith(("cf.", "dcf.", "reconstruction.")):
        return key, "lower", True
    return key, "higher", False


def _setting(row: dict[str, Any], varied: Sequence[str]) -> str:
    """A learner setting's name: its label and the hyperparameters its grid varied."""
    parts = [f"{name}={_short(row.get(f'param.{name}'))}" for name in varied]
    return f"{row['learner']}" + (f" ({', '.join(parts)})" if parts else "")


def _short(value: Any) -> str:
    if value is None:  # a variant that does not set this hyperparameter
        return "default"
    if isinstance(value, float):  # settings are grouped by this text: 6 digits where they say the value, else all
        text = f"{value:g}"
        return text if float(text) == value else repr(value)
    return str(value)


def _done(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["status"] == "done"]


def rank_table(rows: Sequence[dict[str, Any]], varied: dict[str, Sequence[str]],
               metrics: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Learner settings of one world ranked on each metric (mean over seeds; rank 1 is best).

    Parameters
    ----------
    rows : sequence of dict
        Results rows (``status == "done"`` ones are used).
    varied : dict of str to sequence of str
        Learner label -> the hyperparameters its grid varies.
    metrics : sequence of (key, label, direction)

    Returns
    -------
    list of dict
        One entry per setting: ``setting``, ``learner``, ``seeds`` (count), ``mean`` / ``std``
        / ``rank`` (dicts by metric key), ``counted`` (by metric key: the seeds behind the mean, those
        with a finite value, 0 where every measured seed diverged; a NaN metric is left out of the mean) and
        ``mean_rank`` (over the metrics it has), sorted by mean rank. Ties share the average rank.
    """
    from scipy.stats import rankdata

    groups: dict[str, list[dict[str, Any]]] = {}
    for row in _done(rows):
        groups.setdefault(_setting(row, varied.get(row["learner"], ())), []).append(row)
    entries = []
    for setting, members in groups.items():
        mean, std, counted = {}, {}, {}
        for key, _, _ in metrics:
            values = np.array([m[key] for m in members if isinstance(m.get(key), (int, float))], dtype=float)
            if values.size:  # measured: 0 counted where every seed's value is non-finite (diverged)
                counted[key] = int(np.isfinite(values).sum())
            values = values[np.isfinite(values)]
            if values.size:
                mean[key], std[key] = float(values.mean()), float(values.std())
        entries.append({"setting": setting, "learner": members[0]["learner"], "seeds": len(members), "mean": mean,
                        "std": std, "counted": counted, "rank": {}})
    for key, _, better in metrics:
        having = [e for e in entries if key in e["mean"]]
        if not having:
            continue
        scores = np.array([e["mean"][key] for e in having])
        ranks = rankdata(-scores if better == "higher" else scores, method="average")
        for entry, rank in zip(having, ranks):
            entry["rank"][key] = float(rank)
    for entry in entries:
        entry["mean_rank"] = float(np.mean(list(entry["rank"].values()))) if entry["rank"] else float("nan")
    return sorted(entries, key=lambda e: (np.nan_to_num(e["mean_rank"], nan=np.inf), e["setting"]))


def metric_correlations(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Spearman rank correlation between metrics across the finished runs.

    Parameters
    ----------
    rows : sequence of dict
        Results rows (finished ones are used).
    keys : sequence of str
        Metric columns to correlate.

    Returns
    -------
    matrix : array (M, M)
        Correlations of the M metrics that vary across at least three runs (NaN where two
        metrics share fewer than three runs).
    labels : list of str
        Those M metric keys.
    """
    from scipy.stats import spearmanr

    done = _done(rows)
    columns = {}
    for key in keys:
        values = np.array([r[key] if isinstance(r.get(key), (int, float)) else np.nan for r in done], dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size >= 3 and np.ptp(finite) > 0:
            columns[key] = values
    labels = list(columns)
    matrix = np.full((len(labels), len(labels)), np.nan)
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            both = np.isfinite(columns[a]) & np.isfinite(columns[b])
            if both.sum() >= 3:
                matrix[i, j] = 1.0 if i == j else float(spearmanr(columns[a][both], columns[b][both]).statistic)
    return matrix, labels


def best_trials(rows: Sequence[dict[str, Any]], metric: tuple[str, str, str]) -> dict[tuple[str, str], dict]:
    """The finished run of each (world, learner) with the best value of ``metric`` (key, label, direction)."""
    key, _, better = metric
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for row in _done(rows):
        value = row.get(key)
        if not isinstance(value, (int, float)) or not np.isfinite(value):
            continue
        slot = (row["world"], row["learner"])
        current = best.get(slot)
        if current is None or (value > current[key] if better == "higher" else value < current[key]):
            best[slot] = row
    return best


def _summary(rows: Sequence[dict[str, Any]], spec: Any) -> str:
    counts = {state: sum(r["status"] == state for r in rows) for state in ("done", "running", "failed", "pending")}
    text = (f"<p>{len(rows)} trials: <b>{counts['done']} done</b>, {counts['failed']} failed, "
            f"{counts['running']} interrupted, {counts['pending']} not started — "
            f"{len(spec.learners)} learner(s) × {len(spec.worlds)} world(s) × {len(spec.seeds)} seed(s) "
            f"{html.escape(str(list(spec.seeds)))}.</p>")
    failed = [r for r in rows if r["status"] == "failed"]
    if failed:
        body = "".join(f"<tr><td>{html.escape(r['trial'])}</td><td>{html.escape(r['world'])}</td>"
                       f"<td>{html.escape(str(r['error']))}</td></tr>" for r in failed)
        text += ('<p class="how">Failed trials and their errors (re-running the study retries them):</p>'
                 f'<table class="metrics failed" id="failed"><thead><tr><th>trial</th><th>world</th><th>error</th>'
                 f"</tr></thead><tbody>{body}</tbody></table>")
    return text


def _hyperparameter_section(rows: Sequence[dict[str, Any]], varied: dict[str, Sequence[str]],
                            metrics: Sequence[tuple[str, str, str]], world: str) -> str:
    parts = []
    for learner, names in varied.items():
        members = [r for r in _done(rows) if r["learner"] == learner]
        for name in names:
            others = [n for n in names if n != name]
            panels = []
            for key, label, better in metrics:
                lines: dict[str, dict[Any, list[float]]] = {}
                for row in sorted(members, key=lambda r: (str(type(r.get(f"param.{name}"))),
                                                          r.get(f"param.{name}"))):
                    line = ", ".join(f"{o}={_short(row.get(f'param.{o}'))}" for o in others) or learner
                    value = row.get(key)
                    lines.setdefault(line, {}).setdefault(row.get(f"param.{name}"), []).append(
                        float(value) if isinstance(value, (int, float)) else np.nan)
                panels.append((label, better, lines))
            figure = hyperparameter_figure(panels, name)
            if figure is not None:
                parts.append(img_html(figure, f"{learner}: metrics against {name} on {world}",
                                  f"{learner} on {world}: each metric against {name} — line through the mean over "
                                  f"seeds, bar from the lowest to the highest seed, one dot per seed"))
    return "".join(parts)


def _rank_html(entries: Sequence[dict[str, Any]], metrics: Sequence[tuple[str, str, str]], world: str) -> str:
    if not entries:
        return ""
    head = "".join(f"<th>{html.escape(label)} {'↑' if better == 'higher' else '↓'}</th>"
                   for _, label, better in metrics)
    top = {}  # metric -> the best rank, where the settings do not all tie
    for key, _, _ in metrics:
        ranks = {entry["rank"][key] for entry in entries if key in entry["rank"]}
        if len(ranks) > 1:
            top[key] = min(ranks)  # ties for the best share an average rank (1.5, ...): all are shaded
    body = []
    for entry in entries:
        cells = []
        for key, _, _ in metrics:
            if key not in entry["mean"]:  # not measured, or no seed with a finite value (said so)
                cells.append(f'<td>– <span class="rank">(0 of {entry["seeds"]} seeds)</span></td>'
                             if entry.get("counted", {}).get(key) == 0 else "<td>–</td>")
                continue
            rank = entry["rank"][key]
            best = ' class="best"' if rank == top.get(key) else ""
            counted = entry.get("counted", {}).get(key, entry["seeds"])
            # one value has no spread; seeds without a finite value (diverged) are named, not hidden
            spread = f' ± {entry["std"][key]:.2g}' if counted > 1 else ""
            missing = (f' <span class="rank">({counted} of {entry["seeds"]} seeds)</span>'
                       if counted < entry["seeds"] else "")
            cells.append(f'<td{best}>{entry["mean"][key]:.4g}{spread}{missing} '
                         f'<span class="rank">#{rank:g}</span></td>')
        body.append(f'<tr><td>{html.escape(entry["setting"])}</td><td>{entry["seeds"]}</td>'
                    f'<td>{_mean_rank(entry["mean_rank"])}</td>{"".join(cells)}</tr>')
    return (f'<table class="metrics ranks" id="{element_id("ranks", world)}"><thead><tr><th>learner setting</th>'
            f"<th>seeds</th><th>mean rank</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _mean_rank(value: float) -> str:
    """A setting's mean rank; "–" for one without a finite value of any metric (ranked on nothing)."""
    return f"{value:.2f}" if np.isfinite(value) else "–"


def _best_section(rows: Sequence[dict[str, Any]], study_dir: Path, metric: tuple[str, str, str], n_images: int,
                  seed: int, trust_code: bool) -> str:
    parts = []
    for (world, learner), row in sorted(best_trials(rows, metric).items()):
        directory = trial_dir(study_dir, row["trial"])
        try:
            view = collect_run(directory, n_images=n_images, seed=seed, trust_code=trust_code)
        except (ValueError, OSError, KeyError, RuntimeError) as error:  # one damaged trial must not lose the page
            view = None
            problem = f"The run in '{directory}' could not be loaded, so its figures are missing: {error}"
        figures = [] if view is None else [(title, body) for title, body in view.figures
                                           if title in ("Counterfactuals", "Reconstructions")]
        parts.append(f'<h3 id="{element_id("best", world, learner)}">{html.escape(learner)} on '
                     f'{html.escape(world)}: trial <code>{html.escape(row["trial"])}</code> '
                     f"({html.escape(metric[1])} {row[metric[0]]:.4g})</h3>")
        notes = [problem] if view is None else view.notes
        parts += [f'<p class="note">{html.escape(note)}</p>' for note in notes]
        parts += [f"<h4>{html.escape(title)}</h4><p class=\"how\">{html.escape(READING[title])}</p>{body}"
                  for title, body in figures]
    return "".join(parts)


def build_study_report(study_dir: str | os.PathLike, out: str | os.PathLike | None = None, *,
                       metric: str | None = None, n_images: int = 6, seed: int = 0, trust_code: bool = False,
                       title: str | None = None) -> Path:
    """Write the study report of ``study_dir`` (atomically); returns its path.

    Parameters
    ----------
    study_dir : str or path-like
        A study directory written by :func:`latentscm.study.run`.
    out : str, path-like or None, default None
        The HTML file (default ``study_dir/report.html``).
    metric : str or None, default None
        The metric that picks each learner's best run (a results column such as ``"mig"``);
        default: the first headline metric the study has (MIG, DCI-D, ... in that order). Which
        way is better comes from :func:`metric_direction` (errors and distances: lower).
    n_images : int, default 6
        Images per counterfactual grid.
    seed : int, default 0
        Seed of the images shown.
    trust_code : bool, default False
        Allow unregistered classes recorded in the trials (see :func:`latentscm.load`).
    title : str or None, default None
        Page title (default: the study's name).

    Raises
    ------
    FileNotFoundError
        ``study_dir`` holds no ``study.json``.
    ValueError
        ``metric`` is not a metric of the study; ``out`` is a directory; ``n_images`` < 1 or ``seed`` < 0.
    """
    study_dir = Path(study_dir)
    out = check_output_file(out if out is not None else study_dir / "report.html", "out", "build_study_report")
    # checked here: collect_run's refusal would be noted on the page as a trial that could not be loaded
    n_images = int(check_number(n_images, "n_images", "build_study_report", low=1, integer=True))
    seed = int(check_number(seed, "seed", "build_study_report", low=0, integer=True))
    if not (study_dir / SPEC_NAME).is_file():
        raise FileNotFoundError(f"'{study_dir}' is not a study directory (no {SPEC_NAME}); run "
                                f"`latentscm study run SPEC --out {study_dir}` first.")
    spec = load_spec(read_json_object(study_dir / SPEC_NAME, remedy="rerun `latentscm study run` to rewrite it"))
    trials = locate_trials(expand(spec), study_dir)  # a trial recorded under its old id is read where it is
    rows = collect_results(trials, study_dir)
    metrics = study_metrics(rows)
    varied: dict[str, tuple[str, ...]] = {}  # every hyperparameter any setting of the learner varies
    for trial in trials:
        varied[trial.learner_label] = tuple(dict.fromkeys([*varied.get(trial.learner_label, ()), *trial.varied]))
    if metric is not None:
        chosen = next((m for m in metrics if m[0] == metric), None)
        if chosen is None:
            if metric not in metric_columns(rows):
                raise ValueError(f"The 'metric' argument of build_study_report must be a metric of the study "
                                 f"({', '.join(metric_columns(rows)) or 'none yet'}). Got {metric!r}.")
            label, better, _ = metric_direction(metric)
            chosen = (metric, label, better)
    else:
        chosen = metrics[0] if metrics else None

    sections = [f"<h2>Summary</h2>{_summary(rows, spec)}"]
    for world in [w.label for w in spec.worlds]:
        here = [r for r in rows if r["world"] == world]
        if not _done(here):
            continue
        plots = _hyperparameter_section(here, varied, metrics, world)
        ranks = _rank_html(rank_table(here, varied, metrics), metrics, world)
        sections.append(
            f'<h2 id="{element_id("world", world)}">World: {html.escape(world)}</h2>'
            + (f'<h3>Metrics against each hyperparameter</h3><p class="how">Each panel follows one metric as a grid '
               f"hyperparameter changes; the spread over seeds shows how much of a difference is noise.</p>{plots}"
               if plots else "")
            + f'<h3>Rank table</h3><p class="how">Learner settings ranked per metric on their mean over seeds (#1 '
              f"is best in the metric's direction, shaded; ± is the standard deviation over the seeds, population "
              f"form: for 2 seeds half their difference); rows sorted by mean rank.</p>{ranks}")
    keys = [key for key in metric_columns(rows) if not key.startswith(("sampled.", "active."))]
    correlation_parts = []
    for world in [w.label for w in spec.worlds]:
        matrix, labels = metric_correlations([r for r in rows if r["world"] == world], keys)
        if len(labels) >= 2:
            correlation_parts.append(img_html(correlation_figure(matrix, labels, f"Spearman correlation on {world}"),
                                          f"metric correlations on {world}",
                                          f"{world}: rank correlation of each pair of metrics across "
                                          f"{len(_done([r for r in rows if r['world'] == world]))} runs"))
    sections.append('<h2 id="correlations">Do the metrics agree?</h2><p class="how">Rank correlation (Spearman) '
                    "between metrics across all finished runs of a world, as in Locatello et al. (2019): metrics that "
                    "claim to measure the same property should correlate strongly.</p>"
                    + ("".join(correlation_parts) or '<p class="note">Too few finished runs with varying metrics to '
                                                     "correlate (at least three are needed).</p>"))
    if chosen is not None:
        _, better, known = metric_direction(chosen[0])
        direction = f"{better} is better" if known else "taken as higher is better: nothing says which way it goes"
        sections.append(f'<h2 id="best">Best run per learner</h2><p class="how">For each learner and world, the run '
                        f"with the best {html.escape(chosen[1])} ({direction}) and its counterfactuals next to the "
                        f"truth.</p>"
                        + _best_section(rows, study_dir, chosen, n_images, seed, trust_code))
    name = title or f"latentscm study: {spec.name}"
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(name)}</title>'
            f"<style>{PAGE_STYLE}{_STUDY_STYLE}</style></head><body><h1>{html.escape(name)}</h1>{''.join(sections)}"
            f"</body></html>")
    return atomic_write_bytes(out, page_bytes(page))
