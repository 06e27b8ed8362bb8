"""GnIES (latentscm.discovery.gnies): agreement with the reference ``gnies`` package, and recovery of the class.

Random linear-Gaussian SCMs seen in several environments, as in tests/discovery/test_gnies.py: a random causal order,
each forward pair an edge with probability ``p = min(1, degree / (d - 1))`` (``--degree``, default 2: expected
neighbours per node), weights uniform in +-[0.5, 1.5], unit-variance Gaussian noise in environment 0. Each
interventional environment e > 0 multiplies the noise variance of 1-2 random nodes (``--per-env``; the count uniform)
by U(3, 6): a soft intervention, the weights unchanged. The true targets I are the union of those nodes; GnIES is not
told them. Graph s uses the generator seed ``[seed, s]`` (``--seed``, default 0) for its DAG and its environments'
targets and noise scales (drawn for 5 environments, so with E environments a graph uses the first E: the target sets
are nested as E grows); environment i with n rows is drawn with the seed ``[seed, s, n, i]``.

1. **Agreement with the reference** (Gamella's ``gnies`` package, ``gnies.fit(blocks, approach=...)``, defaults):
   the same data (E = 3 environments, n = 500 rows each), both approaches. Per d and approach: graphs where our
   I-essential graph equals the reference's, graphs where the estimated target sets are equal, the largest relative
   score difference (our ``info['score_value']`` against the reference's score), the wall time of each summed over the
   graphs, and our mean number of inner GES searches. Skipped with a message when the package is missing.
2. **Recovery** at d = 10, E in (3, 5) environments, n in (500, 2000) rows per environment: ``gnies`` greedy and
   rank against the true I-essential graph (``interventional_essential_graph(dag, [(v,) for v in I])``); baselines:
   GIES told the true targets row by row (``gies(data, mask)``; "oracle" for the targets only: GIES models a target's
   rows in its environment as a perfect intervention, these are soft), and observational GES (turning, iterate) on
   all rows pooled, ignoring the environments, against the true CPDAG and the true I-essential graph. SHD counts each
   unordered pair whose edge differs in any way (missing, extra, other orientation) once; "exact" is the share of
   graphs recovered exactly; "I prec" and "I rec" are the targets' precision and recall pooled over the graphs (true
   positives over all estimated, over all true targets), "I exact" the share of graphs whose estimated I is exactly I;
   "|I|" the mean number of true targets; "stuck" the share of graphs where the true DAG with the true I scores higher
   (``UnknownTargetGaussianBIC``) than GnIES's result: the greedy search stopped short.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/bench_gnies.py

(``--quick``: a smoke run of a few seconds; ``--skip agreement`` leaves out the reference, which is most of the time.)

Measured 2026-12-05 (2-core CPU, one thread, other jobs running; the command above, defaults: seed 0, degree 2,
1-2 targets per interventional environment, 20/20/10 graphs at d = 5/8/10 in table 1, 20 graphs in table 2; reference
``gnies`` 0.3.3; 400 s in all)::

    1. agreement with the reference gnies package (0.3.3), n=500 per environment, 3 environments,
       1-2 targets per interventional environment, degree 2, seeds [0, 0..graphs-1]
      d approach graphs same graph   same I max rel score diff   ours s    ref s  inner
      5   greedy     20    20/20     20/20            4.34e-13     1.88     9.29   16.6
      5     rank     20    20/20     20/20            4.34e-13     1.08     4.82    5.5
      8   greedy     20    20/20     20/20            7.74e-16    10.36   100.51   29.0
      8     rank     20    20/20     20/20            7.74e-16     2.80    21.11    6.0
     10   greedy     10    10/10     10/10            5.60e-14     9.14   121.33   38.3
     10     rank     10    10/10     10/10            5.60e-14     1.92    20.56    6.1

    2. recovery, d=10, degree 2, 20 graphs (seeds [0, 0..19]), 1-2 targets per interventional environment;
       truth: the I-essential graph of the true targets (I-ess) or the CPDAG; GES on all rows pooled
     E     n  |I|       method / truth    SHD  exact I prec  I rec I exact   s/run  stuck
     3   500  2.9 gnies greedy / I-ess   2.15   0.60   0.97   1.00    0.95   0.697   0.15
     3   500  2.9   gnies rank / I-ess   2.30   0.55   0.94   1.00    0.90   0.167   0.20
     3   500  2.9  gies oracle / I-ess   3.60   0.35      -      -       -   0.028
     3   500  2.9   ges pooled / cpdag   3.30   0.45      -      -       -   0.013
     3   500  2.9   ges pooled / I-ess   4.15   0.00      -      -       -   0.013
     3  2000  2.9 gnies greedy / I-ess   0.70   0.75   0.97   0.98    0.90   0.806   0.10
     3  2000  2.9   gnies rank / I-ess   1.40   0.70   0.92   1.00    0.85   0.206   0.15
     3  2000  2.9  gies oracle / I-ess   2.10   0.65      -      -       -   0.076
     3  2000  2.9   ges pooled / cpdag   1.85   0.70      -      -       -   0.014
     3  2000  2.9   ges pooled / I-ess   3.20   0.05      -      -       -   0.014
     5   500  5.0 gnies greedy / I-ess   0.30   0.75   0.97   1.00    0.90   1.084   0.10
     5   500  5.0   gnies rank / I-ess   0.95   0.65   1.00   0.96    0.95   0.214   0.15
     5   500  5.0  gies oracle / I-ess   2.00   0.40      -      -       -   0.040
     5   500  5.0   ges pooled / cpdag   4.40   0.45      -      -       -   0.015
     5   500  5.0   ges pooled / I-ess   5.90   0.05      -      -       -   0.015
     5  2000  5.0 gnies greedy / I-ess   0.25   0.90   0.97   1.00    0.90   1.040   0.10
     5  2000  5.0   gnies rank / I-ess   0.20   0.90   0.99   0.97    0.90   0.193   0.10
     5  2000  5.0  gies oracle / I-ess   1.70   0.60      -      -       -   0.106
     5  2000  5.0   ges pooled / cpdag   2.75   0.60      -      -       -   0.016
     5  2000  5.0   ges pooled / I-ess   4.85   0.05      -      -       -   0.016

Ours and the reference return the same I-essential graph and the same targets on all 100 (graph, approach) pairs,
scores equal to ~1e-13 relative; ours is 4.5-13 times faster (the reference's greedy approach: 12 s a graph at d = 10).
GnIES finds the targets (recall 0.96-1.00; precision 0.92-1.00, an extra target now and then) and with them more of
the class than the baselines: at E = 5, n = 2000 it recovers 0.90 of the I-essential graphs exactly (SHD 0.2-0.25),
where pooled GES, blind to the environments, is at 0.05 (0.60 against its CPDAG). Rank is 4-5 times faster than
greedy and as good at E = 5, a little worse at E = 3. The search (either approach) stops short of the truth on
10-20 % of the graphs, and the reference stops at the same place (e.g. E = 3, n = 2000, graph s = 13, seed [0, 13]:
true I = {1, 2, 4}, both return {1, 2, 6}, SHD 7; the truth scores 834 higher).

Surprising: GIES told the true targets does worse than GnIES (E = 3, n = 2000: exact 0.65 against 0.75, SHD 2.10
against 0.70). GIES's score treats a target's rows in its environment as a perfect intervention and drops that factor;
with soft interventions the dropped factor differs between graphs (the target's conditional in the truth, its
marginal once the search makes it a source), so the score is no longer a like-for-like comparison and can prefer a
wrong graph: E = 3, n = 2000, graph s = 10, seed [0, 10] (target 0, a sink with parents 5, 6, 9): GIES makes 0 a
source, SHD 11, and its estimate scores 790 above the true DAG under GIES's own score (not a search failure).
GnIES, which keeps the target's weights and fits a noise variance per environment, gets SHD 1 there.

Added afterwards (same day, same machine, ``--skip agreement``, seeds unchanged; every other row reproduced exactly):
GIES told the targets with ``interventions="soft"`` (a mechanism of the target's own per intervening environment)::

     3   500  2.9 gies soft orac / I-ess   2.70   0.50      -      -       -   0.025
     3  2000  2.9 gies soft orac / I-ess   2.30   0.65      -      -       -   0.062
     5   500  5.0 gies soft orac / I-ess   1.90   0.55      -      -       -   0.032
     5  2000  5.0 gies soft orac / I-ess   1.75   0.60      -      -       -   0.094

It does no better than the perfect-intervention GIES here (0.50 / 0.65 / 0.55 / 0.60 against 0.35 / 0.65 / 0.40 /
0.60). Part of both GIES rows' gap is the truth: an environment that changes two nodes at once leaves the edge
between them undirected in GIES's own class (its family of target sets), while GnIES's model (weights shared across
environments) orients every edge at a target. Against GIES's own class, both scores recover 15 of 20 graphs at E = 5,
n = 2000 (12 of 20 against GnIES's class) and 13 of 20 at E = 3. GnIES's tighter model (one weight vector per node)
is what wins here; with single-node noise interventions ``bench_gies.py`` table 4 shows the soft score's gain over
the perfect one.

3. **Mean-shift interventions** (``shift_table``, added later the same day; ``--skip agreement recovery``, one thread,
no other job; 77 s): environment e > 0 adds 3 to the noise mean of one random node, variance and weights unchanged;
``gnies(center=True)`` (the default: each environment centred) against ``center=False`` (means modelled), and the
reference with ``center=False``::

    3. mean-shift interventions (+3 to one node's noise mean per interventional environment),
       d=8, 4 environments, n=1000, 20 graphs (seeds [0, s])
     center targets right class exact    SHD   s/run same as reference
       True          0/20        3/20   4.50   0.105                 -
      False         18/20       15/20   1.10   0.338             16/20

Centring removes what these interventions change, so the default names no target; ``center=False`` names them in 18
of 20 graphs. The reference with ``center=False`` agrees on 16 of 20: for a node outside I it fits the weights on the
within-environment covariance and then one common mean, which is not the joint maximum-likelihood fit (ours: the
covariance about the overall mean), so some searches part.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import time

import numpy as np

from bench_gies import random_linear_dag, topological_order  # the same generator (run from benchmarks/ or the root)
from latentscm.discovery.ges import cpdag_from_dag, ges
from latentscm.discovery.gies import gies, interventional_essential_graph
from latentscm.discovery.gnies import UnknownTargetGaussianBIC, gnies


def graph_case(seed: int, s: int, d: int, degree: float, n_env: int,
               per_env: tuple[int, int]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Graph s: its weights and, for environments 0..n_env-1, the noise standard deviations (d,) of each (1 at
    every node of environment 0; environment e > 0 multiplies the noise variance of 1-2 random nodes by U(3, 6))."""
    rng = np.random.default_rng([seed, s])
    weights = random_linear_dag(d, min(1.0, degree / max(d - 1, 1)), rng)
    scales = [np.ones(d)]
    for _ in range(1, n_env):
        count = int(rng.integers(per_env[0], per_env[1] + 1))
        hit = rng.choice(d, size=min(count, d), replace=False)
        sd = np.ones(d)
        sd[hit] = np.sqrt(rng.uniform(3.0, 6.0, size=len(hit)))
        scales.append(sd)
    return weights, scales


def sample(weights: np.ndarray, sd: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n rows (n, d) of the linear SCM ``weights`` with Gaussian noise of standard deviations ``sd``."""
    x = np.zeros((n, weights.shape[0]))
    for j in topological_order(weights):
        x[:, j] = x @ weights[:, j] + sd[j] * rng.standard_normal(n)
    return x


def environments_data(seed: int, s: int, weights: np.ndarray, scales: list[np.ndarray],
                      n: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, set[int]]:
    """Per environment i its n rows (seed ``[seed, s, n, i]``); the stacked rows, the labels, and the true targets
    (the nodes whose noise differs from environment 0's in some environment)."""
    blocks = [sample(weights, sd, n, np.random.default_rng([seed, s, n, i])) for i, sd in enumerate(scales)]
    labels = np.repeat(np.arange(len(blocks)), n)
    targets = {int(v) for sd in scales[1:] for v in np.flatnonzero(sd != 1.0)}
    return blocks, np.concatenate(blocks), labels, targets


def shd(truth: np.ndarray, found: np.ndarray) -> int:
    """Unordered pairs {i, j} whose edge (absent, i -> j, j -> i, i - j) differs: each mismatch counted once."""
    t, f = np.asarray(truth) != 0, np.asarray(found) != 0
    differ = (t != f) | (t.T != f.T)
    return int(np.triu(differ, 1).sum())


def estimated_targets(result) -> set[int]:
    return {int(name[1:]) for name in result.info["targets"]}


def agreement_table(args: argparse.Namespace) -> None:
    try:
        import gnies as reference
    except ImportError:
        print("agreement with the reference: skipped, the 'gnies' package is not installed (pip install gnies)")
        return
    try:
        version = importlib.metadata.version("gnies")
    except importlib.metadata.PackageNotFoundError:
        version = "?"
    print(f"1. agreement with the reference gnies package ({version}), n={args.agree_n} per environment, "
          f"{args.agree_envs} environments,\n   {args.per_env[0]}-{args.per_env[1]} targets per interventional "
          f"environment, degree {args.degree:g}, seeds [{args.seed}, 0..graphs-1]")
    print(f"{'d':>3} {'approach':>8} {'graphs':>6} {'same graph':>10} {'same I':>8} {'max rel score diff':>18} "
          f"{'ours s':>8} {'ref s':>8} {'inner':>6}")
    for d, graphs in zip(args.agree_dims, args.agree_graphs):
        cases = []
        for s in range(graphs):
            weights, scales = graph_case(args.seed, s, d, args.degree, args.agree_envs, args.per_env)
            cases.append(environments_data(args.seed, s, weights, scales, args.agree_n))
        for approach in ("greedy", "rank"):
            same, same_i, gap, ours_s, ref_s, inner = 0, 0, 0.0, 0.0, 0.0, 0
            differ = []
            for s, (blocks, data, labels, _) in enumerate(cases):
                started = time.perf_counter()
                result = gnies(data, labels, approach=approach)
                ours_s += time.perf_counter() - started
                started = time.perf_counter()
                score, theirs, found = reference.fit(blocks, approach=approach)
                ref_s += time.perf_counter() - started
                match = np.array_equal(np.asarray(result.adjacency) != 0, np.asarray(theirs) != 0)
                match_i = estimated_targets(result) == {int(v) for v in found}
                same += match
                same_i += match_i
                if not (match and match_i):
                    differ.append(s)
                gap = max(gap, abs(result.info["score_value"] - score) / abs(score))
                inner += result.info["n_inner_searches"]
            print(f"{d:>3} {approach:>8} {graphs:>6} {same:>5}/{graphs:<4} {same_i:>4}/{graphs:<3} {gap:>18.2e} "
                  f"{ours_s:>8.2f} {ref_s:>8.2f} {inner / graphs:>6.1f}")
            if differ:
                print(f"    d={d} {approach}: graphs that differ: s in {differ} (seed [{args.seed}, s])")


def recovery_table(args: argparse.Namespace) -> None:
    d, graphs = args.recovery_d, args.recovery_graphs
    print(f"\n2. recovery, d={d}, degree {args.degree:g}, {graphs} graphs (seeds [{args.seed}, 0..{graphs - 1}]), "
          f"{args.per_env[0]}-{args.per_env[1]} targets per interventional environment;\n   truth: the I-essential "
          "graph of the true targets (I-ess) or the CPDAG; GES on all rows pooled")
    print(f"{'E':>2} {'n':>5} {'|I|':>4} {'method / truth':>20} {'SHD':>6} {'exact':>6} {'I prec':>6} {'I rec':>6} "
          f"{'I exact':>7} {'s/run':>7} {'stuck':>6}")
    for n_env in args.recovery_envs:
        for n in args.ns:
            rows: dict[str, list[tuple[float, ...]]] = {name: [] for name in (
                "gnies greedy / I-ess", "gnies rank / I-ess", "gies oracle / I-ess", "gies soft orac / I-ess",
                "ges pooled / cpdag",
                "ges pooled / I-ess")}
            counts = {name: np.zeros(3) for name in rows}  # true positives, estimated, true
            stuck: dict[str, list[bool]] = {"gnies greedy / I-ess": [], "gnies rank / I-ess": []}
            sizes = []
            for s in range(graphs):
                # the environments of graph s are the first n_env of max(--recovery-envs): nested as n_env grows
                weights, scales = graph_case(args.seed, s, d, args.degree, max(args.recovery_envs), args.per_env)
                blocks, data, labels, targets = environments_data(args.seed, s, weights, scales[:n_env], n)
                sizes.append(len(targets))
                dag = (weights != 0).astype(np.int64)
                iess = interventional_essential_graph(dag, [(v,) for v in sorted(targets)])
                cpdag = cpdag_from_dag(dag)
                scorer = UnknownTargetGaussianBIC(data, labels, targets)
                truth_score = sum(scorer.local(j, np.flatnonzero(dag[:, j])) for j in range(d))
                for approach in ("greedy", "rank"):
                    name = f"gnies {approach} / I-ess"
                    started = time.perf_counter()
                    result = gnies(data, labels, approach=approach)
                    seconds = time.perf_counter() - started
                    found, est = np.asarray(result.adjacency), estimated_targets(result)
                    rows[name].append((shd(iess, found), np.array_equal(iess, found), est == targets, seconds))
                    counts[name] += (len(est & targets), len(est), len(targets))
                    stuck[name].append(truth_score > result.info["score_value"] + 1e-6)
                mask = np.zeros(data.shape, dtype=bool)
                for i, sd in enumerate(scales[:n_env]):
                    mask[i * n:(i + 1) * n, sd != 1.0] = True
                started = time.perf_counter()
                found = np.asarray(gies(data, mask).adjacency)
                seconds = time.perf_counter() - started
                rows["gies oracle / I-ess"].append((shd(iess, found), np.array_equal(iess, found), np.nan, seconds))
                started = time.perf_counter()
                found = np.asarray(gies(data, mask, interventions="soft").adjacency)
                seconds = time.perf_counter() - started
                rows["gies soft orac / I-ess"].append((shd(iess, found), np.array_equal(iess, found), np.nan,
                                                       seconds))
                started = time.perf_counter()
                found = np.asarray(ges(data, turning=True, iterate=True).adjacency)
                seconds = time.perf_counter() - started
                for name, truth in (("ges pooled / cpdag", cpdag), ("ges pooled / I-ess", iess)):
                    rows[name].append((shd(truth, found), np.array_equal(truth, found), np.nan, seconds))
            for name, values in rows.items():
                m = np.mean(np.array(values, dtype=float), axis=0)
                if name.startswith("gnies"):
                    tp, est, true = counts[name]
                    prec = f"{tp / est:>6.2f}" if est else f"{'-':>6}"
                    targets_cols = f"{prec} {tp / true:>6.2f} {m[2]:>7.2f}"
                    extra = f" {np.mean(stuck[name]):>6.2f}"
                else:
                    targets_cols, extra = f"{'-':>6} {'-':>6} {'-':>7}", ""
                print(f"{n_env:>2} {n:>5} {np.mean(sizes):>4.1f} {name:>20} {m[0]:>6.2f} {m[1]:>6.2f} "
                      f"{targets_cols} {m[3]:>7.3f}{extra}")


def shift_table(args: argparse.Namespace) -> None:
    """Mean-shift interventions: environment e > 0 adds ``--shift`` to the noise mean of one random node (variance and
    weights unchanged); gnies with center=True (each environment centred) against center=False (means modelled), and
    the reference with center=False where installed (same graph and targets)."""
    try:
        import gnies as reference
    except ImportError:
        reference = None
    d, graphs, n, n_env = args.shift_d, args.shift_graphs, args.shift_n, args.shift_envs
    print(f"\n3. mean-shift interventions (+{args.shift:g} to one node's noise mean per interventional environment),\n"
          f"   d={d}, {n_env} environments, n={n}, {graphs} graphs (seeds [{args.seed}, s])")
    print(f"{'center':>7} {'targets right':>13} {'class exact':>11} {'SHD':>6} {'s/run':>7} {'same as reference':>17}")
    for center in (True, False):
        right = exact = same = 0
        distance, seconds = [], 0.0
        for s in range(graphs):
            rng = np.random.default_rng([args.seed, s])
            weights = random_linear_dag(d, min(1.0, args.degree / max(d - 1, 1)), rng)
            hits = [None] + [int(rng.integers(d)) for _ in range(1, n_env)]
            blocks = []
            for i, hit in enumerate(hits):
                block_rng = np.random.default_rng([args.seed, s, n, i])
                x = np.zeros((n, d))
                for j in topological_order(weights):
                    x[:, j] = x @ weights[:, j] + block_rng.standard_normal(n) + (args.shift if j == hit else 0.0)
                blocks.append(x)
            targets = {h for h in hits if h is not None}
            data, labels = np.concatenate(blocks), np.repeat(np.arange(n_env), n)
            truth = interventional_essential_graph((weights != 0).astype(np.int64), [(v,) for v in sorted(targets)])
            started = time.perf_counter()
            result = gnies(data, labels, center=center)
            seconds += time.perf_counter() - started
            found = np.asarray(result.adjacency)
            right += estimated_targets(result) == targets
            exact += np.array_equal(found, truth)
            distance.append(shd(truth, found))
            if reference is not None and not center:
                _, icpdag, chosen = reference.fit(blocks, center=False)
                same += np.array_equal((np.asarray(icpdag) != 0).astype(int), found) and set(chosen) == \
                    estimated_targets(result)
        agreement = f"{same}/{graphs}" if reference is not None and not center else "-"
        print(f"{str(center):>7} {right:>10}/{graphs:<2} {exact:>8}/{graphs:<2} {np.mean(distance):>6.2f} "
              f"{seconds / graphs:>7.3f} {agreement:>17}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--degree", type=float, default=2.0, help="expected neighbours per node")
    parser.add_argument("--per-env", type=int, nargs=2, default=[1, 2],
                        help="fewest and most targets per interventional environment")
    parser.add_argument("--agree-dims", type=int, nargs="+", default=[5, 8, 10])
    parser.add_argument("--agree-graphs", type=int, nargs="+", default=[20, 20, 10],
                        help="graphs per d of --agree-dims")
    parser.add_argument("--agree-n", type=int, default=500)
    parser.add_argument("--agree-envs", type=int, default=3)
    parser.add_argument("--recovery-d", type=int, default=10)
    parser.add_argument("--recovery-graphs", type=int, default=20)
    parser.add_argument("--recovery-envs", type=int, nargs="+", default=[3, 5])
    parser.add_argument("--ns", type=int, nargs="+", default=[500, 2000], help="rows per environment")
    parser.add_argument("--shift", type=float, default=3.0, help="table 3: the shift of a target's noise mean")
    parser.add_argument("--shift-d", type=int, default=8)
    parser.add_argument("--shift-graphs", type=int, default=20)
    parser.add_argument("--shift-envs", type=int, default=4)
    parser.add_argument("--shift-n", type=int, default=1000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["agreement", "recovery", "shift"])
    args = parser.parse_args()
    args.per_env = tuple(args.per_env)
    if args.quick:
        args.agree_dims, args.agree_graphs, args.recovery_d, args.recovery_graphs = [5], [2], 6, 2
        args.ns = [300]
        args.shift_d, args.shift_graphs, args.shift_n = 5, 2, 300
    args.agree_graphs += [args.agree_graphs[-1]] * (len(args.agree_dims) - len(args.agree_graphs))
    threads = {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    print("  ".join(f"{k}={v}" for k, v in threads.items()))
    started = time.perf_counter()
    if "agreement" not in args.skip:
        agreement_table(args)
    if "recovery" not in args.skip:
        recovery_table(args)
    if "shift" not in args.skip:
        shift_table(args)
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
