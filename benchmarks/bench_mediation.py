"""Natural direct and indirect effects (``mediation_analysis``): ours against statsmodels' ``Mediation`` on the same
data, and the coverage of our intervals against an SCM's exact nested counterfactuals.

1. **reference**: statsmodels' ``statsmodels.stats.mediation.Mediation`` (Imai, Keele & Tingley, Psychol. Methods
   2010, their algorithm 1 "parametric" and 2 "bootstrap"; a test-only reference, not a dependency of latentscm:
   skipped with a message when statsmodels is missing) against ``mediation_analysis(method="regression")`` on the
   same rows: n = 2000 from :func:`linear_scm` (``W ~ N(0, 1)``, ``T`` logistic in ``W``, ``M = 0.8 T + 0.5 W + e``,
   ``Y = T + 0.7 M + g T M + 0.6 W + e``), data seed 0, once without (g = 0, ``interaction=False``) and once with
   (g = 0.4, ``interaction=True``) the treatment-mediator interaction. statsmodels gets OLS models built from
   formulas, outcome ``Y ~ T + M + W`` or ``Y ~ T + M + T:M + W`` and mediator ``M ~ T + W``, with
   ``Mediation(outcome, mediator, exposure="T", mediator="M")`` (with formulas both are column names; statsmodels
   rebuilds the design through the formula every time it sets ``T`` and ``M`` to counterfactual values, so ``T:M``
   follows); ``fit(method="parametric", n_rep=1000, rng=0)`` and ``fit(method="bootstrap", n_rep=200, rng=0)``.
   A third fit uses the array interface (exog arrays, ``exposure=(1, 1)`` and ``mediator=2`` as column positions),
   which statsmodels' docstring says cannot handle interactions: there the ``T*M`` column is precomputed and stays
   at its observed values, shown as a pitfall. Names: ACME (control) = our ``indirect_control``, ACME (treated) =
   ``indirect``, ADE (control) = ``direct``, ADE (treated) = ``direct_treated``, total effect = ``total``.
   statsmodels' "Prop. mediated (average)" is the median over its draws of ``(ACME_ctrl + ACME_tx) / 2 / total``,
   compared with our ``(indirect + indirect_control) / 2 / total``; our ``proportion_mediated`` is ``indirect /
   total`` (the same number without an interaction). Its point estimates are the means of its draws, so they agree
   with ours up to its Monte Carlo error ``sd / sqrt(n_rep)`` (z below); its spread ``sd`` is not our standard error:
   each replicate also draws every unit's potential mediators ``M(0)``, ``M(1)`` with fresh, independent normal
   noise, which adds ``c^2 sigma_M^2 / n`` per mediator mean in the effect (``c`` its slope in the outcome model),
   and it holds ``W`` at the sample, leaving out the ``(theta_TM beta_W)^2 Var(W) / n`` that the sample mean of ``W``
   adds to our influence function of the direct and total effects with an interaction. ``se*`` is our standard
   error with both corrections (:func:`predicted_spread`): what its sd should be. Seconds: ours median of 5 calls
   (graph parsing and covariate search included); statsmodels one fit each, model construction included.
2. **coverage** against :func:`~latentscm.effects.true_mediation` (n = 400000, seed 0; exact nested counterfactuals
   ``Y(t, M(s))`` from the SCM's noise): replication r draws fresh data with seed ``1000 + r`` and runs the estimator
   with ``seed=r``; every method of a case sees the same data sets. Per effect (total, direct, indirect): bias,
   empirical sd, mean reported standard error, coverage of the 95% interval, mean seconds per call. R = 200
   replications for ``regression``, 100 for ``multiply_robust`` (default 5 folds, ``trim=0.01``), n = 500, 2000 and
   8000; with machine-learned nuisances n = 500 and 2000 (boosting) and n = 500 with R = 30 (forests).

   (a) :func:`linear_scm` with the interaction (g = 0.4): regression, and multiply_robust with linear learners;
   (b) :func:`nonlinear_scm`: ``M = sin(2 W) + T (0.8 + 0.5 tanh(2 W)) + 0.5 e``, ``Y = 0.5 T + 0.7 M + 0.5 T M +
       0.5 |W| M + cos(2 W) + 0.5 e``: regression (misspecified), multiply_robust with linear learners, with
       ``outcome_learner="boosting"`` (histogram gradient boosting) and with ``"forest"``, both with
       ``treatment_learner="linear"`` (logistic: right for P(T | W), wrong for P(T | M, W));
   (c) :func:`chain_scm`: two mediators ``T -> M1 -> M2``, ``T -> M2``, the indirect effect through both jointly;
   (d) :func:`witness_scm`: ``T -> L -> M``, ``L -> Y`` (a treatment-induced mediator-outcome confounder). The graph
       makes ``mediation_analysis`` refuse (the message is printed); rows: what a user who ignores that gets
       (``graph=None, covariates=["W"]``, or ``["W", "L"]``) against the true natural effects, and, as the refusal
       suggests, ``intermediate_confounders="L"`` (the interventional effects) against the true interventional ones.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_mediation.py`` (``--parts reference coverage``,
``--ref-n``, ``--ref-seed``, ``--sm-reps``, ``--boot-reps``, ``--sm-seed``, ``--n``, ``--n-ml``, ``--reps-regression``,
``--reps-robust``, ``--reps-ml``, ``--ml outcome/treatment ...``, ``--reps-forest``, ``--n-forest``; ``--quick``:
n_rep 200 / 30, n = 500 and 2000, R = 20 / 10 / 4, no forests, about 35 s). The script sets ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` to 1 (unless already set) before numpy is imported, so BLAS and
scikit-learn's OpenMP (boosting) run on one thread. Prints the tables, then one JSON object.

Measured 2026-12-08 on a 2-core AMD EPYC (x86_64), all three thread variables 1, ``nice -n 10``, Python 3.11.7, numpy
2.4.6, statsmodels 0.15.0, pandas 3.1.2, scikit-learn 1.9.1; library as of commit 767cbdd (the next commits landed
while it ran; the modules are read once, at its start). The defaults, in 1023 s (17 min; the machine was not otherwise
idle: load about 1.2 to 1.4 on 2 cores while it ran). Part 1 was run again (``--parts reference``, 67 s) at commit
a308a1c, which changed ``mediation.py``: every number agreed to the last digit (and ``--quick`` gave identical results
at both commits), so the table below is from that rerun, with its timings. Raw output:
``/work/bench_out/s55/bench_mediation.txt``.

Reference, without the interaction (``z``: (theirs - ours) / its Monte Carlo error; ``se*``: see 1. above)::

  ours             theirs    truth     est     se    se* |   param     sd     z |   boots     sd     z |  arrays       z
  indirect_control ACME ctl 0.5600  0.6128 0.0405 0.0463 |  0.6107 0.0477  -1.4 |  0.6200 0.0459   2.2 |  0.6107    -1.4
  indirect         ACME trt 0.5600  0.6128 0.0405 0.0463 |  0.6107 0.0477  -1.4 |  0.6200 0.0459   2.2 |  0.6107    -1.4
  direct           ADE ctl  1.0000  0.9464 0.0539 0.0539 |  0.9472 0.0533   0.4 |  0.9459 0.0527  -0.2 |  0.9472     0.4
  direct_treated   ADE trt  1.0000  0.9464 0.0539 0.0539 |  0.9472 0.0533   0.4 |  0.9459 0.0527  -0.2 |  0.9472     0.4
  total            total    1.5600  1.5592 0.0610 0.0650 |  1.5579 0.0671  -0.6 |  1.5659 0.0604   1.6 |  1.5579    -0.6
  (ind+ind_c)/2/t  prop avg 0.3590  0.3930               |  0.3920 0.0242  -1.0 |  0.3953 0.0247   1.1 |  0.3920    -1.0
  proportion_med.           0.3590  0.3930 0.0227  (ours: indirect / total)

With the interaction::

  ours             theirs    truth     est     se    se* |   param     sd     z |   boots     sd     z |  arrays       z
  indirect_control ACME ctl 0.5600  0.6040 0.0446 0.0498 |  0.6045 0.0498   0.4 |  0.6122 0.0490   2.4 |  0.6045     0.4
  indirect         ACME trt 0.8800  0.9638 0.0607 0.0703 |  0.9642 0.0705   0.2 |  0.9750 0.0703   2.3 |  0.6045  -228.1
  direct           ADE ctl  1.0002  0.9272 0.0587 0.0592 |  0.9303 0.0580   1.7 |  0.9247 0.0596  -0.6 |  0.9408     7.8
  direct_treated   ADE trt  1.3202  1.2871 0.0588 0.0593 |  1.2900 0.0572   1.6 |  1.2875 0.0613   0.1 |  0.9408  -198.4
  total            total    1.8802  1.8910 0.0677 0.0737 |  1.8945 0.0726   1.5 |  1.8997 0.0689   1.8 |  1.5454  -148.9
  (ind+ind_c)/2/t  prop avg 0.3829  0.4145               |  0.4141 0.0227  -0.5 |  0.4158 0.0236   0.6 |  0.3907   -24.6
  proportion_med.           0.4680  0.5097 0.0260  (ours: indirect / total)

Seconds, without / with the interaction: ours 0.0021 / 0.0028; statsmodels with formulas parametric (1000 draws)
25.1 / 26.7, bootstrap (200) 6.0 / 6.0; with exog arrays, parametric (1000) 1.27 / 1.32 (the full run: 28.7 / 31.2,
5.4 / 6.4 and 1.40 / 1.35; ours 0.0021 / 0.0021). Ours is about 10^4 times faster than statsmodels' formula
interface and 500 to 600 times faster than its array interface: it computes the plug-in and its delta-method error
in closed form instead of simulating.

* **The point estimates agree.** statsmodels' parametric estimates are within 1.7 Monte Carlo errors of ours in all
  12 rows (with and without the interaction; z from -1.4 to 1.7). Its bootstrap's are within 2.4: the ACME rows
  reach z = 2.2 (without the interaction, where the two ACMEs are the same draws) and 2.3 to 2.4 (with it), but the
  two cases share the data seed and rng, hence the same bootstrap indices, so that is one event counted twice; a
  check outside this script (the array interface, no interaction, bootstrap n_rep = 1000 with rng 0 to 4) gave
  |z| <= 1.9 for the ACME, ADE and total.
* **Its spread is wider than our standard error, and that is its simulation, not our error.** Its sd of the ACME is
  12 to 18% above our se (0.0477 against 0.0405; 0.0705 against 0.0607), and of the total 7 to 10%; with the two
  corrections (``se*``) its sd matches within 3.5% in all 10 effect rows (the Monte Carlo error of an sd from 1000
  draws is about 2.2%, and its covariances are the classical ones, ours heteroskedasticity-robust). The coverage
  study below shows our se equals the empirical sd of the estimates (se/sd 0.95 to 1.13 in (a)), so the extra
  ``2 theta_M^2 sigma_M^2 / n`` of statsmodels' draws makes its ACME intervals about 15% too wide here, at any n
  (the term shrinks as 1/n, like the variance itself).
* **The array interface silently gives wrong answers with an interaction** (as statsmodels' docstring warns): the
  precomputed ``T*M`` column is not updated when ``T`` and ``M`` are set, so ACME (treated) equals ACME (control)
  (0.6045 against 0.9638, z = -228) and both ADEs are just the coefficient of ``T`` (0.9408). Without an
  interaction it equals the formula interface exactly (same rng).

Coverage, 95% intervals (``bias/mc``: bias over its Monte Carlo error sd / sqrt(R); ``<``: coverage below the
binomial 95% band of 0.95, that is below 0.920 for R = 200, 0.907 for R = 100, 0.872 for R = 30).

(a) linear with the interaction; truth total 1.8802, direct 1.0002, indirect 0.8800 (exactly 1.88, 1, 0.88;
Monte Carlo error 7e-4)::

    method                             n    R effect      truth     bias bias/mc  emp sd mean se se/sd  cover   s/fit
    regression                       500  200 total      1.8802   0.0061     0.7  0.1260  0.1338  1.06  0.960    0.0020
    regression                       500  200 direct     1.0002   0.0002     0.0  0.1143  0.1132  0.99  0.960    0.0020
    regression                       500  200 indirect   0.8800   0.0059     0.7  0.1175  0.1189  1.01  0.960    0.0020
    regression                      2000  200 total      1.8802  -0.0005    -0.1  0.0682  0.0667  0.98  0.940    0.0024
    regression                      2000  200 direct     1.0002  -0.0042    -1.2  0.0501  0.0565  1.13  0.970    0.0024
    regression                      2000  200 indirect   0.8800   0.0037     0.9  0.0622  0.0592  0.95  0.930    0.0024
    regression                      8000  200 total      1.8802  -0.0030    -1.3  0.0327  0.0334  1.02  0.960    0.0045
    regression                      8000  200 direct     1.0002   0.0010     0.5  0.0279  0.0282  1.01  0.965    0.0045
    regression                      8000  200 indirect   0.8800  -0.0040    -2.0  0.0286  0.0296  1.03  0.955    0.0045
    multiply_robust (linear)         500  100 total      1.8802   0.0062     0.4  0.1426  0.1429  1.00  0.960    0.0441
    multiply_robust (linear)         500  100 direct     1.0002   0.0063     0.5  0.1396  0.1349  0.97  0.950    0.0441
    multiply_robust (linear)         500  100 indirect   0.8800  -0.0001    -0.0  0.1452  0.1419  0.98  0.960    0.0441
    multiply_robust (linear)        2000  100 total      1.8802   0.0092     1.4  0.0665  0.0710  1.07  0.970    0.0427
    multiply_robust (linear)        2000  100 direct     1.0002  -0.0035    -0.6  0.0621  0.0643  1.04  0.970    0.0427
    multiply_robust (linear)        2000  100 indirect   0.8800   0.0127     1.7  0.0734  0.0670  0.91  0.910    0.0427
    multiply_robust (linear)        8000  100 total      1.8802  -0.0045    -1.3  0.0362  0.0350  0.97  0.930    0.0644
    multiply_robust (linear)        8000  100 direct     1.0002   0.0009     0.3  0.0304  0.0317  1.04  0.920    0.0644
    multiply_robust (linear)        8000  100 indirect   0.8800  -0.0055    -1.8  0.0299  0.0331  1.11  0.940    0.0644

(b) nonlinear; truth total 1.7808, direct 0.5007, indirect 1.2802 (Monte Carlo error up to 1.6e-3)::

    method                             n    R effect      truth     bias bias/mc  emp sd mean se se/sd  cover   s/fit
    regression (misspecified)        500  200 total      1.7808   0.0741     7.9  0.1332  0.1451  1.09  0.940    0.0018
    regression (misspecified)        500  200 direct     0.5007   0.0500     7.6  0.0934  0.0936  1.00  0.925    0.0018
    regression (misspecified)        500  200 indirect   1.2802   0.0240     2.7  0.1270  0.1367  1.08  0.950    0.0018
    regression (misspecified)       2000  200 total      1.7808   0.0814    15.2  0.0758  0.0733  0.97  0.805 <  0.0027
    regression (misspecified)       2000  200 direct     0.5007   0.0504    14.9  0.0478  0.0467  0.98  0.800 <  0.0027
    regression (misspecified)       2000  200 indirect   1.2802   0.0310     6.5  0.0678  0.0687  1.01  0.930    0.0027
    regression (misspecified)       8000  200 total      1.7808   0.0718    29.5  0.0345  0.0366  1.06  0.540 <  0.0045
    regression (misspecified)       8000  200 direct     0.5007   0.0505    31.8  0.0225  0.0233  1.04  0.425 <  0.0045
    regression (misspecified)       8000  200 indirect   1.2802   0.0213     8.9  0.0339  0.0343  1.01  0.885 <  0.0045
    multiply_robust (linear)         500  100 total      1.7808  -0.0123    -0.7  0.1672  0.1930  1.15  0.980    0.0408
    multiply_robust (linear)         500  100 direct     0.5007   0.0273     2.7  0.1010  0.1252  1.24  0.970    0.0408
    multiply_robust (linear)         500  100 indirect   1.2802  -0.0395    -2.4  0.1636  0.1734  1.06  0.910    0.0408
    multiply_robust (linear)        2000  100 total      1.7808   0.0122     1.3  0.0949  0.0954  1.01  0.950    0.0511
    multiply_robust (linear)        2000  100 direct     0.5007   0.0175     3.1  0.0557  0.0607  1.09  0.970    0.0511
    multiply_robust (linear)        2000  100 indirect   1.2802  -0.0053    -0.6  0.0845  0.0852  1.01  0.950    0.0511
    multiply_robust (linear)        8000  100 total      1.7808  -0.0071    -1.7  0.0422  0.0471  1.12  0.970    0.0693
    multiply_robust (linear)        8000  100 direct     0.5007   0.0137     5.2  0.0264  0.0297  1.12  0.940    0.0693
    multiply_robust (linear)        8000  100 indirect   1.2802  -0.0209    -5.2  0.0400  0.0422  1.05  0.930    0.0693
    MR boosting/linear               500  100 total      1.7808   0.0111     0.8  0.1455  0.1532  1.05  0.950    1.9928
    MR boosting/linear               500  100 direct     0.5007   0.0685     6.4  0.1071  0.1135  1.06  0.910    1.9928
    MR boosting/linear               500  100 indirect   1.2802  -0.0574    -3.7  0.1562  0.1524  0.98  0.860 <  1.9928
    MR boosting/linear              2000  100 total      1.7808   0.0089     1.3  0.0665  0.0655  0.98  0.980    5.4736
    MR boosting/linear              2000  100 direct     0.5007  -0.0129    -2.5  0.0519  0.0485  0.93  0.960    5.4736
    MR boosting/linear              2000  100 indirect   1.2802   0.0218     2.8  0.0785  0.0641  0.82  0.890 <  5.4736
    MR forest/linear                 500   30 total      1.7808   0.0197     0.7  0.1478  0.1462  0.99  0.933    4.7422
    MR forest/linear                 500   30 direct     0.5007   0.0725     3.3  0.1216  0.1162  0.96  0.900    4.7422
    MR forest/linear                 500   30 indirect   1.2802  -0.0528    -1.8  0.1648  0.1461  0.89  0.800 <  4.7422

(c) two mediators in a chain, through both jointly; truth total 0.75, direct 0.20, indirect 0.55 (exact)::

    method                             n    R effect      truth     bias bias/mc  emp sd mean se se/sd  cover   s/fit
    regression                       500  200 total      0.7500   0.0029     0.2  0.2061  0.2105  1.02  0.955    0.0018
    regression                       500  200 direct     0.2000  -0.0145    -1.7  0.1190  0.1202  1.01  0.955    0.0018
    regression                       500  200 indirect   0.5500   0.0174     1.3  0.1913  0.1985  1.04  0.960    0.0018
    regression                      2000  200 total      0.7500   0.0015     0.2  0.1055  0.1049  0.99  0.925    0.0025
    regression                      2000  200 direct     0.2000  -0.0000    -0.0  0.0624  0.0595  0.95  0.930    0.0025
    regression                      2000  200 indirect   0.5500   0.0015     0.2  0.1015  0.0987  0.97  0.935    0.0025
    regression                      8000  200 total      0.7500  -0.0029    -0.8  0.0545  0.0524  0.96  0.925    0.0057
    regression                      8000  200 direct     0.2000   0.0002     0.1  0.0292  0.0298  1.02  0.945    0.0057
    regression                      8000  200 indirect   0.5500  -0.0032    -0.9  0.0473  0.0493  1.04  0.970    0.0057
    multiply_robust (linear)         500  100 total      0.7500   0.0130     0.6  0.2288  0.2244  0.98  0.970    0.0390
    multiply_robust (linear)         500  100 direct     0.2000  -0.0075    -0.4  0.1813  0.1574  0.87  0.950    0.0390
    multiply_robust (linear)         500  100 indirect   0.5500   0.0205     0.8  0.2715  0.2314  0.85  0.930    0.0390
    multiply_robust (linear)        2000  100 total      0.7500   0.0070     0.7  0.1036  0.1114  1.08  0.970    0.0435
    multiply_robust (linear)        2000  100 direct     0.2000  -0.0120    -1.9  0.0648  0.0730  1.13  0.960    0.0435
    multiply_robust (linear)        2000  100 indirect   0.5500   0.0190     1.8  0.1051  0.1115  1.06  0.980    0.0435
    multiply_robust (linear)        8000  100 total      0.7500  -0.0035    -0.6  0.0573  0.0548  0.96  0.910    0.0628
    multiply_robust (linear)        8000  100 direct     0.2000   0.0032     0.9  0.0350  0.0359  1.03  0.930    0.0628
    multiply_robust (linear)        8000  100 indirect   0.5500  -0.0067    -1.2  0.0536  0.0548  1.02  0.940    0.0628

(d) treatment-induced confounder L: natural truth total 3.0199, direct 1.1999, indirect 1.8200; interventional
truth (``G(s | W)``) 3.0192, 1.1992, 1.8200 (equal up to Monte Carlo error: ``Y`` has no ``L x M`` term, so
the cross-world link does not matter here). ``mediation_analysis(data, WITNESS, "T", "Y", "M")`` raises
``NoMediationFormulaError``: "no set of observed covariates identifies the natural direct and indirect effects of
'T' on 'Y' through ['M']: even the largest candidate fails, since a back-door path from the mediators ['M'] to the
outcome 'Y' stays open given the treatment and ['W'] (mediator-outcome confounding: a hidden confounder, or one the
treatment affects). The interventional direct and indirect effects are identified with
intermediate_confounders=['L'] (command line: --intermediates L)." (In (c), ``M2`` alone is refused in the same
words, suggesting ``intermediate_confounders=['M1']``.) The first two methods against the natural truth, the third
against the interventional truth::

    method                             n    R effect      truth     bias bias/mc  emp sd mean se se/sd  cover   s/fit
    ignored: no graph, cov [W]       500  200 total      3.0199   0.0015     0.1  0.2021  0.2041  1.01  0.945    0.0014
    ignored: no graph, cov [W]       500  200 direct     1.1999  -0.4507   -45.3  0.1408  0.1443  1.02  0.095 <  0.0014
    ignored: no graph, cov [W]       500  200 indirect   1.8200   0.4523    33.8  0.1892  0.2030  1.07  0.380 <  0.0014
    ignored: no graph, cov [W]      2000  200 total      3.0199   0.0020     0.3  0.1029  0.1016  0.99  0.950    0.0023
    ignored: no graph, cov [W]      2000  200 direct     1.1999  -0.4357   -85.4  0.0722  0.0719  1.00  0.000 <  0.0023
    ignored: no graph, cov [W]      2000  200 indirect   1.8200   0.4377    58.1  0.1065  0.1010  0.95  0.005 <  0.0023
    ignored: no graph, cov [W]      8000  200 total      3.0199  -0.0041    -1.1  0.0518  0.0508  0.98  0.935    0.0037
    ignored: no graph, cov [W]      8000  200 direct     1.1999  -0.4351  -175.3  0.0351  0.0359  1.02  0.000 <  0.0037
    ignored: no graph, cov [W]      8000  200 indirect   1.8200   0.4310   125.9  0.0484  0.0505  1.04  0.000 <  0.0037
    ignored: no graph, cov [W, L]    500  200 total      3.0199  -1.3992  -116.8  0.1695  0.1656  0.98  0.000 <  0.0015
    ignored: no graph, cov [W, L]    500  200 direct     1.1999  -0.6244   -74.9  0.1179  0.1197  1.02  0.000 <  0.0015
    ignored: no graph, cov [W, L]    500  200 indirect   1.8200  -0.7748   -75.9  0.1444  0.1476  1.02  0.005 <  0.0015
    ignored: no graph, cov [W, L]   2000  200 total      3.0199  -1.3906  -251.5  0.0782  0.0827  1.06  0.000 <  0.0022
    ignored: no graph, cov [W, L]   2000  200 direct     1.1999  -0.6119  -137.8  0.0628  0.0596  0.95  0.000 <  0.0022
    ignored: no graph, cov [W, L]   2000  200 indirect   1.8200  -0.7787  -162.5  0.0678  0.0737  1.09  0.000 <  0.0022
    ignored: no graph, cov [W, L]   8000  200 total      3.0199  -1.3881  -432.5  0.0454  0.0414  0.91  0.000 <  0.0047
    ignored: no graph, cov [W, L]   8000  200 direct     1.1999  -0.6099  -280.0  0.0308  0.0299  0.97  0.000 <  0.0047
    ignored: no graph, cov [W, L]   8000  200 indirect   1.8200  -0.7783  -293.1  0.0376  0.0368  0.98  0.000 <  0.0047
    graph + intermediate L           500  200 total      3.0192   0.0022     0.2  0.2020  0.2041  1.01  0.945    0.0020
    graph + intermediate L           500  200 direct     1.1992  -0.0069    -0.7  0.1502  0.1460  0.97  0.930    0.0020
    graph + intermediate L           500  200 indirect   1.8200   0.0091     0.8  0.1614  0.1728  1.07  0.955    0.0020
    graph + intermediate L          2000  200 total      3.0192   0.0027     0.4  0.1029  0.1016  0.99  0.950    0.0029
    graph + intermediate L          2000  200 direct     1.1992  -0.0004    -0.1  0.0728  0.0728  1.00  0.950    0.0029
    graph + intermediate L          2000  200 indirect   1.8200   0.0031     0.5  0.0889  0.0860  0.97  0.945    0.0029
    graph + intermediate L          8000  200 total      3.0192  -0.0034    -0.9  0.0518  0.0508  0.98  0.940    0.0060
    graph + intermediate L          8000  200 direct     1.1992  -0.0016    -0.6  0.0364  0.0364  1.00  0.935    0.0060
    graph + intermediate L          8000  200 indirect   1.8200  -0.0019    -0.6  0.0423  0.0430  1.02  0.960    0.0060

What this shows:

* **Where the models are right, the intervals hold their level.** regression: coverage 0.925 to 0.97 in (a), (c)
  and (d, with ``intermediate_confounders``) at every n, se/sd 0.95 to 1.13, bias within 2 Monte Carlo errors;
  multiply_robust with linear learners: 0.91 to 0.98 in (a) and (c), none below the band, at 11 to 22 times the cost
  (0.04 to 0.07 s a fit against 0.002 to 0.006 s).
* **Under-coverage, stated plainly.** (b) regression (misspecified, as expected): a bias that does not shrink (total
  +0.07 to +0.08, direct +0.05, indirect +0.02 to +0.03), so coverage falls with n, to 0.805 / 0.800 (total / direct)
  at n = 2000 and 0.540 / 0.425 / 0.885 (total / direct / indirect) at n = 8000. (b) multiply_robust with boosting
  (``treatment_learner="linear"``) under-covers the **indirect** effect: 0.86 at n = 500 and 0.89 at n = 2000 (se/sd
  0.82 there), with a direct bias of +0.069 (6.4 Monte Carlo errors) at n = 500; the total effect is fine (0.95,
  0.98); with forests (n = 500, R = 30) the indirect effect's coverage is 0.80. P(T | W) is logistic and right, but
  P(T | M, W) is not (its true log-odds hold ``M tanh(2 W)`` and ``sin(2 W)`` terms), so the cross-world means rest on
  the boosted ``mu`` and ``eta`` alone and their first-order error is not cancelled; not extreme weights: at n = 2000
  nothing was trimmed and both propensities stayed in [0.025, 0.99] (replications 0-2, checked outside the script).
  Boosted propensities are no cure: in a pilot outside this table (``--ml boosting/boosting``, n = 2000, R = 10, seeds
  as above) the total effect's bias was +0.10 (3.8 Monte Carlo errors) with se/sd 1.6, at 7.8 s a fit. multiply_robust
  with linear learners in (b) is biased for the direct and indirect effects (+0.014 and -0.021 at n = 8000, 5 Monte
  Carlo errors; only the total, which needs P(T | W) alone, is consistent) but still covers 0.91 to 0.98 at these n.
* **Ignoring the refusal in (d) is costly.** With ``covariates=["W"]`` the total effect is right (it needs only W),
  but the split is wrong by the same amount at every n: direct -0.44, indirect +0.44 (the ``M -> Y`` slope absorbs
  ``L``), coverage 0.095 / 0.38 at n = 500 and at most 0.005 from n = 2000 on. Adding ``L`` (a descendant of the
  treatment) as a covariate breaks all three: total -1.39, direct -0.61, indirect -0.78, coverage 0 (once 0.005).
  Following the refusal's suggestion (``intermediate_confounders="L"``) gives the interventional effects with coverage
  0.93 to 0.96 (here they coincide with the natural ones).
* Cost: regression 2 to 6 ms a fit; multiply_robust 0.04 to 0.07 s with linear learners, 2.0 s (n = 500) and 5.5 s
  (n = 2000) with boosting, 4.7 s with forests at n = 500 (5 folds, 8 models per fold, one thread).
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # before numpy is imported: BLAS and OpenMP (boosting) on one thread

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from latentscm.effects import NoMediationFormulaError, mediation_analysis, true_mediation  # noqa: E402
from latentscm.scm import SCM  # noqa: E402
from latentscm.testing.mediation_scms import CHAIN_MEDIATION_GRAPH as CHAIN  # noqa: E402
from latentscm.testing.mediation_scms import MEDIATION_GRAPH as GRAPH  # noqa: E402
from latentscm.testing.mediation_scms import WITNESS_GRAPH as WITNESS  # noqa: E402
from latentscm.testing.mediation_scms import chain_mediation_scm as chain_scm  # noqa: E402
from latentscm.testing.mediation_scms import linear_mediation_scm as linear_scm  # noqa: E402
from latentscm.testing.mediation_scms import nonlinear_mediation_scm as nonlinear_scm  # noqa: E402
from latentscm.testing.mediation_scms import witness_mediation_scm as witness_scm  # noqa: E402

LEVEL = 0.95
EFFECTS = ("total", "direct", "indirect")
# The SCMs (linear_scm, nonlinear_scm, chain_scm, witness_scm) and graphs are latentscm.testing.mediation_scms'.


# ------------------------------------------------------------------------------------------------ 1. reference
#: statsmodels' rows and ours: (their summary row, their draws attribute, our effect).
SM_ROWS = (("ACME (control)", "ACME_ctrl", "indirect_control"), ("ACME (treated)", "ACME_tx", "indirect"),
           ("ADE (control)", "ADE_ctrl", "direct"), ("ADE (treated)", "ADE_tx", "direct_treated"),
           ("Total effect", "total_effect", "total"))


def _ols(target: np.ndarray, design: np.ndarray) -> tuple[np.ndarray, float]:
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ coef
    return coef, float(resid @ resid) / (len(target) - design.shape[1])


def predicted_spread(data: dict[str, np.ndarray], interaction: bool) -> dict[str, float]:
    """The variance that statsmodels' simulation adds to, and the one it leaves out of, our delta-method variance
    (per effect, to add to ``se_ours^2``), from OLS fits of the two models.

    Each replicate draws the potential mediators ``M~(s) = X_M(s) beta~ + e`` of every unit with fresh normal noise
    (``e ~ N(0, sigma_M^2)``, independent for ``s = 0, 1``), which adds ``c^2 sigma_M^2 / n`` per mediator mean in
    the effect (``c`` its slope: ``theta_M`` or ``theta_M + theta_TM``); and it holds the covariates at the sample's,
    so the term ``(theta_TM beta_W)^2 Var(W) / n`` of our influence function (the sample mean of ``W`` is random)
    is not in its spread (it enters the direct and total effects, with an interaction only)."""
    t, m, w, y = data["T"], data["M"], data["W"], data["Y"]
    n = len(y)
    beta, sigma2 = _ols(m, np.column_stack([np.ones(n), t, w]))
    cols = [np.ones(n), t, m] + ([t * m] if interaction else []) + [w]
    theta, _ = _ols(y, np.column_stack(cols))
    th_m, th_tm = theta[2], (theta[3] if interaction else 0.0)
    gone = (th_tm * beta[2]) ** 2 * np.var(w) / n
    return {"indirect_control": 2 * th_m ** 2 * sigma2 / n, "indirect": 2 * (th_m + th_tm) ** 2 * sigma2 / n,
            "direct": th_tm ** 2 * sigma2 / n - gone, "direct_treated": th_tm ** 2 * sigma2 / n - gone,
            "total": ((th_m + th_tm) ** 2 + th_m ** 2) * sigma2 / n - gone}


def _median_seconds(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def reference(n: int, seed: int, sm_reps: int, boot_reps: int, sm_seed: int, repeats: int) -> dict | None:
    """Ours (regression) and statsmodels' Mediation on the same rows of ``linear_scm(0)`` and ``linear_scm(0.4)``."""
    try:
        import pandas as pd
        import statsmodels
        import statsmodels.api as sm
        from statsmodels.stats.mediation import Mediation
    except ImportError as error:
        print(f"\n[reference] statsmodels is not installed ({error}); skipping the comparison with "
              f"statsmodels.stats.mediation.Mediation (pip install statsmodels).")
        return None
    out = {"statsmodels": statsmodels.__version__, "n": n, "seed": seed, "sm_reps": sm_reps, "boot_reps": boot_reps,
           "sm_seed": sm_seed, "cases": []}
    for interaction in (False, True):
        gamma = 0.4 if interaction else 0.0
        scm = linear_scm(gamma)
        data = scm.sample(n, seed=seed)
        frame = pd.DataFrame({k: data[k] for k in ("W", "T", "M", "Y")})
        truth = true_mediation(scm, "T", "Y", "M", n=400_000, seed=0)
        s_ours, ours = _median_seconds(lambda data=data, interaction=interaction: mediation_analysis(
            data, GRAPH, "T", "Y", "M", interaction=interaction), repeats)
        formula = "Y ~ T + M + T:M + W" if interaction else "Y ~ T + M + W"

        def with_formulas(method: str, reps: int, formula: str = formula, frame: pd.DataFrame = frame):
            outcome = sm.OLS.from_formula(formula, frame)
            mediator = sm.OLS.from_formula("M ~ T + W", frame)
            return Mediation(outcome, mediator, exposure="T", mediator="M").fit(method=method, n_rep=reps,
                                                                                 rng=sm_seed)

        fits = {}
        start = time.perf_counter()
        fits["parametric"] = with_formulas("parametric", sm_reps)
        seconds = {"parametric": time.perf_counter() - start}
        if boot_reps:
            start = time.perf_counter()
            try:
                fits["bootstrap"] = with_formulas("bootstrap", boot_reps)
            except Exception as error:  # report, do not stop
                print(f"[reference] statsmodels bootstrap failed: {type(error).__name__}: {error}")
            seconds["bootstrap"] = time.perf_counter() - start
        # The array interface: exposure and mediator as column positions (outcome exog 1, T; 2, M; mediator exog
        # 1, T). Correct without an interaction; with one, the product column T*M is NOT recomputed when statsmodels
        # sets T and M to their counterfactual values, so the answer is wrong (shown as a pitfall).
        ones = np.ones(n)
        cols = [ones, data["T"], data["M"]] + ([data["T"] * data["M"]] if interaction else []) + [data["W"]]
        start = time.perf_counter()
        fits["arrays"] = Mediation(sm.OLS(data["Y"], np.column_stack(cols)),
                                   sm.OLS(data["M"], np.column_stack([ones, data["T"], data["W"]])),
                                   exposure=(1, 1), mediator=2).fit(method="parametric", n_rep=sm_reps, rng=sm_seed)
        seconds["arrays"] = time.perf_counter() - start
        extra = predicted_spread(data, interaction)
        rows = []
        for row, attr, name in SM_ROWS:
            item = {"row": row, "ours": name, "truth": truth[name][0], "estimate": ours[name].estimate,
                    "se": ours[name].std_error, "se_pred": float(np.sqrt(ours[name].std_error ** 2 + extra[name]))}
            for kind, fit in fits.items():
                draws = np.asarray(getattr(fit, attr))
                reps = len(draws)
                item[kind] = {"estimate": float(fit.summary().loc[row, "Estimate"]), "sd": float(np.std(draws)),
                              "mcse": float(np.std(draws) / np.sqrt(reps))}
                item[kind]["z"] = (item[kind]["estimate"] - item["estimate"]) / item[kind]["mcse"]
            rows.append(item)
        # proportion mediated: statsmodels reports the median over draws of the average of the two proportions
        total, ind, ind_c = (ours[k].estimate for k in ("total", "indirect", "indirect_control"))
        prop = {"row": "Prop. mediated (average)", "ours": "proportion_mediated",
                "truth": truth["indirect"][0] / truth["total"][0], "estimate": ours["proportion_mediated"].estimate,
                "se": ours["proportion_mediated"].std_error, "average": (ind + ind_c) / 2 / total,
                "truth_average": (truth["indirect"][0] + truth["indirect_control"][0]) / 2 / truth["total"][0]}
        for kind, fit in fits.items():
            draws = np.asarray(fit.prop_med_avg)
            prop[kind] = {"estimate": float(fit.summary().loc["Prop. mediated (average)", "Estimate"]),
                          "sd": float(np.std(draws)), "mcse": float(1.2533 * np.std(draws) / np.sqrt(len(draws)))}
            prop[kind]["z"] = (prop[kind]["estimate"] - prop["average"]) / prop[kind]["mcse"]
        out["cases"].append({"interaction": interaction, "formula": formula, "rows": rows, "prop": prop,
                             "seconds_ours": s_ours, "seconds": seconds})
    return out


def print_reference(ref: dict) -> None:
    print(f"\n== 1. reference: statsmodels {ref['statsmodels']} Mediation vs mediation_analysis(method='regression') "
          f"==\n   data: linear_scm, n = {ref['n']}, data seed {ref['seed']}; statsmodels rng = {ref['sm_seed']}, "
          f"parametric n_rep = {ref['sm_reps']}, bootstrap n_rep = {ref['boot_reps']}; truth: true_mediation "
          f"(n = 400000, seed 0)")
    short = {"ACME (control)": "ACME ctl", "ACME (treated)": "ACME trt", "ADE (control)": "ADE ctl",
             "ADE (treated)": "ADE trt", "Total effect": "total"}
    for case in ref["cases"]:
        kinds = [k for k in ("parametric", "bootstrap") if k in case["rows"][0]]
        print(f"\n-- {'with' if case['interaction'] else 'without'} the T x M interaction; statsmodels outcome "
              f"formula '{case['formula']}', mediator 'M ~ T + W' (exposure='T', mediator='M')")
        head = f"{'ours':<16} {'theirs':<8} {'truth':>6} {'est':>7} {'se':>6} {'se*':>6}"
        for kind in kinds:
            head += f" | {kind[:5]:>7} {'sd':>6} {'z':>5}"
        print(head + f" | {'arrays':>7} {'z':>7}")
        for r in case["rows"]:
            line = (f"{r['ours']:<16} {short[r['row']]:<8} {r['truth']:>6.4f} {r['estimate']:>7.4f} {r['se']:>6.4f} "
                    f"{r['se_pred']:>6.4f}")
            for kind in kinds:
                k = r[kind]
                line += f" | {k['estimate']:>7.4f} {k['sd']:>6.4f} {k['z']:>5.1f}"
            print(line + f" | {r['arrays']['estimate']:>7.4f} {r['arrays']['z']:>7.1f}")
        p = case["prop"]
        line = (f"{'(ind+ind_c)/2/t':<16} {'prop avg':<8} {p['truth_average']:>6.4f} {p['average']:>7.4f} "
                f"{'':>6} {'':>6}")
        for kind in kinds:
            line += f" | {p[kind]['estimate']:>7.4f} {p[kind]['sd']:>6.4f} {p[kind]['z']:>5.1f}"
        print(line + f" | {p['arrays']['estimate']:>7.4f} {p['arrays']['z']:>7.1f}")
        print(f"{'proportion_med.':<16} {'':<8} {p['truth']:>6.4f} {p['estimate']:>7.4f} {p['se']:>6.4f}  "
              f"(ours: indirect / total)")
        s = case["seconds"]
        print(f"seconds: ours {case['seconds_ours']:.4f} (median of the repeats); statsmodels with formulas: "
              f"parametric {s['parametric']:.2f}" + (f", bootstrap {s['bootstrap']:.2f}" if "bootstrap" in s else "")
              + f"; with exog arrays: parametric {s['arrays']:.2f}")
    print("(est, se: ours; se*: ours with the variance of statsmodels' simulated mediators added and the term of the "
          "sample mean of W removed (predicted_spread), what its sd should be; sd: the std of statsmodels' draws; "
          "z: (theirs - ours) / (sd / sqrt(n_rep)), in units of its Monte Carlo error (1.2533 sd / sqrt(n_rep) for the "
          "median it reports for the proportion mediated, compared with our (indirect + indirect_control) / 2 / "
          "total); arrays: parametric, exog arrays with exposure=(1, 1), mediator=2, the T*M column precomputed "
          "when there is an interaction)")


# ------------------------------------------------------------------------------------------------- 2. coverage
def study(scm: SCM, graph: object, mediators: object, truth: dict, ns: list[int], reps: int, kwargs: dict
          ) -> list[dict]:
    """``reps`` replications at each n: data seed 1000 + r, estimator seed r. Per effect: bias, empirical sd, mean
    standard error, coverage; mean seconds per fit; failures (exceptions) counted and skipped."""
    rows = []
    for n in ns:
        est = {k: [] for k in EFFECTS}
        ses = {k: [] for k in EFFECTS}
        cov = {k: [] for k in EFFECTS}
        seconds, failures, first_error = 0.0, 0, None
        for r in range(reps):
            data = scm.sample(n, seed=1000 + r)
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = mediation_analysis(data, graph, "T", "Y", mediators, seed=r, **kwargs)
            except Exception as error:  # noqa: BLE001 - counted and reported
                failures += 1
                first_error = first_error or f"{type(error).__name__}: {error}"
                continue
            finally:
                seconds += time.perf_counter() - start
            for k in EFFECTS:
                est[k].append(result[k].estimate)
                ses[k].append(result[k].std_error)
                cov[k].append(result[k].covers(truth[k]))
        done = reps - failures
        for k in EFFECTS:
            e = np.asarray(est[k])
            rows.append({"n": n, "reps": done, "effect": k, "truth": truth[k],
                         "bias": float(e.mean() - truth[k]) if done else float("nan"),
                         "sd": float(e.std(ddof=1)) if done > 1 else float("nan"),
                         "se": float(np.mean(ses[k])) if done else float("nan"),
                         "coverage": float(np.mean(cov[k])) if done else float("nan"),
                         "seconds": seconds / reps, "failures": failures, "error": first_error})
        print(f"   ... n = {n}: {reps} fits, {seconds:.1f} s", flush=True)
    return rows


def _low_band(p: float, reps: int) -> float:
    return p - 1.96 * np.sqrt(p * (1 - p) / max(reps, 1))


def print_study(title: str, blocks: list[tuple[str, list[dict]]]) -> None:
    print(f"\n-- {title}")
    print(f"{'method':<30} {'n':>5} {'R':>4} {'effect':<9} {'truth':>7} {'bias':>8} {'bias/mc':>7} {'emp sd':>7} "
          f"{'mean se':>7} {'se/sd':>5} {'cover':>6} {'s/fit':>7}")
    for label, rows in blocks:
        for r in rows:
            mc = r["sd"] / np.sqrt(r["reps"]) if r["reps"] > 1 else float("nan")
            flag = " <" if r["coverage"] < _low_band(LEVEL, r["reps"]) else ""
            print(f"{label:<30} {r['n']:>5} {r['reps']:>4} {r['effect']:<9} {r['truth']:>7.4f} {r['bias']:>8.4f} "
                  f"{r['bias'] / mc:>7.1f} {r['sd']:>7.4f} {r['se']:>7.4f} {r['se'] / r['sd']:>5.2f} "
                  f"{r['coverage']:>6.3f}{flag:<2} {r['seconds']:>7.4f}")
            if r["failures"]:
                print(f"{'':<30} {r['failures']} failed fits, first: {r['error']}")


def _truth(scm: SCM, mediators: object, n_truth: int, **kw) -> dict:
    full = true_mediation(scm, "T", "Y", mediators, n=n_truth, seed=0, **kw)
    return {k: v[0] for k, v in full.items()}, {k: v[1] for k, v in full.items()}


def coverage(args: argparse.Namespace) -> dict:
    out = {}
    r_reg, r_mr, r_ml = args.reps_regression, args.reps_robust, args.reps_ml
    # (a) linear with interaction
    scm = linear_scm(0.4)
    truth, mc = _truth(scm, "M", args.n_truth)
    print(f"\n(a) linear with interaction: truth {_fmt(truth)} (Monte Carlo se up to "
          f"{max(mc[k] for k in EFFECTS):.1e})", flush=True)
    out["a"] = {"truth": truth, "mc": mc, "blocks": [
        ("regression", study(scm, GRAPH, "M", truth, args.n, r_reg, {})),
        ("multiply_robust (linear)", study(scm, GRAPH, "M", truth, args.n, r_mr, {"method": "multiply_robust"}))]}
    # (b) nonlinear
    scm = nonlinear_scm()
    truth, mc = _truth(scm, "M", args.n_truth)
    print(f"\n(b) nonlinear: truth {_fmt(truth)} (Monte Carlo se up to {max(mc[k] for k in EFFECTS):.1e})", flush=True)
    blocks = [("regression (misspecified)", study(scm, GRAPH, "M", truth, args.n, r_reg, {})),
              ("multiply_robust (linear)", study(scm, GRAPH, "M", truth, args.n, r_mr, {"method": "multiply_robust"}))]
    for outcome, treatment in args.ml:
        label = f"MR boosting/{treatment}" if outcome == "boosting" else f"MR {outcome}/{treatment}"
        kwargs = {"method": "multiply_robust", "outcome_learner": outcome, "treatment_learner": treatment}
        print(f"   {label} (outcome learner / treatment learner) ...", flush=True)
        blocks.append((label, study(scm, GRAPH, "M", truth, args.n_ml, r_ml, kwargs)))
    if args.reps_forest:
        kwargs = {"method": "multiply_robust", "outcome_learner": "forest", "treatment_learner": "linear"}
        print("   MR forest/linear ...", flush=True)
        blocks.append(("MR forest/linear", study(scm, GRAPH, "M", truth, args.n_forest, args.reps_forest, kwargs)))
    out["b"] = {"truth": truth, "mc": mc, "blocks": blocks}
    # (c) two mediators in a chain
    scm = chain_scm()
    truth, mc = _truth(scm, ["M1", "M2"], args.n_truth)
    print(f"\n(c) two mediators M1 -> M2, T -> M2: truth {_fmt(truth)}", flush=True)
    refusal = _refusal(scm.sample(500, seed=1), CHAIN, "M2")
    print(f"   M2 alone is refused: {refusal}")
    out["c"] = {"truth": truth, "mc": mc, "refusal_m2_alone": refusal, "blocks": [
        ("regression", study(scm, CHAIN, ["M1", "M2"], truth, args.n, r_reg, {})),
        ("multiply_robust (linear)", study(scm, CHAIN, ["M1", "M2"], truth, args.n, r_mr,
                                           {"method": "multiply_robust"}))]}
    # (d) treatment-induced mediator-outcome confounder
    scm = witness_scm()
    truth, mc = _truth(scm, "M", args.n_truth)
    inter, inter_mc = _truth(scm, "M", args.n_truth, kind="interventional", covariates=["W"])
    print(f"\n(d) recanting witness L: natural truth {_fmt(truth)}; interventional (G(s | W)) {_fmt(inter)}",
          flush=True)
    refusal = _refusal(scm.sample(1000, seed=1), WITNESS, "M")
    print(f"   mediation_analysis(data, graph, 'T', 'Y', 'M') refuses:\n   {refusal}")
    out["d"] = {"truth": truth, "mc": mc, "interventional": inter, "interventional_mc": inter_mc,
                "refusal": refusal, "blocks": [
                    ("ignored: no graph, cov [W]", study(scm, None, "M", truth, args.n, r_reg, {"covariates": ["W"]})),
                    ("ignored: no graph, cov [W, L]", study(scm, None, "M", truth, args.n, r_reg,
                                                            {"covariates": ["W", "L"]})),
                    ("graph + intermediate L", study(scm, WITNESS, "M", inter, args.n, r_reg,
                                                     {"intermediate_confounders": "L"}))]}
    return out


def _refusal(data: dict, graph: str, mediators: object) -> str:
    try:
        mediation_analysis(data, graph, "T", "Y", mediators)
    except NoMediationFormulaError as error:
        return f"NoMediationFormulaError: {error}"
    return "(not refused)"


def _fmt(truth: dict) -> str:
    return ", ".join(f"{k} {truth[k]:.4f}" for k in EFFECTS)


def print_coverage(out: dict) -> None:
    print(f"\n== 2. coverage of the {LEVEL:.0%} intervals against true_mediation (n = 400000, seed 0); replication r: "
          f"data seed 1000 + r, estimator seed r ==")
    titles = {"a": "(a) linear, binary T, T x M interaction (truth: total 1.88, direct 1.00, indirect 0.88)",
              "b": "(b) nonlinear M and Y (regression misspecified)",
              "c": "(c) two mediators M1 -> M2 and T -> M2, indirect through both jointly (linear)",
              "d": "(d) treatment-induced mediator-outcome confounder L; rows 1-2 against the natural truth, row 3 "
                   "against the interventional truth"}
    for key in ("a", "b", "c", "d"):
        if key in out:
            print_study(titles[key] + f"; truth {_fmt(out[key]['truth'])}", out[key]["blocks"])
    print("(bias/mc: bias over its Monte Carlo error emp sd / sqrt(R); se/sd: mean reported se over the empirical sd; "
          "cover: share of intervals holding the truth, '<' when below the binomial 95% band of the nominal level, "
          "0.95 - 1.96 sqrt(0.95 0.05 / R); s/fit: mean seconds per mediation_analysis call)")


# ------------------------------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="*", default=["reference", "coverage"], choices=["reference", "coverage"])
    parser.add_argument("--ref-n", type=int, default=2000, help="rows of the reference data")
    parser.add_argument("--ref-seed", type=int, default=0, help="data seed of the reference data")
    parser.add_argument("--sm-reps", type=int, default=1000, help="statsmodels parametric n_rep")
    parser.add_argument("--boot-reps", type=int, default=200, help="statsmodels bootstrap n_rep (0: skip)")
    parser.add_argument("--sm-seed", type=int, default=0, help="statsmodels rng")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats of ours (the median is reported)")
    parser.add_argument("--n", type=int, nargs="*", default=[500, 2000, 8000], help="rows per replication")
    parser.add_argument("--n-ml", type=int, nargs="*", default=[500, 2000], help="rows, machine-learned nuisances")
    parser.add_argument("--reps-regression", type=int, default=200)
    parser.add_argument("--reps-robust", type=int, default=100, help="multiply_robust with linear learners")
    parser.add_argument("--reps-ml", type=int, default=100, help="multiply_robust with boosting")
    parser.add_argument("--ml", nargs="*", default=["boosting/linear"],
                        help="outcome/treatment learner pairs for case (b)")
    parser.add_argument("--reps-forest", type=int, default=30, help="case (b) with forests (0: skip)")
    parser.add_argument("--n-forest", type=int, nargs="*", default=[500])
    parser.add_argument("--n-truth", type=int, default=400_000)
    parser.add_argument("--quick", action="store_true", help="a smoke run in under 2 minutes")
    args = parser.parse_args()
    if args.quick:
        args.sm_reps, args.boot_reps, args.repeats = 200, 30, 3
        args.n, args.n_ml = [500, 2000], [500]
        args.reps_regression, args.reps_robust, args.reps_ml, args.reps_forest = 20, 10, 4, 0
    args.ml = [tuple(pair.split("/")) for pair in args.ml]
    import sklearn

    versions = {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__,
                "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                            "MKL_NUM_THREADS")},
                "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine()}
    print(f"settings: {vars(args)}\nversions: {versions}", flush=True)
    out: dict = {"settings": {k: v for k, v in vars(args).items()}, "versions": versions}
    start = time.perf_counter()
    if "reference" in args.parts:
        ref = reference(args.ref_n, args.ref_seed, args.sm_reps, args.boot_reps, args.sm_seed, args.repeats)
        if ref is not None:
            print_reference(ref)
        out["reference"] = ref
    if "coverage" in args.parts:
        cov = coverage(args)
        print_coverage(cov)
        out["coverage"] = cov
    out["seconds"] = time.perf_counter() - start
    print(f"\ntotal: {out['seconds']:.0f} s")
    json.dump(out, sys.stdout, default=lambda v: v if not isinstance(v, np.generic) else v.item())
    print()


if __name__ == "__main__":
    main()
