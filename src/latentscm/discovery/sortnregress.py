"""SortnRegress: a causal order from one score per variable, then each variable regressed on those before it.

The baseline of Reisach, Seiler & Weichwald (NeurIPS 2021), "Beware of the simulated DAG! Causal discovery
benchmarks may be easy to game" (``criterion="var"``: sort by marginal variance), and of Reisach, Tami, Seiler,
Chambaz & Weichwald (NeurIPS 2023), "A scale-invariant sorting criterion to find a causal order in additive noise
models" (``criterion="r2"``: sort by the R^2 of each variable given all the others; rescaling the data does not
change it). ``criterion="random"`` sorts by a seeded random permutation: the floor any method should clear.

It is a diagnostic more than a method: on data whose variances (or R^2) grow along the causal order
(:func:`~latentscm.metrics.sortability.sortability` near 1), this two-line procedure rivals continuous-optimisation
methods, and a benchmark that one of them wins says little about causal discovery. Run it beside any method on
simulated data; a method that does not beat it there has not shown it uses more than the scale of the variables.

The order is ascending in the score (ties: column order), restricted, when background knowledge is given, to
orders its required edges and tiers allow (the lowest-scoring admissible variable is placed next). The weights are
those of :func:`~latentscm.discovery.order_regression.regress_on_order`: by default an adaptive Lasso chosen by
BIC, as in the papers, followed by an OLS refit of the selected parents (the papers keep the Lasso's shrunk
coefficients; the selected edges are the same).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_choice, check_number
from latentscm.discovery.knowledge import BackgroundKnowledge
from latentscm.discovery.order_regression import ORDER_PRUNES, ordered_table, regress_on_order
from latentscm.discovery.result import DiscoveredGraph
from latentscm.metrics.sortability import orderable_variances, r2_coefficients

__all__ = ["SORT_CRITERIA", "sortnregress"]

#: Scores :func:`sortnregress` sorts by.
SORT_CRITERIA = ("var", "r2", "random")


def _order(scores: np.ndarray, before: np.ndarray) -> list[int]:
    """Ascending order of ``scores`` (d,) (ties by index) in which no node comes before one that ``before[j, i]``
    says must precede it."""
    remaining = list(range(len(scores)))
    order: list[int] = []
    while remaining:
        admissible = [i for i in remaining if not before[remaining, i].any()]
        chosen = min(admissible, key=lambda i: (scores[i], i))
        order.append(chosen)
        remaining.remove(chosen)
    return order


def sortnregress(data: Any, *, criterion: str = "var", prune: str = "adaptive_lasso", threshold: float = 0.1,
                 knowledge: BackgroundKnowledge | Any = None, node_names: Sequence[str] | None = None,
                 seed: int | np.random.Generator = 0) -> DiscoveredGraph:
    """Var-, R^2- or Random-SortnRegress (Reisach et al. 2021, 2023): a DAG and its weights from a causal order by
    one score per variable.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame; finite, no constant column, n >= d + 2.
    criterion: ``"var"`` (ascending marginal variance), ``"r2"`` (ascending R^2 given all other variables) or
        ``"random"`` (a permutation drawn from ``seed``).
    prune: ``"adaptive_lasso"`` (BIC; the papers'), ``"ols_threshold"`` (drop ``|w| < threshold``) or ``"none"``.
    threshold: the cut of ``prune="ols_threshold"`` (>= 0; unused by the other rules).
    knowledge: :class:`~latentscm.discovery.knowledge.BackgroundKnowledge` (or its dict) by node name: required
        edges and tiers restrict the order, forbidden edges (and tiers) are never estimated, required edges are kept.
    node_names: names of the d columns (default ``X0, X1, ...``, or the mapping's keys).
    seed: the random order of ``criterion="random"`` (the other criteria are deterministic).

    Returns
    -------
    DiscoveredGraph, fully directed. ``info``: method, criterion, prune, threshold, ``causal_order`` (names, first
    = lowest score), ``scores`` (d,) per column, ``weights`` (nested list d x d, ``[i][j]`` the coefficient of i in
    j's equation), ``n_samples``.
    """
    owner = "sortnregress"
    check_choice(criterion, "criterion", owner, SORT_CRITERIA)
    check_choice(prune, "prune", owner, ORDER_PRUNES)
    threshold = float(check_number(threshold, "threshold", owner, low=0))
    rng = as_generator(seed)
    matrix, names, forbidden, required, before = ordered_table(data, node_names, knowledge, owner)
    n, d = matrix.shape
    if criterion == "var":  # ranked by variances rescaled where they would over- or underflow (the same order)
        scores, ranked = matrix.var(axis=0), orderable_variances(matrix)[0]
    elif criterion == "r2":
        scores = ranked = r2_coefficients(matrix)
    else:
        scores = ranked = rng.permutation(d).astype(float)
    order = _order(ranked, before)
    weights = regress_on_order(matrix, order, prune=prune, threshold=threshold, forbidden=forbidden,
                               required=required)
    info = {"method": "sortnregress", "criterion": criterion, "prune": prune, "threshold": threshold,
            "causal_order": [names[i] for i in order], "scores": scores.tolist(), "weights": weights.tolist(),
            "n_samples": int(n)}
    return DiscoveredGraph(names, (weights != 0).astype(np.int64), {}, info)
