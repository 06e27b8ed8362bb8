"""AxiomModel: same seed -> same weights, bit-exact resume, learning beats chance, bad input."""

import shutil

import numpy as np
import pytest
import torch

from latentscm.axioms import AxiomDistribution, AxiomModel, AxiomTransformer, chance_accuracy, evaluate
from latentscm.axioms.model import CHECKPOINT_DIR, CONFIG_NAME
from latentscm.training.checkpoint import CheckpointError, list_checkpoints

TINY = {"d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32, "batch_size": 8, "n_names": 8, "max_length": 4,
        "warmup": 2}


def _weights(model):
    return {k: v.clone() for k, v in model.network_.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_final_weights_and_different_seed_differs():
    first = AxiomModel(steps=4, seed=3, **TINY).fit()
    second = AxiomModel(steps=4, seed=3, **TINY).fit()
    other = AxiomModel(steps=4, seed=4, **TINY).fit()
    assert _same(_weights(first), _weights(second))
    assert not _same(_weights(first), _weights(other))
    assert [r["loss"] for r in first.history_] == [r["loss"] for r in second.history_]


def test_resume_from_a_checkpoint_is_bit_exact(tmp_path):
    full = AxiomModel(steps=6, seed=1, **TINY).fit(tmp_path / "full", checkpoint_every=3, keep_checkpoints=5)
    # a run that was interrupted after step 3: only the step-3 checkpoint and the config survive
    cut = tmp_path / "cut"
    (cut / CHECKPOINT_DIR).mkdir(parents=True)
    shutil.copy(tmp_path / "full" / CONFIG_NAME, cut / CONFIG_NAME)
    shutil.copy(dict(list_checkpoints(tmp_path / "full" / CHECKPOINT_DIR))[3], cut / CHECKPOINT_DIR)
    resumed = AxiomModel(steps=6, seed=1, **TINY).fit(cut, resume=True, checkpoint_every=3)
    assert _same(_weights(full), _weights(resumed))
    loaded = AxiomModel.load(cut)
    assert _same(_weights(full), _weights(loaded)) and loaded.get_params() == full.get_params()
    demos = AxiomDistribution(n_names=8, max_length=4).sample(5, seed=0)
    np.testing.assert_array_equal(loaded.predict_proba(demos), full.predict_proba(demos))


def test_resume_refuses_other_hyperparameters_and_overwriting(tmp_path):
    AxiomModel(steps=2, **TINY).fit(tmp_path / "run")
    with pytest.raises(FileExistsError, match="already holds a run"):
        AxiomModel(steps=2, **TINY).fit(tmp_path / "run")
    with pytest.raises(ValueError, match="lr: 0.001 -> 0.01"):
        AxiomModel(steps=2, **{**TINY, "warmup": 2}, lr=0.01).fit(tmp_path / "run", resume=True)
    with pytest.raises(ValueError, match="needs the run directory"):
        AxiomModel(steps=2, **TINY).fit(resume=True)


def test_a_fresh_start_over_a_crashed_run_rewrites_its_log(tmp_path):
    import json

    run = tmp_path / "run"
    AxiomModel(steps=3, **TINY).fit(run, checkpoint_every=3, log_every=1)
    shutil.rmtree(run / CHECKPOINT_DIR)  # a run that died before its first checkpoint: config and log only
    (run / "model.pt").unlink()
    model = AxiomModel(steps=3, **TINY).fit(run, resume=True, checkpoint_every=3, log_every=1)
    logged = [json.loads(line)["step"] for line in (run / "train.jsonl").read_text().splitlines()]
    assert logged == [r["step"] for r in model.history_] == [1, 2, 3]


def test_numpy_integer_hyperparameters_are_stored_as_ints(tmp_path):
    model = AxiomModel(steps=np.int64(2), seed=np.int64(3), **{**TINY, "d_model": np.int32(16)})
    assert type(model.seed) is int and type(model.steps) is int and type(model.d_model) is int
    model.fit(tmp_path / "run")
    assert AxiomModel.load(tmp_path / "run").get_params() == model.get_params()


def test_a_damaged_checkpoint_is_named(tmp_path):
    AxiomModel(steps=2, **TINY).fit(tmp_path / "run", checkpoint_every=1)
    path = list_checkpoints(tmp_path / "run" / CHECKPOINT_DIR)[-1][1]
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=path.name):
        AxiomModel(steps=3, **TINY).set_params(steps=2).fit(tmp_path / "run", resume=True)
    with pytest.raises(CheckpointError, match="not a latentscm checkpoint"):
        (tmp_path / "bad.pt").write_bytes(b"junk")
        AxiomModel.load(tmp_path / "bad.pt")


def test_a_tiny_run_beats_chance_on_its_training_distribution():
    # the unperturbed distribution (forward chains, fixed names) is the easiest one to learn quickly
    model = AxiomModel(d_model=32, n_layers=2, n_heads=2, d_ff=64, perturb=False, max_length=4, n_names=8,
                       dsep_fraction=0.0, steps=100, batch_size=32, lr=3e-3, warmup=10, seed=0).fit()
    held_out = {"train_distribution": model.distribution().sample(400, seed=999)}
    score = evaluate(model, held_out)["train_distribution"]
    chance = chance_accuracy(held_out)["train_distribution"]
    assert chance < 0.6
    assert score > chance + 0.2, (score, chance)


def test_transformer_sizes_are_hyperparameters_and_positions_are_checked():
    small = AxiomTransformer(20, d_model=16, n_layers=1, n_heads=2, d_ff=16)
    large = AxiomTransformer(20, d_model=128, n_layers=6, n_heads=4, d_ff=512)
    assert small.n_parameters() < 10_000 and 1_000_000 <= large.n_parameters() <= 5_000_000
    ids = torch.tensor([[8, 1, 9, 2, 8, 9, 5], [8, 1, 9, 2, 9, 8, 5]])
    logits = small(ids, torch.tensor([7, 7]))
    assert logits.shape == (2, 2) and torch.isfinite(logits).all()
    # padding after the end changes nothing
    padded = torch.cat([ids, torch.zeros(2, 3, dtype=torch.long)], dim=1)
    torch.testing.assert_close(small(padded, torch.tensor([7, 7])), logits)
    learned = AxiomTransformer(20, d_model=16, n_layers=1, n_heads=2, d_ff=16, positional="learned",
                               max_positions=5)
    with pytest.raises(ValueError, match="max_positions=5"):
        learned(ids, torch.tensor([7, 7]))
    with pytest.raises(ValueError, match="'positional'"):
        AxiomTransformer(20, positional="rotary")
    with pytest.raises(ValueError, match="even head width"):
        AxiomTransformer(20, d_model=12, n_heads=4, positional="rope")
    with pytest.raises(ValueError, match="divisible"):
        AxiomTransformer(20, d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="readout=3"):
        small(ids[:, :2], torch.tensor([2, 2]))


def test_rotary_positions_make_attention_scores_relative():
    """rotate(q)_s . rotate(k)_t depends on s - t only; position 0 is left alone; a rope model runs
    and ignores right padding."""
    from latentscm.axioms.transformer import rotate

    generator = torch.Generator().manual_seed(0)
    q, k = torch.randn(1, 1, 1, 8, generator=generator), torch.randn(1, 1, 1, 8, generator=generator)
    q_all, k_all = rotate(q.expand(1, 1, 12, 8).contiguous()), rotate(k.expand(1, 1, 12, 8).contiguous())
    scores = (q_all[0, 0] @ k_all[0, 0].T)  # (12, 12): query position s, key position t
    for offset in (0, 3, 7):
        diagonal = torch.diagonal(scores, offset=-offset)
        torch.testing.assert_close(diagonal, diagonal[:1].expand_as(diagonal), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(q_all[0, 0, 0], q[0, 0, 0])
    assert not torch.allclose(scores[5, 2], scores[5, 4])
    model = AxiomTransformer(20, d_model=16, n_layers=1, n_heads=2, d_ff=16, positional="rope")
    ids = torch.tensor([[8, 1, 9, 2, 8, 9, 5], [9, 1, 8, 2, 8, 9, 5]])
    logits = model(ids, torch.tensor([7, 7]))
    padded = torch.cat([ids, torch.zeros(2, 3, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(padded, torch.tensor([7, 7])), logits)


def test_bad_hyperparameters_are_named():
    with pytest.raises(ValueError, match="'steps'"):
        AxiomModel(steps=0)
    with pytest.raises(TypeError, match="'perturb'"):
        AxiomModel(perturb="yes")
    with pytest.raises(ValueError, match="'n_names'"):
        AxiomModel(n_names=4)
    with pytest.raises(ValueError, match="no parameter"):
        AxiomModel().set_params(depth=3)
    with pytest.raises(RuntimeError, match="not trained"):
        AxiomModel().predict(AxiomDistribution().sample(1, seed=0))
    assert AxiomModel(**AxiomModel(lr=0.01).get_params()).get_params() == AxiomModel(lr=0.01).get_params()
