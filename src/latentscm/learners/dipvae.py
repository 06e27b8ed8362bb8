"""DIP-VAE I and II (Kumar et al. 2018, "Variational inference of disentangled latent concepts
from unlabeled observations").

Both add to the ELBO a penalty pushing a covariance matrix of the aggregate posterior to the
identity: ``lambda_od * Σ_{i≠j} Cov_ij² + lambda_d * Σ_i (Cov_ii - 1)²``.

- DIP-VAE-I matches Cov_p(x)[μ(x)], the covariance of the posterior means over the minibatch.
- DIP-VAE-II matches Cov_q(z) = E_p(x)[diag σ²(x)] + Cov_p(x)[μ(x)].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch

from latentscm._validation import check_number
from latentscm.learners.base import Learner, StepOutput
from latentscm.learners.vae import vae_forward

__all__ = ["DIPVAEI", "DIPVAEII", "dip_regulariser"]


def dip_regulariser(covariance: torch.Tensor, lambda_od: float, lambda_d: float) -> torch.Tensor:
    """``lambda_od * Σ off-diagonal² + lambda_d * Σ (diagonal - 1)²`` of a (D, D) covariance."""
    diagonal = torch.diagonal(covariance)
    off_diagonal = covariance - torch.diag(diagonal)
    return lambda_od * off_diagonal.square().sum() + lambda_d * (diagonal - 1.0).square().sum()


def _covariance(x: torch.Tensor) -> torch.Tensor:
    """Covariance (D, D) of the rows of x (M, D) (biased, as an expectation over the batch)."""
    centred = x - x.mean(0, keepdim=True)
    return centred.T @ centred / x.shape[0]


class _DIPVAE(Learner):
    variant: ClassVar[str] = "i"

    def __init__(self, *, lambda_od: float, lambda_d: float, latent_dim: int, likelihood: str,
                 channels: Sequence[int], hidden_dim: int, lr: float, batch_size: int, steps: int,
                 grad_clip: float | None, seed: int, device: str):
        self.lambda_od = lambda_od
        self.lambda_d = lambda_d
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        self.lambda_od = check_number(self.lambda_od, "lambda_od", owner, low=0)
        self.lambda_d = check_number(self.lambda_d, "lambda_d", owner, low=0)

    def loss(self, images: torch.Tensor, step: int) -> StepOutput:
        out = vae_forward(self, images)
        kl = out.kl_units.sum(1).mean()
        covariance = _covariance(out.mean)
        if self.variant == "ii":
            covariance = covariance + torch.diag(out.logvar.exp().mean(0))
        penalty = dip_regulariser(covariance, self.lambda_od, self.lambda_d)
        loss = out.recon + kl + penalty
        return StepOutput({"model": loss}, {"loss": loss, "recon": out.recon, "kl": kl, "dip": penalty})


class DIPVAEI(_DIPVAE):
    """DIP-VAE-I (Kumar et al. 2018): penalises the covariance of the posterior means.

    Parameters
    ----------
    lambda_od : float, default 10.0
        Weight of the off-diagonal terms (>= 0; disentanglement_lib sweeps 1 ... 50).
    lambda_d : float, default 100.0
        Weight of the diagonal terms (>= 0; 10 x lambda_od for type I in the paper).
    latent_dim, likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "dip_vae_i"
    variant = "i"

    def __init__(self, *, lambda_od: float = 10.0, lambda_d: float = 100.0, latent_dim: int = 10,
                 likelihood: str = "bernoulli", channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256,
                 lr: float = 1e-4, batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None,
                 seed: int = 0, device: str = "cpu"):
        super().__init__(lambda_od=lambda_od, lambda_d=lambda_d, latent_dim=latent_dim, likelihood=likelihood,
                         channels=channels, hidden_dim=hidden_dim, lr=lr, batch_size=batch_size, steps=steps,
                         grad_clip=grad_clip, seed=seed, device=device)


class DIPVAEII(_DIPVAE):
    """DIP-VAE-II (Kumar et al. 2018): penalises the covariance of the aggregate posterior q(z).

    Parameters
    ----------
    lambda_od : float, default 10.0
        Weight of the off-diagonal terms (>= 0).
    lambda_d : float, default 10.0
        Weight of the diagonal terms (>= 0; equal to lambda_od for type II in the paper).
    latent_dim, likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "dip_vae_ii"
    variant = "ii"

    def __init__(self, *, lambda_od: float = 10.0, lambda_d: float = 10.0, latent_dim: int = 10,
                 likelihood: str = "bernoulli", channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256,
                 lr: float = 1e-4, batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None,
                 seed: int = 0, device: str = "cpu"):
        super().__init__(lambda_od=lambda_od, lambda_d=lambda_d, latent_dim=latent_dim, likelihood=likelihood,
                         channels=channels, hidden_dim=hidden_dim, lr=lr, batch_size=batch_size, steps=steps,
                         grad_clip=grad_clip, seed=seed, device=device)
