"""ContrastiveCausalDisentanglement.refit_mechanisms: the latent SCM refitted by least squares on the encoded contexts
(the fitted graph's edges, GIES with the known targets, or a given DAG)."""

import numpy as np
import pytest
import torch

from latentscm.discovery import ContrastiveCausalDisentanglement, contrastive_causal_disentanglement
from latentscm.discovery.contrastive_causal_disentanglement import GaussianInterventionLogOdds
from latentscm.graph import CausalGraph
from latentscm.testing.interventional_latents import simulate_interventional_latents


def _identity_fit(model, z_obs, threshold=0.1):
    """A fit whose encoder is the identity: its reported latents are the true ones standardised on ``z_obs``."""
    d = model.d
    return ContrastiveCausalDisentanglement(
        nodes=tuple(f"z{i}" for i in range(d)), weights=np.zeros((d, d)), noise_scales=np.ones(d),
        encoder=torch.nn.Identity(), log_odds_model=GaussianInterventionLogOdds(d), input_mean=np.zeros(d),
        input_scale=np.ones(d), latent_mean=z_obs.mean(0), latent_scale=z_obs.std(0),
        info={"edge_threshold": threshold, "input_shape": [d]})


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
    assert back.info["mechanisms"] == refit.info["mechanisms"]


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
    with pytest.raises(ValueError, match="'mechanisms'.*'contrastive', 'refit', 'gies'"):
        contrastive_causal_disentanglement_graph(data[:, :8], data[:, 8], mechanisms="ols", **settings)
