"""Linear causal disentanglement (latentscm.discovery.linear_causal_disentanglement) against the official code of
Squires, Seigal, Bhate & Uhler (ICML 2023), on the paper's synthetic experiment, the same precision matrices for both.

Data (the paper's experiment 1, ``experiments/experiment1/noisy_recovery.py`` with ``src/rand.py``, reimplemented):
``--runs`` random models of ``--nodes`` latents; a latent DAG whose every pair is an edge with probability
``--density`` (weights +-U[0.25, 1]); noise scales ``s ~ U[2, 4]`` (``B = diag(s) (I - W)``); ``H ~ U[-2, 2]``
(d x p, ``p = --observed``, default d) with each row divided by its largest-magnitude entry; one perfect
intervention per latent in a shuffled order (the target's row of ``B`` becomes ``lambda e_i``, ``lambda ~ U[6, 8]``).
The official generator rounds ``B`` to 3 and ``lambda`` to 2 decimals; here they are not rounded. Each context's
sample covariance of ``n`` draws (known mean, as the official ``sample_thetas``) is drawn from its Wishart law
(seeded), mapped to the observations, and its inverse given to both solvers. Model ``r`` and its data use the seeds
``[seed, r]`` and ``[seed, r, n, context]``.

Solvers: ours with ``--rank-test`` (``share``, the default here: the paper's test, with ``--rank-tolerance`` 0.01,
the paper's experiment's ``rank_gamma`` 0.99; or ``noise``, tolerance 5), ``--whiten`` or not (off unless given;
the library's default is the noise test whitened) and ``scale="max-loading"``; the official
``IterativeProjectionPartialOrderSolver(SVDRankOneScorer(), rank_gamma=1 - tolerance, num_latent=d)``,
run from a checkout given by ``--official`` under a Python with ``causaldag`` (``--official-python``) in a
subprocess, on the same matrices (skipped when not given). Each solution's latents are matched to the true ones
through the contexts (the latent a solver assigns to context ``k`` against context ``k``'s true target), with no
permutation search: a stricter matching than the paper's figures, which search permutations (the official
``run_experiment.py``). Reported: the median ``||H - H_est||_F`` and ``||B_0 - B_0,est||_F`` over the runs, and the
share of runs whose estimated causal order is a topological order of the true DAG ("order ok"). "same" counts runs
where the two solvers' ``H`` agree to 1e-6 after that matching; times are per solve (wall, one BLAS thread).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_linear_causal_disentanglement.py \\
        --official /path/to/linear-causal-disentanglement-via-interventions --official-python /path/to/python

(``--observed 5`` for a square mixing.) "graph ok" (ours only): the thresholded graph (``|weight| > 0.05``) equals the
true one. Measured 2026-12-06 on a 2-core CPU, one BLAS thread, seed 0, the official code at commit 1cc6e90 under
numpy 2.4.6 and causaldag 0.1a163 (both runs together under 8 minutes of wall time, next to other work)::

    d=5 latents, p=10 observed, density 0.75, 100 models, rank tolerance 0.01
          n   H err  B0 err  order ok  graph ok    ms  off H err  off B0 err  off order ok  off ms   same H
       2500  0.1961  0.9395      0.64      0.32  1.64     0.1961      0.9395          0.64    2.08  100/100
       5000  0.1122  0.3814      0.83      0.65  1.62     0.1122      0.3814          0.83    1.97  100/100
      10000  0.0771  0.3084      0.80      0.68  1.62     0.0771      0.3084          0.80    2.00  100/100
      25000  0.0480  0.1571      0.92      0.92  1.66     0.0480      0.1571          0.92    1.92  100/100
      50000  0.0356  0.1147      0.93      0.92  1.58     0.0356      0.1147          0.93    2.05  100/100
     100000  0.0238  0.0784      0.97      0.97  1.61     0.0238      0.0784          0.97    1.92  100/100
     250000  0.0153  0.0487      0.98      0.98  1.58     0.0153      0.0487          0.98    2.05  100/100

    d=5 latents, p=5 observed (--observed 5)
       2500  0.2165  2.1985      0.42      0.27  1.58     0.2165      2.1985          0.42    1.69  100/100
       5000  0.1217  0.9219      0.52      0.39  1.54     0.1217      0.9219          0.52    1.66   99/100
      10000  0.0759  0.3813      0.66      0.56  1.53     0.0759      0.3813          0.66    1.66  100/100
      25000  0.0393  0.1947      0.73      0.69  1.53     0.0393      0.1947          0.73    2.05  100/100
      50000  0.0315  0.1415      0.73      0.71  1.55     0.0315      0.1415          0.73    1.64  100/100
     100000  0.0198  0.0868      0.84      0.83  1.81     0.0198      0.0868          0.84    1.64  100/100
     250000  0.0114  0.0509      0.92      0.92  1.54     0.0114      0.0509          0.92    1.61  100/100

Both solvers return the same mixing on the same matrices (the one p = 5 model of 100 where they differ at n = 5,000
has the same medians to four digits); this library adds the transitive closure of the ancestor tests, as the
official code's current version does (an earlier version of ours without it agreed on 83 of 100 at n = 2,500).
Errors fall like 1/sqrt(n); a square mixing is harder than a tall one at the same n.

``--rank-test noise`` (ours with the noise-calibrated rank test, the library's default; the official code has only
the share test), the same data::

    p=10 observed                                      p=5 observed
          n   H err  B0 err  order ok  graph ok            H err  B0 err  order ok  graph ok
       2500  0.1917  0.6630      0.71      0.40           0.1876  1.5866      0.50      0.31
       5000  0.1132  0.3779      0.85      0.68           0.0829  0.4336      0.77      0.52
      10000  0.0744  0.2758      0.90      0.77           0.0637  0.3193      0.83      0.65
      25000  0.0451  0.1434      0.96      0.96           0.0349  0.1645      0.89      0.85
      50000  0.0345  0.1137      0.99      0.97           0.0268  0.1280      0.95      0.92
     100000  0.0244  0.0766      0.99      0.99           0.0189  0.0848      0.97      0.97
     250000  0.0148  0.0487      1.00      1.00           0.0113  0.0509      0.98      0.98

The noise test orders more models right than the share test at every n (e.g. 90 against 80 % at n = 10,000 with 10
observed, 95 against 73 % at 50,000 with 5), with B0 errors as low or lower; H errors are within 3 % of the share
test's or lower. Its tolerance hardly matters here: 2, 5 and 20 gave the same "order ok" at n = 2,500, 10,000,
50,000 and 250,000 (10 observed; at 5 observed 2 and 5 did too).

``--rank-test noise --whiten`` (the library's default: the noise test in observationally white coordinates), the
same data::

    p=10 observed                                      p=5 observed
          n   H err  B0 err  order ok  graph ok            H err  B0 err  order ok  graph ok
       2500  0.1522  0.4782      0.88      0.58           0.0908  0.4548      0.89      0.62
       5000  0.0891  0.3020      0.92      0.78           0.0639  0.2922      0.94      0.74
      10000  0.0608  0.2130      0.99      0.92           0.0431  0.2019      0.97      0.89
      25000  0.0402  0.1243      1.00      1.00           0.0276  0.1253      1.00      0.99
      50000  0.0282  0.0927      1.00      1.00           0.0213  0.0923      1.00      1.00
     100000  0.0199  0.0635      1.00      1.00           0.0133  0.0625      1.00      1.00
     250000  0.0122  0.0394      1.00      1.00           0.0081  0.0377      1.00      1.00

Whitened, the noise test beats both unwhitened tests in every cell (more orders right, lower H and B0 errors) but
one tie (order 1.00 for both noise tests at n = 250,000 with 10 observed); e.g. at n = 2,500 with 5 observed: order
0.89 against 0.50 (noise) and 0.42 (share), H error 0.091 against 0.188 and 0.217.

``--whiten`` with the share test (official not run), the same data::

    p=10 observed                                      p=5 observed
          n   H err  B0 err  order ok  graph ok            H err  B0 err  order ok  graph ok
       2500  0.3408  2.7498      0.22      0.19           0.2091  2.4587      0.26      0.22
       5000  0.2240  1.8120      0.41      0.40           0.1173  1.3372      0.46      0.44
      10000  0.0805  0.3023      0.58      0.57           0.0628  0.2713      0.59      0.56
      25000  0.0401  0.1220      0.81      0.81           0.0291  0.1266      0.83      0.82
      50000  0.0296  0.0884      0.88      0.88           0.0222  0.0875      0.88      0.88
     100000  0.0196  0.0589      0.93      0.93           0.0130  0.0603      0.96      0.96
     250000  0.0118  0.0355      0.99      0.99           0.0076  0.0349      0.98      0.98

With the share test, whitening gets the order right less often than the unwhitened share test up to n = 100,000
with 10 observed variables and below 25,000 with 5; above that it is as good or better, and from n = 10,000
(p = 10: 25,000) its H error is 16-34 % lower.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def random_model(seed: list[int], d: int, p: int, density: float) -> dict[str, np.ndarray]:
    """One model of the paper's experiment: ``W`` (d, d; ``W[i, j]`` parent ``j`` of ``i``, ``j > i``), ``B`` (d, d),
    ``H`` (d, p), ``targets`` (d,) and the interventional ``Bs`` (d, d, d)."""
    rng = np.random.default_rng(seed)
    weights = np.zeros((d, d))
    for i, j in itertools.combinations(range(d), 2):
        if rng.random() < density:
            weights[i, j] = rng.choice([-1.0, 1.0]) * rng.uniform(0.25, 1.0)
    root = np.diag(rng.uniform(2.0, 4.0, d)) @ (np.eye(d) - weights)
    unmixing = rng.uniform(-2.0, 2.0, (d, p))
    unmixing /= unmixing[np.arange(d), np.abs(unmixing).argmax(1)][:, None]
    targets = rng.permutation(d)
    roots = []
    for target in targets:
        changed = root.copy()
        changed[target] = 0.0
        changed[target, target] = rng.uniform(6.0, 8.0)
        roots.append(changed)
    return {"W": weights, "B": root, "H": unmixing, "targets": targets, "Bs": np.stack(roots)}


def sample_covariances(model: dict[str, np.ndarray], n: int, seed: list[int]) -> np.ndarray:
    """(d + 1, p, p) sample covariances of ``n`` draws per context (known mean), observational first."""
    from scipy.stats import wishart
    mixing = np.linalg.pinv(model["H"])
    out = []
    for k, root in enumerate([model["B"], *model["Bs"]]):
        latent = np.linalg.inv(root.T @ root)
        draw = wishart(df=n, scale=latent).rvs(random_state=np.random.default_rng([*seed, k])) / n
        out.append(mixing @ draw @ mixing.T)
    return np.stack(out)


def score(model: dict[str, np.ndarray], unmixing: np.ndarray, root: np.ndarray, targets: np.ndarray,
          order: np.ndarray) -> tuple[float, float, bool, np.ndarray]:
    """Errors of one solution, its latents matched to the true ones through the contexts (the latent estimated as
    context ``k``'s target is the true target of ``k``): ``||H - H_est||_F``, ``||B_0 - B_0,est||_F``, whether the
    estimated causal order (``order``: contexts, first to last) is a topological order of the true latent DAG, and the
    matched ``H``. ``targets`` (d,): each context's estimated latent (row of ``unmixing``)."""
    perm = np.empty(len(targets), dtype=int)
    perm[targets] = model["targets"]  # estimated latent -> true latent
    matched = np.empty_like(unmixing)
    matched[perm] = unmixing
    matched_root = np.empty_like(root)
    matched_root[np.ix_(perm, perm)] = root
    position = {int(model["targets"][k]): t for t, k in enumerate(order)}  # true latent -> place in the order
    children, parents = np.nonzero(model["W"])  # W[i, j] != 0: j is a parent of i
    right = all(position[int(j)] < position[int(i)] for i, j in zip(children, parents))
    return (float(np.linalg.norm(model["H"] - matched)), float(np.linalg.norm(model["B"] - matched_root)), right,
            matched)


def run_ours(covariances: np.ndarray, rank_tolerance: float | None, whiten: bool = False, rank_test: str = "share",
             n: int | None = None) -> tuple[np.ndarray, ...]:
    """Our fit: ``H``, ``B_0``, each context's latent, the order (contexts), the graph (d, d) and the seconds."""
    from latentscm.discovery.linear_causal_disentanglement import linear_causal_disentanglement_from_covariances
    start = time.perf_counter()
    samples = None if rank_test == "share" else [n] * covariances.shape[0]
    fit = linear_causal_disentanglement_from_covariances(covariances[0], list(covariances[1:]), samples=samples,
                                                         rank_test=rank_test, rank_tolerance=rank_tolerance,
                                                         scale="max-loading", edge_threshold=0.05, whiten=whiten)
    seconds = time.perf_counter() - start
    d = covariances.shape[0] - 1
    return (fit.unmixing, fit.precision_roots[0], np.arange(d), np.asarray(fit.order), fit.graph().adjacency,
            seconds)


def official_worker(arguments: list[str]) -> None:
    """Run in the official code's environment: ``--official-worker REPO IN.npz OUT.npz GAMMA D``."""
    repo, source, target, gamma, latents = arguments
    sys.path.insert(0, repo)
    from src.dataset import ObservedDataset
    from src.rank_tester import SVDRankOneScorer
    from src.solver_partial_order import IterativeProjectionPartialOrderSolver
    data = np.load(source)
    solver = IterativeProjectionPartialOrderSolver(SVDRankOneScorer(), rank_gamma=float(gamma),
                                                    num_latent=int(latents))
    results = {}
    for name in sorted(data.files):
        thetas = data[name]
        start = time.perf_counter()
        solution = solver.solve(ObservedDataset(thetas[0], list(thetas[1:])))
        seconds = time.perf_counter() - start
        mapping = solution["ix2target"]
        results[name + "/H"] = solution["H_est"]
        results[name + "/B0"] = solution["B0_est"]
        results[name + "/targets"] = np.array([mapping[k] for k in range(len(mapping))])
        results[name + "/seconds"] = np.array(seconds)
    np.savez(target, **results)


def run_official(repo: str, python: str, thetas: dict[str, np.ndarray], gamma: float, d: int
                 ) -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "in.npz"), Path(folder, "out.npz")
        np.savez(source, **thetas)
        subprocess.run([python, __file__, "--official-worker", repo, str(source), str(target), str(gamma), str(d)],
                       check=True, capture_output=True)
        with np.load(target) as loaded:
            return {k: loaded[k] for k in loaded.files}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--official-worker":
        official_worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--observed", type=int, default=10)
    parser.add_argument("--density", type=float, default=0.75)
    parser.add_argument("--samples", type=int, nargs="+",
                        default=[2500, 5000, 10000, 25000, 50000, 100000, 250000])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rank-test", choices=("share", "noise"), default="share",
                        help="ours: the paper's share test (default; the official code's) or the noise test")
    parser.add_argument("--rank-tolerance", type=float, default=None,
                        help="default 0.01 for share (the official rank_gamma 0.99), 5 for noise")
    parser.add_argument("--official", default=None, help="checkout of the official repository")
    parser.add_argument("--official-python", default=None, help="a Python with causaldag, for the official code")
    parser.add_argument("--whiten", action="store_true", help="ours with whiten=True")
    parser.add_argument("--json", default=None, help="write the per-run results here")
    args = parser.parse_args()
    d, p = args.nodes, args.observed
    if args.rank_tolerance is None:
        args.rank_tolerance = 0.01 if args.rank_test == "share" else 5.0
    if args.official and args.rank_test != "share":
        parser.error("the official solver runs the share test; compare it with --rank-test share")
    if p < d:
        parser.error("--observed must be at least --nodes")
    models = [random_model([args.seed, r], d, p, args.density) for r in range(args.runs)]
    print(f"linear causal disentanglement, d={d} latents, p={p} observed, density {args.density}, {args.runs} models "
          f"(seeds [{args.seed}, 0..{args.runs - 1}]), {args.rank_test} test, rank tolerance {args.rank_tolerance}"
          f"{', ours whitened' if args.whiten else ''}")
    columns = ["n", "H err", "B0 err", "order ok", "graph ok", "ms"]
    if args.official:
        columns += ["off H err", "off B0 err", "off order ok", "off ms", "same H"]
    print("".join(f"{c:>13}" for c in columns))
    records = []
    for n in args.samples:
        covariances = {f"r{r:04d}": sample_covariances(m, n, [args.seed, r, n]) for r, m in enumerate(models)}
        ours = {name: run_ours(c, args.rank_tolerance, args.whiten, args.rank_test, n)
                for name, c in covariances.items()}
        official = None
        if args.official:
            thetas = {name: np.stack([np.linalg.pinv(c, hermitian=True) for c in cs])
                      for name, cs in covariances.items()}
            official = run_official(args.official, args.official_python or sys.executable, thetas,
                                    1.0 - args.rank_tolerance, d)
        rows: dict[str, list] = {"ours": [], "official": []}
        same = 0
        for r, name in enumerate(covariances):
            model = models[r]
            unmixing, root, targets, order, graph, seconds = ours[name]
            mine = score(model, unmixing, root, targets, order)
            truth = np.zeros((d, d), dtype=int)
            truth[np.nonzero(model["W"])[1], np.nonzero(model["W"])[0]] = 1  # [j, i]: j -> i, true latent order
            true_graph = truth[np.ix_(model["targets"], model["targets"])]  # in context order
            rows["ours"].append((*mine[:3], bool(np.array_equal(graph, true_graph)), seconds))
            if official is not None:
                positions = official[name + "/targets"]
                theirs = score(model, official[name + "/H"], official[name + "/B0"], positions,
                               np.argsort(-positions))  # sources sit at the highest positions
                rows["official"].append((*theirs[:3], float(official[name + "/seconds"])))
                same += int(np.allclose(mine[3], theirs[3], atol=1e-6))
        values = np.array(rows["ours"], dtype=float)
        line = [f"{n:>13d}", f"{np.median(values[:, 0]):>13.4f}", f"{np.median(values[:, 1]):>13.4f}",
                f"{values[:, 2].mean():>13.2f}", f"{values[:, 3].mean():>13.2f}",
                f"{1000 * values[:, 4].mean():>13.2f}"]
        if official is not None:
            theirs_values = np.array(rows["official"], dtype=float)
            line += [f"{np.median(theirs_values[:, 0]):>13.4f}", f"{np.median(theirs_values[:, 1]):>13.4f}",
                     f"{theirs_values[:, 2].mean():>13.2f}", f"{1000 * theirs_values[:, 3].mean():>13.2f}",
                     f"{same:>9d}/{len(models):<3d}"]
        print("".join(line), flush=True)
        records.append({"n": n, **{who: [list(map(float, row)) for row in values]
                                   for who, values in rows.items() if values}})
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "records": records}))


if __name__ == "__main__":
    main()
