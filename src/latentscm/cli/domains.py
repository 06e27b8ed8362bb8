"""``latentscm domain-counterfactual RUN --world NAME --shift KEY=VALUE ... --out page.html``.

A run trained on a multi-domain world (``latentscm train ... --shift n_domains=3 --shift
shifted=hue``) records its world and :class:`~latentscm.worlds.domains.DomainShift`, and the
command uses them::

    latentscm domain-counterfactual runs/ild --to-domain 2 --out dcf.html

A run trained in Python on a Batch (``world.sample_domains``) records neither, so the command is
told the world and its shift, e.g.::

    latentscm domain-counterfactual runs/ild --world hue-sprites --world-set size=16 \\
        --shift n_domains=3 --shift shifted=hue --shift strength=1.5 --to-domain 2 --out dcf.html

It writes the self-contained domain-counterfactual page (grids input | model | truth per pair,
with errors against the exact counterfactual; :mod:`latentscm.report.domains`), optionally the
grid of one pair as a PNG, and prints the normalised error.
"""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["domain_counterfactual", "register"]


def domain_counterfactual(
    run: Path = typer.Argument(..., help="A trained run directory of a model with domain_counterfactual "
                               "(e.g. learner ild_vae)."),
    world: str = typer.Option(None, "--world", help="The world the run was trained on (registered name); default: "
                              "the multi-domain world the run recorded."),
    world_assignments: list[str] = typer.Option(None, "--world-set", help="With --world: world option, key=value."),
    shift: list[str] = typer.Option(None, "--shift", help="With --world: DomainShift argument, key=value "
                                    "(n_domains, shifted, kind, strength, seed); shifted=a,b for several factors."),
    from_domain: int = typer.Option(None, "--from-domain", min=0, help="Source domain (default: every domain "
                                    "other than the target)."),
    to_domain: int = typer.Option(None, "--to-domain", min=0, help="Target domain (default: every ordered pair)."),
    out: Path = typer.Option(Path("domain_counterfactuals.html"), "--out", help="HTML page to write."),
    png: Path = typer.Option(None, "--png", help="Also write the first pair's grid (input | model | truth) here."),
    n: int = typer.Option(8, "--n", min=1, max=64, help="Images per grid."),
    n_eval: int = typer.Option(128, "--n-eval", min=1, help="Samples per source domain for the error."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the images."),
    trust_code: bool = typer.Option(False, "--trust-code", help="Allow unregistered learner classes recorded in "
                                    "the run directory (runs their code)."),
) -> None:
    """Domain counterfactual grids and errors of a trained model against the world's exact ones."""
    from latentscm.cli.assignments import (
        parse_assignments,
        parse_domain_shift,
        refuse_domains_option,
        refuse_unknown_keys,
    )
    from latentscm.cli.counterfactual import _NOT_A_WORLD
    from latentscm.cli.output_paths import check_output_path
    from latentscm.report.domains import domain_counterfactual_rows, write_domain_report
    from latentscm.report.images import image_grid, save_png
    from latentscm.run import load, read_config
    from latentscm.training.resume import world_from_config
    from latentscm.worlds import get as get_world
    from latentscm.worlds import make

    try:
        check_output_path(out, "--out")
        if png is not None:
            check_output_path(png, "--png", suffixes=(".png",))
            if png.resolve() == out.resolve():
                raise ValueError(f"--png '{png}' and --out '{out}' are the same file.")
        options = parse_assignments(world_assignments, option="--world-set")
        refuse_domains_option(options)
        domains = parse_domain_shift(shift)
        if world is not None:
            if domains is None:
                raise ValueError("--world needs the domain shift of the run's data: give --shift KEY=VALUE "
                                 "(n_domains, shifted, kind, strength, seed).")
            refuse_unknown_keys(get_world(world), options, option="--world-set", what=f"world {world!r}")
            model_world = make(world, domains=domains, **options)
        else:
            given = [name for name, value in (("--world-set", options), ("--shift", domains)) if value]
            if given:
                raise ValueError(f"{' and '.join(given)} go with --world; without it the world is the one the run "
                                 f"recorded.")
            config = read_config(run)
            recorded = config.get("data") if isinstance(config.get("data"), dict) else {}
            if recorded.get("kind") != "world" or recorded.get("domains") is None:
                what = (f"world {recorded.get('world')!r} without domains" if recorded.get("kind") == "world"
                        else f"{_NOT_A_WORLD.get(recorded.get('kind'), 'data')}, which records no world")
                raise ValueError(f"'{run}' was trained on {what}; give the world and its domain shift with "
                                 f"--world NAME --shift KEY=VALUE ....")
            model_world = world_from_config(config, run, trust_code=trust_code)
            domains = model_world.domains
        learner = load(run, trust_code=trust_code)
        if not callable(getattr(learner, "domain_counterfactual", None)):
            raise ValueError(f"The learner of '{run}' ({type(learner).__name__}) has no domain_counterfactual; train "
                             f"one that has (e.g. --learner ild_vae).")
        for name, value in (("--from-domain", from_domain), ("--to-domain", to_domain)):
            if value is not None and value >= domains.n_domains:
                raise ValueError(f"{name} {value} is out of range: the shift has {domains.n_domains} domains "
                                 f"(0 .. {domains.n_domains - 1}).")
        sources = range(domains.n_domains) if from_domain is None else [from_domain]
        targets = range(domains.n_domains) if to_domain is None else [to_domain]
        pairs = [(s, t) for s in sources for t in targets if s != t]
        if not pairs:
            raise ValueError(f"--from-domain and --to-domain are both {from_domain}: choose two different domains.")
        path, metrics = write_domain_report(learner, model_world, out, pairs=pairs, n_images=n, n_eval=n_eval,
                                            seed=seed, notes=[f"run: {run}"])
        if png is not None:
            rows = domain_counterfactual_rows(learner, model_world, *pairs[0], n_images=n, seed=seed)
            save_png(png, image_grid([images for _, images in rows], scale=3))
    except (ValueError, TypeError, OSError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {path}: domain-counterfactual error {metrics['dcf.error']:.4g}, floor "
               f"{metrics['dcf.identity']:.4g}, normalised {metrics['dcf.normalised']:.3f} over {len(pairs)} pair(s)")


def register(app: typer.Typer) -> None:
    app.command("domain-counterfactual")(domain_counterfactual)
