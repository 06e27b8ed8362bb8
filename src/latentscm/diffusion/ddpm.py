"""Ancestral sampling of Ho et al. (2020): one step of the learned reverse chain p(x_{t'} | x_t).

With an epsilon prediction, the x_0 estimate ``x0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)`` is
plugged into the Gaussian posterior q(x_{t'} | x_t, x_0) (Ho et al. 2020, eqs. 6-7), whose mean
reduces to eq. 11 when x_0 is not clipped. ``t'`` is the previous inference timestep, so fewer
steps than T use the respaced chain of Nichol & Dhariwal (2021, section 4): the betas of the
subsequence are ``1 - abar_t / abar_t'``.

References
----------
Ho, Jain & Abbeel (2020), Denoising Diffusion Probabilistic Models.

Nichol & Dhariwal (2021), Improved Denoising Diffusion Probabilistic Models.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from latentscm._validation import check_choice
from latentscm.diffusion.base import CLEAN, Scheduler, check_generator, gaussian_like
from latentscm.diffusion.schedules import NoiseSchedule

__all__ = ["DDPMScheduler", "VARIANCE_TYPES"]

VARIANCE_TYPES = ("posterior", "beta")


class DDPMScheduler(Scheduler):
    """The stochastic DDPM sampler (epsilon prediction).

    Parameters
    ----------
    schedule : NoiseSchedule
        The noise schedule the model was trained with.
    variance_type : {"posterior", "beta"}, default "posterior"
        The variance sigma_t^2 of each reverse step. ``"posterior"`` is the true posterior
        variance ``beta~_t = (1 - abar_t') / (1 - abar_t) * beta_t``, optimal when the data is a
        single point; ``"beta"`` is ``beta_t``, optimal for data N(0, I) (Ho et al. 2020,
        section 3.2: the two are the lower and upper bounds of the reverse-process entropy and
        gave similar samples). The last step (to clean data) never adds noise (Ho et al. 2020,
        Algorithm 2).
    clip_sample : float > 0 or None, default None
        Clamp the x_0 estimate to ``[-clip_sample, clip_sample]`` (``None``: no clamp).
    prediction_type : {"epsilon", "v_prediction"}, default "epsilon"
        What the model predicts (see :class:`~latentscm.diffusion.base.Scheduler`).

    Examples
    --------
    >>> scheduler = DDPMScheduler(NoiseSchedule("linear", 1000))
    >>> scheduler.set_timesteps(100)
    >>> # for t in scheduler.timesteps: x = scheduler.step(model(x, t), t, x, generator=g)
    """

    def __init__(self, schedule: NoiseSchedule, *, variance_type: str = "posterior",
                 clip_sample: float | None = None, prediction_type: str = "epsilon"):
        self.variance_type = check_choice(variance_type, "variance_type", "DDPMScheduler", VARIANCE_TYPES)
        super().__init__(schedule, clip_sample=clip_sample, prediction_type=prediction_type)

    @property
    def config(self) -> dict[str, Any]:
        return {**super().config, "variance_type": self.variance_type}

    def step(self, model_output: torch.Tensor, t: int | torch.Tensor, sample: torch.Tensor,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """One reverse step x_t -> x_{t'} with t' = :meth:`previous_timestep` (t).

        Parameters
        ----------
        model_output : torch.Tensor of shape (N, ...)
            The epsilon prediction eps(x_t, t) (or v for v-prediction).
        t : int or one-element integer torch.Tensor
            The current timestep, one of :attr:`timesteps`.
        sample : torch.Tensor of shape (N, ...)
            x_t.
        generator : torch.Generator or None, default None
            Seeds the fresh Gaussian noise; required except on the last step, which adds none.

        Returns
        -------
        torch.Tensor of shape (N, ...)
            x_{t'}, of ``sample``'s dtype.

        Raises
        ------
        TypeError
            When noise must be drawn and ``generator`` is not a torch.Generator.
        """
        t = self._check_step(model_output, t, sample, "DDPMScheduler.step")
        prev = self._previous[t]
        abar_t, abar_prev = self.alpha_bar(t), self.alpha_bar(prev)
        alpha = abar_t / abar_prev
        beta = 1.0 - alpha
        x0 = self._x0(model_output, t, sample)
        # Posterior mean of q(x_{t'} | x_t, x_0), Ho et al. (2020) eq. 7.
        mean = (math.sqrt(abar_prev) * beta / (1 - abar_t)) * x0 \
            + (math.sqrt(alpha) * (1 - abar_prev) / (1 - abar_t)) * sample
        if prev == CLEAN:
            return mean
        variance = beta * (1 - abar_prev) / (1 - abar_t) if self.variance_type == "posterior" else beta
        noise = gaussian_like(sample, check_generator(generator, "DDPMScheduler.step"))
        return mean + math.sqrt(variance) * noise
