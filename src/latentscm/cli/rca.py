"""``latentscm rca``: online root-cause analysis on a fault-injected time-series world.

    latentscm rca --world microservice --out rca_out [--root-cause s3.cpu] [--onset 300] [--magnitude 8]

Draws one trajectory with a fault (``Microservice.inject``), fits the CORAL-style pipeline
(:class:`latentscm.rca.CoralRCA`) on the first ``--reference`` steps, streams the rest, and ranks the
candidates; NSigma, BARO-style and the walk on the true graph rank from the same trigger. Writes
``OUT/rca.json`` (rankings, trigger, truth, PR@k / MAP@5 / MRR of this case) and ``OUT/report.html``
(series, true vs learned graph, rankings), both atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import typer

__all__ = ["register", "run_world_rca"]


def run_world_rca(*, world: str = "microservice", services: int = 6, steps: int = 600, reference: int | None = None,
                  root_causes: list[str] | None = None, onset: int | None = None, magnitude: float = 8.0,
                  seed: int = 0, world_seed: int = 0) -> dict[str, Any]:
    """Inject a fault into ``world``, run CORAL-style RCA and the baselines (the CLI's core).

    Parameters
    ----------
    world : str
        A registered time-series world with fault injection (``microservice``).
    services : int
        Number of services of the world.
    steps : int
        Length T of the trajectory.
    reference : int or None
        Normal steps the methods are fitted on (default ``steps // 5``); must precede the onset.
    root_causes : list of str or None
        Faulty variables (default: one at random).
    onset : int or None
        Fault onset (default: random in the middle half).
    magnitude : float
        Fault size in noise standard deviations.
    seed, world_seed : int
        Seeds of the trajectory and of the world's call graph.

    Returns
    -------
    dict
        ``payload`` (JSON-ready), and ``trajectory``, ``world``, ``result`` (the :class:`RCAResult`).

    Raises
    ------
    ValueError
        A world without fault injection, an unknown or repeated root cause, a reference not before the onset,
        a magnitude that is not finite.
    """
    from latentscm.metrics.ranking import ranking_scores
    from latentscm.rca import CoralRCA, baro_scores, nsigma_scores, rank_by_score, walk_and_mix
    from latentscm.worlds import timeseries

    if world not in timeseries.names():
        raise ValueError(f"Unknown time-series world {world!r}. Available: {', '.join(timeseries.names())}.")
    if world != "microservice":
        raise ValueError(f"--world {world} has no fault injection (no root causes to find); worlds with faults: "
                         "microservice.")
    system = timeseries.make(world, n_services=services, seed=world_seed)
    reference = steps // 5 if reference is None else reference
    if reference < 20:
        raise ValueError(f"--reference must be at least 20 normal steps. Got {reference}.")
    if onset is not None and onset <= reference:
        raise ValueError(f"--onset ({onset}) must come after the {reference} reference steps the methods learn "
                         "the normal state from.")
    if onset is not None and onset >= steps:
        raise ValueError(f"--onset ({onset}) must come before the end of the {steps} --steps.")
    if isinstance(magnitude, bool) or not isinstance(magnitude, (int, float)) or not np.isfinite(magnitude):
        raise ValueError(f"--magnitude must be a finite number of noise standard deviations. Got {magnitude!r}.")
    repeated = sorted({name for name in root_causes or () if list(root_causes).count(name) > 1})
    if repeated:
        raise ValueError(f"--root-cause {', '.join(map(repr, repeated))} is given more than once; name each faulty "
                         f"variable once (a repeated one would be shifted by a multiple of --magnitude).")
    unknown = [name for name in root_causes or () if name not in system.var_names]
    if unknown:
        raise ValueError(f"Unknown --root-cause {', '.join(map(repr, unknown))}. Valid names: "
                         f"{', '.join(system.var_names)}.")
    trajectory = system.inject(steps, seed=seed, root_causes=root_causes, onset=onset, magnitude=magnitude)
    if trajectory.fault_onset <= reference:
        raise ValueError(f"The fault onset ({trajectory.fault_onset}) is within the {reference} reference steps; "
                         "lower --reference or give --onset.")
    values = trajectory.values
    rca = CoralRCA().fit(values[:reference], var_names=system.var_names)
    result = rca.run(values[reference:])
    start = reference + (result.trigger if result.trigger is not None else trajectory.fault_onset - reference)
    window = max(result.steps_used, rca.chunk)
    before, after = values[:start], values[start:start + window]
    anomaly = nsigma_scores(before, after)
    oracle, _ = walk_and_mix(system.graph("summary"), anomaly, anomaly)
    names = system.var_names
    rankings = {"coral": list(result.ranking), "oracle_graph_walk": list(rank_by_score(oracle, names)),
                "nsigma": list(rank_by_score(anomaly, names)),
                "baro": list(rank_by_score(baro_scores(before, after), names))}
    truth = set(trajectory.root_causes)
    metrics = {method: ranking_scores(ranking if ranking else ["(none)"], truth)
               for method, ranking in rankings.items()}
    payload = {"world": world, "services": services, "steps": steps, "reference": reference, "seed": seed,
               "root_causes": list(trajectory.root_causes), "fault_onset": int(trajectory.fault_onset),
               "trigger": None if result.trigger is None else int(reference + result.trigger),
               "rankings_from": "detected trigger" if result.trigger is not None else "true onset (no trigger)",
               # a trigger before the fault is a false alarm: every ranking then starts from data before the fault
               "false_alarm": result.trigger is not None and reference + result.trigger < trajectory.fault_onset,
               "rankings": rankings, "metrics": metrics, "steps_used": int(result.steps_used),
               "coral_scores": result.as_mapping()}
    return {"payload": payload, "trajectory": trajectory, "world": system, "result": result}


def register(app: typer.Typer) -> None:
    @app.command("rca")
    def rca_command(
        world: str = typer.Option("microservice", "--world", help="Time-series world with fault injection."),
        out: Path = typer.Option(Path("rca"), "--out", help="Output directory (rca.json, report.html)."),
        services: int = typer.Option(6, "--services", min=2, help="Number of services."),
        steps: int = typer.Option(600, "--steps", min=100, help="Trajectory length (the default reference, "
                                  "steps // 5, needs at least 20 normal steps)."),
        reference: int = typer.Option(None, "--reference", help="Normal steps to fit on (default steps // 5)."),
        root_cause: list[str] = typer.Option(None, "--root-cause", help="Faulty variable, e.g. s3.cpu "
                                             "(repeatable; default one at random)."),
        onset: int = typer.Option(None, "--onset", help="Fault onset step (default random in the middle half)."),
        magnitude: float = typer.Option(8.0, "--magnitude", help="Fault size in noise standard deviations."),
        seed: int = typer.Option(0, "--seed", min=0, help="Seed of the trajectory."),
    ) -> None:
        """Inject a fault into a time-series world and find its root cause online (CORAL-style RCA with
        NSigma, BARO-style and oracle-graph baselines); writes OUT/rca.json and OUT/report.html."""
        from latentscm._io import atomic_write_json
        from latentscm.cli.output_paths import check_output_dir, check_output_path
        from latentscm.report.timeseries import timeseries_report

        try:
            check_output_dir(out, "--out")
            for filename in ("rca.json", "report.html"):  # named before the work, not after
                check_output_path(out / filename, "--out")
            run = run_world_rca(world=world, services=services, steps=steps, reference=reference,
                                root_causes=list(root_cause) if root_cause else None, onset=onset,
                                magnitude=magnitude, seed=seed)
            out.mkdir(parents=True, exist_ok=True)
        except (ValueError, TypeError, OSError) as error:
            typer.echo(f"Error: {error}", err=True)
            raise typer.Exit(2) from None
        payload, trajectory, result = run["payload"], run["trajectory"], run["result"]
        atomic_write_json(out / "rca.json", payload)
        learned = np.array(result.graph)
        timeseries_report(out / "report.html", series=trajectory.values, var_names=trajectory.var_names,
                          true_graph=run["world"].graph("summary"),
                          found_graphs={"CORAL incremental graph (|w| > 0.05)": learned * (learned > 0.05)},
                          rankings=payload["rankings"], root_causes=payload["root_causes"],
                          onset=payload["fault_onset"], trigger=payload["trigger"], metrics=payload["metrics"],
                          title=f"latentscm rca — {world}")
        top = payload["rankings"]["coral"][:3]
        typer.echo(f"root cause {', '.join(payload['root_causes'])} at step {payload['fault_onset']}; trigger "
                   f"{payload['trigger']}; CORAL top 3: {', '.join(top) or '(no trigger)'} -> {out / 'report.html'}")
        if payload["false_alarm"]:
            typer.echo(f"Note: the trigger (step {payload['trigger']}) came before the fault (step "
                       f"{payload['fault_onset']}): a false alarm, and the rankings start from it.", err=True)
