"""``latentscm worlds list | show | generate | factors``."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["worlds_app", "parse_options", "list_worlds", "show", "generate_command", "factors_command", "register"]

worlds_app = typer.Typer(help="Procedural worlds with exact ground truth.", no_args_is_help=True)


def parse_options(items: list[str] | None) -> dict:
    """``["size=32", "variant=color", "grid=false"]`` -> options (see :mod:`latentscm.cli.assignments`)."""
    from latentscm.cli.assignments import parse_assignments

    return parse_assignments(items, option="--set")


def _make(name: str, items: list[str] | None):
    from latentscm.cli.assignments import refuse_unknown_keys
    from latentscm.worlds import get, make

    try:
        options = parse_options(items)
        refuse_unknown_keys(get(name), options, option="--set", what=f"world {name!r}")
        return make(name, **options)
    except (ValueError, TypeError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None


@worlds_app.command("list")
def list_worlds() -> None:
    """List the worlds with their factors, image shape and grid size."""
    from latentscm.worlds import make, names

    width = max(10, *(len(name) for name in names()))  # the columns line up whatever the longest name
    for name in names():
        world = make(name)
        grid = "continuous" if world.n_combinations == float("inf") else f"{int(world.n_combinations):,} combinations"
        typer.echo(f"{name:{width}s} {'x'.join(map(str, world.image_shape)):10s} {grid:24s} "
                   f"factors: {', '.join(world.factor_names)}")
        if world.graph.edges:
            typer.echo(f"{'':{width}s} graph: {'; '.join(f'{u} -> {v}' for u, v in world.graph.edges)}")


def _changes_text(pairs: int | str) -> str:
    return "1 to K - 1 factors" if pairs == "random" else f"{pairs} factor{'s' if pairs != 1 else ''}"


@worlds_app.command("show")
def show(
    name: str = typer.Argument(..., help="World name (see `latentscm worlds list`)."),
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
    do: str = typer.Option(None, "--do", help='Interventions, e.g. "scale=1.0, posX+=0.1".'),
    n: int = typer.Option(8, "--n", min=1, max=64, help="Number of samples."),
    seed: int = typer.Option(0, "--seed", help="Seed of the samples."),
    scale: int = typer.Option(2, "--scale", min=1, max=8, help="Pixel enlargement."),
    option: list[str] = typer.Option(None, "--set", "--world-set",
                                    help="World option KEY=VALUE (repeatable; --world-set as in train)."),
    shift: list[str] = typer.Option(None, "--shift", help="DomainShift argument KEY=VALUE (n_domains, shifted, "
                                    "kind, strength, seed): one row per domain, the same units in each."),
    pairs: str = typer.Option(None, "--pairs", help="A number of factors, or 'random': the row below holds each "
                              "sample's partner in a weakly supervised pair (its exact counterfactual with that many "
                              "factors set to other values), as ada_gvae trains on."),
    share: bool = typer.Option(True, "--share/--no-share", help="With --pairs: whether a pair must keep at least "
                               "one factor (Ada-GVAE's pairs, the default); --no-share draws the changed factors "
                               "among all that can change, as ILCM's pairs."),
) -> None:
    """Write a grid of samples; with --do, the true counterfactuals in the row below; with --shift, the
    samples' exact domain counterfactuals, one row per domain; with --pairs, each sample's pair partner."""
    from latentscm.cli.assignments import parse_domain_shift, refuse_domains_option
    from latentscm.cli.output_paths import check_output_path
    from latentscm.report.images import image_grid, save_png

    try:
        check_output_path(out, "--out", suffixes=(".png",))
        refuse_domains_option(parse_options(option), "--set")
        domains = parse_domain_shift(shift)
        if do is not None and not do.strip():  # an empty --do would silently show plain samples
            raise ValueError(f"--do names no intervention (got {do!r}); give one such as \"scale=1.0\".")
        if domains is not None and do:
            raise ValueError("Give --do or --shift, not both: --do shows interventions, --shift domains.")
        if not share and pairs is None:
            raise ValueError("--no-share goes with --pairs (it says which factors a pair partner may change).")
        if pairs is not None and (do or domains is not None):
            raise ValueError("Give --pairs alone, without --do or --shift: its row holds the pair partners.")
        if pairs is not None:
            from latentscm.worlds.pairs import check_pair_changes

            pairs = pairs.strip()
            pairs = check_pair_changes(int(pairs) if pairs.isdigit() else pairs, "--pairs", "latentscm worlds show")
    except ValueError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    world = _make(name, option)
    try:
        if domains is not None:
            world = world.with_domains(domains)
        batch = world.sample(n, seed=seed)
        rows = [batch.images]
        if do:
            rows.append(world.counterfactual(batch, do).images)
        if pairs is not None:
            from latentscm.worlds.pairs import changeable_factors, check_pair_changes, counterfactual_pairs

            pairs = check_pair_changes(pairs, "--pairs", "latentscm worlds show", len(changeable_factors(world)),
                                       share=share)
            rows.append(counterfactual_pairs(world, batch, changes=pairs, seed=seed + 1, share=share).images)
        rows += [world.domain_counterfactual(batch, to_domain=d).images for d in range(1, world.n_domains)]
        try:
            grid = image_grid(rows, scale=scale)
        except ValueError as error:  # observations that are not images (e.g. ild-linear's (6, 1, 1) vectors)
            raise ValueError(f"World {name!r} has no images to show: {error}") from None
    except (ValueError, TypeError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    try:
        save_png(out, grid)
    except OSError as error:
        typer.echo(f"Error: cannot write --out '{out}': {error}", err=True)
        raise typer.Exit(2) from None
    detail = (f" (row 1: samples, row 2: true counterfactuals under {do})" if do else
              f" (row 1: samples, row 2: their pair partners, {_changes_text(pairs)} changed)" if pairs is not None else
              " (row d + 1: the same units in domain d, exact domain counterfactuals)" if domains is not None else "")
    typer.echo(f"wrote {out}{detail}")


@worlds_app.command("generate")
def generate_command(
    name: str = typer.Argument(..., help="World name."),
    n: int = typer.Option(None, "--n", min=1, help="Number of samples (default: the full grid)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the samples (with --n)."),
    root: Path = typer.Option(None, "--root", help="Cache directory (default $LATENTSCM_CACHE or ~/.cache)."),
    option: list[str] = typer.Option(None, "--set", "--world-set",
                                    help="World option KEY=VALUE (repeatable; --world-set as in train)."),
) -> None:
    """Render a world's dataset once into the content-addressed cache and print its path."""
    if root is not None and root.exists() and not root.is_dir():
        typer.echo(f"Error: --root '{root}' is not a directory.", err=True)
        raise typer.Exit(2)
    world = _make(name, option)
    try:
        # refused here in the command's words (the library's messages speak of its Python arguments)
        if world.n_domains > 1:
            raise ValueError(f"World {name!r} has {world.n_domains} domains, and `latentscm worlds generate` stores "
                             f"the images of a single-domain world; train on it directly (latentscm train --world "
                             f"{name} ...), which draws every domain.")
        if n is None and world.n_combinations == float("inf"):
            raise ValueError(f"World {name!r} has continuous factors, so no full grid: give --n, the number of "
                             f"samples to store.")
        stored = world.generate(n, seed=seed, root=root, progress=True)
    except (ValueError, TypeError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None
    except OSError as error:
        typer.echo(f"Error: cannot write the dataset: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{stored.path}  ({len(stored):,} images)")


#: The CSV column ``worlds factors`` writes each row's intervened factors to (``discover --method gies --targets``).
TARGETS_COLUMN = "intervened"
_REGIME_CHOICES = ("observational", "single-node")


@worlds_app.command("factors")
def factors_command(
    name: str = typer.Argument(..., help="World name."),
    out: Path = typer.Option(..., "--out", help="CSV file to write: one column per factor (and 'intervened')."),
    n: int = typer.Option(..., "--n", min=2, help="Number of samples."),
    seed: int = typer.Option(0, "--seed", help="Seed of the samples."),
    regimes: str = typer.Option("observational", "--regimes", help="observational, or single-node: the "
                                "observational regime plus one do(factor = a random value) regime per factor "
                                "(equal shares), with an 'intervened' column naming each row's target."),
    source: str = typer.Option("marginal", "--source", help="With --regimes single-node: the intervened value "
                               "drawn from the factor's observational marginal (marginal) or uniform over its range "
                               "(range)."),
    shift: float = typer.Option(None, "--shift", help="With --regimes single-node: a soft intervention instead, each "
                                "target's value shifted by this amount (it keeps its causes; discover with --param "
                                "interventions=soft)."),
    factors: str = typer.Option(None, "--factors", help="With --regimes single-node: the factors to intervene on, "
                                "comma-separated (default all)."),
    domain: int = typer.Option(None, "--domain", min=0, help="The domain to sample, for a world with several "
                               "(required there). In a domain other than 0 its own shifted factors count as targets "
                               "in every row, so the 'intervened' column no longer tells the regimes apart."),
    option: list[str] = typer.Option(None, "--set", "--world-set",
                                    help="World option KEY=VALUE (repeatable; --world-set as in train)."),
) -> None:
    """Write a world's exact factor values (observational, or with single-node interventions) to a CSV, the input
    of ``latentscm discover`` (``--method gies --targets intervened`` for the interventional rows)."""
    import numpy as np

    from latentscm.cli.discover import write_atomic
    from latentscm.cli.output_paths import check_output_path
    from latentscm.worlds.regimes import RegimeMixture, single_node_regimes

    world = _make(name, option)
    try:
        check_output_path(out, "--out", suffixes=(".csv",))
        if regimes not in _REGIME_CHOICES:
            raise ValueError(f"--regimes must be one of {', '.join(_REGIME_CHOICES)}. Got {regimes!r}.")
        if regimes == "observational" and (factors is not None or source != "marginal" or shift is not None):
            raise ValueError("--factors, --source and --shift choose the interventions of --regimes single-node.")
        if shift is not None and source != "marginal":
            raise ValueError("--source draws the value of a hard intervention; --shift makes a soft one. Give one.")
        if shift is not None and not (np.isfinite(shift) and shift != 0):
            raise ValueError(f"--shift must be a finite non-zero number. Got {shift!r}.")
        names = list(world.factor_names)
        if TARGETS_COLUMN in names:
            raise ValueError(f"World {name!r} has a factor named {TARGETS_COLUMN!r}, the column of the targets.")
        if source not in ("marginal", "range"):
            raise ValueError(f"--source must be marginal or range. Got {source!r}.")
        chosen = None if factors is None else [f.strip() for f in factors.split(",") if f.strip()]
        if chosen is not None and not chosen:
            raise ValueError(f"--factors {factors!r} names no factor; give a comma-separated list of factors of "
                             f"world {name!r}: {', '.join(names)}.")
        unknown = [f for f in chosen or () if f not in names]
        if unknown:
            raise ValueError(f"--factors names {unknown}, not factors of world {name!r}; its factors are {names}.")
        repeated = sorted({f for f in chosen or () if chosen.count(f) > 1})
        if repeated:
            raise ValueError(f"--factors names {repeated} more than once; each factor gets one regime.")
        if domain is not None and world.n_domains == 1:
            raise ValueError(f"World {name!r} has a single domain; drop --domain.")
        if world.n_domains > 1 and domain is None:
            raise ValueError(f"World {name!r} has {world.n_domains} domains; choose one with --domain "
                             f"(0..{world.n_domains - 1}).")
        if domain is not None and domain >= world.n_domains:
            raise ValueError(f"--domain {domain} is not a domain of world {name!r}, which has {world.n_domains}.")
        regime = single_node_regimes(world, source=source, factors=chosen) if regimes == "single-node" else None
        if regime is not None and shift is not None:
            from latentscm.interventions import Shift
            from latentscm.worlds.regimes import Regime

            regime = [r if r.observational else Regime(f"shift({name})", {name: Shift(float(shift))})
                      for r, name in zip(regime, [None, *(chosen or names)])]
            RegimeMixture(regime).check(world)
        if domain is None:  # the factors without rendering a single image
            values, _, _, targets, _ = world._draw(n, seed=seed, regime=regime)
        else:
            batch = world.sample(n, seed=seed, regime=regime, domain=domain)
            values, targets = batch.factors, batch.targets
    except (ValueError, TypeError) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(2) from None

    def write(handle) -> None:
        import csv

        rows = csv.writer(handle, lineterminator="\n")
        rows.writerow(names + ([TARGETS_COLUMN] if regime is not None else []))
        for row, hits in zip(values, targets):
            cells = [repr(float(v)) for v in row]
            if regime is not None:
                cells.append(";".join(f for f, hit in zip(names, hits) if hit))
            rows.writerow(cells)

    try:
        write_atomic(out, write)
    except OSError as error:
        typer.echo(f"Error: cannot write --out '{out}': {error.strerror or error}", err=True)
        raise typer.Exit(2) from None
    detail = f", {int(targets.any(axis=1).sum())} of them interventional" if regime is not None else ""
    typer.echo(f"{n} rows of {len(names)} factors{detail} -> {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(worlds_app, name="worlds")
