"""CausalDiffAE trains its latent SCM at ``mechanism_lr``, apart from the UNet's ``lr``; runs recorded before the
parameter existed load and resume as they were trained (one learning rate)."""

import json

import numpy as np
import pytest
import torch

import latentscm
import latentscm.worlds
from latentscm.learners import make
from latentscm.training.resume import resume

TINY = {"channels": (8, 16), "hidden_dim": 32, "batch_size": 16, "seed": 0, "unet_channels": 8,
        "unet_multipliers": (1, 2), "ddim_steps": 4, "timesteps": 60, "ema_decay": 0.9, "lr": 1e-4}


@pytest.fixture(scope="module")
def world():
    return latentscm.worlds.make("pendulum", size=16, noise_std=0.3)


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def test_one_step_moves_the_scm_by_mechanism_lr_and_leaves_the_rest_alone(world):
    # Adam's first step moves each weight with a gradient by exactly its learning rate (sign of the gradient, whatever
    # its scale or clipping). Same seed and batch: the two fits differ only in the SCM's rate, so the SCM's weights
    # differ by 1e-2 - 1e-4 and everything else is bit-identical (labels mode: the UNet sees labels, not the SCM).
    fits = {rate: make("causal_diffae", **TINY, steps=1, mechanism_lr=rate).fit(world, n_samples=16, progress=False)
            for rate in (None, 1e-2)}
    slow, fast = fits[None], fits[1e-2]
    gaps = [(_weights(fast.scm_)[name] - weight).abs().max().item() for name, weight in _weights(slow.scm_).items()]
    assert max(gaps) == pytest.approx(1e-2 - 1e-4, rel=1e-3)
    for module in ("unet_", "encoder_"):
        for name, weight in _weights(getattr(slow, module)).items():
            assert torch.equal(weight, _weights(getattr(fast, module))[name]), (module, name)
    groups = fast._make_optimizer("model", list(fast.unet_.parameters()) + list(fast.scm_.parameters())).param_groups
    assert [group["lr"] for group in groups] == [1e-4, 1e-2]
    assert len(slow._make_optimizer("model", list(slow.scm_.parameters())).param_groups) == 1


@pytest.mark.parametrize("value", [0, -1e-3, "fast", float("nan")])
def test_a_bad_mechanism_lr_is_refused_by_name(value):
    with pytest.raises((TypeError, ValueError), match="mechanism_lr"):
        make("causal_diffae", mechanism_lr=value).fit(np.zeros((2, 1, 8, 8), np.float32))


def test_a_run_recorded_before_mechanism_lr_existed_resumes_with_one_learning_rate(world, tmp_path):
    run = tmp_path / "run"
    old = make("causal_diffae", **TINY, steps=2, mechanism_lr=None)
    old.fit(world, out=str(run), n_samples=32, checkpoint_every=1, progress=False)
    config = json.loads((run / "config.json").read_text())
    del config["learner"]["params"]["mechanism_lr"]  # as written before the parameter existed
    (run / "config.json").write_text(json.dumps(config))
    assert latentscm.load(str(run)).mechanism_lr is None
    # today's default would put the SCM in a second parameter group, which the saved optimiser state does not have
    resumed = resume(run, steps=3, progress=False)
    assert resumed.mechanism_lr is None and [r["step"] for r in resumed.history_ if r["kind"] == "train"][-1] == 3


def test_an_old_concept_conditioned_run_resumes(world, tmp_path):
    # condition="concepts" leaves mechanism_lr unused; the None an old run is restored with is not "set by the user"
    concept = tmp_path / "cvae"
    make("causal_vae", channels=(8, 16), hidden_dim=32, batch_size=16, steps=2, seed=0).fit(
        world, out=str(concept), n_samples=32, progress=False)
    params = {key: value for key, value in TINY.items() if key not in ("channels", "hidden_dim")}
    run = tmp_path / "dae"
    make("causal_diffae", **params, steps=2, condition="concepts", concept_model=str(concept)).fit(
        world, out=str(run), n_samples=32, checkpoint_every=1, progress=False)
    config = json.loads((run / "config.json").read_text())
    del config["learner"]["params"]["mechanism_lr"]
    (run / "config.json").write_text(json.dumps(config))
    resumed = resume(run, steps=3, progress=False)
    assert resumed.mechanism_lr is None and resumed.n_steps_ == 3
    with pytest.raises(ValueError, match="'mechanism_lr' would be ignored"):
        make("causal_diffae", **params, steps=2, condition="concepts", concept_model=str(concept),
             mechanism_lr=1e-2).fit(world, n_samples=32, progress=False)
