"""Counterfactuals against the exact oracle, for interventions on causes *and* on effects.

Rows: world (pendulum at ``noise_std`` 0 and 0.3, flow, glyphs; 32x32) x intervention kind —
do(cause) on factors without parents, do(effect) on factors with parents. Columns:

- ``beta_vae``: β-VAE (β = 4), counterfactuals by traversal of the best-matched unit (baseline);
- ``monolithic``: CausalVAE, one decoder of all latents, observational data;
- ``additive``: CausalVAE with one decoder per concept group (glyphs: stroke group + a
  multiplicative intensity gain), observational data;
- ``additive+int``: the same trained with ``interventional_fraction`` of single-factor random
  ``do`` regimes (known targets);
- ``+cf_finetune``: that model after counterfactual fine-tuning (Ribeiro et al. 2023);
- ``causal_diffae`` (``--diffae``): the ``cpu-small`` CausalDiffAE of ``bench_causal_diffae.py``
  (conditioned on labels, its own encoder abducts);
- ``causal_diffae+int`` (``--diffae``): that CausalDiffAE trained with the same
  ``interventional_fraction`` of single-factor ``do`` regimes as ``additive+int`` (its labels
  then include effects inconsistent with their causes, which observational data never shows);
- ``diffae+cvae`` (``--diffae``): the same UNet conditioned on the frozen concepts of the
  ``additive+int`` CausalVAE, refining that model's decoding (DiffuseVAE-style).

Every cell reports, averaged over the factors of that kind and over seeds (mean ± std): the
true-counterfactual error and its "change nothing" floor, the normalised excess error
``e = (true error − reconstruction error) / floor`` (0 perfect, 1 no better than changing
nothing), effect-follows-cause (after do(cause)), cause leak (after do(effect)), effectiveness,
reversibility and composition (m = 1, 10). Factor read-outs come from a FactorRegressor trained
on renders whose factors are drawn independently (it cannot read a cause off its effect); its
held-out error is printed per world.

    .venv/bin/python benchmarks/bench_counterfactuals.py --steps 3000 --seeds 0 1 2 --json out.json
    .venv/bin/python benchmarks/bench_counterfactuals.py --combine a.json b.json   # merge runs, print
    # score models an earlier ``--save DIR`` run (or bench_causal_diffae.py) trained, instead of training them:
    .venv/bin/python benchmarks/bench_counterfactuals.py --load DIR --diffae --models causal_diffae diffae+cvae

Every number is measured in the run that prints it (``--combine`` only merges stored results).

Measured (session 6; 3,000 steps, 32x32, one torch thread per run), e as mean±std over seeds 0-2::

    world         kind        β-VAE      monolithic  additive   +int       +cf_finetune  causal_diffae
    ============  ==========  =========  ==========  =========  =========  ============  =============
    pendulum-0    do(cause)   0.67±0.29  0.06±0.01   0.02±0.00  0.09±0.00  0.08±0.01     0.05±0.00
    pendulum-0    do(effect)  2.68±0.67  3.04±0.03   0.98±0.13  0.17±0.04  0.15±0.03     2.26±0.05
    pendulum-0.3  do(cause)   0.57±0.19  0.06±0.01   0.02±0.00  0.09±0.00  0.08±0.00     0.07±0.00
    pendulum-0.3  do(effect)  2.24±0.50  2.88±0.09   0.80±0.05  0.13±0.03  0.13±0.02     2.17±0.23
    flow          do(cause)   0.05±0.07  0.02±0.01   0.02±0.00  0.02±0.00  0.02±0.00     0.06±0.01
    flow          do(effect)  0.18±0.02  2.01±0.15   0.78±0.05  0.28±0.01  0.33±0.01     0.91±0.06
    glyphs        do(cause)   0.72±0.07  0.42±0.02   0.26±0.01  0.29±0.04  0.26±0.03     0.24±0.02
    glyphs        do(effect)  0.94±0.08  1.78±0.03   0.03±0.01  0.05±0.01  0.02±0.00     0.16±0.03
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import latentscm
from latentscm.learners import make as make_learner
from latentscm.learners.counterfactual_finetuning import CounterfactualFineTuning
from latentscm.metrics.counterfactual import counterfactual_metrics
from latentscm.metrics.factor_regressor import FactorRegressor
from latentscm.probes.traversal_counterfactual import TraversalCounterfactual
from latentscm.worlds import make as make_world

WORLDS: dict[str, tuple[str, dict[str, Any]]] = {
    "pendulum-0": ("pendulum", {"size": 32, "noise_std": 0.0, "grid": False}),
    "pendulum-0.3": ("pendulum", {"size": 32, "noise_std": 0.3, "grid": False}),
    "flow": ("flow", {"size": 32, "noise_std": 0.3, "grid": False}),
    "glyphs": ("glyphs", {"size": 32, "noise_std": 0.5}),
}
#: decoder groups where the graph-derived ones do not fit how the world renders
ADDITIVE: dict[str, dict[str, str]] = {
    "glyphs": {"decoder_groups": "digit, thickness, slant", "gain_factors": "intensity"},
}
COMMON = {"channels": (32, 32, 64), "hidden_dim": 128, "batch_size": 64, "lr": 1e-3}
MODELS = ("beta_vae", "monolithic", "additive", "additive+int", "+cf_finetune", "causal_diffae", "causal_diffae+int",
          "diffae+cvae")
DIFFAE = ("causal_diffae", "causal_diffae+int", "diffae+cvae")  # trained only with --diffae (slow)
MEASURES = ("true_error", "identity_error", "excess", "effect", "cause_leak", "effectiveness", "reversibility",
            "composition.m1", "composition.m10")


def kinds(world) -> dict[str, list[str]]:
    """Factors by intervention kind: causes (no parents) and effects (with parents)."""
    graph = world.graph
    return {"do(cause)": [f for f in world.factor_names if not graph.parents(f)],
            "do(effect)": [f for f in world.factor_names if graph.parents(f)]}


def summarise(metrics: dict[str, float], world) -> dict[str, dict[str, float]]:
    """Per kind: the mean of each measure over that kind's factors (edges for effect/leak)."""
    out = {}
    for kind, factors in kinds(world).items():
        row = {}
        for measure in ("true_error", "identity_error", "excess", "effectiveness", "reversibility"):
            values = [metrics[f"cf.{measure}.{f}"] for f in factors if f"cf.{measure}.{f}" in metrics]
            row[measure] = float(np.mean(values)) if values else float("nan")
        # effect follows cause: edges out of the intervened causes; cause leak: edges into the intervened effects
        effect = [v for k, v in metrics.items() if k.startswith("cf.effect.") and k.split(".", 2)[2].split("->")[0]
                  in factors]
        leak = [v for k, v in metrics.items() if k.startswith("cf.cause_leak.") and k.split(".", 2)[2].split("->")[1]
                in factors]
        row["effect"] = float(np.mean(effect)) if effect else float("nan")
        row["cause_leak"] = float(np.mean(leak)) if leak else float("nan")
        for m in ("m1", "m10"):
            row[f"composition.{m}"] = metrics.get(f"cf.composition.{m}", float("nan"))
        out[kind] = row
    return out


def saved_train_seconds(folder: Path) -> float:
    """Training time of a saved model: ``bench.json`` written by ``--save``, else the last ``time``
    of a run directory's ``train.jsonl``, else NaN (printed as "—")."""
    if (folder / "bench.json").is_file():
        return float(json.loads((folder / "bench.json").read_text())["train_seconds"])
    if (folder / "train.jsonl").is_file():
        times = [json.loads(line).get("time") for line in (folder / "train.jsonl").read_text().splitlines() if line]
        times = [t for t in times if t is not None]
        if times:
            return float(times[-1])
    return math.nan


def train_models(label: str, seed: int, steps: int, n_samples: int, n_eval: int, regressor, cf_steps: int,
                 fraction: float, diffae: bool, save: str | None = None,
                 models: tuple[str, ...] = MODELS, load: str | None = None) -> dict[str, Any]:
    name, options = WORLDS[label]
    world = make_world(name, **options)
    common = {**COMMON, "seed": seed, "steps": steps}
    causal = {"graph": "world", "extra_dims": 0}
    additive = {**causal, "decoder": "additive", **ADDITIVE.get(name, {})}
    results: dict[str, Any] = {}
    loaded: set[str] = set()  # models read from --load (not saved again)

    def saved(model_label: str) -> Path | None:
        """The folder of this model under ``--load``, when it holds one."""
        folder = Path(load or "") / label / f"seed{seed}" / model_label
        if load and (folder / "model.pt").is_file():
            loaded.add(model_label)
            return folder
        return None

    def score(model_label: str, model: Any, train_seconds: float) -> None:
        if save and model_label not in loaded:
            folder = Path(save) / label / f"seed{seed}" / model_label
            getattr(model, "learner", model).save(str(folder))
            (folder / "bench.json").write_text(json.dumps({"train_seconds": train_seconds}))
        clock = time.perf_counter()
        metrics = counterfactual_metrics(model, world, n=n_eval, seed=seed + 1, regressor=regressor)
        results[model_label] = {"metrics": metrics, "summary": summarise(metrics, world),
                                "train_seconds": train_seconds, "eval_seconds": time.perf_counter() - clock}
        print(f"  [{label} seed {seed}] {model_label}: trained {train_seconds:.0f} s, "
              + ", ".join(f"{k} e={v['excess']:.2f}" for k, v in results[model_label]["summary"].items()), flush=True)

    def fit(params: dict[str, Any], learner: str = "causal_vae", model_label: str | None = None, **fit_options: Any):
        folder = saved(model_label) if model_label else None
        if folder is not None:
            print(f"  [{label} seed {seed}] {model_label}: loaded from {folder}", flush=True)
            return latentscm.load(str(folder)), saved_train_seconds(folder)
        clock = time.perf_counter()
        model = make_learner(learner, **common, **params)
        model.fit(world, n_samples=n_samples, progress=False, **fit_options)
        return model, time.perf_counter() - clock

    if "beta_vae" in models:
        model, seconds = fit({"beta": 4.0, "latent_dim": 2 * len(world.factor_names)}, "beta_vae", "beta_vae")
        score("beta_vae", TraversalCounterfactual(model, world, seed=seed), seconds)
    if "monolithic" in models:
        model, seconds = fit(causal, model_label="monolithic")
        score("monolithic", model, seconds)
    if "additive" in models:
        model, seconds = fit(additive, model_label="additive")
        score("additive", model, seconds)
    needs_cvae = diffae and "diffae+cvae" in models and saved("diffae+cvae") is None
    if "additive+int" in models or "+cf_finetune" in models or needs_cvae:
        model, seconds = fit(additive, model_label="additive+int", interventional_fraction=fraction)
        if "additive+int" in models:
            score("additive+int", model, seconds)
        cvae, cvae_seconds = model, seconds
    if "+cf_finetune" in models:
        clock = time.perf_counter()
        tuned = CounterfactualFineTuning(steps=cf_steps, seed=seed).fit(
            copy.deepcopy(model), world, predictor=regressor, n_samples=n_samples, interventional_fraction=fraction)
        score("+cf_finetune", tuned, seconds + time.perf_counter() - clock)
    for diffae_label, diffae_fraction in (("causal_diffae", None), ("causal_diffae+int", fraction)):
        if not (diffae and diffae_label in models):
            continue
        from bench_causal_diffae import build_learner

        folder = saved(diffae_label)
        if folder is not None:
            model, seconds = latentscm.load(str(folder)), saved_train_seconds(folder)
        else:
            clock = time.perf_counter()
            model = build_learner(seed)
            model.fit(world, n_samples=n_samples, progress=False, interventional_fraction=diffae_fraction)
            seconds = time.perf_counter() - clock
        score(diffae_label, model, seconds)
    if diffae and "diffae+cvae" in models:
        import tempfile

        from bench_causal_diffae import build_learner

        folder = saved("diffae+cvae")
        if folder is not None:
            model, seconds = latentscm.load(str(folder)), saved_train_seconds(folder)
        else:
            with tempfile.TemporaryDirectory() as concept_folder:
                cvae.save(concept_folder)
                clock = time.perf_counter()
                model = build_learner(seed, condition="concepts", concept_model=concept_folder, refiner=True)
                model.fit(world, n_samples=n_samples, progress=False)
                seconds = time.perf_counter() - clock
            # the concept model's training time counts: it is part of this model
            seconds += cvae_seconds
        score("diffae+cvae", model, seconds)
    return results


def print_tables(runs: dict[str, dict[str, Any]]) -> None:
    """One table per measure: rows world x kind, columns models, mean ± std over seeds."""
    labels = [w for w in WORLDS if w in runs]
    models = [m for m in MODELS if any(m in seed_run for w in labels for seed_run in runs[w]["seeds"].values())]
    for label in labels:
        floors = runs[label].get("regressor_mae", {})
        print(f"- {label}: regressor held-out |error| / range: " + ", ".join(f"{k} {v:.3f}" for k, v in floors.items()))
    for measure in MEASURES:
        print(f"\n### {measure}" + ("  (normalised excess error; 0 perfect, 1 = change nothing)"
                                    if measure == "excess" else ""))
        print("| world | kind | " + " | ".join(models) + " |")
        print("|---|---|" + "---|" * len(models))
        for label in labels:
            seeds = runs[label]["seeds"]
            for kind in ("do(cause)", "do(effect)"):
                cells = []
                for model in models:
                    values = [s[model]["summary"][kind][measure] for s in seeds.values() if model in s]
                    values = [v for v in values if np.isfinite(v)]
                    if not values:
                        cells.append("—")
                    elif len(values) == 1:
                        cells.append(f"{values[0]:.4f}")
                    else:
                        cells.append(f"{np.mean(values):.4f} ± {np.std(values):.4f}")
                print(f"| {label} | {kind} | " + " | ".join(cells) + " |")
    print("\n### train seconds (mean over seeds)")
    print("| world | " + " | ".join(models) + " |")
    print("|---|" + "---|" * len(models))
    for label in labels:
        seeds = runs[label]["seeds"]
        cells = []
        for model in models:
            values = [s[model]["train_seconds"] for s in seeds.values() if model in s]
            values = [v for v in values if np.isfinite(v)]
            cells.append(f"{np.mean(values):.0f}" if values else "—")
        print(f"| {label} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--n-samples", type=int, default=6000)
    parser.add_argument("--n-eval", type=int, default=128)
    parser.add_argument("--worlds", nargs="*", default=list(WORLDS), choices=list(WORLDS))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--interventional-fraction", type=float, default=0.3)
    parser.add_argument("--cf-steps", type=int, default=300, help="counterfactual fine-tuning steps")
    parser.add_argument("--diffae", action="store_true", help="also train the cpu-small CausalDiffAE columns")
    parser.add_argument("--regressor-steps", type=int, default=600)
    parser.add_argument("--models", nargs="*", default=None, choices=list(MODELS),
                        help="columns to train (default: all; the CausalDiffAE columns only with --diffae)")
    parser.add_argument("--save", type=str, default=None, help="save every trained model under this directory")
    parser.add_argument("--load", type=str, default=None,
                        help="score the models saved under this directory (as --save lays them out: "
                             "WORLD/seedK/MODEL) instead of training them; others are trained")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=str, default=None, help="write all numbers to this file")
    parser.add_argument("--combine", nargs="*", default=None, help="merge result files of earlier runs and print")
    args = parser.parse_args()
    if args.combine:
        runs: dict[str, Any] = {}
        for path in args.combine:
            with open(path) as handle:
                for label, run in json.load(handle)["runs"].items():
                    merged = runs.setdefault(label, {"regressor_mae": run["regressor_mae"], "seeds": {}})
                    for seed, models in run["seeds"].items():  # runs of other columns merge per model
                        merged["seeds"].setdefault(seed, {}).update(models)
        print_tables(runs)
        return
    if args.models is None:
        args.models = [m for m in MODELS if args.diffae or m not in DIFFAE]
    torch.set_num_threads(args.threads)
    print(f"# counterfactual benchmark: {args.steps} steps, {args.n_samples} images, {args.n_eval} eval images, "
          f"seeds {args.seeds}, interventional fraction {args.interventional_fraction}, {args.cf_steps} fine-tuning "
          f"steps, {args.threads} torch thread(s)", flush=True)
    runs = {}
    for label in args.worlds:
        name, options = WORLDS[label]
        world = make_world(name, **options)
        regressor = FactorRegressor(seed=0, steps=args.regressor_steps).fit(world)
        runs[label] = {"regressor_mae": regressor.mae_, "seeds": {}}
        for seed in args.seeds:
            runs[label]["seeds"][str(seed)] = train_models(
                label, seed, args.steps, args.n_samples, args.n_eval, regressor, args.cf_steps,
                args.interventional_fraction, args.diffae, args.save, tuple(args.models), args.load)
            if args.json:
                with open(args.json, "w") as handle:
                    json.dump({"args": vars(args), "runs": runs}, handle, indent=1, default=float)
    print_tables(runs)


if __name__ == "__main__":
    main()
