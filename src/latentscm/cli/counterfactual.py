"""``latentscm counterfactual RUN --do "light_position=1.2" --out cf.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

__all__ = ["counterfactual", "register", "world_of_run"]

#: What a run records in config.json "data.kind" when it was not trained on a world, for error messages.
_NOT_A_WORLD = {"data": "your own images (latentscm train --data)", "batch": "a Batch given in Python",
                "array": "an image array given in Python", "pairs": "ImagePairs given in Python"}


def world_of_run(config: dict[str, Any], run: Path, *, trust_code: bool, command: str) -> Any:
    """The world a run was trained on, for a command that compares with its exact ground truth; a run trained
    without a world (``--data`` images, or arrays given in Python) is refused by what it was trained on."""
    from latentscm.training.resume import world_from_config

    recorded = config.get("data") if isinstance(config.get("data"), dict) else {}
    kind = recorded.get("kind")
    if kind in _NOT_A_WORLD:
        raise ValueError(f"`latentscm {command}` compares with the exact ground truth of the run's world, but "
                         f"'{run}' was trained on {_NOT_A_WORLD[kind]}, not on a world; give a run trained with "
                         f"latentscm train --world NAME.")
    return world_from_config(config, run, trust_code=trust_code)


def counterfactual(
    run: Path = typer.Argument(..., help="A trained run directory."),
    do: str = typer.Option(..., "--do", help='Interventions in world units, e.g. "light_position=1.2".'),
    out: Path = typer.Option(Path("counterfactual.png"), "--out", help="PNG to write."),
    n: int = typer.Option(8, "--n", min=1, max=64, help="Number of images."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the input images."),
    scale: int = typer.Option(3, "--scale", min=1, max=8, help="Pixel enlargement."),
    trust_code: bool = typer.Option(False, "--trust-code", help="Allow unregistered learner/world classes recorded "
                                    "in the run directory (runs their code)."),
) -> None:
    """Rows: input images, the model's counterfactuals, the world's true counterfactuals."""
    from latentscm.cli.output_paths import check_output_path
    from latentscm.interventions import parse_interventions
    from latentscm.probes.traversal_counterfactual import TraversalCounterfactual
    from latentscm.report.images import image_grid, save_png
    from latentscm.run import load, read_config

    try:
        check_output_path(out, "--out", suffixes=(".png",))
        interventions = parse_interventions(do)
        if not interventions:
            raise ValueError(f"--do names no intervention (got {do!r}); give one such as \"light_position=1.2\".")
        config = read_config(run)
        learner = load(run, trust_code=trust_code)
        if not hasattr(learner, "counterfactual") and not getattr(learner, "can_decode", True):
            raise ValueError(f"latentscm counterfactual renders images, and the run's {type(learner).__name__} has no "
                             f"decoder (an encoder-only learner).")
        world = world_of_run(config, run, trust_code=trust_code, command="counterfactual")
        batch = world.sample(n, seed=seed)
        model = learner if hasattr(learner, "counterfactual") else TraversalCounterfactual(learner, world, seed=seed)
        produced = model.counterfactual(batch.images, interventions)
        truth = world.counterfactual(batch, interventions).images
        try:
            grid = image_grid([batch.images, produced, truth], scale=scale)
        except ValueError as error:  # observations that are not images (e.g. ild-linear's (6, 1, 1) vectors)
            raise ValueError(f"The world of '{run}' has no images to show: {error}") from None
        save_png(out, grid)
    except (ValueError, TypeError, OSError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {out} (rows: input | model counterfactual | true counterfactual)")


def register(app: typer.Typer) -> None:
    app.command("counterfactual")(counterfactual)
