"""``latentscm quickstart`` (the main job) and ``latentscm report``."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["quickstart", "report", "register"]


def quickstart(
    out: Path = typer.Option(Path("quickstart"), "--out", help="Output directory (report.html, metrics.json, runs)."),
    steps: int = typer.Option(None, "--steps", min=1, help="Training steps per model (default: the CPU preset)."),
    n_samples: int = typer.Option(None, "--n-samples", min=64, help="Training images to render."),
    seed: int = typer.Option(0, "--seed", min=0),
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
    from latentscm.cli.output_paths import check_output_dir

    try:
        check_output_dir(out, "--out")
        _check_reusable(out, config)
        run_quickstart(out, config, progress=progress)
    except (ValueError, TypeError, OSError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None


def _check_reusable(out: Path, config) -> None:
    """Re-running reuses the runs in ``out/runs``: refuse when they were trained with other --steps, --seed or
    --n-samples than asked (they would be reused, and metrics.json would record settings they were not trained with).
    """
    import json

    for name, steps in config.steps.items():
        path = Path(out) / "runs" / name / "config.json"
        try:
            recorded = json.loads(path.read_text())
            asked = {"steps": steps, "seed": config.seed, "n_samples": config.n_samples}
            found = {"steps": recorded["learner"]["params"]["steps"], "seed": recorded["learner"]["params"]["seed"],
                     "n_samples": recorded["data"]["n_samples"]}
        except (OSError, ValueError, KeyError, TypeError):  # no run yet, or a damaged record the library handles
            continue
        differ = [key for key in asked if found[key] != asked[key]]
        if differ:
            raise ValueError(
                f"--out '{out}' holds a {name} run trained with "
                f"{', '.join(f'{key}={found[key]}' for key in differ)}, not the asked "
                f"{', '.join(f'{key}={asked[key]}' for key in differ)}; re-running reuses finished work, so choose "
                f"another --out (or remove '{Path(out) / 'runs'}') to train with these settings.")


def report(
    runs: list[Path] = typer.Argument(..., help="Run directories to show."),
    out: Path = typer.Option(Path("report.html"), "--out", help="HTML file to write."),
    seed: int = typer.Option(0, "--seed", min=0),
    trust_code: bool = typer.Option(False, "--trust-code", help="Allow unregistered learner/world classes recorded "
                                    "in the run directories (runs their code)."),
) -> None:
    """Write one self-contained HTML page comparing runs: metrics, traversals, reconstructions,
    counterfactuals next to the true ones, graphs and training curves."""
    from latentscm.report.html import build_report

    try:
        path = build_report(runs, out, seed=seed, trust_code=trust_code)
    except (ValueError, FileNotFoundError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("quickstart")(quickstart)
    app.command("report")(report)
