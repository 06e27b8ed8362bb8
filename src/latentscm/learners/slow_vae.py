"""SlowVAE: a sparse (Laplace) transition prior between the two images of a pair (Klindt et al., ICLR 2021).

Klindt, Schott, Sharma, Ustyuzhaninov, Brendel, Bethge & Paiton, "Towards Nonlinear Disentanglement
in Natural Data with Temporal Sparse Coding". Natural transitions (consecutive video frames, an
object moved) change most factors a little and few a lot: a Laplace distribution of the change. The
SlowVAE encodes both images of a pair with one diagonal Gaussian encoder, ``q(z | x0)`` and
``q(z | x1)``, and puts a standard normal prior on each and a Laplace prior with rate ``rate`` on the
transition: ``p(z1 | z0) = prod_j (rate / 2) exp(-rate |z1_j - z0_j|)``, taken at the partner's
posterior mean and both ways (``x0 -> x1`` and ``x1 -> x0``). The Laplace prior's sparsity is what
identifies the factors (the paper's identifiability result), with no threshold or count of the
changed factors.

The loss per pair, as the official code (bethgelab/slow_disentanglement) scales it, so that its
hyperparameters (``beta=1, gamma=10, rate=6``, the values its authors selected) carry over:

    recon(x0) + recon(x1)
    + beta  * mean over the 2 images of KL(q(z | x) || N(0, I))
    + gamma * (CE(q(z | x1); Laplace(m0, rate)) + CE(q(z | x0); Laplace(m1, rate)) - mean over the 2 images of H(q))

with ``CE(N(m, s^2); Laplace(c, rate)) = -log(rate / 2) + rate E|z - c|``, in closed form (the mean of a
folded normal). Pairs come as for :class:`~latentscm.learners.ada_gvae.AdaGVAE`: a World's exact
counterfactual pairs (``pair_changes``) or :class:`~latentscm.data.ImagePairs`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch

from latentscm._validation import check_number
from latentscm.learners.base import Learner, StepOutput, gaussian_kl
from latentscm.worlds.pairs import PAIR_CHANGES, check_pair_changes

__all__ = ["SlowVAE", "laplace_cross_entropy", "gaussian_entropy"]


def laplace_cross_entropy(offset: torch.Tensor, logvar: torch.Tensor, rate: float) -> torch.Tensor:
    """``E_{z ~ N(offset, exp logvar)}[-log Laplace(z | 0, rate)]`` per entry, from (N, D) tensors:
    ``-log(rate / 2) + rate E|z|`` with ``E|z| = s sqrt(2 / pi) exp(-m^2 / 2 s^2) + m (1 - 2 Phi(-m / s))``."""
    sigma = (0.5 * logvar).exp()
    folded = (sigma * math.sqrt(2.0 / math.pi) * torch.exp(-offset ** 2 / (2.0 * sigma ** 2))
              + offset * torch.erf(offset / (sigma * math.sqrt(2.0))))  # 1 - 2 Phi(-m/s) = erf(m / (s sqrt 2))
    return -math.log(rate / 2.0) + rate * folded


def gaussian_entropy(logvar: torch.Tensor) -> torch.Tensor:
    """Entropy of ``N(m, exp logvar)`` per entry: ``(logvar + log(2 pi e)) / 2``."""
    return 0.5 * (logvar + math.log(2.0 * math.pi * math.e))


class SlowVAE(Learner):
    """SlowVAE (Klindt et al. 2021): a β-VAE on pairs with a Laplace prior on the change between the
    two codes of each pair (see the module docstring).

    Parameters
    ----------
    beta : float, default 1.0
        Weight of the KL to the standard normal prior (>= 0).
    gamma : float, default 10.0
        Weight of the Laplace transition term (>= 0; 0 is a β-VAE that sees pairs).
    rate : float, default 6.0
        Rate (inverse scale) of the Laplace transition prior (> 0; larger: sparser changes).
    pair_changes : int or "random", default "random"
        How the training pairs are drawn from a World (see :class:`~latentscm.learners.ada_gvae.AdaGVAE`).
    latent_dim, likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "slow_vae"
    uses_pairs: ClassVar[bool] = True

    def __init__(self, *, beta: float = 1.0, gamma: float = 10.0, rate: float = 6.0,
                 pair_changes: int | str = PAIR_CHANGES, latent_dim: int = 10, likelihood: str = "bernoulli",
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-4,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None, seed: int = 0,
                 device: str = "cpu"):
        self.beta = beta
        self.gamma = gamma
        self.rate = rate
        self.pair_changes = pair_changes
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        self.beta = check_number(self.beta, "beta", owner, low=0)
        self.gamma = check_number(self.gamma, "gamma", owner, low=0)
        self.rate = check_number(self.rate, "rate", owner, low=0, low_inclusive=False)
        self.pair_changes = check_pair_changes(self.pair_changes, "pair_changes", owner)

    def loss(self, images: torch.Tensor, step: int, *, pair: torch.Tensor,
             changed: torch.Tensor | None = None) -> StepOutput:
        """Both images' reconstructions, their KL to N(0, I) and the Laplace transition term, per pair.
        images, pair : (B, C, H, W); ``changed`` is not used (the Laplace prior needs no count)."""
        n = images.shape[0]
        both = torch.cat([images, pair])
        mean, logvar = self._posterior(both, self._net("encoder"))
        z = self._reparameterise(mean, logvar, self._generator)
        recon = 2.0 * self._reconstruction(self._net("decoder")(z), both)
        kl_normal = gaussian_kl(mean, logvar).sum(1).mean()
        entropy = gaussian_entropy(logvar).sum(1).mean()
        mean0, mean1, logvar0, logvar1 = mean[:n], mean[n:], logvar[:n], logvar[n:]
        cross = (laplace_cross_entropy(mean1 - mean0, logvar1, self.rate)
                 + laplace_cross_entropy(mean0 - mean1, logvar0, self.rate)).sum(1).mean()
        kl_laplace = cross - entropy
        loss = recon + self.beta * kl_normal + self.gamma * kl_laplace
        return StepOutput({"model": loss}, {"loss": loss, "recon": recon, "kl": kl_normal, "kl_laplace": kl_laplace,
                                            "change_l1": (mean1 - mean0).abs().sum(1).mean()})
