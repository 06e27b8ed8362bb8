"""Review of ``effects.mediation``, ``mediation_identification``, ``mediation_sensitivity``, ``true_mediation`` and
``latentscm effect --mediation`` (session 55).

Independent checks: a weighted re-implementation of the linear mediation formula whose influence function is taken
by numerical differentiation in the observation weights, a hand-written cross-fitted efficient score of Tchetgen
Tchetgen & Shpitser, closed forms of the nested means, a root-finding solution of the sensitivity equations, a
jackknife for the sensitivity errors, brute-force covariate searches and random linear SCMs for the identification
conditions. Tests named ``test_defect_*`` expose a defect and fail until it is fixed; the others confirm behaviour.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from latentscm.effects import (
    NoMediationFormulaError,
    is_mediation_identified,
    mediation_analysis,
    mediation_covariates,
    mediation_sensitivity,
    true_mediation,
)
from latentscm.effects.mediation import MEDIATION_EFFECTS
from latentscm.graph import CausalGraph
from latentscm.scm import SCM, Functional, LinearGaussian, Normal, Uniform

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke, refused  # noqa: E402

GRAPH = "W -> T; W -> M; T -> M; W -> Y; T -> Y; M -> Y"
WITNESS = "W -> T; W -> L; T -> L; L -> M; T -> M; W -> M; L -> Y; M -> Y; T -> Y; W -> Y"
NAMES = ("total", "direct", "indirect", "direct_treated", "indirect_control")


def _binary_data(n: int, seed: int, coding: tuple[float, float] = (0.0, 1.0)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-w))).astype(float)
    m = 0.8 * t + 0.5 * w + rng.normal(size=n)
    y = t + 0.7 * m + 0.4 * t * m + 0.6 * w + rng.normal(size=n)
    return {"W": w, "T": np.where(t == 1, coding[1], coding[0]), "M": m, "Y": y}


def _rich_data(n: int, seed: int) -> dict[str, np.ndarray]:
    """Continuous T, an intermediate confounder L, two mediators, heteroskedastic errors, every interaction."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n)
    t = rng.normal(size=n) + 0.5 * w
    ell = 0.7 * t + 0.3 * w + rng.normal(size=n)
    m1 = 0.8 * t + 0.5 * w + 0.4 * ell + rng.normal(size=n)
    m2 = 0.5 * m1 - 0.3 * t + rng.normal(size=n) * np.exp(0.3 * w)
    y = (t + 0.7 * m1 + 0.4 * m2 + 0.3 * t * m1 - 0.2 * t * m2 + 0.5 * ell + 0.2 * t * ell + 0.6 * w
         + rng.normal(size=n) * (1 + 0.5 * np.abs(w)))
    return {"W": w, "T": t, "L": ell, "M1": m1, "M2": m2, "Y": y}


# ------------------------------------------------------------------------- regression: an independent formula
def _wls(x: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    scaled = target * (weight[:, None] if target.ndim == 2 else weight)
    return np.linalg.solve(x.T @ (x * weight[:, None]), x.T @ scaled)


def _weighted_effects(d, weight, mediators, ell, cov, contrast, interaction=True, controlled=None):
    """The linear mediation (or interventional) formula under observation weights, written from the formula
    Σ_w P(w) Σ_l P(l | t, w) Σ_m P(m | s, w) E[Y | t, l, m, w] with linear models."""
    n = weight.shape[0]
    t, y = d["T"], d["Y"]
    w = np.column_stack([d[v] for v in cov]) if cov else np.zeros((n, 0))
    m = np.column_stack([d[v] for v in mediators])
    lm = np.column_stack([m] + ([np.column_stack([d[v] for v in ell])] if ell else []))
    p = lm.shape[1]
    x_out = np.column_stack([np.ones(n), t, lm] + ([t[:, None] * lm] if interaction else []) + [w])
    theta = _wls(x_out, y, weight)
    x_sub = np.column_stack([np.ones(n), t, w])
    beta_m = _wls(x_sub, m, weight)
    beta_l = _wls(x_sub, np.column_stack([d[v] for v in ell]), weight) if ell else None
    main = theta[2:2 + p]
    inter = theta[2 + p:2 + 2 * p] if interaction else np.zeros(p)
    th_w = theta[2 + (2 if interaction else 1) * p:]
    psi = {}
    for a in (0, 1):
        for b in (0, 1) if controlled is None else (0, 1, 2):
            ta = contrast[a]
            if b == 2:
                e_m = np.tile(controlled, (n, 1))
            else:
                e_m = np.column_stack([np.ones(n), np.full(n, contrast[b]), w]) @ beta_m
            e_l = np.column_stack([np.ones(n), np.full(n, ta), w]) @ beta_l if ell else np.zeros((n, 0))
            f = theta[0] + theta[1] * ta + np.column_stack([e_m, e_l]) @ (main + ta * inter) + w @ th_w
            psi[(a, b)] = np.sum(weight * f) / np.sum(weight)
    out = {name: psi[hi] - psi[lo] for name, (hi, lo) in MEDIATION_EFFECTS.items()}
    out["proportion_mediated"] = out["indirect"] / out["total"]
    if controlled is not None:
        out["controlled_direct"] = psi[(1, 2)] - psi[(0, 2)]
    return out


@pytest.mark.parametrize("case", ["natural", "interventional_controlled", "bare", "interventional_bare"])
def test_regression_errors_equal_the_numerical_influence_function(case):
    """The reported standard errors equal sqrt(mean(IF^2) / n) with the empirical influence function taken by
    central differences in the observation weights of an independent implementation (to ~1e-7)."""
    d = _rich_data(120, 1)
    mediators = ["M1", "M2"]
    options = {"natural": dict(ell=[], cov=["W"], contrast=(0.0, 1.0)),
               "interventional_controlled": dict(ell=["L"], cov=["W"], contrast=(-1.0, 2.0),
                                                 controlled=np.array([1.0, -0.5])),
               "bare": dict(ell=[], cov=[], contrast=(0.0, 1.0), interaction=False),
               "interventional_bare": dict(ell=["L"], cov=[], contrast=(0.5, 1.5), interaction=False)}[case]
    ell, cov = options.pop("ell"), options.pop("cov")
    fixed = options.get("controlled")
    data = {k: v for k, v in d.items() if k != "L" or ell}
    result = mediation_analysis(data, None, "T", "Y", mediators, covariates=cov, intermediate_confounders=ell or None,
                                contrast=options["contrast"], interaction=options.get("interaction", True),
                                controlled=None if fixed is None else dict(zip(mediators, fixed)))
    n = 120
    base = _weighted_effects(d, np.ones(n), mediators, ell, cov, **options)
    eps = 1e-6
    influence = {k: np.zeros(n) for k in base}
    for i in range(n):
        up, down = np.ones(n), np.ones(n)
        up[i] += eps * n
        down[i] -= eps * n
        hi = _weighted_effects(d, up, mediators, ell, cov, **options)
        lo = _weighted_effects(d, down, mediators, ell, cov, **options)
        for k in base:
            influence[k][i] = (hi[k] - lo[k]) / (2 * eps)
    assert set(result.effects) == set(base)
    for k, value in base.items():
        assert result[k].estimate == pytest.approx(value, rel=1e-9, abs=1e-12), k
        assert result[k].std_error == pytest.approx(np.sqrt(np.mean(influence[k] ** 2) / n), rel=1e-6), k


# -------------------------------------------------------------------- multiply robust: a hand-written score
def test_multiply_robust_equals_a_hand_written_cross_fitted_efficient_score():
    from sklearn.linear_model import LinearRegression, LogisticRegression

    from latentscm.effects.nuisance import fold_labels

    d = _binary_data(400, 5)
    n, k = 400, 3
    result = mediation_analysis(d, None, "T", "Y", "M", covariates=["W"], method="multiply_robust", n_folds=k,
                                seed=2, trim=0.0)
    t, y = d["T"], d["Y"]
    w, mw = d["W"][:, None], np.column_stack([d["M"], d["W"]])
    folds = fold_labels(n, k, 2)
    p, q = np.empty(n), np.empty(n)
    mu = {0: np.empty(n), 1: np.empty(n)}
    g = {0: np.empty(n), 1: np.empty(n)}
    eta = {(1, 0): np.empty(n), (0, 1): np.empty(n)}

    def logistic():
        return LogisticRegression(C=1e6, max_iter=10_000, tol=1e-8)

    for fold in range(k):
        test, train = folds == fold, folds != fold
        p[test] = logistic().fit(w[train], t[train]).predict_proba(w[test])[:, 1]
        q[test] = logistic().fit(mw[train], t[train]).predict_proba(mw[test])[:, 1]
        for a in (0, 1):
            own, other = train & (t == a), train & (t == 1 - a)
            outcome = LinearRegression().fit(mw[own], y[own])
            mu[a][test] = outcome.predict(mw[test])
            g[a][test] = LinearRegression().fit(w[own], y[own]).predict(w[test])
            eta[(a, 1 - a)][test] = LinearRegression().fit(w[other], outcome.predict(mw[other])).predict(w[test])

    def score(a, s):  # Tchetgen Tchetgen & Shpitser (2012), the mediator density ratio by Bayes' rule
        prop = {1: p, 0: 1 - p}
        med = {1: q, 0: 1 - q}
        if a == s:
            return g[a] + (t == a) / prop[a] * (y - g[a])
        return ((t == a) * med[s] / (med[a] * prop[s]) * (y - mu[a]) + (t == s) / prop[s] * (mu[a] - eta[(a, s)])
                + eta[(a, s)])

    scores = {(a, s): score(a, s) for a in (0, 1) for s in (0, 1)}
    for name, (hi, lo) in MEDIATION_EFFECTS.items():
        diff = scores[hi] - scores[lo]
        assert result[name].estimate == pytest.approx(diff.mean(), abs=1e-10), name
        assert result[name].std_error == pytest.approx(diff.std() / np.sqrt(n), rel=1e-8), name
    total, indirect = (scores[(1, 1)] - scores[(0, 0)]), (scores[(1, 1)] - scores[(1, 0)])
    ratio = indirect.mean() / total.mean()
    share = ((indirect - indirect.mean()) - ratio * (total - total.mean())) / total.mean()
    assert result.proportion_mediated.estimate == pytest.approx(ratio, rel=1e-10)
    assert result.proportion_mediated.std_error == pytest.approx(np.sqrt(np.mean(share ** 2) / n), rel=1e-8)


def test_multiply_robust_with_two_mediators_one_binary_and_no_covariates_recovers_the_truth():
    graph = "T -> M1; T -> M2; M1 -> M2; M1 -> Y; M2 -> Y; T -> Y"
    scm = SCM(CausalGraph.from_text(graph), {
        "T": Functional(lambda p, u: (u < 0.5).astype(float), Uniform(0.0, 1.0)),
        "M1": Functional(lambda p, u: (u < 0.3 + 0.4 * p[:, 0]).astype(float), Uniform(0.0, 1.0),
                         parent_names=("T",)),
        "M2": LinearGaussian({"M1": 0.5, "T": 0.6}),
        "Y": Functional(lambda p, u: p[:, 2] + p[:, 0] + 0.5 * p[:, 1] + 0.5 * p[:, 2] * p[:, 1] + u,
                        Normal(0.0, 1.0), parent_names=("M1", "M2", "T")),
    })
    truth = true_mediation(scm, "T", "Y", ["M2", "M1"], n=100_000, seed=0)
    result = mediation_analysis(scm.sample(4000, seed=1), graph, "T", "Y", ["M2", "M1"], method="multiply_robust",
                                n_folds=2)
    assert result.mediators == ("M1", "M2") and result.covariates == ()
    for name in NAMES:
        assert abs(result[name].estimate - truth[name][0]) < 3.5 * result[name].std_error, (name, result[name])


def test_multiply_robust_refuses_an_arm_too_small_for_its_folds_by_name():
    d = _binary_data(300, 2)
    d["T"] = np.zeros(300)
    d["T"][:3] = 1.0
    with pytest.raises(ValueError, match="fewer than 2 treated rows outside fold"):
        mediation_analysis(d, None, "T", "Y", "M", covariates=["W"], method="multiply_robust")


# ------------------------------------------------------------------------- codings, contrasts, input forms
@pytest.mark.parametrize("method", ["regression", "multiply_robust"])
def test_a_treatment_coded_one_two_gives_the_effects_of_the_zero_one_coding(method):
    plain = mediation_analysis(_binary_data(500, 3), GRAPH, "T", "Y", "M", method=method)
    coded = mediation_analysis(_binary_data(500, 3, coding=(1.0, 2.0)), GRAPH, "T", "Y", "M", method=method)
    assert coded.contrast == (1.0, 2.0)
    assert set(coded.means) == {"Y(1, M(1))", "Y(2, M(1))", "Y(1, M(2))", "Y(2, M(2))"}
    for name in (*NAMES, "proportion_mediated"):
        assert coded[name].estimate == pytest.approx(plain[name].estimate, rel=1e-7), name
        assert coded[name].std_error == pytest.approx(plain[name].std_error, rel=1e-6), name


@pytest.mark.parametrize("method", ["regression", "multiply_robust"])
def test_a_reversed_contrast_swaps_the_pure_and_total_effects_and_flips_their_sign(method):
    d = _binary_data(500, 4)
    forward = mediation_analysis(d, GRAPH, "T", "Y", "M", method=method)
    backward = mediation_analysis(d, GRAPH, "T", "Y", "M", method=method, contrast=(1, 0))
    pairs = {"total": "total", "direct": "direct_treated", "indirect": "indirect_control",
             "direct_treated": "direct", "indirect_control": "indirect"}
    for mine, theirs in pairs.items():
        assert backward[mine].estimate == pytest.approx(-forward[theirs].estimate, rel=1e-5), mine
        assert backward[mine].std_error == pytest.approx(forward[theirs].std_error, rel=1e-4), mine
    assert backward.means["Y(1, M(0))"].estimate == pytest.approx(forward.means["Y(1, M(0))"].estimate, rel=1e-5)


def test_true_mediation_and_regression_for_a_continuous_treatment_and_a_wide_contrast():
    """M = 0.8 T + 0.5 W + e, Y = T + 0.7 M + 0.4 T M + 0.6 W + e, T continuous: ψ(t, s) = t + (0.7 + 0.4 t) 0.8 s."""
    scm = SCM(CausalGraph.from_text(GRAPH), {
        "W": LinearGaussian(), "T": LinearGaussian({"W": 0.7}), "M": LinearGaussian({"W": 0.5, "T": 0.8}),
        "Y": Functional(lambda p, u: p[:, 1] + 0.7 * p[:, 2] + 0.4 * p[:, 1] * p[:, 2] + 0.6 * p[:, 0] + u,
                        Normal(0.0, 1.0), parent_names=("W", "T", "M")),
    })

    def psi(t, s):
        return t + (0.7 + 0.4 * t) * 0.8 * s

    v = (-1.0, 2.0)
    exact = {name: psi(v[hi[0]], v[hi[1]]) - psi(v[lo[0]], v[lo[1]]) for name, (hi, lo) in MEDIATION_EFFECTS.items()}
    truth = true_mediation(scm, "T", "Y", "M", contrast=(-1.0, 2.0), n=50_000, seed=0)
    result = mediation_analysis(scm.sample(3000, seed=1), GRAPH, "T", "Y", "M", contrast=(-1, 2))
    for name, value in exact.items():
        assert truth[name][0] == pytest.approx(value, abs=5 * truth[name][1] + 1e-9), name
        assert abs(result[name].estimate - value) < 3.5 * result[name].std_error, (name, result[name])
    assert "Y(2, M(-1))" in truth and "Y(2, M(-1))" in result.means


def test_true_interventional_means_match_their_closed_form():
    """Witness SCM: L = 0.5 W + T + e, M = 0.6 L + 0.8 T + 0.4 W + e, Y = 0.7 L + M + 0.5 T + 0.3 T M + 0.4 W + e, so
    E[Y(t, G(s | W))] = 0.7 t + 1.4 s (1 + 0.3 t) + 0.5 t."""
    scm = SCM(CausalGraph.from_text(WITNESS), {
        "W": LinearGaussian(),
        "T": Functional(lambda p, u: (u < 1 / (1 + np.exp(-p[:, 0]))).astype(float), Uniform(0.0, 1.0),
                        parent_names=("W",)),
        "L": LinearGaussian({"W": 0.5, "T": 1.0}), "M": LinearGaussian({"L": 0.6, "T": 0.8, "W": 0.4}),
        "Y": Functional(lambda p, u: 0.7 * p[:, 0] + p[:, 1] + 0.5 * p[:, 2] + 0.3 * p[:, 2] * p[:, 1] + 0.4 * p[:, 3]
                        + u, Normal(0.0, 1.0), parent_names=("L", "M", "T", "W")),
    })
    truth = true_mediation(scm, "T", "Y", "M", kind="interventional", covariates=["W"], n=100_000, seed=0)
    for (t, s), value in {(0, 0): 0.0, (1, 0): 1.2, (0, 1): 1.4, (1, 1): 3.02}.items():
        mean, se = truth[f"Y({t}, M({s}))"]
        assert abs(mean - value) < 4 * se, (t, s, mean, se)
    fit = mediation_analysis(scm.sample(4000, seed=2), WITNESS, "T", "Y", "M", intermediate_confounders="L")
    for name, value in {"total": 3.02, "direct": 1.2, "indirect": 1.82}.items():
        assert abs(fit[name].estimate - value) < 3.5 * fit[name].std_error, (name, fit[name])


def test_input_forms_give_the_same_numbers_and_nan_is_refused_by_name():
    pd = pytest.importorskip("pandas")
    d = _binary_data(300, 6)
    base = mediation_analysis(d, GRAPH, "T", "Y", "M").indirect.estimate
    order = ["Y", "M", "T", "W"]
    frame = pd.DataFrame({k: d[k] for k in order})
    assert mediation_analysis(frame, GRAPH, "T", "Y", "M").indirect.estimate == pytest.approx(base, rel=1e-12)
    matrix = np.column_stack([d[k] for k in order])
    arr_names = mediation_analysis(matrix, GRAPH, "T", "Y", "M", node_names=np.array(order))
    assert arr_names.indirect.estimate == pytest.approx(base, rel=1e-12)
    boolean = frame.assign(T=frame["T"].astype(bool))
    assert mediation_analysis(boolean, GRAPH, "T", "Y", "M").indirect.estimate == pytest.approx(base, rel=1e-12)
    holed = dict(d)
    holed["M"] = d["M"].copy()
    holed["M"][7] = np.nan
    with pytest.raises(ValueError, match=r"data\['M'\].*NaN"):
        mediation_analysis(holed, GRAPH, "T", "Y", "M")


def test_mediators_in_any_order_with_controlled_values_give_the_same_result():
    d = _rich_data(400, 7)
    d.pop("L")
    one = mediation_analysis(d, None, "T", "Y", ["M1", "M2"], covariates=["W"], controlled={"M1": 1.0, "M2": -2.0})
    two = mediation_analysis(d, None, "T", "Y", ["M2", "M1"], covariates=["W"], controlled={"M2": -2.0, "M1": 1.0})
    for name in (*NAMES, "controlled_direct"):
        assert two[name].estimate == pytest.approx(one[name].estimate, rel=1e-10), name
    assert two.info["controlled"] == {"M2": -2.0, "M1": 1.0}


def test_graphs_with_hidden_nodes():
    d = _binary_data(400, 8)
    # A hidden cause of W and Y: adjusting for W still identifies the effects.
    result = mediation_analysis(d, GRAPH + "; U -> W; U -> Y", "T", "Y", "M")
    assert result.covariates == ("W",) and result.info["hidden"] == ["U"]
    # A hidden treatment-outcome confounder: refused, the hidden node named.
    with pytest.raises(NoMediationFormulaError, match=r"hidden nodes: \['U'\].*treatment confounding"):
        mediation_analysis(d, GRAPH + "; U -> T; U -> Y", "T", "Y", "M")
    # A hidden mediator: refused as not observed.
    with pytest.raises(ValueError, match="not columns of the data"):
        mediation_analysis(d, GRAPH + "; T -> K; K -> Y", "T", "Y", ["M", "K"])


# ------------------------------------------------------------------------------------------ identification
def _random_graph(rng: np.random.Generator):
    n = int(rng.integers(5, 9))
    names = [f"X{i}" for i in range(n)]
    perm = rng.permutation(n)
    density = rng.uniform(0.25, 0.6)
    edges = [(names[perm[i]], names[perm[j]]) for i in range(n) for j in range(i + 1, n) if rng.uniform() < density]
    return CausalGraph(edges, nodes=names), names


def _roles(rng, graph, names, need_path=False):
    order = graph.topological_order()
    t = order[int(rng.integers(0, len(order) - 2))]
    later = [v for v in order if v in graph.descendants(t) and v != t]
    if len(later) < 2:
        return None
    y = later[int(rng.integers(1, len(later)))]
    cand = [v for v in later if v != y and v not in graph.descendants(y)
            and (not need_path or y in graph.descendants(v))]
    if not cand:
        return None
    m = [v for v in cand if rng.uniform() < 0.5] or [cand[0]]
    after = graph.descendants_of([*m, y])
    ell = [v for v in later if v not in {y, *m} and v not in after and rng.uniform() < 0.3]
    hidden = {v for v in names if v not in {t, y, *m, *ell} and rng.uniform() < 0.35}
    return t, y, m, ell, [v for v in names if v not in hidden]


def test_the_covariate_search_is_complete_on_graphs_in_any_node_order():
    """Brute force over every subset of allowed covariates, with the treatment anywhere in the order, both rules."""
    rng = np.random.default_rng(11)
    checked = found = 0
    for _ in range(700):
        graph, names = _random_graph(rng)
        roles = _roles(rng, graph, names)
        if roles is None:
            continue
        t, y, m, ell, observed = roles
        allowed = [v for v in observed if v not in graph.descendants(t) and v not in {t, y, *m, *ell}]
        valid = [set(s) for r in range(len(allowed) + 1) for s in itertools.combinations(allowed, r)
                 if is_mediation_identified(graph, t, y, m, s, intermediate_confounders=ell)]
        checked += 1
        for rule in ("minimal", "ancestral"):
            try:
                chosen = set(mediation_covariates(graph, t, y, m, rule, observed=observed,
                                                  intermediate_confounders=ell))
            except NoMediationFormulaError:
                assert not valid, (graph.to_text(), t, y, m, ell, observed)
                continue
            found += 1
            assert chosen in valid, (graph.to_text(), t, y, m, ell, observed, rule)
    assert checked > 300 and 100 < found < 2 * checked


def test_identified_effects_of_random_linear_scms_are_recovered():
    """Whenever the graph conditions pick covariates (natural or interventional, hidden nodes dropped), the linear
    formula recovers the SCM's exact natural effects (equal to the interventional ones in a linear SCM)."""
    rng = np.random.default_rng(21)
    done, worst = 0, 0.0
    for it in range(300):
        graph, names = _random_graph(rng)
        roles = _roles(rng, graph, names, need_path=True)
        if roles is None:
            continue
        t, y, m, ell, observed = roles
        try:
            mediation_covariates(graph, t, y, m, observed=observed, intermediate_confounders=ell)
        except NoMediationFormulaError:
            continue
        mechanisms = {v: LinearGaussian({p: float(rng.choice([-1, 1]) * rng.uniform(0.4, 1.2))
                                         for p in graph.parents(v)}) for v in names}
        scm = SCM(graph, mechanisms)
        data = {k: v for k, v in scm.sample(5000, seed=it).items() if k in observed}
        result = mediation_analysis(data, graph, t, y, m, intermediate_confounders=ell or None, interaction=False)
        truth = true_mediation(scm, t, y, m, n=1000, seed=0)
        for name in ("total", "direct", "indirect"):
            worst = max(worst, abs(result[name].estimate - truth[name][0]) / result[name].std_error)
        done += 1
    assert done > 60 and worst < 5.0, (done, worst)


# ----------------------------------------------------------------------------------------------- sensitivity
def _confounded(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    w, u = rng.normal(size=n), rng.normal(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-w))).astype(float)
    m = 0.8 * t + 0.5 * w + 0.8 * u + rng.normal(size=n) * np.exp(0.3 * w)
    y = t + 0.7 * m + 0.6 * w + 0.6 * u + rng.normal(size=n)
    return {"W": w, "T": t, "M": m, "Y": y}


def test_sensitivity_formula_solves_the_error_correlation_equation_and_its_errors_match_the_jackknife():
    d = _confounded(200, 3)
    rhos = [-0.6, -0.2, 0.0, 0.3, 0.7]
    result = mediation_sensitivity(d, None, "T", "Y", "M", covariates=["W"], rho=rhos)
    x = np.column_stack([np.ones(200), d["T"], d["W"]])
    coef_m = np.linalg.lstsq(x, d["M"], rcond=None)[0]
    e2 = d["M"] - x @ coef_m
    e1 = d["Y"] - x @ np.linalg.lstsq(x, d["Y"], rcond=None)[0]
    for rho, value in zip(rhos, result.indirect):
        gamma = brentq(lambda g, r=rho: np.corrcoef(e2, e1 - g * e2)[0, 1] - r, -50, 50, xtol=1e-14)
        assert value == pytest.approx(coef_m[1] * gamma, rel=1e-9), rho
    leave_out = np.array([mediation_sensitivity({k: np.delete(v, i) for k, v in d.items()}, None, "T", "Y", "M",
                                                covariates=["W"], rho=rhos).indirect for i in range(200)])
    jackknife = np.sqrt(199 / 200 * ((leave_out - leave_out.mean(0)) ** 2).sum(0))
    reported = (result.indirect_high - result.indirect) / 1.959963984540054
    np.testing.assert_allclose(reported / jackknife, 1.0, atol=0.05)
    # A 1/2 coding and a reversed contrast.
    coded = mediation_sensitivity({**d, "T": d["T"] + 1}, None, "T", "Y", "M", covariates=["W"], rho=rhos)
    np.testing.assert_allclose(coded.indirect, result.indirect, rtol=1e-9)
    back = mediation_sensitivity(d, None, "T", "Y", "M", covariates=["W"], rho=rhos, contrast=(1, 0))
    np.testing.assert_allclose(back.indirect, -result.indirect, rtol=1e-12)
    np.testing.assert_allclose(back.indirect_high, -result.indirect_low, rtol=1e-9)


def test_fixed_sensitivity_refusal_names_its_own_function_and_an_argument_it_takes():
    """mediation_sensitivity reuses mediation_analysis's resolution: its refusal names mediation_analysis and
    advises intermediate_confounders=['L'], an argument mediation_sensitivity does not have."""
    d = SCM(CausalGraph.from_text(WITNESS), {
        "W": LinearGaussian(), "T": LinearGaussian({"W": 1.0}), "L": LinearGaussian({"W": 0.5, "T": 1.0}),
        "M": LinearGaussian({"L": 0.6, "T": 0.8, "W": 0.4}), "Y": LinearGaussian({"L": 0.7, "M": 1.0, "T": 0.5,
                                                                                  "W": 0.4}),
    }).sample(300, seed=1)
    with pytest.raises(NoMediationFormulaError) as caught:
        mediation_sensitivity(d, WITNESS, "T", "Y", "M")
    message = str(caught.value)
    assert "mediation_sensitivity" in message, message
    assert "intermediate_confounders=" not in message, message
    with pytest.raises(ValueError) as named:
        mediation_sensitivity(d, None, "T", "Y", "M", covariates=["Q"])
    assert "mediation_sensitivity" in str(named.value), str(named.value)


def test_fixed_cli_sensitivity_refusal_suggests_a_flag_that_sensitivity_refuses(tmp_path):
    """effect --mediation --sensitivity on a graph with an intermediate confounder says 'command line:
    --intermediates L'; adding it is refused ('no --intermediates'): a loop with no way out."""
    data = SCM(CausalGraph.from_text(WITNESS), {
        "W": LinearGaussian(), "T": LinearGaussian({"W": 1.0}), "L": LinearGaussian({"W": 0.5, "T": 1.0}),
        "M": LinearGaussian({"L": 0.6, "T": 0.8, "W": 0.4}), "Y": LinearGaussian({"L": 0.7, "M": 1.0, "T": 0.5,
                                                                                  "W": 0.4}),
    }).sample(200, seed=2)
    names = list(data)
    rows = np.column_stack([data[k] for k in names])
    (tmp_path / "d.csv").write_text(",".join(names) + "\n" + "\n".join(",".join(f"{v:.10g}" for v in row)
                                                                         for row in rows) + "\n")
    base = ["effect", tmp_path / "d.csv", "--graph", WITNESS, "--treatment", "T", "--outcome", "Y", "--mediation",
            "--mediators", "M", "--sensitivity"]
    first = invoke(base)
    refused(first)
    if "--intermediates L" in first.output:
        refused(invoke(base + ["--intermediates", "L"]))
        pytest.fail(f"the refusal advises a flag that --sensitivity refuses: {first.output}")


# ------------------------------------------------------------------------------------------------ small defects
def test_fixed_means_of_contrast_values_that_print_alike_collapse_into_one_entry():
    """The nested means are keyed by f'{value:g}', 6 significant digits: a contrast (1000000, 1000001) gives one
    key 'Y(1e+06, M(1e+06))' for all four means (the same in true_mediation)."""
    d = _binary_data(300, 9, coding=(1_000_000.0, 1_000_001.0))
    result = mediation_analysis(d, GRAPH, "T", "Y", "M")
    scm = SCM(CausalGraph.from_text("T -> M; M -> Y; T -> Y"), {
        "T": LinearGaussian(), "M": LinearGaussian({"T": 0.5}), "Y": LinearGaussian({"T": 1.0, "M": 1.0})})
    truth = true_mediation(scm, "T", "Y", "M", contrast=(1_000_000.0, 1_000_001.0), n=100, seed=0)
    kept = {"mediation_analysis": list(result.means), "true_mediation": [k for k in truth if k.startswith("Y(")]}
    assert all(len(keys) == 4 for keys in kept.values()), kept


def test_fixed_rank_deficient_interaction_names_the_interaction():
    """A binary mediator that never takes 1 among the treated makes the automatic T x M column identically 0; the
    refusal tells the user to 'drop the redundant column', which is no column of theirs (interaction=False is the
    remedy, and it works)."""
    d = _binary_data(300, 10)
    rng = np.random.default_rng(0)
    d["M"] = (rng.uniform(size=300) < 0.3).astype(float) * (1 - d["T"])
    assert np.isfinite(mediation_analysis(d, GRAPH, "T", "Y", "M", interaction=False).indirect.estimate)
    with pytest.raises(ValueError, match="rank deficient") as caught:
        mediation_analysis(d, GRAPH, "T", "Y", "M")
    assert "interaction" in str(caught.value), str(caught.value)
