"""Regressions of the fourth review of training I/O and the user-data store: runs on .npz arrays recorded
before array names were, temporaries of writes still in flight, concurrent imports in one process, options
and labels that were read silently in another way than meant, text hidden in object arrays."""

import json
import os
import shutil
import threading

import numpy as np
import pytest
import torch
from PIL import Image

import latentscm
from latentscm import learners
from latentscm._validation import check_array
from latentscm.data import DataError, import_data
from latentscm.testing.learner_checks import tiny_params


def _train(data, run, steps=2):
    torch.manual_seed(0)
    learner = learners.make("beta_vae", **tiny_params(learners.get("beta_vae"), steps=steps, batch_size=8))
    return learner.fit(data, out=run, progress=False)


def _as_before_array_names(run) -> dict:
    """The run's config as written before 1e50f0f: the content 'key' had overwritten the .npz array name."""
    config = json.loads((run / "config.json").read_text())
    config["data"].pop("array_key")
    (run / "config.json").write_text(json.dumps(config, indent=2))
    return config


@pytest.mark.parametrize("arrays", [("pics",), ("pics", "other")])
def test_a_run_on_a_named_npz_array_recorded_without_its_name_resumes(tmp_path, monkeypatch, arrays):
    """Regression: runs trained before array names were recorded ('array_key') lost the name given as
    import_data(key=...), so resume re-imported with the default key, got another content key and refused the
    run as 'changed since it was trained'. The name now comes from the stored copy's manifest, or (copy gone)
    from the archive's array whose content key is the recorded one; the config then records it."""
    monkeypatch.setenv("LATENTSCM_CACHE", str(tmp_path / "cache"))
    images = np.random.default_rng(0).random((16, 1, 16, 16)).astype(np.float32)
    np.savez(tmp_path / "a.npz", **{name: images if name == "pics" else np.zeros(3) for name in arrays})
    run = tmp_path / "run"
    _train(import_data(tmp_path / "a.npz", key="pics", root=tmp_path / "store"), run)
    config = _as_before_array_names(run)
    assert latentscm.training.resume(run, steps=4, progress=False).n_steps_ == 4
    assert json.loads((run / "config.json").read_text())["data"]["array_key"] == "pics"
    shutil.rmtree(config["data"]["dataset"])  # no stored copy: the archive itself says which array it was
    _as_before_array_names(run)
    assert latentscm.training.resume(run, steps=6, progress=False).n_steps_ == 6
    np.savez(tmp_path / "a.npz", pics=images[::-1].copy(), other=np.zeros(3))  # other data is still refused
    _as_before_array_names(run)
    shutil.rmtree(json.loads((run / "config.json").read_text())["data"]["dataset"])
    with pytest.raises(DataError, match="changed since it was trained"):
        latentscm.training.resume(run, steps=8, progress=False)


def test_remove_temporaries_leaves_a_write_in_flight_alone(tmp_path, monkeypatch):
    """Regression: remove_temporaries took every temporary of this process for an orphan, so a write still in
    flight (another thread writing metrics.json while a resume cleans the run directory) lost its file and
    failed in os.replace. Here the cleaning runs while the write's data is being flushed."""
    import latentscm._io as io
    from latentscm.training.checkpoint import remove_temporaries

    real_fsync, removed = os.fsync, []

    def fsync_and_clean(fd):
        removed.extend(remove_temporaries(tmp_path))
        real_fsync(fd)

    monkeypatch.setattr(io.os, "fsync", fsync_and_clean)
    io.atomic_write_json(tmp_path / "metrics.json", {"mig": 0.5})
    monkeypatch.undo()
    assert removed == [] and json.loads((tmp_path / "metrics.json").read_text()) == {"mig": 0.5}
    stale = tmp_path / f".metrics.json.tmp-{io.host_tag()}-{os.getpid()}-0badf00d"  # an interrupted write's
    stale.write_text("{")
    assert remove_temporaries(tmp_path) == [stale] and not stale.exists()


def test_threads_importing_the_same_data_do_not_remove_each_others_work(tmp_path, monkeypatch):
    """Regression: the import temporary is named by host and pid, so two threads of one process importing the
    same folder shared it and the second deleted the first's half-written copy (FileNotFoundError)."""
    import latentscm.data.store as store

    (tmp_path / "photos").mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8), mode="L").save(tmp_path / "photos" / f"{i}.png")
    real_read, both_inside = store.read_image, threading.Barrier(2)

    def read_image(path, channels):  # both imports in the middle of reading the images at once, if they can be
        if path.name == "1.png":
            try:
                both_inside.wait(timeout=1)
            except threading.BrokenBarrierError:
                pass
        return real_read(path, channels)

    monkeypatch.setattr(store, "read_image", read_image)
    results, errors = [], []

    def work():
        try:
            results.append(import_data(tmp_path / "photos", root=tmp_path / "cache"))
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 2 and results[0].key == results[1].key
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [f"data-{results[0].key[:16]}"]


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_a_layout_for_a_3d_array_is_refused(tmp_path, layout):
    """Regression: a 3-D array is read as (N, H, W) whatever layout says, so one (H, W, 3) RGB image given
    with layout='NHWC' was imported as H grey images of W x 3 pixels without a word."""
    np.save(tmp_path / "a.npy", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DataError, match=f"layout='{layout}'.*cannot apply"):
        import_data(tmp_path / "a.npy", layout=layout, root=tmp_path / "store")
    # nor is it read as 8 grey images 3 pixels wide without a layout (it was): it is one RGB image
    with pytest.raises(DataError, match=r"shape \(8, 8, 3\).*more likely one \(H, W, C\) image.*array\[None\]"):
        import_data(tmp_path / "a.npy", root=tmp_path / "store")
    np.save(tmp_path / "one.npy", np.zeros((1, 8, 8, 3), np.uint8))
    assert import_data(tmp_path / "one.npy", root=tmp_path / "store").image_shape == (3, 8, 8)
    np.save(tmp_path / "grey.npy", np.zeros((8, 8, 3, 1), np.uint8))
    assert import_data(tmp_path / "grey.npy", root=tmp_path / "store").image_shape == (1, 8, 3)


@pytest.mark.parametrize("value, got", [
    (np.array(["1.5", "2"], dtype=object), "text"),
    (np.array([[1.0, "2.5"]], dtype=object), "text"),
    (np.array([1.0, 2j], dtype=object), "complex numbers"),
    (np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"), "dates"),
])
def test_check_array_refuses_text_inside_object_arrays(value, got):
    """Regression: text was refused only as a text dtype; inside an object array (a pandas column of strings)
    '1.5' was still read as a number, and dates became days since 1970."""
    with pytest.raises(TypeError, match=f"'factors' argument of f must be real numbers. Got {got}"):
        check_array(value, "factors", "f")
    assert check_array(np.array([1, 2.5], dtype=object), "factors", "f").tolist() == [1.0, 2.5]


def test_check_array_refuses_a_dataframe_of_text():
    pandas = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match="Got text"):
        check_array(pandas.DataFrame({"size": ["1.5", "2"], "x": [1.0, 2.0]}), "factors", "f")


def test_a_folder_with_a_file_name_that_is_not_utf8_imports(tmp_path):
    """Regression: hashing the file names raised a bare UnicodeEncodeError (naming no file) on a name that is
    not UTF-8, such as Latin-1 'caf\\xe9.png'; names are hashed by their bytes, UTF-8 names as before."""
    folder = os.fsencode(tmp_path / "photos")
    os.mkdir(folder)
    try:
        for i, name in enumerate([b"caf\xe9.png", b"b.png"]):
            Image.fromarray(np.full((4, 4), 50 * i, np.uint8), "L").save(os.path.join(folder, name))
    except (OSError, UnicodeError):
        pytest.skip("this file system takes UTF-8 names only")
    data = import_data(tmp_path / "photos", root=tmp_path / "store")
    assert data.images[:, 0, 0, 0].tolist() == [50, 0] and data.ids[0] == "b.png"
    assert import_data(tmp_path / "photos", root=tmp_path / "store").key == data.key


def test_labels_with_digit_separators_are_refused(tmp_path):
    """Regression: Python's float() reads PEP 515 separators, so a label '1_2' (two indices) became the number
    12 without a word, in a CSV and in a dataset's label column alike."""
    np.save(tmp_path / "x.npy", np.zeros((3, 4, 4), np.uint8))
    (tmp_path / "labels.csv").write_text("row,cell\n0,1_2\n1,2\n2,3\n")
    with pytest.raises(DataError, match="Line 2 of .*column 'cell': '1_2' is not a finite number"):
        import_data(tmp_path / "x.npy", labels=tmp_path / "labels.csv", root=tmp_path / "store")

    class Rows(list):
        _fingerprint = "rows-1"

    rows = Rows([{"image": np.zeros((4, 4), np.uint8), "cell": value} for value in ("3", "1_2")])
    with pytest.raises(DataError, match="Row 1 of the dataset, column 'cell': '1_2'"):
        import_data(rows, label_columns=["cell"], root=tmp_path / "store")
    for digits in ("\u0661\u0662", "\uff17"):  # Arabic-Indic 12 and full-width 7 were read as numbers
        (tmp_path / "script.csv").write_text(f"row,cell\n0,{digits}\n1,2\n2,3\n", encoding="utf-8")
        with pytest.raises(DataError, match=f"Line 2 of .*column 'cell': '{digits}' is not a finite number"):
            import_data(tmp_path / "x.npy", labels=tmp_path / "script.csv", root=tmp_path / "store")
    (tmp_path / "ok.csv").write_text("row,cell\n0, 1.5\n1,-2e3\n2,+7\n")
    data = import_data(tmp_path / "x.npy", labels=tmp_path / "ok.csv", root=tmp_path / "store")
    assert data.factors[:, 0].tolist() == [1.5, -2000.0, 7.0]


def test_eval_every_without_an_eval_hook_is_refused(tmp_path):
    """Regression: fit(eval_every=N) without eval_hook ran no evaluation, silently, and recorded eval_every in
    the run config as if it had."""
    images = np.random.default_rng(0).random((16, 1, 16, 16)).astype(np.float32)
    learner = learners.make("beta_vae", **tiny_params(learners.get("beta_vae"), steps=2, batch_size=8))
    with pytest.raises(ValueError, match="'eval_every' argument of BetaVAE.fit .* no eval_hook"):
        learner.fit(images, out=tmp_path / "run", eval_every=1, progress=False)
    assert not (tmp_path / "run").exists()
    learner.fit(images, eval_every=1, eval_hook=lambda fitted, step: {"step": step}, progress=False)
    assert [r["step"] for r in learner.history_ if r["kind"] == "eval"] == [1, 2]
