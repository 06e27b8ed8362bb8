"""Bring your own data: image folders and arrays imported into the verified store, trained on
end to end (CLI and Python), resumed, and refused with clear errors when they are broken."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.data import DataError, UserDataset, import_data, load_data

TINY = ["--batch-size", "8", "--set", "channels=[4,8]", "--set", "hidden_dim=16", "--set", "latent_dim=3",
        "--no-progress", "--threads", "1", "--checkpoint-every", "2"]


def _blobs(n: int, seed: int = 0, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """uint8 blobs (n, size, size) and their (row, col) centres in [0, 1]."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.25, 0.75, size=(n, 2))
    grid = (np.arange(size) + 0.5) / size
    distance = ((grid[None, :, None] - centres[:, 0, None, None]) ** 2
                + (grid[None, None, :] - centres[:, 1, None, None]) ** 2)
    return np.rint(255 * np.exp(-distance / 0.02)).astype(np.uint8), centres


def _folder(path, n: int = 16, seed: int = 0, labels: bool = True):
    path.mkdir(parents=True, exist_ok=True)
    images, centres = _blobs(n, seed)
    for i, image in enumerate(images):
        Image.fromarray(image, mode="L").save(path / f"img_{i:03d}.png")
    (path / "notes.txt").write_text("not an image")
    if labels:
        lines = ["file,row_pos,col_pos"] + [f"img_{i:03d}.png,{float(centres[i, 0])!r},{float(centres[i, 1])!r}"
                                            for i in reversed(range(n))]  # any order
        (path.parent / "labels.csv").write_text("\n".join(lines) + "\n")
    return images, centres


def _nothing_left(root) -> bool:
    return not root.exists() or not [p for p in root.iterdir()]


def test_folder_import_is_exact_labelled_cached_and_verified(tmp_path, monkeypatch):
    images, centres = _folder(tmp_path / "photos")
    root = tmp_path / "store"
    data = import_data(tmp_path / "photos", labels=tmp_path / "labels.csv", root=root)
    assert isinstance(data, UserDataset) and len(data) == 16 and data.image_shape == (1, 16, 16)
    assert np.array_equal(data.images[:, 0], images)  # PNG is lossless: the exact bytes
    assert data.factor_names == ("row_pos", "col_pos") and np.array_equal(data.factors, centres)
    assert data.ids[0] == "img_000.png" and data.float_images(slice(0, 2)).dtype == np.float32
    # imported once: a second import hashes the source and memory-maps the stored copy (no decoding)
    import latentscm.data.store as store

    monkeypatch.setattr(store, "read_image", lambda *a: (_ for _ in ()).throw(AssertionError("decoded again")))
    again = import_data(tmp_path / "photos", labels=tmp_path / "labels.csv", root=root)
    assert again.key == data.key and isinstance(again.images, np.memmap)
    monkeypatch.undo()
    # a tampered stored copy is detected on load and re-imported from the source
    stored = np.load(data.path / "images.npy", mmap_mode="r+")
    stored[0, 0, 0, 0] ^= 1
    stored.flush()
    del stored
    with pytest.raises(Exception, match="images.npy"):
        load_data(data.path)
    with pytest.warns(RuntimeWarning, match="images.npy is corrupt.*importing .* again from the source"):
        fixed = import_data(tmp_path / "photos", labels=tmp_path / "labels.csv", root=root)
    assert np.array_equal(fixed.images[:, 0], images)
    # a changed file is different data (a different key), never the stale copy
    Image.fromarray(images[1], mode="L").save(tmp_path / "photos" / "img_000.png")
    assert import_data(tmp_path / "photos", labels=tmp_path / "labels.csv", root=root).key != data.key


def test_channels_kept_or_converted(tmp_path):
    folder = tmp_path / "rgb"
    folder.mkdir()
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(3, 8, 8, 3), dtype=np.uint8)
    for i, image in enumerate(pixels):
        Image.fromarray(image, mode="RGB").save(folder / f"{i}.png")
    kept = import_data(folder, root=tmp_path / "s")
    assert kept.image_shape == (3, 8, 8) and np.array_equal(kept.images, pixels.transpose(0, 3, 1, 2))
    assert not kept.labelled
    grey = import_data(folder, channels=1, root=tmp_path / "s")
    assert grey.image_shape == (1, 8, 8) and grey.key != kept.key
    with pytest.raises(ValueError, match="'channels' parameter of import_data"):
        import_data(folder, channels=5, root=tmp_path / "s")


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    folder = tmp_path / "deep"
    folder.mkdir()
    ramp = np.linspace(0, 65535, 16 * 16).astype(np.uint16).reshape(16, 16)
    Image.fromarray(ramp).save(folder / "a.png")
    assert Image.open(folder / "a.png").mode.startswith("I")  # a 16-bit grey PNG
    expected = np.rint(ramp * (255.0 / 65535.0)).astype(np.uint8)
    data = import_data(folder, root=tmp_path / "s")
    assert data.image_shape == (1, 16, 16) and np.array_equal(data.images[0, 0], expected)
    rgb = import_data(folder, channels=3, root=tmp_path / "s")
    assert np.array_equal(rgb.images[0], np.stack([expected] * 3))


@pytest.mark.parametrize("problem", ["corrupt", "mixed_size", "mixed_channels"])
def test_broken_folders_name_the_file_and_leave_nothing(tmp_path, problem):
    _folder(tmp_path / "photos", n=6, labels=False)
    bad = tmp_path / "photos" / "img_003.png"
    if problem == "corrupt":
        bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
        message = r"Cannot read image '.*img_003\.png'"
    elif problem == "mixed_size":
        Image.fromarray(np.zeros((20, 16), np.uint8), mode="L").save(bad)
        message = r"Image '.*img_003\.png' is 16x20 with 1 channel, but 'img_000\.png' \(the first\) is 16x16"
    else:
        Image.fromarray(np.zeros((16, 16, 3), np.uint8), mode="RGB").save(bad)
        message = r"img_003\.png' is 16x16 with 3 channels.*channels=\.\.\. converts"
    root = tmp_path / "store"
    with pytest.raises(DataError, match=message):
        import_data(tmp_path / "photos", root=root)
    assert _nothing_left(root)  # no dataset, no temporary directory


@pytest.mark.parametrize("rows, message", [
    (lambda lines: lines[:-1], r"no row for file 'img_000\.png' \(1 of 6 images unlabelled\)"),
    (lambda lines: lines + ["img_999.png,0.1,0.2"], r"Line 8 of '.*labels\.csv' labels file 'img_999\.png', but "
                                                    r"there is no image file of that name"),
    (lambda lines: lines + [lines[1]], r"Line 8 of .* labels file 'img_005\.png' again \(first on line 2\)"),
    (lambda lines: [lines[0], "img_005.png,abc,0.2", *lines[2:]], r"Line 2 of .*column 'row_pos': 'abc' is not a "
                                                                  r"finite number"),
    (lambda lines: [lines[0], "img_005.png,0.1", *lines[2:]], r"Line 2 of .* has 2 fields; the header has 3"),
    (lambda lines: ["name,row_pos,col_pos", *lines[1:]], r"needs a 'file' column"),
])
def test_label_rows_that_do_not_match_name_the_row(tmp_path, rows, message):
    _folder(tmp_path / "photos", n=6)
    labels = tmp_path / "labels.csv"
    labels.write_text("\n".join(rows(labels.read_text().splitlines())) + "\n")
    root = tmp_path / "store"
    with pytest.raises(DataError, match=message):
        import_data(tmp_path / "photos", labels=labels, root=root)
    assert _nothing_left(root)


def test_arrays_npz_and_npy(tmp_path):
    images, centres = _blobs(10, seed=2)
    floats = (images / 255.0).astype(np.float32)[..., None]  # (N, H, W, 1): channels last
    np.savez(tmp_path / "data.npz", images=floats, other=np.zeros(3))
    (tmp_path / "rows.csv").write_text("row,a\n" + "".join(f"{i},{float(c)!r}\n" for i, c in
                                                            enumerate(centres[:, 0])))
    data = import_data(tmp_path / "data.npz", labels=tmp_path / "rows.csv", root=tmp_path / "s")
    assert data.image_shape == (1, 16, 16) and np.array_equal(data.images[:, 0], images)
    assert np.array_equal(data.factors[:, 0], centres[:, 0]) and data.ids[:2] == ["0", "1"]
    np.save(tmp_path / "plain.npy", images)  # (N, H, W) uint8
    assert np.array_equal(import_data(tmp_path / "plain.npy", root=tmp_path / "s").images[:, 0], images)
    np.savez(tmp_path / "two.npz", a=floats, b=floats)
    with pytest.raises(DataError, match=r"holds arrays \['a', 'b'\]; say which"):
        import_data(tmp_path / "two.npz", root=tmp_path / "s")
    floats[7, 3, 3, 0] = np.nan
    np.save(tmp_path / "nan.npy", floats)
    with pytest.raises(DataError, match=r"Row 7 of '.*nan\.npy' holds nan"):
        import_data(tmp_path / "nan.npy", root=tmp_path / "s2")
    np.save(tmp_path / "big.npy", images.astype(np.float32))  # 0-255 floats, not [0, 1]
    with pytest.raises(DataError, match=r"Row 0 of .* numbers in \[0, 1\]"):
        import_data(tmp_path / "big.npy", root=tmp_path / "s2")
    np.save(tmp_path / "square.npy", np.zeros((4, 3, 8, 3), np.uint8))
    with pytest.raises(DataError, match="pass layout='NCHW' or 'NHWC'"):
        import_data(tmp_path / "square.npy", root=tmp_path / "s2")
    assert _nothing_left(tmp_path / "s2")


class _FakeHub:
    """What import_data reads of a Hugging Face dataset: len, rows as dicts, a fingerprint."""

    def __init__(self, images, labels):
        self.rows = [{"image": Image.fromarray(image, mode="L"), "x": float(label)} for image, label in
                     zip(images, labels)]
        self._fingerprint = "fake-fingerprint-0"

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        return self.rows[index]


def test_dataset_rows_with_label_columns(tmp_path):
    images, centres = _blobs(6, seed=3)
    data = import_data(_FakeHub(images, centres[:, 1]), label_columns=["x"], root=tmp_path / "s")
    assert np.array_equal(data.images[:, 0], images) and np.array_equal(data.factors[:, 0], centres[:, 1])
    hub = _FakeHub(images, centres[:, 1])
    hub.rows[4]["image"] = Image.fromarray(np.zeros((8, 8), np.uint8), mode="L")
    hub._fingerprint = "other"
    with pytest.raises(DataError, match=r"Row 4 of the dataset is an image of shape \(1, 8, 8\)"):
        import_data(hub, root=tmp_path / "s2")
    assert _nothing_left(tmp_path / "s2")


def test_huggingface_datasets_when_installed(tmp_path):
    datasets = pytest.importorskip("datasets")
    images, centres = _blobs(6, seed=4)
    hub = datasets.Dataset.from_dict({"image": [Image.fromarray(i, mode="L") for i in images], "x": centres[:, 0]})
    data = import_data(hub, label_columns=["x"], root=tmp_path / "s")
    assert np.array_equal(data.images[:, 0], images) and np.allclose(data.factors[:, 0], centres[:, 0])


def test_train_resume_evaluate_from_a_folder_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTSCM_CACHE", str(tmp_path / "cache"))
    images, _ = _folder(tmp_path / "photos", n=32)
    run = tmp_path / "run"
    runner = CliRunner()
    args = ["train", "--data", str(tmp_path / "photos"), "--labels", str(tmp_path / "labels.csv"),
            "--learner", "beta_vae", "--steps", "4", "--out", str(run), *TINY]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    recorded = json.loads((run / "config.json").read_text())["data"]
    assert recorded["kind"] == "data" and recorded["format"] == "folder" and len(recorded["key"]) == 64
    assert recorded["path"] == str((tmp_path / "photos").resolve()) and recorded["factor_names"] == ["row_pos",
                                                                                                     "col_pos"]
    result = runner.invoke(app, ["resume", str(run), "--steps", "6", "--no-progress"])
    assert result.exit_code == 0, result.output
    import latentscm

    assert latentscm.load(run).n_steps_ == 6
    # a changed folder is detected, not silently used
    (tmp_path / "photos" / "img_005.png").unlink()
    result = runner.invoke(app, ["resume", str(run), "--steps", "8", "--no-progress"])
    assert result.exit_code == 2 and "changed since it was trained" in result.output, result.output
    # --world and --data are exclusive; data options need --data
    result = runner.invoke(app, [*args[:-len(TINY)], "--world", "sprites", *TINY])
    assert result.exit_code == 2 and "exactly one of --world NAME" in result.output
    result = runner.invoke(app, ["train", "--world", "sprites", "--labels", "x.csv", "--out", str(tmp_path / "w")])
    assert result.exit_code == 2 and "--labels go with --data" in result.output


def test_train_from_npz_and_a_causal_learner_on_labels(tmp_path):
    import torch

    from latentscm import learners
    from latentscm.testing.learner_checks import tiny_params

    torch.manual_seed(0)
    images, centres = _blobs(32, seed=5)
    np.savez(tmp_path / "data.npz", images=images[:, None])
    rows = "".join(f"{i},{float(r)!r},{float(c)!r}\n" for i, (r, c) in enumerate(centres))
    (tmp_path / "rows.csv").write_text("row,a,b\n" + rows)
    data = import_data(tmp_path / "data.npz", labels=tmp_path / "rows.csv", root=tmp_path / "s")
    vae = learners.make("beta_vae", **tiny_params(learners.get("beta_vae"), steps=3, batch_size=8))
    vae.fit(import_data(tmp_path / "data.npz", root=tmp_path / "s"), out=str(tmp_path / "vae"), progress=False)
    assert vae.n_steps_ == 3 and vae.encode(data.float_images(slice(0, 4))).shape[0] == 4
    causal = learners.make("causal_vae", **tiny_params(learners.get("causal_vae"), steps=3, batch_size=8,
                                                      graph="a -> b"))
    causal.fit(data, progress=False)
    assert causal.factor_names_ == ["a", "b"]
    with pytest.raises(ValueError, match="needs factor labels"):
        learners.make("causal_vae", **tiny_params(learners.get("causal_vae"), steps=2, batch_size=8,
                                                 graph="a -> b")).fit(
            import_data(tmp_path / "data.npz", root=tmp_path / "s"), progress=False)


def test_the_same_bytes_elsewhere_share_the_store_but_keep_their_own_source(tmp_path):
    _folder(tmp_path / "a" / "photos", n=4, labels=False)
    _folder(tmp_path / "b" / "photos", n=4, labels=False)
    first = import_data(tmp_path / "a" / "photos", root=tmp_path / "s")
    second = import_data(tmp_path / "b" / "photos", root=tmp_path / "s")
    assert first.key == second.key and first.path == second.path
    assert second.source["path"] == str((tmp_path / "b" / "photos").resolve())


def test_metrics_without_ground_truth(tmp_path, monkeypatch):
    """evaluate on imported images: reconstruction, activity, discovery; the suite only with labels;
    UDR agrees with itself and not with noise; `latentscm evaluate RUN` on a --data run."""
    from latentscm.metrics.udr import udr, udr_pair
    from latentscm.metrics.unlabelled import evaluate_data

    images, centres = _folder(tmp_path / "photos", n=32)
    labelled = import_data(tmp_path / "photos", labels=tmp_path / "labels.csv", root=tmp_path / "s")
    bare = import_data(tmp_path / "photos", root=tmp_path / "s")

    def centroid(x):
        weights = x[:, 0] / x[:, 0].sum(axis=(1, 2), keepdims=True)
        grid = (np.arange(16) + 0.5) / 16
        return np.stack([(weights.sum(2) * grid).sum(1), (weights.sum(1) * grid).sum(1)], axis=1)

    results = evaluate_data(centroid, labelled, suite=["mcc"], n=32)
    assert results["mcc"] > 0.95 and results["activity.n_active"] == 2 and "discovery.n_edges" in results
    assert any("reconstruction skipped" in note for note in results.notes)
    unlabelled = evaluate_data(lambda x: 0.01 * centroid(x), bare, suite=["mcc"], n=32)  # variance < 0.01: passive
    assert "mcc" not in unlabelled and unlabelled["activity.n_active"] == 0 and "discovery.n_edges" not in unlabelled
    assert any("no factor labels" in note for note in unlabelled.notes)
    assert any("discovery skipped" in note for note in unlabelled.notes)
    rng = np.random.default_rng(0)
    codes = centroid(labelled.float_images())
    same = udr_pair(codes, codes, threshold=0)
    assert same > 0.95 and udr_pair(codes, 5 * codes[:, ::-1] ** 3, threshold=0) == pytest.approx(same)  # invariant
    assert udr_pair(codes, rng.normal(size=(32, 2)), threshold=0) < 0.8
    assert udr([codes, codes[:, ::-1], rng.normal(size=(32, 2))], threshold=0)["udr.model2"] < 0.8

    monkeypatch.setenv("LATENTSCM_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--data", str(tmp_path / "photos"), "--learner", "beta_vae", "--steps",
                                 "2", "--out", str(run), *TINY])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["evaluate", str(run), "--n", "32"])
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "metrics.json").read_text())
    assert summary["metrics"]["reconstruction.mse"] > 0 and "activity.n_active" in summary["metrics"]
    assert any("no factor labels" in note for note in summary["notes"])


def test_arrays_read_with_more_than_four_channels_are_refused(tmp_path):
    # an NHWC array read as NCHW would make 16-"channel" images of 16x3 pixels
    np.save(tmp_path / "nhwc.npy", np.zeros((4, 16, 16, 3), np.uint8))
    with pytest.raises(DataError, match=r"would have 16 channels .* images have 1 to 4 channels"):
        import_data(tmp_path / "nhwc.npy", layout="NCHW", root=tmp_path / "s")
    assert import_data(tmp_path / "nhwc.npy", layout="NHWC", root=tmp_path / "s").image_shape == (3, 16, 16)
    hub = _FakeHub(np.zeros((3, 8, 8), np.uint8), [0.0] * 3)
    for row in hub.rows:
        row["image"] = np.zeros((3, 8, 8))  # (C, H, W) where (H, W, C) is expected
    with pytest.raises(DataError, match=r"Row 0 of the dataset is an array of shape \(3, 8, 8\)"):
        import_data(hub, root=tmp_path / "s2")
    assert _nothing_left(tmp_path / "s2")


def test_complex_arrays_are_refused(tmp_path):
    np.save(tmp_path / "c.npy", np.full((2, 4, 4), 0.5 + 0.9j, np.complex64))
    with pytest.raises(DataError, match="must be real numbers. Got dtype complex64"):
        import_data(tmp_path / "c.npy", root=tmp_path / "s")


def test_sixteen_bit_dataset_images_are_scaled_like_files(tmp_path):
    ramp = np.linspace(0, 65535, 8 * 8).astype(np.uint16).reshape(8, 8)
    hub = _FakeHub(np.zeros((2, 8, 8), np.uint8), [0.0, 1.0])
    for row in hub.rows:
        row["image"] = Image.fromarray(ramp)
    assert hub.rows[0]["image"].mode.startswith("I")
    data = import_data(hub, root=tmp_path / "s")
    assert np.array_equal(data.images[0, 0], np.rint(ramp * (255.0 / 65535.0)).astype(np.uint8))


def test_array_grey_conversion_equals_pillows(tmp_path):
    # the same RGB pixels converted to grey from a folder (by Pillow) and from an array agree exactly
    pixels = np.random.default_rng(0).integers(0, 256, size=(1, 64, 64, 3), dtype=np.uint8)
    folder = tmp_path / "rgb"
    folder.mkdir()
    Image.fromarray(pixels[0], mode="RGB").save(folder / "a.png")
    np.save(tmp_path / "rgb.npy", pixels)
    from_folder = import_data(folder, channels=1, root=tmp_path / "s").images
    from_array = import_data(tmp_path / "rgb.npy", channels=1, root=tmp_path / "s").images
    assert np.array_equal(from_array, from_folder)


def test_bad_option_types_and_store_root_are_named(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((3, 4, 4), np.uint8))
    (tmp_path / "labels.csv").write_text("row,x,y,xy\n0,1,2,3\n1,4,5,6\n2,7,8,9\n")
    with pytest.raises(TypeError, match=r"'label_columns' parameter of import_data .* Got 'xy'"):
        import_data(tmp_path / "a.npy", labels=tmp_path / "labels.csv", label_columns="xy", root=tmp_path / "s")
    assert import_data(tmp_path / "a.npy", labels=tmp_path / "labels.csv", label_columns=["xy"],
                       root=tmp_path / "s").factor_names == ("xy",)
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ValueError, match=r"store root '.*file' of import_data is not a directory"):
        import_data(tmp_path / "a.npy", root=tmp_path / "file")
