"""The entangled baseline world model: one latent vector and one learned action-conditioned
transition over all of it.

The usual deep active-inference state space learned purely from data (Çatal et al. 2020,
"Learning perception and planning with deep active inference"; Fountas et al. 2020), the
baseline that Ferraro et al. (2022), "Disentangling shape and pose for object-centric deep active
inference models", compare their factorised model with. Same encoder, decoder, latent size and
training loss as :class:`~latentscm.active.factorised.FactorisedModel`; the only difference is
the transition, which here may change every unit (nothing ties the object's identity down).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from latentscm._validation import check_number
from latentscm.active.world_model import WorldModel, gaussian_step
from latentscm.nn import MLP

__all__ = ["EntangledModel"]


class EntangledModel(WorldModel):
    """One latent vector with a learned action-conditioned transition over all its units.

    Parameters
    ----------
    latent_dim : int, default 8
        Units of the latent (match ``shape_dim + pose_dim`` of the factorised model).
    channels : sequence of int, default (32, 32, 64, 64)
        Encoder convolution channels (the decoder mirrors them).
    hidden_dim : int, default 256
        Width of the encoder's and decoder's dense layer.
    transition_hidden : int, default 64
        Width of the transition's two hidden layers.
    beta : float, default 1.0
        Weight of the KL (complexity) terms in the training loss.
    lr : float, default 1e-3
        Adam learning rate.
    batch_size : int, default 64
        Transitions per step.
    steps : int, default 2000
        Optimisation steps.
    seed : int, default 0
        Seeds initialisation, minibatch order and training noise.
    beta_transition : float or None, default None
        Weight of the KL to the transition prior (None: ``beta``); see :class:`WorldModel`.
    """

    name = "entangled"

    def __init__(self, *, latent_dim: int = 8, channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256,
                 transition_hidden: int = 64, beta: float = 1.0, lr: float = 1e-3, batch_size: int = 64,
                 steps: int = 2000, seed: int = 0, beta_transition: float | None = None):
        self.latent_dim = latent_dim
        super().__init__(channels=channels, hidden_dim=hidden_dim, transition_hidden=transition_hidden, beta=beta,
                         lr=lr, batch_size=batch_size, steps=steps, seed=seed, beta_transition=beta_transition)

    def _validate(self) -> None:
        super()._validate()
        self.latent_dim = check_number(self.latent_dim, "latent_dim", "EntangledModel", low=1, integer=True)

    @property
    def latent_size(self) -> int:
        """``latent_dim``."""
        return self.latent_dim

    def _build_transition(self) -> nn.Module:
        return MLP(self.latent_dim + self.n_actions_, [self.transition_hidden] * 2, 2 * self.latent_dim)

    def _transition(self, mean: torch.Tensor, logvar: torch.Tensor,
                    actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return gaussian_step(self.net_["transition"], mean, logvar, self._one_hot(actions))
