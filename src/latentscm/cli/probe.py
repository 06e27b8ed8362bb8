"""``latentscm probe RUN --kind extreme|flows|controls``: probe a trained run's latents against
its world and write JSON, PNG figures and an HTML page (all atomically) to ``--out``."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import typer

from latentscm.cli.given_options import given_on_command_line

__all__ = ["probe", "register", "KINDS"]

KINDS = ("extreme", "flows", "controls")


def _parse_units(units: str) -> list[int]:
    """``"0,2"`` -> [0, 2]; ``ValueError`` naming ``--units`` for anything but comma-separated unit indices
    (integers >= 0, each once)."""
    parts = [u.strip() for u in units.split(",")]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"--units must be comma-separated latent unit indices such as 0,2. Got {units!r}.")
    chosen = [int(p) for p in parts]
    repeated = sorted({u for u in chosen if chosen.count(u) > 1})
    if repeated:  # a repeated unit would be probed twice and fill two rows of the table
        raise ValueError(f"--units repeats unit {repeated[0]}; name each unit once. Got {units!r}.")
    return chosen


def _check_units_range(chosen: list[int], learner: Any) -> None:
    """Units beyond the run's code width, named as ``--units`` (the library names its parameter)."""
    width = getattr(learner, "latent_dim_", None)
    if isinstance(width, int) and not isinstance(width, bool) and max(chosen) >= width:
        raise ValueError(f"--units must hold unit indices in [0, {width}) (the run's codes have {width} units). "
                         f"Got {max(chosen)}.")


def _parse_names(text: str, flag: str) -> list[str]:
    """``"posX, posY"`` -> ["posX", "posY"]; an option that names no factor is refused."""
    names = [e.strip() for e in text.split(",") if e.strip()]
    if not names:
        raise ValueError(f"{flag} must name at least one factor (comma-separated). Got {text!r}.")
    return names


def _check_numeric_options(kinds: list[str], *, levels: int, scale: float, step_size: float) -> None:
    """The numeric options the library checks, checked here before the run is loaded and named as flags."""
    if "extreme" in kinds:
        if levels < 5 or levels % 2 == 0:
            raise ValueError(f"--levels must be an odd number >= 5 (the centre is a level). Got {levels}.")
        if not math.isfinite(scale) or scale < 1.0:
            raise ValueError(f"--scale must be a number >= 1 (the sweep spans ± scale × the training range). "
                             f"Got {scale}.")
    if "controls" in kinds and (not math.isfinite(step_size) or step_size <= 0.0):
        raise ValueError(f"--step-size must be a number > 0 (an edit step in code units). Got {step_size}.")


#: The library parameters this command forwards from its options, by (parameter, function or class): a message
#: "The 'units' parameter of extreme_values ..." reaches the user as "--units ...".
_FORWARDED = {("units", "extreme_values"): "--units", ("levels", "extreme_values"): "--levels",
              ("scale", "extreme_values"): "--scale", ("n", "extreme_values"): "--n", ("n", "edit_fidelity"): "--n",
              ("measure", "latentscm probe"): "--measure", ("steps", "PotentialFlows"): "--steps",
              ("n_potentials", "PotentialFlows"): "--n-flows", ("steps", "AttributeControls"): "--steps",
              ("step_size", "AttributeControls"): "--step-size",
              **{("seed", owner): "--seed" for owner in ("extreme_values", "PotentialFlows", "AttributeControls",
                                                         "edit_fidelity")}}
_PARAMETER = re.compile(r"The '(\w+)' (?:parameter|argument) of ([\w. ]+?) (?=must|repeats|is|has|needs)")


def _as_flags(message: str) -> str:
    """A library message with the parameters this command forwards named as their command-line flags."""
    def flag(match: re.Match) -> str:
        found = _FORWARDED.get((match.group(1), match.group(2)))
        return f"{found} " if found else match.group(0)

    return _PARAMETER.sub(flag, message)


def _extreme(learner: Any, world: Any, *, n: int, seed: int, measure: str, units: str | None,
             levels: int, scale: float) -> tuple[dict, str, dict[str, bytes]]:
    from latentscm.probes import extreme_values
    from latentscm.report.figures import effect_table_figure
    from latentscm.report.probes import extreme_section

    chosen = None if units is None else _parse_units(units)
    if chosen is not None:
        _check_units_range(chosen, learner)
    effects = extreme_values(learner, world, units=chosen, levels=levels, scale=scale, n=n, measure=measure,
                             n_boot=500, seed=seed)
    return effects.to_dict(), extreme_section(effects), {"extreme_values.png": effect_table_figure(effects)}


def _flows(learner: Any, world: Any, *, n: int, seed: int, measure: str, steps: int,
           n_flows: int) -> tuple[dict, str, dict[str, bytes]]:
    import numpy as np

    from latentscm.probes import PotentialFlows, factor_concentration
    from latentscm.probes.readouts import as_readout
    from latentscm.report.images import image_grid, png_bytes
    from latentscm.report.probes import flows_section, trajectory_rows

    batch = world.sample(max(n, 4), seed=seed)
    codes = np.asarray(learner.encode(batch.images), dtype=np.float32)
    half = len(codes) // 2
    flows = PotentialFlows(n_flows, 6, steps=steps, batch_size=min(16, half), seed=seed).fit(learner, codes[:half])
    paths = flows.trajectories(codes[half:])
    images = np.stack([learner.decode(paths[k, :, 0]) for k in range(paths.shape[0])])  # (K, T + 1, C, H, W)
    figure = png_bytes(image_grid(trajectory_rows(images), scale=3))
    readout = as_readout(measure, world, seed=seed, owner="latentscm probe")
    concentration = factor_concentration(paths, learner.decode, readout, world)
    accuracy = flows.pair_accuracy(learner, codes[half:])
    result = {"pair_accuracy": accuracy, "chance": 1.0 / n_flows, "concentration": concentration["mean"],
              "per_flow": concentration["concentration"].tolist(), "dominant": concentration["dominant"],
              "change": concentration["change"].tolist(), "factors": concentration["factors"],
              "trajectories": paths[:, :, :4].tolist(), "steps": steps}
    return result, flows_section(images, concentration, accuracy), {"flows.png": figure}


def _controls(learner: Any, world: Any, *, n: int, seed: int, measure: str, steps: int,
              target: str | None, exclude: str | None,
              step_size: float = 0.1) -> tuple[dict, str, dict[str, bytes]]:
    import numpy as np

    from latentscm.probes import AttributeControls, edit_fidelity
    from latentscm.probes.attribute_controls import EDIT_METHODS
    from latentscm.probes.readouts import as_readout
    from latentscm.report.images import image_grid, png_bytes
    from latentscm.report.probes import controls_section, trajectory_rows

    readout = as_readout(measure, world, seed=seed, owner="latentscm probe")
    measured = list(readout.factor_names_)
    excluded = None if exclude is None else _parse_names(exclude, "--exclude")
    for name in excluded or []:  # before the controls are trained
        if name not in world.factor_names:
            raise ValueError(f"--exclude: Unknown factor {name!r}. Valid names: {', '.join(world.factor_names)}.")
    if target is not None and target not in world.factor_names:
        raise ValueError(f"--target: Unknown factor {target!r}. Valid names: {', '.join(measured)}.")
    if target is not None and target not in measured:
        raise ValueError(f"--target {target!r} is not measured by the --measure {measure} read-out, which measures "
                         f"{', '.join(measured)}; edit one of them.")
    target = target or measured[0]
    if excluded is not None and target in excluded:
        raise ValueError(f"--exclude names {target!r}, the factor edited (--target, default the first one "
                         f"measured); the edited factor cannot also be protected.")
    batch = world.sample(max(4 * n, 40), seed=seed + 1)
    codes = np.asarray(learner.encode(batch.images), dtype=np.float32)
    controls = AttributeControls(steps=steps, step_size=step_size, seed=seed).fit(codes, batch.factors,
                                                                                 world.factor_names)
    for name, flag in [(target, "--target"), *((e, "--exclude") for e in excluded or [])]:
        if name not in controls.classifiers_:  # a factor constant in the sampled images has no classifier
            raise ValueError(f"{flag}: factor {name!r} does not vary in the {len(codes)} images the controls were "
                             f"trained on, so it has no classifier; choose one of "
                             f"{', '.join(controls.classifiers_)}.")
    result = edit_fidelity(learner, world, controls, target, exclude=excluded, n=n, measure=readout, seed=seed)
    start = codes[:1]
    rows = [controls.edit(start, target, method=m, exclude=excluded, n_steps=8)[:, 0] for m in EDIT_METHODS]
    images = np.stack([learner.decode(r.astype(np.float32)) for r in rows])
    figure = png_bytes(image_grid(trajectory_rows(images), scale=3))
    data = result.to_dict()
    data["classifier_accuracy"] = dict(controls.accuracy_)
    data["linear_accuracy"] = dict(controls.linear_accuracy_)
    return data, controls_section(result, images, EDIT_METHODS), {"controls.png": figure}


#: Options that only one kind (or some kinds) use, by parameter name: giving one without its kind is an error.
_KIND_OPTIONS = {"units": ("--units", ("extreme",)), "levels": ("--levels", ("extreme",)),
                 "scale": ("--scale", ("extreme",)), "steps": ("--steps", ("flows", "controls")),
                 "n_flows": ("--n-flows", ("flows",)), "target": ("--target", ("controls",)),
                 "exclude": ("--exclude", ("controls",)), "step_size": ("--step-size", ("controls",))}


def _unused_options(ctx: typer.Context, kinds: list[str]) -> list[str]:
    """The options given on the command line that none of ``kinds`` uses, each with the kinds that do."""
    return [f"{flag} ({' or '.join(users)} only)" for name, (flag, users) in _KIND_OPTIONS.items()
            if given_on_command_line(ctx, name) and not set(users) & set(kinds)]


def probe(
    ctx: typer.Context,
    run: Path = typer.Argument(..., help="A trained run directory."),
    kind: str = typer.Option(..., "--kind", help="extreme, flows or controls, or several separated by commas "
                             "(one page shows them all)."),
    out: Path = typer.Option(None, "--out", help="Output folder (default RUN/probes)."),
    n: int = typer.Option(100, "--n", min=4, help="Base images / codes probed."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seeds the base images and every probe's training."),
    measure: str = typer.Option("oracle", "--measure", help="oracle (exact read-out: binary sprites, balls) or "
                                "regressor."),
    units: str = typer.Option(None, "--units", help="extreme: comma-separated unit indices (default all)."),
    levels: int = typer.Option(21, "--levels", help="extreme: odd number of levels."),
    scale: float = typer.Option(4.0, "--scale", help="extreme: sweep ± scale × the training range."),
    steps: int = typer.Option(200, "--steps", min=1, help="flows / controls: training steps."),
    n_flows: int = typer.Option(3, "--n-flows", min=2, help="flows: number of potentials."),
    target: str = typer.Option(None, "--target", help="controls: factor to edit (default the first read one)."),
    exclude: str = typer.Option(None, "--exclude", help="controls: comma-separated factors the mask protects."),
    step_size: float = typer.Option(0.1, "--step-size", help="controls: edit step in code units (a VAE's codes "
                                    "have sd ~1; scale it to an autoencoder's wider codes)."),
    trust_code: bool = typer.Option(False, "--trust-code", help="Allow unregistered learner/world classes recorded "
                                    "in the run directory (runs their code)."),
) -> None:
    """Probe a run's latents: extreme-value effects, potential flows or gradient attribute controls.

    Writes KIND.json and a PNG figure per kind and one probes.html page to the output folder.
    """
    from latentscm._io import atomic_write_json
    from latentscm.cli.counterfactual import world_of_run
    from latentscm.cli.output_paths import check_output_dir, check_output_path
    from latentscm.probes.readouts import has_oracle_readout
    from latentscm.report.images import atomic_write_bytes
    from latentscm.report.probes import write_probe_report
    from latentscm.run import load, read_config

    kinds = [k.strip() for k in kind.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        typer.echo(f"Error: --kind must be one of {', '.join(KINDS)} (or several, comma-separated). Got {kind!r}.",
                   err=True)
        raise typer.Exit(2)
    if len(set(kinds)) != len(kinds):  # a repeated kind would run twice and show twice on the page
        typer.echo(f"Error: --kind names each kind at most once. Got {kind!r}.", err=True)
        raise typer.Exit(2)
    unused = _unused_options(ctx, kinds)
    if unused:
        typer.echo(f"Error: {', '.join(unused)} not used by --kind {','.join(kinds)}.", err=True)
        raise typer.Exit(2)
    out = Path(run) / "probes" if out is None else out
    results, sections, figures = {}, [], {}
    try:
        if units is not None:
            _parse_units(units)  # a malformed --units fails before the run is loaded
        if exclude is not None:
            _parse_names(exclude, "--exclude")
        _check_numeric_options(kinds, levels=levels, scale=scale, step_size=step_size)
        if measure not in ("oracle", "regressor"):
            raise ValueError(f"--measure must be oracle or regressor. Got {measure!r}.")
        check_output_dir(out, "--out")
        for filename in [f"{name}.json" for name in kinds] + ["probes.html"]:  # named before the work, not after
            check_output_path(out / filename, "--out")
        config = read_config(run)
        learner = load(run, trust_code=trust_code)
        if not getattr(learner, "can_decode", True):  # every kind decodes edited or traversed codes
            raise ValueError(f"latentscm probe decodes the codes it edits, and the run's {type(learner).__name__} has "
                             f"no decoder (an encoder-only learner); score its codes with latentscm evaluate.")
        world = world_of_run(config, run, trust_code=trust_code, command="probe")
        if measure == "oracle" and not has_oracle_readout(world):
            raise ValueError(f"--measure oracle (the default) needs a world with an exact read-out (binary "
                             f"'sprites', or 'balls' of at most 3 balls); the run's world "
                             f"{getattr(world, 'name', '?')!r} has none. Use --measure regressor: a factor regressor "
                             f"trained on the world, its held-out error reported.")
        for name in kinds:  # every kind runs before anything is written: a failing one leaves no partial output
            if name == "extreme":
                data, section, figure = _extreme(learner, world, n=n, seed=seed, measure=measure, units=units,
                                                 levels=levels, scale=scale)
            elif name == "flows":
                data, section, figure = _flows(learner, world, n=n, seed=seed, measure=measure, steps=steps,
                                               n_flows=n_flows)
            else:
                data, section, figure = _controls(learner, world, n=n, seed=seed, measure=measure, steps=steps,
                                                  target=target, exclude=exclude, step_size=step_size)
            results[name] = data
            sections.append(section)
            figures.update(figure)
        for filename in figures:
            check_output_path(out / filename, "--out")
    except (ValueError, TypeError, OSError, RuntimeError) as error:
        typer.echo(f"Error: {_as_flags(str(error))}", err=True)
        raise typer.Exit(2) from None
    out.mkdir(parents=True, exist_ok=True)
    for filename, content in figures.items():
        atomic_write_bytes(out / filename, content)
    for name, data in results.items():
        data["run"] = str(run)
        atomic_write_json(out / f"{name}.json", data, default=float)
    page = write_probe_report(out / "probes.html", sections, title=f"latentscm probes: {Path(run).name}",
                              notes=[f"run {run}; world {getattr(world, 'name', '?')}; seed {seed}; measure {measure}"])
    typer.echo(f"wrote {', '.join(str(out / f'{name}.json') for name in results)} and {page}")


def register(app: typer.Typer) -> None:
    app.command("probe")(probe)
