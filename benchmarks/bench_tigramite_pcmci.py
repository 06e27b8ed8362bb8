"""ParCorr-PCMCI: latentscm vs tigramite on the same data in the same process.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_tigramite_pcmci.py [--d 20] [--T 2000] [--tau-max 3]
        [--repeats 2] [--seeds 1]

tigramite (GPL) is never a dependency of latentscm; this script needs it installed
(``pip install tigramite``) and exits with a message otherwise. Both run PCMCI with ParCorr (analytic
p-values), pc_alpha=0.2, max_combinations=1, no limit on conditioning sets, on a VAR world
(``edge_prob=0.1``, lag_max = tau_max). BLAS threads are pinned to one (set before numpy is
imported). Each timing is the fastest of ``--repeats`` runs, the two libraries alternating, so load
changes on a shared machine hit both alike. The table also gives the largest absolute difference
of the lagged p-values and whether the graphs at alpha=0.05 agree.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import time

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import numpy as np  # noqa: E402

from latentscm.discovery.timeseries import pcmci  # noqa: E402
from latentscm.worlds.timeseries import make  # noqa: E402


def run_tigramite(data: np.ndarray, tau_max: int) -> np.ndarray:
    from tigramite import data_processing
    from tigramite.independence_tests.parcorr import ParCorr
    from tigramite.pcmci import PCMCI

    runner = PCMCI(dataframe=data_processing.DataFrame(data), cond_ind_test=ParCorr(significance="analytic"),
                   verbosity=0)
    return runner.run_pcmci(tau_max=tau_max, pc_alpha=0.2)["p_matrix"].transpose(2, 0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--T", type=int, default=2000)
    parser.add_argument("--tau-max", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    try:
        import tigramite  # noqa: F401
    except ImportError:
        raise SystemExit("tigramite is not installed (GPL, never a dependency): pip install tigramite") from None
    rows = []
    for seed in range(args.seeds):
        world = make("var", d=args.d, lag_max=args.tau_max, edge_prob=0.1, seed=seed)
        data = world.sample(args.T, seed=1000 + seed).values
        ours_times, theirs_times = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            ours = pcmci(data, tau_max=args.tau_max, pc_alpha=0.2)
            ours_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            theirs = run_tigramite(data, args.tau_max)
            theirs_times.append(time.perf_counter() - start)
        difference = float(np.max(np.abs(ours.pvalues[1:] - theirs[1:])))
        same_graph = bool(np.array_equal(ours.pvalues[1:] <= 0.05, theirs[1:] <= 0.05))
        rows.append((seed, min(ours_times), min(theirs_times), difference, same_graph))
        print(f"seed {seed}: latentscm {rows[-1][1]:.2f} s, tigramite {rows[-1][2]:.2f} s, "
              f"max |dp| {difference:.2e}, same graph {same_graph}", flush=True)
    print(f"\nParCorr-PCMCI, VAR d={args.d} T={args.T} tau_max={args.tau_max}, pc_alpha=0.2; "
          f"tigramite {importlib.metadata.version('tigramite')}; fastest of {args.repeats} runs; 1 BLAS thread\n")
    print("| seed | latentscm (s) | tigramite (s) | speed-up | max abs p-value difference | same graph at 0.05 |")
    print("|---|---|---|---|---|---|")
    for seed, ours_s, theirs_s, difference, same in rows:
        print(f"| {seed} | {ours_s:.2f} | {theirs_s:.2f} | {theirs_s / ours_s:.1f}x | {difference:.1e} | {same} |")


if __name__ == "__main__":
    main()
