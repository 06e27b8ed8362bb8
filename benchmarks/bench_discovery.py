"""Discovery benchmark: latentscm vs causal-learn on the same data, in the same run.

    .venv/bin/python benchmarks/bench_discovery.py [--quick] [--blas-threads 1] [--slow-reference]
        [--parts fisherz,kci,rcit,discrete,many,bad]

Prints one table:
1. Fisher-z PC: CPDAG agreement with causal-learn's ``pc`` (stable, default orientation rules) on
   20 seeded random linear-Gaussian datasets, and total times.
2. KCI-PC on a nonlinear additive-noise SCM (d=5): time and skeleton F1 of causal-learn's KCI-PC
   and ours (same default "empirical" kernel widths) at n=1000, and ours with the default float32
   kernel algebra against dtype="float64" (interleaved); at n=2000 ours, and causal-learn only with
   --slow-reference (stopped after 300 s).
3. RCIT-PC and RCoT-PC at n=10,000, d=10 (ours only).
4. chisq/gsq p-values against causal-learn's on random contingency data (|Z| = 0..3, empty strata),
   and PC-chisq on data sampled from the shipped asia and cancer networks (skeleton equal to
   causal-learn's; SHD and F1 against the network's CPDAG).
5. PC Fisher-z on a sparse random linear DAG, d=100, n=100,000 (alpha 0.001): wall time and skeleton
   F1 of both (causal-learn stopped after --big-timeout seconds).
6. Bad input: the error messages users see.

Run as ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_discovery.py``.

Timings on a shared machine are noisy; both sides run under the same BLAS thread limit
(``--blas-threads``, default 1: multi-threaded OpenBLAS slows down badly when cores are
oversubscribed). Every timing is printed as wall seconds and CPU seconds (``time.process_time`` of
the process doing the work: causal-learn runs in a forked child, whose own CPU time is measured
there); speed ratios are given in both. With one BLAS thread the work is single-threaded, so on a
loaded machine the CPU seconds are the meaningful ones (wall time then mostly measures waiting for a
core). Our side of a ratio is the median of 3 repeats where a repeat is cheap (fresh CI-test object
each time, so nothing is cached across repeats). causal-learn is imported before any clock starts.

Measured 2026-12-04 (this 2-core CPU, one BLAS thread, eight review jobs on the machine: load 2.3-3.9;
``--parts fisherz,kci,many``, after the Fisher-z near-singular check of this session)::

    part                                      causal-learn (CPU s)   ours (CPU s)   ratio (CPU)   agreement
    Fisher-z PC, 20 datasets d=7 n=200        0.56                   0.07           8x            CPDAG equal 20/20
    KCI-PC d=5 n=1000 (nonlinear)             39.62 (45.43 wall)     0.83           47.9x         F1 1.00 both
    KCI-PC d=5 n=1000, ours float64/float32   -                      1.53 / 0.97    1.59x         same CPDAG
    KCI-PC d=5 n=2000                         not run                3.34           -             F1 1.00
    PC Fisher-z d=100 n=100,000 (alpha 1e-3)  8.07 (15.54 wall)      0.41           19.6x         F1 0.99 both

The README's figures (KCI-PC 0.78 s against 45 s; Fisher-z d=100 0.38 s against 4.5 s) are an earlier run of this
script on a less loaded machine; this run gives the same ordering and F1, with causal-learn's Fisher-z slower.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue as queue_module
import time

import numpy as np

from latentscm.discovery import pc, skeleton_scores
from latentscm.scm import random_scm
from latentscm.testing import cpdag_from_causallearn


def scm_data(n_nodes: int, n: int, *, edge_prob: float, mechanism: str,
             seed: int) -> tuple[np.ndarray, np.ndarray]:
    scm = random_scm(n_nodes, edge_prob=edge_prob, mechanism=mechanism, seed=seed)
    sample = scm.sample(n, seed=seed + 1000)
    return np.stack([sample[name] for name in scm.graph.nodes], axis=1), scm.graph.adjacency


PARTS = ("fisherz", "kci", "rcit", "discrete", "many", "bad")


def timed(call, *args, repeats: int = 1, **kwargs):
    """``(result of the last call(*args, **kwargs), median wall s, median CPU s)`` over ``repeats`` calls."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        result = call(*args, **kwargs)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return result, float(np.median(walls)), float(np.median(cpus))


def seconds(wall: float, cpu: float) -> str:
    return f"{wall:.2f} s wall / {cpu:.2f} s CPU"


def ratio(ref_wall: float, ref_cpu: float, wall: float, cpu: float) -> str:
    return f"speed-up {ref_cpu / cpu:.1f}x CPU ({ref_wall / wall:.1f}x wall)"


def causallearn_cpdag(data: np.ndarray, alpha: float, method: str) -> np.ndarray:
    from causallearn.search.ConstraintBased.PC import pc as cl_pc

    return cpdag_from_causallearn(cl_pc(data, alpha, method, stable=True, show_progress=False).G)


def _reference_worker(data, alpha, method, queue, threads):
    from causallearn.search.ConstraintBased.PC import pc as _  # noqa: F401  (import outside the clock)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads):
        start, cpu = time.perf_counter(), time.process_time()
        out = causallearn_cpdag(data, alpha, method)
        CPU_SECONDS[0] = time.process_time() - cpu
        queue.put((time.perf_counter() - start, out, CPU_SECONDS[0]))


#: CPU seconds of the last reference run (on a loaded machine wall time mostly measures waiting).
CPU_SECONDS = [float("nan")]


def timed_reference(data, alpha, method, timeout, threads):
    """causal-learn in a subprocess, stopped after ``timeout`` seconds: (seconds or None, cpdag or None)."""
    queue = multiprocessing.get_context("fork").Queue()
    process = multiprocessing.get_context("fork").Process(target=_reference_worker,
                                                          args=(data, alpha, method, queue, threads))
    before = os.times()
    process.start()
    # Read the result before joining: a child cannot exit while its result (e.g. a 100 x 100 CPDAG,
    # larger than a pipe buffer) still waits to be written, so join-then-get would deadlock.
    try:
        wall, out, CPU_SECONDS[0] = queue.get(timeout=timeout)
    except queue_module.Empty:
        process.terminate()
        process.join()
        # The reaped child's CPU time (user + system) up to the stop.
        after = os.times()
        CPU_SECONDS[0] = (after.children_user - before.children_user
                          + after.children_system - before.children_system)
        return None, None
    process.join()
    return wall, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--slow-reference", action="store_true",
                        help="also run causal-learn's KCI-PC at n=2000 (stopped after 300 s)")
    parser.add_argument("--big-timeout", type=float, default=600.0,
                        help="seconds after which causal-learn's Fisher-z PC at d=100, n=1e5 is stopped")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated parts to run (default all): {', '.join(PARTS)}")
    args = parser.parse_args()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    from causallearn.search.ConstraintBased.PC import pc as _  # noqa: F401  (import outside the clocks)
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.blas_threads)
    rows: list[tuple[str, str, str, str]] = []

    if "fisherz" in parts:
        fisherz_rows(rows)
    if "kci" in parts:
        kci_rows(rows, args)
    if "rcit" in parts:
        rcit_rows(rows, args)
    if "discrete" in parts:
        discrete_rows(rows, args)
    if "many" in parts:
        many_variables_rows(rows, args)
    if "bad" in parts:
        bad_input_rows(rows)

    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    print(f"BLAS threads: {args.blas_threads}; load average at the end: "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores; parts: {','.join(parts)}")
    for row in rows:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths)))


def fisherz_rows(rows: list) -> None:
    agree = 0
    totals = np.zeros(4)  # ours wall, ours CPU, reference wall, reference CPU
    for seed in range(20):
        data, _ = scm_data(7, 200, edge_prob=0.4, mechanism="linear", seed=seed)
        ours, wall, cpu = timed(pc, data, ci_test="fisherz")
        ref, ref_wall, ref_cpu = timed(causallearn_cpdag, data, 0.05, "fisherz")
        totals += (wall, cpu, ref_wall, ref_cpu)
        agree += np.array_equal(ours.adjacency, ref)
    rows.append(("Fisher-z PC, 20 datasets d=7 n=200", f"causal-learn {seconds(totals[2], totals[3])}",
                 f"ours {seconds(totals[0], totals[1])}", f"CPDAG equal on {agree}/20"))


def kci_rows(rows: list, args: argparse.Namespace) -> None:
    sizes = [300] if args.quick else [1000]
    for n in sizes:
        data, truth = scm_data(5, n, edge_prob=0.5, mechanism="nonlinear", seed=3)
        # Ours: median of 3 runs (fresh test object each time, so nothing is cached across runs).
        ours, t_ours, c_ours = timed(pc, data, ci_test="kci", repeats=3)
        t_ref, ref = timed_reference(data, 0.05, "kci", 3600, args.blas_threads)
        c_ref = CPU_SECONDS[0]
        f1_ours = skeleton_scores(ours, truth)["skeleton.f1"]
        ref_text = "did not finish"
        if ref is not None:
            ref_text = f"{seconds(t_ref, c_ref)}, F1 {skeleton_scores(ref, truth)['skeleton.f1']:.2f}"
        speedup = "" if ref is None else ratio(t_ref, c_ref, t_ours, c_ours)
        if ref is not None:
            speedup += f"; skeleton equal: {np.array_equal(ours.skeleton, ((ref + ref.T) > 0).astype(int))}"
        rows.append((f"KCI-PC d=5 n={n} (nonlinear)", f"causal-learn {ref_text}",
                     f"ours {seconds(t_ours, c_ours)} (median of 3), F1 {f1_ours:.2f}", speedup))
        # Precision: the default float32 kernel algebra against dtype="float64", interleaved in this
        # process (on a loaded machine separate runs differ by ~30% in CPU seconds).
        cpu = {"float32": [], "float64": []}
        graphs = {}
        for _ in range(5):
            for dtype in cpu:
                graphs[dtype], _, spent = timed(pc, data, ci_test="kci", ci_options={"dtype": dtype})
                cpu[dtype].append(spent)
        c32, c64 = float(np.median(cpu["float32"])), float(np.median(cpu["float64"]))
        rows.append((f"KCI-PC d=5 n={n}: ours float32 vs float64", f"float64 {c64:.2f} s CPU (median of 5)",
                     f"float32 {c32:.2f} s CPU (median of 5)",
                     f"{c64 / c32:.2f}x; same CPDAG: "
                     f"{np.array_equal(graphs['float32'].adjacency, graphs['float64'].adjacency)}"))
    if not args.quick:
        data, truth = scm_data(5, 2000, edge_prob=0.5, mechanism="nonlinear", seed=3)
        ours, t_ours, c_ours = timed(pc, data, ci_test="kci", repeats=3)
        ref_text = "not run (--slow-reference)"
        if args.slow_reference:
            t_ref, ref = timed_reference(data, 0.05, "kci", 300, args.blas_threads)
            ref_text = "> 300 s wall (stopped)" if ref is None else seconds(t_ref, CPU_SECONDS[0])
        rows.append(("KCI-PC d=5 n=2000 (nonlinear)", f"causal-learn {ref_text}",
                     f"ours {seconds(t_ours, c_ours)} (median of 3), "
                     f"F1 {skeleton_scores(ours, truth)['skeleton.f1']:.2f}", ""))


def rcit_rows(rows: list, args: argparse.Namespace) -> None:
    n_large = 2000 if args.quick else 10_000
    data, truth = scm_data(10, n_large, edge_prob=0.25, mechanism="nonlinear", seed=7)
    for name in ("rcit", "rcot"):
        g, wall, cpu = timed(pc, data, ci_test=name)
        rows.append((f"{name.upper()}-PC d=10 n={n_large} (nonlinear)", "-",
                     f"ours {seconds(wall, cpu)}, F1 {skeleton_scores(g, truth)['skeleton.f1']:.2f}",
                     f"{g.info['n_tests']} tests"))


def discrete_rows(rows: list, args: argparse.Namespace) -> None:
    from causallearn.utils.cit import CIT

    from latentscm.discovery.ci_tests import ChiSquare, GSquare
    from latentscm.metrics.graphs import compare_graphs, dag_to_cpdag
    from latentscm.scm.bif import load_network

    rng = np.random.default_rng(0)
    worst = {"chisq": 0.0, "gsq": 0.0}
    times = np.zeros(4)  # ours wall, ours CPU, reference wall, reference CPU
    count = 0
    for _ in range(30):
        n = int(rng.integers(30, 2000))
        cards = rng.integers(2, 5, size=6)
        data = np.stack([rng.integers(0, c, size=n) for c in cards], axis=1)
        data[:, 1] = np.where(rng.random(n) < 0.4, data[:, 0] % cards[1], data[:, 1])
        for method, cls in (("chisq", ChiSquare), ("gsq", GSquare)):
            ref, ref_wall, ref_cpu = timed(_reference_p_values, CIT, data, method)
            ours, wall, cpu = timed(_our_p_values, cls, data)
            times += (wall, cpu, ref_wall, ref_cpu)
            worst[method] = max(worst[method], max(abs(a - b) for a, b in zip(ours, ref)))
            count += 4
    rows.append((f"chisq/gsq p-values, {count} tests |Z|=0..3", f"causal-learn {seconds(times[2], times[3])}",
                 f"ours {seconds(times[0], times[1])}",
                 f"max |dp| chisq {worst['chisq']:.1e}, gsq {worst['gsq']:.1e}"))
    for name in ("asia", "cancer"):
        model = load_network(name)
        data = model.sample(5000 if args.quick else 20_000, seed=1)
        ours, t_ours, c_ours = timed(pc, data, ci_test="chisq", node_names=model.nodes, repeats=3)
        ref, t_ref, c_ref = timed(causallearn_cpdag, data.astype(float), 0.05, "chisq")
        truth = dag_to_cpdag(model.graph.adjacency)
        same = np.array_equal(ours.skeleton, ((ref + ref.T) > 0).astype(int))
        ours_scores, ref_scores = compare_graphs(truth, ours.adjacency), compare_graphs(truth, ref)
        rows.append((f"PC-chisq on {name} n={data.shape[0]}",
                     f"causal-learn {seconds(t_ref, c_ref)}, SHD {ref_scores['graph.shd']:.0f}, "
                     f"F1 {ref_scores['skeleton.f1']:.2f}",
                     f"ours {seconds(t_ours, c_ours)} (median of 3), SHD {ours_scores['graph.shd']:.0f}, "
                     f"F1 {ours_scores['skeleton.f1']:.2f}",
                     f"skeleton equal: {same}; {ratio(t_ref, c_ref, t_ours, c_ours)}"))


def _reference_p_values(cit, data: np.ndarray, method: str) -> list[float]:
    reference = cit(data.astype(float), method)
    return [reference(0, 1, list(range(2, 2 + k))) for k in range(4)]


def _our_p_values(cls, data: np.ndarray) -> list[float]:
    bound = cls().bind(data)
    return [bound(0, 1, list(range(2, 2 + k))).p_value for k in range(4)]


def sparse_linear(d: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = np.triu(rng.random((d, d)) < 1.5 / d, 1) * rng.uniform(0.3, 0.8, (d, d)) * rng.choice([-1, 1], (d, d))
    data = np.zeros((n, d))
    for j in range(d):
        data[:, j] = data @ weights[:, j] + rng.normal(size=n)
    return data, (weights != 0).astype(int)


def many_variables_rows(rows: list, args: argparse.Namespace) -> None:
    d, n = (60, 20_000) if args.quick else (100, 100_000)
    data, truth = sparse_linear(d, n, seed=0)
    ours, t_ours, c_ours = timed(pc, data, ci_test="fisherz", alpha=1e-3, repeats=3)
    t_ref, ref = timed_reference_alpha(data, 1e-3, args.big_timeout, args.blas_threads)
    c_ref = CPU_SECONDS[0]
    ref_text = (f"stopped after {args.big_timeout:.0f} s wall ({c_ref:.0f} s CPU used), no result" if ref is None
                else f"{seconds(t_ref, c_ref)}, F1 {skeleton_scores(ref, truth)['skeleton.f1']:.2f}")
    speed = "" if ref is None else ratio(t_ref, c_ref, t_ours, c_ours)
    rows.append((f"PC Fisher-z d={d} n={n} sparse DAG (alpha 1e-3)", f"causal-learn {ref_text}",
                 f"ours {seconds(t_ours, c_ours)} (median of 3), "
                 f"F1 {skeleton_scores(ours, truth)['skeleton.f1']:.2f}", speed))


def timed_reference_alpha(data, alpha, timeout, threads):
    return timed_reference(data, alpha, "fisherz", timeout, threads)


def bad_input_rows(rows: list) -> None:
    from latentscm.scm.bif import parse_bif

    rng = np.random.default_rng(0)
    bif = ("variable a { type discrete [ 2 ] { u, v }; } variable b { type discrete [ 2 ] { u, v }; } "
           "probability ( a | b ) { (u) 0.5, 0.5; (v) 0.5, 0.5; } probability ( b | a ) { (u) 0.5, 0.5; "
           "(v) 0.5, 0.5; }")
    cases = {
        "chisq on continuous floats": lambda: pc({"a": rng.integers(0, 2, 50), "height": rng.normal(size=50)},
                                                 ci_test="chisq"),
        "category with one level": lambda: pc({"a": rng.integers(0, 2, 50), "site": np.full(50, "x")},
                                              ci_test="chisq"),
        "BIF with a cycle": lambda: parse_bif(bif, source="cyclic.bif"),
        "BIF row not summing to one": lambda: parse_bif(bif.replace("(v) 0.5, 0.5; }", "(v) 0.5, 0.7; }", 1),
                                                        source="sums.bif"),
    }
    for what, call in cases.items():
        try:
            call()
            message = "accepted (!)"
        except ValueError as error:
            message = str(error)
        rows.append((f"bad input: {what}", "", message[:110], ""))


if __name__ == "__main__":
    main()
