"""One linear map per latent unit: M small networks evaluated as one batched einsum.

Used where every latent unit has its own mechanism (CITRIS's transition prior, TDRL's inverse transitions):
``UnitLinear(M, in, out)`` maps (B, M, in) to (B, M, out) with weights (M, in, out), so M per-unit MLPs cost
one tensor contraction instead of M module calls.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["UnitLinear"]


class UnitLinear(nn.Module):
    """One linear map per latent unit: (B, M, in) -> (B, M, out), weights (M, in, out), bias (M, out); initialised
    uniformly in ``+-1 / sqrt(in)`` as ``nn.Linear``."""

    def __init__(self, units: int, in_features: int, out_features: int):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(units, in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(units, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bmi,mio->bmo", x, self.weight) + self.bias
