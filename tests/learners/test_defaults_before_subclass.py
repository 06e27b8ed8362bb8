"""A subclass whose constructor leaves out hyperparameters its base lists in ``defaults_before`` (QLAE's objective and
encoder_norm) records configs without them, as it should; load() added them back as the old values and the
constructor refused them (TypeError), so none of its runs loaded."""

import numpy as np
import torch

import latentscm
import latentscm.worlds
from latentscm.learners.qlae import QLAE


class NarrowQLAE(QLAE):
    """QLAE with a constructor of its own: a fixed latent size, the default objective and encoder."""

    name = "narrow_qlae"

    def __init__(self, *, n_values: int = 5, channels=(8, 8), hidden_dim: int = 16, steps: int = 2,
                 batch_size: int = 8, seed: int = 0, device: str = "cpu"):
        super().__init__(latent_dim=3, n_values=n_values, channels=channels, hidden_dim=hidden_dim, steps=steps,
                         batch_size=batch_size, seed=seed, device=device)


def test_a_subclass_without_the_changed_parameters_loads(tmp_path):
    torch.set_num_threads(1)
    world = latentscm.worlds.make("sprites", size=16)
    model = NarrowQLAE().fit(world, n_samples=16, progress=False)
    model.save(str(tmp_path / "run"))
    loaded = latentscm.load(str(tmp_path / "run"), trust_code=True)
    assert type(loaded) is NarrowQLAE and loaded.encoder_norm == "instance" and loaded.objective == "mean"
    images = world.sample(4, seed=2).images
    np.testing.assert_array_equal(loaded.encode(images), model.encode(images))


def test_qlae_itself_still_loads_an_old_config_with_the_old_values():
    from latentscm.run import learner_from_config

    old = learner_from_config({"learner": {"class": "latentscm.learners.qlae:QLAE", "params": {"latent_dim": 3}}})
    assert (old.objective, old.encoder_norm) == ("sum", "none")
