"""The main job end to end on a tiny budget: data, two trained runs, metrics, report; a second run
reuses everything; an interrupted run is resumed, not restarted."""

import json
import time

import pytest

from latentscm.quickstart import QuickstartConfig, run_quickstart


def tiny_config() -> QuickstartConfig:
    config = QuickstartConfig(n_samples=256, n_eval=200, n_counterfactual=16, regressor_steps=40, size=16)
    config.steps = {"beta_vae": 12, "causal_vae": 12}
    config.common_params = {"channels": (8, 16), "hidden_dim": 32, "batch_size": 32}
    return config


def test_quickstart_end_to_end_and_reuse(tmp_path):
    summary = run_quickstart(tmp_path, tiny_config(), progress=False)
    assert (tmp_path / "report.html").exists()
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert set(written["runs"]) == {"beta_vae", "causal_vae"}
    for metrics in written["runs"].values():
        assert "mig" in metrics and "dci.disentanglement" in metrics
        assert "cf.true_error" in metrics and "cf.effectiveness" in metrics and "cf.reversibility" in metrics
    assert summary["runs"] == written["runs"]
    html = (tmp_path / "report.html").read_text()
    assert '<th scope="row">truth</th>' in html and 'id="metrics"' in html
    data = json.loads((tmp_path / "runs" / "causal_vae" / "config.json").read_text())["data"]
    assert data["regimes"]["fractions"][0] == 0.7  # the shipped configuration: 30% interventional images
    model_times = {name: (tmp_path / "runs" / name / "model.pt").stat().st_mtime for name in written["runs"]}

    time.sleep(0.01)
    again = run_quickstart(tmp_path, tiny_config(), progress=False)
    assert again["runs"] == written["runs"]  # metrics read back, not recomputed
    for name, mtime in model_times.items():  # models loaded, not retrained
        assert (tmp_path / "runs" / name / "model.pt").stat().st_mtime == mtime


def test_quickstart_resumes_an_interrupted_run(tmp_path):
    config = tiny_config()
    run_quickstart(tmp_path, config, progress=False)
    run = tmp_path / "runs" / "causal_vae"
    (run / "model.pt").unlink()  # as if killed after the last checkpoint but before the final save
    (run / "metrics.json").unlink()
    run_quickstart(tmp_path, config, progress=False)
    assert (run / "model.pt").exists() and (run / "metrics.json").exists()


def test_run_quickstart_refuses_runs_trained_with_other_settings_before_any_work(tmp_path):
    """Regression: the Python API reused runs of other steps/seed/n_samples and recorded the new settings."""
    run = tmp_path / "runs" / "causal_vae"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"learner": {"params": {"steps": 1500, "seed": 0}},
                                                 "data": {"n_samples": 999}}))
    with pytest.raises(ValueError, match=r"causal_vae run trained with n_samples=999, not the asked n_samples=6000"):
        run_quickstart(tmp_path, QuickstartConfig(), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # refused before any work
