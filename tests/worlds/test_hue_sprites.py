"""hue-sprites: a continuous hue factor, exact symmetries, domains that shift the hue only."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.testing import check_world
from latentscm.worlds import DomainShift, make
from latentscm.worlds.hue_sprites import SATURATION
from latentscm.worlds.shapes3d import hsv_to_rgb


@pytest.fixture(scope="module")
def world():
    return make("hue-sprites", size=16, n_positions=4,
                domains=DomainShift(3, shifted=("hue",), strength=1.5, seed=0))


def test_conformance_off_the_default_grids():  # the default world runs in tests/test_conformance.py
    check_world(make("hue-sprites", size=32, n_scales=2, n_positions=3), n=16, seed=1)


def test_every_lit_pixel_has_the_colour_of_the_hue(world):
    batch = world.sample(20, seed=0)
    assert batch.images.shape == (20, 3, 16, 16) and batch.images.dtype == np.float32
    colours = hsv_to_rgb(batch.factors[:, 4], saturation=SATURATION).astype(np.float32)
    lit = batch.images.max(axis=1) > 0  # (N, H, W)
    assert lit.any(axis=(1, 2)).all()
    for i in range(20):
        np.testing.assert_array_equal(batch.images[i][:, lit[i]], np.repeat(colours[i][:, None], lit[i].sum(), 1))


def test_domain_counterfactual_changes_the_hue_only(world):
    batch = world.sample(64, seed=1, domain=0)
    np.testing.assert_array_equal(world.domain_counterfactual(batch, to_domain=0).images, batch.images)
    moved = world.domain_counterfactual(batch, to_domain=2)
    np.testing.assert_array_equal(moved.factors[:, :4], batch.factors[:, :4])
    assert np.abs(moved.factors[:, 4] - batch.factors[:, 4]).max() > 0.05
    same_mask = (moved.images.max(axis=1) > 0) == (batch.images.max(axis=1) > 0)
    assert same_mask.all()


def test_domains_differ_in_the_hue_distribution(world):
    batch = world.sample_domains(400, seed=2)
    hue = {d: batch.factors[batch.domain == d, 4] for d in range(3)}
    assert abs(np.median(hue[1]) - np.median(hue[0])) > 0.1
    noise = {d: batch.noise["shape"][batch.domain == d] for d in range(3)}
    assert all(abs(noise[d].mean() - noise[0].mean()) < 0.15 for d in (1, 2))  # the shared noise law


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="'max_hue'"):
        make("hue-sprites", max_hue=1.0)
    with pytest.raises(ValueError, match="'n_positions'"):
        make("hue-sprites", n_positions=0)
    with pytest.raises(ValueError, match="'size'"):
        make("hue-sprites", size=8)
