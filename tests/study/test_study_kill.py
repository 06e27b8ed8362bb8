"""kill -9 of the study driver mid-study, then re-run: finished trials are not touched, the
interrupted one resumes from its checkpoint, and the table equals an uninterrupted study's."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from study_support import TINY, fingerprint, tiny_spec

from latentscm import study
from latentscm.study.results import BOOKKEEPING
from latentscm.study.status import trial_dir
from latentscm.training.checkpoint import list_checkpoints

STEPS = 12


def slow_spec():
    """Three trials of a β-VAE that sleeps 0.15 s per step (checkpoints every 3 steps)."""
    return tiny_spec(steps=STEPS, seeds=[0], training={"n_samples": 64, "checkpoint_every": 3},
                     learners=[{"name": "study_support:SlowBetaVAE", "label": "slow",
                                "params": {**TINY, "step_sleep": 0.15}, "grid": {"beta": [1.0, 2.0, 4.0]}}])


def _state(out, trial):
    path = trial_dir(out, trial) / "status.json"
    return json.loads(path.read_text())["status"] if path.exists() else "pending"


@pytest.mark.slow
def test_sigkill_of_the_driver_then_rerun(tmp_path, subprocess_env):
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(slow_spec()))
    out = tmp_path / "study"
    ids = [t.id for t in study.expand(spec_path)]
    driver = subprocess.Popen([sys.executable, "-c", "from latentscm.cli import main; main()", "study", "run",
                               str(spec_path), "--out", str(out), "--executor", "sequential", "--threads", "1",
                               "--trust-code", "--no-progress", "--no-report"], env=subprocess_env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not (_state(out, ids[0]) == "done" and list_checkpoints(trial_dir(out, ids[1]) / "checkpoints")):
            assert driver.poll() is None, driver.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the study did not get to its second trial"
            time.sleep(0.02)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.stdout.close()
    assert driver.returncode == -signal.SIGKILL

    # killed in the middle of the second trial: the first is done, the second has a checkpoint and
    # no model, the third never started
    assert [_state(out, i) for i in ids] == ["done", "running", "pending"]
    assert not (trial_dir(out, ids[1]) / "model.pt").exists()
    interrupted_at = list_checkpoints(trial_dir(out, ids[1]) / "checkpoints")[-1][0]
    assert 0 < interrupted_at < STEPS
    untouched = fingerprint(trial_dir(out, ids[0]))

    result = study.run(spec_path, out, executor="sequential", threads=1, trust_code=True, progress=False)
    assert result.skipped == [ids[0]] and result.executed == ids[1:]
    assert fingerprint(trial_dir(out, ids[0])) == untouched  # not re-trained, not re-evaluated, not rewritten
    status = json.loads((trial_dir(out, ids[1]) / "status.json").read_text())
    assert status["resumed_from_step"] == interrupted_at and status["attempts"] == 2
    assert json.loads((trial_dir(out, ids[2]) / "status.json").read_text())["resumed_from_step"] == 0
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name], "temporary files left behind"

    reference = study.run(spec_path, tmp_path / "reference", executor="sequential", threads=1, trust_code=True,
                          progress=False)
    assert result.counts()["done"] == 3

    def findings(rows):
        return [{k: v for k, v in row.items() if k not in BOOKKEEPING} for row in rows]

    assert findings(study.read_results(out)) == findings(reference.rows)
