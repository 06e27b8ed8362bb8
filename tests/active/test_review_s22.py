"""Regressions of the s22 review of latentscm.active."""

import shutil

import numpy as np
import pytest

from latentscm.active import (
    EFEAgent,
    EpisodeResult,
    compare_agents,
    enumerate_policies,
    expected_free_energy,
    open_run,
    pose_visibility,
    replay,
    summarise_episodes,
    train_world_models,
)
from latentscm.active.world_model import gaussian_kl


@pytest.mark.parametrize(("codes", "match"), [(np.zeros((2, 4)), r"shape \(N, 5\)"), (np.zeros(5), "must be 2-D"),
                                              (np.full((1, 5), np.nan), "NaN")])
def test_decode_names_bad_codes(factorised, codes, match):
    with pytest.raises(ValueError, match=f"'codes' argument of FactorisedModel.decode.*{match}"):
        factorised.decode(codes)


def test_predict_refuses_empty_and_non_finite_beliefs(factorised):
    with pytest.raises(ValueError, match="'mean' argument of FactorisedModel.predict needs at least 1 rows"):
        factorised.predict(np.zeros((0, 5)), np.zeros((0, 5)), np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="'mean' argument of FactorisedModel.predict contains NaN"):
        factorised.predict(np.full((1, 5), np.nan), np.zeros((1, 5)), [0])
    with pytest.raises(ValueError, match="'logvar' argument of FactorisedModel.predict contains NaN"):
        factorised.predict(np.zeros((1, 5)), np.full((1, 5), np.inf), [0])


def test_risk_of_a_sharp_goal_is_finite_and_exact(env, transitions, factorised):
    # in float32 exp(-100) underflows: every risk was inf and the agent took action 0 whatever the beliefs
    import torch

    belief = tuple(b[0] for b in factorised.infer(transitions.images[:1]))
    goal = (factorised.infer(transitions.images[1:2])[0][0], np.full(5, -100.0))
    scores = expected_free_energy(factorised, belief, goal, enumerate_policies(env.n_actions, 1), ambiguity_weight=0)
    assert np.all(np.isfinite(scores.risk))
    exact = []
    for action in range(env.n_actions):
        mean, logvar = factorised.predict(belief[0][None], belief[1][None], np.array([action]))
        parts = (mean, logvar, goal[0][None], goal[1][None])
        exact.append(float(gaussian_kl(*(torch.tensor(p, dtype=torch.float64) for p in parts))[0]))
    np.testing.assert_allclose(scores.risk, exact, rtol=1e-6)
    agent = EFEAgent(factorised, horizon=1, ambiguity_weight=0.0)
    agent.belief_, agent.goal_ = belief, goal
    assert agent.act() == int(np.argmin(exact))


def test_policies_of_horizon_zero_are_refused(factorised, transitions):
    belief = tuple(b[0] for b in factorised.infer(transitions.images[:1]))
    with pytest.raises(ValueError, match=r"non-empty \(P, H\) int array. Got int64 \(3, 0\)"):
        expected_free_energy(factorised, belief, belief, np.zeros((3, 0), dtype=np.int64))


def test_summarise_episodes_checks_max_steps():
    def episode(n, reached):
        return EpisodeResult(np.zeros(n, dtype=np.int64), np.zeros(n + 1, dtype=np.int64), reached, np.zeros(0),
                             np.zeros(0))

    episodes = [episode(5, None), episode(4, 4)]
    assert summarise_episodes(episodes, 5)["mean_steps"] == pytest.approx(4.5)
    with pytest.raises(ValueError, match="'max_steps' parameter of summarise_episodes must be an int >= 1"):
        summarise_episodes(episodes, 0)
    with pytest.raises(ValueError, match=r"summarise_episodes \(2\) is below the 5 actions"):
        summarise_episodes(episodes, 2)


def test_open_run_detects_a_swapped_model_file(tmp_path):
    tiny = {"channels": [4, 4], "hidden_dim": 8, "transition_hidden": 4, "batch_size": 8, "steps": 1}
    run = tmp_path / "run"
    train_world_models(run, world_options={"size": 16}, n_transitions=8, n_held_out=4,
                       models={"factorised": {"shape_dim": 2, "pose_dim": 1, **tiny},
                               "entangled": {"latent_dim": 3, **tiny}})
    assert set(open_run(run)[1]) == {"factorised", "entangled"}
    shutil.copyfile(run / "entangled.pt", run / "factorised.pt")
    with pytest.raises(ValueError, match="factorised.pt' does not hold the model 'factorised'"):
        open_run(run)


def test_replay_and_pose_visibility_name_bad_input(env, factorised):
    with pytest.raises(ValueError, match="start state of PoseEnvironment needs 6 factors"):
        replay(env, [1.0, 2.0], [0])
    with pytest.raises(TypeError, match="replay needs a PoseEnvironment"):
        replay("shapes3d", np.zeros(6), [0])
    with pytest.raises(TypeError, match="'env' argument of pose_visibility must be a PoseEnvironment"):
        pose_visibility(factorised, "shapes3d")


def test_agent_reset_takes_one_image_and_compare_agents_an_int_seed(factorised, env):
    """EFEAgent.reset used the first of several goal images without a word; compare_agents(seed=Generator)
    failed with a bare TypeError from int()."""
    agent = EFEAgent(factorised, horizon=1)
    observation, goal_image = env.reset(*env.random_task(np.random.default_rng(0)))
    two = np.concatenate([np.asarray(goal_image).reshape(1, *env.world.image_shape)] * 2)
    with pytest.raises(ValueError, match="'goal_image' argument of EFEAgent.reset must be one image"):
        agent.reset(observation, two)
    agent.reset(observation, goal_image)
    with pytest.raises(TypeError, match="'seed'"):
        compare_agents(env, {"efe": agent}, n_goals=1, max_steps=1, seed=np.random.default_rng(0))
