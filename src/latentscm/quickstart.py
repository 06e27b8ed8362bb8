"""The main job: ``latentscm quickstart --out DIR``.

On the pendulum world (Yang et al. 2021) with noisy shadow mechanisms, so that a counterfactual
differs from a plain intervention, it

1. renders a small dataset into ``DIR/data`` (content-addressed, verified, reused): observational
   images plus ``interventional_fraction`` of single-factor random ``do`` regimes with known
   targets,
2. trains a β-VAE (the disentanglement baseline, counterfactuals by latent traversal) and a
   CausalVAE (latent SCM over the world's graph, one decoder per concept group, intervened
   mechanisms cut on interventional samples) with the small CPU settings of :class:`QuickstartConfig`
   (1,500 steps each by default) into ``DIR/runs/<name>``,
3. evaluates both against the world's exact ground truth (disentanglement suite + counterfactual
   metrics) into ``DIR/runs/<name>/metrics.json`` and ``DIR/metrics.json``,
4. writes ``DIR/report.html``.

Re-running reuses what is done: finished runs are loaded, interrupted ones resumed from their last
checkpoint, existing metrics read back.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from latentscm._io import dumps_strict, read_json_object

__all__ = ["QuickstartConfig", "run_quickstart"]


@dataclass
class QuickstartConfig:
    """Sizes of the quickstart (defaults finish in minutes on 2 CPU cores)."""

    world: str = "pendulum"
    size: int = 32
    noise_std: float = 0.3
    grid: bool = False  # continuous angle and light, so any value can be intervened on
    n_samples: int = 6000
    #: share of the images drawn from single-factor do() regimes (0: observational data only)
    interventional_fraction: float = 0.3
    seed: int = 0
    steps: dict[str, int] = field(default_factory=lambda: {"beta_vae": 1500, "causal_vae": 1500})
    learner_params: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "beta_vae": {"beta": 4.0, "latent_dim": 6, "lr": 1e-3},
        # the pendulum image is a function of its four factors: no free style latents, which would
        # otherwise carry factor information past the intervention (measured: 3x worse counterfactuals);
        # one decoder per concept group, so an intervention on the shadow cannot redraw the pendulum
        "causal_vae": {"graph": "world", "extra_dims": 0, "lr": 1e-3, "decoder": "additive"},
    })
    common_params: dict[str, Any] = field(default_factory=lambda: {
        "channels": (32, 32, 64), "hidden_dim": 128, "batch_size": 64})
    n_eval: int = 2000
    n_counterfactual: int = 128
    regressor_steps: int = 600
    #: torch threads; None = one fewer than the CPU count (at least 1). Small convolutions gain
    #: little from a second thread, and a busy second core makes torch's spinning threads
    #: several times slower (measured: 7x on this 2-core machine with one core busy).
    threads: int | None = None


def _say(message: str) -> None:
    print(message, flush=True)


#: settings of the evaluation whose results ``out/runs/<name>/metrics.json`` holds (reused on a re-run)
_EVALUATION_SETTINGS = ("n_eval", "n_counterfactual", "regressor_steps")


def _learner_params(name: str, config: QuickstartConfig) -> dict[str, Any]:
    """The constructor arguments of the ``name`` learner that ``config`` asks for."""
    return {**config.common_params, **config.learner_params[name], "steps": config.steps[name], "seed": config.seed}


def _same(found: Any, asked: Any) -> bool:
    if isinstance(found, float) or isinstance(asked, float):
        return isinstance(found, (int, float)) and math.isclose(found, asked, rel_tol=1e-9, abs_tol=1e-12)
    return found == asked


def _recorded_data(data: dict[str, Any]) -> dict[str, Any]:
    """The quickstart's data settings found in a run record's ``data`` entry (those it records)."""
    found = {key: data[key] for key in ("world", "n_samples") if key in data}
    options = data.get("options")
    if isinstance(options, dict):
        found.update({key: options[key] for key in ("size", "noise_std", "grid") if key in options})
    regimes = data.get("regimes")
    if regimes is None:
        found["interventional_fraction"] = 0.0
    elif isinstance(regimes, dict):  # the share of the images not drawn from the observational regime
        found["interventional_fraction"] = round(1.0 - sum(
            float(fraction) for regime, fraction in zip(regimes["regimes"], regimes["fractions"])
            if regime.get("name") == "observational"), 12)
    return found


def _check_reusable(out: Path, config: QuickstartConfig) -> None:
    """Re-running reuses the runs in ``out/runs`` and their metrics: refuse, before any work, runs trained with
    other learner arguments (steps, seed, ...) or data (world options, n_samples, interventional_fraction) than
    ``config`` asks, and metrics computed with other evaluation settings (they would be reused, and metrics.json
    would record settings they were not made with). Settings a record lacks are not compared; a missing or
    unreadable run record is left to :func:`_train_or_reuse`."""
    from latentscm.run import jsonable_params

    for name in config.steps:
        path = out / "runs" / name / "config.json"
        try:
            recorded = json.loads(path.read_text())
            params, data = recorded["learner"]["params"], recorded["data"]
            asked = {**jsonable_params(_learner_params(name, config)), "n_samples": config.n_samples,
                     "world": config.world, "size": config.size, "noise_std": config.noise_std, "grid": config.grid,
                     "interventional_fraction": config.interventional_fraction}
            found = {**{key: params[key] for key in asked if key in params}, **_recorded_data(data)}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):  # no run yet, or a damaged record
            continue
        _refuse_differences(out, f"a {name} run trained", found, asked)
    try:
        previous = read_json_object(out / "metrics.json")
    except ValueError:  # a damaged summary: rewritten at the end
        previous = None
    recorded_settings = previous.get("config") if previous is not None else None
    if isinstance(recorded_settings, dict) and any((out / "runs" / name / "metrics.json").exists()
                                                   for name in config.steps):
        asked = {key: getattr(config, key) for key in _EVALUATION_SETTINGS}
        found = {key: recorded_settings[key] for key in asked if key in recorded_settings}
        _refuse_differences(out, "metrics computed", found, asked)


def _refuse_differences(out: Path, what: str, found: dict[str, Any], asked: dict[str, Any]) -> None:
    differ = [key for key in asked if key in found and not _same(found[key], asked[key])]
    if differ:
        raise ValueError(
            f"'{out}' holds {what} with {', '.join(f'{key}={found[key]!r}' for key in differ)}, not the asked "
            f"{', '.join(f'{key}={asked[key]!r}' for key in differ)}; re-running reuses finished work, so choose "
            f"another output folder (or remove '{out / 'runs'}') to train with these settings.")


def _train_or_reuse(name: str, world, data, run_dir: Path, config: QuickstartConfig, progress: bool):
    from latentscm.learners import make
    from latentscm.run import MODEL_NAME, load
    from latentscm.training.resume import resume

    if (run_dir / MODEL_NAME).exists():
        _say(f"[{name}] reusing the trained run in {run_dir}")
        return load(run_dir)
    if (run_dir / "checkpoints").exists() and any((run_dir / "checkpoints").iterdir()):
        _say(f"[{name}] resuming the interrupted run in {run_dir}")
        return resume(run_dir, progress=progress)
    params = _learner_params(name, config)
    learner = make(name, **params)
    _say(f"[{name}] training {learner!r} for {config.steps[name]} steps")
    return learner.fit(data, out=str(run_dir), checkpoint_every=max(100, config.steps[name] // 5), progress=progress)


def run_quickstart(out: str | os.PathLike, config: QuickstartConfig | None = None, *,
                   progress: bool = True) -> dict[str, Any]:
    """Run (or finish) the quickstart in ``out``; returns the metrics written to ``out/metrics.json``.

    Finished or interrupted runs in ``out/runs`` are reused; runs trained with other steps, seed or
    n_samples than ``config`` are refused (``ValueError``) before any work."""
    import torch

    from latentscm.metrics.evaluate import evaluate
    from latentscm.metrics.factor_regressor import FactorRegressor
    from latentscm.report.html import build_report
    from latentscm.report.images import atomic_write_bytes
    from latentscm.worlds import make

    config = config or QuickstartConfig()
    _check_reusable(Path(out), config)
    torch.set_num_threads(config.threads or max(1, (os.cpu_count() or 2) - 1))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    start = time.perf_counter()

    world = make(config.world, size=config.size, noise_std=config.noise_std, grid=config.grid)
    clock = time.perf_counter()
    regime = None
    if config.interventional_fraction:
        from latentscm.worlds.regimes import interventional_mixture

        regime = interventional_mixture(world, config.interventional_fraction)
    stored = world.generate(config.n_samples, seed=config.seed, root=out / "data", progress=progress, regime=regime)
    timings["data"] = time.perf_counter() - clock
    _say(f"[data] {len(stored)} {config.world} images in {stored.path}")

    learners = {}
    for name in config.steps:
        clock = time.perf_counter()
        learners[name] = _train_or_reuse(name, world, stored, out / "runs" / name, config, progress)
        timings[f"train.{name}"] = time.perf_counter() - clock

    clock = time.perf_counter()
    regressor = None
    all_metrics: dict[str, Any] = {}
    for name, learner in learners.items():
        metrics_path = out / "runs" / name / "metrics.json"
        try:
            reused = read_json_object(metrics_path)
        except ValueError:  # a damaged metrics.json is recomputed, not trusted
            _say(f"[{name}] {metrics_path} is damaged; evaluating again")
            reused = None
        if reused is not None:
            all_metrics[name] = reused
            _say(f"[{name}] reusing {metrics_path}")
            continue
        if regressor is None:
            _say("[eval] training the factor regressor that reads factors off counterfactual images")
            regressor = FactorRegressor(seed=config.seed, steps=config.regressor_steps).fit(world)
        _say(f"[{name}] evaluating against the world's ground truth")
        metrics = evaluate(learner, world, n=config.n_eval, seed=config.seed + 7, counterfactuals="traversal",
                           n_counterfactual=config.n_counterfactual, regressor=regressor)
        atomic_write_bytes(metrics_path, dumps_strict(metrics, indent=2).encode())
        all_metrics[name] = metrics
    timings["evaluate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    report = build_report([out / "runs" / name for name in learners], out / "report.html",
                          title="latentscm quickstart: β-VAE vs CausalVAE on the pendulum world",
                          intro=f"Both models were trained on the same pendulum images (shadow mechanisms with "
                                f"exogenous noise; {config.interventional_fraction:.0%} of them from single-factor "
                                f"do() regimes). Counterfactual grids show, per factor: the input, the model's "
                                f"counterfactual, and the exact counterfactual rendered by the world's oracle.",
                          seed=config.seed)
    timings["report"] = time.perf_counter() - clock
    timings["total"] = time.perf_counter() - start
    summary = {"config": asdict(config), "runs": all_metrics, "time_seconds": timings, "report": str(report)}
    atomic_write_bytes(out / "metrics.json", dumps_strict(summary, indent=2, default=list).encode())
    _say(f"[done] {report} and {out / 'metrics.json'} in {timings['total']:.0f} s")
    return summary
