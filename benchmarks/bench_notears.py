"""Linear NOTEARS on raw and standardised linear-Gaussian data, with GES and PC on the same data as references.

Reisach, Seiler & Weichwald (2021), "Beware of the Simulated DAG! Causal Discovery Benchmarks May Be Easy To Game",
NeurIPS: in the usual simulations the marginal variances grow along the causal order ("varsortability"), and
continuous methods such as NOTEARS exploit it; after standardising each column their accuracy drops. This script
checks that on our implementation.

Data: ``random_scm`` linear-Gaussian SCMs (weights uniform in +-[0.5, 1.5], unit noise variance for every node: the
equal-variance, identifiable case) on Erdos-Renyi DAGs with ``--degree`` expected neighbours per node (edge
probability degree / (d - 1); degree 4 is "ER2", 2d edges expected); graph seed ``seed``, data seed
``seed + 1000``; n samples. Each data set is fitted raw and after per-column standardisation (zero mean, unit
variance).

Methods: ``notears_linear`` with its defaults (lambda1 0.1, l2 loss, threshold 0.3), GES (BIC), PC (Fisher-z,
``--alpha``) and ``VarSort``, Reisach et al.'s "sortnregress" baseline with a threshold in place of its BIC Lasso
(:func:`latentscm.discovery.sortnregress` with ``prune="ols_threshold", threshold=0.3``: order the columns by
variance, least squares of each on all earlier ones, keep ``|w| >= 0.3``; the Lasso version and R^2-sorting are in
``bench_sortability.py``): it uses nothing but the variance order, so its success on raw data measures how much the
simulation gives away.

Scores (means over seeds, +- standard deviation for SHD):
* ``SHD dag``: SHD of a DAG method's result to the true DAG (a reversed edge counts 1); not defined for PC / GES.
* ``SHD cpdag``: SHD between CPDAGs (NOTEARS's DAG converted to its CPDAG; PC / GES return CPDAGs), the
  comparison that is fair to the equivalence-class methods.
* ``skel P / R``: skeleton precision / recall; ``dir P / R``: arrowhead precision / recall against the true DAG
  (an undirected CPDAG edge carries no arrowhead, so PC / GES lose recall on edges the data cannot orient).
* ``sec``: seconds per fit, one thread.
* ``varsort``: varsortability of the data fitted (:func:`latentscm.metrics.sortability.varsortability`, Reisach et
  al., Eq. 1: over all ordered pairs joined by a directed path of length k = 1 .. d-1, counted once per k, the share
  whose source has the smaller variance, ties within 1e-9 1/2); 1 means sorting by variance gives a causal order,
  standardised data give exactly 0.5.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_notears.py --dims 10 20 --n 1000 --seeds 10 --degree 4

Measured 2026-12-07 (2-core CPU, one thread, a second one-thread job running; seeds 0-9, n 1000, ER degree 4 =
"ER2"), with ``VarSort`` from :func:`latentscm.discovery.sortnregress`::

      d  data   method varsort      SHD dag    SHD cpdag skel P skel R  dir P  dir R    sec
     10   raw  NOTEARS   0.964   1.7 +- 1.4   1.7 +- 1.5  1.000  0.926  0.981  0.909  0.334
     10   raw      GES   0.964            -  13.7 +-10.6  0.774  0.926  0.567  0.562  0.018
     10   raw       PC   0.964            -  12.4 +- 4.6  0.930  0.637  0.616  0.352  0.003
     10   raw  VarSort   0.964   3.0 +- 2.8   3.5 +- 2.8  0.929  0.972  0.876  0.915  0.002
     10   std  NOTEARS   0.500  15.6 +- 3.9  17.1 +- 3.7  0.864  0.550  0.388  0.241  0.475
     10   std  VarSort   0.500  18.6 +- 4.2  20.2 +- 4.1  0.663  0.679  0.333  0.341  0.001
     20   raw  NOTEARS   0.978   2.4 +- 2.6   2.1 +- 3.0  0.987  0.972  0.964  0.950  1.468
     20   raw      GES   0.978            -  30.1 +-22.2  0.671  0.966  0.558  0.709  0.153
     20   raw       PC   0.978            -  22.6 +- 8.3  0.924  0.659  0.681  0.396  0.010
     20   raw  VarSort   0.978  10.0 +- 7.4   9.9 +- 7.5  0.837  0.989  0.798  0.939  0.005
     20   std  NOTEARS   0.500  29.8 +- 6.7  33.6 +- 6.7  0.877  0.580  0.384  0.252  3.231
     20   std  VarSort   0.500  44.5 +-13.5  45.5 +-13.2  0.574  0.647  0.243  0.266  0.005

(The 2026-12-05 run, with this script's own copy of the same baseline, gave the same rows but for NOTEARS's d = 10
raw 1.6 +- 1.4 / 1.5 +- 1.6 and d = 20 std 29.8 +- 6.6 / 33.6 +- 6.6, skel P 0.874, and VarSort's d = 10 std
18.8 +- 4.7 / 20.4 +- 4.5: on standardised data every variance is 1 up to rounding, so the variance order is set by
rounding, and the two versions compute the variances in different orders. NOTEARS's module was revised after that
run (review fixes the same day) and the environment was rebuilt since; which of the two moved its numbers by 0.1
was not checked.)

GES and PC give the same rows on standardised data (both are scale-invariant), omitted above. With ``--degree 2``
("ER1") NOTEARS's SHD to the true DAG is 0.7 (d 10) and 0.1 (d 20) raw, 6.3 and 11.2 standardised; PC's CPDAG
SHD 1.5 and 2.0, GES's 1.4 and 6.4. Reisach et al.'s finding reproduces: raw data are highly varsortable
(0.96-1.0) and NOTEARS's DAG SHD grows 9-110 fold after standardisation, its CPDAG SHD then worse than PC's and
GES's in all four settings (on raw data it is better than both in all four), while the variance order alone
(VarSort) already recovers much of the raw graph. On raw equal-variance data the DAG is identifiable, so good raw
scores are also what theory predicts; standardising breaks the equal-variance assumption the l2 loss relies on.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

from latentscm.discovery.ges import ges
from latentscm.discovery.notears import notears_linear
from latentscm.discovery.pc import pc
from latentscm.discovery.sortnregress import sortnregress
from latentscm.metrics.graphs import arrowhead_scores, dag_to_cpdag, shd, skeleton_scores
from latentscm.metrics.sortability import varsortability
from latentscm.scm import random_scm


def simulate(d: int, degree: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Data (n, d) and the true DAG (d, d) of one seeded linear-Gaussian SCM with equal noise variances."""
    scm = random_scm(d, edge_prob=min(1.0, degree / (d - 1)), mechanism="linear", seed=seed)
    sample = scm.sample(n, seed=seed + 1000)
    return np.stack([sample[name] for name in scm.graph.nodes], axis=1), np.asarray(scm.graph.adjacency)


def score(true_dag: np.ndarray, found: np.ndarray, directed: bool) -> dict[str, float]:
    skel = skeleton_scores(true_dag, found)
    arrow = arrowhead_scores(true_dag, found)
    # PC / GES output is compared as returned (PC's PDAG may even hold a directed cycle on finite data);
    # NOTEARS's DAG is converted to its CPDAG first.
    as_cpdag = dag_to_cpdag(found) if directed else found
    return {"shd_dag": shd(true_dag, found) if directed else float("nan"),
            "shd_cpdag": shd(dag_to_cpdag(true_dag), as_cpdag),
            "skel_p": skel["skeleton.precision"], "skel_r": skel["skeleton.recall"],
            "dir_p": arrow["arrowhead.precision"], "dir_r": arrow["arrowhead.recall"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--degree", type=float, default=4.0)
    parser.add_argument("--alpha", type=float, default=0.01, help="PC's Fisher-z level")
    args = parser.parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":
        print("note: set OMP_NUM_THREADS=1 for comparable timings")
    methods: dict[str, tuple[Callable[[np.ndarray], object], bool]] = {
        "NOTEARS": (lambda x: notears_linear(x), True),
        "GES": (lambda x: ges(x), False),
        "PC": (lambda x: pc(x, alpha=args.alpha), False),
        "VarSort": (lambda x: sortnregress(x, criterion="var", prune="ols_threshold", threshold=0.3), True),
    }
    print(f"n={args.n}, ER degree {args.degree:g}, seeds 0-{args.seeds - 1}, PC alpha {args.alpha}")
    header = (f"{'d':>3} {'data':>5} {'method':>8} {'varsort':>7} {'SHD dag':>12} {'SHD cpdag':>12} "
              f"{'skel P':>6} {'skel R':>6} {'dir P':>6} {'dir R':>6} {'sec':>6}")
    print(header)
    for d in args.dims:
        rows: dict[tuple[str, str], list[dict[str, float]]] = {}
        for seed in range(args.seeds):
            raw, dag = simulate(d, args.degree, args.n, seed)
            standardised = (raw - raw.mean(axis=0)) / raw.std(axis=0)
            for data_name, x in (("raw", raw), ("std", standardised)):
                for name, (fit, directed) in methods.items():
                    started = time.perf_counter()
                    found = np.asarray(getattr(result := fit(x), "adjacency", result))
                    seconds = time.perf_counter() - started
                    row = score(dag, found, directed)
                    row.update(sec=seconds, varsort=varsortability(x, dag, tol=1e-9))  # ties up to rounding
                    rows.setdefault((data_name, name), []).append(row)
        for (data_name, name), runs in rows.items():
            directed = methods[name][1]
            mean = {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
            sd = {key: float(np.std([r[key] for r in runs])) for key in runs[0]}
            shd_dag = f"{mean['shd_dag']:5.1f} +-{sd['shd_dag']:4.1f}" if directed else "-"
            print(f"{d:>3} {data_name:>5} {name:>8} {mean['varsort']:7.3f} {shd_dag:>12} "
                  f"{mean['shd_cpdag']:5.1f} +-{sd['shd_cpdag']:4.1f} {mean['skel_p']:6.3f} {mean['skel_r']:6.3f} "
                  f"{mean['dir_p']:6.3f} {mean['dir_r']:6.3f} {mean['sec']:6.3f}")


if __name__ == "__main__":
    main()
