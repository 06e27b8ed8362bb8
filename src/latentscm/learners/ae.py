"""The plain autoencoder: deterministic codes, reconstruction loss only.

The baseline of the disentanglement literature (e.g. Locatello et al. 2019 and Hsu et al. 2023
compare against it). Its codes have no prior, so :meth:`AE.sample` draws from a diagonal Gaussian
fitted to the codes of the training images at the end of ``fit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from latentscm.learners.base import Learner, StepOutput

__all__ = ["AE"]


class AE(Learner):
    """Autoencoder with the disentanglement_lib encoder and decoder.

    Loss: mean per-image NLL of the images under the decoder's likelihood.

    Parameters
    ----------
    latent_dim, likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "ae"
    posterior = "deterministic"

    def __init__(self, *, latent_dim: int = 10, likelihood: str = "bernoulli",
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-4,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None, seed: int = 0,
                 device: str = "cpu"):
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _build(self, image_shape, *, n_factors=None, device=None) -> None:
        super()._build(image_shape, n_factors=n_factors, device=device)
        self.code_mean_ = torch.zeros(self.latent_dim_)
        self.code_std_ = torch.ones(self.latent_dim_)

    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        return self.encoder_(images)

    def loss(self, images: torch.Tensor, step: int) -> StepOutput:
        codes = self._net("encoder")(images)
        recon = self._reconstruction(self._net("decoder")(codes), images)
        return StepOutput({"model": recon}, {"loss": recon, "recon": recon})

    def _after_fit(self, images: torch.Tensor) -> None:
        codes = torch.cat(self._batched(images, lambda b: self.encoder_(b).cpu()))
        self.code_mean_ = codes.mean(0)
        self.code_std_ = codes.std(0, unbiased=False) if codes.shape[0] > 1 else torch.ones(self.latent_dim_)

    def _prior_sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn((n, self.latent_dim_), generator=generator)
        return self.code_mean_ + self.code_std_ * noise

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "code_mean": self.code_mean_.clone(), "code_std": self.code_std_.clone()}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        super()._load_extra_state(state)
        if "code_mean" in state:
            self.code_mean_ = state["code_mean"].float().cpu()
            self.code_std_ = state["code_std"].float().cpu()
