"""CITRIS-VAE: the transition prior, the target classifier's groups, training on temporal transitions, and
CITRIS's R² matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from learners_support import TEMPORAL_TINY

from latentscm import worlds
from latentscm.learners.citris import CITRISVAE, TransitionPrior, normal_kl
from latentscm.learners.vae import BetaVAE as VAE
from latentscm.metrics.causal_variable_r2 import causal_variable_r2, group_r2_matrix, matched_assignment
from latentscm.worlds import TemporalWorld

TINY = TEMPORAL_TINY


@pytest.fixture(scope="module")
def temporal():
    return TemporalWorld(worlds.make("hue-sprites", size=16, n_positions=8, n_scales=4))


@pytest.fixture(scope="module")
def fitted(temporal):
    return CITRISVAE(steps=6, seed=0, **TINY).fit(temporal, n_samples=64, progress=False)


def test_normal_kl_matches_torch():
    mean, logstd = torch.randn(5), torch.randn(5) * 0.3
    prior_mean, prior_logstd = torch.randn(5), torch.randn(5) * 0.3
    expected = torch.distributions.kl_divergence(torch.distributions.Normal(mean, logstd.exp()),
                                                 torch.distributions.Normal(prior_mean, prior_logstd.exp()))
    torch.testing.assert_close(normal_kl(mean, logstd, prior_mean, prior_logstd), expected)


def test_prior_kl_is_the_kl_of_each_units_own_prior_when_psi_is_sure():
    torch.manual_seed(0)
    prior = TransitionPrior(units=4, n_variables=2, hidden=8, use_psi0=True)
    groups = torch.tensor([0, 1, 1, 2])  # units 0: variable 0; 1, 2: variable 1; 3: psi_0
    with torch.no_grad():
        prior.assignment_logits.copy_(torch.nn.functional.one_hot(groups, 3).float() * 60.0)
    z_t, mean, logstd = torch.randn(6, 4), torch.randn(6, 4), torch.randn(6, 4) * 0.2
    targets = torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1], [0, 0], [1, 0]], dtype=torch.float32)
    got = prior(z_t, targets, mean, logstd, 0.25)
    obs_mean, obs_logstd = prior.observational(z_t)
    expected = torch.zeros(6)
    for b in range(6):
        for j in range(4):
            g = int(groups[j])
            if g < 2 and targets[b, g] == 1:  # perfect intervention: the unit's learned Gaussian for that variable
                params = prior.intervened[j, g]
                kl = normal_kl(mean[b, j], logstd[b, j], params[0], 4.0 * torch.tanh(params[1] / 4.0))
            else:
                kl = normal_kl(mean[b, j], logstd[b, j], obs_mean[b, j], obs_logstd[b, j])
                if g == 2:
                    kl = kl * 0.75  # psi_0 discounted by 1 - lambda_reg
            expected[b] += kl
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_without_psi0_no_unit_can_join_it():
    prior = TransitionPrior(units=3, n_variables=2, hidden=4, use_psi0=False)
    probabilities = prior.probabilities()
    assert torch.all(probabilities[:, -1] == 0)
    torch.testing.assert_close(probabilities.sum(1), torch.ones(3))


def test_fit_builds_one_group_per_variable(fitted, temporal):
    assert fitted.variables_ == temporal.variables
    assert fitted.latent_dim_ == 8  # max(2 V, V + 2) for V = 4
    assignment = fitted.assignment_
    assert assignment.shape == (8,) and assignment.min() >= 0 and assignment.max() < 4  # no psi_0 at lambda_reg 0
    assert set(fitted.history_[-1]) >= {"recon", "kl", "loss_z", "classifier_loss", "own_target_accuracy"}
    units = np.concatenate([fitted.variable_units(v) for v in temporal.variables])
    assert sorted(units.tolist()) == list(range(8))
    np.testing.assert_array_equal(fitted.variable_units(1), fitted.variable_units("posX"))
    with pytest.raises(ValueError, match="'shape' is not a causal variable"):
        fitted.variable_units("shape")
    with pytest.raises(ValueError, match="variable"):
        fitted.variable_units(9)


def test_combine_takes_the_masked_variables_units_from_the_second_image(fitted, temporal):
    t = temporal.triplets(6, seed=0)
    a, b = fitted.encode(t.first), fitted.encode(t.second)
    none = fitted.combine(t.first, t.second, np.zeros((6, 4), bool))
    np.testing.assert_allclose(none, fitted.decode(a), atol=1e-6)
    every = fitted.combine(t.first, t.second, np.ones((6, 4), bool))
    np.testing.assert_allclose(every, fitted.decode(b), atol=1e-6)
    mixed = fitted.combine(t.first, t.second, t.mask)
    take = t.mask[:, fitted.assignment_]  # (N, M): each unit's variable masked?
    np.testing.assert_allclose(mixed, fitted.decode(np.where(take, b, a)), atol=1e-6)
    with pytest.raises(ValueError, match="mask"):
        fitted.combine(t.first, t.second, np.zeros((6, 3), bool))


def test_save_and_load_keep_the_variables_and_assignment(fitted, tmp_path):
    from latentscm import load

    fitted.save(str(tmp_path / "run"))
    loaded = load(str(tmp_path / "run"))
    assert loaded.variables_ == fitted.variables_
    np.testing.assert_array_equal(loaded.assignment_, fitted.assignment_)
    images = np.random.default_rng(0).random((3, 3, 16, 16)).astype(np.float32)
    np.testing.assert_array_equal(loaded.encode(images), fitted.encode(images))
    torch.testing.assert_close(loaded.classifier_.marginal, fitted.classifier_.marginal)


def test_classifier_marginal_is_the_training_target_frequency(temporal):
    learner = CITRISVAE(steps=1, seed=0, **TINY).fit(temporal, n_samples=98, progress=False)
    from latentscm.training.data import DATA_SEED_OFFSET

    _, _, targets, _ = temporal.transitions(98, seed=learner.seed + DATA_SEED_OFFSET)
    np.testing.assert_allclose(learner.classifier_.marginal.numpy(), targets.mean(0), atol=1e-6)


def test_resume_rebuilds_the_temporal_world_and_matches_one_run(temporal, tmp_path):
    from latentscm.training.resume import resume

    whole = CITRISVAE(steps=6, seed=1, **TINY).fit(temporal, n_samples=64, out=str(tmp_path / "whole"),
                                                   progress=False)
    CITRISVAE(steps=4, seed=1, **TINY).fit(temporal, n_samples=64, out=str(tmp_path / "part"), checkpoint_every=2,
                                           progress=False)
    resumed = resume(str(tmp_path / "part"), steps=6, progress=False)
    images = temporal.independent_frames(5, seed=0)[0]
    np.testing.assert_array_equal(resumed.encode(images), whole.encode(images))
    np.testing.assert_array_equal(resumed.assignment_, whole.assignment_)


def test_data_that_is_not_temporal_is_refused(temporal):
    with pytest.raises(ValueError, match="TemporalWorld"):
        CITRISVAE(steps=1, **TINY).fit(temporal.world, n_samples=32, progress=False)
    with pytest.raises(ValueError, match="does not train on temporal transitions"):
        VAE(steps=1, channels=(8, 8), hidden_dim=16).fit(temporal, progress=False)
    with pytest.raises(ValueError, match="regimes"):
        CITRISVAE(steps=1, **TINY).fit(temporal, n_samples=32, interventional_fraction=0.5, progress=False)
    with pytest.raises(ValueError, match="latent_dim.*at least 4"):
        CITRISVAE(steps=1, latent_dim=3, **TINY).fit(temporal, n_samples=32, progress=False)


@pytest.mark.parametrize("param, value", [("beta_t1", -1.0), ("lambda_reg", 1.0), ("classifier_lr", 0.0),
                                          ("gumbel_temperature", 0.0), ("prior_hidden", 0)])
def test_bad_hyperparameters_are_named(param, value):
    with pytest.raises(ValueError, match=param):
        CITRISVAE(**{param: value})


def test_r2_matrix_of_perfect_codes_is_the_identity():
    rng = np.random.default_rng(0)
    values = rng.uniform(-1, 1, size=(600, 3))
    codes = np.concatenate([values, rng.normal(size=(600, 1))], axis=1)
    matrix = group_r2_matrix(codes, np.array([0, 1, 2, 3]), values, max_train=500)
    assert matrix.shape == (4, 3)
    assert np.all(np.diag(matrix[:3]) > 0.97)
    assert np.all(np.abs(matrix[:3][~np.eye(3, dtype=bool)]) < 0.1)  # 120 held-out rows: R² noise ~0.05
    assert np.all(np.abs(matrix[3]) < 0.1)  # the noise unit, in psi_0, holds nothing
    # units matched to what they predict: a permutation and a noise unit (psi_0) are recovered
    permuted = np.concatenate([np.tanh(values[:, [2, 0, 1]]), rng.normal(size=(600, 1))], axis=1)
    np.testing.assert_array_equal(matched_assignment(permuted, values, max_train=500), [2, 0, 1, 3])
    # an empty group's row is 0
    empty = group_r2_matrix(codes[:, :2], np.array([0, 0]), values, max_train=500)
    np.testing.assert_array_equal(empty[1:], 0.0)


def test_causal_variable_r2_on_learners(fitted, temporal):
    result = causal_variable_r2(fitted, temporal, n=200, max_train=150)
    assert result["assigned_by"] == "learned" and result["variables"] == list(temporal.variables)
    assert np.asarray(result["matrix"]).shape == (5, 4)
    assert np.isfinite(result["diag"]) and np.isfinite(result["max_off_diag"])
    matched = causal_variable_r2(fitted, temporal, n=200, max_train=150, assignment="matched")
    assert matched["assigned_by"] == "matched"
    vae = VAE(steps=2, latent_dim=4, channels=(8, 8), hidden_dim=16, batch_size=16).fit(temporal.world,
                                                                                        n_samples=32, progress=False)
    assert causal_variable_r2(vae, temporal, n=200, max_train=150)["assigned_by"] == "matched"
    with pytest.raises(ValueError, match="learns no assignment"):
        causal_variable_r2(vae, temporal, n=200, assignment="learned")
    with pytest.raises(TypeError, match="TemporalWorld"):
        causal_variable_r2(fitted, temporal.world)
    with pytest.raises(ValueError, match="trained on the variables"):
        causal_variable_r2(fitted, TemporalWorld(temporal.world, ["posX", "posY"]), n=200)
    with pytest.raises(ValueError, match="assignment"):
        causal_variable_r2(fitted, temporal, assignment="best")


def test_combine_codes_takes_each_units_group_from_the_mask():
    from latentscm.metrics.triplets import combine_codes

    first, second = np.zeros((2, 4)), np.ones((2, 4))
    mask = np.array([[True, False], [False, True]])
    groups = np.array([0, 1, 2, 0])  # group 2 is psi_0 (V = 2): always from the first image
    np.testing.assert_array_equal(combine_codes(first, second, mask, groups), [[1, 0, 0, 1], [0, 1, 0, 0]])


def test_triplet_scores(fitted, temporal):
    from latentscm.metrics.factor_regressor import FactorRegressor
    from latentscm.metrics.triplets import triplet_scores

    regressor = FactorRegressor(n_train=64, n_test=32, steps=5, seed=0).fit(temporal.world)
    result = triplet_scores(fitted, temporal, n=40, regressor=regressor)
    assert result["variables"] == list(temporal.variables) and result["assigned_by"] == "learned"
    copy = result["copy_first"]
    # changing nothing keeps every unmasked variable exactly and misses the masked ones
    assert copy["mean_kept_error"] == 0.0 and copy["mean_taken_error"] > 0.1
    assert set(result["model"]["r2"]) == set(temporal.variables)
    assert result["pixel_mse"] > 0 and result["reconstruction_mse"] > 0
    with pytest.raises(TypeError, match="TemporalWorld"):
        triplet_scores(fitted, temporal.world, regressor=regressor)
    with pytest.raises(ValueError, match="fitted FactorRegressor"):
        triplet_scores(fitted, temporal, regressor=FactorRegressor())
    other = FactorRegressor(n_train=32, n_test=16, steps=1).fit(worlds.make("sprites", size=16))
    with pytest.raises(ValueError, match="fit it on temporal_world.world"):
        triplet_scores(fitted, temporal, n=20, regressor=other)


def test_flow_codes_decode_back_through_the_inverse_flow(fitted, temporal):
    images = temporal.independent_frames(4, seed=5)[0]
    mean, _ = fitted.encode_distribution(images)
    codes = fitted.encode(images)
    assert not fitted.codes_are_posterior_means and not np.allclose(codes, mean)
    with torch.no_grad():
        expected = fitted._likelihood.mean(fitted.decoder_(torch.from_numpy(mean))).numpy()
    np.testing.assert_allclose(fitted.reconstruct(images), expected, atol=1e-4)


def test_without_a_flow_codes_are_the_posterior_means(temporal):
    learner = CITRISVAE(steps=3, seed=0, flow_layers=0, **TINY).fit(temporal, n_samples=48, progress=False)
    assert "flow" not in learner._module_names() and learner.codes_are_posterior_means
    images = temporal.independent_frames(4, seed=5)[0]
    np.testing.assert_array_equal(learner.encode(images), learner.encode_distribution(images)[0])


def test_prior_nll_is_each_units_own_negative_log_density_when_psi_is_sure():
    torch.manual_seed(2)
    prior = TransitionPrior(units=3, n_variables=2, hidden=8, use_psi0=False)
    groups = torch.tensor([0, 1, 1])
    with torch.no_grad():
        prior.assignment_logits.copy_(torch.nn.functional.one_hot(groups, 3).float() * 60.0)
    z_t, z_next = torch.randn(5, 3), torch.randn(5, 3)
    targets = torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1], [0, 1]], dtype=torch.float32)
    got = prior.nll(z_t, targets, z_next, 0.0)
    mean, logstd = prior.observational(z_t)
    expected = torch.zeros(5)
    for b in range(5):
        for j in range(3):
            g = int(groups[j])
            if targets[b, g] == 1:
                m, s = prior.intervened[j, g, 0], 4.0 * torch.tanh(prior.intervened[j, g, 1] / 4.0)
            else:
                m, s = mean[b, j], logstd[b, j]
            expected[b] -= torch.distributions.Normal(m, s.exp()).log_prob(z_next[b, j])
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_learner_groups_learned_or_matched(fitted, temporal):
    from latentscm.metrics.causal_variable_r2 import learner_groups

    groups, by = learner_groups(fitted, temporal, "test")
    assert by == "learned"
    np.testing.assert_array_equal(groups, fitted.assignment_)
    groups, by = learner_groups(fitted, temporal, "test", matched=True, n=200, max_train=150)
    assert by == "matched" and groups.shape == (8,) and groups.min() >= 0 and groups.max() <= 4
    with pytest.raises(ValueError, match="test: CITRISVAE was trained on the variables"):
        learner_groups(fitted, TemporalWorld(temporal.world, ["posX", "posY"]), "test")


def test_a_prior_saved_without_use_psi0_loads_with_the_built_value():
    prior = TransitionPrior(units=3, n_variables=2, hidden=4, use_psi0=False)
    state = {k: v for k, v in prior.state_dict().items() if k != "use_psi0"}  # saved before it was a buffer
    fresh = TransitionPrior(units=3, n_variables=2, hidden=4, use_psi0=False)
    fresh.load_state_dict(state)
    assert not bool(fresh.use_psi0)
    torch.testing.assert_close(fresh.assignment_logits, prior.assignment_logits)
