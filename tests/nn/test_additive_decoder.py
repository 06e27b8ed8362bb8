"""Additive per-concept decoder: each group's contribution depends on its latents only (exactly)."""

import numpy as np
import pytest
import torch

from latentscm.graph import CausalGraph
from latentscm.nn.additive_decoder import AdditiveDecoder, concept_groups, parse_groups

PENDULUM = CausalGraph.from_text("pendulum_angle -> shadow_length; pendulum_angle -> shadow_position; "
                                 "light_position -> shadow_length; light_position -> shadow_position")
NAMES = ["pendulum_angle", "light_position", "shadow_length", "shadow_position"]


def _decoder(gain=()):
    torch.manual_seed(0)
    groups = [[0], [1], [2, 3]] if not gain else [[0], [2, 3]]
    return AdditiveDecoder(groups, (3, 16, 16), channels=(8, 16), hidden_dim=16, gain=gain)


def test_changing_one_group_changes_only_its_contribution():
    decoder = _decoder()
    z = torch.randn(5, 4)
    moved = z.clone()
    moved[:, 2:] += torch.randn(5, 2)  # the shadow group only
    with torch.no_grad():
        before, after = decoder.contributions(z), decoder.contributions(moved)
        assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])  # bit for bit
        assert (before[2] - after[2]).abs().max() > 1e-3
        difference = decoder(moved) - decoder(z)
    torch.testing.assert_close(difference, after[2] - before[2], atol=1e-5, rtol=0)


def test_gain_group_scales_the_image():
    decoder = _decoder(gain=[1])
    z = torch.randn(4, 4)
    with torch.no_grad():
        additive = decoder.contributions(z).sum(0) + decoder.bias
        expected = decoder.gain(z) * torch.sigmoid(additive)
        torch.testing.assert_close(torch.sigmoid(decoder(z)), expected, atol=1e-5, rtol=1e-4)
        brighter = z.clone()
        brighter[:, 1] += 2.0  # only the gain latent: the stroke mask (additive part) is unchanged
        assert torch.equal(decoder.contributions(brighter), decoder.contributions(z))
        ratio = torch.sigmoid(decoder(brighter)) / torch.sigmoid(decoder(z))
        per_image = ratio.flatten(2)
        np.testing.assert_allclose(per_image.std(2).numpy(), 0.0, atol=1e-3)  # one factor per image & channel


def test_gradients_reach_only_the_group_decoder():
    decoder = _decoder()
    z = torch.randn(3, 4)
    decoder.contributions(z)[1].sum().backward()
    assert decoder.decoders[1].dense[0].weight.grad.abs().sum() > 0
    for other in (0, 2):
        grad = decoder.decoders[other].dense[0].weight.grad
        assert grad is None or float(grad.abs().sum()) == 0.0


def test_groups_from_the_graph_and_text():
    assert concept_groups(PENDULUM, NAMES) == [["pendulum_angle"], ["light_position"],
                                               ["shadow_length", "shadow_position"]]
    assert parse_groups("pendulum_angle; light_position, shadow_length; shadow_position", NAMES, "X") == [
        ["pendulum_angle"], ["light_position", "shadow_length"], ["shadow_position"]]


def test_bad_groups_are_named():
    with pytest.raises(ValueError, match="wind"):
        parse_groups("pendulum_angle; wind", NAMES, "CausalVAE")
    with pytest.raises(ValueError, match="leave out"):
        parse_groups("pendulum_angle; light_position", NAMES, "CausalVAE")
    with pytest.raises(ValueError, match="twice"):
        parse_groups("pendulum_angle, pendulum_angle; light_position, shadow_length, shadow_position", NAMES, "X")
    with pytest.raises(ValueError, match="exactly once"):
        AdditiveDecoder([[0], [0, 1]], (1, 16, 16))
    decoder = _decoder()
    with pytest.raises(ValueError, match=r"codes \(N, 4\)"):
        decoder(torch.zeros(2, 3))
