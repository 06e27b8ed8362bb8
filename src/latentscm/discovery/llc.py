"""LLC: direct effects and latent confounding of a linear cyclic model from a set of randomised experiments.

Hyttinen, Eberhardt & Hoyer (2012), "Learning linear cyclic causal models with latent variables", JMLR 13 (the
procedure first given by Eberhardt, Hoyer & Scheines 2010, AISTATS). The model is
:class:`~latentscm.discovery.linear_cyclic_model.LinearCyclicModel`: ``x = B^T x + e`` with cycles allowed and the
disturbances ``e`` correlated (latent confounders). An experiment intervenes on a set ``J`` (surgically, with
independent random values) and observes the rest, ``U``.

1. **Experimental effects.** In each experiment, ``t(i ~> u || J)`` for ``i`` in J and ``u`` in U are the
   coefficients of the regression of ``x_U`` on ``x_J``: ``Cov(x_J, x_U)`` solved against ``Cov(x_J)``.
2. **Direct effects.** Each experimental effect is one linear equation in the direct effects into ``u``
   (HEH 2012, §3): ``t(i ~> u || J) = b(i -> u) + sum_{j in U, j != u} t(i ~> j || J) b(j -> u)``. The equations of
   all experiments are stacked, for each ``u``, and solved by least squares (each experiment's rows weighted by its
   number of rows). The direct effects into ``u`` are identified when the *pair condition* holds for every
   ``(i, u)``: some experiment intervenes on ``i`` and leaves ``u`` alone; otherwise they are NaN and listed in
   ``info["unidentified_edges"]`` (the equations then have a null space, and for a model with every effect non-zero
   it moves every effect into ``u``, so none is reported alone).
   Effects known to be 0 (``knowledge``'s forbidden edges, and with ``faithfulness`` those that zero experimental
   effects imply) leave the equations; what the rest identify is read per effect from the null space of each
   column's equations on a generic model with the same zeros, and a rank-deficient column is solved by truncated
   SVD at that rank (consistent for the effects the null space does not move).
3. **Disturbance covariance.** In each experiment the passive variables' disturbances are
   ``e_U = ((I - B^T) x)_U``; ``Sigma_e[u, v]`` is their covariance, averaged over the experiments that leave both
   ``u`` and ``v`` alone (the *covariance condition*; otherwise NaN, listed in ``info["unidentified_confounding"]``).
   Observational rows (no target) enter here only.
4. **Edges.** The paper reads the model off the estimates; to decide which are edges we bootstrap (rows resampled
   within each experiment, ``n_bootstrap`` times, ``seed``): an estimate is an edge when its normal-approximation
   two-sided p-value (estimate over bootstrap standard error) is below ``alpha`` and it is larger than
   ``min_effect`` (for confounding: the disturbance correlation). This step is ours.

:func:`pair_condition_experiments` plans the fewest experiments that meet the pair condition for every pair.

Hyttinen, Eberhardt & Hoyer (2010, "Causal discovery for linear cyclic models with latent variables", PGM) add
faithfulness and prior knowledge to LLC; ``faithfulness=True`` uses two consequences of it (see
:func:`_faithful_zeros`), not their full set of constraints.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from latentscm._validation import as_generator, check_choice, check_names, check_number, check_sequence
from latentscm.discovery.gies import intervention_targets
from latentscm.discovery.linear_cyclic_model import LinearCyclicModel
from latentscm.discovery.pc import as_data_matrix

__all__ = ["CORRECTIONS", "DEFAULT_ALPHA", "llc", "llc_from_covariances", "pair_condition_experiments"]

#: The default level of :func:`llc`'s edge tests (family-wise over its ``d (d - 1)`` directed and ``d (d - 1) / 2``
#: confounding tests, with the default Bonferroni correction).
DEFAULT_ALPHA = 0.01


def _identified_rows(masks: np.ndarray) -> np.ndarray:
    """Bool (d, d): ``[i, u]`` when some experiment intervenes on ``i`` and leaves ``u`` alone (the pair condition);
    ``masks`` (E, d) bool, the experiments' intervened sets."""
    return (masks[:, :, None] & ~masks[:, None, :]).any(axis=0)


def _observed_pairs(masks: np.ndarray) -> np.ndarray:
    """Bool (d, d): ``[u, v]`` when some experiment leaves both ``u`` and ``v`` alone (the covariance condition)."""
    return ((~masks)[:, :, None] & (~masks)[:, None, :]).any(axis=0)


def _experimental_effects(covariances: Sequence[np.ndarray], masks: np.ndarray) -> list[Any]:
    """Per experiment, ``(J, U, T)`` with ``T`` (|J|, |U|) the regression of ``x_U`` on ``x_J`` (the experimental
    effects ``t(J[a] ~> U[b] || J)``), or None for an experiment with no target or nothing left alone."""
    effects = []
    for cov, mask in zip(covariances, masks):
        intervened, passive = np.flatnonzero(mask), np.flatnonzero(~mask)
        if intervened.size == 0 or passive.size == 0:
            effects.append(None)
            continue
        t = np.linalg.solve(cov[np.ix_(intervened, intervened)], cov[np.ix_(intervened, passive)])
        effects.append((intervened, passive, t))
    return effects


def _equations(effects: Sequence[Any], weights: np.ndarray, u: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """The stacked, weighted linear equations ``system @ b = target`` in the d - 1 direct effects into ``u``
    (``b[k]`` the effect of the k-th node other than ``u``), one per experimental effect on ``u``."""
    others = np.delete(np.arange(d), u)
    rows, rhs, row_weights = [], [], []
    for entry, weight in zip(effects, weights):
        if entry is None:
            continue
        intervened, passive, t = entry
        where = np.flatnonzero(passive == u)
        if where.size == 0:
            continue
        column = int(where[0])
        rest = np.arange(passive.size) != column
        for a, i in enumerate(intervened):
            row = np.zeros(d)
            row[i] = 1.0
            row[passive[rest]] = t[a, rest]
            rows.append(row[others])
            rhs.append(t[a, column])
            row_weights.append(np.sqrt(weight))
    if not rows:
        return np.zeros((0, d - 1)), np.zeros(0)
    scale = np.asarray(row_weights)
    return np.asarray(rows) * scale[:, None], np.asarray(rhs) * scale


@dataclass(frozen=True)
class _Identification:
    """What the experiments (and the known zeros) identify: ``zeros`` (d, d) bool, direct effects known to be 0
    (background knowledge, faithfulness); ``identified`` (d, d) bool, ``[i, u]`` when ``b(i -> u)`` is identified
    (the zeros included); ``ranks`` (d,), the rank of each column's equations in its free effects."""

    zeros: np.ndarray
    identified: np.ndarray
    ranks: np.ndarray

    @property
    def columns(self) -> np.ndarray:
        """(d,) bool: every effect into the variable identified."""
        return (self.identified | np.eye(self.zeros.shape[0], dtype=bool)).all(axis=0)


def _null_moved(effects: Sequence[Any], count: int, u: int, d: int, free: np.ndarray) -> tuple[int, np.ndarray]:
    """The rank of column ``u``'s equations in its ``free`` effects (d - 1,) bool, and which of them their null
    space moves (bool, one per free effect)."""
    full = _equations(effects, np.ones(count), u, d)[0]
    system = full[:, free]
    _, singular, right = np.linalg.svd(system)
    rank = int((singular > 1e-9 * max(1.0, float(np.abs(full).max()))).sum())  # absolute: a whole block of free
    # effects whose causes the experiments never reach has singular values of rounding size
    return rank, np.linalg.norm(right[rank:], axis=0) > 1e-6


def _identify(masks: np.ndarray, zeros: np.ndarray, covariances: Sequence[np.ndarray] | None = None
              ) -> _Identification:
    """Which direct effects the experiments ``masks`` (E, d) identify, given the known ``zeros`` (d, d).

    Without known zeros, the effects into ``u`` are identified when the pair condition holds for every ``(i, u)``
    (Hyttinen et al. 2012) and none otherwise, whatever the truth. With them, each column's equations lose the
    known-zero unknowns and are read on a generic model of the same support (random effects off the zeros, a fixed
    seed): an effect is identified when the null space of its column's equations does not move it. A truth with more
    zeros than the known ones can have equations of lower rank; given the ``covariances`` (population ones), their
    own equations are read the same way too, and an effect must pass both."""
    d = masks.shape[1]
    off = ~np.eye(d, dtype=bool)
    zeros = zeros & off
    if not zeros.any():
        columns = _identified_rows(masks).sum(axis=0) == d - 1
        return _Identification(zeros, np.broadcast_to(columns, (d, d)) & off, np.full(d, d - 1))
    rng = np.random.default_rng(20120)
    generic = rng.uniform(0.3, 0.9, (d, d)) * rng.choice([-1.0, 1.0], (d, d)) * (off & ~zeros)
    radius = float(np.abs(np.linalg.eigvals(generic)).max())
    if radius > 0:
        generic *= 0.5 / radius
    model = LinearCyclicModel(tuple(f"X{i}" for i in range(d)), generic, np.eye(d) + 0.2)
    effects = _experimental_effects([model.covariance(np.flatnonzero(m)) for m in masks], masks)
    observed = None if covariances is None else _experimental_effects(covariances, masks)
    identified, ranks = zeros.copy(), np.zeros(d, dtype=int)
    for u in range(d):
        others = np.delete(np.arange(d), u)
        free = ~zeros[others, u]
        if not free.any() or not any(e is not None and u in e[1] for e in effects):
            continue
        ranks[u], moved = _null_moved(effects, len(masks), u, d, free)
        if observed is not None:
            rank, moved_here = _null_moved(observed, len(masks), u, d, free)
            ranks[u], moved = min(ranks[u], rank), moved | moved_here
        identified[others[free], u] = ~moved
    return _Identification(zeros, identified, ranks)


def _direct_effects(covariances: Sequence[np.ndarray], masks: np.ndarray, weights: np.ndarray,
                    known: _Identification) -> np.ndarray:
    """B (d, d) from the experiments' covariances (E of (d, d)): the identified effects of ``known`` (least
    squares; a column whose equations are rank-deficient in its free effects by truncated SVD at the generic
    rank, which is consistent for the effects the null space does not move), 0 at the known zeros, NaN elsewhere."""
    d = masks.shape[1]
    effects = _experimental_effects(covariances, masks)
    b = np.where(known.identified, 0.0, np.nan)
    np.fill_diagonal(b, 0.0)
    for u in range(d):
        others = np.delete(np.arange(d), u)
        free = ~known.zeros[others, u]
        wanted = known.identified[others, u] & free
        if not wanted.any():
            continue
        system, target = _equations(effects, weights, u, d)
        system = system[:, free]
        if known.ranks[u] >= free.sum():
            solution = np.linalg.lstsq(system, target, rcond=None)[0]
        else:
            left, singular, right = np.linalg.svd(system, full_matrices=False)
            r = min(int(known.ranks[u]), int((singular > 1e-12 * max(1.0, float(singular[0]))).sum()))
            solution = right[:r].T @ ((left[:, :r].T @ target) / singular[:r])
        values = np.full(d - 1, np.nan)
        values[free] = solution
        b[others[wanted], u] = values[wanted]
    return b


def _faithful_zeros(covariances: Sequence[np.ndarray], masks: np.ndarray, sizes: np.ndarray | None,
                    alpha: float | None, tolerance: float = 1e-9) -> np.ndarray:
    """Direct effects that faithfulness says are 0 (bool (d, d)), from each experiment's experimental effects:

    - an experimental effect ``t(i ~> u || J)`` of 0 means no directed path from ``i`` to ``u`` once the edges into
      J are cut, so ``b(i -> u) = 0``;
    - and where moreover ``t(i ~> j || J) != 0`` for a passive ``j``, a path ``i ~> j`` exists, so ``b(j -> u) = 0``.

    With ``sizes`` and ``alpha`` an effect is 0 when its regression t-test (the regression of ``x_u`` on ``x_J``,
    normal approximation) does not reject 0 at ``alpha``, and non-zero (for the second rule) only when it rejects
    at ``alpha`` over the number of effects tested (Bonferroni): a chance rejection there would zero a whole set of
    effects, however large. Without them (population covariances) an effect is 0 when its standardised size is
    below ``tolerance``, else non-zero."""
    d = masks.shape[1]
    zeros = np.zeros((d, d), dtype=bool)
    tests = []  # per experiment: (J, U, null (|J|, |U|) bool, reached (|J|, |U|) bool)
    for k, (cov, entry) in enumerate(zip(covariances, _experimental_effects(covariances, masks))):
        if entry is None:
            continue
        intervened, passive, t = entry
        spread = np.sqrt(np.diag(cov))
        if alpha is None:
            null = np.abs(t) * spread[intervened][:, None] / np.maximum(spread[passive][None, :], 1e-300) < tolerance
            tests.append((intervened, passive, null, ~null))
            continue
        n = float(sizes[k])
        inverse = np.linalg.inv(cov[np.ix_(intervened, intervened)])
        explained = np.einsum("ap,ab,bp->p", t, cov[np.ix_(intervened, intervened)], t)
        residual = np.maximum(np.diag(cov)[passive] - explained, 0.0) * (n - 1) / max(n - intervened.size - 1, 1)
        se = np.sqrt(np.outer(np.diag(inverse), residual) / max(n - 1, 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.nan_to_num(2 * norm.sf(np.abs(t) / se), nan=1.0)
        tests.append((intervened, passive, p > alpha, p))
    if alpha is not None:  # the reach rule at the Bonferroni level over every experimental effect tested
        count = sum(p.size for _, _, _, p in tests)
        tests = [(j, u, null, p < alpha / max(count, 1)) for j, u, null, p in tests]
    for intervened, passive, null, reached in tests:
        for a, i in enumerate(intervened):
            absent = passive[null[a]]
            zeros[i, absent] = True
            zeros[np.ix_(passive[reached[a]], absent)] = True
    np.fill_diagonal(zeros, False)
    return zeros


def _zeros(covariances: Sequence[np.ndarray], masks: np.ndarray, sizes: np.ndarray | None, alpha: float | None,
           knowledge: Any, faithfulness: bool, names: Sequence[str], owner: str, population: bool = False
           ) -> tuple[_Identification, dict[str, Any], np.ndarray]:
    """What is identified given the known zeros (knowledge's forbidden edges and, with ``faithfulness``, those of
    :func:`_faithful_zeros`), the info entries saying which they were, and the required edges (d, d) bool (never
    taken as 0)."""
    if not isinstance(faithfulness, (bool, np.bool_)):
        raise TypeError(f"The 'faithfulness' argument of {owner} must be True or False. Got {faithfulness!r}.")
    forbidden, required = _known_zeros(knowledge, names, owner)
    faithful = _faithful_zeros(covariances, masks, sizes, alpha) & ~required if faithfulness else np.zeros_like(
        forbidden)
    known = _identify(masks, forbidden | faithful, covariances if population else None)
    d = len(names)
    text = [f"{names[i]} --> {names[u]}" for i in range(d) for u in range(d)]
    return known, {"faithfulness": bool(faithfulness), "knowledge": knowledge is not None,
                   "forbidden": [text[k] for k in np.flatnonzero(forbidden)],
                   "faithful_zeros": [text[k] for k in np.flatnonzero(faithful & ~forbidden)],
                   "required": [text[k] for k in np.flatnonzero(required)]}, required


def _known_zeros(knowledge: Any, names: Sequence[str], owner: str) -> tuple[np.ndarray, np.ndarray]:
    """``(forbidden, required)`` (d, d) bool from ``knowledge`` (a BackgroundKnowledge, its dict, or None)."""
    from latentscm.discovery.knowledge import as_knowledge

    known = as_knowledge(knowledge, owner)
    d = len(names)
    if known is None:
        return np.zeros((d, d), dtype=bool), np.zeros((d, d), dtype=bool)
    return known.matrices(names, owner)


def _disturbance_covariance(covariances: Sequence[np.ndarray], masks: np.ndarray, weights: np.ndarray,
                            b: np.ndarray) -> np.ndarray:
    """Sigma_e (d, d), averaged (weighted) over the experiments that leave both variables alone; NaN elsewhere or
    where an effect into either is not identified."""
    d = masks.shape[1]
    total, mass = np.zeros((d, d)), np.zeros((d, d))
    known = ~np.isnan(b).any(axis=0)  # the effects into each variable are identified
    residual_map = np.eye(d) - np.nan_to_num(b).T  # row u: e_u = x_u - sum_i B[i, u] x_i
    for cov, mask, weight in zip(covariances, masks, weights):
        passive = np.flatnonzero(~mask & known)
        if passive.size == 0:
            continue
        rows = residual_map[passive]
        total[np.ix_(passive, passive)] += weight * (rows @ cov @ rows.T)
        mass[np.ix_(passive, passive)] += weight
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = np.where(mass > 0, total / np.where(mass > 0, mass, 1.0), np.nan)
    return (sigma + sigma.T) / 2


def _check_experiments(covariances: Sequence[np.ndarray], masks: np.ndarray, names: Sequence[str],
                       owner: str) -> None:
    if not masks.any():
        raise ValueError(f"The 'targets' argument of {owner} has no experiment that intervenes on anything; LLC "
                         "learns direct effects from experimental effects, so it needs interventional data.")
    if masks.all(axis=1).any():
        k = int(np.flatnonzero(masks.all(axis=1))[0])
        raise ValueError(f"The 'targets' argument of {owner} intervenes on every variable in experiment {k}; an "
                         "experiment must leave some variable alone to show an effect.")
    for cov, mask in zip(covariances, masks):
        intervened = np.flatnonzero(mask)
        block = cov[np.ix_(intervened, intervened)]
        scale = max(float(np.abs(np.diag(cov)).max()), 1e-300)
        if intervened.size and (np.diag(block).min() <= 1e-12 * scale or
                                np.linalg.cond(block) > 1e12):
            flat = intervened[np.argmin(np.diag(block))]
            raise ValueError(f"In the experiment intervening on {[names[v] for v in intervened]}, the intervened "
                             f"values do not vary independently (e.g. {names[flat]!r} has variance "
                             f"{np.diag(cov)[flat]:.3g}); LLC needs randomised interventions (random values, not "
                             "one fixed value) to read the experimental effects.")


#: How :func:`llc` adjusts its p-values for the number of tests.
CORRECTIONS = ("none", "bonferroni", "bh")


def _adjusted(p_b: np.ndarray, p_s: np.ndarray, correction: str) -> tuple[np.ndarray, np.ndarray]:
    """The p-values adjusted together over every test made (the finite off-diagonal ``p_b`` and the finite
    upper-triangle ``p_s``): unchanged, Bonferroni, or Benjamini-Hochberg."""
    if correction == "none":
        return p_b, p_s
    from latentscm.discovery.timeseries.pcmci import _benjamini_hochberg

    tested_b = np.isfinite(p_b)
    tested_s = np.isfinite(p_s) & np.triu(np.ones_like(p_s, dtype=bool), 1)
    pooled = np.concatenate([p_b[tested_b], p_s[tested_s]])
    adjusted = np.minimum(pooled * pooled.size, 1.0) if correction == "bonferroni" else _benjamini_hochberg(pooled)
    out_b, out_s = np.full_like(p_b, np.nan), np.full_like(p_s, np.nan)
    out_b[tested_b] = adjusted[:tested_b.sum()]
    out_s[tested_s] = adjusted[tested_b.sum():]
    out_s = np.where(np.isnan(out_s), out_s.T, out_s)
    return out_b, out_s


def _edges(b: np.ndarray, sigma: np.ndarray, b_se: np.ndarray | None, sigma_se: np.ndarray | None, alpha: float,
           min_effect: float, correction: str = "none"
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    d = b.shape[0]
    off = ~np.eye(d, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.sqrt(np.outer(np.diag(sigma), np.diag(sigma)))
        correlation = sigma / scale
        large_b = np.nan_to_num(np.abs(b)) > min_effect
        large_s = np.nan_to_num(np.abs(correlation)) > min_effect
        if b_se is None:
            return (large_b & off).astype(int), (large_s & off).astype(int), None, None
        p_b = 2 * norm.sf(np.abs(b) / b_se)
        p_s = 2 * norm.sf(np.abs(sigma) / sigma_se)
    p_b[~off], p_s[~off] = np.nan, np.nan
    q_b, q_s = _adjusted(p_b, p_s, correction)
    directed = large_b & (np.nan_to_num(q_b, nan=1.0) < alpha) & off
    bidirected = large_s & (np.nan_to_num(q_s, nan=1.0) < alpha) & off
    return directed.astype(int), bidirected.astype(int), p_b, p_s


def _spread(draws: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """The standard deviation (d, d) of the bootstrap ``draws`` (R, d, d) over their finite replicates; NaN where
    ``estimate`` is NaN (not identified) or fewer than two replicates are finite."""
    finite = np.isfinite(draws)
    count = finite.sum(axis=0)
    filled = np.where(finite, draws, 0.0)
    mean = filled.sum(axis=0) / np.maximum(count, 1)
    variance = (np.where(finite, draws - mean, 0.0) ** 2).sum(axis=0) / np.maximum(count - 1, 1)
    return np.where(np.isnan(estimate) | (count < 2), np.nan, np.sqrt(variance))


def _info(masks: np.ndarray, sizes: np.ndarray, names: Sequence[str], known: _Identification,
          b: np.ndarray) -> dict[str, Any]:
    d = masks.shape[1]
    columns, separated, pairs = known.columns, _identified_rows(masks), _observed_pairs(masks)
    unidentified = [f"{names[i]} --> {names[u]}" for u in range(d) for i in range(d)
                    if i != u and not known.identified[i, u]]
    missing_pairs = [f"{names[i]} --> {names[u]}" for i in range(d) for u in range(d)
                     if i != u and not separated[i, u]]
    confounding = [f"{names[u]} <-> {names[v]}" for u in range(d) for v in range(u + 1, d)
                   if not (pairs[u, v] and columns[u] and columns[v])]
    finite = np.nan_to_num(b)
    return {"method": "llc", "experiments": [[names[v] for v in np.flatnonzero(m)] for m in masks],
            "experiment_sizes": [int(s) if float(s).is_integer() else float(s) for s in sizes],
            "pair_condition_missing": missing_pairs,
            "unidentified_edges": unidentified, "unidentified_confounding": confounding,
            "spectral_radius": float(np.abs(np.linalg.eigvals(finite)).max()) if d else 0.0}


def llc_from_covariances(covariances: Sequence[Any], targets: Sequence[Any], *, sizes: Sequence[int] | None = None,
                         min_effect: float = 1e-8, knowledge: Any = None, faithfulness: bool = False,
                         node_names: Sequence[str] | None = None) -> LinearCyclicModel:
    """LLC on the experiments' covariance matrices (population or sample), without a test.

    Parameters
    ----------
    covariances: E arrays (d, d), the covariance of x in each experiment.
    targets: E target sets (names or positions; empty or None for an observational experiment).
    sizes: the rows behind each covariance (default equal), weighting the least squares and the averages.
    min_effect: an estimate larger than this (a direct effect, or a disturbance correlation) is an edge.
    knowledge, faithfulness: as for :func:`llc`; an experimental effect is 0 for ``faithfulness`` when its
        standardised size is below 1e-9 (population covariances).
    node_names: the d names (default ``X0, X1, ...``).

    Returns
    -------
    :class:`~latentscm.discovery.linear_cyclic_model.LinearCyclicModel` (no standard errors); see :func:`llc`.
    """
    owner = "llc_from_covariances"
    if isinstance(covariances, np.ndarray) and covariances.ndim == 2:
        covariances = [covariances]
    covs = []
    for k, c in enumerate(check_sequence(covariances, "covariances", owner, what="(d, d) covariance matrices")):
        try:
            covs.append(np.asarray(c, dtype=np.float64))
        except (TypeError, ValueError):
            raise ValueError(f"The 'covariances' argument of {owner} has a non-numeric entry {k}.") from None
    if not covs:
        raise ValueError(f"The 'covariances' argument of {owner} is empty.")
    d = covs[0].shape[0] if covs[0].ndim == 2 else -1
    for k, c in enumerate(covs):
        if c.shape != (d, d) or d < 2:
            raise ValueError(f"The 'covariances' argument of {owner} must hold (d, d) matrices of one size, d >= 2; "
                             f"entry {k} has shape {c.shape}" + (f" (entry 0: {covs[0].shape})." if k else "."))
        if not np.isfinite(c).all() or not np.allclose(c, c.T, rtol=1e-8, atol=1e-12):
            raise ValueError(f"The 'covariances' argument of {owner} has entry {k} "
                             f"{'not finite' if not np.isfinite(c).all() else 'not symmetric'}; a covariance matrix "
                             "is finite and symmetric.")
        lowest = float(np.linalg.eigvalsh(c).min())
        if lowest < -1e-9 * max(float(np.abs(np.diag(c)).max()), 1e-300):
            raise ValueError(f"The 'covariances' argument of {owner} has entry {k} with a negative eigenvalue "
                             f"({lowest:.3g}): not a covariance matrix.")
    names = list(check_names(node_names, "node_names", owner, size=d)) if node_names is not None else [
        f"X{i}" for i in range(d)]
    targets = check_sequence(targets, "targets", owner, what="target sets, one per covariance")
    if len(targets) != len(covs):
        raise ValueError(f"The 'targets' argument of {owner} must give one target set per covariance "
                         f"({len(covs)}). Got {len(targets)}.")
    masks = intervention_targets(targets, len(targets), names, owner, unit="experiment")
    if sizes is None:
        weights = np.ones(len(covs))
    else:
        sizes = check_sequence(sizes, "sizes", owner, what="row counts")
        if len(sizes) != len(covs):
            raise ValueError(f"The 'sizes' argument of {owner} must give one row count per covariance "
                             f"({len(covs)}). Got {len(sizes)}.")
        weights = np.array([check_number(v, "sizes", owner, low=0, low_inclusive=False) for v in sizes])
    min_effect = float(check_number(min_effect, "min_effect", owner, low=0.0))
    _check_experiments(covs, masks, names, owner)
    known, forced, required = _zeros(covs, masks, None, None, knowledge, faithfulness, names, owner, population=True)
    b = _direct_effects(covs, masks, weights, known)
    sigma = _disturbance_covariance(covs, masks, weights, b)
    directed, bidirected, _, _ = _edges(b, sigma, None, None, 1.0, min_effect)
    directed |= required
    info = {**_info(masks, weights, names, known, b), "min_effect": min_effect,
            "test": None, **forced}
    return LinearCyclicModel(nodes=tuple(names), direct_effects=b, disturbance_covariance=sigma, directed=directed,
                             bidirected=bidirected, info=info)


def llc(data: Any, targets: Any, *, alpha: float = DEFAULT_ALPHA, min_effect: float = 0.0, n_bootstrap: int = 200,
        correction: str = "bonferroni", knowledge: Any = None, faithfulness: bool = False,
        faithfulness_alpha: float = 0.05, seed: int | np.random.Generator = 0,
        node_names: Sequence[str] | None = None) -> LinearCyclicModel:
    """LLC (Hyttinen, Eberhardt & Hoyer 2012): a linear cyclic model with latent confounders from experiments.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame of all rows, observational and interventional.
    targets: which variables each row intervened on, as for :func:`~latentscm.discovery.gies.gies`: a bool array
        (n, d) or n target sets (names or positions; empty or None for an observational row). Rows with the same
        target set form one experiment; its intervened values must be random (not one fixed value).
    alpha: the level of each edge's bootstrap test (two-sided, normal approximation), after ``correction``.
    min_effect: the smallest ``|direct effect|`` and ``|disturbance correlation|`` an edge may have (0: the test
        alone decides). On large samples a test finds tiny effects; this sets what is worth an edge.
    n_bootstrap: bootstrap resamples (rows within each experiment) for the standard errors; 0 skips the test (an
        edge is then any estimate above ``min_effect``).
    correction: ``"bonferroni"`` (default: all ``d (d - 1)`` directed and ``d (d - 1) / 2`` confounding tests
        together at family-wise level ``alpha``, so false edges vanish as the sample grows; weak edges need more
        rows), ``"none"`` (each test at ``alpha``: about ``1.5 alpha d^2`` false edges however large the sample) or
        ``"bh"`` (Benjamini-Hochberg: false discovery rate ``alpha``). On ``bench_llc.py``'s d = 10 models the
        Bonferroni graphs had the fewest errors at 2,000 rows per experiment and more (0.0-0.1 wrong directed
        edges against 0.3-0.8 per-test), and about as many at 500 (0.1-2.5 against 0.5-2.2).
    knowledge: a :class:`~latentscm.discovery.knowledge.BackgroundKnowledge` (or its dict): its forbidden edges
        (and tiers) are direct effects known to be 0, which can identify effects the experiments alone do not; its
        required edges are reported as edges whatever their test (even where the effect is not identified). With
        known zeros identification is generic: a truth with more zeros than the known ones can leave an effect
        reported here unidentified (its equations lose rank); on samples its bootstrap standard error is then
        large, so it fails the edge test, but its estimate means nothing. :func:`llc_from_covariances` checks the
        given covariances' own equations too.
    faithfulness: also take as 0 the direct effects that zero experimental effects imply (Hyttinen, Eberhardt &
        Hoyer 2010 add faithfulness to LLC; these are two of its consequences, see ``_faithful_zeros``): no
        experimental effect of ``i`` on ``u`` means no edge ``i -> u``, nor ``j -> u`` from any ``j`` that ``i``
        does reach. It assumes no two paths cancel, and a weak effect the test misses becomes a wrong 0.
    faithfulness_alpha: an experimental effect is taken as 0 when its t-test does not reject 0 at this level. The
        zeros are decided once, on all rows; the bootstrap's standard errors are conditional on them.
    seed: seeds the bootstrap.
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    :class:`~latentscm.discovery.linear_cyclic_model.LinearCyclicModel`: ``direct_effects`` (d, d) ``[i, j]`` for
    ``i -> j``, ``disturbance_covariance`` (d, d), their bootstrap ``standard_errors`` and
    ``disturbance_standard_errors``, the ``directed`` and ``bidirected`` edges; ``info`` holds the settings, the
    experiments (target names) and their sizes, ``pair_condition_missing`` (ordered pairs no experiment separates),
    ``unidentified_edges`` / ``unidentified_confounding`` (NaN entries), the raw p-values, before ``correction``
    (``p_direct``, ``p_confounding``, (d, d), null on the diagonal) and ``spectral_radius`` (of B; below 1 the
    passive system's feedback settles from any start).
    """
    owner = "llc"
    alpha = float(check_number(alpha, "alpha", owner, low=0.0, high=1.0, low_inclusive=False))
    min_effect = float(check_number(min_effect, "min_effect", owner, low=0.0))
    n_bootstrap = int(check_number(n_bootstrap, "n_bootstrap", owner, low=0, integer=True))
    correction = check_choice(correction, "correction", owner, CORRECTIONS)
    faithfulness_alpha = float(check_number(faithfulness_alpha, "faithfulness_alpha", owner, low=0.0, high=1.0,
                                            low_inclusive=False, high_inclusive=False))
    if n_bootstrap == 1:
        raise ValueError("The 'n_bootstrap' parameter of llc must be 0 (no test) or at least 2 (a standard error "
                         "needs two resamples). Got 1.")
    matrix, names = as_data_matrix(data, node_names, owner)
    n, d = matrix.shape
    mask = intervention_targets(targets, n, names, owner)
    masks, index = np.unique(mask, axis=0, return_inverse=True)
    index = index.reshape(-1)
    groups = [matrix[index == k] for k in range(len(masks))]
    sizes = np.array([g.shape[0] for g in groups])
    for k in np.flatnonzero(sizes < 3):
        raise ValueError(f"The experiment intervening on {[names[v] for v in np.flatnonzero(masks[k])]} has "
                         f"{int(sizes[k])} rows in 'data'; a covariance needs at least 3.")
    covs = [np.cov(g, rowvar=False).reshape(d, d) for g in groups]
    _check_experiments(covs, masks, names, owner)
    known, forced, required = _zeros(covs, masks, sizes, faithfulness_alpha, knowledge, faithfulness, names, owner)
    b = _direct_effects(covs, masks, sizes, known)
    sigma = _disturbance_covariance(covs, masks, sizes, b)
    b_se = sigma_se = None
    if n_bootstrap:
        rng = as_generator(seed)
        b_draws, s_draws = np.empty((n_bootstrap, d, d)), np.empty((n_bootstrap, d, d))
        failed = 0
        for r in range(n_bootstrap):
            resampled = [np.cov(g[rng.integers(0, g.shape[0], g.shape[0])], rowvar=False).reshape(d, d)
                         for g in groups]
            try:
                b_draws[r] = _direct_effects(resampled, masks, sizes, known)
            except np.linalg.LinAlgError:  # a small experiment resampled to repeated rows: intervened values flat
                b_draws[r], s_draws[r], failed = np.nan, np.nan, failed + 1
                continue
            s_draws[r] = _disturbance_covariance(resampled, masks, sizes, b_draws[r])
        if failed > n_bootstrap // 10:
            raise ValueError(f"{failed} of {n_bootstrap} bootstrap resamples of 'data' left an experiment's "
                             f"intervened values without variation (experiment sizes {sizes.tolist()}); give the "
                             "experiments more rows, or n_bootstrap=0 for no test.")
        b_se, sigma_se = _spread(b_draws, b), _spread(s_draws, sigma)
    directed, bidirected, p_b, p_s = _edges(b, sigma, b_se, sigma_se, alpha, min_effect, correction)
    directed |= required
    info = {**_info(masks, sizes, names, known, b), **forced, "alpha": alpha,
            "min_effect": min_effect, "n_bootstrap": n_bootstrap, "correction": correction,
            "seed": seed if isinstance(seed, (int, np.integer)) else "generator",
            "test": "bootstrap" if n_bootstrap else None,
            "p_direct": None if p_b is None else p_b.tolist(), "p_confounding": None if p_s is None else p_s.tolist()}
    return LinearCyclicModel(nodes=tuple(names), direct_effects=b, disturbance_covariance=sigma, directed=directed,
                             bidirected=bidirected, standard_errors=b_se, disturbance_standard_errors=sigma_se,
                             info=info)


def _pair_codes(m: int, d: int) -> list[tuple[int, int]]:
    """``d`` distinct pairs of ``m`` experiments, as evenly loaded as the cyclic differences make them: the pairs
    ``(i, i + delta mod m)`` for ``delta = 1, 2, ...`` in turn, each full round adding two to every experiment."""
    codes: list[tuple[int, int]] = []
    for delta in range(1, m // 2 + 1):
        for i in range(m if 2 * delta != m else m // 2):
            codes.append((i, (i + delta) % m))
            if len(codes) == d:
                return codes
    return codes


def pair_condition_experiments(nodes: int | Sequence[str], *, observational: bool = True,
                               max_targets: int | None = None) -> list[tuple[Any, ...]]:
    """The fewest experiments whose intervened sets meet the pair condition for every ordered pair, so that
    :func:`llc` identifies every direct effect.

    Every ordered pair ``(i, u)`` needs an experiment that intervenes on ``i`` and leaves ``u`` alone: the target
    sets form a *completely separating system*. With ``m`` experiments, give each variable its own ``floor(m/2)``-subset
    of them (no subset contains another, so every ordered pair is separated); the fewest is the smallest ``m`` with
    ``C(m, floor(m/2)) >= d`` (Spencer 1970, "Minimal completely separating systems", J. Combin. Theory 8; the
    experiment-selection view is Hyttinen, Eberhardt & Hoyer 2013, JMLR 14). So 10 variables need 5 experiments
    (each on 4 of them) instead of 10 single-variable ones, 100 need 9.

    Parameters
    ----------
    nodes: the number of variables d (>= 2; positions are returned) or their names.
    observational: put the empty (observational) experiment first. It is not needed for the direct effects; it
        meets the covariance condition for every pair (both left alone), so the whole disturbance covariance is
        identified; without it, two variables whose subsets are complementary are never left alone together.
    max_targets: the most variables one experiment may intervene on (None: no bound; the design above intervenes on
        about half of them). When the bound binds, each variable gets its own pair of experiments instead, spread
        evenly (``m`` experiments with ``C(m, 2) >= d`` and at most ``2 ceil(d / m)`` targets each), or, with no
        such ``m`` below ``d``, one experiment of its own. These designs meet the pair condition but are not proven
        the fewest under the bound.

    Returns
    -------
    list of tuples: the target sets, each the intervened names (or positions), in experiment order.
    """
    owner = "pair_condition_experiments"
    if isinstance(nodes, (int, np.integer)) and not isinstance(nodes, bool):
        names: list[Any] = list(range(int(nodes)))
    elif isinstance(nodes, (str, bytes)) or not isinstance(nodes, Sequence):
        raise TypeError(f"The 'nodes' argument of {owner} must be a number of variables or a sequence of names. "
                        f"Got {nodes!r}.")
    else:
        names = list(nodes)
        try:
            repeated = len(set(names)) != len(names)
        except TypeError:
            raise TypeError(f"The 'nodes' argument of {owner} must hold names (hashable: text or numbers). Got "
                            f"{names!r}.") from None
        if repeated:
            raise ValueError(f"The 'nodes' argument of {owner} repeats a name: {names}.")
    d = len(names)
    if d < 2:
        raise ValueError(f"The 'nodes' argument of {owner} must give at least 2 variables (a pair). Got {d}.")
    if not isinstance(observational, (bool, np.bool_)):
        raise TypeError(f"The 'observational' argument of {owner} must be True or False. Got {observational!r}.")
    if max_targets is not None:
        max_targets = int(check_number(max_targets, "max_targets", owner, low=1, integer=True))
    m = 1
    while math.comb(m, m // 2) < d:
        m += 1
    codes: list[tuple[int, ...]] = list(itertools.islice(itertools.combinations(range(m), m // 2), d))
    if max_targets is not None and max(sum(k in code for code in codes) for k in range(m)) > max_targets:
        codes = [(i,) for i in range(d)]  # one experiment per variable: always within the bound
        for size in range(3, d):
            pairs = _pair_codes(size, d)
            if len(pairs) == d and np.bincount(np.ravel(pairs), minlength=size).max() <= max_targets:
                codes = list(pairs)
                break
        m = max(max(code) for code in codes) + 1
    experiments = [tuple(names[i] for i in range(d) if k in codes[i]) for k in range(m)]
    return ([()] if observational else []) + experiments
