"""``latentscm counterfactual RUN --do "light_position=1.2" --out cf.png``.

For a run trained on a temporal process (``latentscm train --temporal ...``) with a learner of its mechanisms (TDRL,
CITRIS-VAE), ``--do`` sets causal variables at step ``--at`` of sequences of ``--length`` frames: the picture shows,
per sequence, the factual frames, the model's counterfactual sequence (the same abducted innovations through its
learned mechanisms) and the world's exact counterfactual sequence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import typer

__all__ = ["counterfactual", "register", "world_of_run", "temporal_counterfactual_rows"]

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


def temporal_counterfactual_rows(learner: Any, temporal: Any, interventions: dict[str, Any], *, n: int, length: int,
                                 at: int, seed: int) -> list[np.ndarray]:
    """Rows of frames (T, C, H, W), three per sequence (factual, the learner's counterfactual, the true one), of ``n``
    sequences of ``temporal`` had ``interventions`` (variable: value in factor units, or ``Do(value)``) been made at
    step ``at``.

    Learners that cannot tell an intervention from an innovation (TDRL) get sequences of the same process without
    interventions, as :func:`~latentscm.metrics.temporal_counterfactual.temporal_counterfactual_scores` does."""
    from latentscm.interventions import Do, Intervention
    from latentscm.metrics.temporal_counterfactual import (
        factual_process,
        intervention_units,
        model_counterfactual_codes,
    )

    owner = "latentscm counterfactual"
    values = {}
    for name, value in interventions.items():
        if isinstance(value, Intervention) and not isinstance(value, Do):
            raise ValueError(f"--do: a temporal process takes hard interventions (a value) only; {name!r} is given "
                             f"{value!r}.")
        values[name] = value.value if isinstance(value, Do) else value
    if not callable(getattr(learner, "counterfactual_codes", None)):
        raise ValueError(f"{owner}: the run was trained on a temporal process, and its {type(learner).__name__} does "
                         f"not model the process's mechanisms (train tdrl or citris_vae for counterfactual "
                         f"sequences).")
    for name in values:
        if name not in temporal.variables:
            raise ValueError(f"--do names {name!r}, not a causal variable of the run's temporal process "
                             f"({', '.join(temporal.variables)}).")
    if not 0 <= at <= length - 2:
        raise ValueError(f"--at must lie in [0, {length - 2}] for sequences of --length {length} (a step with a "
                         f"frame after it). Got {at}.")
    process, reads_targets = factual_process(learner, temporal, owner)
    batch = process.sample(n, length, seed=seed)
    shape = batch.images.shape[2:]
    codes = np.asarray(learner.encode(batch.images.reshape(n * length, *shape))).reshape(n, length, -1)
    units_of, _, _ = intervention_units(learner, temporal, list(values), owner, seed=seed + 1)
    changed, truth = model_counterfactual_codes(learner, process, batch, codes, values, units_of, at=at,
                                                targets=batch.targets if reads_targets else None)
    produced = learner.decode(changed.reshape(n * length, -1)).reshape(n, length, *shape)
    return [row for i in range(n) for row in (batch.images[i], produced[i], truth.images[i])]


def counterfactual(
    run: Path = typer.Argument(..., help="A trained run directory."),
    do: str = typer.Option(..., "--do", help='Interventions in world units, e.g. "light_position=1.2".'),
    out: Path = typer.Option(Path("counterfactual.png"), "--out", help="PNG to write."),
    n: int = typer.Option(8, "--n", min=1, max=64, help="Number of images (temporal runs: of sequences)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the input images."),
    scale: int = typer.Option(3, "--scale", min=1, max=8, help="Pixel enlargement."),
    at: int | None = typer.Option(None, "--at", min=0, help="Temporal runs: the step of the intervention "
                                  "(default 3)."),
    length: int | None = typer.Option(None, "--length", min=3, max=64, help="Temporal runs: frames per sequence "
                                      "(default 10)."),
    trust_code: bool = typer.Option(False, "--trust-code", help="Allow unregistered learner/world classes recorded "
                                    "in the run directory (runs their code)."),
) -> None:
    """Rows: input images, the model's counterfactuals, the world's true counterfactuals (temporal runs: per
    sequence, its frames, the model's counterfactual sequence and the true one)."""
    from latentscm.cli.output_paths import check_output_path
    from latentscm.interventions import parse_interventions
    from latentscm.probes.traversal_counterfactual import TraversalCounterfactual
    from latentscm.run import load, read_config
    from latentscm.training.resume import temporal_from_config

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
        temporal = temporal_from_config(config, world, run)
        if temporal is not world:
            rows = temporal_counterfactual_rows(learner, temporal, interventions, n=n, seed=seed,
                                                length=10 if length is None else length, at=3 if at is None else at)
            _save_grid(out, rows, scale, run)
            typer.echo(f"wrote {out} (per sequence, rows: factual | model counterfactual | true counterfactual; "
                       f"do at step {3 if at is None else at})")
            return
        if at is not None or length is not None:
            raise ValueError(f"--at and --length set the step and the sequences of a temporal run, and '{run}' was "
                             f"not trained on a temporal process (latentscm train --temporal ...).")
        batch = world.sample(n, seed=seed)
        if getattr(learner, "calibration_", False) is None:
            # latents identified up to monotone maps (CauCA): mapped to world units on labelled samples of the world
            learner.calibrate(world.sample(max(n, 500), seed=seed + 1))
            typer.echo(f"note: {type(learner).__name__}'s latents mapped to world units by calibrate() on "
                       f"{max(n, 500)} labelled samples of the world")
        model = learner if hasattr(learner, "counterfactual") else TraversalCounterfactual(learner, world, seed=seed)
        produced = model.counterfactual(batch.images, interventions)
        truth = world.counterfactual(batch, interventions).images
        _save_grid(out, [batch.images, produced, truth], scale, run)
    except (ValueError, TypeError, OSError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {out} (rows: input | model counterfactual | true counterfactual)")


def _save_grid(out: Path, rows: list[np.ndarray], scale: int, run: Path) -> None:
    from latentscm.report.images import image_grid, save_png

    try:
        grid = image_grid(rows, scale=scale)
    except ValueError as error:  # observations that are not images (e.g. ild-linear's (6, 1, 1) vectors)
        raise ValueError(f"The world of '{run}' has no images to show: {error}") from None
    save_png(out, grid)


def register(app: typer.Typer) -> None:
    app.command("counterfactual")(counterfactual)
