"""``latentscm quickstart`` (the main job) and ``latentscm report``."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["quickstart", "report", "register"]


def quickstart(
    out: Path = typer.Option(Path("quickstart"), "--out", help="Output directory (report.html, metrics.json, runs)."),
    steps: int = typer.Option(None, "--steps", min=1, help="Training steps per model (default: 1500)."),
    n_samples: int = typer.Option(None, "--n-samples", min=64, help="Training images to render (default: 6000)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the data, the weights and the evaluation."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
) -> None:
    """Train a β-VAE and a CausalVAE on the pendulum world, evaluate both against the exact
    ground truth, and write DIR/report.html and DIR/metrics.json (re-running reuses finished work)."""
    from latentscm.quickstart import QuickstartConfig, run_quickstart

    config = QuickstartConfig(seed=seed)
    if steps is not None:
        config.steps = {name: steps for name in config.steps}
    if n_samples is not None:
        config.n_samples = n_samples
    from latentscm.cli.output_paths import check_output_dir, check_output_path

    try:
        check_output_dir(out, "--out")
        for filename in ("metrics.json", "report.html"):  # named before the training, not after it
            check_output_path(out / filename, "--out")
        run_quickstart(out, config, progress=progress)
    except (ValueError, TypeError, OSError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None


def report(
    runs: list[Path] = typer.Argument(..., help="Run directories to show."),
    out: Path = typer.Option(Path("report.html"), "--out", help="HTML file to write."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the images the page shows."),
    trust_code: bool = typer.Option(False, "--trust-code", help="Allow unregistered learner/world classes recorded "
                                    "in the run directories (runs their code)."),
) -> None:
    """Write one self-contained HTML page comparing runs: metrics, traversals, reconstructions,
    counterfactuals next to the true ones, graphs and training curves."""
    from latentscm.cli.output_paths import check_output_path
    from latentscm.report.html import build_report

    try:
        check_output_path(out, "--out")  # named as the option, before any run is loaded
        path = build_report(runs, out, seed=seed, trust_code=trust_code)
    except (ValueError, TypeError, OSError) as error:  # OSError: e.g. a name the file system refuses
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("quickstart")(quickstart)
    app.command("report")(report)
