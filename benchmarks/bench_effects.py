"""Average causal effects (``latentscm.effects``): agreement with DoubleML, coverage against SCM truth, and the
variance of the optimal adjustment set.

Four parts (``--parts``, all by default):

``doubleml``: our cross-fitted estimators against the reference implementation, DoubleML (Bach et al., JMLR 2022),
on the same data, the same folds and the same learners. Data: the generator of ``tests/effects/test_estimators.py``
(seed 7) at n = 1,000 and 10,000 (``--dml-n``): three N(0, 1) covariates Z; for PLR a continuous treatment
``T = Z @ (0.8, -0.5, 0.3) + N(0, 1)``, ``Y = 1.5 T + sin Z0 + Z1^2 + N(0, 1)``; for IRM a binary treatment with a
logistic propensity, ``Y = 2 T + Z0 + 0.5 Z1 T + N(0, 1)``. Folds ``fold_labels(n, 5, seed=3)``, given to DoubleML
through ``set_sample_splitting``. Rows: ``dml_effect`` against ``DoubleMLPLR`` (partialling out) and ``aipw_effect``
(trim 0.01) against ``DoubleMLIRM(trimming_threshold=0.01)`` (ATE score), each with ``linear`` learners
(``LinearRegression``; ``LogisticRegression(C=1e6, max_iter=10_000, tol=1e-8)`` for the propensity) and ``forest``
learners (``RandomForestRegressor`` / ``RandomForestClassifier(n_estimators=100, min_samples_leaf=5,
random_state=0)``), the same objects passed to both. Columns: the two estimates, ``|diff|`` of the estimates and of
the standard errors, seconds per fit (median of ``--timing-runs`` 3; DoubleML's include building its data object)
and ``ref/ours`` (DoubleML's seconds over ours). Skipped, with the reason printed, when ``import doubleml`` fails
(it is not a dependency of latentscm).

``coverage``: ``estimate_effect`` (``adjustment="optimal"``, 5 folds, trim 0.01, ``seed`` = replicate) on
``--replicates`` 200 samples (sample seed = replicate) of two SCMs whose effect is known (``true_effect``, 200,000
draws with common random numbers; exact here, since the effect is constant). Z1, Z2, Z3 ~ N(0, 1).

* ``linear`` (n 500): ``T ~ Bernoulli(sigmoid(0.8 Z1 - 0.6 Z2 + 0.4 Z3))``,
  ``Y = 2 T + 1.5 Z1 - Z2 + 0.5 Z3 + N(0, 1)``: the outcome is linear and the propensity logistic, so every
  ``linear`` method is correctly specified.
* ``nonlinear`` (n 2,000): ``T ~ Bernoulli(sigmoid(1.5 |Z1| - 1.2 + 0.5 Z2))``, ``Y = T + 1.5 Z1^2 + sin(2 Z2) +
  0.5 Z3 + N(0, 1)`` (Z3 a precision variable of Y, in O): the confounding runs through ``|Z1|`` and ``Z1^2``,
  which are uncorrelated with Z1, so linear nuisance models cannot remove it.

Rows: ``naive`` (difference of the arms' means, Welch standard error); ``regression``, ``ipw``, ``aipw``, ``dml``
with ``linear`` learners; ``ipw``, ``aipw``, ``dml`` with the library's ``"forest"`` learners (200 trees, 5 rows a
leaf) for both nuisances. The forest rows run only on the first ``--forest-replicates`` 25 replicates, to keep the
default run under ten minutes on two cores (one forest AIPW fit takes 4 s at n 500 and 7 s at n 2,000). Columns:
replicates R, mean bias, its Monte Carlo standard error (SD / sqrt R), the empirical SD of the estimates, the mean
reported standard error, their ratio, the coverage of the 95 % interval, and seconds per fit. The replicates run in
``--jobs`` 2 worker processes (each single-threaded); every number but the seconds is independent of ``--jobs``.

``adjustment``: Henckel, Perković & Maathuis (JRSS-B 2022): among valid adjustment sets, the optimal set
``O = pa(cn(T, Y)) \\ forb(T, Y)`` gives the OLS estimate of a total effect in a linear SEM the smallest asymptotic
variance. A linear-Gaussian SEM ``I -> T (1.0), Z -> T (0.8), Z -> W (0.8), W -> Y (1.0), T -> M (0.7), M -> Y
(1.0), P -> Y (1.5)``, unit noise variances (effect of T on Y: 0.7): I is an instrument-like parent of T, Z a
confounder whose back-door path runs through W, M a mediator, P a precision variable of Y. O = {W, P}, the minimal
set {Z}, the parents {I, Z}; the row ``all`` adjusts for every valid covariate {I, Z, W, P} (an explicit list).
``estimate_effect(method="regression")`` (OLS, HC1 standard error) on ``--replicates`` 200 samples of
``--adjust-n`` 500 rows. Columns: bias, empirical SD, mean SE, coverage, SD over O's SD, and the asymptotic SD
``sqrt(var(Y | T, Z) / var(T | Z) / n)`` from the population covariance and its ratio to O's. Then random DAGs
(``random_dag(8, edge_prob=0.35)``, seeds from 0, weights ±U(0.5, 1.5), unit noise): every (treatment, outcome)
pair with the outcome a descendant where O differs from the minimal or the parents set, until ``--dag-pairs`` 30
pairs; ``--dag-replicates`` 100 samples of 500 rows per graph, all pairs of a graph estimated on the same samples.
The table summarises the 30 pairs: mean and smallest coverage per set, median and range of SD / SD(O), empirical
and asymptotic.

``worlds``: :func:`latentscm.effects.world_effect` on procedural worlds as shipped (2,000 samples; the contrast the
treatment's sampled quartiles; ``--world-seeds`` 3 seeds for sample, folds and truth), against the world's exact
effect (``true_effect`` on ``world.scm``, 100,000 draws): pendulum (light and angle on the shadow), flow (ball size
and water height on the flow; the mediator is never adjusted for), glyphs (thickness on intensity) and ild-linear
(z3 on z5), with ``dml`` and ``regression`` (linear learners) and ``regression`` with forests (20 bootstrap draws).

Every random thing is seeded: data, folds (``fold_labels``), learners (``random_state``), graphs and weights.
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` are set to 1 at the top of this file, before
numpy is imported.

    PYTHONPATH=/path/to/doubleml-0.11.4 .venv/bin/python benchmarks/bench_effects.py
    .venv/bin/python benchmarks/bench_effects.py --quick   # about 40 s
    .venv/bin/python benchmarks/bench_effects.py --parts coverage --forest-replicates 100 --jobs 2

Measured 2026-12-07 on a 2-core CPU (the IPW rows: the rerun ``--parts coverage``, 365 s; a third run after
the truncation fix of the IPW sandwich gave every number the same to three decimals, 334 s), no GPU, BLAS and
OpenMP pinned to one thread per process, ``--jobs 2``;
numpy 2.4.6, scikit-learn 1.9.1, DoubleML 0.11.4, pandas 3.1.1. The full default run
took 481 s (``--quick``: 37 s). A first run (without the ``ipw forest`` rows), while other jobs loaded the
machine, gave the same numbers bit for bit except the seconds::

    [doubleml] seconds: median of 3
    model learner      n       ours        ref   |diff| |SE diff|  s ours   s ref ref/ours
      PLR  linear   1000   1.505536   1.505536  2.2e-16   4.2e-17    0.01    0.02     2.18
      IRM  linear   1000   1.977684   1.977684  0.0e+00   2.8e-17    0.03    0.04     1.67
      PLR  forest   1000   1.447543   1.447543  0.0e+00   5.6e-17    1.73    1.80     1.04
      IRM  forest   1000   1.992153   1.992153  0.0e+00   6.9e-17    2.21    2.19     0.99
      PLR  linear  10000   1.483802   1.483802  0.0e+00   1.0e-17    0.02    0.07     3.48
      IRM  linear  10000   1.949511   1.949511  0.0e+00   1.7e-17    0.05    0.13     2.79
      PLR  forest  10000   1.489684   1.489684  0.0e+00   2.9e-17   14.99   15.06     1.00
      IRM  forest  10000   1.954683   1.954683  0.0e+00   1.1e-16   11.06   11.18     1.01

    [coverage] 200 replicates (forest rows: the first 25)
    world linear, n 500; true effect 2.0000
        method learner    R     bias (mc se)  emp SD mean SE  SE/SD  cover  s/fit
         naive       -  200    1.606   0.012   0.176   0.176   1.00  0.000   0.00
    regression  linear  200   -0.006   0.008   0.107   0.100   0.93  0.955   0.02
           ipw  linear  200    0.003   0.011   0.162   0.147   0.90  0.925   0.00
          aipw  linear  200   -0.005   0.009   0.122   0.112   0.92  0.955   0.02
           dml  linear  200   -0.005   0.008   0.108   0.099   0.92  0.950   0.01
           ipw  forest   25   -0.329   0.057   0.287   0.345   1.20  1.000   1.71
          aipw  forest   25   -0.078   0.048   0.240   0.238   0.99  0.920   4.27
           dml  forest   25    0.043   0.022   0.111   0.106   0.96  0.920   2.89
    world nonlinear, n 2000; true effect 1.0000
        method learner    R     bias (mc se)  emp SD mean SE  SE/SD  cover  s/fit
         naive       -  200    1.475   0.007   0.097   0.107   1.10  0.000   0.00
    regression  linear  200    1.420   0.007   0.097   0.108   1.11  0.000   0.00
           ipw  linear  200    1.417   0.007   0.098   0.108   1.11  0.000   0.01
          aipw  linear  200    1.423   0.007   0.099   0.110   1.11  0.000   0.03
           dml  linear  200    1.424   0.007   0.098   0.108   1.10  0.000   0.01
           ipw  forest   25   -0.472   0.040   0.200   0.248   1.24  0.560   4.24
          aipw  forest   25   -0.078   0.025   0.126   0.147   1.16  1.000   7.43
           dml  forest   25   -0.012   0.012   0.060   0.051   0.86  0.920   5.96

    [adjustment] n 500, 200 replicates; effect of T on Y 0.700
         set      members    bias  emp SD mean SE  cover SD/SD(O) asym SD asym ratio
     optimal          W,P  -0.002  0.0397  0.0410  0.945    1.000  0.0409      1.000
     minimal            Z   0.005  0.0638  0.0729  0.965    1.605  0.0725      1.771
     parents          I,Z   0.004  0.0948  0.1028  0.975    2.387  0.1025      2.505
         all      I,Z,W,P  -0.003  0.0616  0.0635  0.945    1.551  0.0632      1.546
    random DAGs (seeds 0-3): 30 pairs, n 500, 100 replicates
         set mean cover min cover SD/SD(O) median      [min, max] asym ratio median      [min, max]
     optimal      0.943     0.900           1.000  [1.000, 1.000]             1.000  [1.000, 1.000]
     minimal      0.942     0.900           1.741  [1.000, 4.330]             1.654  [1.000, 4.381]
     parents      0.943     0.890           1.780  [1.015, 4.330]             1.669  [1.016, 4.381]
    O has the smallest asymptotic SD in 30/30 pairs (strictly smaller than some set in 30); the smallest empirical
    SD in 30/30

    [worlds] 3 seeds; the truth column is the mean of the seeds' true effects (their contrasts differ)
         world               treatment -> outcome     method learner    truth  mean est  mean err  mean se  cover  s/fit
      pendulum  light_position -> shadow_position        dml  linear    4.888     5.206    +0.318    0.011   0/3     2.1
      pendulum  light_position -> shadow_position regression  linear    4.888     5.206    +0.318    0.011   0/3     0.4
      pendulum  light_position -> shadow_position regression  forest    4.888     4.838    -0.050    0.068   3/3     9.8
      pendulum    pendulum_angle -> shadow_length        dml  linear   -0.361    -0.250    +0.110    0.108   3/3     0.4
      pendulum    pendulum_angle -> shadow_length regression  linear   -0.361    -0.251    +0.110    0.108   3/3     0.5
      pendulum    pendulum_angle -> shadow_length regression  forest   -0.361    -0.318    +0.043    0.112   3/3    10.4
          flow                  ball_size -> flow        dml  linear    0.478     0.499    +0.021    0.024   2/3     0.7
          flow                  ball_size -> flow regression  linear    0.478     0.499    +0.021    0.024   2/3     0.6
          flow                  ball_size -> flow regression  forest    0.478     0.451    -0.027    0.097   3/3     8.5
          flow               water_height -> flow        dml  linear    1.060     1.075    +0.015    0.007   1/3     0.7
          flow               water_height -> flow regression  linear    1.060     1.075    +0.015    0.007   1/3     0.6
          flow               water_height -> flow regression  forest    1.060     1.058    -0.002    0.010   3/3    10.5
        glyphs             thickness -> intensity        dml  linear   72.093    58.372   -13.721    0.778   0/3     0.4
        glyphs             thickness -> intensity regression  linear   72.093    58.363   -13.730    0.779   0/3     0.4
        glyphs             thickness -> intensity regression  forest   72.093    75.075    +2.982   10.570   3/3    15.2
    ild-linear                           z3 -> z5        dml  linear   -2.467    -2.467    +0.000    0.019   3/3     0.1
    ild-linear                           z3 -> z5 regression  linear   -2.467    -2.467    -0.000    0.019   3/3     0.1
    ild-linear                           z3 -> z5 regression  forest   -2.467    -2.483    -0.016    0.103   3/3    21.0

Findings:

* **Our DML and AIPW are DoubleML's, to rounding.** With the same folds and learners the estimates differ by at
  most 2.2e-16 and the standard errors by at most 1.1e-16, for linear and forest learners, at n 1,000 and 10,000.
  With linear learners we are 1.7-3.5x faster (DoubleML's data object and bookkeeping dominate a 10-50 ms fit);
  with forests both spend their time in the same scikit-learn fits and take the same time (ratios 0.99-1.04).
* **Correctly specified, the linear methods are unbiased and cover** (world ``linear``): regression, AIPW and DML
  have biases within 0.006 (at most one Monte Carlo s.e.) and coverage 0.950-0.955; their standard errors are
  7-8 % below the empirical SD at n 500, which the coverage absorbs. IPW (rerun row, see below) covers 0.925.
  The naive contrast is off by 1.61 and never covers.
* **IPW** (rows rerun after two fixes this table first showed; the other rows are unchanged bit for bit). The first
  run's IPW standard error treated the fitted propensity as known: 1.65x the empirical SD, coverage 1.000. It is now
  the stacked M-estimation sandwich of the logistic fit (Lunceford & Davidian 2004): SE/SD 0.90, coverage 0.925 at n
  500 (a second review measured SE/SD 1.00 and coverage 0.945 at n 2,000 over 400 replicates). IPW's SD (0.162) stays
  50 % above regression's and DML's (0.107-0.108). The first run's forest IPW fitted the propensity on all rows and
  predicted the same rows (in-sample propensities 0.002-0.999), and was biased by +0.84 and +0.75 (coverage 0). It is
  now cross-fitted and warns: biases -0.33 and -0.47, coverage 1.00 and 0.56 out of 25. Forest propensities are not
  good enough for IPW at these n either way; the warning points to ``aipw``.
* **Misspecified, every linear method fails together** (world ``nonlinear``): regression, IPW, AIPW and DML are
  all 1.42 above the truth of 1 (naive 1.48), with coverage 0 over 200 replicates: a linear model of Z removes
  only the small confounding through Z2; double robustness does not help when both models are wrong.
* **Forests remove it, DML better than AIPW.** DML with forests: bias -0.012 ± 0.012 (n 2,000), coverage 0.92
  (23/25), SE/SD 0.86. AIPW with forests: bias -0.078 ± 0.025, about 0.6 of its SD and three Monte Carlo s.e.
  from zero, yet 25/25 intervals cover because its SE is 16 % above its SD; its SD is twice DML's (0.126 against
  0.060). In world ``linear`` (n 500) forests cost precision: AIPW's SD 0.240 against 0.122 with linear learners,
  DML's 0.111 against 0.108, and both cover 23/25; DML's bias +0.043 ± 0.022 is two Monte Carlo s.e. from zero.
  With 25 replicates the forest coverages are known only to about ±5 percentage points.
* **O gives the smallest variance, as Henckel et al. prove.** On the hand-built SEM the empirical SD under O is
  0.040, against 0.064 (minimal, 1.6x), 0.095 (parents, 2.4x: the instrument I inflates it) and 0.062 (all valid
  covariates, 1.55x); the asymptotic ratios are 1.77, 2.51 and 1.55. The minimal set's empirical SD (0.0638) is 12 %
  below its asymptotic value (0.0725; about 2.4 standard errors of an SD from 200 replicates), so its empirical
  ratio understates the theory. All four sets cover (0.945-0.975) and are unbiased. On 30 random-DAG pairs O has
  the smallest empirical SD in every pair (ties where the minimal set is O); the median penalty of the minimal and
  the parents sets is 1.74x and 1.78x in SD (up to 4.3x), close to the asymptotic 1.65x and 1.67x. Coverage is
  0.94 for every set, slightly below 0.95 (HC1 at n 500; smallest pair 0.89 of 100).
* **On the worlds, a linear outcome model fails where the mechanism bends** (the ``worlds`` part, a separate run of
  127 s; 3 seeds, so coverages are counts, not rates). The worlds' roots are independent, so adjustment buys
  precision, not unbiasedness; the errors come from the effect's shape. DML's one slope and the linear g-formula
  miss the pendulum's light -> shadow effect by +0.32 (of 4.89; 0/3 covered) and the glyphs' thickness ->
  intensity by -13.7 (of 72.1; 0/3); the forest g-formula is within 0.05 and 3.0 and covers 3/3 in every pair,
  with wider intervals. Where the world is linear (ild-linear z3 -> z5) all three are exact (error <= 0.016). Flow's
  ball size -> flow is mediated by water height, which the optimal set never adjusts for; the linear fits are off
  by 4 % (ball size, 2/3 covered) and 1.4 % (water height -> flow: error +0.015 against an s.e. of 0.007, 1/3).
  The pendulum's angle -> shadow length is off by 30 % under the linear fits (-0.25 against -0.36), yet covered
  3/3: its standard error (0.108) is as large as the error.
"""

from __future__ import annotations

import os

# One BLAS / OpenMP thread per process, set before numpy is imported, so that timings are comparable and the
# --jobs worker processes do not oversubscribe the cores.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from functools import cache, partial  # noqa: E402

import numpy as np  # noqa: E402

from latentscm.effects import (  # noqa: E402
    aipw_effect,
    dml_effect,
    estimate_effect,
    fold_labels,
    minimal_adjustment_set,
    optimal_adjustment_set,
    parents_adjustment_set,
    true_effect,
    world_effect,
)
from latentscm.graph import CausalGraph  # noqa: E402
from latentscm.scm import SCM, Functional, LinearGaussian, Normal, Uniform, random_dag  # noqa: E402

PARTS = ("doubleml", "coverage", "adjustment", "worlds")
# The "ipw forest" rows measure what this warning says; it would print once per replicate.
warnings.filterwarnings("ignore", message=".*IPW with the flexible propensity model")
Z95 = 1.959963984540054


# ----------------------------------------------------------------------------------------------- part 1: DoubleML
def doubleml_data(n: int, seed: int) -> dict[str, np.ndarray]:
    """The data of ``tests/effects/test_estimators.py`` (seed 7, n 400 there) at any ``n``: three N(0, 1)
    covariates; a continuous treatment (PLR) and a binary one with a logistic propensity (IRM)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    t_c = z @ [0.8, -0.5, 0.3] + rng.normal(size=n)
    y_c = 1.5 * t_c + np.sin(z[:, 0]) + z[:, 1] ** 2 + rng.normal(size=n)
    p = 1 / (1 + np.exp(-(z @ [0.7, -0.4, 0.2])))
    t_b = (rng.uniform(size=n) < p).astype(float)
    y_b = 2.0 * t_b + z[:, 0] + 0.5 * z[:, 1] * t_b + rng.normal(size=n)
    return {"z": z, "t_c": t_c, "y_c": y_c, "t_b": t_b, "y_b": y_b}


def learner_pair(name: str):
    """(regressor, classifier) given to both libraries: the same scikit-learn objects, so the fits are equal."""
    if name == "linear":
        from sklearn.linear_model import LinearRegression, LogisticRegression

        return LinearRegression(), LogisticRegression(C=1e6, max_iter=10_000, tol=1e-8)
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    options = {"n_estimators": 100, "min_samples_leaf": 5, "random_state": 0, "n_jobs": 1}
    return RandomForestRegressor(**options), RandomForestClassifier(**options)


def timed(function, runs: int):
    """``function()``'s result and the median of ``runs`` wall-clock timings."""
    seconds, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return result, statistics.median(seconds)


def ours_fit(model: str, y: np.ndarray, t: np.ndarray, z: np.ndarray, folds: np.ndarray, regressor, classifier
             ) -> tuple[float, float]:
    """Our (estimate, std_error): ``dml_effect`` for PLR, ``aipw_effect`` (trim 0.01) for IRM."""
    if model == "PLR":
        return dml_effect(y, t, z, folds, (0.0, 1.0), outcome_learner=regressor, treatment_learner=regressor)[:2]
    return aipw_effect(y, t == 1, z, folds, outcome_learner=regressor, treatment_learner=classifier, trim=0.01)[:2]


def reference_fit(model: str, y: np.ndarray, t: np.ndarray, z: np.ndarray, splits, regressor, classifier
                  ) -> tuple[float, float]:
    """DoubleML's (coef, se) on the same data and folds (its data object built inside, as a user would)."""
    import doubleml
    import pandas as pd

    frame = pd.DataFrame(np.column_stack([y, t, z]), columns=["y", "d", "z0", "z1", "z2"])
    data = doubleml.DoubleMLData(frame, "y", "d", ["z0", "z1", "z2"])
    if model == "PLR":
        fit = doubleml.DoubleMLPLR(data, regressor, regressor, n_folds=5)
    else:
        fit = doubleml.DoubleMLIRM(data, regressor, classifier, n_folds=5, trimming_threshold=0.01)
    fit.set_sample_splitting(splits)
    fit.fit()
    return float(fit.coef[0]), float(fit.se[0])


def run_doubleml(args: argparse.Namespace) -> None:
    try:
        import doubleml
        import pandas  # noqa: F401
    except ImportError as error:
        print(f"[doubleml] skipped: cannot import the reference ({error}); put DoubleML 0.11.4 on PYTHONPATH.\n")
        return
    print(f"[doubleml] ours vs DoubleML {doubleml.__version__} (DoubleMLPLR; DoubleMLIRM, trimming_threshold=0.01): "
          f"same data, same 5 folds (set_sample_splitting), same learners; seconds: median of {args.timing_runs}")
    print(f"{'model':>5} {'learner':>7} {'n':>6} {'ours':>10} {'ref':>10} {'|diff|':>8} {'|SE diff|':>9} "
          f"{'s ours':>7} {'s ref':>7} {'ref/ours':>8}")
    for n in args.dml_n:
        data = doubleml_data(n, 7)
        folds = fold_labels(n, 5, 3)
        splits = [[(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(5)]]
        for learner in ("linear", "forest"):
            regressor, classifier = learner_pair(learner)
            for model in ("PLR", "IRM"):
                y, t = (data["y_c"], data["t_c"]) if model == "PLR" else (data["y_b"], data["t_b"])
                inputs = (model, y, t, data["z"])
                (ours_est, ours_se), ours_sec = timed(partial(ours_fit, *inputs, folds, regressor, classifier),
                                                      args.timing_runs)
                (ref_est, ref_se), ref_sec = timed(partial(reference_fit, *inputs, splits, regressor, classifier),
                                                   args.timing_runs)
                print(f"{model:>5} {learner:>7} {n:>6} {ours_est:10.6f} {ref_est:10.6f} {abs(ours_est - ref_est):8.1e} "
                      f"{abs(ours_se - ref_se):9.1e} {ours_sec:7.2f} {ref_sec:7.2f} {ref_sec / ours_sec:8.2f}",
                      flush=True)
    print()


# ----------------------------------------------------------------------------------------------- part 2: coverage
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


#: world -> (rows per replicate, description).
WORLDS = {
    "linear": (500, "T ~ Bern(sigmoid(0.8 Z1 - 0.6 Z2 + 0.4 Z3)), Y = 2 T + 1.5 Z1 - Z2 + 0.5 Z3 + N(0, 1)"),
    "nonlinear": (2000, "T ~ Bern(sigmoid(1.5 |Z1| - 1.2 + 0.5 Z2)), Y = T + 1.5 Z1^2 + sin(2 Z2) + 0.5 Z3 + N(0, 1)"),
}


@cache
def coverage_world(name: str) -> tuple[CausalGraph, SCM]:
    """The graph and SCM of a coverage world (Z1, Z2, Z3 ~ N(0, 1); see :data:`WORLDS`)."""
    graph = CausalGraph.from_text("Z1 -> T; Z2 -> T; Z3 -> T; Z1 -> Y; Z2 -> Y; Z3 -> Y; T -> Y"
                                  if name == "linear" else "Z1 -> T; Z2 -> T; Z1 -> Y; Z2 -> Y; Z3 -> Y; T -> Y")
    roots = {v: LinearGaussian() for v in ("Z1", "Z2", "Z3")}
    if name == "linear":
        t = Functional(lambda p, u: (u < _sigmoid(0.8 * p[:, 0] - 0.6 * p[:, 1] + 0.4 * p[:, 2])).astype(float),
                       Uniform(0.0, 1.0), parent_names=("Z1", "Z2", "Z3"))
        y = Functional(lambda p, u: 2.0 * p[:, 3] + 1.5 * p[:, 0] - p[:, 1] + 0.5 * p[:, 2] + u, Normal(0.0, 1.0),
                       parent_names=("Z1", "Z2", "Z3", "T"))
    else:
        t = Functional(lambda p, u: (u < _sigmoid(1.5 * np.abs(p[:, 0]) - 1.2 + 0.5 * p[:, 1])).astype(float),
                       Uniform(0.0, 1.0), parent_names=("Z1", "Z2"))
        y = Functional(lambda p, u: p[:, 3] + 1.5 * p[:, 0] ** 2 + np.sin(2.0 * p[:, 1]) + 0.5 * p[:, 2] + u,
                       Normal(0.0, 1.0), parent_names=("Z1", "Z2", "Z3", "T"))
    return graph, SCM(graph, {**roots, "T": t, "Y": y})


#: (row label, method, learner); the learner is used for both nuisances.
COVERAGE_ROWS = (("naive", "naive", None), ("regression", "regression", "linear"), ("ipw", "ipw", "linear"),
                 ("aipw", "aipw", "linear"), ("dml", "dml", "linear"), ("ipw", "ipw", "forest"),
                 ("aipw", "aipw", "forest"), ("dml", "dml", "forest"))


def coverage_replicate(task: tuple[str, int, float, bool]) -> list[tuple[str, str, float, float, bool, float]]:
    """One replicate of one world: ``(label, learner, estimate, std_error, covers, seconds)`` for each row."""
    world, replicate, truth, with_forest = task
    graph, scm = coverage_world(world)
    data = scm.sample(WORLDS[world][0], seed=replicate)
    out = []
    for label, method, learner in COVERAGE_ROWS:
        if learner == "forest" and not with_forest:
            continue
        start = time.perf_counter()
        if method == "naive":
            treated = data["T"] == 1
            y1, y0 = data["Y"][treated], data["Y"][~treated]
            estimate = float(y1.mean() - y0.mean())
            std_error = float(np.sqrt(y1.var(ddof=1) / y1.size + y0.var(ddof=1) / y0.size))
            covers = abs(estimate - truth) <= Z95 * std_error
        else:
            result = estimate_effect(data, graph, "T", "Y", method=method, outcome_learner=learner,
                                     treatment_learner=learner, seed=replicate)
            estimate, std_error, covers = result.estimate, result.std_error, result.covers(truth)
        out.append((label, learner or "-", estimate, std_error, bool(covers), time.perf_counter() - start))
    return out


def run_coverage(args: argparse.Namespace) -> None:
    print(f"[coverage] {args.replicates} replicates (forest rows: the first {args.forest_replicates}); "
          f"data seed = replicate, estimate_effect(seed=replicate), adjustment='optimal' (Z1, Z2, Z3); "
          f"{args.jobs} worker process(es)")
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for world, (n, description) in WORLDS.items():
            graph, scm = coverage_world(world)
            truth, mc_error = true_effect(scm, "T", "Y", n=200_000, seed=12345)
            print(f"world {world}, n {n}: {description}; true effect {truth:.4f} (Monte Carlo s.e. {mc_error:.1e})")
            print(f"{'method':>10} {'learner':>7} {'R':>4} {'bias':>8} {'(mc se)':>7} {'emp SD':>7} {'mean SE':>7} "
                  f"{'SE/SD':>6} {'cover':>6} {'s/fit':>6}")
            tasks = [(world, r, truth, r < args.forest_replicates) for r in range(args.replicates)]
            rows: dict[tuple[str, str], list[tuple[float, float, bool, float]]] = {}
            for result in pool.map(coverage_replicate, tasks):
                for label, learner, estimate, std_error, covers, seconds in result:
                    rows.setdefault((label, learner), []).append((estimate, std_error, covers, seconds))
            for (label, learner), values in rows.items():
                estimates = np.array([v[0] for v in values])
                errors = np.array([v[1] for v in values])
                bias, sd = estimates.mean() - truth, estimates.std(ddof=1)
                print(f"{label:>10} {learner:>7} {len(values):>4} {bias:8.3f} {sd / np.sqrt(len(values)):7.3f} "
                      f"{sd:7.3f} {errors.mean():7.3f} {errors.mean() / sd:6.2f} "
                      f"{np.mean([v[2] for v in values]):6.3f} {np.mean([v[3] for v in values]):6.2f}", flush=True)
    print()


# --------------------------------------------------------------------------------------------- part 3: adjustment
#: The hand-built linear-Gaussian SEM: edge -> weight (all noises N(0, 1)). I is an instrument-like parent of T,
#: Z a confounder whose path to Y runs through W, M a mediator, P a precision variable of Y.
ADJUST_EDGES = {("I", "T"): 1.0, ("Z", "T"): 0.8, ("Z", "W"): 0.8, ("W", "Y"): 1.0, ("T", "M"): 0.7,
                ("M", "Y"): 1.0, ("P", "Y"): 1.5}


def linear_scm(graph: CausalGraph, weights: dict[tuple[str, str], float]) -> SCM:
    mechanisms = {}
    for v in graph.nodes:
        parents = graph.parents(v)
        mechanisms[v] = LinearGaussian({p: weights[(p, v)] for p in parents}) if parents else LinearGaussian()
    return SCM(graph, mechanisms)


def total_effects(graph: CausalGraph, weights: dict[tuple[str, str], float]) -> np.ndarray:
    """``(I - B)^{-1}`` of the linear SEM: ``[i, j]`` is the total effect of node i on node j."""
    d = len(graph.nodes)
    b = np.zeros((d, d))
    for (a, c), w in weights.items():
        b[graph.index(a), graph.index(c)] = w
    return np.linalg.inv(np.eye(d) - b)


def covariance(graph: CausalGraph, weights: dict[tuple[str, str], float]) -> np.ndarray:
    """The population covariance of the linear SEM with unit noise variances, in ``graph.nodes`` order."""
    total = total_effects(graph, weights)
    return total.T @ total


def asymptotic_sd(cov: np.ndarray, graph: CausalGraph, x: str, y: str, z: tuple[str, ...], n: int) -> float:
    """The standard deviation of the OLS coefficient of ``x`` in ``y ~ x + z`` at ``n`` rows (homoscedastic):
    ``sqrt(var(y | x, z) / var(x | z) / n)``."""
    def residual(target: int, given: list[int]) -> float:
        if not given:
            return float(cov[target, target])
        return float(cov[target, target] - cov[target, given] @ np.linalg.solve(cov[np.ix_(given, given)],
                                                                                 cov[given, target]))
    i, j, rest = graph.index(x), graph.index(y), [graph.index(v) for v in z]
    return float(np.sqrt(residual(j, [i, *rest]) / residual(i, rest) / n))


def run_adjustment(args: argparse.Namespace) -> None:
    n, replicates = args.adjust_n, args.replicates
    graph = CausalGraph.from_text("; ".join(f"{a} -> {b}" for a, b in ADJUST_EDGES))
    scm = linear_scm(graph, ADJUST_EDGES)
    truth, _ = true_effect(scm, "T", "Y", n=1000, seed=0)
    cov = covariance(graph, ADJUST_EDGES)
    kinds = {"optimal": "optimal", "minimal": "minimal", "parents": "parents", "all": ["I", "Z", "W", "P"]}
    sets = {"optimal": optimal_adjustment_set(graph, "T", "Y"), "minimal": minimal_adjustment_set(graph, "T", "Y"),
            "parents": parents_adjustment_set(graph, "T", "Y"), "all": ("I", "Z", "W", "P")}
    print(f"[adjustment] OLS (method='regression', HC1 s.e.) on a linear-Gaussian SEM {graph.edges}, weights "
          f"{list(ADJUST_EDGES.values())}, unit noise; effect of T on Y {truth:.3f}; n {n}, {replicates} replicates")
    estimates: dict[str, list[float]] = {k: [] for k in kinds}
    errors: dict[str, list[float]] = {k: [] for k in kinds}
    covered: dict[str, list[bool]] = {k: [] for k in kinds}
    for r in range(replicates):
        data = scm.sample(n, seed=r)
        for label, kind in kinds.items():
            result = estimate_effect(data, graph, "T", "Y", method="regression", adjustment=kind, seed=r)
            assert result.adjustment_set == sets[label], (label, result.adjustment_set)
            estimates[label].append(result.estimate)
            errors[label].append(result.std_error)
            covered[label].append(result.covers(truth))
    base_sd = np.std(estimates["optimal"], ddof=1)
    base_theory = asymptotic_sd(cov, graph, "T", "Y", sets["optimal"], n)
    print(f"{'set':>8} {'members':>12} {'bias':>7} {'emp SD':>7} {'mean SE':>7} {'cover':>6} {'SD/SD(O)':>8} "
          f"{'asym SD':>7} {'asym ratio':>10}")
    for label in kinds:
        sd = np.std(estimates[label], ddof=1)
        theory = asymptotic_sd(cov, graph, "T", "Y", sets[label], n)
        print(f"{label:>8} {','.join(sets[label]) or '-':>12} {np.mean(estimates[label]) - truth:7.3f} {sd:7.4f} "
              f"{np.mean(errors[label]):7.4f} {np.mean(covered[label]):6.3f} {sd / base_sd:8.3f} {theory:7.4f} "
              f"{theory / base_theory:10.3f}", flush=True)
    if args.dag_pairs > 0:
        run_random_dags(args)
    print()


def run_random_dags(args: argparse.Namespace) -> None:
    """Random 8-node DAGs: every (x, y) with y a descendant of x where O differs from the minimal or the parents
    set, up to ``--dag-pairs`` pairs; the same replicates' data for all pairs of a graph."""
    n, replicates = args.adjust_n, args.dag_replicates
    cases = []  # (graph, scm, covariance, total effects, [(x, y, {label: set})])
    total_pairs, seed = 0, 0
    while total_pairs < args.dag_pairs and seed < 1000:
        graph = random_dag(8, edge_prob=0.35, seed=seed)
        rng = np.random.default_rng(seed + 1000)
        weights = {e: float(rng.uniform(0.5, 1.5) * rng.choice([-1.0, 1.0])) for e in graph.edges}
        pairs = []
        for x in graph.nodes:
            for y in sorted(graph.descendants(x)):
                sets = {"optimal": optimal_adjustment_set(graph, x, y), "minimal": minimal_adjustment_set(graph, x, y),
                        "parents": parents_adjustment_set(graph, x, y)}
                if len(set(sets.values())) > 1 and total_pairs + len(pairs) < args.dag_pairs:
                    pairs.append((x, y, sets))
        if pairs:
            cases.append((graph, linear_scm(graph, weights), covariance(graph, weights),
                          total_effects(graph, weights), pairs))
            total_pairs += len(pairs)
        seed += 1
    labels = ("optimal", "minimal", "parents")
    print(f"random DAGs: random_dag(8, edge_prob=0.35, seeds 0-{seed - 1}), weights ±U(0.5, 1.5), unit noise; "
          f"{total_pairs} (treatment, outcome) pairs where O differs from the minimal or the parents set; n {n}, "
          f"{replicates} replicates; estimate_effect(method='regression', adjustment=...)")
    summary = []  # per pair: {label: (emp sd, mean se, coverage, asym sd)}
    for graph, scm, cov, total, pairs in cases:
        draws = {(x, y, label): [] for x, y, _ in pairs for label in labels}
        for r in range(replicates):
            data = scm.sample(n, seed=r)
            for x, y, _ in pairs:
                truth = float(total[graph.index(x), graph.index(y)])
                for label in labels:
                    result = estimate_effect(data, graph, x, y, method="regression", adjustment=label, seed=r)
                    draws[(x, y, label)].append((result.estimate, result.std_error, result.covers(truth)))
        for x, y, sets in pairs:
            row = {}
            for label in labels:
                values = np.array(draws[(x, y, label)], dtype=float)
                row[label] = (float(np.std(values[:, 0], ddof=1)), float(values[:, 1].mean()),
                              float(values[:, 2].mean()), asymptotic_sd(cov, graph, x, y, sets[label], n))
            summary.append(row)
    emp_best = sum(row["optimal"][0] <= min(row[k][0] for k in labels) for row in summary)
    theory_best = sum(row["optimal"][3] <= min(row[k][3] for k in labels) * (1 + 1e-9) for row in summary)
    print(f"{'set':>8} {'mean cover':>10} {'min cover':>9} {'SD/SD(O) median':>15} {'[min, max]':>15} "
          f"{'asym ratio median':>17} {'[min, max]':>15}")
    for label in labels:
        emp = np.array([row[label][0] / row["optimal"][0] for row in summary])
        theory = np.array([row[label][3] / row["optimal"][3] for row in summary])
        cover = np.array([row[label][2] for row in summary])
        print(f"{label:>8} {cover.mean():10.3f} {cover.min():9.3f} {np.median(emp):15.3f} "
              f"{f'[{emp.min():.3f}, {emp.max():.3f}]':>15} {np.median(theory):17.3f} "
              f"{f'[{theory.min():.3f}, {theory.max():.3f}]':>15}")
    strict = sum(any(row[k][3] > row["optimal"][3] * (1 + 1e-6) for k in labels) for row in summary)
    print(f"O has the smallest asymptotic SD in {theory_best}/{len(summary)} pairs (strictly smaller than some set in "
          f"{strict}); the smallest empirical SD in {emp_best}/{len(summary)}")


# ----------------------------------------------------------------------------------------------- part 4: worlds
WORLD_PAIRS = (("pendulum", "light_position", "shadow_position"), ("pendulum", "pendulum_angle", "shadow_length"),
               ("flow", "ball_size", "flow"), ("flow", "water_height", "flow"), ("glyphs", "thickness", "intensity"),
               ("ild-linear", "z3", "z5"))
WORLD_METHODS = (("dml", "linear"), ("regression", "linear"), ("regression", "forest"))


def world_replicate(task: tuple[str, str, str, str, str, int]) -> tuple[float, float, bool, float, float]:
    """One world_effect fit: (estimate, truth, covered, reported s.e., seconds)."""
    world, treatment, outcome, method, learner, seed = task
    start = time.perf_counter()
    result = world_effect(world, treatment, outcome, seed=seed, method=method, outcome_learner=learner,
                          treatment_learner=learner, n_bootstrap=20)
    return (result.estimate.estimate, result.truth, result.estimate.covers(result.truth), result.estimate.std_error,
            time.perf_counter() - start)


def run_worlds(args: argparse.Namespace) -> None:
    seeds = range(args.world_seeds)
    tasks = [(*pair, method, learner, seed) for pair in WORLD_PAIRS for method, learner in WORLD_METHODS
             for seed in seeds]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(world_replicate, tasks))
    print(f"\n[worlds] world_effect: 2,000 samples of each world as shipped (seed = sample, folds and truth seed), "
          f"the contrast the treatment's sampled quartiles, adjustment 'optimal'; {args.world_seeds} seeds; truth "
          f"from the world's SCM (100,000 draws, common random numbers); forest regression: 20 bootstrap draws")
    print(f"{'world':>10} {'treatment -> outcome':>34} {'method':>10} {'learner':>7} {'truth':>8} {'mean est':>9} "
          f"{'mean err':>9} {'mean se':>8} {'cover':>6} {'s/fit':>6}")
    for k in range(0, len(tasks), len(seeds)):
        world, treatment, outcome, method, learner, _ = tasks[k]
        rows = results[k:k + len(seeds)]
        truth = float(np.mean([r[1] for r in rows]))
        estimate = float(np.mean([r[0] for r in rows]))
        print(f"{world:>10} {treatment + ' -> ' + outcome:>34} {method:>10} {learner:>7} {truth:8.3f} {estimate:9.3f} "
              f"{float(np.mean([r[0] - r[1] for r in rows])):+9.3f} {float(np.mean([r[3] for r in rows])):8.3f} "
              f"{sum(r[2] for r in rows):>3}/{len(rows):<2} {float(np.mean([r[4] for r in rows])):6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: n 1000 only and one timing run in doubleml, 30 replicates (2 with forests), "
                             "10 random-DAG pairs of 30 replicates")
    parser.add_argument("--replicates", type=int, default=200, help="coverage and adjustment replicates")
    parser.add_argument("--forest-replicates", type=int, default=25,
                        help="replicates of the forest rows of coverage (the first ones)")
    parser.add_argument("--dml-n", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--timing-runs", type=int, default=3)
    parser.add_argument("--adjust-n", type=int, default=500)
    parser.add_argument("--dag-pairs", type=int, default=30, help="random-DAG pairs in adjustment (0: none)")
    parser.add_argument("--dag-replicates", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the coverage and world replicates")
    parser.add_argument("--world-seeds", type=int, default=3, help="seeds per world pair and method in worlds")
    args = parser.parse_args()
    if args.quick:
        args.replicates, args.forest_replicates, args.dml_n, args.timing_runs = 30, 2, [1000], 1
        args.dag_pairs, args.dag_replicates, args.world_seeds = 10, 30, 1
    start = time.perf_counter()
    for part, function in (("doubleml", run_doubleml), ("coverage", run_coverage), ("adjustment", run_adjustment),
                           ("worlds", run_worlds)):
        if part in args.parts:
            function(args)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
