"""s25: counterfactuals (abduction, action, prediction) against exact computation: the closed form of
linear-Gaussian SCMs, a recursion with the true noise for additive-noise SCMs, and consistency
(intervening on the factual value returns the factual world)."""

import numpy as np
import pytest

from latentscm.interventions import Do, Scale, Shift
from latentscm.scm import LinearGaussian, random_scm


def _linear_world(scm, noise, hard):
    """x = B^T x + u with equation j replaced by x_j = hard[j]; noise (N, d) -> values (N, d)."""
    nodes = list(scm.nodes)
    weights = np.zeros((len(nodes), len(nodes)))
    for j, name in enumerate(nodes):
        mechanism = scm.mechanisms[name]
        if isinstance(mechanism, LinearGaussian):
            for parent, w in zip(scm.parent_order(name), mechanism.weights):
                weights[nodes.index(parent), j] = w
    exogenous = noise.copy()
    for name, value in hard.items():
        weights[:, nodes.index(name)] = 0.0
        exogenous[:, nodes.index(name)] = value
    return np.linalg.solve(np.eye(len(nodes)) - weights.T, exogenous.T).T


@pytest.mark.parametrize("seed", range(25))
def test_linear_gaussian_counterfactual_matches_the_closed_form(seed):
    rng = np.random.default_rng(seed)
    scm = random_scm(int(rng.integers(2, 8)), edge_prob=0.6, mechanism="linear", seed=seed)
    noise = scm.sample_noise(30, seed=seed + 100)
    values = scm.evaluate(noise)
    targets = [str(t) for t in rng.choice(scm.nodes, size=min(2, len(scm.nodes)), replace=False)]
    hard = {t: float(rng.normal()) for t in targets}
    result = scm.counterfactual(values, hard)
    expected = _linear_world(scm, np.stack([noise[n] for n in scm.nodes], axis=1), hard)
    assert np.allclose(np.stack([result[n] for n in scm.nodes], axis=1), expected, atol=1e-9)


@pytest.mark.parametrize("seed", range(25))
def test_additive_noise_counterfactual_matches_recursion_with_true_noise(seed):
    rng = np.random.default_rng(seed)
    scm = random_scm(int(rng.integers(2, 8)), edge_prob=0.6, mechanism="nonlinear", seed=seed)
    noise = scm.sample_noise(30, seed=seed + 100)
    values = scm.evaluate(noise)
    target = str(rng.choice(scm.nodes))
    for intervention, after in ((Do(0.7), lambda v: np.full_like(v, 0.7)), (Shift(-0.4), lambda v: v - 0.4),
                                (Scale(1.5), lambda v: 1.5 * v)):
        result = scm.counterfactual(values, {target: intervention})
        changed = scm.graph.descendants_of(target)
        world: dict[str, np.ndarray] = {}
        for name in scm.graph.topological_order():
            if name not in changed:
                world[name] = values[name]
                continue
            parents = scm.parent_order(name)
            columns = np.stack([world[p] for p in parents], axis=1) if parents else np.zeros((30, 0))
            world[name] = scm.mechanisms[name].evaluate(columns, noise[name])
            if name == target:
                world[name] = after(world[name])
        for name in scm.nodes:
            assert np.allclose(result[name], world[name], atol=1e-9), (intervention, name)
            if name not in changed:
                assert np.array_equal(result[name], values[name])


@pytest.mark.parametrize("mechanism", ["linear", "nonlinear"])
def test_intervening_on_the_factual_value_returns_the_factual_world(mechanism):
    for seed in range(20):
        scm = random_scm(6, edge_prob=0.5, mechanism=mechanism, seed=seed)
        values = scm.sample(25, seed=seed)
        targets = list(scm.nodes[: 1 + seed % 3])
        for interventions in ({t: Do(values[t]) for t in targets}, {targets[0]: Shift(0.0)},
                              {targets[0]: Scale(1.0)}):
            result = scm.counterfactual(values, interventions)
            for name in scm.nodes:
                assert np.allclose(result[name], values[name], atol=1e-10), (seed, interventions, name)
