"""Reading your own data against an independent reading of the same bytes (PNG rules, numpy): 16-bit
colour-key transparency, file names in another Unicode normalisation, bounded memory for large arrays."""

from __future__ import annotations

import tracemalloc
import unicodedata

import numpy as np
import pytest
from PIL import Image

from latentscm.data import import_data
from latentscm.data.readers import DataError, array_images, hf_images, open_array, read_image


@pytest.mark.parametrize("channels", [None, 1, 2, 3, 4])
def test_a_sixteen_bit_grey_colour_key_becomes_alpha_as_for_eight_bit(tmp_path, channels):
    rng = np.random.default_rng(0)
    values = (rng.integers(0, 4, (6, 8)) * 21845).astype(np.uint16)  # 0, 21845, 43690, 65535
    key = int(values[0, 0])
    Image.fromarray(values).save(tmp_path / "g16.png", transparency=key)
    with Image.open(tmp_path / "g16.png") as image:  # the file really is 16-bit grey with a tRNS key
        assert image.mode == "I;16" and image.info["transparency"] == key
    grey = np.rint(values.astype(np.float64) * 255 / 65535).astype(np.uint8)  # the documented scaling
    alpha = np.where(values == key, 0, 255).astype(np.uint8)  # PNG: the key's pixels are transparent
    expected = {None: [grey], 1: [grey], 2: [grey, alpha], 3: [grey] * 3, 4: [grey] * 3 + [alpha]}[channels]
    got = read_image(tmp_path / "g16.png", channels)
    np.testing.assert_array_equal(got, np.stack(expected))
    # the 8-bit grey image with the same key reads with the same alpha
    Image.fromarray(grey).save(tmp_path / "g8.png", transparency=int(grey[0, 0]))
    eight = read_image(tmp_path / "g8.png", channels)
    np.testing.assert_array_equal(got[-1] == 0, eight[-1] == 0)


def test_labels_name_files_whose_names_are_stored_in_another_unicode_normalisation(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "photos"
    folder.mkdir()
    pixels = {}
    for name in ("caf\u00e9.png", "plain.png"):
        pixels[name] = rng.integers(0, 256, (4, 4), dtype=np.uint8)
        Image.fromarray(pixels[name]).save(folder / unicodedata.normalize("NFD", name))  # as macOS stores it
    (tmp_path / "labels.csv").write_text("file,x\ncaf\u00e9.png,1\nplain.png,2\n", encoding="utf-8")  # typed: NFC
    data = import_data(folder, labels=tmp_path / "labels.csv", root=tmp_path / "store")
    by_name = {unicodedata.normalize("NFC", name): i for i, name in enumerate(data.ids)}
    for name, value in (("caf\u00e9.png", 1.0), ("plain.png", 2.0)):
        assert data.factors[by_name[name], 0] == value
        np.testing.assert_array_equal(data.images[by_name[name], 0], pixels[name])


def test_two_files_differing_only_in_normalisation_are_matched_as_spelled(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    # s with a dot below and a dot above: composed (NFC), decomposed (NFD) and a third, unnormalised spelling
    composed, decomposed, third = "\u1e69.png", "s\u0323\u0307.png", "\u1e61\u0323.png"
    assert unicodedata.normalize("NFC", third) == composed and unicodedata.normalize("NFD", third) == decomposed
    for value, name in enumerate((composed, decomposed)):
        Image.fromarray(np.full((2, 2), value * 100, np.uint8)).save(folder / name)
    (tmp_path / "labels.csv").write_text(f"file,x\n{decomposed},7\n{composed},3\n", encoding="utf-8")
    data = import_data(folder, labels=tmp_path / "labels.csv", root=tmp_path / "store")
    for i, name in enumerate(data.ids):
        assert data.factors[i, 0] == (3.0 if name == composed else 7.0)
        assert data.images[i, 0, 0, 0] == (0 if name == composed else 100)
    # the third spelling cannot tell which of the two it names: refused, naming its line
    (tmp_path / "other.csv").write_text(f"file,x\n{composed},1\n{third},2\n", encoding="utf-8")
    with pytest.raises(DataError, match="Line 3 .* no image file of that name"):
        import_data(folder, labels=tmp_path / "other.csv", root=tmp_path / "store")


def test_a_large_float_array_is_read_in_bounded_memory(tmp_path):
    rng = np.random.default_rng(2)
    floats = rng.random((128, 3, 128, 128), dtype=np.float32)  # 24 MiB
    floats[100, 2, 5, 7] = np.nan
    np.save(tmp_path / "a.npy", floats)
    array = open_array(tmp_path / "a.npy", None)  # memory-mapped
    tracemalloc.start()
    try:
        shape, chunks = array_images(array[:96])
        parts = [part for part in chunks]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert shape == (3, 128, 128)
    np.testing.assert_array_equal(np.concatenate(parts),
                                  np.rint(floats[:96].astype(np.float64) * 255).astype(np.uint8))
    # the images themselves are 4.5 MiB as uint8; checking them 1024 rows at a time took ~25 bytes per
    # value of the whole array (~150 MiB here, ~19 GiB for 1024 rows of 3x512x512 images)
    assert peak < 80 * 2 ** 20, f"peak {peak / 2 ** 20:.0f} MiB"
    with pytest.raises(DataError, match="Row 100 of"):  # a bad row in a later chunk is still named by its row
        for _ in array_images(array)[1]:
            pass


def test_a_bad_value_in_a_dataset_row_names_that_row_once():
    rng = np.random.default_rng(3)
    rows = [{"image": rng.random((6, 5, 3))}, {"image": rng.random((6, 5, 3)) + 2.0}]  # row 1: 0..255-like values
    with pytest.raises(DataError, match=r"^Row 1 of the dataset holds 2\.\d+; images must be uint8") as error:
        list(hf_images(rows, image_column="image", channels=None, label_columns=None)[1])
    assert "Row 0" not in str(error.value)  # the one image of row 1 is not "row 0 of row 1"
    rows[1]["image"] = rows[1]["image"].astype(np.complex128)
    with pytest.raises(DataError, match=r"The images in row 1 of the dataset must be real numbers"):
        list(hf_images(rows, image_column="image", channels=None, label_columns=None)[1])


@pytest.mark.parametrize("shape", [(0, 3, 4, 4), (0, 1, 2, 2), (0, 3, 8, 9), (0, 5, 5)])
def test_an_empty_array_is_named_empty_whatever_its_other_axes(tmp_path, shape):
    np.save(tmp_path / "empty.npy", np.zeros(shape, np.uint8))
    with pytest.raises(DataError, match=r"empty\.npy' holds no images \(shape"):
        import_data(tmp_path / "empty.npy", root=tmp_path / "store")
