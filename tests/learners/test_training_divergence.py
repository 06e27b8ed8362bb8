"""Training-loop review (session 26): non-finite training is caught without a run directory too and on
every DDP rank, and the loop leaves torch's deterministic-algorithm flags as it found them."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from latentscm.learners.base import StepOutput
from latentscm.learners.factorvae import FactorVAE
from latentscm.learners.vae import BetaVAE
from latentscm.testing.learner_checks import tiny_params


def _images(n: int = 16) -> np.ndarray:
    return np.random.default_rng(0).random((n, 1, 16, 16), dtype=np.float32)


class _NaNGradientAtLastStep(BetaVAE):
    """The last step's loss is finite (sqrt(0) = 0) but its gradient is NaN (d sqrt / dx at 0)."""

    def loss(self, images, step):
        out = super().loss(images, step)
        if step != self.steps - 1:
            return out
        weight = next(self.encoder_.parameters())
        bump = torch.sqrt(((weight - weight.detach()) ** 2).sum())
        return StepOutput({"model": out.losses["model"] + bump}, out.logs)


class _NoLoggedLoss(BetaVAE):
    """A NaN loss and logs without a "loss" key (StepOutput does not require one)."""

    def loss(self, images, step):
        out = super().loss(images, step)
        return StepOutput({"model": out.losses["model"] * float("nan")}, {"recon": out.logs["recon"]})


class _NaNDiscriminatorAtLastStep(FactorVAE):
    """The discriminator's loss (not the logged "loss", the VAE's) is NaN at the last step."""

    def loss(self, images, step):
        out = super().loss(images, step)
        if step != self.steps - 1:
            return out
        return StepOutput({**out.losses, "discriminator": out.losses["discriminator"] * float("nan")}, out.logs)


def test_nan_gradient_of_the_last_step_is_caught_without_a_run_directory():
    learner = _NaNGradientAtLastStep(**tiny_params(_NaNGradientAtLastStep, steps=4, batch_size=8))
    with pytest.raises(FloatingPointError, match=r"weights of encoder became NaN or infinite by step 4;.*out=None"):
        learner.fit(_images(), log_every=2, progress=False)


def test_nan_loss_is_caught_when_the_logs_hold_no_loss_key():
    learner = _NoLoggedLoss(**tiny_params(_NoLoggedLoss, steps=4, batch_size=8))
    with pytest.raises(FloatingPointError, match=r"loss of optimiser group 'model' became nan by step 2"):
        learner.fit(_images(), log_every=2, progress=False)


def test_nan_discriminator_loss_is_caught_and_named():
    learner = _NaNDiscriminatorAtLastStep(**tiny_params(_NaNDiscriminatorAtLastStep, steps=4, batch_size=8))
    with pytest.raises(FloatingPointError, match=r"optimiser group 'discriminator' became nan by step 4"):
        learner.fit(_images(), log_every=2, progress=False)


def test_finite_training_is_not_refused_and_stays_exact():
    """The new checks read losses only: a finite run trains as before, bit for bit on a second fit."""
    first = BetaVAE(**tiny_params(BetaVAE, steps=4, batch_size=8)).fit(_images(), log_every=3, progress=False)
    second = BetaVAE(**tiny_params(BetaVAE, steps=4, batch_size=8)).fit(_images(), log_every=1, progress=False)
    for name, module in first._modules().items():
        for key, value in module.state_dict().items():
            assert torch.equal(value, second._modules()[name].state_dict()[key]), (name, key)


@pytest.mark.parametrize("enabled, warn_only", [(False, False), (True, False), (True, True)])
def test_fit_leaves_the_deterministic_algorithm_flags_as_it_found_them(enabled, warn_only):
    previous = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
    try:
        BetaVAE(**tiny_params(BetaVAE, steps=1, batch_size=8)).fit(_images(), progress=False)
        after = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])
    assert after == (enabled, warn_only)


@pytest.mark.slow
def test_every_ddp_rank_stops_with_the_named_divergence(tmp_path, subprocess_env):
    """Only rank 0 used to check the weights before a checkpoint; rank 1 then died of a gloo "Connection closed
    by peer" RuntimeError that does not say the run diverged."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
               str(Path(__file__).resolve()), str(tmp_path / "run")]
    result = subprocess.run(command, env=subprocess_env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    for rank in (0, 1):
        assert f"rank {rank} stopped by FloatingPointError: BetaVAE: the weights of" in result.stdout, \
            result.stdout[-2000:] + result.stderr[-2000:]


def _diverge_under_torchrun(run_dir: str) -> None:
    """The child of the DDP test (this file run by torchrun): a diverging BetaVAE (lr=1e30) checkpointed every
    step; each rank prints the error that stopped it."""
    import os

    from learners_support import TinyBlobs

    torch.set_num_threads(1)
    try:
        BetaVAE(**tiny_params(BetaVAE, lr=1e30, steps=20, batch_size=8)).fit(
            TinyBlobs(size=16), out=run_dir, n_samples=32, checkpoint_every=1, log_every=20, progress=False)
        print(f"rank {os.environ['RANK']} finished", flush=True)
    except Exception as error:  # noqa: BLE001 (the child reports whatever stopped it)
        print(f"rank {os.environ['RANK']} stopped by {type(error).__name__}: {str(error)[:60]}", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    _diverge_under_torchrun(sys.argv[1])
