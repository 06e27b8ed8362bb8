"""The causal-axiom report: one self-contained HTML page (figure embedded as a data URI).

``write_axioms_report(scores, chance, out)`` draws accuracy against chain length for every model
with the chance baseline, then a table of every evaluation set (chain lengths, reversed,
shuffled, branched, d-separation) with the best model of each row marked. It reuses the page
style and image helpers of :mod:`latentscm.report.html` and the figure helpers of
:mod:`latentscm.report.figures`.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from latentscm._validation import check_number
from latentscm.report.images import atomic_write_bytes, check_output_file
from latentscm.report.page import PAGE_STYLE, figure_png, img_html, new_figure, page_bytes, plain_text

__all__ = ["write_axioms_report", "accuracy_by_length_figure", "SET_DESCRIPTIONS"]

#: One line per non-length set on what it tests.
SET_DESCRIPTIONS = {
    "reversed": "long chains, statements listed last edge first",
    "shuffled": "long chains, statements in random order",
    "branched": "random DAGs (branching), transitivity",
    "dsep_short": "d-separation on chains of the training lengths (exact oracle)",
    "dsep_long": "d-separation on long chains (exact oracle)",
    "dsep_branched": "d-separation on branched DAGs (exact oracle)",
}


def _length(name: str) -> int | None:
    return int(name[7:]) if name.startswith("length_") and name[7:].isdigit() else None


def accuracy_by_length_figure(scores: Mapping[str, Mapping[str, float]], chance: Mapping[str, float], *,
                              train_max_length: int | None = 6) -> bytes | None:
    """Accuracy against chain length, one line per model plus chance; PNG bytes (None without
    ``length_L`` sets).

    Parameters
    ----------
    scores : mapping of str to mapping of str to float
        Model name -> {set name: accuracy}.
    chance : mapping of str to float
        Set name -> chance accuracy.
    train_max_length : int or None, default 6
        Longest training chain, shaded as "trained on" (None: no shading).

    Returns
    -------
    bytes or None
        The PNG.
    """
    lengths = sorted({_length(k) for values in [chance, *scores.values()] for k in values} - {None})
    if not lengths:
        return None
    figure, axes = new_figure(6.4, 3.6)
    axis = axes[0, 0]
    if train_max_length is not None:
        axis.axvspan(min(lengths) - 0.5, train_max_length + 0.5, color="#eeeeee", label="training lengths")
    for name, values in scores.items():
        axis.plot(lengths, [values.get(f"length_{n}", np.nan) for n in lengths], marker="o", lw=1.6,
                  label=plain_text(name))
    axis.plot(lengths, [chance.get(f"length_{n}", np.nan) for n in lengths], ls="--", color="#777777", label="chance")
    axis.set_xlabel("chain length (nodes)", fontsize=9)
    axis.set_ylabel("accuracy", fontsize=9)
    axis.set_ylim(0.0, 1.02)
    axis.set_xticks(lengths)
    axis.tick_params(labelsize=8)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower left")
    return figure_png(figure)


def _accuracy(value: float) -> str:
    return f"{value:.3f}" if np.isfinite(value) else "–"


def _table(scores: Mapping[str, Mapping[str, float]], chance: Mapping[str, float]) -> str:
    models = list(scores)
    # every set of chance, then every set a model was scored on that chance lacks
    names = list(dict.fromkeys([*chance, *sorted({k for values in scores.values() for k in values} - set(chance))]))
    head = "".join(f"<th>{html.escape(m)}</th>" for m in models)
    rows = []
    for name in names:
        values = [scores[m].get(name, float("nan")) for m in models]
        finite = [v for v in values if np.isfinite(v)]
        # as the run report's headline table: no mark when every scored model ties (a mark on all says nothing);
        # models tied at the top of a row that others fall short of are all marked
        best = max(finite) if len(set(finite)) > 1 else None
        cells = "".join(
            f'<td class="best"><b>{v:.3f}</b></td>' if best is not None and v == best
            else f"<td>{_accuracy(v)}</td>" for v in values)
        what = SET_DESCRIPTIONS.get(name, f"chains of {_length(name)} nodes" if _length(name) else "")
        rows.append(f'<tr><td title="{html.escape(what)}">{html.escape(name)}</td>{cells}'
                    f"<td>{_accuracy(chance.get(name, float('nan')))}</td><td class=\"dir\">{html.escape(what)}</td>"
                    "</tr>")
    return (f'<table class="metrics" id="axioms-accuracy"><thead><tr><th>set</th>{head}<th>chance</th><th>what</th>'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def write_axioms_report(scores: Mapping[str, Mapping[str, float]], chance: Mapping[str, float],
                        out: str | os.PathLike, *, title: str = "latentscm: causal-axiom training",
                        params: Mapping[str, Mapping[str, Any]] | None = None, intro: str = "",
                        train_max_length: int | None = None) -> Path:
    """Write the self-contained HTML page (atomically); returns its path.

    Parameters
    ----------
    scores : mapping of str to mapping of str to float
        Model name -> {evaluation set name: accuracy in [0, 1]}.
    chance : mapping of str to float
        Evaluation set name -> chance accuracy (:func:`latentscm.axioms.chance_accuracy`).
    out : str or path
        The HTML file.
    title : str
        Page title.
    params : mapping of str to mapping, optional
        Hyperparameters of every model, shown collapsed at the end.
    intro : str
        A paragraph under the title.
    train_max_length : int or None, default None
        Longest training chain (nodes), shaded in the figure; default: the ``max_length`` that
        ``params`` records for every model (no shading where they differ or none is recorded).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ValueError
        No model, an accuracy or chance accuracy outside [0, 1], or ``train_max_length`` < 1.
    """
    if not scores:
        raise ValueError("write_axioms_report needs the scores of at least one model.")
    for model, values in scores.items():
        for name, value in values.items():
            if not (isinstance(value, (int, float, np.floating)) and 0.0 <= float(value) <= 1.0):
                raise ValueError(f"The accuracy of model {model!r} on set {name!r} must be a number in [0, 1]. "
                                 f"Got {value!r}.")
    for name, value in chance.items():  # an accuracy too: tabled and drawn beside the models'
        if isinstance(value, bool) or not (isinstance(value, (int, float, np.number)) and 0.0 <= float(value) <= 1.0):
            raise ValueError(f"The chance accuracy of set {name!r} (the 'chance' argument of write_axioms_report) "
                             f"must be a number in [0, 1]. Got {value!r}.")
    out = check_output_file(out, "out", "write_axioms_report")
    if train_max_length is not None:
        train_max_length = int(check_number(train_max_length, "train_max_length", "write_axioms_report", low=1,
                                            integer=True))
    else:
        recorded = {values.get("max_length") for values in (params or {}).values()}
        length = next(iter(recorded)) if len(recorded) == 1 else None
        if isinstance(length, int) and not isinstance(length, bool) and length >= 1:
            train_max_length = length
    figure = accuracy_by_length_figure(scores, chance, train_max_length=train_max_length)
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if intro:
        parts.append(f"<p>{html.escape(intro)}</p>")
    parts.append("<h2>Accuracy by chain length</h2>")
    trained = (f"Models were trained on chains of at most {train_max_length} nodes (shaded); points to the right "
               "measure length generalisation." if train_max_length is not None else
               "The models' training lengths are not recorded here (no shading).")
    parts.append(f'<p class="how">{trained} The dashed line is chance: always giving the most frequent answer of '
                 'each set.</p>')
    if figure is not None:
        parts.append(img_html(figure, "accuracy by chain length",
                              "accuracy on transitivity questions per chain length"))
    parts.append("<h2>Every evaluation set</h2>")
    parts.append('<p class="how">Accuracy against the exact answers (transitivity from the graph\'s descendants, '
                 'd-separation from the graph module\'s oracle); the best model per row is marked (no mark where every '
                 'model scores the same).</p>')
    parts.append(_table(scores, chance))
    if params:
        body = html.escape(json.dumps(params, indent=2, sort_keys=True, default=str))
        parts.append(f"<details><summary>hyperparameters</summary><pre>{body}</pre></details>")
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{PAGE_STYLE}</style></head><body>{''.join(parts)}</body></html>")
    return atomic_write_bytes(out, page_bytes(page))
