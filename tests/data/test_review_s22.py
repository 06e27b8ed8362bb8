"""Regressions of the third review of the user-data store and of runs trained on it: resuming runs on
imported arrays, on a store given by ``root=``, after a library upgrade; import options that did nothing."""

import numpy as np
import pytest
import torch
from PIL import Image

import latentscm
from latentscm import learners
from latentscm.data import DataError, import_data
from latentscm.run import read_config
from latentscm.testing.learner_checks import tiny_params


def _train(data, run, steps=2):
    torch.manual_seed(0)
    learner = learners.make("beta_vae", **tiny_params(learners.get("beta_vae"), steps=steps, batch_size=8))
    return learner.fit(data, out=run, progress=False)


def _photos(path, n=16):
    path.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8), mode="L").save(path / f"{i:02d}.png")


@pytest.mark.parametrize("name, options", [("a.npy", {}), ("b.npz", {"key": "images"})])
def test_a_run_on_an_imported_array_resumes(tmp_path, monkeypatch, name, options):
    """Regression: the run config's content 'key' overwrote the .npz array name (import_data(key=...)), so
    resume passed the content key as the array name and refused every array run as 'changed since trained'."""
    monkeypatch.setenv("LATENTSCM_CACHE", str(tmp_path / "cache"))
    images = np.random.default_rng(0).random((16, 1, 16, 16)).astype(np.float32)
    np.save(tmp_path / "a.npy", images)
    np.savez(tmp_path / "b.npz", images=images, other=np.zeros(3))
    run = tmp_path / "run"
    _train(import_data(tmp_path / name, root=tmp_path / "store", **options), run)
    recorded = read_config(run)["data"]
    assert len(recorded["key"]) == 64 and recorded.get("array_key") == options.get("key")
    assert latentscm.training.resume(run, steps=4, progress=False).n_steps_ == 4


def test_a_run_on_data_imported_into_another_store_resumes_from_that_store(tmp_path, monkeypatch):
    """Regression: resume re-imported into the default store, so the recorded stored copy differed and the
    resume was refused as 'on different data' (and a second copy was written to the default cache)."""
    monkeypatch.setenv("LATENTSCM_CACHE", str(tmp_path / "default"))
    _photos(tmp_path / "photos")
    run = tmp_path / "run"
    _train(import_data(tmp_path / "photos", root=tmp_path / "mine"), run)
    assert latentscm.training.resume(run, steps=4, progress=False).n_steps_ == 4
    assert not list((tmp_path / "default").glob("**/data-*"))


def test_a_library_upgrade_does_not_make_unchanged_data_look_changed(tmp_path, monkeypatch):
    """Regression: the content key hashes the library version, so after an upgrade every run on an image folder
    was refused with 'changed since it was trained'. Unchanged bytes and options now resume on the run's own
    verified stored copy; a changed folder is still refused."""
    import latentscm.data.store as store

    _photos(tmp_path / "photos")
    run = tmp_path / "run"
    _train(import_data(tmp_path / "photos", root=tmp_path / "store"), run)
    monkeypatch.setattr(store, "__version__", "99.0")
    assert latentscm.training.resume(run, steps=4, progress=False).n_steps_ == 4
    assert len(list((tmp_path / "store").glob("data-*"))) == 1  # the run's own copy, not a re-import
    (tmp_path / "photos" / "03.png").unlink()
    with pytest.raises(DataError, match="changed since it was trained"):
        latentscm.training.resume(run, steps=6, progress=False)


@pytest.mark.parametrize("source, options, match", [
    ("photos", {"label_columns": ["x"]}, r"label_columns=\['x'\] would be ignored for folder data"),
    ("a.npy", {"label_columns": ["x"]}, r"label_columns=\['x'\] would be ignored for array data"),
    ("photos", {"layout": "NHWC"}, "layout='NHWC' would be ignored for folder data"),
    ("photos", {"key": "images"}, "key='images' would be ignored for folder data"),
    ("a.npy", {"image_column": "pixels"}, "image_column='pixels' would be ignored for array data"),
    ("photos", {"labels": "labels.csv", "label_columns": ["x", "x"]}, r"names a column twice: \['x', 'x'\]"),
])
def test_import_options_that_would_do_nothing_are_refused(tmp_path, source, options, match):
    """Regression: these options were accepted and silently dropped (a repeated column gave two factors 'x')."""
    _photos(tmp_path / "photos", n=4)
    np.save(tmp_path / "a.npy", np.zeros((4, 8, 8), np.uint8))
    (tmp_path / "labels.csv").write_text("file,x,y\n" + "".join(f"{i:02d}.png,{i},{2 * i}\n" for i in range(4)))
    if "labels" in options:
        options = {**options, "labels": tmp_path / options["labels"]}
    with pytest.raises(ValueError, match=match):
        import_data(tmp_path / source, root=tmp_path / "store", **options)
    assert not list((tmp_path / "store").glob("data-*"))
    labelled = import_data(tmp_path / "photos", labels=tmp_path / "labels.csv", label_columns=["y"],
                           root=tmp_path / "store")
    assert labelled.factor_names == ("y",)


def test_import_temporaries_name_the_machine(tmp_path, renames):
    """The user-data store named its temporaries by pid alone, so another machine's live import into a
    shared cache could be taken for this machine's dead one and deleted."""
    import os

    from latentscm._io import host_tag
    from latentscm.data import store

    renamed = renames(store)
    _photos(tmp_path / "photos")
    (tmp_path / "cache").mkdir()
    other = tmp_path / "cache" / ".tmp-data-0123456789abcdef-elsewhere-4000017"
    other.mkdir()
    import_data(tmp_path / "photos", root=tmp_path / "cache")
    assert any(name.endswith(f"-{host_tag()}-{os.getpid()}") for name in renamed), renamed
    assert other.exists()


def test_integer_labels_are_classes_by_the_same_rule_as_elsewhere(tmp_path, monkeypatch):
    """evaluate_data called integer labels classes only up to 32 levels, where discrete_mask (and a world's
    grid) allows 100: an imported 40-level index (dSprites' orientation) was scored as continuous."""
    from latentscm.metrics import unlabelled

    n = 200
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 1, 8, 8), dtype=np.uint8)
    np.save(tmp_path / "x.npy", images)
    index = np.arange(n) % 40  # 40 integer levels, each seen 5 times
    rows = ["row,orientation,size"] + [f"{i},{index[i]},{rng.uniform():.6f}" for i in range(n)]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    data = import_data(tmp_path / "x.npy", labels=tmp_path / "labels.csv", root=tmp_path / "store")
    seen = []
    real = unlabelled.compute_metrics

    def spy(codes, factors, **options):
        seen.append(options["discrete"])
        return real(codes, factors, **options)

    monkeypatch.setattr(unlabelled, "compute_metrics", spy)
    unlabelled.evaluate_data(lambda x: x.reshape(len(x), -1)[:, :4], data, suite=["mig"], n=n, discovery=False)
    assert seen == [[True, False]]
