"""QLAE, the quantised-latent autoencoder (Hsu et al. 2023, "Disentanglement via latent quantization").

Each latent dimension d has its own learnable scalar codebook of ``n_values`` values (initialised
``linspace(-0.5, 0.5)``); the encoder's continuous output z_d is replaced by the nearest value
q_d, with straight-through gradients (the decoder's gradient passes to z unchanged). Two terms
keep codes and codebooks together:

    quantisation  ||sg(z) - q||²   (moves the codebook values)
    commitment    ||z - sg(q)||²   (moves the encoder)

each weighted 0.01 by default, added to the reconstruction NLL. With ``objective="mean"`` (the
default, as the authors' code, kylehkhsu/latent_quantization ``quantized_ae.py``) the per-image objective
is the BCE *averaged* over the P pixel values plus the two terms *averaged* over the D latents; with
``"sum"`` the NLL is summed over pixels and the terms over latents, so the codebook terms weigh D / P of
the authors' (1/102 at 32x32 with D = 10) and the gradient-norm clip at 1 acts on a gradient about P
times larger: the encoder is then barely held to its codebook (mean |z - q| of 17-34 below).

The encoder matters as much. The authors' blocks are convolution, instance normalisation and leaky
ReLU (``encoder_norm="instance"``, the default); the library's plain encoder (conv, ReLU:
``"none"``) maps sparse sprites to codes that vary by about 0.001 across images at initialisation, far
inside one codebook cell (spacing 0.11), so every image starts on one code, and with the ``"mean"``
balance training stays there in most seeds. Measured on sprites 32x32 (D = 10, 6,000 training
images of seed 0, 3,000 steps, batch 64; metrics on 1,000 held-out samples of seed 1 with the
factors' values: MIG, DCI-D by forest, InfoM/InfoE; recon SSE per image; one torch thread;
2026-12-04, ``/work/bench_out/s24/qlae/table.py`` of that session)::

    objective  encoder   seed  MIG    DCI-D  InfoM  InfoE  active  recon SSE  mean |z - q|
    mean       instance  0     0.096  0.100  0.632  0.264  10      5.44       0.120
    mean       instance  1     0.091  0.070  0.639  0.256  10      5.70       0.119
    mean       instance  2     0.104  0.065  0.575  0.263  10      5.61       0.123
    mean       none      0     0.032  0.051  0.437  0.261  10      5.41       0.129
    mean       none      1     0      0      0      0      0       28.15      0.001    (every code one value)
    mean       none      2     0      0      0      0      0       28.10      0.000    (every code one value)
    sum        instance  0     0.012  0.005  0.516  0.141  10      6.94       10.5
    sum        instance  1     0.007  0.005  0.618  0.136  10      7.12       8.5
    sum        instance  2     0.009  0.007  0.437  0.151  10      7.53       11.7
    sum        none      0     0.028  0.024  0.623  0.217  10      8.61       18.1
    sum        none      1     0.021  0.014  0.592  0.186  10      10.70      33.7
    sum        none      2     0.048  0.014  0.527  0.221  10      8.03       17.3

The authors' pair (the defaults since 2026-12-04) trains in every seed, reconstructs best, holds its
codes on the codebook and has the highest MIG and DCI-D; InfoM is within the spread of the summed
form's. Before, the defaults were ``"sum"`` and ``"none"``: runs recorded then load and resume with
them (``defaults_before``). Disentanglement stays low for every variant at this budget (the authors'
``train_ae.yaml`` runs 2·10⁵ steps of batch 128, 67 times the steps here). The
codebook initialisation ``linspace(-0.5, 0.5, n_values)`` per latent is the authors'. Training uses
AdamW with a strong weight decay (0.1) on the encoder and decoder weights — the paper's second
inductive bias; the codebooks are not decayed (they are the latent grid, not the model) — a
learning rate of 1e-3 and gradient-norm clipping at 1. By default the number of latents is
twice the number of ground-truth factors of the training data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_choice, check_number
from latentscm.learners.base import Learner, StepOutput

__all__ = ["QLAE", "ScalarCodebooks"]


class ScalarCodebooks(nn.Module):
    """One learnable scalar codebook per latent dimension: ``values`` (D, V).

    ``forward(z)`` with z (N, D) returns ``(straight_through, quantised, indices)``, each (N, D):
    the nearest codebook value per dimension, once with straight-through gradients to z, once
    as the plain value (gradients to the codebook), and its index.
    """

    def __init__(self, latent_dim: int, n_values: int, *, low: float = -0.5, high: float = 0.5):
        super().__init__()
        grid = torch.linspace(low, high, n_values)
        self.values = nn.Parameter(grid.repeat(latent_dim, 1))

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """Indices (N, D) of the nearest codebook value of each entry of z (N, D)."""
        return (z.unsqueeze(-1) - self.values.unsqueeze(0)).abs().argmin(-1)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Values (N, D) of codebook indices (N, D)."""
        return torch.gather(self.values.unsqueeze(0).expand(indices.shape[0], -1, -1), 2,
                            indices.unsqueeze(-1)).squeeze(-1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        indices = self.nearest(z.detach())
        quantised = self.lookup(indices)
        straight_through = z + (quantised - z).detach()
        return straight_through, quantised, indices


class QLAE(Learner):
    """Quantised-latent autoencoder (Hsu et al. 2023).

    Loss: ``recon + quantization_weight * ||sg(z) - q||² + commitment_weight * ||z - sg(q)||²``, summed over
    pixels and latents (``objective="sum"``) or averaged as in the authors' code (``"mean"``; module docstring).
    Codes (``encode``) are the quantised values; ``encode_continuous`` gives z before quantisation.

    Parameters
    ----------
    latent_dim : int or None, default None
        Number of latents D; ``None`` uses 2 x the number of factors of the training data (a
        World or Batch), as in the paper.
    n_values : int, default 10
        Codebook size per dimension (>= 2; the paper uses 10).
    quantization_weight, commitment_weight : float, default 0.01
        Weights of the two codebook terms (>= 0).
    weight_decay : float, default 0.1
        AdamW weight decay of encoder and decoder (>= 0).
    lr : float, default 1e-3
        AdamW learning rate.
    grad_clip : float or None, default 1.0
        Gradient-norm clip (``None``: off).
    objective : {"mean", "sum"}, default "mean"
        ``"mean"``: the authors' per-image averages (BCE averaged over pixel values, codebook terms over
        latents); ``"sum"``: reconstruction summed over pixel values and codebook terms over latents (the
        default before 2026-12-04; weak codebook hold, see the module docstring).
    encoder_norm : {"instance", "none"}, default "instance"
        The encoder's convolution blocks: ``"instance"`` (conv, instance norm, leaky ReLU: the authors' blocks)
        or ``"none"`` (conv, ReLU: the library's encoder, with which ``"mean"`` collapses); see
        :class:`~latentscm.nn.ConvEncoder`. Runs recorded before these two parameters existed load and resume
        with ``"sum"`` and ``"none"``, the behaviour they were trained with.
    likelihood, channels, hidden_dim, batch_size, steps, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "qlae"
    posterior = "deterministic"
    # runs recorded before these existed trained the summed objective with the plain encoder
    defaults_before = {"objective": "sum", "encoder_norm": "none"}

    def __init__(self, *, latent_dim: int | None = None, n_values: int = 10, quantization_weight: float = 0.01,
                 commitment_weight: float = 0.01, weight_decay: float = 0.1, likelihood: str = "bernoulli",
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-3,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = 1.0, objective: str = "mean",
                 encoder_norm: str = "instance", seed: int = 0, device: str = "cpu"):
        self.n_values = n_values
        self.objective = objective
        self.encoder_norm = encoder_norm
        self.quantization_weight = quantization_weight
        self.commitment_weight = commitment_weight
        self.weight_decay = weight_decay
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    @classmethod
    def _latent_dim_optional(cls) -> bool:
        return True

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        self.n_values = check_number(self.n_values, "n_values", owner, low=2, integer=True)
        self.quantization_weight = check_number(self.quantization_weight, "quantization_weight", owner, low=0)
        self.commitment_weight = check_number(self.commitment_weight, "commitment_weight", owner, low=0)
        self.weight_decay = check_number(self.weight_decay, "weight_decay", owner, low=0)
        self.objective = check_choice(self.objective, "objective", owner, ("mean", "sum"))
        self.encoder_norm = check_choice(self.encoder_norm, "encoder_norm", owner, ("none", "instance"))

    def _resolve_latent_dim(self, n_factors: int | None) -> int:
        if self.latent_dim is None:
            if not n_factors:
                raise ValueError("The 'latent_dim' parameter of QLAE is None, which means 2 x the number of factors, "
                                 "but the data has no factors (an image array); pass latent_dim explicitly.")
            return 2 * int(n_factors)
        return int(self.latent_dim)

    def _module_names(self) -> tuple[str, ...]:
        return ("encoder", "codebook", "decoder")

    def _encoder_norm(self) -> str:
        return self.encoder_norm

    def _build_modules(self, image_shape, latent_dim) -> dict[str, nn.Module]:
        modules = super()._build_modules(image_shape, latent_dim)
        modules["codebook"] = ScalarCodebooks(latent_dim, self.n_values)
        return modules

    def _make_optimizer(self, group: str, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
        codebook = {id(p) for p in self.codebook_.parameters()}
        decayed = [p for p in parameters if id(p) not in codebook]
        kept = [p for p in parameters if id(p) in codebook]
        return torch.optim.AdamW([{"params": decayed, "weight_decay": self.weight_decay},
                                  {"params": kept, "weight_decay": 0.0}], lr=self.lr)

    def loss(self, images: torch.Tensor, step: int) -> StepOutput:
        z = self._net("encoder")(images)
        straight_through, quantised, _ = self._net("codebook")(z)
        recon = self._reconstruction(self._net("decoder")(straight_through), images)  # summed over pixel values
        quantization = (z.detach() - quantised).square().sum(1).mean()
        commitment = (z - quantised.detach()).square().sum(1).mean()
        if self.objective == "mean":  # the authors' per-image averages
            recon = recon / images[0].numel()
            quantization, commitment = quantization / z.shape[1], commitment / z.shape[1]
        loss = recon + self.quantization_weight * quantization + self.commitment_weight * commitment
        return StepOutput({"model": loss}, {"loss": loss, "recon": recon, "quantization": quantization,
                                            "commitment": commitment})

    # ------------------------------------------------------------------ inference
    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        return self.codebook_.lookup(self.codebook_.nearest(self.encoder_(images)))

    def encode_continuous(self, x: Any) -> np.ndarray:
        """Encoder outputs z (N, D) float32 before quantisation."""
        images = self._images_tensor(x, "encode_continuous")
        return torch.cat(self._batched(images, lambda b: self.encoder_(b).cpu())).numpy()

    def encode_indices(self, x: Any) -> np.ndarray:
        """Codebook indices (N, D) int64 of images x."""
        images = self._images_tensor(x, "encode_indices")
        return torch.cat(self._batched(images, lambda b: self.codebook_.nearest(self.encoder_(b)).cpu())).numpy()

    def _prepare_codes(self, codes: torch.Tensor) -> torch.Tensor:
        # The decoder was trained on codebook values only; snap arbitrary codes onto the grid.
        return self.codebook_.lookup(self.codebook_.nearest(codes))

    def _prior_sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Codes (n, D) with each dimension's value drawn uniformly from its codebook (of the fitted size:
        ``n_values`` set after fit does not change it)."""
        indices = torch.randint(0, self.codebook_.values.shape[1], (n, self.latent_dim_), generator=generator)
        return self.codebook_.lookup(indices.to(self.codebook_.values.device)).detach().cpu()
