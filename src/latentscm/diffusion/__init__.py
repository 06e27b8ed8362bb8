"""Diffusion building blocks: noise schedules, samplers (DDPM, DDIM and DDIM inversion) and the
loops that drive them. No networks live here: a scheduler computes one step from a model's
output, and the pipelines call any ``model_fn(x_t, t, cond) -> eps`` (e.g.
:class:`latentscm.nn.unet.UNet`).

>>> import torch
>>> from latentscm.diffusion import DDIMScheduler, GaussianEpsilon, NoiseSchedule, ddim_invert, ddim_sample
>>> schedule = NoiseSchedule("linear", 1000)
>>> model = GaussianEpsilon(schedule, mean=0.5, std=0.2)       # an exact epsilon model
>>> scheduler = DDIMScheduler(schedule)
>>> x0 = 0.5 + 0.2 * torch.randn(4, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
>>> x_T = ddim_invert(model, x0, scheduler, num_steps=100)
>>> error = (ddim_sample(model, x_T, scheduler, num_steps=100) - x0).abs().max()
>>> bool(error < 0.1)   # plain DDIM inversion is first order in 1 / num_steps
True
>>> x_T = ddim_invert(model, x0, scheduler, num_steps=100, fixed_point_iterations=2)
>>> bool((ddim_sample(model, x_T, scheduler, num_steps=100) - x0).abs().max() < 1e-3)
True"""

from latentscm.diffusion.base import CLEAN, PREDICTION_TYPES, Scheduler
from latentscm.diffusion.ddim import DDIMScheduler
from latentscm.diffusion.ddpm import VARIANCE_TYPES, DDPMScheduler
from latentscm.diffusion.oracles import GaussianEpsilon
from latentscm.diffusion.pipelines import ModelFn, ddim_invert, ddim_sample, ddpm_sample, guided_epsilon
from latentscm.diffusion.schedules import SCHEDULE_KINDS, NoiseSchedule

__all__ = [
    "CLEAN",
    "DDIMScheduler",
    "DDPMScheduler",
    "GaussianEpsilon",
    "ModelFn",
    "NoiseSchedule",
    "PREDICTION_TYPES",
    "SCHEDULE_KINDS",
    "Scheduler",
    "VARIANCE_TYPES",
    "ddim_invert",
    "ddim_sample",
    "ddpm_sample",
    "guided_epsilon",
]
