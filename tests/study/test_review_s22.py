"""Regression tests of the s22 review: spec files (YAML 1.2 numbers, keys given twice, values a trial would
ignore), and a trial's records after damage or a crash."""

import json
import re

import pytest
from study_support import TINY, tiny_spec

from latentscm.study import StudySpecError, expand, load_spec
from latentscm.study.status import read_status, trial_dir, write_status


def test_yaml_exponent_floats_are_numbers(tmp_path):
    pytest.importorskip("yaml")
    (tmp_path / "spec.yaml").write_text("preset: null\nsteps: 2\nlearners:\n  beta_vae:\n"
                                        "    variants: [{beta: 4, lr: 1e-4}, {beta: 2, lr: -3E+2}]\n"
                                        "worlds:\n  sprites: {size: 16}\n")
    assert [t.params["lr"] for t in expand(tmp_path / "spec.yaml")] == [1e-4, -300.0]


@pytest.mark.parametrize("suffix, text", [
    (".yaml", "learners:\n  beta_vae: {grid: {beta: [1, 4]}}\n  beta_vae: {grid: {beta: [16]}}\n"
              "worlds: {sprites: {size: 16}}\n"),
    (".json", '{"learners": {"beta_vae": {"grid": {"beta": [1, 4], "beta": [16]}}}, "worlds": {"sprites": {}}}'),
])
def test_a_key_given_twice_in_a_spec_file_is_refused(tmp_path, suffix, text):
    if suffix == ".yaml":
        pytest.importorskip("yaml")
    path = tmp_path / f"spec{suffix}"
    path.write_text(text)
    with pytest.raises(StudySpecError, match="twice"):
        load_spec(path)


@pytest.mark.parametrize("learner, key", [
    ({"variants": [{"seed": 7}]}, "learners.beta_vae.variants[0].seed"),
    ({"params": {"device": "cuda"}}, "learners.beta_vae.params.device"),
    ({"grid": {"device": ["cpu", "cuda"]}}, "learners.beta_vae.grid.device"),
    ({"variants": [{"beta": 2.0}, {"device": "cuda"}]}, "learners.beta_vae.variants[1].device"),
    ({"params": {"beta": 100.0}, "grid": {"beta": [1.0, 4.0]}}, "learners.beta_vae.params.beta"),
])
def test_values_every_trial_would_replace_are_refused(learner, key):
    with pytest.raises(StudySpecError, match=re.escape(f"Study spec key '{key}'")):
        load_spec(tiny_spec(learners={"beta_vae": learner}))
    # a variant may still set steps, and replace a fixed param
    trials = expand(tiny_spec(learners={"beta_vae": {"params": {"beta": 1.0}, "variants": [{"steps": 3},
                                                                                          {"beta": 2.0}]}}))
    assert [(t.params["steps"], t.params["beta"]) for t in trials[::2]] == [(3, 1.0), (6, 2.0)]


def test_a_mapping_entry_naming_another_learner_or_world_is_refused():
    with pytest.raises(StudySpecError, match=re.escape("Study spec key 'learners.beta_vae.name'")):
        load_spec(tiny_spec(learners={"beta_vae": {"name": "factor_vae"}}))
    with pytest.raises(StudySpecError, match=re.escape("Study spec key 'worlds.sprites.name'")):
        load_spec(tiny_spec(worlds={"sprites": {"name": "pendulum", "options": {"size": 16}}}))
    assert load_spec(tiny_spec(learners={"beta_vae": {"name": "beta_vae"}})).learners[0].name == "beta_vae"


def test_a_damaged_or_stale_trial_json_is_rewritten(tmp_path, monkeypatch):
    """trial.json is what the DDP processes train from: damaged, it must not stop the study; from a run on another
    device (same id), it must not keep that device."""
    from latentscm.study import execute

    monkeypatch.setattr(execute, "_trained_learner", lambda *args: (object(), 0))
    spec = tiny_spec(learners={"beta_vae": {"params": dict(TINY)}}, seeds=[0], evaluation=False, processes=2)
    (trial,) = expand(spec)
    directory = trial_dir(tmp_path, trial.id)
    directory.mkdir(parents=True)
    (directory / "trial.json").write_text('{"id": "beta_vae-')
    assert execute.execute_trial(trial, tmp_path)["status"] == "done"
    assert json.loads((directory / "trial.json").read_text()) == trial.as_dict()
    (on_gpu,) = expand({**spec, "device": "cuda"})
    assert on_gpu.id == trial.id
    execute.execute_trial(on_gpu, tmp_path)
    assert json.loads((directory / "trial.json").read_text())["params"]["device"] == "cuda"


def test_a_worker_crash_before_the_trial_runs_is_recorded(tmp_path):
    from latentscm.study.runner import _record_crash

    crash = {"id": "beta_vae-000000000000", "status": "failed", "attempts": None, "error": "WorkerCrashedError: x",
             "seconds": None, "resumed_from_step": None, "crashed": True}
    assert _record_crash(tmp_path, dict(crash))["attempts"] == 1
    status = read_status(trial_dir(tmp_path, crash["id"]))
    assert status["status"] == "failed" and status["error"] == crash["error"] and len(status["errors"]) == 1
    other = {**crash, "id": "beta_vae-111111111111"}
    directory = trial_dir(tmp_path, other["id"])
    write_status(directory, {"status": "failed", "attempts": 2, "errors": [{"attempt": 2, "error": "x"}]})
    _record_crash(tmp_path, other)
    status = read_status(directory)
    assert status["attempts"] == 3 and status["error"] == crash["error"]
    write_status(directory, {"status": "done", "attempts": 3, "errors": []})
    _record_crash(tmp_path, other)
    assert read_status(directory)["status"] == "done"  # a finished trial stays finished


def test_results_csv_reads_back_booleans_and_keeps_underscored_text(tmp_path):
    """A boolean hyperparameter came back as the string 'True', and int() turned the text '1_000' into 1000."""
    from latentscm.study.results import read_results, write_results

    rows = [{"trial": "a", "param.label_maps": True, "param.graph": "1_000", "param.channels": "[8, 16]",
             "mig": float("nan"), "steps": 3, "lr": 0.5, "error": None},
            {"trial": "b", "param.label_maps": False, "param.graph": "a -> b", "param.channels": "[4]",
             "mig": 0.25, "steps": 4, "lr": 1e-4, "error": "boom"}]
    write_results(rows, tmp_path)
    back = read_results(tmp_path)
    assert [row["param.label_maps"] for row in back] == [True, False]
    assert [row["param.graph"] for row in back] == ["1_000", "a -> b"]
    assert back[0]["param.channels"] == "[8, 16]" and back[1]["lr"] == 1e-4 and back[0]["error"] is None
    assert back[0]["mig"] != back[0]["mig"] and back[1]["steps"] == 4
