"""β-VAE and AnnealedVAE: contract, learning, the KL weight and the capacity schedule."""

import numpy as np
import pytest
import torch

from latentscm.learners.base import gaussian_kl
from latentscm.learners.vae import AnnealedVAE, BetaVAE
from latentscm.testing import check_learner
from latentscm.testing.learner_checks import tiny_params

FAST = {"channels": (8, 16), "hidden_dim": 32, "batch_size": 16, "lr": 2e-3}


def test_beta_vae_passes_check_learner():
    check_learner(BetaVAE, params={"beta": 2.0})


def test_annealed_vae_passes_check_learner():
    check_learner(AnnealedVAE, params={"c_max": 5.0, "gamma": 10.0})


def test_beta_vae_loss_decreases(loss_drop):
    first, last = loss_drop(BetaVAE(**tiny_params(BetaVAE, **FAST)))
    assert last < 0.8 * first


def test_annealed_vae_reconstruction_improves(loss_drop):
    # The loss itself can rise while the capacity target moves; reconstruction must improve.
    first, last = loss_drop(AnnealedVAE(**tiny_params(AnnealedVAE, gamma=10.0, c_max=5.0, **FAST)), key="recon")
    assert last < 0.8 * first


def test_capacity_schedule():
    vae = AnnealedVAE(c_max=20.0, anneal_steps=100, steps=1000)
    assert vae.capacity(0) == 0.0 and vae.capacity(50) == pytest.approx(10.0)
    assert vae.capacity(100) == vae.capacity(900) == 20.0
    assert AnnealedVAE(c_max=30.0, steps=300).capacity(50) == pytest.approx(15.0)  # default: a third of the run


def test_gaussian_kl_matches_torch_distributions():
    mean, logvar = torch.randn(5, 3), torch.randn(5, 3)
    q = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    torch.testing.assert_close(gaussian_kl(mean, logvar), torch.distributions.kl_divergence(q, p))


def test_errors_name_parameter_owner_and_value():
    with pytest.raises(ValueError, match=r"'beta' parameter of BetaVAE must be a float >= 0. Got -1 instead"):
        BetaVAE(beta=-1)
    with pytest.raises(ValueError, match="'likelihood'.*'bernoulli', 'gaussian'"):
        BetaVAE(likelihood="laplace")
    with pytest.raises(TypeError, match="'channels'"):
        BetaVAE(channels="32")
    with pytest.raises(ValueError, match="no hyperparameter 'betta'"):
        BetaVAE().set_params(betta=3)


def test_gaussian_likelihood_trains(tiny_world):
    vae = BetaVAE(**tiny_params(BetaVAE, likelihood="gaussian")).fit(tiny_world, n_samples=32, progress=False)
    assert np.isfinite(vae.history_[-1]["loss"])


def test_encode_accepts_batch_tensor_and_single_image(tiny_world):
    vae = BetaVAE(**tiny_params(BetaVAE)).fit(tiny_world, n_samples=32, progress=False)
    batch = tiny_world.sample(4, seed=5)
    codes = vae.encode(batch)
    np.testing.assert_array_equal(vae.encode(torch.from_numpy(batch.images)), codes)
    np.testing.assert_allclose(vae.encode(batch.images[0]), codes[:1], rtol=1e-5, atol=1e-6)
    assert not np.array_equal(vae.encode(batch, sample=True, seed=0), vae.encode(batch, sample=True, seed=1))
    with pytest.raises(TypeError, match="seed"):
        vae.encode(batch, sample=True)


def test_rejected_set_params_leaves_the_learner_unchanged():
    vae = BetaVAE(beta=2.0, steps=10)
    with pytest.raises(ValueError, match="'beta'"):
        vae.set_params(steps=20, beta=-3)
    assert (vae.beta, vae.steps) == (2.0, 10)


def test_resuming_with_more_steps_keeps_the_capacity_schedule(tiny_world, tmp_path):
    """anneal_steps=None ramps over a third of the steps the run started with; resuming with more steps
    trains longer on that schedule instead of stretching it (C dropped from c_max mid-run before)."""
    import latentscm

    params = {**tiny_params(AnnealedVAE, c_max=25.0, gamma=10.0), "steps": 9}
    AnnealedVAE(**params).fit(tiny_world, out=tmp_path / "run", n_samples=32, log_every=1, checkpoint_every=3,
                              progress=False)
    extended = latentscm.training.resume(tmp_path / "run", steps=30, progress=False, trust_code=True)
    capacities = [r["capacity"] for r in extended.history_ if r["kind"] == "train"]
    assert len(capacities) == 30 and capacities[3:] == [25.0] * 27
    assert extended.schedule_steps_ == 9 and extended.capacity(9) == 25.0
    assert latentscm.load(tmp_path / "run").schedule_steps_ == 9
