"""A study trial that asks for 2 processes trains under torchrun (DistributedDataParallel, gloo on
CPU): rank 0 alone writes the run directory, which records the world size, and the trial is then
evaluated like any other."""

import json

import pytest
from study_support import TINY, tiny_spec

from latentscm import study
from latentscm.study.status import trial_dir
from latentscm.training.checkpoint import list_checkpoints
from latentscm.training.logs import read_log


@pytest.mark.slow
def test_a_two_process_trial(tmp_path, subprocess_env, monkeypatch):
    for key in ("PYTHONPATH", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(key, subprocess_env[key])  # torchrun's children inherit this environment
    spec = tiny_spec(learners={"beta_vae": {"params": dict(TINY)}}, seeds=[0], steps=4, processes=2,
                     training={"n_samples": 64, "checkpoint_every": 2})
    result = study.run(spec, tmp_path, executor="sequential", threads=2, retries=0, progress=False)
    row = result.rows[0]
    assert row["status"] == "done", row["error"]
    directory = trial_dir(tmp_path, row["trial"])
    config = json.loads((directory / "config.json").read_text())
    assert config["training"]["world_size"] == 2
    assert [r["step"] for r in read_log(directory) if r["kind"] == "train"] == [1, 2, 3, 4]  # one writer
    assert [s for s, _ in list_checkpoints(directory / "checkpoints")] == [2, 4]
    status = json.loads((directory / "status.json").read_text())
    assert status["processes"] == 2 and status["threads"] == 2
    assert 0 <= row["mig"] <= 1 and row["reconstruction.mse"] > 0
