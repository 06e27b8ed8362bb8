"""CausalDiffAE counterfactuals on the pendulum against the world's exact counterfactual, per
DDIM step count and inversion depth.

Trains the ``cpu-small`` CausalDiffAE on ``make("pendulum", size=32, noise_std=0.3, grid=False)``
(6,000 images by default) and, for do(cause) (pendulum_angle, light_position) and do(effect)
(shadow_length, shadow_position), prints for DDIM steps 5/10/20/50/100 and full or partial
inversion:

- the true-counterfactual error ``mean |model counterfactual − world.counterfactual(batch, do)|``;
- the reconstruction error ``mean |model reconstruction − input|`` at the same steps and depth;
- the floor ``mean |input − true counterfactual|`` ("change nothing");
- the normalised excess error ``e = (true-CF error − reconstruction error) / floor`` (0 is
  perfect, 1 is no better than changing nothing).

Run::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_causal_diffae.py --threads 2
    # conditioned on a trained CausalVAE's frozen concepts, its decoding refined by the UNet:
    .venv/bin/python benchmarks/bench_causal_diffae.py --concept-model RUN_DIR --refiner

Other benchmarks import :func:`train_and_score` (train once, score every cell) or
:func:`score` (score an already trained learner).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from latentscm.learners import make as make_learner
from latentscm.training import get_preset
from latentscm.worlds import make as make_world

CAUSES = ("pendulum_angle", "light_position")
EFFECTS = ("shadow_length", "shadow_position")
DDIM_STEPS = (5, 10, 20, 50, 100)
FRACTIONS = (1.0, 0.5, 0.3)


def pendulum() -> Any:
    """The benchmark world: 32x32 pendulum, factor noise 0.3, no background grid."""
    return make_world("pendulum", size=32, noise_std=0.3, grid=False)


def build_learner(seed: int = 0, *, steps: int | None = None, **overrides: Any):
    """The ``cpu-small`` CausalDiffAE (preset hyperparameters, explicit ``overrides`` win)."""
    preset = get_preset("cpu-small")
    params = {"batch_size": preset.batch_size, "steps": preset.steps, **preset.params_for("causal_diffae", overrides),
              "seed": seed, **overrides}
    if steps is not None:
        params["steps"] = steps
    return make_learner("causal_diffae", **params)


def score(learner, world, *, seed: int = 0, n_eval: int = 64, ddim_steps: Sequence[int] = DDIM_STEPS,
          fractions: Sequence[float] = FRACTIONS, interventions: Sequence[str] = CAUSES + EFFECTS,
          guidance_weight: float | None = None, use_labels: bool = False) -> dict[str, Any]:
    """Score a trained CausalDiffAE against the exact counterfactuals of ``world``.

    Args:
        learner: a fitted :class:`~latentscm.learners.causal_diffae.CausalDiffAE`.
        world: the world it was trained on.
        seed: seeds the evaluation batch (``seed + 1``) and the intervention targets.
        n_eval: number of evaluation images.
        ddim_steps: DDIM step counts (of the full chain; a partial chain uses the same step size).
        fractions: inversion depths t0 / T.
        interventions: factor names to intervene on, one at a time.
        guidance_weight: classifier-free guidance (None: the learner's default).
        use_labels: abduct the concepts from the true labels (``factors=``) instead of the encoder.

    Returns:
        ``{"floor": {name: float}, "rows": [{"steps", "fraction", "intervention", "kind",
        "true_error", "reconstruction_error", "floor", "excess", "seconds"}, ...]}``.
    """
    batch = world.sample(n_eval, seed=seed + 1)
    rng = np.random.default_rng(seed)
    factors = batch.factors if use_labels else None
    targets = {name: world.spec(name).other_values(batch.factor(name), rng) for name in interventions}
    truths = {name: world.counterfactual(batch, {name: targets[name]}).images for name in interventions}
    floors = {name: float(np.abs(batch.images - truths[name]).mean()) for name in interventions}
    rows = []
    for fraction in fractions:
        for steps in ddim_steps:
            clock = time.perf_counter()
            recon = learner.reconstruct(batch.images, num_steps=steps, inversion_fraction=fraction, factors=factors)
            recon_error = float(np.abs(recon - batch.images).mean())
            for name in interventions:
                produced = learner.counterfactual(batch.images, {name: targets[name]}, num_steps=steps,
                                                  inversion_fraction=fraction, guidance_weight=guidance_weight,
                                                  factors=factors)
                true_error = float(np.abs(produced - truths[name]).mean())
                rows.append({"steps": steps, "fraction": fraction, "intervention": name,
                             "kind": "cause" if name in CAUSES else "effect", "true_error": true_error,
                             "reconstruction_error": recon_error, "floor": floors[name],
                             "excess": (true_error - recon_error) / floors[name],
                             "seconds": time.perf_counter() - clock})
    return {"floor": floors, "rows": rows}


def score_reference(model, world, *, seed: int = 0, n_eval: int = 64,
                    interventions: Sequence[str] = CAUSES + EFFECTS) -> list[dict[str, Any]]:
    """The same batch and targets as :func:`score`, for a model with one-shot ``counterfactual``
    and ``reconstruct`` (e.g. the CausalVAE a concept-conditioned CausalDiffAE refines)."""
    batch = world.sample(n_eval, seed=seed + 1)
    rng = np.random.default_rng(seed)
    targets = {name: world.spec(name).other_values(batch.factor(name), rng) for name in interventions}
    recon_error = float(np.abs(model.reconstruct(batch.images) - batch.images).mean())
    rows = []
    for name in interventions:
        truth = world.counterfactual(batch, {name: targets[name]}).images
        floor = float(np.abs(batch.images - truth).mean())
        true_error = float(np.abs(model.counterfactual(batch.images, {name: targets[name]}) - truth).mean())
        rows.append({"intervention": name, "kind": "cause" if name in CAUSES else "effect", "true_error": true_error,
                     "reconstruction_error": recon_error, "floor": floor, "excess": (true_error - recon_error) / floor})
    return rows


def train_and_score(world=None, seed: int = 0, *, steps: int | None = None, n_samples: int = 6000,
                    n_eval: int = 64, ddim_steps: Sequence[int] = DDIM_STEPS, fractions: Sequence[float] = FRACTIONS,
                    guidance_weight: float | None = None, use_labels: bool = False, out: str | None = None,
                    interventional_fraction: float | None = None, **learner_params: Any) -> dict[str, Any]:
    """Train the ``cpu-small`` CausalDiffAE on ``world`` (default :func:`pendulum`) and score it.

    Returns the :func:`score` dictionary plus ``train_seconds``, ``params`` (the learner's
    hyperparameters) and ``learner`` (the fitted model, for further use; not JSON). ``out`` is an
    optional run directory (training log ``train.jsonl``, checkpoints, the saved model);
    ``interventional_fraction`` of the training images come from single-factor ``do`` regimes.
    """
    world = pendulum() if world is None else world
    learner = build_learner(seed, steps=steps, **learner_params)
    clock = time.perf_counter()
    learner.fit(world, n_samples=n_samples, progress=False, out=out, log_every=100,
                interventional_fraction=interventional_fraction)
    train_seconds = time.perf_counter() - clock
    result = score(learner, world, seed=seed, n_eval=n_eval, ddim_steps=ddim_steps, fractions=fractions,
                   guidance_weight=guidance_weight, use_labels=use_labels)
    return {**result, "train_seconds": train_seconds, "params": learner.get_params(), "learner": learner}


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean over the interventions of each kind, per (fraction, steps)."""
    out = []
    keys = sorted({(r["fraction"], r["steps"]) for r in rows}, key=lambda k: (-k[0], k[1]))
    for fraction, steps in keys:
        for kind in ("cause", "effect"):
            cell = [r for r in rows if r["fraction"] == fraction and r["steps"] == steps and r["kind"] == kind]
            if cell:
                out.append({"fraction": fraction, "steps": steps, "kind": kind,
                            **{key: float(np.mean([r[key] for r in cell]))
                               for key in ("true_error", "reconstruction_error", "floor", "excess")}})
    return out


def print_table(result: dict[str, Any]) -> None:
    print("| t0/T | DDIM steps | intervention | true-CF error | recon error | floor | e |")
    print("|---|---|---|---|---|---|---|")
    for r in result["rows"]:
        print(f"| {r['fraction']:.2f} | {r['steps']} | do({r['intervention']}) | {r['true_error']:.4f} | "
              f"{r['reconstruction_error']:.4f} | {r['floor']:.4f} | {r['excess']:.2f} |")
    print("\nmeans per kind:")
    print("| t0/T | DDIM steps | kind | true-CF error | recon error | floor | e |")
    print("|---|---|---|---|---|---|---|")
    for r in summarise(result["rows"]):
        print(f"| {r['fraction']:.2f} | {r['steps']} | do({r['kind']}) | {r['true_error']:.4f} | "
              f"{r['reconstruction_error']:.4f} | {r['floor']:.4f} | {r['excess']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the cpu-small preset)")
    parser.add_argument("--n-samples", type=int, default=6000)
    parser.add_argument("--n-eval", type=int, default=32)
    parser.add_argument("--ddim-steps", type=int, nargs="*", default=list(DDIM_STEPS))
    parser.add_argument("--fractions", type=float, nargs="*", default=list(FRACTIONS))
    parser.add_argument("--guidance", type=float, default=None)
    parser.add_argument("--labels", action="store_true", help="abduct concepts from the true labels")
    parser.add_argument("--interventional-fraction", type=float, default=None,
                        help="fraction of training images from single-factor do() regimes")
    parser.add_argument("--concept-model", type=str, default=None,
                        help="run directory of a trained CausalVAE: condition on its frozen concepts")
    parser.add_argument("--refiner", action="store_true", help="the UNet refines a decoded coarse image")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=str, default=None, help="also write all numbers to this file")
    parser.add_argument("--out", type=str, default=None, help="run directory: training log, checkpoints, model")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    overrides: dict[str, Any] = {"refiner": args.refiner}
    if args.concept_model:
        overrides.update(condition="concepts", concept_model=args.concept_model)
    result = train_and_score(seed=args.seed, steps=args.steps, n_samples=args.n_samples, n_eval=args.n_eval,
                             ddim_steps=args.ddim_steps, fractions=args.fractions, guidance_weight=args.guidance,
                             use_labels=args.labels, out=args.out,
                             interventional_fraction=args.interventional_fraction, **overrides)
    learner = result.pop("learner")
    print(f"# CausalDiffAE cpu-small on pendulum 32x32 noise_std 0.3: {learner.steps} steps, {args.n_samples} images, "
          f"trained in {result['train_seconds']:.0f} s on {args.threads} torch thread(s); {args.n_eval} eval images; "
          f"condition {learner.condition}"
          + (f" ({args.concept_model})" if args.concept_model else "")
          + f"; concepts from {'labels' if args.labels else 'the encoder'}; refiner {args.refiner}; "
          f"interventional fraction {args.interventional_fraction or 0}")
    print_table(result)
    if args.concept_model:
        import latentscm

        result["reference"] = score_reference(latentscm.load(args.concept_model), pendulum(), seed=args.seed,
                                              n_eval=args.n_eval)
        print("\nthe concept model alone (same images and targets):")
        print("| intervention | true-CF error | recon error | floor | e |")
        print("|---|---|---|---|---|")
        for r in result["reference"]:
            print(f"| do({r['intervention']}) | {r['true_error']:.4f} | {r['reconstruction_error']:.4f} | "
                  f"{r['floor']:.4f} | {r['excess']:.2f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2, default=float)


if __name__ == "__main__":
    main()
