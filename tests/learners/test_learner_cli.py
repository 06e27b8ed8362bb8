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
