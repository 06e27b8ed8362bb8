"""Review of the front-door capability (session 50): defects found, and checks of behaviour the existing tests miss
(treatment coding other than 0/1, contrast order, the one-step estimator with covariates, JSON output)."""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from latentscm.effects import front_door_effect, front_door_set, is_front_door_set
from latentscm.graph import CausalGraph

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke  # noqa: E402

SMOKING = CausalGraph.from_text("U -> T; U -> Y; T -> M; M -> Y")
CONFOUNDED_MEDIATOR = CausalGraph.from_text("U -> T; U -> Y; W -> T; W -> M; W -> Y; T -> M; M -> Y")
# B and C share a hidden parent H and both cause Y: each opens the other's back-door path to Y unless both are in
# the set (their edges into Y are then cut), so {A, B, C} and {A} are front-door sets, but {A, B} and {A, C} are not.
PAIRED = CausalGraph.from_text("U -> T; U -> Y; T -> A; A -> Y; H -> B; H -> C; B -> Y; C -> Y")


# ---------------------------------------------------------------- defects (these fail before the fixes)


def test_minimal_front_door_set_has_no_valid_strict_subset():
    # Dropping one node at a time stops at {A, B, C}: every single drop breaks (iii). {A} is a front-door set
    # strictly inside it, so the "minimal" set (and the default mediators of front_door_effect) is not minimal.
    seen = ["T", "A", "B", "C", "Y"]
    assert is_front_door_set(PAIRED, "T", "Y", ["A"])
    assert is_front_door_set(PAIRED, "T", "Y", ["A", "B", "C"])
    assert not is_front_door_set(PAIRED, "T", "Y", ["A", "B"]) and not is_front_door_set(PAIRED, "T", "Y", ["A", "C"])
    assert front_door_set(PAIRED, "T", "Y", "maximal", observed=seen) == ("A", "B", "C")
    assert front_door_set(PAIRED, "T", "Y", "minimal", observed=seen) == ("A",)


def test_world_refuses_mediators_and_covariates_without_front_door():
    # The '--mediators/--covariates need --front-door' check runs after the --world branch has returned, so with
    # --world they were silently ignored (exit 0).
    for extra in (["--mediators", "bogus"], ["--covariates", "bogus"]):
        result = invoke(["effect", "--world", "flow", "--treatment", "water_height", "--outcome", "flow",
                         "--samples", "200", *extra])
        assert result.exit_code == 2, result.output
        assert "Error:" in result.output and extra[0] in result.output, result.output


def _rare_level_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 400
    u, w = rng.normal(size=n), rng.normal(size=n)
    t = np.where(u + w + rng.normal(size=n) < 0.0, 0.0, 1.0)
    t[:2] = 2.0  # a third level held by two rows: most bootstrap draws lack it
    m = 0.8 * t - 0.7 * w + rng.normal(size=n)
    y = 2.0 * m + 1.5 * u + w + rng.normal(size=n)
    return {"T": t, "M": m, "W": w, "Y": y}


def test_bootstrap_keeps_the_full_data_estimator_when_a_draw_misses_a_treatment_level():
    # The point estimate takes the linear branch (three levels, covariates); each bootstrap draw re-decides the
    # branch from its own levels, so a draw without level 2 went to the binary branch and fitted a regression on
    # the zero rows with T = 2 (a raw scikit-learn error). The linear branch does not need the level present.
    data = _rare_level_data()
    result = front_door_effect(data, CONFOUNDED_MEDIATOR, "T", "Y", covariates=["W"], contrast=(0.0, 2.0),
                               n_bootstrap=30, seed=0)
    n = data["T"].shape[0]
    ones = np.ones(n)
    slope = np.linalg.lstsq(np.column_stack([ones, data["T"], data["W"]]), data["M"], rcond=None)[0][1]
    coef = np.linalg.lstsq(np.column_stack([ones, data["T"], data["M"], data["W"]]), data["Y"], rcond=None)[0][2]
    assert result.estimate == pytest.approx(2.0 * slope * coef, rel=1e-9)
    assert np.isfinite(result.std_error) and 0.0 < result.std_error < 1.0


def test_non_binary_aipw_refusal_does_not_suggest_a_method_front_door_effect_lacks():
    rng = np.random.default_rng(0)
    n = 300
    u = rng.normal(size=n)
    t = np.digitize(u + rng.normal(size=n), [-0.5, 0.5]).astype(float)  # three levels
    m = t + rng.normal(size=n)
    data = {"T": t, "M": m, "Y": m + u + rng.normal(size=n)}
    with pytest.raises(ValueError, match="needs a binary treatment") as caught:
        front_door_effect(data, SMOKING, "T", "Y", method="aipw")
    assert "dml" not in str(caught.value), str(caught.value)  # front_door_effect refuses method='dml'


def test_degenerate_mediator_is_not_estimated_silently():
    # M is a copy of the binary treatment: P(T | M) is 0 or 1, mu(t', m) is never observed for t' != m, and the
    # front-door functional is not identified. aipw warns (every propensity truncated); the plug-in returned 1.57
    # with a tight interval (truth 2) without a word. It should refuse or warn.
    rng = np.random.default_rng(0)
    n = 2000
    u = rng.normal(size=n)
    t = (u + rng.normal(size=n) > 0).astype(float)
    data = {"T": t, "M": t.copy(), "Y": 2.0 * t + u + rng.normal(size=n)}
    pattern = r"collinear|overlap|positivity|degenerate"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            front_door_effect(data, SMOKING, "T", "Y", method="regression", n_bootstrap=5)
        except ValueError as error:
            assert re.search(pattern, str(error)), str(error)
            return
    assert any(re.search(pattern, str(w.message)) for w in caught), [str(w.message) for w in caught]


def test_a_single_mediator_name_is_taken_or_refused_with_the_list_form():
    # is_front_door_set and covariates= take one name as a str; mediators="M" was refused as "must be one of
    # 'minimal', 'maximal'", which does not say that a column list is accepted.
    rng = np.random.default_rng(1)
    n = 300
    u = rng.normal(size=n)
    t = u + rng.normal(size=n)
    m = t + rng.normal(size=n)
    data = {"T": t, "M": m, "Y": m + u + rng.normal(size=n)}
    listed = front_door_effect(data, SMOKING, "T", "Y", mediators=["M"], n_bootstrap=5)
    try:
        named = front_door_effect(data, SMOKING, "T", "Y", mediators="M", n_bootstrap=5)
    except ValueError as error:
        assert re.search(r"list|\['M'\]", str(error)), str(error)
    else:
        assert named.estimate == listed.estimate and named.info["mediators"] == ["M"]


# ---------------------------------------------------------------- correct behaviour the existing tests miss


def _binary_with_covariate(seed: int, n: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    u, w = rng.normal(size=n), rng.normal(size=n)
    treated = (rng.uniform(size=n) < 1 / (1 + np.exp(-(u + 0.8 * w)))).astype(float)
    m = treated + 0.5 * w + rng.normal(size=n)
    y = np.exp(m) + 1.5 * u + w + rng.normal(size=n)  # the linear outcome model is wrong
    return treated, m, w, y


def test_treatment_coding_and_contrast_order_with_covariates():
    # Recoding the arms {0, 1} as {5, 2} (treated = 2) and naming the contrast in either order gives the same
    # number up to sign, for both estimators: the density-ratio and the arms follow t1, not the larger value.
    treated, m, w, y = _binary_with_covariate(3, 1500)
    base = {"M": m, "W": w, "Y": y}
    kwargs = dict(covariates=["W"], n_bootstrap=5, seed=0)
    for method in ("aipw", "regression"):
        reference = front_door_effect({**base, "T": treated}, CONFOUNDED_MEDIATOR, "T", "Y", method=method,
                                      contrast=(0.0, 1.0), **kwargs)
        coded = np.where(treated == 1.0, 2.0, 5.0)
        forward = front_door_effect({**base, "T": coded}, CONFOUNDED_MEDIATOR, "T", "Y", method=method,
                                    contrast=(5.0, 2.0), **kwargs)
        backward = front_door_effect({**base, "T": coded}, CONFOUNDED_MEDIATOR, "T", "Y", method=method, **kwargs)
        assert backward.contrast == (2.0, 5.0) and forward.contrast == (5.0, 2.0)
        assert forward.estimate == pytest.approx(reference.estimate, rel=1e-6)
        assert backward.estimate == pytest.approx(-reference.estimate, rel=1e-6)
        assert forward.std_error == pytest.approx(reference.std_error, rel=1e-6)
        assert "do(T=2)] - E[Y | do(T=5)]" in str(forward)
        json.dumps(forward.to_dict())  # info (propensity range, trimming, plug-in) is JSON-ready


def test_one_step_with_covariates_corrects_a_wrong_outcome_model():
    # Fulcher et al. given W: with P(T | M, W) and P(T | W) close to logistic but Y = exp(M) + ..., the linear
    # plug-in is biased and the one-step estimator is not. Truth: (e - 1) exp(0.625) = 3.213.
    truth = (np.e - 1.0) * np.exp(0.625)
    treated, m, w, y = _binary_with_covariate(0, 20_000)
    result = front_door_effect({"T": treated, "M": m, "W": w, "Y": y}, CONFOUNDED_MEDIATOR, "T", "Y",
                               covariates=["W"], seed=0)
    assert result.method == "aipw" and result.covers(truth)
    assert abs(result.info["plug_in"] - truth) > 4 * result.std_error  # the plug-in alone misses
