"""Review of IVAE (session 33): the prior's mean and the posterior's parametrisation must survive set_params, save,
load and resume as the hyperparameters say; the domain argument, the identifiability warning and the command line."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from learners_support import IVAE_TINY, nonstationary_world
from typer.testing import CliRunner

import latentscm
from latentscm.learners.ivae import IVAE

TINY = {**IVAE_TINY, "steps": 20}


@pytest.fixture(scope="module")
def world():
    return nonstationary_world()


@pytest.fixture(scope="module")
def batch(world):
    return world.sample_domains(40, seed=0)


@pytest.fixture(scope="module")
def fitted(batch):
    return IVAE(**TINY).fit(batch, progress=False)


def _quiet_fit(learner, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return learner.fit(data, progress=False, **kwargs)


# ---------------------------------------------------------------------------------------------- defects (failing)
def test_set_params_prior_mean_zero_after_a_learned_fit_is_not_saved_with_nonzero_means(batch, tmp_path):
    """A fit with learned prior means, then set_params(prior_mean="zero"): check_saveable rebuilds the learner with
    prior_mean="zero", the prior's shapes are the same, so the save goes through; the loaded learner says
    prior_mean="zero" but keeps the trained (non-zero) means, frozen, and a resume would train on with them. The save
    must be refused (or the means zeroed), never a "zero" model with non-zero means."""
    model = IVAE(**TINY).fit(batch, progress=False)
    assert np.abs(model.prior_parameters()[0]).max() > 0  # the learned means moved
    model.set_params(prior_mean="zero")
    try:
        model.save(str(tmp_path))
    except ValueError as error:
        assert "prior_mean" in str(error)
        return
    loaded = latentscm.load(str(tmp_path))
    assert loaded.prior_mean == "zero"
    np.testing.assert_array_equal(loaded.prior_parameters()[0], 0.0)


def test_set_params_covariance_after_fit_with_one_latent_is_refused_on_save(batch, tmp_path):
    """With latent_dim=1 the diagonal encoder (mean, logvar) and the full one (mean, log L_11) have the same number of
    outputs, so check_saveable's shape comparison lets set_params(covariance="full") after a diagonal fit through:
    the loaded model reads the trained logvar as a log standard deviation, doubling every posterior logvar. The save
    must be refused (or the loaded posterior be the trained one)."""
    model = IVAE(**{**TINY, "latent_dim": 1, "steps": 10}).fit(batch, progress=False)
    _, logvar = model.encode_distribution(batch[:8])
    model.set_params(covariance="full")
    try:
        model.save(str(tmp_path))
    except ValueError as error:
        assert "covariance" in str(error)
        return
    loaded = latentscm.load(str(tmp_path))
    np.testing.assert_allclose(loaded.encode_distribution(batch[:8])[1], logvar, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------- verified behaviour
def test_zero_prior_means_stay_zero_through_checkpoints_load_and_resume(batch, tmp_path):
    run = tmp_path / "run"
    first = _quiet_fit(IVAE(**{**TINY, "prior_mean": "zero", "steps": 10}), batch, out=str(run), checkpoint_every=5)
    np.testing.assert_array_equal(first.prior_parameters()[0], 0.0)
    loaded = latentscm.load(str(run))
    np.testing.assert_array_equal(loaded.prior_parameters()[0], 0.0)
    assert not any(p.requires_grad for p in loaded.prior_.means)
    resumed = _quiet_fit(IVAE(**{**TINY, "prior_mean": "zero"}), batch, out=str(run), resume=True)
    assert resumed.n_steps_ == 20
    np.testing.assert_array_equal(resumed.prior_parameters()[0], 0.0)
    assert np.ptp(np.log(resumed.prior_parameters()[1]), axis=0).max() > 0
    np.testing.assert_array_equal(latentscm.load(str(run)).prior_parameters()[0], 0.0)


@pytest.mark.parametrize("prior_mean", ["learned", "zero"])
def test_resuming_a_run_gives_the_weights_of_an_uninterrupted_fit(batch, tmp_path, prior_mean):
    full = _quiet_fit(IVAE(**TINY, prior_mean=prior_mean), batch)
    run = tmp_path / "run"
    _quiet_fit(IVAE(**{**TINY, "steps": 10}, prior_mean=prior_mean), batch, out=str(run), checkpoint_every=5)
    resumed = _quiet_fit(IVAE(**TINY, prior_mean=prior_mean), batch, out=str(run), resume=True)
    np.testing.assert_array_equal(resumed.encode(batch), full.encode(batch))
    for got, want in zip(resumed.prior_parameters(), full.prior_parameters()):
        np.testing.assert_array_equal(got, want)
    loaded = latentscm.load(str(run))
    for got, want in zip(loaded.prior_parameters(), full.prior_parameters()):
        np.testing.assert_array_equal(got, want)


def test_sample_domain_accepts_numpy_ints_and_refuses_floats_bools_negatives_and_wrong_lengths(fitted):
    model = fitted
    reference = model.sample(3, seed=1, domain=2)
    for same in (np.int64(2), np.int32(2), np.uint8(2), np.array(2), [2, 2, 2], np.array([2, 2, 2]),
                 torch.tensor(2)):
        np.testing.assert_array_equal(model.sample(3, seed=1, domain=same), reference)
    assert not np.array_equal(model.sample(3, seed=1, domain=0), reference) or \
        np.array_equal(model.prior_parameters()[0][0], model.prior_parameters()[0][2])
    shape = "'domain' of IVAE.sample must be an int or"
    bounds = r"'domain' of IVAE.sample must lie in \[0, 5\)"
    for bad, match in [(2.0, shape), (np.float64(1.0), shape), (np.array([1.0, 2.0, 0.0]), shape), (True, shape),
                       (np.bool_(False), shape), ([True, False, True], shape), ([0, 1], shape),
                       (np.array([0, 1, 2, 3]), shape), (np.array([[0, 1, 2]]), shape), ("1", shape),
                       (-1, bounds), ([0, -1, 2], bounds), (5, bounds), (np.int64(7), bounds)]:
        with pytest.raises(ValueError, match=match):
            model.sample(3, seed=1, domain=bad)


def test_a_domains_draws_follow_that_domains_prior(fitted):
    """sample(domain=d) decodes codes from p(z | u=d): their mean and variance are that domain's m and v."""
    model = fitted
    means, variances = model.prior_parameters()
    generator = torch.Generator().manual_seed(0)
    for d in (0, 3):
        codes = model._prior_sample(20000, generator, torch.full((20000,), d, dtype=torch.int64)).double().numpy()
        np.testing.assert_allclose(codes.mean(0), means[d], atol=4 * np.sqrt(variances[d].max() / 20000) + 1e-6)
        np.testing.assert_allclose(codes.var(0), variances[d], rtol=0.05)


def test_identifiability_warning_counts_domains_present_against_the_prior_kind(world):
    three = world.sample_domains(30, seed=1, domains=[0, 1, 2])
    two = world.sample_domains(30, seed=1, domains=[0, 1])
    settings = {**TINY, "steps": 2, "batch_size": 8}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model = IVAE(**settings, prior_mean="zero").fit(three, progress=False)  # D + 1 = 3
    assert model.n_domains_ == 3
    with pytest.warns(UserWarning, match=r"hold 2 domain\(s\).*prior_mean='zero'.*at least 3 domains"):
        IVAE(**settings, prior_mean="zero").fit(two, progress=False)
    with pytest.warns(UserWarning, match=r"hold 3 domain\(s\).*prior_mean='learned'.*at least 5 domains"):
        IVAE(**settings).fit(three, progress=False)
    with pytest.warns(UserWarning, match=r"hold 1 domain\(s\)"):
        IVAE(**settings).fit(three.images, progress=False)  # plain images: one domain


def test_fitting_a_world_with_domains_trains_every_domain_without_a_warning(world):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model = IVAE(**{**TINY, "steps": 2, "batch_size": 8}).fit(world, n_samples=50, progress=False)
    assert model.n_domains_ == 5


def test_cli_trains_and_resumes_ivae_on_a_shifted_world(tmp_path):
    from latentscm.cli import app

    runner = CliRunner()
    run = tmp_path / "run"
    common = ["--no-progress", "--threads", "1"]
    result = runner.invoke(app, ["train", "--learner", "ivae", "--world", "hue-sprites", "--shift", "n_domains=3",
                                 "--shift", "shifted=hue", "--out", str(run), "--n-samples", "48", "--steps", "3",
                                 "--batch-size", "8", "--size", "16", "--set", "latent_dim=2", "--set",
                                 "hidden_dim=16", "--set", "channels=[4,8]", *common])
    assert result.exit_code == 0, result.output
    model = latentscm.load(str(run))
    assert isinstance(model, IVAE) and model.n_domains_ == 3 and model.n_steps_ == 3
    assert model.sample(2, seed=0, domain=2).shape == (2, 3, 16, 16)
    result = runner.invoke(app, ["resume", str(run), "--steps", "5", *common])
    assert result.exit_code == 0, result.output
    resumed = latentscm.load(str(run))
    assert resumed.n_steps_ == 5 and resumed.n_domains_ == 3
