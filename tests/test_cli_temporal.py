"""``latentscm train --temporal``: a learner of transitions trains on a TemporalWorld, resumes and is evaluated with
CITRIS's R² matrix."""

from __future__ import annotations

import json

import pytest

from cli_support import invoke, refused
from latentscm.cli.assignments import parse_temporal

SMALL = ["--world", "hue-sprites", "--size", "16", "--steps", "4", "--n-samples", "64", "--batch-size", "16",
         "--no-progress"]


def test_parse_temporal():
    assert parse_temporal(None) is None
    parsed = parse_temporal(["variables=scale,posX,hue", "edges=scale->posX; posX->hue, scale->hue",
                             "intervention_prob=0.1"])
    assert parsed == {"variables": ["scale", "posX", "hue"], "parents": {"posX": ["scale"], "hue": ["posX", "scale"]},
                      "intervention_prob": 0.1}
    with pytest.raises(ValueError, match="PARENT->CHILD"):
        parse_temporal(["edges=scale posX"])
    with pytest.raises(ValueError, match="got seed"):
        parse_temporal(["seed=1"])


def test_train_resume_and_evaluate_a_temporal_run(tmp_path):
    run = tmp_path / "run"
    result = invoke(["train", "--learner", "citris", *SMALL, "--temporal", "variables=scale,posX,hue",
                     "--temporal", "edges=scale->posX;posX->hue", "--out", run])
    assert result.exit_code == 0, result.output
    data = json.loads((run / "config.json").read_text())["data"]
    assert data["temporal"]["variables"] == ["scale", "posX", "hue"]
    assert data["temporal"]["parents"] == {"posX": ["scale"], "hue": ["posX"]}
    assert data["temporal"]["sequence_length"] == 50
    assert data["factor_names"] == ["scale", "posX", "hue"]
    resumed = invoke(["resume", run, "--steps", "6", "--no-progress"])
    assert resumed.exit_code == 0, resumed.output
    evaluated = invoke(["evaluate", run])
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 6
    assert -1.0 <= metrics["metrics"]["temporal.r2_diag"] <= 1.0
    assert any("CITRIS" in note for note in metrics["notes"])


def test_a_learner_of_transitions_gets_the_default_process(tmp_path):
    result = invoke(["train", "--learner", "citris", *SMALL, "--out", tmp_path / "run"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert data["temporal"]["variables"] == ["scale", "posX", "posY", "hue"]


def test_temporal_refusals(tmp_path):
    refused(invoke(["train", "--learner", "beta_vae", *SMALL, "--temporal", "noise=0.1", "--out", tmp_path / "a"]),
            "--temporal", "BetaVAE")
    refused(invoke(["train", "--learner", "citris", *SMALL, "--temporal", "foo=1", "--out", tmp_path / "b"]),
            "--temporal takes", "foo")
    refused(invoke(["train", "--learner", "citris", *SMALL, "--temporal", "variables=shape", "--out", tmp_path / "c"]),
            "categorical")


def test_the_report_shows_the_temporal_headline(tmp_path):
    run = tmp_path / "run"
    assert invoke(["train", "--learner", "citris", *SMALL, "--out", run]).exit_code == 0
    assert invoke(["evaluate", run]).exit_code == 0
    result = invoke(["report", run, "--out", tmp_path / "report.html"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report.html").read_text()
    assert "R² diag (temporal)" in page and "R² max off-diag (temporal)" in page


def test_tdrl_trains_on_a_noise_coupled_process_and_is_scored_with_mcc_and_its_graph(tmp_path):
    run = tmp_path / "run"
    result = invoke(["train", "--learner", "tdrl", *SMALL, "--temporal", "intervention_prob=0",
                     "--temporal", "noise_coupling=1", "--out", run])
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["temporal"]["noise_coupling"] == 1.0
    assert config["data"]["temporal"]["intervention_prob"] == 0.0
    assert invoke(["resume", run, "--steps", "6", "--no-progress"]).exit_code == 0
    evaluated = invoke(["evaluate", run, "--n", "300"])  # 30 counterfactual sequences
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 6
    assert 0.0 <= metrics["metrics"]["temporal.mcc"] <= 1.0
    assert 0.0 <= metrics["metrics"]["temporal.jacobian_auroc"] <= 1.0
    assert metrics["metrics"]["temporal.cf_pixel_error"] > 0 and "temporal.cf_excess" in metrics["metrics"]
    assert any("jacobian_auroc" in note for note in metrics["notes"])
    result = invoke(["report", run, "--out", tmp_path / "report.html"])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report.html").read_text()
    assert "MCC (temporal)" in page and "graph AUROC (temporal)" in page and "CF excess (temporal)" in page
    refused(invoke(["train", "--learner", "beta_vae", *SMALL, "--temporal", "noise_coupling=1", "--out",
                    tmp_path / "b"]), "learners that do: citris, tdrl")


def test_counterfactual_sequences_of_a_temporal_run(tmp_path):
    import numpy as np
    from PIL import Image

    from latentscm.cli.counterfactual import temporal_counterfactual_rows
    from latentscm.report.images import image_grid
    from latentscm.run import load, read_config
    from latentscm.training.resume import temporal_from_config, world_from_config

    run = tmp_path / "run"
    assert invoke(["train", "--learner", "tdrl", *SMALL, "--temporal", "intervention_prob=0",
                   "--temporal", "noise_coupling=1", "--out", run]).exit_code == 0
    out = tmp_path / "cf.png"
    result = invoke(["counterfactual", run, "--do", "posX=0", "--at", "2", "--length", "5", "--n", "2",
                     "--scale", "1", "--out", out])
    assert result.exit_code == 0, result.output
    assert "factual | model counterfactual | true counterfactual" in result.output and "step 2" in result.output
    learner, config = load(run), read_config(run)
    temporal = temporal_from_config(config, world_from_config(config, run), run)
    rows = temporal_counterfactual_rows(learner, temporal, {"posX": 0.0}, n=2, length=5, at=2, seed=0)
    assert len(rows) == 6 and all(row.shape == (5, 3, 16, 16) for row in rows)
    np.testing.assert_array_equal(np.asarray(Image.open(out).convert("RGB")), image_grid(rows, scale=1))
    factual, model, truth = rows[:3]
    np.testing.assert_array_equal(factual, temporal.sample(2, 5, seed=0).images[0])
    np.testing.assert_array_equal(truth[:2], factual[:2])  # the true sequence changes from the step on
    assert not np.array_equal(truth[2], factual[2])
    np.testing.assert_allclose(model[:2], learner.reconstruct(factual[:2]), atol=1e-6)  # before it: the factual codes
    refused(invoke(["counterfactual", run, "--do", "shape=1", "--out", tmp_path / "a.png"]),
            "'shape', not a causal variable")
    refused(invoke(["counterfactual", run, "--do", "posX+=0.1", "--out", tmp_path / "s.png"]),
            "hard interventions (a value) only")
    refused(invoke(["counterfactual", run, "--do", "posX=0.5", "--at", "4", "--length", "5", "--out",
                    tmp_path / "b.png"]), "--at must lie in [0, 3]")
    static = tmp_path / "static"
    assert invoke(["train", "--learner", "beta_vae", *SMALL, "--out", static]).exit_code == 0
    refused(invoke(["counterfactual", static, "--do", "posX=0.5", "--at", "2", "--out", tmp_path / "c.png"]),
            "not trained on a temporal process")
