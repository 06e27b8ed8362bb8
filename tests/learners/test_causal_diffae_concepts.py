"""CausalDiffAE conditioned on the frozen concepts of a trained CausalVAE (tiny sizes): the
concept model stays frozen, abduction and interventions go through it, the refiner renders its
decoding, saved runs embed it, and a changed concept model is refused on resume."""

import shutil

import numpy as np
import pytest
import torch

import latentscm
import latentscm.worlds
from latentscm.learners import make

CVAE = {"channels": (8, 16), "hidden_dim": 32, "batch_size": 16, "steps": 6, "seed": 0, "extra_dims": 1}
DAE = {"batch_size": 16, "steps": 6, "seed": 0, "unet_channels": 8,
       "unet_multipliers": (1, 2), "ddim_steps": 4, "timesteps": 60, "ema_decay": 0.9, "condition": "concepts"}


@pytest.fixture(scope="module")
def world():
    return latentscm.worlds.make("pendulum", size=16, noise_std=0.3)


@pytest.fixture(scope="module")
def concept_run(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cvae"
    make("causal_vae", **CVAE).fit(world, out=str(out), n_samples=48, progress=False)
    return out


@pytest.fixture(scope="module")
def fitted(world, concept_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "dae"
    learner = make("causal_diffae", concept_model=str(concept_run), refiner=True, **DAE)
    learner.fit(world, out=str(out), n_samples=48, progress=False)
    return learner, out


def test_concept_model_is_frozen_and_abducts(fitted, concept_run, world):
    learner, _ = fitted
    concept = latentscm.load(concept_run)
    batch = world.sample(4, seed=3)
    # the codes are the concept model's codes, unchanged by training the denoiser
    np.testing.assert_array_equal(learner.encode(batch.images), concept.encode(batch.images))
    assert set(learner._modules()) == {"unet", "unet_ema"}
    assert not any(p.requires_grad for p in learner.concept_model_.scm_.parameters())
    # interventions are standardised like the concept model's
    np.testing.assert_array_equal(learner.factor_mean_, concept.factor_mean_)
    # the refiner's coarse image is the concept model's own decoding of the codes
    codes = torch.from_numpy(concept.encode(batch.images))
    with torch.no_grad():
        coarse = learner._coarse(codes).numpy()
    np.testing.assert_allclose((coarse + 1) / 2, concept.decode(codes.numpy()), atol=1e-6)


def test_counterfactual_uses_concept_scm(fitted, world):
    learner, _ = fitted
    batch = world.sample(3, seed=4)
    cf = learner.counterfactual(batch.images, {"light_position": float(batch.factors[:, 1].max() + 1.0)})
    assert cf.shape == batch.images.shape and np.isfinite(cf).all()
    same = learner.counterfactual(batch.images, {})
    assert np.abs(cf - same).mean() > 1e-5  # the condition reaches the denoiser


def test_saved_run_embeds_the_concept_model(fitted, concept_run, world, tmp_path):
    learner, out = fitted
    batch = world.sample(2, seed=5)
    # the run must load without the concept model's directory
    moved = tmp_path / "gone"
    concept_run.rename(moved)
    try:
        loaded = latentscm.load(out)
        np.testing.assert_array_equal(loaded.reconstruct(batch.images), learner.reconstruct(batch.images))
    finally:
        moved.rename(concept_run)


def test_resume_refuses_a_changed_concept_model(world, concept_run, tmp_path):
    changed = tmp_path / "cvae2"
    shutil.copytree(concept_run, changed)
    out = tmp_path / "dae"
    make("causal_diffae", concept_model=str(changed), **{**DAE, "steps": 4}).fit(
        world, out=str(out), n_samples=32, progress=False, checkpoint_every=2)
    # replace the concept model's run with one trained from another seed: its weights change
    other = tmp_path / "other"
    make("causal_vae", **{**CVAE, "seed": 1}).fit(world, out=str(other), n_samples=48, progress=False)
    shutil.rmtree(changed)
    shutil.copytree(other, changed)
    with pytest.raises(ValueError, match="not the one"):
        make("causal_diffae", concept_model=str(changed), **{**DAE, "steps": 6}).fit(
            world, out=str(out), n_samples=32, progress=False, resume=True)


def test_bad_concept_model_arguments(world, tmp_path, concept_run):
    with pytest.raises(ValueError, match="go together"):
        make("causal_diffae", **{**DAE, "condition": "labels"}, concept_model=str(concept_run))
    with pytest.raises(ValueError, match="go together"):
        make("causal_diffae", **DAE)
    with pytest.raises(TypeError, match="concept_model"):
        make("causal_diffae", concept_model=3, **DAE)
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        make("causal_diffae", concept_model=str(tmp_path / "missing"), **DAE).fit(world, n_samples=16,
                                                                                  progress=False)
    other = latentscm.worlds.make("glyphs", size=16)
    with pytest.raises(ValueError, match="factors"):
        make("causal_diffae", concept_model=str(concept_run), **DAE).fit(other, n_samples=16, progress=False)


@pytest.mark.parametrize("graph", ["none", "learn", "shadow_length -> pendulum_angle"])
def test_a_graph_other_than_the_concept_models_is_refused(world, concept_run, graph):
    """The frozen concept model's latent SCM does the interventions: a 'graph' naming another one would
    be ignored, so it is refused (naming the parameter), and the concept model's own graph is accepted."""
    learner = make("causal_diffae", concept_model=str(concept_run), graph=graph, **DAE)
    with pytest.raises(ValueError, match="'graph' parameter of CausalDiffAE"):
        learner.fit(world, n_samples=16, progress=False)
    assert not hasattr(learner, "unet_")  # the rejected fit left the learner unfitted
    own = latentscm.load(concept_run).latent_graph_
    text = "; ".join(f"{parent} -> {child}" for parent, child in own.edges)
    fitted = make("causal_diffae", concept_model=str(concept_run), graph=text, **{**DAE, "steps": 1})
    assert fitted.fit(world, n_samples=16, progress=False).latent_graph_ == own


@pytest.mark.parametrize("setting", [{"beta": 0.1}, {"channels": (8, 16)},
                                     {"extra_dims": 2, "mechanism": "post_nonlinear"}])
def test_parameters_the_concept_model_replaces_are_refused(world, concept_run, tmp_path, setting):
    learner = make("causal_diffae", concept_model=str(concept_run), **DAE, **setting)
    with pytest.raises(ValueError, match="would be ignored") as error:
        learner.fit(world, out=str(tmp_path / "run"), n_samples=48, progress=False)
    assert all(repr(name) in str(error.value) for name in setting)
    assert not (tmp_path / "run").exists()


def test_a_preset_leaves_out_what_the_concept_model_replaces():
    from latentscm.training import get_preset

    preset = get_preset("cpu-small")
    assert {"channels", "hidden_dim"} <= set(preset.params_for("causal_diffae"))
    concepts = preset.params_for("causal_diffae", {"condition": "concepts", "concept_model": "runs/cvae"})
    assert "channels" not in concepts and "hidden_dim" not in concepts and concepts["unet_channels"] == 16
    # a value the user chose stays theirs (it wins over the preset's, and the learner refuses it by name)
    assert "hidden_dim" not in preset.params_for("causal_diffae", {"condition": "concepts", "channels": [8]})


def test_train_cli_with_a_preset_trains_on_concepts(concept_run, tmp_path):
    from typer.testing import CliRunner

    from latentscm.cli import app

    result = CliRunner().invoke(app, ["train", "--learner", "causal_diffae", "--world", "pendulum", "--preset",
                                      "cpu-small", "--size", "16", "--steps", "2", "--n-samples", "32", "--no-progress",
                                      "--world-set", "noise_std=0.3", "--set", "condition=concepts",
                                      "--set", f"concept_model={concept_run}", "--set", "unet_channels=8",
                                      "--set", "timesteps=60", "--set", "ddim_steps=4", "--out",
                                      str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert latentscm.load(tmp_path / "run").condition == "concepts"
