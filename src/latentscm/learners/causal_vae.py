"""CausalVAE (Yang et al. 2021, "CausalVAE: Disentangled representation learning via neural
structural causal models", CVPR).

Encoder -> exogenous latents u ~ q(u | x) = N(mean, diag var); concept latents
z = LatentSCM(u_concepts) with one neural mechanism per concept over its parents' values (the
original's linear ``(I - A^T)^{-1}`` layer generalised to nonlinear mechanisms); style latents
pass through; decoder(z) -> image. Loss::

    recon + beta * KL(q(u | x) || N(0, I))
          + label_weight * E||z_concepts - ỹ||² / (2 prior_std²)     (label-conditioned prior)
          + mechanism_weight * Σ_i (ỹ_i - f_i(ỹ_pa(i)))²               (mechanisms fit on labels)
          + NOTEARS acyclicity when the graph is learned

Differences from the paper, on purpose: the graph is data (world, text or learned) rather than
built into the model, effects propagate through every generation of descendants, and the
counterfactual abducts the image's own exogenous latents instead of sampling new ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from latentscm._validation import check_number
from latentscm.learners.base import StepOutput, gaussian_kl
from latentscm.learners.causal_base import CausalLearner
from latentscm.nn import ConvDecoder, ConvEncoder

__all__ = ["CausalVAE"]


class CausalVAE(CausalLearner):
    """CausalVAE over named concept latents (see the module docstring).

    Args:
        graph: ``"world"`` (the training world's graph), ``"learn"``, ``"none"`` or text
            (``"light -> shadow; angle -> shadow"``).
        mechanism: ``"additive"`` (z_i = f_i(z_pa) + u_i) or ``"post_nonlinear"``.
        extra_dims: free style latents besides one latent per factor.
        beta: weight of KL(q(u|x) || N(0, I)).
        prior_std: std of the label-conditioned prior N(ỹ, prior_std²) on concept latents.
        label_weight: weight of the label prior term (0 = the ablation without it).
        mechanism_weight: weight of fitting the mechanisms on the labels.
        supervised_fraction: fraction of training images whose labels are used (0-1).
        acyclicity_weight: weight of the NOTEARS penalty when ``graph="learn"``.
        mechanism_hidden: hidden width of each mechanism MLP.
        likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device: see
            :class:`~latentscm.learners.base.Learner`.
    """

    name = "causal_vae"

    def __init__(self, *, graph: str = "world", mechanism: str = "additive", extra_dims: int = 2, beta: float = 1.0,
                 prior_std: float = 0.2, label_weight: float = 1.0, mechanism_weight: float = 1.0,
                 supervised_fraction: float = 1.0, acyclicity_weight: float = 1.0, mechanism_hidden: int = 32,
                 likelihood: str = "bernoulli", channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256,
                 lr: float = 1e-3, batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None,
                 seed: int = 0, device: str = "cpu"):
        self.graph = graph
        self.mechanism = mechanism
        self.extra_dims = extra_dims
        self.beta = beta
        self.prior_std = prior_std
        self.label_weight = label_weight
        self.mechanism_weight = mechanism_weight
        self.supervised_fraction = supervised_fraction
        self.acyclicity_weight = acyclicity_weight
        self.mechanism_hidden = mechanism_hidden
        super().__init__(latent_dim=None, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim, lr=lr,
                         batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        self._validate_causal()
        self.beta = check_number(self.beta, "beta", type(self).__name__, low=0)

    def _module_names(self) -> tuple[str, ...]:
        return ("encoder", "scm", "decoder")

    def _build_modules(self, image_shape: tuple[int, int, int], latent_dim: int) -> dict[str, torch.nn.Module]:
        return {
            "encoder": ConvEncoder(image_shape, 2 * latent_dim, channels=self.channels, hidden_dim=self.hidden_dim),
            "scm": self._make_scm(),
            "decoder": ConvDecoder(latent_dim, image_shape, channels=self.channels, hidden_dim=self.hidden_dim),
        }

    def loss(self, images: torch.Tensor, step: int, factors: torch.Tensor | None = None) -> StepOutput:
        mean, logvar = self._posterior(images, self._net("encoder"))
        u = self._reparameterise(mean, logvar, self._generator)
        z, causal, logs = self._causal_forward(u, factors, step)
        recon = self._reconstruction(self._net("decoder")(z), images)
        kl = gaussian_kl(mean, logvar).sum(1).mean()
        loss = recon + self.beta * kl + causal
        return StepOutput({"model": loss}, {"loss": loss, "recon": recon, "kl": kl, **logs})

    # ------------------------------------------------------------------ inference
    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        """Causal latents z (N, D): the SCM applied to the posterior mean (or a sample) of u."""
        mean, logvar = self._posterior(images)
        u = self._reparameterise(mean, logvar, generator) if sample else mean
        k = len(self.factor_names_)
        return torch.cat([self.scm_(u[:, :k]), u[:, k:]], dim=1)

    def counterfactual(self, x: Any, interventions: Mapping[str, Any]) -> np.ndarray:
        """Counterfactual images (N, C, H, W) of ``x`` under ``interventions`` in world units
        (``{"light_position": 1.2}``, per-image arrays allowed): abduction (u = posterior mean),
        action (set the standardised latent), prediction (descendants through the learned
        mechanisms, then decode)."""
        images = self._images_tensor(x, "counterfactual")
        names, values = self._intervention_matrix(interventions, images.shape[0])

        def run(batch: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            u, _ = self._posterior(batch)
            z_cf = self._intervene_codes(u, {name: targets[:, i] for i, name in enumerate(names)})
            return self._likelihood.mean(self.decoder_(z_cf))

        return self._run_chunked(run, images, values)
