import numpy as np
import pytest

from latentscm.active.pose_visibility import pose_visibility


class _Blind:
    """Posterior that ignores the image: its means never move."""

    def infer(self, images):
        n = len(images)
        return np.zeros((n, 3)), np.zeros((n, 3))


class _Projection:
    """Posterior means = a fixed random projection of the pixels, with a tiny posterior std."""

    def __init__(self, n_pixels: int, scale: float):
        self.weights = np.random.default_rng(0).standard_normal((n_pixels, 3))
        self.scale = scale

    def infer(self, images):
        flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
        return flat @ self.weights, np.full((len(images), 3), 2 * np.log(self.scale))


def test_a_blind_model_has_zero_visibility_and_a_projection_sees_the_pose(env):
    blind = pose_visibility(_Blind(), env, n_states=3, seed=0)
    assert blind["pose_factors"] == ["orientation"]
    assert np.array(blind["visibility"]).shape == (1, 3)
    assert blind["best_unit_visibility"] == [0.0]
    # the pixels do move with the camera, more between the grid's ends than between neighbours
    assert 0 < blind["pixel_adjacent"][0] < blind["pixel_ends"][0]
    n_pixels = int(np.prod(env.render(env.world.sample(1, seed=0).factors).shape[1:]))
    sharp = pose_visibility(_Projection(n_pixels, 1e-3), env, n_states=3, seed=0)
    vague = pose_visibility(_Projection(n_pixels, 1e3), env, n_states=3, seed=0)
    assert sharp["best_unit_visibility"][0] > 1.0 > vague["best_unit_visibility"][0]
    # the same states whatever the model: the pixel numbers agree, and the ratio scales with 1 / sigma
    assert sharp["pixel_ends"] == blind["pixel_ends"]
    np.testing.assert_allclose(np.array(sharp["visibility"]) / np.array(vague["visibility"]), 1e6, rtol=1e-9)


def test_fitted_model_and_bad_input(env, factorised):
    result = pose_visibility(factorised, env, n_states=2, seed=1)
    assert np.array(result["visibility"]).shape == (1, factorised.latent_size)
    assert result == pose_visibility(factorised, env, n_states=2, seed=1)
    with pytest.raises(TypeError, match="infer"):
        pose_visibility(object(), env)
    with pytest.raises(ValueError, match="n_states"):
        pose_visibility(factorised, env, n_states=0)


def test_pose_visibility_takes_an_int_seed_it_can_record(env):
    import json

    json.dumps(pose_visibility(_Blind(), env, n_states=2, seed=3))  # the result, its seed included, is JSON
    with pytest.raises(TypeError, match="'seed' argument of pose_visibility"):
        pose_visibility(_Blind(), env, n_states=2, seed=np.random.default_rng(0))
    with pytest.raises(ValueError, match="seed"):
        pose_visibility(_Blind(), env, n_states=2, seed=-1)
