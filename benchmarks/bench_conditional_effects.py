"""Heterogeneous effects (``conditional_effects``): agreement with EconML on the same rows and folds, accuracy against
the SCMs' exact conditional effects, and the coverage of the inference.

1. **reference** (``--econml-python PATH``: an interpreter with econml; a test-only reference, not a dependency of
   latentscm; the part is skipped with a message without it): n = 2000 rows of
   :func:`~latentscm.testing.linear_cate_scm` (seed 0), modifiers = confounders = (X1, X2, X3), 5 folds from
   ``fold_labels(n, 5, 0)``, ``trim = 0.01``, 200 test points (N(0, 1), seed 1). ``benchmarks/econml_reference.py``
   fits, in that interpreter: ``LinearDRLearner`` (per-arm OLS outcome models through a wrapper, logistic
   propensity with C = 1e6, ``min_propensity = trim``, ``cv`` = our folds), ``TLearner``, ``SLearner`` and
   ``XLearner`` with OLS, and ``LinearDML`` (discrete treatment, OLS for Y, logistic for T, ``cv`` = our folds; the
   R-learner with a linear final stage). Rows: the largest absolute difference of the effects at the test points,
   of the final-stage slopes and of their HC1 standard errors (ours: the projection's), and the seconds of one fit
   (ours: median of 3 calls, graph parsing, out-of-fold effects and the inference included; econml's: one
   ``fit``).
2. **accuracy** against :func:`~latentscm.effects.true_conditional_effects`: for the linear SCM (CATE
   ``1 + X1 - 0.5 X2``) and :func:`~latentscm.testing.nonlinear_cate_scm` (non-linear baseline, propensity and CATE),
   n = 2000, data seeds 0..S-1 (S = 5): mean PEHE (root mean squared error of the out-of-fold effects against the
   exact CATE), PEHE / PEHE of the true ATE everywhere (below 1 beats "no heterogeneity"), Spearman correlation,
   mean seconds (with ``n_splits=1``: the learner on every fold and on all rows, one halving for the inference; each
   further split refits the learner on half the rows), for every method with linear, boosted and forest learners
   (nuisance / effect learner as named).
3. **coverage**: R = 200 data sets (seeds 1000 + r) of n = 2000 from the linear SCM, ``method="dr"`` with linear
   learners (the models are right), 20 splits: bias, sd, mean standard error and 95% coverage of the ATE and of each
   projection coefficient (truth (1; 1, -0.5, 0)); the coverage of each sorted group's interval and of the policy
   gain (treat where the estimate exceeds 1, each treatment costing 1) against the exact values of the rows each
   split scores (medians over the splits, as the estimates); and the rejection rates at 5% with h = 1 and 0.15
   (power) and h = 0 (size, a constant effect) of: the calibration slope and the AUTOC from the random halvings, the
   same two on the pooled out-of-fold effects (the design this module rejects; with the mean and sd of its slope's
   z-statistic), and the GATES top-minus-bottom difference.
4. **projection**: its coverage on the non-linear SCM with boosted nuisances and one split (truth: the projection of
   the exact CATE on (1, X1, X2, X3) over 10^6 units), R = 200.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_conditional_effects.py [--econml-python PATH]``
(``--parts reference accuracy coverage projection``, ``--seeds``, ``--reps``, ``--quick``: 2 seeds, 20 replications,
no forests). The script sets ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` to 1 (unless set)
before numpy is imported, and passes them to the econml process. Prints the tables, then one JSON object.

Measured 2026-12-08 on a 2-core AMD EPYC (x86_64), the three thread variables 1, Python 3.11.7, numpy 2.4.6,
scikit-learn 1.9.1; econml 0.17.0 in its own venv. Parts 2 and 4 at commit fe68d11 (``nice -n 5``, 30 min, the machine
also running tests); parts 1 and 3 at 539abc1 (4 min). Raw output: ``/work/bench_out/s56/bench_cate_*.txt``.

1. Every learner's effects agree with EconML's to 3e-15 (DR 2.7e-15, R 2.0e-15, T 0, S 2.2e-15, X 4.4e-16); the
   DR-learner's projection slopes to 9e-16 and their HC1 standard errors to 3e-17. Seconds of one call: ours 0.06
   (DR) to 0.16 (X), econml's 0.04 (DR) to 0.002 (T): ours also refits the learner on 5 folds and 20 halvings and runs
   the inference; econml's meta-learners fit once.
2. PEHE / PEHE of the constant, 5 seeds (linear SCM | non-linear SCM):

   ======  ===============  ==========  ==============
   method  learners         linear      non-linear
   ======  ===============  ==========  ==============
   dr      linear           0.11        0.68
   dr      boosting/linear  0.37        0.78
   dr      boosting         0.72        1.08
   dr      forest           0.36        0.74
   r       linear           0.11        0.62
   r       boosting/linear  0.13        0.60
   r       boosting         0.44        0.71
   r       forest           0.35        0.48
   t       linear           0.10        0.75
   t       boosting/linear  0.65        1.18
   t       forest           0.44        0.87
   s       linear           1.00        1.01
   s       boosting/linear  0.39        0.67
   s       forest           0.44        0.76
   x       linear           0.10        0.75
   x       boosting/linear  0.14        0.67
   x       boosting         0.37        0.52
   x       forest           0.40        0.47
   ======  ===============  ==========  ==============

   No learner is best everywhere; the X-learner with flexible effect models and the R-learner are the most robust
   here, the DR-learner with a flexible effect model the least (its pseudo-outcomes are the noisiest). The linear
   S-learner finds no heterogeneity at all (ratio 1.00), as expected.
3. Linear SCM, DR-learner with linear learners, 200 data sets: every projection coefficient covers at 0.945 to 0.965,
   the ATE at 0.965 to 0.98; the group effects cover the mean true effect of their rows at 0.998 to 1.000 and the
   policy gain at 1.000 (both conservative: medians of bounds at level 0.975). Rejections at 5%: with no
   heterogeneity 0.005 (calibration), 0.005 (AUTOC), 0.000 (GATES); at h = 0.15, 0.49, 0.42, 0.25; at h = 1, all
   1.000. The pooled out-of-fold design rejected 0.040 and 0.035 with no heterogeneity and 0.665 and 0.600 at
   h = 0.15, but its slope's z-statistic had mean -0.86 and sd 1.39 under no heterogeneity: not a valid test (its
   one-sided size is near 5% only because the negative bias offsets the excess spread).
4. Non-linear SCM, boosted nuisances, 200 data sets: projection coverage 0.99 (intercept), 0.955 (X1, bias 0.089
   against sd 0.19), 0.985 (X2), 0.955 (X3).
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # before numpy is imported: BLAS and OpenMP (boosting) on one thread

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from latentscm.effects import conditional_effects, true_conditional_effects  # noqa: E402
from latentscm.effects.nuisance import fold_labels  # noqa: E402
from latentscm.testing.cate_scms import CATE_GRAPH, linear_cate_scm, nonlinear_cate_scm  # noqa: E402

V = ["X1", "X2", "X3"]
HERE = Path(__file__).resolve().parent


def _median_seconds(call, repeats: int = 3):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - start)
    return out, float(np.median(times))


def reference(python: str | None, n: int = 2000) -> dict:
    print("\n## 1. EconML on the same rows and folds")
    if python is None:
        print("skipped: pass --econml-python PATH (an interpreter with econml installed)")
        return {"skipped": "no --econml-python"}
    truth = true_conditional_effects(linear_cate_scm(), "T", "Y", n=n, draws=2, seed=0)
    data = {k: truth.data[k] for k in (*V, "T", "Y")}
    x = np.column_stack([data[v] for v in V])
    test = np.random.default_rng(1).normal(size=(200, 3))
    folds = fold_labels(n, 5, 0)
    with tempfile.TemporaryDirectory() as tmp:
        given, got = Path(tmp) / "in.npz", Path(tmp) / "out.json"
        np.savez(given, X=x, T=data["T"].astype(np.int64), Y=data["Y"], folds=folds, trim=np.float64(0.01),
                 X_test=test)
        subprocess.run([python, str(HERE / "econml_reference.py"), str(given), str(got)], check=True,
                       env={**os.environ})
        theirs = json.loads(got.read_text())
    rows, out = [], {"versions": theirs["versions"]}
    for method, key in (("dr", "dr_linear"), ("r", "dml_linear"), ("t", "t_linear"), ("s", "s_linear"),
                        ("x", "x_linear")):
        ours, seconds = _median_seconds(lambda m=method: conditional_effects(data, CATE_GRAPH, "T", "Y",
                                                                             modifiers=V, method=m, seed=0))
        effect = float(np.max(np.abs(ours.predict(test) - np.asarray(theirs[f"{key}_effect"]))))
        slope = se = float("nan")
        if method == "dr":
            slopes = np.array([ours.projection[v].estimate for v in V])
            errors = np.array([ours.projection[v].std_error for v in V])
            slope = float(np.max(np.abs(slopes - np.asarray(theirs["dr_linear_coef"]))))
            se = float(np.max(np.abs(errors - np.asarray(theirs["dr_linear_coef_se"]))))
        if method == "r":  # LinearDML's slopes: ours are the final model's, the effect at unit steps
            mine = ours.predict(np.eye(3)) - ours.predict(np.zeros((1, 3)))
            slope = float(np.max(np.abs(mine - np.asarray(theirs["dml_linear_coef"]))))
        theirs_s = theirs["seconds"].get(f"{key}_fit", float("nan"))
        rows.append((method, effect, slope, se, seconds, theirs_s))
        out[method] = {"effect_max_abs_diff": effect, "slope_max_abs_diff": slope, "slope_se_max_abs_diff": se,
                       "seconds_ours": seconds, "seconds_econml": theirs_s}
    print(f"econml {theirs['versions']['econml']}, scikit-learn {theirs['versions']['sklearn']}; n = {n}, 5 folds")
    print(f"{'method':<8}{'max |d effect|':>16}{'max |d slope|':>15}{'max |d s.e.|':>14}{'ours s':>9}{'econml s':>10}")
    for method, effect, slope, se, mine, them in rows:
        print(f"{method:<8}{effect:>16.2e}{slope:>15.2e}{se:>14.2e}{mine:>9.3f}{them:>10.3f}")
    return out


LEARNER_SETS = {"linear": ("linear", "linear"), "boosting/linear": ("boosting", "linear"),
                "boosting": ("boosting", "boosting"), "forest": ("forest", "forest")}


def accuracy(seeds: int, forests: bool, n: int = 2000) -> dict:
    print(f"\n## 2. Accuracy against the exact CATE (n = {n}, {seeds} data seeds)")
    out = {}
    for world, scm in (("linear", linear_cate_scm()), ("nonlinear", nonlinear_cate_scm())):
        truths = [true_conditional_effects(scm, "T", "Y", n=n, draws=2, seed=s) for s in range(seeds)]
        print(f"\n{world} SCM; PEHE of the constant: {np.mean([t.cate.std() for t in truths]):.3f}")
        print(f"{'method':<8}{'learners':<17}{'PEHE':>8}{'/const':>8}{'Spearman':>10}{'ATE err':>9}{'s':>7}")
        for method in ("dr", "r", "t", "s", "x"):
            for label, (nuisance, effect) in LEARNER_SETS.items():
                if (label == "forest" and not forests) or (method in ("t", "s") and label == "boosting"):
                    continue  # the T- and S-learners have no effect model: "boosting" is "boosting/linear"
                if method in ("t", "s"):
                    effect = "linear"
                scores, times = [], []
                for s, truth in enumerate(truths):
                    start = time.perf_counter()
                    found = conditional_effects(truth.data, CATE_GRAPH, "T", "Y", modifiers=V, method=method,
                                                outcome_learner=nuisance, treatment_learner=nuisance,
                                                effect_learner=effect, n_splits=1, seed=s)
                    times.append(time.perf_counter() - start)
                    scores.append(found.score(truth))
                mean = {k: float(np.nanmean([sc[k] for sc in scores])) for k in scores[0]}
                ratio = float(np.mean([sc["pehe"] / sc["pehe_constant"] for sc in scores]))
                mean_abs_ate = float(np.mean([abs(sc["ate_error"]) for sc in scores]))
                print(f"{method:<8}{label:<17}{mean['pehe']:>8.3f}{ratio:>8.2f}{mean['rank_correlation']:>10.3f}"
                      f"{mean_abs_ate:>9.3f}{np.mean(times):>7.2f}", flush=True)
                out[f"{world}/{method}/{label}"] = {**mean, "pehe_ratio": ratio, "ate_abs_error": mean_abs_ate,
                                                    "seconds": float(np.mean(times))}
    return out


def _row(name: str, estimates, errors, truth, level_z: float = 1.959963984540054) -> dict:
    estimates, errors = np.asarray(estimates), np.asarray(errors)
    truth = np.broadcast_to(np.asarray(truth, dtype=float), estimates.shape)
    cover = float(np.mean(np.abs(estimates - truth) <= level_z * errors))
    row = {"bias": float(np.mean(estimates - truth)), "sd": float(np.std(estimates, ddof=1)),
           "mean_se": float(np.mean(errors)), "coverage": cover}
    print(f"{name:<26}{row['bias']:>9.4f}{row['sd']:>8.4f}{row['mean_se']:>9.4f}{row['coverage']:>9.3f}")
    return row


def _pooled_calibration_z(found) -> float:
    """The calibration slope over its standard error on the pooled out-of-fold effects (the rejected design)."""
    from latentscm.effects.conditional_effects import robust_regression

    tau = found.effects
    coef, se = robust_regression(found.scores, (tau - tau.mean())[:, None])
    return float(coef[1] / se[1])


def coverage(reps: int, n: int = 2000) -> dict:
    from latentscm.effects import rank_weighted_effect

    print(f"\n## 3. Coverage of the 95% intervals (R = {reps}, n = {n}, dr with linear learners, 20 splits)")
    out: dict = {}
    for h in (1.0, 0.15, 0.0):
        scm = linear_cate_scm(heterogeneity=h)
        collected: dict = {"ate": [], "groups": [], "policy": [], "pooled_z": []}
        rejections = {"calibration (splits)": 0, "calibration (pooled folds)": 0, "RATE autoc (splits)": 0,
                      "RATE autoc (pooled folds)": 0, "GATES top - bottom (splits)": 0}
        for name in ("intercept", *V):
            collected[name] = []
        start = time.perf_counter()
        for r in range(reps):
            truth = true_conditional_effects(scm, "T", "Y", n=n, draws=2, seed=1000 + r)
            found = conditional_effects(truth.data, CATE_GRAPH, "T", "Y", modifiers=V, seed=r)
            collected["ate"].append((found.ate.estimate, found.ate.std_error, truth.cate.mean()))
            for name in ("intercept", *V):
                collected[name].append((found.projection[name].estimate, found.projection[name].std_error))
            true_groups = np.median([[truth.cate[main][rows].mean()
                                      for rows in np.array_split(np.argsort(tau, kind="stable"), 5)]
                                     for main, tau in found._splits], axis=0)
            for group, value in zip(found.groups, true_groups):
                collected["groups"].append((group["effect"].ci_low, group["effect"].ci_high, value))
            policy = found.policy(threshold=1.0)["gain_vs_none"]
            gain = np.median([np.mean((tau > 1.0) * (truth.cate[main] - 1.0)) for main, tau in found._splits])
            collected["policy"].append((policy.ci_low, policy.ci_high, gain))
            b2 = found.calibration.get("heterogeneity")
            rejections["calibration (splits)"] += int(b2 is not None and b2.p_value < 0.05)
            z = _pooled_calibration_z(found)
            collected["pooled_z"].append(z)
            rejections["calibration (pooled folds)"] += int(z > 1.6448536269514722)
            rejections["RATE autoc (splits)"] += int(found.rate(n_bootstrap=100, seed=r).p_value < 0.05)
            pooled = rank_weighted_effect(found.scores, found.effects, n_bootstrap=100, seed=r)
            rejections["RATE autoc (pooled folds)"] += int(pooled.p_value < 0.05)
            rejections["GATES top - bottom (splits)"] += int(found.groups_difference.ci_low > 0)
        seconds = (time.perf_counter() - start) / reps
        print(f"\nh = {h:g} ({'heterogeneous' if h else 'constant effect'}); {seconds:.2f} s per replication")
        zs = np.array(collected["pooled_z"])
        print(f"pooled out-of-fold calibration slope / s.e.: mean {zs.mean():.3f}, sd {zs.std(ddof=1):.3f} "
              f"(a valid test under h = 0: mean 0, sd 1)")
        print(f"{'quantity':<26}{'bias':>9}{'sd':>8}{'mean se':>9}{'cover':>9}")
        a = np.array(collected["ate"])
        part = {"ate (vs sample CATE mean)": _row("ate (vs sample CATE mean)", a[:, 0], a[:, 1], a[:, 2])}
        for name, value in {"intercept": 1.0, "X1": h, "X2": -0.5 * h, "X3": 0.0}.items():
            c = np.array(collected[name])
            part[f"projection {name}"] = _row(f"projection {name}", c[:, 0], c[:, 1], value)
        for key, label in (("groups", "groups (vs their rows)"), ("policy", "policy gain, cost 1")):
            g = np.array(collected[key])
            part[label] = float(np.mean((g[:, 0] <= g[:, 2]) & (g[:, 2] <= g[:, 1])))
            print(f"{label:<26}{'':>26}{part[label]:>9.3f}")
        print(f"rejected at 5% ({'power' if h else 'size'}):")
        for name, count in rejections.items():
            part[f"rejects: {name}"] = count / reps
            print(f"  {name:<32}{count / reps:>7.3f}")
        part["seconds_per_rep"] = seconds
        part["pooled_z_mean_sd"] = [float(zs.mean()), float(zs.std(ddof=1))]
        out[f"linear h={h:g}"] = part
    return out


def projection(reps: int, n: int = 2000) -> dict:
    """The projection's coverage on the non-linear SCM with boosted nuisances."""
    out: dict = {}
    # the non-linear SCM: the projection of the exact CATE, boosted nuisances
    big = true_conditional_effects(nonlinear_cate_scm(), "T", "Y", n=1_000_000, draws=2, seed=99)
    design = np.column_stack([np.ones(big.cate.size)] + [big.data[v] - big.data[v].mean() for v in V])
    target = np.linalg.lstsq(design, big.cate, rcond=None)[0]
    print(f"\nnon-linear SCM, boosted nuisances, linear projection; truth {np.round(target, 4).tolist()}")
    print(f"{'quantity':<26}{'bias':>9}{'sd':>8}{'mean se':>9}{'cover':>9}")
    collected = {name: [] for name in ("intercept", *V)}
    start = time.perf_counter()
    for r in range(reps):
        truth = true_conditional_effects(nonlinear_cate_scm(), "T", "Y", n=n, draws=2, seed=1000 + r)
        found = conditional_effects(truth.data, CATE_GRAPH, "T", "Y", modifiers=V, outcome_learner="boosting",
                                    treatment_learner="boosting", n_splits=1, seed=r)
        for name in collected:
            collected[name].append((found.projection[name].estimate, found.projection[name].std_error))
    part = {"seconds_per_rep": (time.perf_counter() - start) / reps, "truth": target.tolist()}
    for j, name in enumerate(("intercept", *V)):
        c = np.array(collected[name])
        part[f"projection {name}"] = _row(f"projection {name}", c[:, 0], c[:, 1], target[j])
    out["nonlinear boosting"] = part
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", default=["reference", "accuracy", "coverage", "projection"],
                        choices=["reference", "accuracy", "coverage", "projection"])
    parser.add_argument("--econml-python", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seeds, reps, forests = (2, 20, False) if args.quick else (args.seeds, args.reps, True)
    result: dict = {"threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                               "MKL_NUM_THREADS")},
                    "python": sys.version.split()[0]}
    if "reference" in args.parts:
        result["reference"] = reference(args.econml_python)
    if "accuracy" in args.parts:
        result["accuracy"] = accuracy(seeds, forests)
    if "coverage" in args.parts:
        result["coverage"] = coverage(reps)
    if "projection" in args.parts:
        result["projection"] = projection(reps)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
