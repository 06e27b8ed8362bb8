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

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cauca.py`` (``--quick`` for a smoke run; ``--activation
leaky_tanh`` for the smooth mixing; ``--restarts R`` fits R starts and keeps the most likely, ``fit_restarts``).
Prints one table. Every number is for small models trained briefly on a CPU, not the paper's scale (its runs:
200,000 samples per regime, batch 4,096, 100 epochs, 12 spline blocks).

**Measured** (2026-12-07, 2-core CPU, one thread per run, two runs at a time; defaults: 20,000 samples, 3,000 steps
of 256, lr 1e-3 with cosine decay, 6 spline blocks; seeds 0, 1, 2; mean over seeds, per-seed values in the note)::

    mixing (activations)         variant  aligned  mcc    gap    cf
    1 map (linear)               full     0.995    0.983  0.008  0.11
                                 iid      0.410    0.800  0.169  2.08
                                 empty    0.918    0.918  0.027  0.33
    2 maps, leaky ReLU (1 kink)  full     0.957    0.936  0.026  0.33
                                 iid      0.465    0.727  0.178  3.02
                                 empty    0.854    0.849  0.045  0.47
    3 maps, leaky ReLU (2)       full     0.732    0.775  0.077  0.86
                                 iid      0.347    0.841  0.197  2.01
                                 empty    0.669    0.700  0.095  0.91
    2 maps, leaky tanh (1)       full     0.983    0.958  0.009  0.24
                                 iid      0.392    0.757  0.169  3.59
                                 empty    0.871    0.864  0.027  0.38
    3 maps, leaky tanh (2)       full     0.819    0.870  0.032  0.98
                                 iid      0.396    0.807  0.170  2.03
                                 empty    0.657    0.803  0.049  1.09
    3 maps, leaky tanh (2)       3 restarts 0.987   0.961  0.009  0.27
    3 maps, leaky ReLU (2)       3 restarts 0.951   0.927  0.049  0.48

What holds: with the targets known, CauCA names each latent after its variable (``aligned``, no matching) where the
flow reaches the data's own likelihood (gap at most 0.01-0.03 nats per dimension): 0.995 under a linear mixing, 0.98
under one smooth nonlinearity; its counterfactuals of ``do(z0)`` land at 0.11-0.33 of the distance of leaving the
sample unchanged. The same data read as one observational distribution (``iid``, the paper's naive baseline) stay
0.17-0.20 nats per dimension above the data's likelihood and leave the latents mixed (0.35-0.47), with
counterfactuals 2-4 times *worse* than changing nothing. A wrong, empty graph (the paper's E(G) = ∅) costs 0.06-0.16
in ``aligned``: its "latents" are closer to the exogenous noises. Per seed, ``full`` is above ``iid`` in 15 of 15
runs, above ``empty`` in 14 (not two kinks, seed 0, where both under-fit), and ``empty`` above ``iid`` in 14 (not
two smooth activations, seed 2). Where a fit misses, the gap says why, and mostly it is a local optimum:
``fit_restarts`` (the most likely of three starts, judged on the training data without labels) takes the smooth
two-activation mixing from 0.917 / 0.936 / 0.604 to 0.988 / 0.990 / 0.984 (gap 0.021 / 0.013 / 0.062 to 0.011 /
0.007 / 0.010) and the kinked one from 0.502 / 0.826 / 0.868 to 0.969 / 0.941 / 0.943. The kinked mixing keeps a gap
of 0.045-0.053 nats per dimension even then: its density jumps across each kink, which a smooth flow can only
approach. The paper's CauCA reaches a median MCC of 0.985 / 0.942 with 2 / 3 smooth nonlinearities on 4 latents at
its scale; on 3 latents here, one smooth nonlinearity gives 0.958 and two 0.870 (0.961 with three restarts): the
ordering reproduces, the level is a little lower, at a fraction of the paper's training. ``mcc`` flatters the
unidentified fits (0.73-0.84 for ``iid``): the true latents are correlated along the graph, so a mixed code still
correlates with some factor, and matching searches for it; ``aligned`` asks the named code for its own factor.
(Rerunning the first row with the final code gives it to the digit.)
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from scipy.stats import norm, spearmanr

from latentscm.learners.cauca import CauCA, fit_restarts
from latentscm.metrics import mcc
from latentscm.testing.chain_ica import CHAIN_GRAPH, CHAIN_INTERVENED, CHAIN_REGIMES, chain_ica_world

GRAPH, REGIMES, INTERVENED = CHAIN_GRAPH, CHAIN_REGIMES, CHAIN_INTERVENED


def make_world(mixing_layers: int, seed: int, activation: str = "leaky_relu"):
    return chain_ica_world(mixing_layers, seed=seed, activation=activation)


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
