"""DDPM/DDIM sampling loops, classifier-free guidance and the loops' input checks."""

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
    guided_epsilon,
)

MEAN, STD = 0.5, 0.3


def noise(n, d=1, seed=1, dtype=torch.float64):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_ddpm_full_chain_reproduces_the_gaussian():
    # Measured: mean 0.502, std 0.298 ("posterior") / 0.301 ("beta") with 4000 samples.
    schedule = NoiseSchedule("cosine", 1000)
    model = GaussianEpsilon(schedule, mean=MEAN, std=STD)
    x = ddpm_sample(model, noise(2000), DDPMScheduler(schedule), generator=2)
    assert x.mean().item() == pytest.approx(MEAN, abs=0.02)
    assert x.std().item() == pytest.approx(STD, abs=0.015)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_respaced_ddpm_variances_bracket_the_truth(kind):
    # Ho et al. (2020), sec. 3.2: sigma^2 = beta~ and sigma^2 = beta are the two extremes; with
    # few respaced steps the first under-disperses and the second over-disperses. Exact stds by
    # the linear-Gaussian variance recursion at 20 steps: linear 0.212 / 0.362, cosine 0.243 / 0.331.
    schedule = NoiseSchedule(kind, 1000)
    model = GaussianEpsilon(schedule, mean=MEAN, std=STD)
    stds = {}
    for variance in ("posterior", "beta"):
        x = ddpm_sample(model, noise(4000), DDPMScheduler(schedule, variance_type=variance), num_steps=20,
                        generator=torch.Generator().manual_seed(2))
        assert x.mean().item() == pytest.approx(MEAN, abs=0.03)
        stds[variance] = x.std().item()
    assert stds["posterior"] < STD - 0.02 and stds["beta"] > STD + 0.02


def test_ddpm_sampling_is_seeded():
    schedule = NoiseSchedule("linear", 100)
    model = GaussianEpsilon(schedule, mean=MEAN, std=STD)
    scheduler = DDPMScheduler(schedule)
    a = ddpm_sample(model, noise(8, 2), scheduler, num_steps=10, generator=5)
    b = ddpm_sample(model, noise(8, 2), scheduler, num_steps=10, generator=torch.Generator().manual_seed(5))
    c = ddpm_sample(model, noise(8, 2), scheduler, num_steps=10, generator=6)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_ddpm_sample_needs_a_generator():
    schedule = NoiseSchedule("linear", 100)
    with pytest.raises(TypeError, match="needs a 'generator'"):
        ddpm_sample(GaussianEpsilon(schedule), noise(2), DDPMScheduler(schedule), num_steps=5)


class CountingModel:
    """Data given cond is N(cond, STD^2); counts calls and rows."""

    def __init__(self, schedule):
        self.oracle = GaussianEpsilon(schedule, std=STD)
        self.calls, self.rows = 0, 0

    def __call__(self, x_t, t, cond):
        self.calls += 1
        self.rows += x_t.shape[0]
        return self.oracle(x_t, t, cond)


def test_guidance_weight_zero_equals_the_conditional_model(assert_close):
    schedule = NoiseSchedule("cosine", 100)
    model = CountingModel(schedule)
    x = noise(6, 3)
    t = torch.full((6,), 40, dtype=torch.long)
    cond = torch.full((6, 3), 2.0, dtype=torch.float64)
    conditional = guided_epsilon(model, x, t, cond)
    assert_close(guided_epsilon(model, x, t, cond, guidance_weight=0.0), conditional)
    unconditional = guided_epsilon(model, x, t, torch.zeros_like(cond))
    assert_close(guided_epsilon(model, x, t, cond, guidance_weight=-1.0), unconditional)
    guided = guided_epsilon(model, x, t, cond, guidance_weight=3.0, uncond=torch.full((3,), -1.0, dtype=torch.float64))
    assert_close(guided, 4 * conditional - 3 * guided_epsilon(model, x, t, -torch.ones_like(cond)))


def test_guided_sampling_is_one_batched_call_per_step_and_w0_matches_unguided(assert_close):
    schedule = NoiseSchedule("cosine", 100)
    model = CountingModel(schedule)
    x_T, cond = noise(5, 2), torch.full((5, 2), 1.5, dtype=torch.float64)
    plain = ddim_sample(model, x_T, DDIMScheduler(schedule), num_steps=10, cond=cond)
    assert (model.calls, model.rows) == (10, 50)
    guided = ddim_sample(model, x_T, DDIMScheduler(schedule), num_steps=10, cond=cond, guidance_weight=0.0)
    assert (model.calls, model.rows) == (20, 150)  # 10 more calls of 2N rows
    assert_close(guided, plain)
    # A positive weight pushes samples further from the unconditional mean (0) than cond.
    pushed = ddim_sample(model, x_T, DDIMScheduler(schedule), num_steps=10, cond=cond, guidance_weight=1.0)
    assert pushed.mean().item() > plain.mean().item() > 1.0


def test_ddpm_guidance_with_w0_matches_unguided(assert_close):
    schedule = NoiseSchedule("linear", 100)
    model = CountingModel(schedule)
    x_T, cond = noise(5, 2), torch.ones(5, 2, dtype=torch.float64)
    a = ddpm_sample(model, x_T, DDPMScheduler(schedule), num_steps=10, cond=cond, generator=3)
    b = ddpm_sample(model, x_T, DDPMScheduler(schedule), num_steps=10, cond=cond, guidance_weight=0.0, generator=3)
    assert_close(a, b)


def test_pipelines_reject_bad_inputs():
    schedule = NoiseSchedule("linear", 100)
    model = GaussianEpsilon(schedule)
    ddim, ddpm = DDIMScheduler(schedule), DDPMScheduler(schedule)
    x = noise(4, 2)
    with pytest.raises(TypeError, match="must be a DDIMScheduler"):
        ddim_sample(model, x, ddpm, num_steps=5)
    with pytest.raises(TypeError, match="must be a DDIMScheduler"):
        ddim_invert(model, x, ddpm, num_steps=5)
    with pytest.raises(TypeError, match="must be a DDPMScheduler"):
        ddpm_sample(model, x, ddim, num_steps=5, generator=0)
    with pytest.raises(ValueError, match="one row per sample"):
        ddim_sample(model, x, ddim, num_steps=5, cond=torch.zeros(3, 2))
    with pytest.raises(ValueError, match="needs 'cond'"):
        ddim_sample(model, x, ddim, num_steps=5, guidance_weight=1.0)
    with pytest.raises(ValueError, match="'guidance_weight'"):
        ddim_sample(model, x, ddim, num_steps=5, cond=x, guidance_weight=-2.0)
    with pytest.raises(ValueError, match="NaN"):
        ddim_invert(model, torch.full((2, 2), float("nan")), ddim, num_steps=5)
    with pytest.raises(ValueError, match="num_inference_steps"):
        ddim_sample(model, x, ddim, num_steps=0)
    with pytest.raises(ValueError, match=r"input's shape \(4, 2\)"):
        ddim_sample(lambda x_t, t, cond: x_t[:, :1], x, ddim, num_steps=5)
    with pytest.raises(TypeError, match="callable"):
        ddim_sample("unet", x, ddim, num_steps=5)
    with pytest.raises(ValueError, match="broadcast"):
        ddim_sample(model, x, ddim, num_steps=5, cond=x, guidance_weight=1.0, uncond=torch.zeros(3))
