"""Trial ids hash numbers by value (s24): ``beta: 1`` and ``beta: 1.0`` are one trial in a new study, a study
directory made when ids hashed numbers as written keeps its trials (found done, not trained again), and a
boolean is not the number 1."""

import hashlib
import json

import pytest
from study_support import TINY, fingerprint

from latentscm import study
from latentscm.study import expand, trial_states
from latentscm.study.execute import execute_trial
from latentscm.study.status import TRIALS_DIR


def _spec(beta, *, evaluation=False, **changes):
    """One tiny β-VAE trial (3 steps, 32 samples) on 16-pixel sprites."""
    spec = {"name": "ids", "preset": None, "steps": 3, "seeds": [0], "worlds": {"sprites": {"size": 16}},
            "learners": {"beta_vae": {"params": {**TINY, "beta": beta}}},
            "training": {"n_samples": 32, "checkpoint_every": 3}, "evaluation": evaluation}
    spec.update(changes)
    return spec


def _old_id(trial):
    """The id as the code before s24 computed it: SHA-256 of the identity's JSON with numbers as written."""
    text = json.dumps(trial.identity(), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return f"{trial.learner}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:12]}"


def _old_study(spec, directory):
    """A study directory as the code before s24 left it: each trial trained in ``trials/<old id>``."""
    for trial in expand(spec):
        old = study.Trial(**{**trial.__dict__, "id": _old_id(trial)})
        assert execute_trial(old, directory)["status"] == "done"
    return [_old_id(trial) for trial in expand(spec)]


@pytest.mark.parametrize("change", [
    {"beta": (1, 1.0)},
    {"latent_dim": (3, 3.0)},
    {"lr": (1, 1.0)},
    {"channels": ([4, 8], [4.0, 8])},
    {"size": (16, 16.0)},
    {"beta": (1000, 1e3)},
])
def test_equal_numbers_give_one_id(change):
    (key, (first, second)), = change.items()

    def spec(value):
        if key == "size":
            return _spec(1.0, worlds={"sprites": {"size": value}})
        if key == "beta":
            return _spec(value)
        return _spec(1.0, learners={"beta_vae": {"params": {**TINY, "beta": 1.0, key: value}}})

    assert expand(spec(first))[0].id == expand(spec(second))[0].id


def test_ids_without_whole_floats_are_unchanged():
    # existing study directories of such specs need no lookup: the new id is the old one
    for trial in expand(_spec(None, seeds=[0, 7], learners={"beta_vae": {"params": TINY, "grid": {"beta": [1, 4]}}})):
        assert trial.id == _old_id(trial)
    assert expand(_spec(2.5))[0].id == _old_id(expand(_spec(2.5))[0])


@pytest.mark.parametrize("boolean,number", [(True, 1), (True, 1.0), (False, 0), (False, 0.0)])
def test_a_boolean_is_not_a_number(boolean, number):
    assert expand(_spec(boolean))[0].id != expand(_spec(number))[0].id
    assert len(expand(_spec(1.0, learners={"beta_vae": {"params": TINY, "grid": {"beta": [boolean, number]}}}))) == 2


def test_editing_one_to_one_point_zero_does_not_train_again(tmp_path):
    first = study.run(_spec(1), tmp_path, executor="sequential", progress=False)
    assert first.executed == [first.trials[0].id]
    before = fingerprint(tmp_path / TRIALS_DIR)
    again = study.run(_spec(1.0), tmp_path, executor="sequential", progress=False)
    assert again.executed == [] and again.skipped == first.executed
    assert fingerprint(tmp_path / TRIALS_DIR) == before


@pytest.mark.parametrize("now", [1.0, 1])
def test_a_study_with_old_ids_keeps_its_finished_trials(tmp_path, now):
    """Made with beta: 1.0 under the old ids; run again as it was (1.0) and edited to 1."""
    old_ids = _old_study(_spec(1.0), tmp_path)
    assert old_ids != [t.id for t in expand(_spec(1.0))]  # the trial's id has changed: it is found by its old id
    before = fingerprint(tmp_path / TRIALS_DIR)
    result = study.run(_spec(now), tmp_path, executor="sequential", progress=False)
    assert result.executed == [] and result.skipped == old_ids
    assert fingerprint(tmp_path / TRIALS_DIR) == before  # nothing of the trial touched, nothing new made
    assert [row["trial"] for row in result.rows] == old_ids and result.counts()["done"] == 1
    assert trial_states(_spec(now), tmp_path) == {expand(_spec(now))[0].id: "done"}


def test_an_unfinished_trial_with_an_old_id_is_finished_in_its_directory(tmp_path):
    """Trained (not evaluated) under its old id; a run that asks for an evaluation reloads that model."""
    old_ids = _old_study(_spec(1.0), tmp_path)
    model = (tmp_path / TRIALS_DIR / old_ids[0] / "model.pt").read_bytes()
    result = study.run(_spec(1, evaluation={"suite": ["mcc"], "n": 32, "activity": False}), tmp_path,
                       executor="sequential", progress=False)
    assert result.executed == old_ids and result.rows[0]["status"] == "done" and result.rows[0]["mcc"] is not None
    assert sorted(p.name for p in (tmp_path / TRIALS_DIR).iterdir()) == old_ids
    assert (tmp_path / TRIALS_DIR / old_ids[0] / "model.pt").read_bytes() == model  # reloaded, not retrained
    again = study.run(_spec(1, evaluation={"suite": ["mcc"], "n": 32, "activity": False}), tmp_path,
                      executor="sequential", progress=False)
    assert again.executed == [] and again.skipped == old_ids  # its trial.json now holds beta 1: still found


def test_study_show_names_the_directory_of_a_trial_with_an_old_id(tmp_path):
    from typer.testing import CliRunner

    from latentscm.cli import app

    old_ids = _old_study(_spec(1.0), tmp_path / "study")
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(_spec(1)))
    shown = CliRunner().invoke(app, ["study", "show", str(spec_file), "--out", str(tmp_path / "study")])
    assert shown.exit_code == 0, shown.output
    assert f"done     {old_ids[0]}  beta_vae on sprites" in shown.output  # the id of the directory it is in


def test_a_trial_trained_under_a_changed_default_is_not_taken_for_todays(tmp_path):
    """QLAE's defaults changed (objective, encoder_norm): a trial of a spec that does not name them records today's
    values, so a study directory holding the trial trained before (same spec, old id) trains it again."""
    qlae = {"learners": {"qlae": {"params": dict(TINY)}}}
    (trial,) = expand(_spec(1.0, **qlae))
    assert (trial.params["objective"], trial.params["encoder_norm"]) == ("mean", "instance")
    named = {"learners": {"qlae": {"params": {**TINY, "objective": "mean", "encoder_norm": "instance"}}}}
    assert expand(_spec(1.0, **named))[0].id == trial.id  # naming today's defaults is the same trial
    recorded = {k: v for k, v in trial.params.items() if k not in ("objective", "encoder_norm")}
    old_id = _old_id(study.Trial(**{**trial.__dict__, "params": recorded}))  # its id before they were recorded
    assert old_id != trial.id
    # the trial as trained then: the old defaults, and a trial.json without them
    old = study.Trial(**{**trial.__dict__, "id": old_id, "params": {**recorded, "objective": "sum",
                                                                      "encoder_norm": "none"}})
    assert execute_trial(old, tmp_path)["status"] == "done"
    (tmp_path / TRIALS_DIR / old_id / "trial.json").write_text(
        json.dumps(study.Trial(**{**old.__dict__, "params": recorded}).as_dict()))
    result = study.run(_spec(1.0, **qlae), tmp_path, executor="sequential", progress=False)
    assert result.executed == [trial.id] and result.skipped == []  # trained with today's defaults


def test_the_study_report_reads_a_trial_under_its_old_id(tmp_path):
    from latentscm.report.study import build_study_report

    spec = _spec(1.0, evaluation={"suite": ["mcc"], "n": 32, "activity": False})
    old_ids = _old_study(spec, tmp_path)
    study.run(spec, tmp_path, executor="sequential", progress=False)
    page = build_study_report(tmp_path).read_text()
    assert old_ids[0] in page and "pending" not in page
