"""Regression tests of the third review of the learners (session 22): fitted state over hyperparameters set
after fit, interventions on a factor that was constant in training, ILD's input handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentscm import learners
from latentscm.learners import ILD
from latentscm.testing.learner_checks import tiny_params
from latentscm.worlds import Batch, make


def _tiny(name: str, tiny_world, **params):
    cls = learners.get(name)
    learner = cls(**tiny_params(cls, steps=4, batch_size=8, **params))
    return learner.fit(tiny_world, n_samples=32, progress=False)


def test_qlae_samples_from_its_fitted_codebook_whatever_n_values_says(tiny_world):
    learner = _tiny("qlae", tiny_world, latent_dim=4)
    before = learner.sample(6, seed=1)
    learner.set_params(n_values=20)  # larger: indices past the fitted codebook crashed the lookup
    np.testing.assert_array_equal(learner.sample(6, seed=1), before)
    learner.set_params(n_values=2)  # smaller: only the first two values were ever drawn
    codes = learner._prior_sample(2000, torch.Generator().manual_seed(0))
    assert all(len(np.unique(codes[:, d].numpy())) == 10 for d in range(4))


def test_gcrl_splits_codes_as_fitted_whatever_z_dim_and_s_dim_say(tiny_world):
    learner = _tiny("gcrl", tiny_world, z_dim=2, s_dim=2)
    images = tiny_world.sample(4, seed=3).images
    z, s = learner.encode_parts(images)
    learner.set_params(z_dim=3, s_dim=1)
    z2, s2 = learner.encode_parts(images)
    assert z2.shape == (4, 2) and s2.shape == (4, 2)
    np.testing.assert_array_equal(z2, z)
    assert learner.sample(3, seed=0).shape == (3, *tiny_world.image_shape)
    learner.adapt(images, steps=1, batch_size=4, solver="moments")
    # the moment match of the new domain's prior is the mean of the variant posteriors, per unit
    np.testing.assert_allclose(learner.prior_.means[-1].detach().numpy(), s.mean(0), rtol=1e-5, atol=1e-6)


def test_an_intervention_on_a_factor_constant_in_training_is_refused(tiny_world):
    batch = tiny_world.sample(64, seed=1)
    factors = batch.factors.copy()
    factors[:, 2] = 0.12
    learner = learners.get("causal_vae")(**tiny_params(learners.get("causal_vae"), steps=4, batch_size=8,
                                                       graph="row -> col"))
    learner.fit(Batch(batch.images, factors, batch.noise, batch.factor_names), progress=False)
    with pytest.raises(ValueError, match="'width' was constant"):
        learner.counterfactual(batch.images[:4], {"width": 0.16})  # was a latent of 4e6: a saturated image
    assert learner.standardise("width", 0.12) == 0.0
    assert learner.counterfactual(batch.images[:4], {"width": 0.12}).shape == (4, *tiny_world.image_shape)
    assert learner.standardise("row", 0.5) == pytest.approx((0.5 - learner.factor_mean_[0]) / learner.factor_std_[0])


@pytest.fixture(scope="module")
def ild_fit():
    torch.set_num_threads(1)
    data = make("ild-linear", latent_dim=4, n_domains=2, int_set=(0,), seed=0).sample_domains(100, seed=1)
    return ILD(4, 1, steps=10, batch_size=64).fit(data), data


def test_ild_domain_counterfactual_takes_a_batch(ild_fit):
    model, data = ild_fit
    np.testing.assert_array_equal(model.domain_counterfactual(data, 0, 1),
                                  model.domain_counterfactual(data.images, 0, 1))


def test_ild_names_empty_input(ild_fit):
    model, data = ild_fit
    empty = data.images[:0]
    for call in (lambda: model.encode(empty), lambda: model.log_likelihood(empty, 0),
                 lambda: model.abduct(empty, 0), lambda: model.domain_counterfactual(empty, 0, 1)):
        with pytest.raises(ValueError, match="no samples"):
            call()


def test_ild_refuses_a_domain_without_samples(ild_fit):
    _, data = ild_fit
    domain = np.where(data.domain == 1, 2, 0)  # no sample of domain 1: its SCM would stay at its random init
    with pytest.raises(ValueError, match=r"domain\(s\) \[1\] have no samples"):
        ILD(4, 1, steps=2, batch_size=64).fit(data.images, domain)


def test_images_outside_the_unit_range_are_refused_as_in_training(tiny_world):
    learner = _tiny("causal_vae", tiny_world, graph="row -> col")
    images = tiny_world.sample(4, seed=0).images
    pixels = (images * 255).round().astype(np.uint8)
    for call in (lambda: learner.encode(pixels), lambda: learner.reconstruct(images * 255),
                 lambda: learner.counterfactual(pixels, {"row": 0.5}), lambda: learner.encode(images - 0.5)):
        with pytest.raises(ValueError, match=r"must hold images in \[0, 1\]"):
            call()
    assert learner.encode(images).shape == (4, learner.latent_dim_)


def test_dts_still_encodes_sequences_beyond_its_training_bounds():
    from latentscm.learners.dts import DTS

    sequences = np.random.default_rng(0).normal(size=(16, 8, 2)).cumsum(1)
    learner = DTS(latent_dim=2, hidden_dim=8, steps=2, batch_size=8).fit_sequences(sequences, progress=False)
    assert learner.encode(sequences * 3.0).shape == (16, 2)  # scaled values leave [0, 1]: not images


def test_gcrl_style_statistics_of_one_pixel_images_are_finite():
    from latentscm.learners.gcrl import StyleEncoder

    encoder = StyleEncoder(3, 4, hidden_dim=8)
    assert torch.isfinite(encoder(torch.rand(5, 3, 1, 1))).all()  # the unbiased std of one pixel was NaN
    images = torch.rand(5, 3, 4, 4)  # several pixels: the unbiased std, as before
    expected = encoder.mlp(torch.cat([images.flatten(2).mean(2), images.flatten(2).std(2)], dim=1))
    torch.testing.assert_close(encoder(images), expected, rtol=0, atol=0)
