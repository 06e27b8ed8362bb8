"""``latentscm counterfactual RUN --do "light_position=1.2" --out cf.png``."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["counterfactual", "register"]


def counterfactual(
    run: Path = typer.Argument(..., help="A trained run directory."),
    do: str = typer.Option(..., "--do", help='Interventions in world units, e.g. "light_position=1.2".'),
    out: Path = typer.Option(Path("counterfactual.png"), "--out", help="PNG to write."),
    n: int = typer.Option(8, "--n", min=1, max=64, help="Number of images."),
    seed: int = typer.Option(0, "--seed", min=0),
    scale: int = typer.Option(3, "--scale", min=1, max=8),
    trust_code: bool = typer.Option(False, "--trust-code", help="Allow unregistered learner/world classes recorded "
                                    "in the run directory (runs their code)."),
) -> None:
    """Rows: input images, the model's counterfactuals, the world's true counterfactuals."""
    from latentscm.cli.output_paths import check_output_path
    from latentscm.interventions import parse_interventions
    from latentscm.probes.traversal_counterfactual import TraversalCounterfactual
    from latentscm.report.images import image_grid, save_png
    from latentscm.run import load, read_config
    from latentscm.training.resume import world_from_config

    try:
        check_output_path(out, "--out", suffixes=(".png",))
        interventions = parse_interventions(do)
        if not interventions:
            raise ValueError(f"--do names no intervention (got {do!r}); give one such as \"light_position=1.2\".")
        config = read_config(run)
        learner = load(run, trust_code=trust_code)
        world = world_from_config(config, run, trust_code=trust_code)
        batch = world.sample(n, seed=seed)
        model = learner if hasattr(learner, "counterfactual") else TraversalCounterfactual(learner, world, seed=seed)
        produced = model.counterfactual(batch.images, interventions)
        truth = world.counterfactual(batch, interventions).images
        save_png(out, image_grid([batch.images, produced, truth], scale=scale))
    except (ValueError, TypeError, OSError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {out} (rows: input | model counterfactual | true counterfactual)")


def register(app: typer.Typer) -> None:
    app.command("counterfactual")(counterfactual)
