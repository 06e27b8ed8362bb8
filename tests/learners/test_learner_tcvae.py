"""β-TCVAE: contract, learning, and the minibatch-weighted-sampling TC estimator."""

import math

import torch

from latentscm.learners.tcvae import BetaTCVAE, total_correlation_mws
from latentscm.testing import check_learner
from latentscm.testing.learner_checks import tiny_params


def test_beta_tcvae_passes_check_learner():
    check_learner(BetaTCVAE)


def test_beta_tcvae_loss_decreases(loss_drop):
    learner = BetaTCVAE(**tiny_params(BetaTCVAE, channels=(8, 16), hidden_dim=32, batch_size=16, lr=2e-3))
    first, last = loss_drop(learner, key="recon")
    assert last < 0.8 * first


def test_mws_matches_a_direct_computation():
    generator = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(6, 3, generator=generator), torch.randn(6, 3, generator=generator) * 0.3
    z = mean + (0.5 * logvar).exp() * torch.randn(6, 3, generator=generator)
    n = 100
    normal = torch.distributions.Normal(mean[None], (0.5 * logvar).exp()[None])
    log_density = normal.log_prob(z[:, None])  # (i, j, d)
    expected = []
    for i in range(6):
        joint = torch.logsumexp(log_density[i].sum(1), 0) - math.log(n * 6)
        marginals = sum(torch.logsumexp(log_density[i, :, d], 0) - math.log(n * 6) for d in range(3))
        expected.append(joint - marginals)
    torch.testing.assert_close(total_correlation_mws(z, mean, logvar, n), torch.stack(expected).mean())


def test_tc_is_larger_for_dependent_codes():
    generator = torch.Generator().manual_seed(1)
    base = torch.randn(256, 1, generator=generator)
    dependent = torch.cat([base, base + 0.05 * torch.randn(256, 1, generator=generator)], 1)
    independent = torch.randn(256, 2, generator=generator)
    logvar = torch.full((256, 2), math.log(0.05**2))
    assert total_correlation_mws(dependent, dependent, logvar, 256) > total_correlation_mws(
        independent, independent, logvar, 256) + 1.0
