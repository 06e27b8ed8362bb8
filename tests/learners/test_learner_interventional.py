"""Causal learners on interventional data (known targets) and with the additive decoder."""

import json

import numpy as np
import pytest
import torch

import latentscm
import latentscm.worlds
from latentscm.learners import make
from latentscm.nn.latent_scm import LatentSCM
from latentscm.testing import check_learner
from latentscm.worlds.regimes import Regime, RegimeMixture

TINY = {"channels": (8, 16), "hidden_dim": 32, "batch_size": 16, "steps": 12, "seed": 0, "extra_dims": 0}


@pytest.fixture(scope="module")
def world():
    return latentscm.worlds.make("pendulum", size=16, noise_std=0.3, grid=False)


@pytest.fixture(scope="module")
def additive(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "additive"
    learner = make("causal_vae", **TINY, decoder="additive")
    learner.fit(world, out=str(out), n_samples=128, progress=False, interventional_fraction=0.5)
    return learner, out


def test_targets_cut_the_mechanism_term(world):
    graph = world.graph
    scm = LatentSCM(world.factor_names, graph)
    u = torch.randn(6, 4)
    targets = torch.zeros(6, 4, dtype=torch.bool)
    targets[:3, 2] = True  # shadow_length intervened on in the first three samples
    with torch.no_grad():
        free, cut = scm(u), scm(u, targets=targets)
    torch.testing.assert_close(cut[:3, 2], u[:3, 2], rtol=0, atol=0)  # z_i = u_i: no parents
    assert (free[:3, 2] - u[:3, 2]).abs().min() > 0  # the mechanism adds something otherwise
    torch.testing.assert_close(cut[3:], free[3:], rtol=0, atol=0)
    torch.testing.assert_close(cut[:, [0, 1, 3]], free[:, [0, 1, 3]], rtol=0, atol=0)
    with pytest.raises(ValueError, match="targets"):
        scm(u, targets=targets[:, :2])


def test_interventional_run_records_its_regimes(additive):
    _, out = additive
    data = json.loads((out / "config.json").read_text())["data"]
    assert data["interventional_fraction"] == 0.5
    assert [r["name"] for r in data["regimes"]["regimes"]] == ["observational", "do(pendulum_angle)",
                                                              "do(light_position)", "do(shadow_length)",
                                                              "do(shadow_position)"]


def test_the_loss_receives_the_targets(world):
    seen = []

    class Spy(type(make("causal_vae"))):
        def loss(self, images, step, factors=None, targets=None):
            seen.append(None if targets is None else targets.clone())
            return super().loss(images, step, factors=factors, targets=targets)

    Spy(**{**TINY, "steps": 3}).fit(world, n_samples=64, progress=False, interventional_fraction=1.0)
    assert all(t is not None and t.shape == (16, 4) for t in seen)
    assert bool(torch.stack(seen).any(dim=2).all())  # every sample was intervened on (fraction 1)
    assert bool((torch.stack(seen).sum(dim=2) == 1).all())  # single-node regimes
    seen.clear()
    Spy(**{**TINY, "steps": 2}).fit(world, n_samples=64, progress=False)
    assert seen == [None, None]


def test_additive_counterfactual_on_an_effect_leaves_the_causes_drawn_as_they_were(additive, world):
    learner, _ = additive
    assert learner.decoder_groups_["additive"] == [["pendulum_angle"], ["light_position"],
                                                   ["shadow_length", "shadow_position"]]
    batch = world.sample(5, seed=3)
    codes = torch.from_numpy(learner.encode(batch.images))
    with torch.no_grad():
        u = learner.encoder_(torch.from_numpy(batch.images)).chunk(2, dim=1)[0]
        z_cf = learner._intervene_codes(u, learner._latent_interventions({"shadow_length": 6.0}, 5))
        before, after = learner.decoder_.contributions(codes), learner.decoder_.contributions(z_cf)
    torch.testing.assert_close(before[:2], after[:2], rtol=0, atol=1e-6)  # pendulum and light untouched
    assert (before[2] - after[2]).abs().max() > 1e-4


def test_additive_learner_conforms_and_reloads(additive, world):
    learner, out = additive
    report = check_learner(type(learner), params={"decoder": "additive", "extra_dims": 1,
                                                  "graph": "light_position -> shadow_position"}, world=world)
    assert report["bad_hyperparameters_rejected"] >= 5
    again = latentscm.load(out)
    batch = world.sample(3, seed=4)
    np.testing.assert_array_equal(again.counterfactual(batch.images, {"shadow_position": 8.0}),
                                  learner.counterfactual(batch.images, {"shadow_position": 8.0}))


def test_gain_factor_and_given_groups(world):
    learner = make("causal_vae", **{**TINY, "steps": 2}, decoder="additive",
                   decoder_groups="pendulum_angle, light_position; shadow_length, shadow_position",
                   gain_factors="")
    learner.fit(world, n_samples=32, progress=False)
    assert learner.decoder_.n_groups == 2
    glyphs = latentscm.worlds.make("glyphs", size=16)
    gained = make("causal_vae", **{**TINY, "steps": 2}, decoder="additive",
                  decoder_groups="digit, thickness, slant", gain_factors="intensity")
    gained.fit(glyphs, n_samples=32, progress=False)
    assert gained.decoder_.has_gain and gained.decoder_groups_["gain"] == ["intensity"]


def test_bad_input_is_named(world):
    with pytest.raises(ValueError, match="interventional_fraction"):
        make("causal_vae", **TINY).fit(world, n_samples=32, progress=False, interventional_fraction=1.5)
    with pytest.raises(ValueError, match="draw interventional data from a World"):
        make("causal_vae", **TINY).fit(world.sample(32, seed=0), progress=False, interventional_fraction=0.3)
    with pytest.raises(ValueError, match="decoder"):
        make("causal_vae", decoder="sum")
    with pytest.raises(ValueError, match="need decoder='additive'"):
        make("causal_vae", gain_factors="intensity")
    with pytest.raises(ValueError, match="wind"):
        make("causal_vae", **TINY, decoder="additive", gain_factors="wind").fit(world, n_samples=32, progress=False)
    from latentscm.graph import UnknownNodeError

    with pytest.raises(UnknownNodeError, match="colour"):
        make("causal_vae", **TINY).fit(world, n_samples=32, progress=False,
                                       regimes=RegimeMixture([Regime("observational"), Regime("c", {"colour": 1.0})]))


def test_cli_train_with_interventional_data_then_resume(tmp_path):
    from typer.testing import CliRunner

    from latentscm.cli import app

    runner = CliRunner()
    run = tmp_path / "run"
    common = ["--no-progress", "--threads", "1"]
    result = runner.invoke(app, ["train", "--world", "pendulum", "--learner", "causal_vae", "--size", "16",
                                 "--steps", "4", "--n-samples", "64", "--batch-size", "8", "--out", str(run),
                                 "--set", "channels=[4,8]", "--set", "hidden_dim=16", "--set", "extra_dims=0",
                                 "--set", "decoder=additive", "--world-set", "grid=false",
                                 "--world-set", "noise_std=0.3", "--checkpoint-every", "2",
                                 "--interventional-fraction", "0.25", *common])
    assert result.exit_code == 0, result.output
    data = json.loads((run / "config.json").read_text())["data"]
    assert data["interventional_fraction"] == 0.25 and len(data["regimes"]["regimes"]) == 5
    # resuming rebuilds the same interventional images (the config check would refuse otherwise)
    result = runner.invoke(app, ["resume", str(run), "--steps", "6", *common])
    assert result.exit_code == 0, result.output
    assert latentscm.load(run).n_steps_ == 6
    bad = runner.invoke(app, ["train", "--world", "pendulum", "--learner", "causal_vae", "--out", str(tmp_path / "b"),
                              "--interventional-fraction", "2", *common])
    assert bad.exit_code != 0 and "interventional_fraction" in bad.output


def test_encoder_consistency_on_recombinations(world):
    """Wiedemer et al. 2024: recombine concept groups across the batch, decode without gradient,
    and train only the encoder to recover the recombined latents."""
    learner = make("causal_vae", **{**TINY, "steps": 3}, decoder="additive", consistency_weight=1.0)
    learner.fit(world, n_samples=64, progress=False)
    assert "consistency" in learner.history_[-1]
    assert learner._recombination_groups() == [[0], [1], [2, 3]]
    batch = torch.from_numpy(world.sample(16, seed=9).images)
    z = torch.from_numpy(learner.encode(batch.numpy()))
    for module in learner._modules().values():
        module.zero_grad(set_to_none=True)
    learner._generator.manual_seed(5)
    consistency = learner._consistency(z)
    consistency.backward()
    assert float(consistency.detach()) > 0
    assert sum(float(p.grad.abs().sum()) for p in learner.encoder_.parameters() if p.grad is not None) > 0
    assert all(p.grad is None for p in learner.decoder_.parameters())  # the decoder is not bent to fit
    with pytest.raises(ValueError, match="consistency_weight"):
        make("causal_vae", consistency_weight=-1.0)
