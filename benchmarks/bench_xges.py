"""XGES against GES and against the authors' package, on the data of bench_ges_turning.py.

Linear-Gaussian SCMs (``random_scm``, weights uniform in +-[0.5, 1.5], unit noise) on Erdos-Renyi DAGs with
``--degrees`` expected neighbours per node; n rows (data seed ``seed + 1000``). Per (degree, d), means over the
seeds: SHD between the found and the true CPDAG, BIC of the result minus BIC of the true DAG (negative: the search
stopped below the truth), the number of data sets where that gap is negative, seconds per run (one thread), and,
for our XGES-0 / XGES, on how many data sets the CPDAG equals the package's (``xges`` 0.1.6 of Nazaret & Blei, its
pure-Python path; run with ``alpha = penalty_discount``, the same BIC). The package is optional (``pip install
--no-deps xges sortedcontainers``); without it its rows are skipped.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_xges.py --dims 10 20 --degrees 4 2 --seeds 10
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from latentscm.discovery.ges import consistent_extension, ges  # noqa: E402
from latentscm.discovery.scores import GaussianBIC  # noqa: E402
from latentscm.discovery.xges import xges  # noqa: E402
from latentscm.metrics.graphs import dag_to_cpdag, shd  # noqa: E402
from latentscm.scm import random_scm  # noqa: E402


def simulate(d: int, degree: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Data (n, d) and the true DAG (d, d) of one seeded linear-Gaussian SCM (as bench_ges_turning.py)."""
    scm = random_scm(d, edge_prob=min(1.0, degree / (d - 1)), mechanism="linear", seed=seed)
    sample = scm.sample(n, seed=seed + 1000)
    return np.stack([sample[name] for name in scm.graph.nodes], axis=1), np.asarray(scm.graph.adjacency)


def package_xges(data: np.ndarray, extended: bool, alpha: float) -> np.ndarray | None:
    """The authors' XGES (or XGES-0) CPDAG in our convention, or None when the package is absent."""
    try:
        from xges import XGES
    except ImportError:
        return None
    logging.getLogger("xges").setLevel(logging.WARNING)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        model = XGES(alpha=alpha)
        model.fit(data, extended_search=extended, use_fast_numba=False, verbose=0)
    return (np.asarray(model.get_adjacency_matrix()) != 0).astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--degrees", type=float, nargs="+", default=[4.0, 2.0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. seeds-1")
    parser.add_argument("--penalty-discount", type=float, default=1.0)
    args = parser.parse_args()
    pd = args.penalty_discount
    methods = {
        "GES": lambda x: ges(x, penalty_discount=pd),
        "GES+turn+iter": lambda x: ges(x, penalty_discount=pd, turning=True, iterate=True),
        "XGES-0": lambda x: xges(x, penalty_discount=pd, extended=False),
        "XGES": lambda x: xges(x, penalty_discount=pd),
        "pkg XGES-0": lambda x: package_xges(x, False, pd),
        "pkg XGES": lambda x: package_xges(x, True, pd),
    }
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}  n={args.n}  seeds 0-{args.seeds - 1}  "
          f"penalty_discount={pd}")
    print(f"{'deg':>4} {'d':>3} {'method':>14} {'SHD':>6} {'BIC-truth':>10} {'below':>6} {'s/run':>7} {'=pkg':>6}")
    for degree in args.degrees:
        for d in args.dims:
            rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in methods}
            same = {"XGES-0": 0, "XGES": 0}
            for seed in range(args.seeds):
                data, dag = simulate(d, degree, args.n, seed)
                scorer = GaussianBIC(data, penalty_discount=pd)
                truth, true_score = dag_to_cpdag(dag), scorer.dag_score(dag)
                graphs = {}
                for name, run in methods.items():
                    started = time.perf_counter()
                    found = run(data)
                    seconds = time.perf_counter() - started
                    if found is None:
                        continue
                    graph = found if isinstance(found, np.ndarray) else np.asarray(found.adjacency)
                    graphs[name] = graph
                    score = scorer.dag_score(consistent_extension(graph))  # every member DAG scores the same
                    rows[name].append((shd(truth, graph), score - true_score, seconds))
                for name in same:
                    if f"pkg {name}" in graphs:
                        same[name] += int(np.array_equal(graphs[name], graphs[f"pkg {name}"]))
            for name, values in rows.items():
                if not values:
                    continue
                table = np.array(values)
                below = int(np.sum(table[:, 1] < -1e-6))
                agree = f"{same[name]:>3}/{args.seeds}" if name in same and rows.get(f"pkg {name}") else ""
                print(f"{degree:>4g} {d:>3} {name:>14} {table[:, 0].mean():>6.2f} {table[:, 1].mean():>10.2f} "
                      f"{below:>3}/{args.seeds:<2} {table[:, 2].mean():>7.3f} {agree:>6}", flush=True)


if __name__ == "__main__":
    main()
