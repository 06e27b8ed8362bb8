"""BOSS: Best Order Score Search.

Andrews, Ramsey, Sanchez-Romero, Camchong & Kummerfeld (2023), "Fast scalable and accurate discovery of DAGs using
the best order score search and grow-shrink trees", NeurIPS. A search over variable *orders* rather than graphs:

* **The DAG of an order.** Each variable takes as parents a subset of the variables before it, chosen by
  grow-shrink on its local score: add the predecessor that raises the score most while one does, then remove the
  parent whose removal raises it most while one does (the paper's grow-shrink trees cache exactly these choices;
  here they are cached per (variable, set of predecessors)). The order's score is the sum of the local scores.
* **Better mutation.** For one variable, the score of the order with that variable moved to each of the d
  positions; it moves to the best one if that beats its current place. A sweep mutates every variable once, in a
  seeded random order; sweeps repeat until none improves.
* **BES** (``bes=True``, as Tetrad's BOSS; causal-learn's ``boss`` omits it): GES's backward phase on the CPDAG of
  the order's DAG (:func:`~latentscm.discovery.ges.greedy_phase`); a topological order of a member DAG of its
  result becomes the new order when that order's DAG scores more, and the sweeps start again. Stops when neither
  improves. The result is always the DAG of an order (as Tetrad's), as its CPDAG.
* ``n_starts`` random initial orders (seeded); the best-scoring result is returned.

The score is GES's linear-Gaussian BIC (:class:`~latentscm.discovery.scores.GaussianBIC`) or, for categorical
data, BDeu (:class:`~latentscm.discovery.scores.BDeu`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.discovery.ges import (
    _topological_order,
    consistent_extension,
    cpdag_from_dag,
    greedy_phase,
    score_setup,
)
from latentscm.discovery.result import DiscoveredGraph
from latentscm.discovery.scores import LocalScore

__all__ = ["boss", "grow_shrink"]


def grow_shrink(scorer: LocalScore, y: int, candidates: int, cache: dict[tuple[int, int], tuple[float, int]]
                ) -> tuple[float, int]:
    """The local score of ``y`` and its parent set (bit mask) chosen among ``candidates`` (bit mask) by
    grow-shrink: greedy additions while one raises the score, then greedy removals while one raises it. Ties go
    to the lowest index. Results are cached in ``cache`` under ``(y, candidates)``."""
    key = (y, candidates)
    found = cache.get(key)
    if found is not None:
        return found
    parents, best = 0, scorer.local_mask(y, 0)
    pool = [v for v in range(scorer.n_nodes) if candidates >> v & 1]
    while True:
        choice, top = None, best
        for v in pool:
            if not parents >> v & 1:
                value = scorer.local_mask(y, parents | 1 << v)
                if value > top:
                    choice, top = v, value
        if choice is None:
            break
        parents, best = parents | 1 << choice, top
    while True:
        choice, top = None, best
        for v in range(scorer.n_nodes):
            if parents >> v & 1:
                value = scorer.local_mask(y, parents & ~(1 << v))
                if value > top:
                    choice, top = v, value
        if choice is None:
            break
        parents, best = parents & ~(1 << choice), top
    cache[key] = (best, parents)
    return best, parents


def _order_score(order: list[int], scorer: LocalScore, cache: dict) -> float:
    total, before = 0.0, 0
    for v in order:
        total += grow_shrink(scorer, v, before, cache)[0]
        before |= 1 << v
    return total


def _better_mutation(v: int, order: list[int], scorer: LocalScore, cache: dict) -> bool:
    """Move ``v`` to the position of ``order`` that scores best, if it beats its current one (by > 1e-9)."""
    rest = [w for w in order if w != v]
    current = order.index(v)
    # prefix[j]: score of rest[:j] (v after them: not a candidate parent); suffix[j]: of rest[j:] with v before
    prefix, mask, total = [0.0], 0, 0.0
    masks = [0]
    for w in rest:
        total += grow_shrink(scorer, w, mask, cache)[0]
        mask |= 1 << w
        prefix.append(total)
        masks.append(mask)
    suffix, total = [0.0] * (len(rest) + 1), 0.0
    for j in range(len(rest) - 1, -1, -1):
        total += grow_shrink(scorer, rest[j], masks[j] | 1 << v, cache)[0]
        suffix[j] = total
    scores = [prefix[j] + grow_shrink(scorer, v, masks[j], cache)[0] + suffix[j] for j in range(len(rest) + 1)]
    best = int(np.argmax(scores))
    if scores[best] <= scores[current] + 1e-9:
        return False
    rest.insert(best, v)
    order[:] = rest
    return True


def _dag(order: list[int], scorer: LocalScore, cache: dict) -> np.ndarray:
    d = len(order)
    dag, before = np.zeros((d, d), dtype=np.int64), 0
    for v in order:
        parents = grow_shrink(scorer, v, before, cache)[1]
        dag[[p for p in range(d) if parents >> p & 1], v] = 1
        before |= 1 << v
    return dag


def boss(data: Any, *, score: str = "bic", penalty_discount: float = 1.0, bes: bool = True, n_starts: int = 1,
         seed: int | np.random.Generator = 0, node_names: Sequence[str] | None = None,
         score_options: Mapping[str, Any] | None = None) -> DiscoveredGraph:
    """BOSS (Andrews et al. 2023) with the linear-Gaussian BIC (or BDeu): a CPDAG from observational data.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame; as :func:`~latentscm.discovery.ges.ges`.
    score: ``"bic"``, the linear-Gaussian BIC, or ``"bdeu"`` for categorical data (as for ges).
    penalty_discount: multiplier (> 0) of the BIC penalty; 1 is the usual BIC.
    score_options: BDeu's options, as for :func:`~latentscm.discovery.ges.ges`.
    bes: alternate the order sweeps with GES's backward phase, as Tetrad's BOSS (module docstring); ``False``
        gives the permutation search alone, as causal-learn's ``boss``.
    n_starts: random initial orders (>= 1); the best-scoring result wins.
    seed: seed or generator of the initial orders and of each sweep's order of variables.
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    DiscoveredGraph with ``.adjacency`` (d, d), a CPDAG (``[i, j] = 1`` for ``i -> j``, both for ``i - j``).
    ``info`` holds the method, score, penalty_discount, bes, n_starts, ``n_samples``, ``score_value`` (the BIC of
    the result, higher is better), ``order`` (the final order, by name), ``n_sweeps``, ``n_bes_steps`` (deletions
    BES made on accepted orders) and ``n_local_scores``.
    """
    owner = "boss"
    if not isinstance(bes, (bool, np.bool_)):
        raise TypeError(f"The 'bes' argument of {owner} must be True or False, got {bes!r}.")
    n_starts = int(check_number(n_starts, "n_starts", owner, low=1, integer=True))
    rng = as_generator(seed)
    matrix, names, _, scorer = score_setup(data, node_names, score, penalty_discount, None, owner, score_options)
    n, d = matrix.shape
    cache: dict[tuple[int, int], tuple[float, int]] = {}
    best: tuple[float, list[int], np.ndarray] | None = None
    sweeps = bes_steps = 0
    for _ in range(n_starts):
        order = [int(v) for v in rng.permutation(d)]
        value = _order_score(order, scorer, cache)
        while True:
            before = value
            while True:  # better-mutation sweeps until none improves
                sweeps += 1
                moved = False
                for v in rng.permutation(d):
                    moved |= _better_mutation(int(v), order, scorer, cache)
                if not moved:
                    break
            value = _order_score(order, scorer, cache)
            while bes:  # BES on the order's DAG; a member of its result gives the next order, kept if it scores more
                pruned, _, steps = greedy_phase(cpdag_from_dag(_dag(order, scorer, cache)), scorer, "delete")
                if steps == 0:
                    break
                candidate = _topological_order(consistent_extension(pruned))
                candidate_value = _order_score(candidate, scorer, cache)
                if candidate_value <= value + 1e-9:
                    break
                order, value, bes_steps = candidate, candidate_value, bes_steps + steps
            if value <= before + 1e-9:
                break
        if best is None or value > best[0] + 1e-9:
            best = (value, list(order), cpdag_from_dag(_dag(order, scorer, cache)))
    value, order, cpdag = best
    info = {"method": "boss", "score": score, "penalty_discount": scorer.penalty_discount,
            "score_options": dict(score_options or {}), "bes": bool(bes),
            "n_starts": n_starts, "n_samples": int(n), "score_value": float(value),
            "order": [names[v] for v in order], "n_sweeps": sweeps, "n_bes_steps": bes_steps,
            "n_local_scores": scorer.n_computed}
    return DiscoveredGraph(names, cpdag, {}, info)
