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
                                                 "data": {"n_samples": 999, "regimes": {
                                                     "regimes": [{"name": "observational"}, {"name": "do(a)"}],
                                                     "fractions": [0.7, 0.3]}}}))
    with pytest.raises(ValueError, match=r"causal_vae run trained with n_samples=999, not the asked n_samples=6000"):
        run_quickstart(tmp_path, QuickstartConfig(), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # refused before any work


def _record_run(out, name: str, *, params: dict, data: dict) -> None:
    run = out / "runs" / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"learner": {"params": params}, "data": data}))


def test_run_quickstart_refuses_runs_of_other_learner_arguments_or_data(tmp_path, monkeypatch):
    """Regression: only steps, seed and n_samples were compared; a run of another beta, world noise or
    interventional fraction was reused and metrics.json recorded the asked settings."""
    config = tiny_config()
    asked = {**config.common_params, **config.learner_params["beta_vae"], "steps": 12, "seed": 0}
    asked["channels"] = list(asked["channels"])
    data = {"world": "pendulum", "n_samples": 256, "options": {"size": 16, "noise_std": 0.3, "grid": False},
            "regimes": {"regimes": [{"name": "observational"}, {"name": "do(light_position)"}],
                        "fractions": [0.7, 0.3]}}
    _record_run(tmp_path / "beta", "beta_vae", params={**asked, "beta": 1.0}, data=data)
    with pytest.raises(ValueError, match=r"beta_vae run trained with beta=1.0, not the asked beta=4.0"):
        run_quickstart(tmp_path / "beta", config, progress=False)
    _record_run(tmp_path / "noise", "beta_vae", params=asked,
                data={**data, "options": {**data["options"], "noise_std": 0.1}})
    with pytest.raises(ValueError, match=r"noise_std=0.1, not the asked noise_std=0.3"):
        run_quickstart(tmp_path / "noise", config, progress=False)
    _record_run(tmp_path / "observational", "beta_vae", params=asked, data={k: v for k, v in data.items()
                                                                              if k != "regimes"})
    with pytest.raises(ValueError, match=r"interventional_fraction=0.0, not the asked interventional_fraction=0.3"):
        run_quickstart(tmp_path / "observational", config, progress=False)
    for name in ("beta", "noise", "observational"):  # refused before any work
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["runs"]
    _record_run(tmp_path / "same", "beta_vae", params=asked, data=data)  # the asked settings: not refused

    def stop(*args, **kwargs):
        raise RuntimeError("past the check")

    monkeypatch.setattr("latentscm.worlds.make", stop)
    with pytest.raises(RuntimeError, match="past the check"):
        run_quickstart(tmp_path / "same", config, progress=False)


def test_run_quickstart_refuses_metrics_of_other_evaluation_settings(tmp_path):
    """Regression: runs/<name>/metrics.json computed with another n_eval was reused under the asked one."""
    config = tiny_config()
    (tmp_path / "runs" / "beta_vae").mkdir(parents=True)
    (tmp_path / "runs" / "beta_vae" / "metrics.json").write_text(json.dumps({"mig": 0.1}))
    recorded = dict(vars(config))
    (tmp_path / "metrics.json").write_text(json.dumps({"config": {**recorded, "n_eval": 500}}, default=list))
    with pytest.raises(ValueError, match=r"metrics computed with n_eval=500, not the asked n_eval=200"):
        run_quickstart(tmp_path, config, progress=False)
