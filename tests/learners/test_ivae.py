"""IVAE: the identifiable VAE with the domain index as auxiliary variable (Khemakhem et al. 2020)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

import latentscm
from latentscm.learners import make as make_learner
from latentscm.learners.base import NotFittedError
from latentscm.learners.ivae import IVAE
from latentscm.worlds.ild_linear import ILDLinear

TINY = {"latent_dim": 2, "likelihood": "gaussian", "hidden_dim": 16, "lr": 3e-3, "batch_size": 32, "steps": 30,
        "beta": 0.01, "seed": 0}


@pytest.fixture(scope="module")
def world():
    # independent latents (no edges), every latent shifted: nonstationary sources across 5 domains
    return ILDLinear(latent_dim=2, n_domains=5, int_set=(0, 1), edge_prob=0.0, depth=1, seed=0)


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
