"""An invertible map of vectors: activation normalisation, orthogonal mixing and masked autoregressive
rational-quadratic splines.

Durkan, Bekasov, Murray & Papamakarios (NeurIPS 2019), "Neural spline flows": each unit is transformed by a
monotone rational-quadratic spline on ``[-bound, bound]`` (identity outside, with unit slope at both ends so the
derivative is continuous) whose ``bins`` widths, heights and inner-knot derivatives are an autoregressive function
of the units before it (MADE masks, Germain et al. 2015, through
:class:`~latentscm.nn.autoregressive_flow.MaskedLinear`). Between spline layers sit ActNorm and an orthogonal
mixing, as in :class:`~latentscm.nn.autoregressive_flow.AutoregressiveFlow`. Splines bend where affine layers can
only shift and scale, so the flow can undo kinked mixings such as leaky-ReLU networks.

``forward`` returns ``(y (N, M), log |det dy/dx| (N,))``; ``reverse`` inverts exactly (the spline in closed form,
unit by unit).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from latentscm.nn.autoregressive_flow import AutoregressiveFlow, MaskedLinear

__all__ = ["SplineFlow", "rational_quadratic_spline"]

_MIN_BIN = 1e-3
_MIN_DERIVATIVE = 1e-3


def _knots(raw: torch.Tensor, bound: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(knot positions (..., K + 1) from -bound to bound, bin sizes (..., K)) of unnormalised sizes (..., K)."""
    bins = raw.shape[-1]
    sizes = _MIN_BIN + (1.0 - _MIN_BIN * bins) * torch.softmax(raw, dim=-1)
    knots = F.pad(torch.cumsum(sizes, dim=-1), (1, 0))
    knots = 2.0 * bound * knots - bound
    knots = torch.cat([knots[..., :1].clamp(max=-bound), knots[..., 1:-1], knots[..., -1:].clamp(min=bound)], -1)
    return knots, knots[..., 1:] - knots[..., :-1]


def rational_quadratic_spline(x: torch.Tensor, widths: torch.Tensor, heights: torch.Tensor,
                              derivatives: torch.Tensor, *, bound: float = 3.0,
                              inverse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """A monotone rational-quadratic spline (Durkan et al. 2019, their Eqs. 4-6 and the inverse of App. A).

    x : (...) inputs; widths, heights : (..., K) unnormalised bin sizes; derivatives : (..., K - 1)
    unconstrained inner-knot derivatives (the end knots have slope 1; identity outside ``[-bound, bound]``).
    Returns ``(y, log |dy/dx|)``, each shaped like ``x`` (with ``inverse``: the inverse map and the log slope of the
    inverse).
    """
    inside = (x > -bound) & (x < bound)
    xs, ws = _knots(widths, bound)
    ys, hs = _knots(heights, bound)
    slopes = F.pad(_MIN_DERIVATIVE + F.softplus(derivatives), (1, 1), value=1.0)
    clamped = x.clamp(-bound, bound)
    search = ys if inverse else xs
    index = (torch.searchsorted(search[..., 1:-1].contiguous(), clamped[..., None].contiguous())).clamp(
        0, widths.shape[-1] - 1)

    def pick(values: torch.Tensor) -> torch.Tensor:
        return values.gather(-1, index)[..., 0]

    x_k, w_k, y_k, h_k = pick(xs), pick(ws), pick(ys), pick(hs)
    d_k, d_k1 = pick(slopes[..., :-1]), pick(slopes[..., 1:])
    delta = h_k / w_k
    if inverse:
        shifted = clamped - y_k
        a = h_k * (delta - d_k) + shifted * (d_k1 + d_k - 2.0 * delta)
        b = h_k * d_k - shifted * (d_k1 + d_k - 2.0 * delta)
        c = -delta * shifted
        root = (b.square() - 4.0 * a * c).clamp_min(0.0).sqrt()
        theta = (2.0 * c) / (-b - root)
        out = theta * w_k + x_k
    else:
        theta = (clamped - x_k) / w_k
    between = theta * (1.0 - theta)
    denominator = delta + (d_k1 + d_k - 2.0 * delta) * between
    if not inverse:
        out = y_k + h_k * (delta * theta.square() + d_k * between) / denominator
    slope = delta.square() * (d_k1 * theta.square() + 2.0 * delta * between + d_k * (1.0 - theta).square())
    log_slope = torch.log(slope) - 2.0 * torch.log(denominator)
    if inverse:
        log_slope = -log_slope
    return torch.where(inside, out, x), torch.where(inside, log_slope, torch.zeros_like(log_slope))


class _AutoregressiveSpline(nn.Module):
    def __init__(self, units: int, hidden_per_unit: int, bins: int, bound: float):
        super().__init__()
        self.units, self.bins, self.bound = units, bins, bound
        self.params_per_unit = 3 * bins - 1
        self.net = nn.Sequential(
            MaskedLinear(units, 1, hidden_per_unit, inclusive=False), nn.SiLU(),
            MaskedLinear(units, hidden_per_unit, hidden_per_unit, inclusive=True), nn.SiLU(),
            MaskedLinear(units, hidden_per_unit, self.params_per_unit, inclusive=True, init_scale=0.01))
        # inner-knot derivatives start at 1: the spline starts as the identity
        self.derivative_offset = math.log(math.expm1(1.0 - _MIN_DERIVATIVE))

    def _spline_parameters(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.net(x).view(x.shape[0], self.units, self.params_per_unit)
        widths, heights, derivatives = out.split([self.bins, self.bins, self.bins - 1], dim=-1)
        return widths, heights, derivatives + self.derivative_offset

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, log_slope = rational_quadratic_spline(x, *self._spline_parameters(x), bound=self.bound)
        return y, log_slope.sum(1)

    def reverse(self, y: torch.Tensor) -> torch.Tensor:
        columns: list[torch.Tensor] = []
        for i in range(self.units):  # unit i's spline reads units < i only
            x = torch.cat(columns + [y.new_zeros(y.shape[0], self.units - i)], dim=1)
            widths, heights, derivatives = self._spline_parameters(x)
            out, _ = rational_quadratic_spline(y[:, i], widths[:, i], heights[:, i], derivatives[:, i],
                                               bound=self.bound, inverse=True)
            columns.append(out[:, None])
        return torch.cat(columns, dim=1)


class SplineFlow(AutoregressiveFlow):
    """``layers`` blocks of ActNorm, orthogonal mixing (from the second block on) and a masked autoregressive
    rational-quadratic spline over ``units`` units (module docstring): an
    :class:`~latentscm.nn.autoregressive_flow.AutoregressiveFlow` with splines for its affine layers.

    Parameters
    ----------
    units : int
        Dimension M of the vectors.
    layers : int, default 6
        Blocks.
    hidden_per_unit : int, default 32
        Hidden features per unit of each spline's MADE conditioner.
    bins : int, default 8
        Spline bins K.
    bound : float, default 3.0
        The spline acts on ``[-bound, bound]`` (after ActNorm: about three standard deviations), the identity outside.
    """

    def __init__(self, units: int, layers: int = 6, hidden_per_unit: int = 32, bins: int = 8, bound: float = 3.0):
        self.bins, self.bound = int(bins), float(bound)
        super().__init__(units, layers, hidden_per_unit)

    def _autoregressive_layer(self, units: int, hidden_per_unit: int) -> nn.Module:
        return _AutoregressiveSpline(units, hidden_per_unit, self.bins, self.bound)
