"""Active causal discovery: learn with GIES, choose the next intervention, run it, learn again.

Hauser & Bühlmann (2014), "Two optimal strategies for active learning of causal models from interventional data",
IJAR 55, §5: start from observational data; in each round estimate the I-essential graph with GIES
(:func:`~latentscm.discovery.gies.gies`), pick a target by a strategy, draw rows under that intervention, add them to
the data. Strategies:

* ``"opt_single"``: the single node whose intervention orients the most undirected edges of the current estimate in
  the worst case (:func:`~latentscm.discovery.experiment_design.best_single_intervention`);
* ``"identifying"``: the next of the target sets that orient the current estimate completely
  (:func:`~latentscm.discovery.experiment_design.identifying_targets`, recomputed each round);
* ``"random"``: a node drawn uniformly from those not yet intervened on (the baseline), then from all.

Data come from a ``sampler(targets, n, seed) -> (n, d) array`` with the columns in a fixed order; ``targets`` is a
tuple of column positions (empty: observational). :func:`scm_sampler` and :func:`world_sampler` make one from an SCM
or a world, intervening by a draw from each target's observational marginal (so the target keeps its usual spread
but loses its causes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_choice, check_number
from latentscm.discovery.experiment_design import best_single_intervention, identifying_targets
from latentscm.discovery.gies import gies
from latentscm.discovery.result import DiscoveredGraph

__all__ = ["ACTIVE_STRATEGIES", "ActiveRound", "active_gies", "scm_sampler", "world_sampler"]

#: Strategies :func:`active_gies` knows.
ACTIVE_STRATEGIES = ("opt_single", "identifying", "random")

Sampler = Callable[[tuple[int, ...], int, int], np.ndarray]


@dataclass(frozen=True)
class ActiveRound:
    """One round of :func:`active_gies`: the estimate from all rows so far, and the target chosen next.

    ``round`` 0 is the observational start. ``targets``: the target set of the rows added before this estimate
    (names; empty in round 0). ``graph``: GIES's I-essential graph. ``undirected``: its undirected edges.
    ``n_samples``: rows used.
    """

    round: int
    targets: tuple[str, ...]
    graph: DiscoveredGraph
    undirected: int
    n_samples: int


def scm_sampler(scm: Any) -> Sampler:
    """A sampler of an :class:`~latentscm.scm.SCM`: rows of ``do(t = a draw of t's observational marginal)``.

    Columns in ``scm.nodes`` order. Each call draws from ``seed`` only (the marginal draw from a second generator
    seeded from it), so the same arguments give the same rows.
    """
    from latentscm.interventions import Do

    nodes = list(scm.nodes)

    def sample(targets: tuple[int, ...], n: int, seed: int) -> np.ndarray:
        model = scm
        if targets:
            rng = np.random.default_rng([int(seed), 1])
            marginal = scm.sample(n, seed=rng)
            model = scm.do({nodes[t]: Do(rng.permutation(np.asarray(marginal[nodes[t]]))) for t in targets})
        values = model.sample(n, seed=int(seed))
        return np.column_stack([np.asarray(values[name], dtype=np.float64) for name in nodes])

    return sample


def world_sampler(world: Any, *, source: str = "marginal") -> Sampler:
    """A sampler of a world's factors (columns in ``world.factor_names`` order): the observational regime, or a
    regime of :class:`~latentscm.worlds.regimes.RandomDo` (``source``: ``"marginal"`` or ``"range"``) on the
    targets."""
    from latentscm.worlds.regimes import RandomDo, Regime

    names = list(world.factor_names)
    draw = RandomDo(source)

    def sample(targets: tuple[int, ...], n: int, seed: int) -> np.ndarray:
        if not targets:
            return np.asarray(world.sample(n, seed=int(seed)).factors, dtype=np.float64)
        regime = Regime(f"do({', '.join(names[t] for t in targets)})", {names[t]: draw for t in targets})
        return np.asarray(world.sample(n, seed=int(seed), regime=regime).factors, dtype=np.float64)

    return sample


def active_gies(sampler: Sampler, node_names: Sequence[str], *, rounds: int = 5, n_observational: int = 1000,
                n_per_round: int = 500, strategy: str = "opt_single", stop_when_oriented: bool = True,
                seed: int | np.random.Generator = 0, gies_options: dict[str, Any] | None = None) -> list[ActiveRound]:
    """Active learning of a causal graph with GIES (Hauser & Bühlmann 2014): observational rows, then up to
    ``rounds`` interventional experiments chosen by ``strategy``.

    Parameters
    ----------
    sampler: ``sampler(targets, n, seed) -> (n, d)`` rows (see :func:`scm_sampler`, :func:`world_sampler`).
    node_names: the d column names.
    rounds: experiments to run after the observational start (>= 0).
    n_observational, n_per_round: rows drawn at the start and per experiment.
    strategy: ``"opt_single"``, ``"identifying"`` or ``"random"`` (see the module docstring).
    stop_when_oriented: stop once the estimate has no undirected edge (nothing left for an experiment to orient);
        ``"random"`` runs all rounds regardless, for a like-for-like baseline.
    seed: seeds the samplers' calls (and the ``"random"`` strategy's choices).
    gies_options: keyword arguments for :func:`~latentscm.discovery.gies.gies` (e.g. ``penalty_discount``).

    Returns
    -------
    The rounds, round 0 first: each round's estimate from all rows so far (:class:`ActiveRound`).
    """
    owner = "active_gies"
    strategy = check_choice(strategy, "strategy", owner, ACTIVE_STRATEGIES)
    rounds = int(check_number(rounds, "rounds", owner, low=0, integer=True))
    n_observational = int(check_number(n_observational, "n_observational", owner, low=2, integer=True))
    n_per_round = int(check_number(n_per_round, "n_per_round", owner, low=1, integer=True))
    names = [str(name) for name in node_names]
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"The 'node_names' argument of {owner} must hold unique names, at least one. Got {names}.")
    options = dict(gies_options or {})
    for reserved in ("data", "targets", "node_names"):
        if reserved in options:
            raise ValueError(f"The 'gies_options' argument of {owner} may not set {reserved!r}; active_gies sets it.")
    rng = as_generator(seed)
    seeds = rng.integers(0, 2**31 - 1, size=rounds + 1)
    d = len(names)

    def draw(targets: tuple[int, ...], n: int, k: int) -> np.ndarray:
        rows = np.asarray(sampler(targets, n, int(seeds[k])), dtype=np.float64)
        if rows.shape != (n, d):
            raise ValueError(f"The 'sampler' of {owner} returned shape {rows.shape} for {n} rows of targets "
                             f"{targets}; it must return (n, d) = ({n}, {d}).")
        return rows

    blocks, masks = [draw((), n_observational, 0)], [np.zeros((n_observational, d), dtype=bool)]
    history: list[ActiveRound] = []
    done: set[int] = set()
    chosen: tuple[int, ...] = ()
    for k in range(rounds + 1):
        data, mask = np.vstack(blocks), np.vstack(masks)
        graph = gies(data, mask, node_names=names, **options)
        undirected = len(graph.undirected_edges)
        history.append(ActiveRound(k, tuple(names[t] for t in chosen), graph, undirected, len(data)))
        if k == rounds or (stop_when_oriented and undirected == 0 and strategy != "random"):
            break
        if strategy == "opt_single":
            chosen = (names.index(best_single_intervention(graph).node),)
        elif strategy == "identifying":
            plan = identifying_targets(graph)
            chosen = tuple(names.index(v) for v in plan[0]) if plan else ()
            if not chosen:
                break
        else:
            left = [v for v in range(d) if v not in done] or list(range(d))
            chosen = (int(rng.choice(left)),)
        done.update(chosen)
        blocks.append(draw(chosen, n_per_round, k + 1))
        mask = np.zeros((n_per_round, d), dtype=bool)
        mask[:, list(chosen)] = True
        masks.append(mask)
    return history
