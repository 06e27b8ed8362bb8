"""latentscm.testing.simulate_interventional_latents: the latent SCM, its perfect interventions, the mixing."""

import numpy as np
import pytest
import torch

from latentscm.testing import simulate_interventional_latents


def test_observational_covariance_is_the_scms():
    model = simulate_interventional_latents(4, p=4, mixing="identity", degree=3, seed=0)
    assert np.count_nonzero(model.weights) >= 2
    z = model.sample_latents(200_000, None, seed=1)
    inverse = np.linalg.inv(np.eye(4) - model.weights)  # z = eps (I - W)^-1 for rows
    expected = inverse.T @ np.diag(model.noise_variances) @ inverse
    np.testing.assert_allclose(np.cov(z, rowvar=False), expected, rtol=0.03, atol=0.03)
    np.testing.assert_allclose(z.mean(0), 0, atol=0.03)


def test_weights_form_a_dag_in_the_stated_ranges():
    model = simulate_interventional_latents(8, degree=3, seed=2)
    w = model.weights
    assert np.allclose(np.linalg.matrix_power((w != 0).astype(float), 8), 0)  # a DAG: nilpotent adjacency
    nonzero = np.abs(w[w != 0])
    assert nonzero.min() >= 0.25 and nonzero.max() <= 1.0
    assert 1.0 <= model.noise_variances.min() and model.noise_variances.max() <= 2.0
    assert 1.0 <= np.abs(model.intervention_means).min() and np.abs(model.intervention_means).max() <= 2.0


def test_an_intervention_cuts_the_parents_and_sets_mean_and_variance():
    model = simulate_interventional_latents(3, p=3, mixing="identity", degree=2, weight_range=(1, 1), seed=4)
    child = int(np.flatnonzero((model.weights != 0).any(0))[0])
    parent = int(np.flatnonzero(model.weights[:, child])[0])
    z = model.sample_latents(100_000, child, seed=5)
    assert abs(np.corrcoef(z[:, parent], z[:, child])[0, 1]) < 0.02
    assert abs(z[:, child].mean() - model.intervention_means[child]) < 0.02
    assert abs(z[:, child].var() - model.intervention_variances[child]) < 0.05 * model.intervention_variances[child]
    z_obs = model.sample_latents(100_000, None, seed=5)
    assert abs(np.corrcoef(z_obs[:, parent], z_obs[:, child])[0, 1]) > 0.3


def test_mlp_mixing_matches_torch_layers_and_is_seeded():
    model = simulate_interventional_latents(3, p=7, hidden=16, layers=2, seed=6)
    assert [w.shape for w, _ in model.layers] == [(16, 3), (16, 16), (7, 16)]
    z = np.random.default_rng(0).normal(size=(10, 3))
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 16),
                              torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 7)).double()
    with torch.no_grad():
        for layer, (w, b) in zip([net[0], net[2], net[4]], model.layers):
            layer.weight.copy_(torch.as_tensor(w))
            layer.bias.copy_(torch.as_tensor(b))
    np.testing.assert_allclose(model.mix(z), net(torch.as_tensor(z)).detach().numpy(), atol=1e-12)
    x_obs, x_int, z_obs, z_int = model.sample(50, seed=1)
    again = simulate_interventional_latents(3, p=7, hidden=16, layers=2, seed=6).sample(50, seed=1)
    np.testing.assert_array_equal(x_obs, again[0])
    assert len(x_int) == 3 and x_int[0].shape == (50, 7) and z_int[2].shape == (50, 3)
    np.testing.assert_allclose(model.mix(z_obs), x_obs)


@pytest.mark.parametrize("kwargs, match", [
    ({"mixing": "identity", "p": 5}, "p == d"),
    ({"mixing": "tanh"}, "'mixing'"),
    ({"weight_range": (1, 0.5)}, "weight_range"),
    ({"noise_variance_range": (0, 1)}, "noise_variance_range"),
    ({"p": 2}, "'p'"),
])
def test_bad_options_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_interventional_latents(3, **kwargs)
    with pytest.raises(ValueError, match="'context'"):
        simulate_interventional_latents(3).sample_latents(5, 3, seed=0)


def test_world_structure_gives_a_world_the_same_latent_model_scaled_and_shifted():
    """A world built from ``world_structure`` samples ``offset + scale * z``: the observational mean and covariance and
    every context's intervened latent match the model's, and the graph is the weights' support."""
    from latentscm.worlds import make

    model = simulate_interventional_latents(3, p=3, mixing="identity", degree=2, seed=3)
    names = ["z0", "z1", "z2"]
    offset, scale = np.array([0.1, -0.2, 0.3]), 0.12
    structure = model.world_structure(names, scale=scale, offset=offset)
    assert sorted(structure.graph.edges) == sorted((names[j], names[i]) for j, i in zip(*np.nonzero(model.weights)))
    assert [r.name for r in structure.regimes] == ["observational", "do(z0)", "do(z1)", "do(z2)"]
    world = make("nonlinear-ica", latents=3, graph=structure.graph, mechanisms=structure.mechanisms)
    factors = world.sample(100_000, seed=0).factors
    assert (np.abs(factors) < 1).mean() > 0.999  # the world's range [-1, 1] clips almost nothing
    inverse = np.linalg.inv(np.eye(3) - model.weights)
    expected = scale ** 2 * inverse.T @ np.diag(model.noise_variances) @ inverse
    np.testing.assert_allclose(np.cov(factors, rowvar=False), expected, rtol=0.05, atol=2e-3)
    np.testing.assert_allclose(factors.mean(0), offset, atol=0.01)
    for k in range(3):
        z = world.sample(100_000, seed=k + 1, regime=structure.regimes[k + 1]).factors
        reference = offset + scale * model.sample_latents(100_000, k, seed=k + 1)
        np.testing.assert_allclose(z.mean(0), reference.mean(0), atol=0.01)
        np.testing.assert_allclose(z.std(0), reference.std(0), rtol=0.03)
    with pytest.raises(ValueError, match="names"):
        model.world_structure(["a", "b"])
    with pytest.raises(ValueError, match="offset"):
        model.world_structure(names, offset=[0.0, 0.0])
    with pytest.raises(ValueError, match="scale"):
        model.world_structure(names, scale=0.0)
