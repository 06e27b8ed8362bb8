"""Do the latents a causal learner samples follow their causes? CausalDiffAE's latent SCM at ``mechanism_lr`` vs the
UNet's ``lr`` (and, with ``--prior standard``, the sampling prior's part).

For each seed and setting, trains CausalDiffAE (tiny UNet and encoder, class defaults otherwise: lr 2e-4) on
``make("pendulum", size=16, noise_std=0.3, grid=False)`` (1,024 images) and prints, per effect:

- ``R²`` of the effect on a cubic polynomial of its parents, in 4,000 latents the model samples (its aggregate
  prior, or N(0, I) with ``--prior standard``, pushed through its SCM); the world's own R² on 4,000 true factor
  rows beside it;
- the residual std of the fitted mechanism on 4,000 held-out standardised labels (``scm.abduct``).

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sampled_mechanisms.py --seeds 0 1 --steps 1500

Measured 2026-12-04 (this 2-core CPU, one thread per run, 2 runs at a time; 40-100 s per run)::

    condition  mechanism_lr  seed  R² shadow_length  R² shadow_position  residual std length  position
    labels     None (2e-4)   0     0.693             0.987               0.528                0.146
    labels     1e-3          0     0.957             0.994               0.183                0.108
    labels     None (2e-4)   1     0.491             0.987               0.607                0.162
    labels     1e-3          1     0.959             0.995               0.197                0.113
    latent     None (2e-4)   0     0.833             0.985               0.387                0.122
    latent     1e-3          0     0.959             0.991               0.184                0.106
    latent     None (2e-4)   1     0.666             0.988               0.514                0.122
    latent     1e-3          1     0.966             0.993               0.193                0.111
    world                          0.950             0.992

(made by an equivalent session script with the same calls; this script reproduces the two seed-0 labels rows to
the digit: ``--seeds 0 --conditions labels``, 42 s and 46 s.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from latentscm.learners import make as make_learner
from latentscm.worlds import make as make_world

TINY = {"extra_dims": 1, "channels": (8, 16), "hidden_dim": 64, "batch_size": 32, "unet_channels": 8,
        "unet_multipliers": (1, 2), "ddim_steps": 4, "timesteps": 60}


def cubic_r2(values: np.ndarray, names: list[str], graph) -> dict[str, float]:
    """R² of each non-root column of ``values`` (N, K) on a cubic polynomial (with cross terms) of its parents."""
    out = {}
    for name in names:
        parents = list(graph.parents(name))
        if not parents:
            continue
        x = values[:, [names.index(p) for p in parents]]
        columns = [np.ones(len(x))]
        for i in range(x.shape[1]):
            columns += [x[:, i], x[:, i] ** 2, x[:, i] ** 3]
            for j in range(i + 1, x.shape[1]):
                columns += [x[:, i] * x[:, j], x[:, i] ** 2 * x[:, j], x[:, i] * x[:, j] ** 2]
        design, y = np.stack(columns, 1), values[:, names.index(name)]
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        out[name] = float(1 - np.mean((y - design @ coef) ** 2) / np.var(y))
    return out


def run(condition: str, mechanism_lr: float | None, seed: int, steps: int, prior: str) -> dict:
    world = make_world("pendulum", size=16, noise_std=0.3, grid=False)
    names = list(world.factor_names)
    graph_text = "; ".join(f"{a} -> {b}" for a, b in world.graph.edges)
    train, test = world.sample(1024, seed=seed), world.sample(4000, seed=seed + 100)
    model = make_learner("causal_diffae", graph=graph_text, condition=condition, seed=seed, steps=steps,
                         mechanism_lr=mechanism_lr, **TINY)
    start = time.perf_counter()
    model.fit(train, progress=False)
    seconds = time.perf_counter() - start
    k = len(names)
    noise = torch.randn((4000, model.latent_dim_), generator=torch.Generator().manual_seed(1))
    u = noise if prior == "standard" else model.exogenous_mean_ + noise @ model.exogenous_scale_.T
    with torch.no_grad():
        sampled = model.scm_(u[:, :k]).numpy().astype(np.float64)
        labels = torch.as_tensor((test.factors - model.factor_mean_) / model.factor_std_, dtype=torch.float32)
        residuals = model.scm_.abduct(labels).numpy()
    effects = [n for n in names if list(world.graph.parents(n))]
    return {"r2": cubic_r2(sampled, names, world.graph),
            "world_r2": cubic_r2(test.factors.astype(np.float64), names, world.graph),
            "residual": {n: float(residuals[:, names.index(n)].std()) for n in effects}, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--conditions", nargs="+", default=["labels", "latent"], choices=["labels", "latent"])
    parser.add_argument("--mechanism-lr", type=float, nargs="+", default=[-1.0, 1e-3],
                        help="SCM learning rates to compare; -1 means None (the UNet's lr)")
    parser.add_argument("--prior", choices=["aggregate", "standard"], default="aggregate")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("condition  mechanism_lr  seed  R² per effect (world)  residual std per effect  s", flush=True)
    for condition in args.conditions:
        for seed in args.seeds:
            for rate in args.mechanism_lr:
                rate_or_none = None if rate < 0 else rate
                row = run(condition, rate_or_none, seed, args.steps, args.prior)
                r2 = "  ".join(f"{n} {v:.3f} ({row['world_r2'][n]:.3f})" for n, v in row["r2"].items())
                res = "  ".join(f"{n} {v:.3f}" for n, v in row["residual"].items())
                print(f"{condition:9s}  {str(rate_or_none):12s}  {seed:4d}  {r2}  {res}  {row['seconds']:.0f}",
                      flush=True)


if __name__ == "__main__":
    main()
