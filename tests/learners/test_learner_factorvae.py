"""FactorVAE: contract, learning, the discriminator's own optimiser, dimension shuffling."""

import torch

from latentscm.learners.factorvae import FactorVAE, permute_dims
from latentscm.testing import check_learner
from latentscm.testing.learner_checks import tiny_params


def test_factor_vae_passes_check_learner():
    check_learner(FactorVAE, params={"gamma": 5.0})


def test_factor_vae_learns_and_trains_its_discriminator(loss_drop):
    learner = FactorVAE(**tiny_params(FactorVAE, channels=(8, 16), hidden_dim=32, batch_size=16, lr=2e-3))
    initial = {k: v.clone() for k, v in FactorVAE(**learner.get_params()).fit(
        torch.zeros(16, 1, 16, 16).numpy(), progress=False).discriminator_.state_dict().items()}
    first, last = loss_drop(learner, key="recon")
    assert last < 0.8 * first
    trained = learner.discriminator_.state_dict()
    assert any(not torch.equal(initial[k], trained[k]) for k in trained)
    assert {"discriminator_loss", "discriminator_accuracy", "tc"} <= set(learner.history_[-1])


def test_gradients_stay_in_their_groups():
    learner = FactorVAE(**tiny_params(FactorVAE, steps=1)).fit(torch.rand(8, 1, 16, 16).numpy(), progress=False)
    images = torch.rand(8, 1, 16, 16)
    output = learner.loss(images, 0)
    vae_params = list(learner.encoder_.parameters()) + list(learner.decoder_.parameters())
    disc_params = list(learner.discriminator_.parameters())
    for p in vae_params + disc_params:
        p.grad = None
    output.losses["model"].backward(inputs=vae_params, retain_graph=True)
    assert all(p.grad is None for p in disc_params)
    output.losses["discriminator"].backward(inputs=disc_params)
    assert all(p.grad is not None for p in disc_params)


def test_permute_dims_shuffles_each_column_independently():
    z = torch.arange(40.0).reshape(20, 2)
    shuffled = permute_dims(z, torch.Generator().manual_seed(0))
    for d in range(2):
        assert sorted(shuffled[:, d].tolist()) == z[:, d].tolist()
    assert not torch.equal(shuffled, z)
    # rows are no longer the original pairs
    pairs = {tuple(row) for row in z.tolist()}
    assert sum(tuple(row) in pairs for row in shuffled.tolist()) < 10
