import math

import pytest
import torch

from latentscm.diffusion import NoiseSchedule


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("T", [50, 1000])
def test_alphas_cumprod_in_unit_interval_and_decreasing(kind, T):
    schedule = NoiseSchedule(kind, T)
    abar = schedule.alphas_cumprod
    assert abar.shape == (T,) and abar.dtype == torch.float64
    assert torch.all((abar > 0) & (abar < 1))
    assert torch.all(abar[1:] < abar[:-1])
    assert torch.all((schedule.betas > 0) & (schedule.betas < 1))
    snr = schedule.snr(torch.arange(T))
    assert torch.all(snr[1:] < snr[:-1])


def test_linear_schedule_matches_ho_et_al():
    schedule = NoiseSchedule("linear", 1000)
    assert schedule.betas[0].item() == pytest.approx(1e-4)
    assert schedule.betas[-1].item() == pytest.approx(0.02)
    assert torch.all(schedule.betas[1:] > schedule.betas[:-1])
    # Independent check of the cumulative product at t = 9: prod (1 - beta_s), beta_s = 1e-4 + s * step.
    step = (0.02 - 1e-4) / 999
    expected = math.prod(1 - (1e-4 + s * step) for s in range(10))
    assert schedule.alphas_cumprod[9].item() == pytest.approx(expected, rel=1e-12)
    # Scaled to T: the end points are multiplied by 1000 / T (Nichol & Dhariwal 2021).
    short = NoiseSchedule("linear", 100)
    assert short.betas[0].item() == pytest.approx(1e-3) and short.betas[-1].item() == pytest.approx(0.2)


def test_cosine_schedule_matches_closed_form():
    T, s = 1000, 0.008
    schedule = NoiseSchedule("cosine", T)

    def f(t):
        return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2

    for t in (0, 100, 500, 900):
        assert schedule.alphas_cumprod[t].item() == pytest.approx(f(t + 1) / f(0), rel=1e-9)
    assert schedule.betas.max().item() <= 0.999


def test_add_noise_statistics(generator):
    schedule = NoiseSchedule("linear", 1000)
    n, mu = 20000, 2.0
    x0 = torch.full((n, 1), mu, dtype=torch.float64)
    noise = torch.randn(n, 1, generator=generator, dtype=torch.float64)
    for t in (0, 250, 999):
        abar = schedule.alphas_cumprod[t].item()
        x_t = schedule.add_noise(x0, noise, t)
        assert x_t.mean().item() == pytest.approx(math.sqrt(abar) * mu, abs=0.03)
        assert x_t.std().item() == pytest.approx(math.sqrt(1 - abar), rel=0.03)


def test_add_noise_per_sample_timesteps_and_dtype(assert_close):
    schedule = NoiseSchedule("cosine", 100)
    x0 = torch.ones(3, 2, 4, 4)
    noise = torch.zeros_like(x0)
    x_t = schedule.add_noise(x0, noise, torch.tensor([0, 50, 99]))
    assert x_t.dtype == torch.float32 and x_t.shape == x0.shape
    expected = schedule.alphas_cumprod[[0, 50, 99]].sqrt().float()
    assert_close(x_t[:, 0, 0, 0], expected)


def test_config_round_trip(assert_close):
    schedule = NoiseSchedule("cosine", 200, cosine_offset=0.01)
    rebuilt = NoiseSchedule.from_config(schedule.config)
    assert rebuilt == schedule
    assert_close(rebuilt.alphas_cumprod, schedule.alphas_cumprod)


def test_sample_timesteps_seeded():
    schedule = NoiseSchedule("linear", 100)
    a = schedule.sample_timesteps(64, torch.Generator().manual_seed(3))
    b = schedule.sample_timesteps(64, torch.Generator().manual_seed(3))
    assert a.dtype == torch.long and torch.equal(a, b) and 0 <= a.min() and a.max() < 100
    with pytest.raises(TypeError, match="torch.Generator"):
        schedule.sample_timesteps(4, None)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"kind": "quadratic"}, ValueError, "'kind' parameter of NoiseSchedule"),
    ({"num_train_timesteps": 0}, ValueError, "'num_train_timesteps'"),
    ({"num_train_timesteps": 10.5}, TypeError, "'num_train_timesteps'"),
    ({"beta_start": -1.0}, ValueError, "'beta_start'"),
    ({"beta_start": 0.1, "beta_end": 0.01}, ValueError, "'beta_end'"),
    ({"num_train_timesteps": 20}, ValueError, "last beta is 1 >= 1"),
])
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        NoiseSchedule(**kwargs)


def test_add_noise_rejects_bad_inputs():
    schedule = NoiseSchedule("linear", 100)
    x0 = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="same shape"):
        schedule.add_noise(x0, torch.zeros(2, 4), 0)
    with pytest.raises(ValueError, match=r"0 \.\. 99"):
        schedule.add_noise(x0, x0, 100)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        schedule.add_noise(x0, x0, torch.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="integer"):
        schedule.add_noise(x0, x0, torch.tensor([0.5, 1.0]))
