"""DTS after sequence training: sequences of the wrong shape are refused naming 'x' and the expected (N, T, d),
one sequence (T, d) is a batch of one, and a SequenceBatch given to an image-trained DTS is named."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.learners.dts import DTS
from latentscm.worlds.timeseries import make


@pytest.fixture(scope="module")
def sequences():
    return make("factor_sequences", burn_in=5).sample_sequences(16, 12, seed=0)  # (16, 12, 5)


@pytest.fixture(scope="module")
def fitted(sequences):
    return DTS(latent_dim=3, hidden_dim=8, steps=2, batch_size=8).fit(sequences, progress=False)


@pytest.mark.parametrize("shape", [(4, 10, 5), (4, 12, 2), (4, 12, 7)])
def test_sequences_of_another_shape_are_refused_in_sequence_terms(fitted, shape, sequences):
    values = np.resize(sequences.values, shape)
    expected = r"'x' argument of DTS\.encode must be sequences of shape \(N, 12, 5\)"
    with pytest.raises(ValueError, match=expected) as info:
        fitted.encode(values)
    assert str(shape) in str(info.value) and "sequences_to_images" not in str(info.value)


def test_one_sequence_is_a_batch_of_one(fitted, sequences):
    one = fitted.encode(sequences.values[3])
    assert one.shape == (1, 3)
    np.testing.assert_array_equal(one, fitted.encode(sequences.values[3:4]))


def test_a_sequence_batch_given_to_an_image_trained_dts_is_named(fitted, sequences):
    images = fitted._images_tensor(sequences, "encode").numpy().clip(0.0, 1.0)
    on_images = DTS(latent_dim=3, hidden_dim=8, steps=2, batch_size=8).fit(images, progress=False)
    with pytest.raises(TypeError, match="SequenceBatch.*trained on images"):
        on_images.encode(sequences)
    np.testing.assert_array_equal(on_images.encode(images[:2]).shape, (2, 3))


def test_fit_on_a_time_series_world_says_to_sample_sequences():
    from latentscm.learners.dts import DTS
    from latentscm.worlds.timeseries.factor_sequences import FactorSequences

    with pytest.raises(TypeError, match=r"time-series world FactorSequences; sample sequences first"):
        DTS(latent_dim=4, steps=1).fit(FactorSequences())
