"""Review tests of CauCA (Liang et al. 2023): the spline against the paper's formulas, the mixture's CDF and
quantile in the tails, counterfactual abduction, calibration state, evaluate, fit_restarts, seeding, save/load and
error messages. Each test states a behaviour that should hold."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
import torch
from scipy.special import log_ndtr, logsumexp
from test_cauca import REGIMES, TINY, chain_world

import latentscm
from latentscm.learners.cauca import CauCA, fit_restarts
from latentscm.nn.conditional_mixture import ConditionalGaussianMixture
from latentscm.nn.spline_flow import rational_quadratic_spline


@pytest.fixture(scope="module")
def world():
    return chain_world()


@pytest.fixture(scope="module")
def data(world):
    return world.sample(1000, seed=1, regime=REGIMES)


def _fit(data, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CauCA(**{**TINY, **options}).fit(data, progress=False)


@pytest.fixture(scope="module")
def model(data):
    return _fit(data)


# ------------------------------------------------------------------------------------------- the spline
def _reference_spline(x, w, h, d, bound, bins):
    """Durkan et al. (2019) Eqs. 4-6, written out from the paper (numpy, float64), one scalar input."""
    def knots(raw):
        sizes = 1e-3 + (1 - 1e-3 * bins) * np.exp(raw) / np.exp(raw).sum()
        k = 2 * bound * np.concatenate([[0.0], np.cumsum(sizes)]) - bound
        k[0], k[-1] = -bound, bound
        return k

    if not -bound < x < bound:
        return x, 0.0
    xs, ys = knots(w), knots(h)
    slopes = np.concatenate([[1.0], 1e-3 + np.log1p(np.exp(d)), [1.0]])
    k = min(int(np.searchsorted(xs, x, side="right")) - 1, bins - 1)
    xi = (x - xs[k]) / (xs[k + 1] - xs[k])
    s = (ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k])
    den = s + (slopes[k + 1] + slopes[k] - 2 * s) * xi * (1 - xi)
    y = ys[k] + (ys[k + 1] - ys[k]) * (s * xi ** 2 + slopes[k] * xi * (1 - xi)) / den
    der = s ** 2 * (slopes[k + 1] * xi ** 2 + 2 * s * xi * (1 - xi) + slopes[k] * (1 - xi) ** 2) / den ** 2
    return y, np.log(der)


def test_spline_matches_the_papers_formulas_and_its_closed_form_inverse():
    torch.manual_seed(0)
    bins, bound, n = 5, 3.0, 500
    w = torch.randn(n, bins, dtype=torch.float64) * 2
    h = torch.randn(n, bins, dtype=torch.float64) * 2
    d = torch.randn(n, bins - 1, dtype=torch.float64) * 2
    x = (torch.rand(n, dtype=torch.float64) * 2 - 1) * 3.5  # some outside: the identity tails
    y, log_slope = rational_quadratic_spline(x, w, h, d, bound=bound)
    for i in range(n):
        ref_y, ref_log = _reference_spline(float(x[i]), w[i].numpy(), h[i].numpy(), d[i].numpy(), bound, bins)
        assert float(y[i]) == pytest.approx(ref_y, abs=1e-10)
        assert float(log_slope[i]) == pytest.approx(ref_log, abs=1e-9)
    back, log_back = rational_quadratic_spline(y, w, h, d, bound=bound, inverse=True)
    scale = log_slope.exp()  # inversion error measured in y units (conditioning of tiny bins)
    assert float(((back - x).abs() * scale).max()) < 1e-10
    np.testing.assert_allclose(log_back.numpy(), -log_slope.numpy(), atol=1e-7)
    # unit slope at both ends: the derivative is continuous into the identity tails
    edge = torch.tensor([-bound + 1e-9, bound - 1e-9], dtype=torch.float64)
    _, edge_log = rational_quadratic_spline(edge, w[:2], h[:2], d[:2], bound=bound)
    np.testing.assert_allclose(edge_log.numpy(), 0.0, atol=1e-6)


# ------------------------------------------------------------------------------------------- the mixture
def _true_log_cdf(mixture, y, parents):
    with torch.no_grad():
        log_w, means, log_scales = (t.double().numpy() for t in mixture.parameters_for(parents))
    z = (y.double().numpy()[:, None] - means) / np.exp(log_scales)
    return logsumexp(log_w + log_ndtr(z), axis=1)


@pytest.mark.parametrize("dtype,u", [(torch.float32, 1e-10), (torch.float64, 1e-30)])
@torch.no_grad()
def test_mixture_quantile_is_right_for_extreme_small_u(dtype, u):
    """quantile's docstring: 'u within 1e-30 of 0 or 1 is still inside' the bracket; the answer should then be the
    u-quantile, i.e. the mixture's exact CDF there should be u (up to a few percent)."""
    torch.manual_seed(0)
    mixture = ConditionalGaussianMixture(0, components=3).to(dtype)
    parents = torch.zeros(4, 0, dtype=dtype)
    y = mixture.quantile(torch.full((4,), u, dtype=dtype), parents)
    np.testing.assert_allclose(_true_log_cdf(mixture, y, parents), np.log(u), atol=0.05)


# ------------------------------------------------------------------------------------------- counterfactuals
def test_abduction_and_a_null_intervention_in_the_lower_tail(model, data):
    """A descendant 6 scales below its mechanism's lowest mean has a noise of order 1e-9 (F rounds badly in float32):
    abduct gives it on the normal scale (finite, below -6: at least 6 of every component's scales down), and
    do(parent = its own value) must leave it where it was. (Written against abduct returning u in (0, 1); abduct
    now returns the normal score, the fix for the saturation this test found.)"""
    z = model.encode(data.images[:5])
    with torch.no_grad():
        _, means, log_scales = model.mechanisms_[2].parameters_for(torch.from_numpy(z[:, [0, 1]]))
    z[:, 2] = (means.min(1).values - 6.0 * log_scales.exp().max(1).values).numpy()
    u = model.abduct(z)
    assert np.all(np.isfinite(u[:, 2])) and np.all(u[:, 2] < -5.9), u[:, 2]
    same = model.counterfactual_codes(z, {"z1": z[:, 1]})
    np.testing.assert_allclose(same[:, 2], z[:, 2], atol=1e-2)


def test_counterfactual_codes_non_numeric_value_names_the_latent(model, data):
    z = model.encode(data.images[:3])
    with pytest.raises((ValueError, TypeError), match="z1"):
        model.counterfactual_codes(z, {"z1": "high"})


# ------------------------------------------------------------------------------------------- calibration state
def test_from_factor_inverts_to_factors_for_a_decreasing_map(model, data):
    z = model.encode(data.images[:400])
    labelled = types.SimpleNamespace(images=data.images[:400], factor_names=("z0", "z1", "z2"),
                                     factors=np.stack([-2.0 * z[:, 0], z[:, 1], -z[:, 2]], axis=1))
    fitted = _fit(data)
    fitted.calibrate(labelled)
    values = fitted.to_factors(z)
    np.testing.assert_allclose(values, labelled.factors, atol=1e-5)
    back = np.stack([fitted.from_factor(name, values[:, i]) for i, name in enumerate(fitted.factor_names_)], 1)
    np.testing.assert_allclose(back, z, atol=1e-5)


def test_to_factors_refuses_codes_of_the_wrong_shape_naming_z(model, data):
    fitted = _fit(data)
    fitted.calibrate(data[:200])
    with pytest.raises(ValueError, match="'z'"):
        fitted.to_factors(np.zeros((4, 2)))


def test_fitting_again_drops_the_calibration_of_the_previous_fit(world, data):
    fitted = _fit(data)
    fitted.calibrate(world.sample(200, seed=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted.set_params(seed=5).fit(data, progress=False)  # new latents: the old monotone maps no longer apply
    assert getattr(fitted, "calibration_", None) is None
    with pytest.raises(RuntimeError, match="calibrate"):
        fitted.counterfactual(data.images[:3], {"z0": 0.0})


def test_evaluate_calibrates_a_freshly_fitted_model_for_the_call_only(world, data):
    from latentscm.metrics.evaluate import evaluate

    fresh = _fit(data)
    results = evaluate(fresh, world, suite=["mcc"], n=200, n_counterfactual=16, activity=False)
    assert any(key.startswith("cf.") for key in results)
    assert getattr(fresh, "calibration_", None) is None


def test_evaluate_restores_the_uncalibrated_state_when_the_counterfactual_metrics_fail(world, data, monkeypatch):
    import latentscm.metrics.counterfactual as counterfactual_module
    from latentscm.metrics.evaluate import evaluate

    fresh = _fit(data)
    fresh.calibration_ = None  # as a loaded, uncalibrated model has it

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(counterfactual_module, "counterfactual_metrics", broken)
    with pytest.raises(RuntimeError, match="boom"):
        evaluate(fresh, world, suite=["mcc"], n=200, n_counterfactual=16, activity=False)
    assert fresh.calibration_ is None


# ------------------------------------------------------------------------------------------- seeds, restarts, save
def test_same_seed_gives_bit_identical_fits_and_restart_seeds_follow_the_docstring(data):
    a, b = _fit(data), _fit(data)
    for name in ("encoder", "mechanisms", "intervened"):
        for key, value in getattr(a, f"{name}_").state_dict().items():
            assert torch.equal(value, getattr(b, f"{name}_").state_dict()[key]), (name, key)
    assert np.array_equal(a.sample(5, seed=1), b.sample(5, seed=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = fit_restarts(CauCA(**{**TINY, "steps": 10, "seed": 3}), data, restarts=2, progress=False)
    seeds = [int(np.random.SeedSequence([3, r]).generate_state(1)[0]) for r in range(2)]
    assert [r["seed"] for r in best.restarts_] == seeds
    again = _fit(data, steps=10, seed=best.seed)
    assert np.array_equal(again.encode(data.images[:50]), best.encode(data.images[:50]))


def test_fit_restarts_with_an_output_directory(data, tmp_path):
    """fit(**fit_options) takes out=...; fit_restarts should either refuse it up front naming 'out' or leave the
    returned (best) model in that directory, not fail on the second restart."""
    out = tmp_path / "run"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            best = fit_restarts(CauCA(**{**TINY, "steps": 5}), data, restarts=2, progress=False, out=str(out))
    except (ValueError, TypeError) as error:
        assert "out" in str(error)
        return
    loaded = latentscm.load(str(out))
    np.testing.assert_array_equal(loaded.encode(data.images[:20]), best.encode(data.images[:20]))


def test_save_and_load_a_model_fitted_with_graph_none(data, tmp_path):
    fitted = _fit(data, graph="none")
    fitted.save(str(tmp_path))
    loaded = latentscm.load(str(tmp_path))
    assert loaded.parents_ == [[], [], []] and loaded.graph == "none"
    assert getattr(loaded, "calibration_", None) is None
    np.testing.assert_array_equal(loaded.encode(data.images[:20]), fitted.encode(data.images[:20]))
    np.testing.assert_allclose(loaded.log_prob(data.images[:20], targets=data.targets[:20]),
                               fitted.log_prob(data.images[:20], targets=data.targets[:20]), rtol=1e-6)


def test_set_params_changing_module_shapes_after_fit_refuses_to_save(data, tmp_path):
    fitted = _fit(data)
    fitted.set_params(components=4)
    with pytest.raises(ValueError, match="components"):
        fitted.save(str(tmp_path))


# ------------------------------------------------------------------------------------------- error messages
@pytest.mark.parametrize("text", ["z0 -> ", "z0 - z1", "z0 ->> z1"])
def test_bad_graph_text_names_the_graph_parameter(text):
    with pytest.raises(ValueError, match="'graph'"):
        CauCA(graph=text)


def test_invertible_mlp_refuses_an_unknown_activation_naming_it():
    from latentscm.worlds.invertible_mlp import InvertibleMLP

    with pytest.raises(ValueError, match="activation"):
        InvertibleMLP(3, 2, np.random.default_rng(0), activation="relu")
