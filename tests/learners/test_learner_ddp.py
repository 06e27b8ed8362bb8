"""DistributedDataParallel on 2 CPU processes (gloo): identical weights, rank 0 writes, exact resume."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from latentscm.training.checkpoint import list_checkpoints
from latentscm.training.logs import read_log

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
def test_two_gloo_ranks_finish_with_identical_weights_and_resume_exactly(tmp_path, subprocess_env):
    # One launch (process start-up dominates): run "reference" trains 6 steps; run "b" trains 3,
    # then resumes the same directory to 6, like `latentscm resume` would.
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
               str(HERE / "learners_child.py"), "--out", str(tmp_path / "b"), "--phases", "3,6",
               "--reference", str(tmp_path / "reference"), "--dump", str(tmp_path), "--tag", "b"]
    result = subprocess.run(command, env=subprocess_env, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    weights = {name: torch.load(tmp_path / f"{name}.pt")
               for name in ("reference_rank0", "reference_rank1", "b_rank0", "b_rank1")}
    first = weights["reference_rank0"]
    for name, other in weights.items():
        assert other.keys() == first.keys()
        for key in first:
            assert torch.equal(other[key], first[key]), (name, key)
    # rank 0 alone wrote: one record per step, one set of checkpoints, one final model
    for run in ("reference", "b"):
        steps = [r["step"] for r in read_log(tmp_path / run) if r["kind"] == "train"]
        assert steps == [1, 2, 3, 4, 5, 6], run
        assert [s for s, _ in list_checkpoints(tmp_path / run / "checkpoints")] == [3, 6]
        assert (tmp_path / run / "model.pt").exists()
    assert {p.name for p in tmp_path.glob("*.pt")} == {f"{n}.pt" for n in weights}


@pytest.mark.slow
def test_causal_vae_under_ddp_keeps_ranks_identical(tmp_path, subprocess_env):
    # the latent-SCM terms (label regression of the mechanisms) go through the DDP-wrapped forward,
    # so every gradient is all-reduced and both ranks end with the same weights
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
               str(HERE / "learners_child.py"), "--learner", "causal_vae", "--out", str(tmp_path / "c"),
               "--phases", "4", "--dump", str(tmp_path), "--tag", "c"]
    result = subprocess.run(command, env=subprocess_env, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rank0, rank1 = (torch.load(tmp_path / f"c_rank{r}.pt") for r in (0, 1))
    assert any(key.startswith("scm.") for key in rank0)
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key


@pytest.mark.slow
def test_the_train_command_under_torchrun_reports_once(tmp_path, subprocess_env):
    # rank 0 alone writes the run directory; the other rank used to print "Saved to ..." as well
    run = tmp_path / "run"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "latentscm",
               "train", "--world", "sprites", "--learner", "ae", "--steps", "2", "--out", str(run), "--size", "16",
               "--n-samples", "32", "--batch-size", "4", "--set", "channels=[4,8]", "--set", "hidden_dim=16",
               "--set", "latent_dim=3", "--no-progress", "--threads", "1"]
    result = subprocess.run(command, env=subprocess_env, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count(f"Saved to {run}") == 1, result.stdout
    assert result.stdout.count("step 2: loss") == 1, result.stdout
    assert (run / "model.pt").exists()
