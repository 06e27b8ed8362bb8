"""The store key comes from the world's real configuration (its constructor arguments).

Regression: a user world without a hand-written ``_options`` got another configuration's cached
dataset (a ``size=16`` world received the stored 8x8 images), and ``check_world`` passed it.
"""

import numpy as np
import pytest

from latentscm.testing import check_world
from latentscm.worlds import FactorSpec, World
from latentscm.worlds.store import dataset_key, generate


class Square(World):
    """A bright square at (row, col) on a ``size`` x ``size`` image; no hand-written ``_options``."""

    name = "square"

    def __init__(self, size: int = 8, brightness: float = 1.0):
        self.size = size
        self.brightness = brightness
        self.factor_specs = (FactorSpec("row", values=np.arange(4.0)), FactorSpec("col", values=np.arange(4.0)))
        self.image_shape = (1, size, size)
        self._init_structure()

    def _render(self, factors, render_seeds):
        images = np.zeros((len(factors), 1, self.size, self.size), np.float32)
        cell = self.size // 4
        for i, (row, col) in enumerate(factors.astype(int)):
            images[i, 0, row * cell:(row + 1) * cell, col * cell:(col + 1) * cell] = self.brightness
        return images


class Hidden(Square):
    """Keeps its size under another name: the configuration cannot be read back."""

    def __init__(self, size: int = 8):
        super().__init__(size)
        self.pixels = self.__dict__.pop("size")

    def _render(self, factors, render_seeds):
        self.size = self.pixels
        try:
            return super()._render(factors, render_seeds)
        finally:
            del self.size


class StaleOptions(Square):
    """A hand-written ``_options`` that forgets an argument: two configurations, one key."""

    def __init__(self, size: int = 8, brightness: float = 1.0):
        super().__init__(size, brightness)
        self._options = {"size": size, "brightness": 1.0}


def test_two_sizes_get_two_datasets(tmp_path):
    small = generate(Square(size=8), root=tmp_path)
    large = generate(Square(size=16), root=tmp_path)
    assert small.images.shape == (16, 1, 8, 8)
    assert large.images.shape == (16, 1, 16, 16)
    assert small.path != large.path
    dim = generate(Square(size=8, brightness=0.5), root=tmp_path)
    assert float(dim.batch(slice(0, 16)).images.max()) == pytest.approx(0.5, abs=1 / 255)


def test_get_params_reads_the_constructor_signature():
    assert Square(size=16).get_params() == {"size": 16, "brightness": 1.0}
    assert Square(size=16).options() == Square(size=16).get_params()
    assert dataset_key(Square(size=8), None, 0)[0] != dataset_key(Square(size=16), None, 0)[0]


def test_worlds_of_different_classes_never_share_a_key():
    class Other(Square):
        pass  # same name, same parameters, another class

    assert dataset_key(Other(), None, 0)[0] != dataset_key(Square(), None, 0)[0]


def test_unreadable_configuration_is_a_clear_error(tmp_path):
    with pytest.raises(TypeError, match=r"constructor argument 'size'.*self\.size.*cache_key"):
        generate(Hidden(size=16), root=tmp_path)
    named = generate(Hidden(size=16), root=tmp_path, cache_key="hidden-16")
    assert named.images.shape == (16, 1, 16, 16)


def test_check_world_catches_a_configuration_left_out_of_the_key():
    check_world(Square(size=16), n=8)
    with pytest.raises(AssertionError, match="get_params"):
        check_world(StaleOptions(size=8, brightness=0.5), n=8)
    with pytest.raises(AssertionError, match="constructor argument 'size'"):
        check_world(Hidden(size=16), n=8)


@pytest.mark.parametrize("name", ["sprites", "shapes3d", "pendulum", "flow", "glyphs"])
def test_builtin_worlds_rebuild_from_get_params(name):
    from latentscm.worlds import make

    world = make(name, size=16 if name != "glyphs" else 16)
    params = world.get_params()
    assert params["size"] == 16
    rebuilt = type(world)(**params)
    assert rebuilt.get_params() == params
    assert dataset_key(rebuilt, 4, 0)[0] == dataset_key(world, 4, 0)[0]
