"""GradCtrl attribute controls scored against exact counterfactuals in a confounded world."""

import numpy as np
import pytest
from tests.probes.conftest import SpritesOracleModel

from latentscm import worlds
from latentscm.probes.attribute_controls import AttributeControls, _drift_at_gain, edit_fidelity
from latentscm.scm import Functional, Root, Uniform


@pytest.fixture(scope="module")
def confounded():
    """Hidden U drives scale and posX (no edge between them): do(scale) leaves posX alone."""
    return worlds.make("sprites", size=16, graph="U -> scale, posX", mechanisms={
        "U": Root(Uniform(0.0, 1.0)),
        "scale": Functional(lambda p, u: 0.5 + 0.5 * (0.8 * p[:, 0] + 0.2 * u), noise=Uniform(0.0, 1.0)),
        "posX": Functional(lambda p, u: 0.8 * p[:, 0] + 0.2 * u, noise=Uniform(0.0, 1.0)),
    })


@pytest.fixture(scope="module")
def fitted(confounded):
    model = SpritesOracleModel(confounded)
    batch = confounded.sample(600, seed=0)
    codes = model.encode(batch.images)
    controls = AttributeControls(steps=150, step_size=0.1, seed=0).fit(codes, batch.factors,
                                                                       confounded.factor_names)
    return model, controls


def test_world_is_confounded_not_causal(confounded):
    batch = confounded.sample(500, seed=1)
    assert np.corrcoef(batch.factor("scale"), batch.factor("posX"))[0, 1] > 0.7
    cf = confounded.counterfactual(batch, {"scale": 1.0})
    np.testing.assert_array_equal(cf.factor("posX"), batch.factor("posX"))
    assert confounded.hidden == ("U",) and confounded.graph.edges == ()


def test_classifiers_and_directions(fitted):
    model, controls = fitted
    assert controls.accuracy_["posX"] > 0.85 and controls.accuracy_["scale"] > 0.8  # chance: 0.5
    codes = np.random.default_rng(0).normal(size=(5, 4))
    masked = controls.direction(codes, "scale", method="masked", exclude=["posX"])
    np.testing.assert_allclose(np.linalg.norm(masked, axis=1), 1.0)
    salient = np.argmax(np.abs(controls.gradient(codes, "posX")), axis=1)
    assert np.all(masked[np.arange(5), salient] == 0.0)  # posX's most salient channel is zeroed
    path = controls.edit(codes, "scale", method="linear", n_steps=3)
    np.testing.assert_allclose(path[3] - path[0], 3 * 0.1 * controls.linear_directions_["scale"][None].repeat(5, 0))


def test_controls_do_not_depend_on_the_codes_units(confounded):
    """An autoencoder's units spread ~10x a VAE's: classifiers and regressions see standardised codes and
    saliences are per standard deviation, so codes in other units give the same classifiers, the same masked
    channels, and code-space gradients and normals that scale as d logit / dz must."""
    batch = confounded.sample(400, seed=3)
    codes = SpritesOracleModel(confounded).encode(batch.images)
    scale = np.array([40.0, 0.5, 7.0, 3.0])
    plain = AttributeControls(steps=100, seed=0).fit(codes, batch.factors, confounded.factor_names)
    wide = AttributeControls(steps=100, seed=0).fit(codes * scale, batch.factors, confounded.factor_names)
    for name in ("scale", "posX"):
        assert wide.accuracy_[name] == plain.accuracy_[name]
        assert wide.linear_accuracy_[name] == plain.linear_accuracy_[name]
        varying = plain.code_scale_ != 1.0  # the oracle's fourth unit is constant: scale 1 in both
        expected = np.where(varying, plain.linear_directions_[name] / scale, 0.0)
        np.testing.assert_allclose(wide.linear_directions_[name], expected / np.linalg.norm(expected), atol=1e-5)
        np.testing.assert_allclose(wide.gradient(codes[:5] * scale, name)[:, varying],
                                   plain.gradient(codes[:5], name)[:, varying] / scale[varying], rtol=1e-4, atol=1e-6)
    # the masked channels are the same: zero in one direction exactly where zero in the other
    masked_plain = plain.direction(codes[:20], "scale", method="masked", exclude=["posX"])
    masked_wide = wide.direction(codes[:20] * scale, "scale", method="masked", exclude=["posX"])
    np.testing.assert_array_equal(masked_plain == 0.0, masked_wide == 0.0)
    assert (masked_plain == 0.0).any(axis=1).all()


@pytest.fixture(scope="module")
def leaning(confounded):
    """Controls whose scale classifier leans on posX: fitted on codes whose scale unit is blurred by noise (an
    encoder that holds scale poorly), so the confounded posX unit carries much of the scale evidence."""
    model = SpritesOracleModel(confounded)
    batch = confounded.sample(600, seed=0)
    codes = model.encode(batch.images)
    codes[:, 2] += np.random.default_rng(4).normal(0.0, codes[:, 2].std(), len(codes)).astype(np.float32)
    return AttributeControls(steps=150, step_size=0.1, seed=0).fit(codes, batch.factors, confounded.factor_names)


def test_masked_edits_drift_the_confounded_factor_less(fitted, leaning, confounded):
    model, _ = fitted
    controls = leaning
    result = edit_fidelity(model, confounded, controls, "scale", exclude=["posX"], target_change=0.2, max_steps=40,
                           n=80, seed=2)
    rows = result.methods
    assert all(rows[m]["reached"] and rows[m]["gain"] >= 0.2 for m in ("masked", "gradient", "linear"))
    # the true counterfactual of do(scale) keeps posX: the error against it is the drift itself
    for m in rows:
        assert rows[m]["counterfactual_error"]["posX"] == pytest.approx(rows[m]["drift"]["posX"])
    assert rows["gradient"]["drift"]["posX"] > 0.05  # the plain gradient follows the classifier onto posX
    assert rows["masked"]["drift"]["posX"] < 0.5 * rows["gradient"]["drift"]["posX"]
    # the logistic normal of standardised codes leans on posX less than the MLP's gradient does here
    assert rows["masked"]["drift"]["posX"] <= rows["linear"]["drift"]["posX"]
    for m in rows:  # the matched drift lies between the last two steps' drifts, the curve ends at the last step
        curve = rows[m]["curve"]
        assert curve["gain"][0] == 0.0 and curve["gain"][-1] == pytest.approx(rows[m]["gain"])
        assert len(curve["gain"]) == rows[m]["steps"] + 1
        assert curve["drift"]["posX"][-1] == pytest.approx(rows[m]["drift"]["posX"])
        low, high = sorted(curve["drift"]["posX"][-2:])
        assert low - 1e-12 <= rows[m]["drift_at_target"]["posX"] <= high + 1e-12
    assert set(result.to_dict()["methods"]) == {"masked", "gradient", "linear"}
    from latentscm.probes.attribute_controls import EditFidelity

    # every per-method key the result holds is documented
    assert [key for key in rows["masked"] if f"``{key}``" not in EditFidelity.__doc__] == []


def test_bad_input_is_named(fitted, confounded):
    model, controls = fitted

    class EncoderOnly:
        def encode(self, x):
            return model.encode(x)

    with pytest.raises(TypeError, match="no decode"):
        edit_fidelity(EncoderOnly(), confounded, controls, "scale")
    with pytest.raises(ValueError, match="Unknown factor 'hue'"):
        edit_fidelity(model, confounded, controls, "hue")
    with pytest.raises(ValueError, match="unknown factor 'size'"):
        controls.direction(np.zeros((1, 4)), "scale", exclude=["size"])
    with pytest.raises(ValueError, match="'method' parameter"):
        controls.direction(np.zeros((1, 4)), "scale", method="rotate")
    with pytest.raises(ValueError, match="exact read-out"):
        edit_fidelity(model, worlds.make("sprites", size=16, variant="color"), controls, "scale")
    with pytest.raises(RuntimeError, match="not fitted"):
        AttributeControls().direction(np.zeros((1, 4)), "scale")
    for method in ("masked", "gradient", "linear"):  # codes of the wrong width, rank or values are named
        with pytest.raises(ValueError, match="'codes' argument of AttributeControls.direction must have 4 columns"):
            controls.direction(np.zeros((2, 5)), "scale", method=method)
        with pytest.raises(ValueError, match="'codes' argument of AttributeControls.edit must be 2-D"):
            controls.edit(np.zeros(4), "scale", method=method)
    with pytest.raises(ValueError, match="'codes' argument of AttributeControls.gradient contains NaN"):
        controls.gradient(np.full((1, 4), np.nan), "scale")


def test_drift_at_gain_interpolates_between_the_bracketing_steps():
    curve = [(0.0, np.array([0.0, 0.0])), (0.1, np.array([0.02, 0.5])), (0.3, np.array([0.06, 0.7]))]
    np.testing.assert_allclose(_drift_at_gain(curve, 0.2), [0.04, 0.6])
    np.testing.assert_allclose(_drift_at_gain(curve, 0.1), [0.02, 0.5])
    assert np.isnan(_drift_at_gain(curve, 0.35)).all()  # never reached: no matched value


def test_module_credits_the_gradctrl_authors():
    """GradCtrl (ECCV 2022, arXiv 2209.00698, zikuncshelly/GradCtrl) is by Chen, Jiang, Duke, Zhao and Aarabi."""
    import latentscm.probes.attribute_controls as module

    assert "GradCtrl (Chen, Jiang, Duke, Zhao & Aarabi, ECCV 2022" in module.__doc__
    assert "Krähenbühl" not in module.__doc__


def test_fit_refuses_repeated_or_string_factor_names():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(60, 3)).astype(np.float32)
    factors = np.column_stack([codes[:, 0], -codes[:, 1]])
    with pytest.raises(ValueError, match="'factor_names' argument of AttributeControls.fit names \\['a'\\] more than"):
        AttributeControls(steps=2).fit(codes, factors, ["a", "a"])  # the second column would replace the first
    with pytest.raises(TypeError, match="'factor_names' argument of AttributeControls.fit .* not one string"):
        AttributeControls(steps=2).fit(codes, factors, "ab")


def test_fit_trains_under_no_grad():
    """fit trains its classifiers even inside the caller's torch.no_grad(), and gives the same classifiers."""
    import torch

    rng = np.random.default_rng(0)
    codes = rng.normal(size=(60, 3)).astype(np.float32)
    factors = np.column_stack([codes[:, 0], -codes[:, 1]])
    plain = AttributeControls(steps=5, seed=0).fit(codes, factors, ["a", "b"])
    with torch.no_grad():
        quiet = AttributeControls(steps=5, seed=0).fit(codes, factors, ["a", "b"])
    assert torch.is_grad_enabled()  # the mode outside the block is back
    np.testing.assert_array_equal(quiet.gradient(codes[:4], "a"), plain.gradient(codes[:4], "a"))


def test_edit_fidelity_methods_are_a_nonempty_list_of_distinct_names(fitted, confounded):
    model, controls = fitted
    with pytest.raises(TypeError, match="'methods' argument of edit_fidelity must be a sequence .* \\['masked'\\]"):
        edit_fidelity(model, confounded, controls, "scale", methods="masked")
    for bad in ([], ["linear", "linear"]):
        with pytest.raises(ValueError, match="'methods' parameter of edit_fidelity must name each"):
            edit_fidelity(model, confounded, controls, "scale", methods=bad)
