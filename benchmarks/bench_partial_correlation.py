"""Partial correlations of Fisher-z and ParCorr on near-collinear data: accuracy and speed, before and after the QR
path for ill-conditioned queries.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_partial_correlation.py
        [--parts kernel,accuracy,pc,pcmci] [--repeats 3]

Prints four tables:

0. kernel: wall ms of the old and the current ``partial_correlations`` on 20,000 well-conditioned queries per
   conditioning-set size (bitwise-equal results expected: the batched inverse is unchanged there).

1. accuracy: |r - r_exact| and |p - p_exact| (largest over 5 seeds, 0..4, and four queries, n = 1000) of the old
   formula (the batched inverse of the correlation submatrix, a copy of the pre-session-27 code kept below as
   ``_old_partial_correlations``), the current one, and tigramite's ParCorr (least squares on the data; run in
   /work/tgvenv when it exists), at noise 1e-2 .. 1e-8 on x2 = x0 + x1 + noise * e. The exact reference is least
   squares in 256-bit mpmath on the centred float64 data.
2. pc: wall and CPU seconds of PC-Fisher-z (old test vs current; interleaved, median of ``--repeats``) on random
   linear-Gaussian DAGs (weights +-U[0.5, 1.5], expected degree 3, seeds 0..2) at d = 50, 100, 200 with
   n = 1000, 2000, 5000; whether the CPDAGs are equal, and how many queries took the QR path.
   Two more rows add 10 columns that are sums of two others plus noise 1e-4 / 1e-5 (QR path at work).
3. pcmci: the same for PCMCI-ParCorr on a stable random VAR(1) (d = 10, 20; T = 1000; seed 0; tau_max 2), and on
   a 4-variable VAR with x2 = x0 + x1 + noise (1e-4, 1e-6; seed 1; the old formula refuses 1e-6).

Measured 2026-12-05 (2-core CPU shared with other jobs, one BLAS thread, --repeats 5): kernel new/old 0.93-0.97
with bitwise-equal r; largest |r - exact| old -> new: 6e-13 -> 9e-16 (noise 1e-2), 7e-9 -> 1e-13 (1e-4), 4e-5 and
13 of 20 queries refused -> 9e-12 (1e-6), 15 of 20 refused -> 5e-10 (1e-8); tigramite 5e-16, 8e-14, 1e-11, 9e-10.
PC d = 50..200: CPU new/old 0.79-1.03 (noise of the machine), graphs equal, no query on the QR path; PCMCI d = 10,
20: 1.00-1.01, p-values bitwise equal.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence

import mpmath
import numpy as np
from scipy import stats

from latentscm.discovery import pc
from latentscm.discovery.ci_tests import CIQuery, CIResult, FisherZ
from latentscm.discovery.ci_tests import fisher_z as fisher_z_module
from latentscm.discovery.timeseries import pcmci
from latentscm.discovery.timeseries.parcorr import ParCorr

TIGRAMITE_PYTHON = "/work/tgvenv/bin/python"
NOISES = (1e-2, 1e-4, 1e-6, 1e-8)
QUERIES = {"A": (2, 3, [0, 1]), "B": (0, 3, [1, 2]), "C": (3, 4, [0, 1, 2]), "D": (0, 1, [2])}


# ---------------------------------------------------------------------------- the old formula (before session 27)
def _old_partial_correlations(correlation: np.ndarray, index: np.ndarray, owner: str) -> np.ndarray:
    """The pre-session-27 partial correlations (m,): batched inverse of correlation submatrices; a submatrix with a
    variance share 1 / P_ii <= 1e-12 goes through the conditional covariance (ValueError when that is <= 1e-12)."""
    sub = correlation[index[:, :, None], index[:, None, :]]
    try:
        precision = np.linalg.inv(sub)
    except np.linalg.LinAlgError:
        precision = np.full_like(sub, np.nan)
        for k in range(sub.shape[0]):
            try:
                precision[k] = np.linalg.inv(sub[k])
            except np.linalg.LinAlgError:
                pass
    diagonal = np.abs(np.diagonal(precision, axis1=1, axis2=2))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = -precision[:, 0, 1] / np.sqrt(diagonal[:, 0] * diagonal[:, 1])
        singular = ~np.all(np.isfinite(precision), axis=(1, 2)) | np.any(1.0 / diagonal <= 1e-12, axis=1)
    for k in np.flatnonzero(singular):
        x, y, z = int(index[k, 0]), int(index[k, 1]), [int(c) for c in index[k, 2:]]
        pair = correlation[np.ix_([x, y], [x, y])]
        if z:
            try:
                z_precision = np.linalg.inv(correlation[np.ix_(z, z)])
            except np.linalg.LinAlgError:
                z_precision = None
            if z_precision is None or np.any(1.0 / np.abs(np.diagonal(z_precision)) <= 1e-12):
                raise ValueError(f"{owner}: conditioning columns {z} are collinear")
            cross = correlation[np.ix_([x, y], z)]
            pair = pair - cross @ z_precision @ cross.T
        if np.any(np.diagonal(pair) <= 1e-12):
            raise ValueError(f"{owner}: column {x} or {y} is a linear function of columns {z}")
        r[k] = float(np.clip(pair[0, 1] / np.sqrt(pair[0, 0] * pair[1, 1]), -1.0, 1.0))
    return r


class OldFisherZ(FisherZ):
    """Fisher-z with the old partial-correlation formula (same statistic and p-value)."""

    def _indexed(self, state, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = index.shape[1] - 2
        r = state.correlation[index[:, 0], index[:, 1]] if size == 0 else \
            _old_partial_correlations(state.correlation, index, "Fisher-z")
        r = np.clip(r, -1 + np.finfo(float).eps, 1 - np.finfo(float).eps)
        z = np.sqrt(state.n - size - 3) * np.abs(np.arctanh(r))
        return z, np.clip(2.0 * stats.norm.sf(z), 0.0, 1.0)


class OldParCorr(ParCorr):
    """ParCorr with the old partial-correlation formula (same statistic and p-value)."""

    def _compute(self, state, queries: Sequence[CIQuery]) -> list[CIResult]:
        by_size: dict[int, list[int]] = defaultdict(list)
        for position, query in enumerate(queries):
            by_size[len(query.z)].append(position)
        results: list[CIResult] = [CIResult(0.0, 1.0)] * len(queries)
        for size, positions in by_size.items():
            index = np.array([queries[p].columns for p in positions], dtype=np.intp)
            r = np.clip(_old_partial_correlations(state.correlation, index, "ParCorr"), -1.0, 1.0)
            p = _t_p_values(r, state.n - 2 - size)
            for k, position in enumerate(positions):
                results[position] = CIResult(float(r[k]), float(p[k]))
        return results


def _t_p_values(r: np.ndarray, dof: int) -> np.ndarray:
    with np.errstate(divide="ignore"):
        t = np.where(np.abs(r) < 1, r * np.sqrt(dof / np.maximum(1 - r * r, 1e-300)), np.inf * np.sign(r))
    return np.clip(2.0 * stats.t.sf(np.abs(t), dof), 0.0, 1.0)


# ---------------------------------------------------------------------------- 1. accuracy
def near_collinear(noise: float, n: int, seed: int) -> np.ndarray:
    """(n, 5): x0, x1 ~ N(0, 1); x2 = x0 + x1 + noise e; x3 = x0 + 0.1 e + N(0, 1); x4 ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    x0, x1, e, u, x4 = rng.normal(size=(5, n))
    return np.column_stack([x0, x1, x0 + x1 + noise * e, x0 + 0.1 * e + u, x4])


def exact_partial_correlation(data: np.ndarray, x: int, y: int, z: list[int]) -> float:
    """Least-squares partial correlation on the centred data in 256-bit arithmetic (exact Gram matrix)."""
    mpmath.mp.prec = 256
    centred = []
    for column in (x, y, *z):
        values = [mpmath.mpf(float(v)) for v in data[:, column]]
        mean = mpmath.fsum(values) / len(values)
        centred.append([v - mean for v in values])
    k = len(centred)
    gram = mpmath.matrix(k, k)
    for i in range(k):
        for j in range(i, k):
            gram[i, j] = gram[j, i] = mpmath.fdot(centred[i], centred[j])
    precision = gram**-1
    return float(-precision[0, 1] / mpmath.sqrt(precision[0, 0] * precision[1, 1]))


_TIGRAMITE = """
import json, sys, numpy as np
from tigramite.independence_tests.parcorr import ParCorr
out = {}
for path in sys.argv[2:]:
    data = np.load(path)
    for name, (x, y, z) in json.loads(sys.argv[1]).items():
        val, p = ParCorr(significance='analytic').run_test_raw(data[:, [x]], data[:, [y]], data[:, z])
        out[path + name] = [float(val), float(p)]
print(json.dumps(out))
"""


def accuracy(n: int = 1000, seeds: Sequence[int] = range(5)) -> None:
    print(f"\n1. accuracy, n={n}, seeds {list(seeds)}, queries {QUERIES} (x, y, Z); largest |r - exact| / |p - exact|")
    sets = {(noise, seed): near_collinear(noise, n, seed) for noise in NOISES for seed in seeds}
    tigramite: dict[str, list[float]] = {}
    if os.path.exists(TIGRAMITE_PYTHON):
        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for (noise, seed), data in sets.items():
                paths.append(f"{folder}/{noise:.0e}_{seed}.npy")
                np.save(paths[-1], data)
            answer = subprocess.run([TIGRAMITE_PYTHON, "-c", _TIGRAMITE, json.dumps(QUERIES), *paths],
                                    capture_output=True, text=True, check=True).stdout
        tigramite = {key[len(folder) + 1:]: value for key, value in json.loads(answer).items()}
    methods = ("Fisher-z old", "Fisher-z new", "ParCorr old", "ParCorr new", "tigramite")
    print(f"{'noise':>6}  " + "  ".join(f"{m:>21}" for m in methods))
    for noise in NOISES:
        worst = {m: [0.0, 0.0] for m in methods}
        refused = {m: 0 for m in methods}
        for seed in seeds:
            data = sets[(noise, seed)]
            for name, (x, y, z) in QUERIES.items():
                r0 = exact_partial_correlation(data, x, y, z)
                size = len(z)
                p_fz = float(2 * stats.norm.sf(np.sqrt(n - size - 3) * abs(np.arctanh(np.clip(r0, -1 + 2e-16,
                                                                                              1 - 2e-16)))))
                p_pc = float(_t_p_values(np.array([r0]), n - 2 - size)[0])
                found: dict[str, tuple[float, float] | None] = {}
                for method, test in (("Fisher-z old", OldFisherZ()), ("Fisher-z new", FisherZ()),
                                     ("ParCorr old", OldParCorr()), ("ParCorr new", ParCorr())):
                    try:
                        result = test.bind(data)(x, y, z)
                    except ValueError:
                        found[method] = None
                        continue
                    if method.startswith("Fisher"):
                        r = np.sign(r0) * np.tanh(result.statistic / np.sqrt(n - size - 3))
                        found[method] = (abs(abs(r) - abs(r0)), abs(result.p_value - p_fz))
                    else:
                        found[method] = (abs(result.statistic - r0), abs(result.p_value - p_pc))
                key = f"{noise:.0e}_{seed}.npy{name}"
                if key in tigramite:
                    r_tg, p_tg = tigramite[key]
                    found["tigramite"] = (abs(r_tg - r0), abs(p_tg - p_pc))
                for method, value in found.items():
                    if value is None:
                        refused[method] += 1
                    else:
                        worst[method] = [max(worst[method][0], value[0]), max(worst[method][1], value[1])]
        cells = []
        for method in methods:
            text = f"{worst[method][0]:.0e} / {worst[method][1]:.0e}"
            if refused[method]:
                text += f" ({refused[method]}x)"
            cells.append(f"{text:>21}")
        print(f"{noise:6.0e}  " + "  ".join(cells))
    print("(k x): k of the queries refused as undefined (ValueError); errors are over the others. Fisher-z |r| is "
          "recovered from its statistic (|r| = tanh(|z| / sqrt(n - |Z| - 3))).")


# ---------------------------------------------------------------------------- 2. PC speed
def linear_gaussian_dag(d: int, n: int, seed: int, degree: float = 3.0) -> np.ndarray:
    """(n, d) samples of a random linear-Gaussian DAG: edge probability degree / (d - 1), weights +-U[0.5, 1.5],
    unit noise, columns in a random order."""
    rng = np.random.default_rng(seed)
    edges = np.triu(rng.random((d, d)) < degree / (d - 1), k=1)
    weights = edges * rng.uniform(0.5, 1.5, (d, d)) * rng.choice([-1.0, 1.0], (d, d))
    x = rng.normal(size=(n, d))
    for j in range(d):
        x[:, j] += x @ weights[:, j]
    return x[:, rng.permutation(d)]


class _Counter:
    """Wraps fisher_z._qr_partial_correlations to count the queries that take the QR path."""

    def __init__(self) -> None:
        self.count = 0
        self.original = fisher_z_module._qr_partial_correlations

    def __call__(self, data: np.ndarray, index: np.ndarray, owner: str) -> np.ndarray:
        self.count += index.shape[0]
        return self.original(data, index, owner)


def _timed(call, *args, **kwargs):
    start, cpu = time.perf_counter(), time.process_time()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - start, time.process_time() - cpu


def _refusing(run):
    """``run`` returning None instead of raising ValueError (the old formula refuses near-exact collinearity)."""
    def call():
        try:
            return run()
        except ValueError:
            return None
    return call


def _compare(label: str, run_old, run_new, repeats: int, same) -> None:
    counter = _Counter()
    run_old = _refusing(run_old)
    times: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    graphs = {"old": run_old(), "new": run_new()}  # warm-up (imports, caches of numpy/scipy), not timed
    for _ in range(repeats):  # interleaved, so load changes hit both sides alike
        graphs["old"], wall, cpu = _timed(run_old)
        times["old"].append((wall, cpu))
        fisher_z_module._qr_partial_correlations = counter
        try:
            graphs["new"], wall, cpu = _timed(run_new)
        finally:
            fisher_z_module._qr_partial_correlations = counter.original
        times["new"].append((wall, cpu))
    old_wall, old_cpu = np.median(times["old"], axis=0)
    new_wall, new_cpu = np.median(times["new"], axis=0)
    print(f"{label:<32} {old_wall:8.3f} {old_cpu:8.3f} {new_wall:8.3f} {new_cpu:8.3f} {new_cpu / old_cpu:8.3f} "
          f"{same(graphs['old'], graphs['new']):>14} {counter.count // repeats:>8}")


_HEADER = (f"{'case':<32} {'old wall':>8} {'old cpu':>8} {'new wall':>8} {'new cpu':>8} {'cpu new/old':>8} "
           f"{'equal':>14} {'QR rows':>8}")


def pc_speed(repeats: int, seeds: Sequence[int] = range(3)) -> None:
    print(f"\n2. PC Fisher-z (alpha 0.05), median of {repeats} interleaved runs; seconds; 'QR rows': queries per run "
          "that took the QR path")
    print(_HEADER)
    for d, n in ((50, 1000), (100, 2000), (200, 5000)):
        for seed in seeds:
            data = linear_gaussian_dag(d, n, seed)
            _compare(f"d={d} n={n} seed={seed}", lambda data=data: pc(data, ci_test=OldFisherZ()),
                     lambda data=data: pc(data, ci_test=FisherZ()), repeats,
                     _same_graph)
    for noise in (1e-4, 1e-5):  # the QR path at work: 10 columns near sums of two others
        data = near_collinear_dag(50, 1000, 0, noise)
        _compare(f"d=50 n=1000 seed=0 +10 at {noise:.0e}", lambda data=data: pc(data, ci_test=OldFisherZ()),
                 lambda data=data: pc(data, ci_test=FisherZ()), repeats,
                 _same_graph)


def _same_graph(a, b) -> str:
    return "old refused" if a is None else str(np.array_equal(a.adjacency, b.adjacency))


def near_collinear_dag(d: int, n: int, seed: int, noise: float) -> np.ndarray:
    """(n, d + 10): :func:`linear_gaussian_dag` plus 10 columns, each the sum of two random columns of it plus
    ``noise`` times N(0, 1)."""
    data = linear_gaussian_dag(d, n, seed)
    rng = np.random.default_rng(seed + 1)
    pairs = [rng.choice(d, 2, replace=False) for _ in range(10)]
    extra = [data[:, a] + data[:, b] + noise * rng.normal(size=n) for a, b in pairs]
    return np.column_stack([data, *extra])


def var_series(d: int, T: int, seed: int) -> np.ndarray:
    """(T, d) stable VAR(1): each variable has itself and ~2 random others as parents, weights +-U[0.2, 0.5]
    rescaled to spectral radius 0.8, unit Gaussian noise, 200 burn-in steps dropped."""
    rng = np.random.default_rng(seed)
    coefficients = (rng.random((d, d)) < 2.0 / d) * rng.uniform(0.2, 0.5, (d, d)) * rng.choice([-1.0, 1.0], (d, d))
    coefficients[np.diag_indices(d)] = rng.uniform(0.3, 0.6, d)
    coefficients *= 0.8 / max(np.max(np.abs(np.linalg.eigvals(coefficients))), 1e-12)
    x = np.zeros((T + 200, d))
    noise = rng.normal(size=(T + 200, d))
    for t in range(1, T + 200):
        x[t] = coefficients @ x[t - 1] + noise[t]
    return x[200:]


def near_collinear_var(T: int, seed: int, noise: float) -> np.ndarray:
    """(T, 4): x0 AR(1); x1 driven by x0 at lag 1; x2 = x0 + x1 + noise e (same time); x3 driven by x2 at lag 1."""
    rng = np.random.default_rng(seed)
    x = np.zeros((T, 4))
    for t in range(1, T):
        x[t, 0] = 0.5 * x[t - 1, 0] + rng.normal()
        x[t, 1] = 0.4 * x[t - 1, 1] + 0.3 * x[t - 1, 0] + rng.normal()
        x[t, 2] = x[t, 0] + x[t, 1] + noise * rng.normal()
        x[t, 3] = 0.5 * x[t - 1, 2] + rng.normal()
    return x


def _same_temporal(a, b) -> str:
    """'<adjacency equal> <largest |p_old - p_new|>' of two TemporalGraphs; 'old refused' when old is None."""
    if a is None:
        return "old refused"
    tested = np.isfinite(a.pvalues) & np.isfinite(b.pvalues)
    return f"{np.array_equal(a.adjacency(), b.adjacency())} {np.max(np.abs(a.pvalues - b.pvalues)[tested]):.0e}"


def pcmci_speed(repeats: int) -> None:
    print(f"\n3. PCMCI ParCorr (tau_max 2, alpha 0.05), median of {repeats} interleaved runs; seconds; 'equal': graph "
          "equal, largest p-value change")
    print(_HEADER)
    cases = {f"VAR d={d} T=1000 seed=0": var_series(d, 1000, 0) for d in (10, 20)}
    for noise in (1e-4, 1e-6):  # the QR path at work (the old formula refuses 1e-6)
        cases[f"VAR d=4 x2=x0+x1+{noise:.0e}"] = near_collinear_var(1000, 1, noise)
    for label, data in cases.items():
        _compare(label, lambda data=data: pcmci(data, tau_max=2, ci_test=OldParCorr()),
                 lambda data=data: pcmci(data, tau_max=2, ci_test=ParCorr()), repeats, _same_temporal)


def kernel_speed(repeats: int) -> None:
    print(f"\n0. the batched kernel alone: 20,000 well-conditioned queries per |Z| on linear_gaussian_dag(50, 2000, "
          f"seed 0), index seed 1; median of {repeats} interleaved runs; ms")
    data = linear_gaussian_dag(50, 2000, 0)
    correlation = np.corrcoef(data, rowvar=False)
    rng = np.random.default_rng(1)
    print(f"{'|Z|':>4} {'old ms':>8} {'new ms':>8} {'new/old':>8} {'equal':>6}")
    for size in (1, 2, 3, 4):
        index = np.array([rng.choice(50, size + 2, replace=False) for _ in range(20_000)])
        times: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(repeats):
            old, wall, _ = _timed(_old_partial_correlations, correlation, index, "bench")
            times["old"].append(wall)
            new, wall, _ = _timed(fisher_z_module.partial_correlations, correlation, index, "bench", data=data)
            times["new"].append(wall)
        old_ms, new_ms = 1e3 * np.median(times["old"]), 1e3 * np.median(times["new"])
        print(f"{size:>4} {old_ms:8.2f} {new_ms:8.2f} {new_ms / old_ms:8.3f} {str(np.array_equal(old, new)):>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="kernel,accuracy,pc,pcmci")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    parts = args.parts.split(",")
    unknown = set(parts) - {"kernel", "accuracy", "pc", "pcmci"}
    if unknown:
        raise SystemExit(f"--parts takes kernel, accuracy, pc, pcmci; got {sorted(unknown)}")
    if args.repeats < 1:
        raise SystemExit(f"--repeats must be >= 1; got {args.repeats}")
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')} OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS')}")
    if "kernel" in parts:
        kernel_speed(max(args.repeats, 5))
    if "accuracy" in parts:
        accuracy()
    if "pc" in parts:
        pc_speed(args.repeats)
    if "pcmci" in parts:
        pcmci_speed(args.repeats)


if __name__ == "__main__":
    main()
