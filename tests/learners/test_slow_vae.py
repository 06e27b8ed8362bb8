"""SlowVAE (Klindt et al. 2021): the Laplace cross-entropy, the pair objective, fitting and resuming."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from learners_support import TinyBlobs
from scipy import integrate, stats

import latentscm
from latentscm.learners import make as make_learner
from latentscm.learners.base import gaussian_kl
from latentscm.learners.slow_vae import SlowVAE, gaussian_entropy, laplace_cross_entropy
from latentscm.worlds.pairs import counterfactual_pairs

TINY = dict(latent_dim=3, channels=(4, 8), hidden_dim=16, batch_size=8, steps=6, lr=1e-3, seed=0,
            likelihood="gaussian")


@pytest.fixture(scope="module")
def world():
    return TinyBlobs(size=16)


def _quad_cross_entropy(m: float, s: float, rate: float) -> float:
    """E_{z ~ N(m, s^2)}[-log Laplace(z | 0, rate)] by numerical integration."""
    laplace = stats.laplace(scale=1.0 / rate)
    value, _ = integrate.quad(lambda z: -stats.norm.pdf(z, m, s) * laplace.logpdf(z), m - 12 * s, m + 12 * s,
                              points=[0.0] if m - 12 * s < 0 < m + 12 * s else None, limit=200)
    return value


@pytest.mark.parametrize("m, s, rate", [(0.0, 1.0, 1.0), (0.7, 0.2, 6.0), (-2.5, 0.5, 3.0), (0.01, 1e-3, 6.0),
                                        (4.0, 2.0, 0.5)])
def test_laplace_cross_entropy_matches_numerical_integration(m, s, rate):
    got = laplace_cross_entropy(torch.tensor([[m]], dtype=torch.float64),
                                torch.tensor([[2 * math.log(s)]], dtype=torch.float64), rate)
    np.testing.assert_allclose(float(got), _quad_cross_entropy(m, s, rate), rtol=1e-7, atol=1e-9)


def test_gaussian_entropy():
    logvar = torch.tensor([[-3.0, 0.0, 2.0]])
    expected = torch.distributions.Normal(torch.zeros(3), (0.5 * logvar[0]).exp()).entropy()
    torch.testing.assert_close(gaussian_entropy(logvar)[0], expected)


@pytest.mark.parametrize("beta, gamma, rate", [(1.0, 10.0, 6.0), (2.0, 0.0, 1.0)])
def test_loss_against_a_pair_by_pair_reference(world, beta, gamma, rate):
    model = SlowVAE(**{**TINY, "beta": beta, "gamma": gamma, "rate": rate}).fit(world, n_samples=32, progress=False)
    batch = world.sample(4, seed=3)
    partners = counterfactual_pairs(world, batch, changes=1, seed=4)
    images, pair = torch.from_numpy(batch.images), torch.from_numpy(partners.images)
    model._generator.manual_seed(5)
    with torch.no_grad():
        got = model.loss(images, 0, pair=pair)
        mean, logvar = model.encoder_(torch.cat([images, pair])).chunk(2, dim=1)
        noise = torch.randn((8, 3), generator=torch.Generator().manual_seed(5))
        z = mean + (0.5 * logvar).exp() * noise
        nll = model._likelihood.nll(model.decoder_(z), torch.cat([images, pair]))
    mean, logvar = mean.double().numpy(), logvar.double().numpy()
    total = 0.0
    for i in range(4):  # per pair, written out: both reconstructions, the normal KL and the Laplace term both ways
        a, b = i, 4 + i
        recon = float(nll[a] + nll[b])
        kl = 0.5 * float(gaussian_kl(torch.from_numpy(mean[[a, b]]), torch.from_numpy(logvar[[a, b]])).sum())
        entropy = 0.5 * sum(float(stats.norm(0, math.exp(0.5 * lv)).entropy()) for lv in logvar[[a, b]].ravel())
        cross = sum(_quad_cross_entropy(mean[b, j] - mean[a, j], math.exp(0.5 * logvar[b, j]), rate)
                    + _quad_cross_entropy(mean[a, j] - mean[b, j], math.exp(0.5 * logvar[a, j]), rate)
                    for j in range(3))
        total += recon + beta * kl + gamma * (cross - entropy)
    np.testing.assert_allclose(float(got.losses["model"]), total / 4, rtol=2e-5)


def test_fit_resume_and_registry(world, tmp_path):
    assert "slow_vae" in latentscm.learners.names()
    assert isinstance(make_learner("slow_vae", latent_dim=2), SlowVAE) and SlowVAE.uses_pairs
    straight = SlowVAE(**{**TINY, "steps": 8}).fit(world, n_samples=40, out=str(tmp_path / "a"), progress=False,
                                                   checkpoint_every=4)
    assert {"kl_laplace", "change_l1"} <= set(straight.history_[-1])
    half = SlowVAE(**{**TINY, "steps": 4}).fit(world, n_samples=40, out=str(tmp_path / "b"), progress=False,
                                               checkpoint_every=4)
    resumed = half.set_params(steps=8).fit(world, n_samples=40, out=str(tmp_path / "b"), resume=True,
                                          progress=False, checkpoint_every=4)
    for key, value in straight.encoder_.state_dict().items():
        assert torch.equal(value, resumed.encoder_.state_dict()[key]), key


@pytest.mark.parametrize("key, value", [("rate", 0.0), ("rate", -1.0), ("gamma", -1.0), ("pair_changes", 0)])
def test_bad_hyperparameters_are_named(key, value):
    with pytest.raises((TypeError, ValueError), match=key):
        SlowVAE(**{key: value})
