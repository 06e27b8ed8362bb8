"""Review of ``effects.sensitivity`` and ``latentscm effect --sensitivity`` (session 54).

Independent checks (statsmodels fits with and without the confounder, PySensemakr fed partial R^2 read off
statsmodels t statistics, a grid search for RV_{q,alpha}, DoubleML with the same folds, dml.sensemakr's and
DoubleML's benchmark gains) and edge cases. Tests named ``test_defect_*`` expose a defect and fail until it is
fixed; the others confirm behaviour the existing tests do not reach.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from latentscm.effects import (
    confounder_strength,
    estimate_effect,
    robustness_value,
    sensitivity_analysis,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke, refused  # noqa: E402

CLI_GRAPH = "Z1 -> T; Z2 -> T; Z1 -> Y; Z2 -> Y; T -> Y"


def _linear(n: int = 600, seed: int = 0, effect: float = 0.5) -> dict[str, np.ndarray]:
    """d -> y with observed x1, x2 (both confounders) and a hidden u that pushes the estimate away from zero."""
    rng = np.random.default_rng(seed)
    u, x1, x2 = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    d = 0.5 * x1 + 0.3 * x2 + 0.6 * u + rng.normal(size=n)
    y = effect * d + 0.8 * x1 + 0.4 * x2 + np.sign(effect) * 0.7 * u + rng.normal(size=n)
    return {"d": d, "y": y, "x1": x1, "x2": x2, "u": u}


def _csv(path: Path, n: int = 300, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    z1, z2 = rng.normal(size=n), rng.normal(size=n)
    t = 0.6 * z1 + 0.3 * z2 + rng.normal(size=n)
    y = 1.0 * t + 2.5 * z1 + z2 + rng.normal(size=n)
    rows = np.column_stack([z1, z2, t, y])
    path.write_text("Z1,Z2,T,Y\n" + "\n".join(",".join(f"{v:.8f}" for v in r) for r in rows) + "\n")


def _same_folds_plr(table: dict[str, np.ndarray], covariates: list[str], n_folds: int, seed: int):
    """DoubleML's PLR with linear learners on exactly the folds ``sensitivity_analysis`` uses."""
    doubleml = pytest.importorskip("doubleml")
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from latentscm.effects.nuisance import fold_labels

    n = next(iter(table.values())).size
    folds = fold_labels(n, n_folds, seed)
    data = doubleml.DoubleMLData(pd.DataFrame(table), y_col="y", d_cols="d", x_cols=covariates)
    model = doubleml.DoubleMLPLR(data, LinearRegression(), LinearRegression(), n_folds=n_folds,
                                 draw_sample_splitting=False)
    model.set_sample_splitting([[(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(n_folds)]])
    model.fit()
    return model


# ======================================================================================= defects (fail now)
def test_defect_robustness_value_cancels_to_zero_for_a_large_t():
    """``RV_q = (sqrt(f^4 + 4 f^2) - f^2) / 2`` loses every digit to cancellation once ``f = |t| / sqrt(dof)``
    passes about 1e8: ``robustness_value(3e9, 100)`` is 0.0 (the estimate "not robust at all") although RV_q
    tends to 1 as t grows and is never below RV_{q,alpha} (which comes out 1.0 there). A near-deterministic fit
    (outcome noise 1e-9) reaches it through ``sensitivity_analysis``. Correct: the same quantity written without
    cancellation, ``2 / (1 + sqrt(1 + 4 / f^2))`` (also in ``_rv``), gives values in (0, 1] rising with t."""
    values = [robustness_value(t, 100) for t in (1e3, 1e6, 3e9, 1e12)]
    assert all(0.99 < v <= 1.0 for v in values), values
    assert np.all(np.diff(values) >= -1e-12), values
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    d = x + rng.normal(size=200)
    y = 2 * d + x + 1e-9 * rng.normal(size=200)
    report = sensitivity_analysis({"d": d, "y": y, "x": x}, treatment="d", outcome="y", covariates=["x"])
    assert report.robustness_value >= report.robustness_value_alpha
    assert report.robustness_value > 0.99


def test_defect_t_value_has_the_wrong_sign_when_the_contrast_is_reversed():
    """``t_value`` is the slope's t statistic, not the reported effect's: with ``contrast=(1, 0)`` the estimate
    and both interval ends are negative but ``t_value`` (and the JSON's ``t_value``, and the printed ``t``) is
    positive. Correct: ``t_value = estimate / std_error`` (the slope's t times ``sign(t1 - t0)``), for both
    methods."""
    table = {k: v for k, v in _linear().items() if k != "u"}
    for method in ("regression", "dml"):
        report = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2"], method=method,
                                      contrast=(1.0, 0.0))
        assert report.estimate < 0 and report.ci_high < 0
        assert report.t_value == pytest.approx(report.estimate / report.std_error, rel=1e-10), method


def test_defect_dml_rv_alpha_is_one_when_reduce_is_false():
    """With ``reduce=False`` the DML report gives ``robustness_value_alpha = 1.0`` (its grid search follows the
    scenarios, which then move the estimate away from zero, so the interval never reaches it) while
    ``robustness_value`` is still the reducing direction's RV_q. The regression report gives the same
    RV_{q,alpha} for both readings, and RV_{q,alpha} <= RV_q always. Correct: robustness values do not depend
    on ``reduce``; search RV_{q,alpha} with the reducing bound."""
    table = {k: v for k, v in _linear(n=400).items() if k != "u"}
    toward = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2"], method="dml")
    away = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2"], method="dml",
                                reduce=False)
    assert away.robustness_value == pytest.approx(toward.robustness_value)
    assert away.robustness_value_alpha <= away.robustness_value
    assert away.robustness_value_alpha == pytest.approx(toward.robustness_value_alpha, rel=1e-6)


def test_defect_dml_benchmark_gains_are_measured_against_the_wrong_residual_variance():
    """The DML benchmark uses ``(E[v_-j^2] - E[v^2]) / E[v_-j^2]`` and ``(sigma2_-j - sigma2) / sigma2_-j``
    (the share of the *short* model's residual variance), but Chernozhukov et al.'s gains, as both reference
    implementations compute them (DoubleML ``gain_statistics``; dml.sensemakr ``bench_fun``:
    ``Gain.Y = (sigma.sq.wo - sigma.sq) / sigma.sq``, ``Gain.D = (nu.sq - nu.sq.wo) / nu.sq.wo``) divide by the
    *long* (observed) model's, the denominator an omitted confounder's own ``cf_y``/``cf_d`` is measured in; only
    then does "kd times as strong as X_j" compare like with like. Ours are ``G / (1 + G)`` of theirs, so every
    benchmark bound is too weak (anti-conservative). It also disagrees with Cinelli & Hazlett's treatment-side
    bound ``kd r2_dxj / (1 - r2_dxj)`` that ``method="regression"`` uses, to which the DML bound with linear
    learners should reduce. Correct: ``gain_d = (E[v_-j^2] - E[v^2]) / E[v^2]``,
    ``gain_y = (sigma2_-j - sigma2) / sigma2`` (clipped to [0, 1)), and the docstring to match."""
    table = {k: v for k, v in _linear(n=1000, seed=5).items() if k != "u"}
    ours = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2"], method="dml",
                                benchmark="x1", kd=1, n_folds=4, seed=3)
    model = _same_folds_plr(table, ["x1", "x2"], 4, 3)
    assert ours.estimate == pytest.approx(float(model.coef[0]), rel=1e-10)
    theirs = model.sensitivity_benchmark(["x1"])
    cf_d, cf_y = float(theirs["cf_d"].iloc[0]), float(theirs["cf_y"].iloc[0])
    bound = ours.scenarios[0]
    # C&H's regression bound on the treatment side, with the same data: kd r2 / (1 - r2)
    regression = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2"], benchmark="x1",
                                      kd=1)
    assert bound.r2_dz_x == pytest.approx(regression.scenarios[0].r2_dz_x, abs=0.005)
    assert (bound.r2_dz_x, bound.r2_yz_dx) == pytest.approx((cf_d, cf_y), rel=1e-8)


def test_defect_world_silently_ignores_sensitivity_and_plot(tmp_path):
    """``latentscm effect --world ... --sensitivity --plot p.png`` runs the plain world effect, exits 0 and
    writes no plot: the --world branch returns before the --sensitivity flags are looked at, and its list of
    refused flags lacks them. Correct: refuse (exit 2) naming --sensitivity (and --benchmark, --kd, --ky, --q,
    --plot)."""
    plot = tmp_path / "w.png"
    result = invoke(["effect", "--world", "flow", "--treatment", "water_height", "--outcome", "flow",
                     "--samples", "200", "--sensitivity", "--plot", plot])
    refused(result, "--sensitivity")
    assert not plot.exists()


def test_defect_identify_silently_ignores_sensitivity(tmp_path):
    """``--identify`` refuses the estimating flags it is given (``--refute``, ``--method``, ...) but not
    ``--sensitivity``, ``--benchmark``, ``--kd`` or ``--plot``: they are dropped without a word and no plot is
    written. Correct: add them to the flags ``_identify`` refuses."""
    _csv(tmp_path / "d.csv")
    plot = tmp_path / "p.png"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", CLI_GRAPH, "--treatment", "T", "--outcome", "Y",
                     "--identify", "--sensitivity", "--benchmark", "Z1", "--plot", plot])
    refused(result, "--sensitivity")
    assert not plot.exists()


def test_defect_kd_and_ky_without_a_benchmark_are_silently_ignored(tmp_path):
    """``--sensitivity --kd 2`` (or ``--ky``) without ``--benchmark`` exits 0 and the multiples change nothing:
    they scale benchmarks and there are none. The CLI knows they were given (their default is None) and refuses
    the analogous unused flags elsewhere. Correct: refuse ``--kd``/``--ky`` without ``--benchmark``."""
    _csv(tmp_path / "d.csv")
    base = ["effect", tmp_path / "d.csv", "--graph", CLI_GRAPH, "--treatment", "T", "--outcome", "Y",
            "--sensitivity"]
    refused(invoke([*base, "--kd", "2"]), "--benchmark")
    refused(invoke([*base, "--ky", "2"]), "--benchmark")


def test_defect_plot_path_suffix_is_not_checked(tmp_path):
    """``--plot`` always writes PNG bytes, whatever the name: ``--plot contour.pdf`` leaves a PNG in a .pdf
    file. Every other fixed-format image output of the CLI (``discover --png``, ``worlds --out``,
    ``counterfactual --out``) calls ``check_output_path(..., suffixes=(".png",))``. Correct: the same here."""
    _csv(tmp_path / "d.csv")
    plot = tmp_path / "contour.pdf"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", CLI_GRAPH, "--treatment", "T", "--outcome", "Y",
                     "--sensitivity", "--plot", plot])
    refused(result, "--plot", ".png")
    assert not plot.exists()


def test_defect_the_contour_plot_leaves_out_capped_scenarios():
    """``plot()`` promises a default limit "enough to show every scenario" with "every scenario marked", but the
    limit is capped at 0.99 and a scenario is drawn only inside it, so a benchmark bound whose outcome R^2 was
    capped at 1 (common: a covariate that explains much of the outcome; ``capped=True``) or a given scenario with
    ``r2_yz_dx = 1`` never appears. Correct: draw such points on the plot's edge (clipped, marked as capped), or
    say in the docstring that they are left out."""
    table = {k: v for k, v in _linear(n=500, seed=2).items() if k != "u"}
    table["y"] = table["y"] + 3 * table["x1"]  # x1 explains most of the outcome: its 1x bound reaches r2_yz = 1
    report = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2"], benchmark="x1", kd=1)
    assert report.scenarios[0].capped and report.scenarios[0].r2_yz_dx == 1.0
    figure = report.plot()
    labels = [t.get_text() for t in figure.axes[0].texts]
    import matplotlib.pyplot as plt

    plt.close(figure)
    assert any(label.startswith("1x x1 (") for label in labels), labels


def test_defect_module_docstring_says_the_dml_bounds_are_not_built():
    """The module docstring ends: "Chernozhukov et al. (2022, 'Long story short') extend them to machine-learned
    estimators; that is not built here" and "the formulas are for the linear regression estimate", but
    ``sensitivity_analysis(method="dml")`` builds exactly that. (The ``SensitivityReport`` docstring likewise
    describes ``dof`` as ``n - 2 - len(covariates)`` and the interval as Student-t; for DML they are ``n - 1`` and
    normal.) Correct: describe the DML bounds in the module docstring."""
    from latentscm.effects import sensitivity as module

    assert "that is not built here" not in module.__doc__


def test_defect_confounder_strength_takes_the_treatment_as_a_covariate():
    """``confounder_strength(data, "d", "y", covariates=["d"], ...)`` (or the outcome among the covariates) is
    not refused; it fails inside ``partial_r2`` with "'given' explains the target exactly", which names neither
    the function called nor the argument at fault. Correct: refuse, naming 'covariates' (as
    ``sensitivity_analysis`` does: "names 'd', the treatment or outcome")."""
    table = _linear(n=200)
    for bad in (["d"], ["x1", "y"]):
        with pytest.raises(ValueError, match="'covariates'"):
            confounder_strength(table, "d", "y", bad, "u")


def test_defect_benchmark_groups_keep_the_spaces_around_plus(tmp_path):
    """``--benchmark "Z1, Z2"`` works (each name is stripped) but ``--benchmark "Z1 + Z2"`` is refused as naming
    ``'Z1 '`` and ``' Z2'``: the parts of a group are not stripped. Correct: strip each part of a '+' group."""
    _csv(tmp_path / "d.csv")
    out = tmp_path / "s.json"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", CLI_GRAPH, "--treatment", "T", "--outcome", "Y",
                     "--sensitivity", "--benchmark", "Z1 + Z2", "--kd", "0.2", "--out", out])
    assert result.exit_code == 0, result.output
    assert "Z1+Z2" in json.loads(out.read_text())["benchmarks"]


# ============================================================================ independent checks (pass)
@pytest.mark.parametrize("reversed_contrast", [False, True])
def test_exact_against_statsmodels_with_the_confounder_for_a_negative_effect_and_binary_treatment(
        reversed_contrast):
    """Binary treatment, negative effect, a hidden u that pushes it further from zero: the scenario at u's
    strength reproduces statsmodels' fit with u (coefficient, classical se, its t interval), in effect units
    whichever way the contrast runs."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(11)
    n = 400
    u, x = rng.normal(size=n), rng.normal(size=n)
    d = (0.8 * u + 0.5 * x + rng.normal(size=n) > 0).astype(float)
    y = -0.6 * d - 0.9 * u + 0.5 * x + rng.normal(size=n)
    table = {"d": d, "y": y, "x": x, "u": u}
    contrast = (1.0, 0.0) if reversed_contrast else None
    report = sensitivity_analysis({k: table[k] for k in ("d", "y", "x")}, treatment="d", outcome="y",
                                  covariates=["x"], contrast=contrast)
    sign = -1.0 if reversed_contrast else 1.0
    short = sm.OLS(y, sm.add_constant(np.column_stack([d, x]))).fit()
    full = sm.OLS(y, sm.add_constant(np.column_stack([d, x, u]))).fit()
    assert report.estimate == pytest.approx(sign * short.params[1], rel=1e-10)
    assert report.std_error == pytest.approx(short.bse[1], rel=1e-10) and report.dof == int(short.df_resid)
    assert (report.ci_low, report.ci_high) == pytest.approx(sorted(sign * short.conf_int()[1]), rel=1e-9)
    assert short.params[1] < 0  # a negative effect of d = 1 against d = 0
    scenario = report.scenario(*confounder_strength(table, "d", "y", ["x"], "u"))
    assert abs(short.params[1]) > abs(full.params[1])  # u pushed it away from zero: reduce=True recovers it
    assert scenario.adjusted_estimate == pytest.approx(sign * full.params[1], rel=1e-9)
    assert scenario.adjusted_std_error == pytest.approx(full.bse[1], rel=1e-9)
    assert (scenario.ci_low, scenario.ci_high) == pytest.approx(sorted(sign * full.conf_int()[1]), rel=1e-8)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(("q", "level", "reduce"), [(1.0, 0.95, True), (0.5, 0.9, True), (1.0, 0.9, False)])
def test_equals_pysensemakr_fed_partial_r2_from_statsmodels(q, level, reduce):
    """The benchmark's partial R^2 read off statsmodels t statistics (``t^2 / (t^2 + df)``), not from
    ``partial_r2``; a negative estimate; q and alpha together; both readings of ``reduce``."""
    sensemakr = pytest.importorskip("sensemakr")
    sm = pytest.importorskip("statsmodels.api")
    table = {k: v for k, v in _linear(n=400, seed=7, effect=-0.6).items() if k != "u"}
    x = np.column_stack([table["x1"], table["x2"]])
    outcome_fit = sm.OLS(table["y"], sm.add_constant(np.column_stack([table["d"], x]))).fit()
    treatment_fit = sm.OLS(table["d"], sm.add_constant(x)).fit()
    t_y, t_d = outcome_fit.tvalues[2], treatment_fit.tvalues[1]
    r2y = float(t_y**2 / (t_y**2 + outcome_fit.df_resid))
    r2d = float(t_d**2 / (t_d**2 + treatment_fit.df_resid))
    theirs = sensemakr.Sensemakr(estimate=float(outcome_fit.params[1]), se=float(outcome_fit.bse[1]),
                                 dof=int(outcome_fit.df_resid), r2dxj_x=r2d, r2yxj_dx=r2y, kd=[1, 2], q=q,
                                 alpha=1 - level, reduce=reduce)
    ours = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2"], benchmark="x1",
                                kd=[1, 2], q=q, level=level, reduce=reduce)
    assert ours.estimate < 0
    stats_ = theirs.sensitivity_stats
    assert ours.robustness_value == pytest.approx(float(stats_["rv_q"]), rel=1e-9)
    assert ours.robustness_value_alpha == pytest.approx(float(stats_["rv_qa"]), rel=1e-9)
    bounds = theirs.bounds
    np.testing.assert_allclose([s.r2_dz_x for s in ours.scenarios], bounds["r2dz_x"], rtol=1e-9)
    np.testing.assert_allclose([s.r2_yz_dx for s in ours.scenarios], bounds["r2yz_dx"], rtol=1e-9)
    np.testing.assert_allclose([s.adjusted_estimate for s in ours.scenarios], bounds["adjusted_estimate"],
                               rtol=1e-9)
    np.testing.assert_allclose([s.adjusted_std_error for s in ours.scenarios], bounds["adjusted_se"], rtol=1e-9)


@pytest.mark.parametrize(("t", "dof", "q"), [(60.0, 12, 0.5), (60.0, 12, 2.0), (25.0, 30, 0.5), (9.0, 300, 2.0)])
def test_rv_alpha_with_q_other_than_one_matches_a_grid_search(t, dof, q):
    """The smallest max(r2_dz, r2_yz) at which the adjusted t interval reaches (1 - q) x estimate, on a fine
    grid, including the unequal-strength corner (f_q > 1 / f_crit) with q != 1."""
    alpha = 0.05
    grid = np.linspace(0, 0.9995, 2001)
    dz, yz = np.meshgrid(grid, grid, indexing="ij")
    bias = np.sqrt(dof * yz * dz / (1 - dz))
    adjusted_se = np.sqrt((1 - yz) / (1 - dz) * dof / (dof - 1))
    crit = stats.t.ppf(1 - alpha / 2, dof - 1)
    reaches = (t - bias) - (1 - q) * t <= crit * adjusted_se
    expected = float(np.maximum(dz, yz)[reaches].min())
    assert robustness_value(t, dof, q=q, alpha=alpha) == pytest.approx(expected, abs=1.5e-3)
    assert robustness_value(-t, dof, q=q, alpha=alpha) == robustness_value(t, dof, q=q, alpha=alpha)


def test_dml_bound_of_a_negative_estimate_equals_doubleml_upper_bound():
    """A negative DML estimate, reduce=True: the adjusted estimate is theta + c S, DoubleML's upper bound, with
    identical folds; RV matches DoubleML's rv; at RV_{q,alpha} our interval's upper end touches zero."""
    table = {k: v for k, v in _linear(n=800, seed=9, effect=-0.5).items() if k != "u"}
    ours = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x1", "x2"], method="dml",
                                n_folds=4, seed=2, scenarios={"c": (0.04, 0.06)})
    model = _same_folds_plr(table, ["x1", "x2"], 4, 2)
    assert ours.estimate < 0 and ours.estimate == pytest.approx(float(model.coef[0]), rel=1e-10)
    model.sensitivity_analysis(cf_y=0.06, cf_d=0.04, rho=1.0, level=0.975)
    params = model.sensitivity_params
    assert ours.scenarios[0].adjusted_estimate == pytest.approx(float(params["theta"]["upper"][0]), rel=1e-10)
    assert ours.robustness_value == pytest.approx(float(params["rv"][0]), abs=1e-6)
    rva = ours.robustness_value_alpha
    assert ours.scenario(rva, rva).ci_high == pytest.approx(0.0, abs=1e-7)


def test_cpdag_pag_dataframe_and_array_node_names():
    """The graph kinds ``resolve_adjustment`` takes: an amenable CPDAG and a PAG choose the same set as
    ``estimate_effect``; a DataFrame and an ndarray of node names give the same report as a mapping."""
    import pandas as pd

    from latentscm.discovery.ges import cpdag_from_dag
    from latentscm.discovery.pag import PartialAncestralGraph
    from latentscm.discovery.result import DiscoveredGraph
    from latentscm.graph import CausalGraph

    rng = np.random.default_rng(4)
    n = 600
    a = rng.normal(size=n)
    z = a + rng.normal(size=n)
    w = rng.normal(size=n)
    t = 0.3 * z + 0.6 * w + rng.normal(size=n)
    y = 0.5 * t + z + rng.normal(size=n)
    data = {"A": a, "Z": z, "W": w, "T": t, "Y": y}
    truth = CausalGraph.from_text("A -> Z; Z -> T; W -> T; T -> Y; Z -> Y")
    cpdag = DiscoveredGraph(truth.nodes, cpdag_from_dag(truth.adjacency.astype(np.int64)))
    report = sensitivity_analysis(data, cpdag, "T", "Y", benchmark="Z", kd=1)
    assert report.covariates == estimate_effect(data, cpdag, "T", "Y", method="regression").adjustment_set
    frame = sensitivity_analysis(pd.DataFrame(data), cpdag, "T", "Y", benchmark="Z", kd=1)
    names = np.array(list(data))
    array = sensitivity_analysis(np.column_stack(list(data.values())), cpdag, "T", "Y", benchmark="Z", kd=1,
                                 node_names=names)
    assert frame.to_dict() == report.to_dict() == array.to_dict()

    h = rng.normal(size=n)
    a, b, c = rng.normal(size=n), h + rng.normal(size=n), h + rng.normal(size=n)
    x = a + b + rng.normal(size=n)
    pag_data = {"A": a, "B": b, "C": c, "X": x, "Y": 1.5 * x + 2.0 * c + rng.normal(size=n)}
    pag = PartialAncestralGraph.from_edges(["A", "B", "C", "X", "Y"],
                                           ["A o-> X", "B o-> X", "X --> Y", "C --> Y", "B o-o C"])
    for method in ("regression", "dml"):
        pag_report = sensitivity_analysis(pag_data, pag, "X", "Y", method=method, benchmark="C", kd=1)
        assert pag_report.covariates == ("A", "B", "C") and pag_report.info["adjustment"] == "canonical"
        assert pag_report.ci_low < 1.5 < pag_report.ci_high
        assert json.loads(json.dumps(pag_report.to_dict()))["covariates"] == ["A", "B", "C"]


def test_empty_adjustment_set_and_a_benchmark_that_is_the_whole_set():
    """No covariates: the regression is the simple slope; DML runs; a DML benchmark that is the whole set refits
    on no covariates at all."""
    rng = np.random.default_rng(6)
    n = 300
    x = rng.normal(size=n)
    d = x + rng.normal(size=n)
    y = 0.5 * d + x + rng.normal(size=n)
    table = {"d": d, "y": y, "x": x}
    report = sensitivity_analysis(table, treatment="d", outcome="y", covariates=[])
    slope = np.polyfit(d, y, 1)[0]
    assert report.covariates == () and report.dof == n - 2 and report.estimate == pytest.approx(slope, rel=1e-10)
    dml = sensitivity_analysis(table, treatment="d", outcome="y", covariates=[], method="dml")
    assert dml.estimate == pytest.approx(slope, rel=0.02)
    whole = sensitivity_analysis(table, treatment="d", outcome="y", covariates=["x"], method="dml", benchmark="x",
                                 kd=1)
    # x explains about half of d's variance: its gain (relative to the model with it) is about 1, so 1x is impossible
    assert 0.6 < whole.benchmarks["x"][0] < 1.5 and whole.info.get("impossible", ["1x x"]) == ["1x x"]
    with pytest.raises(ValueError, match="'benchmark'.*not in the adjustment set"):
        sensitivity_analysis(table, treatment="d", outcome="y", covariates=[], benchmark="x")


def test_graph_errors_name_sensitivity_analysis():
    """Errors raised by the shared ``resolve_adjustment`` name the function the user called."""
    table = {k: v for k, v in _linear(n=100).items() if k != "u"}
    graph = "x1 -> d; x2 -> d; x1 -> y; x2 -> y; d -> y"
    for kwargs, argument in (({"outcome": "nope"}, "'outcome'"), ({"adjustment": "bogus"}, "'adjustment'"),
                             ({"adjustment": ["x1"]}, "'adjustment'")):
        options = {"outcome": "y", **kwargs}
        with pytest.raises(ValueError) as error:
            sensitivity_analysis(table, graph, "d", **options)
        assert "sensitivity_analysis" in str(error.value) and argument in str(error.value)
        assert "estimate_effect" not in str(error.value)


def test_cli_json_is_strict_with_a_capped_benchmark_and_nothing_is_written_on_error(tmp_path):
    """A benchmark bound capped at r2_yz = 1 has zero adjusted se and an infinite t: --out is still strict JSON
    (null); a refused run (an unknown benchmark) leaves neither --plot nor --out behind. (An impossible --kd is
    now skipped and listed, not refused; amended by the author after the review.)"""
    _csv(tmp_path / "d.csv")
    base = ["effect", tmp_path / "d.csv", "--graph", CLI_GRAPH, "--treatment", "T", "--outcome", "Y",
            "--sensitivity", "--benchmark", "Z1"]
    out, plot = tmp_path / "s.json", tmp_path / "s.png"
    result = invoke([*base, "--kd", "1", "--out", out, "--plot", plot])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text(), parse_constant=lambda token: pytest.fail(f"non-strict JSON {token}"))
    scenario = payload["scenarios"][0]
    assert scenario["capped"] is True and scenario["adjusted_t"] is None
    assert plot.read_bytes()[:4] == b"\x89PNG"
    out2, plot2 = tmp_path / "t.json", tmp_path / "t.png"
    skipped = invoke([*base, "--kd", "1,50"])
    assert skipped.exit_code == 0 and "impossible" in skipped.output and "50x Z1" in skipped.output
    refused(invoke([*base[:-1], "Q", "--out", out2, "--plot", plot2]), "'benchmark'", "'Q'")
    assert not out2.exists() and not plot2.exists()
    assert not [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name]
