import json
import warnings

import numpy as np
import pytest
import torch

from latentscm.scm import LinearGaussian
from latentscm.worlds.store import CorruptDatasetError, generate, load


def test_generate_full_grid_roundtrip(Grid, tmp_path):
    world = Grid()
    stored = world.generate(root=tmp_path)
    assert len(stored) == 128
    np.testing.assert_array_equal(stored.factors, world.grid_factors())
    batch = stored.batch(np.arange(10))
    np.testing.assert_allclose(batch.images, world.render(world.grid_factors(0, 10)), atol=0.5 / 255)
    assert isinstance(stored.images, np.memmap)
    # content-addressed: the same request reuses the same directory, a different seed does not
    again = world.generate(root=tmp_path)
    assert again.path == stored.path
    assert world.generate(n=20, seed=1, root=tmp_path).path != stored.path
    assert not any(p.name.startswith(".tmp") for p in tmp_path.iterdir())


def test_generate_samples_keeps_noise_for_counterfactuals(Bars, tmp_path):
    world = Bars(graph="row -> col", mechanisms={"col": LinearGaussian({"row": 1.0}, std=0.5)})
    with pytest.raises(TypeError, match="cache_key"):
        world.generate(n=50, seed=3, root=tmp_path)
    stored = world.generate(n=50, seed=3, root=tmp_path, cache_key="bars-row-col")
    direct = world.sample(50, seed=3)
    np.testing.assert_array_equal(stored.factors, direct.factors)
    batch = stored.batch(slice(0, 50))
    cf_stored = world.counterfactual(batch, {"row": 1.0})
    cf_direct = world.counterfactual(direct, {"row": 1.0})
    np.testing.assert_array_equal(cf_stored.factors, cf_direct.factors)


def test_truncated_and_tampered_files_are_detected_and_regenerated(Grid, tmp_path):
    world = Grid()
    stored = world.generate(root=tmp_path)
    images_file = stored.path / "images.npy"
    data = images_file.read_bytes()
    images_file.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptDatasetError, match="images.npy.*truncated"):
        load(stored.path)
    with pytest.warns(RuntimeWarning, match="images.npy"):
        fresh = world.generate(root=tmp_path)
    np.testing.assert_array_equal(fresh.factors, world.grid_factors())

    factors_file = fresh.path / "factors.npy"
    raw = bytearray(factors_file.read_bytes())
    raw[-1] ^= 0xFF
    factors_file.write_bytes(bytes(raw))
    with pytest.raises(CorruptDatasetError, match="factors.npy.*SHA-256"):
        load(fresh.path)
    (fresh.path / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptDatasetError, match="manifest"):
        load(fresh.path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        restored = world.generate(root=tmp_path)
    assert json.loads((restored.path / "manifest.json").read_text())["count"] == 128


def test_split_and_torch_dataset(Grid, tmp_path):
    stored = Grid().generate(root=tmp_path)
    train, test = stored.split(0.25, seed=0)
    assert len(test) == 32 and len(train) == 96 and not set(train) & set(test)
    again_train, _ = stored.split(0.25, seed=0)
    np.testing.assert_array_equal(train, again_train)
    dataset = stored.torch_dataset(test)
    image, factors = dataset[0]
    assert image.dtype == torch.float32 and image.shape == (1, 8, 8)
    np.testing.assert_allclose(factors.numpy(), stored.factors[test[0]])
    loader = torch.utils.data.DataLoader(dataset, batch_size=8)
    assert next(iter(loader))[0].shape == (8, 1, 8, 8)
    with pytest.raises(ValueError, match="test_fraction"):
        stored.split(1.5)


def test_generate_bad_input(Bars, tmp_path):
    with pytest.raises(ValueError, match="continuous factors: pass n="):
        generate(Bars(), root=tmp_path)
    with pytest.raises(ValueError, match="'n' parameter of generate"):
        generate(Bars(), n=0, root=tmp_path)


def test_generated_content_does_not_depend_on_chunk(Bars, tmp_path):
    from latentscm.worlds.regimes import OBSERVATIONAL, RandomDo, Regime, RegimeMixture

    world = Bars()
    whole = generate(world, 40, seed=3, root=tmp_path / "a")
    chunked = generate(world, 40, seed=3, root=tmp_path / "b", chunk=7)  # 40 is not a multiple of 7
    assert whole.manifest["key"] == chunked.manifest["key"]
    direct = world.sample(40, seed=3)
    for stored in (whole, chunked):
        np.testing.assert_array_equal(stored.factors, direct.factors)
        np.testing.assert_array_equal(stored.noise["level"], direct.noise["level"])
        np.testing.assert_allclose(stored.batch(slice(None)).images, direct.images, atol=0.5 / 255)
    mix = RegimeMixture([OBSERVATIONAL, Regime("do(row)", {"row": RandomDo()})], [0.5, 0.5])
    one = generate(world, 30, seed=0, root=tmp_path / "c", regime=mix, chunk=1)
    sampled = world.sample(30, seed=0, regime=mix)
    np.testing.assert_array_equal(np.bincount(one.regime, minlength=2), [15, 15])
    np.testing.assert_array_equal(one.regime, sampled.regime)
    np.testing.assert_array_equal(one.factors, sampled.factors)


def test_cache_key_names_a_dataset_of_a_mechanism_regime(Bars, tmp_path):
    from latentscm.scm import AdditiveNoise, Root, Uniform
    from latentscm.worlds.regimes import Regime

    world = Bars(graph="row -> level",
                 mechanisms={"level": AdditiveNoise(lambda p: 0.2 + 0.05 * p[:, 0], Uniform(0.0, 0.1))})
    soft = Regime("soft(level)", mechanisms={"level": AdditiveNoise(lambda p: 0.9 - 0.05 * p[:, 0],
                                                                     Uniform(0.0, 0.1))})
    root_regime = Regime("soft", mechanisms={"level": Root(Uniform(0.2, 0.4))})
    with pytest.raises(ValueError, match="pass cache_key"):
        generate(Bars(), 10, seed=0, root=tmp_path, regime=root_regime)
    stored = generate(world, 10, seed=0, root=tmp_path, cache_key="soft-level", regime=soft)
    assert stored.manifest["regimes"]["regimes"][0]["mechanisms"] == ["level"]
    direct = world.sample(10, seed=0, regime=soft)
    np.testing.assert_array_equal(stored.factors, direct.factors)
    np.testing.assert_array_equal(stored.targets, direct.targets)
    cf = world.counterfactual(stored.batch(slice(None)), {"row": 2.0})  # level recomputed by the regime's mechanism
    np.testing.assert_allclose(cf.factor("level"), 0.8 + direct.noise["level"])
    reopened = load(stored.path)  # the mechanism object is not on disk: using it says so
    with pytest.raises(ValueError, match="Regime 'soft\\(level\\)'.*replaces the mechanism of 'level'"):
        world.counterfactual(reopened.batch(slice(None)), {"row": 2.0})


def test_stored_batch_keeps_the_order_asked_for(Grid, tmp_path):
    stored = Grid().generate(root=tmp_path)
    mask = np.zeros(len(stored), bool)
    mask[[3, 100]] = True
    np.testing.assert_array_equal(stored.batch(mask).factors, stored.factors[[3, 100]])
    for index in ([7, 2, 7], np.array([100, -1, 0])):
        batch = stored.batch(index)
        np.testing.assert_array_equal(batch.factors, stored.factors[index])
        np.testing.assert_array_equal(batch.images, np.asarray(stored.images[index], np.float32) / 255)
    np.testing.assert_array_equal(stored.batch(np.int64(5)).factors, stored.factors[5:6])
    assert len(stored.batch(-1)) == 1
    with pytest.raises(IndexError, match="index 128 is out of range for a dataset of 128"):
        stored.batch(128)
    with pytest.raises(IndexError, match="index 200 is out of range"):
        stored.batch([1, 200])
    with pytest.raises(IndexError, match="boolean mask 'index' must have shape \\(128,\\)"):
        stored.batch(np.ones(5, bool))
    with pytest.raises(TypeError, match="'index' must be a slice"):
        stored.batch(np.array([0.5, 1.0]))


def test_generate_root_that_is_a_file(Bars, tmp_path):
    root = tmp_path / "afile"
    root.write_text("")
    with pytest.raises(ValueError, match="dataset root .*afile' is not a directory"):
        generate(Bars(), 4, root=root)


def _damage_manifest(path, change):
    manifest = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(json.dumps(change(manifest)))


@pytest.mark.parametrize("damage, message", [
    (lambda m: {**m, "files": {k: v for k, v in m["files"].items() if k != "images.npy"}}, "images.npy.*missing from"),
    (lambda m: {k: v for k, v in m.items() if k != "factor_names"}, "lacks factor_names"),
    (lambda m: [m], "not an object"),
    (lambda m: {**m, "key": "0" * 64}, "records key"),
])
def test_a_damaged_manifest_is_never_trusted(Bars, tmp_path, damage, message):
    world = Bars()
    stored = generate(world, 12, seed=0, root=tmp_path)
    truth = np.array(stored.images)
    _damage_manifest(stored.path, damage)
    images = np.load(stored.path / "images.npy", mmap_mode="r+")
    images[:] = 255 - images  # what an unverified file would let through
    images.flush()
    del images
    with pytest.warns(RuntimeWarning, match=message):
        again = generate(world, 12, seed=0, root=tmp_path)
    np.testing.assert_array_equal(np.array(again.images), truth)


def test_stored_domain_regimes_keep_their_domain_labels(Bars, tmp_path):
    from latentscm.worlds.domains import DomainShift, domain_regimes

    shift = DomainShift(3, shifted=("level",), kind="shift")
    world = Bars().with_domains(shift)
    regimes = list(domain_regimes(world, shift))
    direct = world.sample(9, seed=0, regime=regimes)
    stored = generate(world, 9, seed=0, root=tmp_path, regime=regimes)
    np.testing.assert_array_equal(stored.batch(slice(None)).domain, direct.domain)
    assert set(direct.domain.tolist()) == {0, 1, 2}
    np.testing.assert_array_equal(load(stored.path).batch(np.arange(9)).domain, direct.domain)  # from the manifest


def test_torch_dataset_rejects_masks_and_float_indices(Grid, tmp_path):
    stored = Grid().generate(root=tmp_path)
    with pytest.raises(TypeError, match="'indices'.*flatnonzero"):
        stored.torch_dataset(np.arange(len(stored)) < 3)
    with pytest.raises(TypeError, match="'indices'"):
        stored.torch_dataset([0.9, 2.7])
    assert len(stored.torch_dataset([])) == 0 and len(stored.torch_dataset(np.array([1, 5]))) == 2
