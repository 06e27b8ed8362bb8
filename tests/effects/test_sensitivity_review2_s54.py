"""Second review of the DML and AIPW paths of ``effects.sensitivity`` (session 54).

Independent checks: DoubleML's IRM and PLR fitted on exactly our folds (long and short models, their
``sensitivity_elements`` and ``sensitivity_benchmark``), brute-force recomputation of an intercept-only refit, and
invariance of the AIPW analysis to how a binary treatment is coded. Tests named ``test_defect_*`` expose a defect
and fail until it is fixed; the others add coverage the existing tests do not reach.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from latentscm.effects import confounder_strength, estimate_effect, sensitivity_analysis
from latentscm.effects.nuisance import fold_labels

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke  # noqa: E402

GRAPH3 = "x1 -> d; x2 -> d; x3 -> d; x1 -> y; x2 -> y; x3 -> y; d -> y"


def _binary(n: int = 1500, seed: int = 0) -> dict[str, np.ndarray]:
    """A binary d (logistic in a hidden u and x1, x2, x3); y = d + u + x1 + 0.5 x2^2 + 0.3 x3 + noise."""
    rng = np.random.default_rng(seed)
    u, x1, x2, x3 = (rng.normal(size=n) for _ in range(4))
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.8 * u + x1 - 0.5 * x2 + 0.4 * x3)))).astype(float)
    y = 1.0 * d + u + x1 + 0.5 * x2**2 + 0.3 * x3 + rng.normal(size=n)
    return {"d": d, "y": y, "x1": x1, "x2": x2, "x3": x3, "u": u}


def _observed(table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v for k, v in table.items() if k != "u"}


def _doubleml(kind: str, table: dict[str, np.ndarray], covariates: list[str], n_folds: int = 5, seed: int = 0):
    """DoubleML's IRM (``kind="irm"``) or PLR with our linear learners, fitted on our folds."""
    doubleml = pytest.importorskip("doubleml")
    import pandas as pd
    from sklearn.linear_model import LinearRegression, LogisticRegression

    folds = fold_labels(len(table["y"]), n_folds, seed)
    frame = pd.DataFrame({k: table[k] for k in ("y", "d", *covariates)})
    data = doubleml.DoubleMLData(frame, y_col="y", d_cols="d", x_cols=covariates)
    if kind == "irm":
        model = doubleml.DoubleMLIRM(data, LinearRegression(), LogisticRegression(C=1e6, max_iter=10_000, tol=1e-8),
                                     n_folds=n_folds, draw_sample_splitting=False)
    else:
        model = doubleml.DoubleMLPLR(data, LinearRegression(), LinearRegression(), n_folds=n_folds,
                                     draw_sample_splitting=False)
    model.set_sample_splitting([[(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(n_folds)]])
    return model.fit()


def _elements(model) -> tuple[float, float]:
    """DoubleML's ``(sigma2, nu2)`` of a fitted model."""
    elements = model.sensitivity_elements
    return float(np.squeeze(elements["sigma2"])), float(np.squeeze(elements["nu2"]))


# -------------------------------------------------------------------------------------- binary coding, contrast
@pytest.mark.parametrize("coding", [(0.0, 1.0), (1.0, 2.0), (-1.0, 1.0), (3.0, -7.0)])
def test_aipw_analysis_is_invariant_to_the_coding_and_flips_with_a_reversed_contrast(coding):
    """The AIPW ATE of a binary treatment does not depend on which two numbers code it: the estimate, its error,
    S, the RV and the benchmark gains are those of 0/1; the reversed contrast negates the estimate (and t) and keeps
    the rest; the r2 = 0 scenario is the estimate's own interval (both directions)."""
    table = _observed(_binary())
    base = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2", "x3"], method="aipw",
                                benchmark=["x1", ["x2", "x3"]], kd=1)
    recoded = {**table, "d": np.where(table["d"] == 1, coding[1], coding[0])}
    t0, t1 = coding
    for contrast, sign in (((t0, t1), 1.0), ((t1, t0), -1.0)):
        report = sensitivity_analysis(recoded, treatment="d", outcome="y", covariates=["x1", "x2", "x3"],
                                      method="aipw", benchmark=["x1", ["x2", "x3"]], kd=1, contrast=contrast)
        assert report.estimate == pytest.approx(sign * base.estimate, rel=1e-10)
        assert report.t_value == pytest.approx(sign * base.t_value, rel=1e-10)
        assert report.std_error == pytest.approx(base.std_error, rel=1e-10)
        assert report.bias_scale == pytest.approx(base.bias_scale, rel=1e-10)
        assert report.robustness_value == pytest.approx(base.robustness_value, rel=1e-8)
        assert report.robustness_value_alpha == pytest.approx(base.robustness_value_alpha, rel=1e-6)
        for label in base.benchmarks:
            assert report.benchmarks[label] == pytest.approx(base.benchmarks[label], rel=1e-8)
        for ours, theirs in zip(report.scenarios, base.scenarios):
            assert ours.adjusted_estimate == pytest.approx(sign * theirs.adjusted_estimate, rel=1e-8)
            assert ours.adjusted_std_error == pytest.approx(theirs.adjusted_std_error, rel=1e-8)
        zero = report.scenario(0.0, 0.0)
        assert (zero.ci_low, zero.ci_high) == pytest.approx((report.ci_low, report.ci_high), rel=1e-12)
        assert zero.adjusted_std_error == pytest.approx(report.std_error, rel=1e-12)


def test_aipw_reversed_contrast_equals_doubleml_on_the_flipped_treatment():
    """The ATE of 1 -> 0 is DoubleML's IRM on 1 - d; the reduced bound of this negative estimate is DoubleML's
    upper bound, and the RV its rv (identical folds)."""
    table = _observed(_binary())
    report = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2", "x3"], method="aipw",
                                  contrast=(1, 0), scenarios={"c": (0.04, 0.06)})
    model = _doubleml("irm", {**table, "d": 1.0 - table["d"]}, ["x1", "x2", "x3"])
    assert report.estimate < 0 and report.estimate == pytest.approx(float(model.coef[0]), rel=1e-10)
    model.sensitivity_analysis(cf_y=0.06, cf_d=0.04, rho=1.0, level=0.975)
    theirs = model.sensitivity_params
    assert report.scenarios[0].adjusted_estimate == pytest.approx(float(theirs["theta"]["upper"][0]), rel=1e-10)
    assert report.robustness_value == pytest.approx(float(theirs["rv"][0]), abs=1e-6)


def test_dml_with_a_minus_one_one_treatment_is_the_slope_times_two():
    """DML with d coded -1/1: the effect of -1 -> 1 is twice DoubleML's slope on the same coding (identical folds)
    and equals the 0/1 analysis; S scales with the contrast's width, the RV does not."""
    table = _observed(_binary())
    pm = {**table, "d": 2.0 * table["d"] - 1.0}
    report = sensitivity_analysis(pm, treatment="d", outcome="y", covariates=["x1", "x2", "x3"], method="dml")
    zero_one = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2", "x3"], method="dml")
    model = _doubleml("plr", pm, ["x1", "x2", "x3"])
    assert report.contrast == (-1.0, 1.0)
    assert report.estimate == pytest.approx(2 * float(model.coef[0]), rel=1e-10)
    assert report.std_error == pytest.approx(2 * float(model.se[0]), rel=1e-10)
    assert report.estimate == pytest.approx(zero_one.estimate, rel=1e-8)
    sigma2, nu2 = _elements(model)
    assert report.bias_scale == pytest.approx(2 * np.sqrt(sigma2 * nu2), rel=1e-8)
    assert report.robustness_value == pytest.approx(zero_one.robustness_value, rel=1e-8)
    zero = report.scenario(0.0, 0.0)
    assert (zero.ci_low, zero.ci_high) == pytest.approx((report.ci_low, report.ci_high), rel=1e-12)


# ---------------------------------------------------------------------------- confounder_strength, benchmarks
@pytest.mark.parametrize("kind", ["irm", "plr"])
def test_confounder_strength_equals_doubleml_long_and_short_fits(kind):
    """``confounder_strength`` from DoubleML's short (x) and long (x + u) models on the same folds:
    cf_d = 1 - nu2_short / nu2_long and cf_y = (sigma2_short - sigma2_long) / sigma2_short (Chernozhukov et al.'s
    definitions); AIPW's with the treatment coded 1/2 is the same."""
    full = _binary()
    method = "aipw" if kind == "irm" else "dml"
    ours = confounder_strength(full, "d", "y", ["x1", "x2", "x3"], "u", method=method)
    sigma2_s, nu2_s = _elements(_doubleml(kind, full, ["x1", "x2", "x3"]))
    sigma2_l, nu2_l = _elements(_doubleml(kind, full, ["x1", "x2", "x3", "u"]))
    assert ours == pytest.approx((1 - nu2_s / nu2_l, (sigma2_s - sigma2_l) / sigma2_s), rel=1e-8)
    if kind == "irm":
        recoded = {**full, "d": full["d"] + 1.0}
        assert confounder_strength(recoded, "d", "y", ["x1", "x2", "x3"], "u", method="aipw") == pytest.approx(
            ours, rel=1e-10)


def test_aipw_group_benchmark_equals_doubleml_sensitivity_benchmark():
    """A group benchmark (x2 + x3) for AIPW is DoubleML's ``sensitivity_benchmark(["x2", "x3"])`` (same folds),
    and its kd/ky multiples scale the gains linearly."""
    table = _observed(_binary())
    report = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2", "x3"], method="aipw",
                                  benchmark=[["x2", "x3"]], kd=[0.5, 1.0], ky=[1.0, 2.0])
    model = _doubleml("irm", table, ["x1", "x2", "x3"])
    bench = model.sensitivity_benchmark(["x2", "x3"])
    gains = report.benchmarks["x2+x3"]
    assert gains == pytest.approx((float(bench["cf_d"].iloc[0]), float(bench["cf_y"].iloc[0])), rel=1e-8)
    first, second = report.scenarios
    assert (first.r2_dz_x, first.r2_yz_dx) == pytest.approx((0.5 * gains[0], gains[1]), rel=1e-12)
    assert (second.r2_dz_x, second.r2_yz_dx) == pytest.approx((gains[0], min(2 * gains[1], 1.0)), rel=1e-12)


def test_aipw_benchmark_of_the_whole_adjustment_set_refits_on_the_intercept():
    """Benchmarking the whole adjustment set refits with no covariates: the arms' outcome models are the out-of-fold
    arm means and the propensity the out-of-fold treated share. Recomputed by hand, the long model from DoubleML."""
    table = _observed(_binary(n=1200, seed=4))
    covariates = ["x1", "x2", "x3"]
    report = sensitivity_analysis(table, treatment="d", outcome="y", covariates=covariates, method="aipw",
                                  benchmark=[covariates], kd=0.1)
    y, treated = table["y"], table["d"] == 1
    folds = fold_labels(y.size, 5, 0)
    g1, g0, e = np.empty(y.size), np.empty(y.size), np.empty(y.size)
    for k in range(5):
        train, test = folds != k, folds == k
        g1[test], g0[test] = y[train & treated].mean(), y[train & ~treated].mean()
        e[test] = treated[train].mean()
    alpha = treated / e - (~treated) / (1 - e)
    nu2_short = float(np.mean(2 * (1 / e + 1 / (1 - e)) - alpha**2))
    sigma2_short = float(np.mean((y - np.where(treated, g1, g0)) ** 2))
    sigma2_long, nu2_long = _elements(_doubleml("irm", table, covariates))
    expected = ((nu2_long - nu2_short) / nu2_short, (sigma2_short - sigma2_long) / sigma2_long)
    assert report.benchmarks["x1+x2+x3"] == pytest.approx(expected, rel=1e-6)


# ------------------------------------------------------------------------------------ q, reduce, the intervals
@pytest.mark.parametrize("method", ["dml", "aipw"])
@pytest.mark.parametrize("q", [0.5, 1.5])
def test_rv_and_rv_alpha_for_q_other_than_one_and_either_direction(method, q):
    """RV_q brings the estimate to (1 - q) x itself; RV_{q,alpha} is where the interval's end nearer zero reaches it
    (checked on a brute-force grid built from the report's influence functions, not ``_scenario``); both are the
    same with reduce=False (they ask what brings the estimate down)."""
    table = _observed(_binary())
    options = dict(treatment="d", outcome="y", covariates=["x1", "x2", "x3"], method=method, q=q)
    report = sensitivity_analysis(table, **options)
    away = sensitivity_analysis(table, **options, reduce=False)
    assert away.robustness_value == report.robustness_value
    assert away.robustness_value_alpha == pytest.approx(report.robustness_value_alpha, rel=1e-12)
    rv = report.robustness_value
    assert report.scenario(rv, rv).adjusted_estimate == pytest.approx((1 - q) * report.estimate, rel=1e-8)
    z = stats.norm.ppf(0.975)
    grid = np.linspace(0, 0.99, 19_801)
    strength = grid / np.sqrt(1 - grid)  # sqrt(r * r / (1 - r))
    psi_est, psi_scale = report.influence["estimate"], report.influence["scale"]
    se = np.sqrt(np.mean((psi_est[:, None] - strength[None, :] * psi_scale[:, None]) ** 2, axis=0) / psi_est.size)
    low = report.estimate - strength * report.bias_scale - z * se
    first = grid[np.argmax(low <= (1 - q) * report.estimate)]
    assert report.robustness_value_alpha == pytest.approx(first, abs=1e-4)
    # reduce=False moves the other way: the adjusted estimate grows by the same bias
    assert away.scenario(rv, rv).adjusted_estimate == pytest.approx((1 + q) * report.estimate, rel=1e-8)


def test_aipw_with_untrimmed_extreme_propensities_still_has_a_positive_scale():
    """trim=0 with near-deterministic treatment assignment: the estimate and S stay finite and positive, and a
    smaller trim never shrinks S (the representer's moment grows as propensities approach 0 or 1)."""
    rng = np.random.default_rng(2)
    n = 1200
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-5 * (x1 - 0.5 * x2)))).astype(float)
    y = d + x1 + x2 + rng.normal(size=n)
    table = {"d": d, "y": y, "x1": x1, "x2": x2}
    scales = []
    for trim in (0.0, 0.01, 0.1):
        report = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2"], method="aipw",
                                      trim=trim)
        assert np.isfinite(report.estimate) and np.isfinite(report.bias_scale) and report.bias_scale > 0
        assert report.info["trim"] == trim
        scales.append(report.bias_scale)
    assert scales[0] >= scales[1] >= scales[2]


# ---------------------------------------------------------------------------------------------------- the CLI
def _write_csv(path: Path, table: dict[str, np.ndarray]) -> None:
    names = list(table)
    rows = np.column_stack([table[k] for k in names])
    path.write_text(",".join(names) + "\n" + "\n".join(",".join(f"{v:.10g}" for v in r) for r in rows) + "\n")


def test_cli_aipw_sensitivity_with_a_one_two_treatment_and_a_continuous_one(tmp_path):
    """``effect --sensitivity --method aipw`` on a treatment coded 1/2 reports the library's numbers; on a
    continuous treatment it is a usage error that says a binary treatment is needed (no traceback)."""
    table = _observed(_binary(n=600, seed=5))
    coded = {**table, "d": table["d"] + 1.0}
    _write_csv(tmp_path / "b.csv", coded)
    result = invoke(["effect", tmp_path / "b.csv", "--graph", GRAPH3, "--treatment", "d", "--outcome", "y",
                     "--sensitivity", "--method", "aipw", "--benchmark", "x1", "--kd", "1"])
    assert result.exit_code == 0, result.output
    library = sensitivity_analysis(coded, GRAPH3, "d", "y", method="aipw", benchmark="x1", kd=1)
    assert f"{library.estimate:.4g}" in result.output and "AIPW" in result.output
    continuous = {**table, "d": table["d"] + np.random.default_rng(0).normal(size=600)}
    _write_csv(tmp_path / "c.csv", continuous)
    result = invoke(["effect", tmp_path / "c.csv", "--graph", GRAPH3, "--treatment", "d", "--outcome", "y",
                     "--sensitivity", "--method", "aipw"])
    assert result.exit_code == 2, result.output
    assert "binary" in result.output and "Traceback" not in result.output


def test_aipw_sensitivity_estimate_equals_estimate_effect_with_a_reversed_one_two_contrast():
    table = _observed(_binary(n=800, seed=7))
    coded = {**table, "d": table["d"] + 1.0}
    report = sensitivity_analysis(coded, GRAPH3, "d", "y", method="aipw", contrast=(2, 1))
    effect = estimate_effect(coded, GRAPH3, "d", "y", method="aipw", contrast=(2, 1))
    assert report.estimate == pytest.approx(effect.estimate, rel=1e-12) and report.estimate < 0
    assert report.std_error == pytest.approx(effect.std_error, rel=1e-12)


# ------------------------------------------------------------------------------------------------- defects
def test_defect_confounder_strength_aipw_returns_nan_for_degenerate_propensities():
    """``confounder_strength(method="aipw", trim=0)`` with a confounder that (nearly) separates the arms: some
    out-of-fold propensities of the long fit are exactly 0 or 1, the representer's moment ``nu2`` is NaN, and the
    function silently returns ``(nan, 0.32)`` (``max(nan, 0.0)`` is nan, so the clipping does not catch it).
    ``sensitivity_analysis`` and ``estimate_effect`` refuse the same fit. Correct: raise a ValueError (as
    ``_debiased_fit`` does) when either fit's ``nu2`` is not finite and positive, naming 'trim'."""
    rng = np.random.default_rng(4)
    n = 600
    x1, z = rng.normal(size=n), rng.normal(size=n)
    d = (z + 0.3 * x1 + 0.2 * rng.normal(size=n) > 0).astype(float)
    y = d + z + x1 + rng.normal(size=n)
    table = {"d": d, "y": y, "x1": x1, "z": z}
    with pytest.raises(ValueError, match="sensitivity_analysis"):
        with np.errstate(all="ignore"):
            sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "z"], method="aipw",
                                 trim=0.0)
    with np.errstate(all="ignore"):
        try:
            strengths = confounder_strength(table, "d", "y", ["x1"], "z", method="aipw", trim=0.0)
        except ValueError as error:
            assert "trim" in str(error)
            return
    assert np.all(np.isfinite(strengths)), f"confounder_strength returned {strengths} without an error"


def test_cli_aipw_sensitivity_with_a_reversed_contrast(tmp_path):
    """``--contrast 1,0`` with --method aipw: the effect of 1 -> 0 (the library's negative estimate)."""
    table = _observed(_binary(n=600, seed=5))
    _write_csv(tmp_path / "b.csv", table)
    result = invoke(["effect", tmp_path / "b.csv", "--graph", GRAPH3, "--treatment", "d", "--outcome", "y",
                     "--sensitivity", "--method", "aipw", "--contrast", "1,0", "--folds", "3"])
    assert result.exit_code == 0, result.output
    library = sensitivity_analysis(table, GRAPH3, "d", "y", method="aipw", contrast=(1, 0), n_folds=3)
    assert library.estimate < 0 and f"{library.estimate:.4g}" in result.output and "(1 -> 0)" in result.output
