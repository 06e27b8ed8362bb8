"""SIGKILL mid-run, then `latentscm resume`: training continues from the last checkpoint, no
corrupt file remains, and the final weights equal those of an uninterrupted run (same seed)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import latentscm
from latentscm.training import load_checkpoint
from latentscm.training.checkpoint import list_checkpoints
from latentscm.training.logs import read_log

HERE = Path(__file__).resolve().parent
STEPS = 30


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, subprocess_env, tiny_world):
    from learners_support import make_tiny_learner

    run = tmp_path / "run"
    child = subprocess.Popen([sys.executable, str(HERE / "learners_child.py"), "--out", str(run), "--phases",
                              str(STEPS), "--checkpoint-every", "3", "--sleep", "0.2"], env=subprocess_env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while not list_checkpoints(run / "checkpoints"):
            assert child.poll() is None, child.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.05)
        time.sleep(0.5)  # a little further into the run, maybe mid-write of the next checkpoint
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    # Killed midway: no final model, and every checkpoint on disk is complete and verified.
    assert not (run / "model.pt").exists()
    saved = list_checkpoints(run / "checkpoints")
    assert saved and saved[-1][0] < STEPS
    for _, path in saved:
        assert load_checkpoint(path)["step"] > 0

    resumed = subprocess.run([sys.executable, "-c", "from latentscm.cli import main; main()", "resume", str(run),
                              "--trust-code", "--no-progress"], env=subprocess_env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "Resumed" in resumed.stdout
    assert not [p for p in run.rglob("*") if p.name.startswith(".")], "temporary files left behind"
    steps = [r["step"] for r in read_log(run) if r["kind"] == "train"]
    assert steps == sorted(set(steps)) and steps[-1] == STEPS

    reference = make_tiny_learner(steps=STEPS).fit(tiny_world, out=tmp_path / "reference", n_samples=64,
                                                   checkpoint_every=3, progress=False)
    final = latentscm.load(run)
    assert final.n_steps_ == STEPS
    for name, module in reference._modules().items():
        other = getattr(final, f"{name}_").state_dict()
        for key, value in module.state_dict().items():
            assert torch.equal(value, other[key]), f"{name}.{key}"
