"""Reading the graph of an implicit latent causal model: exact on solution functions that solve a known linear SCM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentscm.learners.implicit_graph import causal_effects, dependence, graph_from_effects, topological_order
from latentscm.nn.solution_functions import SolutionFunctions

# z_i = sum_j B[j, i] z_j + e_i over 4 variables, in the topological order 2, 0, 3, 1:
# 2 -> 0 (weight 2), 0 -> 1 (weight -1), 2 -> 3 (weight 0.5)
WEIGHTS = np.zeros((4, 4))
WEIGHTS[2, 0], WEIGHTS[0, 1], WEIGHTS[2, 3] = 2.0, -1.0, 0.5
EDGES = {("z2", "z0"), ("z0", "z1"), ("z2", "z3")}


def _solving(weights: np.ndarray) -> SolutionFunctions:
    """Solution functions with z = M e, M = (I - B^T)^-1: z_i = e_i + sum_{j != i} M[i, j] e_j (shift -M[i, j] e_j,
    scale 1 up to the 1e-9 floor), built from one linear layer each."""
    dim = weights.shape[0]
    solve = np.linalg.inv(np.eye(dim) - weights.T)
    solutions = SolutionFunctions(dim, layers=0, min_scale=1e-9)
    with torch.no_grad():
        for i, net in enumerate(solutions.nets):
            layer = net.layers[-1]
            layer.weight.zero_()
            layer.bias.zero_()
            for j in range(dim):
                if j != i:
                    layer.weight[1, j] = -solve[i, j]
    return solutions


def _noise(n: int = 4000, dim: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_the_built_functions_solve_the_scm():
    solutions, noise = _solving(WEIGHTS), _noise(50)
    z = solutions.solve(noise)[0].detach().double().numpy()
    e = noise.double().numpy()
    np.testing.assert_allclose(z, e + z @ WEIGHTS, atol=1e-5)


def _is_topological(order: list[int], weights: np.ndarray) -> bool:
    position = {v: k for k, v in enumerate(order)}
    return all(position[j] < position[i] for j, i in zip(*np.nonzero(weights)))


def test_topological_order_and_effects_recover_the_graph():
    solutions, noise = _solving(WEIGHTS), _noise()
    order = topological_order(solutions, noise, seed=0)
    assert sorted(order) == [0, 1, 2, 3] and _is_topological(order, WEIGHTS)
    effects = causal_effects(solutions, noise, order, seed=0)
    for j, i in zip(*np.nonzero(WEIGHTS)):
        assert effects[j, i] > 0.3, (j, i, effects)
    # z1 depends on z2 only through z0: given its predecessors' values, its mechanism ignores z2
    assert effects[2, 1] < 1e-10 and effects[3, 1] < 1e-10
    graph = graph_from_effects(effects, 0.1, [f"z{i}" for i in range(4)])
    assert set(graph.edges) == EDGES
    assert graph_from_effects(effects, 1e6, [f"z{i}" for i in range(4)]).edges == ()


def test_effects_vanish_for_independent_variables_and_are_only_forward_in_the_order():
    solutions, noise = _solving(np.zeros((3, 3))), _noise(dim=3)
    order = topological_order(solutions, noise, seed=1)
    effects = causal_effects(solutions, noise, order, seed=1)
    assert np.all(effects < 1e-10)
    chain = np.zeros((3, 3))
    chain[0, 1] = chain[1, 2] = 1.0
    effects = causal_effects(_solving(chain), noise, [0, 1, 2], seed=1)
    assert np.all(effects[np.tril_indices(3)] == 0.0)  # nothing backwards or on the diagonal
    assert effects[0, 1] > 0.3 and effects[1, 2] > 0.3 and effects[0, 2] < 1e-10


def test_dependence_is_about_twice_the_explained_variance_share():
    x = _noise(20000, 2, seed=3)
    generator = torch.Generator().manual_seed(0)
    # f = x0 + 0.5 x1: x1 explains 0.2 of the variance, so shuffling it moves f by 2 * 0.2 of its variance
    got = dependence(lambda t: t[:, 0] + 0.5 * t[:, 1], x, 1, generator)
    assert got == pytest.approx(0.4, abs=0.03)
    assert dependence(lambda t: t[:, 0], x, 1, generator) == 0.0
