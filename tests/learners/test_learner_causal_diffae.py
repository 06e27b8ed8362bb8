"""CausalDiffAE conditioned on labels (tiny sizes, a few training steps): guidance, partial
inversion, per-factor scales, the refiner, EMA weights, save/load and clear errors."""

import numpy as np
import pytest
import torch

import latentscm
import latentscm.worlds
from latentscm.learners import make

TINY = {"channels": (8, 16), "hidden_dim": 32, "batch_size": 16, "steps": 8, "seed": 0, "unet_channels": 8,
        "unet_multipliers": (1, 2), "ddim_steps": 4, "timesteps": 60, "ema_decay": 0.9}


@pytest.fixture(scope="module")
def world():
    return latentscm.worlds.make("pendulum", size=16, noise_std=0.3)


@pytest.fixture(scope="module")
def fitted(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "dae"
    learner = make("causal_diffae", **TINY).fit(world, out=str(out), n_samples=64, progress=False)
    return learner, out


@pytest.fixture(scope="module")
def batch(world):
    return world.sample(3, seed=1)


def test_guidance_zero_versus_positive_differs(fitted, batch):
    learner, _ = fitted
    plain = learner.counterfactual(batch.images, {"light_position": 1.2}, guidance_weight=0.0)
    guided = learner.counterfactual(batch.images, {"light_position": 1.2}, guidance_weight=3.0)
    assert np.abs(plain - guided).mean() > 1e-4
    per_factor = learner.counterfactual(batch.images, {"light_position": 1.2},
                                        guidance_weight={"light_position": 3.0})
    assert np.abs(plain - per_factor).mean() > 1e-4 and np.abs(guided - per_factor).mean() > 1e-6
    # a per-factor scale of 0 is no guidance at all
    np.testing.assert_array_equal(
        learner.counterfactual(batch.images, {"light_position": 1.2}, guidance_weight={"light_position": 0.0}),
        plain)


def test_null_counterfactual_decodes_the_inversion_under_the_factual_codes(fitted, batch):
    """No intervention: abduct (codes, x_t0) with invert, decode x_t0 under those same codes. (Comparing with
    reconstruct alone could not fail: reconstruct is the null counterfactual.)"""
    learner, _ = fitted
    for fraction in (1.0, 0.4):
        codes, x_t = learner.invert(batch.images, inversion_fraction=fraction)
        steps, top = learner._chain(None, fraction, "test")
        with torch.no_grad():
            expected = learner._decode_from(torch.from_numpy(x_t), torch.from_numpy(codes),
                                            learner._guidance(None, "test"), steps, top).numpy()
        null = learner.counterfactual(batch.images, {}, inversion_fraction=fraction)
        np.testing.assert_allclose(null, expected, atol=1e-5)
        np.testing.assert_allclose(learner.reconstruct(batch.images, inversion_fraction=fraction),
                                   learner.counterfactual(batch.images, {}, guidance_weight=0.0,
                                                          inversion_fraction=fraction), atol=1e-6)


def test_sample_draws_latents_and_start_noise_independently(fitted, monkeypatch):
    learner, _ = fitted
    seen = {}
    original = type(learner)._noise_like

    def spy(self, n, seed, what="decode", generator=None):
        seen["x_T"] = original(self, n, seed, what, generator)
        return seen["x_T"]

    monkeypatch.setattr(type(learner), "_noise_like", spy)
    images = learner.sample(4, seed=3)
    u = torch.randn((4, learner.latent_dim_), generator=torch.Generator().manual_seed(3))
    assert not torch.allclose(seen["x_T"].reshape(-1)[:u.numel()], u.reshape(-1))
    np.testing.assert_array_equal(images, learner.sample(4, seed=3))  # still seeded
    for bad in (None, "abc", 2.5, -1):
        with pytest.raises((TypeError, ValueError), match="seed"):
            learner.decode(np.zeros((1, learner.latent_dim_), dtype=np.float32), seed=bad)
    with pytest.raises(ValueError, match="one value or one per image \\(2\\)"):
        learner.counterfactual(np.zeros((2, *learner.image_shape_), dtype=np.float32),
                               {learner.factor_names_[0]: [0.1, 0.2, 0.3]})


def test_partial_inversion_keeps_more_of_the_input(fitted, batch):
    learner, _ = fitted
    x = batch.images * 2 - 1
    _, full = learner.invert(batch.images, inversion_fraction=1.0)
    _, partial = learner.invert(batch.images, inversion_fraction=0.3)
    assert np.abs(partial - x).mean() < np.abs(full - x).mean()


def test_labels_can_replace_the_encoder(fitted, batch):
    learner, _ = fitted
    by_labels = learner.invert(batch.images, factors=batch.factors)[0]
    k = len(learner.factor_names_)
    standardised = (batch.factors - learner.factor_mean_) / learner.factor_std_
    np.testing.assert_allclose(by_labels[:, :k], standardised, atol=1e-4)  # SCM(abduct(y)) == y for a DAG


def test_ema_weights_are_used_and_differ_from_the_live_weights(fitted):
    learner, _ = fitted
    assert learner._inference_unet() is learner.unet_ema_
    live = dict(learner.unet_.named_parameters())
    differences = [(p - live[name]).abs().max().item() for name, p in learner.unet_ema_.named_parameters()]
    assert max(differences) > 0
    assert not any(p.requires_grad for p in learner.unet_ema_.parameters())


def test_save_load_gives_identical_counterfactuals(fitted, batch):
    learner, out = fitted
    again = latentscm.load(out)
    for fraction in (1.0, 0.5):
        np.testing.assert_array_equal(
            again.counterfactual(batch.images, {"shadow_length": 5.0}, inversion_fraction=fraction),
            learner.counterfactual(batch.images, {"shadow_length": 5.0}, inversion_fraction=fraction))


def test_refiner_and_epsilon_and_latent_modes_train(world, batch):
    refiner = make("causal_diffae", **{**TINY, "steps": 3}, refiner=True).fit(world, n_samples=32, progress=False)
    record = refiner.history_[-1]
    # the logged loss is the one optimised: the refiner's reconstruction term is part of it (it was left out)
    assert record["loss"] >= record["recon"] + record["mse"] - 1e-6 and record["recon"] > 0
    assert refiner.counterfactual(batch.images, {"light_position": 1.2}).shape == batch.images.shape
    old_style = make("causal_diffae", **{**TINY, "steps": 3, "ema_decay": 0.0}, condition="latent", cond_mode="add",
                     label_maps=False, prediction_type="epsilon", min_snr_gamma=None)
    old_style.fit(world, n_samples=32, progress=False)
    assert old_style.counterfactual(batch.images, {"light_position": 1.2}).shape == batch.images.shape


@pytest.mark.parametrize("params, match", [
    ({"condition": "concepts"}, "condition"),
    ({"cond_mode": "concat"}, "cond_mode"),
    ({"prediction_type": "x0"}, "prediction_type"),
    ({"min_snr_gamma": 0.0}, "min_snr_gamma"),
    ({"ema_decay": 1.0}, "ema_decay"),
    ({"inversion_fraction": 0.0}, "inversion_fraction"),
    ({"factor_dropout": 1.0}, "factor_dropout"),
    ({"guidance_weight": {"light_position": -1.0}}, "guidance_weight"),
    ({"label_maps": "yes"}, "label_maps"),
    ({"timesteps": 20}, "'timesteps' parameter of CausalDiffAE"),  # the linear schedule needs T > 20
])
def test_bad_hyperparameters_are_refused(params, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make("causal_diffae", **{**TINY, **params})


def test_bad_counterfactual_arguments_are_refused(fitted, batch):
    learner, _ = fitted
    with pytest.raises(ValueError, match="inversion_fraction"):
        learner.counterfactual(batch.images, {"light_position": 1.0}, inversion_fraction=1.5)
    with pytest.raises(ValueError, match="num_steps"):
        learner.counterfactual(batch.images, {"light_position": 1.0}, num_steps=10_000)
    with pytest.raises(ValueError, match="factors"):
        learner.counterfactual(batch.images, {"light_position": 1.0}, factors=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="factors"):
        learner.counterfactual(batch.images, {}, factors=np.full(batch.factors.shape, np.nan))
    with pytest.raises(ValueError, match="not factors"):
        learner.counterfactual(batch.images, {"light_position": 1.0}, guidance_weight={"colour": 1.0})
    with pytest.raises(ValueError):
        learner.counterfactual(batch.images, {"colour": 1.0})


def test_trains_on_interventional_data_with_known_targets(world, batch):
    learner = make("causal_diffae", **{**TINY, "steps": 3}).fit(world, n_samples=32, progress=False,
                                                                 interventional_fraction=0.5)
    assert learner.uses_targets and "mechanism_fit" in learner.history_[-1]
    assert learner.counterfactual(batch.images, {"shadow_length": 5.0}).shape == batch.images.shape


def test_a_partial_chain_starts_at_the_level_its_fraction_names(world):
    # 0.07 * 100 and 0.14 * 50 land just above a whole number in floats; the chain must start at level 6
    for timesteps, fraction, top in ((100, 0.07, 6), (50, 0.14, 6), (100, 0.5, 49), (100, 1.0, 99)):
        learner = make("causal_diffae", **{**TINY, "steps": 1, "timesteps": timesteps}).fit(world, n_samples=16,
                                                                                            progress=False)
        assert learner._chain(20, fraction, "test")[1] == top, (timesteps, fraction)
