"""Studies on the sequential executor: failures recorded, re-runs idempotent, trials are run
directories, the results table and the command line."""

import json

import pytest
from study_support import TINY, fingerprint, tiny_spec
from typer.testing import CliRunner

from latentscm import study
from latentscm.study.results import BOOKKEEPING, RESULTS_CSV
from latentscm.study.status import trial_dir


def failing_spec():
    """One learner, β in [1, -4] (β < 0 is refused by BetaVAE) × 2 seeds."""
    return tiny_spec(learners={"beta_vae": {"params": dict(TINY), "grid": {"beta": [1.0, -4.0]}}})


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    result = study.run(failing_spec(), out, executor="sequential", threads=1, retries=1, progress=False)
    return out, result


def test_a_failing_trial_is_recorded_and_the_others_finish(finished):
    out, result = finished
    assert result.counts() == {"done": 2, "failed": 2, "running": 0, "pending": 0}
    for row in result.rows:
        if row["param.beta"] < 0:
            assert row["status"] == "failed" and row["attempts"] == 2  # one retry
            assert row["error"] == "ValueError: The 'beta' parameter of BetaVAE must be a float >= 0. Got -4.0 instead."
            assert row["mig"] is None
            status = json.loads((trial_dir(out, row["trial"]) / "status.json").read_text())
            assert [e["attempt"] for e in status["errors"]] == [1, 2]
            assert "Traceback" in status["errors"][0]["traceback"]
        else:
            assert row["status"] == "done" and row["attempts"] == 1 and row["error"] is None
            assert 0 <= row["mig"] <= 1 and 0 <= row["mcc"] <= 1 and row["reconstruction.mse"] > 0


def test_the_table_on_disk_is_the_table_returned(finished):
    out, result = finished
    assert study.read_results(out) == result.rows
    columns = list(result.rows[0])
    assert columns[:6] == ["trial", "status", "learner", "world", "seed", "steps"]
    assert columns.index("param.beta") < columns.index("world.size") < columns.index("attempts")
    assert study.results.metric_columns(result.rows) == ["mcc", "mig", "reconstruction.bce", "reconstruction.mse"]
    assert not [c for c in columns if c.startswith("time.")]
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name], "temporary files left behind"


def test_rerunning_skips_finished_trials_without_touching_them(finished, tmp_path):
    out, first = finished
    done = [r["trial"] for r in first.rows if r["status"] == "done"]
    before = {trial: fingerprint(trial_dir(out, trial)) for trial in done}
    again = study.run(failing_spec(), out, executor="sequential", threads=1, retries=0, progress=False)
    assert sorted(again.skipped) == sorted(done)
    assert {trial: fingerprint(trial_dir(out, trial)) for trial in done} == before
    failed = [r for r in again.rows if r["status"] == "failed"]
    assert len(failed) == 2 and all(r["attempts"] == 3 for r in failed)  # failed trials are retried on a re-run
    drop = set(BOOKKEEPING)
    assert [{k: v for k, v in r.items() if k not in drop} for r in again.rows] == \
           [{k: v for k, v in r.items() if k not in drop} for r in first.rows]


def test_a_trial_is_a_run_directory(finished):
    """`latentscm resume` and `latentscm evaluate` accept a trial directory, and the table reads
    the metrics.json that `evaluate` writes."""
    import latentscm
    from latentscm.cli.train import evaluate_run
    from latentscm.training import resume

    out, result = finished
    row = next(r for r in result.rows if r["status"] == "done")
    directory = trial_dir(out, row["trial"])
    learner = latentscm.load(directory)
    assert type(learner).__name__ == "BetaVAE" and learner.beta == row["param.beta"] and learner.n_steps_ == 6
    resumed = resume(directory, steps=8, progress=False)
    assert resumed.n_steps_ == 8
    summary = evaluate_run(directory, n=64, metrics="mig")
    trials = study.expand(failing_spec())
    rows = study.results.collect_results(trials, out)
    assert next(r for r in rows if r["trial"] == row["trial"])["mig"] == summary["metrics"]["mig"]


def test_command_line_run_show_and_report(tmp_path):
    from latentscm.cli import app

    spec = tiny_spec(learners={"beta_vae": {"params": dict(TINY)}}, seeds=[3])
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "study"
    runner = CliRunner()
    result = runner.invoke(app, ["study", "run", str(path), "--out", str(out), "--executor", "sequential",
                                 "--threads", "1", "--no-progress", "--no-report"])
    assert result.exit_code == 0, result.output
    assert "1 trials: 1 done, 0 failed (0 already finished, 1 run now)" in result.output
    assert (out / RESULTS_CSV).is_file() and (out / "study.json").is_file()
    shown = runner.invoke(app, ["study", "show", str(path), "--out", str(out)])
    assert shown.exit_code == 0 and shown.output.startswith("done") and "seed 3" in shown.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**spec, "seeds": "many"}))
    refused = runner.invoke(app, ["study", "run", str(bad), "--out", str(out), "--executor", "sequential"])
    assert refused.exit_code == 2 and "Study spec key 'seeds'" in refused.output
    missing = runner.invoke(app, ["study", "report", str(tmp_path)])
    assert missing.exit_code == 2 and "not a study directory" in missing.output
    unknown = runner.invoke(app, ["study", "report", str(out), "--metric", "nosuch"])
    assert unknown.exit_code == 2 and "--metric must be a metric of the study" in unknown.output
    assert "build_study_report" not in unknown.output


def test_ray_missing_or_refused_is_explained(monkeypatch, tmp_path):
    from latentscm.study import executors

    monkeypatch.setattr(executors, "ray_available", lambda: False)
    with pytest.raises(ImportError, match=r"pip install 'latentscm\[ray\]'"):
        executors.make_executor("ray")
    assert executors.make_executor("auto").name == "sequential"
    with pytest.raises(ValueError, match="needs the Ray executor"):
        executors.make_executor("sequential", address="auto")


def test_one_driver_at_a_time(tmp_path):
    import fcntl

    from latentscm.study.runner import LOCK_NAME, StudyLockedError

    tmp_path.mkdir(exist_ok=True)
    with (tmp_path / LOCK_NAME).open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(StudyLockedError, match="Another latentscm study driver"):
            study.run(tiny_spec(), tmp_path, executor="sequential", progress=False)


def test_damaged_study_records_are_redone_not_trusted(tmp_path):
    """A truncated study.json is rewritten (it is the study's own record); a truncated metrics.json of a finished
    trial is evaluated again, so results.csv is written; the report names a damaged study.json."""
    from latentscm.report.study import build_study_report
    from latentscm.study.results import RESULTS_CSV as CSV

    spec = tiny_spec(learners={"beta_vae": {"params": dict(TINY)}}, seeds=[0])
    first = study.run(spec, tmp_path, executor="sequential", threads=1, progress=False)
    (trial,) = [r["trial"] for r in first.rows]
    (trial_dir(tmp_path, trial) / "metrics.json").write_text('{"mig": 0.')
    (tmp_path / "study.json").write_text('{"name": "tiny", "lear')
    again = study.run(spec, tmp_path, executor="sequential", threads=1, progress=False)
    assert again.skipped == [] and again.executed == [trial]
    assert json.loads((tmp_path / "study.json").read_text()) == study.load_spec(spec).as_dict()
    assert [r["mig"] for r in again.rows] == [r["mig"] for r in first.rows] and (tmp_path / CSV).is_file()
    (tmp_path / "study.json").write_text('{"name": "tiny", "lear')
    with pytest.raises(ValueError, match="study.json"):
        build_study_report(tmp_path)


def test_a_train_only_spec_survives_its_own_record():
    spec = study.load_spec(tiny_spec(evaluation=False))
    assert spec.evaluation is None
    assert study.load_spec(json.loads(json.dumps(spec.as_dict()))) == spec
