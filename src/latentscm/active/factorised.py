"""The factorised object model: separate shape and pose latents, and a transition that acts on
the pose latent only.

After Ferraro, Van de Maele, Mazzaglia, Verbelen & Dhoedt (2022), "Disentangling shape and pose
for object-centric deep active inference models" (IWAI 2022; the issue cites it as van Bergen
et al.): the state factorises into what an action cannot change — the object's shape/category
and appearance, here every non-pose factor of the world — and its pose, which an action moves.
The latent vector is ``[shape (shape_dim) | pose (pose_dim)]``; the transition
``p(s_t+1 | s_t, a)`` copies the shape block of the belief unchanged (mean and variance, bit for
bit) and moves the pose block by :func:`~latentscm.active.world_model.gaussian_step` of a small
MLP that sees only the pose and the action. Training (:class:`WorldModel`) then charges any
shape change between ``o_t`` and ``o_t+1`` as complexity, so pose must live in the pose block.

Compare :class:`~latentscm.active.entangled.EntangledModel`: the same encoder, decoder and
latent size with one transition over the whole vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_number
from latentscm.active.world_model import WorldModel, gaussian_step
from latentscm.nn import MLP

__all__ = ["FactorisedModel"]


class FactorisedModel(WorldModel):
    """Shape latent (left unchanged by actions) plus pose latent (action-conditioned transition).

    Parameters
    ----------
    shape_dim : int, default 6
        Units of the shape/category latent.
    pose_dim : int, default 2
        Units of the pose latent.
    channels : sequence of int, default (32, 32, 64, 64)
        Encoder convolution channels (the decoder mirrors them).
    hidden_dim : int, default 256
        Width of the encoder's and decoder's dense layer.
    transition_hidden : int, default 64
        Width of the pose transition's two hidden layers.
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

    name = "factorised"

    def __init__(self, *, shape_dim: int = 6, pose_dim: int = 2, channels: Sequence[int] = (32, 32, 64, 64),
                 hidden_dim: int = 256, transition_hidden: int = 64, beta: float = 1.0, lr: float = 1e-3,
                 batch_size: int = 64, steps: int = 2000, seed: int = 0, beta_transition: float | None = None):
        self.shape_dim = shape_dim
        self.pose_dim = pose_dim
        super().__init__(channels=channels, hidden_dim=hidden_dim, transition_hidden=transition_hidden, beta=beta,
                         lr=lr, batch_size=batch_size, steps=steps, seed=seed, beta_transition=beta_transition)

    def _validate(self) -> None:
        super()._validate()
        self.shape_dim = check_number(self.shape_dim, "shape_dim", "FactorisedModel", low=1, integer=True)
        self.pose_dim = check_number(self.pose_dim, "pose_dim", "FactorisedModel", low=1, integer=True)

    @property
    def latent_size(self) -> int:
        """``shape_dim + pose_dim``."""
        return self.shape_dim + self.pose_dim

    def _build_transition(self) -> nn.Module:
        return MLP(self.pose_dim + self.n_actions_, [self.transition_hidden] * 2, 2 * self.pose_dim)

    def _transition(self, mean: torch.Tensor, logvar: torch.Tensor,
                    actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape_mean, pose_mean = mean.split([self.shape_dim, self.pose_dim], dim=1)
        shape_logvar, pose_logvar = logvar.split([self.shape_dim, self.pose_dim], dim=1)
        pose_mean, pose_logvar = gaussian_step(self.net_["transition"], pose_mean, pose_logvar,
                                               self._one_hot(actions))
        return torch.cat([shape_mean, pose_mean], dim=1), torch.cat([shape_logvar, pose_logvar], dim=1)

    def split(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(shape, pose)`` blocks (N, shape_dim) and (N, pose_dim) of codes (N, D)."""
        return codes[:, :self.shape_dim], codes[:, self.shape_dim:]
