"""QLAE's encoder blocks: the authors' instance-normalised encoder spreads its codes over the codebook at
initialisation, where the library's plain encoder leaves the sprites in one cell (in 9 of 10 latents, seed 1);
the collapse of the authors' 'mean' objective with the plain encoder starts there."""

import numpy as np
import pytest
import torch

import latentscm.worlds
from latentscm.learners import make
from latentscm.nn import ConvEncoder


def _initial_cells(encoder_norm: str) -> list[int]:
    world = latentscm.worlds.make("sprites", size=32)
    learner = make("qlae", encoder_norm=encoder_norm, steps=1, seed=1, objective="mean")
    learner._build((1, 32, 32), n_factors=len(world.factor_names))
    images = torch.from_numpy(world.sample(256, seed=0).images.astype(np.float32))
    with torch.no_grad():
        indices = learner.codebook_.nearest(learner.encoder_(images)).numpy()
    return [len(np.unique(indices[:, d])) for d in range(indices.shape[1])]


def test_the_instance_normalised_encoder_starts_spread_over_the_codebook():
    plain, normed = _initial_cells("none"), _initial_cells("instance")
    assert plain.count(1) >= 8 and max(plain) <= 2  # nearly every latent puts every sprite in one cell
    assert min(normed) >= 5


def test_the_plain_encoder_is_unchanged_and_bad_norms_are_named():
    plain = ConvEncoder((1, 32, 32), 6)
    assert [type(m).__name__ for m in plain.convs] == ["Conv2d", "ReLU"] * 4  # old weights still load
    normed = ConvEncoder((1, 16, 16), 6, norm="instance")  # the last map is one pixel: not normalised
    assert [type(m).__name__ for m in normed.convs][-2:] == ["Conv2d", "LeakyReLU"]
    with pytest.raises(ValueError, match="'norm' parameter of ConvEncoder"):
        ConvEncoder((1, 32, 32), 6, norm="batch")
    with pytest.raises(ValueError, match="'encoder_norm' parameter of QLAE"):
        make("qlae", encoder_norm="batch")


def test_a_run_recorded_before_the_parameters_existed_loads_and_resumes_as_trained(tmp_path):
    import json

    import latentscm

    world = latentscm.worlds.make("sprites", size=16)
    tiny = {"channels": (8, 8), "hidden_dim": 16, "batch_size": 8, "seed": 0}
    old = make("qlae", **tiny, steps=2, objective="sum", encoder_norm="none")
    old.fit(world, out=str(tmp_path / "run"), n_samples=16, checkpoint_every=1, progress=False)
    config_path = tmp_path / "run" / "config.json"
    config = json.loads(config_path.read_text())
    for key in ("objective", "encoder_norm"):  # as written before the two parameters existed
        del config["learner"]["params"][key]
    config_path.write_text(json.dumps(config))
    loaded = latentscm.load(str(tmp_path / "run"))  # today's defaults would build an encoder the weights misfit
    assert (loaded.objective, loaded.encoder_norm) == ("sum", "none")
    batch = world.sample(4, seed=1)
    np.testing.assert_array_equal(loaded.encode(batch.images), old.encode(batch.images))
    with pytest.raises(ValueError, match=r"encoder_norm: 'none' -> 'instance'.*objective: 'sum' -> 'mean'"):
        make("qlae", **tiny, steps=3).fit(world, out=str(tmp_path / "run"), resume=True, n_samples=16,
                                          progress=False)
    make("qlae", **tiny, steps=3, objective="sum", encoder_norm="none").fit(
        world, out=str(tmp_path / "run"), resume=True, n_samples=16, progress=False)
