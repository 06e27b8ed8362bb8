"""The aggregate sampling prior never outlives the weights it was fitted to: a new fit of a fitted causal
learner and counterfactual fine-tuning forget it until they fit it again, so an eval hook, a checkpoint or a
run stopped early falls back to N(0, I) with a warning instead of pairing the old prior with new weights."""

import numpy as np
import pytest
import torch

import latentscm
import latentscm.worlds
from latentscm.learners import counterfactual_finetuning, make
from latentscm.metrics.factor_regressor import FactorRegressor
from latentscm.training.checkpoint import load_checkpoint

TINY = {"channels": (8,), "hidden_dim": 16, "batch_size": 8, "steps": 4, "seed": 0, "extra_dims": 0}


@pytest.fixture(scope="module")
def world():
    return latentscm.worlds.make("pendulum", size=16, noise_std=0.3, grid=False)


@pytest.mark.parametrize("change", [{"seed": 1}, {"extra_dims": 1}])
def test_a_new_fit_forgets_the_previous_prior(world, tmp_path, change):
    learner = make("causal_vae", **TINY).fit(world, n_samples=32, progress=False)
    seen = {}

    def hook(model, step):
        seen["prior"] = model.exogenous_mean_
        with pytest.warns(UserWarning, match="no fitted aggregate prior"):
            seen["images"] = model.sample(2, seed=0)  # the old prior had the wrong size for extra_dims=1

    learner.set_params(**change).fit(world, out=str(tmp_path), n_samples=32, progress=False, eval_every=2,
                                     eval_hook=hook, checkpoint_every=2)
    assert seen["prior"] is None and seen["images"].shape == (2, *learner.image_shape_)
    assert load_checkpoint(tmp_path / "checkpoints" / "step_00000002.pt")["learner"]["extra"]["exogenous_mean"] is None
    fresh = make("causal_vae", **{**TINY, **change}).fit(world, n_samples=32, progress=False)
    torch.testing.assert_close(learner.exogenous_scale_, fresh.exogenous_scale_, rtol=0, atol=0)
    np.testing.assert_array_equal(learner.sample(3, seed=1), fresh.sample(3, seed=1))


def test_fine_tuning_stopped_early_keeps_no_stale_prior(world, monkeypatch):
    predictor = FactorRegressor(n_train=64, n_test=32, steps=5, batch_size=16, seed=0).fit(world)
    learner = make("causal_vae", **TINY).fit(world, n_samples=32, progress=False)
    assert learner.exogenous_mean_ is not None
    encoder = {key: value.clone() for key, value in learner.encoder_.state_dict().items()}
    original, calls = counterfactual_finetuning._predictor_targets, []

    def stop_on_third_step(*args, **kwargs):
        calls.append(None)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(counterfactual_finetuning, "_predictor_targets", stop_on_third_step)
    with pytest.raises(KeyboardInterrupt):
        counterfactual_finetuning.CounterfactualFineTuning(steps=5, lr=3e-2, batch_size=8).fit(
            learner, world, predictor=predictor, n_samples=32)
    assert any(not torch.equal(learner.encoder_.state_dict()[key], value) for key, value in encoder.items())
    assert learner.exogenous_mean_ is None and learner.exogenous_scale_ is None
    with pytest.warns(UserWarning, match="no fitted aggregate prior"):
        images = learner.sample(2, seed=0)
    np.testing.assert_array_equal(images, learner.sample(2, seed=0, prior="standard"))


def test_fine_tuning_refits_the_prior_on_every_domain(world, monkeypatch):
    """Multi-domain data are stored domain by domain: the refit must not see only the first 4096 rows."""
    from latentscm.training.data import as_training_set

    shifted = latentscm.worlds.make("pendulum", size=16, noise_std=0.3, grid=False,
                                    domains={"n_domains": 2, "shifted": ("light_position",)})
    predictor = FactorRegressor(n_train=64, n_test=32, steps=5, batch_size=16, seed=0).fit(shifted)
    learner = make("causal_vae", **TINY).fit(shifted, n_samples=32, progress=False)
    seen = []
    refit = type(learner)._fit_aggregate_prior
    monkeypatch.setattr(type(learner), "_fit_aggregate_prior", lambda self, images: (
        seen.append(images.cpu().numpy().copy()), refit(self, images))[1])
    n = 6000  # the default n_samples of fine-tuning; more than the 4096 images the refit encodes
    counterfactual_finetuning.CounterfactualFineTuning(steps=1, batch_size=8).fit(learner, shifted,
                                                                                  predictor=predictor, n_samples=n)
    data = as_training_set(shifted, n_samples=n, seed=learner.seed, owner="test")
    row_of = {image.tobytes(): row for row, image in enumerate(np.asarray(data.images, dtype=np.float32))}
    rows = [row_of[image.tobytes()] for image in seen[-1]]
    assert len(set(rows)) == len(rows) == 4096
    shares = np.bincount(data.domain[rows], minlength=2) / len(rows)
    assert np.all(np.abs(shares - 0.5) < 0.02), shares  # before: 3000 / 1096 images (0.73 / 0.27)
    assert learner.exogenous_mean_ is not None


def test_the_fallback_warning_names_the_callers_line(world):
    dae = {"unet_channels": 8, "unet_multipliers": (1, 2), "ddim_steps": 2, "timesteps": 60}
    for name, settings in (("causal_vae", {}), ("causal_diffae", dae)):
        learner = make(name, **{**TINY, "steps": 2}, **settings).fit(world, n_samples=16, progress=False)
        learner._clear_aggregate_prior()
        with pytest.warns(UserWarning, match="no fitted aggregate prior") as caught:
            learner.sample(1, seed=0)
        assert [record.filename for record in caught] == [__file__], (name, [r.filename for r in caught])
