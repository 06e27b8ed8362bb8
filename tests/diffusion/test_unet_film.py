"""FiLM conditioning (Perez et al. 2018) in every residual block, label maps and the spatial
image condition of the UNet."""

import pytest
import torch

from latentscm.nn.unet import ResidualBlock, UNet


def tiny(**options):
    torch.manual_seed(0)
    return UNet(3, base_channels=8, channel_multipliers=(1, 2), attention=False, **options)


def inputs(n=4, cond_dim=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 8, 8, generator=g), torch.full((n,), 7), torch.randn(n, cond_dim, generator=g)


def test_every_residual_block_has_film_and_it_changes_the_output():
    net = tiny(cond_dim=6)
    blocks = [m for m in net.modules() if isinstance(m, ResidualBlock)]
    assert blocks and all(b.film is not None for b in blocks)
    x, t, cond = inputs()
    with torch.no_grad():
        base = net(x, t, cond)
        assert (net(x, t, cond + 1.0) - base).abs().mean() > 1e-3
        # the condition acts through FiLM alone: zeroing every FiLM layer removes its effect
        for block in blocks:
            block.film.weight.zero_()
            block.film.bias.zero_()
        net.cond_mlp[-1].weight.zero_()  # (label maps are off in this net)
        torch.testing.assert_close(net(x, t, cond), net(x, t, cond + 1.0))


def test_add_mode_has_no_film_layers():
    net = tiny(cond_dim=6, cond_mode="add")
    assert all(m.film is None for m in net.modules() if isinstance(m, ResidualBlock))
    x, t, cond = inputs()
    with torch.no_grad():
        assert (net(x, t, cond) - net(x, t, -cond)).abs().mean() > 1e-4


def test_label_maps_feed_the_condition_to_the_first_convolution():
    net = tiny(cond_dim=6, cond_maps=True)
    assert net.conv_in.in_channels == 3 + 6
    x, t, cond = inputs()
    for block in (m for m in net.modules() if isinstance(m, ResidualBlock)):
        block.film = None  # only the maps are left to carry the condition
    net.cond_mlp = None
    with torch.no_grad():
        assert (net(x, t, cond) - net(x, t, cond * 2)).abs().mean() > 1e-4


def test_image_condition_and_config_round_trip():
    net = tiny(cond_dim=6, image_cond_channels=3)
    x, t, cond = inputs()
    image = torch.rand(4, 3, 8, 8)
    with torch.no_grad():
        assert (net(x, t, cond, image_cond=image) - net(x, t, cond, image_cond=-image)).abs().mean() > 1e-4
    rebuilt = UNet(**net.config)
    assert rebuilt.config == net.config
    with pytest.raises(ValueError, match="image_cond"):
        net(x, t, cond)
    with pytest.raises(ValueError, match="image_cond"):
        net(x, t, cond, image_cond=torch.rand(4, 3, 4, 4))
    with pytest.raises(ValueError, match="image_cond"):
        tiny(cond_dim=6)(x, t, cond, image_cond=image)


@pytest.mark.parametrize("options, match", [
    ({"cond_dim": 4, "cond_mode": "concat"}, "cond_mode"),
    ({"cond_dim": 0, "cond_maps": True}, "cond_maps"),
    ({"cond_dim": 4, "cond_maps": "yes"}, "cond_maps"),
    ({"image_cond_channels": -1}, "image_cond_channels"),
])
def test_bad_conditioning_options_raise(options, match):
    with pytest.raises((TypeError, ValueError), match=match):
        tiny(**options)
