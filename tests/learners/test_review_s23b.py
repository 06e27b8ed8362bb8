"""Regression tests of the second session-23 review of the causal learners: CausalDiffAE decodes with the diffusion
it was fitted with, CausalVAE samples through its latent SCM, gain-factor mistakes are named."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import latentscm
from latentscm import learners
from latentscm.testing.learner_checks import tiny_params

GRAPH = "row -> col, width"


def _fit(name: str, tiny_world, **params):
    cls = learners.get(name)
    return cls(**tiny_params(cls, steps=3, batch_size=8, graph=GRAPH, **params)).fit(tiny_world, n_samples=32,
                                                                                      progress=False)


@pytest.fixture(scope="module")
def diffae():
    from learners_support import TinyBlobs

    torch.set_num_threads(1)
    world = TinyBlobs(size=16)
    return _fit("causal_diffae", world, unet_channels=8, unet_multipliers=(1, 2), ddim_steps=3, timesteps=100), world


def test_causal_diffae_decodes_with_its_fitted_diffusion_whatever_set_params_says(diffae, tmp_path):
    learner, world = diffae
    images = world.sample(3, seed=4).images
    intervention = {"row": 0.35}
    before, recon = learner.counterfactual(images, intervention), learner.reconstruct(images)
    try:
        # the UNet learned v-prediction on a 100-step schedule: epsilon decoding gave saturated images (|change| 1.0),
        # a 50-step chain a partial inversion (0.16); save() carried both into the reloaded model
        learner.set_params(prediction_type="epsilon", timesteps=50, schedule="cosine")
        np.testing.assert_array_equal(learner.counterfactual(images, intervention), before)
        learner.save(tmp_path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            again = latentscm.load(tmp_path)
        assert again.get_params()["prediction_type"] == "epsilon"
        np.testing.assert_array_equal(again.reconstruct(images), recon)
        assert again.noise_schedule_.num_train_timesteps == 100 and again.noise_schedule_.kind == "linear"
    finally:
        learner.set_params(prediction_type="v_prediction", timesteps=100, schedule="linear")
    # a state written before the diffusion was recorded loads with the hyperparameters, as it did
    state = learner.state_dict()
    del state["extra"]["diffusion"]
    old = learners.get("causal_diffae")(**learner.get_params()).load_state_dict(state)
    np.testing.assert_array_equal(old.reconstruct(images), recon)


@pytest.mark.parametrize("params", [{}, {"mechanism": "post_nonlinear", "extra_dims": 0}])
def test_causal_vae_samples_through_its_latent_scm(tiny_world, params):
    learner = _fit("causal_vae", tiny_world, **params)
    k = len(learner.factor_names_)
    u = torch.randn((5, learner.latent_dim_), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        z = torch.cat([learner.scm_(u[:, :k]), u[:, k:]], dim=1)
    assert not torch.equal(z, u)  # the mechanisms move the effects (and g the roots of post-nonlinear ones)
    # sample() decoded u itself: causes and effects drawn independently (negative R² of the effects' mechanisms)
    # (the N(0, I) prior of the KL term; the default prior is fitted to the aggregate posterior, see s24)
    np.testing.assert_array_equal(learner.sample(5, seed=3, prior="standard"), learner.decode(z.numpy()))


@pytest.mark.parametrize(("params", "message"), [
    ({"gain_factors": "width, width"}, "'gain_factors' of CausalVAE list 'width' twice"),
    ({"gain_factors": "row, col, width", "extra_dims": 0}, "'gain_factors' of CausalVAE name every factor"),
    ({"gain_factors": "width", "decoder_groups": "row; col, width"}, "in both 'gain_factors' and 'decoder_groups'"),
])
def test_gain_factor_mistakes_are_named(tiny_world, params, message):
    with pytest.raises(ValueError, match=message):
        _fit("causal_vae", tiny_world, decoder="additive", **params)


def test_every_factor_a_gain_factor_works_with_style_latents(tiny_world):
    learner = _fit("causal_vae", tiny_world, decoder="additive", gain_factors="row, col, width", extra_dims=1)
    assert learner.decoder_.n_groups == 1 and learner.decoder_.has_gain


def test_counterfactual_fine_tuning_takes_any_seed(tiny_world):
    from latentscm.learners.counterfactual_finetuning import CounterfactualFineTuning
    from latentscm.metrics.factor_regressor import FactorRegressor

    predictor = FactorRegressor(n_train=32, n_test=16, steps=2, batch_size=8, seed=0).fit(tiny_world)
    learner = _fit("causal_vae", tiny_world, extra_dims=0)
    # seed * 1_000_003 + step overflowed torch's 64-bit seed for seeds >= ~1.8e13 (ValueError naming nothing)
    CounterfactualFineTuning(steps=2, batch_size=4, seed=2**62).fit(learner, tiny_world, predictor=predictor,
                                                                    n_samples=16)
    assert len(learner.cf_finetune_history_) == 2


def test_causal_diffae_reads_a_batch_of_factors_by_name(diffae):
    from latentscm.worlds import Batch

    learner, world = diffae
    batch = world.sample(3, seed=2)
    order = [2, 0, 1]
    shuffled = Batch(batch.images, batch.factors[:, order], batch.noise, [batch.factor_names[i] for i in order])
    codes, _ = learner.invert(batch.images, factors=batch)
    # the columns were read in the model's order: width as row, row as col (codes 16 apart)
    np.testing.assert_array_equal(learner.invert(batch.images, factors=shuffled)[0], codes)
    partial = Batch(batch.images, batch.factors[:, :2], batch.noise, batch.factor_names[:2])
    with pytest.raises(ValueError, match="without \\['width'\\]"):
        learner.invert(batch.images, factors=partial)
