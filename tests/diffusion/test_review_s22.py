"""Regression tests for the s22 review of latentscm.diffusion."""

import pytest
import torch

from latentscm.diffusion import CLEAN, DDIMScheduler, DDPMScheduler, NoiseSchedule


@pytest.mark.parametrize("make", [lambda s: DDIMScheduler(s), lambda s: DDIMScheduler(s, eta=1.0),
                                  lambda s: DDPMScheduler(s), lambda s: DDIMScheduler(s, clip_sample=1.0),
                                  lambda s: DDIMScheduler(s, prediction_type="v_prediction")])
def test_scheduler_outputs_have_the_samples_dtype(make):
    scheduler = make(NoiseSchedule("linear", 100))
    scheduler.set_timesteps(10)
    x32 = torch.randn(2, 3, generator=torch.Generator().manual_seed(0))
    out64 = torch.randn(2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for t in (99, 0):
        assert scheduler.step(out64, t, x32, generator=torch.Generator().manual_seed(0)).dtype == torch.float32
        assert scheduler.predict_original(out64, t, x32).dtype == torch.float32
    if isinstance(scheduler, DDIMScheduler):
        assert scheduler.invert_step(out64, 99, x32).dtype == torch.float32
        expected = scheduler.invert_step(out64.float(), 99, x32)
        torch.testing.assert_close(scheduler.invert_step(out64, 99, x32), expected)


def test_add_noise_and_velocity_have_x0s_dtype():
    schedule = NoiseSchedule("cosine", 50)
    x0 = torch.randn(3, 2)
    noise = torch.randn(3, 2, dtype=torch.float64)
    assert schedule.add_noise(x0, noise, 5).dtype == torch.float32
    assert schedule.velocity(x0, noise, 5).dtype == torch.float32
    torch.testing.assert_close(schedule.add_noise(x0, noise, 5), schedule.add_noise(x0, noise.float(), 5))


def test_alpha_bar_refuses_levels_outside_the_schedule():
    scheduler = DDIMScheduler(NoiseSchedule("linear", 100))
    assert scheduler.alpha_bar(CLEAN) == 1.0
    assert scheduler.alpha_bar(99) == float(scheduler.schedule.alphas_cumprod[99])
    for t in (-2, -100, 100):
        with pytest.raises(ValueError, match="CLEAN"):
            scheduler.alpha_bar(t)
