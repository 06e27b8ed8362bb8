"""Denoising diffusion implicit models (Song, Meng & Ermon 2021): the generalised sampling step
(eq. 12) and, for eta = 0, its deterministic inverse.

Sampling step from x_t to the previous inference level t' (eq. 12)::

    x0_hat  = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)
    sigma   = eta * sqrt((1 - abar_t') / (1 - abar_t)) * sqrt(1 - abar_t / abar_t')      (eq. 16)
    x_t'    = sqrt(abar_t') x0_hat + sqrt(1 - abar_t' - sigma^2) eps + sigma z

eta = 0 is the deterministic DDIM sampler (an Euler step of the probability-flow ODE written in
``x / sqrt(abar)`` and ``sqrt((1 - abar) / abar)``, Song et al. 2021, eq. 14); eta = 1 recovers
DDPM's posterior variance.

Inversion runs the same ODE step backwards, from the cleaner level t' to t, with the epsilon
prediction taken at the known point: this is how diffusion autoencoders (Preechakul et al. 2022)
and CausalDiffAE (Komanduri et al. 2024) obtain the stochastic code x_T of an image, so that a
counterfactual keeps everything the semantic code does not explain (abduction, not re-noising).

References
----------
Song, Meng & Ermon (2021), Denoising Diffusion Implicit Models.

Preechakul, Chatthee, Wizadwongsa & Suwajanakorn (2022), Diffusion Autoencoders.

Komanduri, Zhao, Chen & Wu (2024), Causal Diffusion Autoencoders (CausalDiffAE).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from latentscm._validation import check_number
from latentscm.diffusion.base import CLEAN, Scheduler, check_generator, gaussian_like
from latentscm.diffusion.schedules import NoiseSchedule

__all__ = ["DDIMScheduler"]


class DDIMScheduler(Scheduler):
    """The DDIM sampler and its deterministic inversion (epsilon prediction).

    Parameters
    ----------
    schedule : NoiseSchedule
        The noise schedule the model was trained with.
    eta : float in [0, 1], default 0.0
        Scale of the fresh noise in :meth:`step`; 0 is deterministic. :meth:`invert_step` is
        always deterministic (eta = 0), whatever this value.
    clip_sample : float > 0 or None, default None
        Clamp the x_0 estimate to ``[-clip_sample, clip_sample]`` in :meth:`step` (``None``: no
        clamp). Inversion never clamps, so that it stays the exact inverse.
    prediction_type : {"epsilon", "v_prediction"}, default "epsilon"
        What the model predicts (v-prediction: Salimans & Ho 2022); both are converted to
        (eps, x_0) at the step's level before the update.

    Examples
    --------
    >>> scheduler = DDIMScheduler(NoiseSchedule("linear", 1000))
    >>> scheduler.set_timesteps(50)          # 999, 979, ..., 20, 0
    >>> # for t in scheduler.timesteps: x = scheduler.step(model(x, t), t, x)
    """

    def __init__(self, schedule: NoiseSchedule, eta: float = 0.0, *, clip_sample: float | None = None,
                 prediction_type: str = "epsilon"):
        self.eta = float(check_number(eta, "eta", "DDIMScheduler", low=0.0, high=1.0))
        super().__init__(schedule, clip_sample=clip_sample, prediction_type=prediction_type)

    @property
    def config(self) -> dict[str, Any]:
        return {**super().config, "eta": self.eta}

    def step(self, model_output: torch.Tensor, t: int | torch.Tensor, sample: torch.Tensor,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """One sampling step x_t -> x_{t'} with t' = :meth:`previous_timestep` (t) (eq. 12).

        Parameters
        ----------
        model_output : torch.Tensor of shape (N, ...)
            The model's prediction at (x_t, t) (eps, or v for v-prediction).
        t : int or one-element integer torch.Tensor
            The current timestep, one of :attr:`timesteps`.
        sample : torch.Tensor of shape (N, ...)
            x_t.
        generator : torch.Generator or None, default None
            Seeds the fresh noise; required only when ``eta > 0`` and the step is not the last
            one.

        Returns
        -------
        torch.Tensor of shape (N, ...)
            x_{t'}, of ``sample``'s dtype; with ``eta = 0`` a deterministic function of the
            inputs.
        """
        t = self._check_step(model_output, t, sample, "DDIMScheduler.step")
        prev = self._previous[t]
        abar_t, abar_prev = self.alpha_bar(t), self.alpha_bar(prev)
        eps, x0 = self._split(model_output, t, sample)
        sigma = self.eta * math.sqrt((1 - abar_prev) / (1 - abar_t)) * math.sqrt(1 - abar_t / abar_prev)
        direction = math.sqrt(max(1 - abar_prev - sigma**2, 0.0)) * eps
        prev_sample = math.sqrt(abar_prev) * x0 + direction
        if sigma > 0 and prev != CLEAN:
            prev_sample = prev_sample + sigma * gaussian_like(sample, check_generator(generator, "DDIMScheduler.step"))
        return prev_sample

    def invert_step(self, model_output: torch.Tensor, t: int | torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        """One deterministic inversion step x_{t'} -> x_t, the reverse of :meth:`step` with eta = 0.

        ``t`` names the level the step *reaches* — the same timestep as the sampling step it
        undoes — and ``sample`` sits at the cleaner level t' = :meth:`previous_timestep` (t)
        (clean data, alpha_bar = 1, for the smallest timestep). Hence, for any ``eps``::

            invert_step(eps, t, step(eps, t, x)) == x        (eta = 0, no clipping, up to rounding)

        An inversion loop visits :attr:`timesteps` in increasing order, calling the model as
        ``eps(x_{t'}, t)``: the ODE step of Song et al. (2021, eq. 14) run backwards with the slope
        taken at the known point, as in the encoder of diffusion autoencoders
        (Preechakul et al. 2022); the first step needs no model call outside the schedule.

        Parameters
        ----------
        model_output : torch.Tensor of shape (N, ...)
            The model's prediction (eps or v) at the current point.
        t : int or one-element integer torch.Tensor
            The timestep to reach, one of :attr:`timesteps`.
        sample : torch.Tensor of shape (N, ...)
            x_{t'}.

        Returns
        -------
        torch.Tensor of shape (N, ...)
            x_t, of ``sample``'s dtype.
        """
        t = self._check_step(model_output, t, sample, "DDIMScheduler.invert_step")
        model_output = model_output.to(sample.dtype)
        abar_t, abar_prev = self.alpha_bar(t), self.alpha_bar(self._previous[t])
        if self.prediction_type == "epsilon":
            x0 = (sample - math.sqrt(1 - abar_prev) * model_output) / math.sqrt(abar_prev)
            return math.sqrt(abar_t) * x0 + math.sqrt(1 - abar_t) * model_output
        # v-prediction: the sampling step is x_t' = a x_t + b v with
        #   a = sqrt(abar_t' abar_t) + sqrt((1 - abar_t')(1 - abar_t)),
        #   b = sqrt((1 - abar_t') abar_t) - sqrt(abar_t' (1 - abar_t)),
        # so for a given v it is solved for x_t exactly.
        a = math.sqrt(abar_prev * abar_t) + math.sqrt((1 - abar_prev) * (1 - abar_t))
        b = math.sqrt((1 - abar_prev) * abar_t) - math.sqrt(abar_prev * (1 - abar_t))
        return (sample - b * model_output) / a
