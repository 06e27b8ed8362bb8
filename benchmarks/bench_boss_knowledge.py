"""BOSS with background knowledge (three tiers from the true order) against BOSS without and PC with them.

Data as bench_boss.py (``simulate`` of bench_ges_turning.py: linear-Gaussian ``random_scm``, ER DAGs with
``--degrees`` expected neighbours, n rows, data seed ``seed + 1000``). Knowledge: tiers that split the true
topological order into three groups, as bench_knowledge.py builds them for PC. The truth is the maximally oriented
PDAG of the true DAG under the tiers: its CPDAG with the edges the tiers fix oriented, closed under Meek's rules
R1-R4 (Meek 1995; this equals the brute-force ``latentscm.testing.maximally_oriented_pdag`` on small graphs, checked
with ``--check``, and is the only feasible route at 40 edges). Per (degree, d), means over the seeds: SHD to that
truth, the BIC of BOSS's DAG minus that of the true DAG, and seconds per run (one thread). Rows: BOSS without
knowledge; the same result with the tiers applied afterwards only (edges they fix oriented, Meek R1-R4: the search
itself unchanged); BOSS with the tiers (``knowledge=``); PC (Fisher-z at ``--alpha``) with the tiers.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_boss_knowledge.py --dims 10 20 --degrees 2 4 --seeds 10

Measured 2026-12-05 (this 2-core CPU, one thread, other jobs running; n = 1000, seeds 0-9)::

    check: truth by Meek R1-R4 = brute force on 200 of 200 small DAGs with random_knowledge
     deg   d           method    SHD  BIC-truth   s/run
       2  10   BOSS no knowl.   4.40       1.80   0.008
       2  10 BOSS tiers after   1.20       1.80   0.008
       2  10     BOSS 3 tiers   0.80       1.45   0.004
       2  10       PC 3 tiers   1.20          -   0.002
       2  20   BOSS no knowl.   7.40       3.20   0.050
       2  20 BOSS tiers after   2.90       3.20   0.050
       2  20     BOSS 3 tiers   2.30       2.30   0.026
       2  20       PC 3 tiers   1.80          -   0.005
       4  10   BOSS no knowl.   2.80       2.26   0.017
       4  10 BOSS tiers after   1.10       2.26   0.017
       4  10     BOSS 3 tiers   0.70       1.04   0.005
       4  10       PC 3 tiers   8.60          -   0.003
       4  20   BOSS no knowl.   6.00       1.47   0.126
       4  20 BOSS tiers after   2.70       1.47   0.126
       4  20     BOSS 3 tiers   1.90       1.23   0.038
       4  20       PC 3 tiers  14.90          -   0.008

SHD is to the truth *under the tiers*, so BOSS without knowledge is also charged for the edges it leaves undirected
that the tiers orient (hence 4.4 here against 1.3 to the CPDAG in bench_boss.py). Searching with the tiers beats
applying them to the unconstrained result in all four settings (0.8 / 2.3 / 0.7 / 1.9 against 1.2 / 2.9 / 1.1 /
2.7) and is two to three times faster (every order the tiers rule out is never scored). The BIC with tiers is
lower than without (the constrained search cannot reach orders against the tiers that fit this sample a little
better) and still above the true DAG's on average. PC with the same tiers is best on sparse d = 20 (1.8) but far
behind on dense graphs (14.9 against 1.9 at degree 4, d = 20).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

from bench_ges_turning import simulate  # noqa: E402  (the data of bench_boss.py)
from latentscm.discovery import pc  # noqa: E402
from latentscm.discovery.boss import boss  # noqa: E402
from latentscm.discovery.ges import consistent_extension  # noqa: E402
from latentscm.discovery.knowledge import BackgroundKnowledge, orient_by_knowledge  # noqa: E402
from latentscm.discovery.orientation import apply_meek_rules  # noqa: E402
from latentscm.discovery.scores import GaussianBIC  # noqa: E402
from latentscm.metrics import shd  # noqa: E402
from latentscm.metrics.graphs import dag_to_cpdag  # noqa: E402
from latentscm.testing.oracles import maximally_oriented_pdag, random_dag, random_knowledge  # noqa: E402


def true_tiers(dag: np.ndarray, names: list[str], parts: int) -> BackgroundKnowledge:
    """Tiers splitting the topological order of ``dag`` (d, d) into ``parts`` groups (as bench_knowledge.py)."""
    order = list(nx.topological_sort(nx.DiGraph(dag)))
    return BackgroundKnowledge(tiers=[[names[v] for v in part] for part in np.array_split(np.array(order), parts)])


def truth_under_pdag(cpdag: np.ndarray, forbidden: np.ndarray, required: np.ndarray) -> np.ndarray:
    """``cpdag`` (d, d) with the edges the knowledge fixes oriented, closed under Meek's rules R1-R4."""
    return apply_meek_rules(orient_by_knowledge(cpdag, forbidden, required), background=True)


def truth_under(dag: np.ndarray, forbidden: np.ndarray, required: np.ndarray) -> np.ndarray:
    """The maximally oriented PDAG (d, d) of ``dag``'s class under the knowledge (Meek 1995)."""
    return truth_under_pdag(dag_to_cpdag(dag), forbidden, required)


def check(n_dags: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    agree = 0
    for _ in range(n_dags):
        d = int(rng.integers(3, 8))
        a, order = random_dag(rng, d)
        names = [f"v{i}" for i in range(d)]
        forbidden, required = random_knowledge(rng, a, order, names).matrices(names)
        agree += int(np.array_equal(truth_under(a, forbidden, required),
                                    maximally_oriented_pdag(a, forbidden, required)))
    print(f"check: truth by Meek R1-R4 = brute force on {agree} of {n_dags} small DAGs with random_knowledge")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--degrees", type=float, nargs="+", default=[2.0, 4.0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. seeds-1")
    parser.add_argument("--tiers", type=int, default=3)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--check", type=int, default=200, help="small DAGs for the truth check (0: skip)")
    args = parser.parse_args()
    if args.check:
        check(args.check, 0)
    print(f"{'deg':>4} {'d':>3} {'method':>16} {'SHD':>6} {'BIC-truth':>10} {'s/run':>7}")
    for degree in args.degrees:
        for d in args.dims:
            rows: dict[str, list[tuple[float, float, float]]] = {}
            for seed in range(args.seeds):
                data, dag = simulate(d, degree, args.n, seed)
                names = [f"X{i}" for i in range(d)]
                knowledge = true_tiers(dag, names, args.tiers)
                truth = truth_under(dag, *knowledge.matrices(names))
                scorer = GaussianBIC(data)
                true_score = scorer.dag_score(dag)
                runs = {"BOSS no knowl.": (boss, {"seed": seed}),
                        f"BOSS {args.tiers} tiers": (boss, {"seed": seed, "knowledge": knowledge}),
                        f"PC {args.tiers} tiers": (pc, {"alpha": args.alpha, "knowledge": knowledge})}
                for label, (method, options) in runs.items():
                    start = time.perf_counter()
                    found = method(data, node_names=names, **options)
                    seconds = time.perf_counter() - start
                    g = np.asarray(found.adjacency)
                    gap = found.info["score_value"] - true_score if label.startswith("BOSS") else np.nan
                    if label.startswith("BOSS"):  # the score is the BIC of a DAG of the returned class
                        assert np.isclose(scorer.dag_score(consistent_extension(g)), found.info["score_value"])
                    rows.setdefault(label, []).append((shd(truth, g), gap, seconds))
                    if label == "BOSS no knowl.":  # the tiers applied to the result only, not to the search
                        after = truth_under_pdag(g, *knowledge.matrices(names))
                        rows.setdefault("BOSS tiers after", []).append((shd(truth, after), gap, seconds))
            for label, values in rows.items():
                mean = np.mean(np.array(values), axis=0)
                gap = "-" if np.isnan(mean[1]) else f"{mean[1]:.2f}"
                print(f"{degree:>4.0f} {d:>3} {label:>16} {mean[0]:>6.2f} {gap:>10} {mean[2]:>7.3f}")


if __name__ == "__main__":
    main()
