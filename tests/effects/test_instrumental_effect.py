"""``instrumental_effect``: 2SLS and its diagnostics against linearmodels' recorded numbers, SCM ground truth where
hidden confounding leaves no adjustment set, and the weak-instrument and invalid-instrument regimes the
diagnostics exist for."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from latentscm.effects import (
    IV_STD_ERRORS,
    WEAK_INSTRUMENT_F,
    NoAdjustmentSetError,
    NoInstrumentError,
    estimate_effect,
    instrumental_effect,
    true_effect,
)
from latentscm.effects.instrumental_effect import two_stage_least_squares
from latentscm.graph import CausalGraph
from latentscm.scm import SCM, LinearGaussian

GRAPH = CausalGraph.from_text("W -> Z1; Z1 -> X; Z2 -> X; U -> X; U -> Y; W -> Y; X -> Y")


def _rows(seed: int = 7, n: int = 2000) -> dict[str, np.ndarray]:
    """Two instruments (Z1 confounded with Y through W), a heteroskedastic first stage, effect -1.5."""
    rng = np.random.default_rng(seed)
    u, w = rng.normal(size=n), rng.normal(size=n)
    z1, z2 = rng.normal(size=n) + w, rng.binomial(1, 0.4, size=n).astype(float)
    x = 0.6 * z1 + 0.8 * z2 + 1.2 * u + (1 + np.abs(w)) * rng.normal(size=n)
    y = -1.5 * x + 2.0 * u + 0.7 * w + rng.normal(size=n)
    return {"W": w, "Z1": z1, "Z2": z2, "X": x, "Y": y}


def test_matches_linearmodels_recorded_values():
    # linearmodels 7.1 (numpy 2.4.6), IV2SLS(Y, [1, W], X, [Z1, Z2]).fit(cov_type=..., debiased=True) on _rows():
    # params, std_errors, first_stage.diagnostics f.stat (robust: the Wald chi2, q times ours) and
    # partial.rsquared, sargan.stat, wooldridge_overid, wooldridge_regression.stat (the control-function t squared).
    recorded = {"robust": (-1.4690414306920137, 0.06442172180671066, 223.56497467697164, 38.0232731990906),
                "classical": (-1.4690414306920137, 0.06350102296738383, 115.65494540954502, 43.05217718230818)}
    data = _rows()
    for kind, (slope, std_error, f_stat, cf_stat) in recorded.items():
        result = instrumental_effect(data, GRAPH, "X", "Y", std_error=kind)
        assert result.info["instruments"] == ["Z1", "Z2"] and result.info["covariates"] == ["W"]
        assert result.estimate == pytest.approx(slope, rel=1e-10)
        assert result.std_error == pytest.approx(std_error, rel=1e-9)
        first = result.info["first_stage"]
        assert (2 * first["f_robust"] if kind == "robust" else first["f"]) == pytest.approx(f_stat, rel=1e-9)
        assert first["partial_r2"] == pytest.approx(0.10385168753236507, rel=1e-9)
        assert result.info["sargan"]["statistic"] == pytest.approx(1.5688939152616044, rel=1e-9)
        # wooldridge_overid.stat and .pval
        assert result.info["overid_robust"]["statistic"] == pytest.approx(1.5565039824667615, rel=1e-9)
        assert result.info["overid_robust"]["p_value"] == pytest.approx(0.2121778395023134, rel=1e-9)
        assert result.info["endogeneity"]["t"] ** 2 == pytest.approx(cf_stat, rel=1e-9)
    assert IV_STD_ERRORS == ("robust", "classical")


def _scm() -> SCM:
    graph = CausalGraph.from_text("Z -> X; W -> Z; W -> Y; U -> X; U -> Y; X -> M; M -> Y")
    return SCM(graph, {"U": LinearGaussian(), "W": LinearGaussian(), "Z": LinearGaussian({"W": 0.8}),
                       "X": LinearGaussian({"Z": 0.9, "U": 1.3}), "M": LinearGaussian({"X": 1.1}),
                       "Y": LinearGaussian({"M": 0.8, "U": -1.5, "W": 0.6})})


def test_covers_the_true_effect_where_no_adjustment_set_exists():
    scm = _scm()
    truth, _ = true_effect(scm, "X", "Y", n=1000)
    assert truth == pytest.approx(0.88)
    sample = scm.sample(4000, seed=3)
    data = {v: sample[v] for v in ("Z", "W", "X", "Y")}  # U and the mediator M unobserved
    with pytest.raises(NoAdjustmentSetError):
        estimate_effect(data, scm.graph, "X", "Y")
    result = instrumental_effect(data, scm.graph, "X", "Y")
    assert result.method == "2sls" and result.covers(truth)
    assert result.info["instruments"] == ["Z"] and result.info["covariates"] == ["W"]
    assert result.info["hidden"] == ["U", "M"] and result.info["identification"] == "instrumental variables"
    (low, high), = result.info["anderson_rubin"]["intervals"]
    assert low < truth < high and result.info["anderson_rubin"]["shape"] == "interval"
    # The regression on W that ignores U is far off, and the control-function test says so.
    assert abs(result.info["ols"] - truth) > 10 * result.std_error
    assert result.info["endogeneity"]["p_value"] < 1e-6
    assert "sargan" not in result.info  # just identified
    assert "with the instruments Z given W" in str(result)
    # Without W, Z is no instrument (it shares the cause W with Y): given explicitly, it is refused.
    with pytest.raises(ValueError, match="'instruments'.*not a conditional instrumental set"):
        instrumental_effect(data, scm.graph, "X", "Y", instruments="Z", covariates=[])
    # The contrast scales the effect and every interval.
    twice = instrumental_effect(data, scm.graph, "X", "Y", contrast=(1.0, -1.0))
    assert twice.estimate == pytest.approx(-2 * result.estimate)
    assert twice.info["anderson_rubin"]["intervals"][0] == pytest.approx([-2 * high, -2 * low])


def test_single_instrument_without_covariates_is_the_wald_ratio():
    rng = np.random.default_rng(0)
    n = 800
    u, z = rng.normal(size=n), rng.normal(size=n)
    x = z + u + rng.normal(size=n)
    y = 0.5 * x + u + rng.normal(size=n)
    graph = CausalGraph.from_text("Z -> X; U -> X; U -> Y; X -> Y")
    result = instrumental_effect({"Z": z, "X": x, "Y": y}, graph, "X", "Y")
    assert result.estimate == pytest.approx(np.cov(z, y)[0, 1] / np.cov(z, x)[0, 1], rel=1e-10)


def test_binary_instrument_and_treatment_give_the_complier_effect():
    # A randomised encouragement Z; compliers take X = Z, always-takers 1, never-takers 0. The effect of X is 1 for
    # compliers and 3 for the others, so the average effect (2.0) differs from the complier one (1.0), and the
    # types are confounded with the outcome.
    rng = np.random.default_rng(1)
    n = 20_000
    kind = rng.choice(3, size=n, p=[0.5, 0.25, 0.25])  # complier, always, never
    z = rng.binomial(1, 0.5, size=n).astype(float)
    x = np.where(kind == 0, z, (kind == 1).astype(float))
    y = np.where(kind == 0, 1.0, 3.0) * x + 2.0 * (kind == 1) + rng.normal(size=n)
    graph = CausalGraph.from_text("Z -> X; K -> X; K -> Y; X -> Y")
    result = instrumental_effect({"Z": z, "X": x, "Y": y}, graph, "X", "Y")
    assert result.covers(1.0) and not result.covers(2.0)
    assert result.contrast == (0.0, 1.0) and result.info["estimand"].startswith("the complier average effect")


def test_weak_instruments_warn_and_the_anderson_rubin_set_keeps_its_level():
    # 300 replications with a median first-stage F of 0.76 and errors correlated about 0.96: the Wald interval of
    # 2SLS covers 78 %, the Anderson-Rubin set 96 % (it is exact here: homoskedastic Gaussian errors, the classical
    # F test), unbounded in nine of ten samples.
    graph = CausalGraph.from_text("Z -> X; U -> X; U -> Y; X -> Y")
    wald = ar = unbounded = 0
    reps = 300
    for seed in range(reps):
        rng = np.random.default_rng(seed)
        n = 200
        u, z = rng.normal(size=n), rng.normal(size=n)
        x = 0.05 * z + u + 0.2 * rng.normal(size=n)
        y = 1.0 * x + u + 0.2 * rng.normal(size=n)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = instrumental_effect({"Z": z, "X": x, "Y": y}, graph, "X", "Y", std_error="classical")
        first = result.info["first_stage"]
        assert first["weak"] == (first["f"] < WEAK_INSTRUMENT_F)
        assert any("weak" in str(c.message) for c in caught) == first["weak"]
        wald += result.covers(1.0)
        sets = result.info["anderson_rubin"]["intervals"]
        ar += any(low <= 1.0 <= high for low, high in sets)
        unbounded += result.info["anderson_rubin"]["shape"] in ("two rays", "whole line")
    assert wald / reps < 0.85
    assert 0.92 <= ar / reps <= 0.98
    assert unbounded / reps > 0.8  # an honest set says how little weak instruments tell


def test_anderson_rubin_set_is_where_the_test_accepts():
    # The closed form against the test itself on a grid, for the classical F and the HC1 Wald tests (with one, two
    # and three instruments: the robust set with several is found from the roots of a polynomial of degree 2q).
    shapes = []
    data = _rows(seed=2, n=300)
    y, x, w = data["Y"], data["X"], data["W"][:, None]
    extra, noise = np.random.default_rng(9).normal(size=300), np.random.default_rng(10).normal(size=(300, 2))
    both = np.column_stack([data["Z1"], data["Z2"]])
    for z, robust in ((data["Z1"][:, None], True), (both, False), (both, True),
                      (np.column_stack([both, extra]), True), (np.column_stack([data["Z2"], extra]), True),
                      (data["Z2"][:, None] * 0.05 + data["Z1"][:, None] * 0.01, True), (noise, True),
                      (np.column_stack([noise, extra]), True)):
        fit = two_stage_least_squares(y, x, z, w, robust=robust)
        ones = np.column_stack([np.ones_like(y), w, z])
        q = z.shape[1]
        shapes.append(fit["anderson_rubin"]["shape"])
        for tau in np.concatenate([np.linspace(-6, 3, 181), [-1e4, -50.0, 40.0, 1e4]]):
            r = y - tau * x
            coef = np.linalg.lstsq(ones, r, rcond=None)[0]
            e = r - ones @ coef
            bread = np.linalg.inv(ones.T @ ones)
            if robust:
                cov = bread @ ((ones * e[:, None] ** 2).T @ ones) @ bread * len(y) / (len(y) - ones.shape[1])
                stat, crit = coef[-q:] @ np.linalg.solve(cov[-q:, -q:], coef[-q:]), stats.chi2.ppf(0.95, q)
            else:
                cov = bread * (e @ e) / (len(y) - ones.shape[1])
                stat = coef[-q:] @ np.linalg.solve(cov[-q:, -q:], coef[-q:]) / q
                crit = stats.f.ppf(0.95, q, len(y) - ones.shape[1])
            inside = any(low <= tau <= high for low, high in fit["anderson_rubin"]["intervals"])
            if abs(stat - crit) > 1e-6:
                assert inside == (stat <= crit), (robust, q, tau)
    assert {"interval", "whole line"} <= set(shapes)


def test_sargan_rejects_an_instrument_that_reaches_the_outcome():
    # The data give Z2 a direct edge to Y that the graph does not have: the two instruments disagree.
    data = _rows(seed=5, n=4000)
    data["Y"] = data["Y"] + 1.0 * data["Z2"]
    result = instrumental_effect(data, GRAPH, "X", "Y")
    assert result.info["sargan"]["p_value"] < 1e-4 and not result.covers(-1.5)
    assert result.info["overid_robust"]["p_value"] < 1e-4
    valid = instrumental_effect(_rows(seed=5, n=4000), GRAPH, "X", "Y")
    assert valid.info["sargan"]["p_value"] > 0.01 and valid.covers(-1.5)
    assert valid.info["overid_robust"]["p_value"] > 0.01


def test_bad_input_is_refused_by_name():
    data = _rows(n=200)
    with pytest.raises(ValueError, match="'std_error'"):
        instrumental_effect(data, GRAPH, "X", "Y", std_error="hc3")
    with pytest.raises(ValueError, match="'kind'"):
        instrumental_effect(data, GRAPH, "X", "Y", kind="best")
    with pytest.raises(ValueError, match="'instruments'.*not columns"):
        instrumental_effect(data, GRAPH, "X", "Y", instruments="U")
    with pytest.raises(ValueError, match="'instruments'.*treatment or the outcome"):
        instrumental_effect(data, GRAPH, "X", "Y", instruments=["X"])
    with pytest.raises(ValueError, match="'instruments' and 'covariates'.*share"):
        instrumental_effect(data, GRAPH, "X", "Y", instruments=["Z1"], covariates=["Z1", "W"])
    with pytest.raises(ValueError, match="'instruments'.*cannot be instruments"):
        instrumental_effect(data, GRAPH, "X", "Y", instruments=["W"])
    with pytest.raises(ValueError, match="'level'"):
        instrumental_effect(data, GRAPH, "X", "Y", level=1.5)
    collinear = dict(data, Z2=2.0 * data["Z1"])
    with pytest.raises(ValueError, match=r"collinear \(rank"):
        instrumental_effect(collinear, GRAPH, "X", "Y", instruments=["Z1", "Z2"], covariates=["W"])
    with pytest.raises(ValueError, match="rows, too few"):
        instrumental_effect({k: v[:4] for k, v in data.items()}, GRAPH, "X", "Y")
    no_instrument = CausalGraph.from_text("U -> X; U -> Y; X -> Y; Z -> X; Z -> Y")
    with pytest.raises(NoInstrumentError, match="no set of observed nodes"):
        instrumental_effect({"X": data["X"], "Y": data["Y"], "Z": data["Z1"]}, no_instrument, "X", "Y")


def _nonlinear_rows(seed: int = 11, n: int = 600) -> dict[str, np.ndarray]:
    """W confounds the instruments and the outcome nonlinearly; the effect of X is 1.2."""
    rng = np.random.default_rng(seed)
    w, u = rng.normal(size=(n, 2)), rng.normal(size=n)
    z1, z2 = np.sin(2 * w[:, 0]) + rng.normal(size=n), w[:, 1] ** 2 + rng.normal(size=n)
    x = 0.8 * z1 + 0.5 * z2 + u + rng.normal(size=n)
    y = 1.2 * x + 2.0 * np.sin(2 * w[:, 0]) + w[:, 1] ** 2 - 1.5 * u + rng.normal(size=n)
    return {"W0": w[:, 0], "W1": w[:, 1], "Z1": z1, "Z2": z2, "X": x, "Y": y}


NONLINEAR = CausalGraph.from_text("W0 -> Z1; W0 -> Y; W1 -> Z2; W1 -> Y; Z1 -> X; Z2 -> X; U -> X; U -> Y; X -> Y")


def test_dml_matches_doubleml_and_repairs_nonlinear_confounding():
    # Reference: DoubleML 0.11.4, DoubleMLPLIV(data, ml_l, ml_m, ml_r) (partialling out) with the folds
    # fold_labels(600, 5, 3) given through set_sample_splitting, scikit-learn 1.9.1; learners LinearRegression()
    # and RandomForestRegressor(n_estimators=50, min_samples_leaf=5, max_features=1.0, random_state=0, n_jobs=1).
    from sklearn.ensemble import RandomForestRegressor

    data = _nonlinear_rows()
    forest = RandomForestRegressor(n_estimators=50, min_samples_leaf=5, max_features=1.0, random_state=0, n_jobs=1)
    recorded = {("linear", 1): (1.860518958496601, 0.10678394887405743),
                ("linear", 2): (2.105681477128927, 0.10095477156057511),
                ("forest", 1): (1.18170377132066, 0.08901420975306386),
                ("forest", 2): (1.2152647770964247, 0.09510289717987017)}
    results = {}
    for (name, q), (slope, std_error) in recorded.items():
        learner = "linear" if name == "linear" else forest
        result = instrumental_effect(data, NONLINEAR, "X", "Y", instruments=["Z1", "Z2"][:q],
                                     covariates=["W0", "W1"], method="dml", outcome_learner=learner,
                                     treatment_learner=learner, seed=3)
        assert result.estimate == pytest.approx(slope, rel=1e-10) and result.method == "dml"
        assert result.std_error == pytest.approx(std_error, rel=1e-9)
        results[name, q] = result
    # Linear adjustment for W misses the effect (1.2) by about 9 standard errors; the forests' residuals cover it.
    two_stage = instrumental_effect(data, NONLINEAR, "X", "Y")
    assert two_stage.info["instruments"] == ["Z1", "Z2"] and not two_stage.covers(1.2)
    assert not results["linear", 2].covers(1.2)
    assert results["forest", 1].covers(1.2) and results["forest", 2].covers(1.2)
    info = results["forest", 2].info
    assert info["diagnostics"] == "on the cross-fitted residuals" and info["first_stage"]["f_robust"] > 10
    assert "sargan" in info and info["n_folds"] == 5 and info["outcome_learner"] == "RandomForestRegressor"


def test_dml_options_are_checked_by_name():
    data = _nonlinear_rows(n=100)
    with pytest.raises(ValueError, match="'outcome_learner' and 'treatment_learner'.*method='dml'"):
        instrumental_effect(data, NONLINEAR, "X", "Y", outcome_learner="forest")
    with pytest.raises(ValueError, match="'std_error'.*method='dml'"):
        instrumental_effect(data, NONLINEAR, "X", "Y", method="dml", std_error="classical")
    with pytest.raises(ValueError, match="'method'"):
        instrumental_effect(data, NONLINEAR, "X", "Y", method="gmm")
    with pytest.raises(ValueError, match="'n_folds'"):
        instrumental_effect(data, NONLINEAR, "X", "Y", method="dml", n_folds=1)
    with pytest.raises(ValueError, match="too few for n_folds=60"):
        instrumental_effect(data, NONLINEAR, "X", "Y", method="dml", n_folds=60)


def test_liml_and_fuller_match_linearmodels_recorded_values():
    # linearmodels 7.1, IVLIML(Y, [1, W], X, [Z1, Z2], fuller=0 or 1).fit(cov_type=..., debiased=True) on _rows():
    # params, std_errors and kappa.
    recorded = {("liml", "robust"): (-1.4717705928297744, 0.06491895450723346, 1.000784143383237),
                ("liml", "classical"): (-1.4717705928297744, 0.06379184792248924, 1.000784143383237),
                ("fuller", "robust"): (-1.470022615840509, 0.06460032093930902, 1.000283141379229),
                ("fuller", "classical"): (-1.470022615840509, 0.06360555098357996, 1.000283141379229)}
    data = _rows()
    for (method, kind), (slope, std_error, kappa) in recorded.items():
        result = instrumental_effect(data, GRAPH, "X", "Y", method=method, std_error=kind)
        assert result.method == method and result.estimate == pytest.approx(slope, rel=1e-10)
        assert result.std_error == pytest.approx(std_error, rel=1e-9)
        assert result.info["kappa"] == pytest.approx(kappa, rel=1e-12)
    assert instrumental_effect(data, GRAPH, "X", "Y").info["kappa"] == 1.0  # 2SLS is the k-class with kappa 1


def test_liml_is_less_biased_than_2sls_with_many_weak_instruments():
    # Ten instruments of which each moves X a little (concentration parameter about 12) and strong endogeneity:
    # over 200 samples 2SLS's median is pulled towards ordinary regression, LIML's and Fuller's stay near the
    # truth (Anderson, Kunitomo & Sawa 1982; Stock, Wright & Yogo 2002). Measured medians: OLS 0.115, 2SLS 0.549,
    # LIML 0.978, Fuller 0.893; mean absolute errors 0.89, 0.44, 0.67 (LIML has no moments: heavy tails) and 0.24.
    graph = CausalGraph.from_text("; ".join(f"Z{j} -> X" for j in range(10)) + "; U -> X; U -> Y; X -> Y")
    medians = {}
    estimates: dict[str, list[float]] = {"2sls": [], "liml": [], "fuller": [], "ols": []}
    for seed in range(200):
        rng = np.random.default_rng(seed)
        n = 300
        u, z = rng.normal(size=n), rng.normal(size=(n, 10))
        x = z @ np.full(10, 0.06) + u + 0.3 * rng.normal(size=n)
        y = 1.0 * x - u + 0.3 * rng.normal(size=n)
        data = {"X": x, "Y": y, **{f"Z{j}": z[:, j] for j in range(10)}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for method in ("2sls", "liml", "fuller"):
                result = instrumental_effect(data, graph, "X", "Y", method=method, std_error="classical")
                estimates[method].append(result.estimate)
            estimates["ols"].append(result.info["ols"])
    medians = {k: float(np.median(v)) for k, v in estimates.items()}
    assert medians["ols"] < 0.3  # the confounding: regression is far below the effect 1.0
    assert abs(medians["2sls"] - 1.0) > 0.3 and medians["2sls"] < 1.0
    assert abs(medians["liml"] - 1.0) < 0.1 and abs(medians["fuller"] - 1.0) < 0.15


def test_effective_f_is_the_robust_f_with_one_instrument_and_the_classical_f_under_homoskedasticity():
    # Montiel Olea & Pflueger (2013): F_eff = pi' Z'Z pi / tr(V_pi Z'Z), Z partialled on [1, W]. With one instrument
    # it equals the HC1 Wald F; with the classical V_pi = s^2 (Z'Z)^-1 it is the classical F.
    data = _rows()
    single = instrumental_effect(data, GRAPH, "X", "Y", instruments=["Z1"], covariates=["W"]).info["first_stage"]
    assert single["f_effective"] == pytest.approx(single["f_robust"], rel=1e-12)
    pooled = instrumental_effect(data, GRAPH, "X", "Y").info["first_stage"]
    n = data["X"].shape[0]
    ones = np.column_stack([np.ones(n), data["W"]])
    z = np.column_stack([data["Z1"], data["Z2"]])
    zt = z - ones @ np.linalg.lstsq(ones, z, rcond=None)[0]
    design = np.column_stack([ones, z])
    coef = np.linalg.lstsq(design, data["X"], rcond=None)[0]
    resid = data["X"] - design @ coef
    bread = np.linalg.inv(design.T @ design)
    hc1 = bread @ ((design * resid[:, None] ** 2).T @ design) @ bread * n / (n - 4)
    classical = bread * (resid @ resid) / (n - 4)
    pi, spread = coef[-2:], zt.T @ zt
    assert pooled["f_effective"] == pytest.approx(pi @ spread @ pi / np.trace(hc1[-2:, -2:] @ spread), rel=1e-9)
    assert pooled["f"] == pytest.approx(pi @ spread @ pi / np.trace(classical[-2:, -2:] @ spread), rel=1e-9)
    assert abs(pooled["f_effective"] - pooled["f_robust"]) > 1.0  # with two instruments they differ
