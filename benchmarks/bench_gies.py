"""GIES (latentscm.discovery.gies): agreement with the reference ``gies`` package, and recovery of the true class.

Random linear-Gaussian SCMs (generator below, seeded): a random causal order, each forward pair an edge with
probability ``p = min(1, degree / (d - 1))`` (``--degree``, expected neighbours per node), weights uniform in
+-[0.5, 1.5], unit-variance Gaussian noise. The data are one observational environment and k single-node
interventional environments on k distinct random targets (the first k of a random permutation of the nodes, so the
target sets of a graph are nested as k grows), n rows each. An intervention replaces its target by N(0, 1) (a
perfect intervention), or by N(``--shift``, 1) with ``--shift``. Graph s of a table uses the generator seed
``[seed, s]`` (``--seed``, default 0) for its DAG and its targets (and, in table 1, its data); in tables 2 and 3
environment i (0: observational) with n rows is drawn with the seed ``[seed, s, n, i]``, so the observational rows
are the same for every k and a larger k only adds environments.

1. **Agreement with the reference** (Gamella's ``gies`` package, ``gies.fit_bic``): the same data, ours with
   ``environment_means=True`` (the package centres each environment on its own mean; the local scores are the
   same). Reported per d: graphs where our I-essential graph equals the reference's exactly, the largest |score
   difference| (our ``info['score_value']`` against the reference's score), and the wall time of each, summed over
   the graphs. Skipped with a message when the package is missing.
2. **Recovery of the true I-essential graph** against k in (0, 1, 2, 4, d) and n per environment: GIES (default
   ``environment_means=False``) on all rows against the true I-essential graph (``interventional_essential_graph``),
   and, as the baseline, observational GES (with the same turning phase and iteration as GIES' defaults) on the
   observational rows only, against the true CPDAG ("ges / cpdag") and the true I-essential graph ("ges / I-ess"). SHD
   counts each unordered pair whose edge differs in any way (missing, extra, other orientation) once; "exact" is the
   share of graphs recovered exactly; "dir" is the share of the true DAG's edges that the estimate directs (either way),
   "dir ok" of those it directs as the DAG does; "truth dir" is the share the true graph (I-essential graph or CPDAG)
   directs, the most there is to find; "stuck" is the share of graphs where the true DAG scores higher (interventional
   BIC) than GIES's result: the greedy search stopped in a worse class (Wang et al. 2017: GIES need not be consistent).
3. **Mean-shift interventions**: targets replaced by N(0, 1) against N(2, 1), GIES with one intercept per mechanism
   (default, "pooled") against ``environment_means=True`` ("env means"), the same graphs and data.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/bench_gies.py

(``--quick``: a smoke run of a few seconds.) The BLAS thread pins matter for the timings: both implementations spend
much of their time in small linear algebra.

Measured 2026-12-05 (this 2-core CPU, one thread, another job on the other core; the command above, defaults:
seed 0, degree 2, n 500 and k 3 in table 1, n in (200, 1000) in table 2; reference ``gies`` 0.0.3; 4 min 5 s in
all)::

    1. agreement with the reference gies package (environment_means=True), n=500 per environment,
       k=3 interventions, shift 0, seeds [0, 0..graphs-1]
      d graphs same graph max |score diff|   ours s    ref s ours local scores
      5    100   100/100          2.27e-11     1.13     1.34                41
      8    100   100/100          9.37e-11     1.82     6.93               130
     10    100   100/100          1.07e-10     2.46    15.58               208
     15     40    40/40           6.00e-11     2.16    29.31               586
     20     20    20/20           6.55e-11     1.98    41.14              1025

    2. recovery of the true class, d=10, degree 2, 100 graphs (seeds [0, 0..99]), shift 0; GES: observational rows only
        n   k  method / truth    SHD  exact    dir dir ok truth dir   s/run  stuck
      200   0    gies / I-ess   4.79   0.15   0.71   0.60      0.64   0.015   0.28
      200   0     ges / cpdag   4.79   0.15   0.71   0.60      0.64   0.011
      200   0     ges / I-ess   4.79   0.15   0.71   0.60      0.64   0.011
      200   1    gies / I-ess   2.91   0.32   0.75   0.68      0.72   0.015   0.22
      200   1     ges / cpdag   4.79   0.15   0.71   0.60      0.64   0.010
      200   1     ges / I-ess   5.07   0.06   0.71   0.60      0.72   0.010
      200   2    gies / I-ess   1.99   0.36   0.83   0.77      0.79   0.015   0.14
      200   2     ges / cpdag   4.79   0.15   0.71   0.60      0.64   0.011
      200   2     ges / I-ess   5.38   0.04   0.71   0.60      0.79   0.011
      200   4    gies / I-ess   1.11   0.56   0.91   0.89      0.90   0.017   0.12
      200   4     ges / cpdag   4.79   0.15   0.71   0.60      0.64   0.010
      200   4     ges / I-ess   5.78   0.01   0.71   0.60      0.90   0.010
      200  10    gies / I-ess   0.59   0.70   0.99   0.98      1.00   0.025   0.08
      200  10     ges / cpdag   4.79   0.15   0.71   0.60      0.64   0.011
      200  10     ges / I-ess   6.13   0.00   0.71   0.60      1.00   0.011
     1000   0    gies / I-ess   2.12   0.50   0.69   0.64      0.64   0.020   0.13
     1000   0     ges / cpdag   2.12   0.50   0.69   0.64      0.64   0.011
     1000   0     ges / I-ess   2.12   0.50   0.69   0.64      0.64   0.011
     1000   1    gies / I-ess   1.91   0.62   0.75   0.69      0.72   0.025   0.16
     1000   1     ges / cpdag   2.12   0.50   0.69   0.64      0.64   0.011
     1000   1     ges / I-ess   2.64   0.28   0.69   0.64      0.72   0.011
     1000   2    gies / I-ess   1.37   0.66   0.82   0.79      0.79   0.030   0.13
     1000   2     ges / cpdag   2.12   0.50   0.69   0.64      0.64   0.011
     1000   2     ges / I-ess   3.17   0.17   0.69   0.64      0.79   0.011
     1000   4    gies / I-ess   0.52   0.81   0.90   0.89      0.90   0.041   0.08
     1000   4     ges / cpdag   2.12   0.50   0.69   0.64      0.64   0.010
     1000   4     ges / I-ess   3.82   0.05   0.69   0.64      0.90   0.010
     1000  10    gies / I-ess   0.19   0.91   1.00   0.99      1.00   0.080   0.04
     1000  10     ges / cpdag   2.12   0.50   0.69   0.64      0.64   0.011
     1000  10     ges / I-ess   4.34   0.03   0.69   0.64      1.00   0.011

    2. recovery of the true class, d=20, degree 2, 40 graphs (seeds [0, 0..39]), shift 0; GES: observational rows only
        n   k  method / truth    SHD  exact    dir dir ok truth dir   s/run  stuck
      200   0    gies / I-ess  11.40   0.00   0.81   0.69      0.69   0.100   0.17
      200   0     ges / cpdag  11.40   0.00   0.81   0.69      0.69   0.065
      200   0     ges / I-ess  11.40   0.00   0.81   0.69      0.69   0.065
      200   1    gies / I-ess   8.93   0.03   0.82   0.73      0.73   0.095   0.25
      200   1     ges / cpdag  11.40   0.00   0.81   0.69      0.69   0.063
      200   1     ges / I-ess  11.30   0.00   0.81   0.69      0.73   0.063
      200   2    gies / I-ess   7.75   0.10   0.83   0.74      0.77   0.091   0.30
      200   2     ges / cpdag  11.40   0.00   0.81   0.69      0.69   0.061
      200   2     ges / I-ess  11.35   0.00   0.81   0.69      0.77   0.061
      200   4    gies / I-ess   3.88   0.03   0.85   0.82      0.83   0.095   0.20
      200   4     ges / cpdag  11.40   0.00   0.81   0.69      0.69   0.070
      200   4     ges / I-ess  11.65   0.00   0.81   0.69      0.83   0.070
      200  20    gies / I-ess   1.55   0.30   1.00   1.00      1.00   0.093   0.05
      200  20     ges / cpdag  11.40   0.00   0.81   0.69      0.69   0.062
      200  20     ges / I-ess  12.68   0.00   0.81   0.69      1.00   0.062
     1000   0    gies / I-ess   7.42   0.05   0.79   0.70      0.69   0.096   0.35
     1000   0     ges / cpdag   7.42   0.05   0.79   0.70      0.69   0.059
     1000   0     ges / I-ess   7.42   0.05   0.79   0.70      0.69   0.059
     1000   1    gies / I-ess   4.65   0.20   0.77   0.73      0.73   0.101   0.20
     1000   1     ges / cpdag   7.42   0.05   0.79   0.70      0.69   0.058
     1000   1     ges / I-ess   7.40   0.05   0.79   0.70      0.73   0.058
     1000   2    gies / I-ess   4.35   0.20   0.81   0.76      0.77   0.115   0.20
     1000   2     ges / cpdag   7.42   0.05   0.79   0.70      0.69   0.059
     1000   2     ges / I-ess   7.58   0.03   0.79   0.70      0.77   0.059
     1000   4    gies / I-ess   2.17   0.33   0.85   0.83      0.83   0.124   0.15
     1000   4     ges / cpdag   7.42   0.05   0.79   0.70      0.69   0.059
     1000   4     ges / I-ess   7.78   0.03   0.79   0.70      0.83   0.059
     1000  20    gies / I-ess   0.62   0.53   1.00   1.00      1.00   0.269   0.03
     1000  20     ges / cpdag   7.42   0.05   0.79   0.70      0.69   0.059
     1000  20     ges / I-ess   9.53   0.00   0.79   0.70      1.00   0.059

    3. mean-shift interventions, d=10, k=4, n=500 per environment, 100 graphs; against the true I-essential graph
    intervention intercepts    SHD  exact dir ok
         N(0, 1)     pooled   1.06   0.67   0.88
         N(0, 1)  env means   1.12   0.66   0.87
         N(2, 1)     pooled   0.73   0.66   0.90
         N(2, 1)  env means   1.12   0.66   0.87

Ours and the reference return the same I-essential graph on all 360 data sets, with scores equal to ~1e-10; ours is 1.2
times faster at d = 5 and 20 times at d = 20 (local scores cached under a bit mask of the parents). With k = 0 GIES is
GES (the same rows, the same search: identical rows in table 2). Each intervention shrinks the class and GIES finds more
of it: at d = 10, n = 1000 the share of true classes recovered exactly goes from 0.50 (k = 0) to 0.91 (k = d), while
observational GES is still 0.50 against its CPDAG. It is not monotone graph by graph: the greedy search stops in a worse
class than the truth's ("stuck") on 3-35 % of the graphs, and the reference (on the same data, ours with
environment_means=True) stops in the same place (e.g. d = 20, n = 200, k = 2, graph s = 6, seed [0, 6]: SHD 37, the true
DAG scores 44 higher; k = 0 on the same observational rows: SHD 19). With mean-shift interventions, N(2, 1), the default
pooled intercept helps a little (SHD 0.73 against 1.12; exact recovery the same); centring each environment gives the
same results as with N(0, 1) interventions, as it must (the shift is subtracted).

4. **Perfect vs soft interventions** (added after the helper's run; ``--skip agreement recovery shift``, same machine
and settings, 2026-12-05): the targets keep their parents with noise of sd 2 ("noise") or N(2, 1) ("shift"), or are
replaced by N(0, 1) ("perfect"); GIES with ``interventions="perfect"`` (Hauser & Bühlmann's score) against
``"soft"`` (a mechanism of the target's own in each intervening environment)::

    4. perfect vs soft interventions, d=10, k=4, n=1000 per environment, 100 graphs; against the true I-essential graph
        data    score    SHD  exact dir ok   s/run
     perfect  perfect   0.52   0.81   0.89   0.210
     perfect     soft   0.62   0.87   0.88   0.194
       noise  perfect   2.35   0.60   0.82   0.163
       noise     soft   0.78   0.85   0.88   0.173
       shift  perfect   3.86   0.53   0.80   0.161
       shift     soft   0.88   0.83   0.89   0.146

The perfect-intervention score misreads soft interventions (exact 0.60 and 0.53, SHD 2.35 and 3.86); the soft score
recovers 0.85 and 0.83 of the classes there and loses nothing in exact recovery on perfect interventions (0.87 against
0.81; SHD 0.62 against 0.52): a perfect intervention is a soft one with zero weights, at the price of more parameters.
(Seconds are loaded wall times.)
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

import numpy as np

from latentscm.discovery.ges import cpdag_from_dag, ges
from latentscm.discovery.gies import gies, interventional_essential_graph
from latentscm.discovery.scores import InterventionalGaussianBIC


def random_linear_dag(d: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Weights (d, d), ``W[i, j] != 0`` for an edge ``i -> j``: a random order, each forward pair an edge with
    probability p, weights uniform in +-[0.5, 1.5]."""
    order = rng.permutation(d)
    weights = np.zeros((d, d))
    for a in range(d):
        for b in range(a + 1, d):
            if rng.random() < p:
                weights[order[a], order[b]] = rng.uniform(0.5, 1.5) * rng.choice((-1.0, 1.0))
    return weights


def topological_order(weights: np.ndarray) -> list[int]:
    """A causal order of the DAG ``weights`` (d, d)."""
    parents = (weights != 0).sum(axis=0)
    order, ready = [], [j for j in range(len(parents)) if parents[j] == 0]
    while ready:
        i = ready.pop()
        order.append(i)
        for j in np.flatnonzero(weights[i]):
            parents[j] -= 1
            if parents[j] == 0:
                ready.append(int(j))
    return order


def sample_environments(weights: np.ndarray, environments: Sequence[Sequence[int]], n: int, shift: float,
                        rng: np.random.Generator, kind: str = "perfect") -> list[np.ndarray]:
    """n rows (n, d) per environment (a target set): unit-variance Gaussian noise; a target replaced by
    N(shift, 1) (``kind="perfect"``), or keeping its parents with noise of variance 4 (``"noise"``) or N(2, 1)
    (``"shift"``)."""
    d = weights.shape[0]
    order = topological_order(weights)
    blocks = []
    for targets in environments:
        x = np.zeros((n, d))
        for j in order:
            if j in targets and kind == "perfect":
                x[:, j] = shift + rng.standard_normal(n)
            elif j in targets:
                noise = 2.0 * rng.standard_normal(n) if kind == "noise" else 2.0 + rng.standard_normal(n)
                x[:, j] = x @ weights[:, j] + noise
            else:
                x[:, j] = x @ weights[:, j] + rng.standard_normal(n)
        blocks.append(x)
    return blocks


def nested_environments(weights: np.ndarray, perm: np.ndarray, k: int, n: int, shift: float,
                        seeds: Sequence[int], kind: str = "perfect") -> tuple[list[tuple[int, ...]], list[np.ndarray]]:
    """The observational environment and k interventions on ``perm[:k]``, n rows each; environment i drawn with
    the generator seed ``[*seeds, i]``, so the observational rows (and each intervention's) do not depend on k."""
    environments = [()] + [(int(v),) for v in perm[:k]]
    blocks = [sample_environments(weights, [targets], n, shift, np.random.default_rng([*seeds, i]), kind)[0]
              for i, targets in enumerate(environments)]
    return environments, blocks


def stack(blocks: list[np.ndarray], environments: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """All rows (N, d) and the per-row target mask (N, d)."""
    data = np.concatenate(blocks)
    mask = np.zeros(data.shape, dtype=bool)
    start = 0
    for block, targets in zip(blocks, environments):
        mask[start:start + len(block), list(targets)] = True
        start += len(block)
    return data, mask


def graph_case(seed: int, s: int, d: int, degree: float) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """Graph s: its weights, a permutation of the nodes (the targets: its first k) and a generator for its data."""
    rng = np.random.default_rng([seed, s])
    weights = random_linear_dag(d, min(1.0, degree / max(d - 1, 1)), rng)
    return weights, rng.permutation(d), rng


def shd(truth: np.ndarray, found: np.ndarray) -> int:
    """Unordered pairs {i, j} whose edge (absent, i -> j, j -> i, i - j) differs: each mismatch counted once."""
    t, f = np.asarray(truth) != 0, np.asarray(found) != 0
    differ = (t != f) | (t.T != f.T)
    return int(np.triu(differ, 1).sum())


def directed(dag: np.ndarray, found: np.ndarray) -> tuple[float, float]:
    """Of the DAG's edges: the share ``found`` directs (either way), and the share it directs as the DAG does."""
    dag, f = np.asarray(dag) != 0, np.asarray(found) != 0
    edges = int(dag.sum())
    if edges == 0:
        return 1.0, 1.0
    one_way = f != f.T
    either = (dag & (one_way | one_way.T)).sum()
    right = (dag & f & ~f.T).sum()
    return float(either / edges), float(right / edges)


def agreement_table(args: argparse.Namespace) -> None:
    try:
        import gies as reference
    except ImportError:
        print("agreement with the reference: skipped, the 'gies' package is not installed (pip install gies)")
        return
    print(f"1. agreement with the reference gies package (environment_means=True), n={args.agree_n} per "
          f"environment,\n   k={args.agree_k} interventions, shift {args.shift:g}, seeds [{args.seed}, 0..graphs-1]")
    print(f"{'d':>3} {'graphs':>6} {'same graph':>10} {'max |score diff|':>16} {'ours s':>8} {'ref s':>8} "
          f"{'ours local scores':>17}")
    for d, graphs in zip(args.agree_dims, args.agree_graphs):
        same, gap, ours_s, ref_s, locals_ = 0, 0.0, 0.0, 0.0, 0
        differ = []
        for s in range(graphs):
            weights, perm, rng = graph_case(args.seed, s, d, args.degree)
            environments = [()] + [(int(v),) for v in perm[:min(args.agree_k, d)]]
            blocks = sample_environments(weights, environments, args.agree_n, args.shift, rng)
            data, mask = stack(blocks, environments)
            started = time.perf_counter()
            result = gies(data, mask, environment_means=True)
            ours_s += time.perf_counter() - started
            started = time.perf_counter()
            theirs, score = reference.fit_bic(blocks, [list(t) for t in environments])
            ref_s += time.perf_counter() - started
            ours = np.asarray(result.adjacency)
            match = np.array_equal(ours != 0, np.asarray(theirs) != 0)
            same += match
            if not match:
                differ.append(s)
            gap = max(gap, abs(result.info["score_value"] - score))
            locals_ += result.info["n_local_scores"]
        print(f"{d:>3} {graphs:>6} {same:>5}/{graphs:<4} {gap:>16.2e} {ours_s:>8.2f} {ref_s:>8.2f} "
              f"{locals_ / graphs:>17.0f}")
        if differ:
            print(f"    d={d}: graphs that differ: s in {differ} (seed [{args.seed}, s])")


def recovery_table(args: argparse.Namespace, d: int, graphs: int) -> None:
    ks = sorted({k for k in args.ks if k <= d} | ({d} if args.all_k else set()))
    print(f"\n2. recovery of the true class, d={d}, degree {args.degree:g}, {graphs} graphs (seeds "
          f"[{args.seed}, 0..{graphs - 1}]), shift {args.shift:g}; GES: observational rows only")
    print(f"{'n':>5} {'k':>3} {'method / truth':>15} {'SHD':>6} {'exact':>6} {'dir':>6} {'dir ok':>6} "
          f"{'truth dir':>9} {'s/run':>7} {'stuck':>6}")
    stuck: dict[tuple[int, int], list[bool]] = {(n, k): [] for n in args.ns for k in ks}
    for n in args.ns:
        for k in ks:
            rows: dict[str, list[tuple[float, ...]]] = {"gies / I-ess": [], "ges / cpdag": [], "ges / I-ess": []}
            for s in range(graphs):
                weights, perm, _ = graph_case(args.seed, s, d, args.degree)
                environments, blocks = nested_environments(weights, perm, k, n, args.shift, (args.seed, s, n))
                data, mask = stack(blocks, environments)
                dag = (weights != 0).astype(np.int64)
                iess = interventional_essential_graph(dag, environments)
                cpdag = cpdag_from_dag(dag)
                started = time.perf_counter()
                result = gies(data, mask)
                seconds = time.perf_counter() - started
                ours = np.asarray(result.adjacency)
                scorer = InterventionalGaussianBIC(data, mask)
                truth_score = sum(scorer.local(j, np.flatnonzero(dag[:, j])) for j in range(d))
                stuck[n, k].append(truth_score > result.info["score_value"] + 1e-6)
                rows["gies / I-ess"].append((shd(iess, ours), np.array_equal(iess, ours), *directed(dag, ours),
                                             directed(dag, iess)[0], seconds))
                started = time.perf_counter()
                base = np.asarray(ges(blocks[0], turning=True, iterate=True).adjacency)
                seconds = time.perf_counter() - started
                rows["ges / cpdag"].append((shd(cpdag, base), np.array_equal(cpdag, base), *directed(dag, base),
                                            directed(dag, cpdag)[0], seconds))
                rows["ges / I-ess"].append((shd(iess, base), np.array_equal(iess, base), *directed(dag, base),
                                            directed(dag, iess)[0], seconds))
            for method, values in rows.items():
                m = np.mean(np.array(values, dtype=float), axis=0)
                extra = f" {np.mean(stuck[n, k]):>6.2f}" if method.startswith("gies") else ""
                print(f"{n:>5} {k:>3} {method:>15} {m[0]:>6.2f} {m[1]:>6.2f} {m[2]:>6.2f} {m[3]:>6.2f} {m[4]:>9.2f} "
                      f"{m[5]:>7.3f}{extra}")


def shift_table(args: argparse.Namespace) -> None:
    d, graphs, n = args.recovery_dims[0], args.recovery_graphs[0], args.shift_n
    k = min(args.shift_k, d)
    print(f"\n3. mean-shift interventions, d={d}, k={k}, n={n} per environment, {graphs} graphs; "
          "against the true I-essential graph")
    print(f"{'intervention':>12} {'intercepts':>10} {'SHD':>6} {'exact':>6} {'dir ok':>6}")
    for shift in (0.0, 2.0):
        rows: dict[bool, list[tuple[float, ...]]] = {False: [], True: []}
        for s in range(graphs):
            weights, perm, _ = graph_case(args.seed, s, d, args.degree)
            environments, blocks = nested_environments(weights, perm, k, n, shift, (args.seed, s, n))
            data, mask = stack(blocks, environments)
            dag = (weights != 0).astype(np.int64)
            iess = interventional_essential_graph(dag, environments)
            for means in (False, True):
                found = np.asarray(gies(data, mask, environment_means=means).adjacency)
                rows[means].append((shd(iess, found), np.array_equal(iess, found), directed(dag, found)[1]))
        for means, values in rows.items():
            m = np.mean(np.array(values, dtype=float), axis=0)
            label = "env means" if means else "pooled"
            print(f"{'N(' + format(shift, 'g') + ', 1)':>12} {label:>10} {m[0]:>6.2f} {m[1]:>6.2f} {m[2]:>6.2f}")


def soft_table(args: argparse.Namespace) -> None:
    d, graphs, n = args.recovery_dims[0], args.recovery_graphs[0], args.soft_n
    k = min(args.shift_k, d)
    print(f"\n4. perfect vs soft interventions, d={d}, k={k}, n={n} per environment, {graphs} graphs; against the true "
          "I-essential graph")
    print(f"{'data':>8} {'score':>8} {'SHD':>6} {'exact':>6} {'dir ok':>6} {'s/run':>7}")
    for kind in ("perfect", "noise", "shift"):
        for mode in ("perfect", "soft"):
            values, seconds = [], 0.0
            for s in range(graphs):
                weights, perm, _ = graph_case(args.seed, s, d, args.degree)
                environments, blocks = nested_environments(weights, perm, k, n, 0.0, (args.seed, s, n), kind)
                data, mask = stack(blocks, environments)
                dag = (weights != 0).astype(np.int64)
                iess = interventional_essential_graph(dag, environments)
                start = time.perf_counter()
                found = np.asarray(gies(data, mask, interventions=mode).adjacency)
                seconds += time.perf_counter() - start
                values.append((shd(iess, found), np.array_equal(iess, found), directed(dag, found)[1]))
            m = np.mean(np.array(values, dtype=float), axis=0)
            print(f"{kind:>8} {mode:>8} {m[0]:>6.2f} {m[1]:>6.2f} {m[2]:>6.2f} {seconds / graphs:>7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--degree", type=float, default=2.0, help="expected neighbours per node")
    parser.add_argument("--shift", type=float, default=0.0, help="interventions draw the target from N(shift, 1)")
    parser.add_argument("--agree-dims", type=int, nargs="+", default=[5, 8, 10, 15, 20])
    parser.add_argument("--agree-graphs", type=int, nargs="+", default=[100, 100, 100, 40, 20],
                        help="graphs per d of --agree-dims")
    parser.add_argument("--agree-n", type=int, default=500)
    parser.add_argument("--agree-k", type=int, default=3)
    parser.add_argument("--recovery-dims", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--recovery-graphs", type=int, nargs="+", default=[100, 40],
                        help="graphs per d of --recovery-dims")
    parser.add_argument("--ks", type=int, nargs="+", default=[0, 1, 2, 4])
    parser.add_argument("--no-all-k", dest="all_k", action="store_false", help="leave out k = d")
    parser.add_argument("--ns", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--shift-k", type=int, default=4)
    parser.add_argument("--shift-n", type=int, default=500)
    parser.add_argument("--soft-n", type=int, default=1000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["agreement", "recovery", "shift", "soft"])
    args = parser.parse_args()
    if args.quick:
        args.agree_dims, args.agree_graphs, args.recovery_dims, args.recovery_graphs = [5, 8], [3, 3], [6], [3]
        args.ns = [200]
    for dims, graphs in ((args.agree_dims, args.agree_graphs), (args.recovery_dims, args.recovery_graphs)):
        graphs += [graphs[-1]] * (len(dims) - len(graphs))
    threads = {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    print("  ".join(f"{k}={v}" for k, v in threads.items()))
    if "agreement" not in args.skip:
        agreement_table(args)
    if "recovery" not in args.skip:
        for d, graphs in zip(args.recovery_dims, args.recovery_graphs):
            recovery_table(args, d, graphs)
    if "shift" not in args.skip:
        shift_table(args)
    if "soft" not in args.skip:
        soft_table(args)


if __name__ == "__main__":
    main()
