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

**Background knowledge** (``knowledge=``, :mod:`~latentscm.discovery.knowledge`). The search visits only orders that
put every required edge's cause first, and, when every variable sits in a tier, earlier tiers first (with a variable
in no tier a DAG ``t2 -> u -> t1`` is allowed, so tiers then only forbid edges). The initial orders are random
linear extensions of these precedences and better mutation moves a variable only within the window they leave it.
Grow-shrink never picks a forbidden parent (nor one a tier forbids) and starts from, and never removes, the required
parents. BES is kept as a proposer: its result is oriented by the knowledge and Meek's rules, extended to a DAG, and
its topological order is tried only if it respects the precedences; the order's own (constrained) DAG is what is
scored and kept, so a required edge BES deleted comes back and a forbidden one never appears. The output is the
CPDAG of the best order's DAG with the edges the knowledge fixes oriented and Meek's rules R1-R4 applied (a
maximally oriented PDAG, Meek 1995).

The score is GES's linear-Gaussian BIC (:class:`~latentscm.discovery.scores.GaussianBIC`) or, for categorical
data, BDeu (:class:`~latentscm.discovery.scores.BDeu`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from latentscm.discovery.knowledge import BackgroundKnowledge, as_knowledge, orient_by_knowledge
from latentscm.discovery.orientation import apply_meek_rules
from latentscm.discovery.result import DiscoveredGraph
from latentscm.discovery.scores import LocalScore

__all__ = ["boss", "grow_shrink"]


def grow_shrink(scorer: LocalScore, y: int, candidates: int, cache: dict[tuple[int, int, int], tuple[float, int]],
                required: int = 0) -> tuple[float, int]:
    """The local score of ``y`` and its parent set (bit mask) chosen among ``candidates`` (bit mask) by
    grow-shrink: greedy additions while one raises the score, then greedy removals while one raises it. Ties go
    to the lowest index. ``required`` (bit mask, within ``candidates``): parents it starts from and never removes.
    Results are cached in ``cache`` under ``(y, candidates, required)``."""
    key = (y, candidates, required)
    found = cache.get(key)
    if found is not None:
        return found
    parents, best = required, scorer.local_mask(y, required)
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
            if parents >> v & 1 and not required >> v & 1:
                value = scorer.local_mask(y, parents & ~(1 << v))
                if value > top:
                    choice, top = v, value
        if choice is None:
            break
        parents, best = parents & ~(1 << choice), top
    cache[key] = (best, parents)
    return best, parents


@dataclass(frozen=True)
class _Constraints:
    """Background knowledge as bit masks over the d variables (index v):

    ``allowed[v]``: the variables that may be parents of v (not forbidden); ``required[v]``: its required
    parents; ``before[v]`` / ``after[v]``: the variables that must come before / after v in the order (required
    edges, and earlier / later tiers when every variable is in a tier, ``tiers_order``)."""

    allowed: tuple[int, ...]
    required: tuple[int, ...]
    before: tuple[int, ...]
    after: tuple[int, ...]
    tiers_order: bool

    @classmethod
    def build(cls, forbidden: np.ndarray, required: np.ndarray, tier: np.ndarray) -> _Constraints:
        """From the (d, d) bool matrices of :meth:`BackgroundKnowledge.matrices` and each variable's tier (d,)
        (-1: none)."""
        d = forbidden.shape[0]
        precede = required.copy()  # [a, b]: a before b
        tiers_order = bool(d and np.all(tier >= 0))
        if tiers_order:
            precede |= tier[:, None] < tier[None, :]

        def masks(m: np.ndarray) -> tuple[int, ...]:  # column v of m as a bit mask over the rows
            return tuple(sum(1 << int(i) for i in np.flatnonzero(m[:, v])) for v in range(d))

        full = (1 << d) - 1
        allowed = tuple(full & ~mask & ~(1 << v) for v, mask in enumerate(masks(forbidden)))
        return cls(allowed, masks(required), masks(precede), masks(precede.T), tiers_order)


def _local(scorer: LocalScore, v: int, before: int, cache: dict, constraints: _Constraints | None
           ) -> tuple[float, int]:
    """Grow-shrink for ``v`` with the variables ``before`` (bit mask) ahead of it, under the knowledge."""
    if constraints is None:
        return grow_shrink(scorer, v, before, cache)
    candidates = before & constraints.allowed[v]
    return grow_shrink(scorer, v, candidates, cache, constraints.required[v] & candidates)


def _order_score(order: list[int], scorer: LocalScore, cache: dict, constraints: _Constraints | None = None
                 ) -> float:
    total, before = 0.0, 0
    for v in order:
        total += _local(scorer, v, before, cache, constraints)[0]
        before |= 1 << v
    return total


def _window(v: int, rest: list[int], constraints: _Constraints | None) -> tuple[int, int]:
    """The positions ``lo..hi`` of ``rest`` (the order without v) where v may go under the precedences."""
    if constraints is None:
        return 0, len(rest)
    lo, hi = 0, len(rest)
    for j, w in enumerate(rest):
        if constraints.before[v] >> w & 1:
            lo = j + 1
        if constraints.after[v] >> w & 1 and hi == len(rest):
            hi = j
    return lo, hi


def _better_mutation(v: int, order: list[int], scorer: LocalScore, cache: dict,
                     constraints: _Constraints | None = None) -> bool:
    """Move ``v`` to the position of ``order`` that scores best (among those the knowledge allows), if it beats
    its current one (by > 1e-9)."""
    rest = [w for w in order if w != v]
    current = order.index(v)
    lo, hi = _window(v, rest, constraints)
    # prefix[j]: score of rest[:j] (v after them: not a candidate parent); suffix[j]: of rest[j:] with v before
    prefix, mask, total = [0.0], 0, 0.0
    masks = [0]
    for k, w in enumerate(rest):
        if k < hi:
            total += _local(scorer, w, mask, cache, constraints)[0]
            prefix.append(total)
        mask |= 1 << w
        masks.append(mask)
    suffix, total = [0.0] * (len(rest) + 1), 0.0
    for j in range(len(rest) - 1, lo - 1, -1):
        total += _local(scorer, rest[j], masks[j] | 1 << v, cache, constraints)[0]
        suffix[j] = total
    scores = [prefix[j] + _local(scorer, v, masks[j], cache, constraints)[0] + suffix[j] for j in range(lo, hi + 1)]
    best = lo + int(np.argmax(scores))
    if scores[best - lo] <= scores[current - lo] + 1e-9:
        return False
    rest.insert(best, v)
    order[:] = rest
    return True


def _dag(order: list[int], scorer: LocalScore, cache: dict, constraints: _Constraints | None = None
         ) -> np.ndarray:
    d = len(order)
    dag, before = np.zeros((d, d), dtype=np.int64), 0
    for v in order:
        parents = _local(scorer, v, before, cache, constraints)[1]
        dag[[p for p in range(d) if parents >> p & 1], v] = 1
        before |= 1 << v
    return dag


def _initial_order(rng: np.random.Generator, d: int, constraints: _Constraints | None) -> list[int]:
    """A random permutation; under knowledge, the linear extension of the precedences that takes each next
    variable as early in a random permutation as they allow (the permutation itself when nothing precedes)."""
    priority = [int(v) for v in rng.permutation(d)]
    if constraints is None:
        return priority
    order, placed = [], 0
    while priority:
        v = next((w for w in priority if not constraints.before[w] & ~placed), None)
        if v is None:  # cannot happen for consistent knowledge: BackgroundKnowledge refuses cycles
            raise ValueError("The 'knowledge' argument of boss orders a variable before itself (its required edges "
                             "and tiers form a cycle).")
        priority.remove(v)
        order.append(v)
        placed |= 1 << v
    return order


def _bes_order(pruned: np.ndarray, constraints: _Constraints | None, towards: np.ndarray | None
               ) -> list[int] | None:
    """The order BES's result proposes: a topological order of a DAG of its class; under knowledge, of one
    oriented by the knowledge (``towards`` (d, d): ``[i, j]`` when i -> j is fixed) and Meek's rules, and
    respecting the precedences. None when there is no such order."""
    if constraints is None:
        return _topological_order(consistent_extension(pruned))
    g = np.array(pruned, dtype=np.int64, copy=True)
    d = g.shape[0]
    precede = np.array([[constraints.before[j] >> i & 1 for j in range(d)] for i in range(d)], dtype=bool)
    fixed = (precede if towards is None else towards | precede) & (g != 0) & (g.T != 0)
    if np.any(fixed & fixed.T):
        return None
    g[fixed.T] = 0
    try:
        dag = consistent_extension(apply_meek_rules(g, background=True))
        return _topological_order(((dag != 0) | precede).astype(np.int64))
    except ValueError:  # no extension, or the DAG's edges and the precedences form a cycle
        return None


def _knowledge(value: Any, names: list[str], owner: str
               ) -> tuple[BackgroundKnowledge | None, _Constraints | None, np.ndarray | None, np.ndarray | None]:
    """The knowledge, its constraints, and its (d, d) ``forbidden`` and ``required`` matrices (all None without)."""
    try:
        knowledge = as_knowledge(value, owner)
    except ValueError as error:  # contradictions found by BackgroundKnowledge itself
        text = str(error)
        raise ValueError(text if "'knowledge' argument" in text else
                         f"The 'knowledge' argument of {owner} is inconsistent: {text}") from None
    if knowledge is None:
        return None, None, None, None
    forbidden, required = knowledge.matrices(names, owner)
    tier_of = {n: t for t, group in enumerate(knowledge.tiers) for n in group}
    tier = np.array([tier_of.get(n, -1) for n in names], dtype=np.int64)
    return knowledge, _Constraints.build(forbidden, required, tier), forbidden, required


def boss(data: Any, *, score: str = "bic", penalty_discount: float = 1.0, bes: bool = True, n_starts: int = 1,
         seed: int | np.random.Generator = 0, node_names: Sequence[str] | None = None,
         score_options: Mapping[str, Any] | None = None,
         knowledge: BackgroundKnowledge | Mapping[str, Any] | None = None) -> DiscoveredGraph:
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
    knowledge: :class:`~latentscm.discovery.knowledge.BackgroundKnowledge` (or its ``to_dict`` form) by node
        name: the search keeps to orders and parent sets that respect it (module docstring), and the result is
        the maximally oriented PDAG of the best DAG's class under it.

    Returns
    -------
    DiscoveredGraph with ``.adjacency`` (d, d), a CPDAG (``[i, j] = 1`` for ``i -> j``, both for ``i - j``); with
    knowledge, a maximally oriented PDAG. ``info`` holds the method, score, penalty_discount, bes, n_starts,
    ``n_samples``, ``score_value`` (the BIC of the result's DAG, higher is better), ``order`` (the final order, by
    name), ``n_sweeps``, ``n_bes_steps`` (deletions BES made on accepted orders) and ``n_local_scores``; with
    knowledge also ``knowledge`` (its ``to_dict``), ``tiers_order`` (whether the tiers restricted the order: every
    variable in a tier), ``n_knowledge_oriented`` (CPDAG edges the knowledge oriented) and ``n_meek_oriented``
    (further edges Meek's rules then oriented).
    """
    owner = "boss"
    if not isinstance(bes, (bool, np.bool_)):
        raise TypeError(f"The 'bes' argument of {owner} must be True or False, got {bes!r}.")
    n_starts = int(check_number(n_starts, "n_starts", owner, low=1, integer=True))
    rng = as_generator(seed)
    matrix, names, _, scorer = score_setup(data, node_names, score, penalty_discount, None, owner, score_options)
    known, constraints, forbidden, required = _knowledge(knowledge, list(names), owner)
    towards = None if forbidden is None else (required | forbidden.T)
    n, d = matrix.shape
    cache: dict[tuple[int, int, int], tuple[float, int]] = {}
    best: tuple[float, list[int], np.ndarray] | None = None
    sweeps = bes_steps = 0
    for _ in range(n_starts):
        order = _initial_order(rng, d, constraints)
        value = _order_score(order, scorer, cache, constraints)
        while True:
            before = value
            while True:  # better-mutation sweeps until none improves
                sweeps += 1
                moved = False
                for v in rng.permutation(d):
                    moved |= _better_mutation(int(v), order, scorer, cache, constraints)
                if not moved:
                    break
            value = _order_score(order, scorer, cache, constraints)
            while bes:  # BES on the order's DAG; a member of its result gives the next order, kept if it scores more
                pruned, _, steps = greedy_phase(cpdag_from_dag(_dag(order, scorer, cache, constraints)), scorer,
                                                "delete")
                if steps == 0:
                    break
                candidate = _bes_order(pruned, constraints, towards)
                if candidate is None:
                    break
                candidate_value = _order_score(candidate, scorer, cache, constraints)
                if candidate_value <= value + 1e-9:
                    break
                order, value, bes_steps = candidate, candidate_value, bes_steps + steps
            if value <= before + 1e-9:
                break
        if best is None or value > best[0] + 1e-9:
            best = (value, list(order), _dag(order, scorer, cache, constraints))
    value, order, dag = best
    graph = cpdag_from_dag(dag)
    info = {"method": "boss", "score": score, "penalty_discount": scorer.penalty_discount,
            "score_options": dict(score_options or {}), "bes": bool(bes),
            "n_starts": n_starts, "n_samples": int(n), "score_value": float(value),
            "order": [names[v] for v in order], "n_sweeps": sweeps, "n_bes_steps": bes_steps,
            "n_local_scores": scorer.n_computed}
    if known is not None:
        undirected = int((graph & graph.T).sum()) // 2
        oriented = orient_by_knowledge(graph, forbidden, required)
        after_knowledge = int((oriented & oriented.T).sum()) // 2
        graph = apply_meek_rules(oriented, background=True)
        info.update(knowledge=known.to_dict(), tiers_order=constraints.tiers_order,
                    n_knowledge_oriented=undirected - after_knowledge,
                    n_meek_oriented=after_knowledge - int((graph & graph.T).sum()) // 2)
    return DiscoveredGraph(names, graph, {}, info)
