"""A conditional density of one variable given its parents: a Gaussian mixture whose weights, means and scales are
an MLP of the parents (a mixture density network, Bishop 1994).

``p(y | pa) = sum_c pi_c(pa) N(y; mu_c(pa), sigma_c(pa)^2)`` with ``components`` terms; with no parents the
mixture's parameters are learned vectors. Besides :meth:`log_prob` it gives the conditional CDF and its inverse,
which is what a latent SCM needs for counterfactuals: the CDF ``u = F(y | pa)`` is the exogenous noise of the
mechanism ``y = F^{-1}(u | pa)``, increasing in ``u`` (a bijective generation mechanism, whose counterfactuals are
identified from the conditional distribution alone: Nasr-Esfahany, Alizadeh & Shah, ICML 2023).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ConditionalGaussianMixture"]

# log sigma lies in (_LOG_SCALE_MIN, _LOG_SCALE_MAX): no component collapses onto a point or spreads without bound
_LOG_SCALE_MIN, _LOG_SCALE_MAX = -6.0, 3.0


class ConditionalGaussianMixture(nn.Module):
    """``p(y | parents)`` (module docstring) for ``n_parents`` (>= 0) parents.

    Parameters
    ----------
    n_parents : int
        Number of conditioning variables P; 0 gives an unconditional mixture.
    components : int, default 8
        Mixture components C.
    hidden : int, default 64
        Width of the two hidden layers of the MLP (P > 0 only).
    """

    def __init__(self, n_parents: int, components: int = 8, hidden: int = 64):
        super().__init__()
        self.n_parents, self.components = int(n_parents), int(components)
        # components start spread over [-2, 2] with unit scale, equally weighted
        start = torch.cat([torch.zeros(components), torch.linspace(-2.0, 2.0, components),
                           torch.full((components,), self._raw_log_scale(0.0))])
        if self.n_parents == 0:
            self.start = nn.Parameter(start)
            self.net = None
        else:
            last = nn.Linear(hidden, 3 * components)
            with torch.no_grad():
                last.weight.mul_(0.1)
                last.bias.copy_(start)
            self.start = None
            self.net = nn.Sequential(nn.Linear(self.n_parents, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                                     nn.SiLU(), last)

    @staticmethod
    def _raw_log_scale(log_scale: float) -> float:
        fraction = (log_scale - _LOG_SCALE_MIN) / (_LOG_SCALE_MAX - _LOG_SCALE_MIN)
        return math.log(fraction / (1.0 - fraction))

    def parameters_for(self, parents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log weights, means, log scales), each (N, C), for parents (N, P)."""
        if self.net is None:
            out = self.start.expand(parents.shape[0], -1)
        else:
            out = self.net(parents)
        logits, means, raw = out.split(self.components, dim=1)
        log_scales = _LOG_SCALE_MIN + (_LOG_SCALE_MAX - _LOG_SCALE_MIN) * torch.sigmoid(raw)
        return torch.log_softmax(logits, dim=1), means, log_scales

    def log_prob(self, y: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
        """``log p(y | parents)``: y (N,), parents (N, P) -> (N,)."""
        log_w, means, log_scales = self.parameters_for(parents)
        standard = (y[:, None] - means) * torch.exp(-log_scales)
        terms = log_w - log_scales - 0.5 * standard.square() - 0.5 * math.log(2 * math.pi)
        return torch.logsumexp(terms, dim=1)

    def cdf(self, y: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
        """``F(y | parents)`` in [0, 1]: y (N,), parents (N, P) -> (N,)."""
        log_w, means, log_scales = self.parameters_for(parents)
        standard = (y[:, None] - means) * torch.exp(-log_scales)
        return (log_w.exp() * torch.special.ndtr(standard)).sum(1)

    def quantile(self, u: torch.Tensor, parents: torch.Tensor, iterations: int = 60) -> torch.Tensor:
        """``F^{-1}(u | parents)``: u (N,) in (0, 1), parents (N, P) -> (N,), by bisection (the CDF is increasing).

        The bracket is every component's mean ± 12 of its scales, so ``u`` within 1e-30 of 0 or 1 is still inside.
        """
        _, means, log_scales = self.parameters_for(parents)
        low = (means - 12.0 * log_scales.exp()).min(1).values
        high = (means + 12.0 * log_scales.exp()).max(1).values
        for _ in range(iterations):
            middle = 0.5 * (low + high)
            below = self.cdf(middle, parents) < u
            low = torch.where(below, middle, low)
            high = torch.where(below, high, middle)
        return 0.5 * (low + high)

    def sample(self, parents: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One draw per row of parents (N, P): (N,)."""
        log_w, means, log_scales = self.parameters_for(parents)
        component = torch.multinomial(log_w.exp(), 1, generator=generator)[:, 0]
        rows = torch.arange(parents.shape[0], device=parents.device)
        noise = torch.randn(parents.shape[0], generator=generator, device=parents.device, dtype=means.dtype)
        return means[rows, component] + log_scales[rows, component].exp() * noise
