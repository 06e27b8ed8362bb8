"""The balls world: anti-aliased coloured balls whose centre coordinates are the factors."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.testing import check_world, simulate_interventional_latents
from latentscm.worlds import make
from latentscm.worlds.balls import PALETTE, Balls


def _centroid(image: np.ndarray, colour: tuple[float, float, float]) -> tuple[float, float]:
    """Centre (x, y) in the world's units (offset from the image centre, y up) of the pixels of one colour, weighted
    by their coverage (the colour's intensity over the black background, read from the brightest channel)."""
    channel = int(np.argmax(colour))
    weight = image[channel] / colour[channel]  # (H, W) coverage
    size = image.shape[-1]
    centres = (np.arange(size) + 0.5) / size - 0.5
    x = float((weight.sum(0) * centres).sum() / weight.sum())
    y = float((weight.sum(1) * centres[::-1]).sum() / weight.sum())
    return x, y


def test_factors_images_and_the_conformance_checks():
    world = make("balls", balls=3, size=32)
    assert isinstance(world, Balls)
    assert world.factor_names == ["ball0_x", "ball0_y", "ball1_x", "ball1_y", "ball2_x", "ball2_y"]
    batch = world.sample(200, seed=0)
    assert batch.images.shape == (200, 3, 32, 32) and batch.images.dtype == np.float32
    assert batch.images.min() >= 0.0 and batch.images.max() <= 1.0
    assert batch.factors.min() >= -0.5 and batch.factors.max() <= 0.5
    check_world(world, n=64, seed=0)
    assert world.get_params() == {"balls": 3, "size": 32, "radius": 0.08, "graph": None, "mechanisms": None}


def test_a_ball_is_drawn_where_its_factors_say_to_sub_pixel_precision():
    """Each ball's coverage-weighted centroid is its centre (no pixel snapping, unlike a pygame rendering), and a
    shift of a tenth of a pixel changes the image."""
    world = Balls(balls=2, size=64, radius=0.1)
    factors = np.array([[-0.2, 0.15, 0.23, -0.11], [0.031, -0.27, -0.3, 0.3]])
    images = world.render(factors)
    for image, row in zip(images, factors):
        for i in range(2):
            x, y = _centroid(image * np.isin(np.argmax(image, 0), [int(np.argmax(PALETTE[i]))]), PALETTE[i])
            assert abs(x - row[2 * i]) < 0.004 and abs(y - row[2 * i + 1]) < 0.004  # a quarter of a pixel
    moved = factors.copy()
    moved[:, 0] += 0.1 / 64
    assert np.abs(world.render(moved) - images).max() > 0.01
    # the area is the disc's: coverage sums to pi r^2 in pixels
    single = Balls(balls=1, size=64, radius=0.1).render(np.array([[0.0, 0.0]]))[0]
    coverage = single[int(np.argmax(PALETTE[0]))] / max(PALETTE[0])
    assert abs(coverage.sum() - np.pi * 6.4 ** 2) < 0.01 * np.pi * 6.4 ** 2


def test_a_later_ball_covers_an_earlier_one_and_overlap_reports_it():
    world = Balls(balls=2, size=32, radius=0.1)
    same = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.3, 0.3]])
    images = world.render(same)
    centre = images[0, :, 16, 16]
    np.testing.assert_allclose(centre, PALETTE[1], atol=1e-6)  # ball 1 painted over ball 0
    np.testing.assert_array_equal(world.overlap(same), [True, False])
    assert not world.overlap(np.array([[0.0, 0.0, 0.21, 0.0]]))[0] and world.overlap(
        np.array([[0.0, 0.0, 0.19, 0.0]]))[0]
    with pytest.raises(ValueError, match="columns"):
        world.overlap(np.zeros((3, 3)))


def test_bad_options_are_refused_naming_them():
    for options, name in (({"balls": 0}, "balls"), ({"balls": 9}, "balls"), ({"size": 4}, "size"),
                          ({"radius": 0.0}, "radius"), ({"radius": 0.7}, "radius")):
        with pytest.raises(ValueError, match=name):
            Balls(**options)


def test_a_linear_gaussian_structure_gives_exact_counterfactual_images():
    """The latent model of the contrastive benchmark as the world's SCM: a counterfactual keeps every sample's noise
    and re-renders, and a regime's intervened ball moves by the regime's distribution."""
    model = simulate_interventional_latents(4, p=4, mixing="identity", degree=3, seed=1)
    names = ["ball0_x", "ball0_y", "ball1_x", "ball1_y"]
    structure = model.world_structure(names, scale=0.05, offset=[-0.25, 0.0, 0.25, 0.0])
    world = make("balls", balls=2, size=32, radius=0.07, graph=structure.graph, mechanisms=structure.mechanisms)
    batch = world.sample(500, seed=0)
    target = names[int(np.flatnonzero(model.weights.any(1))[0])]  # a latent with a child
    k = names.index(target)
    counterfactual = world.counterfactual(batch, {target: float(np.median(batch.factors[:, k])) + 0.05})
    np.testing.assert_array_equal(counterfactual.images, world.render(counterfactual.factors))
    change = counterfactual.factors - batch.factors
    unclipped = (np.abs(counterfactual.factors) < 0.5).all(1) & (np.abs(batch.factors) < 0.5).all(1)
    assert unclipped.mean() > 0.9
    for i in range(4):  # each other factor moves by its parents' changes times their weights: its noise is kept
        if i != k:
            np.testing.assert_allclose(change[unclipped, i], change[unclipped] @ model.weights[:, i], atol=1e-9)
    assert np.abs(change[unclipped][:, model.weights[k] != 0]).max() > 0.01  # and the children do move
    offset = [-0.25, 0.0, 0.25, 0.0][k]
    shifted = world.sample(4000, seed=1, regime=structure.regimes[1 + k]).factors[:, k]
    assert abs(shifted.mean() - offset - 0.05 * model.intervention_means[k]) < 0.01
    assert abs(shifted.std() - 0.05 * np.sqrt(model.intervention_variances[k])) < 0.01
