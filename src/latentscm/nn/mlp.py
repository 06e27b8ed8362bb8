"""A plain multilayer perceptron (e.g. the FactorVAE discriminator: 6 x 1000 units, leaky ReLU)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MLP"]


class MLP(nn.Module):
    """(N, in_features) -> (N, out_features) through ``hidden`` layers.

    Parameters
    ----------
    in_features : int
        Input width.
    hidden : sequence of int
        Widths of the hidden layers (may be empty: a single linear map).
    out_features : int
        Output width (no activation on the output).
    negative_slope : float, default 0.2
        Slope of the leaky ReLU between layers (0 gives a plain ReLU).
    """

    def __init__(self, in_features: int, hidden: Sequence[int], out_features: int, *,
                 negative_slope: float = 0.2):
        super().__init__()
        widths = [int(in_features), *(int(h) for h in hidden)]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.LeakyReLU(negative_slope)]
        layers.append(nn.Linear(widths[-1], int(out_features)))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_features) -> (N, out_features)."""
        return self.layers(x)
