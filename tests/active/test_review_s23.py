"""Regressions of the s23 review of latentscm.active."""

import numpy as np
import pytest
import torch

from latentscm.active import EFEAgent, FactorisedModel, NotFittedError, evaluate_run, load_world_model, replay

from .conftest import TINY


def test_a_fit_that_fails_leaves_the_model_unfitted(tmp_path, env, transitions):
    diverging = dict(TINY, steps=40)
    model = FactorisedModel(shape_dim=3, pose_dim=2, lr=1e9, **diverging)
    with pytest.raises(FloatingPointError, match="lower 'lr'"):
        model.fit(transitions, n_actions=env.n_actions)
    # the half-trained networks used to stay: infer gave NaN beliefs, EFEAgent and save accepted the model
    with pytest.raises(NotFittedError):
        model.infer(transitions.images[:1])
    with pytest.raises(NotFittedError):
        EFEAgent(model)
    fitted = FactorisedModel(shape_dim=3, pose_dim=2, **TINY).fit(transitions, n_actions=env.n_actions)
    fitted.lr, fitted.steps = 1e9, 40
    with pytest.raises(FloatingPointError):
        fitted.fit(transitions, n_actions=env.n_actions)
    assert not hasattr(fitted, "history_")  # not the earlier fit's history next to other weights
    with pytest.raises(NotFittedError):
        fitted.save(tmp_path / "model.pt")


def test_observe_before_reset_is_named(factorised, transitions):
    with pytest.raises(RuntimeError, match="EFEAgent.observe called before reset"):
        EFEAgent(factorised, horizon=1).observe(transitions.images[0])


@pytest.mark.parametrize("call", ["infer", "free_energy"])
def test_images_outside_the_unit_range_are_refused(factorised, transitions, call):
    with pytest.raises(ValueError, match=r"'images' argument of FactorisedModel must be pixel intensities in \[0, 1\]"):
        getattr(factorised, call)(transitions.images[:2] * 255.0)


def test_a_damaged_model_file_is_refused_and_an_old_one_loads(tmp_path, factorised, transitions):
    path = factorised.save(tmp_path / "model.pt")
    state = torch.load(path, weights_only=True)
    weight = next(key for key, value in state["weights"].items() if value.is_floating_point() and value.numel() > 8)
    state["weights"][weight].view(-1)[3] += 1.0  # one weight changed, the recorded digest kept
    torch.save(state, tmp_path / "damaged.pt")
    with pytest.raises(ValueError, match="damaged.pt' is a damaged world-model file"):
        load_world_model(tmp_path / "damaged.pt")
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    (tmp_path / "flipped.pt").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="flipped.pt'"):
        load_world_model(tmp_path / "flipped.pt")
    old = torch.load(path, weights_only=True)
    del old["sha256"]  # a file written before digests were recorded
    torch.save(old, tmp_path / "old.pt")
    loaded = load_world_model(tmp_path / "old.pt")
    np.testing.assert_array_equal(loaded.infer(transitions.images[:2])[0], factorised.infer(transitions.images[:2])[0])


@pytest.mark.parametrize(("actions", "dtype"), [([0.9, 1.0], "float64"), ([True], "bool")])
def test_replay_refuses_actions_that_are_not_ints(env, actions, dtype):
    start, _ = env.random_task(0)
    # they were cast to int64 first: 0.9 became "stay" without a word
    with pytest.raises(TypeError, match=f"Actions of PoseEnvironment must be ints in 0..2. Got dtype {dtype}"):
        replay(env, start, actions)
    assert replay(env, start, [1, 2]).shape[0] == 3 and replay(env, start, []).shape[0] == 1


@pytest.mark.parametrize(("seed", "error"), [("7", TypeError), (1.5, TypeError), (-3, ValueError)])
def test_evaluate_run_names_a_bad_seed_as_given(tmp_path, seed, error):
    # seed + 1 came first: "can only concatenate str", or RandomAgent's seed reported as 2.5 / -2
    with pytest.raises(error, match=f"'seed' parameter of evaluate_run must be an int >= 0. Got {seed!r}"):
        evaluate_run(tmp_path / "no-run", seed=seed)
