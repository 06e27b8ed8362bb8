"""The ``sprites`` world: the dSprites grid, its variants, symmetries and custom structure."""

import numpy as np
import pytest

from latentscm.graph import CycleError, UnknownNodeError
from latentscm.scm import AdditiveNoise, Normal
from latentscm.testing import check_world
from latentscm.worlds import make
from latentscm.worlds.sprites import Sprites, hash_uniform

# Measured exactly from the masks (see Sprites.symmetries): the chance that changing one factor
# to another uniformly drawn grid value leaves the image unchanged. At 64 pixels only the
# orientation repeats (0 / 2 pi for every shape; near-symmetric poses of squares and ellipses).
DOCUMENTED_SYMMETRIES = {
    64: {"orientation": 0.01481},
    32: {"scale": 0.01556, "orientation": 0.10726, "posX": 0.02621, "posY": 0.02621},
}


@pytest.fixture(scope="module")
def world():
    return Sprites()


def test_factor_grids_match_dsprites(world):
    assert world.factor_names == ["shape", "scale", "orientation", "posX", "posY"]
    grids = {s.name: s.values for s in world.factor_specs}
    np.testing.assert_array_equal(grids["shape"], [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(grids["scale"], np.linspace(0.5, 1.0, 6))
    np.testing.assert_array_equal(grids["orientation"], np.linspace(0.0, 2 * np.pi, 40))
    assert grids["orientation"][0] == 0.0 and grids["orientation"][-1] == 2 * np.pi
    np.testing.assert_array_equal(grids["posX"], np.linspace(0.0, 1.0, 32))
    np.testing.assert_array_equal(grids["posY"], np.linspace(0.0, 1.0, 32))
    assert world.spec("shape").labels == ("square", "ellipse", "heart")
    assert world.n_combinations == 737_280
    assert world.image_shape == (1, 64, 64)
    # storage order: posY fastest, shape slowest (dSprites' index without its 1-valued colour)
    first = world.grid_factors(0, 33)
    np.testing.assert_array_equal(first[:32, 4], np.linspace(0.0, 1.0, 32))
    assert first[32, 3] == grids["posX"][1] and first[32, 4] == 0.0
    np.testing.assert_array_equal(world.grid_factors(737_279)[0], [2.0, 1.0, 2 * np.pi, 1.0, 1.0])


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("variant", ["binary", "color", "noisy"])
def test_check_world(size, variant):
    world = Sprites(size=size, variant=variant)
    report = check_world(world, n=16, seed=size)
    assert set(report["unchanged_fraction"]) == set(world.factor_names)
    assert world.image_shape == ((1,) if variant == "binary" else (3,)) + (size, size)


@pytest.mark.parametrize("size", [32, 64])
def test_symmetries_documented_and_measured(size):
    world = Sprites(size=size)
    documented = DOCUMENTED_SYMMETRIES[size]
    assert world.symmetries.keys() == documented.keys()
    for name, value in documented.items():
        assert world.symmetries[name] == pytest.approx(value, abs=1e-5)
    # measure over many random pairs, as check_world does with a few
    n = 3000
    rng = np.random.default_rng(7)
    batch = world.sample(n, seed=11)
    for j, spec in enumerate(world.factor_specs):
        index = spec.index_of(batch.factors[:, j])
        other = (index + rng.integers(1, spec.size, size=n)) % spec.size
        changed = batch.factors.copy()
        changed[:, j] = spec.values[other]
        same = np.all(world.render(changed).reshape(n, -1) == batch.images.reshape(n, -1), axis=1)
        expected = documented.get(spec.name, 0.0)
        slack = 4.0 * np.sqrt(expected * (1 - expected) / n)
        assert abs(same.mean() - expected) <= slack, (spec.name, same.mean(), expected)


def test_only_the_duplicated_pose_repeats_for_hearts(world):
    masks = world.masks.reshape(3, 6, 40, -1)
    np.testing.assert_array_equal(masks[:, :, 0], masks[:, :, 39])  # 0 and 2 pi
    hearts = masks[2]
    for j in range(6):
        distinct = {hearts[j, k].tobytes() for k in range(39)}
        assert len(distinct) == 39


def test_positions_scale_and_frame(world):
    grid = world.factor_specs[3].values
    # centroid follows posX (columns) and posY (rows)
    rows = np.array([[0.0, 1.0, 0.0, x, grid[15]] for x in grid])
    images = world.render(rows)[:, 0]
    columns = (images.sum(axis=1) * np.arange(64)).sum(axis=1) / images.sum(axis=(1, 2))
    assert np.all(np.diff(columns) > 0.5)
    images_y = world.render(rows[:, [0, 1, 2, 4, 3]])[:, 0]  # posX fixed, posY swept
    centroid_y = (images_y.sum(axis=2) * np.arange(64)).sum(axis=1) / images_y.sum(axis=(1, 2))
    assert np.all(np.diff(centroid_y) > 0.5)
    # larger scale -> more pixels, for every shape
    for shape in range(3):
        factors = np.array([[shape, s, 0.0, grid[16], grid[16]] for s in world.factor_specs[1].values])
        area = world.render(factors).sum(axis=(1, 2, 3))
        assert np.all(np.diff(area) > 0)
    # the largest sprites at the corners, in every pose, are whole and off the border
    orientations = world.factor_specs[2].values
    corners = [(x, y) for x in (0.0, 1.0) for y in (0.0, 1.0)]
    factors = np.array([[shape, 1.0, o, x, y] for shape in range(3) for o in orientations for x, y in corners])
    images = world.render(factors)[:, 0]
    centred = world.render(np.column_stack([factors[:, :3], np.full((len(factors), 2), grid[16])]))[:, 0]
    np.testing.assert_array_equal(images.sum(axis=(1, 2)), centred.sum(axis=(1, 2)))
    border = images[:, 0].sum() + images[:, -1].sum() + images[:, :, 0].sum() + images[:, :, -1].sum()
    assert border == 0


def test_shapes_look_right(world):
    square, ellipse, heart = world.masks[:, 5, 0]  # scale 1, orientation 0, on the canvas
    filled = square.sum(axis=1)
    assert np.ptp(filled[filled > 0]) == 0  # axis-aligned square: all filled rows equal
    height, width = np.ptp(np.nonzero(ellipse), axis=1)
    assert width > 1.7 * height  # twice as wide as tall at orientation 0
    np.testing.assert_array_equal(heart, heart[:, ::-1])  # mirror-symmetric left / right
    top, bottom = np.nonzero(heart.sum(axis=1))[0][[0, -1]]
    # lobes up, tip down: the top row is wide (two lobes), the bottom row narrow (the tip)
    assert heart[top].sum() >= 2 and heart[bottom].sum() < heart[top + 2].sum()
    assert np.count_nonzero(np.diff(heart[top]) > 0) == 2  # the top row is two lobes with a notch
    # turned by ~46 degrees (index 5) the square is a diamond: its widest row is the diagonal
    assert world.masks[0, 5, 5].sum(axis=1).max() > 1.3 * filled.max()


def test_variants_colour_and_background_are_kept_by_counterfactuals():
    color = Sprites(variant="color", size=32)
    batch = color.sample(50, seed=3)
    sprite = batch.images.max(axis=1) > 0
    for i in range(50):
        pixels = batch.images[i][:, sprite[i]]  # (3, n_on)
        assert np.all(pixels == pixels[:, :1]) and np.all((pixels >= 0.5) & (pixels <= 1.0))
        assert np.all(batch.images[i][:, ~sprite[i]] == 0)
    cf = color.counterfactual(batch, {"shape": 2.0})
    on = cf.images.max(axis=1) > 0
    for i in range(5):
        np.testing.assert_array_equal(cf.images[i][:, on[i]][:, 0], batch.images[i][:, sprite[i]][:, 0])

    noisy = Sprites(variant="noisy", size=32)
    batch = noisy.sample(20, seed=4)
    mask = Sprites(size=32).render(batch.factors)[:, 0] > 0
    assert np.all(batch.images.transpose(1, 0, 2, 3)[:, mask] == 1.0)
    background = batch.images.transpose(1, 0, 2, 3)[:, ~mask]
    assert background.max() < 1.0 and abs(background.mean() - 0.5) < 0.02
    cf = noisy.counterfactual(batch, {"posX": 0.0})
    keep = ~(mask | (Sprites(size=32).render(cf.factors)[:, 0] > 0))
    np.testing.assert_array_equal(cf.images.transpose(1, 0, 2, 3)[:, keep], batch.images.transpose(1, 0, 2, 3)[:, keep])


def test_hash_uniform_is_seeded_and_uniform():
    seeds = np.array([0, 1, 2**62 - 1, 1], dtype=np.int64)
    draws = hash_uniform(seeds, 1000)
    assert draws.dtype == np.float32 and draws.shape == (4, 1000)
    np.testing.assert_array_equal(draws[1], draws[3])
    assert not np.array_equal(draws[0], draws[1])
    assert draws.min() >= 0.0 and draws.max() < 1.0
    assert abs(draws.mean() - 0.5) < 0.02 and abs(np.corrcoef(draws[0], draws[1])[0, 1]) < 0.1


def test_custom_structure_scale_causes_position():
    world = Sprites(size=32, graph="scale -> posX",
                    mechanisms={"posX": AdditiveNoise(lambda p: 2.0 * (p[:, 0] - 0.5), Normal(0.0, 0.05))})
    assert world.graph.edges == (("scale", "posX"),)
    batch = world.sample(400, seed=5)
    assert np.all(np.isin(batch.factor("posX"), world.spec("posX").values))
    assert np.corrcoef(batch.factor("scale"), batch.factor("posX"))[0, 1] > 0.9
    cf = world.counterfactual(batch, {"scale": 1.0})
    np.testing.assert_array_equal(cf.factor("posX"), world.spec("posX").snap(1.0 + batch.noise["posX"]))
    np.testing.assert_array_equal(cf.factor("posY"), batch.factor("posY"))
    np.testing.assert_array_equal(cf.images, world.render(cf.factors))
    back = world.counterfactual(batch, {"posX": 0.0})
    np.testing.assert_array_equal(back.factor("scale"), batch.factor("scale"))
    check_world(world, n=16, seed=1)


def test_options_are_recorded():
    world = make("sprites", size=32, variant="noisy")
    assert world.options() == {"size": 32, "variant": "noisy", "graph": None, "mechanisms": None}
    assert world.render_random and not make("sprites", size=32).render_random


def test_bad_input_errors(world):
    with pytest.raises(ValueError, match="'size' parameter of Sprites must be an int >= 16. Got 8"):
        Sprites(size=8)
    with pytest.raises(TypeError, match="'size' parameter of Sprites"):
        Sprites(size=32.5)
    with pytest.raises(ValueError, match="'variant' parameter of Sprites must be one of 'binary', 'color', 'noisy'"):
        Sprites(variant="grey")
    with pytest.raises(TypeError):
        Sprites(64)  # options are keyword-only
    with pytest.raises(UnknownNodeError, match="Unknown world 'dsprites'. Valid names: .*sprites.*shapes3d"):
        make("dsprites")
    with pytest.raises(CycleError, match="scale"):
        Sprites(graph="scale -> posX -> scale")
    with pytest.raises(ValueError, match="Factor 'scale': value 2.0 is out of range|Factor 'scale': value 2.0 is not"):
        world.render([[0.0, 2.0, 0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="Factor 'posX': value 0.5 is not on its grid"):
        world.render([[0.0, 1.0, 0.0, 0.5, 0.0]])
    with pytest.raises(ValueError, match="Unknown intervention target 'colour'"):
        world.counterfactual(world.sample(2, seed=0), {"colour": 1.0})
