"""``latentscm discover``: causal discovery on a CSV table or on a trained run's codes.

    latentscm discover data.csv --method pc --ci kci --out graph.json [--png graph.png]
    latentscm discover data.csv --method cdnod --context domain --out graph.json
    latentscm discover data.csv --method cdf --context environment --out graph.json
    latentscm discover --run RUN_DIR --out graph.json

A run directory holds ``codes.npy`` (N, D), ``code_names.json`` (list of D names) and optionally
``world_graph.json`` (a CausalGraph dict); with the last, the learned graph is scored against it.
Outputs are written to a temporary file and renamed, so no half-written file is left behind.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import typer

__all__ = ["read_csv_table", "write_atomic", "draw_graph_png", "run_discovery", "register"]


def read_csv_table(path: Path, *, text: bool = False) -> tuple[np.ndarray, list[str]]:
    """A CSV with a header row as (data (n, d), column names): floats, or with ``text=True``
    (categorical tests such as chisq) the stripped fields as a string array."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise ValueError(f"{path} is empty; a header row with column names is required.")
    header = [name.strip() for name in rows[0]]
    if len(set(header)) != len(header) or not all(header):
        raise ValueError(f"The header of {path} must hold unique non-empty names. Got {header}.")
    values = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: {len(row)} fields but the header has {len(header)}.")
        if text:
            values.append([v.strip() for v in row])
            continue
        try:
            values.append([float(v) for v in row])
        except ValueError:
            raise ValueError(f"{path}, line {line}: non-numeric value in {row} (for text categories use a "
                             "categorical test: --ci chisq or --ci gsq).") from None
    if text:
        return np.asarray(values, dtype=str).reshape(len(values), len(header)), header
    return np.asarray(values, dtype=np.float64).reshape(len(values), len(header)), header


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


def _environment_pairs(data: np.ndarray, labels: np.ndarray) -> np.ndarray:
    pairs = []
    for label in np.unique(labels):
        rows = data[labels == label]
        if rows.shape[0] >= 2:
            pairs.append(rows[:2])
    if not pairs:
        raise ValueError("No environment has two or more rows; Causal de Finetti needs pairs.")
    return np.stack(pairs)


def run_discovery(data: np.ndarray, names: list[str], *, method: str, ci: str, alpha: float,
                  context: str | None) -> Any:
    """Dispatch one discovery method on a named table (the CLI's core, importable for tests)."""
    from latentscm.discovery.codes import METHODS

    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}. Available: {', '.join(METHODS)}.")
    if method == "pc":
        if context is not None:
            raise ValueError("--context is only used by --method cdnod and --method cdf.")
        return METHODS["pc"](data, ci_test=ci, alpha=alpha, node_names=names)
    if context is None or context not in names:
        raise ValueError(f"--method {method} needs --context naming a column of the table. Got {context!r}; "
                         f"columns: {', '.join(names)}.")
    k = names.index(context)
    rest = [n for n in names if n != context]
    table = np.delete(data, k, axis=1)
    if method == "cdnod":
        return METHODS["cdnod"](table, data[:, k], ci_test=ci, alpha=alpha, node_names=rest,
                                context_name=context)
    return METHODS["cdf"](_environment_pairs(table, data[:, k]), ci_test=ci, alpha=alpha, node_names=rest)


def register(app: typer.Typer) -> None:
    @app.command("discover")
    def discover_command(
        data: Path = typer.Argument(None, help="CSV file with a header row of variable names."),
        method: str = typer.Option("pc", "--method", help="pc, cdnod or cdf (Causal de Finetti)."),
        ci: str = typer.Option("fisherz", "--ci", help="CI test: fisherz, kci, rcit, rcot, qkci; chisq or gsq "
                               "for categorical columns (text or integer codes)."),
        alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the CI tests."),
        context: str = typer.Option(None, "--context",
                                    help="Column holding the domain/time index (cdnod) or the "
                                    "environment id (cdf)."),
        run: Path = typer.Option(None, "--run", help="A trained run directory: discover among its codes."),
        out: Path = typer.Option(..., "--out", help="Where to write the graph JSON."),
        png: Path = typer.Option(None, "--png", help="Also draw the graph to this PNG file."),
    ) -> None:
        """Discover a causal graph (CPDAG) from a table or from a trained run's codes."""
        from latentscm.discovery import ci_test_names

        try:
            if ci not in ci_test_names():
                raise ValueError(f"Unknown CI test {ci!r}. Available: {', '.join(ci_test_names())}.")
            if (data is None) == (run is None):
                raise ValueError("Give exactly one of a CSV file or --run DIR.")
            comparison = None
            if run is not None:
                graph, comparison = _discover_run(run, method=method, ci=ci, alpha=alpha)
            else:
                if not data.is_file():
                    raise ValueError(f"No such file: {data}.")
                from latentscm.discovery import make_ci_test

                table, names = read_csv_table(data, text=make_ci_test(ci).discrete)
                graph = run_discovery(table, names, method=method, ci=ci, alpha=alpha, context=context)
        except (ValueError, TypeError) as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(2) from None
        payload = graph.to_dict()
        if comparison is not None:
            payload["comparison"] = comparison
        write_atomic(out, lambda handle: json.dump(payload, handle, indent=2))
        if png is not None:
            draw_graph_png(graph, png)
        typer.echo(f"{len(graph.directed_edges)} directed and {len(graph.undirected_edges)} undirected edges "
                   f"-> {out}")


def _discover_run(run: Path, *, method: str, ci: str, alpha: float) -> tuple[Any, dict[str, float] | None]:
    from latentscm.discovery.codes import compare_graphs, discover_from_codes
    from latentscm.graph import CausalGraph

    codes_path, names_path = run / "codes.npy", run / "code_names.json"
    for required in (codes_path, names_path):
        if not required.is_file():
            raise ValueError(f"The run directory {run} has no {required.name} (expected codes.npy and "
                             "code_names.json).")
    codes = np.load(codes_path, allow_pickle=False)
    names = json.loads(names_path.read_text())
    graph = discover_from_codes(codes, names, method=method, ci_test=ci, alpha=alpha)
    truth_path = run / "world_graph.json"
    if truth_path.is_file():
        truth = CausalGraph.from_dict(json.loads(truth_path.read_text()))
        return graph, compare_graphs(graph, truth)
    return graph, None
