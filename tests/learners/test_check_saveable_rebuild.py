"""Learner.check_saveable asks what load() will do: the learner rebuilt from the hyperparameters being saved must take
the saved weights. A changed latent size passed the old module-shape comparison (it rebuilt with the fitted size)
and wrote a run that did not load; a domain added by GCRL.adapt made any later set_params (lr) refuse the save;
CausalVAE's decoder='additive' set after a monolithic fit crashed with a TypeError instead of a refusal."""

import numpy as np
import pytest
import torch

import latentscm
import latentscm.worlds
from latentscm.learners import make
from latentscm.worlds import DomainShift

TINY = {"channels": (8, 8), "hidden_dim": 16, "batch_size": 8, "steps": 2, "seed": 0}


def test_a_changed_latent_size_is_refused_before_anything_is_written(tmp_path):
    torch.set_num_threads(1)
    world = latentscm.worlds.make("sprites", size=16)
    images = world.sample(4, seed=3).images
    learner = make("beta_vae", latent_dim=3, **TINY).fit(world, n_samples=16, progress=False)
    learner.set_params(latent_dim=4)
    with pytest.raises(ValueError, match=r"cannot be saved: set_params changed latent_dim after fit.*latent_dim=3"):
        learner.save(str(tmp_path / "bad"))
    assert not (tmp_path / "bad").exists()
    learner.set_params(latent_dim=3, lr=5e-4).save(str(tmp_path / "good"))
    loaded = latentscm.load(str(tmp_path / "good"))
    assert loaded.lr == 5e-4
    np.testing.assert_array_equal(loaded.encode(images), learner.encode(images))


def test_a_domain_added_by_adapt_does_not_block_saving_after_a_training_setting_changed(tmp_path):
    torch.set_num_threads(1)
    world = latentscm.worlds.make("flow", size=16, grid=False, noise_std=0.1,
                                  domains=DomainShift(3, shifted=("water_height",), strength=1.0, seed=0))
    model = make("gcrl", z_dim=2, s_dim=1, **{**TINY, "batch_size": 16}).fit(world.sample_domains(24, seed=0),
                                                                              progress=False)
    model.adapt(world.sample(8, seed=1, domain=1), steps=2)
    model.set_params(lr=1e-3)
    model.save(str(tmp_path / "run"))
    loaded = latentscm.load(str(tmp_path / "run"))
    assert loaded.n_domains_ == model.n_domains_ == 4 and loaded.lr == 1e-3
    images = world.sample(4, seed=2, domain=1).images
    np.testing.assert_array_equal(loaded.encode(images), model.encode(images))
    model.set_params(s_dim=2)  # a structural change is still refused
    with pytest.raises(ValueError, match="changed lr, s_dim after fit"):
        model.save(str(tmp_path / "bad"))


def test_an_additive_decoder_set_after_a_monolithic_fit_is_refused_by_name(tmp_path):
    torch.set_num_threads(1)
    world = latentscm.worlds.make("pendulum", size=16, noise_std=0.3)
    model = make("causal_vae", graph="pendulum_angle -> shadow_length; light_position -> shadow_length",
                 decoder="monolithic", **TINY).fit(world, n_samples=16, progress=False)
    model.set_params(decoder="additive")
    with pytest.raises(ValueError, match=r"changed decoder after fit.*decoder='monolithic'"):
        model.save(str(tmp_path / "bad"))
    assert not (tmp_path / "bad").exists()


def test_dropping_saved_ema_weights_is_still_refused(tmp_path):
    """The rebuilt learner must use every saved module: without the EMA UNet it would decode with the raw one."""
    torch.set_num_threads(1)
    world = latentscm.worlds.make("pendulum", size=16, noise_std=0.3)
    learner = make("causal_diffae", channels=(8, 16), hidden_dim=32, batch_size=16, steps=2, seed=0, unet_channels=8,
                   unet_multipliers=(1, 2), ddim_steps=2, timesteps=50, ema_decay=0.9).fit(world, n_samples=16,
                                                                                           progress=False)
    learner.set_params(ema_decay=0.0)
    with pytest.raises(ValueError, match=r"changed ema_decay after fit.*ema_decay=0\.9"):
        learner.save(str(tmp_path / "bad"))
    assert not (tmp_path / "bad").exists()
