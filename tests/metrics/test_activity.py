from functools import partial

import numpy as np
import pytest

from latentscm.metrics import active_units, mcc, mean_vs_sampled, sample_codes, unit_kl
from latentscm.metrics import dci as dci_metric


@pytest.fixture(scope="module")
def posterior(factors, perfect):
    """A VAE-like posterior: 4 active units (means = factors, small variance) and 2 passive
    units whose posterior is the prior except for a tiny shared wobble in the means."""
    rng = np.random.default_rng(0)
    n = len(factors)
    wobble = 1e-3 * rng.standard_normal((n, 1))
    means = np.concatenate([perfect, wobble, -wobble], axis=1)
    log_variances = np.concatenate([np.full((n, 4), np.log(0.01)), np.zeros((n, 2))], axis=1)
    return means, log_variances


def test_unit_kl_hand_computed():
    means = np.array([[1.0, 0.0], [-1.0, 0.0]])
    log_variances = np.array([[0.0, np.log(4.0)], [0.0, np.log(4.0)]])
    # KL(N(±1, 1) || N(0, 1)) = 1/2; KL(N(0, 4) || N(0, 1)) = (4 - 1 - log 4) / 2.
    np.testing.assert_allclose(unit_kl(means, log_variances), [0.5, (3 - np.log(4)) / 2])


def test_active_units_both_criteria(posterior):
    means, log_variances = posterior
    expected = [True] * 4 + [False] * 2
    np.testing.assert_array_equal(active_units(means, log_variances), expected)
    np.testing.assert_array_equal(active_units(means, criterion="variance"), expected)
    with pytest.raises(ValueError, match="log_variances"):
        active_units(means)
    with pytest.raises(ValueError, match="'criterion'"):
        active_units(means, log_variances, criterion="range")


def test_sample_codes_is_seeded_and_has_posterior_spread(posterior):
    means, log_variances = posterior
    first = sample_codes(means, log_variances, seed=1)
    np.testing.assert_array_equal(first, sample_codes(means, log_variances, seed=1))
    assert np.std(first[:, 4] - means[:, 4]) == pytest.approx(1.0, abs=0.05)
    assert np.std(first[:, 0] - means[:, 0]) == pytest.approx(0.1, abs=0.01)
    with pytest.raises(TypeError, match="seed"):
        sample_codes(means, log_variances, seed=None)


def test_passive_units_correlate_in_means_not_in_samples(factors, posterior):
    means, log_variances = posterior
    # Bonheme & Grzes: the two passive units' means are (here perfectly) correlated with each
    # other, their samples are not.
    sampled = sample_codes(means, log_variances, seed=0)
    assert abs(np.corrcoef(means[:, 4], means[:, 5])[0, 1]) > 0.99
    assert abs(np.corrcoef(sampled[:, 4], sampled[:, 5])[0, 1]) < 0.1
    result = mean_vs_sampled(mcc, means, log_variances, factors)
    assert result["activity.n_active"] == 4.0 and result["activity.n_passive"] == 2.0
    assert set(result) == {"activity.n_active", "activity.n_passive"} | {
        f"activity.{rep}.{units}.value" for rep in ("mean", "sampled") for units in ("all", "active")}
    assert result["activity.mean.active.value"] == pytest.approx(1.0)
    assert result["activity.sampled.active.value"] > 0.99


def test_mean_vs_sampled_with_dict_metric(factors, posterior):
    means, log_variances = posterior
    metric = partial(dci_metric, test_fraction=0.25)
    result = mean_vs_sampled(metric, means, log_variances, factors, seed=2)
    assert result["activity.mean.active.dci.disentanglement"] > 0.9
    # Prior noise in the passive units lowers nothing in D (they get ~no importance)...
    assert result["activity.sampled.all.dci.disentanglement"] > 0.8


def test_mean_vs_sampled_rejects_all_passive(factors):
    zeros = np.zeros((len(factors), 3))
    with pytest.raises(ValueError, match="no active unit"):
        mean_vs_sampled(mcc, zeros, zeros, factors)
    with pytest.raises(ValueError, match="'log_variances'.*shape"):
        mean_vs_sampled(mcc, zeros, zeros[:, :2], factors)
    with pytest.raises(TypeError, match="'metric'"):
        mean_vs_sampled("mcc", zeros, zeros, factors)
