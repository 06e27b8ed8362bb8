"""The small conditional UNet: shapes, conditioning, input checks, and that it learns."""

import pytest
import torch

from latentscm.diffusion import NoiseSchedule
from latentscm.nn.unet import UNet, group_count, timestep_embedding

TINY = {"base_channels": 8, "channel_multipliers": (1, 2), "num_res_blocks": 1, "time_embed_dim": 32}


def tiny(**options):
    torch.manual_seed(0)
    return UNet(**{"in_channels": 1, **TINY, **options})


@pytest.mark.parametrize(("multipliers", "size"), [((1, 2), (8, 8)), ((1, 2), (6, 10)), ((1, 2, 2), (12, 8)),
                                                   ((1,), (5, 7)), ((1, 2, 2, 2), (16, 16))])
def test_output_shape_equals_input_shape(multipliers, size):
    net = tiny(in_channels=2, channel_multipliers=multipliers, cond_dim=3)
    x = torch.randn(3, 2, *size)
    out = net(x, torch.tensor([0, 10, 99]), torch.randn(3, 3))
    assert out.shape == x.shape


def test_out_channels_and_default_net():
    assert tiny(out_channels=4)(torch.randn(2, 1, 8, 8), 5).shape == (2, 4, 8, 8)
    net = UNet()  # the CPU default: base 32, multipliers (1, 2, 2), attention
    assert net.size_multiple == 4 and net.config["channel_multipliers"] == (1, 2, 2)
    assert sum(p.numel() for p in net.parameters()) < 2_000_000


def test_conditioning_and_time_change_the_output(assert_close):
    net = tiny(cond_dim=3).eval()
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([10, 10])
    base = net(x, t, torch.zeros(2, 3))
    assert not torch.allclose(base, net(x, t, torch.ones(2, 3)))
    assert not torch.allclose(base, net(x, torch.tensor([500, 500]), torch.zeros(2, 3)))
    assert_close(net(x, 10, torch.zeros(2, 3)), base)  # an int t is broadcast


def test_batch_elements_are_independent(assert_close):
    net = tiny(cond_dim=2).eval()
    x, cond = torch.randn(4, 1, 8, 8), torch.randn(4, 2)
    t = torch.tensor([1, 2, 3, 4])
    assert_close(net(x, t, cond)[1:2], net(x[1:2], t[1:2], cond[1:2]), atol=1e-5, rtol=1e-4)


def test_bad_inputs_raise_clear_errors():
    net = tiny(cond_dim=3)
    with pytest.raises(ValueError, match=r"multiples of 2\. Got 7x8"):
        net(torch.randn(1, 1, 7, 8), 0, torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"shape \(N, 1, H, W\)"):
        net(torch.randn(1, 3, 8, 8), 0, torch.zeros(1, 3))
    with pytest.raises(ValueError, match="needs 'cond'"):
        net(torch.randn(1, 1, 8, 8), 0)
    with pytest.raises(ValueError, match=r"shape \(1, 3\)"):
        net(torch.randn(1, 1, 8, 8), 0, torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"'t'.*shape \(2,\)"):
        net(torch.randn(2, 1, 8, 8), torch.tensor([1, 2, 3]), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="unconditional"):
        tiny()(torch.randn(1, 1, 8, 8), 0, torch.zeros(1, 3))


@pytest.mark.parametrize(("options", "match"), [
    ({"channel_multipliers": ()}, "'channel_multipliers'"),
    ({"channel_multipliers": (1, 0)}, "'channel_multipliers'"),
    ({"base_channels": 0}, "'base_channels'"),
    ({"cond_dim": -1}, "'cond_dim'"),
    ({"dropout": 1.0}, "'dropout'"),
    ({"num_heads": 3}, "'num_heads'"),
    ({"attention": "yes"}, "'attention'"),
])
def test_bad_configuration_raises(options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        tiny(**options)


def test_config_round_trip():
    net = tiny(cond_dim=5, dropout=0.1, attention=False)
    rebuilt = UNet(**net.config)
    assert rebuilt.config == net.config
    rebuilt.load_state_dict(net.state_dict())


def test_group_count_divides_channels():
    for channels in (1, 3, 8, 24, 32, 48, 64, 96, 100, 256):
        groups = group_count(channels)
        assert channels % groups == 0 and 1 <= groups <= 32
    assert (group_count(32), group_count(64)) == (8, 16)


def test_timestep_embedding(assert_close):
    emb = timestep_embedding(torch.tensor([0, 1, 999]), 7)
    assert emb.shape == (3, 7)
    assert_close(emb[0, :3], torch.ones(3))  # cos(0)
    assert torch.all(emb[:, -1] == 0)  # odd width padded


def test_trains_a_few_steps_and_the_loss_drops():
    # Toy data: two fixed 8x8 images; epsilon-prediction loss on a fixed batch of (t, noise).
    schedule = NoiseSchedule("linear", 100)
    net = tiny(cond_dim=2)
    g = torch.Generator().manual_seed(0)
    x0 = torch.zeros(16, 1, 8, 8)
    x0[::2, :, 2:6, 2:6] = 1.0
    cond = torch.zeros(16, 2)
    cond[::2, 0] = 1.0
    cond[1::2, 1] = 1.0
    t = schedule.sample_timesteps(16, g)
    eps = torch.randn(x0.shape, generator=g)
    x_t = schedule.add_noise(x0 * 2 - 1, eps, t)
    # Plain gradient descent by hand: torch.optim's first use imports torch._dynamo (~10 s on a busy
    # 2-core machine), which would dominate this suite. Measured: 1.12 -> 0.32 in 10 steps.
    losses = []
    for _ in range(10):
        loss = torch.nn.functional.mse_loss(net(x_t, t, cond), eps)
        net.zero_grad()
        loss.backward()
        with torch.no_grad():
            for parameter in net.parameters():
                parameter -= 0.05 * parameter.grad
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses


def test_unet_plugs_into_the_pipelines():
    from latentscm.diffusion import DDIMScheduler, ddim_invert, ddim_sample

    net = tiny(cond_dim=2).eval()
    scheduler = DDIMScheduler(NoiseSchedule("cosine", 50))
    x0, cond = torch.rand(2, 1, 8, 8) * 2 - 1, torch.randn(2, 2)
    x_T = ddim_invert(net, x0, scheduler, num_steps=3, cond=cond)
    x_rec = ddim_sample(net, x_T, scheduler, num_steps=3, cond=cond, guidance_weight=1.0)
    assert x_T.shape == x_rec.shape == x0.shape and torch.isfinite(x_rec).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_sampling_matches_cpu(assert_close):
    from latentscm.diffusion import DDPMScheduler, ddpm_sample

    net = tiny(cond_dim=2).eval()
    scheduler = DDPMScheduler(NoiseSchedule("linear", 100))
    x_T, cond = torch.randn(2, 1, 8, 8), torch.randn(2, 2)
    cpu = ddpm_sample(net, x_T, scheduler, num_steps=5, cond=cond, generator=torch.Generator().manual_seed(0))
    gpu = ddpm_sample(net.cuda(), x_T.cuda(), scheduler, num_steps=5, cond=cond.cuda(),
                      generator=torch.Generator().manual_seed(0))  # a CPU generator seeds CUDA sampling
    assert_close(gpu.cpu(), cpu, atol=1e-3, rtol=1e-3)
