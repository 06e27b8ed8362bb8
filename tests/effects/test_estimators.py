"""Effect estimators: agreement with DoubleML, coverage against SCM ground truth, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.effects import (
    EffectEstimate,
    NoAdjustmentSetError,
    aipw_effect,
    dml_effect,
    estimate_effect,
    fold_labels,
    true_effect,
)
from latentscm.graph import CausalGraph
from latentscm.scm import SCM, Functional, LinearGaussian, Normal, Uniform


def _doubleml_data():
    """The data the DoubleML reference values below were computed on."""
    rng = np.random.default_rng(7)
    n = 400
    z = rng.normal(size=(n, 3))
    t_c = z @ [0.8, -0.5, 0.3] + rng.normal(size=n)
    y_c = 1.5 * t_c + np.sin(z[:, 0]) + z[:, 1] ** 2 + rng.normal(size=n)
    p = 1 / (1 + np.exp(-(z @ [0.7, -0.4, 0.2])))
    t_b = (rng.uniform(size=n) < p).astype(float)
    y_b = 2.0 * t_b + z[:, 0] + 0.5 * z[:, 1] * t_b + rng.normal(size=n)
    return z, t_c, y_c, t_b, y_b, fold_labels(n, 5, 3)


def test_dml_and_aipw_match_doubleml():
    # Reference: DoubleML 0.11.4 (DoubleMLPLR, DoubleMLIRM with trimming_threshold=0.01), LinearRegression
    # and LogisticRegression(C=1e6, max_iter=10000, tol=1e-8) learners, given these folds through
    # set_sample_splitting; scikit-learn 1.9.1. benchmarks/bench_effects.py reruns it with forests.
    z, t_c, y_c, t_b, y_b, folds = _doubleml_data()
    estimate, std_error, _ = dml_effect(y_c, t_c, z, folds, (0.0, 1.0))
    assert estimate == pytest.approx(1.4510389778708974, rel=1e-9)
    assert std_error == pytest.approx(0.07835721394871033, rel=1e-9)
    estimate, std_error, _ = aipw_effect(y_b, t_b == 1, z, folds, trim=0.01)
    assert estimate == pytest.approx(1.9015135846044, rel=1e-7)
    assert std_error == pytest.approx(0.11886882075337035, rel=1e-7)


def _binary_scm(confounding: float = 1.0) -> tuple[CausalGraph, SCM]:
    graph = CausalGraph.from_text("Z1 -> T; Z2 -> T; Z1 -> Y; Z2 -> Y; T -> Y")
    mechanisms = {
        "Z1": LinearGaussian(), "Z2": LinearGaussian(),
        # A logistic propensity, so that the "linear" (logistic) propensity model is right.
        "T": Functional(lambda p, u: (u < 1 / (1 + np.exp(-confounding * (p[:, 0] - 0.5 * p[:, 1])))).astype(float),
                        Uniform(0.0, 1.0), parent_names=("Z1", "Z2")),
        "Y": Functional(lambda p, u: 2.0 * p[:, 2] + 1.5 * p[:, 0] + p[:, 1] + u, Normal(0.0, 1.0),
                        parent_names=("Z1", "Z2", "T")),
    }
    return graph, SCM(graph, mechanisms)


def test_ground_truth_is_exact_for_a_constant_effect():
    _, scm = _binary_scm()
    effect, mc_error = true_effect(scm, "T", "Y", n=1000, seed=0)
    assert effect == pytest.approx(2.0, abs=1e-12) and mc_error < 1e-12


@pytest.mark.parametrize("method", ["regression", "ipw", "aipw", "dml"])
def test_intervals_cover_the_truth_at_about_the_nominal_rate(method):
    graph, scm = _binary_scm()
    truth, _ = true_effect(scm, "T", "Y", n=1000, seed=0)
    covered, estimates, naive = 0, [], []
    replicates = 120
    for seed in range(replicates):
        data = scm.sample(400, seed=seed)
        result = estimate_effect(data, graph, "T", "Y", method=method, seed=seed)
        covered += result.covers(truth)
        estimates.append(result.estimate)
        naive.append(data["Y"][data["T"] == 1].mean() - data["Y"][data["T"] == 0].mean())
    spread = np.std(estimates) / np.sqrt(replicates)
    assert abs(np.mean(estimates) - truth) < 4 * spread          # unbiased
    assert np.mean(naive) - truth > 0.5                            # while the naive contrast is far off
    assert 0.88 <= covered / replicates <= 0.99, covered


def test_continuous_treatment_dml_and_regression():
    graph = CausalGraph.from_text("Z -> T; Z -> Y; T -> Y")
    scm = SCM(graph, {"Z": LinearGaussian(),
                      "T": Functional(lambda p, u: np.sin(p[:, 0]) + u, Normal(0.0, 1.0)),
                      "Y": Functional(lambda p, u: 1.5 * p[:, 1] + np.cos(p[:, 0]) + u, Normal(0.0, 1.0),
                                      parent_names=("Z", "T"))})
    truth, _ = true_effect(scm, "T", "Y", (0.0, 2.0), n=1000, seed=0)
    assert truth == pytest.approx(3.0)
    data = scm.sample(2000, seed=11)
    dml = estimate_effect(data, graph, "T", "Y", contrast=(0, 2), outcome_learner="boosting",
                          treatment_learner="boosting", seed=1)
    assert dml.method == "dml" and dml.covers(truth)
    assert dml.info["slope"] == pytest.approx(dml.estimate / 2)
    regression = estimate_effect(data, graph, "T", "Y", method="regression", contrast=(0, 2))
    assert regression.covers(truth)
    assert regression.info["std_error"] == "HC1 sandwich"


def test_flexible_learners_remove_nonlinear_confounding_that_linear_ones_keep():
    graph = CausalGraph.from_text("Z -> T; Z -> Y; T -> Y")
    scm = SCM(graph, {
        "Z": LinearGaussian(),
        "T": Functional(lambda p, u: (np.abs(p[:, 0]) - 0.8 + u > 0).astype(float), Normal(0.0, 1.0)),
        "Y": Functional(lambda p, u: 1.0 * p[:, 1] + 2.0 * p[:, 0] ** 2 + u, Normal(0.0, 1.0),
                        parent_names=("Z", "T")),
    })
    data = scm.sample(3000, seed=5)
    linear = estimate_effect(data, graph, "T", "Y", method="aipw")
    forest = estimate_effect(data, graph, "T", "Y", method="aipw", outcome_learner="forest",
                             treatment_learner="forest")
    assert not linear.covers(1.0) and linear.estimate > 1.5
    assert forest.covers(1.0)


def test_result_fields_and_dict():
    graph, scm = _binary_scm()
    result = estimate_effect(scm.sample(300, seed=0), graph, "T", "Y")
    assert isinstance(result, EffectEstimate)
    assert result.method == "aipw" and result.contrast == (0.0, 1.0) and result.adjustment_set == ("Z1", "Z2")
    assert result.ci_low < result.estimate < result.ci_high and 0 <= result.p_value <= 1
    record = result.to_dict()
    assert record["adjustment_set"] == ["Z1", "Z2"] and record["info"]["n_folds"] == 5
    assert "do(T=1)" in str(result)
    narrow = estimate_effect(scm.sample(300, seed=0), graph, "T", "Y", level=0.5)
    assert narrow.ci_high - narrow.ci_low < result.ci_high - result.ci_low


def test_estimates_are_deterministic_given_the_seed():
    graph, scm = _binary_scm()
    data = scm.sample(300, seed=0)
    first = estimate_effect(data, graph, "T", "Y", outcome_learner="forest", seed=4)
    again = estimate_effect(data, graph, "T", "Y", outcome_learner="forest", seed=4)
    other = estimate_effect(data, graph, "T", "Y", outcome_learner="forest", seed=5)
    assert first.estimate == again.estimate and first.estimate != other.estimate


def test_hidden_confounding_and_invalid_sets_are_refused():
    graph = CausalGraph.from_text("U -> T; U -> Y; Z -> T; T -> Y")
    data = {"Z": np.arange(20.0) % 3, "T": np.arange(20.0) % 2, "Y": np.arange(20.0)}
    with pytest.raises(NoAdjustmentSetError, match="hidden nodes: \\['U'\\]"):
        estimate_effect(data, graph, "T", "Y")
    chain = CausalGraph.from_text("Z -> T; Z -> Y; T -> M; M -> Y")
    _, scm = _binary_scm()
    rows = {"Z": np.random.default_rng(0).normal(size=40), "T": np.arange(40.0) % 2,
            "M": np.arange(40.0), "Y": np.random.default_rng(1).normal(size=40)}
    with pytest.raises(ValueError, match=r"\['M', 'Z'\] is not a valid adjustment set"):
        estimate_effect(rows, chain, "T", "Y", adjustment=["Z", "M"])
    result = estimate_effect(rows, chain, "T", "Y", adjustment=["Z"], method="regression")
    assert result.adjustment_set == ("Z",) and result.info["adjustment"] == "given"


def test_bad_arguments_are_named():
    graph, scm = _binary_scm()
    data = scm.sample(100, seed=0)
    with pytest.raises(ValueError, match="'method' parameter"):
        estimate_effect(data, graph, "T", "Y", method="matching")
    with pytest.raises(ValueError, match="'treatment' argument"):
        estimate_effect(data, graph, "X", "Y")
    with pytest.raises(ValueError, match="both 'T'"):
        estimate_effect(data, graph, "T", "T")
    with pytest.raises(ValueError, match="has 100 distinct values"):
        estimate_effect(data, graph, "Z1", "Y", method="ipw")
    with pytest.raises(ValueError, match="treatment takes the values"):
        estimate_effect(data, graph, "T", "Y", method="aipw", contrast=(0, 2))
    with pytest.raises(ValueError, match="with itself"):
        estimate_effect(data, graph, "Z1", "Y", contrast=(1, 1))
    with pytest.raises(ValueError, match="'level' parameter"):
        estimate_effect(data, graph, "T", "Y", level=1.0)
    with pytest.raises(ValueError, match="'outcome_learner' argument"):
        estimate_effect(data, graph, "T", "Y", outcome_learner="svm")
    with pytest.raises(TypeError, match="'treatment_learner' argument"):
        estimate_effect(data, graph, "T", "Y", treatment_learner=object())
    with pytest.raises(ValueError, match=r"columns \['Q'\] that are not nodes"):
        estimate_effect({**data, "Q": data["Y"]}, graph, "T", "Y")
    with pytest.raises(ValueError, match="too few for n_folds=60"):
        estimate_effect(data, graph, "T", "Y", n_folds=60)
    with pytest.raises(TypeError, match="'graph' argument"):
        estimate_effect(data, 3, "T", "Y")
    collinear = {**data, "Z2": 2 * data["Z1"]}
    with pytest.raises(ValueError, match="collinear"):
        estimate_effect(collinear, graph, "T", "Y", method="regression")


def test_poor_overlap_warns_that_the_estimate_leans_on_truncation():
    graph = CausalGraph.from_text("Z -> T; Z -> Y; T -> Y")
    rng = np.random.default_rng(0)
    z = rng.normal(size=400)
    t = (z + 0.05 * rng.normal(size=400) > 0).astype(float)  # T is nearly a function of Z
    data = {"Z": z, "T": t, "Y": 2 * t + z + rng.normal(size=400)}
    for method in ("ipw", "aipw"):
        with pytest.warns(UserWarning, match=r"propensities lie outside \[0.01, 0.99\] and were truncated"):
            result = estimate_effect(data, graph, "T", "Y", method=method)
        assert result.info["n_trimmed"] > 40


def test_ipw_with_a_flexible_propensity_warns_and_is_cross_fitted():
    graph, scm = _binary_scm()
    data = scm.sample(300, seed=0)
    with pytest.warns(UserWarning, match="method='aipw' is the estimator for flexible learners"):
        result = estimate_effect(data, graph, "T", "Y", method="ipw", treatment_learner="forest")
    assert "cross-fitted" in result.info["std_error"]
    linear = estimate_effect(data, graph, "T", "Y", method="ipw")
    assert "sandwich" in linear.info["std_error"]


def _truncated_sandwich_se(y: np.ndarray, treated: np.ndarray, z: np.ndarray, trim: float) -> float:
    """The standard error of Hájek IPW with a Newton-fitted logistic propensity whose weights are truncated to
    [trim, 1 - trim]: A^-1 B A^-T of the stacked equations (mu1, mu0, beta), A by central differences, so
    truncated rows contribute no derivative on their own (independent of weighting.py's algebra)."""
    n = y.shape[0]
    x = np.column_stack([np.ones(n), z])
    t = treated.astype(float)
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ beta))
        beta += np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x, x.T @ (t - p))

    def psi(theta: np.ndarray) -> np.ndarray:
        raw = 1 / (1 + np.exp(-x @ theta[2:]))
        e = np.clip(raw, trim, 1 - trim)
        return np.column_stack([t * (y - theta[0]) / e, (1 - t) * (y - theta[1]) / (1 - e), x * (t - raw)[:, None]])

    e = np.clip(1 / (1 + np.exp(-x @ beta)), trim, 1 - trim)
    means = [np.sum(t * y / e) / np.sum(t / e), np.sum((1 - t) * y / (1 - e)) / np.sum((1 - t) / (1 - e))]
    theta = np.concatenate([means, beta])
    k = theta.size
    jac = np.empty((k, k))
    for j in range(k):
        step = np.zeros(k)
        step[j] = 1e-7
        jac[:, j] = (psi(theta + step).mean(0) - psi(theta - step).mean(0)) / 2e-7
    scores = psi(theta)
    inverse = np.linalg.inv(jac)
    cov = inverse @ (scores.T @ scores / n) @ inverse.T / n
    return float(np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))


def test_ipw_sandwich_with_truncated_propensities():
    from latentscm.effects import ipw_effect

    rng = np.random.default_rng(3)
    z = rng.normal(size=(2000, 2))
    treated = rng.uniform(size=2000) < 1 / (1 + np.exp(-(z @ np.array([1.5, -1.0]))))
    y = 2.0 * treated + z @ np.array([1.0, 0.5]) + rng.normal(size=2000)
    with pytest.warns(UserWarning, match="truncated"):
        _, std_error, info = ipw_effect(y, treated, z, trim=0.15)
    assert info["n_trimmed"] > 400
    assert std_error == pytest.approx(_truncated_sandwich_se(y, treated, z, 0.15), rel=1e-4)
