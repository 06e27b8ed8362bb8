"""β-VAE (Higgins et al. 2017) and AnnealedVAE (Burgess et al. 2018).

Both use a diagonal Gaussian posterior q(z | x) = N(mean(x), diag(exp(logvar(x)))), a standard
normal prior and the reparameterisation trick; the reconstruction term is the per-image NLL
summed over pixels (see :mod:`latentscm.nn.likelihoods`).

- β-VAE: ``recon + beta * KL(q(z|x) || p(z))``.
- AnnealedVAE ("Understanding disentangling in β-VAE"): ``recon + gamma * |KL - C(step)|`` with a
  capacity ``C`` raised linearly from 0 to ``c_max`` nats over ``anneal_steps`` steps, then held.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch

from latentscm._validation import check_number
from latentscm.learners.base import Learner, StepOutput, gaussian_kl

__all__ = ["BetaVAE", "AnnealedVAE", "VAEForward", "vae_forward"]


class VAEForward(NamedTuple):
    """One pass through a Gaussian VAE on a minibatch of N images with D latent units."""

    mean: torch.Tensor  # (N, D)
    logvar: torch.Tensor  # (N, D)
    z: torch.Tensor  # (N, D) reparameterised sample
    recon: torch.Tensor  # () mean per-image NLL
    kl_units: torch.Tensor  # (N, D) KL per image and unit


def vae_forward(learner: Learner, images: torch.Tensor) -> VAEForward:
    """Encode, sample with the learner's generator, decode and score ``images`` (N, C, H, W)."""
    mean, logvar = learner._posterior(images, learner._net("encoder"))
    z = learner._reparameterise(mean, logvar, learner._generator)
    logits = learner._net("decoder")(z)
    return VAEForward(mean, logvar, z, learner._reconstruction(logits, images), gaussian_kl(mean, logvar))


class BetaVAE(Learner):
    """β-VAE (Higgins et al. 2017, "β-VAE: learning basic visual concepts with a constrained
    variational framework"): the ELBO with the KL term weighted by ``beta`` (``beta=1`` is the
    plain VAE of Kingma & Welling 2014).

    Parameters
    ----------
    beta : float, default 4.0
        Weight of the KL term (>= 0; disentanglement_lib sweeps 1, 2, 4, 6, 8, 16).
    latent_dim, likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "beta_vae"

    def __init__(self, *, beta: float = 4.0, latent_dim: int = 10, likelihood: str = "bernoulli",
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-4,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None, seed: int = 0,
                 device: str = "cpu"):
        self.beta = beta
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        self.beta = check_number(self.beta, "beta", type(self).__name__, low=0)

    def loss(self, images: torch.Tensor, step: int) -> StepOutput:
        out = vae_forward(self, images)
        kl = out.kl_units.sum(1).mean()
        loss = out.recon + self.beta * kl
        return StepOutput({"model": loss}, {"loss": loss, "recon": out.recon, "kl": kl, "elbo": -(out.recon + kl)})


class AnnealedVAE(Learner):
    """AnnealedVAE (Burgess et al. 2018, "Understanding disentangling in β-VAE"): the KL is pulled
    towards a capacity ``C`` that grows linearly from 0 to ``c_max`` over ``anneal_steps`` steps.

    Loss: ``recon + gamma * |KL - C(step)|`` with ``C(step) = c_max * min(1, step / anneal_steps)``.

    Parameters
    ----------
    gamma : float, default 1000.0
        Weight of the capacity term (> 0; the paper and disentanglement_lib use 1000).
    c_max : float, default 25.0
        Final capacity in nats (>= 0; disentanglement_lib sweeps 5 ... 100).
    anneal_steps : int or None, default None
        Steps over which C rises (>= 1). ``None`` uses a third of ``steps``, the proportion of
        the reference setting (100k of 300k steps): of the ``steps`` the run started with, so
        resuming with more steps keeps C at ``c_max`` rather than stretching the ramp mid-run.
    latent_dim, likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "annealed_vae"

    def __init__(self, *, gamma: float = 1000.0, c_max: float = 25.0, anneal_steps: int | None = None,
                 latent_dim: int = 10, likelihood: str = "bernoulli", channels: Sequence[int] = (32, 32, 64, 64),
                 hidden_dim: int = 256, lr: float = 1e-4, batch_size: int = 64, steps: int = 3000,
                 grad_clip: float | None = None, seed: int = 0, device: str = "cpu"):
        self.gamma = gamma
        self.c_max = c_max
        self.anneal_steps = anneal_steps
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        self.gamma = check_number(self.gamma, "gamma", owner, low=0, low_inclusive=False)
        self.c_max = check_number(self.c_max, "c_max", owner, low=0)
        if self.anneal_steps is not None:
            self.anneal_steps = check_number(self.anneal_steps, "anneal_steps", owner, low=1, integer=True)

    def capacity(self, step: int) -> float:
        """The target KL C(step) in nats."""
        horizon = self.anneal_steps if self.anneal_steps is not None else max(1, self._schedule_steps() // 3)
        return self.c_max * min(1.0, step / horizon)

    def loss(self, images: torch.Tensor, step: int) -> StepOutput:
        out = vae_forward(self, images)
        kl = out.kl_units.sum(1).mean()
        capacity = self.capacity(step)
        loss = out.recon + self.gamma * (kl - capacity).abs()
        return StepOutput({"model": loss}, {"loss": loss, "recon": out.recon, "kl": kl, "capacity": capacity})
