"""Saving after fit: CausalDiffAE after set_params(ema_decay=..., refiner=...) keeps decoding with the modules it
was built with (it used to look for an EMA UNet or a refiner decoder it never had), until it is fitted again."""

import numpy as np
import pytest
import torch

import latentscm
import latentscm.worlds
from latentscm.learners import make

TINY = {"channels": (8, 16), "hidden_dim": 32, "batch_size": 16, "steps": 4, "seed": 0, "unet_channels": 8,
        "unet_multipliers": (1, 2), "ddim_steps": 4, "timesteps": 60}


def test_set_params_after_fit_changes_nothing_until_the_next_fit():
    torch.set_num_threads(1)
    world = latentscm.worlds.make("pendulum", size=16, noise_std=0.3)
    batch = world.sample(3, seed=1)
    learner = make("causal_diffae", **TINY, ema_decay=0.0).fit(world, n_samples=32, progress=False)
    expected = learner.counterfactual(batch.images, {"light_position": 1.2})
    learner.set_params(ema_decay=0.9, refiner=True)  # neither an EMA UNet nor a refiner decoder was built
    np.testing.assert_array_equal(learner.counterfactual(batch.images, {"light_position": 1.2}), expected)
    learner.fit(world, n_samples=32, progress=False)  # the next fit builds what the parameters now ask for
    assert hasattr(learner, "unet_ema_") and hasattr(learner, "decoder_")
    assert learner.counterfactual(batch.images, {"light_position": 1.2}).shape == batch.images.shape


def test_a_model_whose_structure_no_longer_matches_its_parameters_is_not_saved(tmp_path):
    torch.set_num_threads(1)
    world = latentscm.worlds.make("pendulum", size=16, noise_std=0.3)
    learner = make("causal_diffae", **TINY, ema_decay=0.0).fit(world, n_samples=32, progress=False)
    learner.set_params(refiner=True)
    with pytest.raises(ValueError, match=r"cannot be saved: set_params changed refiner after fit.*refiner=False"):
        learner.save(str(tmp_path / "bad"))
    assert not (tmp_path / "bad").exists()  # nothing written: the config would rebuild modules the weights misfit
    learner.set_params(refiner=False, ddim_steps=8)  # an inference setting may change after fit
    learner.save(str(tmp_path / "good"))
    assert latentscm.load(str(tmp_path / "good")).ddim_steps == 8


def test_any_learner_refuses_to_save_after_an_architecture_change(tmp_path):
    torch.set_num_threads(1)
    world = latentscm.worlds.make("sprites", size=16)
    learner = make("beta_vae", channels=(8, 8), hidden_dim=16, latent_dim=3, steps=2, batch_size=8).fit(
        world, n_samples=16, progress=False)
    learner.set_params(hidden_dim=32, lr=3e-4)
    with pytest.raises(ValueError, match="changed hidden_dim, lr after fit"):
        learner.save(str(tmp_path / "bad"))
    learner.set_params(hidden_dim=16)  # the learning rate alone does not shape the modules
    learner.save(str(tmp_path / "good"))
    assert latentscm.load(str(tmp_path / "good")).lr == 3e-4


def test_saving_over_a_run_with_later_checkpoints_is_refused(tmp_path):
    torch.set_num_threads(1)
    world = latentscm.worlds.make("pendulum", size=16, noise_std=0.3, grid=False)
    tiny = {"channels": (8, 16), "hidden_dim": 32, "batch_size": 16}
    make("beta_vae", latent_dim=4, steps=6, **tiny).fit(world, out=str(tmp_path / "run"), n_samples=64,
                                                         progress=False, checkpoint_every=3)
    before = sorted(p.name for p in (tmp_path / "run").rglob("*"))
    other = make("beta_vae", latent_dim=5, steps=2, **tiny).fit(world, n_samples=64, progress=False)
    # load() would return the checkpoint at step 6, not this 2-step model (it failed on the latent size)
    with pytest.raises(ValueError, match=r"holds a checkpoint at step 6 .* beyond the 2 steps of this BetaVAE"):
        other.save(str(tmp_path / "run"))
    assert sorted(p.name for p in (tmp_path / "run").rglob("*")) == before
    assert latentscm.load(str(tmp_path / "run")).latent_dim == 4  # the run is as it was
