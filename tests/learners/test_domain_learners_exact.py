"""Session 25 review of the multi-domain learners (ILD, ILDVAE, GCRL) and the domain-counterfactual metric."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from latentscm.learners import ILD
from latentscm.learners.domain_count import domains_to_build
from latentscm.learners.gcrl import DomainPrior
from latentscm.learners.ild_vae import LinearDomainSCM
from latentscm.metrics import domain_counterfactual_error
from latentscm.worlds import make


def _ild_with_true_parameters(world, batch) -> ILD:
    """A depth-2 leaky ILD holding the exact inverse of the ``ild-linear`` world's mixing and its latent SCMs."""
    m, n_domains = world.latent_dim, world.n_domains
    model = ILD(m, 1, structure="dense", depth=2, leak=0.2, activation="leaky", steps=0, seed=0).fit(batch)
    (first, first_bias), (second, second_bias) = world._layers
    scale = np.diag(world._z_std)
    # u = logit(x); h = h_scale u; z = std * M1^-1 (lrelu^-1(M2^-1 (h - c2)) - c1) + mean, lrelu^-1(t) = -5 leaky(-t)
    values = [-np.linalg.inv(second) * world._h_scale, -5.0 * scale @ np.linalg.inv(first),
              np.linalg.inv(second) @ second_bias, -scale @ np.linalg.inv(first) @ first_bias + world._z_mean]
    names = world.factor_names
    with torch.no_grad():
        for tensor, value in zip([*model.network_.weights, *model.network_.biases], values):
            tensor.copy_(torch.from_numpy(value))
        for d in range(n_domains):
            for j, name in enumerate(names):
                mechanism = world._mechanism(d, name)
                row = torch.zeros(m, dtype=torch.float64)
                for parent, weight in zip(mechanism.parent_names, mechanism.weights):
                    row[names.index(parent)] = weight
                model.a_[d, j] = row
                model.b_[d, j] = mechanism.bias
                model.log_s_[d, j] = math.log(mechanism.scale)
    return model


def test_ild_with_the_true_parameters_has_the_exact_likelihood_and_counterfactuals():
    """Plugged-in truth: log-likelihood (logit space) plus the logit's log-Jacobian is the world's exact
    log-density, the domain counterfactuals are the oracle's, and d -> d is the identity."""
    torch.set_num_threads(1)
    world = make("ild-linear", latent_dim=4, n_domains=3, int_set=(1, 3), seed=0)
    batch = world.sample_domains(100, seed=1)
    model = _ild_with_true_parameters(world, batch)
    x = batch.images.reshape(len(batch.images), -1).astype(np.float64)
    log_jacobian = -np.log(x * (1 - x)).sum(1)
    exact = world.log_density(batch.images, batch.domain)
    np.testing.assert_allclose(model.log_likelihood(batch.images, batch.domain) + log_jacobian, exact, atol=1e-9)
    wrong = model.log_likelihood(batch.images, (batch.domain + 1) % 3) + log_jacobian
    assert wrong.mean() < exact.mean() - 1.0  # the domain index matters
    result = domain_counterfactual_error(model, world, n=200, seed=3)
    assert result["dcf.normalised"] < 1e-8 and result["dcf.identity"] > 1e-3
    np.testing.assert_array_equal(model.domain_counterfactual(batch.images[:20], 2, 2), batch.images[:20])


def test_ild_names_a_negative_training_domain_without_an_undefined_bound():
    world = make("ild-linear", latent_dim=3, n_domains=2, int_set=(2,), seed=0)
    batch = world.sample_domains(20, seed=0)
    with pytest.raises(ValueError, match=r"domain must be >= 0\. Got values \[-1, 1\]"):
        ILD(3, 1, steps=1).fit(batch.images, np.where(batch.domain == 0, -1, batch.domain))


def test_a_domains_metric_samples_do_not_depend_on_the_other_pairs():
    """The same seed gives a source domain the same samples whichever pairs are asked for."""
    world = make("ild-linear", latent_dim=3, n_domains=3, int_set=(2,), seed=0)
    identity = lambda x, source, target: x  # noqa: E731
    every = domain_counterfactual_error(identity, world, n=40, seed=0)
    one = domain_counterfactual_error(identity, world, n=40, seed=0, pairs=[(1, 0)])
    assert one["dcf.identity.1->0"] == every["dcf.identity.1->0"]
    assert one["dcf.identity"] == every["dcf.identity.1->0"]


@pytest.mark.parametrize("domain", [np.array([-1, 0, 1]), np.array([0.0, 1.0]), np.array([True, False])])
def test_domains_to_build_refuses_domains_that_are_not_nonnegative_ints(domain):
    # torch would read domain -1 as the last domain's prior; a float index fails with an unnamed TypeError
    with pytest.raises(ValueError, match="GCRL must give each image's domain as an int >= 0"):
        domains_to_build(SimpleNamespace(domain=domain), None, "GCRL")
    assert domains_to_build(SimpleNamespace(domain=np.array([1, 0, 1], dtype=np.uint8)), None, "GCRL") == 2


@pytest.mark.parametrize("structure", ["dense", "relax_can", "can"])
def test_ild_vae_kl_is_the_exact_gaussian_kl_to_each_domains_scm(structure):
    generator = torch.Generator().manual_seed(0)
    scm = LinearDomainSCM(4, 3, 2, structure).double()
    with torch.no_grad():
        for p in scm.parameters():
            p.copy_(0.7 * torch.randn(p.shape, generator=generator, dtype=torch.float64))
        mean = torch.randn(6, 4, generator=generator, dtype=torch.float64)
        logvar = 0.5 * torch.randn(6, 4, generator=generator, dtype=torch.float64)
        domain = torch.tensor([0, 1, 2, 0, 1, 2])
        a, b, log_s = scm.domain_parameters(domain)
        expected = []
        for i in range(6):
            inverse = torch.linalg.inv(torch.eye(4, dtype=torch.float64) - a[i])
            prior = MultivariateNormal(inverse @ b[i], inverse @ torch.diag(torch.exp(2 * log_s[i])) @ inverse.T)
            expected.append(kl_divergence(MultivariateNormal(mean[i], torch.diag(logvar[i].exp())), prior))
        np.testing.assert_allclose(scm.kl(mean, logvar, domain).numpy(), torch.stack(expected).numpy(), atol=1e-10)
        z = torch.randn(6, 4, generator=generator, dtype=torch.float64)
        np.testing.assert_allclose(scm.predict(scm.abduct(z, domain), domain).numpy(), z.numpy(), atol=1e-12)


def test_gcrl_per_domain_kl_is_the_gaussian_kl_to_the_domains_prior():
    generator = torch.Generator().manual_seed(1)
    prior = DomainPrior(3, 2, "per_domain", 4)
    with torch.no_grad():
        for p in prior.parameters():
            p.copy_(0.8 * torch.randn(p.shape, generator=generator))
        mean, logvar = torch.randn(5, 3, generator=generator), 0.4 * torch.randn(5, 3, generator=generator)
        domain = torch.tensor([0, 1, 0, 1, 1])
        means, logvars = torch.stack(list(prior.means))[domain], torch.stack(list(prior.logvars))[domain]
        expected = kl_divergence(Normal(mean, (0.5 * logvar).exp()), Normal(means, (0.5 * logvars).exp())).sum(1)
        np.testing.assert_allclose(prior(mean, logvar, mean, domain).numpy(), expected.numpy(), atol=1e-5)


def test_ild_restarts_start_apart_from_other_seeds():
    import torch

    from latentscm.learners.ild import _restart_generator

    starts = {("seed", s): torch.randn(4, generator=torch.Generator().manual_seed(s)) for s in range(10)}
    starts.update({("restart", s, r): torch.randn(4, generator=_restart_generator(s, r))
                   for s in range(10) for r in range(1, 4)})
    draws = list(starts.values())
    assert all(not torch.equal(a, b) for i, a in enumerate(draws) for b in draws[i + 1:])
