"""QLAE: contract, learning, codebooks, straight-through gradients, AdamW weight decay."""

import numpy as np
import pytest
import torch

from latentscm.learners.qlae import QLAE, ScalarCodebooks
from latentscm.testing import check_learner
from latentscm.testing.learner_checks import tiny_params


def test_qlae_passes_check_learner():
    check_learner(QLAE)


def test_qlae_loss_decreases(loss_drop):
    first, last = loss_drop(QLAE(**tiny_params(QLAE, channels=(8, 16), hidden_dim=32, batch_size=16, lr=2e-3)))
    assert last < 0.8 * first


def test_latents_default_to_twice_the_factors(tiny_world):
    learner = QLAE(**tiny_params(QLAE, latent_dim=None)).fit(tiny_world, n_samples=32, progress=False)
    assert learner.latent_dim_ == 2 * len(tiny_world.factor_names)
    with pytest.raises(ValueError, match="latent_dim"):
        QLAE(**tiny_params(QLAE, latent_dim=None)).fit(np.zeros((16, 1, 16, 16), np.float32), progress=False)


def test_codes_lie_on_the_codebooks(tiny_world):
    learner = QLAE(**tiny_params(QLAE)).fit(tiny_world, n_samples=32, progress=False)
    batch = tiny_world.sample(8, seed=1)
    codes = learner.encode(batch)
    values = learner.codebook_.values.detach().numpy()
    for d in range(codes.shape[1]):
        assert np.all(np.isin(codes[:, d], values[d]))
    indices = learner.encode_indices(batch)
    np.testing.assert_array_equal(values[np.arange(codes.shape[1]), indices], codes)
    assert learner.encode_continuous(batch).shape == codes.shape


def test_codebook_init_and_straight_through():
    book = ScalarCodebooks(2, 10)
    np.testing.assert_allclose(book.values.detach().numpy()[0], np.linspace(-0.5, 0.5, 10), rtol=1e-6)
    z = torch.tensor([[0.04, -0.9], [0.3, 0.51]], requires_grad=True)
    straight, quantised, indices = book(z)
    torch.testing.assert_close(straight, quantised)
    assert indices.tolist() == [[5, 0], [7, 9]]
    straight.sum().backward()
    torch.testing.assert_close(z.grad, torch.ones_like(z))  # straight-through: gradient passes unchanged


def test_optimizer_is_adamw_with_decay_on_weights_not_codebooks(tiny_world):
    learner = QLAE(**tiny_params(QLAE, steps=1)).fit(tiny_world, n_samples=16, progress=False)
    parameters = [p for name in learner._module_names() for p in getattr(learner, f"{name}_").parameters()]
    optimizer = learner._make_optimizer("model", parameters)
    assert isinstance(optimizer, torch.optim.AdamW)
    decays = sorted(group["weight_decay"] for group in optimizer.param_groups)
    assert decays == [0.0, 0.1] and optimizer.defaults["lr"] == 1e-3
    assert QLAE().grad_clip == 1.0


def test_qlae_passes_check_learner_on_a_world(tiny_world):
    report = check_learner(QLAE, params={"latent_dim": None}, world=tiny_world)
    assert report["latent_dim"] == 2 * len(tiny_world.factor_names)
