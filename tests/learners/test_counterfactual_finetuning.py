"""Counterfactual fine-tuning (Ribeiro et al. 2023) on a tiny pendulum CausalVAE."""

import numpy as np
import pytest

import latentscm.worlds
from latentscm.learners import make
from latentscm.learners.counterfactual_finetuning import CounterfactualFineTuning, counterfactual_predictor_loss
from latentscm.metrics.factor_regressor import FactorRegressor

TINY = {"channels": (8, 16), "hidden_dim": 32, "batch_size": 16, "seed": 0, "extra_dims": 0, "lr": 2e-3}


@pytest.fixture(scope="module")
def world():
    return latentscm.worlds.make("pendulum", size=16, noise_std=0.3, grid=False)


@pytest.fixture(scope="module")
def predictor(world):
    return FactorRegressor(n_train=600, n_test=200, steps=150, batch_size=32, seed=0).fit(world)


def test_a_short_run_lowers_the_predictor_loss_on_held_out_counterfactuals(world, predictor):
    learner = make("causal_vae", **TINY, steps=60, decoder="additive").fit(world, n_samples=256, progress=False)
    before = counterfactual_predictor_loss(learner, world, predictor, n=96, seed=11)
    tuner = CounterfactualFineTuning(steps=40, lr=1e-3, batch_size=16, seed=0)
    tuner.fit(learner, world, predictor=predictor, n_samples=256)
    after = counterfactual_predictor_loss(learner, world, predictor, n=96, seed=11)
    history = learner.cf_finetune_history_
    assert len(history) == 40 and all(np.isfinite(h["cf_loss"]) and h["lagrange"] >= 0 for h in history)
    assert after < 0.9 * before, (before, after)


def test_the_constraint_holds_the_elbo(world, predictor):
    def tuned(lagrange_lr, lagrange_init):
        learner = make("causal_vae", **TINY, steps=40).fit(world, n_samples=128, progress=False)
        tuner = CounterfactualFineTuning(steps=30, lr=3e-3, batch_size=16, lagrange_lr=lagrange_lr,
                                         lagrange_init=lagrange_init, elbo_slack=0.0, seed=1)
        tuner.fit(learner, world, predictor=predictor, n_samples=128)
        return learner.cf_finetune_history_

    constrained, free = tuned(5.0, 1.0), tuned(0.0, 0.0)
    for previous, current in zip(constrained, constrained[1:]):  # dual ascent: λ grows while the bound is broken
        broken = current["elbo"] - current["elbo_floor"] > current["elbo_reference"]  # measured above the floor
        assert (current["lagrange"] > previous["lagrange"]) == broken or current["lagrange"] == 0.0
    assert all(h["lagrange"] == 0.0 for h in free)
    assert all(h["elbo_floor"] > 0 for h in constrained)  # grey-level pendulum pixels: a positive Bernoulli floor
    late = slice(-10, None)
    assert np.mean([h["elbo"] for h in constrained[late]]) < np.mean([h["elbo"] for h in free[late]])


def test_bad_input(world, predictor):
    with pytest.raises(ValueError, match="elbo_slack"):
        CounterfactualFineTuning(elbo_slack=-1)
    with pytest.raises(TypeError, match="soft_labels"):
        CounterfactualFineTuning(soft_labels="yes")
    with pytest.raises(TypeError, match="causal learner"):
        CounterfactualFineTuning(steps=1).fit(make("beta_vae", latent_dim=3), world, predictor=predictor)
    glyphs = latentscm.worlds.make("glyphs", size=16)
    learner = make("causal_vae", **TINY, steps=2).fit(world, n_samples=32, progress=False)
    with pytest.raises(ValueError, match="factors"):
        CounterfactualFineTuning(steps=1).fit(learner, glyphs, predictor=predictor)


def test_fit_hands_the_predictor_back_and_leaves_no_gradients(world):
    """The predictor is frozen only while fine-tuning; no parameter of the learner keeps a .grad."""
    predictor = FactorRegressor(n_train=64, n_test=32, steps=5, batch_size=16, seed=0).fit(world)
    predictor.net_.train()
    flags = [p.requires_grad for p in predictor.net_.parameters()]
    learner = make("causal_vae", **{**TINY, "channels": (4, 8), "hidden_dim": 16, "batch_size": 8}, steps=3).fit(
        world, n_samples=32, progress=False)
    CounterfactualFineTuning(steps=2, batch_size=8).fit(learner, world, predictor=predictor, n_samples=32)
    assert [p.requires_grad for p in predictor.net_.parameters()] == flags and any(flags)
    assert predictor.net_.training
    assert all(p.grad is None for module in learner._modules().values() for p in module.parameters())


def test_a_causal_diffae_is_refused_and_left_untouched(world):
    """A CausalDiffAE has a decoder_ (its refiner's) but its counterfactuals are DDIM-decoded by the UNet,
    and its loss moves the EMA UNet used at inference: fine-tuning it would score and change other things."""
    import torch

    learner = make("causal_diffae", refiner=True, channels=(4, 8), hidden_dim=16, batch_size=8, steps=2,
                   unet_channels=8, unet_multipliers=(1, 2), timesteps=40, ddim_steps=2, ema_decay=0.9).fit(
        world, n_samples=16, progress=False)
    predictor = FactorRegressor(n_train=32, n_test=16, steps=2, batch_size=16, seed=0).fit(world)
    before = {k: v.clone() for k, v in learner.unet_ema_.state_dict().items()}
    with pytest.raises(TypeError, match="CausalDiffAE"):
        CounterfactualFineTuning(steps=2, batch_size=8).fit(learner, world, predictor=predictor, n_samples=16)
    assert all(torch.equal(before[k], v) for k, v in learner.unet_ema_.state_dict().items())


def test_fine_tuning_refits_the_sampling_prior_to_the_tuned_encoder(world, predictor):
    import torch

    learner = make("causal_vae", **TINY, steps=30).fit(world, n_samples=128, progress=False)
    before = learner.exogenous_mean_.clone()
    CounterfactualFineTuning(steps=10, lr=3e-3, batch_size=16, seed=0).fit(learner, world, predictor=predictor,
                                                                           n_samples=128)
    assert not torch.equal(learner.exogenous_mean_, before)  # fitted again, to the tuned encoder's posterior
    images = torch.from_numpy(world.sample(128, seed=learner.seed).images)  # not the tuning data: refit by hand
    stored = learner.exogenous_mean_.clone()
    learner._fit_aggregate_prior(images)
    assert (learner.exogenous_mean_ - stored).abs().max() < 0.2  # the same posterior, another sample of it
