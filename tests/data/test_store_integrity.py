"""On-disk integrity of the stores of imported images and generated worlds: a damaged manifest, a source
rewritten during its import, a damaged .npz and a disk that fills up are detected and named, never stored
or used silently."""

import json
import warnings

import numpy as np
import pytest
from PIL import Image

import latentscm.data.store as data_store
import latentscm.worlds.store as world_store
from latentscm.data import DataError, import_data, load_data
from latentscm.worlds import FactorSpec, World
from latentscm.worlds.store import CorruptDatasetError, generate


class _Stripes(World):
    """A vertical stripe at column ``col`` (4-grid) of an 8 x 8 grey image."""

    name = "stripes_s25"

    def __init__(self):
        self.factor_specs = (FactorSpec("col", values=np.arange(4.0)),)
        self.image_shape = (1, 8, 8)
        self._init_structure()

    def _render(self, factors, render_seeds):
        images = np.zeros((len(factors), 1, 8, 8), np.float32)
        images[np.arange(len(factors)), 0, :, factors[:, 0].astype(int)] = 1.0
        return images


def _folder(tmp_path, n=4):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(n):
        Image.fromarray(np.full((4, 4), 10 * i, np.uint8)).save(folder / f"img{i}.png")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,size\n" + "".join(f"img{i}.png,{i}\n" for i in range(n)))
    return folder, labels


def test_a_manifest_damaged_into_other_valid_json_is_detected(tmp_path):
    """The manifest of imported data had no digest of its own: a bit flip in an id or a factor name (still
    valid JSON) was used silently, mislabelling images."""
    folder, labels = _folder(tmp_path)
    data = import_data(folder, labels=labels, root=tmp_path / "store")
    manifest = data.path / "manifest.json"
    good = manifest.read_bytes()
    raw = bytearray(good)
    raw[raw.index(b'"img2.png"') + 4] ^= 0x01  # img2.png -> img3.png
    manifest.write_bytes(bytes(raw))
    with pytest.raises(CorruptDatasetError, match="manifest.json.*SHA-256"):
        load_data(data.path)
    with pytest.warns(RuntimeWarning, match="manifest.json"):
        again = import_data(folder, labels=labels, root=tmp_path / "store")
    assert again.ids == ["img0.png", "img1.png", "img2.png", "img3.png"]

    # a manifest written before it carried its digest: the ids must still match the images
    recorded = json.loads(good)
    recorded.pop("manifest_sha256", None)
    recorded["ids"] = recorded["ids"][:3]
    manifest.write_text(json.dumps(recorded))
    with pytest.raises(CorruptDatasetError, match="manifest.json.*ids has shape"):
        load_data(data.path)


def test_a_source_rewritten_during_its_import_is_refused_and_nothing_stored(tmp_path, monkeypatch):
    """The key was hashed from the bytes before the import, the images decoded afterwards: a file rewritten in
    between was stored under the key of its old bytes, and given back for those bytes later."""
    folder, _ = _folder(tmp_path, n=3)
    original = (folder / "img2.png").read_bytes()
    read_image = data_store.read_image

    def rewritten_meanwhile(path, channels):
        if path.name == "img2.png" and path.read_bytes() == original:
            Image.fromarray(np.full((4, 4), 200, np.uint8)).save(path)  # another process writes it now
        return read_image(path, channels)

    monkeypatch.setattr(data_store, "read_image", rewritten_meanwhile)
    with pytest.raises(DataError, match="changed while it was imported"):
        import_data(folder, root=tmp_path / "store")
    assert list((tmp_path / "store").iterdir()) == []
    monkeypatch.undo()
    (folder / "img2.png").write_bytes(original)
    assert int(import_data(folder, root=tmp_path / "store").images[2, 0, 0, 0]) == 20


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_a_damaged_npz_is_a_data_error_naming_it(tmp_path, save):
    source = tmp_path / "images.npz"
    save(source, images=np.random.default_rng(0).integers(0, 256, (20, 8, 8), dtype=np.uint8))
    good = source.read_bytes()
    damaged = bytearray(good)
    damaged[len(good) // 2] ^= 0x10  # inside the array's bytes: a bad CRC-32 or a broken deflate stream
    for data in (good[:len(good) // 2], bytes(damaged)):
        source.write_bytes(data)
        with pytest.raises(DataError, match="images.npz"):
            import_data(source, root=tmp_path / "store")
    assert not any((tmp_path / "store").iterdir())


def _disk_fills_after(limit, monkeypatch, full_disk):
    """``open`` of the store modules whose files take ``limit`` bytes, then fail as a full disk does."""
    def full_open(file, mode="r", *args, **kwargs):
        handle = open(file, mode, *args, **kwargs)
        return full_disk(handle, limit) if any(c in mode for c in "wxa") else handle

    monkeypatch.setattr(world_store, "open", full_open, raising=False)


def test_a_disk_that_fills_up_while_images_are_written_is_an_error_naming_the_dataset(tmp_path, monkeypatch,
                                                                                     full_disk):
    """images.npy was written through a memory map of a sparse file: a full disk killed the process with
    SIGBUS (no message) and left its temporary directory. Now the write fails as an OSError naming the
    dataset, and nothing is left behind."""
    folder, _ = _folder(tmp_path, n=6)
    _disk_fills_after(200, monkeypatch, full_disk)  # the header and a few rows
    with pytest.raises(OSError, match=r"No space left.*data-[0-9a-f]{16}.*nothing was stored"):
        import_data(folder, root=tmp_path / "store")
    array = tmp_path / "images.npy"
    np.save(array, np.zeros((50, 1, 6, 6), np.uint8))
    with pytest.raises(OSError, match="No space left"):
        import_data(array, root=tmp_path / "store")
    with pytest.raises(OSError, match=r"No space left.*stripes_s25-[0-9a-f]{16}.*nothing was stored"):
        generate(_Stripes(), 40, seed=0, root=tmp_path / "worlds")
    assert list((tmp_path / "store").iterdir()) == [] and list((tmp_path / "worlds").iterdir()) == []
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stored = generate(_Stripes(), 40, seed=0, root=tmp_path / "worlds")
    np.testing.assert_array_equal(stored.images, np.rint(_Stripes().render(stored.factors) * 255))
    assert len(import_data(array, root=tmp_path / "store")) == 50
