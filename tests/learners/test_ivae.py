"""IVAE: the identifiable VAE with the domain index as auxiliary variable (Khemakhem et al. 2020)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from learners_support import IVAE_TINY, nonstationary_world

import latentscm
from latentscm.learners import make as make_learner
from latentscm.learners.base import NotFittedError
from latentscm.learners.ivae import IVAE, full_covariance_kl

TINY = IVAE_TINY


@pytest.fixture(scope="module")
def world():
    # independent latents (no edges), every latent shifted: nonstationary sources across 5 domains
    return nonstationary_world()


@pytest.fixture(scope="module")
def batch(world):
    return world.sample_domains(40, seed=0)


@pytest.fixture(scope="module")
def fitted(batch, tmp_path_factory):
    out = tmp_path_factory.mktemp("ivae")
    return IVAE(**TINY).fit(batch, out=str(out), progress=False), out


def test_registered_and_listed():
    assert "ivae" in latentscm.learners.names()
    assert isinstance(make_learner("ivae", latent_dim=3), IVAE)
    assert "IVAE" in dir(latentscm.learners)


def test_kl_is_the_closed_form_kl_to_each_domains_prior(fitted):
    model = copy.deepcopy(fitted[0])  # the prior is overwritten below
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for mean, logvar in zip(model.prior_.means, model.prior_.logvars):
            mean.copy_(torch.randn(2, generator=generator))
            logvar.copy_(0.5 * torch.randn(2, generator=generator))
    mean, logvar = torch.randn(6, 2, generator=generator), 0.3 * torch.randn(6, 2, generator=generator)
    domain = torch.tensor([0, 1, 2, 3, 4, 1])
    prior_mean, prior_var = (torch.from_numpy(a).float() for a in model.prior_parameters())
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean, (0.5 * logvar).exp()),
        torch.distributions.Normal(prior_mean[domain], prior_var[domain].sqrt())).sum(1)
    with torch.no_grad():
        got = model.prior_(mean, logvar, mean, domain)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_fit_learns_one_prior_per_domain(fitted, batch):
    model, _ = fitted
    assert model.n_domains_ == 5 and model.encode(batch[:7]).shape == (7, 2)
    means, variances = model.prior_parameters()
    assert means.shape == variances.shape == (5, 2) and np.all(variances > 0)
    assert np.ptp(means, axis=0).max() > 0  # the domains' priors moved apart from their common start
    assert np.isfinite(model.history_[-1]["kl"]) and np.isfinite(model.history_[-1]["recon"])


def test_the_prior_follows_the_domains_of_the_data(batch):
    """The learned per-domain prior means must track the posterior means of each domain's images: the KL term pulls
    p(z | u) to where the encoder puts that domain (the mechanism that makes the prior informative)."""
    model = IVAE(**{**TINY, "steps": 300}).fit(batch, progress=False)
    codes = model.encode(batch)
    means, _ = model.prior_parameters()
    per_domain = np.stack([codes[batch.domain == d].mean(0) for d in range(5)])
    for unit in range(2):
        assert np.corrcoef(per_domain[:, unit], means[:, unit])[0, 1] > 0.9


def test_zero_prior_mean_stays_zero(batch):
    model = IVAE(**{**TINY, "prior_mean": "zero"}).fit(batch, progress=False)
    means, variances = model.prior_parameters()
    assert np.all(means == 0.0)
    assert np.ptp(np.log(variances), axis=0).max() > 0  # only the variances are modulated
    assert model.identifying_domains == 3


def test_too_few_domains_warns_with_both_numbers(world):
    one = world.sample_domains(40, seed=1, domains=[0])
    with pytest.warns(UserWarning, match=r"hold 1 domain\(s\).*at least 5 domains"):
        IVAE(**{**TINY, "steps": 2}).fit(one, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        IVAE(**{**TINY, "steps": 2}).fit(world.sample_domains(8, seed=2), progress=False)  # 5 >= 2 * 2 + 1


def test_sample_from_one_domain_and_bad_domains(fitted):
    model, _ = fitted
    one = model.sample(4, seed=3, domain=2)
    assert one.shape == (4, 2, 1, 1) and np.all((one >= 0) & (one <= 1))
    assert np.array_equal(one, model.sample(4, seed=3, domain=2))
    assert model.sample(4, seed=3, domain=[0, 1, 2, 3]).shape == (4, 2, 1, 1)
    with pytest.raises(ValueError, match=r"'domain' of IVAE.sample must lie in \[0, 5\)"):
        model.sample(2, seed=0, domain=5)
    with pytest.raises(ValueError, match="'domain' of IVAE.sample must be an int or"):
        model.sample(2, seed=0, domain=[0, 1, 2])
    with pytest.raises(ValueError, match="'domain' of IVAE.sample must be an int or"):
        model.sample(2, seed=0, domain=True)


def test_save_and_load_round_trip(fitted, batch):
    model, out = fitted
    loaded = latentscm.load(str(out))
    assert isinstance(loaded, IVAE) and loaded.n_domains_ == 5
    np.testing.assert_array_equal(loaded.encode(batch[:6]), model.encode(batch[:6]))
    np.testing.assert_array_equal(loaded.prior_parameters()[1], model.prior_parameters()[1])


def test_bad_hyperparameters_and_domains_are_named(batch):
    with pytest.raises(ValueError, match="prior_mean"):
        IVAE(prior_mean="free")
    with pytest.raises(ValueError, match="beta"):
        IVAE(beta=-1.0)
    with pytest.raises(ValueError, match="n_domains"):
        IVAE(n_domains=0)
    with pytest.raises(ValueError, match="holds domain index 4, but n_domains=3"):
        IVAE(**{**TINY, "n_domains": 3}).fit(batch, progress=False)
    with pytest.raises(NotFittedError):
        IVAE().sample(2, seed=0)


def test_full_covariance_kl_matches_torch():
    generator = torch.Generator().manual_seed(1)
    d = 3
    raw = torch.randn(4, d, d, generator=generator).tril()
    log_diag = 0.3 * torch.randn(4, d, generator=generator)
    tril = raw - torch.diag_embed(torch.diagonal(raw, dim1=1, dim2=2)) + torch.diag_embed(log_diag.exp())
    mean, prior_mean = torch.randn(4, d, generator=generator), torch.randn(4, d, generator=generator)
    prior_logvar = 0.5 * torch.randn(4, d, generator=generator)
    expected = torch.distributions.kl_divergence(
        torch.distributions.MultivariateNormal(mean, scale_tril=tril),
        torch.distributions.MultivariateNormal(prior_mean, covariance_matrix=torch.diag_embed(prior_logvar.exp())))
    got = full_covariance_kl(mean, tril, log_diag, prior_mean, prior_logvar)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5)


def test_full_covariance_posterior_loss_equals_the_full_kl(batch):
    """The training loss computes the full KL through the prior module (the diagonal's KL plus the Hadamard gap);
    it must equal full_covariance_kl, and differ from the diagonal KL when the factor has off-diagonal entries."""
    model = IVAE(**{**TINY, "covariance": "full", "steps": 20}).fit(batch, progress=False)
    images = torch.from_numpy(batch.images[:16])
    domain = torch.from_numpy(batch.domain[:16])
    with torch.no_grad():
        mean, tril, log_diag = model._posterior_full(images)
        assert tril.shape == (16, 2, 2) and torch.all(tril[:, 0, 1] == 0) and torch.any(tril[:, 1, 0] != 0)
        means, logvars = torch.stack(list(model.prior_.means)), torch.stack(list(model.prior_.logvars))
        full = full_covariance_kl(mean, tril, log_diag, means[domain], logvars[domain]).mean()
        model._generator.manual_seed(0)
        out = model.loss(images, 0, domain)
        diagonal = model.prior_(mean, tril.square().sum(2).log(), mean, domain).mean()
    np.testing.assert_allclose(float(out.logs["kl"]), float(full), rtol=1e-5)
    assert float(full) > float(diagonal)
    # encode_distribution reports the covariance's diagonal
    _, logvar = model.encode_distribution(batch[:16])
    np.testing.assert_allclose(logvar, tril.square().sum(2).log().numpy(), rtol=1e-5, atol=1e-6)


def test_full_covariance_samples_have_the_posterior_covariance(batch):
    model = IVAE(**{**TINY, "covariance": "full", "steps": 5}).fit(batch, progress=False)
    one = np.repeat(batch.images[:1], 20000, axis=0)
    draws = model.encode(one, sample=True, seed=4)
    with torch.no_grad():
        _, tril, _ = model._posterior_full(torch.from_numpy(batch.images[:1]))
    expected = (tril[0] @ tril[0].T).numpy()
    np.testing.assert_allclose(np.cov(draws.T), expected, atol=0.05 * np.abs(expected).max())
    assert np.array_equal(draws, model.encode(one, sample=True, seed=4))


def test_full_covariance_off_diagonal_entries_are_not_exponentiated(batch):
    model = IVAE(**{**TINY, "covariance": "full", "steps": 2}).fit(batch, progress=False)
    with torch.no_grad():
        model.encoder_.head.bias[3] = 200.0  # outputs: 2 means, then L_00, L_10, L_11 (row-major lower triangle)
        mean, tril, log_diag = model._posterior_full(torch.from_numpy(batch.images[:4]))
    assert torch.isfinite(tril).all() and torch.all(tril[:, 1, 0] > 150)
    np.testing.assert_allclose(torch.diagonal(tril, dim1=1, dim2=2).log().numpy(), log_diag.numpy(), rtol=1e-6)
