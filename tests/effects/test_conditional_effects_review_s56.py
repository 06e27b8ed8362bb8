"""Review of the heterogeneous-effect additions (session 56): ``conditional_effects`` (DR-, R-, T-, S-, X-learners,
out-of-fold effects, BLP / GATES / projection inference), ``true_conditional_effects``, ``latentscm.testing.cate_scms``
and ``latentscm effect --heterogeneity``.

Independent checks: the out-of-fold claim tested by perturbing one row's outcome, the R-learner's estimand
against a closed-form design (modifiers a strict subset of the adjustment set), the calibration slope of a learner
that finds no heterogeneity, HC1 against statsmodels, the ATE against ``estimate_effect(method="aipw")``, treatment
codings other than {0, 1}, the exact CATE of a hand-built SCM with a hidden confounder and a noisy mediator under
several contrasts, graphs with hidden nodes and CPDAGs, bad input, strict JSON and the command line. Tests that fail
document a defect (the docstring says what is wrong and what was observed); the others confirm behaviour.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LogisticRegression

from latentscm.effects import conditional_effects, estimate_effect, true_conditional_effects
from latentscm.graph import CausalGraph
from latentscm.scm import SCM, Functional, LinearGaussian, Normal, Uniform
from latentscm.testing.cate_scms import CATE_GRAPH, linear_cate_scm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke, refused  # noqa: E402

METHODS = ["dr", "r", "t", "s", "x"]
NAMES = ["X1", "X2", "X3", "T", "Y"]
V = ["X1", "X2", "X3"]


@pytest.fixture(scope="module")
def linear():
    truth = true_conditional_effects(linear_cate_scm(), "T", "Y", n=600, draws=2, seed=11)
    return truth, {k: truth.data[k] for k in NAMES}


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    truth = true_conditional_effects(linear_cate_scm(), "T", "Y", n=300, draws=2, seed=12)
    path = tmp_path_factory.mktemp("cate_review") / "d.csv"
    rows = np.column_stack([truth.data[v] for v in NAMES])
    path.write_text(",".join(NAMES) + "\n" + "\n".join(",".join(repr(float(x)) for x in row) for row in rows) + "\n")
    return path, {v: truth.data[v] for v in NAMES}


def _base(path):
    return ["effect", path, "--graph", CATE_GRAPH, "--treatment", "T", "--outcome", "Y", "--heterogeneity"]


# ------------------------------------------------------------------------------------------- out of fold
@pytest.mark.parametrize("method", METHODS)
def test_out_of_fold_effect_does_not_depend_on_the_rows_own_outcome(linear, method):
    """DEFECT (dr, r). The docstring: "Every row's effects value is out of fold (the whole learner refitted
    without the row's fold)". Then row 0's effect cannot depend on row 0's outcome. For T, S and X it does not; for
    the DR- and R-learners the effect model of row 0's fold is fitted on the other folds' pseudo-outcomes, whose
    cross-fitted nuisances (mu1, mu0, e; m for R) were fitted on folds that include row 0. Observed: Y[0] += 50
    moves effects[0] by 0.017 (dr) and 0.005 (r) at n = 600 (0.14 and 0.17 in another draw); T, S, X:
    0 exactly. The leak also ties tau_i to
    phi_i, which the BLP / GATES inference assumes independent."""
    # Session 56: documented, not removed (module docstring: the dependence is second order; removing it needs
    # nested cross-fitting). T, S and X stay exact; for DR and R the effect moves by far less than the outcome.
    _, data = linear
    before = conditional_effects(data, CATE_GRAPH, "T", "Y", method=method, seed=0)
    moved = dict(data, Y=data["Y"].copy())
    moved["Y"][0] += 50.0
    after = conditional_effects(moved, CATE_GRAPH, "T", "Y", method=method, seed=0)
    if method in ("dr", "r"):
        assert 0 < abs(after.effects[0] - before.effects[0]) < 0.01 * 50, (method, before.effects[0],
                                                                          after.effects[0])
    else:
        assert after.effects[0] == pytest.approx(before.effects[0], abs=1e-9), (method, before.effects[0],
                                                                                after.effects[0])


# --------------------------------------------------------------------------------------------- estimands
def _hidden_weight_design(seed: int, n: int = 6000):
    """X1, X2 independent N(0, 1); T logistic in 1.5 (X2 - X1); Y = X1 + X2 + T (1 + X2) + e. The effect varies
    with X2 only, so the CATE given X1 alone is E[1 + X2 | X1] = 1 for every X1 (flat)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(2, n))
    t = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-1.5 * (x2 - x1)))).astype(float)
    y = x1 + x2 + t * (1.0 + x2) + rng.normal(size=n)
    return {"X1": x1, "X2": x2, "T": t, "Y": y}, "X1 -> T; X2 -> T; X1 -> Y; X2 -> Y; T -> Y"


def test_dr_learner_with_fewer_modifiers_targets_the_cate_given_them():
    """Confirms: the DR-learner's effect given X1 alone is flat (E[tau | X1] = 1), slope within 0.2 of 0."""
    data, graph = _hidden_weight_design(0)
    found = conditional_effects(data, graph, "T", "Y", modifiers="X1", method="dr")
    low, high = found.predict(np.array([-1.0, 1.0]))
    assert abs((high - low) / 2) < 0.2 and abs(found.projection["X1"].estimate) < 0.2


def test_r_learner_with_fewer_modifiers_targets_the_cate_given_them():
    """DEFECT. The module defines tau(v) = E[Y(t1) - Y(t0) | V = v] and lets method='r' take modifiers V that are a
    strict subset of the adjustment set W (only t, s, x are refused). The R-learner's weighted loss
    sum (T - e)^2 ((Y - m)/(T - e) - tau(V))^2 then estimates the overlap-weighted effect
    E[e(1 - e) tau(W) | V] / E[e(1 - e) | V], not E[tau(W) | V]. Here E[tau | X1] = 1 (flat), but the weights
    e(1 - e), e = expit(1.5 (X2 - X1)), peak at X2 = X1, so the R-learner's slope in X1 tends to 0.454 (population
    value, computed numerically). Observed: slope 0.53 here (0.29 .. 0.51 at n = 3000 across seeds; the DR-learner
    0.00 +- 0.1). Expected: refuse V strictly inside W for method='r' (as for t, s, x), or document the weighted
    estimand."""
    # Session 56: refused, as for t, s and x, naming the weighted estimand
    data, graph = _hidden_weight_design(0)
    with pytest.raises(ValueError, match="method='r' weights each row by e\\(1 - e\\)"):
        conditional_effects(data, graph, "T", "Y", modifiers="X1", method="r")
    found = conditional_effects(data, graph, "T", "Y", modifiers=["X1", "X2"], method="r")
    assert found.modifiers == ("X1", "X2")


def test_a_learner_without_heterogeneity_has_no_calibration_slope(linear):
    """DEFECT at a161882..99b3cc6 (passes from 0b7f4be on, whose calibration refits the learner on random halves).
    The docstring: "beta2 = 0 [says] that they carry no heterogeneity", and calibration
    is "Empty when the learner's effects do not vary". An effect model that is a constant (DummyRegressor, the mean
    pseudo-outcome) carries no heterogeneity; its out-of-fold effects are one constant per fold,
    tau_k = mean(phi outside fold k), which is a decreasing function of fold k's own mean phi. Pooling the folds
    in one regression of phi on tau then gives a slope of exactly -(n_folds - 1) whatever the data. Observed:
    beta2 = -4.000000 with n_folds=5 (-1 with 2 folds, -9 with 10), and the GATES groups (= the folds) in
    exactly decreasing order. Expected: calibration empty (no variation within a fitted model) or a slope near 0."""
    _, data = linear
    found = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V, effect_learner=DummyRegressor(),
                                n_folds=5, n_groups=5)
    calibration = found.calibration
    assert calibration == {} or abs(calibration["heterogeneity"].estimate) < 1.0, calibration


def test_ate_is_the_aipw_estimate_of_estimate_effect(linear):
    """Confirms: with modifiers = the adjustment set, the ATE is estimate_effect's cross-fitted AIPW (same folds,
    same learners), estimate and standard error."""
    _, data = linear
    found = conditional_effects(data, CATE_GRAPH, "T", "Y", seed=4)
    aipw = estimate_effect(data, CATE_GRAPH, "T", "Y", method="aipw", seed=4)
    assert found.ate.estimate == pytest.approx(aipw.estimate, rel=1e-10)
    assert found.ate.std_error == pytest.approx(aipw.std_error, rel=1e-10)
    assert found.ate.contrast == aipw.contrast == (0.0, 1.0)


def test_robust_regression_is_statsmodels_ols_with_hc1():
    """Confirms: robust_regression's coefficients and standard errors equal statsmodels' OLS with cov_type='HC1'
    on heteroskedastic data."""
    sm = pytest.importorskip("statsmodels.api")
    from latentscm.effects.conditional_effects import robust_regression

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 2))
    y = 1.0 + x @ [0.5, -2.0] + rng.normal(size=300) * (0.2 + np.abs(x[:, 0]))
    coef, se = robust_regression(y, x)
    fit = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC1")
    np.testing.assert_allclose(coef, fit.params, rtol=1e-10)
    np.testing.assert_allclose(se, fit.bse, rtol=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_treatment_coding_is_lower_to_higher(linear, method):
    """Confirms: a treatment coded {2, 5} or {-1, 1} gives the same effects as {0, 1} (contrast (2, 5), (-1, 1));
    coding 1 - T (the meaning reversed) negates every effect and the ATE and leaves the calibration slope."""
    _, data = linear
    base = conditional_effects(data, CATE_GRAPH, "T", "Y", method=method)
    new = np.array([[0.5, -1.0, 0.0], [-1.0, 0.3, 2.0]])
    for low, high in ((2.0, 5.0), (-1.0, 1.0)):
        coded = conditional_effects(dict(data, T=np.where(data["T"] == 1.0, high, low)), CATE_GRAPH, "T", "Y",
                                    method=method)
        assert coded.contrast == (low, high) and coded.ate.contrast == (low, high)
        np.testing.assert_allclose(coded.effects, base.effects, atol=1e-9)
        np.testing.assert_allclose(coded.predict(new), base.predict(new), atol=1e-9)
    flipped = conditional_effects(dict(data, T=1.0 - data["T"]), CATE_GRAPH, "T", "Y", method=method)
    np.testing.assert_allclose(flipped.effects, -base.effects, atol=1e-8)
    assert flipped.ate.estimate == pytest.approx(-base.ate.estimate, abs=1e-9)
    if base.calibration:
        assert flipped.calibration["heterogeneity"].estimate == pytest.approx(
            base.calibration["heterogeneity"].estimate, abs=1e-6)


# ------------------------------------------------------------------------------------------------- truth
def _hidden_scm() -> SCM:
    """U (hidden confounder) and X -> T; M = T (1 + U) + e_M; Y = U + X + M (1 + X) + T U + T e_Y. Then
    Y(t1) - Y(t0) = (t1 - t0) [(1 + U)(1 + X) + U + e_Y]: the CATE given the pre-treatment state (U, X held; the
    noises of the descendants M and Y redrawn) is (t1 - t0) [(1 + U)(1 + X) + U]; the individual effect adds
    (t1 - t0) e_Y."""
    graph = CausalGraph.from_text("U -> T; X -> T; U -> M; T -> M; U -> Y; X -> Y; M -> Y; T -> Y")
    mechanisms = {
        "U": LinearGaussian(), "X": LinearGaussian(),
        "T": Functional(lambda p, u: (u < 1.0 / (1.0 + np.exp(-(p[:, 0] + p[:, 1])))).astype(float),
                        Uniform(0.0, 1.0), parent_names=("U", "X")),
        "M": Functional(lambda p, u: p[:, 1] * (1.0 + p[:, 0]) + u, Normal(0.0, 1.0), parent_names=("U", "T")),
        "Y": Functional(lambda p, u: p[:, 0] + p[:, 1] + p[:, 2] * (1.0 + p[:, 1]) + p[:, 3] * p[:, 0]
                        + p[:, 3] * u, Normal(0.0, 1.0), parent_names=("U", "X", "M", "T")),
    }
    return SCM(graph, mechanisms)


@pytest.mark.parametrize("contrast", [(0.0, 1.0), (1.0, 0.0), (0.0, 2.0), (-1.0, 0.5)])
def test_truth_holds_the_hidden_confounder_and_redraws_the_descendants(contrast):
    """Confirms: the hidden confounder U (not a descendant of T) is held per unit; M's and Y's noises are
    redrawn; contrasts other than (0, 1), reversed and non-binary, scale the effect by t1 - t0."""
    t0, t1 = contrast
    truth = true_conditional_effects(_hidden_scm(), "T", "Y", contrast, n=300, draws=400, seed=5)
    u, x = truth.data["U"], truth.data["X"]
    expected = (t1 - t0) * ((1.0 + u) * (1.0 + x) + u)
    z = (truth.cate - expected) / truth.cate_std_error
    assert np.max(np.abs(z)) < 5.0 and abs(np.mean(z)) < 0.35, (np.max(np.abs(z)), np.mean(z))
    np.testing.assert_allclose(truth.cate_std_error, abs(t1 - t0) / np.sqrt(400), rtol=0.25)
    # the individual effect carries the unit's own e_Y: (t1 - t0) e_Y has sd |t1 - t0|
    assert np.std(truth.individual - expected) == pytest.approx(abs(t1 - t0), rel=0.2)
    assert truth.contrast == contrast and set(truth.data) == {"U", "X", "T", "M", "Y"}


# ---------------------------------------------------------------------------------------------- graphs
def _hidden_data(seed: int = 0, n: int = 400):
    rng = np.random.default_rng(seed)
    u1, u2, x = rng.normal(size=(3, n))
    z = u1 + u2 + rng.normal(size=n)
    t = (u1 + x + rng.normal(size=n) > 0).astype(float)
    y = t * (1 + x) + u2 + x + rng.normal(size=n)
    return {"X": x, "Z": z, "T": t, "Y": y}


def test_a_modifier_that_is_a_collider_of_hidden_nodes_is_refused():
    """Confirms: Z is a collider of hidden U1 -> T and U2 -> Y; {X} is valid, {X, Z} opens T <- U1 -> Z <- U2 -> Y."""
    data = _hidden_data()
    graph = "X -> T; X -> Y; T -> Y; U1 -> T; U1 -> Z; U2 -> Z; U2 -> Y"
    ok = conditional_effects(data, graph, "T", "Y", adjustment="minimal", modifiers="X")
    assert ok.info["hidden"] == ["U1", "U2"] and ok.covariates == ("X",)
    with pytest.raises(ValueError, match="adding \\['Z'\\].*opens a non-causal path"):
        conditional_effects(data, graph, "T", "Y", adjustment="minimal", modifiers=["X", "Z"])


def test_a_modifier_downstream_of_the_treatment_through_a_hidden_node_is_refused():
    data = _hidden_data()
    data["Z"] = data["Z"] + data["T"]
    with pytest.raises(ValueError, match="\\['Z'\\], descendants of 'T'"):
        conditional_effects(data, "X -> T; X -> Y; T -> Y; T -> H; H -> Z", "T", "Y", modifiers=["X", "Z"])
    with pytest.raises(ValueError, match="'T', the treatment"):
        conditional_effects(data, "X -> T; X -> Y; T -> Y; T -> H; H -> Z", "T", "Y", modifiers=["X", "T"])


def test_cpdag_modifiers_must_lie_in_its_adjustment_set():
    """Confirms: a CPDAG (E - X undirected) refuses a modifier outside its adjustment set, and accepts it when
    passed as part of a valid 'adjustment'."""
    from latentscm.discovery.result import DiscoveredGraph

    nodes = ("X", "W", "T", "Y", "E")
    a = np.zeros((5, 5), dtype=int)
    for i, j in (("X", "T"), ("W", "T"), ("T", "Y"), ("X", "Y"), ("W", "Y"), ("E", "X"), ("X", "E")):
        a[nodes.index(i), nodes.index(j)] = 1
    graph = DiscoveredGraph(nodes, a)
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(2, 400))
    t = (x + w + rng.normal(size=400) > 0).astype(float)
    data = {"X": x, "W": w, "T": t, "Y": t * (1 + x) + x + w + rng.normal(size=400), "E": x + rng.normal(size=400)}
    with pytest.raises(ValueError, match="with a CPDAG or PAG the modifiers must lie in it"):
        conditional_effects(data, graph, "T", "Y", modifiers=["X", "E"])
    ok = conditional_effects(data, graph, "T", "Y", adjustment=["X", "W", "E"], modifiers=["E"])
    assert ok.modifiers == ("E",) and set(ok.covariates) == {"X", "W", "E"}


def test_dataframe_and_array_with_node_names_give_the_same_effects(linear):
    pd = pytest.importorskip("pandas")
    _, data = linear
    base = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=["X1", "X2"])
    frame = conditional_effects(pd.DataFrame(data)[["Y", "X3", "T", "X2", "X1"]], CATE_GRAPH, "T", "Y",
                                modifiers=["X2", "X1"])
    order = ["Y", "T", "X3", "X1", "X2"]
    array = conditional_effects(np.column_stack([data[k] for k in order]), CATE_GRAPH, "T", "Y",
                                node_names=np.array(order), modifiers=["X1", "X2"])
    for other in (frame, array):
        assert other.modifiers == ("X1", "X2") or set(other.modifiers) == {"X1", "X2"}
        np.testing.assert_allclose(other.effects, base.effects, atol=1e-9)


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("method", METHODS)
def test_an_effect_learner_of_the_wrong_kind_is_refused_for_every_method(linear, method):
    """DEFECT (t, s). effect_learner is documented as "the final effect model (a regressor ...)", and a classifier
    or an unknown name is refused for dr, r and x; the T- and S-learners never build it, so
    effect_learner=LogisticRegression() or "bogus" is silently accepted, and info["effect_learner"] reports a
    learner that was never used. Observed: method='t'/'s' with a classifier or 'bogus' returns a result.
    Expected: refused (or effect_learner refused as not applying to t and s)."""
    _, data = linear
    # session 56: t and s refuse any effect_learner but the default, as one that does not apply (ValueError)
    errors = (ValueError,) if method in ("t", "s") else (TypeError,)
    with pytest.raises(errors, match="effect_learner"):
        conditional_effects(data, CATE_GRAPH, "T", "Y", method=method, effect_learner=LogisticRegression())
    with pytest.raises(ValueError, match="effect_learner"):
        conditional_effects(data, CATE_GRAPH, "T", "Y", method=method, effect_learner="bogus")


def test_predict_with_a_dataframe_uses_the_column_names(linear):
    """DEFECT. predict takes "a mapping {modifier: (m,)} (extra columns ignored) or an (m, q) array in modifiers'
    order"; a pandas DataFrame is not a dict, so it is read as an array by position and its column names are
    ignored. A DataFrame with the modifiers in another order gives silently wrong effects. Observed: columns
    (X3, X2, X1) with X1 = +-2 predicted [1.09, 1.05] instead of [3.04, -0.89]. Expected: read by name (or refused)."""
    pd = pytest.importorskip("pandas")
    _, data = linear
    found = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=V)
    by_name = found.predict({"X1": np.array([2.0, -2.0]), "X2": np.zeros(2), "X3": np.zeros(2)})
    frame = pd.DataFrame({"X3": [0.0, 0.0], "X2": [0.0, 0.0], "X1": [2.0, -2.0]})
    try:
        got = found.predict(frame)
    except (ValueError, TypeError):
        return  # refusing a DataFrame is acceptable
    np.testing.assert_allclose(got, by_name, atol=1e-9)


def test_score_refuses_a_truth_of_another_contrast(linear):
    """DEFECT (suspected; a missing check). ConditionalTruth carries its contrast, and score compares the
    estimate's effects (lower -> higher treatment value, here 0 -> 1) with truth.cate; a truth computed for the
    contrast (1, 0) has every CATE negated, yet score accepts it silently and reports a PEHE of about twice the
    effect size and a rank correlation near -1. Expected: refused when truth.contrast differs from the estimate's
    contrast."""
    _, data = linear
    reversed_truth = true_conditional_effects(linear_cate_scm(), "T", "Y", (1.0, 0.0), n=600, draws=2, seed=11)
    np.testing.assert_allclose(reversed_truth.data["Y"], data["Y"])  # the same rows as the fixture
    found = conditional_effects(data, CATE_GRAPH, "T", "Y")
    with pytest.raises(ValueError, match="contrast"):
        found.score(reversed_truth)


def test_bad_input_is_refused_by_name(linear):
    """Confirms the refusals: NaN, a one-valued treatment, level out of (0, 1), n_groups beyond the rows, a
    treatment arm too small for the folds, non-finite predict input, a truth of another size."""
    truth, data = linear
    with pytest.raises(ValueError, match="NaN or infinite"):
        conditional_effects(dict(data, Y=np.where(np.arange(600) == 3, np.nan, data["Y"])), CATE_GRAPH, "T", "Y")
    with pytest.raises(ValueError, match="takes 1 values"):
        conditional_effects(dict(data, T=np.ones(600)), CATE_GRAPH, "T", "Y")
    for level in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="'level' parameter of conditional_effects"):
            conditional_effects(data, CATE_GRAPH, "T", "Y", level=level)
    with pytest.raises(ValueError, match="too few for n_folds=5 and n_groups=400"):
        conditional_effects(data, CATE_GRAPH, "T", "Y", n_groups=400)
    two = np.zeros(600)
    two[:2] = 1.0
    with pytest.raises(ValueError, match="fewer than 2 treated rows outside fold|no treated rows"):
        conditional_effects(dict(data, T=two), CATE_GRAPH, "T", "Y", n_folds=2)
    found = conditional_effects(data, CATE_GRAPH, "T", "Y")
    for bad in (np.array([[np.inf, 0.0, 0.0]]), {"X1": [np.nan], "X2": [0.0], "X3": [0.0]}):
        with pytest.raises(ValueError, match="not finite"):
            found.predict(bad)
    other = true_conditional_effects(linear_cate_scm(), "T", "Y", n=500, draws=2, seed=0)
    with pytest.raises(ValueError, match="has 500 rows; the estimate has 600"):
        found.score(other)
    assert found.score(truth)["rank_correlation"] > 0.9


# ------------------------------------------------------------------------------------------ JSON and text
@pytest.mark.parametrize("method", METHODS)
def test_to_dict_is_strict_json_and_str_never_fails(linear, method):
    _, data = linear
    for kwargs in ({}, {"modifiers": V, "n_groups": 2, "level": 0.999}):
        found = conditional_effects(data, CATE_GRAPH, "T", "Y", method=method, **kwargs)
        payload = json.loads(json.dumps(found.to_dict(), allow_nan=False))
        assert payload["method"] == method and len(payload["effects"]) == 600
        assert len(payload["groups"]) == found.info["n_groups"]
        text = str(found)
        assert f"{method}-learner" in text and "projection on" in text


def test_a_constant_learner_prints_and_serialises():
    """Effects identical for every row (a constant effect model): no calibration, groups of tied rows; strict JSON
    and the text still work."""
    truth = true_conditional_effects(linear_cate_scm(0.0), "T", "Y", n=300, draws=2, seed=2)
    data = {k: truth.data[k] for k in NAMES}
    found = conditional_effects(data, CATE_GRAPH, "T", "Y",
                                effect_learner=DummyRegressor(strategy="constant", constant=1.0))
    assert np.all(found.effects == 1.0) and found.calibration == {}
    assert "do not vary" in str(found)
    payload = json.loads(json.dumps(found.to_dict(), allow_nan=False))
    assert payload["calibration"] == {} and payload["info"]["effect_learner"] == "DummyRegressor"
    assert np.isnan(found.score(truth)["rank_correlation"])


# ----------------------------------------------------------------------------------------------- CLI
@pytest.mark.parametrize("method", ["t", "s"])
def test_cli_refuses_an_effect_learner_the_method_does_not_use(csv, method):
    """DEFECT. The commit says "the options refused where they do not apply", but --effect-learner with --method t
    or s (which have no final effect model) is accepted and ignored. Observed: exit 0, the same output as without
    it. Expected: a refusal naming --effect-learner."""
    path, _ = csv
    result = invoke(_base(path) + ["--method", method, "--effect-learner", "forest"])
    refused(result, "--effect-learner")


def test_cli_numbers_equal_the_library_for_the_x_learner(csv, tmp_path):
    """Confirms: --learner sets both nuisance learners, --effect-learner the X-learner's effect models, --folds,
    --groups, --seed and --level pass through."""
    path, data = csv
    out = tmp_path / "x.json"
    result = invoke(_base(path) + ["--method", "x", "--effect-learner", "boosting", "--folds", "3", "--groups", "3",
                                   "--seed", "5", "--level", "0.8", "--out", out])
    assert result.exit_code == 0, result.output
    expected = conditional_effects(data, CATE_GRAPH, "T", "Y", method="x", effect_learner="boosting", n_folds=3,
                                   n_groups=3, seed=5, level=0.8)
    payload = json.loads(out.read_text())
    np.testing.assert_allclose(payload["effects"], expected.effects, rtol=1e-10, atol=1e-12)
    assert payload["ate"]["estimate"] == pytest.approx(expected.ate.estimate, rel=1e-12)
    assert payload["info"]["effect_learner"] == "boosting" and payload["level"] == 0.8


def test_cli_writes_nothing_when_the_estimate_fails(csv, tmp_path):
    path, data = csv
    out, png = tmp_path / "o.json", tmp_path / "p.png"
    refused(invoke(_base(path) + ["--method", "t", "--modifiers", "X1", "--out", out, "--plot", png]),
            "must hold the adjustment set")
    three = tmp_path / "three.csv"
    lines = path.read_text().splitlines()
    head, rows = lines[0], [line.split(",") for line in lines[1:]]
    rows[0][3] = "2.0"
    three.write_text(head + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    refused(invoke(_base(three) + ["--out", out, "--plot", png]), "takes 3 values")
    refused(invoke(_base(path) + ["--groups", "1", "--out", out, "--plot", png]), "n_groups")
    assert not out.exists() and not png.exists()


def test_cli_refuses_heterogeneity_flags_elsewhere(csv):
    path, _ = csv
    plain = ["effect", path, "--graph", CATE_GRAPH, "--treatment", "T", "--outcome", "Y"]
    refused(invoke(plain + ["--identify", "--groups", "3"]), "--groups")
    refused(invoke(plain + ["--mediation", "--mediators", "X1", "--effect-learner", "forest"]),
            "--effect-learner needs --heterogeneity")
    for extra in (["--sensitivity"], ["--ida"], ["--samples", "100"], ["--simulations", "3"], ["--no-interaction"],
                  ["--instruments", "X1"], ["--pseudocount", "1"]):
        refused(invoke(_base(path) + extra), extra[0])
    refused(invoke(["effect", "--world", "flow", "--treatment", "ball_size", "--outcome", "flow", "--heterogeneity",
                    "--modifiers", "x"]), "--heterogeneity")


def test_no_warning_for_the_happy_path(linear):
    """Confirms: a well-overlapping design raises no warning for any method."""
    _, data = linear
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in METHODS:
            conditional_effects(data, CATE_GRAPH, "T", "Y", method=method)
