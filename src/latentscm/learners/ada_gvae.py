"""Ada-GVAE and Ada-ML-VAE: weakly supervised disentanglement from pairs (Locatello et al., ICML 2020).

Locatello, Poole, Rätsch, Schölkopf, Bachem & Tschannen, "Weakly-Supervised Disentanglement Without
Compromises". The data are pairs ``(x1, x2)`` that share all but a few factors of variation, with no
label saying which (here: exact counterfactual pairs, :mod:`latentscm.worlds.pairs`). Both images are
encoded with one diagonal Gaussian encoder, ``q(z | x1) = N(m1, v1)`` and ``q(z | x2) = N(m2, v2)``.

1. Per unit, ``delta_j = KL(q(z_j | x1) || q(z_j | x2))``.
2. The units taken as *shared* are those that hardly moved: with ``aggregation="adaptive"`` (the
   paper's Ada- models, ``k`` unknown) the units with ``delta_j`` below the midpoint
   ``(max_j delta_j + min_j delta_j) / 2`` of the pair; with ``aggregation="known"`` (``k`` known per
   pair) the ``D - k`` units with the smallest ``delta_j``, ``k`` the number of factors intervened on.
3. On the shared units both posteriors are replaced by one aggregate: the average of the two
   Gaussians' moments (``average="gvae"``: ``m = (m1 + m2) / 2``, ``v = (v1 + v2) / 2``, the Group-VAE
   of Hosoya 2019) or their product (``average="mlvae"``: the precision-weighted mean and
   ``v = 2 v1 v2 / (v1 + v2)``, the ML-VAE of Bouchacourt, Tomioka & Nowozin 2018, with the
   variance doubled so that it stays on the scale of one posterior).
4. The loss is the sum of the two images' β-ELBOs under the aggregated posteriors.

The paper shows that knowing how many factors changed (not which) makes the factors identifiable,
and that in practice this weak supervision scores well above unsupervised β-VAEs on its benchmark
data sets;
``benchmarks/bench_weak_pairs.py`` measures it at our scale against β-VAE with the same networks,
data and steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from latentscm._validation import check_choice, check_number
from latentscm.learners.base import Learner, StepOutput, gaussian_kl
from latentscm.worlds.pairs import PAIR_CHANGES, check_pair_changes

__all__ = ["AdaGVAE", "AGGREGATIONS", "AVERAGES", "pair_divergence", "shared_units", "adaptive_changed_units",
           "aggregate_posteriors"]

AGGREGATIONS = ("adaptive", "known")
AVERAGES = ("gvae", "mlvae")


def pair_divergence(mean1: torch.Tensor, logvar1: torch.Tensor, mean2: torch.Tensor, logvar2: torch.Tensor
                    ) -> torch.Tensor:
    """``KL(N(mean1, exp logvar1) || N(mean2, exp logvar2))`` per unit, (N, D) from four (N, D) tensors."""
    return 0.5 * ((logvar1 - logvar2).exp() + (mean1 - mean2) ** 2 / logvar2.exp() - 1.0 + logvar2 - logvar1)


def shared_units(divergence: torch.Tensor, changed: torch.Tensor | None = None) -> torch.Tensor:
    """(N, D) bool: the units each pair shares.

    divergence : (N, D) per-unit divergence of the two posteriors (:func:`pair_divergence`).
    changed : (N,) int, the number of factors each pair differs in (``aggregation="known"``): the
        ``D - changed`` units with the smallest divergence are shared. ``None`` (adaptive): the units
        below the midpoint of the pair's smallest and largest divergence.
    """
    divergence = divergence.detach()
    if changed is None:
        threshold = 0.5 * (divergence.amax(dim=1, keepdim=True) + divergence.amin(dim=1, keepdim=True))
        return divergence < threshold
    ranks = divergence.argsort(dim=1).argsort(dim=1)  # 0 for the smallest divergence
    return ranks < (divergence.shape[1] - changed.to(ranks.dtype)).unsqueeze(1)


def adaptive_changed_units(divergence: torch.Tensor) -> torch.Tensor:
    """(N, D) bool: the units the adaptive rule takes as changed, from per-unit divergences (N, D): not
    below the pair's midpoint (:func:`shared_units`), and none where every unit moved equally (e.g. two
    identical images)."""
    spread = divergence.amax(dim=1, keepdim=True) > divergence.amin(dim=1, keepdim=True)
    return ~shared_units(divergence) & spread


def aggregate_posteriors(mean1: torch.Tensor, logvar1: torch.Tensor, mean2: torch.Tensor, logvar2: torch.Tensor,
                         average: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The aggregate (mean, logvar), each (N, D), of two diagonal Gaussians: ``"gvae"`` averages their
    moments, ``"mlvae"`` takes their product with the variance doubled (see the module docstring)."""
    # in log space: no variance is formed, so confident posteriors (logvar far below 0) cannot underflow
    log_sum = torch.logaddexp(logvar1, logvar2)  # log(v1 + v2)
    if average == "gvae":
        return 0.5 * (mean1 + mean2), log_sum - math.log(2.0)
    # precision-weighted mean (m1 v2 + m2 v1) / (v1 + v2), and variance 2 v1 v2 / (v1 + v2)
    weight1 = torch.sigmoid(logvar2 - logvar1)
    return weight1 * mean1 + (1.0 - weight1) * mean2, math.log(2.0) + logvar1 + logvar2 - log_sum


class AdaGVAE(Learner):
    """Ada-GVAE / Ada-ML-VAE (Locatello et al. 2020): a β-VAE trained on counterfactual pairs whose
    shared units are averaged between the two posteriors (see the module docstring).

    Parameters
    ----------
    beta : float, default 1.0
        Weight of the KL terms (>= 0; the paper sweeps 1, 2, 4, 6, 8, 16).
    average : {"gvae", "mlvae"}, default "gvae"
        How the shared units' posteriors are combined: averaged moments (Ada-GVAE) or a product of
        the two Gaussians (Ada-ML-VAE).
    aggregation : {"adaptive", "known"}, default "adaptive"
        ``"adaptive"`` estimates per pair which units changed (no label used); ``"known"`` is told how
        many factors each pair differs in (the paper's known-``k`` variant; in a world with causal
        edges, the factors intervened on and the descendants that moved with them).
    pair_changes : int or "random", default "random"
        How the training pairs are drawn from a World: each image's partner has this many factors
        set to other values (``"random"``: 1 ... K - 1, uniformly per pair, the paper's main setting).
    latent_dim, likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.

    Training needs a World (``fit(world)``): each training image's partner is its exact counterfactual
    (:func:`latentscm.worlds.pairs.counterfactual_pairs`). ``encode`` and the rest take single images.
    """

    name = "ada_gvae"
    uses_pairs: ClassVar[bool] = True

    def __init__(self, *, beta: float = 1.0, average: str = "gvae", aggregation: str = "adaptive",
                 pair_changes: int | str = PAIR_CHANGES, latent_dim: int = 10, likelihood: str = "bernoulli",
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-4,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None, seed: int = 0,
                 device: str = "cpu"):
        self.beta = beta
        self.average = average
        self.aggregation = aggregation
        self.pair_changes = pair_changes
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        self.beta = check_number(self.beta, "beta", owner, low=0)
        self.average = check_choice(self.average, "average", owner, AVERAGES)
        self.aggregation = check_choice(self.aggregation, "aggregation", owner, AGGREGATIONS)
        self.pair_changes = check_pair_changes(self.pair_changes, "pair_changes", owner)

    def _on_training_set(self, training_set: Any) -> None:
        if self.aggregation == "known" and training_set.pair_changed is None:
            raise ValueError(f"{type(self).__name__}(aggregation='known') needs how many factors each pair differs in; "
                             f"these pairs do not say (give ImagePairs(..., changed=...), or use "
                             f"aggregation='adaptive').")

    def pair_divergence(self, first: Any, second: Any) -> np.ndarray:
        """Per-unit ``KL(q(z_j | first) || q(z_j | second))``, (N, D) float32, for two image arrays
        (N, C, H, W) of equal shape: how far each unit moved between the two images of each pair."""
        self._check_fitted()
        owner = f"{type(self).__name__}.pair_divergence"
        if np.shape(first) != np.shape(second):
            raise ValueError(f"The 'second' argument of {owner} must have the shape of 'first' {np.shape(first)}. "
                             f"Got {np.shape(second)}.")
        mean1, logvar1 = (torch.from_numpy(a) for a in self.encode_distribution(first))
        mean2, logvar2 = (torch.from_numpy(a) for a in self.encode_distribution(second))
        return pair_divergence(mean1, logvar1, mean2, logvar2).numpy()

    def changed_units(self, first: Any, second: Any) -> np.ndarray:
        """(N, D) bool: the units the adaptive rule takes as changed between the images of each pair:
        not below the midpoint of the pair's smallest and largest divergence (:func:`shared_units`),
        and none where every unit moved equally (e.g. two identical images)."""
        return adaptive_changed_units(torch.from_numpy(self.pair_divergence(first, second))).numpy()

    def loss(self, images: torch.Tensor, step: int, *, pair: torch.Tensor,
             changed: torch.Tensor | None = None) -> StepOutput:
        """The two β-ELBOs of each pair under aggregated posteriors. images, pair : (B, C, H, W);
        changed : (B,) int, the factors each pair differs in (read only by ``aggregation="known"``)."""
        n = images.shape[0]
        mean, logvar = self._posterior(torch.cat([images, pair]), self._net("encoder"))
        mean1, mean2, logvar1, logvar2 = mean[:n], mean[n:], logvar[:n], logvar[n:]
        shared = shared_units(pair_divergence(mean1, logvar1, mean2, logvar2),
                              changed if self.aggregation == "known" else None)
        joint_mean, joint_logvar = aggregate_posteriors(mean1, logvar1, mean2, logvar2, self.average)
        mean = torch.cat([torch.where(shared, joint_mean, mean1), torch.where(shared, joint_mean, mean2)])
        logvar = torch.cat([torch.where(shared, joint_logvar, logvar1), torch.where(shared, joint_logvar, logvar2)])
        z = self._reparameterise(mean, logvar, self._generator)
        logits = self._net("decoder")(z)
        both = torch.cat([images, pair])
        recon = 2.0 * self._reconstruction(logits, both)  # the two images' NLLs, summed per pair
        kl = 2.0 * gaussian_kl(mean, logvar).sum(1).mean()
        loss = recon + self.beta * kl
        return StepOutput({"model": loss}, {"loss": loss, "recon": recon, "kl": kl, "elbo": -(recon + kl),
                                            "shared": shared.float().sum(1).mean()})
