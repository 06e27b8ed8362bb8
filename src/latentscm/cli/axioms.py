"""``latentscm axioms train | evaluate | show``: causal-axiom training of small transformers.

    latentscm axioms show --n 3 --max-length 4             # print demonstrations of the training data
    latentscm axioms train --out runs/ax --steps 2000       # train (perturbed data) into a run directory
    latentscm axioms train --out runs/ax0 --no-perturb      # the baseline without perturbations
    latentscm axioms train --out runs/ax --steps 2000 --resume   # continue an interrupted run (same settings)
    latentscm axioms train --out runs/ax --steps 3000 --resume   # train a run longer (same schedule, then lr/10)
    latentscm axioms evaluate runs/ax runs/ax0 --out metrics.json --report axioms.html

``evaluate`` scores every run on the same evaluation sets (chains of 3–15 nodes, reversed and
shuffled statements, branched graphs, d-separation against the exact oracle), adds the chance
baseline, writes the numbers as JSON and, with ``--report``, a self-contained HTML page.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["axioms_app", "register", "train_command", "evaluate_command", "show_command"]

axioms_app = typer.Typer(help="Causal-axiom training: transformers learn transitivity and d-separation "
                              "from symbolic demonstrations (Vashishtha et al. 2024).", no_args_is_help=True)


def _fail(error: Exception) -> None:
    typer.echo(f"Error: {error}", err=True)
    raise typer.Exit(2) from None


@axioms_app.command("show")
def show_command(
    n: int = typer.Option(3, "--n", min=1, max=100, help="Number of demonstrations."),
    seed: int = typer.Option(0, "--seed", help="Seed of the demonstrations."),
    no_perturb: bool = typer.Option(False, "--no-perturb", help="The unperturbed baseline distribution."),
    min_length: int = typer.Option(3, "--min-length", help="Smallest graph (nodes)."),
    max_length: int = typer.Option(6, "--max-length", help="Largest graph (nodes)."),
    tokens: bool = typer.Option(False, "--tokens", help="Also print the compact token form."),
) -> None:
    """Print demonstrations of the training distribution."""
    from latentscm.axioms import AxiomDistribution

    try:
        if no_perturb:
            distribution = AxiomDistribution.unperturbed(min_length=min_length, max_length=max_length)
        else:
            distribution = AxiomDistribution(min_length=min_length, max_length=max_length)
        demonstrations = distribution.sample(n, seed=seed)
    except (ValueError, TypeError) as error:
        _fail(error)
    for demo in demonstrations:
        typer.echo(demo.text())
        if tokens:
            typer.echo("  " + " ".join(demo.tokens()) + f" {demo.answer_token}")


@axioms_app.command("train")
def train_command(
    out: Path = typer.Option(..., "--out", help="Run directory (config, checkpoints, train.jsonl, model.pt)."),
    steps: int = typer.Option(2000, "--steps", help="Optimisation steps."),
    batch_size: int = typer.Option(64, "--batch-size", help="Demonstrations per step."),
    lr: float = typer.Option(1e-3, "--lr", help="Peak learning rate."),
    d_model: int = typer.Option(128, "--d-model", help="Transformer width."),
    n_layers: int = typer.Option(6, "--layers", help="Transformer blocks."),
    n_heads: int = typer.Option(4, "--heads", help="Attention heads."),
    d_ff: int = typer.Option(512, "--d-ff", help="MLP hidden width."),
    positional: str = typer.Option("rope", "--positional", help="none, sinusoidal, learned or rope."),
    no_perturb: bool = typer.Option(False, "--no-perturb", help="Train the baseline without perturbations."),
    max_length: int = typer.Option(6, "--max-length", help="Largest training chain (nodes)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the data and the weights."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out (same settings; a larger "
                                "--steps trains longer, on the first run's learning-rate schedule, then at lr/10)."),
    checkpoint_every: int = typer.Option(None, "--checkpoint-every", help="Steps between checkpoints."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines (the same as --no-progress)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Print progress lines."),
) -> None:
    """Train an axiom transformer from scratch (resumable with --resume)."""
    from latentscm.axioms import AxiomModel
    from latentscm.cli.output_paths import check_output_dir

    try:
        check_output_dir(out, "--out")
        model = AxiomModel(steps=steps, batch_size=batch_size, lr=lr, d_model=d_model, n_layers=n_layers,
                           n_heads=n_heads, d_ff=d_ff, positional=positional, perturb=not no_perturb,
                           max_length=max_length, seed=seed)
        model.fit(out, resume=resume, checkpoint_every=checkpoint_every, progress=progress and not quiet)
    except (ValueError, TypeError, FileExistsError, FloatingPointError, OSError) as error:
        _fail(error)
    last = model.history_[-1] if model.history_ else {}
    typer.echo(f"trained {model.network_.n_parameters():,} parameters for {model.n_steps_} steps "
               f"(training accuracy {last.get('accuracy', float('nan')):.3f}) -> {out}")


def _check_finished(run: Path) -> None:
    """A missing run directory, or one whose training did not finish, named as such (not as a missing file)."""
    from latentscm.axioms.model import CHECKPOINT_DIR, MODEL_NAME

    if not run.exists():
        raise ValueError(f"Run directory '{run}' does not exist.")
    if run.is_dir() and not (run / MODEL_NAME).exists():
        if any((run / CHECKPOINT_DIR).glob("*.pt")):
            raise ValueError(f"The training of '{run}' did not finish (no {MODEL_NAME}, only checkpoints); finish it "
                             f"with `latentscm axioms train --out {run} --resume` and the settings it was started "
                             f"with.")
        raise ValueError(f"'{run}' is not a run of `latentscm axioms train` (no {MODEL_NAME}).")


@axioms_app.command("evaluate")
def evaluate_command(
    runs: list[Path] = typer.Argument(..., help="Run directories written by `latentscm axioms train`."),
    out: Path = typer.Option(..., "--out", help="JSON file for the accuracies."),
    report: Path = typer.Option(None, "--report", help="Also write an HTML report here."),
    n_per_set: int = typer.Option(200, "--n-per-set", help="Demonstrations per evaluation set."),
    max_length: int = typer.Option(15, "--max-length", help="Longest evaluation chain (nodes); the long sets use "
                                   "chains of 7 (or one more than the runs' longest training chain) to it."),
    seed: int = typer.Option(12345, "--seed", help="Seed of the evaluation sets."),
) -> None:
    """Score trained runs on the generalisation sets, with the chance baseline."""
    from latentscm._io import atomic_write_json
    from latentscm.axioms import AxiomModel, chance_accuracy, evaluate, evaluation_sets, summarise
    from latentscm.axioms.evaluation_sets import DEFAULT_LONG_LENGTHS
    from latentscm.cli.output_paths import check_output_path
    from latentscm.training.checkpoint import CheckpointError

    try:
        if max_length < DEFAULT_LONG_LENGTHS[0]:  # before any run is loaded: below the shortest long chain
            raise ValueError(f"--max-length {max_length} is below the long evaluation chains, which start at "
                             f"{DEFAULT_LONG_LENGTHS[0]} nodes (longer than the training chains); give "
                             f"--max-length >= {DEFAULT_LONG_LENGTHS[0]}.")
        check_output_path(out, "--out")
        if report is not None:
            check_output_path(report, "--report")
            if report.resolve() == out.resolve():
                raise ValueError(f"--report '{report}' and --out '{out}' are the same file.")
        models = {}
        for run in runs:
            name = run.name or str(run)
            if name in models:
                raise ValueError(f"Two runs are named {name!r}; give run directories with different names.")
            _check_finished(run)
            models[name] = AxiomModel.load(run)
        n_names = {model.n_names for model in models.values()}
        if len(n_names) != 1:
            raise ValueError(f"The runs use different node-name pools (n_names {sorted(n_names)}); evaluate them "
                             f"separately.")
        pool = n_names.pop()
        train_lengths = (min(model.min_length for model in models.values()),
                         max(model.max_length for model in models.values()))
        # "long" means longer than any run was trained on (Vashishtha et al. 2024: trained on 3-6, tested on 7-15)
        long_lengths = (max(DEFAULT_LONG_LENGTHS[0], train_lengths[1] + 1), max_length)
        if max_length < long_lengths[0]:
            raise ValueError(f"--max-length {max_length} leaves no long evaluation chain: the runs were trained on "
                             f"chains of up to {train_lengths[1]} nodes, so the long sets start at "
                             f"{long_lengths[0]}; give --max-length >= {long_lengths[0]}.")
        if max_length > pool:
            raise ValueError(f"--max-length {max_length} is longer than the runs' node-name pool (n_names {pool}): "
                             f"a chain needs one name per node; give --max-length <= {pool}.")
        sets = evaluation_sets(n_per_set=n_per_set, n_names=pool, lengths=range(3, max_length + 1),
                               long_lengths=long_lengths, train_lengths=train_lengths, seed=seed)
        scores = {name: evaluate(model, sets) for name, model in models.items()}
    except (ValueError, TypeError, CheckpointError) as error:
        _fail(error)
    chance = chance_accuracy(sets)
    summary = {name: summarise(s, long_lengths=long_lengths) for name, s in scores.items()}
    payload = {"sets": {name: len(demos) for name, demos in sets.items()}, "chance": chance,
               "accuracy": scores, "summary": summary,
               "params": {name: model.get_params() for name, model in models.items()}}
    atomic_write_json(out, payload)
    for name, values in payload["summary"].items():
        shown = ", ".join(f"{key} {value:.3f}" for key, value in values.items())
        typer.echo(f"{name}: {shown}")
    if report is not None:
        from latentscm.report.axioms import write_axioms_report

        write_axioms_report(scores, chance, report, params=payload["params"])
        typer.echo(f"report -> {report}")
    typer.echo(f"accuracies -> {out}")


def register(app: typer.Typer) -> None:
    """Add the ``axioms`` command group to ``app``."""
    app.add_typer(axioms_app, name="axioms")
