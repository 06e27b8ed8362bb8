"""Sortability and SortnRegress (Reisach et al. NeurIPS 2021, 2023): ours against the authors' ``CausalDisco`` on the
same data, the "beware of the simulated DAG" experiment at our scale, and how sortable the library's own worlds are.

1. **Cross-check** (when ``CausalDisco`` is installed: ``pip install CausalDisco``; a test-only reference, not a
   dependency): on every simulated data set of part 2, var-, R^2- and SNR-sortability (paths and adjacent pairs) from
   :mod:`latentscm.metrics.sortability` and from ``CausalDisco.analytics``, the largest absolute difference; and
   whether :func:`latentscm.discovery.sortnregress` (var, r2) selects the same edges as ``CausalDisco.baselines``
   (ours refits OLS on the selected parents, theirs keeps the Lasso's coefficients, so only the support is compared).
2. **The simulated-DAG experiment**: Erdős–Rényi DAGs with ``2 d`` expected edges, weights uniform in ±[0.5, 2],
   standard normal noise, n rows (NOTEARS' and Reisach et al.'s setting; ``random_scm``), raw, standardised after
   sampling, and as the internally standardised SCM of Ormaniec et al. (2024, ``random_scm(standardize=
   "internal")``: every variable standardised as it is generated, so its children see unit-variance parents). Methods:
   Var-, R^2- and Random-SortnRegress, linear NOTEARS and DAGMA (their defaults), GES (BIC) and PC (Fisher-z, alpha
   0.01). Reported: mean varsortability and R^2-sortability of the data, and per method the mean SHD to the true
   DAG (a CPDAG's undirected edges count as errors), the SHD between CPDAGs (a DAG method's output and the truth
   reduced to their Markov equivalence classes; PC's and GES's CPDAGs as returned), and seconds per run (one
   thread).
3. **The library's worlds**: the factors of every world whose SCM has edges (``world.sample(n).factors`` against
   ``world.graph``): the three sortabilities, and the SHD of Var- and R^2-SortnRegress, GES and PC on them. A
   discovery benchmark on these factors rewards variance sorting where varsortability is high.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sortability.py`` (``--dims``, ``--graphs``, ``--n``,
``--methods``, ``--weights``, ``--parts``; ``--quick`` for a smoke run). Prints the tables, then one JSON object.

Measured 2026-12-07 (this 2-core CPU, one thread, a second one-thread job part of the time; CausalDisco 0.2.4;
the defaults: d = 10, 20, 50, 10 graphs each (seeds 0-9, data seed + 1000), n = 1000, weights ±[0.5, 2])::

      d         data               method  varsort  R2sort     SHD   (sd) SHD-CPDAG   s/run
     10          raw     var-sortnregress    0.969   0.811     3.6    3.7       3.7   0.022
     10          raw      r2-sortnregress    0.969   0.811    14.4    5.2      15.1   0.023
     10          raw  random-sortnregress    0.969   0.811    21.0    8.1      23.4   0.022
     10          raw              notears    0.969   0.811     2.0    1.9       2.1   0.524
     10          raw                dagma    0.969   0.811     0.4    0.8       0.6   1.322
     10          raw                  ges    0.969   0.811    11.8    8.6      10.9   0.020
     10          raw                   pc    0.969   0.811    13.9    3.5      12.7   0.003
     10 standardised     var-sortnregress    0.452   0.811    25.9    2.7      28.8   0.019
     10 standardised              notears    0.452   0.811    16.1    3.1      17.3   0.556
     10 standardised                dagma    0.452   0.811    18.1    4.7      19.9   1.373
     10         iSCM     var-sortnregress    0.394   0.478    24.6    5.2      26.9   0.019
     10         iSCM      r2-sortnregress    0.394   0.478    25.4    5.0      26.5   0.021
     10         iSCM  random-sortnregress    0.394   0.478    20.7    7.5      22.1   0.020
     10         iSCM              notears    0.394   0.478    13.9    3.0      15.8   0.362
     10         iSCM                dagma    0.394   0.478    15.9    4.3      18.6   1.240
     10         iSCM                  ges    0.394   0.478    11.4    5.2      11.4   0.018
     10         iSCM                   pc    0.394   0.478    14.1    5.2      13.6   0.003
     20          raw     var-sortnregress    0.984   0.857     9.1    7.0       9.1   0.049
     20          raw      r2-sortnregress    0.984   0.857    53.0   16.8      54.3   0.051
     20          raw  random-sortnregress    0.984   0.857    67.0   25.8      69.0   0.053
     20          raw              notears    0.984   0.857     1.7    2.6       2.0   2.218
     20          raw                dagma    0.984   0.857     0.6    1.8       0.6   1.904
     20          raw                  ges    0.984   0.857    29.0   17.8      27.6   0.129
     20          raw                   pc    0.984   0.857    24.9    8.7      23.2   0.009
     20 standardised     var-sortnregress    0.527   0.857    77.7   20.5      79.1   0.061
     20 standardised              notears    0.527   0.857    32.8    8.1      36.5   3.719
     20 standardised                dagma    0.527   0.857    40.1    8.3      43.5   2.440
     20         iSCM     var-sortnregress    0.477   0.511    80.9   21.4      84.3   0.057
     20         iSCM      r2-sortnregress    0.477   0.511    88.1   20.1      88.9   0.056
     20         iSCM  random-sortnregress    0.477   0.511    62.9   23.8      64.6   0.055
     20         iSCM              notears    0.477   0.511    24.9    6.6      28.9   1.421
     20         iSCM                dagma    0.477   0.511    33.2    7.5      36.1   1.937
     20         iSCM                  ges    0.477   0.511    24.6    8.9      22.4   0.129
     20         iSCM                   pc    0.477   0.511    21.5    6.1      19.9   0.009
     50          raw     var-sortnregress    0.983   0.879    35.3   22.1      36.2   0.247
     50          raw      r2-sortnregress    0.983   0.879   217.2   62.5     220.1   0.265
     50          raw  random-sortnregress    0.983   0.879   367.2   69.1     372.6   0.277
     50          raw              notears    0.983   0.879    12.0    9.9      12.7  42.683
     50          raw                dagma    0.983   0.879     1.6    1.6       1.7   6.508
     50          raw                  ges    0.983   0.879    74.9   36.2      74.9   2.378
     50          raw                   pc    0.983   0.879    70.8   13.8      65.0   0.062
     50 standardised     var-sortnregress    0.511   0.879   361.3   81.2     365.4   0.254
     50 standardised              notears    0.511   0.879    79.7   13.2      87.3  29.227
     50 standardised                dagma    0.511   0.879   103.1   15.2     109.9   7.268
     50         iSCM     var-sortnregress    0.473   0.455   327.6   56.0     331.7   0.254
     50         iSCM      r2-sortnregress    0.473   0.455   378.6   98.9     381.4   0.252
     50         iSCM  random-sortnregress    0.473   0.455   314.1   62.9     319.7   0.272
     50         iSCM              notears    0.473   0.455    56.7   10.3      64.8  10.959
     50         iSCM                dagma    0.473   0.455    79.9    7.3      87.4   5.962
     50         iSCM                  ges    0.473   0.455    60.1   27.8      61.1   2.043
     50         iSCM                   pc    0.473   0.455    52.3   10.2      48.9   0.064

(The standardised rows of r2-/random-SortnRegress, GES and PC equal their raw rows, all four being scale-invariant,
and are left out.) Cross-check: the sortability values equal CausalDisco's on all 90 data sets, three criteria and
both measures (largest difference 0.0); SortnRegress selects the same edges in 159 of 180 runs, and the 21 others
are all Var-SortnRegress on standardised data, where every variance is 1 up to rounding and the two break those
ties differently. Both took 23.1 s for the 180 runs (the BIC Lasso dominates).

What holds:

* **Reisach et al. 2021 reproduces.** Raw simulated data are varsortable (0.97-0.98), and the variance order alone
  (Var-SortnRegress: SHD 3.6 / 9.1 / 35.3) beats PC (13.9 / 24.9 / 70.8) and GES (11.8 / 29.0 / 74.9) at every size;
  NOTEARS (2.0 / 1.7 / 12.0) and DAGMA (0.4 / 0.6 / 1.6) beat it too. Standardised, NOTEARS (16.1 / 32.8 / 79.7) and
  DAGMA (18.1 / 40.1 / 103.1) fall behind GES and PC at every size, and Var-SortnRegress to random or worse.
* **R^2-sortability is high and scale-invariant** (0.81 / 0.86 / 0.88, identical raw and standardised), but at this
  setting R^2-SortnRegress (SHD 14.4 / 53.0 / 217.2) only beats a random order (21.0 / 67.0 / 367.2); it loses to PC
  and GES at every size. Reisach et al. 2023's "can match and exceed the performance of established causal
  discovery algorithms" does not reproduce at these weights by SHD. It does with larger ones, where the paper shows
  R^2 rising faster along causal chains: ``--weights 2 5 --dims 10 20 --methods var-sortnregress r2-sortnregress
  random-sortnregress ges pc`` (same seeds; 2026-12-07, one thread)::

      d  data          varsort  R2sort   SHD: var-SnR  R2-SnR  random   GES    PC
     10  raw             1.000   0.891          0.4    12.7    22.1   14.2  13.9
     10  standardised    0.500   0.891         26.3    12.7    22.1   14.2  13.9
     10  iSCM            0.445   0.442         23.7    27.3    20.7   11.3  15.4
     20  raw             1.000   0.949          1.3    32.6    69.1   28.7  32.3
     20  standardised    0.476   0.949         94.0    32.6    69.1   28.7  32.3
     20  iSCM            0.447   0.517         89.2    92.3    64.7   31.1  26.6

  With R^2-sortability 0.89-0.95, R^2-SortnRegress is level with GES and PC (d = 10: 12.7 against 14.2 and 13.9;
  d = 20: 32.6 against 28.7 and 32.3) on raw and standardised data alike; the iSCM again takes it to chance (0.44-
  0.52). Cross-check at these weights: the same edges in 98 of 120 runs; 12 of the 22 others are Var-SortnRegress on
  standardised data (ties), and 10 are raw data sets whose correlation matrices have condition numbers 2e6-7e8
  (near-deterministic children): both packages find the same order there (checked for all 10), and the BIC Lasso's
  selection differs numerically (ours standardises before the Lasso, theirs does not).
* **iSCMs (Ormaniec et al. 2024) remove both patterns.** Varsortability 0.39-0.48 and R^2-sortability 0.46-0.51
  (about 1/2, as the paper argues), and Var- and R^2-SortnRegress do no better than a random order (worse at every
  size: 24.6 / 25.4 against 20.7 at d = 10, 80.9 / 88.1 against 62.9 at d = 20). NOTEARS and DAGMA do better on
  iSCM data than on standardised data (d = 50: 56.7 and 79.9 against 79.7 and 103.1), and NOTEARS is within 4.4
  SHD of the better of PC and GES at every size (13.9 against GES's 11.4, 24.9 against PC's 21.5, 56.7 against
  PC's 52.3); DAGMA trails both. Between CPDAGs PC is the lowest at d = 20 and 50, GES at d = 10.

**Nonlinear additive noise** (``--mechanism nonlinear --parts simulated --dims 10 20 --methods var-sortnregress
r2-sortnregress random-sortnregress score das ges pc``, and ``--dims 10 --methods nogam``; ``random_scm``'s
tanh / sin / bump / softplus terms with coefficients ±[0.5, 2], Gaussian noise; same seeds, 2026-12-07, one thread,
two runs at a time). Mean SHD to the true DAG::

      d  data          varsort  R2sort   var-SnR  R2-SnR  random  SCORE   DAS  NoGAM   GES    PC
     10  raw             0.936   0.618      12.0    18.2    18.6    1.1   2.6    1.4  16.8  14.7
     10  standardised    0.484   0.618      21.7    18.2    18.6    7.5   8.6    5.3  16.8  14.7
     10  iSCM            0.560   0.555      20.1    19.9    19.1    7.9   8.1    6.3  17.4  15.5
     20  raw             0.920   0.487      31.8    60.5    48.1    4.9   9.3      -  34.3  30.5
     20  standardised    0.500   0.487      56.6    60.5    48.1   24.4  26.6      -  34.3  30.5
     20  iSCM            0.540   0.459      54.3    58.7    46.6   25.8  27.9      -  34.0  29.5

Nonlinear ANM data are varsortable too (0.92-0.94) but not
R^2-sortable (0.49-0.62, so R^2-SortnRegress is at chance), and the variance order is worth less here than in
the linear case (Var-SortnRegress 12.0 against random 18.6). The score-matching methods lose most of their lead
when the scale goes: SCORE's SHD rises from 1.1 to 7.5 (d = 10) and from 4.9 to 24.4 (d = 20) after standardising,
DAS's and NoGAM's alike, and iSCM data behave like standardised data. They still beat every other method here. Their
identifiability does not depend on the variables' scales (any rescaled Gaussian ANM is one), so the drop is the
finite-sample estimator's; which part of it (the Stein estimator's kernel width, the leaf test's variance
threshold) was not investigated. Cross-check on these data: sortabilities equal to CausalDisco's, the same edges in
110 of 120 runs (56 of 60 in the NoGAM run), the others all Var-SortnRegress on standardised data (ties).

The library's own worlds (``world.sample(5000).factors`` against ``world.graph``; SHD between CPDAGs)::

             world nodes edges  varsort  R2sort  SNRsort   SHD-CPDAG: var-SnR  R2-SnR   GES    PC
          pendulum     4     4    1.000   0.500    1.000                    1       3     3     1
              flow     4     3    0.750   1.000    1.000                    4       0     0     0
            glyphs     4     1    1.000   1.000    1.000                    0       0     0     0
        ild-linear     6     5    1.000   0.667    1.000                    0       3     0     4
     content-style    10    25    1.000   0.440    1.000                    3      31     3    23

Pendulum's shadows vary far more than the angles that cause them, and ild-linear's and content-style's children
have larger variances than their parents: on those factors a method that sorts by scale gets the order for free, so
a discovery score on them says little unless the data are standardised (or compared with Var-SortnRegress).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from latentscm import worlds  # noqa: E402
from latentscm.discovery import (  # noqa: E402
    dagma_linear,
    das,
    ges,
    nogam,
    notears_linear,
    pc,
    score_matching,
    sortnregress,
)
from latentscm.metrics.graphs import dag_to_cpdag, shd  # noqa: E402
from latentscm.metrics.sortability import sortability  # noqa: E402
from latentscm.scm.random import random_scm  # noqa: E402

SCALINGS = ("raw", "standardised", "iSCM")

METHODS = {
    "var-sortnregress": lambda x: sortnregress(x, criterion="var"),
    "r2-sortnregress": lambda x: sortnregress(x, criterion="r2"),
    "random-sortnregress": lambda x: sortnregress(x, criterion="random", seed=0),
    "notears": lambda x: notears_linear(x),
    "dagma": lambda x: dagma_linear(x),
    "ges": lambda x: ges(x),
    "pc": lambda x: pc(x, ci_test="fisherz", alpha=0.01),
    "score": lambda x: score_matching(x),
    "das": lambda x: das(x),
    "nogam": lambda x: nogam(x),
}
#: The methods run unless --methods says otherwise (the score-matching ones are for --mechanism nonlinear).
DEFAULT_METHODS = ("var-sortnregress", "r2-sortnregress", "random-sortnregress", "notears", "dagma", "ges", "pc")


def simulate(d: int, n: int, seed: int, scaling: str, weights: tuple[float, float] = (0.5, 2.0),
             mechanism: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """Linear-Gaussian data (n, d) on an ER DAG with 2d expected edges, weights ±``weights``, unit noise; ``scaling``
    ``"raw"``, ``"standardised"`` (each column after sampling) or ``"iSCM"`` (each variable as it is generated,
    Ormaniec et al. 2024). The same graph and weights for every scaling of a seed. Returns (data, adjacency)."""
    scm = random_scm(d, edge_prob=min(1.0, 4.0 / (d - 1)), weight_range=weights, mechanism=mechanism,
                     standardize="internal" if scaling == "iSCM" else "none", seed=seed)
    sample = scm.sample(n, seed=seed + 1000)
    x = np.column_stack([sample[name] for name in scm.graph.nodes])
    if scaling == "standardised":
        x = (x - x.mean(0)) / x.std(0)
    return x, scm.graph.adjacency


#: Methods that return a CPDAG (compared as returned: PC's PDAG may even hold a directed cycle on finite data).
CPDAG_METHODS = ("ges", "pc")


def score(graph, adjacency: np.ndarray, method: str) -> dict[str, float]:
    """SHD to the true DAG (undirected edges count as errors) and between CPDAGs (a DAG method's output reduced to
    its CPDAG; PC's and GES's as returned)."""
    estimated = graph.adjacency
    as_cpdag = estimated if method in CPDAG_METHODS else dag_to_cpdag(estimated)
    return {"shd": float(shd(adjacency, estimated)), "shd_cpdag": float(shd(dag_to_cpdag(adjacency), as_cpdag))}


def cross_check(x: np.ndarray, adjacency: np.ndarray, record: dict) -> None:
    from CausalDisco import analytics, baselines

    for criterion, theirs in (("var", analytics.var_sortability), ("r2", analytics.r2_sortability),
                              ("snr", analytics.snr_sortability)):
        for measure, their_measure in (("paths", "paths"), ("edges", "adjacent_pairs")):
            ours = sortability(x, adjacency, criterion=criterion, measure=measure)
            other = theirs(x, adjacency, measure=their_measure)
            record["max_abs_diff"] = max(record["max_abs_diff"], abs(ours - other))
    for criterion, theirs in (("var", baselines.var_sort_regress), ("r2", baselines.r2_sort_regress)):
        start = time.perf_counter()
        ours = sortnregress(x, criterion=criterion).adjacency
        record["seconds_ours"] += time.perf_counter() - start
        start = time.perf_counter()
        other = theirs(x) != 0
        record["seconds_theirs"] += time.perf_counter() - start
        record["same_edges"] += int(np.array_equal(ours, other))
        record["runs"] += 1


def simulated(dims: list[int], graphs: int, n: int, methods: list[str], check: bool,
              weights: tuple[float, float] = (0.5, 2.0), mechanism: str = "linear") -> tuple[list[dict], dict]:
    rows, record = [], {"max_abs_diff": 0.0, "same_edges": 0, "runs": 0, "seconds_ours": 0.0, "seconds_theirs": 0.0}
    for d in dims:
        for scaling in SCALINGS:
            results: dict[str, list[dict]] = {m: [] for m in methods}
            sortabilities: dict[str, list[float]] = {"var": [], "r2": []}
            for seed in range(graphs):
                x, adjacency = simulate(d, n, seed, scaling, weights, mechanism)
                for criterion in sortabilities:
                    sortabilities[criterion].append(sortability(x, adjacency, criterion=criterion))
                if check:
                    cross_check(x, adjacency, record)
                for method in methods:
                    start = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        graph = METHODS[method](x)
                    results[method].append({**score(graph, adjacency, method), "seconds": time.perf_counter() - start})
            for method in methods:
                rows.append({"d": d, "data": scaling, "method": method,
                             "varsortability": float(np.mean(sortabilities["var"])),
                             "r2_sortability": float(np.mean(sortabilities["r2"])),
                             **{key: float(np.mean([r[key] for r in results[method]]))
                                for key in ("shd", "shd_cpdag", "seconds")},
                             "shd_sd": float(np.std([r["shd"] for r in results[method]]))})
            print(f"d={d} {scaling}: done", flush=True)
    return rows, record


def world_rows(n: int) -> list[dict]:
    rows = []
    for name in worlds.names():
        world = worlds.make(name)
        graph = world.graph
        if not graph.edges:
            continue
        factors = world.sample(n, seed=0).factors
        x = np.column_stack([factors[:, world.factor_names.index(node)] for node in graph.nodes])
        keep = x.std(0) > 0
        row: dict = {"world": name, "nodes": len(graph.nodes), "edges": len(graph.edges)}
        for criterion in ("var", "r2", "snr"):
            row[criterion] = sortability(x, graph, criterion=criterion)
        if keep.all():
            for method in ("var-sortnregress", "r2-sortnregress", "ges", "pc"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    found = METHODS[method](x)
                row[method] = score(found, graph.adjacency, method)["shd_cpdag"]
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dims", type=int, nargs="*", default=[10, 20, 50])
    parser.add_argument("--graphs", type=int, default=10)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--world-n", type=int, default=5000)
    parser.add_argument("--methods", nargs="*", default=list(DEFAULT_METHODS), choices=list(METHODS))
    parser.add_argument("--mechanism", default="linear", choices=["linear", "nonlinear"],
                        help="the simulated SCMs' mechanisms (random_scm: nonlinear additive noise, Gaussian)")
    parser.add_argument("--weights", type=float, nargs=2, default=[0.5, 2.0],
                        help="the edge weights' range ±[low, high] of the simulated SCMs")
    parser.add_argument("--parts", nargs="*", default=["simulated", "worlds"], choices=["simulated", "worlds"])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.dims, args.graphs, args.n, args.world_n = [6], 2, 200, 500
    try:
        import CausalDisco  # noqa: F401
        check = True
    except ImportError:
        check = False
        print("CausalDisco is not installed: no cross-check (pip install CausalDisco).")
    out: dict = {"settings": vars(args), "threads": os.environ.get("OMP_NUM_THREADS")}
    if "simulated" in args.parts:
        rows, record = simulated(args.dims, args.graphs, args.n, args.methods, check, tuple(args.weights),
                                 args.mechanism)
        out["simulated"], out["cross_check"] = rows, (record if check else None)
        print(f"\n{'d':>3} {'data':>12} {'method':>20} {'varsort':>8} {'R2sort':>7} {'SHD':>7} {'(sd)':>6} "
              f"{'SHD-CPDAG':>9} {'s/run':>7}")
        for r in rows:
            print(f"{r['d']:>3} {r['data']:>12} {r['method']:>20} {r['varsortability']:>8.3f} "
                  f"{r['r2_sortability']:>7.3f} {r['shd']:>7.1f} {r['shd_sd']:>6.1f} {r['shd_cpdag']:>9.1f} "
                  f"{r['seconds']:>7.3f}")
        if check:
            print(f"\ncross-check against CausalDisco: largest |sortability difference| {record['max_abs_diff']:.1e}; "
                  f"SortnRegress with the same edges in {record['same_edges']} of {record['runs']} runs; seconds "
                  f"ours {record['seconds_ours']:.2f}, CausalDisco {record['seconds_theirs']:.2f}")
    if "worlds" in args.parts:
        rows = world_rows(args.world_n)
        out["worlds"] = rows
        print(f"\n{'world':>14} {'nodes':>5} {'edges':>5} {'varsort':>8} {'R2sort':>7} {'SNRsort':>8}   SHD-CPDAG: "
              f"{'var-SnR':>7} {'R2-SnR':>7} {'GES':>5} {'PC':>5}")
        for r in rows:
            shds = " ".join(f"{r.get(m, float('nan')):>7.0f}" for m in ("var-sortnregress", "r2-sortnregress"))
            others = " ".join(f"{r.get(m, float('nan')):>5.0f}" for m in ("ges", "pc"))
            print(f"{r['world']:>14} {r['nodes']:>5} {r['edges']:>5} {r['var']:>8.3f} {r['r2']:>7.3f} "
                  f"{r['snr']:>8.3f}              {shds} {others}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
