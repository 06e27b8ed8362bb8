"""Pixel likelihoods: the floor is the smallest NLL any logits reach on the images."""

import torch

from latentscm.nn import make_likelihood


def test_bernoulli_floor_is_the_nll_at_the_images_themselves_and_a_lower_bound():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand((4, 3, 5, 5), generator=generator) * 0.98 + 0.01
    bernoulli = make_likelihood("bernoulli")
    floor = bernoulli.floor(images)
    at_images = bernoulli.nll(torch.logit(images.double()).float(), images)
    torch.testing.assert_close(floor, at_images, rtol=1e-4, atol=1e-3)
    for _ in range(5):  # no other logits go below it
        logits = torch.randn((4, 3, 5, 5), generator=generator)
        assert torch.all(bernoulli.nll(logits, images) > floor)
    binary = (images > 0.5).float()
    assert torch.all(bernoulli.floor(binary) == 0)
    assert torch.all(make_likelihood("gaussian").floor(images) == 0)
