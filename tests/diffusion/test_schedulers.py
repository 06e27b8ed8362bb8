"""Tests every scheduler shares (diffusers-style mixin: one common class, one subclass per
scheduler giving only its construction)."""

import math

import pytest
import torch

from latentscm.diffusion import CLEAN, DDIMScheduler, DDPMScheduler, NoiseSchedule


class SchedulerCommonTests:
    scheduler_class: type
    options: dict = {}

    def make(self, T=100, kind="linear", **extra):
        return self.scheduler_class(NoiseSchedule(kind, T), **{**self.options, **extra})

    def test_default_timesteps_are_the_full_chain(self):
        scheduler = self.make(T=100)
        assert torch.equal(scheduler.timesteps, torch.arange(99, -1, -1))

    @pytest.mark.parametrize("n", [1, 2, 7, 10, 100])
    def test_set_timesteps_evenly_spaced_from_T_minus_1_to_0(self, n):
        scheduler = self.make(T=100)
        scheduler.set_timesteps(n)
        steps = scheduler.timesteps
        assert steps.dtype == torch.long and len(steps) == n == scheduler.num_inference_steps
        assert steps[0] == 99 and (n == 1 or steps[-1] == 0)
        assert torch.all(steps[1:] < steps[:-1])
        if n > 2:
            gaps = (steps[:-1] - steps[1:]).float()
            assert gaps.max() - gaps.min() <= 1
        assert scheduler.previous_timestep(steps[-1]) == CLEAN

    @pytest.mark.parametrize("n", [0, 101, 2.5])
    def test_set_timesteps_rejects_bad_counts(self, n):
        with pytest.raises((ValueError, TypeError), match="num_inference_steps"):
            self.make(T=100).set_timesteps(n)

    def test_step_rejects_unknown_timestep_and_bad_shapes(self, generator):
        scheduler = self.make(T=100)
        scheduler.set_timesteps(10)
        x = torch.zeros(2, 3)
        with pytest.raises(ValueError, match="one of the scheduler's timesteps"):
            scheduler.step(x, 50, x, generator=generator)
        with pytest.raises(ValueError, match="same shape"):
            scheduler.step(torch.zeros(2, 4), 99, x, generator=generator)
        with pytest.raises(TypeError, match="floating-point"):
            scheduler.step(x, 99, x.long(), generator=generator)
        with pytest.raises(TypeError, match="int timestep"):
            scheduler.step(x, 99.0, x, generator=generator)

    def test_last_step_returns_the_x0_estimate(self, assert_close):
        scheduler = self.make(T=100)
        scheduler.set_timesteps(5)
        x, eps = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
        abar = scheduler.schedule.alphas_cumprod[0].item()
        expected = (x - math.sqrt(1 - abar) * eps) / math.sqrt(abar)
        assert_close(scheduler.step(eps, 0, x), expected)
        assert_close(scheduler.predict_original(eps, 0, x), expected)

    def test_step_keeps_dtype_and_shape(self, generator):
        scheduler = self.make(T=50)
        x = torch.randn(2, 1, 4, 4, generator=generator)
        out = scheduler.step(torch.zeros_like(x), 49, x, generator=generator)
        assert out.shape == x.shape and out.dtype == torch.float32

    def test_same_seed_same_result(self):
        scheduler = self.make(T=50)
        x = torch.randn(3, 2, generator=torch.Generator().manual_seed(1))
        a = scheduler.step(x, 30, x, generator=torch.Generator().manual_seed(5))
        b = scheduler.step(x, 30, x, generator=torch.Generator().manual_seed(5))
        assert torch.equal(a, b)

    def test_clip_sample_bounds_the_x0_estimate(self):
        scheduler = self.make(T=100, clip_sample=1.0)
        scheduler.set_timesteps(4)
        x = torch.full((2, 3), 10.0)
        assert scheduler.step(torch.zeros_like(x), 0, x).abs().max() <= 1.0

    def test_config_round_trip(self):
        scheduler = self.make(T=60, kind="cosine")
        rebuilt = self.scheduler_class.from_config(scheduler.config)
        assert rebuilt.config == scheduler.config

    def test_rejects_non_schedule(self):
        with pytest.raises(TypeError, match="must be a NoiseSchedule"):
            self.scheduler_class("linear")


class TestDDPMScheduler(SchedulerCommonTests):
    scheduler_class = DDPMScheduler

    def test_step_needs_a_generator_except_at_the_end(self):
        scheduler = self.make(T=50)
        x = torch.zeros(2, 3)
        with pytest.raises(TypeError, match="seeded torch.Generator"):
            scheduler.step(x, 49, x)
        scheduler.step(x, 0, x)  # the last step adds no noise

    def test_posterior_mean_matches_ho_et_al_eq_11(self, assert_close):
        # Without clipping the posterior mean is 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - abar_t) eps).
        scheduler = self.make(T=100)
        x, eps = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
        t = 40
        beta, abar = scheduler.schedule.betas[t].item(), scheduler.schedule.alphas_cumprod[t].item()
        mean = (x - beta / math.sqrt(1 - abar) * eps) / math.sqrt(1 - beta)
        g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
        out = scheduler.step(eps, t, x, generator=g1)
        noise = torch.randn(5, 2, generator=g2, dtype=torch.float64)
        posterior_var = beta * (1 - scheduler.schedule.alphas_cumprod[t - 1].item()) / (1 - abar)
        assert_close(out, mean + math.sqrt(posterior_var) * noise)

    def test_rejects_unknown_variance_type(self):
        with pytest.raises(ValueError, match="'variance_type'"):
            self.make(variance_type="learned")


class TestDDIMScheduler(SchedulerCommonTests):
    scheduler_class = DDIMScheduler

    def test_eta_zero_is_deterministic(self):
        scheduler = self.make(T=100)
        scheduler.set_timesteps(10)
        x, eps = torch.randn(4, 3), torch.randn(4, 3)
        a = scheduler.step(eps, 99, x)  # no generator needed
        b = scheduler.step(eps, 99, x, generator=torch.Generator().manual_seed(1))
        assert torch.equal(a, b)

    def test_eta_positive_needs_a_generator(self):
        scheduler = self.make(T=100, eta=0.5)
        x = torch.zeros(2, 3)
        with pytest.raises(TypeError, match="seeded torch.Generator"):
            scheduler.step(x, 99, x)

    def test_eta_one_has_the_ddpm_posterior_variance(self, assert_close):
        # Song et al. (2021), eq. 16: eta = 1 gives sigma^2 = beta~_t.
        schedule = NoiseSchedule("linear", 100)
        ddim, ddpm = DDIMScheduler(schedule, eta=1.0), DDPMScheduler(schedule)
        x, eps = torch.randn(1000, 1, dtype=torch.float64), torch.zeros(1000, 1, dtype=torch.float64)
        a = ddim.step(eps, 50, x, generator=torch.Generator().manual_seed(2))
        b = ddpm.step(eps, 50, x, generator=torch.Generator().manual_seed(2))
        assert (a - a.mean()).std().item() == pytest.approx((b - b.mean()).std().item(), rel=0.05)
        assert_close(a.mean(), b.mean(), atol=0.05, rtol=0)

    @pytest.mark.parametrize("n", [1, 3, 20])
    def test_invert_step_exactly_undoes_step(self, n, assert_close):
        scheduler = self.make(T=200, kind="cosine")
        scheduler.set_timesteps(n)
        g = torch.Generator().manual_seed(4)
        x = torch.randn(6, 3, generator=g, dtype=torch.float64)
        eps = torch.randn(6, 3, generator=g, dtype=torch.float64)
        for t in scheduler.timesteps.tolist():
            assert_close(scheduler.invert_step(eps, t, scheduler.step(eps, t, x)), x)
            assert_close(scheduler.step(eps, t, scheduler.invert_step(eps, t, x)), x)

    def test_rejects_bad_eta(self):
        with pytest.raises(ValueError, match="'eta' parameter of DDIMScheduler"):
            self.make(eta=1.5)
