"""Review of CausalVAE and counterfactual fine-tuning on a tiny pendulum: the loss equals its documented terms,
do(x = its own abducted value) gives back the reconstruction, the fine-tuning reference ELBO and the dual ascent
on λ are as documented, and seeds are honoured."""

import numpy as np
import pytest
import torch

import latentscm.worlds
from latentscm.learners import make
from latentscm.learners.base import gaussian_kl
from latentscm.learners.counterfactual_finetuning import CounterfactualFineTuning
from latentscm.metrics.factor_regressor import FactorRegressor
from latentscm.training.data import as_training_set

TINY = {"channels": (8, 16), "hidden_dim": 32, "batch_size": 16, "seed": 0, "lr": 2e-3}


@pytest.fixture(scope="module")
def world():
    return latentscm.worlds.make("pendulum", size=16, noise_std=0.3, grid=False)


@pytest.mark.parametrize("mechanism", ["additive", "post_nonlinear"])
def test_loss_terms_and_counterfactual_consistency(world, mechanism):
    model = make("causal_vae", **TINY, extra_dims=1, steps=15, mechanism=mechanism, label_weight=0.7,
                 mechanism_weight=1.3, prior_std=0.4, beta=0.5).fit(world, n_samples=96, progress=False)
    batch = world.sample(24, seed=5)
    images = torch.from_numpy(batch.images)
    factors = torch.as_tensor((batch.factors - model.factor_mean_) / model.factor_std_, dtype=torch.float32)
    factors[3] = float("nan")  # an unlabelled row is left out of both label terms
    for module in model._modules().values():
        module.eval()
    k, scm = len(model.factor_names_), model.scm_
    with torch.no_grad():
        model._generator = torch.Generator().manual_seed(3)
        out = model.loss(images, 0, factors=factors)
        mean, logvar = model._posterior(images)
        u = mean + (0.5 * logvar).exp() * torch.randn(mean.shape, generator=torch.Generator().manual_seed(3))
        z = scm(u[:, :k])
        y = factors[~torch.isnan(factors).any(1)]
        prior = ((z[~torch.isnan(factors).any(1)] - y) ** 2).sum(1).mean() / (2 * 0.4**2)
        inner = scm._outer_inverse(y)
        fit = (inner - scm.mechanisms(y)) ** 2 + 2 * scm._outer_log_slope(inner)
        # additive roots have no mechanism to fit; a post-nonlinear root's g is fitted to its label's marginal
        fit = (fit * ((scm.mask.sum(1) > 0) | (mechanism == "post_nonlinear")).float()).sum(1).mean()
        recon = model._likelihood.nll(model.decoder_(torch.cat([z, u[:, k:]], 1)), images).mean()
        total = recon + 0.5 * gaussian_kl(mean, logvar).sum(1).mean() + 0.7 * prior + 1.3 * fit
    assert float(out.logs["label_prior"]) == pytest.approx(float(prior), rel=1e-5)
    assert float(out.logs["mechanism_fit"]) == pytest.approx(float(fit), rel=1e-5)
    assert float(out.losses["model"]) == pytest.approx(float(total), rel=1e-5)

    x = world.sample(12, seed=7).images
    codes, reconstruction = model.encode(x), model.reconstruct(x)
    for j, name in enumerate(model.factor_names_):  # consistency: do(x = the abducted value of x)
        value = codes[:, j].astype(np.float64) * model.factor_std_[j] + model.factor_mean_[j]
        np.testing.assert_allclose(model.counterfactual(x, {name: value}), reconstruction, rtol=0, atol=1e-5)
    moved = model.counterfactual(x, {"pendulum_angle": float(model.factor_mean_[0] + 2 * model.factor_std_[0])})
    assert np.abs(moved - reconstruction).max() > 1e-3  # the check above can fail


def test_fine_tuning_reference_dual_ascent_and_seeds(world):
    predictor = FactorRegressor(n_train=200, n_test=100, steps=20, batch_size=32, seed=0).fit(world)

    def base():
        return make("causal_vae", **TINY, extra_dims=0, steps=10).fit(world, n_samples=96, progress=False)

    def tuned(seed):
        learner = base()
        CounterfactualFineTuning(steps=6, lr=3e-3, batch_size=16, lagrange_lr=2.0, lagrange_init=0.5,
                                 elbo_slack=0.01, seed=seed).fit(learner, world, predictor=predictor, n_samples=96)
        return learner.cf_finetune_history_

    history = tuned(4)
    assert history == tuned(4) and history != tuned(5)
    # the reference: negative ELBO above the likelihood floor, before fine-tuning, on the first 4 seeded batches
    learner = base()
    data = as_training_set(world, n_samples=96, seed=learner.seed, owner="test")
    images = torch.from_numpy(data.images)
    labels = learner._training_factors(data, torch.device("cpu"))
    rng = np.random.default_rng(4)
    for module in learner._modules().values():
        module.train()
    excess = []
    with torch.no_grad():
        for i in range(4):
            index = torch.from_numpy(rng.integers(0, 96, 16))
            learner._generator = torch.Generator().manual_seed(4 * 1_000_003 - 1 - i)
            negative_elbo = float(learner.loss(images[index], -1 - i, factors=labels[index]).losses["model"])
            excess.append(negative_elbo - float(learner._likelihood.floor(images[index]).mean()))
    assert history[0]["elbo_reference"] == pytest.approx(float(np.mean(excess)), rel=1e-5)
    # λ <- max(0, λ + η c), c = (L − F) / (L_0 − F) − 1 − slack: λ grows while the constraint is broken
    lagrange = 0.5
    for record in history:
        violation = (record["elbo"] - record["elbo_floor"]) / record["elbo_reference"] - 1 - 0.01
        lagrange = max(0.0, lagrange + 2.0 * violation)
        assert record["lagrange"] == pytest.approx(lagrange, rel=1e-5, abs=1e-6)
