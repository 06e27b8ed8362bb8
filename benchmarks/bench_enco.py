"""ENCO (latentscm.discovery.enco) against GIES and PC on the same observational and interventional data.

Lippe, Cohen & Gavves (ICLR 2022) report that ENCO recovers graphs of 25 categorical variables almost exactly from
5,000 observational rows and 200 rows per single-variable intervention (SHD near 0 on six graph families), and that
it works on continuous data too. This script measures it at CPU scale on SCMs whose graph is exact:

- ``--part continuous``: ``random_scm`` (Erdős–Rényi, ``--degree`` expected neighbours), ``--mechanisms`` linear
  (linear-Gaussian) and/or nonlinear (additive noise, random tanh/sine/bump/softplus terms); every variable
  intervened on in turn, its value drawn from N(0, 2^2) (a perfect intervention).
  Methods: ``enco`` with the paper's continuous settings (hidden 32, ``lambda_sparse`` 0.001, weight decay 1e-4;
  30 epochs unless ``--epochs``), and ``gies`` (perfect interventions, the interventional BIC: right for the linear
  SCMs, misspecified for the nonlinear ones).
- ``--part categorical``: ``random_discrete_scm`` (``--levels`` states, Dirichlet(``--concentration``) tables);
  interventions set the target uniformly over its states. Methods: ``enco`` with the paper's categorical settings
  (hidden 64, ``lambda_sparse`` 0.004, weight decay 1e-4), and ``pc`` (chi-square, alpha 0.01) on the observational
  rows only, the baseline without interventions.

Graph s of a part uses seed ``[seed, s]`` for its SCM, data and method seeds. ``SHD`` counts each unordered pair
whose edge (absent, either direction, undirected) differs from the true DAG once; ``exact`` is the share of graphs
found exactly; ``right dir`` the share of true edges found with their direction; ``extra`` the mean number of pairs
with an edge the truth lacks; ``empty SHD`` the edgeless graph's (the number of true edges).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_enco.py --part continuous --graphs 5 --json cont.json
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_enco.py --part categorical --graphs 5 --json cat.json
    .venv/bin/python benchmarks/bench_enco.py --table cont.json cat.json

``--quick``: a smoke run of a few seconds (d 4, tiny ENCO). Prints one JSON line per run, then the table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gies import directed, shd  # noqa: E402  (one SHD for both benchmarks)
from latentscm.discovery import enco, gies, pc  # noqa: E402
from latentscm.interventions import Do  # noqa: E402
from latentscm.scm.random import random_discrete_scm, random_scm  # noqa: E402


def truth_of(graph, nodes: list[str]) -> np.ndarray:
    """The adjacency (d, d) of ``graph`` in ``nodes`` order."""
    a = np.zeros((len(nodes), len(nodes)), dtype=np.int64)
    for i, name in enumerate(nodes):
        for child in graph.children(name):
            a[i, nodes.index(child)] = 1
    return a


def continuous_case(args: argparse.Namespace, mechanism: str, s: int):
    """(data (n, d), targets (positions per row), true adjacency) of graph ``s``."""
    rng = np.random.default_rng([args.seed, s])
    scm = random_scm(args.d, edge_prob=min(1.0, args.degree / (args.d - 1)), mechanism=mechanism, seed=rng)
    nodes = list(scm.nodes)
    blocks, targets = [scm.sample(args.n_obs, seed=rng)], [[]] * args.n_obs
    for k, name in enumerate(nodes):
        blocks.append(scm.do({name: Do(rng.normal(0.0, 2.0, args.n_int))}).sample(args.n_int, seed=rng))
        targets += [[k]] * args.n_int
    data = np.column_stack([np.concatenate([b[name] for b in blocks]) for name in nodes])
    return data, targets, truth_of(scm.graph, nodes)


def categorical_case(args: argparse.Namespace, s: int):
    """(codes (n, d), targets, true adjacency, observational row count) of graph ``s``."""
    rng = np.random.default_rng([args.seed, s])
    scm = random_discrete_scm(args.d, edge_prob=min(1.0, args.degree / (args.d - 1)), levels=args.levels,
                              concentration=args.concentration, seed=rng)
    nodes = list(scm.nodes)
    blocks, targets = [scm.sample(args.n_obs, seed=rng)], [[]] * args.n_obs
    for k, name in enumerate(nodes):
        states = rng.integers(0, args.levels, args.n_int)
        for state in range(args.levels):
            m = int((states == state).sum())
            if m:
                blocks.append(scm.do({name: scm.states[name][state]}).sample(m, seed=rng))
                targets += [[k]] * m
    return np.concatenate(blocks), targets, truth_of(scm.graph, nodes)


def score(truth: np.ndarray, found: np.ndarray) -> dict:
    """SHD, exact, right-direction share and extra adjacencies of ``found`` against the DAG ``truth``."""
    _, right = directed(truth, found)
    t, f = truth != 0, found != 0
    extra = int(np.triu((f | f.T) & ~(t | t.T), 1).sum())
    return {"shd": shd(truth, found), "exact": bool(shd(truth, found) == 0), "right_dir": float(right),
            "extra": extra, "empty_shd": int(t.sum())}


def fit(method: str, part: str, data: np.ndarray, targets: list, seed: int, epochs: int, small: dict) -> np.ndarray:
    """The adjacency ``method`` finds (see the module docstring for each part's settings)."""
    if method == "gies":
        return gies(data, targets).adjacency
    if method == "pc":  # observational rows only
        observational = np.array([not t for t in targets])
        return pc(data[observational], ci_test="chisq", alpha=0.01).adjacency
    if part == "continuous":
        settings = dict(hidden=32, lambda_sparse=0.001, weight_decay=1e-4)
    else:
        settings = dict(likelihood="categorical", weight_decay=1e-4)
    return enco(data, targets, seed=seed, **{"epochs": epochs, **settings, **small}).adjacency


def run(args: argparse.Namespace) -> list[dict]:
    rows = []
    small = dict(epochs=2, model_steps=20, graph_steps=10, n_graphs=10, hidden=8) if args.quick else {}
    parts = ([("continuous", m) for m in args.mechanisms.split(",")] if args.part == "continuous"
             else [("categorical", "dirichlet")])
    for part, mechanism in parts:
        for s in range(args.graphs):
            seed = int(np.random.default_rng([args.seed, s, 1]).integers(2 ** 31))
            if part == "continuous":
                data, targets, truth = continuous_case(args, mechanism, s)
                names = ("enco", "gies")
            else:
                data, targets, truth = categorical_case(args, s)
                names = ("enco", "pc")
            for method in args.methods.split(",") if args.methods else names:
                if method not in names:
                    continue
                start = time.perf_counter()
                found = fit(method, part, data, targets, seed, args.epochs, small)
                row = {"part": part, "mechanism": mechanism, "graph": s, "method": method, "d": args.d,
                       "seconds": time.perf_counter() - start, **score(truth, found)}
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    keys = sorted({(r["part"], r["mechanism"], r["method"]) for r in rows})
    print(f"{'part':12s} {'mechanism':10s} {'method':6s} {'graphs':>6s} {'SHD':>12s} {'exact':>6s} "
          f"{'right dir':>10s} {'extra':>6s} {'empty SHD':>9s} {'s/graph':>8s}")
    for part, mechanism, method in keys:
        group = [r for r in rows if (r["part"], r["mechanism"], r["method"]) == (part, mechanism, method)]
        shds = np.array([r["shd"] for r in group], dtype=float)
        print(f"{part:12s} {mechanism:10s} {method:6s} {len(group):6d} {shds.mean():6.2f} ± {shds.std():4.2f} "
              f"{np.mean([r['exact'] for r in group]):6.2f} {np.mean([r['right_dir'] for r in group]):10.2f} "
              f"{np.mean([r['extra'] for r in group]):6.2f} {np.mean([r['empty_shd'] for r in group]):9.2f} "
              f"{np.mean([r['seconds'] for r in group]):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["continuous", "categorical"], default="continuous")
    parser.add_argument("--mechanisms", default="linear,nonlinear")
    parser.add_argument("--methods", default=None, help="comma-separated subset of the part's methods")
    parser.add_argument("--graphs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--d", type=int, default=10)
    parser.add_argument("--degree", type=float, default=2.0)
    parser.add_argument("--n-obs", type=int, default=5000)
    parser.add_argument("--n-int", type=int, default=200)
    parser.add_argument("--levels", type=int, default=4)
    parser.add_argument("--concentration", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None, help="write the rows to this file")
    parser.add_argument("--table", nargs="+", default=None, help="print the table of rows written with --json")
    args = parser.parse_args()
    if args.table:
        rows = [row for path in args.table for row in json.load(open(path))]
    else:
        if args.quick:
            args.d, args.graphs, args.n_obs, args.n_int = 4, 1, 300, 50
        rows = run(args)
        if args.json:
            with open(args.json + ".tmp", "w") as handle:
                json.dump(rows, handle)
            os.replace(args.json + ".tmp", args.json)
    print_table(rows)


if __name__ == "__main__":
    main()
