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
