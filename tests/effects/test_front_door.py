"""Front-door sets and the front-door effect: the set finder against brute force over every subset, and the
estimators against SCM ground truth when a hidden confounder leaves no adjustment set."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from latentscm.effects import (
    FRONT_DOOR_METHODS,
    NoAdjustmentSetError,
    NoFrontDoorSetError,
    estimate_effect,
    front_door_effect,
    front_door_set,
    is_front_door_set,
    true_effect,
)
from latentscm.graph import CausalGraph
from latentscm.scm import SCM, Functional, LinearGaussian, Normal, Uniform, is_frontdoor_set
from latentscm.testing.oracles import random_latent_dag

SMOKING = CausalGraph.from_text("U -> T; U -> Y; T -> M; M -> Y")


def _named(seed: int) -> tuple[CausalGraph, list[str]]:
    adjacency, p = random_latent_dag(seed, observed=(4, 8), hidden=(1, 3))
    names = [f"V{i}" if i < p else f"U{i - p}" for i in range(adjacency.shape[0])]
    edges = [(names[i], names[j]) for i, j in zip(*np.nonzero(adjacency))]
    return CausalGraph(edges, nodes=names), names[:p]


def test_front_door_sets_match_brute_force_over_every_subset():
    # For every ordered pair with a causal path, in 150 random DAGs with hidden nodes: a set is found exactly when
    # some subset of the observed nodes passes latentscm.scm.is_frontdoor_set (a separate implementation);
    # "maximal" is the union of all passing subsets (and passes); "minimal" passes and no passing subset is
    # strictly inside it.
    found = refused = 0
    for seed in range(150):
        graph, observed = _named(seed)
        for x in observed:
            for y in observed:
                if x == y or y not in graph.descendants(x):
                    continue
                others = [v for v in observed if v not in (x, y)]
                valid = [frozenset(s) for k in range(1, len(others) + 1) for s in combinations(others, k)
                         if is_frontdoor_set(graph, x, y, list(s))]
                if not valid:
                    with pytest.raises(NoFrontDoorSetError):
                        front_door_set(graph, x, y, "maximal", observed=observed)
                    refused += 1
                    continue
                largest = frozenset(front_door_set(graph, x, y, "maximal", observed=observed))
                smallest = frozenset(front_door_set(graph, x, y, "minimal", observed=observed))
                assert largest == frozenset().union(*valid), (seed, x, y)
                assert smallest in valid and not any(s < smallest for s in valid), (seed, x, y)
                found += 1
    assert found >= 100 and refused >= 500  # both branches are exercised many times


def test_hand_checked_front_door_sets():
    assert front_door_set(SMOKING, "T", "Y", observed=["T", "M", "Y"]) == ("M",)
    # Two parallel mediators must both be in the set; a root W unrelated to T and Y fits the criterion, so it is in
    # the maximal set only.
    parallel = CausalGraph.from_text("U -> T; U -> Y; T -> A; T -> B; A -> Y; B -> Y; W -> A")
    seen = ["T", "A", "B", "W", "Y"]
    assert front_door_set(parallel, "T", "Y", observed=seen) == ("A", "B")
    assert front_door_set(parallel, "T", "Y", "maximal", observed=seen) == ("A", "B", "W")
    assert not is_frontdoor_set(parallel, "T", "Y", ["A"])
    # A mediator confounded with the outcome breaks condition (iii); one confounded with the treatment breaks (ii).
    for extra in ("V -> M; V -> Y", "V -> M; V -> T"):
        graph = CausalGraph.from_text(f"U -> T; U -> Y; T -> M; M -> Y; {extra}")
        with pytest.raises(NoFrontDoorSetError, match=r"hidden nodes: \['U', 'V'\]"):
            front_door_set(graph, "T", "Y", observed=["T", "M", "Y"])
    direct = CausalGraph.from_text("U -> T; U -> Y; T -> M; M -> Y; T -> Y")
    with pytest.raises(NoFrontDoorSetError, match=r"\[\('T', 'Y'\)\] go straight"):
        front_door_set(direct, "T", "Y")
    with pytest.raises(NoFrontDoorSetError, match="no node is"):
        front_door_set(SMOKING, "T", "Y", observed=["T", "Y"])


def _linear_scm() -> SCM:
    graph = CausalGraph.from_text("U -> T; U -> Y; T -> M; M -> Y; W -> M")
    return SCM(graph, {"U": LinearGaussian(), "W": LinearGaussian(), "T": LinearGaussian({"U": 1.0}),
                       "M": LinearGaussian({"T": 0.7, "W": 0.5}), "Y": LinearGaussian({"M": 1.5, "U": 1.2})})


def _linear_rows(n: int) -> tuple[dict[str, np.ndarray], CausalGraph]:
    """``n`` rows of :func:`_linear_scm` without its hidden confounder, and its graph."""
    scm = _linear_scm()
    sample = scm.sample(n, seed=0)
    return {v: sample[v] for v in ("T", "M", "W", "Y")}, scm.graph


def test_linear_front_door_effect_covers_the_true_effect_where_adjustment_is_refused():
    scm = _linear_scm()
    truth, _ = true_effect(scm, "T", "Y", n=1000)
    assert truth == pytest.approx(1.05)
    sample = scm.sample(3000, seed=1)
    data = {v: sample[v] for v in ("T", "M", "W", "Y")}
    with pytest.raises(NoAdjustmentSetError, match=r"mediators \['M'\] satisfy the front-door criterion"):
        estimate_effect(data, scm.graph, "T", "Y")
    result = front_door_effect(data, scm.graph, "T", "Y", seed=0)
    assert result.method == "regression" and result.covers(truth)
    assert result.info["mediators"] == ["M"] and result.info["hidden"] == ["U"]
    assert "through the front-door mediators M" in str(result)
    # Ignoring the hidden confounder (regressing Y on T alone) is far off: U inflates it.
    naive = np.polyfit(data["T"], data["Y"], 1)[0]
    assert abs(naive - truth) > 10 * result.std_error
    # The maximal set adds W (a cause of M only); both estimate the same effect.
    wide = front_door_effect(data, scm.graph, "T", "Y", mediators="maximal", seed=0)
    assert wide.info["mediators"] == ["M", "W"] and wide.covers(truth)


def test_linear_plug_in_is_the_product_of_coefficients():
    rng = np.random.default_rng(3)
    n = 500
    u = rng.normal(size=n)
    t = u + rng.normal(size=n)
    m = 0.6 * t + rng.normal(size=n)
    y = 2.0 * m - u + rng.normal(size=n)
    result = front_door_effect({"T": t, "M": m, "Y": y}, SMOKING, "T", "Y", contrast=(0.0, 2.0), n_bootstrap=5)
    slope_m = np.polyfit(t, m, 1)[0]
    coef_y = np.linalg.lstsq(np.column_stack([np.ones(n), t, m]), y, rcond=None)[0][2]
    assert result.estimate == pytest.approx(2.0 * slope_m * coef_y, rel=1e-9)


def _binary_front_door_scm() -> SCM:
    # A logistic treatment given U and M | T Gaussian, so P(T | M) is logistic in M (the "linear" classifier is
    # right), while Y = exp(M) + 1.5 U is not linear in M (the "linear" outcome model is wrong).
    graph = CausalGraph.from_text("U -> T; U -> Y; T -> M; M -> Y")
    return SCM(graph, {
        "U": LinearGaussian(),
        "T": Functional(lambda p, e: (e < 1 / (1 + np.exp(-1.5 * p[:, 0]))).astype(float), Uniform(0.0, 1.0),
                        parent_names=("U",)),
        "M": LinearGaussian({"T": 1.0}),
        "Y": Functional(lambda p, e: np.exp(p[:, 0]) + 1.5 * p[:, 1] + e, Normal(0.0, 1.0), parent_names=("M", "U")),
    })


def test_one_step_estimator_is_doubly_robust_where_the_plug_in_is_biased():
    # Fulcher et al. (2020): the one-step estimator stays consistent with a wrong outcome model when the
    # propensity P(T | M) is right. Truth: E[exp(M) | T=1] - E[exp(M) | T=0] = e^0.5 (e - 1) = 2.833.
    scm = _binary_front_door_scm()
    truth, _ = true_effect(scm, "T", "Y", n=200_000, seed=2)
    assert truth == pytest.approx(np.exp(0.5) * (np.e - 1), abs=0.02)
    sample = scm.sample(20_000, seed=4)
    data = {v: sample[v] for v in ("T", "M", "Y")}
    one_step = front_door_effect(data, scm.graph, "T", "Y", seed=0)
    plug_in = front_door_effect(data, scm.graph, "T", "Y", method="regression", n_bootstrap=30, seed=0)
    assert one_step.method == "aipw" and one_step.covers(truth)
    assert not plug_in.covers(truth)
    assert abs(plug_in.estimate - truth) > 2 * abs(one_step.estimate - truth)
    assert one_step.info["plug_in"] == pytest.approx(plug_in.estimate, abs=0.05)  # the same plug-in, cross-fitted


def test_front_door_effect_is_seeded():
    sample = _binary_front_door_scm().sample(600, seed=0)
    data = {v: sample[v] for v in ("T", "M", "Y")}
    first = front_door_effect(data, SMOKING, "T", "Y", outcome_learner="forest", seed=1)
    again = front_door_effect(data, SMOKING, "T", "Y", outcome_learner="forest", seed=1)
    other = front_door_effect(data, SMOKING, "T", "Y", outcome_learner="forest", seed=2)
    assert first.estimate == again.estimate and first.estimate != other.estimate


def test_front_door_bad_input_is_refused_by_name():
    data, graph = _linear_rows(200)
    with pytest.raises(ValueError, match=r"'mediators' argument of front_door_effect: \['W'\] does not satisfy"):
        front_door_effect(data, graph, "T", "Y", mediators=["W"])
    with pytest.raises(ValueError, match=r"names \['U'\], which are not columns"):
        front_door_effect(data, graph, "T", "Y", mediators=["M", "U"])
    with pytest.raises(ValueError, match="holds the treatment or the outcome"):
        front_door_effect(data, graph, "T", "Y", mediators=["M", "T"])
    with pytest.raises(ValueError, match="'mediators' argument of front_door_effect must be 'minimal', 'maximal', a"):
        front_door_effect(data, graph, "T", "Y", mediators="optimal")
    with pytest.raises(ValueError, match="'method' parameter of front_door_effect must be one of"):
        front_door_effect(data, graph, "T", "Y", method="dml")
    with pytest.raises(ValueError, match="method='aipw' needs a binary treatment"):
        front_door_effect(data, graph, "T", "Y", method="aipw")
    with pytest.raises(ValueError, match=r"columns \['Q'\] that are not nodes"):
        front_door_effect({**data, "Q": data["T"]}, graph, "T", "Y")
    with pytest.raises(ValueError, match="'kind' parameter of front_door_set must be one of"):
        front_door_set(graph, "T", "Y", "optimal")
    with pytest.raises(NoFrontDoorSetError, match="no set of observed nodes"):
        front_door_effect({v: data[v] for v in ("T", "W", "Y")}, graph, "T", "Y")
    assert FRONT_DOOR_METHODS == ("auto", "regression", "aipw")


def _population_coefficients(covariance: np.ndarray, target: int, regressors: list[int]) -> np.ndarray:
    return np.linalg.solve(covariance[np.ix_(regressors, regressors)], covariance[regressors, target])


def test_conditional_front_door_sets_give_the_true_effect_in_linear_sems():
    # An oracle that shares no graph code with the criterion: in a linear SEM the (conditional) front-door formula
    # is sum_j a_j b_j, a_j the population OLS coefficient of T in M_j ~ T + W and b the coefficients of M in
    # Y ~ T + M + W; it must equal the true total effect for every set found, for covariate sets W of up to two
    # pre-treatment nodes. The finder must also agree with brute force over every mediator subset.
    checked = with_covariates = 0
    for seed in range(120):
        graph, observed = _named(seed)
        names = list(graph.nodes)
        adjacency = np.zeros((len(names), len(names)))
        for a, b in graph.edges:
            adjacency[names.index(a), names.index(b)] = 1.0
        rng = np.random.default_rng(seed)
        weights = adjacency * rng.uniform(0.5, 1.5, adjacency.shape) * rng.choice([-1.0, 1.0], adjacency.shape)
        total = np.linalg.inv(np.eye(len(names)) - weights.T)
        covariance = total @ np.diag(rng.uniform(0.5, 1.5, len(names))) @ total.T
        for x in observed:
            for y in observed:
                if x == y or y not in graph.descendants(x):
                    continue
                early = [v for v in observed if v not in graph.descendants(x) and v not in (x, y)]
                for size in range(3):
                    for w in combinations(early, size):
                        others = [v for v in observed if v not in (x, y, *w)]
                        valid = [frozenset(s) for k in range(1, len(others) + 1) for s in combinations(others, k)
                                 if is_front_door_set(graph, x, y, list(s), list(w))]
                        try:
                            found = {kind: front_door_set(graph, x, y, kind, observed=observed, covariates=w)
                                     for kind in ("minimal", "maximal")}
                        except NoFrontDoorSetError:
                            assert not valid, (seed, x, y, w)
                            continue
                        assert frozenset(found["maximal"]) == frozenset().union(*valid), (seed, x, y, w)
                        assert frozenset(found["minimal"]) in valid
                        xi, yi, wi = names.index(x), names.index(y), [names.index(v) for v in w]
                        for mediators in found.values():
                            mi = [names.index(v) for v in mediators]
                            a = [_population_coefficients(covariance, j, [xi, *wi])[0] for j in mi]
                            b = _population_coefficients(covariance, yi, [xi, *mi, *wi])[1:1 + len(mi)]
                            assert float(np.dot(a, b)) == pytest.approx(total[yi, xi], abs=1e-8), (seed, x, y, w)
                            checked += 1
                            with_covariates += bool(w)
    assert checked >= 400 and with_covariates >= 250


CONFOUNDED_MEDIATOR = CausalGraph.from_text("U -> T; U -> Y; W -> T; W -> M; W -> Y; T -> M; M -> Y")


def test_covariates_rescue_a_front_door_that_an_observed_confounder_breaks():
    seen = ["T", "M", "W", "Y"]
    with pytest.raises(NoFrontDoorSetError, match="no set of observed nodes"):
        front_door_set(CONFOUNDED_MEDIATOR, "T", "Y", observed=seen)
    assert front_door_set(CONFOUNDED_MEDIATOR, "T", "Y", observed=seen, covariates=["W"]) == ("M",)
    scm = SCM(CONFOUNDED_MEDIATOR, {
        "U": LinearGaussian(), "W": LinearGaussian(), "T": LinearGaussian({"U": 1.0, "W": 0.8}),
        "M": LinearGaussian({"T": 0.7, "W": -0.9}), "Y": LinearGaussian({"M": 1.5, "U": 1.2, "W": 1.0})})
    truth, _ = true_effect(scm, "T", "Y", n=1000)
    sample = scm.sample(4000, seed=1)
    data = {v: sample[v] for v in seen}
    result = front_door_effect(data, CONFOUNDED_MEDIATOR, "T", "Y", covariates=["W"], seed=0)
    assert result.covers(truth) and result.info["covariates"] == ["W"]
    # Through M without W: the set is refused, and forcing it gives a number far from the truth.
    with pytest.raises(ValueError, match=r"does not satisfy the front-door criterion"):
        front_door_effect(data, CONFOUNDED_MEDIATOR, "T", "Y", mediators=["M"])
    slope_m = np.polyfit(data["T"], data["M"], 1)[0]
    coef_y = np.linalg.lstsq(np.column_stack([np.ones(4000), data["T"], data["M"]]), data["Y"], rcond=None)[0][2]
    assert abs(slope_m * coef_y - truth) > 10 * result.std_error


def test_binary_treatment_with_covariates():
    scm = SCM(CONFOUNDED_MEDIATOR, {
        "U": LinearGaussian(), "W": LinearGaussian(),
        "T": Functional(lambda p, e: (e < 1 / (1 + np.exp(-(1.2 * p[:, 0] + 0.8 * p[:, 1])))).astype(float),
                        Uniform(0.0, 1.0), parent_names=("U", "W")),
        "M": Functional(lambda p, e: p[:, 0] - 0.7 * p[:, 1] + e, Normal(0.0, 1.0), parent_names=("T", "W")),
        "Y": Functional(lambda p, e: 2.0 * p[:, 0] + 1.5 * p[:, 1] + p[:, 2] + e, Normal(0.0, 1.0),
                        parent_names=("M", "U", "W"))})
    truth, _ = true_effect(scm, "T", "Y", n=1000)
    assert truth == pytest.approx(2.0)
    # E[U | T, W] is not linear in W, so the linear outcome model is only close: over ten samples both estimators
    # must be nearly unbiased and their intervals cover the truth most of the time (one sample's miss is chance:
    # 40 samples gave bias 0.017, sd 0.066 and coverage 0.90-0.93).
    errors, covered = {"aipw": [], "regression": []}, {"aipw": 0, "regression": 0}
    for seed in range(10):
        sample = scm.sample(6000, seed=seed)
        data = {v: sample[v] for v in ("T", "M", "W", "Y")}
        one_step = front_door_effect(data, CONFOUNDED_MEDIATOR, "T", "Y", covariates=["W"], seed=0)
        plug_in = front_door_effect(data, CONFOUNDED_MEDIATOR, "T", "Y", covariates=["W"], method="regression",
                                    n_bootstrap=30, seed=0)
        assert one_step.method == "aipw" and plug_in.info["treatment_learner"] == "linear"  # P(T | W) weighs arms
        assert one_step.info["plug_in"] == pytest.approx(plug_in.estimate, abs=0.05)
        for result in (one_step, plug_in):
            errors[result.method].append(result.estimate - truth)
            covered[result.method] += result.covers(truth)
    for method in errors:
        assert abs(np.mean(errors[method])) < 0.05 and covered[method] >= 7, (method, errors, covered)
    with pytest.raises(ValueError, match="contrast"):
        front_door_effect(data, CONFOUNDED_MEDIATOR, "T", "Y", covariates=["W"], method="regression",
                          contrast=(0.0, 2.0))


def test_covariates_bad_input_is_refused_by_name():
    data, graph = _linear_rows(200)
    with pytest.raises(ValueError, match=r"holds \['M'\], descendants of the treatment"):
        front_door_effect(data, graph, "T", "Y", covariates=["M"])
    with pytest.raises(ValueError, match=r"'covariates' argument of front_door_effect names \['U'\]"):
        front_door_effect(data, graph, "T", "Y", covariates=["U"])
    with pytest.raises(ValueError, match=r"share \['W'\]"):
        front_door_effect(data, graph, "T", "Y", mediators=["M", "W"], covariates=["W"])
    with pytest.raises(ValueError, match="needs outcome_learner='linear'"):
        front_door_effect(data, graph, "T", "Y", covariates=["W"], method="regression", outcome_learner="forest")
    with pytest.raises(ValueError, match="holds the treatment or the outcome"):
        front_door_set(graph, "T", "Y", covariates=["T"])
