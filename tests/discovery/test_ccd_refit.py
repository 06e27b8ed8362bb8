"""ContrastiveCausalDisentanglement.refit_mechanisms: the latent SCM refitted by least squares on the encoded contexts
(the fitted graph's edges, GIES with the known targets, or a given DAG)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from latentscm.discovery import ContrastiveCausalDisentanglement, contrastive_causal_disentanglement
from latentscm.discovery.contrastive_causal_disentanglement import GaussianInterventionLogOdds
from latentscm.graph import CausalGraph
from latentscm.testing.interventional_latents import simulate_interventional_latents


def _identity_fit(model, z_obs, *, info=None, encoder=None):
    """A fit whose encoder is the identity (or ``encoder``): its reported latents are the true ones standardised on
    ``z_obs``."""
    d = model.d
    return ContrastiveCausalDisentanglement(
        nodes=tuple(f"z{i}" for i in range(d)), weights=np.zeros((d, d)), noise_scales=np.ones(d),
        encoder=torch.nn.Identity() if encoder is None else encoder, log_odds_model=GaussianInterventionLogOdds(d),
        input_mean=np.zeros(d), input_scale=np.ones(d), latent_mean=z_obs.mean(0), latent_scale=z_obs.std(0),
        info={"edge_threshold": 0.1, "input_shape": [d]} if info is None else info)


@pytest.fixture(scope="module")
def identity_setting():
    model = simulate_interventional_latents(5, p=5, mixing="identity", degree=2.5, seed=2)
    x_obs, x_int, z_obs, _ = model.sample(20000, seed=7)
    return model, x_obs, x_int, _identity_fit(model, z_obs)


def test_refit_on_the_true_latents_recovers_the_weights_and_noise_in_reported_units(identity_setting):
    """With the true latents, least squares on the true parents (every row but the target's own context) gives the
    standardised true weights ``W[j, i] sd_j / sd_i`` and noise scales ``sigma_i / sd_i`` to sampling error, and
    GIES with the known targets finds the true DAG itself."""
    model, x_obs, x_int, fit = identity_setting
    truth = (model.weights != 0).astype(int)
    assert 3 <= truth.sum() <= 8
    spread = fit.latent_scale
    expected = model.weights * spread[:, None] / spread[None, :]
    for graph in (truth, "gies"):
        refit = fit.refit_mechanisms(x_obs, x_int, graph=graph)
        np.testing.assert_array_equal(refit.graph().adjacency, truth)
        np.testing.assert_allclose(refit.weights, expected, atol=0.03)
        np.testing.assert_allclose(refit.noise_scales, np.sqrt(model.noise_variances) / spread, rtol=0.03)
        assert refit.info["edge_threshold"] == 0.0 and refit.info["mechanisms"]["edges"] == truth.sum()
    assert refit.info["mechanisms"]["graph"] == "gies" and np.isfinite(refit.info["mechanisms"]["score_value"])
    assert fit.weights.sum() == 0 and fit.info["edge_threshold"] == 0.1  # the fit itself is left alone


def test_the_interventional_rows_of_a_latent_are_left_out_of_its_own_mechanism(identity_setting):
    """Fitting an effect's mechanism on all rows, its own context included (where its parents no longer act), would
    shrink its weights: the refit's are unbiased, a pooled fit's are measurably smaller."""
    model, x_obs, x_int, fit = identity_setting
    truth = (model.weights != 0).astype(int)
    refit = fit.refit_mechanisms(x_obs, x_int, graph=truth)
    i = int(np.argmax(truth.sum(0)))  # the latent with the most parents
    parents = np.flatnonzero(truth[:, i])
    z = np.concatenate([fit.encode(x) for x in [x_obs, *x_int]])
    design = np.column_stack([np.ones(len(z)), z[:, parents]])
    pooled = np.linalg.lstsq(design, z[:, i], rcond=None)[0][1:]
    expected = (model.weights * fit.latent_scale[:, None] / fit.latent_scale[None, :])[parents, i]
    assert np.abs(refit.weights[parents, i] - expected).max() < 0.03
    assert np.abs(pooled - expected).max() > 0.06


def test_refit_keeps_the_fitted_edges_changes_the_counterfactuals_and_survives_saving(tmp_path):
    model = simulate_interventional_latents(3, p=8, degree=2, hidden=64, layers=2, seed=0)
    x_obs, x_int, _, _ = model.sample(1500, seed=5)
    fit = contrastive_causal_disentanglement(x_obs, x_int, seed=0, hidden=(32,), epochs=30)
    refit = fit.refit_mechanisms(x_obs, x_int)
    np.testing.assert_array_equal(refit.graph().adjacency, fit.graph().adjacency)
    edges = fit.graph().adjacency.astype(bool)
    assert edges.any() and not np.allclose(refit.weights[edges], fit.weights[edges])
    assert (refit.weights[~edges] == 0).all() and refit.info["mechanisms"]["graph"] == "fit"
    np.testing.assert_array_equal(refit.encode(x_obs), fit.encode(x_obs))  # the encoder is kept
    z = fit.encode(x_obs[:50])
    cause = int(np.flatnonzero(edges.any(1))[0])
    setting = {fit.nodes[cause]: 1.5}
    assert not np.allclose(refit.counterfactual_latents(z, setting), fit.counterfactual_latents(z, setting))
    refit.save(tmp_path / "refit.pt")
    back = ContrastiveCausalDisentanglement.load(tmp_path / "refit.pt")
    np.testing.assert_array_equal(back.weights, refit.weights)
    np.testing.assert_array_equal(back.graph().adjacency, refit.graph().adjacency)
    assert back.info["mechanisms"] == refit.info["mechanisms"] and back.marginals is None
    gaussian = fit.refit_mechanisms(x_obs, x_int, graph="gies", marginals="gaussian")
    gaussian.save(tmp_path / "gaussian.pt")
    back = ContrastiveCausalDisentanglement.load(tmp_path / "gaussian.pt")
    np.testing.assert_array_equal(back.marginals, gaussian.marginals)
    np.testing.assert_array_equal(back.counterfactual_latents(z, setting), gaussian.counterfactual_latents(z, setting))


def test_a_named_graph_is_matched_by_name(identity_setting):
    model, x_obs, x_int, fit = identity_setting
    truth = (model.weights != 0).astype(int)
    edges = [(f"z{j}", f"z{i}") for j, i in zip(*np.nonzero(truth))]
    shuffled = CausalGraph(edges, nodes=["z4", "z2", "z0", "z3", "z1"])
    refit = fit.refit_mechanisms(x_obs, x_int, graph=shuffled)
    np.testing.assert_array_equal(refit.graph().adjacency, truth)
    assert refit.info["mechanisms"]["graph"] == "given"


def test_bad_input_is_named(identity_setting):
    _, x_obs, x_int, fit = identity_setting
    with pytest.raises(ValueError, match="'graph'.*'fit', 'gies'"):
        fit.refit_mechanisms(x_obs, x_int, graph="pc")
    with pytest.raises(ValueError, match="4 contexts for the fit's 5 latents"):
        fit.refit_mechanisms(x_obs, x_int[:4])
    wider = [np.hstack([x, np.zeros((len(x), 1))]) for x in [x_obs, *x_int]]
    with pytest.raises(ValueError, match=r"rows of shape \(6,\); the model was fitted on rows of shape \(5,\)"):
        fit.refit_mechanisms(wider[0], wider[1:])
    cycle = np.zeros((5, 5), dtype=int)
    cycle[0, 1] = cycle[1, 2] = cycle[2, 0] = 1
    with pytest.raises(ValueError, match="cycle z0 -> z1 -> z2 -> z0"):
        fit.refit_mechanisms(x_obs, x_int, graph=cycle)
    both = np.zeros((5, 5), dtype=int)
    both[3, 4] = both[4, 3] = 1
    with pytest.raises(ValueError, match="both z3 -> z4 and z4 -> z3"):
        fit.refit_mechanisms(x_obs, x_int, graph=both)
    with pytest.raises(ValueError, match=r"shape \(4, 4\)"):
        fit.refit_mechanisms(x_obs, x_int, graph=np.zeros((4, 4)))
    with pytest.raises(ValueError, match="0 and 1"):
        fit.refit_mechanisms(x_obs, x_int, graph=np.full((5, 5), 0.5))
    with pytest.raises(ValueError, match="nodes .*'a'"):
        fit.refit_mechanisms(x_obs, x_int, graph=CausalGraph([("a", "b")], nodes=["a", "b", "c", "d", "e"]))


def test_graph_method_and_command_line_take_the_mechanisms():
    """``contrastive_causal_disentanglement_graph(mechanisms=...)`` and ``latentscm discover --method contrastive-lcd
    --param mechanisms=gies`` give the refitted graph and weights of the same fit; an unknown choice is named."""
    from latentscm.cli.discover import run_discovery
    from latentscm.discovery import contrastive_causal_disentanglement_graph

    model = simulate_interventional_latents(3, p=8, degree=2, hidden=64, layers=2, seed=1)
    x_obs, x_int, _, _ = model.sample(400, seed=1)
    data = np.vstack([np.c_[x, np.full(len(x), k)] for k, x in enumerate([x_obs, *x_int])])
    names = [f"x{j}" for j in range(8)] + ["env"]
    settings = {"observational": 0, "epochs": 3, "hidden": [16]}
    fit = contrastive_causal_disentanglement(x_obs, x_int, epochs=3, hidden=[16], node_names=["1", "2", "3"])
    for mechanisms, graph in (("refit", "fit"), ("gies", "gies")):
        expected = fit.refit_mechanisms(x_obs, x_int, graph=graph)
        found = contrastive_causal_disentanglement_graph(data[:, :8], data[:, 8], mechanisms=mechanisms, **settings)
        np.testing.assert_allclose(found.info["weights"], expected.weights, atol=1e-10)
        np.testing.assert_array_equal(found.adjacency, expected.graph().adjacency)
        assert found.info["mechanisms"]["graph"] == graph
    command = run_discovery(data, names, method="contrastive-lcd", ci=None, alpha=0.05, context=None,
                            environment="env", params={**settings, "mechanisms": "gies"})
    np.testing.assert_allclose(command.info["weights"], found.info["weights"], atol=1e-10)
    plain = contrastive_causal_disentanglement_graph(data[:, :8], data[:, 8], **settings)
    np.testing.assert_allclose(plain.info["weights"], fit.weights, atol=1e-10)
    assert "mechanisms" not in plain.info
    command = run_discovery(data, names, method="contrastive-lcd", ci=None, alpha=0.05, context=None,
                            environment="env", params={**settings, "mechanisms": "gies", "marginals": "gaussian"})
    expected = fit.refit_mechanisms(x_obs, x_int, graph="gies", marginals="gaussian")
    np.testing.assert_allclose(command.info["weights"], expected.weights, atol=1e-10)
    assert command.info["mechanisms"]["marginals"] == "gaussian"
    np.testing.assert_array_equal(command.info["marginal_knots"], expected.marginals)  # the weights' scale
    assert command.info["marginal_levels"].shape == (expected.marginals.shape[1],)
    with pytest.raises(ValueError, match="'marginals'.*mechanisms='refit' or 'gies'"):
        contrastive_causal_disentanglement_graph(data[:, :8], data[:, 8], marginals="gaussian", **settings)
    with pytest.raises(ValueError, match="'mechanisms'.*'contrastive', 'refit', 'gies'"):
        contrastive_causal_disentanglement_graph(data[:, :8], data[:, 8], mechanisms="ols", **settings)


class _Curved(torch.nn.Module):
    """An encoder that returns each input bent by an increasing map (z + z^3 / 3): right up to a monotone
    distortion per latent, the way a trained encoder is wrong on the balls images."""

    def forward(self, x):
        return x + x ** 3 / 3


def test_gaussian_marginals_undo_a_monotone_distortion_of_each_latent(identity_setting):
    """With an encoder bent per latent, least squares on the reported latents misses the weights and its latent
    counterfactuals miss the truth; on the Gaussianised latents the weights are the standardised true ones again
    and the counterfactuals, mapped back, match the true counterfactuals bent the same way."""
    model, x_obs, x_int, straight = identity_setting
    z_obs = x_obs  # the identity mixing
    bent = _Curved()(torch.as_tensor(z_obs)).numpy()
    fit = replace(straight, encoder=_Curved(), latent_mean=bent.mean(0), latent_scale=bent.std(0))
    truth = (model.weights != 0).astype(int)
    expected = model.weights * z_obs.std(0)[:, None] / z_obs.std(0)[None, :]
    linear = fit.refit_mechanisms(x_obs, x_int, graph=truth)
    gaussian = fit.refit_mechanisms(x_obs, x_int, graph=truth, marginals="gaussian")
    assert np.abs(linear.weights - expected).max() > 0.1
    np.testing.assert_allclose(gaussian.weights, expected, atol=0.04)
    assert gaussian.info["mechanisms"]["marginals"] == "gaussian" and gaussian.marginals.shape == (5, 201)
    # counterfactuals: do(cause = its 80th percentile) on fresh rows, against the exact ones bent by the encoder
    x_new, _, z_new, _ = model.sample(3000, seed=11)
    cause = int(np.argmax(truth.sum(1)))
    value = float(np.quantile(z_obs[:, cause], 0.8))
    noise = z_new - z_new @ model.weights
    exact = z_new.copy()
    for _ in range(5):
        exact = np.where(np.arange(5) == cause, value, exact @ model.weights + noise)
    reported_exact = fit.encode(exact)  # the encoder is the bent identity: exact counterfactual, reported scale
    setting = {fit.nodes[cause]: float(fit.encode(np.full((1, 5), value))[0, cause])}
    u = fit.encode(x_new)
    error = {name: np.abs(f.counterfactual_latents(u, setting) - reported_exact).mean()
             for name, f in (("linear", linear), ("gaussian", gaussian))}
    assert error["gaussian"] < 0.03 < error["linear"]


def test_mechanism_scale_is_an_exact_bijection_beyond_the_knots_too(identity_setting):
    _, x_obs, x_int, fit = identity_setting
    gaussian = fit.refit_mechanisms(x_obs, x_int, marginals="gaussian")
    z = np.random.default_rng(3).normal(size=(500, 5)) * 3  # many beyond the outer quantiles
    scaled = gaussian.mechanism_scale(z)
    np.testing.assert_allclose(gaussian.mechanism_scale(scaled, inverse=True), z, atol=1e-9)
    assert (np.diff(scaled[np.argsort(z[:, 0]), 0]) > 0).all()  # increasing
    obs = gaussian.mechanism_scale(fit.encode(x_obs))
    np.testing.assert_allclose(obs.mean(0), 0, atol=0.02)
    np.testing.assert_allclose(obs.std(0), 1, atol=0.02)
    np.testing.assert_array_equal(fit.mechanism_scale(z), z)  # no marginals: the identity
    assert fit.refit_mechanisms(x_obs, x_int, graph="fit").marginals is None
    with pytest.raises(ValueError, match="'marginals'.*'linear', 'gaussian'"):
        fit.refit_mechanisms(x_obs, x_int, marginals="uniform")
    with pytest.raises(ValueError, match="at least 110 observational rows; got 100"):
        fit.refit_mechanisms(x_obs[:100], x_int, marginals="gaussian")
    with pytest.raises(ValueError, match="4 columns"):
        gaussian.mechanism_scale(z[:, :4])
