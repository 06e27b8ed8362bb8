"""The ``latentscm`` command.

Each area of the library registers its commands from its own module in this package
(``worlds.py``, ``discover.py``, ...), so the entry point stays small and commands import their
heavy dependencies (torch, sklearn) only when they run.
"""

from __future__ import annotations

import importlib

import typer

from latentscm._version import __version__

__all__ = ["app", "COMMAND_MODULES", "graph_command", "main"]

app = typer.Typer(
    name="latentscm",
    help="Causal representation learning: latent SCMs, interventions, counterfactuals, "
    "causal discovery and exact-ground-truth evaluation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules in this package that add commands to ``app`` when imported (each defines
# ``register(app)``). New areas append their module name here.
COMMAND_MODULES: list[str] = ["worlds", "train", "discover", "quickstart", "counterfactual", "axioms", "study", "probe",
                               "active", "domains", "rca", "effect"]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"latentscm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """latentscm command line."""


@app.command("graph")
def graph_command(
    text: str = typer.Argument(..., help="Graph in text form, e.g. 'a -> b; b -> c'."),
    dot: bool = typer.Option(False, "--dot", help="Print Graphviz DOT instead of text."),
) -> None:
    """Parse a causal graph, check it is acyclic and print it (text or DOT)."""
    from latentscm.graph import CausalGraph

    try:
        graph = CausalGraph.from_text(text)
    except ValueError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(graph.to_dot() if dot else graph.to_text())


for _name in COMMAND_MODULES:
    importlib.import_module(f"latentscm.cli.{_name}").register(app)


def main() -> None:
    """Console-script entry point."""
    app()
