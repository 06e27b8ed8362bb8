"""``hidden_dim`` as a sequence of dense widths: MLP encoders and decoders of vector observations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentscm import load
from latentscm.learners import make
from latentscm.nn import ConvDecoder, ConvEncoder
from latentscm.worlds import make as make_world


def test_an_int_is_the_one_layer_case_parameter_for_parameter():
    for image_shape in ((3, 16, 16), (6, 1, 1)):
        torch.manual_seed(0)
        one = ConvEncoder(image_shape, 8, hidden_dim=64).state_dict()
        torch.manual_seed(0)
        same = ConvEncoder(image_shape, 8, hidden_dim=(64,)).state_dict()
        assert list(one) == list(same) and all(torch.equal(one[k], same[k]) for k in one)
        torch.manual_seed(0)
        one = ConvDecoder(4, image_shape, hidden_dim=64).state_dict()
        torch.manual_seed(0)
        same = ConvDecoder(4, image_shape, hidden_dim=[64]).state_dict()
        assert list(one) == list(same) and all(torch.equal(one[k], same[k]) for k in one)


def test_an_int_keeps_the_relu_and_a_sequence_has_leaky_relus():
    assert any(type(m) is torch.nn.ReLU for m in ConvEncoder((6, 1, 1), 8, hidden_dim=64).dense)
    assert any(type(m) is torch.nn.ReLU for m in ConvDecoder(4, (6, 1, 1), hidden_dim=64).dense)
    for net in (ConvEncoder((6, 1, 1), 8, hidden_dim=(64, 32)).dense, ConvDecoder(4, (6, 1, 1), hidden_dim=[64]).dense):
        activations = [m for m in net if not isinstance(m, (torch.nn.Linear, torch.nn.Flatten))]
        assert activations and all(isinstance(m, torch.nn.LeakyReLU) and m.negative_slope == 0.2 for m in activations)


def test_a_sequence_gives_that_many_dense_layers_and_the_decoder_mirrors_them():
    encoder = ConvEncoder((6, 1, 1), 8, hidden_dim=(32, 16, 16))
    linears = [m for m in encoder.dense if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(6, 32), (32, 16), (16, 16)]
    assert encoder.head.in_features == 16 and encoder(torch.rand(5, 6, 1, 1)).shape == (5, 8)
    decoder = ConvDecoder(4, (6, 1, 1), hidden_dim=(32, 16, 16))
    linears = [m for m in decoder.dense if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 16), (16, 16), (16, 32), (32, 6)]
    assert decoder(torch.zeros(5, 4)).shape == (5, 6, 1, 1)


def test_a_learner_trains_and_reloads_with_dense_widths(tmp_path):
    world = make_world("nonlinear-ica", latents=3)
    images = world.sample(256, seed=0).images
    model = make("beta_vae", latent_dim=3, hidden_dim=[32, 32], likelihood="gaussian", steps=5, batch_size=32)
    assert model.get_params()["hidden_dim"] == (32, 32)
    model.fit(images, progress=False)
    assert len([m for m in model.encoder_.dense if isinstance(m, torch.nn.Linear)]) == 2
    model.save(tmp_path / "model")
    again = load(tmp_path / "model")
    assert again.get_params()["hidden_dim"] == (32, 32)
    np.testing.assert_array_equal(again.encode(images[:20]), model.encode(images[:20]))


@pytest.mark.parametrize("value", [(), (32, 0), ("32",), (32, 2.5), (True,)])
def test_bad_widths_name_hidden_dim(value):
    with pytest.raises((TypeError, ValueError), match="'hidden_dim'"):
        make("tdrl", hidden_dim=value)


@pytest.mark.parametrize("name", ["causal_vae", "contrastive", "dts", "gcrl", "multiview", "causal_diffae"])
def test_learners_with_one_dense_width_refuse_a_sequence(name):
    with pytest.raises(TypeError, match="'hidden_dim'.*one dense width"):
        make(name, hidden_dim=(32, 32))
