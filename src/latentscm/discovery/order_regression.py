"""A DAG's edge weights from a causal order: each node regressed on the nodes before it, then pruned.

Shared by the methods that first find a causal order and then its weights: DirectLiNGAM (Shimizu et al. 2011) and
SortnRegress (Reisach, Seiler & Weichwald, NeurIPS 2021). ``prune="adaptive_lasso"`` (Zou 2006, "The adaptive
lasso and its oracle properties", JASA) selects predictors with a Lasso whose penalty on each standardised
predictor is weighted by ``1 / |OLS coefficient|``, the Lasso path chosen by BIC (sklearn ``LassoLarsIC``), then
refits OLS on the selected ones; ``"ols_threshold"`` keeps OLS coefficients with ``|w| >= threshold``; ``"none"``
keeps every OLS coefficient. Required edges are always kept, forbidden ones never estimated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ORDER_PRUNES", "must_precede", "ordered_table", "regress_on_order", "standardise"]

#: Pruning rules :func:`regress_on_order` accepts.
ORDER_PRUNES = ("adaptive_lasso", "none", "ols_threshold")


def standardise(x: np.ndarray) -> np.ndarray:
    """Columns of ``x`` (n, d) centred and scaled to unit (population) standard deviation."""
    centred = x - x.mean(axis=0)
    return centred / centred.std(axis=0)


def must_precede(names: Sequence[str], knowledge: object | None) -> np.ndarray:
    """Bool (d, d): ``[j, i]`` when ``j`` must come before ``i`` in a causal order (a required path or an earlier
    tier of the :class:`~latentscm.discovery.knowledge.BackgroundKnowledge` ``knowledge``), transitively closed."""
    d = len(names)
    before = np.zeros((d, d), dtype=bool)
    if knowledge is None:
        return before
    index = {n: k for k, n in enumerate(names)}
    for a, b in knowledge.required:  # type: ignore[attr-defined]
        before[index[a], index[b]] = True
    tier = {index[n]: t for t, group in enumerate(knowledge.tiers) for n in group}  # type: ignore[attr-defined]
    for a, ta in tier.items():
        for b, tb in tier.items():
            if ta < tb:
                before[a, b] = True
    for k in range(d):  # transitive closure (Warshall)
        before |= before[:, [k]] & before[[k], :]
    return before


def ordered_table(data: Any, node_names: Sequence[str] | None, knowledge: Any, owner: str
                  ) -> tuple[np.ndarray, tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """The checked data of an order-then-regress method: the matrix (n, d) and names, the knowledge's ``forbidden``
    and ``required`` (d, d) bool and ``before`` (d, d, :func:`must_precede`). Refuses no columns, fewer than d + 2
    rows, constant columns and knowledge that orders a node before itself, naming ``owner``'s argument."""
    from latentscm.discovery.knowledge import as_knowledge
    from latentscm.discovery.pc import as_data_matrix

    knowledge = as_knowledge(knowledge, owner)
    matrix, names = as_data_matrix(data, node_names, owner)
    n, d = matrix.shape
    if d == 0:
        raise ValueError(f"The 'data' argument of {owner} has no columns.")
    if n < d + 2:
        raise ValueError(f"The 'data' argument of {owner} has {n} rows for {d} columns; regressing a node on its "
                         f"{d - 1} possible predictors needs at least {d + 2} rows (n >= d + 2).")
    constant = [names[j] for j in np.flatnonzero(np.ptp(matrix, axis=0) == 0)]
    if constant:
        raise ValueError(f"The 'data' argument of {owner} has constant columns {constant}; a constant has no "
                         f"causal order. Drop them.")
    if knowledge is not None:
        forbidden, required = knowledge.matrices(names, owner)
    else:
        forbidden, required = np.zeros((d, d), dtype=bool), np.zeros((d, d), dtype=bool)
    before = must_precede(names, knowledge)
    if np.any(np.diag(before)):
        raise ValueError(f"The 'knowledge' argument of {owner} orders a node before itself (its required edges "
                         f"and tiers form a cycle).")
    return matrix, names, forbidden, required, before


def _ols(x: np.ndarray, predictors: list[int], target: int) -> np.ndarray:
    design = x[:, predictors] - x[:, predictors].mean(axis=0)
    response = x[:, target] - x[:, target].mean()
    coef, *_ = np.linalg.lstsq(design, response, rcond=None)
    return coef


def _adaptive_lasso(x: np.ndarray, predictors: list[int], target: int, keep: np.ndarray) -> np.ndarray:
    """Adaptive-Lasso selection (BIC) then an OLS refit; ``keep`` (len(predictors),) bool forces a predictor in."""
    from sklearn.linear_model import LassoLarsIC

    z = standardise(x)
    penalty = np.abs(_ols(z, predictors, target))
    lasso = LassoLarsIC(criterion="bic", fit_intercept=True)
    lasso.fit(z[:, predictors] * penalty, z[:, target])
    selected = (np.abs(lasso.coef_ * penalty) > 0) | keep
    coef = np.zeros(len(predictors))
    if selected.any():
        chosen = [p for p, s in zip(predictors, selected) if s]
        coef[selected] = _ols(x, chosen, target)
    return coef


def regress_on_order(x: np.ndarray, order: Sequence[int], *, prune: str = "adaptive_lasso", threshold: float = 0.1,
                     forbidden: np.ndarray | None = None, required: np.ndarray | None = None) -> np.ndarray:
    """Weights (d, d), ``[i, j]`` the coefficient of column i in column j's equation, of the data ``x`` (n, d): each
    node regressed on the nodes before it in ``order`` (a permutation of ``range(d)``, first = most exogenous),
    without the ``forbidden[i, j]`` predictors, then pruned by ``prune`` (see the module docstring); the
    ``required[i, j]`` ones are kept."""
    from latentscm._validation import check_choice

    d = x.shape[1]
    check_choice(prune, "prune", "regress_on_order", ORDER_PRUNES)
    if sorted(int(k) for k in order) != list(range(d)):
        raise ValueError(f"The 'order' argument of regress_on_order must be a permutation of range({d}) (each of the "
                         f"{d} columns once). Got {list(order)}.")
    forbidden = np.zeros((d, d), dtype=bool) if forbidden is None else forbidden
    required = np.zeros((d, d), dtype=bool) if required is None else required
    weights = np.zeros((d, d))
    for k, target in enumerate(order):
        predictors = [p for p in order[:k] if not forbidden[p, target]]
        if not predictors:
            continue
        keep = required[predictors, target]
        if prune == "adaptive_lasso":
            coef = _adaptive_lasso(x, predictors, target, keep)
        else:
            coef = _ols(x, predictors, target)
            if prune == "ols_threshold":
                coef = np.where((np.abs(coef) >= threshold) | keep, coef, 0.0)
        weights[predictors, target] = coef
    return weights
