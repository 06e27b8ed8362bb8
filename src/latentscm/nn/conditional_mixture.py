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

    def _standardised(self, y: torch.Tensor, parents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_w, means, log_scales = self.parameters_for(parents)
        return log_w, (y[:, None] - means) * torch.exp(-log_scales)

    def log_cdf(self, y: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
        """``log F(y | parents)`` (N,), exact far into the lower tail (``log_ndtr`` per component)."""
        log_w, standard = self._standardised(y, parents)
        return torch.logsumexp(log_w + torch.special.log_ndtr(standard), dim=1)

    def log_sf(self, y: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
        """``log (1 - F(y | parents))`` (N,), exact far into the upper tail."""
        log_w, standard = self._standardised(y, parents)
        return torch.logsumexp(log_w + torch.special.log_ndtr(-standard), dim=1)

    def cdf(self, y: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
        """``F(y | parents)`` in [0, 1]: y (N,), parents (N, P) -> (N,) (tails round to 0 or 1 in floating point;
        :meth:`normal_score` keeps them)."""
        return self.log_cdf(y, parents).exp()

    def normal_score(self, y: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
        """``Phi^{-1}(F(y | parents))`` (N,): the mechanism's noise on the standard normal scale, from the log CDF in
        the lower half and the log survival function in the upper, so that tails whose ``F`` rounds to 0 or 1 keep
        their value."""
        lower, upper = self.log_cdf(y, parents), self.log_sf(y, parents)
        return torch.where(lower < math.log(0.5), _normal_quantile_of_log(lower), -_normal_quantile_of_log(upper))

    def quantile_of_score(self, score: torch.Tensor, parents: torch.Tensor, iterations: int = 100) -> torch.Tensor:
        """``F^{-1}(Phi(score) | parents)`` (N,) for normal scores (N,), by bisection on the log CDF (lower half) or
        the log survival function (upper half). The bracket holds the answer for any finite score: at
        ``min_c(mu_c - |score| sigma_c)`` every component's CDF is at most ``Phi(-|score|)``, and symmetrically above.
        A NaN score gives NaN."""
        _, means, log_scales = self.parameters_for(parents)
        reach = score.abs().nan_to_num(0.0)[:, None] * log_scales.exp()
        low, high = (means - reach).min(1).values, (means + reach).max(1).values
        lower_half = score < 0
        target_lower, target_upper = torch.special.log_ndtr(score), torch.special.log_ndtr(-score)
        for _ in range(iterations):
            middle = 0.5 * (low + high)
            below = torch.where(lower_half, self.log_cdf(middle, parents) < target_lower,
                                self.log_sf(middle, parents) > target_upper)
            low = torch.where(below, middle, low)
            high = torch.where(below, high, middle)
        return torch.where(torch.isnan(score), score, 0.5 * (low + high))

    def quantile(self, u: torch.Tensor, parents: torch.Tensor, iterations: int = 100) -> torch.Tensor:
        """``F^{-1}(u | parents)``: u (N,) in (0, 1), parents (N, P) -> (N,) (through :meth:`quantile_of_score`)."""
        return self.quantile_of_score(torch.special.ndtri(u), parents, iterations)

    def sample(self, parents: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One draw per row of parents (N, P): (N,)."""
        log_w, means, log_scales = self.parameters_for(parents)
        component = torch.multinomial(log_w.exp(), 1, generator=generator)[:, 0]
        rows = torch.arange(parents.shape[0], device=parents.device)
        noise = torch.randn(parents.shape[0], generator=generator, device=parents.device, dtype=means.dtype)
        return means[rows, component] + log_scales[rows, component].exp() * noise


def _normal_quantile_of_log(log_p: torch.Tensor) -> torch.Tensor:
    """``Phi^{-1}(exp(log_p))`` for ``log_p <= log(1/2)``, also where ``exp(log_p)`` underflows: ``ndtri`` where it
    does not, the tail expansion ``-sqrt(-2 log p - log(-4 pi log p))`` where it does, then Newton steps on
    ``log Phi(x) = log_p`` (``log Phi`` is concave and increasing, so they approach the root from below)."""
    p = log_p.exp()
    t = -2.0 * log_p
    asymptotic = -torch.sqrt((t - torch.log(2.0 * math.pi * t.clamp_min(1e-30))).clamp_min(0.0))
    x = torch.where(p > torch.finfo(p.dtype).tiny * 1e3, torch.special.ndtri(p), asymptotic)
    for _ in range(4):
        log_phi = torch.special.log_ndtr(x)
        density = torch.exp(-0.5 * x.square() - 0.5 * math.log(2.0 * math.pi) - log_phi)  # phi(x) / Phi(x)
        x = x - (log_phi - log_p) / density
    return x
