"""Reading a causal graph out of an implicit latent causal model's solution functions.

An ILCM (:mod:`latentscm.learners.ilcm`) has no graph, only solution functions
``z_i = s_i(e_i; e_{\\i})`` (:class:`~latentscm.nn.solution_functions.SolutionFunctions`). Brehmer et
al. (NeurIPS 2022, section 5 and appendix) read the graph back in two steps, reimplemented here:

1. **Topological order.** In an acyclic model a root's solution depends on its own noise only. The
   order is built greedily: among the variables left, the next is the one whose solution depends
   least on the other remaining variables' noise (summed :func:`dependence`).
2. **Causal effects.** With the order fixed, the mechanism of ``z_i`` is ``s_i`` with the noise of
   its predecessors computed from their causal values (inverting their solution functions in
   order) and every other noise value replaced by an independent draw (each column shuffled across
   the sample). ``effects[j, i]`` is how much that mechanism's output moves when ``z_j`` is
   shuffled across the sample (:func:`dependence`), for ``j`` before ``i``; edges are the effects
   above a threshold. Effects are only computed forward in the order, so the graph is acyclic.

:func:`dependence` is the mean squared change of the function's output, in units of the output's own
standard deviation (clamped below at 0.1), when one input column is permuted: about twice the share
of the output's variance that input explains.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from latentscm.graph import CausalGraph

__all__ = ["dependence", "topological_order", "causal_effects", "graph_from_effects"]


def dependence(function: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor, column: int,
               generator: torch.Generator) -> float:
    """How strongly ``function`` ((N, P) -> (N,)) depends on ``inputs[:, column]`` (``inputs`` (N, P)):
    the mean squared change of its standardised output when that column is permuted across rows."""
    shuffled = inputs.clone()
    shuffled[:, column] = inputs[torch.randperm(inputs.shape[0], generator=generator), column]
    plain, moved = function(inputs), function(shuffled)
    centre, spread = plain.mean(), plain.std().clamp(min=0.1)
    return float((((plain - centre) - (moved - centre)) / spread).pow(2).mean())


def _shuffled_columns(noise: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``noise`` (N, D) with each column permuted independently: draws from the product of the marginals."""
    return torch.stack([noise[torch.randperm(noise.shape[0], generator=generator), j]
                        for j in range(noise.shape[1])], dim=1)


@torch.no_grad()
def topological_order(solutions, noise: torch.Tensor, *, seed: int = 0) -> list[int]:
    """A topological order of the ILCM's variables from its ``solutions``
    (:class:`~latentscm.nn.solution_functions.SolutionFunctions`) on noise encodings ``noise`` (N, D)."""
    generator = torch.Generator().manual_seed(int(seed))
    dim = noise.shape[1]
    scores: dict[tuple[int, int], float] = {}

    def score(i: int, j: int) -> float:
        if (i, j) not in scores:
            def z_i(context: torch.Tensor) -> torch.Tensor:
                return solutions.solve_one(i, noise[:, i], context)

            scores[i, j] = dependence(z_i, noise, j, generator)
        return scores[i, j]

    order: list[int] = []
    left = list(range(dim))
    while left:
        best = min(left, key=lambda i: sum(score(i, j) for j in left if j != i))
        order.append(best)
        left.remove(best)
    return order


@torch.no_grad()
def causal_effects(solutions, noise: torch.Tensor, order: Sequence[int], *, seed: int = 0) -> np.ndarray:
    """(D, D) float64: ``effects[j, i]``, how strongly ``z_j`` drives ``z_i``'s mechanism (0 unless ``j``
    comes before ``i`` in ``order``), from noise encodings ``noise`` (N, D)."""
    generator = torch.Generator().manual_seed(int(seed))
    order = [int(i) for i in order]
    dim = noise.shape[1]
    z = solutions.solve(noise)[0]
    background = _shuffled_columns(noise, generator)
    effects = np.zeros((dim, dim))
    for position, i in enumerate(order):
        before = order[:position]

        def mechanism(causal: torch.Tensor, i: int = i, before: list[int] = before) -> torch.Tensor:
            context = background.clone()
            for a in before:  # predecessors' noise from their causal values, in order
                context[:, a] = solutions.invert_one(a, causal[:, a], context)
            return solutions.solve_one(i, noise[:, i], context)

        for j in before:
            effects[j, i] = dependence(mechanism, z, j, generator)
    return effects


def graph_from_effects(effects: np.ndarray, threshold: float, names: Sequence[str]) -> CausalGraph:
    """The graph with an edge ``names[j] -> names[i]`` wherever ``effects[j, i] > threshold``."""
    edges = [(names[j], names[i]) for j, i in zip(*np.nonzero(np.asarray(effects) > threshold))]
    return CausalGraph(edges, nodes=list(names))
