"""Causal learners on the real pendulum world (tiny sizes): the graph is honoured, abduction is
exact, interventions reach effects and spare causes, runs reload, and bad input is refused."""

import numpy as np
import pytest

import latentscm
import latentscm.worlds
from latentscm.graph import CycleError
from latentscm.learners import make

TINY = {"channels": (8, 16), "hidden_dim": 32, "batch_size": 16, "steps": 12, "seed": 0}
DIFFAE_TINY = {**TINY, "unet_channels": 8, "unet_multipliers": (1, 2), "ddim_steps": 4, "timesteps": 100}


@pytest.fixture(scope="module")
def world():
    return latentscm.worlds.make("pendulum", size=16, noise_std=0.3)


@pytest.fixture(scope="module")
def causal_vae(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "cvae"
    return make("causal_vae", **TINY).fit(world, out=str(out), n_samples=128, progress=False), out


def test_world_graph_is_honoured(causal_vae, world):
    learner, _ = causal_vae
    assert learner.latent_graph_ == world.graph
    assert learner.factor_names_ == world.factor_names
    assert learner.latent_dim_ == len(world.factor_names) + 2
    mask = learner.scm_.mask.numpy()
    np.testing.assert_array_equal(mask.T, world.graph.adjacency)  # mask[child, parent]


def test_text_graph_and_learned_graph(world):
    given = make("causal_vae", **{**TINY, "steps": 2}, graph="light_position -> shadow_length")
    given.fit(world, n_samples=64, progress=False)
    assert given.latent_graph_.edges == (("light_position", "shadow_length"),)
    learned = make("causal_vae", **{**TINY, "steps": 5}, graph="learn").fit(world, n_samples=64, progress=False)
    learned.latent_graph_.topological_order()  # acyclic after fixing
    assert not learned.scm_.learn_graph


def test_counterfactual_semantics(causal_vae, world):
    learner, _ = causal_vae
    batch = world.sample(6, seed=2)
    # the null intervention is a reconstruction (abduction then prediction, nothing changed)
    np.testing.assert_allclose(learner.counterfactual(batch.images, {}), learner.reconstruct(batch.images),
                               atol=1e-6)
    z = learner.encode(batch.images)
    names = learner.factor_names_
    import torch

    with torch.no_grad():
        u = learner.encoder_(torch.from_numpy(batch.images)).chunk(2, dim=1)[0]
        cause = learner._intervene_codes(u, learner._latent_interventions({"light_position": 1.0}, 6)).numpy()
        effect = learner._intervene_codes(u, learner._latent_interventions({"shadow_length": 5.0}, 6)).numpy()
    i_light, i_angle = names.index("light_position"), names.index("pendulum_angle")
    i_len, i_pos = names.index("shadow_length"), names.index("shadow_position")
    np.testing.assert_allclose(cause[:, i_light], learner.standardise("light_position", 1.0), rtol=1e-5)
    assert np.all(cause[:, i_len] != z[:, i_len]) and np.all(cause[:, i_pos] != z[:, i_pos])  # effects move
    np.testing.assert_allclose(cause[:, i_angle], z[:, i_angle], rtol=1e-6)  # the other cause stays
    np.testing.assert_allclose(effect[:, [i_angle, i_light, i_pos]], z[:, [i_angle, i_light, i_pos]], rtol=1e-6)
    per_image = learner.counterfactual(batch.images, {"light_position": np.linspace(0.95, 2.2, 6)})
    assert per_image.shape == batch.images.shape and per_image.dtype == np.float32


def test_save_load_roundtrip(causal_vae, world):
    learner, out = causal_vae
    again = latentscm.load(out)
    batch = world.sample(4, seed=3)
    np.testing.assert_array_equal(again.encode(batch.images), learner.encode(batch.images))
    assert again.latent_graph_ == learner.latent_graph_
    np.testing.assert_array_equal(again.counterfactual(batch.images, {"light_position": 1.5}),
                                  learner.counterfactual(batch.images, {"light_position": 1.5}))


def test_bad_input(causal_vae, world):
    learner, _ = causal_vae
    images = world.sample(2, seed=0).images
    with pytest.raises(ValueError, match="Unknown intervention target 'lamp'"):
        learner.counterfactual(images, {"lamp": 1.0})
    with pytest.raises(TypeError, match="hard interventions"):
        learner.counterfactual(images, "light_position+=0.1")
    with pytest.raises(ValueError, match="needs factor labels"):
        make("causal_vae", **TINY).fit(images, progress=False)
    with pytest.raises(CycleError):
        make("causal_vae", graph="a -> b -> a")
    with pytest.raises(ValueError, match="'supervised_fraction' parameter of CausalVAE"):
        make("causal_vae", supervised_fraction=1.5)
    with pytest.raises(ValueError, match="not factors of the data"):
        make("causal_vae", **TINY, graph="lamp -> shadow_length").fit(world, n_samples=32, progress=False)


def test_partial_supervision_and_ablation_train(world):
    partial = make("causal_vae", **{**TINY, "steps": 4}, supervised_fraction=0.25).fit(world, n_samples=64,
                                                                                        progress=False)
    assert any("label_prior" in r for r in partial.history_)
    ablation = make("causal_vae", **{**TINY, "steps": 4}, label_weight=0.0, mechanism_weight=0.0)
    ablation.fit(world, n_samples=64, progress=False)
    assert ablation.counterfactual(world.sample(2, seed=0).images, {"light_position": 1.0}).shape == (2, 3, 16, 16)


def test_causal_diffae_inversion_and_counterfactual(world, tmp_path):
    learner = make("causal_diffae", **DIFFAE_TINY).fit(world, out=str(tmp_path / "dae"), n_samples=64,
                                                       progress=False)
    batch = world.sample(3, seed=1)
    codes, x_T = learner.invert(batch.images)
    assert codes.shape == (3, learner.latent_dim_) and x_T.shape == batch.images.shape
    # abduction, not re-noising: the null counterfactual decodes the image's own inverted x_T under its
    # codes (comparing with reconstruct could not fail: reconstruct is the null counterfactual)
    null = learner.counterfactual(batch.images, {})
    import torch

    from latentscm.diffusion import ddim_invert

    with torch.no_grad():
        c = torch.from_numpy(codes)
        inverted = ddim_invert(learner._model_fn, torch.from_numpy(batch.images) * 2 - 1, learner._scheduler(),
                               num_steps=learner.ddim_steps, cond=learner._full_condition(c, torch.ones_like(c)))
        expected = learner._decode_from(inverted, c, learner._guidance(None, "test"), learner.ddim_steps).numpy()
    np.testing.assert_allclose(x_T, inverted.numpy(), atol=1e-5)  # x_T is the DDIM inversion of the image
    np.testing.assert_allclose(null, expected, atol=1e-5)
    assert np.abs(null - learner.decode(codes, seed=0)).max() > 1e-3  # not a decoding of fresh noise
    cf = learner.counterfactual(batch.images, {"light_position": 1.2}, guidance_weight=1.0)
    assert cf.shape == batch.images.shape and 0.0 <= cf.min() and cf.max() <= 1.0
    assert learner.sample(2, seed=0).shape == (2, 3, 16, 16)
    again = latentscm.load(tmp_path / "dae")
    np.testing.assert_array_equal(again.encode(batch.images), learner.encode(batch.images))


@pytest.mark.parametrize("name, params", [
    ("causal_vae", {"graph": "pendulum_angle -> shadow_length; light_position -> shadow_length"}),
    ("causal_diffae", {"graph": "light_position -> shadow_position", "unet_channels": 8, "unet_multipliers": (1, 2),
                       "ddim_steps": 2, "timesteps": 50}),
])
def test_causal_learners_pass_check_learner(name, params, world):
    from latentscm.learners import get
    from latentscm.testing import check_learner

    report = check_learner(get(name), params=params, world=world)
    assert report["bad_hyperparameters_rejected"] >= 5


def test_presets_give_valid_causal_diffae_settings():
    from latentscm.learners import get
    from latentscm.training import get_preset

    for preset in ("cpu-small", "paper"):
        params = get_preset(preset).params_for("causal_diffae")
        learner = get("causal_diffae")(**params)
        assert learner.unet_channels == params["unet_channels"]
    assert get_preset("paper").params_for("causal_diffae")["ddim_steps"] == 100
    assert get_preset("cpu-small").params_for("beta_vae") == {}


def test_counterfactual_command_writes_input_model_truth_rows(causal_vae, tmp_path):
    from PIL import Image
    from typer.testing import CliRunner

    from latentscm.cli import app

    _, run = causal_vae
    out = tmp_path / "cf.png"
    result = CliRunner().invoke(app, ["counterfactual", str(run), "--do", "light_position=1.2252211349000193",
                                      "--out", str(out), "--n", "3", "--scale", "1"])
    assert result.exit_code == 0, result.output
    with Image.open(out) as picture:  # three rows (input, model, truth) of three 16-px images, 2-px padding
        assert picture.size == (3 * 18 + 2, 3 * 18 + 2)
    bad = CliRunner().invoke(app, ["counterfactual", str(run), "--do", "lamp=1", "--out", str(out)])
    assert bad.exit_code == 2 and "lamp" in bad.output


def test_resuming_with_more_steps_keeps_the_acyclicity_schedule(world, tmp_path):
    """The acyclicity weight grows over the steps the run started with: an interrupted graph-learning run
    resumed with more steps repeats the losses of the uninterrupted run step for step."""
    params = {**TINY, "steps": 6, "graph": "learn"}
    options = {"n_samples": 32, "checkpoint_every": 3, "log_every": 1, "progress": False}
    reference = make("causal_vae", **params).fit(world, out=str(tmp_path / "a"), **options)

    class Interrupt(Exception):
        pass

    def stop(learner, step):
        if step == 4:
            raise Interrupt

    with pytest.raises(Interrupt):
        make("causal_vae", **params).fit(world, out=str(tmp_path / "b"), eval_every=1, eval_hook=stop, **options)
    resumed = make("causal_vae", **{**params, "steps": 12}).fit(world, out=str(tmp_path / "b"), resume=True,
                                                                 **options)
    first = {r["step"]: r["loss"] for r in reference.history_ if r["kind"] == "train"}
    again = {r["step"]: r["loss"] for r in resumed.history_ if r["kind"] == "train" and r["step"] <= 6}
    assert again == first and resumed.schedule_steps_ == 6


@pytest.mark.parametrize("name", ["causal_vae", "causal_diffae", "cauca"])
def test_graph_text_that_does_not_parse_names_the_parameter(name):
    with pytest.raises(ValueError, match=r"'graph' parameter of \w+ is not a graph: Cannot parse graph statement"):
        make(name, graph="a -> -> b")
    with pytest.raises(CycleError, match="b -> a -> b"):
        make(name, graph="a -> b -> a")
