"""Causal orders of nonlinear additive noise models from the score, then CAM pruning: SCORE, DAS and NoGAM.

All three assume ``x_j = f_j(x_pa(j)) + e_j`` with independent noise and find a causal order leaf by leaf: a node
is a leaf of the remaining variables exactly when a property of the score ``∇ log p`` of their joint holds. The
order's full DAG is then pruned by :func:`~latentscm.discovery.cam_pruning.cam_prune` (CAM, Bühlmann et al. 2014).

* **SCORE** (Rolland, Cevher, Kleindessner, Russel, Schölkopf, Janzing & Locatello 2022, "Score matching enables
  causal discovery of nonlinear additive noise models", ICML). With Gaussian noise, ``∂²_j log p(x)`` is constant
  (``-1 / σ_j²``) exactly when ``j`` is a leaf (Lemma 1), so the leaf is the node whose Stein estimate of the
  diagonal Hessian (:mod:`~latentscm.discovery.stein`) varies least across the samples.
* **DAS** (Montagna, Noceti, Rosasco, Zhang & Locatello 2023, "Scalable causal discovery with score matching",
  CLeaR). SCORE's order, then for each leaf ``l`` the Hessian entries ``∂_l ∂_j log p`` are non-zero on average only
  for ``j`` among ``l``'s neighbours in the moral graph (Proposition 1), which pre-selects the candidates CAM tests:
  the ``max_parents`` predecessors with the largest ``|median ∂_l ∂_j log p|``, the ``min_parents`` largest of them
  kept outright, the others kept when a one-sided Welch t-test of ``|∂_l ∂_j log p|`` against the weakest of them
  rejects at ``das_alpha`` (that weakest one is never kept: it stands for a zero entry). The Hessian is estimated
  once on all variables, as in the authors' code (dodiscover). A parent whose mechanism is symmetric about the
  cause's centre (``cos``, ``x²``) has a median entry near 0 and can fall out of the top; ranking by the mean of
  ``|∂_l ∂_j log p|`` instead keeps it, but at d = 50 that mean is dominated by the estimate's noise and loses more
  true parents (28 and 22 of 49 and 47 on two GP graphs, against 16 and 7 for the median), so the median stays.
* **NoGAM** (Montagna, Noceti, Rosasco, Zhang & Locatello 2023, "Causal discovery with score matching on additive
  models with arbitrary noise", CLeaR). Any noise distribution: for a leaf, ``∂_l log p(x)`` is a function of its
  residual ``e_l = x_l - E[x_l | rest]`` alone, so the leaf is the node whose score entry a regression on its own
  residual predicts best. Residuals and predictions are cross-fitted kernel ridge regressions (``n_folds`` folds,
  RBF kernel with ``ridge_gamma``, ridge ``ridge_alpha``).

Units: the ridges and the kernel bandwidth of the estimates are not scale-free, so the order found on raw data
depends on the data's units. By default the order step divides all columns by one common scale (``scaling``):
invariant to a change of units common to all columns, and as accurate as the raw units on the papers' simulations,
where standardising each column separately loses accuracy (one bandwidth must then serve noises of very different
relative sizes).

Background knowledge: a node is not taken as a leaf while it must precede another remaining node (a required path
or an earlier tier); forbidden edges are never candidates and required edges are kept by the pruning.

Cost: every leaf step solves ``n × n`` kernel systems, ``O(n³)`` each; the order is found on at most
``max_samples`` rows (a seeded subsample above it), the pruning uses every row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats

from latentscm._validation import as_generator, check_choice, check_number
from latentscm.discovery.cam_pruning import cam_prune, preliminary_neighbours
from latentscm.discovery.knowledge import BackgroundKnowledge, as_knowledge
from latentscm.discovery.order_regression import must_precede
from latentscm.discovery.pc import as_data_matrix
from latentscm.discovery.result import DiscoveredGraph
from latentscm.discovery.stein import DegenerateKernelError, _hessian_column, _hessian_diagonal, _kernel, _score

__all__ = ["MAX_ORDER_SAMPLES", "SCALINGS", "SCORE_PRUNES", "das", "nogam", "score_matching"]

#: Pruning rules the order-based methods accept.
SCORE_PRUNES = ("cam", "none")
#: How the order step scales the columns: ``"global"`` divides them all by one number (the root mean square of their
#: standard deviations), ``"columns"`` each by its own standard deviation, ``"none"`` leaves the data's units.
SCALINGS = ("global", "columns", "none")
#: Rows the order step uses at most by default (a seeded subsample above it).
MAX_ORDER_SAMPLES = 2000


class _Problem:
    """The checked data, names and knowledge of one call."""

    def __init__(self, data: Any, node_names: Sequence[str] | None, knowledge: Any, owner: str) -> None:
        knowledge = as_knowledge(knowledge, owner)
        matrix, names = as_data_matrix(data, node_names, owner)
        n, d = matrix.shape
        if d == 0:
            raise ValueError(f"The 'data' argument of {owner} has no columns.")
        constant = [names[j] for j in np.flatnonzero(np.ptp(matrix, axis=0) == 0)]
        if constant:
            raise ValueError(f"The 'data' argument of {owner} has constant columns {constant}; a constant has no "
                             f"causal order. Drop them.")
        if knowledge is not None:
            self.forbidden, self.required = knowledge.matrices(names, owner)
        else:
            self.forbidden = self.required = np.zeros((d, d), dtype=bool)
        self.before = must_precede(names, knowledge)
        if np.any(np.diag(self.before)):
            raise ValueError(f"The 'knowledge' argument of {owner} orders a node before itself (its required edges "
                             f"and tiers form a cycle).")
        self.matrix, self.names, self.owner = matrix, names, owner

    def order_rows(self, max_samples: int | None, rng: np.random.Generator, scaling: str) -> np.ndarray:
        """The rows the order step uses (a seeded subsample above ``max_samples``), centred and scaled as
        ``scaling`` says (see :data:`SCALINGS`)."""
        n = self.matrix.shape[0]
        x = self.matrix
        if max_samples is not None and n > max_samples:
            x = x[np.sort(rng.choice(n, size=max_samples, replace=False))]
        if scaling == "none":
            return x
        spread = x.std(axis=0)
        tied = [self.names[j] for j in np.flatnonzero(spread == 0)]
        if tied:
            raise ValueError(f"The 'data' argument of {self.owner}: columns {tied} are constant on the "
                             f"{x.shape[0]} rows of the order step (max_samples={max_samples}); give more rows.")
        if scaling == "global":
            spread = np.full_like(spread, np.sqrt(np.mean(spread ** 2)))
        return (x - x.mean(axis=0)) / spread


def _leaf_order(x: np.ndarray, problem: _Problem,
                statistic: Callable[[np.ndarray], np.ndarray]) -> tuple[list[int], list[dict[int, float]]]:
    """The causal order (first = source) found by removing, while more than one node remains, the allowed node with
    the smallest ``statistic`` (one value per remaining column of ``x``); and the statistics of each step."""
    remaining = list(range(x.shape[1]))
    reversed_order: list[int] = []
    steps: list[dict[int, float]] = []
    while len(remaining) > 1:
        allowed = [k for k, i in enumerate(remaining) if not problem.before[i, remaining].any()]
        try:
            values = statistic(x[:, remaining])
        except DegenerateKernelError as error:
            columns = [problem.names[i] for i in remaining]
            raise ValueError(f"The 'data' argument of {problem.owner}: on the columns {columns} (the ones left "
                             f"after removing {len(reversed_order)} leaves) {error}") from None
        steps.append({remaining[k]: float(values[k]) for k in range(len(remaining))})
        chosen = allowed[int(np.argmin(values[allowed]))]
        reversed_order.append(remaining.pop(chosen))
    reversed_order.append(remaining[0])
    return reversed_order[::-1], steps


def _hessian_variance(owner: str, eta_g: float, eta_h: float) -> Callable[[np.ndarray], np.ndarray]:
    """SCORE's leaf statistic: the variance over the rows of each column's Stein diagonal Hessian (k,) of ``x``
    (n, k)."""
    def statistic(columns: np.ndarray) -> np.ndarray:
        kernel = _kernel(columns, None, owner)
        return _hessian_diagonal(kernel, _score(kernel, eta_g), eta_h).var(axis=0)
    return statistic


def _full_dag(order: list[int], d: int) -> np.ndarray:
    dense = np.zeros((d, d), dtype=bool)
    for k, j in enumerate(order):
        dense[order[:k], j] = True
    return dense


def _check_flag(value: Any, name: str, owner: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"The '{name}' argument of {owner} must be True or False. Got {value!r}.")
    return bool(value)


def _check_pns(owner: str, pns: Any, neighbours: Any, threshold: Any) -> tuple[bool, int | None, float]:
    pns = _check_flag(pns, "pns", owner)
    if neighbours is not None:
        neighbours = int(check_number(neighbours, "pns_neighbours", owner, low=1, integer=True))
    threshold = float(check_number(threshold, "pns_threshold", owner, low=0.0))
    return pns, neighbours, threshold


def _check_common(owner: str, eta_g: float, alpha: float, prune: str, n_splines: int, degree: int,
                  max_samples: int | None) -> tuple[float, float, str, int, int, int | None]:
    eta_g = float(check_number(eta_g, "eta_g", owner, low=0.0, low_inclusive=False))
    alpha = float(check_number(alpha, "alpha", owner, low=0.0, high=1.0, low_inclusive=False))
    prune = check_choice(prune, "prune", owner, SCORE_PRUNES)
    degree = int(check_number(degree, "degree", owner, low=1, integer=True))
    n_splines = int(check_number(n_splines, "n_splines", owner, low=degree + 1, integer=True))
    if max_samples is not None:
        max_samples = int(check_number(max_samples, "max_samples", owner, low=10, integer=True))
    return eta_g, alpha, prune, n_splines, degree, max_samples


def _finish(problem: _Problem, order: list[int], steps: list[dict[int, float]], candidates: np.ndarray, *,
            method: str, prune: str, alpha: float, n_splines: int, degree: int, pns: bool,
            pns_neighbours: int | None, pns_threshold: float, rng: np.random.Generator,
            extra: dict[str, Any]) -> DiscoveredGraph:
    x, names = problem.matrix, problem.names
    d = x.shape[1]
    required = problem.required & _full_dag(order, d)  # the order respects them: all are forward edges
    candidates = (candidates & ~problem.forbidden) | required
    if pns:
        candidates &= preliminary_neighbours(x, threshold=pns_threshold, neighbours=pns_neighbours,
                                             seed=int(rng.integers(2 ** 31)))
        candidates |= required
    if prune == "cam":
        kept, pvalues = cam_prune(x, candidates, alpha=alpha, required=problem.required, n_splines=n_splines,
                                  degree=degree, names=names, owner=problem.owner)
    else:
        kept, pvalues = candidates, np.full((d, d), np.nan)
    info = {"method": method, "prune": prune, "alpha": alpha, "causal_order": [names[i] for i in order],
            "leaf_statistics": [{names[i]: v for i, v in step.items()} for step in steps],
            "candidates": int(candidates.sum()),
            "pvalues": [[None if np.isnan(v) else float(v) for v in row] for row in pvalues],
            "n_samples": int(x.shape[0]), **extra}
    return DiscoveredGraph(names, kept.astype(np.int64), {}, info)


def score_matching(data: Any, *, eta_g: float = 0.001, eta_h: float = 0.001, alpha: float = 0.001,
                   prune: str = "cam", n_splines: int = 10, degree: int = 3, pns: bool = False,
                   pns_neighbours: int | None = None, pns_threshold: float = 1.0, scaling: str = "global",
                   knowledge: BackgroundKnowledge | Any = None, max_samples: int | None = MAX_ORDER_SAMPLES,
                   seed: int = 0, node_names: Sequence[str] | None = None) -> DiscoveredGraph:
    """SCORE (Rolland et al. 2022): a DAG of a nonlinear additive Gaussian-noise model from observational data.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame; finite, no constant column.
    eta_g, eta_h: the ridges of the Stein score and Hessian estimates (> 0; the paper's 0.001).
    alpha: the level of CAM pruning's F tests (the paper's 0.001).
    prune: ``"cam"`` or ``"none"`` (the order's full DAG).
    n_splines, degree: the regression splines of each additive term in CAM pruning.
    pns, pns_neighbours, pns_threshold: preliminary neighbourhood selection before pruning (for many nodes):
        keep as candidates the variables whose extra-trees importance is at least ``pns_threshold`` (>= 0) times
        the mean, the ``pns_neighbours`` (>= 1, or None: no limit) most important at most.
    scaling: how the order step scales the columns (:data:`SCALINGS`). The Stein estimates' ridges and bandwidth
        are not scale-free, so on raw data the order depends on the units. ``"global"`` (default) centres the
        columns and divides them all by one number: a change of units common to all columns changes nothing, and
        the columns keep their relative scales. ``"columns"`` standardises each column: no unit matters, but one
        kernel bandwidth then serves noises of very different relative sizes, which costs accuracy on the papers'
        simulations (see ``benchmarks/bench_score_matching.py``). ``"none"``: the data's own units, as the authors'
        code runs (it then found that code's order on all 20 benchmark graphs compared). CAM pruning's F tests do
        not depend on units.
    knowledge: :class:`~latentscm.discovery.knowledge.BackgroundKnowledge` (or its dict) by node name.
    max_samples: rows the order step uses at most (seeded subsample above; ``None``: all).
    seed: seeds the subsample and the neighbourhood selection (checked even when neither is drawn).
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    DiscoveredGraph, fully directed. ``info``: method, prune, alpha, ``causal_order`` (names, first = source),
    ``leaf_statistics`` (per step, the variance of each remaining node's diagonal Hessian), ``candidates`` (edges
    tested), ``pvalues`` ((d, d) nested list, ``None`` where untested), ``n_samples``, eta_g, eta_h, scaling.
    """
    owner = "score_matching"
    eta_g, alpha, prune, n_splines, degree, max_samples = _check_common(owner, eta_g, alpha, prune, n_splines,
                                                                        degree, max_samples)
    eta_h = float(check_number(eta_h, "eta_h", owner, low=0.0, low_inclusive=False))
    pns, pns_neighbours, pns_threshold = _check_pns(owner, pns, pns_neighbours, pns_threshold)
    scaling = check_choice(scaling, "scaling", owner, SCALINGS)
    rng = as_generator(seed)
    problem = _Problem(data, node_names, knowledge, owner)
    x = problem.order_rows(max_samples, rng, scaling)
    order, steps = _leaf_order(x, problem, _hessian_variance(owner, eta_g, eta_h))
    d = x.shape[1]
    return _finish(problem, order, steps, _full_dag(order, d), method="score", prune=prune, alpha=alpha,
                   n_splines=n_splines, degree=degree, pns=pns, pns_neighbours=pns_neighbours,
                   pns_threshold=pns_threshold, rng=rng,
                   extra={"eta_g": eta_g, "eta_h": eta_h, "scaling": scaling})


def _das_candidates(hessian: np.ndarray, order: list[int], min_parents: int, max_parents: int,
                    das_alpha: float) -> np.ndarray:
    """DAS's candidate parents (d, d) bool from the Hessian estimate (n, d, d) and the order."""
    d = hessian.shape[1]
    candidates = np.zeros((d, d), dtype=bool)
    for k in range(d - 1, 0, -1):
        leaf, before_leaf = order[k], np.asarray(order[:k])
        entries = np.abs(hessian[:, leaf, before_leaf])  # (n, k)
        strength = np.abs(np.median(hessian[:, leaf, before_leaf], axis=0))
        top = np.argsort(-strength, kind="stable")[:max_parents]
        reference = top[-1]  # the weakest of the top ones: the test's "zero" population
        for rank, j in enumerate(top):
            if rank < min_parents:
                candidates[before_leaf[j], leaf] = True
            elif j != reference:
                result = stats.ttest_ind(entries[:, j], entries[:, reference], equal_var=False,
                                         alternative="greater")
                candidates[before_leaf[j], leaf] = bool(result.pvalue < das_alpha)
    return candidates


def das(data: Any, *, eta_g: float = 0.001, eta_h: float = 0.001, alpha: float = 0.001, das_alpha: float = 0.05,
        min_parents: int = 5, max_parents: int = 20, prune: str = "cam", n_splines: int = 10, degree: int = 3,
        scaling: str = "global", knowledge: BackgroundKnowledge | Any = None,
        max_samples: int | None = MAX_ORDER_SAMPLES, seed: int = 0,
        node_names: Sequence[str] | None = None) -> DiscoveredGraph:
    """DAS (Montagna et al. 2023): SCORE's order, candidates from the Hessian's off-diagonal, then CAM pruning.

    Parameters as :func:`score_matching` (without the preliminary neighbourhood selection: the Hessian selects the
    candidates), and: das_alpha, the level of the Hessian t-tests; min_parents, the
    candidates kept without a test; max_parents (>= 2 when min_parents is 0), the most candidates per node.
    ``prune="none"`` returns the Hessian-selected candidates. ``info`` adds ``das_alpha``, ``min_parents``,
    ``max_parents``.
    """
    owner = "das"
    eta_g, alpha, prune, n_splines, degree, max_samples = _check_common(owner, eta_g, alpha, prune, n_splines,
                                                                        degree, max_samples)
    eta_h = float(check_number(eta_h, "eta_h", owner, low=0.0, low_inclusive=False))
    das_alpha = float(check_number(das_alpha, "das_alpha", owner, low=0.0, high=1.0, low_inclusive=False))
    min_parents = int(check_number(min_parents, "min_parents", owner, low=0, integer=True))
    max_parents = int(check_number(max_parents, "max_parents", owner, low=1, integer=True))
    if min_parents > max_parents:
        raise ValueError(f"The 'min_parents' argument of {owner} ({min_parents}) exceeds 'max_parents' "
                         f"({max_parents}).")
    if max_parents == 1 and min_parents == 0:
        raise ValueError(f"The 'max_parents' argument of {owner} is 1 with min_parents=0: the one top candidate "
                         f"would be the t-test's reference, which is never kept, so every node would get no "
                         f"candidate. Use max_parents >= 2 or min_parents=1.")
    scaling = check_choice(scaling, "scaling", owner, SCALINGS)
    rng = as_generator(seed)
    problem = _Problem(data, node_names, knowledge, owner)
    x = problem.order_rows(max_samples, rng, scaling)
    order, steps = _leaf_order(x, problem, _hessian_variance(owner, eta_g, eta_h))
    try:
        kernel = _kernel(x, None, owner)
        score = _score(kernel, eta_g)
        hessian = np.stack([_hessian_column(kernel, score, a, eta_h) for a in range(x.shape[1])], axis=1)
    except DegenerateKernelError as error:
        raise ValueError(f"The 'data' argument of {owner}: {error}") from None
    candidates = _das_candidates(hessian, order, min_parents, max_parents, das_alpha)
    return _finish(problem, order, steps, candidates, method="das", prune=prune, alpha=alpha, n_splines=n_splines,
                   degree=degree, pns=False, pns_neighbours=None, pns_threshold=1.0, rng=rng,
                   extra={"eta_g": eta_g, "eta_h": eta_h, "das_alpha": das_alpha, "min_parents": min_parents,
                          "max_parents": max_parents, "scaling": scaling})


def _cross_fitted(x: np.ndarray, y: np.ndarray, n_folds: int, ridge_alpha: float, ridge_gamma: float) -> np.ndarray:
    """Out-of-fold kernel ridge predictions (n,) of ``y`` (n,) from ``x`` (n, k), ``n_folds`` contiguous folds."""
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.model_selection import KFold, cross_val_predict

    model = KernelRidge(kernel="rbf", alpha=ridge_alpha, gamma=ridge_gamma)
    return cross_val_predict(model, x, y, cv=KFold(n_folds))


def nogam(data: Any, *, eta_g: float = 0.001, n_folds: int = 5, ridge_alpha: float = 0.01,
          ridge_gamma: float = 0.1, alpha: float = 0.001, prune: str = "cam", n_splines: int = 10, degree: int = 3,
          pns: bool = False, pns_neighbours: int | None = None, pns_threshold: float = 1.0, scaling: str = "global",
          knowledge: BackgroundKnowledge | Any = None, max_samples: int | None = MAX_ORDER_SAMPLES, seed: int = 0,
          node_names: Sequence[str] | None = None) -> DiscoveredGraph:
    """NoGAM (Montagna et al. 2023): a DAG of a nonlinear additive noise model with any noise distribution.

    Parameters as :func:`score_matching`, and: n_folds (>= 2), the folds of the cross-fitted kernel ridge
    regressions; ridge_alpha (> 0), their ridge; ridge_gamma (> 0), their RBF kernel's ``gamma``
    (``exp(-gamma |a - b|²)``, on the scaled columns). ``info["leaf_statistics"]`` holds, per step, the
    mean squared error of predicting each remaining node's score entry from its residual.
    """
    owner = "nogam"
    eta_g, alpha, prune, n_splines, degree, max_samples = _check_common(owner, eta_g, alpha, prune, n_splines,
                                                                        degree, max_samples)
    n_folds = int(check_number(n_folds, "n_folds", owner, low=2, integer=True))
    ridge_alpha = float(check_number(ridge_alpha, "ridge_alpha", owner, low=0.0, low_inclusive=False))
    ridge_gamma = float(check_number(ridge_gamma, "ridge_gamma", owner, low=0.0, low_inclusive=False))
    pns, pns_neighbours, pns_threshold = _check_pns(owner, pns, pns_neighbours, pns_threshold)
    scaling = check_choice(scaling, "scaling", owner, SCALINGS)
    rng = as_generator(seed)
    problem = _Problem(data, node_names, knowledge, owner)
    rows = min(problem.matrix.shape[0], max_samples or problem.matrix.shape[0])
    if rows < 2 * n_folds:
        where = (f"max_samples={max_samples} rows" if rows < problem.matrix.shape[0]
                 else f"{rows} rows of 'data'")
        raise ValueError(f"The order step of {owner} uses {where}, too few for n_folds={n_folds} folds (needs at "
                         f"least {2 * n_folds}).")
    x = problem.order_rows(max_samples, rng, scaling)

    def residual_fit(columns: np.ndarray) -> np.ndarray:
        kernel = _kernel(columns, None, owner)
        score = _score(kernel, eta_g)
        k = columns.shape[1]
        errors = np.empty(k)
        for j in range(k):
            rest = np.delete(columns, j, axis=1)
            residual = columns[:, j] - _cross_fitted(rest, columns[:, j], n_folds, ridge_alpha, ridge_gamma)
            predicted = _cross_fitted(residual[:, None], score[:, j], n_folds, ridge_alpha, ridge_gamma)
            errors[j] = float(np.mean((score[:, j] - predicted) ** 2))
        return errors

    order, steps = _leaf_order(x, problem, residual_fit)
    d = x.shape[1]
    return _finish(problem, order, steps, _full_dag(order, d), method="nogam", prune=prune, alpha=alpha,
                   n_splines=n_splines, degree=degree, pns=pns, pns_neighbours=pns_neighbours,
                   pns_threshold=pns_threshold, rng=rng,
                   extra={"eta_g": eta_g, "n_folds": n_folds, "ridge_alpha": ridge_alpha,
                          "ridge_gamma": ridge_gamma, "scaling": scaling})
