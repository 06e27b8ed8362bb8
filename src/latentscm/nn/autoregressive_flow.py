"""An invertible map of latent codes: activation normalisation, orthogonal mixing and masked autoregressive
affine layers.

The flow CITRIS-VAE puts between its encoder and its transition prior (Lippe et al., ICML 2022; official code
phlippe/CITRIS, ``AutoregNormalizingFlow``, read for the layer order and sizes, not copied). Each of the
``layers`` blocks is

- ActNorm (Kingma & Dhariwal 2018, Glow): ``y = (x + b) e^s`` per unit, initialised from the first training batch
  to zero mean and unit variance (``|s| <= 3``);
- from the second block on, an orthogonal mixing ``y = x W^T`` with ``W = exp(A - A^T)`` (log-determinant 0;
  the official code uses an LU-parameterised 1x1 convolution, initialised orthogonal);
- a masked autoregressive affine layer (MAF, Papamakarios, Pavlakou & Murray 2017, with MADE masks of Germain et
  al. 2015): ``y_i = (x_i + t_i(x_{<i})) e^{s_i(x_{<i})}``, ``s`` soft-bounded, its last layer initialised small.

``forward`` returns the codes and ``log |det J|`` (N,); ``reverse`` inverts exactly (the autoregressive layers
unit by unit).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["AutoregressiveFlow", "MaskedLinear"]


class MaskedLinear(nn.Module):
    """A linear map between ``units`` blocks of features where output block ``i`` reads input blocks ``j < i``
    (``inclusive=False``) or ``j <= i`` (``inclusive=True``): (N, units * in) -> (N, units * out)."""

    def __init__(self, units: int, in_features: int, out_features: int, *, inclusive: bool, init_scale: float = 1.0):
        super().__init__()
        rows = torch.arange(units).repeat_interleave(out_features)
        cols = torch.arange(units).repeat_interleave(in_features)
        mask = (cols[None] <= rows[:, None]) if inclusive else (cols[None] < rows[:, None])
        self.register_buffer("mask", mask.float())
        fan_in = max(int(mask.sum(1).max()), 1)
        bound = init_scale / math.sqrt(fan_in)
        self.weight = nn.Parameter(torch.empty(units * out_features, units * in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(units * out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


def _bounded(s: torch.Tensor, bound: float) -> torch.Tensor:
    return bound * torch.tanh(s / bound)


class _ActNorm(nn.Module):
    def __init__(self, units: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(units))
        self.log_scale = nn.Parameter(torch.zeros(units))
        self.register_buffer("initialised", torch.tensor(False))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and not bool(self.initialised) and x.shape[0] > 1:
            with torch.no_grad():  # data-dependent initialisation: the first batch comes out standardised
                count = x.new_tensor(float(x.shape[0]))
                moments = torch.stack([x.sum(0), (x ** 2).sum(0), count.expand(x.shape[1])])
                if torch.distributed.is_available() and torch.distributed.is_initialized():
                    # every process's first batch: the same start on every rank (else DDP's replicas diverge)
                    torch.distributed.all_reduce(moments)
                total, square, count = moments
                mean = total / count
                std = ((square - count * mean ** 2) / (count - 1)).clamp_min(0.0).sqrt()  # unbiased, as x.std
                self.bias.copy_(-mean)
                wanted = -std.clamp_min(1e-3).log().clamp(-2.9, 2.9)
                self.log_scale.copy_(3.0 * torch.atanh(wanted / 3.0))  # the bounded scale is exactly 1 / std
                self.initialised.fill_(True)
        s = _bounded(self.log_scale, 3.0)
        return (x + self.bias) * s.exp(), s.sum().expand(x.shape[0])

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        return y * (-_bounded(self.log_scale, 3.0)).exp() - self.bias


class _Orthogonal(nn.Module):
    def __init__(self, units: int):
        super().__init__()
        self.skew = nn.Parameter(torch.randn(units, units) * 0.5)

    def matrix(self) -> torch.Tensor:
        return torch.linalg.matrix_exp(self.skew - self.skew.T)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x @ self.matrix().T, x.new_zeros(x.shape[0])

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        return y @ self.matrix()


class _AutoregressiveAffine(nn.Module):
    def __init__(self, units: int, hidden_per_unit: int):
        super().__init__()
        self.units = units
        self.net = nn.Sequential(
            MaskedLinear(units, 1, hidden_per_unit, inclusive=False), nn.SiLU(),
            MaskedLinear(units, hidden_per_unit, hidden_per_unit, inclusive=True), nn.SiLU(),
            MaskedLinear(units, hidden_per_unit, 2, inclusive=True, init_scale=0.2))
        self.scale_bound = nn.Parameter(torch.zeros(units))

    def _shift_scale(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(x).view(x.shape[0], self.units, 2)
        bound = (3.0 * torch.tanh(self.scale_bound.exp() / 3.0)).clamp_min(1.0)
        return out[..., 0], bound * torch.tanh(out[..., 1] / bound)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t, s = self._shift_scale(x)
        return (x + t) * s.exp(), s.sum(1)

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        columns: list[torch.Tensor] = []
        for i in range(self.units):  # unit i's shift and scale read units < i only (no in-place writes: differentiable)
            x = torch.cat(columns + [y.new_zeros(y.shape[0], self.units - i)], dim=1)
            t, s = self._shift_scale(x)
            columns.append((y[:, i] * (-s[:, i]).exp() - t[:, i])[:, None])
        return torch.cat(columns, dim=1)


class AutoregressiveFlow(nn.Module):
    """``layers`` blocks of ActNorm, orthogonal mixing (from the second block on) and a masked autoregressive
    affine layer over ``units`` latent units (module docstring)."""

    def __init__(self, units: int, layers: int = 4, hidden_per_unit: int = 16):
        super().__init__()
        blocks: list[nn.Module] = []
        for i in range(layers):
            blocks.append(_ActNorm(units))
            if i > 0:
                blocks.append(_Orthogonal(units))
            blocks.append(self._autoregressive_layer(units, hidden_per_unit))
        self.blocks = nn.ModuleList(blocks)

    def _autoregressive_layer(self, units: int, hidden_per_unit: int) -> nn.Module:
        """The invertible autoregressive layer of each block (affine here; :class:`~latentscm.nn.spline_flow.
        SplineFlow` puts splines)."""
        return _AutoregressiveAffine(units, hidden_per_unit)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(y (N, M), log |det dy/dx| (N,))."""
        log_det = x.new_zeros(x.shape[0])
        for block in self.blocks:
            x, part = block(x)
            log_det = log_det + part
        return x, log_det

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        for block in reversed(self.blocks):
            y = block.reverse(y)
        return y
