"""``latentscm active train|run`` at tiny sizes, and the HTML report of a comparison."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.report.active import agent_table, write_active_report

TRAIN = ["active", "train", "--size", "16", "--n-transitions", "16", "--n-held-out", "4", "--steps", "2",
         "--batch-size", "8", "--channels", "4,4", "--hidden-dim", "8", "--shape-dim", "2", "--pose-dim", "1"]


def test_cli_train_run_and_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, [*TRAIN, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert set(config["models"]) == {"factorised", "entangled"}
    assert config["environment"]["pose_factors"] == ["orientation"]
    assert {"free_energy", "complexity"} <= set(config["held_out"]["factorised"])
    assert (tmp_path / "run" / "factorised.pt").exists() and (tmp_path / "run" / "entangled.pt").exists()

    result = runner.invoke(app, ["active", "run", str(tmp_path / "run"), "--out", str(tmp_path / "out"), "--goals", "2",
                                 "--max-steps", "3", "--horizon", "1"])
    assert result.exit_code == 0, result.output
    assert "factorised" in result.output and "random" in result.output
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert set(results["agents"]) == {"factorised", "entangled", "random"}
    assert results["settings"]["n_goals"] == 2 and len(results["tasks"]) == 2
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Goal-reaching curves" in page and page.count("data:image/png;base64,") >= 5

    again = runner.invoke(app, [*TRAIN, "--out", str(tmp_path / "run")])
    assert again.exit_code == 2 and "already holds" in again.output
    bad = runner.invoke(app, [*TRAIN, "--out", str(tmp_path / "bad"), "--models", "factorised,nope"])
    assert bad.exit_code == 2 and "--models" in bad.output
    bad = runner.invoke(app, [*TRAIN, "--out", str(tmp_path / "bad"), "--pose-factors", "azimuth"])
    assert bad.exit_code == 2 and "Unknown pose factor 'azimuth'" in bad.output
    bad = runner.invoke(app, [*TRAIN, "--out", str(tmp_path / "bad"), "--step", "9"])
    assert bad.exit_code == 2 and "'step'" in bad.output
    missing = runner.invoke(app, ["active", "run", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "not an active-inference run" in missing.output
    diverged = runner.invoke(app, [*TRAIN, "--out", str(tmp_path / "diverged"), "--lr", "1e9"])
    assert diverged.exit_code == 2 and "lr" in diverged.output
    # a model file whose weights do not fit its recorded settings is named, not a traceback
    import torch

    state = torch.load(tmp_path / "run" / "factorised.pt", weights_only=True)
    state["params"]["shape_dim"] += 1
    del state["sha256"]  # as in a file written before digests were recorded (a digest would name the edit as damage)
    torch.save(state, tmp_path / "run" / "factorised.pt")
    mismatch = runner.invoke(app, ["active", "run", str(tmp_path / "run"), "--out", str(tmp_path / "out2"), "--goals",
                                   "1", "--max-steps", "1", "--horizon", "1"])
    assert mismatch.exit_code == 2 and "does not match its recorded parameters" in mismatch.output


def test_report_marks_the_best_agent_and_refuses_nothing(tmp_path):
    agents = {"factorised": {"success_rate": 0.9, "mean_steps": 5.0, "mean_steps_reached": 4.0,
                             "mean_free_energy": 10.0, "mean_complexity": 1.0, "reach_curve": [0.0, 0.5, 0.9]},
              "random": {"success_rate": 0.3, "mean_steps": 9.0, "mean_steps_reached": 6.0,
                         "mean_free_energy": float("nan"), "mean_complexity": float("nan"),
                         "reach_curve": [0.0, 0.1, 0.3]}}
    table = agent_table(agents)
    # factorised is best on the three numbers both agents have; a number only one agent has gets no star
    assert table.count("★") == 3 and table.count("<td>–</td>") == 2
    images = np.zeros((3, 3, 16, 16), dtype=np.float32)
    path = write_active_report({"agents": agents, "settings": {"n_goals": 2}}, tmp_path / "r.html",
                               episodes={"factorised": images}, goal_image=images[0])
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "n_goals = 2" in page and "One episode per agent" in page
    with pytest.raises(ValueError, match="at least one agent"):
        write_active_report({"agents": {}}, tmp_path / "x.html")
