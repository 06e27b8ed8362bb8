"""Contrastive causal disentanglement (Buchholz et al. 2023): the log-odds form, recovery under a nonlinear mixing,
the reported scale, the graph, latent counterfactuals, saving, the command line and bad input."""

import math

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.stats import multivariate_normal

from latentscm.cli.discover import run_discovery
from latentscm.discovery import (
    ContrastiveCausalDisentanglement,
    contrastive_causal_disentanglement,
    contrastive_causal_disentanglement_by_environment,
    contrastive_causal_disentanglement_graph,
)
from latentscm.discovery.codes import METHODS
from latentscm.discovery.contrastive_causal_disentanglement import GaussianInterventionLogOdds
from latentscm.scm.mechanisms import AdditiveNoise, Root
from latentscm.scm.noise import Normal
from latentscm.testing.interventional_latents import simulate_interventional_latents
from latentscm.training.checkpoint import CheckpointError
from latentscm.worlds import make
from latentscm.worlds.regimes import OBSERVATIONAL, Regime

SMALL = {"hidden": (64,), "epochs": 150}


def _model(seed: int, d: int = 3, p: int = 8):
    return simulate_interventional_latents(d, p=p, degree=2, hidden=64, layers=2, seed=seed)


def _context_distribution(model, k):
    """The exact Gaussian of the latents in the observational context (k None) or context k."""
    d = model.d
    weights, mean, variances = model.weights.copy(), np.zeros(d), model.noise_variances.copy()
    if k is not None:
        weights[:, k] = 0.0
        mean[k] = model.intervention_means[k]
        variances[k] = model.intervention_variances[k]
    inverse = np.linalg.inv(np.eye(d) - weights)
    return multivariate_normal(mean @ inverse, inverse.T @ np.diag(variances) @ inverse)


def test_log_odds_form_is_the_exact_gaussian_density_ratio():
    """With the true SCM's parameters the module's log-odds equal log q_k(z) - log q_0(z) for every context (the
    factor 1/2 in s and lambda, the signs and the constant); a wrong sign of either quadratic term breaks it."""
    model = simulate_interventional_latents(4, p=4, mixing="identity", degree=3, seed=3)
    sigma, tau, mu = np.sqrt(model.noise_variances), np.sqrt(model.intervention_variances), model.intervention_means
    odds = GaussianInterventionLogOdds(4).double()
    with torch.no_grad():
        odds.weights.copy_(torch.as_tensor(model.weights.T))
        odds.precision_root.copy_(torch.as_tensor(1 / (math.sqrt(2) * sigma)))
        odds.intervened_precision_root.copy_(torch.as_tensor(1 / (math.sqrt(2) * tau)))
        odds.linear.copy_(torch.as_tensor(mu / tau ** 2))
        odds.constant.copy_(torch.as_tensor(-mu ** 2 / (2 * tau ** 2) + np.log(sigma / tau)))
    z = np.random.default_rng(0).normal(size=(200, 4)) * 2
    observational = _context_distribution(model, None).logpdf(z)
    expected = np.stack([_context_distribution(model, k).logpdf(z) - observational for k in range(4)], axis=1)
    got = odds.all_contexts(torch.as_tensor(z)).detach().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-9)
    for k in range(4):  # the per-context forward agrees with all_contexts
        picked = odds(torch.as_tensor(z), torch.full((200,), k)).detach().numpy()
        np.testing.assert_allclose(picked, got[:, k], atol=1e-12)
    with torch.no_grad():
        odds.precision_root.neg_()  # the sign of s does not matter (it is squared) ...
    np.testing.assert_allclose(odds.all_contexts(torch.as_tensor(z)).detach().numpy(), expected, atol=1e-9)
    with torch.no_grad():
        odds.weights.mul_(-1)  # ... the sign of the weights does
    assert np.abs(odds.all_contexts(torch.as_tensor(z)).detach().numpy() - expected).max() > 0.1


def _recovery(fit, model, seed):
    x, _, z, _ = model.sample(2000, seed=seed)
    correlation = np.corrcoef(fit.encode(x).T, z.T)[:model.d, model.d:]
    return correlation


@pytest.mark.parametrize("seed", range(4))
def test_recovers_the_latents_under_an_mlp_mixing_matched_to_their_contexts(seed):
    """Each fitted latent correlates with the latent its context intervened on (no matching needed: the largest
    correlation of every row is on the diagonal), far better than PCA of the observations does."""
    model = _model(seed)
    x_obs, x_int, _, _ = model.sample(2000, seed=seed + 10)
    fit = contrastive_causal_disentanglement(x_obs, x_int, seed=0, **SMALL)
    correlation = np.abs(_recovery(fit, model, seed + 20))
    assert (correlation.argmax(axis=1) == np.arange(3)).all()
    assert np.diag(correlation).mean() > 0.85
    x, _, z, _ = model.sample(2000, seed=seed + 20)
    components = np.linalg.svd(x - x.mean(0), full_matrices=False)[2][:3]
    pca = np.abs(np.corrcoef((x @ components.T).T, z.T)[:3, 3:])
    rows, cols = linear_sum_assignment(-pca)
    assert pca[rows, cols].mean() < np.diag(correlation).mean() - 0.15


def test_reported_scale_sign_and_noise_scales():
    """Latents have mean 0 and variance 1 on the observational training rows, each context raises its own latent's
    mean (the sign convention), and the noise scales are near the true ones in those units."""
    model = _model(0)
    x_obs, x_int, z_obs, _ = model.sample(2000, seed=5)
    fit = contrastive_causal_disentanglement(x_obs, x_int, seed=0, **SMALL)
    u = fit.encode(x_obs)
    assert np.abs(u.mean(0)).max() < 0.1 and np.abs(u.std(0) - 1).max() < 0.1
    for k, rows in enumerate(x_int):
        assert fit.encode(rows)[:, k].mean() > 0
    true = np.sqrt(model.noise_variances) / z_obs.std(0)
    assert true.min() < 0.8  # a latent with parents: its noise is a part of its spread
    np.testing.assert_allclose(fit.noise_scales, true, rtol=0.2)


def test_fit_recovers_a_strong_edge_with_its_sign():
    """A chain z0 -> z1 with weight 1 (identity mixing): the fitted weight has the true sign (the latents' own signs
    taken into account) and a size near the true standardised weight; the reverse weight is small."""
    model = simulate_interventional_latents(2, p=2, mixing="identity", degree=1, weight_range=(1, 1), seed=1)
    cause, effect = (0, 1) if model.weights[0, 1] != 0 else (1, 0)
    x_obs, x_int, z_obs, _ = model.sample(5000, seed=2)
    fit = contrastive_causal_disentanglement(x_obs, x_int, seed=0, hidden=(32,), epochs=60)
    signs = np.sign(np.diag(np.corrcoef(fit.encode(x_obs).T, z_obs.T)[:2, 2:]))
    spread = z_obs.std(0)
    true = model.weights[cause, effect] * spread[cause] / spread[effect]
    got = fit.weights[cause, effect] * signs[cause] * signs[effect]
    assert np.sign(got) == np.sign(true) and abs(got - true) < 0.35 * abs(true)
    assert abs(fit.weights[effect, cause]) < 0.5 * abs(got)
    assert fit.graph().adjacency[cause, effect] == 1


def test_same_seed_same_fit_and_other_seed_other_fit():
    model = _model(1)
    x_obs, x_int, _, _ = model.sample(500, seed=3)
    a = contrastive_causal_disentanglement(x_obs, x_int, seed=4, hidden=(16,), epochs=3)
    b = contrastive_causal_disentanglement(x_obs, x_int, seed=4, hidden=(16,), epochs=3)
    c = contrastive_causal_disentanglement(x_obs, x_int, seed=5, hidden=(16,), epochs=3)
    np.testing.assert_array_equal(a.encode(x_obs), b.encode(x_obs))
    assert not np.allclose(a.encode(x_obs), c.encode(x_obs))


def _fit_with_weights(weights, threshold=0.1):
    d = weights.shape[0]
    encoder = torch.nn.Identity()
    return ContrastiveCausalDisentanglement(
        nodes=tuple(f"z{i}" for i in range(d)), weights=np.asarray(weights, dtype=float), noise_scales=np.ones(d),
        encoder=encoder, log_odds_model=GaussianInterventionLogOdds(d), input_mean=np.zeros(d),
        input_scale=np.ones(d), latent_mean=np.zeros(d), latent_scale=np.ones(d),
        info={"edge_threshold": threshold})


def test_graph_drops_the_weakest_edge_of_each_cycle_only():
    """0 -> 1 -> 2 -> 0 (the last edge weakest) and 3 -> 1 weaker still but on no cycle: the cycle loses its weakest
    edge and nothing else (a threshold raised until the graph is acyclic would also drop 3 -> 1)."""
    weights = np.zeros((4, 4))
    weights[0, 1], weights[1, 2], weights[2, 0], weights[3, 1] = 0.8, -0.5, 0.3, 0.2
    graph = _fit_with_weights(weights).graph()
    expected = np.zeros((4, 4), dtype=int)
    expected[0, 1] = expected[1, 2] = expected[3, 1] = 1
    np.testing.assert_array_equal(graph.adjacency, expected)
    assert graph.info["dropped"] == [("z2", "z0")] and graph.info["edge_threshold"] == 0.1
    assert graph.info["order"] == ["z0", "z3", "z1", "z2"]
    assert _fit_with_weights(weights).graph(threshold=0.6).adjacency.sum() == 1
    two_cycles = np.array([[0, 0.5, 0.4], [0.45, 0, 0.9], [0, 0.2, 0]])  # 0 <-> 1 and 1 <-> 2
    graph = _fit_with_weights(two_cycles).graph()
    assert sorted(graph.info["dropped"]) == [("z1", "z0"), ("z2", "z1")]  # each 2-cycle's weaker direction
    assert graph.directed_edges == [("z0", "z1"), ("z0", "z2"), ("z1", "z2")]


def test_counterfactual_latents_keep_the_noise_and_recompute_descendants():
    weights = np.array([[0, 0.5, 0], [0, 0, -2.0], [0, 0, 0]])  # z0 -> z1 -> z2
    fit = _fit_with_weights(weights)
    z = np.array([[1.0, 2.0, 3.0]])
    new = fit.counterfactual_latents(z, {"z1": 0.0})
    # z2's noise: 3 - (-2 * 2) = 7; after do(z1 = 0): z2 = 7
    np.testing.assert_allclose(new, [[1.0, 0.0, 7.0]])
    new = fit.counterfactual_latents(z, {"z0": 3.0})
    # z1 = 0.5 * 3 + (2 - 0.5) = 3; z2 = -2 * 3 + 7 = 1
    np.testing.assert_allclose(new, [[3.0, 3.0, 1.0]])
    with pytest.raises(ValueError, match="'zz'"):
        fit.counterfactual_latents(z, {"zz": 1.0})
    with pytest.raises(ValueError, match="2 columns"):
        fit.counterfactual_latents(z[:, :2], {"z0": 1.0})


def test_decoder_is_fitted_afterwards_saved_and_needed(tmp_path):
    """decode / counterfactual refuse a fit without a decoder; fit_decoder's bad settings are named; a fit with a
    decoder round-trips through save / load; with no intervention effect (do(z) = z's own value on a root) the
    counterfactual returns x itself."""
    model = _model(1)
    x_obs, x_int, _, _ = model.sample(600, seed=3)
    fit = contrastive_causal_disentanglement(x_obs, x_int, seed=0, hidden=(16,), epochs=3)
    with pytest.raises(TypeError, match="fit_decoder"):
        fit.decode(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="fit_decoder"):
        fit.counterfactual(x_obs, {"z0": 0.0})
    with pytest.raises(ValueError, match="'epochs'"):
        fit.fit_decoder(x_obs, epochs=0)
    with pytest.raises(ValueError, match="too few"):
        fit.fit_decoder(x_obs[:1])
    decoded = fit.fit_decoder(x_obs, hidden=(32,), epochs=20, seed=1)
    assert decoded.decode(fit.encode(x_obs)).shape == x_obs.shape
    with pytest.raises(ValueError, match="columns"):
        decoded.decode(np.zeros((2, 2)))
    roots = [k for k in range(3) if not decoded.graph().adjacency[:, k].any()]
    z = decoded.encode(x_obs[:5])
    same = decoded.counterfactual(x_obs[:5], {decoded.nodes[roots[0]]: float(z[0, roots[0]])})
    np.testing.assert_allclose(same[0], x_obs[0], atol=1e-5)
    path = tmp_path / "fit.ckpt"
    decoded.save(path)
    back = ContrastiveCausalDisentanglement.load(path)
    np.testing.assert_array_equal(back.decode(z), decoded.decode(z))
    np.testing.assert_array_equal(back.counterfactual(x_obs[:5], {"z1": 0.5}),
                                  decoded.counterfactual(x_obs[:5], {"z1": 0.5}))


def test_save_load_round_trip_and_damage_detected(tmp_path):
    model = _model(2)
    x_obs, x_int, _, _ = model.sample(400, seed=3)
    fit = contrastive_causal_disentanglement(x_obs, x_int, seed=0, hidden=(16, 8), epochs=2, node_names=["a", "b", "c"])
    path = tmp_path / "fit.ckpt"
    fit.save(path)
    back = ContrastiveCausalDisentanglement.load(path)
    np.testing.assert_array_equal(back.encode(x_obs), fit.encode(x_obs))
    np.testing.assert_array_equal(back.log_odds(x_obs), fit.log_odds(x_obs))
    np.testing.assert_array_equal(back.weights, fit.weights)
    assert back.nodes == ("a", "b", "c") and back.info["hidden"] == [16, 8]
    assert back.info["history"] == fit.info["history"] and back.decoder is None
    data = bytearray(path.read_bytes())
    data[-40] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt"):
        ContrastiveCausalDisentanglement.load(path)
    path.write_bytes(bytes(data[:100]))
    with pytest.raises(CheckpointError):
        ContrastiveCausalDisentanglement.load(path)


def test_by_environment_names_latents_after_labels_and_graph_method_is_registered():
    model = _model(0)
    x_obs, x_int, _, _ = model.sample(300, seed=1)
    data = np.vstack([x_obs, *x_int])
    labels = ["obs"] * 300 + ["light"] * 300 + ["shadow"] * 300 + ["angle"] * 300
    fit = contrastive_causal_disentanglement_by_environment(data, labels, observational="obs", seed=0,
                                                            hidden=(16,), epochs=2)
    assert fit.nodes == ("angle", "light", "shadow")  # text labels in text order
    direct = contrastive_causal_disentanglement(x_obs, [x_int[2], x_int[0], x_int[1]], seed=0, hidden=(16,),
                                                epochs=2)
    assert np.allclose(np.sort(np.abs(fit.encode(x_obs).std(0))), np.sort(np.abs(direct.encode(x_obs).std(0))))
    assert METHODS["contrastive-lcd"] is contrastive_causal_disentanglement_graph
    graph = contrastive_causal_disentanglement_graph(data, labels, observational="obs", seed=0, hidden=(16,),
                                                     epochs=2, node_names=[f"p{j}" for j in range(8)])
    assert graph.nodes == ("angle", "light", "shadow") and graph.info["observed"][0] == "p0"
    assert graph.info["weights"].shape == (3, 3)
    with pytest.raises(ValueError, match="node_names"):
        contrastive_causal_disentanglement_by_environment(data, labels, observational="obs", node_names=["a"])


def test_command_line_dispatch_and_params():
    model = _model(1)
    x_obs, x_int, _, _ = model.sample(300, seed=1)
    data = np.vstack([np.c_[x, np.full(len(x), k)] for k, x in enumerate([x_obs, *x_int])])
    names = [f"x{j}" for j in range(8)] + ["env"]
    graph = run_discovery(data, names, method="contrastive-lcd", ci=None, alpha=0.05, context=None,
                          environment="env", params={"epochs": 2, "hidden": [16], "observational": 0})
    library = contrastive_causal_disentanglement_graph(data[:, :8], data[:, 8], observational=0, epochs=2,
                                                       hidden=[16], node_names=names[:8])
    assert graph.nodes == ("1", "2", "3")
    np.testing.assert_array_equal(graph.info["weights"], library.info["weights"])
    with pytest.raises(ValueError, match="epoch"):
        run_discovery(data, names, method="contrastive-lcd", ci=None, alpha=0.05, context=None, environment="env",
                      params={"epoch": 2, "observational": 0})


@pytest.mark.parametrize("kwargs, error, match", [
    ({"epochs": 0}, ValueError, "'epochs'"),
    ({"hidden": (0,)}, ValueError, "'hidden'"),
    ({"hidden": 5}, TypeError, "'hidden'"),
    ({"validation": 1.0}, ValueError, "'validation'"),
    ({"learning_rate": 0}, ValueError, "'learning_rate'"),
    ({"standardize": "yes"}, TypeError, "'standardize'"),
    ({"device": "gpu7"}, ValueError, "'device'"),
    ({"node_names": ["a"]}, ValueError, "node_names"),
])
def test_bad_settings_are_named(kwargs, error, match):
    rng = np.random.default_rng(0)
    with pytest.raises(error, match=match):
        contrastive_causal_disentanglement(rng.normal(size=(50, 4)), [rng.normal(size=(50, 4))] * 2, **kwargs)


def test_bad_data_is_named():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(50, 4))
    with pytest.raises(ValueError, match="interventional\\[1\\]"):
        contrastive_causal_disentanglement(obs, [rng.normal(size=(50, 4)), rng.normal(size=(50, 3))])
    with pytest.raises(ValueError, match="interventional\\[0\\]"):
        contrastive_causal_disentanglement(obs.reshape(50, 2, 2), [rng.normal(size=(50, 4))])
    with pytest.raises(ValueError, match="observational"):
        contrastive_causal_disentanglement(rng.normal(size=50), [rng.normal(size=(50, 1))])
    with pytest.raises(ValueError, match="empty"):
        contrastive_causal_disentanglement(obs, [])
    with pytest.raises(ValueError, match="too few"):
        contrastive_causal_disentanglement(obs, [rng.normal(size=(2, 4))], validation=0.2)
    with pytest.raises(ValueError, match="observational"):
        contrastive_causal_disentanglement_by_environment(obs, ["a"] * 50, observational="b")
    fit = _fit_with_weights(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        fit.encode(np.zeros((4, 3)))



def test_on_a_world_with_regimes_against_its_exact_counterfactuals():
    """A nonlinear-ICA world whose latents are a linear Gaussian SCM (z0 -> z1 -> z2, z0 -> z2), one regime per
    latent replacing its mechanism: the fit's latents follow the world's factors, and its latent counterfactual of
    do(z1) moves z2 closer to the world's exact counterfactual than leaving the data unchanged does."""
    def cut(parents):
        return np.zeros(len(parents))

    world = make("nonlinear-ica", latents=3, mixing_layers=3, graph="z0 -> z1; z1 -> z2; z0 -> z2",
                 mechanisms={"z0": Root(Normal(0, 0.25)),
                             "z1": AdditiveNoise(lambda p: 0.8 * p[:, 0], Normal(0, 0.2)),
                             "z2": AdditiveNoise(lambda p: 0.5 * p[:, 0] - 0.6 * p[:, 1], Normal(0, 0.2))})
    regimes = [OBSERVATIONAL, Regime("do z0", mechanisms={"z0": Root(Normal(0.3, 0.2))}),
               Regime("do z1", mechanisms={"z1": AdditiveNoise(cut, Normal(-0.3, 0.2))}),
               Regime("do z2", mechanisms={"z2": AdditiveNoise(cut, Normal(0.3, 0.2))})]
    x = [world.sample(5000, seed=i, regime=r).images for i, r in enumerate(regimes)]  # (5000, 3, 1, 1) each
    fit = contrastive_causal_disentanglement(x[0], x[1:], node_names=["z0", "z1", "z2"], epochs=150, hidden=(64,))
    test = world.sample(3000, seed=99)
    u = fit.encode(test.images)
    assert fit.info["input_shape"] == [3, 1, 1]
    with pytest.raises(ValueError, match="shape"):
        fit.encode(test.images.reshape(3000, 3))
    assert np.abs(np.diag(np.corrcoef(u.T, test.factors.T)[:3, 3:])).min() > 0.8
    maps = [np.polyfit(test.factors[:, k], u[:, k], 1) for k in range(3)]  # fitted latent ~ a z + b
    truth = world.counterfactual(test, {"z1": 0.4}).factors
    predicted = fit.counterfactual_latents(u, {"z1": float(np.polyval(maps[1], 0.4))})
    z2 = (predicted[:, 2] - maps[2][1]) / maps[2][0]
    assert np.abs(z2 - truth[:, 2]).mean() < 0.75 * np.abs(test.factors[:, 2] - truth[:, 2]).mean()
    # counterfactual observations through a decoder fitted afterwards, against the world's exact images
    decoded = fit.fit_decoder(x[0], hidden=(64,), epochs=100)
    assert decoded.info["decoder"]["hidden"] == [64] and fit.decoder is None  # a new fit; this one unchanged
    images = decoded.counterfactual(test.images, {"z1": float(np.polyval(maps[1], 0.4))})
    exact = world.counterfactual(test, {"z1": 0.4}).images
    assert images.shape == test.images.shape
    assert np.abs(images - exact).mean() < 0.75 * np.abs(test.images - exact).mean()
