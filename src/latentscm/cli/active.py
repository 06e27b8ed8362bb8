"""``latentscm active train|run``: active inference with factorised and entangled world models.

``latentscm active train --out DIR`` fits both world models on one seeded set of transitions of
a world (shapes3d at 32x32 by default) and writes the run directory;
``latentscm active run DIR --out OUT`` compares an expected-free-energy agent per model with a
random policy on seeded goals and writes ``OUT/results.json`` and ``OUT/report.html``.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["active_app", "train", "run", "register"]

active_app = typer.Typer(help="Active inference: an agent moves an object's pose toward a goal view by minimising "
                         "expected free energy under a factorised or an entangled world model.",
                         no_args_is_help=True)


def _ints(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"{option} must be comma-separated ints such as 16,32,32. Got {text!r}.") from None
    if not values:
        raise ValueError(f"{option} must list at least one int. Got {text!r}.")
    return values


@active_app.command("train")
def train(
    out: Path = typer.Option(..., "--out", help="Run directory to create (config.json, <model>.pt, models.json)."),
    world: str = typer.Option("shapes3d", "--world", help="Registered world name."),
    size: int = typer.Option(32, "--size", min=16, help="Image side of the world."),
    pose_factors: str = typer.Option(None, "--pose-factors", help="Comma-separated pose factors (default: the "
                                     "world's, e.g. orientation for shapes3d)."),
    step: int = typer.Option(1, "--step", help="Grid steps per move."),
    n_transitions: int = typer.Option(4000, "--n-transitions", min=1, help="Training transitions."),
    n_held_out: int = typer.Option(512, "--n-held-out", min=1, help="Held-out transitions."),
    steps: int = typer.Option(2000, "--steps", min=1, help="Optimisation steps per model."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Transitions per step."),
    lr: float = typer.Option(1e-3, "--lr", help="Learning rate."),
    beta: float = typer.Option(1.0, "--beta", help="Weight of the KL terms."),
    shape_dim: int = typer.Option(6, "--shape-dim", min=1, help="Shape latent units (factorised)."),
    pose_dim: int = typer.Option(2, "--pose-dim", min=1, help="Pose latent units (factorised); the entangled "
                                 "model gets shape-dim + pose-dim units."),
    channels: str = typer.Option("32,32,64,64", "--channels", help="Encoder convolution channels."),
    hidden_dim: int = typer.Option(256, "--hidden-dim", min=1, help="Encoder and decoder dense width."),
    models: str = typer.Option("factorised,entangled", "--models", help="Which models to fit."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seeds data and models."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Print each model's held-out numbers "
                                  "once it is fitted."),
) -> None:
    """Fit the world models on the same seeded transitions and write the run directory."""
    from latentscm.active.experiment import train_world_models
    from latentscm.cli.output_paths import check_output_dir

    try:
        check_output_dir(out, "--out")
        shared = {"channels": _ints(channels, "--channels"), "hidden_dim": hidden_dim, "beta": beta, "lr": lr,
                  "batch_size": batch_size, "steps": steps, "seed": seed}
        per_model = {"factorised": {"shape_dim": shape_dim, "pose_dim": pose_dim},
                     "entangled": {"latent_dim": shape_dim + pose_dim}}
        names = [n.strip() for n in models.split(",") if n.strip()]
        unknown = [n for n in names if n not in per_model]
        if unknown or not names:
            raise ValueError(f"--models must list some of {', '.join(per_model)}. Got {models!r}.")
        factors = [f.strip() for f in pose_factors.split(",") if f.strip()] if pose_factors else None
        if factors is None:
            from latentscm.active.environment import DEFAULT_POSE_FACTORS

            if world not in DEFAULT_POSE_FACTORS:  # the library would ask for its Python argument
                from latentscm.worlds import make

                names = make(world, size=size).factor_names
                raise ValueError(f"--pose-factors is needed for world {world!r}, which has no default pose factors "
                                 f"(its factors: {', '.join(names)}); e.g. --pose-factors {names[0]}.")
        config = train_world_models(out, world=world, world_options={"size": size}, pose_factors=factors, step=step,
                                    n_transitions=n_transitions, n_held_out=n_held_out, seed=seed,
                                    models={n: {**shared, **per_model[n]} for n in names}, progress=progress)
    except (ValueError, TypeError, FileExistsError, FloatingPointError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {out} ({', '.join(config['models'])})")


@active_app.command("run")
def run(
    run_dir: Path = typer.Argument(..., help="A directory written by `latentscm active train`."),
    out: Path = typer.Option(Path("active_results"), "--out", help="Directory for results.json and report.html."),
    goals: int = typer.Option(50, "--goals", min=1, help="Number of random goals."),
    max_steps: int = typer.Option(30, "--max-steps", min=1, help="Episode length cap."),
    horizon: int = typer.Option(2, "--horizon", min=1, max=4, help="Planning horizon (all action sequences)."),
    ambiguity_weight: float = typer.Option(1.0, "--ambiguity-weight", min=0.0, help="Weight of the ambiguity term."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seeds the goals and the random policy."),
) -> None:
    """Compare an EFE agent per model with a random policy on the same goals; write the results
    and the report (goal-reaching curves)."""
    from latentscm._io import atomic_write_json
    from latentscm.active.episodes import replay
    from latentscm.active.experiment import evaluate_run, open_run
    from latentscm.cli.output_paths import check_output_dir, check_output_path
    from latentscm.report.active import write_active_report

    try:
        check_output_dir(out, "--out")
        for filename in ("results.json", "report.html"):  # named before the episodes run, not after
            check_output_path(out / filename, "--out")
        result = evaluate_run(run_dir, n_goals=goals, max_steps=max_steps, horizon=horizon,
                              ambiguity_weight=ambiguity_weight, seed=seed)
        env, _, _ = open_run(run_dir)
    except (ValueError, TypeError, FileNotFoundError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    except OSError as error:  # a file of the run that cannot be read (a directory in its place, permissions)
        typer.echo(f"Error: cannot read the run '{run_dir}': {error}", err=True)
        raise typer.Exit(2) from None
    task = result["tasks"][0]
    episodes = {name: replay(env, task["start"], summary["actions"][0]) for name, summary in result["agents"].items()}
    _, goal_image = env.reset(task["start"], task["goal"])
    try:
        atomic_write_json(out / "results.json", result)
        write_active_report(result, out / "report.html", episodes=episodes, goal_image=goal_image)
    except OSError as error:  # e.g. no space left
        typer.echo(f"Error: cannot write to --out '{out}': {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{'agent':<12} {'reached':>8} {'mean steps':>11} {'free energy':>12} {'complexity':>11}")
    for name, summary in result["agents"].items():
        typer.echo(f"{name:<12} {summary['success_rate']:>8.2f} {summary['mean_steps']:>11.2f} "
                   f"{summary['mean_free_energy']:>12.2f} {summary['mean_complexity']:>11.3f}")
    typer.echo(f"wrote {out / 'results.json'} and {out / 'report.html'}")


def register(app: typer.Typer) -> None:
    app.add_typer(active_app, name="active")
