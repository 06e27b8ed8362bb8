"""``latentscm discover``: causal discovery on a CSV table or on a trained run's codes.

    latentscm discover data.csv --method pc --ci kci --out graph.json [--png graph.png]
    latentscm discover data.csv --method cdnod --context domain --out graph.json
    latentscm discover data.csv --method cdf --environment env --out graph.json
    latentscm discover data.csv --method cdnod --environment env --ci kci --out graph.json
    latentscm discover data.csv --method gies --targets intervened --out graph.json
    latentscm discover --run RUN_DIR --out graph.json
    latentscm discover --timeseries --method pcmci --tau-max 3 data.csv --out graph.json

With ``--run``, a directory holding ``codes.npy`` (N, D), ``code_names.json`` (list of D names) and
optionally ``world_graph.json`` (a CausalGraph dict) is read as it is; with the last, the learned graph
is scored against it. A run directory of ``latentscm train`` (no codes.npy) is encoded instead: its
learner encodes 2000 fresh samples of its world (seed 2024, as ``latentscm evaluate``), codes z0, z1, ...
Outputs are written to a temporary file and renamed, so no half-written file is left behind.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import typer

from latentscm._io import dumps_strict
from latentscm.cli.given_options import given_on_command_line
from latentscm.cli.output_paths import check_output_path

__all__ = ["read_csv_table", "read_environment_table", "read_targets_table", "write_atomic", "draw_graph_png",
           "draw_mixed_png", "run_discovery", "register"]


def _csv_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (unique non-empty names) and the (line number, fields) of every non-empty data row of a CSV."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text ({error.reason} at byte {error.start}); save it as a UTF-8 "
                         "CSV.") from None
    except OSError as error:
        raise ValueError(f"Cannot read {path}: {error.strerror or error}.") from None
    if not rows:
        raise ValueError(f"{path} is empty; a header row with column names is required.")
    header = [name.strip() for name in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise ValueError(f"The header of {path} must hold unique non-empty names. Got {header}.")
    body = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: {len(row)} fields but the header has {len(header)}.")
        body.append((line, row))
    return header, body


def read_targets_table(path: Path, column: str, method: str = "gies") -> tuple[np.ndarray, list[str], list[list[str]]]:
    """A CSV whose ``column`` names the variables each row intervened on, ``;``-separated (empty: observational),
    as (the other columns as floats (n, d), their names, the target names per row) (``discover --method gies`` and
    ``enco``)."""
    header, body = _csv_rows(path)
    if column not in header:
        raise ValueError(f"--targets {column!r} is not a column of {path}; columns: {', '.join(header)}.")
    k = header.index(column)
    names = [name for name in header if name != column]
    values, targets = [], []
    for line, row in body:
        entry = row[k].strip()
        targets.append([name.strip() for name in entry.split(";") if name.strip()] if entry else [])
        unknown = [name for name in targets[-1] if name not in names]
        if unknown:
            raise ValueError(f"{path}, line {line}: the --targets column {column!r} names {unknown}, not among the "
                             f"variables {names}.")
        try:
            values.append([float(v) for j, v in enumerate(row) if j != k])
        except ValueError:
            raise ValueError(f"{path}, line {line}: non-numeric value in {row} outside the --targets column "
                             f"{column!r}; --method {method} takes numbers (enco with --param "
                             "likelihood=categorical: integer codes).") from None
    return np.asarray(values, dtype=np.float64).reshape(len(values), len(names)), names, targets


def read_environment_table(path: Path, column: str, flag: str = "--environment"
                           ) -> tuple[np.ndarray, list[str], list[str] | None]:
    """A CSV of numbers whose ``column`` may hold text labels (an environment id such as ``site2``; empty cells are
    a label too), as (floats (n, d), names, the labels or None): a text label column becomes the codes 0..E-1 of its
    sorted labels (returned, code k standing for ``labels[k]``); a numeric one is kept as it is (labels None). A
    column mixing numbers with text or empty cells is refused, naming ``flag``."""
    header, body = _csv_rows(path)
    if column not in header:
        raise ValueError(f"{flag} {column!r} is not a column of {path}; columns: {', '.join(header)}.")
    k = header.index(column)
    cells = [row[k].strip() for _, row in body]

    def number(cell: str) -> bool:
        try:
            float(cell)
        except ValueError:
            return False
        return True

    numeric = [number(cell) for cell in cells]
    if all(numeric):
        return _float_table(path, header, body), header, None
    if any(numeric):
        line = body[numeric.index(False)][0]
        raise ValueError(f"{path}: the {flag} column {column!r} mixes numbers with text or empty cells (line {line}: "
                         f"{cells[numeric.index(False)]!r}); give every row a number, or every row a text label.")
    labels = sorted(set(cells))
    codes = {label: code for code, label in enumerate(labels)}
    body = [(line, [*row[:k], str(codes[row[k].strip()]), *row[k + 1:]]) for line, row in body]
    return _float_table(path, header, body), header, labels


def _float_table(path: Path, header: list[str], body: list[tuple[int, list[str]]]) -> np.ndarray:
    values = []
    for line, row in body:
        try:
            values.append([float(v) for v in row])
        except ValueError:
            raise ValueError(f"{path}, line {line}: non-numeric value in {row} (for text categories use a "
                             "categorical test: --ci chisq or --ci gsq; or the categorical score of ges, xges, boss "
                             "and gfci: --param score=bdeu).") from None
    return np.asarray(values, dtype=np.float64).reshape(len(values), len(header))


def read_csv_table(path: Path, *, text: bool = False, reason: str | None = None) -> tuple[np.ndarray, list[str]]:
    """A CSV with a header row as (data (n, d), column names): floats, or with ``text=True`` (categorical tests
    such as chisq, the BDeu score) the stripped fields as a string array. UTF-8 text, with or without the byte-order
    mark spreadsheet programs write. ``reason``: what needs categories, for the message on fractional numbers
    (default: a categorical test)."""
    header, body = _csv_rows(path)
    if not text:
        return _float_table(path, header, body), header
    table = np.asarray([[v.strip() for v in row] for _, row in body], dtype=str).reshape(len(body), len(header))
    for j, name in enumerate(header):  # as the library refuses fractional floats for categorical tests
        if _fractional(table[:, j]):
            if reason is not None:
                raise ValueError(f"{path}: column {name!r} holds fractional numbers (e.g. {str(table[0, j])!r}); "
                                 f"{reason} would take every value as its own category. Use a score for "
                                 "continuous columns (the default BIC, or --param score=cg with some categorical "
                                 "columns), or bin the column first.")
            raise ValueError(f"{path}: column {name!r} holds fractional numbers (e.g. {str(table[0, j])!r}); a "
                             "categorical test (--ci chisq / gsq) would take every value as its own category. "
                             "Use a continuous test (--ci fisherz or kci), or bin the column first.")
    return table, header


def _fractional(column: np.ndarray) -> bool:
    """Whether every field of a text column (n,) is a number and some are not whole."""
    try:
        numbers = np.array([float(v) for v in column])
    except ValueError:
        return False
    return bool(np.all(np.isfinite(numbers)) and np.any(numbers != np.round(numbers)))


def write_atomic(path: Path, write: Any, mode: str = "w") -> None:
    """Call ``write(handle)`` on an in-memory file, then write its content to ``path`` with
    :func:`latentscm._io.atomic_write` (usual file mode, never half-written)."""
    from latentscm._io import atomic_write

    buffer: io.BytesIO | io.StringIO = io.BytesIO() if "b" in mode else io.StringIO()
    write(buffer)
    atomic_write(path, buffer.getvalue())


def draw_graph_png(graph: Any, path: Path) -> None:
    """Draw a DiscoveredGraph (directed edges with arrows, undirected without) to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    shown = nx.DiGraph()
    shown.add_nodes_from(graph.nodes)
    shown.add_edges_from(graph.directed_edges)
    shown.add_edges_from(graph.undirected_edges)
    layout = nx.circular_layout(shown)
    figure, axes = plt.subplots(figsize=(4 + 0.4 * len(graph.nodes), 4 + 0.4 * len(graph.nodes)))
    nx.draw_networkx_nodes(shown, layout, ax=axes, node_color="#dde6f5", node_size=1400)
    nx.draw_networkx_labels(shown, layout, ax=axes, font_size=9)
    nx.draw_networkx_edges(shown, layout, ax=axes, edgelist=list(graph.directed_edges), arrows=True,
                           arrowsize=18, node_size=1400)
    nx.draw_networkx_edges(shown, layout, ax=axes, edgelist=list(graph.undirected_edges), arrows=False,
                           style="dashed", node_size=1400)
    axes.set_axis_off()
    figure.tight_layout()
    write_atomic(path, lambda handle: figure.savefig(handle, format="png", dpi=120), mode="wb")
    plt.close(figure)


def draw_mixed_png(model: Any, path: Path) -> None:
    """Draw a LinearCyclicModel to a PNG: its directed edges as curved arrows (so a 2-cycle shows both), its
    bidirected edges (latent confounders) as dashed red lines with arrowheads at both ends."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx

    shown = nx.DiGraph()
    shown.add_nodes_from(model.nodes)
    layout = nx.circular_layout(shown)
    size = 4 + 0.4 * len(model.nodes)
    figure, axes = plt.subplots(figsize=(size, size))
    nx.draw_networkx_nodes(shown, layout, ax=axes, node_color="#dde6f5", node_size=1400)
    nx.draw_networkx_labels(shown, layout, ax=axes, font_size=9)
    nx.draw_networkx_edges(shown, layout, ax=axes, edgelist=list(model.directed_edges), arrows=True, arrowsize=18,
                           node_size=1400, connectionstyle="arc3,rad=0.12")
    nx.draw_networkx_edges(shown, layout, ax=axes, edgelist=list(model.bidirected_edges), arrows=True,
                           arrowstyle="<|-|>", arrowsize=14, style="dashed", edge_color="#c0392b", node_size=1400,
                           connectionstyle="arc3,rad=-0.2")
    axes.set_axis_off()
    figure.tight_layout()
    write_atomic(path, lambda handle: figure.savefig(handle, format="png", dpi=120), mode="wb")
    plt.close(figure)


def draw_pag_png(pag: Any, path: Path) -> None:
    """Draw a PartialAncestralGraph to a PNG: each edge a line with its marks at both ends — an arrowhead,
    an open circle (``o``) or nothing (a tail)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    from latentscm.discovery.pag import ARROW, CIRCLE

    d = len(pag.nodes)
    angles = np.linspace(0, 2 * np.pi, d, endpoint=False) + np.pi / 2
    xy = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    size = 4 + 0.4 * d
    figure, axes = plt.subplots(figsize=(size, size))
    for i in range(d):
        for j in range(i + 1, d):
            if not pag.marks[i, j]:
                continue
            at_i, at_j = int(pag.marks[j, i]), int(pag.marks[i, j])
            style = f"{'<|' if at_i == ARROW else ''}-{'|>' if at_j == ARROW else ''}"
            axes.add_patch(FancyArrowPatch(xy[i], xy[j], arrowstyle=style, mutation_scale=16, shrinkA=24, shrinkB=24,
                                           color="#333333", linewidth=1.2))
            for end, other, mark in ((i, j, at_i), (j, i, at_j)):
                if mark == CIRCLE:  # an open circle just outside the node, on the edge
                    spot = xy[end] + (xy[other] - xy[end]) * 0.2 / np.linalg.norm(xy[other] - xy[end])
                    axes.plot(*spot, marker="o", markersize=7, markerfacecolor="white", markeredgecolor="#333333",
                              zorder=3)
    axes.scatter(xy[:, 0], xy[:, 1], s=1400, color="#dde6f5", zorder=2)
    for k, name in enumerate(pag.nodes):
        axes.text(*xy[k], name, ha="center", va="center", fontsize=9, zorder=4)
    axes.set_xlim(-1.4, 1.4)
    axes.set_ylim(-1.4, 1.4)
    axes.set_aspect("equal")
    axes.set_axis_off()
    figure.tight_layout()
    write_atomic(path, lambda handle: figure.savefig(handle, format="png", dpi=120), mode="wb")
    plt.close(figure)


def _environment_pairs(data: np.ndarray, labels: np.ndarray, column: str) -> np.ndarray:
    """The first two rows of every environment (E, 2, d); an environment with a single row is an error
    (Causal de Finetti compares two exchangeable samples of each environment)."""
    values, counts = np.unique(labels, return_counts=True)
    lonely = values[counts < 2]
    if lonely.size:
        shown = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in lonely[:5])
        raise ValueError(f"Causal de Finetti needs at least 2 rows per environment; {lonely.size} environment(s) "
                         f"of column {column!r} have a single row ({shown}{', ...' if lonely.size > 5 else ''}).")
    return np.stack([data[labels == value][:2] for value in values])


def _table_methods() -> dict[str, Any]:
    """The table methods besides pc, cdnod and cdf: discovery.codes' CODE_METHODS (one registry for the CLI,
    ``discover --run`` and :func:`~latentscm.discovery.codes.discover_from_codes`)."""
    from latentscm.discovery.codes import CODE_METHODS

    return {name: function for name, function in CODE_METHODS.items() if name != "pc"}


#: Methods outside discovery.codes' METHODS registry (pc, cdnod, cdf), dispatched from CODE_METHODS.
_TABLE_ONLY = ("fci", "rfci", "gfci", "ges", "xges", "boss", "lingam", "notears", "notears_mlp", "dagma",
               "dagma_mlp", "score", "das", "nogam", "sortnregress")
#: Methods that take ``--knowledge`` (fci, gfci: tiers only).
_KNOWLEDGE_METHODS = ("pc", "cdnod", "lingam", "boss", "fci", "gfci", "llc", "score", "das", "nogam", "sortnregress")
#: Methods that use no CI test, with what they are instead.
_NO_CI_TEST = {"ges": "score-based (BIC, BDeu or conditional Gaussian score)",
               "xges": "score-based (BIC, BDeu or conditional Gaussian score; XGES search)",
               "boss": "score-based (BIC, BDeu or conditional Gaussian score; best order search)",
               "lingam": "DirectLiNGAM (linear non-Gaussian)",
               "sortnregress": "SortnRegress (a causal order by variance or R^2, then regressions; a baseline)",
               "notears": "linear NOTEARS (continuous optimisation)",
               "notears_mlp": "NOTEARS-MLP (continuous optimisation, one MLP per variable)",
               "dagma": "linear DAGMA (continuous optimisation, log-det central path)",
               "dagma_mlp": "DAGMA-MLP (continuous optimisation, log-det central path, one MLP per variable)",
               "gies": "score-based (the interventional BIC; GIES search)",
               "enco": "ENCO (neural likelihoods of sampled parent sets on interventional rows)",
               "gnies": "score-based (GnIES: environments with unknown intervention targets)",
               "lcd": "linear causal disentanglement (latents from one perfect intervention each, rank tests)",
               "contrastive-lcd": "contrastive causal disentanglement (latents under a nonlinear mixing from one "
                                  "perfect intervention each, a trained encoder)"}


def _target_methods() -> tuple[str, ...]:
    """The methods that read each row's intervened variables from the --targets column: discovery.codes'
    TARGET_METHODS (one registry for the CLI and :func:`~latentscm.discovery.codes.discover_from_codes`)."""
    from latentscm.discovery.codes import TARGET_METHODS

    return tuple(TARGET_METHODS)


#: Methods that group rows by --environment (or --context).
_ENVIRONMENT_METHODS = ("cdnod", "cdf", "gnies", "lcd", "contrastive-lcd")
#: Methods whose rows' environment labels name the latents (text labels, --param observational=LABEL).
_LATENT_METHODS = ("lcd", "contrastive-lcd")


def run_discovery(data: np.ndarray, names: list[str], *, method: str, ci: str | None, alpha: float,
                  context: str | None, environment: str | None = None, collider_rule: str | None = None,
                  knowledge: Any = None, params: dict[str, Any] | None = None, targets: Any = None,
                  environment_labels: Sequence[str] | None = None) -> Any:
    """Dispatch one discovery method on a named table (the CLI's core, importable for tests).

    Parameters
    ----------
    data : ndarray, shape (n, d)
        The table (floats, or strings for categorical tests).
    names : list of str
        The d column names.
    method : {"pc", "fci", "rfci", "gfci", "ges", "xges", "boss", "lingam", "notears", "notears_mlp", "dagma",
              "dagma_mlp", "score", "das", "nogam", "sortnregress", "cdnod", "cdf", "gies", "gnies", "enco", "llc",
              "lcd", "contrastive-lcd"}
        Discovery method (``fci``, ``rfci`` and ``gfci`` (seed 0) return a PartialAncestralGraph; ``llc`` a
        LinearCyclicModel, ``alpha`` the level of its bootstrap edge tests (seed 0); ``score``, ``das`` and
        ``nogam`` a DAG, ``alpha`` the level of CAM pruning's tests; ``ges``, ``xges``,
        ``boss`` (seed 0), ``lingam`` (DirectLiNGAM) and ``notears`` (linear NOTEARS), ``notears_mlp`` (NOTEARS-MLP,
        seed 0), ``dagma`` (linear DAGMA), ``dagma_mlp`` (DAGMA-MLP, seed 0), ``sortnregress`` (seed 0), ``gies`` and
        ``enco`` (seed 0) ignore
        ``ci`` and ``alpha``).
    ci : str or None
        CI test name (None: gfci pairs one with its score).
    alpha : float
        Significance level.
    context : str or None
        Column holding the domain / time index (cdnod) or environment id (cdf).
    environment : str or None
        Column holding the environment id (cdnod, cdf, gnies, lcd, contrastive-lcd); the same role as ``context``,
        give one.
    collider_rule : str or None
        PC's and CD-NOD's collider rule (``standard``, ``conservative``, ``majority``, ``maxp``); None: standard.
    knowledge : BackgroundKnowledge or None
        Background knowledge by column name: forbidden / required edges and tiers for pc, cdnod, boss, lingam, llc,
        score, das, nogam and sortnregress; tiers only for fci and gfci.
    params : dict or None
        The method function's own keyword parameters (``--param KEY=VALUE``), checked against its signature;
        those set by the arguments above (names, CI test, level, knowledge, ...) are refused.
    targets : sequence or None
        For gies, enco and llc (required there, refused elsewhere): the intervened variables of each row, by name (empty
        for an observational row); ``data`` then holds the variables only.
    environment_labels : sequence of str or None
        The text labels the environment column's codes 0..E-1 stand for (``read_environment_table``); lcd and
        contrastive-lcd name their latents by them.

    Raises
    ------
    ValueError
        Unknown method; a context / environment column with ``pc``, missing for cdnod / cdf, not in
        the table, or holding a single environment; both given; a collider rule with cdf or fci.
    """
    from latentscm.discovery.codes import METHODS, TARGET_METHODS

    known = {**METHODS, **TARGET_METHODS}
    if method not in known and method not in _TABLE_ONLY:
        raise ValueError(f"Unknown method {method!r}. Available: {', '.join([*known, *_TABLE_ONLY])}.")
    if context is not None and environment is not None:
        raise ValueError("Give one of --context and --environment, not both.")
    flag, column = ("--environment", environment) if environment is not None else ("--context", context)
    _check_collider_rule(collider_rule, method)
    _check_targets(method, targets)
    if knowledge is not None and method not in _KNOWLEDGE_METHODS:
        raise ValueError(f"--knowledge is used by --method {', '.join(_KNOWLEDGE_METHODS)}, not by --method "
                         f"{method}.")
    if method in _TABLE_ONLY and column is not None:
        raise ValueError(f"{flag} is only used by --method {_environment_methods()}.")
    extra = _checked_params(method, params or {})
    if method in _TABLE_ONLY:  # no context column; the CI test and level only for fci, knowledge for fci / lingam
        from latentscm.discovery.codes import CAM_METHODS, CI_METHODS, SEEDED_METHODS

        own: dict[str, Any] = {"node_names": names}
        if method in CI_METHODS:
            own.update(ci_test=ci, alpha=alpha)
        if method in CAM_METHODS:  # --alpha is the level of CAM pruning's F tests
            own["alpha"] = alpha
        if method in _KNOWLEDGE_METHODS:
            own["knowledge"] = knowledge
        if method in SEEDED_METHODS:  # a random start is seeded, 0 unless --param seed=... says otherwise
            own["seed"] = 0
        return _table_methods()[method](data, **{**own, **extra})
    if method in _target_methods():
        if column is not None:
            raise ValueError(f"{flag} is only used by --method {_environment_methods()}; {method} reads its "
                             "environments from --targets.")
        if method == "enco":  # minutes of training: a progress bar where someone watches
            extra.setdefault("seed", 0)
            extra.setdefault("progress", sys.stderr.isatty())
        if method == "llc":
            from latentscm.discovery.llc import llc

            return llc(data, targets, alpha=alpha, node_names=names, knowledge=knowledge, **extra)
        return TARGET_METHODS[method](data, targets, node_names=names, **extra)
    if method == "pc":
        if column is not None:
            raise ValueError(f"{flag} is only used by --method {_environment_methods()}.")
        return METHODS["pc"](data, ci_test=ci, alpha=alpha, node_names=names, collider_rule=collider_rule or "standard",
                             knowledge=knowledge, **extra)
    if column is None:
        raise ValueError(f"--method {method} needs --environment (or --context) naming a column of the table; "
                         f"columns: {', '.join(names)}.")
    if column not in names:
        raise ValueError(f"{flag} {column!r} is not a column of the table; columns: {', '.join(names)}.")
    k = names.index(column)
    labels = data[:, k]
    if np.unique(labels).size < 2:
        raise ValueError(f"The {flag} column {column!r} holds a single environment ({labels[0]}); --method "
                         f"{method} needs at least 2.")
    rest = [n for n in names if n != column]
    table = np.delete(data, k, axis=1)
    if method == "gnies":
        return METHODS["gnies"](table, labels, node_names=rest, **extra)
    if method in _LATENT_METHODS:
        return METHODS[method](table, _environment_text(labels, environment_labels), node_names=rest,
                               **_json_literal_label(extra))
    if method == "cdnod":
        return METHODS["cdnod"](table, labels, ci_test=ci, alpha=alpha, node_names=rest, context_name=column,
                                collider_rule=collider_rule or "standard", knowledge=knowledge, **extra)
    return METHODS["cdf"](_environment_pairs(table, labels, column), ci_test=ci, alpha=alpha, node_names=rest,
                          **extra)


#: Parameters run_discovery sets from the command's own flags, with the flag that sets each.
_RESERVED = {"node_names": "the CSV header", "ci_test": "--ci", "alpha": "--alpha", "knowledge": "--knowledge",
             "collider_rule": "--collider-rule", "context": "--context", "context_name": "--context",
             "environments": "the CSV file and --environment", "targets": "--targets"}


def _checked_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked against the signature of ``method``'s function (see latentscm.cli.method_params)."""
    if not params:
        return {}
    from latentscm.cli.method_params import check_method_params
    from latentscm.discovery import contrastive_causal_disentanglement, linear_causal_disentanglement_by_environment
    from latentscm.discovery.codes import METHODS

    if method == "contrastive-lcd":  # the graph function passes 'observational' to the grouping, the rest to the fit
        own = ("observational", "mechanisms", "marginals")  # the graph function's own parameters
        rest = check_method_params(contrastive_causal_disentanglement, {k: v for k, v in params.items()
                                                                         if k not in own}, method,
                                   {**_RESERVED, "interventional": "the CSV file and --environment"})
        return {**{k: params[k] for k in own if k in params}, **rest}
    if method == "llc":
        from latentscm.discovery.llc import llc

        return check_method_params(llc, params, method, _RESERVED)
    function = linear_causal_disentanglement_by_environment if method == "lcd" else {**_table_methods(), **METHODS}[
        method]  # lcd's graph function passes its options on to this fit
    return check_method_params(function, params, method, _RESERVED)


def _environment_methods() -> str:
    return ", ".join(_ENVIRONMENT_METHODS[:-1]) + " and " + _ENVIRONMENT_METHODS[-1]


def _environment_text(codes: np.ndarray, labels: Sequence[str] | None) -> Any:
    """Each row's environment label: the text the column's codes 0..E-1 stand for, or the numbers themselves."""
    return [labels[int(code)] for code in codes] if labels is not None else codes


def _json_literal_label(options: dict[str, Any]) -> dict[str, Any]:
    """``--param observational=true`` (or ``null``) is read as JSON; a label is text, so it goes back to its text."""
    value = options.get("observational", "")
    if isinstance(value, bool) or value is None:
        return {**options, "observational": json.dumps(value)}
    return options


def _check_targets(method: str, targets: Any) -> None:
    """ValueError when --targets is missing for gies, enco or llc or given to another method."""
    if (targets is not None) != (method in _target_methods()):
        raise ValueError(f"--method {method} needs --targets naming the column of each row's intervened variables."
                         if method in _target_methods() else
                         f"--targets is only used by --method gies, enco and llc, not by --method {method}.")


def _check_collider_rule(rule: str | None, method: str) -> None:
    """ValueError naming --collider-rule for a rule PC does not know, or for a method other than pc and cdnod."""
    from latentscm.discovery.collider_rules import COLLIDER_RULES

    if rule is None:
        return
    if method not in ("pc", "cdnod"):
        raise ValueError(f"--collider-rule is used by --method pc and cdnod (and pcmci_plus with --timeseries), not "
                         f"by --method {method}.")
    if rule not in COLLIDER_RULES:
        raise ValueError(f"--collider-rule {rule!r} is not a rule of {method}; choose one of "
                         f"{', '.join(COLLIDER_RULES)}.")


def register(app: typer.Typer) -> None:
    @app.command("discover")
    def discover_command(
        ctx: typer.Context,
        data: Path = typer.Argument(None, help="CSV file with a header row of variable names."),
        method: str = typer.Option(None, "--method", help="pc (the default), ges (score-based: BIC, or --param "
                                   "score=bdeu / cg), xges "
                                   "(GES's score, deletions first, restarts; better on dense graphs), boss (best order "
                                   "score search, seed 0), lingam "
                                   "(DirectLiNGAM, linear non-Gaussian), notears (linear NOTEARS), notears_mlp "
                                   "(NOTEARS-MLP, nonlinear, seed 0), dagma (linear DAGMA), dagma_mlp (DAGMA-MLP, "
                                   "nonlinear, seed 0), fci (a partial "
                                   "ancestral graph, for hidden confounders), rfci (FCI without its Possible-D-SEP "
                                   "stage, faster), gfci (the same from GES's graph refined by CI tests), cdnod or "
                                   "cdf (Causal de Finetti), gies (observational and interventional rows, with "
                                   "--targets), enco (the same rows, single-variable interventions, neural "
                                   "likelihoods, seed 0), llc (a linear model with cycles and latent confounders "
                                   "from randomised experiments, with --targets; --alpha is the level of its "
                                   "bootstrap edge tests, default 0.01 for it; seed 0), score, das or nogam (a "
                                   "causal order of a nonlinear additive noise model from the score, SCORE, DAS or "
                                   "NoGAM, pruned by CAM; --alpha is the level of CAM's tests, default 0.001 for "
                                   "them), sortnregress (a baseline: the order of ascending variance, or of "
                                   "R^2 with --param criterion=r2, or random with criterion=random, then "
                                   "adaptive-lasso regressions; Reisach et al. 2021, 2023), gnies (environments "
                                   "with "
                                   "unknown targets, with "
                                   "--environment), lcd (linear causal disentanglement: latent variables, their "
                                   "graph and the unmixing from one perfect intervention per latent, with "
                                   "--environment; --param observational=LABEL, default observational), "
                                   "contrastive-lcd (the same latents and graph under a nonlinear mixing, by a "
                                   "trained encoder, seed 0; the same flags; --param mechanisms=refit or gies "
                                   "refits the latent SCM on the encoded rows, marginals=gaussian on Gaussianised "
                                   "latents); "
                                   "with --timeseries pcmci (the default), pcmci_plus, granger, varlingam or cmlp."),
        ci: str = typer.Option("fisherz", "--ci", help="CI test: fisherz, kci, rcit, rcot, qkci; chisq or gsq "
                               "for categorical columns (text or integer codes); cg_lrt for continuous and "
                               "categorical columns mixed (integer codes); also parcorr with --timeseries."),
        alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the CI tests (llc: of its edge "
                                    "tests, default 0.01; score, das, nogam: of CAM pruning's F tests, default "
                                    "0.001)."),
        context: str = typer.Option(None, "--context",
                                    help="Column holding the domain/time index (cdnod) or the "
                                    "environment id (cdf)."),
        environment: str = typer.Option(None, "--environment",
                                        help="Column holding the environment id, used by cdnod (as its "
                                        "context), cdf, gnies, lcd and contrastive-lcd (rows grouped by it); like "
                                        "--context."),
        targets: str = typer.Option(None, "--targets", help="For --method gies, enco and llc: the column naming the "
                                    "variables each row intervened on, separated by ';' (empty for an observational "
                                    "row; so a variable whose name holds ';' cannot be a target)."),
        run: Path = typer.Option(None, "--run", help="A trained run directory: discover among its codes (those in "
                                 "codes.npy with code_names.json, else the codes of fresh samples of its world)."),
        trust_code: bool = typer.Option(False, "--trust-code", help="With --run: allow unregistered learner/world "
                                        "classes recorded in the run directory (runs their code)."),
        out: Path = typer.Option(..., "--out", help="Where to write the graph JSON."),
        png: Path = typer.Option(None, "--png", help="Also draw the graph to this PNG file."),
        timeseries: bool = typer.Option(False, "--timeseries", help="The CSV is a time series (rows are steps): "
                                        "temporal discovery with --method pcmci, pcmci_plus, granger, varlingam "
                                        "or cmlp."),
        tau_max: int = typer.Option(None, "--tau-max", help="Largest lag for --timeseries (default 3)."),
        collider_rule: str = typer.Option(None, "--collider-rule", help="How pc and cdnod orient unshielded "
                                          "triples: standard (default; from the skeleton's separating sets), "
                                          "conservative, majority "
                                          "or maxp (re-test every subset of the adjacencies; independent of the "
                                          "column order). pcmci_plus with --timeseries: standard, conservative or "
                                          "majority."),
        tau_min: int = typer.Option(None, "--tau-min", help="Smallest lag for --timeseries --method pcmci (default "
                                    "1) or pcmci_plus (default 0; 1 or more drops contemporaneous links)."),
        pc_alpha: str = typer.Option(None, "--pc-alpha", help="PCMCI's PC1 level with --timeseries: a number "
                                     "(default 0.2), a comma-separated list, or auto (0.05-0.5, chosen per "
                                     "variable by AIC)."),
        link_assumptions: Path = typer.Option(None, "--link-assumptions", help="A JSON file of link assumptions "
                                              "for --timeseries --method pcmci or pcmci_plus, by column name: "
                                              "{\"links\": list of {\"cause\", \"effect\", \"lag\", \"mark\"}}; "
                                              "an effect named there keeps only its listed links. Marks (tigramite's): "
                                              "-?> allowed, --> forced; at lag 0 also o?o, o-o, <--, <?-. See "
                                              "latentscm.cli.discover_timeseries."),
        knowledge: Path = typer.Option(None, "--knowledge", help="A JSON file of background knowledge for --method "
                                       "pc, cdnod, boss, lingam, llc, score, das, nogam or sortnregress, by column "
                                       "(or code) name: an object whose \"forbidden\" and \"required\" hold "
                                       "(cause, effect) name pairs and whose "
                                       "\"tiers\" holds lists of names, a later tier never causing an earlier one. "
                                       "--method fci and gfci take tiers only."),
        suggest: bool = typer.Option(False, "--suggest", help="Also plan experiments on the result (a CPDAG or "
                                     "I-essential graph): the single intervention that orients the most undirected "
                                     "edges whatever the truth, and the fewest target sets that orient all of them "
                                     "(Hauser & Bühlmann 2014); printed and written to the JSON as 'experiments'."),
        truth: str = typer.Option(None, "--truth", help="A known graph to score the result against: a JSON file "
                                  "(\"nodes\" and \"edges\", as a run's world_graph.json) or graph text such as "
                                  "'a -> b; b -> c', over the table's columns. The JSON output gains 'comparison': "
                                  "skeleton precision/recall/F1, orientation accuracy, SHD and SID (arrowhead and tail "
                                  "precision for a PAG), and the data's sortability.var / sortability.r2 (near 1: "
                                  "sorting the columns by variance or R^2 already finds the causal order; compare "
                                  "with --method sortnregress). With a CSV table, not --run or --timeseries."),
        param: list[str] = typer.Option(None, "--param", help="A parameter of the method's function, KEY=VALUE "
                                        "(repeatable; the value is read as JSON when it parses, else as text), e.g. "
                                        "--param turning=true for ges, --param lambda1=0.05 for notears or dagma, "
                                        "--param hidden=[8] --param seed=3 for notears_mlp. Not with --timeseries."),
    ) -> None:
        """Discover a causal graph (a CPDAG, DAG or PAG) from a table or from a trained run's codes."""
        from latentscm.discovery import ci_test_names

        if timeseries:
            given = {name for name in ("ci", "alpha") if given_on_command_line(ctx, name)}
            _discover_timeseries(data, method=method or "pcmci", given=given, ci=ci, alpha=alpha,
                                 tau_max=3 if tau_max is None else tau_max, out=out, collider_rule=collider_rule,
                                 tau_min=tau_min, pc_alpha=pc_alpha, link_assumptions=link_assumptions,
                                 unused={"--run": run, "--context": context, "--environment": environment,
                                         "--targets": targets, "--suggest": suggest or None,
                                         "--png": png, "--trust-code": trust_code or None, "--knowledge": knowledge,
                                         "--param": param or None, "--truth": truth})
            return
        method = method or "pc"
        try:
            if method in _NO_CI_TEST:
                given = [flag for flag, name in (("--ci", "ci"), ("--alpha", "alpha"))
                         if given_on_command_line(ctx, name)]
                if given:
                    raise ValueError(f"--method {method} is {_NO_CI_TEST[method]}: it uses no CI test or "
                                     f"significance level, so {' and '.join(given)} would be ignored.")
            if suggest and method in ("fci", "rfci", "gfci", "llc"):
                raise ValueError(f"--suggest plans experiments on a CPDAG or I-essential graph; --method {method} "
                                 "returns " + ("a linear cyclic model." if method == "llc" else
                                               "a partial ancestral graph."))
            if method == "llc":
                if given_on_command_line(ctx, "ci"):
                    raise ValueError("--method llc tests its edges by the bootstrap, not by a CI test, so --ci would "
                                     "be ignored (--alpha sets its level).")
                if not given_on_command_line(ctx, "alpha"):
                    from latentscm.discovery.llc import DEFAULT_ALPHA

                    alpha = DEFAULT_ALPHA
            from latentscm.discovery.codes import CAM_ALPHA, CAM_METHODS

            if method in CAM_METHODS:
                if given_on_command_line(ctx, "ci"):
                    raise ValueError(f"--method {method} prunes its causal order by CAM's F tests on additive spline "
                                     "models, not by a CI test, so --ci would be ignored (--alpha sets their level).")
                if not given_on_command_line(ctx, "alpha"):
                    alpha = CAM_ALPHA
            for flag, value in (("--tau-max", tau_max), ("--tau-min", tau_min), ("--pc-alpha", pc_alpha),
                                ("--link-assumptions", link_assumptions)):
                if value is not None:
                    raise ValueError(f"{flag} is an option of --timeseries discovery; a table without --timeseries "
                                     f"has no lags.")
            check_output_path(out, "--out")
            if png is not None:
                check_output_path(png, "--png", suffixes=(".png",))
                if png.resolve() == out.resolve():
                    raise ValueError(f"--png '{png}' and --out '{out}' are the same file.")
            if ci not in ci_test_names():
                raise ValueError(f"Unknown CI test {ci!r}. Available: {', '.join(ci_test_names())}.")
            if (data is None) == (run is None):
                raise ValueError("Give exactly one of a CSV file or --run DIR.")
            known = _read_knowledge(knowledge) if knowledge is not None else None
            if known is not None and method not in _KNOWLEDGE_METHODS:
                raise ValueError(f"--knowledge is used by --method {', '.join(_KNOWLEDGE_METHODS)}, not by "
                                 f"--method {method}.")
            from latentscm.cli.method_params import parse_params

            params = parse_params(param)
            comparison = None
            if truth is not None and run is not None:
                raise ValueError("--truth goes with a CSV table; a run is compared with its own world_graph.json.")
            if truth is not None and method in _UNSCORED_METHODS:
                raise ValueError(f"--truth scores a DAG, CPDAG or PAG over the table's columns; --method {method} "
                                 f"returns {_UNSCORED_METHODS[method]}.")
            known_graph = _read_truth(truth) if truth is not None else None
            if run is not None:
                if context is not None or environment is not None or targets is not None:
                    raise ValueError("--context / --environment / --targets name a column of a CSV table; a run's "
                                     "codes have none (use --method pc with --run).")
                _check_collider_rule(collider_rule, method)
                from latentscm.discovery.codes import CODE_METHODS

                if method not in CODE_METHODS:
                    raise ValueError(f"--run discovers among a run's codes with --method {', '.join(CODE_METHODS)}; "
                                     f"--method {method} needs a CSV table.")
                graph, comparison = _discover_run(run, method=method, ci=ci, alpha=alpha, trust_code=trust_code,
                                                  collider_rule=collider_rule or "standard", knowledge=known,
                                                  params=params)
            else:
                if trust_code:
                    raise ValueError("--trust-code goes with --run (it allows the classes a run directory names).")
                if data.is_dir():
                    raise ValueError(f"The CSV file '{data}' is a directory; give a CSV file (or --run DIR for a "
                                     f"run's codes).")
                if not data.is_file():
                    raise ValueError(f"No such file: {data}.")
                from latentscm.discovery import make_ci_test

                bdeu = (params or {}).get("score") == "bdeu"
                categorical = make_ci_test(ci).discrete or bdeu
                _check_targets(method, targets)
                if method in _ENVIRONMENT_METHODS and context is None and environment is None:
                    raise ValueError(f"--method {method} needs --environment (or --context) naming a column of the "
                                     "table.")
                row_targets, labels = None, None
                label_column = environment if environment is not None else context
                if method in _target_methods():
                    table, names, row_targets = read_targets_table(data, targets, method)
                elif label_column is not None and not categorical:
                    table, names, labels = read_environment_table(
                        data, label_column, "--environment" if environment is not None else "--context")
                else:
                    table, names = read_csv_table(data, text=categorical,
                                                  reason="the BDeu score (--param score=bdeu)" if bdeu else None)
                variables = [name for name in names if name != label_column]  # the graph's nodes, not the labels
                if known_graph is not None and sorted(known_graph.nodes) != sorted(variables):
                    raise ValueError(f"--truth '{truth}' must have one node per variable of the table "
                                     f"({', '.join(variables)}); it has {', '.join(known_graph.nodes)}.")
                # gfci pairs its test with its score (chisq for bdeu, cg_lrt for cg) unless --ci names one
                table_ci = None if method == "gfci" and not given_on_command_line(ctx, "ci") else ci
                graph = run_discovery(table, names, method=method, ci=table_ci, alpha=alpha, context=context,
                                      environment=environment, collider_rule=collider_rule, knowledge=known,
                                      params=params, targets=row_targets, environment_labels=labels)
                if labels is not None and "environments" in getattr(graph, "info", {}):  # the codes' own labels
                    graph.info["environments"] = [labels[int(code)] for code in graph.info["environments"]]
                if known_graph is not None:
                    columns = [k for k, name in enumerate(names) if name != label_column]
                    values = None if categorical else np.asarray(table)[:, columns]
                    comparison = _compare_with_truth(graph, known_graph, values, variables, truth)
        except (ValueError, TypeError) as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(2) from None
        payload = graph.to_dict()
        if comparison is not None:
            payload["comparison"] = comparison
        plan = experiment_plan(graph) if suggest else None
        if plan is not None:
            payload["experiments"] = plan
        _write_outputs(graph, payload, out, png)
        if hasattr(graph, "bidirected"):
            missing = len(graph.info.get("unidentified_edges", []))
            typer.echo(f"{len(graph.directed_edges)} directed and {len(graph.bidirected_edges)} bidirected edges of "
                       f"a linear cyclic model" + (f" ({missing} direct effects not identified)" if missing else "")
                       + f" -> {out}")
        elif hasattr(graph, "marks"):
            typer.echo(f"{len(graph.edges())} edges of a partial ancestral graph -> {out}")
        else:
            typer.echo(f"{len(graph.directed_edges)} directed and {len(graph.undirected_edges)} undirected edges "
                       f"-> {out}")
        if comparison is not None:
            typer.echo(_comparison_line(comparison))
        if plan is not None:
            typer.echo(plan["summary"])


def _comparison_line(comparison: dict[str, float]) -> str:
    """One line of the comparison with the known graph (the JSON holds all of it)."""
    labels = (("shd", "SHD {:g}"), ("skeleton.f1", "skeleton F1 {:.3f}"), ("sid", "SID {:g}"),
              ("arrowhead.precision", "arrowhead precision {:.3f}"), ("tail.precision", "tail precision {:.3f}"),
              ("sortability.var", "varsortability {:.3f}"), ("sortability.r2", "R^2-sortability {:.3f}"))
    parts = [label.format(comparison[key]) for key, label in labels if key in comparison]
    if "sid.lower" in comparison:  # a CPDAG: the SID of its best and worst DAG
        parts.insert(min(2, len(parts)), f"SID {comparison['sid.lower']:g}-{comparison['sid.upper']:g}")
    return "Against the known graph: " + (", ".join(parts) if parts else "see 'comparison' in the JSON") + "."


def experiment_plan(graph: Any) -> dict[str, Any]:
    """The experiments that would orient a CPDAG's or I-essential graph's undirected edges (Hauser & Bühlmann 2014):
    ``next`` (the single intervention with the largest guaranteed gain, and that gain), ``identifying_targets`` (the
    fewest target sets that orient everything; None with a ``reason`` when the undirected part is not chordal, as a
    finite-sample PC graph can be) and a one-line ``summary``."""
    from latentscm.discovery.experiment_design import best_single_intervention, identifying_targets

    undirected = len(graph.undirected_edges)
    if undirected == 0:
        return {"undirected": 0, "next": None, "identifying_targets": [],
                "summary": "Every edge is oriented: no experiment is needed to orient more."}
    best = best_single_intervention(graph)
    plan: dict[str, Any] = {"undirected": undirected,
                            "next": {"target": best.node, "orients_at_least": best.guaranteed}}
    try:
        sets = identifying_targets(graph)
    except ValueError as error:
        plan["identifying_targets"], plan["reason"] = None, str(error)
        tail = "no full plan: the undirected part is not chordal (not a valid essential graph)"
    else:
        plan["identifying_targets"] = [list(t) for t in sets]
        tail = f"{len(sets)} experiment(s) orient all {undirected}: " + "; ".join("{" + ", ".join(t) + "}"
                                                                                    for t in sets)
    plan["summary"] = (f"Next experiment: intervene on {best.node} (orients at least {best.guaranteed} of "
                       f"{undirected} undirected edges); {tail}.")
    return plan


#: Time-series methods that use --ci (their CI tests) and --alpha (a significance level).
_USES_CI, _USES_ALPHA = ("pcmci", "pcmci_plus"), ("pcmci", "pcmci_plus", "granger", "varlingam")


def _discover_timeseries(data: Path | None, *, method: str, ci: str, alpha: float, tau_max: int, out: Path,
                         unused: dict[str, Any], given: set[str] = frozenset(),
                         collider_rule: str | None = None, tau_min: int | None = None,
                         pc_alpha: str | None = None, link_assumptions: Path | None = None) -> None:
    from latentscm.cli.discover_timeseries import run_timeseries_discovery, temporal_graph_payload
    from latentscm.discovery import ci_test_names
    from latentscm.discovery import timeseries as _timeseries  # noqa: F401  registers "parcorr"

    try:
        refused = [flag for flag, value in unused.items() if value is not None]
        if refused:
            raise ValueError(f"{', '.join(refused)} cannot be used with --timeseries.")
        ignored = [f"{flag} (used by {', '.join(users)})" for name, flag, users in
                   (("ci", "--ci", _USES_CI), ("alpha", "--alpha", _USES_ALPHA))
                   if name in given and method not in users]
        if ignored:
            raise ValueError(f"--method {method} does not use {' or '.join(ignored)}.")
        check_output_path(out, "--out")
        if data is None:
            raise ValueError("--timeseries needs the CSV file of the series (rows are time steps).")
        if not data.is_file():
            raise ValueError(f"--timeseries needs a CSV file of the series; "
                             f"{'it is a directory' if data.is_dir() else 'no such file'}: {data}.")
        if ci not in ci_test_names():
            raise ValueError(f"Unknown CI test {ci!r}. Available: {', '.join(ci_test_names())}.")
        table, names = read_csv_table(data)
        graph = run_timeseries_discovery(table, names, method=method, tau_max=tau_max, alpha=alpha, ci=ci,
                                         collider_rule=collider_rule, tau_min=tau_min, pc_alpha=pc_alpha,
                                         link_assumptions=link_assumptions)
    except (ValueError, TypeError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    payload = temporal_graph_payload(graph)
    _write_outputs(None, payload, out, None)
    typer.echo(f"{len(payload['links'])} links up to lag {tau_max} ({method}) -> {out}")


def _write_outputs(graph: Any, payload: dict[str, Any], out: Path, png: Path | None) -> None:
    """Write the JSON to ``out`` (and the drawing to ``png``); an OSError is an ``Error:`` naming the file."""
    target, flag = out, "--out"
    try:
        write_atomic(out, lambda handle: handle.write(dumps_strict(payload, indent=2)))
        if png is not None:
            target, flag = png, "--png"
            draw = draw_pag_png if hasattr(graph, "marks") else draw_mixed_png if hasattr(graph, "bidirected") else \
                draw_graph_png
            draw(graph, png)
    except OSError as error:
        typer.echo(f"Error: cannot write {flag} '{target}': {error}", err=True)
        raise typer.Exit(2) from None


def _read_run_file(path: Path, read: Any, what: str) -> Any:
    """``read(path)``, with any failure to read or parse it raised as a ValueError naming the file."""
    try:
        return read(path)
    except (OSError, ValueError, EOFError) as error:  # JSONDecodeError, UnicodeDecodeError: ValueErrors
        raise ValueError(f"The run file {path} cannot be read as {what}: {error}") from None


#: Fresh samples encoded (and their seed) when a run directory has no codes.npy; as ``latentscm evaluate``.
RUN_SAMPLES, RUN_SEED = 2000, 2024


def _encode_run(run: Path, *, trust_code: bool) -> tuple[np.ndarray, list[str]]:
    """Codes (N, D) and names z0..z{D-1} of a ``latentscm train`` run: its learner encodes ``RUN_SAMPLES`` fresh
    samples of its world (or of its own images, for a run trained with ``--data``)."""
    import latentscm
    from latentscm.run import read_config
    from latentscm.training.resume import world_from_config

    try:
        config = read_config(run)
        learner = latentscm.load(run, trust_code=trust_code)
        if config.get("data", {}).get("kind") == "data":
            from latentscm.data.runs import data_from_config

            data = data_from_config(config, run)
            rows = np.sort(np.random.default_rng(RUN_SEED).choice(len(data), size=min(len(data), RUN_SAMPLES),
                                                                   replace=False))
            images = data.float_images(rows)
            codes = np.asarray(learner.encode(images), dtype=np.float64)
        else:  # as evaluate reads them (a multi-view learner: each sample from its views)
            from latentscm.metrics.evaluate import world_codes

            world = world_from_config(config, run, trust_code=trust_code)
            codes = world_codes(learner, world, world.sample(RUN_SAMPLES, seed=RUN_SEED), seed=RUN_SEED + 1)
    except (OSError, RuntimeError) as error:
        raise ValueError(f"Cannot encode the samples of the run {run}: {error}") from None
    return codes, [f"z{i}" for i in range(codes.shape[1])]


def _read_knowledge(path: Path) -> Any:
    """The BackgroundKnowledge in the JSON file ``path`` (``--knowledge``); ValueError naming the file."""
    from latentscm.discovery.knowledge import BackgroundKnowledge

    if not path.is_file():
        raise ValueError(f"--knowledge '{path}' {'is a directory' if path.is_dir() else 'does not exist'}; give a "
                         f"JSON file.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"Cannot read --knowledge '{path}': {error}") from None
    return BackgroundKnowledge.from_json(text, f"--knowledge '{path}'")


def _discover_run(run: Path, *, method: str, ci: str, alpha: float, trust_code: bool = False,
                  collider_rule: str = "standard", knowledge: Any = None,
                  params: dict[str, Any] | None = None) -> tuple[Any, dict[str, float] | None]:
    from latentscm.discovery.codes import compare_graphs, compare_pag, discover_from_codes

    if params:  # checked here, with the flags' names, before the run's codes are read or encoded
        _checked_params(method, params)

    if not run.is_dir():  # else the message would be about a missing codes.npy in it
        raise ValueError(f"--run '{run}' {'is not a directory' if run.exists() else 'does not exist'}; give a run "
                         f"directory.")
    codes_path, names_path = run / "codes.npy", run / "code_names.json"
    if not codes_path.exists() and not names_path.exists() and (run / "config.json").is_file():
        codes, names = _encode_run(run, trust_code=trust_code)  # a run of `latentscm train`
        return discover_from_codes(codes, names, method=method, ci_test=ci, alpha=alpha,
                                   collider_rule=collider_rule, knowledge=knowledge, options=params), None
    for required in (codes_path, names_path):
        if not required.is_file():
            raise ValueError(f"The run directory {run} has no {required.name} (expected codes.npy and "
                             "code_names.json).")
    codes = _read_run_file(codes_path, lambda path: np.load(path, allow_pickle=False), "a .npy array")
    names = _read_run_file(names_path, lambda path: json.loads(path.read_text()), "JSON")
    if not isinstance(codes, np.ndarray) or codes.ndim != 2:
        raise ValueError(f"The run file {codes_path} must hold a 2-D array (N, D) of codes. Got "
                         f"{getattr(codes, 'shape', type(codes).__name__)}.")
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError(f"The run file {names_path} must hold a JSON list of {codes.shape[1]} code names "
                         f"(strings). Got {type(names).__name__}: {str(names)[:80]}.")
    if len(names) != codes.shape[1]:
        raise ValueError(f"The run file {names_path} has {len(names)} names but {codes_path} has "
                         f"{codes.shape[1]} code columns.")
    truth_path, truth = run / "world_graph.json", None
    if truth_path.is_file():
        truth = _read_run_file(truth_path, _read_graph, "a graph (JSON object with 'nodes' and 'edges')")
    graph = discover_from_codes(codes, names, method=method, ci_test=ci, alpha=alpha, collider_rule=collider_rule,
                                knowledge=knowledge, options=params)
    if truth is None:
        return graph, None
    try:
        comparison = compare_pag(graph, truth) if hasattr(graph, "marks") else compare_graphs(graph, truth)
    except ValueError as error:
        raise ValueError(f"The run file {truth_path} does not match the codes: {error}") from None
    return graph, {**comparison, **_code_sortability(codes, names, truth)}


#: Methods whose result ``--truth`` cannot score, with what they return instead.
_UNSCORED_METHODS = {"llc": "a linear cyclic model with confounded pairs",
                     "lcd": "a graph over latent variables, not the table's columns",
                     "contrastive-lcd": "a graph over latent variables, not the table's columns"}
#: File suffixes that make a ``--truth`` without an arrow a path, not a graph of lone nodes.
_GRAPH_FILE_SUFFIXES = (".json", ".txt", ".dot", ".gv")


def _read_truth(text: str) -> Any:
    """The CausalGraph ``--truth`` gives: a JSON file's graph, or graph text; ValueError naming ``--truth``."""
    from latentscm.graph import CausalGraph, CycleError

    path = Path(text)
    try:
        exists, directory = path.is_file(), path.is_dir()
    except OSError:  # e.g. graph text longer than a file name may be
        exists = directory = False
    looks_like_path = "->" not in text and ("/" in text or path.suffix.lower() in _GRAPH_FILE_SUFFIXES)
    if path.suffix.lower() == ".json" or exists or directory or looks_like_path:
        if not exists:
            raise ValueError(f"--truth '{text}' {'is a directory' if directory else 'does not exist'}; give a "
                             f"JSON graph file or graph text such as 'a -> b; b -> c'.")
        try:
            return _read_graph(path)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise ValueError(f"--truth '{text}' is not a graph (a JSON object with 'nodes' and 'edges'): "
                             f"{error}") from None
    try:
        return CausalGraph.from_text(text)
    except CycleError as error:
        raise ValueError(f"--truth {text!r} is not a DAG: {error}") from None
    except ValueError as error:
        raise ValueError(f"--truth {text!r} is neither a JSON file nor graph text: {error}") from None


def _compare_with_truth(graph: Any, truth: Any, table: np.ndarray | None, names: Sequence[str],
                        text: str) -> dict[str, float]:
    """``--truth``'s comparison of a discovered graph with the known one, and the table's sortability along it
    (``table`` None for categorical data: no variances to sort)."""
    from latentscm.discovery.codes import compare_graphs, compare_pag

    if not hasattr(graph, "adjacency") or hasattr(graph, "bidirected"):
        raise ValueError(f"--truth scores a DAG, CPDAG or PAG; this method returns a "
                         f"{type(graph).__name__}.")
    context = getattr(graph, "info", {}).get("context")
    if context is not None and context in graph.nodes and context not in truth.nodes:  # cdnod's context node
        from latentscm.discovery.result import DiscoveredGraph

        keep = [k for k, node in enumerate(graph.nodes) if node != context]
        graph = DiscoveredGraph(tuple(graph.nodes[k] for k in keep), graph.adjacency[np.ix_(keep, keep)])
    try:
        comparison = compare_pag(graph, truth) if hasattr(graph, "marks") else compare_graphs(graph, truth)
    except ValueError as error:
        raise ValueError(f"--truth '{text}' does not match the result: {error}") from None
    if table is not None:
        comparison.update(_code_sortability(np.asarray(table, dtype=float), list(names), truth))
    return comparison


def _code_sortability(codes: np.ndarray, names: list[str], truth: Any) -> dict[str, float]:
    """``sortability.var`` and ``sortability.r2`` of the codes (N, D) along the world's graph (Reisach et al. 2021,
    2023): near 1, a method that orders variables by their scale (or R^2) finds the causal order without causal
    reasoning, so a good score says less. Left out when the codes' names are not the graph's nodes, when the graph
    has no edges, and (R^2) when a code is constant."""
    from latentscm.metrics.sortability import sortability

    if sorted(names) != sorted(truth.nodes) or not truth.edges:
        return {}
    columns = {name: codes[:, k] for k, name in enumerate(names)}
    scores = {"sortability.var": sortability(columns, truth, criterion="var")}
    if np.all(np.ptp(codes, axis=0) > 0):  # not std > 0: a constant's rounded mean leaves a std of 1e-17
        scores["sortability.r2"] = sortability(columns, truth, criterion="r2")
    return scores


def _read_graph(path: Path) -> Any:
    """The CausalGraph stored as a JSON dict in ``path`` (errors as ValueError, without the file name)."""
    from latentscm.graph import CausalGraph

    data = json.loads(path.read_text(encoding="utf-8-sig"))
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    try:
        return CausalGraph.from_dict(data)
    except (TypeError, KeyError) as error:
        raise ValueError(str(error)) from None
