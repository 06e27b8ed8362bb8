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

__all__ = ["counterfactual_pairs", "changed_factors", "changeable_factors", "check_pair_changes", "check_pair_factors",
           "check_pair_pool", "check_nudge", "CounterfactualPairs", "PAIR_CHANGES"]

#: The choice of ``changes`` that draws k uniformly from 1 ... K - 1 for each pair (Locatello et al.'s "Rnd").
PAIR_CHANGES = "random"


class CounterfactualPairs(NamedTuple):
    """The second halves of N pairs; row i is the partner of row i of the batch they were made from."""

    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    factors: np.ndarray  # (N, K) the partner's factors
    targets: np.ndarray  # (N, K) bool: the factors intervened on
    changed: np.ndarray  # (N, K) bool: the factors whose values differ (targets and descendants that moved)


def changeable_factors(world: Any) -> list[int]:
    """Indices of the factors of ``world`` that can take another value (a one-value grid cannot change)."""
    return [j for j, name in enumerate(world.factor_names) if world.spec(name).size != 1]


def check_pair_changes(changes: Any, name: str, owner: str, n_free: int | None = None, *,
                       share: bool = True) -> int | str:
    """``changes`` as ``"random"`` or an int >= 1 (at most ``n_free - 1`` when given, ``n_free`` when pairs need not
    ``share`` a factor); errors name ``name``."""
    if isinstance(changes, str):
        if changes != PAIR_CHANGES:
            raise ValueError(f"The '{name}' argument of {owner} must be {PAIR_CHANGES!r} or a number of factors >= 1. "
                             f"Got {changes!r}.")
        return changes
    changes = check_number(changes, name, owner, low=1, integer=True)
    if n_free is not None and not share and changes > n_free:
        raise ValueError(f"The '{name}' argument of {owner} is {changes}, but the world has {n_free} factor(s) that "
                         f"can change: give at most {n_free}.")
    if n_free is not None and share and changes > n_free - 1:
        raise ValueError(f"The '{name}' argument of {owner} is {changes}, but the world has {n_free} factor(s) that "
                         f"can change, and a pair must share at least one: give at most {n_free - 1}.")
    return changes


def check_pair_factors(world: Any, among: Any, name: str, owner: str) -> list[int] | None:
    """The indices of the factors named by ``among`` (a non-empty sequence of distinct factor names of ``world``,
    each able to take another value), or None for ``None``; errors name ``name`` and the offending factor."""
    if among is None:
        return None
    if isinstance(among, str) or not isinstance(among, (list, tuple)) or not among:
        raise ValueError(f"The '{name}' argument of {owner} must be a non-empty list of factor names of world "
                         f"{world.name!r} ({', '.join(world.factor_names)}). Got {among!r}.")
    names = list(world.factor_names)
    indices = []
    for factor in among:
        if not isinstance(factor, str) or factor not in names:
            raise ValueError(f"The '{name}' argument of {owner} names {factor!r}, which is not a factor of world "
                             f"{world.name!r}; its factors are {', '.join(names)}.")
        if world.spec(factor).size == 1:
            raise ValueError(f"The '{name}' argument of {owner} names {factor!r}, which takes one value in world "
                             f"{world.name!r} and so cannot change.")
        if names.index(factor) in indices:
            raise ValueError(f"The '{name}' argument of {owner} names {factor!r} twice.")
        indices.append(names.index(factor))
    return sorted(indices)


def _reach(world: Any, sources: list[int]) -> np.ndarray:
    """(K, K) bool: row j marks factor j and the factors that descend from it, for j in ``sources`` (others empty)."""
    names = list(world.factor_names)
    reach = np.zeros((len(names), len(names)), dtype=bool)
    for j in sources:
        reach[j, j] = True
        for name in world.graph.descendants(names[j]):
            if name in names:
                reach[j, names.index(name)] = True
    return reach


def check_pair_pool(world: Any, pool: list[int], changes: int | str, *, share: bool, name: str, owner: str,
                    changes_name: str = "changes") -> None:
    """Refuse, before anything is rendered, a pool of changeable factors (indices, from :func:`check_pair_factors`)
    that no pair can draw from: more ``changes`` than the pool holds, and with ``share``: a pool whose every factor
    is an ancestor of every factor, or a fixed ``changes`` so large that the targets and their descendants reach
    every factor. Errors name ``name`` (the pool's argument) and ``changes_name``."""
    names = list(world.factor_names)
    if changes != PAIR_CHANGES and int(changes) > len(pool):
        raise ValueError(f"The '{changes_name}' argument of {owner} is {changes}, but '{name}' names {len(pool)} "
                         f"factor(s) to change: give at most {len(pool)}.")
    if not share:
        return
    free = changeable_factors(world)
    largest = _sharing_limit(free, pool, _reach(world, pool))
    if largest == 0:
        raise ValueError(f"The '{name}' argument of {owner}: in world {world.name!r}, changing any of "
                         f"{', '.join(names[j] for j in pool)} changes every factor through its descendants, so no "
                         f"pair would share a factor.")
    if changes != PAIR_CHANGES and int(changes) > largest:
        raise ValueError(f"The '{changes_name}' argument of {owner} is {changes}, but in world {world.name!r} any "
                         f"{changes} of the factors '{name}' names reach every factor through their descendants; a "
                         f"pair must share a factor: change at most {largest}.")


def check_nudge(world: Any, pool: list[int], nudge: Any, *, name: str, owner: str, pool_name: str = "among") -> float:
    """``nudge`` as a positive float, refused (naming ``name``) when a factor of ``pool`` (indices) takes grid values:
    only continuous factors can move by a small amount (errors tell to leave them out with ``pool_name``)."""
    nudge = check_number(nudge, name, owner, low=0, low_inclusive=False)
    names = world.factor_names
    grid = [names[j] for j in pool if world.spec(names[j]).discrete]
    if grid:
        raise ValueError(f"The '{name}' argument of {owner} moves factors by a small continuous amount, and "
                         f"{', '.join(map(repr, grid))} of world {world.name!r} take grid values; leave them out "
                         f"with '{pool_name}'.")
    return nudge


#: Redraws of a nudged value that left the factor's range, before it is clipped (see :func:`counterfactual_pairs`).
_NUDGE_REDRAWS = 100


def _nudged(spec: Any, current: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """``current`` (M,) plus Laplace noise of ``scale``, truncated to the factor's range: a draw that leaves the
    range is drawn again (Zimmermann et al.'s conditional restricted to the latent space); after
    :data:`_NUDGE_REDRAWS` rounds (a value pinned at an end by a scale far wider than the range) it is clipped."""
    moved = current + rng.laplace(0.0, scale, size=current.shape)
    for _ in range(_NUDGE_REDRAWS):
        outside = (moved < spec.low) | (moved > spec.high)
        if not outside.any():
            return moved
        moved[outside] = current[outside] + rng.laplace(0.0, scale, size=int(outside.sum()))
    return np.clip(moved, spec.low, spec.high)


def _sharing_limit(free: list[int], pool: list[int], reach: np.ndarray) -> int:
    """The largest number of ``pool`` factors whose change can leave some ``free`` factor untouched."""
    return max(len([j for j in pool if not reach[j, f]]) for f in free)


def counterfactual_pairs(world: Any, batch: Any, *, changes: int | str = PAIR_CHANGES,
                         seed: int | np.random.Generator = 0, share: bool = True,
                         among: Any = None, nudge: float | None = None) -> CounterfactualPairs:
    """The exact partner of every sample of ``batch``: the same sample with ``changes`` factors set
    to other values (``World.counterfactual``).

    Parameters
    ----------
    world : World
        The world ``batch`` was sampled from.
    batch : Batch
        N samples (their noise is what the counterfactual keeps).
    changes : int or "random", default "random"
        How many factors each pair's intervention sets: a fixed number from 1 to K - 1, or
        ``"random"``, a number drawn uniformly from 1 ... K - 1 per pair (K: the factors that can
        change; in a world with causal edges, up to the largest number that can leave a factor
        untouched). The factors are drawn uniformly without replacement; each gets another value
        (a grid factor another grid value, uniformly (:meth:`FactorSpec.other_values`); a continuous
        factor its value in another sample of ``batch`` of the same domain whose value was not set by
        an intervention, a draw from its own distribution), so every pair really differs in each of
        them. Every pair shares at least one factor (the premise of the method): in a world with causal
        edges, a draw whose targets and their descendants would reach every factor is drawn again.
    seed : int or numpy Generator
        Seeds which factors change and their new values.
    share : bool, default True
        ``False`` drops the shared-factor rule: the targets are drawn uniformly among all the factors
        that can change (``"random"``: 1 ... K per pair), so a root whose descendants are every other
        factor is intervened on as often as any factor. Pairs before and after an intervention
        (Brehmer et al. 2022, :class:`~latentscm.learners.ilcm.ILCM`) need every variable intervened on.
    among : list of str or None, default None
        The factors an intervention may set (``None``: every factor that can change). The others are
        never targets: they stay shared unless they descend from a target (in a world with causal edges).
        This is the content/style split of von Kügelgen et al. (NeurIPS 2021): ``among`` names the
        *style* the augmentation changes, and the rest is *content* (see
        :class:`~latentscm.learners.contrastive.ContrastiveCRL`). ``changes`` then counts among these
        (``"random"``: 1 ... ``len(among)`` per pair, or fewer where a shared factor must remain).
    nudge : float or None, default None
        ``None``: a target takes another value as described under ``changes``. A positive number: a
        target is moved a little instead, to its value plus Laplace noise whose scale (mean absolute
        move) is ``nudge`` times the factor's standard deviation in ``batch``, truncated to its range
        (a draw outside is drawn again): the conditional ``p(z~ | z) ~ exp(-|z~ - z| / lambda)`` of
        Zimmermann et al. (ICML 2021), "Contrastive learning inverts the data generating process",
        on the factor's range. Only continuous factors that vary in ``batch`` can be nudged.

    Returns
    -------
    CounterfactualPairs
        Row i the partner of row i of ``batch``, in its domain and regime: images (N, C, H, W),
        factors (N, K), ``targets`` (N, K) marking the factors intervened on and ``changed`` (N, K)
        the factors whose values differ from the sample's.
    """
    from latentscm.worlds.base import check_world_and_batch

    owner = "counterfactual_pairs"
    check_world_and_batch(world, batch, owner)
    if not isinstance(share, (bool, np.bool_)):
        raise TypeError(f"The 'share' argument of {owner} must be True or False. Got {share!r}.")
    free = changeable_factors(world)
    pool = check_pair_factors(world, among, "among", owner)
    if len(free) < (2 if share else 1):
        raise ValueError(f"{owner}: world {world.name!r} has {len(free)} factor(s) that can take another value; a "
                         f"pair changes some" + (" and shares at least one, so it needs two." if share else "."))
    if pool is None:
        changes = check_pair_changes(changes, "changes", owner, len(free), share=bool(share))
    else:  # the shared factors lie outside the pool: up to all of the pool may change
        changes = check_pair_changes(changes, "changes", owner)
        check_pair_pool(world, pool, changes, share=bool(share), name="among", owner=owner)
    if nudge is not None:
        nudge = check_nudge(world, free if pool is None else pool, nudge, name="nudge", owner=owner)
        for j in free if pool is None else pool:
            if float(batch.factors[:, j].std()) == 0.0:
                raise ValueError(f"The 'nudge' argument of {owner} scales by each factor's spread in the batch, and "
                                 f"factor {world.factor_names[j]!r} takes one value in these {len(batch)} sample(s); "
                                 f"give a batch over which it varies.")
    rng = as_generator(seed)
    if share:
        chosen = _draw_targets(world, free, changes, len(batch), rng, owner, pool=pool)
    else:
        chosen = _draw_any_targets(len(world.factor_names), free if pool is None else pool, changes, len(batch), rng)
    images = np.empty_like(batch.images)
    factors = np.empty_like(batch.factors)
    for mask in np.unique(chosen, axis=0):  # one counterfactual per set of changed factors
        index = np.flatnonzero(np.all(chosen == mask, axis=1))
        part = batch[index]
        interventions = {}
        for j in np.flatnonzero(mask):
            spec = world.spec(world.factor_names[j])
            current = part.factors[:, j]
            if nudge is not None:
                interventions[spec.name] = _nudged(spec, current, nudge * float(batch.factors[:, j].std()), rng)
                continue
            if spec.discrete:
                interventions[spec.name] = spec.other_values(current, rng)
                continue
            # donors: samples of the same domain whose value of this factor was not set by an intervention
            values = np.empty_like(current)
            free_rows = ~_intervened(batch, spec.name)
            for d in np.unique(part.domain):
                rows = part.domain == d
                pool = batch.factors[(batch.domain == d) & free_rows, j]
                values[rows] = _donor_values(spec, pool, current[rows], rng)
            interventions[spec.name] = values
        partner = world.counterfactual(part, interventions)
        images[index], factors[index] = partner.images, partner.factors
    return CounterfactualPairs(images, factors, chosen, changed_factors(batch.factors, factors))


def _intervened(batch: Any, name: str) -> np.ndarray:
    """(N,) bool: the samples whose factor ``name`` was set by an intervention of their regime (or of the
    counterfactual the batch is); a domain's replaced mechanism is not an intervention here."""
    if name in batch.interventions:
        return np.ones(len(batch), dtype=bool)
    by_regime = np.array([name in regime.interventions for regime in batch.regimes], dtype=bool)
    return by_regime[batch.regime] if by_regime.size else np.zeros(len(batch), dtype=bool)


def _donor_values(spec: Any, pool: np.ndarray, current: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Other values (M,) of a continuous factor for the entries of ``current`` (M,): the factor's value in
    another sample (``pool`` (P,): the batch's samples of the same domain, not intervened on that factor),
    a draw from its own distribution, so partners stay where the data are; an entry no draw changes (an
    empty or constant pool) takes :meth:`FactorSpec.other_values`."""
    if pool.size == 0:
        return spec.other_values(current, rng)
    values = pool[rng.integers(0, pool.size, size=current.size)]
    for _ in range(8):  # a continuous value repeats only when a sample draws itself
        same = values == current
        if not same.any():
            return values
        values[same] = pool[rng.integers(0, pool.size, size=int(same.sum()))]
    same = values == current
    values[same] = spec.other_values(current[same], rng)
    return values


#: Rounds of uniform draws of a row's target set before the constructive draw (see :func:`_draw_targets`).
_DRAW_ROUNDS = 64


def _draw_targets(world: Any, free: list[int], changes: int | str, n: int, rng: np.random.Generator,
                  owner: str, pool: list[int] | None = None) -> np.ndarray:
    """(n, K) bool: the factors each pair intervenes on, ``changes`` of the ``pool`` ones (default: the
    ``free`` ones, those that can change), drawn so that the targets and their descendants leave at least
    one free factor untouched.

    Each row's count is drawn once (``"random"``: uniformly from 1 to the largest count that can leave
    a factor untouched, at most K - 1); its set is drawn uniformly among the sets of that size, again
    for the rows whose set reaches every factor. A row still unplaced after :data:`_DRAW_ROUNDS` draws
    (a dense graph and a large count) takes a constructive draw: a factor to keep, chosen among those
    with enough non-ancestors, and the targets among its non-ancestors."""
    names = list(world.factor_names)
    k_all = len(names)
    pool = free if pool is None else pool
    reach = _reach(world, pool)  # reach[j]: j and the factors that descend from it
    free_mask = np.zeros(k_all, dtype=bool)
    free_mask[free] = True
    # keepers[f]: the pool factors whose change leaves free factor f untouched (f's non-ancestors, f excluded)
    keepers = {f: [j for j in pool if not reach[j, f]] for f in free}
    largest = max(len(v) for v in keepers.values())  # >= 1: a pool that no pair can share fails check_pair_pool
    if changes == PAIR_CHANGES:
        counts = rng.integers(1, max(largest, 1) + 1, size=n)
    else:
        if int(changes) > largest:
            raise ValueError(f"{owner}: in world {world.name!r}, any {changes} factors to change reach every factor "
                             f"through their descendants; a pair must share a factor: change at most {largest}.")
        counts = np.full(n, int(changes))
    chosen = np.zeros((n, k_all), dtype=bool)
    todo = np.arange(n)
    for _ in range(_DRAW_ROUNDS):
        # the first counts[i] of a random permutation of the pool factors
        ranks = np.argsort(np.argsort(rng.random((todo.size, len(pool))), axis=1), axis=1)
        draw = np.zeros((todo.size, k_all), dtype=bool)
        draw[:, pool] = ranks < counts[todo][:, None]
        touched = (draw.astype(np.int64) @ reach.astype(np.int64)) > 0
        shares = np.any(free_mask & ~touched, axis=1)
        chosen[todo[shares]] = draw[shares]
        todo = todo[~shares]
        if todo.size == 0:
            return chosen
    for row in todo:
        k = int(counts[row])
        kept = [f for f in free if len(keepers[f]) >= k]
        f = kept[int(rng.integers(len(kept)))]
        chosen[row, rng.choice(keepers[f], size=k, replace=False)] = True
    return chosen


def _draw_any_targets(k_all: int, free: list[int], changes: int | str, n: int, rng: np.random.Generator
                      ) -> np.ndarray:
    """(n, K) bool: ``changes`` of the ``free`` factors per row (``"random"``: a count uniform in 1 ... len(free)),
    each set uniform among the sets of its size, with no shared-factor rule."""
    counts = rng.integers(1, len(free) + 1, size=n) if changes == PAIR_CHANGES else np.full(n, int(changes))
    ranks = np.argsort(np.argsort(rng.random((n, len(free))), axis=1), axis=1)
    chosen = np.zeros((n, k_all), dtype=bool)
    chosen[:, free] = ranks < counts[:, None]
    return chosen


def changed_factors(first: np.ndarray, second: np.ndarray, *, rtol: float = 1e-9) -> np.ndarray:
    """(N, K) bool: the factors whose values differ between the two halves of each pair (factors (N, K) each)."""
    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if first.shape != second.shape or first.ndim != 2:
        raise ValueError(f"changed_factors needs two factor arrays of one shape (N, K). Got {first.shape} and "
                         f"{second.shape}.")
    scale = np.maximum(np.abs(first), np.abs(second))
    return np.abs(first - second) > rtol * np.maximum(scale, 1.0)
