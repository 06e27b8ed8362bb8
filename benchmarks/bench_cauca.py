"""Causal component analysis (Liang et al., NeurIPS 2023) against the world's own latents.

World: ``nonlinear-ica`` with three latents, a linear Gaussian SCM ``z0 -> z1 -> z2, z0 -> z2`` (noise sd 0.25,
0.2, 0.2), seen through the invertible leaky-ReLU MLP with ``--mixing-layers`` linear maps (1: linear mixing before
the sigmoid). Training data: the observational regime and one perfect stochastic intervention per latent (the
intervened latent loses its parents and is drawn from N(+-0.3, 0.2)), ``--n`` samples spread equally. Per mixing
depth, seed and variant, ``CauCA`` is fitted and scored on 2,000 fresh observational samples:

- ``aligned``: mean over latents of |Spearman| between code i and factor i (no permutation search: the known graph
  and targets name each code; the paper's "up to element-wise maps" is exactly this);
- ``mcc``: the library's Pearson MCC with the best one-to-one matching (the paper's metric);
- ``nll``: negative log-likelihood per dimension (nats) of 2,000 held-out samples of the training mixture, each in
  its regime, and ``gap``: its excess over the data's own (the SCM's densities, intervened ones replaced, at the
  exact latents plus the exact unmixing's log-Jacobian), which says whether a fit that misses the latents is short
  of the optimum (under-fitted) or at it (for ``iid`` and ``empty`` the model's own regimes are misspecified, so
  their gap includes that);
- ``cf``: after :meth:`CauCA.calibrate` on 300 labelled samples, the mean absolute error of the factors of the
  counterfactual ``do(z0 = 0.3)`` against the world's exact counterfactual, on z1 and z2 (the descendants), as a
  fraction of the error of leaving the sample unchanged (below 1: better than changing nothing).

Variants: ``full`` (targets known), ``iid`` (the same data with every row read as observational: the paper's naive
baseline, not identified) and ``empty`` (targets known but the graph misspecified as empty: the paper's E(G) = ∅).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cauca.py`` (``--quick`` for a smoke run). Prints one
table. Every number is for small models trained briefly on a CPU, not the paper's scale (its runs: 200,000
samples per regime, batch 4,096, 100 epochs, 12 spline blocks).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from scipy.stats import norm, spearmanr

from latentscm import worlds
from latentscm.learners.cauca import CauCA, fit_restarts
from latentscm.metrics import mcc
from latentscm.scm.mechanisms import AdditiveNoise, Root
from latentscm.scm.noise import Normal
from latentscm.worlds.regimes import OBSERVATIONAL, Regime, RegimeMixture

GRAPH = "z0 -> z1; z1 -> z2; z0 -> z2"


def _cut(parents: np.ndarray) -> np.ndarray:
    return np.zeros(len(parents))


def make_world(mixing_layers: int, seed: int, activation: str = "leaky_relu"):
    return worlds.make("nonlinear-ica", latents=3, mixing_layers=mixing_layers, activation=activation, seed=seed,
                       graph=GRAPH,
                       mechanisms={"z0": Root(Normal(0, 0.25)),
                                   "z1": AdditiveNoise(lambda p: 0.8 * p[:, 0], Normal(0, 0.2)),
                                   "z2": AdditiveNoise(lambda p: 0.5 * p[:, 0] - 0.6 * p[:, 1], Normal(0, 0.2))})


REGIMES = RegimeMixture([OBSERVATIONAL, Regime("do z0", mechanisms={"z0": Root(Normal(0.3, 0.2))}),
                         Regime("do z1", mechanisms={"z1": AdditiveNoise(_cut, Normal(-0.3, 0.2))}),
                         Regime("do z2", mechanisms={"z2": AdditiveNoise(_cut, Normal(0.3, 0.2))})])


#: (mean, sd) of each latent's density under its perfect intervention (REGIMES), by index.
INTERVENED = [(0.3, 0.2), (-0.3, 0.2), (0.3, 0.2)]


def true_nll(world, batch) -> float:
    """The data's own negative log-likelihood per dimension, each row in its regime (``batch.targets``): the SCM's
    Gaussian densities at the exact latents (``world.read_factors`` inverts the mixing exactly), an intervened
    latent's replaced by its intervention's, plus ``log |det d z / d x|`` by central differences."""
    x = batch.images.reshape(len(batch.images), 3).astype(np.float64)
    z = world.read_factors(x)
    jacobian = np.zeros((len(x), 3, 3))
    for j in range(3):
        step = np.zeros(3)
        step[j] = 1e-6
        jacobian[:, :, j] = (world.read_factors(x + step) - world.read_factors(x - step)) / 2e-6
    terms = np.stack([norm.logpdf(z[:, 0], 0, 0.25), norm.logpdf(z[:, 1] - 0.8 * z[:, 0], 0, 0.2),
                      norm.logpdf(z[:, 2] - 0.5 * z[:, 0] + 0.6 * z[:, 1], 0, 0.2)], axis=1)
    intervened = np.stack([norm.logpdf(z[:, i], *INTERVENED[i]) for i in range(3)], axis=1)
    log_p = np.where(batch.targets, intervened, terms).sum(1)
    return float(-(log_p + np.linalg.slogdet(jacobian)[1]).mean() / 3)


def run(mixing_layers: int, seed: int, variant: str, args) -> dict:
    world = make_world(mixing_layers, seed, args.activation)
    data = world.sample(args.n, seed=seed + 1, regime=REGIMES)
    if variant == "iid":
        data.targets[:] = False
    options = {"graph": "none" if variant == "empty" else GRAPH, "flow": args.flow, "flow_layers": args.flow_layers,
               "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "lr_schedule": args.lr_schedule,
               "seed": seed}
    started = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the iid variant's "not identified" warning is the point
        if args.restarts > 1:  # the most likely of several starts, judged on the training data (its own regimes)
            model = fit_restarts(CauCA(**options), data, restarts=args.restarts, progress=False)
        else:
            model = CauCA(**options).fit(data, progress=False)
    seconds = time.time() - started
    test = world.sample(2000, seed=seed + 2)
    codes = model.encode(test)
    aligned = float(np.mean([abs(spearmanr(codes[:, i], test.factors[:, i]).statistic) for i in range(3)]))
    held_out = world.sample(2000, seed=seed + 5, regime=REGIMES)  # the training distribution, each row in its regime
    # the iid variant reads every row as observational, as it was trained
    nll = float(-model.log_prob(held_out, targets=None if variant == "iid" else held_out.targets).mean() / 3)
    model.calibrate(world.sample(300, seed=seed + 3))
    base = world.sample(300, seed=seed + 4)
    exact = world.counterfactual(base, {"z0": 0.3})
    ours = world.read_factors(model.counterfactual(base.images, {"z0": 0.3}))
    unchanged = np.abs(base.factors - exact.factors)[:, 1:].mean()
    cf = float(np.abs(ours - exact.factors)[:, 1:].mean() / unchanged)
    return {"mixing": mixing_layers, "seed": seed, "variant": variant, "aligned": aligned,
            "mcc": mcc(codes, test.factors), "nll": nll, "gap": nll - true_nll(world, held_out), "cf": cf,
            "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mixing-layers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=["full", "iid", "empty"])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--flow", default="spline")
    parser.add_argument("--flow-layers", type=int, default=6)
    parser.add_argument("--lr-schedule", default="cosine")
    parser.add_argument("--restarts", type=int, default=1, help="fit_restarts: keep the most likely of R starts")
    parser.add_argument("--activation", default="leaky_relu", help="the world's mixing: leaky_relu or leaky_tanh")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.n, args.steps, args.mixing_layers, args.seeds = 2000, 50, [1], [0]
    torch.set_num_threads(1)
    print(f"settings: {vars(args)}")
    print(f"{'mixing':>6} {'seed':>4} {'variant':>7} {'aligned':>7} {'mcc':>6} {'nll':>7} {'gap':>6} {'cf':>6} "
          f"{'sec':>6}")
    for mixing_layers in args.mixing_layers:
        for seed in args.seeds:
            for variant in args.variants:
                row = run(mixing_layers, seed, variant, args)
                print(f"{row['mixing']:>6} {row['seed']:>4} {row['variant']:>7} {row['aligned']:7.3f} "
                      f"{row['mcc']:6.3f} {row['nll']:7.3f} {row['gap']:6.3f} {row['cf']:6.3f} {row['seconds']:6.0f}",
                      flush=True)


if __name__ == "__main__":
    main()
