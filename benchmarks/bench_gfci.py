"""GFCI (latentscm.discovery.gfci) against FCI on the same data, scored against the true PAG.

1. **Oracle**: random DAGs with hidden common causes; GFCI with a d-separation test, started from the CPDAG of the
   minimal independence map of the observed nodes in the true causal order and in a random order (a worse score
   result: more extra edges). Counted: PAGs equal to FCI's oracle PAG (the true PAG), for each variant.
2. **Data**: linear-Gaussian SCMs over d observed and d // 4 hidden variables (each hidden one a common cause of two
   observed ones; edge weights in ±[0.5, 1.5], expected degree ``--degree``), n rows, Fisher-z at alpha = 0.05,
   BIC with penalty 1. The truth is FCI's PAG with the d-separation oracle of the generating DAG. Scores, means over
   seeds: adjacency precision / recall (against the MAG's skeleton), arrowhead precision / recall (a ``>`` at j on
   an edge i *-> j that the true PAG has at j, among the edges both graphs have / all true arrowheads), and
   ``marks``: the number of ordered pairs (i, j) whose mark at j differs from the true PAG's (a missing or extra
   edge counts its two marks).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_gfci.py --oracle 150 --sizes 10 20 --n 500 2000 --seeds 10

Ogarrio et al. (2016) report GFCI more accurate than FCI, above all in arrowhead precision, on simulated
linear-Gaussian data; the table checks that at our scale.
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np

from latentscm.discovery import fci, gfci
from latentscm.discovery.ges import cpdag_from_dag
from latentscm.discovery.pag import ARROW
from latentscm.testing.oracles import DSeparationOracle, minimal_imap, random_latent_dag

METHODS = {
    "fci": lambda x, a: fci(x, alpha=a),
    "gfci-ges": lambda x, a: gfci(x, alpha=a),
    "gfci-ges tetrad": lambda x, a: gfci(x, alpha=a, test_edges="triangles", possible_dsep=False),
    "gfci-xges": lambda x, a: gfci(x, alpha=a, search="xges"),
    "gfci-boss": lambda x, a: gfci(x, alpha=a, search="boss"),
}


def oracle_part(count: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    variants = {"default": {}, "no possible-d-sep": {"possible_dsep": False},
                "triangles, no possible-d-sep": {"test_edges": "triangles", "possible_dsep": False}}
    for order_kind in ("causal order", "random order"):
        equal = dict.fromkeys(variants, 0)
        extra = 0
        for _ in range(count):
            a, p = random_latent_dag(rng, observed=(4, 11), hidden=(1, 5))
            graph = nx.DiGraph(a)
            graph.add_nodes_from(range(a.shape[0]))
            order = ([v for v in nx.topological_sort(graph) if v < p] if order_kind == "causal order"
                     else [int(v) for v in rng.permutation(p)])
            g1 = cpdag_from_dag(minimal_imap(a, p, order))
            oracle = DSeparationOracle(graph)
            truth = fci(np.zeros((20, p)), ci_test=oracle, alpha=0.5).marks
            extra += int(((g1 + g1.T) > 0).sum() // 2 - (truth != 0).sum() // 2)
            for name, options in variants.items():
                got = gfci(np.zeros((20, p)), ci_test=oracle, alpha=0.5, cpdag=g1, **options).marks
                equal[name] += bool(np.array_equal(got, truth))
        print(f"oracle, {order_kind}, seed {seed}: {count} DAGs, {extra} extra edges in the starting CPDAGs; "
              + "; ".join(f"{name}: true PAG {k}/{count}" for name, k in equal.items()))


def simulate(d: int, n: int, degree: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Data (n, d) and the true PAG's marks (d, d) of a linear-Gaussian SCM with d // 4 hidden common causes."""
    rng = np.random.default_rng(seed)
    hidden = max(1, d // 4)
    weights = np.triu(rng.uniform(0.5, 1.5, (d, d)) * rng.choice([-1, 1], (d, d)) * (rng.random((d, d)) < degree / d),
                      1)
    loadings = np.zeros((hidden, d))
    for h in range(hidden):
        loadings[h, rng.choice(d, 2, replace=False)] = rng.uniform(0.8, 1.5, 2) * rng.choice([-1, 1], 2)
    exogenous = rng.normal(size=(n, d)) + rng.normal(size=(n, hidden)) @ loadings
    data = exogenous @ np.linalg.inv(np.eye(d) - weights)
    full = np.zeros((d + hidden, d + hidden), dtype=np.int64)
    full[:d, :d] = weights != 0
    full[d:, :d] = loadings != 0
    graph = nx.DiGraph(full)
    graph.add_nodes_from(range(d + hidden))
    truth = fci(np.zeros((20, d)), ci_test=DSeparationOracle(graph), alpha=0.5).marks
    perm = rng.permutation(d)
    return data[:, perm], truth[np.ix_(perm, perm)]


def scores(marks: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    found, true = marks != 0, truth != 0
    both = found & true
    heads, true_heads = (marks == ARROW) & both, truth == ARROW
    return {"adj P": both.sum() / max(found.sum(), 1), "adj R": both.sum() / max(true.sum(), 1),
            "head P": (heads & true_heads).sum() / max(heads.sum(), 1),
            "head R": (heads & true_heads).sum() / max(true_heads.sum(), 1),
            "marks": float((marks != truth).sum())}


def data_part(sizes: list[int], ns: list[int], seeds: int, degree: float, alpha: float) -> None:
    columns = ("adj P", "adj R", "head P", "head R", "marks")
    print(f"\n{'d':>3} {'n':>5} {'method':<16}" + "".join(f"{c:>8}" for c in columns) + f"{'time s':>8}")
    for d in sizes:
        for n in ns:
            cases = [simulate(d, n, degree, seed) for seed in range(seeds)]
            for name, method in METHODS.items():
                totals = dict.fromkeys(columns, 0.0)
                seconds = 0.0
                for data, truth in cases:
                    start = time.perf_counter()
                    marks = method(data, alpha).marks
                    seconds += time.perf_counter() - start
                    for key, value in scores(marks, truth).items():
                        totals[key] += value
                print(f"{d:>3} {n:>5} {name:<16}" + "".join(f"{totals[c] / seeds:>8.3f}" for c in columns[:4])
                      + f"{totals['marks'] / seeds:>8.1f}{seconds / seeds:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--oracle", type=int, default=150, help="random DAGs per order in the oracle part (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--n", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--degree", type=float, default=3.0)
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args()
    if args.oracle:
        oracle_part(args.oracle, args.seed)
    if args.seeds:
        data_part(args.sizes, args.n, args.seeds, args.degree, args.alpha)


if __name__ == "__main__":
    main()
