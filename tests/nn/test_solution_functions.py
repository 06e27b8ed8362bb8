"""Solution functions of an implicit latent causal model: solve, invert, and the intervened noise density."""

from __future__ import annotations

import math

import torch

from latentscm.nn.solution_functions import SolutionFunctions


def _random(dim: int = 3, seed: int = 0) -> SolutionFunctions:
    torch.manual_seed(seed)
    solutions = SolutionFunctions(dim, hidden=8, layers=1, min_scale=0.2, initial_log_scale=0.0)
    with torch.no_grad():  # a context dependence well away from the near-constant initialisation
        for net in solutions.nets:
            net.layers[-1].weight.normal_(0.0, 0.5)
    return solutions


def test_solve_is_the_affine_map_of_each_functions_scale_and_shift():
    solutions = _random()
    noise = torch.randn(7, 3, generator=torch.Generator().manual_seed(1))
    z, log_det = solutions.solve(noise)
    for i in range(3):
        scale, shift = solutions._parameters_of(i, noise)
        torch.testing.assert_close(z[:, i], (noise[:, i] - shift) / scale)
        torch.testing.assert_close(log_det[:, i], -scale.log())
        torch.testing.assert_close(solutions.solve_one(i, noise[:, i], noise), z[:, i])
        assert bool((scale > 0.2).all())


def test_a_function_never_reads_its_own_noise():
    solutions = _random()
    noise = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    moved = noise.clone()
    moved[:, 1] += 3.0
    for i, same in ((1, True), (0, False)):
        a, b = solutions._parameters_of(i, noise), solutions._parameters_of(i, moved)
        assert torch.allclose(a[0], b[0]) == same and torch.allclose(a[1], b[1]) == same


def test_log_det_is_the_derivative_of_the_solution_in_its_own_noise():
    solutions = _random()
    noise = torch.randn(4, 3, generator=torch.Generator().manual_seed(3), requires_grad=True)
    context = noise.detach().clone()
    z, log_det = solutions.solve(noise, context=context)
    for i in range(3):
        (grad,) = torch.autograd.grad(z[:, i].sum(), noise, retain_graph=True)
        torch.testing.assert_close(grad[:, i].abs().log(), log_det[:, i])


def test_intervened_log_prob_is_a_standard_normal_z_times_the_jacobian():
    solutions = _random()
    g = torch.Generator().manual_seed(4)
    pre, post = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    got = solutions.intervened_log_prob(post, pre)
    z, log_det = solutions.solve(post, context=pre)
    expected = torch.distributions.Normal(0.0, 1.0).log_prob(z) + log_det
    torch.testing.assert_close(got, expected)
    # the density integrates to one over the intervened noise (trapezoid rule on a wide grid, one row)
    grid = torch.linspace(-200, 200, 200_001)
    rows = pre[:1].expand(grid.shape[0], 3).clone()
    probe = rows.clone()
    probe[:, 2] = grid
    with torch.no_grad():
        density = solutions.intervened_log_prob(probe, rows)[:, 2].exp()
    assert math.isclose(float(torch.trapezoid(density, grid)), 1.0, rel_tol=1e-3)


def test_invert_is_exact_in_one_sweep_for_an_acyclic_model_in_its_order():
    solutions = _random(dim=4, seed=5)
    order = [2, 0, 3, 1]
    masks = torch.zeros(4, 4)
    for position, i in enumerate(order):  # each function sees only the variables before it in the order
        masks[i, order[:position]] = 1.0
    solutions.context_masks.copy_(masks)
    noise = torch.randn(9, 4, generator=torch.Generator().manual_seed(6))
    z = solutions.solve(noise)[0]
    torch.testing.assert_close(solutions.invert(z, order, sweeps=1), noise)
    # in another order one sweep is not enough, and the repeated sweeps still reach the noise
    assert not torch.allclose(solutions.invert(z, [0, 1, 2, 3], sweeps=1, newton_steps=0), noise, atol=1e-4)
    torch.testing.assert_close(solutions.invert(z, [0, 1, 2, 3], newton_steps=0), noise, atol=1e-5, rtol=0)
    # one sweep in the wrong order followed by Newton steps also solves it
    torch.testing.assert_close(solutions.invert(z, [0, 1, 2, 3], sweeps=1), noise, atol=1e-5, rtol=0)
