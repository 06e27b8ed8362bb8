"""BOSS against GES, XGES and causal-learn's BOSS, on the data of bench_ges_turning.py / bench_xges.py.

Linear-Gaussian SCMs (``random_scm``, weights uniform in +-[0.5, 1.5], unit noise) on Erdos-Renyi DAGs with
``--degrees`` expected neighbours per node; n rows (data seed ``seed + 1000``). Per (degree, d), means over the
seeds: SHD between the found and the true CPDAG, BIC (penalty_discount 1) of the result minus that of the true DAG,
the number of data sets where that gap is negative, seconds per run (one thread). causal-learn's ``boss`` (no BES
phase) runs with ``lambda_value = 0.5``, the same BIC; its sweeps use Python's ``random`` (seeded with the data
seed here). It is optional; without it its rows are skipped.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_boss.py --dims 10 20 --degrees 4 2 --seeds 10

Measured 2026-12-05 (this 2-core CPU, one thread, other jobs running; causal-learn 0.1.4.8)::

     deg   d             method    SHD  BIC-truth  below   s/run
       4  10                GES  13.70     -14.42   7/10   0.020
       4  10               XGES   3.20       1.83   0/10   0.142
       4  10               BOSS   1.90       2.26   0/10   0.023
       4  10        BOSS no BES   1.40       1.94   0/10   0.019
       4  10  causal-learn BOSS   3.30       0.55   2/10   0.047
       4  20                GES  30.10     -63.82   9/10   0.181
       4  20               XGES   3.60       1.75   0/10   1.277
       4  20               BOSS   3.00       1.47   0/10   0.262
       4  20        BOSS no BES   3.00       1.47   0/10   0.212
       4  20  causal-learn BOSS   5.30      -0.25   4/10   0.618
       2  10                GES   1.40       1.18   1/10   0.013
       2  10               XGES   1.30       1.80   0/10   0.041
       2  10               BOSS   1.30       1.80   0/10   0.011
       2  10        BOSS no BES   1.30       1.80   0/10   0.011
       2  10  causal-learn BOSS   1.70       1.56   1/10   0.022
       2  20                GES   6.40       0.83   2/10   0.064
       2  20               XGES   4.60       3.27   0/10   0.237
       2  20               BOSS   4.10       3.20   0/10   0.063
       2  20        BOSS no BES   4.10       3.20   0/10   0.060
       2  20  causal-learn BOSS   5.30       2.51   1/10   0.124

BOSS has the lowest SHD in every setting and never stops below the true DAG's score; it is as fast as GES and 5x
faster than XGES at degree 4, d = 20. Our BOSS is better than causal-learn's on the same score (causal-learn's
covariance uses n - 1, which shifts every local score of a node by one constant, so the choices are the same):
the two differ in their start (a seeded random order here, the identity order there) and their sweep orders, and
causal-learn's ends below the truth on 4 of 10 dense d = 20 sets. BES changed few results here: BOSS with and
without it are equal at d = 20; at degree 4, d = 10 BES raised the BIC (2.26 against 1.94) and the SHD (1.9 against
1.4): a higher score on finite data is not always a graph closer to the truth.
"""

from __future__ import annotations

import argparse
import os
import random
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from bench_ges_turning import simulate  # noqa: E402  (the same seeded data)
from latentscm.discovery.boss import boss  # noqa: E402
from latentscm.discovery.ges import consistent_extension, ges  # noqa: E402
from latentscm.discovery.scores import GaussianBIC  # noqa: E402
from latentscm.discovery.xges import xges  # noqa: E402
from latentscm.metrics.graphs import dag_to_cpdag, shd  # noqa: E402
from latentscm.testing import cpdag_from_causallearn  # noqa: E402


def causallearn_boss(data: np.ndarray, seed: int) -> np.ndarray | None:
    try:
        from causallearn.search.PermutationBased.BOSS import boss as cl_boss
    except ImportError:
        return None
    random.seed(seed)
    return cpdag_from_causallearn(cl_boss(data, parameters={"lambda_value": 0.5}, verbose=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--degrees", type=float, nargs="+", default=[4.0, 2.0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. seeds-1")
    args = parser.parse_args()
    methods = {
        "GES": lambda x, s: ges(x).adjacency,
        "XGES": lambda x, s: xges(x).adjacency,
        "BOSS": lambda x, s: boss(x, seed=s).adjacency,
        "BOSS no BES": lambda x, s: boss(x, bes=False, seed=s).adjacency,
        "causal-learn BOSS": causallearn_boss,
    }
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}  n={args.n}  seeds 0-{args.seeds - 1}")
    print(f"{'deg':>4} {'d':>3} {'method':>18} {'SHD':>6} {'BIC-truth':>10} {'below':>6} {'s/run':>7}")
    for degree in args.degrees:
        for d in args.dims:
            rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in methods}
            for seed in range(args.seeds):
                data, dag = simulate(d, degree, args.n, seed)
                scorer = GaussianBIC(data)
                truth, true_score = dag_to_cpdag(dag), scorer.dag_score(dag)
                for name, run in methods.items():
                    started = time.perf_counter()
                    found = run(data, seed)
                    seconds = time.perf_counter() - started
                    if found is None:
                        continue
                    graph = np.asarray(found)
                    score = scorer.dag_score(consistent_extension(graph))  # every member DAG scores the same
                    rows[name].append((shd(truth, graph), score - true_score, seconds))
            for name, values in rows.items():
                if not values:
                    continue
                table = np.array(values)
                below = int(np.sum(table[:, 1] < -1e-6))
                print(f"{degree:>4g} {d:>3} {name:>18} {table[:, 0].mean():>6.2f} {table[:, 1].mean():>10.2f} "
                      f"{below:>3}/{args.seeds:<2} {table[:, 2].mean():>7.3f}", flush=True)


if __name__ == "__main__":
    main()
