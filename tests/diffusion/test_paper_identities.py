"""Samplers and loss weights against the defining properties in the papers (review s25).

- A point-mass data distribution has the exact epsilon model eps*(x_t, t) = (x_t - sqrt(abar_t) x0) /
  sqrt(1 - abar_t): every DDIM (Song et al. 2021) and DDPM (Ho et al. 2020) chain then ends on x0.
- Min-SNR-gamma (Hang et al. 2023) weights a parameterisation's loss so that it equals
  min(SNR_t, gamma) times the x0 error, for epsilon and for v-prediction (Salimans & Ho 2022).
- DDIM inversion then sampling with an exact v model reconstructs the input, better with more steps.
"""

import pytest
import torch

from latentscm.diffusion import (
    DDIMScheduler,
    DDPMScheduler,
    GaussianEpsilon,
    NoiseSchedule,
    ddim_invert,
    ddim_sample,
    ddpm_sample,
)


def _table(schedule, t, x):
    return schedule.alphas_cumprod[t].to(x).reshape(-1, *[1] * (x.ndim - 1))


def _point_mass(schedule, x0, prediction_type):
    def model(x, t, cond=None):
        abar = _table(schedule, t, x)
        eps = (x - abar.sqrt() * x0) / (1 - abar).sqrt()
        return eps if prediction_type == "epsilon" else abar.sqrt() * eps - (1 - abar).sqrt() * x0
    return model


def _as_v(schedule, eps_model):
    def model(x, t, cond=None):
        abar = _table(schedule, t, x)
        eps = eps_model(x, t, cond)
        x0 = (x - (1 - abar).sqrt() * eps) / abar.sqrt()
        return abar.sqrt() * eps - (1 - abar).sqrt() * x0
    return model


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_chains_with_the_exact_point_mass_model_end_on_the_point(kind, prediction_type):
    schedule = NoiseSchedule(kind, 1000)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(5, 2, 3, generator=g, dtype=torch.float64)
    x_T = torch.randn(5, 2, 3, generator=g, dtype=torch.float64)
    model = _point_mass(schedule, x0, prediction_type)
    for steps in (2, 7, 50, 1000):
        out = ddim_sample(model, x_T, DDIMScheduler(schedule, prediction_type=prediction_type), num_steps=steps)
        torch.testing.assert_close(out, x0, rtol=0, atol=1e-12)
    out = ddim_sample(model, x_T, DDIMScheduler(schedule, eta=1.0, prediction_type=prediction_type), num_steps=20,
                      generator=3)
    torch.testing.assert_close(out, x0, rtol=0, atol=1e-12)
    out = ddpm_sample(model, x_T, DDPMScheduler(schedule, prediction_type=prediction_type), num_steps=30, generator=3)
    torch.testing.assert_close(out, x0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_min_snr_weight_turns_the_loss_into_a_clamped_x0_loss(kind, prediction_type):
    schedule = NoiseSchedule(kind, 1000)
    g = torch.Generator().manual_seed(1)
    t = torch.arange(0, 1000, 37)
    x0 = torch.randn(len(t), 8, generator=g, dtype=torch.float64)
    eps = torch.randn(len(t), 8, generator=g, dtype=torch.float64)
    x_t = schedule.add_noise(x0, eps, t)
    abar = schedule.alphas_cumprod[t][:, None]
    error = 0.01 * torch.randn(len(t), 8, generator=g, dtype=torch.float64)
    if prediction_type == "epsilon":
        target = eps
        x0_hat = (x_t - (1 - abar).sqrt() * (target + error)) / abar.sqrt()
    else:
        target = schedule.velocity(x0, eps, t)
        x0_hat = abar.sqrt() * x_t - (1 - abar).sqrt() * (target + error)
    loss = error.pow(2).mean(1)
    x0_loss = (x0_hat - x0).pow(2).mean(1)
    gamma = 5.0
    weighted = schedule.min_snr_weight(t, gamma, prediction_type) * loss
    torch.testing.assert_close(weighted, schedule.snr(t).clamp(max=gamma) * x0_loss, rtol=1e-9, atol=0)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_v_prediction_inversion_round_trip_shrinks_with_steps(kind):
    schedule = NoiseSchedule(kind, 1000)
    x0 = 0.5 + 0.3 * torch.randn(16, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    model = _as_v(schedule, GaussianEpsilon(schedule, mean=0.5, std=0.3))
    errors = []
    for steps in (10, 50, 250):
        scheduler = DDIMScheduler(schedule, prediction_type="v_prediction")
        x_T = ddim_invert(model, x0, scheduler, num_steps=steps)
        errors.append(float((ddim_sample(model, x_T, scheduler, num_steps=steps) - x0).abs().max()))
    assert errors[0] > 2 * errors[1] > 4 * errors[2]
    assert errors[2] < 2e-2
