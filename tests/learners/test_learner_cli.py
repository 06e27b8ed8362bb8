"""`latentscm train`, `resume` and `evaluate` end to end on a tiny run (in process)."""

import json

import numpy as np
from typer.testing import CliRunner

import latentscm
from latentscm.cli import app
from latentscm.cli.train import parse_assignments
from latentscm.training.checkpoint import list_checkpoints
from latentscm.training.logs import read_log

TINY = ["--world", "learners_support:TinyBlobs", "--size", "16", "--n-samples", "64", "--batch-size", "8",
        "--set", "channels=[4,8]", "--set", "hidden_dim=16", "--set", "latent_dim=3", "--no-progress",
        "--threads", "1"]


def test_train_resume_evaluate(tmp_path):
    runner = CliRunner()
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "--learner", "beta_vae", "--steps", "6", "--out", str(run),
                                 "--checkpoint-every", "3", "--log-every", "2", "--eval-every", "3",
                                 "--set", "beta=2", *TINY])
    assert result.exit_code == 0, result.output
    assert "Saved to" in result.output
    config = json.loads((run / "config.json").read_text())
    assert config["learner"]["params"]["beta"] == 2 and config["learner"]["params"]["channels"] == [4, 8]
    assert config["learner"]["params"]["lr"] == 5e-4  # from the cpu-small preset
    assert [r["step"] for r in read_log(run) if r["kind"] == "eval"] == [3, 6]

    result = runner.invoke(app, ["resume", str(run), "--steps", "9", "--no-progress"])
    assert result.exit_code == 2 and "learners_support:TinyBlobs" in result.output  # a test module's world
    result = runner.invoke(app, ["resume", str(run), "--steps", "9", "--no-progress", "--trust-code"])
    assert result.exit_code == 0, result.output
    assert [s for s, _ in list_checkpoints(run / "checkpoints")][-1] == 9
    assert latentscm.load(run).n_steps_ == 9

    result = runner.invoke(app, ["evaluate", str(run), "--n", "64", "--metrics", "mig", "--trust-code"])
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "metrics.json").read_text())
    assert summary["steps"] == 9 and summary["n"] == 64
    metrics = summary["metrics"]
    assert metrics["reconstruction.mse"] > 0 and 0 <= metrics["active_units"] <= 3
    assert 0.0 <= metrics["mig"] <= 1.0
    # the command is one call of metrics.evaluate: the same numbers for the same samples
    from learners_support import TinyBlobs

    from latentscm.metrics import evaluate
    direct = evaluate(latentscm.load(run), TinyBlobs(size=16), suite=["mig"], n=64, seed=2024)
    assert metrics["mig"] == direct["mig"] and metrics["active_units"] == direct["activity.n_active"]
    result = runner.invoke(app, ["evaluate", str(run), "--n", "64", "--metrics", " , ", "--trust-code"])
    assert result.exit_code == 2 and "--metrics must name a suite" in result.output


def test_cli_errors_are_clear(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--learner", "nope", "--steps", "2", "--out", str(tmp_path / "x"), *TINY])
    assert result.exit_code == 2 and "Unknown learner 'nope'" in result.output
    result = runner.invoke(app, ["train", "--learner", "qlae", "--steps", "2", "--out", str(tmp_path / "x"),
                                 "--set", "n_values=1", *TINY])
    assert result.exit_code == 2 and "'n_values' parameter of QLAE" in result.output
    result = runner.invoke(app, ["resume", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "does not exist" in result.output
    args = ["train", "--learner", "ae", "--steps", "2", "--out", str(tmp_path / "y"), *TINY]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "already holds a run" in result.output


def test_parse_assignments():
    assert parse_assignments(["beta=4", "likelihood=gaussian", "channels=[8, 16]", "anneal_steps=none",
                              "lr=1e-3"]) == {"beta": 4, "likelihood": "gaussian", "channels": [8, 16],
                                              "anneal_steps": None, "lr": 1e-3}
    assert np.isclose(parse_assignments(["gamma=6.5"])["gamma"], 6.5)


def test_explicit_options_beat_the_preset_and_zero_is_rejected(tmp_path, monkeypatch):
    """The preset fills in only what is not given: its per-learner params lose to --batch-size / --lr, and an
    explicit 0 reaches the learner (which rejects it by name) instead of turning into the preset's value."""
    from latentscm.learners.base import Learner

    seen = {}

    def fake_fit(self, data, **options):  # no training: record what the command built
        seen.update(batch_size=self.batch_size, lr=self.lr, steps=self.steps, **options)
        self.history_ = []
        return self

    monkeypatch.setattr(Learner, "fit", fake_fit)
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--learner", "causal_diffae", "--world", "pendulum", "--batch-size", "8",
                                 "--lr", "1e-5", "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert (seen["batch_size"], seen["lr"], seen["steps"]) == (8, 1e-5, 3000)  # steps: the preset's
    monkeypatch.undo()  # the real fit: each 0 is rejected before any training
    for option, name in (("--steps", "'steps'"), ("--batch-size", "'batch_size'"), ("--n-samples", "'n_samples'"),
                         ("--checkpoint-every", "'checkpoint_every'"), ("--log-every", "'log_every'")):
        result = runner.invoke(app, ["train", "--learner", "beta_vae", "--steps", "2", "--out", str(tmp_path / "b"),
                                     *TINY, option, "0"])
        assert result.exit_code == 2 and name in result.output and "Got 0" in result.output, (option, result.output)
        assert not (tmp_path / "b").exists()


def test_resume_of_a_saved_model_is_refused_by_name(tmp_path, tiny_world):
    """A directory written by learner.save records no training run (no "training" entry): not resumable."""
    from latentscm.learners.vae import BetaVAE

    vae = BetaVAE(latent_dim=3, channels=(4, 8), hidden_dim=16, batch_size=8, steps=2)
    vae.fit(tiny_world, n_samples=16, progress=False).save(str(tmp_path / "saved"))
    result = CliRunner().invoke(app, ["resume", str(tmp_path / "saved"), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "config.json" in result.output and "a saved model (learner.save), not a resumable run" in result.output
