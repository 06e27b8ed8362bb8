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
``--parts``; ``--quick`` for a smoke run). Prints the tables, then one JSON object.
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
from latentscm.discovery import dagma_linear, ges, notears_linear, pc, sortnregress  # noqa: E402
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
}


def simulate(d: int, n: int, seed: int, scaling: str) -> tuple[np.ndarray, np.ndarray]:
    """Linear-Gaussian data (n, d) on an ER DAG with 2d expected edges, weights ±[0.5, 2], unit noise; ``scaling``
    ``"raw"``, ``"standardised"`` (each column after sampling) or ``"iSCM"`` (each variable as it is generated,
    Ormaniec et al. 2024). The same graph and weights for every scaling of a seed. Returns (data, adjacency)."""
    scm = random_scm(d, edge_prob=min(1.0, 4.0 / (d - 1)), weight_range=(0.5, 2.0),
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


def simulated(dims: list[int], graphs: int, n: int, methods: list[str], check: bool) -> tuple[list[dict], dict]:
    rows, record = [], {"max_abs_diff": 0.0, "same_edges": 0, "runs": 0, "seconds_ours": 0.0, "seconds_theirs": 0.0}
    for d in dims:
        for scaling in SCALINGS:
            results: dict[str, list[dict]] = {m: [] for m in methods}
            sortabilities: dict[str, list[float]] = {"var": [], "r2": []}
            for seed in range(graphs):
                x, adjacency = simulate(d, n, seed, scaling)
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
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=list(METHODS))
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
        rows, record = simulated(args.dims, args.graphs, args.n, args.methods, check)
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
