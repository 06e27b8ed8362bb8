"""The plain autoencoder: contract, learning, sampling from the fitted code distribution."""

import numpy as np
import pytest

from latentscm.learners.ae import AE
from latentscm.learners.base import NotFittedError
from latentscm.testing import check_learner
from latentscm.testing.learner_checks import tiny_params


def test_ae_passes_check_learner():
    report = check_learner(AE)
    assert report["latent_dim"] == 3


def test_ae_loss_decreases(loss_drop):
    first, last = loss_drop(AE(**tiny_params(AE, channels=(8, 16), hidden_dim=32, batch_size=16, lr=2e-3)))
    assert last < 0.8 * first


def test_ae_has_no_posterior(tiny_world):
    learner = AE(**tiny_params(AE)).fit(tiny_world, n_samples=32, progress=False)
    with pytest.raises(TypeError, match="deterministic"):
        learner.encode_distribution(tiny_world.sample(4, seed=0))
    # sampled codes of a deterministic encoder are its codes
    batch = tiny_world.sample(4, seed=0)
    np.testing.assert_array_equal(learner.encode(batch, sample=True, seed=0), learner.encode(batch))
    # the prior of sample() is fitted to the training codes
    assert learner.code_std_.shape == (3,) and float(learner.code_std_.min()) >= 0


def test_unfitted_learner_errors_name_fit():
    with pytest.raises(NotFittedError, match="fit"):
        AE().decode(np.zeros((1, 10), np.float32))
