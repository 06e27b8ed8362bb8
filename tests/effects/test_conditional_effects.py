"""Heterogeneous effects (conditional_effects) and their exact truth (true_conditional_effects): each learner against
an independent re-implementation written here with scikit-learn, accuracy against the SCMs' exact CATE, inference
against the known projection, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from latentscm.effects import conditional_effects, true_conditional_effects
from latentscm.effects.nuisance import fold_labels
from latentscm.testing.cate_scms import (
    CATE_GRAPH,
    MEDIATED_CATE_GRAPH,
    linear_cate_scm,
    mediated_cate_scm,
    nonlinear_cate_scm,
)

V = ["X1", "X2", "X3"]


@pytest.fixture(scope="module")
def linear():
    truth = true_conditional_effects(linear_cate_scm(), "T", "Y", n=3000, draws=20, seed=1)
    return truth, {k: truth.data[k] for k in ("X1", "X2", "X3", "T", "Y")}


def _logistic() -> LogisticRegression:
    return LogisticRegression(C=1e6, max_iter=10_000, tol=1e-8)


def _arrays(data):
    x = np.column_stack([data[v] for v in V])
    return x, data["T"] == 1.0, data["Y"]


# ------------------------------------------------------------------------------------------------------ truth
def test_truth_of_the_linear_scm_is_the_closed_form_for_every_unit(linear):
    truth, _ = linear
    expected = 1.0 + truth.data["X1"] - 0.5 * truth.data["X2"]
    np.testing.assert_allclose(truth.cate, expected, atol=1e-12)
    np.testing.assert_allclose(truth.individual, expected, atol=1e-12)
    assert truth.cate_std_error.max() < 1e-12 and truth.contrast == (0.0, 1.0)


def test_truth_averages_over_the_noise_of_the_treatments_descendants_only():
    """Individual effect (1 + X1)(1 + 0.5 e_Y); the CATE given the pre-treatment state (X1) is 1 + X1."""
    truth = true_conditional_effects(mediated_cate_scm(), "T", "Y", n=400, draws=4000, seed=2)
    expected = 1.0 + truth.data["X1"]
    z = (truth.cate - expected) / truth.cate_std_error
    assert np.max(np.abs(z)) < 5.0 and abs(np.mean(z)) < 0.3
    assert np.mean(np.abs(truth.individual - expected)) > 0.2  # the unit's own noise moves its own effect
    np.testing.assert_allclose(truth.cate_std_error, 0.5 * np.abs(expected) / np.sqrt(4000), rtol=0.15)


def test_truth_refuses_bad_arguments():
    scm = linear_cate_scm()
    with pytest.raises(ValueError, match="'draws' parameter of true_conditional_effects"):
        true_conditional_effects(scm, "T", "Y", draws=1)
    with pytest.raises(ValueError, match="exceeds 20,000,000"):
        true_conditional_effects(scm, "T", "Y", n=100_000, draws=300)
    with pytest.raises(ValueError, match="'T' and 'outcome' are both|both 'T'"):
        true_conditional_effects(scm, "T", "T")


# --------------------------------------------------------------------------- learners against re-implementations
def test_dr_learner_with_linear_models_matches_an_independent_cross_fit(linear):
    _, data = linear
    x, treated, y = _arrays(data)
    n = y.size
    folds = fold_labels(n, 5, 3)
    g1, g0, e = np.empty(n), np.empty(n), np.empty(n)
    for k in range(5):
        test, train = folds == k, folds != k
        g1[test] = LinearRegression().fit(x[train & treated], y[train & treated]).predict(x[test])
        g0[test] = LinearRegression().fit(x[train & ~treated], y[train & ~treated]).predict(x[test])
        e[test] = _logistic().fit(x[train], treated[train].astype(int)).predict_proba(x[test])[:, 1]
    e = np.clip(e, 0.01, 0.99)
    phi = g1 - g0 + treated * (y - g1) / e - (~treated) * (y - g0) / (1 - e)
    oof = np.empty(n)
    for k in range(5):
        oof[folds == k] = LinearRegression().fit(x[folds != k], phi[folds != k]).predict(x[folds == k])
    new = np.random.default_rng(0).normal(size=(7, 3))
    found = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, seed=3)
    np.testing.assert_allclose(found.effects, oof, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(found.predict(new), LinearRegression().fit(x, phi).predict(new), rtol=1e-8, atol=1e-9)
    assert found.ate.estimate == pytest.approx(phi.mean(), rel=1e-10)
    # the projection: phi on [1, centred V] with HC1 errors, written out
    design = np.column_stack([np.ones(n), x - x.mean(axis=0)])
    coef = np.linalg.lstsq(design, phi, rcond=None)[0]
    resid = phi - design @ coef
    bread = np.linalg.inv(design.T @ design)
    cov = bread @ (design.T * resid ** 2) @ design @ bread * n / (n - 4)
    for j, name in enumerate(["intercept", *V]):
        assert found.projection[name].estimate == pytest.approx(coef[j], rel=1e-8)
        assert found.projection[name].std_error == pytest.approx(np.sqrt(cov[j, j]), rel=1e-8)
    # one random halving (n_splits=1): the learner refitted on one half's phi scores the other half
    single = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, seed=3, n_splits=1, level=0.9)
    permutation = np.random.default_rng([3, 56]).permutation(n)
    aux, main = permutation[: n // 2], np.sort(permutation[n // 2:])
    tau = LinearRegression().fit(x[aux], phi[aux]).predict(x[main])
    m = main.size
    design = np.column_stack([np.ones(m), tau - tau.mean()])
    blp = np.linalg.lstsq(design, phi[main], rcond=None)[0]
    resid = phi[main] - design @ blp
    bread = np.linalg.inv(design.T @ design)
    se = np.sqrt(np.diag(bread @ (design.T * resid ** 2) @ design @ bread * m / (m - 2)))
    b2 = single.calibration["heterogeneity"]
    assert b2.estimate == pytest.approx(blp[1], rel=1e-8) and b2.std_error == pytest.approx(se[1], rel=1e-8)
    # its interval at 1 - 0.1 / 2 = 95% (one split of the median rule), its one-sided p-value doubled
    assert b2.ci_high - b2.ci_low == pytest.approx(2 * 1.959963984540054 * se[1], rel=1e-8)
    from scipy import stats

    assert b2.p_value == pytest.approx(min(1.0, 2 * stats.norm.sf(blp[1] / se[1])), rel=1e-6, abs=1e-300)
    # GATES on that half: five groups of 300 by the predicted effects
    for group, rows in zip(single.groups, np.array_split(np.argsort(tau, kind="stable"), 5)):
        assert group["n"] == 300 and group["effect"].estimate == pytest.approx(phi[main][rows].mean(), rel=1e-8)


def test_splits_are_aggregated_by_medians():
    from latentscm.effects.conditional_effects import CateCoefficient, aggregate_splits

    items = [CateCoefficient(e, s, e - 2 * s, e + 2 * s, p) for e, s, p in
             ((1.0, 0.1, 0.02), (3.0, 0.3, 0.2), (2.0, 0.2, 0.04), (10.0, 5.0, 0.9))]
    out = aggregate_splits(items)
    # lower bounds 0.8, 2.4, 1.6, 0: median 1.2; upper 1.2, 3.6, 2.4, 20: median 3.0
    assert (out.estimate, out.std_error, out.ci_high) == (2.5, 0.25, 3.0) and out.ci_low == pytest.approx(1.2)
    assert out.p_value == pytest.approx(2 * 0.12) and aggregate_splits(items[3:]).p_value == 1.0


def test_r_learner_is_the_residual_on_residual_regression(linear):
    _, data = linear
    x, treated, y = _arrays(data)
    n = y.size
    folds = fold_labels(n, 4, 0)
    m, e = np.empty(n), np.empty(n)
    for k in range(4):
        test, train = folds == k, folds != k
        m[test] = LinearRegression().fit(x[train], y[train]).predict(x[test])
        e[test] = _logistic().fit(x[train], treated[train].astype(int)).predict_proba(x[test])[:, 1]
    r = treated - e
    design = np.column_stack([r, r[:, None] * x])
    beta = np.linalg.lstsq(design, y - m, rcond=None)[0]
    new = np.array([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]])
    found = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, method="r", n_folds=4, seed=0)
    np.testing.assert_allclose(found.predict(new), beta[0] + new @ beta[1:], rtol=1e-7, atol=1e-8)


def test_t_and_s_learners_are_their_outcome_regressions(linear):
    _, data = linear
    x, treated, y = _arrays(data)
    new = np.random.default_rng(1).normal(size=(5, 3))
    t = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, method="t")
    expected = (LinearRegression().fit(x[treated], y[treated]).predict(new)
                - LinearRegression().fit(x[~treated], y[~treated]).predict(new))
    np.testing.assert_allclose(t.predict(new), expected, rtol=1e-9, atol=1e-10)
    s = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, method="s")
    slope = LinearRegression().fit(np.column_stack([treated, x]), y).coef_[0]
    np.testing.assert_allclose(s.predict(new), slope, rtol=1e-9)
    assert np.ptp(s.predict(new)) < 1e-12  # a linear S-learner finds no heterogeneity at all


def test_a_learner_whose_effects_do_not_vary_has_no_calibration_slope(linear):
    _, data = linear
    s = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, method="s", n_splits=3)
    assert s.calibration == {} and "do not vary" in str(s)
    assert len(s.groups) == 5 and np.isfinite(s.groups_difference.estimate)


def test_x_learner_weights_the_control_arm_model_by_the_propensity(linear):
    """tau(v) = e(v) tau0(v) + (1 - e(v)) tau1(v), tau0 fitted on the untreated rows' imputed mu1 - Y (Kunzel et al.
    2019, eq. 5). With OLS everywhere the X-learner equals the T-learner, so the effect models are trees here."""
    from sklearn.tree import DecisionTreeRegressor

    _, data = linear
    x, treated, y = _arrays(data)
    tree = DecisionTreeRegressor(max_depth=3, random_state=0)
    mu1 = LinearRegression().fit(x[treated], y[treated])
    mu0 = LinearRegression().fit(x[~treated], y[~treated])
    tau1 = DecisionTreeRegressor(max_depth=3, random_state=0).fit(x[treated], y[treated] - mu0.predict(x[treated]))
    tau0 = DecisionTreeRegressor(max_depth=3, random_state=0).fit(x[~treated], mu1.predict(x[~treated]) - y[~treated])
    e = _logistic().fit(x, treated.astype(int))
    new = np.random.default_rng(2).normal(size=(50, 3))
    p = np.clip(e.predict_proba(new)[:, 1], 0.01, 0.99)
    found = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, method="x", effect_learner=tree)
    np.testing.assert_allclose(found.predict(new), p * tau0.predict(new) + (1 - p) * tau1.predict(new), rtol=1e-9)
    swapped = (1 - p) * tau0.predict(new) + p * tau1.predict(new)
    assert np.max(np.abs(found.predict(new) - swapped)) > 0.05


# ---------------------------------------------------------------------------------------- accuracy, inference
def test_linear_learners_recover_the_linear_cate(linear):
    truth, data = linear
    for method in ("dr", "r", "t", "x"):
        score = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, method=method).score(truth)
        assert score["pehe"] < 0.2 * score["pehe_constant"], (method, score)
        assert score["rank_correlation"] > 0.98, (method, score)
    s = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, method="s").score(truth)
    # its out-of-fold effects are one constant per fold: no better than the constant, ranked at random
    assert s["pehe"] > 0.95 * s["pehe_constant"] and abs(s["rank_correlation"]) < 0.1


def test_projection_and_groups_cover_the_truth(linear):
    truth, data = linear
    found = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V)
    for name, value in {"intercept": 1.0, "X1": 1.0, "X2": -0.5, "X3": 0.0}.items():
        item = found.projection[name]
        assert abs(item.estimate - value) < 4 * item.std_error, (name, item)
    assert found.projection["X3"].std_error < 0.1
    # each group against the true mean effect of its rows, split by split, as the estimate is aggregated
    true_means = np.median([[truth.cate[main][rows].mean() for rows in np.array_split(np.argsort(tau, kind="stable"),
                                                                                      5)]
                            for main, tau in found._splits], axis=0)
    for group, value in zip(found.groups, true_means):
        assert abs(group["effect"].estimate - value) < 4 * group["effect"].std_error
    assert np.all(np.diff([g["effect"].estimate for g in found.groups]) > 0)
    b2 = found.calibration["heterogeneity"]
    assert abs(b2.estimate - 1.0) < 4 * b2.std_error and b2.p_value < 1e-10


def test_a_constant_effect_shows_no_heterogeneity():
    truth = true_conditional_effects(linear_cate_scm(heterogeneity=0.0), "T", "Y", n=3000, draws=2, seed=4)
    np.testing.assert_allclose(truth.cate, 1.0, atol=1e-12)
    found = conditional_effects(truth.data, CATE_GRAPH, "T", "Y", modifiers=V)
    d = found.groups_difference
    assert abs(d.estimate) < 4 * d.std_error
    for name in V:
        assert abs(found.projection[name].estimate) < 4 * found.projection[name].std_error
    assert abs(found.ate.estimate - 1.0) < 4 * found.ate.std_error


def test_modifiers_fewer_than_the_adjustment_set():
    """The effect given X1 alone: X1 and X2 independent, so E[tau | X1] = 1 + X1 and the projection on X1 is 1."""
    truth = true_conditional_effects(linear_cate_scm(), "T", "Y", n=3000, draws=2, seed=5)
    found = conditional_effects(truth.data, CATE_GRAPH, "T", "Y", modifiers="X1")
    assert found.modifiers == ("X1",) and found.covariates == ("X1", "X2", "X3")
    slope = found.projection["X1"]
    assert abs(slope.estimate - 1.0) < 4 * slope.std_error
    np.testing.assert_allclose(found.predict({"X1": np.array([0.0, 1.0])}), found.predict(np.array([[0.0], [1.0]])))
    with pytest.raises(ValueError, match="'modifiers'.*method='t'.*add \\['X2', 'X3'\\]"):
        conditional_effects(truth.data, CATE_GRAPH, "T", "Y", modifiers="X1", method="t")
    with pytest.raises(ValueError, match="method='r' weights each row by e\\(1 - e\\).*overlap-weighted"):
        conditional_effects(truth.data, CATE_GRAPH, "T", "Y", modifiers="X1", method="r")


def test_flexible_learners_beat_the_constant_on_a_nonlinear_cate():
    truth = true_conditional_effects(nonlinear_cate_scm(), "T", "Y", n=2000, draws=2, seed=6)
    assert truth.cate.mean() == pytest.approx(0.5 + 0.75 - 0.5 * np.sqrt(2 / np.pi), abs=0.05)
    # boosted nuisances, a linear effect model: PEHE 0.41 against 0.65 for the constant (benchmarks/
    # bench_conditional_effects.py has every method and learner)
    found = conditional_effects(truth.data, CATE_GRAPH, "T", "Y", modifiers=V, method="r",
                                outcome_learner="boosting", treatment_learner="boosting", seed=0)
    score = found.score(truth)
    assert score["pehe"] < 0.7 * score["pehe_constant"] and score["rank_correlation"] > 0.8, score
    assert abs(score["ate_error"]) < 4 * found.ate.std_error


def test_same_seed_same_result_and_other_seeds_other_folds(linear):
    _, data = linear
    a = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, seed=7)
    b = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, seed=7)
    c = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, seed=8)
    np.testing.assert_array_equal(a.effects, b.effects)
    assert not np.array_equal(a.effects, c.effects)


# ------------------------------------------------------------------------------------------------ presentation
def test_to_dict_is_strict_json_and_str_and_plot(linear):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, data = linear
    found = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, method="s", n_groups=3)
    payload = json.loads(json.dumps(found.to_dict(), allow_nan=False))
    assert len(payload["groups"]) == 3 and len(payload["effects"]) == 3000
    assert payload["ate"]["method"] == "aipw" and payload["modifiers"] == V
    found = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V)
    text = str(found)
    assert "dr-learner" in text and "top - bottom" in text and "calibration slope" in text
    ax = found.plot()
    points = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [float(p.get_ydata()[0]) for p in points] == [g["effect"].estimate for g in found.groups]
    plt.close("all")


# ----------------------------------------------------------------------------------------------------- refusals
def test_bad_input_is_refused_by_name(linear):
    from sklearn.neighbors import KNeighborsRegressor

    _, data = linear
    with pytest.raises(ValueError, match="'method' parameter of conditional_effects"):
        conditional_effects(data, CATE_GRAPH, "T", "Y", method="causal_forest")
    three = dict(data, T=np.where(data["X1"] > 1.5, 2.0, data["T"]))
    with pytest.raises(ValueError, match="'treatment'.*'T', which takes 3 values"):
        conditional_effects(three, CATE_GRAPH, "T", "Y")
    with pytest.raises(ValueError, match="'modifiers'.*'Z', which is not a column"):
        conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=["X1", "Z"])
    with pytest.raises(ValueError, match="'modifiers'.*'Y', the outcome"):
        conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=["Y"])
    with pytest.raises(ValueError, match="names a column twice"):
        conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=["X1", "X1"])
    with pytest.raises(ValueError, match="'n_groups' parameter"):
        conditional_effects(data, CATE_GRAPH, "T", "Y", n_groups=1)
    with pytest.raises(TypeError, match="'effect_learner'.*KNeighborsRegressor.*sample_weight"):
        conditional_effects(data, CATE_GRAPH, "T", "Y", method="r", effect_learner=KNeighborsRegressor())
    found = conditional_effects(data, CATE_GRAPH, "T", "Y")
    assert found.modifiers == tuple(V)  # the adjustment set by default
    with pytest.raises(ValueError, match="'data' argument of ConditionalEffects.predict must be \\(m, 3\\)"):
        found.predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="lacks the modifiers \\['X3'\\]"):
        found.predict({"X1": [0.0], "X2": [0.0]})
    with pytest.raises(ValueError, match="'truth' argument of ConditionalEffects.score has 5 rows"):
        found.score(np.zeros(5))


def test_modifiers_the_graph_forbids_are_refused():
    truth = true_conditional_effects(mediated_cate_scm(), "T", "Y", n=500, draws=2, seed=0)
    data = {k: truth.data[k] for k in ("X1", "T", "M", "Y")}
    with pytest.raises(ValueError, match="\\['M'\\], descendants of 'T'"):
        conditional_effects(data, MEDIATED_CATE_GRAPH, "T", "Y", modifiers=["X1", "M"])
    # M-bias: C is a collider of A -> T and B -> Y; adding it to an empty set opens T <- A -> C <- B -> Y
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500), rng.normal(size=500)
    c = a + b + rng.normal(size=500)
    t = (a + rng.normal(size=500) > 0).astype(float)
    m_data = {"A": a, "B": b, "C": c, "T": t, "Y": t + b + rng.normal(size=500)}
    graph = "A -> T; A -> C; B -> C; B -> Y; T -> Y"
    with pytest.raises(ValueError, match="adding \\['C'\\] to the adjustment set \\[\\] opens a non-causal path"):
        conditional_effects(m_data, graph, "T", "Y", adjustment=[], modifiers=["C"])
    with pytest.raises(ValueError, match="defaults to the adjustment set, which is empty"):
        conditional_effects(m_data, graph, "T", "Y", adjustment=[])
    ok = conditional_effects(m_data, graph, "T", "Y", modifiers=["C"])  # with B adjusted, C closes nothing
    assert ok.covariates == ("B", "C")


def test_named_effect_learners_are_regularised_for_noisy_targets(linear):
    """The effect stage fits pseudo-outcomes far noisier than outcomes: its named learners stop early / keep 50 rows
    a leaf. With them the boosted R-learner's PEHE is 0.44 of the constant's on the linear SCM, with the nuisance
    roles' boosting (no early stopping, 20 rows a leaf) 0.77, and the DR-learner's 0.72 against 1.82
    (benchmarks/bench_conditional_effects.py, 5 seeds)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from latentscm.effects.conditional_effects import effect_model

    boosting, forest = effect_model("boosting", 3), effect_model("forest", 3)
    assert boosting.early_stopping is True and boosting.min_samples_leaf == 50 and boosting.random_state == 3
    assert forest.min_samples_leaf == 50 and forest.random_state == 3
    truth, data = linear
    named = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, method="r", effect_learner="boosting",
                                n_splits=1).score(truth)
    plain = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, method="r", n_splits=1,
                                effect_learner=HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05,
                                                                             random_state=0)).score(truth)
    assert named["pehe"] < 0.6 * named["pehe_constant"] and named["pehe"] < plain["pehe"], (named, plain)
