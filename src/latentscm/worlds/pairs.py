"""Exact counterfactual pairs: the weak supervision of Locatello et al. (ICML 2020).

"Weakly-Supervised Disentanglement Without Compromises" (Locatello, Poole, Rätsch, Schölkopf,
Bachem & Tschannen) trains on pairs of observations ``(x1, x2)`` that differ in a few factors of
variation (``k`` of them, or a random number ``k ~ U{1, ..., K - 1}``) and share the others, with no
label saying which. They build the pairs by resampling ``k`` factors of a first sample and rendering
again; a world here does the same exactly, with :meth:`World.counterfactual`: the second image keeps
the first's exogenous noise and rendering noise, ``k`` factors are set to other values, and their
descendants (in a world with causal edges) follow the world's mechanisms, as in the pre/post
intervention pairs of Brehmer, de Haan, Lippe & Cohen (NeurIPS 2022), "Weakly supervised causal
representation learning".

:func:`counterfactual_pairs` returns the second batch. Its ``targets`` mark the factors set by the
intervention; :func:`changed_factors` marks every factor whose value differs (targets and, in a
causal world, the descendants that moved).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from latentscm._validation import as_generator, check_number

__all__ = ["counterfactual_pairs", "changed_factors", "changeable_factors", "check_pair_changes", "CounterfactualPairs",
           "PAIR_CHANGES"]

#: The choice of ``changes`` that draws k uniformly from 1 ... K - 1 for each pair (Locatello et al.'s "Rnd").
PAIR_CHANGES = "random"


class CounterfactualPairs(NamedTuple):
    """The second halves of N pairs; row i is the partner of row i of the batch they were made from."""

    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    factors: np.ndarray  # (N, K) the partner's factors
    targets: np.ndarray  # (N, K) bool: the factors intervened on


def changeable_factors(world: Any) -> list[int]:
    """Indices of the factors of ``world`` that can take another value (a one-value grid cannot change)."""
    return [j for j, name in enumerate(world.factor_names) if world.spec(name).size != 1]


def check_pair_changes(changes: Any, name: str, owner: str, n_free: int | None = None) -> int | str:
    """``changes`` as ``"random"`` or an int >= 1 (at most ``n_free`` when given); errors name ``name``."""
    if isinstance(changes, str):
        if changes != PAIR_CHANGES:
            raise ValueError(f"The '{name}' argument of {owner} must be {PAIR_CHANGES!r} or a number of factors >= 1. "
                             f"Got {changes!r}.")
        return changes
    changes = check_number(changes, name, owner, low=1, integer=True)
    if n_free is not None and changes > n_free:
        raise ValueError(f"The '{name}' argument of {owner} is {changes}, but the world has {n_free} factor(s) that "
                         f"can change.")
    return changes


def counterfactual_pairs(world: Any, batch: Any, *, changes: int | str = PAIR_CHANGES,
                         seed: int | np.random.Generator = 0) -> CounterfactualPairs:
    """The exact partner of every sample of ``batch``: the same sample with ``changes`` factors set
    to other values (``World.counterfactual``).

    Parameters
    ----------
    world : World
        The world ``batch`` was sampled from.
    batch : Batch
        N samples (their noise is what the counterfactual keeps).
    changes : int or "random", default "random"
        How many factors each pair differs in by intervention: a fixed number, or ``"random"``, a
        number drawn uniformly from 1 ... K - 1 per pair (K: the factors that can change; 1 when
        K = 1). The factors are drawn uniformly without replacement; each gets another value
        (:meth:`FactorSpec.other_values`: another grid value, or a shift of 25-75% of a continuous
        range, so every pair really differs in each of them).
    seed : int or numpy Generator
        Seeds which factors change and their new values.

    Returns
    -------
    CounterfactualPairs
        Row i the partner of row i of ``batch``, in its domain and regime: images (N, C, H, W),
        factors (N, K) and ``targets`` (N, K) marking the factors intervened on.
    """
    from latentscm.worlds.base import Batch, World

    owner = "counterfactual_pairs"
    if not isinstance(world, World):
        raise TypeError(f"The 'world' argument of {owner} must be a World. Got {type(world).__name__}.")
    if not isinstance(batch, Batch):
        raise TypeError(f"The 'batch' argument of {owner} must be a Batch sampled from the world. "
                        f"Got {type(batch).__name__}.")
    free = changeable_factors(world)
    if not free:
        raise ValueError(f"{owner}: world {world.name!r} has no factor that can take another value.")
    changes = check_pair_changes(changes, "changes", owner, len(free))
    rng = as_generator(seed)
    n = len(batch)
    if changes == PAIR_CHANGES:
        counts = rng.integers(1, max(len(free) - 1, 1) + 1, size=n)
    else:
        counts = np.full(n, int(changes))
    # which factors each pair changes: the first counts[i] of a random permutation of the free factors
    keys = rng.random((n, len(free)))
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    chosen = np.zeros((n, len(world.factor_names)), dtype=bool)
    chosen[:, free] = ranks < counts[:, None]
    images = np.empty_like(batch.images)
    factors = np.empty_like(batch.factors)
    for mask in np.unique(chosen, axis=0):  # one counterfactual per set of changed factors
        index = np.flatnonzero(np.all(chosen == mask, axis=1))
        part = batch[index]
        interventions = {}
        for j in np.flatnonzero(mask):
            name = world.factor_names[j]
            interventions[name] = world.spec(name).other_values(part.factors[:, j], rng)
        partner = world.counterfactual(part, interventions)
        images[index], factors[index] = partner.images, partner.factors
    return CounterfactualPairs(images, factors, chosen)


def changed_factors(first: np.ndarray, second: np.ndarray, *, rtol: float = 1e-9) -> np.ndarray:
    """(N, K) bool: the factors whose values differ between the two halves of each pair (factors (N, K) each)."""
    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if first.shape != second.shape or first.ndim != 2:
        raise ValueError(f"changed_factors needs two factor arrays of one shape (N, K). Got {first.shape} and "
                         f"{second.shape}.")
    scale = np.maximum(np.abs(first), np.abs(second))
    return np.abs(first - second) > rtol * np.maximum(scale, 1.0)
