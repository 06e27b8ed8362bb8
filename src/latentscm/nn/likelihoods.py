"""Pixel likelihoods p(x | z) for decoders that output logits (N, C, H, W).

Each likelihood turns decoder logits into a per-image negative log-likelihood (N,) — summed over
pixels, as in disentanglement_lib, so that the KL weights of the papers keep their meaning — and
into the mean image in [0, 1]. ``floor(images)`` is the smallest NLL any decoder can reach on those
images (the pixels' own entropy for ``bernoulli`` on grey values; 0 for ``gaussian``): objectives
that compare likelihoods in relative terms subtract it first.

- ``bernoulli``: binary cross-entropy with logits (exact NLL for binary pixels, the standard
  choice for dSprites-like data and used for grey values too).
- ``gaussian``: squared error of ``sigmoid(logits)`` against the pixels, summed — disentanglement_lib's
  ``l2`` loss, i.e. a Gaussian NLL with fixed variance 1/2 up to a constant.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["Likelihood", "BernoulliLikelihood", "GaussianLikelihood", "LIKELIHOODS", "make_likelihood"]


def _check_shapes(logits: torch.Tensor, images: torch.Tensor, owner: str) -> None:
    """Refuse ``logits`` and ``images`` of different shapes: broadcasting would score every image against
    the wrong pixels without a word."""
    if logits.shape != images.shape:
        raise ValueError(f"The 'logits' and 'images' of {owner} must have the same shape (N, C, H, W). Got "
                         f"{tuple(logits.shape)} and {tuple(images.shape)}.")


class Likelihood:
    """Base class: ``nll(logits, images) -> (N,)`` and ``mean(logits) -> (N, C, H, W)``."""

    name = "likelihood"

    def nll(self, logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def mean(self, logits: torch.Tensor) -> torch.Tensor:
        """Mean image in [0, 1] from logits (N, C, H, W)."""
        return torch.sigmoid(logits)

    def floor(self, images: torch.Tensor) -> torch.Tensor:
        """The smallest per-image NLL (N,) any logits reach on ``images`` (N, C, H, W): 0 here."""
        return torch.zeros(images.shape[0], dtype=images.dtype, device=images.device)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BernoulliLikelihood(Likelihood):
    name = "bernoulli"

    def nll(self, logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy summed over pixels: (N, C, H, W) x2 -> (N,)."""
        _check_shapes(logits, images, "BernoulliLikelihood.nll")
        loss = F.binary_cross_entropy_with_logits(logits, images, reduction="none")
        return loss.flatten(1).sum(1)

    def floor(self, images: torch.Tensor) -> torch.Tensor:
        """The pixels' Bernoulli entropy summed per image (N,): the NLL at ``sigmoid(logits) = images``,
        zero only for binary pixels."""
        entropy = -(torch.xlogy(images, images) + torch.xlogy(1 - images, 1 - images))  # 0 log 0 = 0
        return entropy.flatten(1).sum(1)


class GaussianLikelihood(Likelihood):
    name = "gaussian"

    def nll(self, logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Squared error of sigmoid(logits), summed over pixels: (N, C, H, W) x2 -> (N,)."""
        _check_shapes(logits, images, "GaussianLikelihood.nll")
        return (torch.sigmoid(logits) - images).square().flatten(1).sum(1)


LIKELIHOODS: dict[str, type[Likelihood]] = {"bernoulli": BernoulliLikelihood, "gaussian": GaussianLikelihood}


def make_likelihood(name: str) -> Likelihood:
    """The likelihood called ``name`` (one of :data:`LIKELIHOODS`)."""
    if name not in LIKELIHOODS:
        raise ValueError(f"Unknown likelihood {name!r}; choose one of {', '.join(map(repr, LIKELIHOODS))}.")
    return LIKELIHOODS[name]()
