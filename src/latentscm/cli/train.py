"""``latentscm train``, ``latentscm resume`` and ``latentscm evaluate``.

    latentscm train --world sprites --learner beta_vae --steps 3000 --out runs/x --set beta=4
    latentscm train --world pendulum --world-set grid=false --learner causal_vae --out runs/p
    latentscm train --data photos/ --labels labels.csv --learner causal_vae --set graph="a -> b" --out runs/d
    latentscm resume runs/x
    latentscm evaluate runs/x
    latentscm evaluate --encoder mypackage.models:encode --world sprites --out results/

``--world`` takes a registered world name or ``module:Class``; ``--set`` sets learner
hyperparameters and ``--world-set`` world options (one parser for both:
:mod:`latentscm.cli.assignments`). ``--preset`` (default ``cpu-small``) fills in image size,
steps, batch size, learning rate and bookkeeping intervals that are not given explicitly. Under
``torchrun --nproc-per-node K $(which latentscm) train ...`` the same command trains with
DistributedDataParallel. torch is imported only when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from latentscm.cli.assignments import (
    accepted_keys,
    parse_assignments,
    parse_domain_shift,
    parse_temporal,
    refuse_domains_option,
    refuse_unknown_keys,
)

__all__ = ["register", "parse_assignments", "make_world", "evaluate_run"]

_TRUST_HELP = ("Allow learner/world classes recorded in the run directory that are not registered (runs their "
               "code; only for run directories you trust).")

_PROGRESS_HELP = "Show a progress bar (default: only when stderr is a terminal)."

_USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, TypeError, FileNotFoundError, FileExistsError,
                                                 RuntimeError)


def make_world(name: str, size: int | None, options: dict[str, Any] | None = None, *,
               default_size: int | None = None, option: str = "--world-set"):
    """A registered world (``make(name, size=..., **options)``) or a ``module:Class`` world.

    A ``module:Class`` typed on the command line is the user's own choice, so it is imported
    (trusted), but it must name a ``World`` subclass. ``size`` (``--size``) fills in
    ``options["size"]`` when that is not given; ``default_size`` (the preset's) does so only for a
    world that has an image size (``ild-linear`` has none). An option the world does not take is
    refused naming ``option`` (``--size`` for ``size``) and the options it takes.
    """
    options = dict(options or {})
    if ":" in name:
        from latentscm._registry import resolve_class
        from latentscm.worlds import World

        cls = resolve_class(name, base=World, registered=(), trust_code=True, what="world", source="--world")
    else:
        from latentscm.worlds import get

        cls = get(name)
    takes = accepted_keys(cls)
    has_size = takes is None or "size" in takes
    if size is not None and not has_size:
        raise ValueError(f"--size {size}: world {name!r} has no image size; its options are {', '.join(takes)}.")
    if size is not None or (default_size is not None and has_size):  # the preset's size only where there is one
        options.setdefault("size", size if size is not None else default_size)
    refuse_unknown_keys(cls, options, option=option, what=f"world {name!r}")
    if ":" in name:
        return cls(**options)
    from latentscm.worlds import make

    return make(name, **options)


def _heldout_hook(world, seed: int, n: int = 256):
    """An eval hook: mean squared reconstruction error per image on held-out samples (of every
    domain, equally, for a multi-domain world)."""
    import numpy as np

    k = world.n_domains
    images = (world.sample(n, seed=seed) if k == 1 else world.sample_domains(max(n // k, 1), seed=seed)).images

    def hook(learner, step: int) -> dict[str, float]:
        error = (learner.reconstruct(images) - images).reshape(len(images), -1)
        return {"heldout_mse": float(np.square(error).sum(1).mean())}

    return hook


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise ValueError(f"--threads must be >= 1. Got {threads}.")
        import torch

        torch.set_num_threads(threads)


def _given_or(value: int | None, default: int) -> int:
    """An explicit option, else the preset's (an explicit 0 stays 0, for the learner to reject by name)."""
    return default if value is None else value


def _check_size(size: int | None, world_options: dict[str, Any]) -> None:
    """``--size`` and ``--world-set size=`` both set the image size: refuse the pair rather than drop one."""
    if size is not None and "size" in world_options:
        raise ValueError(f"--size {size} and --world-set size={world_options['size']!r} both set the image size; "
                         f"give one.")


#: ``latentscm train`` options that set a learner hyperparameter, by parameter name (= the ``--set`` key).
_PARAM_OPTIONS = {"steps": "--steps", "batch_size": "--batch-size", "lr": "--lr", "seed": "--seed",
                  "device": "--device"}


def _refuse_set_of_options(ctx: typer.Context, assigned: dict[str, Any]) -> None:
    """An option typed together with ``--set`` of the same hyperparameter: refuse the pair rather than drop one."""
    from latentscm.cli.given_options import given_on_command_line

    twice = [f"{flag} {ctx.params[key]} and --set {key}={assigned[key]!r}" for key, flag in _PARAM_OPTIONS.items()
             if key in assigned and given_on_command_line(ctx, key)]
    if twice:
        raise ValueError(f"{'; '.join(twice)} both set the same hyperparameter; give one.")


def _fail(error: BaseException) -> None:
    typer.echo(f"Error: {error}", err=True)
    raise typer.Exit(2)


def _suite(metrics: str | None) -> str | list[str]:
    """``--metrics``: a suite name of :data:`latentscm.metrics.SUITES` or comma-separated metric names."""
    from latentscm.metrics import SUITES

    if metrics is None:
        return "disentanglement"
    if metrics in SUITES:
        return metrics
    names = [name.strip() for name in metrics.split(",") if name.strip()]
    if not names:
        raise ValueError(f"--metrics must name a suite ({', '.join(SUITES)}) or metrics. Got {metrics!r}.")
    return names


def evaluate_run(run_dir: str | Path, *, n: int = 2000, seed: int = 2024, device: str | None = None,
                 metrics: str | None = None, trust_code: bool = False) -> dict[str, Any]:
    """Metrics of a trained run on ``n`` fresh samples of its world; writes ``metrics.json``.

    Reconstruction error (summed over pixels, mean over images) plus one call of
    :func:`latentscm.metrics.evaluate` (``metrics``: a suite name or comma-separated names),
    which also reports active units and, for causal learners, the counterfactual metrics.
    ``trust_code`` allows unregistered classes recorded in the run (see :func:`latentscm.load`).
    """
    import numpy as np

    import latentscm
    from latentscm._io import atomic_write_json
    from latentscm.metrics import evaluate
    from latentscm.run import read_config
    from latentscm.training.resume import temporal_from_config, world_from_config

    run_dir = Path(run_dir)
    suite = _suite(metrics)
    config = read_config(run_dir)
    learner = latentscm.load(run_dir, device=device, trust_code=trust_code)
    if config.get("data", {}).get("kind") == "data":
        # your own images: no world, so the metrics that need no ground truth (and the suite on labels)
        from latentscm.data.runs import data_from_config
        from latentscm.metrics.unlabelled import evaluate_data

        results = evaluate_data(learner, data_from_config(config, run_dir), suite=suite, n=n, seed=seed)
        summary = {"run": str(run_dir), "n": int(results["n"]), "seed": int(seed),
                   "steps": int(learner.n_steps_), "metrics": dict(results), "notes": list(results.notes)}
        atomic_write_json(run_dir / "metrics.json", summary)
        return summary
    world = world_from_config(config, run_dir, trust_code=trust_code)
    results: dict[str, Any] = {}
    notes: list[str] = []
    if getattr(learner, "can_decode", True):
        images = world.sample(n, seed=seed).images
        recon = learner.reconstruct(images)
        clipped = np.clip(recon, 1e-6, 1 - 1e-6)
        bce = -(images * np.log(clipped) + (1 - images) * np.log1p(-clipped))
        results["reconstruction.mse"] = float(np.square(recon - images).reshape(n, -1).sum(1).mean())
        results["reconstruction.bce"] = float(bce.reshape(n, -1).sum(1).mean())
    else:
        notes.append(f"reconstruction skipped: {type(learner).__name__} has no decoder.")
    evaluation = evaluate(learner, world, suite=suite, n=n, seed=seed)
    results.update(evaluation)
    notes += list(getattr(evaluation, "notes", []))
    temporal = temporal_from_config(config, world, run_dir)
    if temporal is not world:  # a temporal run: CITRIS's R² matrix on the variables of its process
        from latentscm.metrics.causal_variable_r2 import causal_variable_r2
        from latentscm.metrics.mcc import mcc

        scores = causal_variable_r2(learner, temporal, n=n, seed=seed)
        results["temporal.r2_diag"] = scores["diag"]
        results["temporal.r2_max_off_diag"] = scores["max_off_diag"]
        frames, factors = temporal.independent_frames(n, seed=seed)
        columns = [temporal.factor_names.index(v) for v in temporal.variables]
        results["temporal.mcc"] = mcc(learner.encode(frames), factors[:, columns])
        notes.append(f"temporal.*: CITRIS's R² matrix (groups {scores['assigned_by']}) and MCC over the variables "
                     f"{', '.join(temporal.variables)}, on frames whose variables are drawn independently.")
        if callable(getattr(learner, "transition_jacobian", None)):
            from latentscm.discovery.latent_temporal_graph import jacobian_temporal_graph

            graph = jacobian_temporal_graph(learner, temporal, n=n, seed=seed)
            results["temporal.jacobian_auroc"] = graph["auroc"]
            notes.append("temporal.jacobian_auroc: the cross edges of the learned transition's Jacobian against the "
                         "true lag-1 graph (0.5: chance).")
        if callable(getattr(learner, "counterfactual_codes", None)):
            from latentscm.metrics.temporal_counterfactual import temporal_counterfactual_scores

            sequences = max(10, min(200, n // 10))
            cf = temporal_counterfactual_scores(learner, temporal, n=sequences, length=10, at=3, seed=seed,
                                                read_variables=False)["mean"]["pixel"]
            results["temporal.cf_pixel_error"] = cf["model"]
            results["temporal.cf_excess"] = cf["excess"]
            notes.append(f"temporal.cf_*: counterfactual sequences ({sequences} of 10 frames, each variable set at "
                         f"step 3) against the world's exact ones; excess = (error - reconstruction's) / (changing "
                         f"nothing's - reconstruction's): 0 best, 1 no better than changing nothing.")
    if "activity.n_active" in results:
        results["active_units"] = int(results["activity.n_active"])  # the name metrics.json has always used
    summary = {"run": str(run_dir), "n": int(n), "seed": int(seed), "steps": int(learner.n_steps_),
               "metrics": results}
    if notes:  # only where evaluate has notes (something skipped, a multi-domain world), so other runs read as before
        summary["notes"] = notes
    atomic_write_json(run_dir / "metrics.json", summary)
    return summary


def _transition_learners() -> list[str]:
    """The registered learners that train on temporal transitions (``uses_transitions``)."""
    from latentscm.learners import REGISTRY

    found = []
    for name in REGISTRY.names():
        try:
            if getattr(REGISTRY.get(name), "uses_transitions", False):
                found.append(name)
        except Exception:  # noqa: BLE001 - a plugin that fails to import is not listed here
            continue
    return found


def register(app: typer.Typer) -> None:
    """Add the train / resume / evaluate commands to the ``latentscm`` app."""

    @app.command("train")
    def train_command(
        ctx: typer.Context,
        world: str | None = typer.Option(None, "--world",
                                         help="World name (see `latentscm worlds`) or module:Class (or use --data)."),
        data_path: Path | None = typer.Option(
            None, "--data", help="Your own images instead of a world: a folder of PNG/JPEG files (sorted by name, "
                                 "one size) or an .npy/.npz array; imported once into the verified store."),
        labels: Path | None = typer.Option(
            None, "--labels", help="With --data: CSV with a file (folder) or row (array) column and one numeric "
                                   "column per factor (causal learners and supervised metrics need them)."),
        channels: int | None = typer.Option(None, "--channels", help="With --data: convert images to 1 (grey), "
                                            "2 (grey+alpha), 3 (RGB) or 4 (RGBA) channels (default: keep)."),
        layout: str = typer.Option("auto", "--layout",
                                   help="With --data: channel axis of an array, auto, NCHW or NHWC."),
        data_key: str | None = typer.Option(None, "--data-key", help="With --data: the images' array in an .npz."),
        learner: str = typer.Option("beta_vae", "--learner",
                                    help="Learner name, e.g. beta_vae, factor_vae, qlae, ild_vae, ivae, ada_gvae, "
                                         "slow_vae, ilcm, contrastive, multiview, citris, tdrl (an unknown name "
                                         "lists them all)."),
        out: Path = typer.Option(..., "--out", help="Run directory to create."),
        preset: str = typer.Option("cpu-small", "--preset", help="cpu-small, cpu-64 or paper."),
        steps: int | None = typer.Option(None, "--steps", help="Optimisation steps (default: the preset's)."),
        size: int | None = typer.Option(None, "--size", help="Image side in pixels (default: the preset's)."),
        batch_size: int | None = typer.Option(None, "--batch-size",
                                               help="Images per optimisation step (default: the preset's)."),
        lr: float | None = typer.Option(None, "--lr",
                                        help="Learning rate (default: the preset's, else the learner's)."),
        seed: int = typer.Option(0, "--seed", help="Seed of the weights, the batches and the training images."),
        n_samples: int | None = typer.Option(None, "--n-samples", help="Training images rendered up front."),
        device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, ..."),
        checkpoint_every: int | None = typer.Option(None, "--checkpoint-every",
                                                    help="Steps between checkpoints (default: the preset's)."),
        log_every: int | None = typer.Option(None, "--log-every",
                                             help="Steps between train.jsonl records (default: the preset's)."),
        eval_every: int | None = typer.Option(None, "--eval-every", help="Held-out reconstruction every N steps."),
        assignments: list[str] | None = typer.Option(None, "--set", help="Learner hyperparameter, key=value."),
        world_assignments: list[str] | None = typer.Option(None, "--world-set",
                                                           help="World option, key=value (e.g. grid=false)."),
        shift: list[str] | None = typer.Option(
            None, "--shift", help="Train on a multi-domain world: DomainShift argument, key=value (n_domains, "
                                  "shifted, kind, strength, seed; shifted=a,b). --n-samples are split equally "
                                  "over the domains; the run records the shift."),
        temporal: list[str] | None = typer.Option(
            None, "--temporal", help="Train on a temporal process over the world's factors (learners of transitions, "
                                     "citris, tdrl): TemporalWorld argument, key=value (variables=a,b, "
                                     "edges=a->b;b->c, pull, noise, intervention_prob, targets=independent|single, "
                                     "others=fixed|mechanisms, sequence_length, noise_coupling); such learners get "
                                     "the defaults without it."),
        interventional_fraction: float | None = typer.Option(
            None, "--interventional-fraction",
            help="Share of training images drawn from single-factor random do() regimes (0-1); causal learners "
                 "use the known targets."),
        progress: bool | None = typer.Option(None, "--progress/--no-progress", help=_PROGRESS_HELP),
        threads: int | None = typer.Option(None, "--threads", help="torch CPU threads (default: torch's)."),
    ) -> None:
        """Train a learner on a world (--world) or your own images (--data); writes config, checkpoints, logs and
        the model to --out."""
        from latentscm import learners
        from latentscm.cli.output_paths import check_output_dir
        from latentscm.training import CheckpointError, get_preset

        try:
            check_output_dir(out, "--out")
            _set_threads(threads)
            chosen = get_preset(preset)
            # the preset fills in, its per-learner params refine it, explicit options win (0 included: the
            # learner rejects it by name), and --set has the last word
            params: dict[str, Any] = {"steps": chosen.steps, "batch_size": chosen.batch_size}
            if chosen.lr is not None:
                params["lr"] = chosen.lr
            given = {key: value for key, value in (("steps", steps), ("batch_size", batch_size), ("lr", lr))
                     if value is not None}
            given.update(seed=seed, device=device)
            assigned = parse_assignments(assignments, option="--set")
            _refuse_set_of_options(ctx, assigned)
            refuse_unknown_keys(learners.REGISTRY.get(learner), assigned, option="--set",
                                what=f"learner {learner!r}")
            given.update(assigned)
            params.update(chosen.params_for(learner, given))
            params.update(given)
            world_options = parse_assignments(world_assignments, option="--world-set")
            _check_size(size, world_options)
            refuse_domains_option(world_options)
            domains = parse_domain_shift(shift)
            if domains is not None and n_samples is not None and n_samples < domains.n_domains:
                raise ValueError(f"--n-samples {n_samples} is fewer than the {domains.n_domains} domains of --shift; "
                                 f"each domain gets --n-samples // n_domains images, so give at least one per domain.")
            model = learners.make(learner, **params)
            if (world is None) == (data_path is None):
                raise ValueError("Give exactly one of --world NAME (a procedural world) and --data PATH (your own "
                                 f"images). Got {'both' if world is not None else 'neither'}.")
            if data_path is not None:
                from latentscm.data import import_data

                extra = [name for name, value in (("--world-set", world_assignments), ("--size", size),
                                                  ("--shift", shift), ("--temporal", temporal),
                                                  ("--interventional-fraction", interventional_fraction),
                                                  ("--n-samples", n_samples)) if value not in (None, [])]
                if extra:
                    raise ValueError(f"{', '.join(extra)} go with --world; --data trains on the images as they are.")
                data = import_data(data_path, labels=labels, channels=channels, layout=layout, key=data_key)
                hook = None
                if eval_every is not None:
                    raise ValueError("--eval-every needs held-out images from a world; with --data, evaluate the run "
                                     "afterwards (latentscm evaluate RUN).")
            else:
                given = [name for name, value in (("--labels", labels), ("--channels", channels),
                                                  ("--data-key", data_key)) if value] + (
                    ["--layout"] if layout != "auto" else [])
                if given:
                    raise ValueError(f"{', '.join(given)} go with --data.")
                data = make_world(world, size, world_options, default_size=chosen.size)
                if domains is not None:
                    data = data.with_domains(domains)
                temporal_options = parse_temporal(temporal)
                if getattr(type(model), "uses_transitions", False):
                    from latentscm.worlds.temporal import TemporalWorld

                    data = TemporalWorld(data, **(temporal_options or {}))
                elif temporal_options is not None:
                    raise ValueError(f"--temporal draws transitions of a temporal process, and {type(model).__name__} "
                                     f"does not train on them (learners that do: {', '.join(_transition_learners())}).")
                if eval_every is not None and not getattr(type(model), "can_decode", True):
                    raise ValueError(f"--eval-every measures held-out reconstruction, and {type(model).__name__} has "
                                     f"no decoder; evaluate the run afterwards (latentscm evaluate RUN).")
                hook = _heldout_hook(getattr(data, "world", data), seed + 7_777_777) if eval_every is not None \
                    else None
            model.fit(data, out=str(out),  # --data is used whole; n_samples renders images of a world
                      n_samples=_given_or(n_samples, chosen.n_samples) if data_path is None else None,
                      checkpoint_every=_given_or(checkpoint_every, chosen.checkpoint_every),
                      log_every=_given_or(log_every, chosen.log_every), eval_every=eval_every, eval_hook=hook,
                      progress=progress, interventional_fraction=interventional_fraction)
        except (*_USER_ERRORS, CheckpointError, OSError) as error:
            _fail(error)
        _print_done(model, f"Saved to {out}")

    @app.command("resume")
    def resume_command(
        run_dir: Path = typer.Argument(..., help="Run directory written by `latentscm train`."),
        steps: int | None = typer.Option(None, "--steps", help="Raise the total number of steps."),
        device: str | None = typer.Option(None, "--device", help="cpu, cuda, cuda:1, ... (default: the run's)."),
        progress: bool | None = typer.Option(None, "--progress/--no-progress", help=_PROGRESS_HELP),
        threads: int | None = typer.Option(None, "--threads", help="torch CPU threads (default: torch's)."),
        trust_code: bool = typer.Option(False, "--trust-code", help=_TRUST_HELP),
    ) -> None:
        """Continue a run from its last checkpoint (exactly where an interrupted run stopped)."""
        from latentscm.training import CheckpointError, resume

        try:
            _set_threads(threads)
            model = resume(run_dir, steps=steps, progress=progress, device=device, trust_code=trust_code)
        except (*_USER_ERRORS, CheckpointError, OSError) as error:  # OSError: a run file that cannot be read
            _fail(error)
        _print_done(model, f"Resumed and saved to {run_dir}")

    @app.command("evaluate")
    def evaluate_command(
        run_dir: Path | None = typer.Argument(None, help="Run directory of a trained learner (or use --encoder)."),
        n: int = typer.Option(2000, "--n", help="Number of fresh samples to evaluate on."),
        seed: int = typer.Option(2024, "--seed", help="Seed of the fresh samples."),
        device: str | None = typer.Option(None, "--device",
                                           help="With a run: cpu, cuda, cuda:1, ... (default: the run's)."),
        metrics: str | None = typer.Option(None, "--metrics", help="Suite name or comma-separated metric names."),
        threads: int | None = typer.Option(None, "--threads", help="torch CPU threads (default: torch's)."),
        trust_code: bool = typer.Option(False, "--trust-code", help=_TRUST_HELP),
        encoder: str | None = typer.Option(
            None, "--encoder", help="Your own model instead of a run: module:function mapping images (N,C,H,W) "
                                    "float32 to codes (N,D). The module is imported (you chose to run it)."),
        decoder: str | None = typer.Option(None, "--decoder", help="With --encoder: module:function codes -> images."),
        counterfactual: str | None = typer.Option(
            None, "--counterfactual", help="With --encoder: module:function (images, interventions) -> images."),
        world: str | None = typer.Option(None, "--world", help="With --encoder: world name or module:Class."),
        world_assignments: list[str] | None = typer.Option(None, "--world-set", help="World option, key=value."),
        size: int | None = typer.Option(None, "--size", help="With --encoder: image side in pixels."),
        out: Path | None = typer.Option(None, "--out", help="With --encoder: directory of metrics.json (default .)."),
    ) -> None:
        """Compute reconstruction and disentanglement metrics; writes RUN_DIR/metrics.json (or, for your own
        model given by --encoder, OUT/metrics.json)."""
        from latentscm.training import CheckpointError

        try:
            _set_threads(threads)
            if encoder is not None:
                if run_dir is not None:
                    raise ValueError(f"Give a run directory or --encoder, not both (got {run_dir} and {encoder}).")
                if world is None:
                    raise ValueError("--encoder needs --world NAME: the world whose images and factors to "
                                     "evaluate on.")
                unused = [name for name, value in (("--device", device), ("--trust-code", trust_code)) if value]
                if unused:
                    raise ValueError(f"{', '.join(unused)} go with a run directory; --encoder runs your function "
                                     f"as it is.")
                from latentscm.cli.evaluate_model import evaluate_callable

                target = out if out is not None else Path(".")
                from latentscm.cli.output_paths import check_output_dir, check_output_path

                check_output_dir(target, "--out")
                check_output_path(Path(target) / "metrics.json", "--out")
                options = parse_assignments(world_assignments, option="--world-set")
                _check_size(size, options)
                summary = evaluate_callable(encoder, make_world(world, size, options), world_name=world,
                                            world_options=options, decoder=decoder, counterfactual=counterfactual,
                                            n=n, seed=seed, suite=_suite(metrics), out=target)
            else:
                given = [name for name, value in (("--decoder", decoder), ("--counterfactual", counterfactual),
                                                  ("--world", world), ("--world-set", world_assignments),
                                                  ("--size", size), ("--out", out)) if value]
                if run_dir is None:
                    raise ValueError("Give a run directory (latentscm evaluate runs/x) or your own model "
                                     "(--encoder module:function --world NAME).")
                if given:
                    raise ValueError(f"{', '.join(given)} go with --encoder; a run directory brings its own "
                                     f"model and world.")
                target = run_dir
                if (Path(run_dir) / "metrics.json").is_dir():
                    raise ValueError(f"'{Path(run_dir) / 'metrics.json'}' is a directory; evaluate writes the "
                                     f"metrics to that file (move the directory away).")
                summary = evaluate_run(run_dir, n=n, seed=seed, device=device, metrics=metrics,
                                       trust_code=trust_code)
        except (*_USER_ERRORS, CheckpointError) as error:
            _fail(error)
        except OSError as error:  # a file of the run cannot be read, or metrics.json written (permissions, space)
            _fail(error)
        for key, value in summary["metrics"].items():
            typer.echo(f"{key:32s} {value:.4g}" if isinstance(value, float) else f"{key:32s} {value}")
        for note in summary.get("notes", []):
            typer.echo(f"note: {note}")
        typer.echo(f"Wrote {Path(target) / 'metrics.json'}")


def _print_done(model, message: str) -> None:
    """The last logged step and ``message``, from one process: under ``torchrun`` rank 0 alone
    writes the run directory, and alone says so."""
    from latentscm.training.distributed import is_launch_main

    if not is_launch_main():
        return
    records = [r for r in model.history_ if r.get("kind") == "train"]
    if records:
        last = records[-1]
        typer.echo(f"step {last['step']}: loss {last.get('loss', float('nan')):.4g}, "
                   f"{last.get('steps_per_s', 0):.2f} steps/s")
    typer.echo(message)
