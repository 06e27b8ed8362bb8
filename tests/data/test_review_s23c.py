"""Regressions of the third review of training and user data (s23): label row ids written with non-ASCII
digits, float (mode "F") images of a Hugging Face dataset, TensorBoard events after a resumed run's checkpoint,
non-finite labels in a Batch."""

import numpy as np
import pytest
from PIL import Image

import latentscm
from latentscm.data import DataError, import_data


class _Rows(list):
    """A sequence of dict rows with a fingerprint: what import_data reads of a datasets.Dataset."""

    def __init__(self, rows, fingerprint):
        super().__init__(rows)
        self._fingerprint = fingerprint


@pytest.mark.parametrize("row_id", ["²", "١", "１"])
def test_label_row_ids_in_other_digits_are_named_not_read(tmp_path, row_id):
    """int() read '١' and '１' as row 1 and failed on '²' with a message naming no file or line."""
    np.save(tmp_path / "a.npy", np.zeros((3, 1, 5, 5), np.float32))
    (tmp_path / "labels.csv").write_text(f"row,x\n0,1\n{row_id},2\n2,3\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"Line 3 of .*labels\.csv' labels row .* no such row \(the array has rows "
                                        r"0\.\.2\)"):
        import_data(tmp_path / "a.npy", labels=tmp_path / "labels.csv", root=tmp_path / "store")
    (tmp_path / "labels.csv").write_text("row,x\n0,1\n01,2\n2,3\n", encoding="utf-8")
    data = import_data(tmp_path / "a.npy", labels=tmp_path / "labels.csv", root=tmp_path / "store")
    assert data.factors.ravel().tolist() == [1.0, 2.0, 3.0]


def test_float_pil_images_of_a_dataset_are_quantised_like_float_arrays(tmp_path):
    """Pillow's convert('L') of a mode 'F' image truncated pixels in [0, 1] to 0 or 1 of 255."""
    pixels = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    rows = _Rows([{"image": Image.fromarray(pixels, mode="F")} for _ in range(2)], "float-images")
    expected = np.rint(pixels.astype(np.float64) * 255).astype(np.uint8)
    data = import_data(rows, root=tmp_path / "store")
    assert data.images.shape == (2, 1, 4, 4)
    np.testing.assert_array_equal(data.images[0, 0], expected)
    rgb = import_data(_Rows(list(rows), "float-images-rgb"), channels=3, root=tmp_path / "store")
    np.testing.assert_array_equal(rgb.images[1], np.repeat(expected[None], 3, axis=0))
    bright = _Rows([{"image": Image.fromarray(np.full((4, 4), 7.5, np.float32), mode="F")}], "float-images-7.5")
    with pytest.raises(DataError, match="7.5"):
        import_data(bright, root=tmp_path / "store")


class _Writer:
    """Stands in for torch's SummaryWriter (the 'tensorboard' package is optional)."""

    def __init__(self, log_dir, purge_step=None):
        self.log_dir, self.purge_step, self.closed, self.scalars = log_dir, purge_step, False, []

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def close(self):
        self.closed = True


def test_rewinding_a_run_log_purges_its_tensorboard_events_after_the_step(tmp_path):
    """A resumed run rewound train.jsonl to its checkpoint, but the interrupted process's TensorBoard events
    after it stayed: TensorBoard showed those steps twice."""
    from latentscm.training.logs import RunLog, read_log

    log = RunLog(tmp_path, tensorboard=False)
    for step in (2, 4, 6, 8):
        log.log({"kind": "train", "step": step, "loss": 1.0})
    log.close()
    log = RunLog(tmp_path, tensorboard=False)
    first = log._writer = _Writer(str(tmp_path / "tensorboard"))
    assert [r["step"] for r in log.rewind(6)] == [2, 4, 6]
    assert first.closed and log._writer is not first
    assert log._writer.purge_step == 7 and log._writer.log_dir == str(tmp_path / "tensorboard")
    log.log({"kind": "train", "step": 8, "loss": 0.5})
    log.close()
    assert log._writer is None and [r["step"] for r in read_log(tmp_path)] == [2, 4, 6, 8]


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_batch_with_non_finite_factors_is_refused(bad):
    """A NaN label was accepted: a causal learner's label mean became NaN and the whole factor went unsupervised."""
    from latentscm.training.data import as_training_set
    from latentscm.worlds.base import Batch

    batch = latentscm.worlds.make("pendulum").sample(4, seed=0)
    factors = np.array(batch.factors, dtype=float)
    kept = as_training_set(batch, n_samples=None, seed=0, owner="X.fit")
    assert kept.factors.dtype == np.float64 and np.array_equal(kept.factors, factors)
    factors[2, 1] = bad
    with pytest.raises(ValueError, match=r"'data.factors' argument of X.fit contains NaN or infinite values "
                                         r"\(first at index \(2, 1\)\)"):
        as_training_set(Batch(batch.images, factors, batch.noise, batch.factor_names), n_samples=None, seed=0,
                        owner="X.fit")


@pytest.mark.parametrize("shape", [(3, 1, 0, 5), (3, 0, 5), (3, 5, 0, 3)])
def test_array_images_without_pixels_are_refused(tmp_path, shape):
    """Images of 0 x 5 pixels were imported into the store; only the network refused them, at fit time."""
    np.save(tmp_path / "a.npy", np.zeros(shape, np.float32))
    with pytest.raises(DataError, match=r"have no pixels"):
        import_data(tmp_path / "a.npy", root=tmp_path / "store")
    assert not list((tmp_path / "store").glob("data-*"))


def test_validation_helpers_name_the_argument_for_grad_tensors_and_array_choices():
    """check_array passed torch's bare RuntimeError through for a tensor requiring grad; check_choice raised numpy's
    'truth value of an array is ambiguous' for an array value; neither named the argument."""
    import torch

    from latentscm._validation import check_array, check_choice

    with pytest.raises(TypeError, match=r"'codes' argument of mig cannot be read as an array: .*requires grad"):
        check_array(torch.ones(3, 2, requires_grad=True), "codes", "mig")
    assert check_array(torch.ones(3, 2), "codes", "mig").shape == (3, 2)
    with pytest.raises(ValueError, match=r"'mode' parameter of f must be one of 'a', 'b'\. Got array"):
        check_choice(np.array(["a", "b"]), "mode", "f", ["a", "b"])
    assert check_choice("b", "mode", "f", ["a", "b"]) == "b"
