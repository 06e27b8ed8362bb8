"""The training loop: exact resume, checkpoints (atomic, verified, pruned), logs, data, run dirs."""

import dataclasses
import json
import warnings

import numpy as np
import pytest
import torch

import latentscm
from latentscm.learners.factorvae import FactorVAE
from latentscm.learners.vae import BetaVAE
from latentscm.testing.learner_checks import tiny_params
from latentscm.training import CheckpointError, load_checkpoint, save_checkpoint
from latentscm.training.checkpoint import list_checkpoints
from latentscm.training.data import ShardedBatches
from latentscm.training.logs import read_log


def _weights(learner):
    return {f"{n}.{k}": v.clone() for n, m in learner._modules().items() for k, v in m.state_dict().items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


class Interrupt(Exception):
    pass


def _stop_at(step_to_stop):
    def hook(learner, step):
        if step == step_to_stop:
            raise Interrupt
    return hook


@pytest.mark.parametrize("cls", [BetaVAE, FactorVAE])
def test_interrupted_run_resumes_to_identical_weights(cls, tiny_world, tmp_path):
    params = tiny_params(cls, steps=12)
    reference = cls(**params).fit(tiny_world, out=tmp_path / "a", n_samples=64, checkpoint_every=4, progress=False)

    interrupted = cls(**params)
    with pytest.raises(Interrupt):
        interrupted.fit(tiny_world, out=tmp_path / "b", n_samples=64, checkpoint_every=4, eval_every=1,
                        eval_hook=_stop_at(6), progress=False)
    assert [s for s, _ in list_checkpoints(tmp_path / "b" / "checkpoints")] == [4]
    assert max(r["step"] for r in read_log(tmp_path / "b")) == 6
    resumed = cls(**params).fit(tiny_world, out=tmp_path / "b", resume=True, n_samples=64, checkpoint_every=4,
                                progress=False)
    _assert_same(_weights(reference), _weights(resumed))
    # the log was rewound to the checkpoint, so no step appears twice
    steps = [r["step"] for r in read_log(tmp_path / "b") if r["kind"] == "train"]
    assert steps == sorted(set(steps)) and steps[-1] == 12
    assert [r["step"] for r in resumed.history_ if r["kind"] == "train"] == steps
    _assert_same(_weights(reference), _weights(latentscm.load(tmp_path / "b")))


def test_resume_inside_a_logging_window_logs_the_uninterrupted_averages(tiny_world, tmp_path):
    """A checkpoint (step 6) inside a logging window (steps 5-8) carries the window's sums: the resumed
    run logs the same averages at step 8 as the uninterrupted one, not an average of steps 7-8 only."""
    params = tiny_params(BetaVAE, steps=8)
    options = dict(n_samples=64, checkpoint_every=3, log_every=4, progress=False)
    BetaVAE(**params).fit(tiny_world, out=tmp_path / "a", **options)
    with pytest.raises(Interrupt):
        BetaVAE(**params).fit(tiny_world, out=tmp_path / "b", eval_every=1, eval_hook=_stop_at(7), **options)
    resumed = BetaVAE(**params).fit(tiny_world, out=tmp_path / "b", resume=True, **options)

    def values(records):
        return [{k: v for k, v in r.items() if k not in ("time", "steps_per_s")} for r in records
                if r["kind"] == "train"]

    expected = values(read_log(tmp_path / "a"))
    assert [r["step"] for r in expected] == [4, 8]
    assert values(read_log(tmp_path / "b")) == expected
    assert values(resumed.history_) == expected


def test_resume_can_extend_a_finished_run(tiny_world, tmp_path):
    params = tiny_params(BetaVAE, steps=8)
    reference = BetaVAE(**params).set_params(steps=12).fit(tiny_world, out=tmp_path / "a", n_samples=64,
                                                            checkpoint_every=4, progress=False)
    BetaVAE(**params).fit(tiny_world, out=tmp_path / "b", n_samples=64, checkpoint_every=4, progress=False)
    extended = latentscm.training.resume(tmp_path / "b", steps=12, progress=False, trust_code=True)
    _assert_same(_weights(reference), _weights(extended))


def test_run_directory_layout_and_load(tiny_world, tmp_path):
    vae = BetaVAE(**tiny_params(BetaVAE, steps=6)).fit(tiny_world, out=tmp_path, n_samples=32, checkpoint_every=2,
                                                       keep_checkpoints=2, log_every=1, progress=False)
    assert {p.name for p in tmp_path.iterdir()} >= {"config.json", "checkpoints", "train.jsonl", "model.pt"}
    assert [s for s, _ in list_checkpoints(tmp_path / "checkpoints")] == [4, 6]
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["learner"]["name"] == "beta_vae" and config["learner"]["params"]["steps"] == 6
    assert config["data"]["world"] == "tiny_blobs" and config["data"]["factor_names"] == ["row", "col", "width"]
    records = read_log(tmp_path)
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert all({"loss", "recon", "kl", "steps_per_s"} <= set(r) for r in records)
    loaded = latentscm.load(tmp_path)
    batch = tiny_world.sample(4, seed=9)
    np.testing.assert_array_equal(loaded.encode(batch), vae.encode(batch))
    assert not any(p.name.startswith(".") for p in tmp_path.rglob("*"))  # no temporary files left


def test_existing_run_is_not_overwritten(tiny_world, tmp_path):
    params = tiny_params(BetaVAE, steps=2)
    BetaVAE(**params).fit(tiny_world, out=tmp_path, n_samples=16, progress=False)
    with pytest.raises(FileExistsError, match="resume"):
        BetaVAE(**params).fit(tiny_world, out=tmp_path, n_samples=16, progress=False)
    with pytest.raises(ValueError, match="beta: 4.0 -> 1.0"):
        BetaVAE(**{**params, "beta": 1.0}).fit(tiny_world, out=tmp_path, n_samples=16, resume=True, progress=False)
    with pytest.raises(ValueError, match="different data"):
        BetaVAE(**params).fit(tiny_world, out=tmp_path, n_samples=20, resume=True, progress=False)


def test_truncated_checkpoint_is_reported_by_name(tiny_world, tmp_path):
    BetaVAE(**tiny_params(BetaVAE, steps=4)).fit(tiny_world, out=tmp_path, n_samples=16, checkpoint_every=2,
                                                  progress=False)
    latest = list_checkpoints(tmp_path / "checkpoints")[-1][1]
    data = latest.read_bytes()
    latest.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=f"{latest.name}.*truncated"):
        latentscm.training.resume(tmp_path, progress=False, trust_code=True)
    latest.write_bytes(data[:10])
    with pytest.raises(CheckpointError, match=latest.name):
        load_checkpoint(latest)
    corrupt = bytearray(data)
    corrupt[-5] ^= 0xFF
    latest.write_bytes(bytes(corrupt))
    with pytest.raises(CheckpointError, match=f"{latest.name}.*corrupt"):
        load_checkpoint(latest)
    model = tmp_path / "model.pt"
    model.write_bytes(model.read_bytes()[:-3])
    with pytest.raises(CheckpointError, match="model.pt"):
        latentscm.load(tmp_path)


def test_checkpoint_round_trip_and_atomic_write(tmp_path):
    path = save_checkpoint(tmp_path / "x.pt", {"a": torch.arange(3), "b": [1, "two"]})
    loaded = load_checkpoint(path)
    assert torch.equal(loaded["a"], torch.arange(3)) and loaded["b"] == [1, "two"]
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]


def test_sharded_batches_cover_the_data_and_are_reproducible():
    images = torch.arange(20.0).reshape(20, 1, 1, 1)
    shards = [ShardedBatches(images, 5, seed=3, rank=r, world_size=2) for r in range(2)]
    epoch = [torch.cat([s.indices(step) for step in range(s.batches_per_epoch)]) for s in shards]
    assert sorted(torch.cat(epoch).tolist()) == list(range(20))  # disjoint shards, one pass each
    again = ShardedBatches(images, 5, seed=3, rank=1, world_size=2)
    assert torch.equal(again.indices(7), shards[1].indices(7))  # any step can be recomputed
    with pytest.raises(ValueError, match="batch_size 16 is larger"):
        ShardedBatches(images, 16, seed=0, world_size=2)


def test_bad_loop_options_and_inputs(tiny_world, tmp_path):
    vae = BetaVAE(**tiny_params(BetaVAE))
    with pytest.raises(ValueError, match="'checkpoint_every'"):
        vae.fit(tiny_world, out=str(tmp_path / "zero"), n_samples=16, checkpoint_every=0, progress=False)
    with pytest.raises(ValueError, match="resume"):
        vae.fit(tiny_world, n_samples=16, resume=True, progress=False)
    with pytest.raises(TypeError, match="World, a Batch"):
        vae.fit("sprites", progress=False)
    with pytest.raises(ValueError, match="batch_size 8 is larger"):
        vae.fit(tiny_world, n_samples=4, progress=False)
    with pytest.raises(RuntimeError, match="CUDA is not available") if not torch.cuda.is_available() else \
            pytest.raises(Exception):
        BetaVAE(**tiny_params(BetaVAE, device="cuda")).fit(tiny_world, n_samples=16, progress=False)


def test_diverging_loss_is_reported(tiny_world):
    vae = BetaVAE(**tiny_params(BetaVAE, lr=1e30, steps=6))
    with pytest.raises(FloatingPointError, match="lr"):
        vae.fit(tiny_world, n_samples=16, log_every=1, progress=False)


def test_eval_hook_results_are_logged(tiny_world, tmp_path):
    vae = BetaVAE(**tiny_params(BetaVAE, steps=4)).fit(
        tiny_world, out=tmp_path, n_samples=16, eval_every=2, eval_hook=lambda learner, step: {"answer": step * 2},
        progress=False)
    evals = [r for r in read_log(tmp_path) if r["kind"] == "eval"]
    assert [(r["step"], r["answer"]) for r in evals] == [(2, 4.0), (4, 8.0)]
    assert evals == [r for r in vae.history_ if r["kind"] == "eval"]


def test_tensorboard_is_optional(tmp_path):
    from latentscm.training.logs import RunLog, tensorboard_available

    log = RunLog(tmp_path, tensorboard=None)  # uses TensorBoard only when it imports
    log.log({"kind": "train", "step": 1, "loss": torch.tensor(2.5)})
    log.close()
    assert read_log(tmp_path) == [{"kind": "train", "step": 1, "loss": 2.5}]
    if tensorboard_available():
        assert (tmp_path / "tensorboard").is_dir()
    else:
        with pytest.raises(ImportError, match="pip install tensorboard"):
            RunLog(tmp_path / "tb", tensorboard=True)


def test_presets():
    from latentscm.training import PRESETS, get_preset

    small, paper = get_preset("cpu-small"), get_preset("paper")
    assert (small.size, small.batch_size) == (32, 64) and 1000 <= small.steps <= 5000
    assert (paper.size, paper.batch_size, paper.steps, paper.lr) == (64, 64, 300_000, None)
    assert set(PRESETS) >= {"cpu-small", "cpu-64", "paper"}
    with pytest.raises(ValueError, match="Unknown preset 'gpu'"):
        get_preset("gpu")


def test_rejected_refit_leaves_a_fitted_learner_as_it_was(tiny_world, tmp_path):
    """Checks that run after building (batch size, resume config) put the learner back on rejection."""
    BetaVAE(**tiny_params(BetaVAE, beta=2.0, steps=2)).fit(tiny_world, out=tmp_path / "other", n_samples=16,
                                                            progress=False)
    vae = BetaVAE(**tiny_params(BetaVAE, steps=4)).fit(tiny_world, n_samples=32, progress=False)
    probe = tiny_world.sample(4, seed=9).images
    codes, weights, history = vae.encode(probe), _weights(vae), list(vae.history_)
    with pytest.raises(ValueError, match="batch_size 8 is larger"):
        vae.fit(tiny_world.sample(4, seed=1), progress=False)
    with pytest.raises(ValueError, match="different hyperparameters"):
        vae.fit(tiny_world, out=tmp_path / "other", resume=True, n_samples=16, progress=False)
    _assert_same(weights, _weights(vae))
    np.testing.assert_array_equal(vae.encode(probe), codes)
    assert vae.history_ == history and vae.n_steps_ == 4


def test_checkpoints_never_hold_non_finite_weights(tmp_path):
    """A diverged step raises before its checkpoint, so the newest checkpoint can be resumed."""
    images = np.random.default_rng(0).random((32, 1, 16, 16), dtype=np.float32)
    vae = BetaVAE(**tiny_params(BetaVAE, lr=1e30, steps=12))
    with pytest.raises(FloatingPointError, match=r"NaN or infinite by step \d+ .*last checkpoint, step \d+"):
        vae.fit(images, out=tmp_path, checkpoint_every=1, keep_checkpoints=1, log_every=12, progress=False)
    saved = list_checkpoints(tmp_path / "checkpoints")
    assert saved, "the first steps were finite and checkpointed"
    state = load_checkpoint(saved[-1][1])["learner"]["modules"]
    assert all(torch.isfinite(t).all() for module in state.values() for t in module.values() if t.is_floating_point())


def test_resume_on_other_in_memory_data_of_the_same_size_is_refused(tiny_world, tmp_path):
    """In-memory data is recorded by a SHA-256 of its contents, so other images or labels are noticed."""
    params = tiny_params(BetaVAE, steps=2)
    images = np.random.default_rng(0).random((16, 1, 16, 16), dtype=np.float32)
    BetaVAE(**params).fit(images, out=tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match=r"different data: the array given .*other contents.*config\.json"):
        BetaVAE(**params).set_params(steps=4).fit(1.0 - images, out=tmp_path / "a", resume=True, progress=False)
    BetaVAE(**params).set_params(steps=4).fit(images.copy(), out=tmp_path / "a", resume=True, progress=False)

    batch = tiny_world.sample(16, seed=3)
    BetaVAE(**params).fit(batch, out=tmp_path / "b", progress=False)
    relabelled = dataclasses.replace(batch, factors=batch.factors[::-1].copy())
    with pytest.raises(ValueError, match="different data: the batch given"):
        BetaVAE(**params).set_params(steps=4).fit(relabelled, out=tmp_path / "b", resume=True, progress=False)


def test_read_log_skips_damaged_lines_and_warns_unless_only_the_last_is_torn(tmp_path):
    from latentscm.training.logs import DamagedLogWarning

    good = [b'{"kind": "train", "step": 1, "loss": 2.5}', b'{"kind": "train", "step": 2, "loss": "nan"}']
    (tmp_path / "train.jsonl").write_bytes(b"\n".join(good) + b'\n{"kind": "tra')  # killed mid-write
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [r["step"] for r in read_log(tmp_path)] == [1, 2]
    (tmp_path / "train.jsonl").write_bytes(b"\n".join([good[0], b"\xff\xfe damaged", b"7", good[1]]) + b"\n")
    with pytest.warns(DamagedLogWarning, match=r"train.jsonl': skipped 2 damaged line\(s\) of 4 \(line 2, 3\)"):
        assert [r["step"] for r in read_log(tmp_path)] == [1, 2]


def test_resume_without_a_checkpoint_warns_that_it_starts_again(tiny_world, tmp_path):
    import shutil

    params = tiny_params(BetaVAE, steps=4)
    reference = BetaVAE(**params).fit(tiny_world, out=tmp_path / "a", n_samples=32, checkpoint_every=2,
                                      log_every=1, progress=False)
    shutil.rmtree(tmp_path / "a" / "checkpoints")
    with pytest.warns(RuntimeWarning, match="no checkpoint in checkpoints/, so it trains again from step 0 .*step 4"):
        again = latentscm.training.resume(tmp_path / "a", progress=False, trust_code=True)
    _assert_same(_weights(reference), _weights(again))  # deterministic: the redone steps give the same weights
    assert [r["step"] for r in read_log(tmp_path / "a") if r["kind"] == "train"] == [1, 2, 3, 4]


def test_resume_on_another_number_of_processes_is_refused(tiny_world, tmp_path):
    """Regression: a run trained under torchrun on 2 processes (2 shards, 2 x batch_size images per step) was
    resumed on 1 process without a word, changing its minibatches mid-run. config.json records the number."""
    params = tiny_params(BetaVAE, steps=2)
    BetaVAE(**params).fit(tiny_world, out=tmp_path / "a", n_samples=32, checkpoint_every=1, progress=False)
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["training"]["world_size"] == 1
    config["training"]["world_size"] = 2  # as written by rank 0 of `torchrun --nproc-per-node 2`
    (tmp_path / "a" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"on 1 process\(es\): it was trained on 2 .*torchrun --nproc-per-node"):
        BetaVAE(**params).set_params(steps=4).fit(tiny_world, out=tmp_path / "a", resume=True, n_samples=32,
                                                  progress=False)


def test_load_after_an_extended_run_stopped_early_takes_the_newest_checkpoint(tiny_world, tmp_path):
    """Regression: a finished run (model.pt at step 4) resumed to 8 steps and stopped after the checkpoint at
    step 6 loaded the stale step-4 model.pt silently; it now loads the newer checkpoint with a warning."""
    BetaVAE(**tiny_params(BetaVAE, steps=4)).fit(tiny_world, out=tmp_path, n_samples=32, checkpoint_every=2,
                                                 progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert latentscm.load(tmp_path, trust_code=True).n_steps_ == 4  # a finished run: model.pt, no warning
    with pytest.raises(Interrupt):
        BetaVAE(**tiny_params(BetaVAE, steps=8)).fit(tiny_world, out=tmp_path, resume=True, n_samples=32,
                                                     checkpoint_every=2, eval_every=1, eval_hook=_stop_at(7),
                                                     progress=False)
    with pytest.warns(UserWarning, match=r"model.pt' holds step 4, but the run went on .*checkpoint at step 6"):
        loaded = latentscm.load(tmp_path, trust_code=True)
    assert loaded.n_steps_ == 6


def test_out_that_is_a_file_is_refused_before_a_fitted_learner_is_rebuilt(tiny_world, tmp_path):
    """Regression: out=<a file> failed only after the modules were rebuilt (a bare FileExistsError from
    mkdir), leaving a fitted learner with fresh, untrained weights."""
    vae = BetaVAE(**tiny_params(BetaVAE, steps=3)).fit(tiny_world, n_samples=32, progress=False)
    probe = tiny_world.sample(4, seed=9).images
    codes = vae.encode(probe)
    (tmp_path / "notes.txt").write_text("not a run directory")
    with pytest.raises(ValueError, match=r"'out' argument of BetaVAE.fit .*notes.txt' is a file"):
        vae.fit(tiny_world, n_samples=32, out=tmp_path / "notes.txt", progress=False)
    np.testing.assert_array_equal(vae.encode(probe), codes)


def test_the_log_time_goes_on_after_a_resume(tiny_world, tmp_path):
    """The resumed process logged "time" from 0 again: a run's log went back in time at its resume."""
    import time

    def slow_then_stop(learner, step):
        time.sleep(0.2)  # logged at step 4 after 3 sleeps; checkpointed after 4
        if step == 5:
            raise Interrupt

    params = tiny_params(BetaVAE, steps=8)
    options = dict(n_samples=64, checkpoint_every=4, log_every=2, progress=False)
    with pytest.raises(Interrupt):
        BetaVAE(**params).fit(tiny_world, out=tmp_path, eval_every=1, eval_hook=slow_then_stop, **options)
    BetaVAE(**params).fit(tiny_world, out=tmp_path, resume=True, **options)
    times = [(r["step"], r["time"]) for r in read_log(tmp_path) if r["kind"] == "train"]
    assert [step for step, _ in times] == [2, 4, 6, 8]
    assert times[1][1] >= 0.6 and times[2][1] >= 0.8 and times[2][1] >= times[1][1] and times[3][1] >= times[2][1]


def test_resume_keeps_the_recorded_tensorboard_setting(tiny_world, tmp_path, monkeypatch):
    """resume() passed no tensorboard setting, so a run trained with tensorboard=False wrote TensorBoard
    events once resumed (wherever the package imports)."""
    import sys
    import types

    import latentscm.training.logs as logs

    opened = []

    class Writer:
        def __init__(self, log_dir, purge_step=None):
            opened.append(log_dir)

        def add_scalar(self, *args):
            pass

        def close(self):
            pass

    monkeypatch.setattr(logs, "tensorboard_available", lambda: True)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=Writer))
    BetaVAE(**tiny_params(BetaVAE, steps=4)).fit(tiny_world, out=tmp_path, n_samples=32, checkpoint_every=2,
                                                 progress=False, tensorboard=False)
    assert json.loads((tmp_path / "config.json").read_text())["training"]["tensorboard"] is False
    latentscm.training.resume(tmp_path, steps=6, progress=False, trust_code=True)
    assert opened == []
    latentscm.training.resume(tmp_path, steps=8, progress=False, trust_code=True, tensorboard=True)
    assert opened == [str(tmp_path / "tensorboard")] * 2  # opened, then reopened by rewind (purge_step)
