"""Morpho-MNIST-like glyphs: the thickness -> intensity SCM, rendering, counterfactuals, options."""

import numpy as np
import pytest
from scipy import stats

from latentscm.graph import CycleError, UnknownNodeError
from latentscm.scm import AdditiveNoise, Normal
from latentscm.testing import check_world
from latentscm.worlds import make
from latentscm.worlds.glyphs import Glyphs, intensity_from
from latentscm.worlds.store import dataset_key


def factors_for(digit, thickness=2.5, intensity=255.0, slant=0.0):
    return np.array([[digit, thickness, intensity, slant]], dtype=np.float64)


def test_specs():
    world = Glyphs()
    digit, thickness, intensity, slant = world.factor_specs
    np.testing.assert_array_equal(digit.values, np.arange(10.0))
    assert digit.labels == tuple("0123456789")
    assert (thickness.low, thickness.high) == (0.5, 6.0)
    assert (intensity.low, intensity.high) == (64.0, 255.0)
    assert (slant.low, slant.high) == (-0.3, 0.3)
    assert world.graph.edges == (("thickness", "intensity"),)
    assert world.image_shape == (1, 28, 28) and Glyphs(size=32).image_shape == (1, 32, 32)
    # the thickness range holds > 99.99 % of 0.5 + Gamma(10, rate 5)
    assert stats.gamma.cdf(6.0 - 0.5, 10, scale=1 / 5) > 0.9999


def test_prior_matches_morpho_mnist():
    world = Glyphs()
    noise = world.scm.sample_noise(20000, seed=0)  # the SCM alone: no images needed
    values = world.scm.evaluate(noise)
    t, i = values["thickness"], values["intensity"]
    assert abs(t.mean() - 2.5) < 0.02 and abs(t.std() - np.sqrt(10) / 5) < 0.02  # 0.5 + Gamma(10, 5)
    kept = t < 6.0  # 0.004 % of the prior lies above the range and is clipped
    assert kept.mean() > 0.9995
    np.testing.assert_allclose(noise["thickness"][kept], t[kept] - 0.5)
    np.testing.assert_allclose(i, intensity_from(t, noise["intensity"]))
    assert abs(noise["intensity"].std() - 0.5) < 0.02  # 0.5 * eps
    assert np.corrcoef(t, i)[0, 1] > 0.7
    assert set(np.unique(values["digit"])) == set(range(10))
    batch = world.sample(200, seed=0)
    np.testing.assert_allclose(batch.factor("intensity"), intensity_from(batch.factor("thickness"),
                                                                         batch.noise["intensity"]))


@pytest.mark.parametrize("options", [
    {},
    {"size": 32, "noise_std": 0.0},
    {"graph": "digit -> slant\nthickness -> intensity",
     "mechanisms": {"slant": AdditiveNoise(lambda p: 0.05 * (p[:, 0] - 4.5), Normal(0, 0.05))}},
], ids=["default", "size32-deterministic", "custom-graph"])
def test_check_world(options):
    report = check_world(Glyphs(**options), n=12)
    assert all(fraction == 0.0 for fraction in report["unchanged_fraction"].values())


def test_counterfactual_thickness_keeps_intensity_noise():
    world = Glyphs()
    batch = world.sample(50, seed=1)
    parents = batch.factor("thickness")[:, None]
    noise = world.scm.mechanisms["intensity"].base.abduct(batch.factor("intensity"), parents)  # OnGrid.base: reported
    np.testing.assert_allclose(noise, batch.noise["intensity"], atol=1e-8)
    cf = world.counterfactual(batch, {"thickness": 4.0})
    np.testing.assert_allclose(cf.factor("intensity"), intensity_from(np.full(50, 4.0), noise), rtol=1e-10)
    for name in ("digit", "slant"):
        np.testing.assert_array_equal(cf.factor(name), batch.factor(name))
    np.testing.assert_array_equal(cf.images, world.render(cf.factors))
    cf = world.counterfactual(batch, {"intensity": 100.0})  # the effect leaves its cause alone
    np.testing.assert_array_equal(cf.factor("thickness"), batch.factor("thickness"))


def test_thickness_grows_the_stroke_and_intensity_sets_the_level():
    world = Glyphs()
    for digit in range(10):
        images = world.render(np.concatenate([factors_for(digit, t, 200.0) for t in (1.0, 2.0, 3.0, 4.5)]))
        counts = (images.reshape(4, -1) > 0.1 * 200 / 255).sum(axis=1)
        assert np.all(np.diff(counts) > 0), (digit, counts)
        np.testing.assert_allclose(images.reshape(4, -1).max(axis=1), 200 / 255, rtol=1e-6)
    for level in (64.0, 150.0, 255.0):
        image = world.render(factors_for(3, 3.0, level))[0, 0]
        foreground = image[image >= image.max() / 2]
        assert abs(np.median(foreground) - level / 255) < 1e-6


def test_slant_leans_the_top_to_the_right():
    world = Glyphs()
    images = world.render(np.concatenate([factors_for(1, slant=s) for s in (-0.3, 0.0, 0.3)]))[:, 0]
    columns = np.arange(28)

    def lean(image):
        top, bottom = image[:14], image[14:]
        return (top.sum(0) @ columns) / top.sum() - (bottom.sum(0) @ columns) / bottom.sum()

    leans = [lean(image) for image in images]
    assert leans[0] < -2 and leans[2] > 2 and leans[0] < leans[1] < leans[2]


def test_digits_are_distinct_and_inside_the_frame():
    world = Glyphs()
    images = world.render(np.concatenate([factors_for(d, 6.0, 255.0, s) for d in range(10) for s in (-0.3, 0.3)]))
    assert images[:, 0, 0, :].max() == 0 and images[:, 0, -1, :].max() == 0  # thickest, most slanted: no clipping
    assert images[:, 0, :, 0].max() == 0 and images[:, 0, :, -1].max() == 0
    flat = world.render(np.concatenate([factors_for(d) for d in range(10)])).reshape(10, -1)
    distances = np.abs(flat[:, None, :] - flat[None, :, :]).sum(axis=2)
    assert distances[~np.eye(10, dtype=bool)].min() > 20


def test_symmetries_measured():
    """Smallest changes (one digit, 0.01 % of a range) and random changes all change the image."""
    world = Glyphs()
    assert world.symmetries == {}
    batch = world.sample(100, seed=5)
    rng = np.random.default_rng(0)
    for j, spec in enumerate(world.factor_specs):
        if spec.discrete:
            index = spec.index_of(batch.factors[:, j])
            new = spec.values[index + np.where(index == 0, 1, -1)]
        else:
            delta = 1e-4 * (spec.high - spec.low)
            new = np.where(batch.factors[:, j] + delta <= spec.high, batch.factors[:, j] + delta,
                           batch.factors[:, j] - delta)
        for values in (new, rng.permutation(new)):
            changed = batch.factors.copy()
            changed[:, j] = values
            moved = changed[:, j] != batch.factors[:, j]
            images = world.render(changed)
            same = np.all(images.reshape(100, -1) == batch.images.reshape(100, -1), axis=1)
            assert not np.any(same & moved), spec.name


def test_rendering_does_not_depend_on_the_batch():
    world = Glyphs()
    batch = world.sample(40, seed=6)
    alone = np.concatenate([world.render(batch.factors[k:k + 1]) for k in range(0, 40, 7)])
    np.testing.assert_array_equal(alone, batch.images[::7])


def test_options_and_registry():
    world = make("glyphs", size=32, noise_std=0.25)
    assert world.options()["size"] == 32 and world.options()["noise_std"] == 0.25
    np.testing.assert_array_equal(Glyphs(**world.options()).sample(3, seed=1).images, world.sample(3, seed=1).images)
    custom = Glyphs(graph=world.graph)  # a CausalGraph option is kept as text, so stored datasets can hash it
    assert isinstance(custom.options()["graph"], str)
    assert dataset_key(custom, 10, 0)[0] != dataset_key(Glyphs(), 10, 0)[0]


def test_bad_input_errors():
    with pytest.raises(ValueError, match="'size' parameter of Glyphs must be an int >= 16"):
        Glyphs(size=8)
    with pytest.raises(TypeError, match="'size' parameter of Glyphs"):
        Glyphs(size="28")
    with pytest.raises(ValueError, match="'noise_std' parameter of Glyphs"):
        Glyphs(noise_std=-1.0)
    with pytest.raises(UnknownNodeError, match="Unknown world 'glyph'"):
        make("glyph")
    world = Glyphs()
    batch = world.sample(2, seed=0)
    with pytest.raises(ValueError, match="Unknown intervention target 'width'"):
        world.counterfactual(batch, {"width": 1.0})
    with pytest.raises(ValueError, match="Factor 'digit': intervention value 3.5 is not on its grid"):
        world.counterfactual(batch, {"digit": 3.5})
    with pytest.raises(ValueError, match="Factor 'digit': intervention value 10.0 is out of range|not on its grid"):
        world.counterfactual(batch, {"digit": 10.0})
    with pytest.raises(ValueError, match=r"Factor 'intensity': intervention value 300.0 is out of range \[64, 255\]"):
        world.counterfactual(batch, {"intensity": 300.0})
    with pytest.raises(CycleError):
        Glyphs(graph="thickness -> intensity -> thickness")
    with pytest.raises(ValueError, match="node 'thickness' has parents"):
        Glyphs(graph="digit -> thickness -> intensity")
