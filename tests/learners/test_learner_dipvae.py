"""DIP-VAE I and II: contract, learning, the covariance regulariser."""

import torch

from latentscm.learners.dipvae import DIPVAEI, DIPVAEII, dip_regulariser
from latentscm.testing import check_learner
from latentscm.testing.learner_checks import tiny_params


def test_dip_vae_i_passes_check_learner():
    check_learner(DIPVAEI)


def test_dip_vae_ii_passes_check_learner():
    check_learner(DIPVAEII, params={"lambda_od": 2.0, "lambda_d": 2.0})


def test_dip_vae_loss_decreases(loss_drop):
    for cls in (DIPVAEI, DIPVAEII):
        first, last = loss_drop(cls(**tiny_params(cls, channels=(8, 16), hidden_dim=32, batch_size=16, lr=2e-3)))
        assert last < 0.8 * first, cls.__name__


def test_regulariser_is_zero_at_identity_and_weighted():
    assert float(dip_regulariser(torch.eye(3), 5.0, 7.0)) == 0.0
    covariance = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    assert float(dip_regulariser(covariance, 1.0, 0.0)) == 0.5
    assert float(dip_regulariser(covariance, 0.0, 3.0)) == 3.0


def test_defaults_follow_the_paper():
    assert DIPVAEI().lambda_d == 10 * DIPVAEI().lambda_od
    assert DIPVAEII().lambda_d == DIPVAEII().lambda_od
