"""``sprites`` at 64 pixels: which neighbouring grid values repeat an image, measured from the
rendered images, and that the module docstring states it (dSprites' values were chosen so that
neighbouring grid points differ; here a few neighbouring orientations do not)."""

import numpy as np
import pytest

from latentscm.worlds import sprites as sprites_module
from latentscm.worlds.sprites import Sprites


@pytest.fixture(scope="module")
def world():
    return Sprites()


def _neighbour_repeats(world, column):
    """(shape, scale index) -> count of neighbouring-value steps of factor ``column`` that leave
    the image unchanged, over every (shape, scale, orientation) with the sprite at a fixed place."""
    specs = world.factor_specs
    shape, scale, orientation = np.meshgrid(np.arange(3), np.arange(6), np.arange(40), indexing="ij")
    factors = np.stack([specs[0].values[shape.ravel()], specs[1].values[scale.ravel()],
                        specs[2].values[orientation.ravel()], np.full(720, specs[3].values[9]),
                        np.full(720, specs[4].values[20])], axis=1)
    images = world.render(factors).reshape(720, -1)
    repeats = {}
    for k in range(720):
        moved = factors[k].copy()
        index = specs[column].index_of(moved[column])
        if index + 1 >= specs[column].size:
            continue
        moved[column] = specs[column].values[index + 1]
        if np.array_equal(world.render(moved).reshape(-1), images[k]):
            key = (int(shape.ravel()[k]), int(scale.ravel()[k]))
            repeats[key] = repeats.get(key, 0) + 1
    return repeats


def test_neighbouring_orientations_that_repeat_are_the_documented_ones(world):
    # rendered images, not the masks: squares at scales 0.5 and 0.7, ellipses at 0.5, hearts never
    repeats = _neighbour_repeats(world, 2)
    assert repeats == {(0, 0): 8, (0, 2): 3, (1, 0): 2}
    assert sum(repeats.values()) == 13  # of 3 * 6 * 39 = 702 neighbouring-orientation steps
    doc = " ".join(sprites_module.__doc__.split())
    assert "2 pairs of neighbouring poses, 9.2 degrees apart, at scale 0.5" in doc  # ellipses
    assert "8 pairs at scale 0.5, 3 at scale 0.7" in doc  # squares
    assert "13 of the 702 neighbouring-orientation steps" in doc


@pytest.mark.parametrize("column", [0, 1])
def test_neighbouring_shapes_and_scales_never_repeat(world, column):
    assert _neighbour_repeats(world, column) == {}
