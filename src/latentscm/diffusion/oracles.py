"""Exact epsilon models for Gaussian data, to test samplers without training a network.

If x_0 ~ N(mu, s^2 I) then x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps is Gaussian with mean
sqrt(abar_t) mu and variance abar_t s^2 + 1 - abar_t, and the minimum-MSE epsilon prediction (the
optimum of the loss of Ho et al. 2020, eq. 14) is the regression of eps on x_t::

    E[eps | x_t] = sqrt(1 - abar_t) (x_t - sqrt(abar_t) mu) / (abar_t s^2 + 1 - abar_t)

A sampler fed this model should reproduce N(mu, s^2 I), and DDIM inversion followed by DDIM
sampling should give back its input, with errors that vanish as the number of steps grows.
"""

from __future__ import annotations

import torch

from latentscm._validation import check_number
from latentscm.diffusion.schedules import NoiseSchedule

__all__ = ["GaussianEpsilon"]


class GaussianEpsilon:
    """The exact epsilon model ``model_fn(x_t, t, cond) -> eps`` for data N(mean, std^2 I).

    Parameters
    ----------
    schedule : NoiseSchedule
        The forward process.
    mean : float or torch.Tensor broadcastable to (N, ...), default 0.0
        The data mean.
    std : float > 0, default 1.0
        The data standard deviation s (s = 0, a single point, makes the inversion ODE collapse
        every x_T onto the point, so it is refused).

    Notes
    -----
    When ``cond`` is given it replaces ``mean`` per sample: the data given ``cond`` is
    N(cond, std^2 I), with ``cond`` broadcastable to ``x_t`` — a conditional model with a
    closed form, for guidance tests.
    """

    def __init__(self, schedule: NoiseSchedule, mean: float | torch.Tensor = 0.0, std: float = 1.0):
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"The 'schedule' parameter of GaussianEpsilon must be a NoiseSchedule. "
                            f"Got {type(schedule).__name__}.")
        self.schedule = schedule
        self.mean = mean if isinstance(mean, torch.Tensor) else float(check_number(mean, "mean", "GaussianEpsilon"))
        self.std = float(check_number(std, "std", "GaussianEpsilon", low=0.0, low_inclusive=False))

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """(N, ...) noisy samples and a LongTensor (N,) of timesteps -> eps (N, ...)."""
        steps = self.schedule.check_timesteps(t, x_t.shape[0], "GaussianEpsilon", x_t.device)
        abar = self.schedule.gather(self.schedule.alphas_cumprod, steps, x_t)
        mean = self.mean if cond is None else cond
        if isinstance(mean, torch.Tensor):
            mean = mean.to(device=x_t.device, dtype=x_t.dtype)
        return (1 - abar).sqrt() * (x_t - abar.sqrt() * mean) / (abar * self.std**2 + 1 - abar)
