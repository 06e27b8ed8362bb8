"""ILD restarts: one batched fit of R restarts against R fits run one after another (issue 14's bench (a)).

``ILD(restarts=R)`` trains its R initialisations together, as one model with a leading restart axis
(``torch.func.vmap``); until 2026-12-02 it trained them one after another, which costs what R single fits
cost. This script times both on the same ``ild-linear`` data in the same run: R single fits
(``restarts=1``, seeds 0 .. R-1: the sequential cost) and one ``restarts=R`` fit, and prints the held-out
NLL each kept restart reaches (the two are not the same draws: the batched fit's restarts share one
held-out split and seed their initialisations from one seed).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_ild_restarts.py [--steps 2000] [--restarts 1 3 5]``.
Pin the threads (the default sets torch to one) and run nothing else, or the times say little.

Measured (2026-12-02, this 2-core CPU, one thread, one other single-thread job on the other core,
``--steps 2000``; ILD's defaults otherwise: latent_dim 6, 3 domains, 2,000 samples per domain, batch 500, depth 3)::

    R  R single fits (s)  batched fit (s)  speed-up  batched ms/step
    1              9.425            9.932     0.949            4.966
    3             29.626           14.490     2.045            7.245
    5             44.335           18.856     2.351            9.428

(R = 1 runs the same code twice: its 5 % gap is the timing noise.) Against the sequential implementation it
replaced (commit ``7dcd9d9``, checked out beside this one, the same data, 1,000 steps, best of 3, run
alternately twice): restarts = 3 took 9.05 / 10.30 s there and 6.47 / 7.25 s here; a single fit (restarts = 1)
2.96 / 3.16 s there and 3.32 / 3.68 s here, so the batched loop costs a single fit about 12-16 % (per-step
bookkeeping of the restart axis).
"""

from __future__ import annotations

import argparse
import time

import torch

from bench_domains import _table  # this script's directory is on sys.path when run as a script
from latentscm.learners import ILD
from latentscm.worlds import make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--restarts", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--structure", default="relax_can")
    args = parser.parse_args()
    torch.set_num_threads(1)
    world = make("ild-linear", latent_dim=6, n_domains=3, int_set=(4, 5), seed=0)
    data = world.sample_domains(2000, seed=1)
    ILD(6, 2, steps=20, restarts=2, seed=0).fit(data)  # warm-up: the first fit pays one-off costs
    rows = []
    for n_restarts in args.restarts:
        start = time.perf_counter()
        for seed in range(n_restarts):
            ILD(6, 2, structure=args.structure, steps=args.steps, seed=seed).fit(data)
        sequential = time.perf_counter() - start
        start = time.perf_counter()
        model = ILD(6, 2, structure=args.structure, steps=args.steps, restarts=n_restarts, seed=0).fit(data)
        batched = time.perf_counter() - start
        kept = min(model.restart_validation_nll_) if n_restarts > 1 else float("nan")
        rows.append([n_restarts, sequential, batched, sequential / batched, 1e3 * batched / args.steps, kept])
        print(f"  R={n_restarts}: {n_restarts} single fits {sequential:.1f} s, one batched fit {batched:.1f} s",
              flush=True)
    print(f"ILD {args.structure}, {args.steps} steps, one thread: seconds for R restarts")
    print(_table(["R", "R single fits (s)", "batched fit (s)", "speed-up", "batched ms/step",
                  "kept held-out NLL"], rows))


if __name__ == "__main__":
    main()
