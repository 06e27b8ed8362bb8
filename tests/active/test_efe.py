"""Expected free energy and the agents: enumeration, the decomposition into risk and ambiguity,
the planner choosing the action that reaches a determined goal, and the random baseline."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.active import EFEAgent, RandomAgent, compare_agents, enumerate_policies, expected_free_energy


def test_enumerate_policies():
    policies = enumerate_policies(3, 2)
    assert policies.shape == (9, 2) and policies.dtype == np.int64
    np.testing.assert_array_equal(policies[:4], [[0, 0], [0, 1], [0, 2], [1, 0]])
    assert len({tuple(p) for p in enumerate_policies(3, 3)}) == 27
    with pytest.raises(ValueError, match="more than 100000"):
        enumerate_policies(5, 8)
    with pytest.raises(ValueError, match="'horizon'"):
        enumerate_policies(3, 0)


@pytest.mark.parametrize("model_name", ["factorised", "entangled"])
def test_planner_picks_the_action_whose_prediction_is_the_goal(request, env, transitions, model_name):
    model = request.getfixturevalue(model_name)
    belief = tuple(b[0] for b in model.infer(transitions.images[:1]))
    for target in range(env.n_actions):
        # the preferred state is exactly what action `target` predicts: its risk is 0, every other > 0
        goal = tuple(b[0] for b in model.predict(belief[0][None], belief[1][None], np.array([target])))
        scores = expected_free_energy(model, belief, goal, enumerate_policies(env.n_actions, 1), ambiguity_weight=0.0)
        assert scores.risk[target] == pytest.approx(0.0, abs=1e-6)
        assert np.all(np.delete(scores.risk, target) > 1e-5)  # the other actions predict other beliefs
        agent = EFEAgent(model, horizon=1, ambiguity_weight=0.0)
        agent.belief_, agent.goal_ = belief, goal
        assert agent.act() == target


def test_expected_free_energy_adds_risk_and_weighted_ambiguity(env, transitions, factorised):
    belief = tuple(b[0] for b in factorised.infer(transitions.images[:1]))
    goal = tuple(b[0] for b in factorised.infer(transitions.images[1:2]))
    policies = enumerate_policies(env.n_actions, 2)
    scores = expected_free_energy(factorised, belief, goal, policies, ambiguity_weight=0.5)
    np.testing.assert_allclose(scores.total, scores.risk + 0.5 * scores.ambiguity)
    assert np.all(scores.ambiguity > 0) and np.all(scores.risk >= 0)
    # the risk of a two-step policy is the sum of the two one-step risks along its predicted beliefs
    m, lv = factorised.predict(belief[0][None], belief[1][None], np.array([1]))
    m2, lv2 = factorised.predict(m, lv, np.array([2]))
    first = expected_free_energy(factorised, belief, goal, np.array([[1]]), ambiguity_weight=0.0).risk[0]
    second = expected_free_energy(factorised, (m[0], lv[0]), goal, np.array([[2]]), ambiguity_weight=0.0).risk[0]
    index = int(np.flatnonzero((policies == [1, 2]).all(1))[0])
    assert scores.risk[index] == pytest.approx(first + second, rel=1e-5)
    with pytest.raises(ValueError, match="outside 0..2"):
        expected_free_energy(factorised, belief, goal, np.array([[3]]))
    with pytest.raises(ValueError, match="belief mean must be 5 finite numbers"):
        expected_free_energy(factorised, (np.zeros(4), np.zeros(4)), goal, policies)
    with pytest.raises(ValueError, match="'ambiguity_weight'"):
        EFEAgent(factorised, ambiguity_weight=-1.0)
    with pytest.raises(TypeError, match="must be a WorldModel"):
        EFEAgent("model")
    with pytest.raises(RuntimeError, match="before reset"):
        EFEAgent(factorised).act()


def test_random_agent_is_seeded_and_comparison_is_consistent(env, factorised):
    a = [RandomAgent(3, seed=4).act() for _ in range(1)]
    agent, again = RandomAgent(3, seed=4), RandomAgent(3, seed=4)
    assert [agent.act() for _ in range(20)] == [again.act() for _ in range(20)] and a[0] == RandomAgent(3, seed=4).act()
    result = compare_agents(env, {"efe": EFEAgent(factorised, horizon=1), "random": RandomAgent(3, seed=1)},
                            n_goals=3, max_steps=4, seed=0)
    for summary in result["agents"].values():
        reached = [r for r in summary["reached_at"] if r is not None]
        assert summary["success_rate"] == pytest.approx(len(reached) / 3)
        assert len(summary["reach_curve"]) == 5 and summary["reach_curve"][-1] == pytest.approx(summary["success_rate"])
        assert all(len(a) == (r if r is not None else 4) for a, r in zip(summary["actions"], summary["reached_at"]))
    assert np.isnan(result["agents"]["random"]["mean_free_energy"])
    assert np.isfinite(result["agents"]["efe"]["mean_complexity"])
    with pytest.raises(ValueError, match="at least one agent"):
        compare_agents(env, {}, n_goals=1, max_steps=1, seed=0)
