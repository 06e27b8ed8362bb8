"""Second review of the mediation additions (session 55): the controlled direct effect, ``world_mediation`` and
``effect --world --mediation``, ``MediationResult.plot`` and ``--plot``, ``latentscm.testing.mediation_scms`` and the
interventional effects.

Independent checks: closed forms of the controlled direct effect and of the interventional nested means (a T x L
interaction, a mediator x intermediate-confounder product, contrasts other than (0, 1), two mediators), an OLS
plug-in written here, the pre-change ``world_effect`` re-implemented inline, and custom worlds (a categorical
treatment, an intermediate confounder). Tests that fail document a defect; the others confirm behaviour.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from latentscm.effects import (
    mediation_analysis,
    true_effect,
    true_mediation,
    world_effect,
    world_mediation,
)
from latentscm.effects.estimate import estimate_effect
from latentscm.effects.mediation import mean_label
from latentscm.effects.world_effect import _default_contrast
from latentscm.graph import CausalGraph
from latentscm.scm import SCM, Functional, LinearGaussian, Normal, Uniform

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke, refused  # noqa: E402

WITNESS = "W -> T; W -> L; T -> L; L -> M; T -> M; W -> M; L -> Y; M -> Y; T -> Y; W -> Y"
CHAIN = "W -> T; W -> M1; T -> M1; M1 -> M2; T -> M2; W -> M2; M1 -> Y; M2 -> Y; T -> Y; W -> Y"
FLOW = ["effect", "--world", "flow", "--treatment", "ball_size", "--outcome", "flow", "--samples", "300"]


# ------------------------------------------------------------------------------------------------ helpers
def _witness_scm(product: bool = False) -> SCM:
    """Continuous T; L = 0.5 W + T + e; M = 0.6 L + 0.8 T + 0.4 W + e. Outcome: with ``product`` False,
    Y = 0.7 L + M + 0.5 T + 0.3 T M + 0.4 T L + 0.4 W + e (a T x L interaction); with ``product`` True,
    Y = 0.5 L M + T + M + e (a mediator x intermediate-confounder product)."""
    if product:
        outcome = Functional(lambda p, u: 0.5 * p[:, 0] * p[:, 1] + p[:, 2] + p[:, 1] + u, Normal(0.0, 1.0),
                             parent_names=("L", "M", "T", "W"))
    else:
        outcome = Functional(lambda p, u: 0.7 * p[:, 0] + p[:, 1] + 0.5 * p[:, 2] + 0.3 * p[:, 2] * p[:, 1]
                             + 0.4 * p[:, 2] * p[:, 0] + 0.4 * p[:, 3] + u, Normal(0.0, 1.0),
                             parent_names=("L", "M", "T", "W"))
    mechanisms = {"W": LinearGaussian(), "T": LinearGaussian({"W": 0.5}), "L": LinearGaussian({"W": 0.5, "T": 1.0}),
                  "M": LinearGaussian({"L": 0.6, "T": 0.8, "W": 0.4}), "Y": outcome}
    return SCM(CausalGraph.from_text(WITNESS), mechanisms)


def _chain_scm() -> SCM:
    """Continuous T, two mediators in a chain, both interacting with T in the outcome."""
    mechanisms = {"W": LinearGaussian(), "T": LinearGaussian({"W": 0.5}), "M1": LinearGaussian({"T": 1.0, "W": 0.3}),
                  "M2": LinearGaussian({"M1": 0.5, "T": -0.4, "W": 0.3}),
                  "Y": Functional(lambda p, u: 1.5 * p[:, 1] + 0.4 * p[:, 0] + 0.2 * p[:, 2] + 0.3 * p[:, 2] * p[:, 0]
                                  - 0.2 * p[:, 2] * p[:, 1] + 0.5 * p[:, 3] + u, Normal(0.0, 1.0),
                                  parent_names=("M1", "M2", "T", "W"))}
    return SCM(CausalGraph.from_text(CHAIN), mechanisms)


def _ols(target: np.ndarray, design: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(design, target, rcond=None)[0]


def _plug_in(d: dict, m_names: list[str], ell_names: list[str], w_names: list[str], contrast: tuple[float, float],
             fixed: np.ndarray) -> dict:
    """The linear mediation formula written from scratch: the outcome on T, M, L, T x M, T x L, W; each of M and L on
    T, W; psi(t, s) = mean over rows of the outcome model at T = t, M = E[M | s, W], L = E[L | t, W]."""
    n = d["Y"].size
    t = d["T"]
    m = np.column_stack([d[v] for v in m_names])
    ell = np.column_stack([d[v] for v in ell_names])
    w = np.column_stack([d[v] for v in w_names])
    ones = np.ones(n)
    theta = _ols(d["Y"], np.column_stack([ones, t, m, ell, t[:, None] * m, t[:, None] * ell, w]))
    k, r = m.shape[1], ell.shape[1]
    th_m, th_l = theta[2:2 + k], theta[2 + k:2 + k + r]
    th_tm, th_tl = theta[2 + k + r:2 + 2 * k + r], theta[2 + 2 * k + r:2 + 2 * k + 2 * r]
    th_w = theta[2 + 2 * k + 2 * r:]
    sub = np.column_stack([ones, t, w])
    beta_m, beta_l = _ols(m, sub), _ols(ell, sub)

    def at(value: float) -> np.ndarray:
        return np.column_stack([ones, np.full(n, value), w])

    def psi(tv: float, m_rows: np.ndarray) -> float:
        l_rows = at(tv) @ beta_l
        return float(np.mean(theta[0] + theta[1] * tv + m_rows @ (th_m + tv * th_tm) + l_rows @ (th_l + tv * th_tl)
                             + w @ th_w))

    t0, t1 = contrast
    out = {(a, b): psi(contrast[a], at(contrast[b]) @ beta_m) for a in (0, 1) for b in (0, 1)}
    cde = psi(t1, np.tile(fixed, (n, 1))) - psi(t0, np.tile(fixed, (n, 1)))
    return {"means": out, "controlled_direct": cde, "direct": out[(1, 0)] - out[(0, 0)],
            "indirect": out[(1, 1)] - out[(1, 0)], "total": out[(1, 1)] - out[(0, 0)]}


def _mediation_csv(tmp_path: Path, seed: int) -> Path:
    """300 rows of linear_mediation_scm as a CSV (W, T, M, Y)."""
    from latentscm.testing.mediation_scms import linear_mediation_scm

    data = linear_mediation_scm().sample(300, seed=seed)
    path = tmp_path / "d.csv"
    names = ["W", "T", "M", "Y"]
    rows = np.column_stack([data[v] for v in names])
    path.write_text(",".join(names) + "\n" + "\n".join(",".join(f"{x:.10g}" for x in row) for row in rows) + "\n")
    return path


def _custom_world(kind: str):
    """Small custom worlds. ``categorical``: the sprites' ``shape`` (square, ellipse, heart; P 0.6, 0.1, 0.3) moves
    ``scale`` and ``posX`` only when it is an ellipse, so square -> heart has no effect at all. ``dominant``: the same
    with P 0.2, 0.6, 0.2. ``witness``: nonlinear-ica latents z0 (T) -> z1 (L) -> z2 (M) -> z3 (Y), L an intermediate
    confounder, M's dependence on L growing with T and a L x M product in Y, so natural and interventional
    effects differ."""
    from latentscm.worlds import make

    if kind in ("categorical", "dominant"):
        p0, p1 = (0.6, 0.1) if kind == "categorical" else (0.2, 0.6)
        mechanisms = {
            "shape": Functional(lambda q, u: np.where(u < p0, 0.0, np.where(u < p0 + p1, 1.0, 2.0)),
                                Uniform(0.0, 1.0), parent_names=()),
            "scale": Functional(lambda q, u: 0.6 + 0.3 * (q[:, 0] == 1) + 0.06 * u, Normal(0.0, 1.0),
                                parent_names=("shape",)),
            "posX": Functional(lambda q, u: 0.2 + 0.5 * q[:, 1] + 0.3 * (q[:, 0] == 1) + 0.05 * u, Normal(0.0, 1.0),
                               parent_names=("shape", "scale"))}
        return make("sprites", graph="shape -> scale; shape -> posX; scale -> posX", mechanisms=mechanisms)
    mechanisms = {
        "z1": Functional(lambda p, u: 0.5 * p[:, 0] + 0.45 * u, Uniform(-1.0, 1.0), parent_names=("z0",)),
        "z2": Functional(lambda p, u: 0.6 * p[:, 0] * p[:, 1] + 0.2 * p[:, 0] + 0.1 * u, Uniform(-1.0, 1.0),
                         parent_names=("z0", "z1")),
        "z3": Functional(lambda p, u: 0.2 * p[:, 0] + 0.2 * p[:, 1] + 0.3 * p[:, 2] + 0.8 * p[:, 1] * p[:, 2]
                         + 0.05 * u, Uniform(-1.0, 1.0), parent_names=("z0", "z1", "z2"))}
    return make("nonlinear-ica", latents=4, graph="z0 -> z1; z0 -> z2; z1 -> z2; z0 -> z3; z1 -> z3; z2 -> z3",
                mechanisms=mechanisms)


# -------------------------------------------------------------------------------- controlled direct effect
def test_controlled_direct_with_intermediate_confounder_and_t_by_l_interaction_matches_closed_form():
    """E[Y(t, m)] = 1.2 t + m + 0.3 t m + 0.4 t^2 (the T x L term brings E[t L(t)] = t^2): for t0 = -1, t1 = 2 and
    m = 0.5 the controlled direct effect is 3.6 + 0.45 + 1.2 = 5.25."""
    scm = _witness_scm()
    truth = true_mediation(scm, "T", "Y", "M", (-1.0, 2.0), kind="interventional", covariates=["W"],
                           controlled={"M": 0.5}, n=50_000, seed=0)["controlled_direct"]
    assert truth[0] == pytest.approx(5.25, abs=5 * truth[1] + 1e-9)
    data = scm.sample(5000, seed=1)
    found = mediation_analysis(data, WITNESS, "T", "Y", "M", intermediate_confounders="L", controlled={"M": 0.5},
                               contrast=(-1.0, 2.0))["controlled_direct"]
    assert abs(found.estimate - 5.25) < 4 * found.std_error, found


def test_controlled_direct_with_two_mediators_and_an_unusual_contrast_matches_closed_form():
    """CDE(m1, m2) = (t1 - t0)(0.2 + 0.3 m1 - 0.2 m2): 2 x 0.9 = 1.8 for t = -0.5 -> 1.5, m = (1, -2)."""
    scm = _chain_scm()
    fixed = {"M2": -2.0, "M1": 1.0}
    truth = true_mediation(scm, "T", "Y", ["M1", "M2"], (-0.5, 1.5), controlled=fixed, n=20_000,
                           seed=0)["controlled_direct"]
    assert truth[0] == pytest.approx(1.8, abs=1e-9)
    data = scm.sample(4000, seed=2)
    found = mediation_analysis(data, CHAIN, "T", "Y", ["M1", "M2"], controlled=fixed, contrast=(-0.5, 1.5))
    cde = found["controlled_direct"]
    assert abs(cde.estimate - 1.8) < 4 * cde.std_error, cde
    assert found.info["controlled"] == {"M1": 1.0, "M2": -2.0}
    # the reversed contrast flips the sign exactly
    back = mediation_analysis(data, CHAIN, "T", "Y", ["M1", "M2"], controlled=fixed, contrast=(1.5, -0.5))
    assert back["controlled_direct"].estimate == pytest.approx(-cde.estimate, rel=1e-10)
    assert back["controlled_direct"].std_error == pytest.approx(cde.std_error, rel=1e-10)


def test_regression_means_with_intermediate_block_and_controlled_match_an_independent_plug_in():
    rng = np.random.default_rng(5)
    n = 3000
    w = rng.normal(size=n)
    t = 0.5 * w + rng.normal(size=n)
    ell = 0.7 * t + 0.3 * w + rng.normal(size=n)
    m1 = 0.8 * t + 0.4 * ell + 0.5 * w + rng.normal(size=n)
    m2 = 0.5 * m1 - 0.3 * t + rng.normal(size=n)
    y = (t + 0.7 * m1 + 0.4 * m2 + 0.3 * t * m1 - 0.2 * t * m2 + 0.5 * ell + 0.3 * t * ell + 0.6 * w
         + rng.normal(size=n))
    d = {"W": w, "T": t, "L": ell, "M1": m1, "M2": m2, "Y": y}
    fixed = np.array([0.7, -1.3])
    found = mediation_analysis(d, None, "T", "Y", ["M1", "M2"], covariates=["W"], intermediate_confounders=["L"],
                               controlled={"M1": 0.7, "M2": -1.3}, contrast=(-1.0, 2.0))
    mine = _plug_in(d, ["M1", "M2"], ["L"], ["W"], (-1.0, 2.0), fixed)
    for name in ("controlled_direct", "direct", "indirect", "total"):
        assert found[name].estimate == pytest.approx(mine[name], rel=1e-9, abs=1e-10), name
    for (a, b), value in mine["means"].items():
        assert found.means[mean_label((-1.0, 2.0)[a], (-1.0, 2.0)[b])].estimate == pytest.approx(value, rel=1e-9)
    assert found.info["effects"] == "interventional"


def test_controlled_equals_direct_without_interaction():
    from latentscm.testing.mediation_scms import MEDIATION_GRAPH, linear_mediation_scm

    data = linear_mediation_scm().sample(600, seed=4)
    found = mediation_analysis(data, MEDIATION_GRAPH, "T", "Y", "M", controlled={"M": 3.0}, interaction=False)
    assert found["controlled_direct"].estimate == pytest.approx(found.direct.estimate, rel=1e-10)
    assert found["controlled_direct"].std_error == pytest.approx(found.direct.std_error, rel=1e-10)


@pytest.mark.parametrize("value", ["high", None, [1.0, 2.0]])
def test_controlled_value_that_is_not_a_number_is_refused_naming_the_argument(value):
    """true_mediation names 'controlled' for such a value; mediation_analysis let float() speak ("could not convert
    string to float: 'high'", "float() argument must be a string or a real number, not 'NoneType'")."""
    from latentscm.testing.mediation_scms import MEDIATION_GRAPH, linear_mediation_scm

    data = linear_mediation_scm().sample(300, seed=1)
    with pytest.raises((ValueError, TypeError), match="'controlled'"):
        mediation_analysis(data, MEDIATION_GRAPH, "T", "Y", "M", controlled={"M": value})


def test_cli_controlled_naming_a_mediator_twice_is_refused(tmp_path):
    """--controlled M=1,M=2 must not keep one of the two values silently (it kept the last, M = 2)."""
    from latentscm.testing.mediation_scms import MEDIATION_GRAPH

    path = _mediation_csv(tmp_path, seed=2)
    base = ["effect", path, "--graph", MEDIATION_GRAPH, "--treatment", "T", "--outcome", "Y", "--mediation",
            "--mediators", "M"]
    one = invoke(base + ["--controlled", "M=2", "--out", tmp_path / "one.json"])
    assert one.exit_code == 0, one.output
    refused(invoke(base + ["--controlled", "M=1,M=2"]), "--controlled")


# ------------------------------------------------------------------------------------ interventional truth
def test_true_mediation_interventional_means_depend_on_covariates_as_the_closed_form():
    """Y = 0.5 L M + T + M + e: E[L(t) M(s)] is 0.95 + 1.4 t s for the natural means (the same L noise),
    0.35 + 1.4 t s for a draw given W and 1.4 t s for a draw given nothing."""
    scm = _witness_scm(product=True)
    contrast = (-1.0, 2.0)
    cases = {"natural": ((), 0.95), "interventional_W": (["W"], 0.35), "interventional": ((), 0.0)}
    for case, (covariates, constant) in cases.items():
        kind = "natural" if case == "natural" else "interventional"
        truth = true_mediation(scm, "T", "Y", "M", contrast, kind=kind, covariates=covariates, n=100_000, seed=3)
        for tv in contrast:
            for sv in contrast:
                value, error = truth[mean_label(tv, sv)]
                expected = 0.5 * (constant + 1.4 * tv * sv) + tv + 1.4 * sv
                assert abs(value - expected) < 5 * error + 1e-9, (case, tv, sv, value, expected)


# ---------------------------------------------------------------------------------------- world_mediation
def test_world_mediation_with_intermediate_confounders_is_scored_against_the_interventional_truth():
    """options go to mediation_analysis, so intermediate_confounders gives interventional estimates; the truth they
    are scored against must be the interventional one (true_mediation(kind='interventional') over the covariates the
    analysis used), not the natural effects. Observed: indirect truth 0.136 (natural) where the interventional
    one is 0.103, so the report says 'misses' for an interval [0.089, 0.109] that holds the right value."""
    world = _custom_world("witness")
    found = world_mediation(world, "z0", "z3", "z2", n=2000, truth_samples=50_000,
                            intermediate_confounders="z1")
    assert found.result.info["effects"] == "interventional"
    right = true_mediation(world.scm, "z0", "z3", "z2", found.result.contrast, kind="interventional",
                           covariates=found.result.covariates, n=50_000, seed=0)
    for name in ("indirect", "total"):
        value, error = found.truth[name]
        assert abs(value - right[name][0]) < 5 * (error + right[name][1]), (name, value, right[name])


def test_world_mediation_with_a_categorical_treatment_is_refused_or_covers_the_truth():
    """A labelled factor (square, ellipse, heart) is not a number: the linear mediation formula on its codes finds a
    square -> heart effect (total 0.036, s.e. 0.008; intervals exclude 0) where the world has none. Either refuse a
    categorical treatment (as the temporal worlds refuse categorical causal variables) or get it right."""
    world = _custom_world("categorical")
    try:
        found = world_mediation(world, "shape", "posX", "scale", n=1000, truth_samples=5000, seed=0)
    except ValueError as error:
        assert "categorical" in str(error) and "shape" in str(error), str(error)
        return
    assert found.truth["total"][0] == 0.0
    assert all(found.covered().values()), str(found)


def test_world_mediation_default_contrast_is_two_different_values():
    """With P(ellipse) = 0.6 both quartiles of the treatment are 1, so the default contrast compares 1 with itself
    and the call fails with "The 'contrast' argument of mediation_analysis compares 1 with itself", an argument the
    caller never gave. The default should be two different values the treatment takes."""
    assert len(set(_default_contrast(np.array([0.0] * 20 + [1.0] * 60 + [2.0] * 20)))) == 2
    # session 56: the next value the sample holds above a dominant middle value, below a dominant top one; a discrete
    # factor's quartiles are sampled values (on its grid), a continuous one's interpolated
    assert _default_contrast(np.array([0.0] * 20 + [1.0] * 60 + [2.0] * 20), discrete=True) == (1.0, 2.0)
    assert _default_contrast(np.array([0.0] * 10 + [0.5] * 10 + [2.0] * 80), discrete=True) == (0.5, 2.0)
    grid = np.repeat([0.1, 0.2, 0.3, 0.4], [3, 3, 3, 4])
    assert set(_default_contrast(grid, discrete=True)) <= {0.1, 0.2, 0.3, 0.4}
    assert _default_contrast(np.array([0.0, 1.0, 2.0, 3.0])) == (0.75, 2.25)
    with pytest.raises(ValueError, match="'ball_size' takes one value"):
        _default_contrast(np.full(5, 0.5), name="ball_size")
    # a categorical factor of three values is refused before any contrast is drawn (it has no numeric contrast)
    with pytest.raises(ValueError, match="'shape'.*categorical"):
        world_mediation(_custom_world("dominant"), "shape", "posX", "scale", n=1000, truth_samples=2000, seed=0)


def test_world_mediation_mediator_that_is_not_a_descendant_is_refused_by_name():
    with pytest.raises(ValueError, match="hole_position.*not descendants"):
        world_mediation("flow", "water_height", "flow", "hole_position", n=300, truth_samples=1000)
    with pytest.raises(ValueError, match="'mediators' argument of world_mediation.*'speed'"):
        world_mediation("flow", "ball_size", "flow", ["water_height", "speed"], n=300)


def test_world_mediation_controlled_truth_and_coverage():
    found = world_mediation("flow", "ball_size", "flow", "water_height", n=500, truth_samples=5000,
                            controlled={"water_height": 1.3})
    assert found.truth["controlled_direct"] == (0.0, 0.0)  # no path ball_size -> flow outside water_height
    assert "controlled_direct" in found.covered()
    payload = found.to_dict()
    assert payload["truth"]["controlled_direct"]["value"] == 0.0
    assert set(payload["covered"]) == {"total", "direct", "indirect", "direct_treated", "indirect_control",
                                       "controlled_direct"}


@pytest.mark.parametrize("which", ["world_effect", "world_mediation"])
def test_world_treatment_given_as_a_list_is_refused_by_name(which):
    """Before the shared _factors, world_effect refused treatment=['ball_size'] with "The 'treatment' argument of
    world_effect must be a factor ..."; _factors now iterates every role as a list of names, so the list passes and
    the call dies on data[['ball_size']] with "TypeError: unhashable type: 'list'"."""
    with pytest.raises(ValueError, match=f"'treatment' argument of {which}"):
        if which == "world_effect":
            world_effect("flow", ["ball_size"], "flow", n=300, truth_samples=1000)
        else:
            world_mediation("flow", ["ball_size"], "flow", "water_height", n=300, truth_samples=1000)


def test_world_effect_refuses_a_categorical_factor_of_three_values_in_any_role():
    world = _custom_world("categorical")
    with pytest.raises(ValueError, match="'treatment' argument of world_effect names 'shape', a categorical"):
        world_effect(world, "shape", "posX", n=300, truth_samples=1000)
    with pytest.raises(ValueError, match="'outcome' argument of world_effect names 'shape'.*square, ellipse, heart"):
        world_effect(world, "scale", "shape", n=300, truth_samples=1000)
    with pytest.raises(ValueError, match="'mediators' argument of world_mediation names 'shape'"):
        world_mediation(world, "scale", "posX", ["shape"], n=300, truth_samples=1000)
    found = world_effect(world, "scale", "posX", n=500, truth_samples=2000)  # numeric factors of it still work
    assert np.isfinite(found.estimate.estimate)


def test_world_effect_gives_what_it_gave_before_the_shared_helpers():
    """The pre-change world_effect, inline: sample, two values or quartiles, estimate_effect, true_effect (with the
    one intended change of session 56: a discrete treatment's quartiles are values on its grid)."""
    from latentscm.worlds import make

    for treatment, options in (("ball_size", {}), ("water_height", {"method": "regression"})):
        world = make("flow")
        batch = world.sample(400, seed=1)
        data = {name: np.asarray(batch.factors[:, j], dtype=np.float64) for j, name in enumerate(world.factor_names)}
        levels = np.unique(data[treatment])
        # session 56: a discrete factor's quartiles are sampled values (on its grid), no longer interpolated
        method = "inverted_cdf" if world.spec(treatment).discrete else "linear"
        contrast = tuple(levels.tolist()) if levels.size == 2 else tuple(
            np.quantile(data[treatment], [0.25, 0.75], method=method).tolist())
        assert all(value in levels for value in contrast) or not world.spec(treatment).discrete
        expected = estimate_effect(data, world.scm.graph, treatment, "flow", contrast=contrast, seed=1, **options)
        truth = true_effect(world.scm, treatment, "flow", expected.contrast, n=3000, seed=1)
        found = world_effect("flow", treatment, "flow", n=400, seed=1, truth_samples=3000, **options)
        assert found.estimate.estimate == expected.estimate and found.estimate.contrast == expected.contrast
        assert (found.truth, found.truth_std_error) == truth
    with pytest.raises(ValueError, match="'outcome' argument of world_effect must be a factor"):
        world_effect("flow", "ball_size", "speed", n=300)


# ----------------------------------------------------------------------------------- CLI: --world --mediation
def test_cli_world_mediation_forwards_contrast_level_controlled_and_no_interaction(tmp_path):
    out = tmp_path / "w.json"
    result = invoke(FLOW + ["--mediation", "--mediators", "water_height", "--contrast", "0.4,0.8", "--level", "0.8",
                            "--controlled", "water_height=1.3", "--no-interaction", "--seed", "2", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    expected = world_mediation("flow", "ball_size", "flow", ["water_height"], n=300, seed=2, contrast=(0.4, 0.8),
                               level=0.8, controlled={"water_height": 1.3}, interaction=False)
    assert payload["result"]["contrast"] == [0.4, 0.8] and payload["result"]["level"] == 0.8
    assert payload["result"]["info"]["interaction"] is False
    for name, item in expected.result.effects.items():
        assert payload["result"]["effects"][name]["estimate"] == pytest.approx(item.estimate, rel=1e-10), name
    assert payload["truth"]["controlled_direct"]["value"] == 0.0


def test_cli_world_mediation_refuses_options_it_cannot_use(tmp_path):
    med = FLOW + ["--mediation", "--mediators", "water_height"]
    refused(invoke(med + ["--folds", "3"]), "--learner and --folds")
    refused(invoke(med + ["--method", "multiply_robust", "--no-interaction"]), "--no-interaction applies")
    refused(invoke(med + ["--method", "dml"]), "--method 'dml' does not apply")
    refused(invoke(med + ["--adjustment", "minimal"]), "--adjustment")
    refused(invoke(med + ["--covariates", "hole_position"]), "--covariates")
    refused(invoke(med + ["--intermediates", "hole_position"]), "--intermediates")
    refused(invoke(FLOW + ["--controlled", "water_height=1"]), "only with --mediation")
    refused(invoke(FLOW + ["--no-interaction"]), "only with --mediation")
    plot, out = tmp_path / "w.png", tmp_path / "w.json"
    # session 56: --plot with --world needs --mediation (it draws the effects beside the world's true ones), and
    # options that only a CSV (--samples is --world's) or --refute (--simulations) use are refused, not ignored
    refused(invoke(FLOW + ["--plot", plot, "--out", out]), "needs --mediation")
    refused(invoke(med + ["--simulations", "5"]), "--simulations needs --refute")
    refused(invoke(med + ["--plot", tmp_path / "w.jpg"]), ".png")
    assert not plot.exists() and not out.exists()


def test_cli_world_mediation_plot_marks_the_true_effects(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot, out = tmp_path / "w.png", tmp_path / "w.json"
    result = invoke(FLOW + ["--mediation", "--mediators", "water_height", "--plot", plot, "--out", out])
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"-> {plot}" in result.output
    found = world_mediation("flow", "ball_size", "flow", "water_height", n=300, truth_samples=5000)
    ax = found.plot()
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1
    names = [k for k in found.result.effects if k != "proportion_mediated"]
    np.testing.assert_allclose(sorted(crosses[0].get_xdata()), sorted(found.truth[k][0] for k in names))
    plt.close("all")


def test_cli_csv_refuses_world_and_refute_only_options(tmp_path):
    from latentscm.testing.mediation_scms import MEDIATION_GRAPH

    path = _mediation_csv(tmp_path, seed=2)
    base = ["effect", path, "--graph", MEDIATION_GRAPH, "--treatment", "T", "--outcome", "Y"]
    refused(invoke(base + ["--samples", "500"]), "--samples")
    refused(invoke(base + ["--simulations", "5"]), "--simulations needs --refute")
    refused(invoke(base + ["--mediation", "--mediators", "M", "--samples", "500"]), "--samples")


# -------------------------------------------------------------------------------------------- plot, --plot
def test_mediation_result_plot_draws_every_effect_with_its_interval():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scm = _witness_scm()
    data = scm.sample(800, seed=6)
    found = mediation_analysis(data, WITNESS, "T", "Y", "M", intermediate_confounders="L", controlled={"M": 0.0},
                               contrast=(-1.0, 2.0), level=0.9)
    _, given = plt.subplots()
    ax = found.plot(ax=given)
    assert ax is given
    names = [k for k in found.effects if k != "proportion_mediated"]
    assert "controlled_direct" in names
    placed = sorted(zip(ax.get_yticks(), (tick.get_text() for tick in ax.get_yticklabels())), reverse=True)
    assert [label for _, label in placed] == names  # the first effect on top
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) == 2 and line.get_ydata()[0] ==
             line.get_ydata()[1]]
    bounds = np.array(sorted((float(line.get_xdata()[0]), float(line.get_xdata()[1])) for line in lines))
    expected = np.array(sorted((found[k].ci_low, found[k].ci_high) for k in names))
    np.testing.assert_allclose(bounds, expected, rtol=1e-12)
    assert "interventional" in ax.get_xlabel() and "90%" in ax.get_xlabel() and "-1 -> 2" in ax.get_xlabel()
    assert ax.get_title() == "through M"
    plt.close("all")


def test_cli_mediation_plot_paths_and_nothing_written_on_error(tmp_path):
    from latentscm.testing.mediation_scms import MEDIATION_GRAPH

    path = _mediation_csv(tmp_path, seed=3)
    base = ["effect", path, "--graph", MEDIATION_GRAPH, "--treatment", "T", "--outcome", "Y", "--mediation",
            "--mediators", "M"]
    png = tmp_path / "m.png"
    ok = invoke(base + ["--plot", png, "--controlled", "M=1"])
    assert ok.exit_code == 0, ok.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"-> {png}" in ok.output
    sens = tmp_path / "s.png"
    ok = invoke(base + ["--sensitivity", "--plot", sens])
    assert ok.exit_code == 0 and sens.read_bytes()[:4] == b"\x89PNG", ok.output
    bad_png, bad_out = tmp_path / "bad.png", tmp_path / "bad.json"
    refused(invoke(base + ["--plot", bad_png, "--out", bad_out, "--controlled", "W=1"]), "every mediator")
    refused(invoke(base + ["--sensitivity", "--plot", bad_png, "--out", bad_out, "--controlled", "M=1"]),
            "--controlled")
    refused(invoke(base + ["--plot", tmp_path / "m.txt"]), ".png")
    assert not bad_png.exists() and not bad_out.exists()
    refused(invoke(base[:-3] + ["--plot", bad_png]), "--plot needs --sensitivity")


# ------------------------------------------------------------------------------------------ mediation_scms
def test_mediation_scms_are_registered_and_their_documented_effects_hold():
    import latentscm.testing as testing
    from latentscm.testing import mediation_scms

    for name in mediation_scms.__all__:
        assert name in testing.__all__ and getattr(testing, name) is getattr(mediation_scms, name)
    linear = true_mediation(testing.linear_mediation_scm(), "T", "Y", "M", n=20_000, seed=0)
    assert linear["indirect"][0] == pytest.approx((0.7 + 0.4) * 0.8, abs=1e-9)
    assert linear["indirect_control"][0] == pytest.approx(0.56, abs=1e-9)
    assert abs(linear["direct"][0] - 1.0) < 5 * linear["direct"][1]
    chain = true_mediation(testing.chain_mediation_scm(), "T", "Y", ["M1", "M2"], n=5000, seed=0)
    assert chain["direct"][0] == pytest.approx(0.2) and chain["indirect"][0] == pytest.approx(0.55)
    assert set(CausalGraph.from_text(testing.WITNESS_GRAPH).edges) == set(testing.witness_mediation_scm().graph.edges)
