"""Statistics fitted after training (an autoencoder's code scales, a causal learner's aggregate prior) see rows
spread over the whole training set: a multi-domain set is stored domain by domain, and the first rows alone held
one domain."""

import numpy as np
import pytest

from latentscm.learners.ae import AE
from latentscm.training import data as training_data
from latentscm.training.data import spread_rows


class _Recording(AE):
    def _after_fit(self, images):
        self.summarised_ = images.detach().cpu().numpy().copy()
        super()._after_fit(images)


def test_spread_rows():
    np.testing.assert_array_equal(spread_rows(5, 8), np.arange(5))
    rows = spread_rows(10_000, 4096)
    assert rows.dtype == np.int64 and len(rows) == len(np.unique(rows)) == 4096
    assert rows[0] == 0 and rows[-1] == 9_999 and np.all(np.diff(rows) >= 2)
    assert abs(np.mean(rows < 5_000) - 0.5) < 1e-3


def test_after_fit_sees_every_part_of_the_training_set(monkeypatch):
    monkeypatch.setattr(training_data, "SUMMARY_ROWS", 16)
    images = np.zeros((64, 1, 8, 8), np.float32)
    images[32:] = 1.0  # the second "domain", stored after the first
    learner = _Recording(latent_dim=2, channels=(4,), hidden_dim=8, batch_size=8, steps=1, seed=0)
    learner.fit(images, progress=False)
    assert learner.summarised_.shape[0] == 16
    assert learner.summarised_.mean() == pytest.approx(0.5)  # the first 16 rows were all zeros
