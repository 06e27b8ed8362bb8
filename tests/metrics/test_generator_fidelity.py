"""Fidelity metrics separate a copy of a process from its time-shuffled version."""

import numpy as np
import pytest

from latentscm.metrics.generator_fidelity import (
    autocorrelation_distance,
    discriminative_score,
    generator_fidelity,
    maximum_mean_discrepancy,
)


def ar1(n, T, seed, rho=0.9, d=2):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, T, d))
    noise = rng.standard_normal((n, T, d))
    for t in range(1, T):
        x[:, t] = rho * x[:, t - 1] + noise[:, t]
    return x


@pytest.fixture(scope="module")
def real():
    return ar1(4, 300, seed=0)


def test_same_process_is_close_and_shuffled_is_far(real):
    same = ar1(4, 300, seed=1)
    shuffled = real[:, np.random.default_rng(2).permutation(300)]
    # ACF of AR(0.9) at lags 1..10 averages 0.61; white noise has 0. Sampling error of the estimates
    # from 4 x 300 steps: measured 0.057 between two draws of the process
    assert autocorrelation_distance(real, same) < 0.15
    assert autocorrelation_distance(real, shuffled) > 0.4
    # MMD with a median-bandwidth Gaussian kernel hardly sees the lost autocorrelation (measured 0.026
    # for the shuffled copy, which keeps every marginal): it is the check on marginals, so it is
    # tested on a process with three times the spread
    same_mmd = maximum_mean_discrepancy(real, same, max_windows=200)
    assert abs(same_mmd) < 0.05
    assert maximum_mean_discrepancy(real, 3.0 * same, max_windows=200) > 0.2 > 4 * abs(same_mmd)
    assert discriminative_score(real, same, max_windows=300)["discriminator.auc"] < 0.7
    assert discriminative_score(real, shuffled, max_windows=300)["discriminator.auc"] > 0.9


def test_generator_fidelity_reports_the_shuffled_baseline(real):
    scores = generator_fidelity(real, ar1(2, 300, seed=3), max_windows=200)
    assert set(scores) == {f"{p}.{k}" for p in ("fidelity", "shuffled")
                           for k in ("discriminator_accuracy", "discriminator_auc", "discriminator_score", "mmd",
                                     "acf_distance")}
    for prefix in ("fidelity", "shuffled"):  # Yoon et al.'s score: below-chance accuracy is no better than chance
        assert scores[f"{prefix}.discriminator_score"] == abs(scores[f"{prefix}.discriminator_accuracy"] - 0.5)
    for key in ("discriminator_auc", "acf_distance"):
        assert scores[f"fidelity.{key}"] < scores[f"shuffled.{key}"], key
    assert abs(scores["fidelity.mmd"]) < 0.05
    assert generator_fidelity(real, real[0], max_windows=100, seed=4) == generator_fidelity(
        real, real[0], max_windows=100, seed=4)


def test_bad_input_is_named(real):
    with pytest.raises(ValueError, match="same variables"):
        autocorrelation_distance(real, real[..., :1])
    with pytest.raises(ValueError, match="'window' parameter of maximum_mean_discrepancy \\(400\\)"):
        maximum_mean_discrepancy(real, real, window=400)
    one_window = np.random.default_rng(0).standard_normal((12, 2))  # T == window: a single window, no NaN
    with pytest.raises(ValueError, match="the real series give 1 window of window=12 steps"):
        maximum_mean_discrepancy(one_window, real, window=12)
    with pytest.raises(ValueError, match="'generated' argument .* NaN"):
        discriminative_score(real, np.full((10, 2), np.nan))
    with pytest.raises(ValueError, match="constant variables \\[1\\]"):
        autocorrelation_distance(np.stack([np.arange(20.0), np.ones(20)], axis=1), real)
