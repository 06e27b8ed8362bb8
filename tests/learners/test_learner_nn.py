"""Network blocks: sizes follow the image shape; the 64x64 net is disentanglement_lib's."""

import pytest
import torch

from latentscm.nn import MLP, ConvDecoder, ConvEncoder, conv_shapes, make_likelihood


@pytest.mark.parametrize("shape", [(1, 64, 64), (3, 32, 32), (1, 16, 16), (3, 28, 28), (1, 8, 8), (2, 50, 36)])
def test_encoder_and_decoder_follow_the_image_shape(shape):
    encoder = ConvEncoder(shape, 6, channels=(4, 4, 8, 8), hidden_dim=16)
    decoder = ConvDecoder(3, shape, channels=(4, 4, 8, 8), hidden_dim=16)
    images = torch.rand(2, *shape)
    assert encoder(images).shape == (2, 6)
    assert decoder(torch.randn(2, 3)).shape == (2, *shape)


def test_reference_architecture_at_64():
    shapes = conv_shapes((1, 64, 64), (32, 32, 64, 64))
    assert shapes == [(1, 64, 64), (32, 32, 32), (32, 16, 16), (64, 8, 8), (64, 4, 4)]
    encoder = ConvEncoder((1, 64, 64), 20)
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (1, 32, (4, 4), (2, 2)), (32, 32, (4, 4), (2, 2)), (32, 64, (4, 4), (2, 2)), (64, 64, (4, 4), (2, 2))]
    assert encoder.dense[1].in_features == 1024 and encoder.dense[1].out_features == 256
    decoder = ConvDecoder(10, (1, 64, 64))
    deconvs = [m for m in decoder.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(d.in_channels, d.out_channels) for d in deconvs] == [(64, 64), (64, 32), (32, 32), (32, 1)]


def test_small_images_use_fewer_layers():
    assert len(conv_shapes((1, 8, 8), (32, 32, 64, 64))) == 4  # 8 -> 4 -> 2 -> 1
    with pytest.raises(ValueError, match="image shape"):
        ConvEncoder((64, 64), 4)


def test_mlp_and_likelihoods():
    assert MLP(3, (5, 5), 2)(torch.zeros(4, 3)).shape == (4, 2)
    images = torch.rand(2, 1, 4, 4)
    logits = torch.zeros(2, 1, 4, 4)
    bernoulli = make_likelihood("bernoulli")
    expected = torch.nn.functional.binary_cross_entropy(torch.full_like(images, 0.5), images, reduction="sum") / 2
    torch.testing.assert_close(bernoulli.nll(logits, images).mean(), expected)
    gaussian = make_likelihood("gaussian")
    torch.testing.assert_close(gaussian.nll(logits, images), (0.5 - images).square().flatten(1).sum(1))
    with pytest.raises(ValueError, match="poisson"):
        make_likelihood("poisson")
