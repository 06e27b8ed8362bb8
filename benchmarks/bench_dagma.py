"""Linear DAGMA against the authors' package on the same data, with linear NOTEARS beside it.

Bello, Aragam & Ravikumar (2022), "DAGMA: Learning DAGs via M-matrices and a Log-Determinant Acyclicity
Characterization", NeurIPS. The paper reports that DAGMA reaches NOTEARS's accuracy or better at a fraction of its
run time on linear SEMs. This script fits, on each data set:

* ``DAGMA``: :func:`latentscm.discovery.dagma_linear` with its defaults (the paper's);
* ``dagma pkg``: the authors' ``dagma`` package (``DagmaLinear(loss_type="l2").fit(X, lambda1=0.03)``, its
  defaults; ``pip install --no-deps dagma``, skipped when absent), on the same centred data;
* ``NOTEARS``: :func:`latentscm.discovery.notears_linear` (lambda1 0.1, threshold 0.3).

Data: ``random_scm`` linear-Gaussian SCMs (weights uniform in ±[0.5, 1.5], unit noise variance) on Erdos-Renyi DAGs
with ``k * d`` expected edges ("ERk"), graph seed ``seed``, data seed ``seed + 1000``, n samples; fitted raw and
standardised (``--standardize``; Reisach et al. 2021: raw equal-variance data are "varsortable").

Scores against the true DAG, means over seeds: SHD (a reversed edge counts 1), TPR (arrowhead recall), FDR
(1 - arrowhead precision), ``max |dW|`` (largest difference of the thresholded weight matrix to the package's,
a check that the two implementations compute the same thing), Adam steps per fit, seconds per fit.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_dagma.py --dims 10 20 50 --k 2 4 --seeds 5
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Callable

import numpy as np

from latentscm.discovery.dagma import dagma_linear
from latentscm.discovery.notears import notears_linear
from latentscm.metrics.graphs import arrowhead_scores, shd
from latentscm.scm import random_scm


def _package() -> Callable[[np.ndarray], np.ndarray] | None:
    try:
        logging.disable(logging.CRITICAL)
        from dagma.linear import DagmaLinear
    except ImportError:
        return None
    import tqdm

    def fit(x: np.ndarray) -> np.ndarray:
        with _quiet_tqdm(tqdm):
            return DagmaLinear(loss_type="l2").fit(x - x.mean(axis=0), lambda1=0.03)

    return fit


class _quiet_tqdm:
    """Silence tqdm's progress bar (the package prints one per fit)."""

    def __init__(self, module: object) -> None:
        self.module = module

    def __enter__(self) -> None:
        import functools

        import dagma.linear

        self.saved = dagma.linear.tqdm
        dagma.linear.tqdm = functools.partial(self.saved, disable=True)

    def __exit__(self, *exc: object) -> None:
        import dagma.linear

        dagma.linear.tqdm = self.saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--k", type=float, nargs="+", default=[2.0, 4.0], help="expected edges per node (ERk)")
    parser.add_argument("--standardize", action="store_true", help="also fit standardised data")
    args = parser.parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":
        print("note: set OMP_NUM_THREADS=1 for comparable timings")
    reference = _package()
    print(f"n {args.n}, seeds 0-{args.seeds - 1}, threads {os.environ.get('OMP_NUM_THREADS', 'default')}, dagma "
          f"package {'present' if reference else 'absent'}")
    print(f"{'d':>3} {'graph':>5} {'data':>4} {'method':>9} {'SHD':>12} {'TPR':>5} {'FDR':>5} {'max |dW|':>9} "
          f"{'steps':>7} {'sec':>6}")
    for d in args.dims:
        for k in args.k:
            for kind in ("raw", "std") if args.standardize else ("raw",):
                rows: dict[str, list[dict[str, float]]] = {}
                for seed in range(args.seeds):
                    scm = random_scm(d, edge_prob=min(1.0, 2 * k / (d - 1)), mechanism="linear", seed=seed)
                    sample = scm.sample(args.n, seed=seed + 1000)
                    x = np.stack([sample[name] for name in scm.graph.nodes], axis=1)
                    if kind == "std":
                        x = (x - x.mean(axis=0)) / x.std(axis=0)
                    truth = np.asarray(scm.graph.adjacency)
                    found: dict[str, tuple[np.ndarray, float, float]] = {}
                    start = time.perf_counter()
                    ours = dagma_linear(x)
                    found["DAGMA"] = (np.asarray(ours.info["weights"]), time.perf_counter() - start,
                                      float(sum(ours.info["steps"])))
                    if reference is not None:
                        start = time.perf_counter()
                        w = reference(x)
                        found["dagma pkg"] = (w, time.perf_counter() - start, float("nan"))
                    start = time.perf_counter()
                    lin = notears_linear(x)
                    found["NOTEARS"] = (np.asarray(lin.info["weights"]), time.perf_counter() - start, float("nan"))
                    for name, (w, sec, steps) in found.items():
                        arrows = arrowhead_scores(truth, w != 0)
                        gap = (float(np.abs(w - found["dagma pkg"][0]).max()) if reference is not None
                               else float("nan"))
                        rows.setdefault(name, []).append({
                            "shd": shd(truth, w != 0), "tpr": arrows["arrowhead.recall"],
                            "fdr": 1.0 - arrows["arrowhead.precision"] if np.any(w) else 0.0, "gap": gap,
                            "steps": steps, "sec": sec})
                for name, runs in rows.items():
                    col = {key: np.array([r[key] for r in runs]) for key in runs[0]}
                    print(f"{d:3d} {'ER' + format(k, 'g'):>5} {kind:>4} {name:>9} {col['shd'].mean():5.1f} +-"
                          f"{col['shd'].std():4.1f} {col['tpr'].mean():5.2f} {col['fdr'].mean():5.2f} "
                          f"{col['gap'].max():9.2g} {col['steps'].mean():7.0f} {col['sec'].mean():6.2f}", flush=True)


if __name__ == "__main__":
    main()
