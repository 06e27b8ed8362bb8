"""Mediation analysis: the graph conditions of the mediation formula, the two estimators against an SCM's exact
nested counterfactuals, their standard errors, the reference implementation and bad input."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from latentscm.effects import (
    NoMediationFormulaError,
    is_mediation_identified,
    mediation_analysis,
    mediation_covariates,
    true_mediation,
)
from latentscm.graph import CausalGraph
from latentscm.scm import SCM, Functional, LinearGaussian, Normal, Uniform
from latentscm.testing.mediation_scms import (
    MEDIATION_GRAPH,
    WITNESS_GRAPH,
    linear_mediation_scm,
    witness_mediation_scm,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke, refused  # noqa: E402

GRAPH = MEDIATION_GRAPH


def _logistic_treatment(parents: str = "W", scale: float = 1.0) -> Functional:
    return Functional(lambda p, u: (u < 1 / (1 + np.exp(-scale * p[:, 0]))).astype(float), Uniform(0.0, 1.0),
                      parent_names=(parents,))


def _linear_scm(interaction: float = 0.4) -> SCM:
    """M = 0.8 T + 0.5 W + e, Y = T + 0.7 M + interaction T M + 0.6 W + e: direct 1, indirect (0.7 + interaction) 0.8.
    """
    return linear_mediation_scm(interaction)


def _nonlinear_scm() -> SCM:
    """Binary T; M and Y non-linear in W, Y with a T x M term: the linear formula is misspecified."""
    mechanisms = {
        "W": LinearGaussian(),
        "T": _logistic_treatment(scale=0.8),
        "M": Functional(lambda p, u: np.tanh(1.5 * p[:, 0]) + 1.2 * p[:, 1] * (p[:, 0] > 0) + 0.5 * u,
                        Normal(0.0, 1.0), parent_names=("W", "T")),
        "Y": Functional(lambda p, u: 0.5 * p[:, 1] + np.abs(p[:, 0]) * p[:, 2] + 0.8 * p[:, 1] * p[:, 2]
                        + np.cos(2 * p[:, 0]) + 0.5 * u, Normal(0.0, 1.0), parent_names=("W", "T", "M")),
    }
    return SCM(CausalGraph.from_text(GRAPH), mechanisms)


# ------------------------------------------------------------------------------------------ identification
def test_the_graph_picks_the_covariates_and_refuses_what_breaks_the_formula():
    graph = CausalGraph.from_text(GRAPH + "; C -> W; C -> Y; D -> Y")
    assert mediation_covariates(graph, "T", "Y", "M") == ("W",)
    assert mediation_covariates(graph, "T", "Y", "M", "ancestral") == ("W", "C", "D")
    assert is_mediation_identified(graph, "T", "Y", ["M"], ["W", "D"])
    assert not is_mediation_identified(graph, "T", "Y", ["M"], [])
    # A hidden mediator-outcome confounder: no covariates help.
    hidden = CausalGraph.from_text(GRAPH + "; U -> M; U -> Y")
    with pytest.raises(NoMediationFormulaError, match="mediator-outcome confounding.*hidden nodes|hidden nodes"):
        mediation_covariates(hidden, "T", "Y", "M", observed=["W", "T", "M", "Y"])
    assert mediation_covariates(hidden, "T", "Y", "M") == ("W", "U")  # once U is observed
    # A confounder of M and Y that the treatment affects (recanting witness): refused even though L is observed.
    witness = CausalGraph.from_text(GRAPH + "; T -> L; L -> M; L -> Y")
    with pytest.raises(NoMediationFormulaError, match="one the treatment affects"):
        mediation_covariates(witness, "T", "Y", "M")
    assert not is_mediation_identified(witness, "T", "Y", "M", ["W"])
    # ... but with L among the mediators the joint indirect effect is identified.
    assert mediation_covariates(witness, "T", "Y", ["L", "M"]) == ("W",)
    # A hidden treatment-outcome confounder.
    confounded = CausalGraph.from_text(GRAPH + "; V -> T; V -> Y")
    with pytest.raises(NoMediationFormulaError, match="treatment confounding"):
        mediation_covariates(confounded, "T", "Y", "M", observed=["W", "T", "M", "Y"])


def _random_dag(rng: np.random.Generator, n: int) -> CausalGraph:
    names = [f"X{i}" for i in range(n)]
    edges = [(names[i], names[j]) for i in range(n) for j in range(i + 1, n) if rng.uniform() < 0.45]
    return CausalGraph(edges, nodes=names)


def test_the_covariate_search_is_complete_and_minimal_on_random_dags():
    """Brute force over every subset of the allowed covariates: the search fails exactly when no subset works."""
    rng = np.random.default_rng(0)
    checked = found = 0
    for _ in range(300):
        graph = _random_dag(rng, 7)
        order = graph.topological_order()
        t = order[int(rng.integers(0, 3))]
        later = [v for v in order if v in graph.descendants(t)]
        if len(later) < 2:
            continue
        y = later[-1]
        m = [v for v in later[:-1] if y in graph.descendants(v) or rng.uniform() < 0.3][:2]
        if not m:
            continue
        after = graph.descendants_of([*m, y])
        ell = [v for v in graph.descendants(t) if v not in {y, *m} | after and rng.uniform() < 0.3]
        hidden = {v for v in graph.nodes if v not in {t, y, *m, *ell} and rng.uniform() < 0.3}
        observed = [v for v in graph.nodes if v not in hidden]
        allowed = [v for v in observed if v not in graph.descendants(t) and v not in {t, y, *m}]
        valid = [set(s) for r in range(len(allowed) + 1) for s in itertools.combinations(allowed, r)
                 if is_mediation_identified(graph, t, y, m, s, intermediate_confounders=ell)]
        checked += 1
        try:
            chosen = set(mediation_covariates(graph, t, y, m, observed=observed, intermediate_confounders=ell))
        except NoMediationFormulaError:
            assert not valid, (graph.to_text(), t, y, m, ell, hidden)
            continue
        found += 1
        assert chosen in valid
        assert all(not is_mediation_identified(graph, t, y, m, chosen - {v}, intermediate_confounders=ell)
                   for v in chosen)
    assert checked > 100 and 20 < found < checked  # both outcomes were exercised


def test_bad_roles_are_named():
    graph = CausalGraph.from_text(GRAPH + "; Y -> Z")
    with pytest.raises(ValueError, match="not descendants of the treatment"):
        mediation_covariates(graph, "T", "Y", "W")
    with pytest.raises(ValueError, match="descendants of the outcome"):
        mediation_covariates(graph, "T", "Y", ["M", "Z"])
    with pytest.raises(ValueError, match="holds the outcome"):
        mediation_covariates(graph, "T", "Y", ["M", "Y"])
    with pytest.raises(ValueError, match="'mediators'.*empty"):
        mediation_covariates(graph, "T", "Y", [])
    with pytest.raises(ValueError, match="'kind'"):
        mediation_covariates(graph, "T", "Y", "M", "optimal")


# ----------------------------------------------------------------------------------------------- estimates
def test_true_mediation_matches_the_closed_form():
    truth = true_mediation(_linear_scm(), "T", "Y", "M", n=100_000, seed=1)
    for name, value in (("direct", 1.0), ("indirect", 0.88), ("total", 1.88), ("direct_treated", 1.32),
                        ("indirect_control", 0.56)):
        estimate, se = truth[name]
        assert abs(estimate - value) < 4 * se + 1e-9, (name, estimate, se)
    assert truth["indirect_control"][1] == pytest.approx(0.0, abs=1e-12)  # no unit-level spread: M is linear in T
    with pytest.raises(ValueError, match="not descendants"):
        true_mediation(_linear_scm(), "T", "Y", "W")
    with pytest.raises(TypeError, match="'scm'"):
        true_mediation(CausalGraph.from_text(GRAPH), "T", "Y", "M")


@pytest.mark.parametrize("method", ["regression", "multiply_robust"])
def test_both_estimators_recover_the_natural_effects_of_a_linear_scm(method):
    scm = _linear_scm()
    data = scm.sample(4000, seed=2)
    result = mediation_analysis(data, GRAPH, "T", "Y", "M", method=method)
    truth = {"total": 1.88, "direct": 1.0, "indirect": 0.88, "direct_treated": 1.32, "indirect_control": 0.56,
             "proportion_mediated": 0.88 / 1.88}
    for name, value in truth.items():
        item = result[name]
        assert abs(item.estimate - value) < 3.5 * item.std_error, (name, item)
        assert 0.01 < item.std_error < 0.2
    effects = {k: v.estimate for k, v in result.effects.items()}
    assert effects["total"] == pytest.approx(effects["direct"] + effects["indirect"], abs=1e-12)
    assert effects["total"] == pytest.approx(effects["direct_treated"] + effects["indirect_control"], abs=1e-12)
    assert result.covariates == ("W",) and result.mediators == ("M",) and result.info["covariates"] == "minimal"
    assert set(result.means) == {"Y(0, M(0))", "Y(1, M(0))", "Y(0, M(1))", "Y(1, M(1))"}
    import matplotlib

    matplotlib.use("Agg")
    ax = result.plot()
    assert [t.get_text() for t in ax.get_yticklabels()] == [k for k in result.effects if k != "proportion_mediated"]
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["effects"]["indirect"]["estimate"] == pytest.approx(effects["indirect"])
    assert "indirect" in str(result) and "adjusting for W" in str(result)


def test_without_interaction_and_covariates_the_indirect_effect_is_the_product_of_coefficients():
    rng = np.random.default_rng(3)
    n = 500
    t = rng.normal(size=n)
    m = 0.6 * t + rng.normal(size=n)
    y = 0.3 * t + 1.1 * m + rng.normal(size=n)
    data = {"T": t, "M": m, "Y": y}
    result = mediation_analysis(data, "T -> M; M -> Y; T -> Y", "T", "Y", "M", interaction=False)
    beta_t = np.linalg.lstsq(np.column_stack([np.ones(n), t]), m, rcond=None)[0][1]
    theta = np.linalg.lstsq(np.column_stack([np.ones(n), t, m]), y, rcond=None)[0]
    assert result.indirect.estimate == pytest.approx(theta[2] * beta_t, rel=1e-10)
    assert result.direct.estimate == pytest.approx(theta[1], rel=1e-10)
    assert result["indirect_control"].estimate == pytest.approx(result.indirect.estimate, rel=1e-10)
    # A continuous treatment with a contrast of two units doubles both.
    wide = mediation_analysis(data, "T -> M; M -> Y; T -> Y", "T", "Y", "M", interaction=False, contrast=(0, 2))
    assert wide.indirect.estimate == pytest.approx(2 * result.indirect.estimate, rel=1e-10)


def test_regression_standard_errors_are_calibrated():
    """Over 200 fresh data sets the reported errors match the estimates' spread and the intervals cover the truth
    at about the nominal rate (binomial 95% band for 200 draws: 0.92-0.98)."""
    scm = _linear_scm()
    truth = {"total": 1.88, "direct": 1.0, "indirect": 0.88}
    estimates = {k: [] for k in truth}
    errors = {k: [] for k in truth}
    covered = {k: 0 for k in truth}
    for r in range(200):
        result = mediation_analysis(scm.sample(600, seed=1000 + r), GRAPH, "T", "Y", "M")
        for name, value in truth.items():
            estimates[name].append(result[name].estimate)
            errors[name].append(result[name].std_error)
            covered[name] += result[name].covers(value)
    for name in truth:
        spread, reported = np.std(estimates[name]), np.mean(errors[name])
        assert 0.85 < reported / spread < 1.15, (name, reported, spread)
        assert 0.91 <= covered[name] / 200 <= 0.99, (name, covered[name])


def test_multiply_robust_with_boosting_corrects_the_misspecified_linear_formula():
    scm = _nonlinear_scm()
    truth = true_mediation(scm, "T", "Y", "M", n=200_000, seed=0)
    data = scm.sample(3000, seed=4)
    linear = mediation_analysis(data, GRAPH, "T", "Y", "M")
    robust = mediation_analysis(data, GRAPH, "T", "Y", "M", method="multiply_robust", outcome_learner="boosting",
                                treatment_learner="linear", n_folds=3)
    for name in ("total", "direct", "indirect"):
        assert robust[name].covers(truth[name][0]), (name, robust[name], truth[name])
    # The misspecified linear formula misses the indirect effect by many of its own standard errors.
    assert abs(linear.indirect.estimate - truth["indirect"][0]) > 4 * linear.indirect.std_error
    assert robust.info["outcome_learner"] == "boosting" and robust.info["n_folds"] == 3


def test_two_mediators_act_jointly():
    graph = "W -> T; T -> M1; M1 -> M2; T -> M2; W -> M2; M2 -> Y; M1 -> Y; T -> Y; W -> Y"
    mechanisms = {
        "W": LinearGaussian(), "T": _logistic_treatment(),
        "M1": LinearGaussian({"T": 1.0}), "M2": LinearGaussian({"M1": 0.5, "T": -0.4, "W": 0.3}),
        "Y": LinearGaussian({"M2": 1.5, "M1": 0.4, "T": 0.2, "W": 0.5}),
    }
    scm = SCM(CausalGraph.from_text(graph), mechanisms)
    truth = true_mediation(scm, "T", "Y", ["M1", "M2"], n=50_000, seed=0)
    assert truth["indirect"][0] == pytest.approx(0.4 + 1.5 * (0.5 - 0.4), abs=1e-9)
    result = mediation_analysis(scm.sample(3000, seed=5), graph, "T", "Y", ["M2", "M1"])
    assert result.mediators == ("M1", "M2")
    for name in ("direct", "indirect"):
        assert result[name].covers(truth[name][0]), (name, result[name], truth[name])


def test_seeds_make_the_robust_estimator_reproducible():
    data = _linear_scm().sample(600, seed=6)
    first = mediation_analysis(data, GRAPH, "T", "Y", "M", method="multiply_robust", seed=3)
    again = mediation_analysis(data, GRAPH, "T", "Y", "M", method="multiply_robust", seed=3)
    other = mediation_analysis(data, GRAPH, "T", "Y", "M", method="multiply_robust", seed=4)
    assert first.to_dict() == again.to_dict()
    assert first.indirect.estimate != other.indirect.estimate


def test_the_reference_implementation_agrees():
    """statsmodels' Mediation (Imai, Keele & Tingley 2010) simulates from the fitted models' normal
    approximation; its average effects converge to ours (linear models, no interaction). Its spread of the
    indirect effect is wider by a known term: each replicate draws the potential mediators M(0) and M(1) with
    independent noise, which adds θ_M² · 2σ_M² / n to its variance."""
    sm = pytest.importorskip("statsmodels.api")
    from statsmodels.stats.mediation import Mediation

    rng = np.random.default_rng(7)
    n, reps = 1000, 2000
    w = rng.normal(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-w))).astype(float)
    m = 0.8 * t + 0.5 * w + rng.normal(size=n)
    y = t + 0.7 * m + 0.6 * w + rng.normal(size=n)
    outcome = sm.OLS(y, np.column_stack([np.ones(n), t, m, w]))
    mediator = sm.OLS(m, np.column_stack([np.ones(n), t, w]))
    reference = Mediation(outcome, mediator, exposure=(1, 1), mediator=2).fit(method="parametric", n_rep=reps,
                                                                               rng=0)
    ours = mediation_analysis({"W": w, "T": t, "M": m, "Y": y}, GRAPH, "T", "Y", "M", interaction=False)
    draws = {"indirect": reference.ACME_ctrl, "direct": reference.ADE_ctrl}
    for name, row in (("indirect", "ACME (control)"), ("direct", "ADE (control)")):
        ref_estimate, ref_sd = reference.summary().loc[row, "Estimate"], np.std(draws[name])
        assert abs(ours[name].estimate - ref_estimate) < 4 * ref_sd / np.sqrt(reps), (name, ref_estimate)
    fit_m, fit_y = mediator.fit(), outcome.fit()
    extra = fit_y.params[2] ** 2 * 2 * fit_m.scale / n
    assert np.std(draws["indirect"]) == pytest.approx(np.sqrt(ours.indirect.std_error ** 2 + extra), rel=0.08)
    assert np.std(draws["direct"]) == pytest.approx(ours.direct.std_error, rel=0.08)


WITNESS = WITNESS_GRAPH


def _witness_scm() -> SCM:
    """L, affected by T, confounds M and Y: the natural effects are not identified, the interventional ones are."""
    return witness_mediation_scm()


def test_interventional_effects_when_the_treatment_affects_a_mediator_outcome_confounder():
    scm = _witness_scm()
    truth = true_mediation(scm, "T", "Y", "M", kind="interventional", covariates=["W"], n=200_000, seed=0)
    data = scm.sample(1000, seed=10)
    with pytest.raises(NoMediationFormulaError, match=r"intermediate_confounders=\['L'\]"):
        mediation_analysis(data, WITNESS, "T", "Y", "M")
    covered = {"total": 0, "direct": 0, "indirect": 0}
    for r in range(150):
        result = mediation_analysis(scm.sample(800, seed=2000 + r), WITNESS, "T", "Y", "M",
                                    intermediate_confounders="L")
        for name in covered:
            covered[name] += result[name].covers(truth[name][0])
    assert all(0.9 <= c / 150 <= 0.99 for c in covered.values()), covered
    # The controlled direct effect (mediator set to 1) keeps the path T -> L -> Y: 0.5 + 0.3 * 1 + 0.7 * 1 = 1.5.
    cde = true_mediation(scm, "T", "Y", "M", controlled={"M": 1.0}, n=50_000, seed=0)["controlled_direct"]
    assert cde[0] == pytest.approx(1.5, abs=1e-9)
    fits = [mediation_analysis(scm.sample(1000, seed=3000 + r), WITNESS, "T", "Y", "M",
                               intermediate_confounders="L", controlled={"M": 1.0})["controlled_direct"]
            for r in range(150)]
    estimates = np.array([f.estimate for f in fits])
    assert abs(estimates.mean() - cde[0]) < 3 * estimates.std() / np.sqrt(150)
    assert 0.88 <= np.mean([f.covers(cde[0]) for f in fits]) <= 0.99
    with pytest.raises(ValueError, match="'controlled'.*every mediator"):
        mediation_analysis(data, WITNESS, "T", "Y", "M", intermediate_confounders="L", controlled={"L": 1.0})
    with pytest.raises(ValueError, match="'controlled'.*method='regression'"):
        mediation_analysis(data, WITNESS, "T", "Y", ["L", "M"], method="multiply_robust",
                           controlled={"M": 0.0, "L": 0.0})
    assert result.info["effects"] == "interventional" and result.info["intermediate_confounders"] == ["L"]
    assert "interventional effects" in str(result) and "intermediate confounders L" in str(result)
    assert is_mediation_identified(CausalGraph.from_text(WITNESS), "T", "Y", "M", ["W"], intermediate_confounders="L")
    with pytest.raises(ValueError, match="needs method='regression'"):
        mediation_analysis(data, WITNESS, "T", "Y", "M", intermediate_confounders="L", method="multiply_robust")
    with pytest.raises(ValueError, match="not descendants of the treatment"):
        mediation_analysis(data, WITNESS, "T", "Y", "M", intermediate_confounders="W")
    with pytest.raises(ValueError, match="descendants of a mediator"):
        mediation_covariates(CausalGraph.from_text(WITNESS + "; M -> K"), "T", "Y", "M", intermediate_confounders="K")


def test_natural_and_interventional_truths_differ_when_effects_vary_across_units():
    """L(t) = t e_L and M(s) = L(s) + e_M, Y = M L: the natural indirect effect E[M(1) L(1)] - E[M(0) L(1)] = 1 rides
    on the cross-world link through e_L, while an independent draw G(s) has E[G(s)] E[L(1)] = 0 for both s."""
    graph = CausalGraph.from_text("T -> L; L -> M; M -> Y; L -> Y")
    mechanisms = {"T": Functional(lambda p, u: (u < 0.5).astype(float), Uniform(0.0, 1.0)),
                  "L": Functional(lambda p, u: p[:, 0] * u, Normal(0.0, 1.0), parent_names=("T",)),
                  "M": LinearGaussian({"L": 1.0}),
                  "Y": Functional(lambda p, u: p[:, 0] * p[:, 1], Normal(0.0, 1.0), parent_names=("L", "M"))}
    scm = SCM(graph, mechanisms)
    natural = true_mediation(scm, "T", "Y", "M", n=200_000, seed=1)
    interventional = true_mediation(scm, "T", "Y", "M", kind="interventional", n=200_000, seed=1)
    assert abs(natural["indirect"][0] - 1.0) < 4 * natural["indirect"][1]
    assert abs(interventional["indirect"][0]) < 4 * interventional["indirect"][1]
    with pytest.raises(ValueError, match="names \\['L'\\]: the treatment, outcome, a mediator or a descendant"):
        true_mediation(_witness_scm(), "T", "Y", "M", kind="interventional", covariates=["L"])
    chain = SCM(CausalGraph.from_text("C -> W; W -> T; T -> M; M -> Y; W -> Y"),
                {"C": LinearGaussian(), "W": LinearGaussian({"C": 1.0}), "T": LinearGaussian({"W": 1.0}),
                 "M": LinearGaussian({"T": 1.0}), "Y": LinearGaussian({"M": 1.0, "W": 1.0})})
    with pytest.raises(ValueError, match="parents of its nodes; add \\['C'\\]"):
        true_mediation(chain, "T", "Y", "M", kind="interventional", covariates=["W"])
    with pytest.raises(ValueError, match="need none"):
        true_mediation(_witness_scm(), "T", "Y", "M", covariates=["W"])


# ------------------------------------------------------------------------------------------------ bad input
def test_bad_input_is_refused_by_name():
    data = _linear_scm().sample(200, seed=8)
    witness = GRAPH + "; T -> L; L -> M; L -> Y"
    with pytest.raises(ValueError, match="'method'"):
        mediation_analysis(data, GRAPH, "T", "Y", "M", method="aipw")
    with pytest.raises(ValueError, match="give 'mediators'"):
        mediation_analysis(data, GRAPH, "T", "Y")
    with pytest.raises(ValueError, match="without a 'graph'"):
        mediation_analysis(data, None, "T", "Y", "M")
    with pytest.raises(ValueError, match="'covariates'.*'Q'"):
        mediation_analysis(data, None, "T", "Y", "M", covariates=["Q"])
    with pytest.raises(NoMediationFormulaError, match="'covariates'.*do not identify"):
        mediation_analysis(data, GRAPH, "T", "Y", "M", covariates=[])
    with pytest.raises(ValueError, match="not columns of the data"):
        mediation_analysis({k: v for k, v in data.items()}, witness.replace("L", "M2"), "T", "Y", ["M", "M2"])
    with pytest.raises(ValueError, match="binary treatment"):
        mediation_analysis({**data, "T": data["W"]}, GRAPH, "T", "Y", "M", method="multiply_robust")
    with pytest.raises(ValueError, match="rank deficient"):
        mediation_analysis({**data, "M": 2 * data["T"] + data["W"]}, GRAPH, "T", "Y", "M")
    with pytest.raises(ValueError, match="must be a DAG"):
        from latentscm.discovery import DiscoveredGraph
        cpdag = DiscoveredGraph(("T", "Y"), np.array([[0, 1], [1, 0]]))
        mediation_analysis({"T": data["T"], "Y": data["Y"]}, cpdag, "T", "Y", "Y")
    with pytest.raises(TypeError, match="'interaction'"):
        mediation_analysis(data, GRAPH, "T", "Y", "M", interaction="yes")
    with pytest.raises(ValueError, match="'interaction'.*regression"):
        mediation_analysis(data, GRAPH, "T", "Y", "M", method="multiply_robust", interaction=False)
    with pytest.raises(ValueError, match="'level'"):
        mediation_analysis(data, GRAPH, "T", "Y", "M", level=1.5)
    from sklearn.tree import DecisionTreeClassifier

    separated = {**data, "T": (data["W"] > 0).astype(float)}
    with pytest.raises(ValueError, match="propensity P\\(T \\| W\\) is 0 or 1.*trim > 0"):
        mediation_analysis(separated, GRAPH, "T", "Y", "M", method="multiply_robust", trim=0.0, n_folds=2,
                           treatment_learner=DecisionTreeClassifier(random_state=0))


# ----------------------------------------------------------------------------------------- command line
def _write(path: Path, n: int = 800, seed: int = 9) -> dict[str, np.ndarray]:
    data = _linear_scm().sample(n, seed=seed)
    names = list(data)
    rows = np.column_stack([data[k] for k in names])
    path.write_text(",".join(names) + "\n" + "\n".join(",".join(f"{v:.10g}" for v in row) for row in rows) + "\n")
    return data


def test_mediation_from_the_command_line(tmp_path):
    _write(tmp_path / "d.csv")
    out = tmp_path / "m.json"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y",
                     "--mediation", "--mediators", "M", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    table = np.loadtxt(tmp_path / "d.csv", delimiter=",", skiprows=1)
    names = (tmp_path / "d.csv").read_text().splitlines()[0].split(",")
    ours = mediation_analysis(table, GRAPH, "T", "Y", "M", node_names=names)
    assert payload["effects"]["indirect"]["estimate"] == pytest.approx(ours.indirect.estimate, rel=1e-8)
    assert payload["covariates"] == ["W"] and "proportion_mediated" in result.output
    robust = invoke(["effect", tmp_path / "d.csv", "--treatment", "T", "--outcome", "Y", "--mediation",
                     "--mediators", "M", "--covariates", "W", "--method", "multiply_robust", "--folds", "3"])
    assert robust.exit_code == 0, robust.output
    assert "multiply_robust" in robust.output
    plotted = invoke(["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y",
                      "--mediation", "--mediators", "M", "--plot", tmp_path / "effects.png"])
    assert plotted.exit_code == 0, plotted.output
    assert (tmp_path / "effects.png").read_bytes()[:4] == b"\x89PNG"
    controlled = invoke(["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y",
                         "--mediation", "--mediators", "M", "--controlled", "M=1.5", "--out", out])
    assert controlled.exit_code == 0, controlled.output
    expected = mediation_analysis(table, GRAPH, "T", "Y", "M", node_names=names, controlled={"M": 1.5})
    assert json.loads(out.read_text())["effects"]["controlled_direct"]["estimate"] == pytest.approx(
        expected["controlled_direct"].estimate, rel=1e-8)


def test_mediation_refusals_on_the_command_line(tmp_path):
    _write(tmp_path / "d.csv", n=100)
    base = ["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y"]
    refused(invoke(base + ["--mediation"]), "--mediation needs --mediators")
    refused(invoke(base + ["--mediation", "--mediators", "M", "--refute"]), "cannot be combined with --refute")
    refused(invoke(base + ["--mediation", "--mediators", "M", "--method", "dml"]), "--method 'dml' does not apply")
    refused(invoke(base + ["--mediation", "--mediators", "M", "--learner", "forest"]), "--learner and --folds")
    refused(invoke(base + ["--no-interaction"]), "--no-interaction needs --mediation")
    refused(invoke(base + ["--intermediates", "M"]), "--intermediates needs --mediation")
    refused(invoke(base + ["--controlled", "M=1", "--no-interaction"]),
            "--controlled, --no-interaction need --mediation")
    refused(invoke(base + ["--mediation", "--mediators", "M", "--controlled", "M"]), "'mediator=value' pairs")
    refused(invoke(base + ["--mediation", "--mediators", "M", "--controlled", "W=1"]), "every mediator")
    refused(invoke(base + ["--mediation", "--mediators", "M", "--covariates", ""]), "do not identify")
    refused(invoke(["effect", tmp_path / "d.csv", "--treatment", "T", "--outcome", "Y", "--mediation",
                    "--mediators", "M"]), "without a 'graph'")
    world = ["effect", "--world", "flow", "--treatment", "ball_size", "--outcome", "flow"]
    refused(invoke(world + ["--mediation"]), "--mediation needs --mediators")
    refused(invoke(world + ["--mediators", "water_height"]), "only with --mediation")
    refused(invoke(world + ["--mediation", "--mediators", "speed"]), "'mediators'", "'speed'")
    refused(invoke(world + ["--mediation", "--mediators", "water_height", "--learner", "forest"]),
            "--learner and --folds apply to --mediation with --method multiply_robust")


def test_world_mediation_against_the_worlds_own_nested_counterfactuals(tmp_path):
    """The flow world: ball size raises the water, which drives the flow; no direct path, so the true direct effect
    is 0 and the indirect one is the whole effect."""
    from latentscm.effects import world_mediation

    found = world_mediation("flow", "ball_size", "flow", "water_height", n=3000, seed=0, truth_samples=50_000)
    assert found.truth["direct"] == (0.0, 0.0) and found.truth["indirect"][0] > 0.3
    assert all(found.covered().values()), str(found)
    assert "the interval covers it" in str(found)
    out = tmp_path / "w.json"
    result = invoke(["effect", "--world", "flow", "--treatment", "ball_size", "--outcome", "flow", "--mediation",
                     "--mediators", "water_height", "--samples", "3000", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["covered"]["indirect"] is True
    assert payload["result"]["effects"]["indirect"]["estimate"] == pytest.approx(found.result.indirect.estimate)
