"""Support for the study tests (not a test module): the tiny spec every test starts from, and a
β-VAE that sleeps after each step so a test can kill a study driver in the middle of a trial."""

import hashlib
import time
from typing import Any

from latentscm.learners.vae import BetaVAE

#: Small, fast hyperparameters shared by every learner of the test studies.
TINY = {"latent_dim": 3, "channels": [4, 8], "hidden_dim": 16, "batch_size": 8, "lr": 1e-3}


def tiny_spec(**overrides: Any) -> dict[str, Any]:
    """2 learners (β-VAE, β-TCVAE) × 2 β × 2 seeds on 16-pixel sprites, 6 steps, a two-metric evaluation."""
    spec = {
        "name": "tiny",
        "preset": None,
        "steps": 6,
        "seeds": [0, 1],
        "learners": {"beta_vae": {"params": dict(TINY), "grid": {"beta": [1.0, 4.0]}},
                     "beta_tcvae": {"params": dict(TINY), "grid": {"beta": [1.0, 4.0]}}},
        "worlds": {"sprites": {"size": 16}},
        "training": {"n_samples": 64, "checkpoint_every": 3},
        "evaluation": {"suite": ["mig", "mcc"], "n": 64, "activity": False},
    }
    spec.update(overrides)
    return spec


class SlowBetaVAE(BetaVAE):
    """A β-VAE whose every training step also sleeps ``step_sleep`` seconds (same weights as BetaVAE)."""

    name = "slow_beta_vae"

    def __init__(self, *, step_sleep: float = 0.0, beta: float = 4.0, latent_dim: int = 10,
                 likelihood: str = "bernoulli", channels=(32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-4,
                 batch_size: int = 64, steps: int = 3000, grad_clip=None, seed: int = 0, device: str = "cpu"):
        self.step_sleep = step_sleep
        super().__init__(beta=beta, latent_dim=latent_dim, likelihood=likelihood, channels=channels,
                         hidden_dim=hidden_dim, lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip,
                         seed=seed, device=device)

    def loss(self, images, step):
        time.sleep(self.step_sleep)
        return super().loss(images, step)


def register_slow_learner() -> None:
    """Register :class:`SlowBetaVAE` as ``slow_beta_vae`` (the driver and its resumption both do)."""
    from latentscm import learners

    learners.register("slow_beta_vae", SlowBetaVAE)


def fingerprint(directory):
    """(relative path, size, mtime_ns, sha256) of every file below ``directory``."""
    return sorted((str(p.relative_to(directory)), p.stat().st_size, p.stat().st_mtime_ns,
                   hashlib.sha256(p.read_bytes()).hexdigest()) for p in directory.rglob("*") if p.is_file())
