"""DTS (Li et al., KDD 2022): the KL decomposition, the sequence layout, the autoregressive decoder and a tiny fit."""

import math

import numpy as np
import pytest
import torch

from latentscm import load
from latentscm.learners.dts import (
    DTS,
    _SequenceDecoder,
    images_to_sequences,
    kl_decomposition_mws,
    sequences_to_images,
)
from latentscm.learners.tcvae import total_correlation_mws
from latentscm.worlds.timeseries import make


def _posterior(seed, m=12, d=4):
    generator = torch.Generator().manual_seed(seed)
    mean = torch.randn(m, d, generator=generator, dtype=torch.float64)
    logvar = 0.3 * torch.randn(m, d, generator=generator, dtype=torch.float64)
    z = mean + (0.5 * logvar).exp() * torch.randn(m, d, generator=generator, dtype=torch.float64)
    return z, mean, logvar


def test_kl_terms_add_up_to_the_sampled_kl():
    z, mean, logvar = _posterior(0)
    terms = kl_decomposition_mws(z, mean, logvar, dataset_size=100)
    log_q = (-0.5 * (math.log(2 * math.pi) + logvar + (z - mean).square() / logvar.exp())).sum(1)
    log_p = (-0.5 * (math.log(2 * math.pi) + z.square())).sum(1)
    assert float(terms["mi"] + terms["tc"] + terms["dwkl"]) == pytest.approx(float((log_q - log_p).mean()), abs=1e-10)
    assert float(terms["tc"]) == float(total_correlation_mws(z, mean, logvar, 100))


def test_group_total_correlation_limits():
    z, mean, logvar = _posterior(1)
    one_group = kl_decomposition_mws(z, mean, logvar, 100, groups=(4,))
    assert float(one_group["group_tc"]) == pytest.approx(0.0, abs=1e-12)
    singletons = kl_decomposition_mws(z, mean, logvar, 100, groups=(1, 1, 1, 1))
    assert float(singletons["group_tc"]) == pytest.approx(float(singletons["tc"]), abs=1e-10)
    as_array = kl_decomposition_mws(z, mean, logvar, 100, groups=np.array([1, 1, 1, 1]))
    assert float(as_array["group_tc"]) == float(singletons["group_tc"])


def test_groups_given_as_a_numpy_array_are_accepted():
    assert DTS(latent_dim=4, groups=np.array([2, 2])).groups == (2, 2)
    with pytest.raises(ValueError, match="groups"):
        DTS(latent_dim=4, groups=np.array([2, 1]))


def test_sequence_layout_round_trips():
    values = np.random.default_rng(0).standard_normal((3, 7, 2))
    images, low, high = sequences_to_images(values)
    assert images.shape == (3, 2, 7, 1) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_allclose(images_to_sequences(images, low, high), values, atol=1e-5)
    with pytest.raises(ValueError, match="constant channels"):
        sequences_to_images(np.concatenate([values[..., :1], np.ones((3, 7, 1))], axis=2))
    broken = values.copy()
    broken[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sequences_to_images(broken)


def test_autoregressive_decoder_is_consistent_with_teacher_forcing():
    torch.manual_seed(0)
    decoder = _SequenceDecoder(3, (2, 5, 1), hidden=8, autoregressive=True).double()
    z = torch.randn(4, 3, dtype=torch.float64)
    with torch.no_grad():
        free = decoder(z)  # feeds back its own mean predictions
        forced = decoder(z, torch.sigmoid(free))  # teacher-forced on exactly those predictions
    torch.testing.assert_close(forced, free)
    plain = _SequenceDecoder(3, (2, 5, 1), hidden=8, autoregressive=False).double()
    with torch.no_grad():
        torch.testing.assert_close(plain(z), plain(z, torch.rand(4, 2, 5, 1, dtype=torch.float64)))


def test_bad_hyperparameters_are_named():
    with pytest.raises(ValueError, match="groups"):
        DTS(latent_dim=4, groups=(2, 1))
    with pytest.raises(ValueError, match="group_tc_weight"):
        DTS(group_tc_weight=1.0)
    with pytest.raises(ValueError, match="decoder"):
        DTS(decoder="transformer")
    with pytest.raises(ValueError, match="tc_weight"):
        DTS(tc_weight=-1.0)


@pytest.fixture(scope="module")
def sequences():
    return make("factor_sequences", burn_in=5).sample_sequences(24, 12, seed=0)


def test_tiny_fit_on_factor_sequences(sequences, tmp_path):
    params = dict(latent_dim=4, hidden_dim=8, steps=3, batch_size=8, groups=(2, 2), group_tc_weight=1.0)
    learner = DTS(**params).fit(sequences, progress=False)
    again = DTS(**params).fit_sequences(sequences.values, progress=False)
    codes = learner.encode(sequences)
    np.testing.assert_array_equal(codes, again.encode(sequences.values))  # same seed, same data: same weights
    assert codes.shape == (24, 4) and learner.image_shape_ == (5, 12, 1)
    assert {"mi", "tc", "dwkl", "group_tc"} <= set(learner.history_[-1])
    assert learner.decode_sequences(codes[:2]).shape == (2, 12, 5)
    learner.save(str(tmp_path / "run"))
    loaded = load(str(tmp_path / "run"))
    np.testing.assert_array_equal(loaded.encode(sequences), codes)
    np.testing.assert_array_equal(loaded.sequence_high_, learner.sequence_high_)
    with pytest.raises(ValueError, match="constant channels"):
        DTS(**params).fit_sequences(np.zeros((8, 12, 2)), progress=False)


def test_noise_scale_divides_the_squared_error(sequences):
    params = dict(latent_dim=2, hidden_dim=4, steps=1, batch_size=8)
    plain = DTS(**params).fit(sequences, progress=False)
    scaled = DTS(noise_scale=0.1, **params).fit(sequences, progress=False)
    logits = torch.zeros(3, 5, 12, 1)
    images = torch.rand(3, 5, 12, 1, generator=torch.Generator().manual_seed(0))
    squared_error = (0.5 - images).square().flatten(1).sum(1).mean()
    torch.testing.assert_close(plain._reconstruction(logits, images), squared_error)
    torch.testing.assert_close(scaled._reconstruction(logits, images), squared_error / 0.02)
    assert scaled.get_params()["noise_scale"] == 0.1
    with pytest.raises(ValueError, match="noise_scale"):
        DTS(noise_scale=0.0)
    with pytest.raises(ValueError, match="noise_scale"):
        DTS(noise_scale=0.1, likelihood="bernoulli")


def test_mws_mutual_information_lies_between_log_n_and_log_nm():
    # Minibatch-weighted sampling divides the minibatch sum by N M: equal posteriors (true I = 0) read
    # log N, posteriors that no two sequences share read log(N M). The reward saturates there.
    m, d, n = 16, 3, 1000
    generator = torch.Generator().manual_seed(0)
    mean = torch.zeros(m, d, dtype=torch.float64)
    logvar = torch.zeros(m, d, dtype=torch.float64)
    z = torch.randn(m, d, generator=generator, dtype=torch.float64)
    assert float(kl_decomposition_mws(z, mean, logvar, n)["mi"]) == pytest.approx(math.log(n), abs=1e-10)
    apart = torch.zeros(m, d, dtype=torch.float64)
    apart[:, 0] = 100.0 * torch.arange(m, dtype=torch.float64)  # one unit separates the sequences
    sharp = torch.full((m, d), -6.0, dtype=torch.float64)
    sharp[:, 1:] = 0.0
    z = apart + (0.5 * sharp).exp() * torch.randn(m, d, generator=generator, dtype=torch.float64)
    assert float(kl_decomposition_mws(z, apart, sharp, n)["mi"]) == pytest.approx(math.log(n * m), abs=1e-8)


def test_rejected_refit_keeps_the_sequence_bounds():
    """The bounds of a refit are adopted only once the training loop accepted the call."""
    rng = np.random.default_rng(0)
    model = DTS(latent_dim=2, hidden_dim=8, batch_size=8, steps=2).fit_sequences(rng.normal(size=(16, 6, 2)),
                                                                               progress=False)
    low, high = model.sequence_low_.copy(), model.sequence_high_.copy()
    with pytest.raises(ValueError, match="batch_size 8 is larger"):
        model.fit_sequences(100 + rng.normal(size=(4, 6, 2)), progress=False)
    np.testing.assert_array_equal(model.sequence_low_, low)
    np.testing.assert_array_equal(model.sequence_high_, high)
    assert "_pending_bounds" not in vars(model)


def test_a_sequence_model_encodes_torch_tensors_like_arrays(sequences):
    """Every learner takes torch tensors; a torch.Tensor has a 'values' attribute too (the sparse-tensor
    method), which must not be mistaken for a SequenceBatch's values."""
    learner = DTS(latent_dim=2, hidden_dim=8, steps=2, batch_size=8).fit(sequences, progress=False)
    codes = learner.encode(sequences.values)
    np.testing.assert_array_equal(learner.encode(torch.from_numpy(sequences.values)), codes)
    images = learner._images_tensor(sequences.values, "encode")
    np.testing.assert_array_equal(learner.encode(images), codes)  # (N, d, T, 1) tensors as images
