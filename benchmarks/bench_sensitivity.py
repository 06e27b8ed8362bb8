"""Omitted-variable-bias sensitivity (Cinelli & Hazlett 2020): ours against PySensemakr on the same data, and the
benchmark bounds against a hidden confounder whose strength is known.

1. **reference**: linear data with observed covariates ``x1..xk``, a hidden ``u``, treatment ``d`` and outcome
   ``y`` (see :func:`reference_data`); :func:`latentscm.effects.sensitivity_analysis` (``covariates=[x1..xk]``,
   ``benchmark=`` each covariate, ``kd=[1, 2, 3]``) against PySensemakr (``pip install PySensemakr``, module
   ``sensemakr``; a test-only reference, not a dependency) on the same rows. PySensemakr's full pipeline is
   ``Sensemakr(model=<statsmodels OLS fit of y ~ d + x1 + ... + xk>, treatment="d", benchmark_covariates=[...],
   kd=[1, 2, 3])``; when that raises, the failing call and its error are printed and its summary-statistic
   functions are compared instead (``sensitivity_stats(estimate=, se=, dof=)``, ``ovb_partial_r2_bound(r2dxj_x=,
   r2yxj_dx=, kd=)``, ``adjusted_estimate``, ``adjusted_se``), fed with the statsmodels estimate, standard error and
   dof, and each benchmark's partial R^2 from statsmodels t statistics, ``t^2 / (t^2 + dof)`` (the outcome fit and
   a treatment fit ``d ~ x1 + ... + xk``, as PySensemakr's own ``ovb_bounds`` does). Reported: the largest absolute
   difference of RV_q, RV_{q,alpha}, the treatment's partial R^2, the benchmarks' partial R^2, and, over every bound
   (k benchmarks x 3 multiples), of r2dz_x, r2yz_dx, the adjusted estimate and the adjusted standard error; and the
   wall time of each (median of ``--repeats``), ours including its own least-squares fit, PySensemakr's including
   the statsmodels fits it needs.
2. **coverage**: ground truth from random linear SCMs with a hidden confounder ``u`` (:func:`draw_scm`): for each
   replication (seeds 0..R-1), k = 3 observed covariates, ``u``, ``d``, ``y``, the true effect ``beta`` known exactly.
   Regimes: *independent* (``u`` independent of the covariates: the bounds' assumption, Z independent of X_j given
   X_-j), *orthogonal* (the same, with ``u`` residualised on the covariates in the sample, so that the assumption also
   holds exactly in the sample) and *correlated* (``u -> x_j`` with random coefficients, violating it); the regimes of
   a seed share every coefficient and noise draw but those. The analysis adjusts for the three covariates; the
   benchmark X_j is the covariate with the largest ``R^2(d ~ x_j | x_-j)``; the hidden confounder's actual relative
   strengths are ``kd* = R^2(d ~ u | x_-j) / R^2(d ~ x_j | x_-j)`` and ``ky* = R^2(y ~ u | d, x_-j) / R^2(y ~ x_j | d,
   x_-j)`` (Cinelli & Hazlett 2020, their bounds from observed covariates: the definitions
   :func:`~latentscm.effects.sensitivity.benchmark_bounds` uses; its ``r2_dz_x = kd r2_dxj / (1 - r2_dxj)`` is exactly
   ``R^2(d ~ u | x)`` when ``u`` is uncorrelated with ``x_j`` given ``x_-j``). Reported per regime, as shares of the
   replications where the bound exists:

   (i) the bound at (kd*, ky*) holds: ``r2dz_x >= R^2(d ~ u | x) - tol`` and ``r2yz_dx >= R^2(y ~ u | d, x) - tol``
       (the actual values from :func:`~latentscm.effects.confounder_strength`, ``tol = 0.005``);
   (ii) ``beta`` lies between the unadjusted estimate and the bound's adjusted estimate (``reduce=True``), or in the
        bound's adjusted interval; also "either direction": the same with the bias allowed either way
        (``|beta - est| <= bias + half-width``);
   (iii) the same for the 1x bound (kd = ky = 1);
   (iv) the unadjusted 95% interval covers ``beta``.

   Also the medians of kd* and ky*, how often kd* is impossible for the bound (``benchmark_bounds`` raises:
   ``kd* r2_dxj >= 1 - r2_dxj``), how often ``u`` pushed the estimate away from zero (the direction ``reduce=True``
   assumes; sign(est) (est - full) > 0, ``full`` the coefficient of ``d`` in ``y ~ d + x + u``), and a 2 x 2 count
   of "RV_q (q = 1) below min(R^2(d ~ u | x), R^2(y ~ u | d, x))" (then ``u`` is strong enough to remove the whole
   estimate: ``|est - full| >= |est|``) against "the full regression's coefficient has the opposite sign of the
   unadjusted estimate (or is zero)". A consistency check rides along: the adjusted estimate and standard error
   at ``u``'s actual partial R^2 (``SensitivityReport.scenario``) against the full regression's, an exact
   identity in the sample.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sensitivity.py`` (``--parts reference coverage``,
``--n``, ``--k``, ``--repeats``, ``--reps``, ``--rows``, ``--tol``; ``--quick`` for a smoke run: n = 1000 and
10000, 3 repeats, 20 replications). Prints the tables, then one JSON object.

Measured 2026-12-08 at commit 539e546 (the coverage tables; the reference table after the speed-up that followed
it), on this 2-core CPU, one thread; PySensemakr 0.0.8, pandas 3.1.2, numpy 2.4.6, statsmodels 0.15.0:
``OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_sensitivity.py`` (the
defaults: reference k = 5 covariates, data seed 0, n = 1000 / 10000 / 100000, median of 5 repeats; coverage 200
replications, seeds 0-199, 2000 rows each, tol 0.005; 13 s in all).

**PySensemakr's full pipeline fails on this pandas**: ``Sensemakr(model=fit, treatment="d",
benchmark_covariates=[...], kd=[1, 2, 3])`` -> ``ovb_bounds`` -> ``ovb_partial_r2_bound`` -> ``group_partial_r2``
-> ``partial_r2`` raises ``KeyError: 0`` at ``sensitivity_statistics.py:177``, ``return (t_statistic ** 2 /
(t_statistic ** 2 + dof))[0]`` (positional ``[0]`` on a Series indexed by name, which pandas 3 no longer falls
back on). Without benchmarks, ``Sensemakr(model=fit, treatment="d")`` runs. The table therefore compares its
summary-statistic functions (see part 1 above). Largest absolute differences, over RV_q, RV_{q,alpha}, the
treatment's partial R^2, the 5 benchmarks' two partial R^2 and the 15 bounds::

          n  theirs   RV_q  RV_qa R2yd_x  R2 bm r2dz_x r2yz_dx adj est adj se     CI    s ours s theirs  (fits)
       1000 summary  1e-16  2e-16  0e+00  4e-16  1e-15   2e-15   6e-15  1e-16  1e-07    0.0035   0.0154  0.0076
      10000 summary  1e-16  1e-16  0e+00  5e-16  2e-15   3e-15   2e-15  6e-17  3e-10    0.0054   0.0176  0.0101
     100000 summary  0e+00  2e-16  0e+00  4e-16  1e-15   2e-15   2e-15  9e-18  1e-12    0.0394   0.0703  0.0589

(``--parts reference`` at the commit after 539e546 that reads single benchmarks' partial R^2 off t statistics;
``/work/bench_out/s54/bench_sensitivity_reference_after_speedup.txt``.) Every statistic agrees to rounding
(<= 6e-15; estimate and se too, and the dof are equal). The adjusted intervals differ by 1.4e-7 at n = 1000 because
ours take the t quantile with dof - 1 (the full regression's residual dof, as the adjusted standard error does) and
Sensemakr's with dof. Seconds: ours (one call, its own least-squares fits included) against PySensemakr's functions
plus the two statsmodels fits they need ("fits": the formula fit of the outcome and the OLS fit of the treatment
alone). Ours is 4.4x faster at n = 1000, 3.3x at 10000 and 1.8x at 100000. At 539e546 it refitted two least-squares
regressions per benchmark for its partial R^2 (21 ``lstsq`` calls for 5 benchmarks) and was 3.6x *slower* at 100000
(0.30 s against 0.084 s); a single covariate's partial R^2 is ``t^2 / (t^2 + dof)`` of its coefficient in the
outcome fit and in one treatment fit, which is what it now uses (groups still refit).

A check outside this script (not a result of it): with that one line replaced in-process by ``.iloc[0]``, the full
pipeline agrees with ours to 1e-15 at n = 10000, but at n = 1000 its benchmark bounds differ by up to 2.3e-3 in
r2dz_x: ``ovb_partial_r2_bound`` regresses the treatment on the model's design *plus* a second constant column
(``non_treatment.insert(0, 0, 1)`` next to the formula's ``Intercept``), and statsmodels then counts rank 7 for
6 independent columns at n = 1000 (df_resid 993 instead of 994) and returns perturbed t statistics.

Coverage (3 regimes: "orthogonal" is "independent" with ``u`` residualised on the covariates in the sample, so
that the bounds' assumption holds exactly in the sample as well). Shares; (i) over the replications where the
bound at (kd*, ky*) exists, (ii) likewise, (iii) over those where the 1x bound exists; "impossible": the
replications where ``benchmark_bounds`` raises for kd* / for kd = 1::

                impossible      median   (i) bound holds (ii) bound at (kd*, ky*)    (iii) 1x bound
         regime  kd*   1x   kd*   ky*  both    dz    yz   btw  orCI  away  eith   btw  orCI  eith  (iv)  away
    independent    0    0  0.78  1.38 0.680 0.695 0.885 0.495 0.605 0.953 0.970 0.395 0.440 0.695 0.000 0.635
     orthogonal    0    0  0.78  1.40 1.000 1.000 1.000 0.505 0.625 0.984 0.990 0.405 0.445 0.700 0.000 0.635
     correlated   26   46  0.67  0.93 0.707 0.713 0.828 0.460 0.511 0.881 0.856 0.455 0.474 0.870 0.025 0.580

         regime actual R2 d~u|x  y~u|d,x |bound-actual| dz max shortfall dz        yz yz bound exact
    independent           0.297    0.210           1.0e-02          5.3e-02   3.7e-02          0.000
     orthogonal           0.297    0.210           1.4e-16          5.6e-16   7.6e-15          0.465
     correlated           0.182    0.132           1.6e-01          2.8e-01   1.3e-01          0.000

         regime  reps RV<min  flip |b|>=|e| RV>=min  flip |b|>=|e|   identity est      se
    independent   200     31    15       31     169     6       14          4e-15   2e-16
     orthogonal   200     31    15       31     169     6       14          2e-15   1e-16
     correlated   200     23     7       23     177     3        5          4e-15   3e-16

(btw: ``beta`` between the estimate and the adjusted one; orCI: or in the adjusted interval; away: orCI among the
replications where ``u`` pushed the estimate away from zero; eith: either direction; (iv): the unadjusted interval
covers ``beta``; away (last column): the share where ``u`` pushed the estimate away from zero. RV<min: RV_q below
both of ``u``'s partial R^2; flip: the full regression's coefficient has the other sign; ``|b|>=|e|``:
``|est - full| >= |est|``.)

The same with ``--parts coverage --rows 20000`` and ``--rows 200000`` (same seeds; 26 s and 6 min), the bound
check (i) and the gap of the treatment bound::

         rows  regime       (i) both    dz    yz  |bound-actual| dz  max shortfall dz     yz  (ii) eith  (iv)
        20000  independent     0.870 0.885 0.965            3.1e-03           1.5e-02 1.4e-02      0.985 0.000
        20000  orthogonal      1.000 1.000 1.000            1.9e-16           6.7e-16 1.3e-14      0.995 0.000
        20000  correlated      0.695 0.707 0.828            1.8e-01           2.8e-01 1.5e-01      0.793 0.000
       200000  independent     1.000 1.000 1.000            8.0e-04           3.4e-03 2.2e-03      0.985 0.000
       200000  orthogonal      1.000 1.000 1.000            5.6e-16           2.2e-15 7.3e-15      0.985 0.000
       200000  correlated      0.690 0.701 0.833            1.7e-01           2.8e-01 1.4e-01      0.770 0.000

What this shows:

* **The formulas are exact.** With ``u``'s actual partial R^2, ``SensitivityReport.scenario`` reproduces the full
  regression's shift ``|est - full|`` and its standard error to 4e-15 ("identity"), and with the assumption true in
  the sample ("orthogonal") the bound at the true (kd*, ky*) holds in 200 of 200 replications at every size: the
  treatment bound equals ``R^2(d ~ u | x)`` to 1e-15 and the outcome bound is attained exactly in 46% of them (where
  the signs of the partial correlations line up, the triangle inequality behind it is an equality) and conservative in
  the rest.
* **With u drawn independently, the 0.005 check fails in finite samples, not in the population.** At 2000 rows
  the bound holds in 68% of replications: ``u``'s sample correlation with the covariates (sd about 1/sqrt(n))
  moves ``R^2(d ~ u | x)`` by a first-order amount, a median 0.010 from the bound and up to 0.053. The gap shrinks
  as 1/sqrt(n) (0.0031 at 20000 rows, 0.0008 at 200000), and the check passes 87% and 100% of the time.
* **When u also drives the covariates, the bounds fail about 30% of the time at any n** (69-71% hold at 2000,
  20000 and 200000 rows), by up to 0.28 in ``R^2(d ~ u | x)`` (median gap 0.16-0.18), and in 13% of replications
  kd* is beyond what the bound can represent at all (``benchmark_bounds`` raises); in 23% even the 1x bound
  is impossible (the benchmark explains more than half the treatment's residual variance, partly through ``u``):
  ``sensitivity_analysis`` skips such multiples and lists them in ``report.info["impossible"]``.
* **The bound is a statement about the size of the bias, not its direction.** ``u`` pushed the estimate away from zero
  (what ``reduce=True`` assumes) in 64% of the replications; when it pushed it towards zero, ``beta`` lies beyond the
  estimate (up to sampling error), not between it and the reduced estimate, so (ii) "between or in the adjusted
  interval" holds only 61% of the time (independent), against 95% among the replications where the direction is the
  assumed one and 97% when either direction is allowed (99% orthogonal; the rest is the adjusted interval's own 95%
  level where the bound is tight). The 1x bound covers ``beta`` (either direction) 70% of the time (independent;
  median kd* 0.78 and ky* 1.38, so the confounder is often stronger than the benchmark on the outcome). The unadjusted
  95% interval covers ``beta`` in 0 of 200 (independent) and 5 of 200 (correlated) replications: the hidden ``u``
  biases every estimate by many standard errors.
* **RV_q does what it says, one way.** In all 31 (independent) / 23 (correlated) replications where RV_q (q = 1)
  is below both of ``u``'s partial R^2, ``|est - full| >= |est|``: ``u`` is strong enough to remove the whole
  estimate. The full regression's coefficient has the opposite sign in only 15 / 7 of them; in the others ``u``
  pushed the estimate towards zero and adjusting for it more than doubles it. The converse does not hold: in 14
  / 5 replications with RV_q at or above the smaller of the two partial R^2, ``u`` (of unequal strengths) still
  removes the estimate (6 / 3 of them flip its sign).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
import traceback
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from latentscm.effects.sensitivity import (  # noqa: E402
    benchmark_bounds,
    confounder_strength,
    partial_r2,
    sensitivity_analysis,
)

KD = (1, 2, 3)
LEVEL = 0.95


# ------------------------------------------------------------------------------------------------ 1. reference
def reference_data(n: int, k: int = 5, seed: int = 0) -> dict[str, np.ndarray]:
    """``u ~ N(0, 1)``; ``x_j = 0.3 x_{j-1} + e_j``; ``d = sum_j a_j x_j + 0.5 u + e_d``;
    ``y = 1.0 d + sum_j b_j x_j + 0.6 u + e_y`` (all noises N(0, 1); ``a_j`` cycles through 0.5, -0.4, 0.3, 0.2,
    -0.1 and ``b_j`` through 0.3, 0.5, -0.2, 0.4, 0.1). Returns the observed columns y, d, x1..xk (u is dropped)."""
    rng = np.random.default_rng(seed)
    a_cycle, b_cycle = (0.5, -0.4, 0.3, 0.2, -0.1), (0.3, 0.5, -0.2, 0.4, 0.1)
    a = np.array([a_cycle[j % 5] for j in range(k)])
    b = np.array([b_cycle[j % 5] for j in range(k)])
    u = rng.normal(size=n)
    x = np.empty((n, k))
    for j in range(k):
        x[:, j] = rng.normal(size=n) + (0.3 * x[:, j - 1] if j else 0.0)
    d = x @ a + 0.5 * u + rng.normal(size=n)
    y = 1.0 * d + x @ b + 0.6 * u + rng.normal(size=n)
    return {"y": y, "d": d, **{f"x{j + 1}": x[:, j] for j in range(k)}}


def ours_reference(frame, names: list[str]) -> dict:
    report = sensitivity_analysis(frame, treatment="d", outcome="y", covariates=names, benchmark=names,
                                  kd=list(KD), level=LEVEL)
    return {"estimate": report.estimate, "se": report.std_error, "dof": report.dof, "rv_q": report.robustness_value,
            "rv_qa": report.robustness_value_alpha, "r2yd_x": report.partial_r2,
            "benchmarks": {k: tuple(v) for k, v in report.benchmarks.items()},
            "bounds": {s.label: (s.r2_dz_x, s.r2_yz_dx, s.adjusted_estimate, s.adjusted_std_error, s.ci_low,
                                 s.ci_high) for s in report.scenarios}}


def _failure(error: BaseException) -> str:
    """Where in PySensemakr the call failed: the chain of its functions, the innermost line, the error."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "sensemakr" in f.filename]
    chain = " -> ".join(f.name for f in frames)
    last = frames[-1] if frames else None
    where = f" ({os.path.basename(last.filename)}:{last.lineno} `{(last.line or '').strip()}`)" if last else ""
    return f"{chain}{where} raised {type(error).__name__}: {error}"


def theirs_full(frame, names: list[str]) -> dict:
    """PySensemakr's full pipeline: statsmodels formula fit, then ``Sensemakr(model=..., benchmark_covariates=...)``."""
    import sensemakr
    import statsmodels.formula.api as smf

    fit = smf.ols("y ~ d + " + " + ".join(names), data=frame).fit()
    result = sensemakr.Sensemakr(model=fit, treatment="d", benchmark_covariates=list(names), kd=list(KD),
                                 alpha=1 - LEVEL)
    stats = result.sensitivity_stats
    bounds = result.bounds
    return {"estimate": float(stats["estimate"]), "se": float(stats["se"]), "dof": int(stats["dof"]),
            "rv_q": float(stats["rv_q"]), "rv_qa": float(stats["rv_qa"]), "r2yd_x": float(stats["r2yd_x"]),
            "benchmarks": None,
            "bounds": {row.bound_label: (row.r2dz_x, row.r2yz_dx, row.adjusted_estimate, row.adjusted_se,
                                         row.adjusted_lower_CI, row.adjusted_upper_CI)
                       for row in bounds.itertuples()}}


def theirs_summary(frame, names: list[str]) -> dict:
    """PySensemakr's summary-statistic functions, fed with statsmodels' estimate, se, dof and the benchmarks'
    partial R^2 from t statistics (the outcome fit, and a treatment fit as PySensemakr's ``ovb_bounds`` makes)."""
    import sensemakr
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from scipy import stats as scipy_stats

    fit = smf.ols("y ~ d + " + " + ".join(names), data=frame).fit()
    treatment_fit = sm.OLS(frame["d"].to_numpy(), sm.add_constant(frame[names].to_numpy())).fit()
    fit_seconds = time.perf_counter()
    estimate, se, dof = float(fit.params["d"]), float(fit.bse["d"]), int(fit.df_resid)
    stats = sensemakr.sensitivity_stats(estimate=estimate, se=se, dof=dof, q=1, alpha=1 - LEVEL)
    crit = abs(float(scipy_stats.t.ppf((1 - LEVEL) / 2, dof)))  # what Sensemakr/ovb_bounds use for the CI
    benchmarks, bounds = {}, {}
    for j, name in enumerate(names):
        r2y = float(sensemakr.partial_r2(t_statistic=float(fit.tvalues[name]), dof=dof))
        r2d = float(sensemakr.partial_r2(t_statistic=float(treatment_fit.tvalues[j + 1]),
                                         dof=int(treatment_fit.df_resid)))
        benchmarks[name] = (r2d, r2y)
        table = sensemakr.ovb_partial_r2_bound(r2dxj_x=r2d, r2yxj_dx=r2y, kd=list(KD), benchmark_covariates=name)
        dz, yz = table["r2dz_x"].to_numpy(dtype=float), table["r2yz_dx"].to_numpy(dtype=float)
        adjusted = np.asarray(sensemakr.adjusted_estimate(dz, yz, estimate=estimate, se=se, dof=dof), dtype=float)
        adjusted_se = np.asarray(sensemakr.adjusted_se(dz, yz, se=se, dof=dof), dtype=float)
        for i, label in enumerate(table["bound_label"]):
            bounds[label] = (dz[i], yz[i], adjusted[i], adjusted_se[i], adjusted[i] - crit * adjusted_se[i],
                             adjusted[i] + crit * adjusted_se[i])
    return {"estimate": estimate, "se": se, "dof": dof, "rv_q": float(stats["rv_q"]), "rv_qa": float(stats["rv_qa"]),
            "r2yd_x": float(stats["r2yd_x"]), "benchmarks": benchmarks, "bounds": bounds,
            "fit_done": fit_seconds}


def _quiet(function, *args):
    """Run a PySensemakr call without its divide-by-zero RuntimeWarning (RV_q with alpha = 1) and printed notes."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return function(*args)


def _median_seconds(function, repeats: int, *args) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def reference(ns: list[int], k: int, repeats: int, seed: int) -> tuple[list[dict], str | None]:
    import pandas as pd

    try:
        import sensemakr  # noqa: F401
    except ImportError:
        print("PySensemakr is not installed: no reference comparison (pip install PySensemakr).")
        return [], None
    names = [f"x{j + 1}" for j in range(k)]
    rows, failure = [], None
    for n in ns:
        frame = pd.DataFrame(reference_data(n, k, seed))
        ours_reference(frame, names)  # warm-up: the lazy imports
        ours_seconds, ours = _median_seconds(ours_reference, repeats, frame, names)
        mode = "full"
        try:
            theirs = _quiet(theirs_full, frame, names)
        except (Exception, SystemExit) as error:  # noqa: BLE001 - record whatever PySensemakr raises
            failure = failure or _failure(error)
            mode = "summary functions"
        if mode == "full":
            theirs_seconds, theirs = _median_seconds(_quiet, repeats, theirs_full, frame, names)
            fit_seconds = float("nan")
        else:
            _quiet(theirs_summary, frame, names)
            times, fits = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                theirs = _quiet(theirs_summary, frame, names)
                end = time.perf_counter()
                times.append(end - start)
                fits.append(theirs["fit_done"] - start)
            theirs_seconds, fit_seconds = float(np.median(times)), float(np.median(fits))
        assert set(ours["bounds"]) == set(theirs["bounds"]), (sorted(ours["bounds"]), sorted(theirs["bounds"]))
        labels = sorted(ours["bounds"])

        def diff(index: int, labels: list[str] = labels, ours: dict = ours, theirs: dict = theirs) -> float:
            return max(abs(ours["bounds"][b][index] - theirs["bounds"][b][index]) for b in labels)

        bench = (max(abs(ours["benchmarks"][v][i] - theirs["benchmarks"][v][i]) for v in names for i in (0, 1))
                 if theirs["benchmarks"] is not None else float("nan"))
        rows.append({"n": n, "mode": mode, "bounds": len(labels),
                     "estimate": abs(ours["estimate"] - theirs["estimate"]), "se": abs(ours["se"] - theirs["se"]),
                     "dof_equal": ours["dof"] == theirs["dof"],
                     "rv_q": abs(ours["rv_q"] - theirs["rv_q"]), "rv_qa": abs(ours["rv_qa"] - theirs["rv_qa"]),
                     "r2yd_x": abs(ours["r2yd_x"] - theirs["r2yd_x"]), "benchmarks": bench,
                     "r2dz_x": diff(0), "r2yz_dx": diff(1), "adjusted_estimate": diff(2), "adjusted_se": diff(3),
                     "ci": max(diff(4), diff(5)), "capped": sum(ours["bounds"][b][1] >= 1.0 for b in labels),
                     "rv_q_value": ours["rv_q"], "estimate_value": ours["estimate"],
                     "seconds_ours": ours_seconds, "seconds_theirs": theirs_seconds,
                     "seconds_theirs_fits": fit_seconds})
        print(f"reference n={n}: done ({mode})", flush=True)
    return rows, failure


# ------------------------------------------------------------------------------------------------- 2. coverage
COVARIATES = ("x1", "x2", "x3")
REGIMES = ("independent", "orthogonal", "correlated")


def draw_scm(seed: int, n: int, regime: str) -> tuple[dict[str, np.ndarray], float]:
    """One random linear SCM with a hidden confounder, and n rows from it (k = 3 covariates):

    ``u ~ N(0, 1)``; ``x_j = sum_{i<j} c_ij x_i + g_j u + e_j`` with ``c_ij ~ U(-0.5, 0.5)``, ``g_j ~ U(-1, 1)`` in
    the correlated regime and 0 in the independent one; ``d = sum_j a_j x_j + a_u u + e_d``;
    ``y = beta d + sum_j b_j x_j + b_u u + e_y``; ``a_j, b_j ~ U(-1, 1)``, ``a_u, b_u = +-U(0.25, 1)`` (random
    sign), ``beta ~ U(-1, 1)``; all noises N(0, 1). The regime "orthogonal" is "independent" with ``u`` replaced,
    before ``d`` and ``y`` are drawn, by its residual on ``(1, x1, x2, x3)`` in the sample (the bounds' assumption
    then holds exactly in the sample, not only in the population). Every draw comes from ``default_rng(seed)`` in
    a fixed order, so the regimes of a seed share everything but ``g`` (and that residualisation). Returns
    (columns x1, x2, x3, u, d, y; beta)."""
    rng = np.random.default_rng(seed)
    k = len(COVARIATES)
    c = np.tril(rng.uniform(-0.5, 0.5, size=(k, k)), -1)
    g = rng.uniform(-1.0, 1.0, size=k) * (regime == "correlated")
    a, a_u = rng.uniform(-1.0, 1.0, size=k), rng.choice([-1.0, 1.0]) * rng.uniform(0.25, 1.0)
    b, b_u = rng.uniform(-1.0, 1.0, size=k), rng.choice([-1.0, 1.0]) * rng.uniform(0.25, 1.0)
    beta = float(rng.uniform(-1.0, 1.0))
    noise = rng.normal(size=(n, k + 3))
    u = noise[:, 0]
    x = np.zeros((n, k))
    for j in range(k):
        x[:, j] = x[:, :j] @ c[j, :j] + g[j] * u + noise[:, 1 + j]
    if regime == "orthogonal":  # u residualised on (1, x) in the sample: uncorrelated with every x_j exactly
        design = np.column_stack([np.ones(n), x])
        u = u - design @ np.linalg.lstsq(design, u, rcond=None)[0]
    d = x @ a + a_u * u + noise[:, k + 1]
    y = beta * d + x @ b + b_u * u + noise[:, k + 2]
    return {**{v: x[:, j] for j, v in enumerate(COVARIATES)}, "u": u, "d": d, "y": y}, beta


def _bound_exists(dxj: float, yxj: float, kd: float, ky: float) -> bool:
    try:
        benchmark_bounds(dxj, yxj, kd=kd, ky=ky)
    except ValueError:
        return False
    return True


def one_replication(seed: int, n: int, regime: str, tol: float) -> dict:
    data, beta = draw_scm(seed, n, regime)
    observed = {v: data[v] for v in (*COVARIATES, "d", "y")}
    x = np.column_stack([data[v] for v in COVARIATES])
    d, y, u = data["d"], data["y"], data["u"]
    k = len(COVARIATES)
    dxj = [partial_r2(d, x[:, j], np.delete(x, j, axis=1)) for j in range(k)]
    yxj = [partial_r2(y, x[:, j], np.column_stack([d, np.delete(x, j, axis=1)])) for j in range(k)]
    j = int(np.argmax(dxj))
    rest = np.delete(x, j, axis=1)
    kd_star = partial_r2(d, u, rest) / dxj[j]
    ky_star = partial_r2(y, u, np.column_stack([d, rest])) / yxj[j]
    star_ok = _bound_exists(dxj[j], yxj[j], kd_star, ky_star)
    one_ok = _bound_exists(dxj[j], yxj[j], 1.0, 1.0)
    kd, ky = [1.0] * one_ok + [kd_star] * star_ok, [1.0] * one_ok + [ky_star] * star_ok
    options = {"benchmark": [COVARIATES[j]], "kd": kd, "ky": ky} if kd else {}
    report = sensitivity_analysis(observed, treatment="d", outcome="y", covariates=list(COVARIATES), level=LEVEL,
                                  **options)
    scenarios = list(report.scenarios)
    one = scenarios.pop(0) if one_ok else None
    star = scenarios.pop(0) if star_ok else None
    actual_dz, actual_yz = confounder_strength(data, "d", "y", list(COVARIATES), "u")
    # the full regression y ~ 1 + d + x + u: its coefficient and classical standard error
    design = np.column_stack([np.ones(n), d, x, u])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    sigma2 = float(residual @ residual) / (n - design.shape[1])
    full, full_se = float(coef[1]), float(np.sqrt(sigma2 * np.linalg.inv(design.T @ design)[1, 1]))
    exact = report.scenario(actual_dz, actual_yz, "u")
    est = report.estimate

    def covers(s) -> dict:
        half = s.ci_high - s.adjusted_estimate
        between = min(est, s.adjusted_estimate) <= beta <= max(est, s.adjusted_estimate)
        return {"between": between, "between_or_ci": between or s.ci_low <= beta <= s.ci_high,
                "either": abs(beta - est) <= s.bias + half}

    return {
        "kd_star": kd_star, "ky_star": ky_star, "star_ok": star_ok, "one_ok": one_ok,
        "bench_check": (max(abs(report.benchmarks[COVARIATES[j]][0] - dxj[j]),
                            abs(report.benchmarks[COVARIATES[j]][1] - yxj[j])) if kd else 0.0),
        "holds_dz": None if star is None else star.r2_dz_x >= actual_dz - tol,
        "holds_yz": None if star is None else star.r2_yz_dx >= actual_yz - tol,
        "short_dz": None if star is None else actual_dz - star.r2_dz_x,
        "short_yz": None if star is None else actual_yz - star.r2_yz_dx,
        "star": None if star is None else covers(star), "one": None if one is None else covers(one),
        "naive": report.ci_low <= beta <= report.ci_high,
        "away": np.sign(est) * (est - full) > 0,
        "rv_below": report.robustness_value < min(actual_dz, actual_yz),
        "flipped": full * est <= 0, "removed": abs(est - full) >= abs(est),
        "identity_estimate": abs(exact.bias - abs(est - full)), "identity_se": abs(exact.adjusted_std_error - full_se),
        "actual_dz": actual_dz, "actual_yz": actual_yz,
    }


def coverage(reps: int, n: int, tol: float) -> list[dict]:
    rows = []
    for regime in REGIMES:
        start = time.perf_counter()
        results = [one_replication(seed, n, regime, tol) for seed in range(reps)]
        seconds = time.perf_counter() - start
        with_star = [r for r in results if r["star_ok"]]
        with_one = [r for r in results if r["one_ok"]]

        def share(items: list[dict], get) -> float:
            return float(np.mean([bool(get(r)) for r in items])) if items else float("nan")

        def count(get, results: list[dict] = results) -> int:
            return int(sum(bool(get(r)) for r in results))

        rows.append({
            "regime": regime, "reps": reps, "n": n, "seconds": seconds,
            "star_impossible": reps - len(with_star), "one_impossible": reps - len(with_one),
            "kd_star_median": float(np.median([r["kd_star"] for r in results])),
            "ky_star_median": float(np.median([r["ky_star"] for r in results])),
            "r2_dz_median": float(np.median([r["actual_dz"] for r in results])),
            "r2_yz_median": float(np.median([r["actual_yz"] for r in results])),
            "holds": share(with_star, lambda r: r["holds_dz"] and r["holds_yz"]),
            "holds_dz": share(with_star, lambda r: r["holds_dz"]),
            "holds_yz": share(with_star, lambda r: r["holds_yz"]),
            "short_dz_max": max((r["short_dz"] for r in with_star), default=float("nan")),
            "short_yz_max": max((r["short_yz"] for r in with_star), default=float("nan")),
            "yz_exact": share(with_star, lambda r: abs(r["short_yz"]) <= 1e-9),
            "short_dz_abs_median": float(np.median([abs(r["short_dz"]) for r in with_star])) if with_star
            else float("nan"),
            "star_between": share(with_star, lambda r: r["star"]["between"]),
            "star_between_or_ci": share(with_star, lambda r: r["star"]["between_or_ci"]),
            "star_either": share(with_star, lambda r: r["star"]["either"]),
            "star_between_away": share([r for r in with_star if r["away"]], lambda r: r["star"]["between_or_ci"]),
            "one_between": share(with_one, lambda r: r["one"]["between"]),
            "one_between_or_ci": share(with_one, lambda r: r["one"]["between_or_ci"]),
            "one_either": share(with_one, lambda r: r["one"]["either"]),
            "naive": share(results, lambda r: r["naive"]),
            "away": share(results, lambda r: r["away"]),
            "rv_below": count(lambda r: r["rv_below"]),
            "rv_below_flipped": count(lambda r: r["rv_below"] and r["flipped"]),
            "rv_below_removed": count(lambda r: r["rv_below"] and r["removed"]),
            "rv_above_flipped": count(lambda r: not r["rv_below"] and r["flipped"]),
            "rv_above_removed": count(lambda r: not r["rv_below"] and r["removed"]),
            "flipped": count(lambda r: r["flipped"]),
            "bench_check": max(r["bench_check"] for r in results),
            "identity_estimate": max(r["identity_estimate"] for r in results),
            "identity_se": max(r["identity_se"] for r in results),
        })
        print(f"coverage {regime}: done ({seconds:.1f} s)", flush=True)
    return rows


# ------------------------------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="*", default=["reference", "coverage"], choices=["reference", "coverage"])
    parser.add_argument("--n", type=int, nargs="*", default=[1000, 10000, 100000],
                        help="rows of the reference data sets")
    parser.add_argument("--k", type=int, default=5, help="observed covariates of the reference data")
    parser.add_argument("--seed", type=int, default=0, help="seed of the reference data")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (the median is reported)")
    parser.add_argument("--reps", type=int, default=200, help="coverage replications (seeds 0..reps-1)")
    parser.add_argument("--rows", type=int, default=2000, help="rows per coverage replication")
    parser.add_argument("--tol", type=float, default=0.005, help="slack of the bound check (i)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.n, args.repeats, args.reps = [1000, 10000], 3, 20
    out: dict = {"settings": vars(args), "threads": os.environ.get("OMP_NUM_THREADS")}
    if "reference" in args.parts:
        rows, failure = reference(args.n, args.k, args.repeats, args.seed)
        out["reference"], out["sensemakr_failure"] = rows, failure
        if failure:
            print(f"\nPySensemakr's full pipeline failed: {failure}\n-> compared with its summary-statistic "
                  f"functions instead (benchmark partial R^2 from statsmodels t statistics).")
        print(f"\n{'n':>7} {'theirs':>7} {'RV_q':>6} {'RV_qa':>6} {'R2yd_x':>6} {'R2 bm':>6} {'r2dz_x':>6} "
              f"{'r2yz_dx':>7} {'adj est':>7} {'adj se':>6} {'CI':>6}   {'s ours':>7} {'s theirs':>8} {'(fits)':>7}")
        for r in rows:
            mode = "full" if r["mode"] == "full" else "summary"
            print(f"{r['n']:>7} {mode:>7} {r['rv_q']:>6.0e} {r['rv_qa']:>6.0e} {r['r2yd_x']:>6.0e} "
                  f"{r['benchmarks']:>6.0e} {r['r2dz_x']:>6.0e} {r['r2yz_dx']:>7.0e} "
                  f"{r['adjusted_estimate']:>7.0e} {r['adjusted_se']:>6.0e} {r['ci']:>6.0e}   "
                  f"{r['seconds_ours']:>7.4f} {r['seconds_theirs']:>8.4f} {r['seconds_theirs_fits']:>7.4f}")
        if rows:
            print("(largest absolute differences over the treatment statistics and every bound: "
                  f"{rows[0]['bounds']} = {args.k} benchmarks x {len(KD)} multiples; estimate and se differ by at "
                  f"most {max(max(r['estimate'], r['se']) for r in rows):.1e}, dof equal: "
                  f"{all(r['dof_equal'] for r in rows)}; CI: ours uses t with dof - 1, Sensemakr's formula dof)")
    if "coverage" in args.parts:
        rows = coverage(args.reps, args.rows, args.tol)
        out["coverage"] = rows
        print(f"\n{'':>11} {'impossible':>9} {'median':>11} {'(i) bound holds':>17} "
              f"{'(ii) bound at (kd*, ky*)':>23} {'(iii) 1x bound':>17}")
        print(f"{'regime':>11} {'kd*':>4} {'1x':>4} {'kd*':>5} {'ky*':>5} {'both':>5} {'dz':>5} {'yz':>5} "
              f"{'btw':>5} {'orCI':>5} {'away':>5} {'eith':>5} {'btw':>5} {'orCI':>5} {'eith':>5} {'(iv)':>5} "
              f"{'away':>5}")
        for r in rows:
            print(f"{r['regime']:>11} {r['star_impossible']:>4} {r['one_impossible']:>4} {r['kd_star_median']:>5.2f} "
                  f"{r['ky_star_median']:>5.2f} {r['holds']:>5.3f} {r['holds_dz']:>5.3f} {r['holds_yz']:>5.3f} "
                  f"{r['star_between']:>5.3f} {r['star_between_or_ci']:>5.3f} {r['star_between_away']:>5.3f} "
                  f"{r['star_either']:>5.3f} {r['one_between']:>5.3f} {r['one_between_or_ci']:>5.3f} "
                  f"{r['one_either']:>5.3f} {r['naive']:>5.3f} {r['away']:>5.3f}")
        print("(impossible: replications where benchmark_bounds raises; btw: beta between the estimate and the "
              "adjusted one; orCI: or in the adjusted interval; away: orCI among the replications where u pushed "
              "the estimate away from zero; eith: either direction; (iv): the unadjusted interval covers beta; "
              "away (last): share where u pushed the estimate away from zero)")
        print(f"\n{'regime':>11} {'actual R2 d~u|x':>15} {'y~u|d,x':>8} {'|bound-actual| dz':>17} "
              f"{'max shortfall dz':>16} {'yz':>9} {'yz bound exact':>14}")
        for r in rows:
            print(f"{r['regime']:>11} {r['r2_dz_median']:>15.3f} {r['r2_yz_median']:>8.3f} "
                  f"{r['short_dz_abs_median']:>17.1e} {r['short_dz_max']:>16.1e} {r['short_yz_max']:>9.1e} "
                  f"{r['yz_exact']:>14.3f}")
        print("(medians over replications; shortfall = actual partial R^2 - the bound at (kd*, ky*), largest over "
              "replications; exact: |shortfall| <= 1e-9)")
        print(f"\n{'regime':>11} {'reps':>5} {'RV<min':>6} {'flip':>5} {'|b|>=|e|':>8} {'RV>=min':>7} {'flip':>5} "
              f"{'|b|>=|e|':>8}   {'identity est':>12} {'se':>7} {'bench':>7} {'s':>6}")
        for r in rows:
            print(f"{r['regime']:>11} {r['reps']:>5} {r['rv_below']:>6} {r['rv_below_flipped']:>5} "
                  f"{r['rv_below_removed']:>8} {r['reps'] - r['rv_below']:>7} {r['rv_above_flipped']:>5} "
                  f"{r['rv_above_removed']:>8}   {r['identity_estimate']:>12.0e} {r['identity_se']:>7.0e} "
                  f"{r['bench_check']:>7.0e} {r['seconds']:>6.1f}")
        print("(RV<min: RV_q (q = 1) below both of u's partial R^2; flip: the full regression's coefficient has the "
              "other sign (or is 0); |b|>=|e|: |estimate - full| >= |estimate|; identity: largest |bias - |est - full"
              "|| and |adjusted se - full se| at u's actual partial R^2; bench: the report's benchmark R^2 against "
              "partial_r2)")
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
