"""ILDVAE: ILD on images — a VAE whose prior is a per-domain linear latent SCM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentscm
from latentscm.learners.base import NotFittedError
from latentscm.learners.ild_vae import ILDVAE, LinearDomainSCM
from latentscm.metrics import domain_counterfactual_error
from latentscm.worlds import DomainShift, make

TINY = {"latent_dim": 3, "k": 1, "channels": (8, 8), "hidden_dim": 16, "lr": 3e-3, "batch_size": 16, "steps": 8,
        "seed": 0}


@pytest.fixture(scope="module")
def world():
    return make("hue-sprites", size=16, n_positions=4,
                domains=DomainShift(3, shifted=("hue",), strength=1.5, seed=0))


@pytest.fixture(scope="module")
def batch(world):
    return world.sample_domains(24, seed=0)


@pytest.fixture(scope="module")
def fitted(batch, tmp_path_factory):
    out = tmp_path_factory.mktemp("ild_vae")
    return ILDVAE(**TINY).fit(batch, out=str(out), progress=False), out


def test_closed_form_kl_matches_a_monte_carlo_estimate():
    generator = torch.Generator().manual_seed(0)
    scm = LinearDomainSCM(3, 2, 2, "relax_can")
    with torch.no_grad():
        for p in scm.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=generator))
    mean, logvar = torch.randn(4, 3, generator=generator), 0.3 * torch.randn(4, 3, generator=generator)
    domain = torch.tensor([0, 1, 1, 0])
    with torch.no_grad():
        exact = scm.kl(mean, logvar, domain)
        draws = mean + (0.5 * logvar).exp() * torch.randn(100_000, 4, 3, generator=generator)
        _, _, log_s = scm.domain_parameters(domain)
        eps = scm.abduct(draws.reshape(-1, 3), domain.repeat(100_000)).reshape(100_000, 4, 3)
    log_q = -0.5 * (((draws - mean) ** 2) / logvar.exp() + logvar + np.log(2 * np.pi)).sum(-1)
    log_p = -0.5 * (eps ** 2 + np.log(2 * np.pi)).sum(-1) - log_s.sum(-1)
    np.testing.assert_allclose(exact.numpy(), (log_q - log_p).mean(0).numpy(), rtol=0.02)  # MC error < 1%


def test_fit_through_the_shared_loop_with_domains(fitted, batch):
    model, _ = fitted
    assert model.n_domains_ == 3 and model.encode(batch[:5]).shape == (5, 3)
    assert np.isfinite(model.history_[-1]["kl"]) and np.isfinite(model.history_[-1]["recon"])
    assert model.sample(4, seed=1).shape == (4, 3, 16, 16)


def test_domain_counterfactuals_change_only_the_last_k_latents(fitted, batch):
    model, _ = fitted
    x = batch.images[:6]
    with torch.no_grad():  # give the domains different mechanisms so the check has something to see
        model.scm_.b[2, -1] += 1.0
    moved = model.domain_counterfactual(x, 0, 2)
    assert moved.shape == x.shape and moved.dtype == np.float32 and moved.min() >= 0 and moved.max() <= 1
    z = torch.from_numpy(model.encode(x))
    eps = model.scm_.abduct(z, torch.zeros(6, dtype=torch.int64))
    z_cf = model.scm_.predict(eps, torch.full((6,), 2)).detach().numpy()
    np.testing.assert_allclose(z_cf[:, :2], z.numpy()[:, :2], atol=1e-5)
    assert np.abs(z_cf[:, 2] - z.numpy()[:, 2]).min() > 0.5
    np.testing.assert_allclose(model.domain_counterfactual(x, 1, 1), model.reconstruct(x), atol=1e-5)
    with torch.no_grad():
        model.scm_.b[2, -1] -= 1.0


def test_saved_run_reloads_with_its_domains(fitted, batch):
    model, out = fitted
    loaded = latentscm.load(out)
    assert loaded.n_domains_ == 3
    x = batch.images[:4]
    np.testing.assert_allclose(loaded.domain_counterfactual(x, 0, 1), model.domain_counterfactual(x, 0, 1),
                               atol=1e-6)


def test_metric_and_sparse_structures(world, batch):
    for structure in ("can", "dense"):
        model = ILDVAE(**{**TINY, "steps": 2}, structure=structure).fit(batch, progress=False)
        result = domain_counterfactual_error(model, world, n=8, seed=0, pairs=[(0, 1)])
        assert np.isfinite(result["dcf.normalised"]) and result["dcf.identity"] > 0


def test_bad_input_is_named(fitted, batch):
    model, _ = fitted
    with pytest.raises(ValueError, match="'k'"):
        ILDVAE(latent_dim=3, k=4)
    with pytest.raises(ValueError, match="'structure'"):
        ILDVAE(structure="sparse")
    with pytest.raises(ValueError, match="'target'.*\\[0, 3\\)"):
        model.domain_counterfactual(batch.images[:2], 0, 3)
    with pytest.raises(ValueError, match="'source'"):
        model.domain_counterfactual(batch.images[:2], [0, 1, 2], 1)
    with pytest.raises(ValueError, match="'domain' of ILDVAE.abduct must lie in \\[0, 3\\)"):  # names abduct
        model.abduct(batch.images[:2], 7)
    with pytest.raises(ValueError, match="'domain' of ILDVAE.abduct must be an int"):
        model.abduct(batch.images[:2], [0, 1, 2])
    with pytest.raises(NotFittedError):
        ILDVAE(**TINY).domain_counterfactual(batch.images[:2], 0, 1)
    with pytest.raises(ValueError, match="n_domains=2"):
        ILDVAE(**TINY, n_domains=2).fit(batch, progress=False)
