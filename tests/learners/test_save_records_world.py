"""A model fitted in memory and then saved records what it was trained on, so the commands that compare with the
world's exact ground truth (``latentscm counterfactual``) work on the saved directory; it stays a saved model,
which ``resume`` refuses. A model loaded from a run and saved elsewhere carries the entry along."""

import json

import pytest
from typer.testing import CliRunner

import latentscm
import latentscm.worlds
from latentscm.cli import app
from latentscm.learners import make
from latentscm.training.resume import resume

TINY = {"latent_dim": 3, "channels": (4, 8), "hidden_dim": 16, "batch_size": 8, "steps": 2, "seed": 0}


@pytest.fixture(scope="module")
def world():
    return latentscm.worlds.make("pendulum", size=16, grid=False)


def test_a_model_fitted_in_memory_saves_its_world(world, tmp_path):
    saved = tmp_path / "saved"
    make("beta_vae", **TINY).fit(world, n_samples=16, progress=False).save(str(saved))
    config = json.loads((saved / "config.json").read_text())
    assert config["data"]["kind"] == "world" and config["data"]["world"] == "pendulum"
    assert config["data"]["options"]["grid"] is False and "training" not in config
    result = CliRunner().invoke(app, ["counterfactual", str(saved), "--do", "light_position=1.2", "--n", "2",
                                      "--out", str(tmp_path / "cf.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cf.png").stat().st_size > 0
    with pytest.raises(ValueError, match="a saved model \\(learner.save\\), not a resumable run"):
        resume(saved, progress=False)


def test_a_loaded_run_saved_elsewhere_keeps_its_world(world, tmp_path):
    make("beta_vae", **TINY).fit(world, out=str(tmp_path / "run"), n_samples=16, progress=False)
    latentscm.load(str(tmp_path / "run")).save(str(tmp_path / "copy"))
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert json.loads((tmp_path / "copy" / "config.json").read_text())["data"] == recorded
