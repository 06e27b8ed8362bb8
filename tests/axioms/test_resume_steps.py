"""AxiomModel resumed with more steps: the first run's learning-rate schedule, then lr / 10; fewer steps refused."""

import json
import math

import pytest
import torch

from cli_support import invoke, refused
from latentscm.axioms import AxiomModel
from latentscm.axioms.model import CHECKPOINT_DIR, CONFIG_NAME, MODEL_NAME
from latentscm.training.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint

TINY = {"d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32, "batch_size": 8, "n_names": 8, "max_length": 4,
        "warmup": 2, "lr": 1e-3, "seed": 5}
FIT = {"checkpoint_every": 2, "keep_checkpoints": 10, "log_every": 1}


def _weights(model):
    return {k: v.clone() for k, v in model.network_.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _documented_lr(step, schedule_steps, lr=1e-3, warmup=2):
    """The schedule of the docstring, written out: warm-up, cosine towards lr/10 over the first run, then lr/10."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / (schedule_steps - warmup))
    return lr * (0.1 + 0.45 * (1.0 + math.cos(math.pi * progress)))


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    """A 6-step run, then resumed to 10 steps: (run directory, the resumed model, the 6-step run's checkpoints)."""
    run = tmp_path_factory.mktemp("axioms") / "run"
    AxiomModel(steps=6, **TINY).fit(run, **FIT)
    kept = {step: path.read_bytes() for step, path in list_checkpoints(run / CHECKPOINT_DIR)}
    resumed = AxiomModel(steps=10, **TINY).fit(run, resume=True, **FIT)
    return run, resumed, kept


def test_more_steps_keep_the_first_schedule_and_then_train_at_its_final_rate(extended):
    run, resumed, _ = extended
    assert resumed.n_steps_ == 10 and resumed.schedule_steps_ == 6
    assert [r["step"] for r in resumed.history_] == list(range(1, 11))
    logged = [r["lr"] for r in resumed.history_]
    assert logged == pytest.approx([_documented_lr(s, 6) for s in range(10)], rel=1e-12, abs=0)
    assert logged[6:] == pytest.approx([1e-4] * 4, rel=1e-12, abs=0)  # steps 6..9: lr / 10
    config = json.loads((run / CONFIG_NAME).read_text())
    assert config["params"]["steps"] == 10 and config["schedule_steps"] == 6
    assert load_checkpoint(list_checkpoints(run / CHECKPOINT_DIR)[-1][1])["schedule_steps"] == 6
    loaded = AxiomModel.load(run)
    assert loaded.n_steps_ == 10 and loaded.schedule_steps_ == 6 and _same(_weights(loaded), _weights(resumed))


def test_a_run_interrupted_mid_schedule_and_extended_is_bit_exact(extended, tmp_path):
    resumed, kept = extended[1:]
    # the 6-step run, interrupted after step 4, then resumed straight to 10 steps: steps 4 and 5 still follow the
    # 6-step schedule (not one stretched over 10), so the weights are those of 6 steps followed by 4 more
    cut = tmp_path / "cut"
    (cut / CHECKPOINT_DIR).mkdir(parents=True)
    (cut / CHECKPOINT_DIR / "step_00000004.pt").write_bytes(kept[4])
    (cut / CONFIG_NAME).write_text(json.dumps({"format": "latentscm.axioms.AxiomModel/1", "schedule_steps": 6,
                                               "params": AxiomModel(steps=6, **TINY).get_params()}))
    again = AxiomModel(steps=10, **TINY).fit(cut, resume=True, **FIT)
    assert _same(_weights(again), _weights(resumed))
    assert [r["lr"] for r in again.history_] == [r["lr"] for r in resumed.history_[4:]]


def test_an_older_run_directory_without_the_schedule_length_still_resumes(extended, tmp_path):
    resumed, kept = extended[1:]
    # written before the schedule length was recorded: config.json without 'schedule_steps', checkpoints without it
    old = tmp_path / "old"
    (old / CHECKPOINT_DIR).mkdir(parents=True)
    (old / CONFIG_NAME).write_text(json.dumps({"format": "latentscm.axioms.AxiomModel/1",
                                               "params": AxiomModel(steps=6, **TINY).get_params()}))
    (tmp_path / "step.pt").write_bytes(kept[4])
    state = load_checkpoint(tmp_path / "step.pt")
    del state["schedule_steps"]
    save_checkpoint(old / CHECKPOINT_DIR / "step_00000004.pt", state)
    again = AxiomModel(steps=10, **TINY).fit(old, resume=True, **FIT)
    assert again.schedule_steps_ == 6 and _same(_weights(again), _weights(resumed))
    assert json.loads((old / CONFIG_NAME).read_text())["schedule_steps"] == 6


def test_resuming_a_finished_run_with_its_steps_changes_nothing(tmp_path):
    first = AxiomModel(steps=6, **TINY).fit(tmp_path / "run", **FIT)
    again = AxiomModel(steps=6, **TINY).fit(tmp_path / "run", resume=True, **FIT)
    assert _same(_weights(first), _weights(again)) and again.n_steps_ == 6 and again.schedule_steps_ == 6
    assert again.history_ == first.history_


def test_fewer_steps_than_done_are_refused_naming_steps(tmp_path):
    run = tmp_path / "run"
    AxiomModel(steps=6, **TINY).fit(run, **FIT)
    config, model = (run / CONFIG_NAME).read_bytes(), (run / MODEL_NAME).read_bytes()
    with pytest.raises(ValueError, match=r"at step 6, beyond steps=4; resume with steps >= 6"):
        AxiomModel(steps=4, **TINY).fit(run, resume=True, **FIT)
    assert (run / CONFIG_NAME).read_bytes() == config and (run / MODEL_NAME).read_bytes() == model
    with pytest.raises(ValueError, match="lr: 0.001 -> 0.002"):  # other hyperparameters are still refused
        AxiomModel(steps=8, **{**TINY, "lr": 2e-3}).fit(run, resume=True, **FIT)


def test_the_command_resumes_with_more_steps_and_refuses_fewer(tmp_path):
    out = tmp_path / "run"
    args = ["axioms", "train", "--out", out, "--d-model", 16, "--layers", 1, "--heads", 2, "--d-ff", 32,
            "--batch-size", 4, "--max-length", 4, "--quiet"]
    assert invoke([*args, "--steps", 2]).exit_code == 0
    result = invoke([*args, "--steps", 3, "--resume"])
    assert result.exit_code == 0, result.output
    assert "for 3 steps" in result.output
    refused(invoke([*args, "--steps", 1, "--resume"]), "beyond steps=1", "steps >= 3")
