"""FactorVAE (Kim & Mnih 2018, "Disentangling by factorising").

A VAE whose loss adds ``gamma * TC``, the total correlation of q(z) estimated by the density-ratio
trick: a discriminator D tells codes z ~ q(z) from codes whose dimensions were shuffled
independently across the minibatch (samples of Π_d q(z_d)), and TC ≈ E[log D(z) - log(1 - D(z))],
the difference of its two logits. The discriminator is trained with cross-entropy by its own
optimiser (Adam, lr 1e-4, betas 0.5/0.9 as in the paper); as in disentanglement_lib, one
minibatch serves both (the shuffled codes are a permutation of the same batch's codes).

The loop runs one backward pass per optimiser restricted to that optimiser's parameters, so the
VAE never receives the discriminator's gradients and vice versa.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from latentscm._validation import check_number
from latentscm.learners.base import Learner, StepOutput, _check_channels
from latentscm.learners.vae import vae_forward
from latentscm.nn import MLP

__all__ = ["FactorVAE", "permute_dims"]


def permute_dims(z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shuffle each column of ``z`` (M, D) independently across the batch (samples of Π_d q(z_d))."""
    keys = torch.rand(z.shape, generator=generator, device=z.device)
    return torch.gather(z, 0, keys.argsort(dim=0))


class FactorVAE(Learner):
    """FactorVAE (Kim & Mnih 2018).

    Loss of the VAE: ``recon + KL + gamma * TC``; of the discriminator: cross-entropy between real
    codes (class 0) and dimension-shuffled codes (class 1).

    Parameters
    ----------
    gamma : float, default 10.0
        Weight of the total correlation (>= 0; disentanglement_lib sweeps 10 ... 100).
    discriminator_hidden : sequence of int, default (1000,) * 6
        Hidden widths of the discriminator MLP (the paper: 6 layers of 1000).
    discriminator_lr : float, default 1e-4
        Learning rate of the discriminator's Adam.
    latent_dim, likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "factor_vae"

    def __init__(self, *, gamma: float = 10.0, discriminator_hidden: Sequence[int] = (1000,) * 6,
                 discriminator_lr: float = 1e-4, latent_dim: int = 10, likelihood: str = "bernoulli",
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-4,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None, seed: int = 0,
                 device: str = "cpu"):
        self.gamma = gamma
        self.discriminator_hidden = discriminator_hidden
        self.discriminator_lr = discriminator_lr
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        self.gamma = check_number(self.gamma, "gamma", owner, low=0)
        try:
            self.discriminator_hidden = _check_channels(self.discriminator_hidden, owner)
        except (TypeError, ValueError) as error:
            raise type(error)(str(error).replace("'channels'", "'discriminator_hidden'")) from None
        self.discriminator_lr = check_number(self.discriminator_lr, "discriminator_lr", owner, low=0,
                                             low_inclusive=False)

    def _module_names(self) -> tuple[str, ...]:
        return ("encoder", "decoder", "discriminator")

    def _optimizer_groups(self) -> dict[str, tuple[str, ...]]:
        return {"model": ("encoder", "decoder"), "discriminator": ("discriminator",)}

    def _build_modules(self, image_shape, latent_dim) -> dict[str, nn.Module]:
        modules = super()._build_modules(image_shape, latent_dim)
        modules["discriminator"] = MLP(latent_dim, self.discriminator_hidden, 2, negative_slope=0.2)
        return modules

    def _make_optimizer(self, group: str, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
        if group == "discriminator":
            return torch.optim.Adam(parameters, lr=self.discriminator_lr, betas=(0.5, 0.9), eps=1e-8)
        return super()._make_optimizer(group, parameters)

    def loss(self, images: torch.Tensor, step: int) -> StepOutput:
        out = vae_forward(self, images)
        kl = out.kl_units.sum(1).mean()
        shuffled = permute_dims(out.z.detach(), self._generator)
        # One discriminator call on both halves (a DDP-wrapped module must run forward once per step).
        logits = self._net("discriminator")(torch.cat([out.z, shuffled]))
        real, fake = logits.split(out.z.shape[0])
        tc = (real[:, 0] - real[:, 1]).mean()
        vae_loss = out.recon + kl + self.gamma * tc
        labels = torch.cat([torch.zeros(real.shape[0], dtype=torch.long, device=real.device),
                            torch.ones(fake.shape[0], dtype=torch.long, device=fake.device)])
        discriminator_loss = F.cross_entropy(logits, labels)
        accuracy = (logits.argmax(1) == labels).float().mean()
        return StepOutput({"model": vae_loss, "discriminator": discriminator_loss},
                          {"loss": vae_loss, "recon": out.recon, "kl": kl, "tc": tc,
                           "discriminator_loss": discriminator_loss, "discriminator_accuracy": accuracy})
