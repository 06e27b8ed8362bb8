"""DDIM inversion then DDIM sampling must give back the input, with an exact epsilon model so the
only error left is the discretisation of the ODE (Song et al. 2021; Preechakul et al. 2022)."""

import pytest
import torch

from latentscm.diffusion import DDIMScheduler, GaussianEpsilon, NoiseSchedule, ddim_invert, ddim_sample

MEAN, STD = 0.5, 0.3


def data(n, d, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return MEAN + STD * torch.randn(n, d, generator=g, dtype=dtype)


def reconstruction_error(kind, num_steps, dtype=torch.float64, cond=None):
    schedule = NoiseSchedule(kind, 1000)
    model = GaussianEpsilon(schedule, mean=MEAN, std=STD)
    scheduler = DDIMScheduler(schedule)
    x0 = data(128, 4, dtype) if cond is None else cond + STD * torch.randn(
        cond.shape, generator=torch.Generator().manual_seed(1), dtype=dtype)
    x_T = ddim_invert(model, x0, scheduler, num_steps=num_steps, cond=cond)
    x_rec = ddim_sample(model, x_T, scheduler, num_steps=num_steps, cond=cond)
    return (x_rec - x0).abs().max().item(), x_T


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_reconstruction_error_shrinks_with_steps(kind):
    # Measured (float64, 128 x 4 points, max |error|): linear 10: 0.56, 50: 0.13, 250: 0.027;
    # cosine 10: 0.38, 50: 0.090, 250: 0.020 -- first order: error ~ 1 / num_steps.
    errors = {n: reconstruction_error(kind, n)[0] for n in (10, 50, 250)}
    assert errors[10] > errors[50] > errors[250]
    assert errors[250] < 0.04
    assert errors[50] / errors[250] > 3.5  # close to the 5x of a first-order method


def test_reconstruction_in_float32():
    error, _ = reconstruction_error("linear", 250, dtype=torch.float32)
    assert error < 0.04


def test_conditional_inversion_uses_the_condition():
    # Data given cond is N(cond, STD^2): per-sample means far apart; inversion with the right
    # condition reconstructs, so the condition reaches every model call of both loops.
    cond = torch.linspace(-2, 2, 32, dtype=torch.float64)[:, None].expand(32, 3).clone()
    error, x_T = reconstruction_error("cosine", 250, cond=cond)
    assert error < 0.04
    assert x_T.std().item() == pytest.approx(1.0, abs=0.2)  # the condition is explained away


def test_inverted_latents_are_standard_normal():
    # The ODE maps the data distribution onto N(0, I) at t = T - 1.
    _, x_T = reconstruction_error("linear", 200)
    assert x_T.mean().item() == pytest.approx(0.0, abs=0.05)
    assert x_T.std().item() == pytest.approx(1.0, abs=0.05)


def test_ddim_eta_zero_sampling_is_deterministic():
    schedule = NoiseSchedule("cosine", 100)
    model = GaussianEpsilon(schedule, mean=MEAN, std=STD)
    x_T = torch.randn(16, 2, generator=torch.Generator().manual_seed(3))
    a = ddim_sample(model, x_T, DDIMScheduler(schedule), num_steps=20)
    b = ddim_sample(model, x_T.clone(), DDIMScheduler(schedule), num_steps=20, generator=123)
    assert torch.equal(a, b)
    assert not torch.equal(a, ddim_sample(model, x_T, DDIMScheduler(schedule, eta=1.0), num_steps=20, generator=1))


def test_invert_and_sample_are_exact_inverses_with_a_constant_model(assert_close):
    # With a model that ignores x_t, every invert_step is the exact inverse of the matching step.
    schedule = NoiseSchedule("linear", 100)
    eps = torch.randn(5, 3, generator=torch.Generator().manual_seed(7), dtype=torch.float64)

    def model_fn(x_t, t, cond):
        return eps

    scheduler = DDIMScheduler(schedule)
    x0 = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    x_T = ddim_invert(model_fn, x0, scheduler, num_steps=7)
    assert_close(ddim_sample(model_fn, x_T, scheduler, num_steps=7), x0)


def test_model_sees_long_timesteps_in_increasing_order_during_inversion():
    schedule = NoiseSchedule("linear", 100)
    seen = []

    def model_fn(x_t, t, cond):
        assert t.dtype == torch.long and t.shape == (x_t.shape[0],)
        seen.append(int(t[0]))
        return torch.zeros_like(x_t)

    ddim_invert(model_fn, torch.zeros(2, 1), DDIMScheduler(schedule), num_steps=4)
    assert seen == [0, 33, 66, 99]


def test_fixed_point_refinement_makes_inversion_match_the_sampler():
    # Measured (linear, 250 steps): k = 0: 2.7e-2, k = 1: 5.7e-4, k = 2: 1.2e-5.
    schedule = NoiseSchedule("linear", 1000)
    model = GaussianEpsilon(schedule, mean=MEAN, std=STD)
    scheduler = DDIMScheduler(schedule)
    x0 = data(64, 4, torch.float64)
    errors = []
    for k in (0, 1, 2):
        x_T = ddim_invert(model, x0, scheduler, num_steps=50, fixed_point_iterations=k)
        errors.append((ddim_sample(model, x_T, scheduler, num_steps=50) - x0).abs().max().item())
    assert errors[0] > 5 * errors[1] > 25 * errors[2]
    assert errors[2] < 5e-3
    with pytest.raises(ValueError, match="'fixed_point_iterations'"):
        ddim_invert(model, x0, scheduler, num_steps=5, fixed_point_iterations=-1)
