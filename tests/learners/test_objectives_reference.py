"""The disentanglement learners' ``loss`` against independent float64 re-computations of their papers'
objectives (β-VAE, AnnealedVAE, β-TCVAE, FactorVAE, DIP-VAE I/II) on a tiny network and random images."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from latentscm.learners.dipvae import DIPVAEI, DIPVAEII
from latentscm.learners.factorvae import FactorVAE, permute_dims
from latentscm.learners.tcvae import BetaTCVAE, total_correlation_mws
from latentscm.learners.vae import AnnealedVAE, BetaVAE
from latentscm.testing.learner_checks import _tiny_images, tiny_params

SHAPE = (1, 16, 16)
M = 10


def _built(cls, **params):
    learner = cls(**tiny_params(cls, **params))
    learner._build(SHAPE, n_factors=3)
    for name in learner._module_names():
        getattr(learner, f"{name}_").double()
    return learner


def _images() -> torch.Tensor:
    return torch.rand((M, *SHAPE), generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def _reference(learner, images, seed):
    """(mean, logvar, z, recon, kl) computed here: BCE summed per image, KL by torch.distributions."""
    with torch.no_grad():
        mean, logvar = learner.encoder_(images).chunk(2, dim=1)
        learner._generator.manual_seed(seed)
        noise = torch.randn(mean.shape, generator=learner._generator, dtype=torch.float64)
        z = mean + torch.exp(0.5 * logvar) * noise
        probs = torch.sigmoid(learner.decoder_(z))
        recon = F.binary_cross_entropy(probs, images, reduction="sum") / images.shape[0]
        kl = kl_divergence(Normal(mean, torch.exp(0.5 * logvar)), Normal(0.0, 1.0)).sum(1).mean()
    return mean, logvar, z, recon, kl


def _loss(learner, images, seed, step=0):
    learner._generator.manual_seed(seed)
    out = learner.loss(images, step)
    return {key: float(torch.as_tensor(value).detach()) for key, value in out.logs.items()}, out


def test_beta_vae_and_annealed_vae_objectives():
    images = _images()
    beta_vae = _built(BetaVAE, beta=4.0)
    _, _, _, recon, kl = _reference(beta_vae, images, 3)
    logs, _ = _loss(beta_vae, images, 3)
    assert logs["recon"] == pytest.approx(float(recon), rel=1e-10)
    assert logs["kl"] == pytest.approx(float(kl), rel=1e-10)
    assert logs["loss"] == pytest.approx(float(recon + 4.0 * kl), rel=1e-10)
    assert logs["elbo"] == pytest.approx(float(-(recon + kl)), rel=1e-10)

    annealed = _built(AnnealedVAE, gamma=3.0, c_max=8.0, anneal_steps=40)
    _, _, _, recon, kl = _reference(annealed, images, 5)
    for step, capacity in [(0, 0.0), (10, 2.0), (40, 8.0), (90, 8.0)]:
        logs, _ = _loss(annealed, images, 5, step)
        assert logs["capacity"] == pytest.approx(capacity)
        assert logs["loss"] == pytest.approx(float(recon + 3.0 * abs(kl - capacity)), rel=1e-10)


def test_beta_tcvae_objective_uses_the_training_set_size():
    images = _images()
    learner = _built(BetaTCVAE, beta=6.0)
    learner.n_train_ = 1000
    mean, logvar, z, recon, kl = _reference(learner, images, 7)
    component = Normal(mean[None], torch.exp(0.5 * logvar)[None]).log_prob(z[:, None])  # (i, j, d)
    log_nm = math.log(1000 * M)
    log_qz = torch.logsumexp(component.sum(2), 1) - log_nm
    log_marginals = (torch.logsumexp(component, 1) - log_nm).sum(1)
    tc = float((log_qz - log_marginals).mean())
    logs, _ = _loss(learner, images, 7)
    assert logs["tc"] == pytest.approx(tc, rel=1e-10)
    assert logs["loss"] == pytest.approx(float(recon + kl) + 5.0 * tc, rel=1e-10)


def test_mws_tracks_a_closed_form_total_correlation_up_to_its_constant():
    # q(z) of posteriors N(A u_n, 0.5²) with u_n ~ N(0, I) is close to N(0, A Aᵀ + 0.25 I), whose TC is
    # ½(Σ log Σ_dd - log det Σ); the paper's weights 1/(NM) shift every log-density by -log N, so the
    # estimate is that TC plus (D - 1) log N.
    generator = torch.Generator().manual_seed(0)
    n, d, sd = 2000, 3, 0.5
    mixing = torch.tensor([[1.0, 0, 0], [0.8, 0.6, 0], [0.3, -0.4, 0.866]], dtype=torch.float64)
    means = torch.randn(n, d, generator=generator, dtype=torch.float64) @ mixing.T
    covariance = mixing @ mixing.T + sd**2 * torch.eye(d, dtype=torch.float64)
    closed_form = 0.5 * float(torch.log(torch.diagonal(covariance)).sum() - torch.logdet(covariance))
    estimates = []
    for _ in range(5):
        rows = torch.randperm(n, generator=generator)[:1000]
        z = means[rows] + sd * torch.randn(1000, d, generator=generator, dtype=torch.float64)
        estimates.append(float(total_correlation_mws(z, means[rows], torch.full((1000, d), math.log(sd**2),
                                                                                dtype=torch.float64), n)))
    assert np.mean(estimates) - (d - 1) * math.log(n) == pytest.approx(closed_form, abs=0.05)


def test_factor_vae_total_correlation_and_discriminator_loss():
    images = _images()
    learner = _built(FactorVAE, gamma=10.0)
    _, _, z, recon, kl = _reference(learner, images, 9)
    with torch.no_grad():
        learner._generator.manual_seed(9)
        torch.randn(z.shape, generator=learner._generator, dtype=torch.float64)  # the reparameterisation draw
        shuffled = permute_dims(z, learner._generator)
        p_real = torch.softmax(learner.discriminator_(z), 1)[:, 0]
        p_shuffled = torch.softmax(learner.discriminator_(shuffled), 1)[:, 0]
    tc = float(torch.log(p_real / (1 - p_real)).mean())
    discriminator = float(-0.5 * (torch.log(p_real).mean() + torch.log(1 - p_shuffled).mean()))
    logs, _ = _loss(learner, images, 9)
    assert logs["tc"] == pytest.approx(tc, rel=1e-10)
    assert logs["loss"] == pytest.approx(float(recon + kl) + 10.0 * tc, rel=1e-10)
    assert logs["discriminator_loss"] == pytest.approx(discriminator, rel=1e-10)


@pytest.mark.parametrize("cls", [DIPVAEI, DIPVAEII])
def test_dip_vae_objectives(cls):
    images = _images()
    learner = _built(cls, lambda_od=2.0, lambda_d=7.0)
    mean, logvar, _, recon, kl = _reference(learner, images, 4)
    covariance = np.cov(mean.numpy().T, bias=True)
    if cls is DIPVAEII:  # Cov_q(z) = Cov[mean] + E[diag var]
        covariance = covariance + np.diag(np.exp(logvar.numpy()).mean(0))
    off = covariance - np.diag(np.diag(covariance))
    penalty = 2.0 * (off**2).sum() + 7.0 * ((np.diag(covariance) - 1) ** 2).sum()
    logs, _ = _loss(learner, images, 4)
    assert logs["dip"] == pytest.approx(penalty, rel=1e-10)
    assert logs["loss"] == pytest.approx(float(recon + kl) + penalty, rel=1e-10)


@pytest.mark.parametrize("cls", [BetaVAE, AnnealedVAE, BetaTCVAE, DIPVAEI, DIPVAEII])
def test_every_parameter_gets_a_gradient_and_fits_repeat(cls):
    learner = _built(cls)
    learner.n_train_ = 100
    _, out = _loss(learner, _images(), 0, step=1)
    out.losses["model"].backward()
    for name in learner._module_names():
        for parameter in getattr(learner, f"{name}_").parameters():
            assert parameter.grad is not None and torch.isfinite(parameter.grad).all()
            assert parameter.grad.abs().max() > 0
    images = _tiny_images(24, SHAPE, 0)
    runs = [[{k: v for k, v in row.items() if k not in ("time", "steps_per_s")}
             for row in cls(**tiny_params(cls, steps=2, seed=seed)).fit(images, progress=False, log_every=1).history_]
            for seed in (0, 0, 1)]
    assert runs[0] == runs[1] and runs[0] != runs[2]
