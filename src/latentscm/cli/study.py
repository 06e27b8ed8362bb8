"""``latentscm study``: run a study spec, show its trials, write its report.

    latentscm study run study.yaml --out studies/beta                  # Ray if installed, else sequential
    latentscm study run study.yaml --out studies/beta --executor sequential --threads 2
    latentscm study run study.yaml --out /shared/studies/beta --address auto    # a Ray cluster
    latentscm study show study.yaml --out studies/beta                 # trials, ids and states; runs nothing
    latentscm study report studies/beta                                # studies/beta/report.html

Re-running ``study run`` skips finished trials, resumes interrupted ones from their checkpoints
and retries failed ones (``--retries`` extra attempts each). Each trial is an ordinary run
directory ``OUT/trials/<id>``: ``latentscm resume``, ``evaluate`` and ``report`` accept it.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register", "study_app"]

study_app = typer.Typer(help="Studies: learners × hyperparameter grids × worlds × seeds, run locally or on Ray.",
                        no_args_is_help=True)

_TRUST_HELP = "Allow module:Class learners and worlds that are not registered (runs their code)."


def _fail(error: BaseException) -> None:
    typer.echo(f"Error: {error}", err=True)
    raise typer.Exit(2)


def _check_executor(executor: str, *, address: str | None, workers: int | None) -> None:
    """Refuse an executor choice that cannot run, or options it would ignore, before the study directory exists."""
    from latentscm.study.executor import RAY_INSTALL_HINT, ray_available
    from latentscm.study.executors import EXECUTORS

    if executor not in EXECUTORS:
        raise ValueError(f"--executor must be one of {', '.join(EXECUTORS)}. Got {executor!r}.")
    if executor == "sequential":
        given = [f"{flag} {value}" for flag, value in (("--address", address), ("--workers", workers))
                 if value is not None]
        if given:
            raise ValueError(f"The sequential executor runs the trials in this process and takes no "
                             f"{' or '.join(given)} (options of Ray; --threads sets its torch threads).")
    elif (executor == "ray" or address is not None) and not ray_available():
        raise ImportError(RAY_INSTALL_HINT)
    elif workers is not None and address is not None:  # Ray joins the cluster as it is: num_cpus is not passed
        raise ValueError(f"--workers {workers} sets the CPUs of a local Ray instance; --address {address} joins a "
                         f"cluster, which brings its own CPUs. Give one of them.")
    elif workers is not None and not ray_available():  # auto without Ray runs the trials sequentially
        raise ValueError(f"--workers {workers} sets the CPUs of a local Ray instance, but Ray is not installed, so "
                         f"--executor auto runs the trials one after another in this process. Install Ray "
                         f"(pip install 'latentscm[ray]') or drop --workers (--threads sets torch's threads).")


@study_app.command("run")
def run_command(
    spec: Path = typer.Argument(..., help="Study spec: a .yaml/.yml (needs PyYAML) or .json file."),
    out: Path = typer.Option(..., "--out", help="Study directory (created; re-use it to resume)."),
    executor: str = typer.Option("auto", "--executor", help="auto (Ray when installed), ray or sequential."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster: auto or ray://host:10001 "
                                                               "(default: a local Ray instance)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="CPUs of the local Ray instance "
                                                                      "(default: the free cores)."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch threads per trial (default: 1 with "
                                                                      "Ray, all free cores sequentially)."),
    retries: int = typer.Option(1, "--retries", min=0, help="Extra attempts for a failing trial."),
    report: bool = typer.Option(True, "--report/--no-report", help="Write OUT/report.html at the end."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="Show progress bars (default: "
                                                                             "only on a terminal)."),
    trust_code: bool = typer.Option(False, "--trust-code", help=_TRUST_HELP),
) -> None:
    """Run every trial of SPEC not yet finished in OUT; write OUT/results.csv (and the report)."""
    from latentscm.cli.output_paths import check_output_dir
    from latentscm.study import StudyLockedError, StudySpecError, run

    try:
        check_output_dir(out, "--out")
        _check_executor(executor, address=address, workers=workers)
        result = run(spec, out, executor=executor, address=address, workers=workers, threads=threads,
                     retries=retries, trust_code=trust_code, progress=progress)
    except (StudySpecError, StudyLockedError, ImportError, ValueError, TypeError, OSError, RuntimeError) as error:
        _fail(error)
    counts = result.counts()
    typer.echo(f"{len(result.trials)} trials: {counts['done']} done, {counts['failed']} failed "
               f"({len(result.skipped)} already finished, {len(result.executed)} run now)")
    for row in result.rows:
        if row["status"] == "failed":
            typer.echo(f"failed {row['trial']}: {row['error']}")
    typer.echo(f"Wrote {', '.join(str(p) for p in result.files)}")
    if report and counts["done"]:
        from latentscm.report.study import build_study_report

        try:
            typer.echo(f"Wrote {build_study_report(out, trust_code=trust_code)}")
        except (ValueError, TypeError, OSError) as error:
            _fail(error)
    if counts["failed"]:
        raise typer.Exit(1)


@study_app.command("show")
def show_command(
    spec: Path = typer.Argument(..., help="Study spec (.yaml/.yml/.json)."),
    out: Path | None = typer.Option(None, "--out", help="Study directory, to show each trial's state."),
) -> None:
    """List the trials of SPEC (id, learner, world, seed, grid values) and, with --out, their states."""
    from latentscm.cli.output_paths import check_output_dir
    from latentscm.study import StudySpecError, expand, trial_states
    from latentscm.study.status import locate_trials

    try:
        if out is not None:
            check_output_dir(out, "--out")
        trials = expand(spec)
        states = trial_states(spec, out) if out is not None else {}
        # the directory each trial is in (a trial recorded under its old id keeps that name)
        shown = locate_trials(trials, out) if out is not None else trials
    except (StudySpecError, ImportError, ValueError, OSError) as error:
        _fail(error)
    for trial, where in zip(trials, shown):
        setting = ", ".join(f"{k}={trial.params[k]!r}" for k in trial.varied)
        state = f"{states.get(trial.id, 'pending'):8s} " if out is not None else ""
        typer.echo(f"{state}{where.id}  {trial.learner_label} on {trial.world_label}, seed {trial.seed}"
                   + (f", {setting}" if setting else ""))
    typer.echo(f"{len(trials)} trials")


@study_app.command("report")
def report_command(
    study_dir: Path = typer.Argument(..., help="Study directory."),
    out: Path | None = typer.Option(None, "--out", help="HTML file (default STUDY_DIR/report.html)."),
    metric: str | None = typer.Option(None, "--metric", help="Metric that picks each learner's best run "
                                                             "(default: the first headline metric, e.g. mig)."),
    trust_code: bool = typer.Option(False, "--trust-code", help=_TRUST_HELP),
) -> None:
    """Write the study report: metrics against hyperparameters, rank tables, metric correlations, best runs."""
    from latentscm.cli.output_paths import check_output_path
    from latentscm.report.study import build_study_report

    try:
        if study_dir.exists() and not study_dir.is_dir():  # else the message would be about report.html under it
            raise ValueError(f"STUDY_DIR '{study_dir}' is a file, not a study directory (give the --out directory "
                             f"of `latentscm study run`).")
        if out is not None:
            check_output_path(out, "--out")
        try:
            path = build_study_report(study_dir, out, metric=metric, trust_code=trust_code)
        except ValueError as error:  # the library names its parameter; the user typed the flag
            raise ValueError(str(error).replace("The 'metric' argument of build_study_report", "--metric")) from None
    except (ValueError, OSError) as error:
        _fail(error)
    typer.echo(f"Wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``latentscm study run|show|report`` to the app."""
    app.add_typer(study_app, name="study")
