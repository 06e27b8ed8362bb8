"""Speed of the array-level disentanglement suite, and the fast DCI against its gradient-boosting
reference on a panel of representations.

1. Suite: 10,000 codes x 10 dims against dSprites-sized factors (3, 6, 40, 32, 32 classes,
   uniform and independent); each metric of ``DISENTANGLEMENT_SUITE`` timed in suite order
   (MIG, SAP, DCI, Modularity/Explicitness, InfoMEC, MCC), then the total; the extra metrics
   (kNN MIG, Spearman MCC, kernel-ridge R²) are timed after it, outside the total.
   Explicitness and InfoE fit the same classifiers on the same split, so in a suite InfoMEC
   reuses them (the "alone" column times InfoMEC by itself too).
2. DCI panel: representations with known structure — identity-like (one code per factor plus
   5 noise dims), rotated (a random orthogonal mix of the former), noisy (heavy noise),
   partly collapsed (two factors missing, three dims constant) and mixed (a nonlinear mix) —
   scored by ``dci(estimator="forest")`` (the fast default) and ``dci(estimator="gbt")``
   (disentanglement_lib's GradientBoostingClassifier, slow) on the same rows, side by side
   with both timings and the D/C gaps. The reference takes 4-12 minutes per representation
   at 10,000 rows on this machine (the 40-class factor alone needs 4,000 trees; about 30
   minutes for the panel), so by default it runs on ``--gbt-n`` = 2,000 rows and the fast
   estimator is shown at both sizes; ``--gbt-n 10000`` runs the full-size comparison.

Run: ``.venv/bin/python benchmarks/bench_metrics.py`` (``--skip-gbt`` for part 1 and the fast
column only). The load average is printed: on a shared machine wall times move with it, so CPU
time (``time.process_time``, all threads of this process) is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.stats import ortho_group

from latentscm.metrics import DISENTANGLEMENT_SUITE, _logistic, compute_metric, dci

SIZES = (3, 6, 40, 32, 32)
PANEL = ("identity", "rotated", "noisy", "collapsed", "mixed")


def panel(n: int, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Factors (n, 5) with dSprites' class counts, and the panel of codes (n, 10) built on
    them."""
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, size, n) for size in SIZES], axis=1).astype(float)
    standard = (factors - factors.mean(0)) / factors.std(0)
    noise = rng.normal(size=(n, 5))
    identity = np.concatenate([standard + 0.05 * rng.normal(size=standard.shape), 0.5 * noise], 1)
    rotated = identity @ ortho_group.rvs(10, random_state=seed)
    noisy = np.concatenate([standard + 0.7 * rng.normal(size=standard.shape), noise], 1)
    collapsed = identity.copy()
    collapsed[:, [1, 3]] = 0.0
    collapsed[:, 7:] = 0.0
    mixed = np.concatenate([np.tanh(standard[:, :3] + 0.5 * standard[:, 1:4]),
                            standard[:, 3:] ** 3 + 0.1 * rng.normal(size=(n, 2)), noise], 1)
    return factors, {"identity": identity, "rotated": rotated, "noisy": noisy,
                     "collapsed": collapsed, "mixed": mixed}


def timed(function, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def show(values: dict[str, float]) -> str:
    return ", ".join(f"{key}={value:.3f}" for key, value in values.items())


def suite_table(n: int, seed: int) -> None:
    factors, codes = panel(n, seed)
    identity = codes["identity"]
    print(f"\n## Suite on {n:,} codes x {identity.shape[1]} dims, factors of {SIZES} classes "
          f"(identity-like codes)\n")
    print("| metric | wall s | cpu s | alone wall s | values |")
    print("|---|---|---|---|---|")
    _logistic._cache.clear()
    total_wall = total_cpu = 0.0
    for name in DISENTANGLEMENT_SUITE:
        values, wall, cpu = timed(compute_metric, name, identity, factors, seed=seed)
        total_wall += wall
        total_cpu += cpu
        alone = ""
        if name == "infomec":
            _logistic._cache.clear()
            _, alone_wall, _ = timed(compute_metric, name, identity, factors, seed=seed)
            alone = f"{alone_wall:.2f}"
        print(f"| {name} | {wall:.2f} | {cpu:.2f} | {alone} | {show(values)} |")
    print(f"| **suite total** | **{total_wall:.2f}** | **{total_cpu:.2f}** | | |")
    for name in ("mig_knn", "mcc_spearman", "r2"):
        values, wall, cpu = timed(compute_metric, name, identity, factors, seed=seed)
        print(f"| {name} (not in suite) | {wall:.2f} | {cpu:.2f} | | {show(values)} |")


def dci_panel(n: int, gbt_n: int, seed: int, skip_gbt: bool) -> None:
    factors, codes = panel(n, seed)
    small_factors, small_codes = panel(gbt_n, seed)
    print("\n## DCI panel: fast 'forest' vs 'gbt' (disentanglement_lib's estimator); D, C, I "
          "and wall seconds\n")
    if gbt_n < n:
        print(f"The gbt reference runs on {gbt_n:,} rows, not {n:,}: at 10,000 it takes minutes "
              f"per representation (--gbt-n {n} for the full-size run).\n")
    print(f"| representation | fast N={n:,} D / C / I | s | fast N={gbt_n:,} D / C / I | s | "
          f"gbt N={gbt_n:,} D / C / I | s | abs dD | abs dC |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for name in PANEL:
        big, big_wall, _ = timed(dci, codes[name], factors, seed=seed)
        fast, fast_wall, _ = timed(dci, small_codes[name], small_factors, seed=seed)
        row = (f"| {name} | {fmt(big)} | {big_wall:.1f} | {fmt(fast)} | {fast_wall:.1f} |")
        if skip_gbt:
            print(row + " - | - | - | - |", flush=True)
            continue
        reference, gbt_wall, _ = timed(dci, small_codes[name], small_factors, estimator="gbt",
                                       seed=seed)
        gap_d = abs(fast["dci.disentanglement"] - reference["dci.disentanglement"])
        gap_c = abs(fast["dci.completeness"] - reference["dci.completeness"])
        worst = max(worst, gap_d, gap_c)
        print(row + f" {fmt(reference)} | {gbt_wall:.1f} | {gap_d:.3f} | {gap_c:.3f} |", flush=True)
    if not skip_gbt:
        print(f"\nLargest D/C gap between fast and gbt over the panel: {worst:.3f} (target <= 0.05)")


def fmt(result: dict[str, float]) -> str:
    return (f"{result['dci.disentanglement']:.3f} / {result['dci.completeness']:.3f} / "
            f"{result['dci.informativeness']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="rows for the suite and fast DCI")
    parser.add_argument("--gbt-n", type=int, default=2_000, help="rows for the gbt comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-gbt", action="store_true", help="leave out the slow reference")
    parser.add_argument("--skip-suite", action="store_true", help="only the DCI panel")
    args = parser.parse_args()
    print(f"# bench_metrics: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
          f"(shared machine: wall times move with the load; CPU times are steadier)")
    if not args.skip_suite:
        suite_table(args.n, args.seed)
    dci_panel(args.n, args.gbt_n, args.seed, args.skip_gbt)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
