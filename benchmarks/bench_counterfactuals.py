"""Counterfactual quality against the exact oracle: CausalVAE vs its ablation vs a β-VAE baseline,
and CausalDiffAE's true-counterfactual error against the number of DDIM steps.

For each world (pendulum, flow, glyphs; 32x32 unless said otherwise) the script trains

- ``beta_vae``: β = 4, counterfactuals by latent traversal of the best-matched unit (baseline),
- ``causal_vae``: latent SCM over the world's graph with the label-conditioned prior,
- ``causal_vae_no_prior``: the ablation with ``label_weight = mechanism_weight = 0``,

on the same rendered images, then prints, per model, the counterfactual metrics of
:func:`latentscm.metrics.counterfactual.counterfactual_metrics` (true counterfactual error,
effectiveness, effect-follows-cause per edge, cause-leak per edge, reversibility, composition),
and the factor regressor's own held-out error (its noise floor). With ``--diffae`` it also trains a
CausalDiffAE on the pendulum and reports the true counterfactual error for 5-50 DDIM steps.

    .venv/bin/python benchmarks/bench_counterfactuals.py --steps 1500 --worlds pendulum flow glyphs --diffae

Every number is measured in this run; nothing is cached between runs.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from latentscm.learners import make as make_learner
from latentscm.metrics.counterfactual import counterfactual_metrics
from latentscm.metrics.factor_regressor import FactorRegressor
from latentscm.probes.traversal_counterfactual import TraversalCounterfactual
from latentscm.worlds import make as make_world

WORLDS = {
    "pendulum": {"size": 32, "noise_std": 0.3, "grid": False},
    "flow": {"size": 32, "noise_std": 0.3, "grid": False},
    "glyphs": {"size": 32, "noise_std": 0.5},
}
COMMON = {"channels": (32, 32, 64), "hidden_dim": 128, "batch_size": 64, "lr": 1e-3, "seed": 0}
MODELS = {
    "beta_vae": ("beta_vae", {"beta": 4.0, "latent_dim": 6}),
    # these worlds render images from their factors alone: no free style latents (extra_dims=0)
    "causal_vae": ("causal_vae", {"graph": "world", "extra_dims": 0}),
    "causal_vae_no_prior": ("causal_vae", {"graph": "world", "extra_dims": 0, "label_weight": 0.0,
                                           "mechanism_weight": 0.0}),
}
SHOWN = ("cf.true_error", "cf.identity_error", "cf.effectiveness", "cf.effect", "cf.cause_leak", "cf.reversibility",
         "cf.composition.m1", "cf.composition.m10")


def run_world(name: str, steps: int, n_samples: int, n_eval: int, seed: int) -> dict:
    world = make_world(name, **WORLDS[name])
    regressor = FactorRegressor(seed=seed, steps=600).fit(world)
    rows = {}
    for label, (learner_name, params) in MODELS.items():
        clock = time.perf_counter()
        learner = make_learner(learner_name, **{**COMMON, **params, "steps": steps})
        learner.fit(world, n_samples=n_samples, progress=False)
        train_s = time.perf_counter() - clock
        model = learner if hasattr(learner, "counterfactual") else TraversalCounterfactual(learner, world, seed=seed)
        metrics = counterfactual_metrics(model, world, n=n_eval, seed=seed + 1, regressor=regressor)
        metrics["train_seconds"] = train_s
        rows[label] = metrics
        print(f"  trained {label} on {name} in {train_s:.0f} s", flush=True)
    return {"regressor_mae": regressor.mae_, "regressor_r2": regressor.r2_, "models": rows}


def print_world(name: str, result: dict) -> None:
    models = result["models"]
    print(f"\n## {name}  (regressor held-out error / range: "
          + ", ".join(f"{k} {v:.3f}" for k, v in result["regressor_mae"].items()) + ")")
    header = "| metric (lower is better) | " + " | ".join(models) + " |"
    print(header)
    print("|" + "---|" * (len(models) + 1))
    keys = [k for k in next(iter(models.values())) if k.startswith("cf.")]
    ordered = [k for k in SHOWN if k in keys] + sorted(k for k in keys if k not in SHOWN and (
        k.startswith("cf.effect.") or k.startswith("cf.cause_leak.") or k.startswith("cf.true_error.")))
    for key in ordered:
        print(f"| {key} | " + " | ".join(f"{models[m].get(key, float('nan')):.4f}" for m in models) + " |")
    print("| train seconds | " + " | ".join(f"{models[m]['train_seconds']:.0f}" for m in models) + " |")


def run_diffae(steps: int, n_samples: int, n_eval: int, seed: int) -> dict:
    world = make_world("pendulum", **WORLDS["pendulum"])
    clock = time.perf_counter()
    learner = make_learner("causal_diffae", graph="world", extra_dims=0, steps=steps, batch_size=64, lr=1e-3, seed=seed,
                           channels=(32, 32, 64), hidden_dim=128, unet_channels=32, unet_multipliers=(1, 2, 2))
    learner.fit(world, n_samples=n_samples, progress=False)
    train_s = time.perf_counter() - clock
    batch = world.sample(n_eval, seed=seed + 1)
    rng = np.random.default_rng(seed)
    targets = world.spec("light_position").other_values(batch.factor("light_position"), rng)
    truth = world.counterfactual(batch, {"light_position": targets}).images
    rows = {}
    for ddim_steps in (5, 10, 20, 50):
        clock = time.perf_counter()
        produced = learner.counterfactual(batch.images, {"light_position": targets}, num_steps=ddim_steps)
        recon = learner.reconstruct(batch.images, num_steps=ddim_steps)
        rows[ddim_steps] = {"true_error": float(np.abs(produced - truth).mean()),
                            "reconstruction_error": float(np.abs(recon - batch.images).mean()),
                            "seconds": time.perf_counter() - clock}
    return {"train_seconds": train_s, "identity_error": float(np.abs(batch.images - truth).mean()), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--n-samples", type=int, default=6000)
    parser.add_argument("--n-eval", type=int, default=128)
    parser.add_argument("--worlds", nargs="*", default=list(WORLDS), choices=list(WORLDS))
    parser.add_argument("--diffae", action="store_true", help="also train CausalDiffAE and sweep DDIM steps")
    parser.add_argument("--diffae-steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=str, default=None, help="also write all numbers to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# counterfactual benchmark: {args.steps} steps, {args.n_samples} images, {args.n_eval} eval images, "
          f"{args.threads} torch thread(s)")
    results = {}
    for name in args.worlds:
        results[name] = run_world(name, args.steps, args.n_samples, args.n_eval, args.seed)
        print_world(name, results[name])
    if args.diffae:
        diffae = run_diffae(args.diffae_steps, args.n_samples, min(args.n_eval, 32), args.seed)
        results["causal_diffae"] = diffae
        print(f"\n## CausalDiffAE on pendulum, do(light_position), trained {diffae['train_seconds']:.0f} s; "
              f"'change nothing' error {diffae['identity_error']:.4f}")
        print("| DDIM steps | true counterfactual error | reconstruction error | seconds |")
        print("|---|---|---|---|")
        for steps, row in diffae["rows"].items():
            print(f"| {steps} | {row['true_error']:.4f} | {row['reconstruction_error']:.4f} | {row['seconds']:.1f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2, default=float)


if __name__ == "__main__":
    main()
