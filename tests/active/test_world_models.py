"""World models: seeded training is deterministic, the factorised transition leaves the shape
latent exactly unchanged, free energy adds up, saved models reload, bad input is named."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentscm.active import (
    EFEAgent,
    EntangledModel,
    FactorisedModel,
    NotFittedError,
    Transitions,
    load_world_model,
    make,
    names,
    run_episode,
)
from latentscm.active.world_model import bernoulli_entropy, gaussian_kl

from .conftest import TINY, fit_entangled, fit_factorised


def _weights(model):
    return {k: v.clone() for k, v in model.net_.state_dict().items()}


def test_same_seed_same_weights_and_trajectory(env, transitions, factorised):
    again = fit_factorised(env, transitions, seed=0)
    for key, value in _weights(factorised).items():
        assert torch.equal(value, again.net_.state_dict()[key]), key
    assert factorised.history_ == again.history_
    other = fit_factorised(env, transitions, seed=1)
    assert not all(torch.equal(v, other.net_.state_dict()[k]) for k, v in _weights(factorised).items())
    start, goal = env.random_task(seed=5)
    first = run_episode(env, EFEAgent(factorised, horizon=2), start, goal, max_steps=4)
    second = run_episode(env, EFEAgent(again, horizon=2), start, goal, max_steps=4)
    np.testing.assert_array_equal(first.actions, second.actions)
    np.testing.assert_array_equal(first.free_energy, second.free_energy)
    np.testing.assert_array_equal(first.pose_errors, second.pose_errors)
    assert first.free_energy.shape == (len(first.actions) + 1,)


def test_beta_transition_weights_only_the_transition_kl(env, transitions, factorised):
    # beta_transition equal to beta (1.0 by default) trains the same weights bit for bit (the summed loss
    # value may round differently in its last bits: (r + a) + b against r + (a + b))
    same = FactorisedModel(shape_dim=3, pose_dim=2, seed=0, beta_transition=1.0, **TINY).fit(
        transitions, n_actions=env.n_actions)
    for key, value in _weights(factorised).items():
        assert torch.equal(value, same.net_.state_dict()[key]), key
    assert [(h["recon"], h["kl_transition"]) for h in same.history_] == \
        [(h["recon"], h["kl_transition"]) for h in factorised.history_]
    # a different weight changes the gradient and so the weights
    off = FactorisedModel(shape_dim=3, pose_dim=2, seed=0, beta_transition=0.0, **TINY).fit(
        transitions, n_actions=env.n_actions)
    assert not all(torch.equal(v, off.net_.state_dict()[k]) for k, v in _weights(factorised).items())
    assert EntangledModel(beta_transition=0.5).get_params()["beta_transition"] == 0.5
    with pytest.raises(ValueError, match="'beta_transition' parameter of FactorisedModel"):
        FactorisedModel(beta_transition=-1.0)


def test_training_leaves_the_global_torch_rng_alone(env, transitions):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit_entangled(env, transitions)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_factorised_transition_leaves_the_shape_latent_unchanged_exactly(env, factorised):
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(30, factorised.latent_size)).astype(np.float32)
    logvar = rng.normal(scale=0.5, size=(30, factorised.latent_size)).astype(np.float32)
    for action in range(env.n_actions):
        out_mean, out_logvar = factorised.predict(mean, logvar, np.full(30, action))
        shape_in, shape_out = factorised.split(mean)[0], factorised.split(out_mean)[0]
        np.testing.assert_array_equal(shape_out, shape_in)
        np.testing.assert_array_equal(factorised.split(out_logvar)[0], factorised.split(logvar)[0])
        assert not np.array_equal(factorised.split(out_mean)[1], factorised.split(mean)[1])
        # chained over several steps, still exact
        m, lv = mean, logvar
        for _ in range(3):
            m, lv = factorised.predict(m, lv, np.full(30, action))
        np.testing.assert_array_equal(factorised.split(m)[0], shape_in)


def test_entangled_transition_may_change_every_unit(env, entangled):
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(30, 5)).astype(np.float32)
    logvar = np.zeros((30, 5), dtype=np.float32)
    out_mean, _ = entangled.predict(mean, logvar, np.ones(30, dtype=np.int64))
    assert np.all(np.any(out_mean != mean, axis=0))


def test_free_energy_is_inaccuracy_plus_complexity(transitions, factorised):
    terms = factorised.free_energy(transitions.images[:5])
    np.testing.assert_allclose(terms["free_energy"], terms["inaccuracy"] + terms["complexity"])
    assert np.all(terms["complexity"] >= 0)
    posterior = factorised.infer(transitions.images[:5])
    same = factorised.free_energy(transitions.images[:5], prior=posterior)
    np.testing.assert_allclose(same["complexity"], 0.0, atol=1e-5)
    np.testing.assert_allclose(same["inaccuracy"], terms["inaccuracy"])
    three = factorised.infer(transitions.images[:3])
    transposed = (three[0].T, three[1].T)  # (D, N) instead of (N, D): refused, not reshaped
    with pytest.raises(ValueError, match=r"'prior' mean of FactorisedModel.free_energy must have shape \(3, "):
        factorised.free_energy(transitions.images[:3], prior=transposed)
    with pytest.raises(TypeError, match="'prior' argument .* \\(mean, logvar\\) pair"):
        factorised.free_energy(transitions.images[:5], prior=posterior[0])


def test_gaussian_kl_and_bernoulli_entropy_match_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mq, lq, mp, lp = (torch.randn(4, 3, generator=g) for _ in range(4))
    reference = torch.distributions.kl_divergence(torch.distributions.Normal(mq, (0.5 * lq).exp()),
                                                  torch.distributions.Normal(mp, (0.5 * lp).exp())).sum(1)
    torch.testing.assert_close(gaussian_kl(mq, lq, mp, lp), reference)
    logits = torch.randn(2, 1, 3, 3, generator=g) * 5
    entropy = torch.distributions.Bernoulli(logits=logits).entropy().flatten(1).sum(1)
    torch.testing.assert_close(bernoulli_entropy(logits), entropy)


def test_save_and_load_round_trip(tmp_path, transitions, factorised, entangled):
    for model in (factorised, entangled):
        path = model.save(tmp_path / f"{model.name}.pt")
        loaded = load_world_model(path)
        assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
        np.testing.assert_array_equal(loaded.infer(transitions.images[:3])[0], model.infer(transitions.images[:3])[0])
        assert loaded.history_ == model.history_
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable world-model file"):
        load_world_model(tmp_path / "junk.pt")
    with pytest.raises(FileNotFoundError):
        load_world_model(tmp_path / "missing.pt")


def test_registry_and_params():
    assert names() == ["factorised", "entangled"]
    model = make("factorised", shape_dim=2, pose_dim=1)
    assert type(model) is FactorisedModel and model.latent_size == 3
    assert type(model)(**model.get_params()).get_params() == model.get_params()
    assert repr(model) == "FactorisedModel(shape_dim=2, pose_dim=1)"


def test_bad_input_is_named(env, transitions, factorised):
    with pytest.raises(ValueError, match="'shape_dim' parameter of FactorisedModel must be an int >= 1. Got 0"):
        FactorisedModel(shape_dim=0)
    with pytest.raises(ValueError, match="'lr' parameter of EntangledModel"):
        EntangledModel(lr=-1.0)
    with pytest.raises(TypeError, match="'channels' parameter"):
        EntangledModel(channels="16")
    with pytest.raises(NotFittedError, match="not fitted"):
        FactorisedModel().infer(transitions.images[:1])
    with pytest.raises(TypeError, match="expects Transitions"):
        FactorisedModel(**TINY).fit(transitions.images)
    broken = Transitions(transitions.images, transitions.actions[:-1], transitions.next_images, transitions.factors,
                         transitions.next_factors)
    with pytest.raises(ValueError, match="do not describe the same transitions"):
        FactorisedModel(**TINY).fit(broken)
    nan = Transitions(np.full_like(transitions.images, np.nan), transitions.actions, transitions.next_images,
                      transitions.factors, transitions.next_factors)
    with pytest.raises(ValueError, match="NaN"):
        FactorisedModel(**TINY).fit(nan)
    with pytest.raises(ValueError, match="'n_actions'"):
        FactorisedModel(**TINY).fit(transitions, n_actions=1)
    bytes_like = Transitions(transitions.images * 255, transitions.actions, transitions.next_images,
                             transitions.factors, transitions.next_factors)
    with pytest.raises(ValueError, match="transitions.images must be pixel intensities in \\[0, 1\\]"):
        FactorisedModel(**TINY).fit(bytes_like)
    with pytest.raises(ValueError, match=r"shape \(N, 3, 16, 16\)"):
        factorised.infer(np.zeros((1, 3, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="'actions' argument"):
        factorised.predict(np.zeros((1, 5)), np.zeros((1, 5)), np.array([7]))
    with pytest.raises(ValueError, match=r"shape \(N, 5\)"):
        factorised.predict(np.zeros((1, 4)), np.zeros((1, 4)), np.array([0]))
