"""The ``shapes3d`` world: the 3D Shapes grid, its scene, rendering cache and custom structure."""

import colorsys

import numpy as np
import pytest

from latentscm.graph import CycleError, UnknownNodeError
from latentscm.scm import Categorical
from latentscm.testing import check_world
from latentscm.worlds import make
from latentscm.worlds.shapes3d import LIGHT, Shapes3D, _hit_object, _view, hsv_to_rgb


@pytest.fixture(scope="module")
def world():
    return Shapes3D(size=32)


def factors(floor=0.0, wall=0.5, obj=0.2, scale=1.0, shape=0.0, orientation=0.0):
    """One row of factors with 3D Shapes' grid values (defaults: mid scale, front view)."""
    scale = np.linspace(0.75, 1.25, 8)[int(round((scale - 0.75) / (0.5 / 7)))]
    return [floor, wall, obj, scale, shape, orientation]


def hue_of(rgb):
    return colorsys.rgb_to_hsv(*[float(c) for c in rgb])[0]


def test_factor_grids_match_3dshapes():
    world = Shapes3D(size=16)
    assert world.factor_names == ["floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"]
    grids = {s.name: s.values for s in world.factor_specs}
    for hue in ("floor_hue", "wall_hue", "object_hue"):
        np.testing.assert_array_equal(grids[hue], np.linspace(0.0, 0.9, 10))
    np.testing.assert_array_equal(grids["scale"], np.linspace(0.75, 1.25, 8))
    np.testing.assert_array_equal(grids["shape"], [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(grids["orientation"], np.linspace(-30.0, 30.0, 15))
    assert world.spec("shape").labels == ("cube", "cylinder", "sphere", "capsule")
    assert world.n_combinations == 480_000
    assert Shapes3D().image_shape == (3, 64, 64)
    np.testing.assert_array_equal(world.grid_factors(0, 15)[:, 5], np.linspace(-30.0, 30.0, 15))  # fastest


@pytest.mark.parametrize("size", [32, 64])
def test_check_world(size):
    report = check_world(Shapes3D(size=size), n=16, seed=size)
    assert all(value == 0.0 for value in report["unchanged_fraction"].values())


def test_hues_are_the_region_colours(world):
    rows = np.array([factors(floor=f, wall=w, obj=o) for f, w, o in [(0.0, 0.5, 0.2), (0.3, 0.9, 0.6),
                                                                     (0.7, 0.1, 0.8)]])
    images = world.render(rows)
    for image, (floor, wall, obj) in zip(images, rows[:, :3]):
        assert hue_of(image[:, -1, 16]) == pytest.approx(floor, abs=1e-3)  # bottom centre: floor
        assert hue_of(image[:, 0, 2]) == pytest.approx(wall, abs=1e-3)  # top left: wall
        assert hue_of(image[:, 16, 16]) == pytest.approx(obj, abs=1e-3)  # centre: the object
    # changing only the floor hue changes only floor pixels
    a, b = world.render(np.array([factors(floor=0.0), factors(floor=0.4)]))
    changed = np.any(a != b, axis=0)
    assert changed[-1].all() and not changed[0].any() and not changed[14:18, 14:18].all()


def test_object_grows_with_scale_and_shapes_differ(world):
    hue_obj = 0.6
    def object_pixels(image):
        hsv = np.array([colorsys.rgb_to_hsv(*image[:, i, j]) for i in range(32) for j in range(32)])
        return int(np.sum(np.abs(hsv[:, 0] - hue_obj) < 0.01))

    for shape in range(4):
        sizes = [object_pixels(world.render([factors(obj=hue_obj, scale=s, shape=shape)])[0])
                 for s in np.linspace(0.75, 1.25, 8)[::3]]
        assert sizes[0] < sizes[1] < sizes[2], (shape, sizes)
    images = world.render(np.array([factors(shape=s) for s in range(4)]))
    for i in range(4):
        for j in range(i):
            assert np.abs(images[i] - images[j]).max() > 0.2


def test_orientation_turns_the_camera(world):
    left, front, right = world.render(np.array([factors(orientation=o) for o in (-30.0, 0.0, 30.0)]))
    # the floor / wall boundary tilts opposite ways at -30 and +30 degrees
    def boundary_rows(image):
        floor = np.abs(image - image[:, -1:, :]).sum(axis=0) < 1e-6  # pixels with the floor colour
        return [np.argmax(floor[:, column]) for column in (1, 30)]
    l_left, l_right = boundary_rows(left)
    r_left, r_right = boundary_rows(right)
    assert (l_left - l_right) * (r_left - r_right) < 0
    assert not np.array_equal(front, front[:, :, ::-1])  # light from the left: not mirror-symmetric


def test_bounding_sphere_keeps_every_object_ray():
    """The rays skipped by the bounding-sphere shortcut never hit any object."""
    for orientation in (-30.0, 30.0):
        view = _view(16, orientation)
        origins = np.broadcast_to(view.origin, view.directions.shape)
        light = np.broadcast_to(LIGHT, view.points.shape)
        skipped = np.setdiff1d(np.arange(view.directions.shape[0]), view.object_rays)
        shadow_skipped = np.setdiff1d(np.arange(view.points.shape[0]), view.shadow_rays)
        for shape in range(4):
            for scale in (0.75, 1.25):
                t, _ = _hit_object(origins[skipped], view.directions[skipped], shape, scale)
                assert not np.isfinite(t).any()
                t, _ = _hit_object(view.points[shadow_skipped], light[shadow_skipped], shape, scale)
                assert not np.isfinite(t).any()


def test_rendering_does_not_depend_on_the_batch(world):
    batch = world.sample(40, seed=3)
    one_by_one = np.concatenate([world.render(batch.factors[i]) for i in range(40)])
    np.testing.assert_array_equal(one_by_one, batch.images)
    assert batch.images.min() >= 0.0 and batch.images.max() <= 1.0


def test_measured_symmetries_match_documented(world):
    """Changing any one factor changes the image (``symmetries == {}``), over many random pairs."""
    assert world.symmetries == {}
    n = 200
    rng = np.random.default_rng(0)
    batch = world.sample(n, seed=9)
    for j, spec in enumerate(world.factor_specs):
        index = spec.index_of(batch.factors[:, j])
        changed = batch.factors.copy()
        changed[:, j] = spec.values[(index + rng.integers(1, spec.size, size=n)) % spec.size]
        same = np.all(world.render(changed).reshape(n, -1) == batch.images.reshape(n, -1), axis=1)
        assert not same.any(), spec.name


def test_hsv_palette():
    np.testing.assert_allclose(hsv_to_rgb(np.array([0.0, 1 / 3, 2 / 3]), 1.0, 1.0), np.eye(3), atol=1e-12)
    rgb = hsv_to_rgb(np.linspace(0, 0.9, 10))
    assert [round(hue_of(c), 6) for c in rgb] == [round(h, 6) for h in np.linspace(0, 0.9, 10)]


def test_custom_structure_hue_caused_by_shape(world):
    table = np.full((4, 10), 0.1 / 9)
    for shape in range(4):
        table[shape, 2 * shape] = 0.9  # each shape mostly has its own colour
    mechanism = Categorical(table, states=np.linspace(0, 0.9, 10))
    confounded = Shapes3D(size=32, graph="shape -> object_hue", mechanisms={"object_hue": mechanism})
    batch = confounded.sample(400, seed=2)
    agree = batch.factor("object_hue") == np.linspace(0, 0.9, 10)[2 * batch.factor("shape").astype(int)]
    assert 0.8 < agree.mean() < 0.97
    cf = confounded.counterfactual(batch, {"shape": 3.0})
    np.testing.assert_array_equal(cf.factors[:, [0, 1, 3, 5]], batch.factors[:, [0, 1, 3, 5]])
    np.testing.assert_array_equal(cf.images, confounded.render(cf.factors))
    # exact oracle: the sample's own noise pushed through the mechanism with the new parent
    expected = mechanism.evaluate(np.full((400, 1), 3.0), batch.noise["object_hue"])
    np.testing.assert_array_equal(cf.factor("object_hue"), expected)
    assert np.mean(cf.factor("object_hue") == np.linspace(0, 0.9, 10)[6]) > 0.8
    back = confounded.counterfactual(batch, {"object_hue": 0.0})
    np.testing.assert_array_equal(back.factor("shape"), batch.factor("shape"))
    check_world(confounded, n=16, seed=4)


def test_options_and_bad_input(world):
    assert make("shapes3d", size=32).options() == {"size": 32, "graph": None, "mechanisms": None}
    with pytest.raises(ValueError, match="'size' parameter of Shapes3D must be an int >= 16. Got 4"):
        Shapes3D(size=4)
    with pytest.raises(TypeError, match="'size' parameter of Shapes3D"):
        Shapes3D(size="64")
    with pytest.raises(TypeError):
        Shapes3D(variant="color")  # no variants
    with pytest.raises(UnknownNodeError, match="Unknown world 'shapes_3d'. Valid names: .*shapes3d"):
        make("shapes_3d")
    with pytest.raises(CycleError):
        Shapes3D(graph="shape -> object_hue -> shape")
    with pytest.raises(ValueError, match="Factor 'orientation': value 45.0 is not on its grid"):
        world.render([factors(orientation=45.0)])
    with pytest.raises(ValueError, match="Factor 'floor_hue': value 0.95 is not on its grid"):
        world.render([factors(floor=0.95)])
    with pytest.raises(ValueError, match="Unknown intervention target 'hue'"):
        world.counterfactual(world.sample(2, seed=0), {"hue": 0.1})
