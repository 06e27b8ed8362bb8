"""FCI with tiered background knowledge (Andrews, Spirtes & Cooper 2020) against the enumerated MAG class.

1. **Oracle**: random DAGs with hidden common causes (``latentscm.testing.random_latent_dag``, 4 to ``--max-observed``
   - 1 observed nodes); tiers cut at 1-2 random points of a topological order of the whole DAG (so they are true);
   FCI with a d-separation test, with and without the tiers. The truth is ``true_pag(mag, plain, tiers=)``: the
   marks shared by every MAG of the class that respects the tiers, by enumeration. Counted: equal to the truth;
   unsound (a non-circle mark the truth contradicts); circles the truth decides ("missing"). Run with every node
   in a tier (Andrews et al.'s setting) and with each node left out with probability 0.3.
2. **Data**: the same kind of DAGs with linear-Gaussian mechanisms (weights +-[0.5, 1.5], unit noise), n rows,
   Fisher-z at alpha = 0.05, every node tiered. Over the endpoint marks of edges in both the true and the found
   skeleton: the share equal to the truth's, of non-circle marks the truth contradicts ("decided, wrong"), and of
   circles where the truth has a mark ("undecided"), with and without tiers.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fci_knowledge.py --oracle 300 --data 60

Measured 2026-12-05 (this 2-core CPU shared with up to four other jobs, one thread; graph seeds 0-199 and 0-59,
data seed 10000 + graph seed; ``--oracle 200 --data 60 --n 500 5000 --max-observed 7``)::

             tiers graphs  = truth  unsound missing marks marks gained      s
        every node    200      200        0             0          474    480
      30% left out    200      190        0            12          244   1699

         n graphs knowledge marks = truth decided, wrong undecided
       500     60      none         0.580          0.293     0.126
       500     60     tiers         0.730          0.259     0.011
      5000     60      none         0.649          0.215     0.135
      5000     60     tiers         0.823          0.169     0.008

With every node in a tier the result is the restricted class's PAG in 200 of 200 (Andrews et al.'s completeness);
with nodes outside the tiers it stays sound but may keep circles the class fixes (a path through an untiered node
can imply an arrowhead no edge between two tiers shows). On data most wrong marks come from the test errors
(they are as frequent without knowledge); the tiers mostly turn undecided circles into right marks.
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np

from latentscm.discovery import BackgroundKnowledge, fci
from latentscm.discovery.pag import CIRCLE
from latentscm.testing import DSeparationOracle, random_latent_dag, random_tiers, true_mag
from latentscm.testing.oracles import true_pag


def tiered_case(seed: int, max_observed: int, drop: float):
    """(DAG adjacency, networkx graph, p, names, tier (p,), knowledge, MAG) for one seed."""
    rng = np.random.default_rng(seed)
    adjacency, p = random_latent_dag(rng, observed=(4, max_observed))
    graph = nx.DiGraph(adjacency)
    graph.add_nodes_from(range(adjacency.shape[0]))
    tier = random_tiers(rng, adjacency, p, drop=drop)
    names = [f"x{i}" for i in range(p)]
    tiers = [[names[v] for v in range(p) if tier[v] == t] for t in range(tier.max() + 1)]
    knowledge = BackgroundKnowledge(tiers=[t for t in tiers if t])
    return adjacency, graph, p, names, tier, knowledge, true_mag(adjacency, p)


def oracle_part(count: int, max_observed: int) -> None:
    print(f"{'tiers':>14} {'graphs':>6} {'= truth':>8} {'unsound':>8} {'missing marks':>13} {'marks gained':>12} "
          f"{'s':>6}")
    for drop, label in ((0.0, "every node"), (0.3, "30% left out")):
        equal = unsound = missing = gained = 0
        start = time.perf_counter()
        for seed in range(count):
            _, graph, p, names, tier, knowledge, mag = tiered_case(seed, max_observed, drop)
            oracle = DSeparationOracle(graph)
            plain = fci(np.zeros((20, p)), ci_test=oracle, alpha=0.5, node_names=names).marks
            ours = fci(np.zeros((20, p)), ci_test=oracle, alpha=0.5, node_names=names, knowledge=knowledge).marks
            truth = true_pag(mag, plain, tiers=tier)
            equal += bool(np.array_equal(ours, truth))
            unsound += bool(np.any((ours != CIRCLE) & (ours != truth)))
            missing += int(np.sum((ours == CIRCLE) & (truth != CIRCLE)))
            gained += int(np.sum((plain == CIRCLE) & (ours != CIRCLE)))
        print(f"{label:>14} {count:>6} {equal:>8} {unsound:>8} {missing:>13} {gained:>12} "
              f"{time.perf_counter() - start:>6.0f}")


def data_part(count: int, n: int, max_observed: int, alpha: float) -> None:
    print(f"\n{'n':>6} {'graphs':>6} {'knowledge':>9} {'marks = truth':>13} {'decided, wrong':>14} "
          f"{'undecided':>9}")
    rows = {False: np.zeros(4), True: np.zeros(4)}
    for seed in range(count):
        adjacency, graph, p, names, tier, knowledge, mag = tiered_case(seed, max_observed, 0.0)
        rng = np.random.default_rng(10_000 + seed)
        size = adjacency.shape[0]
        weights = adjacency * rng.uniform(0.5, 1.5, (size, size)) * rng.choice([-1, 1], (size, size))
        order = list(nx.topological_sort(graph))
        values = rng.normal(size=(n, size))
        for v in order:
            values[:, v] += values @ weights[:, v]
        data = values[:, :p]
        plain_oracle = fci(np.zeros((20, p)), ci_test=DSeparationOracle(graph), alpha=0.5, node_names=names).marks
        truth = true_pag(mag, plain_oracle, tiers=tier)
        for with_tiers in (False, True):
            found = fci(data, alpha=alpha, node_names=names, knowledge=knowledge if with_tiers else None).marks
            shared = (found != 0) & (truth != 0)
            decided = found != CIRCLE
            rows[with_tiers] += [np.sum(shared & (found == truth)), np.sum(shared & decided & (found != truth)),
                                 np.sum(shared & ~decided & (truth != CIRCLE)), np.sum(shared)]
    for with_tiers in (False, True):
        right, wrong, undecided, total = rows[with_tiers]
        print(f"{n:>6} {count:>6} {'tiers' if with_tiers else 'none':>9} {right / total:>13.3f} "
              f"{wrong / total:>14.3f} {undecided / total:>9.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--oracle", type=int, default=300, help="random latent DAGs for the oracle part")
    parser.add_argument("--data", type=int, default=60, help="random latent DAGs for the data part")
    parser.add_argument("--n", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--max-observed", type=int, default=7, help="observed nodes are 4 .. this - 1")
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args()
    oracle_part(args.oracle, args.max_observed)
    for n in args.n:
        data_part(args.data, n, args.max_observed, args.alpha)


if __name__ == "__main__":
    main()
