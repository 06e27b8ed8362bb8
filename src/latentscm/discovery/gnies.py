"""GnIES: causal discovery from several environments whose intervention targets are unknown.

Gamella, Taeb, Heinze-Deml & Bühlmann (2022), "Characterization and greedy learning of Gaussian structural causal
models under unknown interventions" (arXiv:2211.14897). Each environment is the same linear-Gaussian SCM with the
noise of some variables changed (their *targets*, unknown, and differing between environments); the weights are
shared. Let ``I`` be the variables intervened on in some environment. A model is a DAG and ``I``; two models are
equivalent when their ``I`` agree and the DAGs agree on the skeleton, the v-structures and the orientation of every
edge at a node of ``I`` (the paper's Theorem 1): the class is the I-essential graph of the DAG for the targets
``{i}``, ``i`` in ``I`` (:func:`~latentscm.discovery.gies.interventional_essential_graph`).

The score (:class:`UnknownTargetGaussianBIC`) is the penalised likelihood of the environments' data: a node outside
``I`` has one weight vector and one noise variance for all environments; a node in ``I`` has one weight vector and a
noise variance per environment, fitted by alternating the weighted least-squares weights and the per-environment
variances (each environment's rows are centred: a shift of a mean carries no information, as the paper's default
``center=True``). The penalty counts the weights and the variances.

The search has two levels. Inside, GES's phases (:func:`~latentscm.discovery.ges.search_phases`) over the classes for
a fixed ``I``; outside, ``approach="greedy"`` adds to ``I`` the node that improves the inner search's best score most
until none does, then removes nodes likewise; ``approach="rank"`` fits once with every node in ``I``, ranks the
nodes by how much their noise variances vary across environments, and adds them in that order while the score
improves (faster: ``d`` inner searches instead of ``O(d^2)``).

The model's interventions change a target's *noise* and keep its weights. A perfect intervention that cuts a target
from its parents (``do(z3 = a random value)``) is outside it: on the ``ild-linear`` world's factors with ``do(z1)``
and ``do(z3)`` regimes (``latentscm worlds factors ild-linear --domain 0 --n 20000 --regimes single-node --factors
z1,z3``, environments by the ``intervened`` column) GnIES names z0 as the target and reverses ``z0 -> z3``, while
:func:`~latentscm.discovery.gies.gies` told the targets returns the true graph. (``z1`` is a root: replacing it by a
draw of its own marginal changes no distribution, so no method can see it.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number, node_position
from latentscm.discovery.ges import consistent_extension, search_phases
from latentscm.discovery.gies import interventional_essential_graph
from latentscm.discovery.pc import as_data_matrix
from latentscm.discovery.result import DiscoveredGraph
from latentscm.discovery.scores import LocalScore

__all__ = ["GNIES_APPROACHES", "UnknownTargetGaussianBIC", "gnies"]

#: The outer procedures of :func:`gnies`.
GNIES_APPROACHES = ("greedy", "rank")


def _regress(cov: np.ndarray, node: int, parents: list[int]) -> np.ndarray:
    """Least-squares weights (|P|,) of ``node`` on ``parents`` from a covariance (d, d)."""
    if not parents:
        return np.zeros(0)
    c_pp = cov[np.ix_(parents, parents)]
    c_pi = cov[parents, node]
    try:
        return np.linalg.solve(c_pp, c_pi)
    except np.linalg.LinAlgError:  # exactly collinear parents: the least-squares fit is still defined
        return np.linalg.pinv(c_pp) @ c_pi


class UnknownTargetGaussianBIC(LocalScore):
    """The GnIES score: a linear-Gaussian BIC over environments, the nodes of ``targets`` with a noise variance per
    environment (see the module docstring).

    For node ``j`` with parents ``P`` and residual variances ``w_e`` (one for all environments when ``j`` is not a
    target), the local score is ``-1/2 sum_e n_e (1 + log w_e) - penalty_discount / 2 * log(N) * (|P| + V)`` with
    ``V`` the number of variances (1, or the number of environments E). The weights of a target minimise the
    likelihood with the variances; they are found by alternating weighted least squares (weights ``n_e / w_e``) and
    the variances ``w_e = r' C_e r`` (``r`` the residual map, ``C_e`` environment e's covariance), from the pooled fit,
    until the change is below ``tol`` (relative) or ``max_iter`` rounds.

    Parameters
    ----------
    data: float array (n, d), already validated.
    environment: int array (n,) of environment indices 0..E-1, each with at least 2 rows.
    targets: node positions whose noise may differ across environments (the ``I`` of the search).
    penalty_discount: multiplier of the BIC penalty (> 0).
    center: True (the paper's default): every environment is centred on its own mean, so interventions change
        noise variances only. False: means are modelled too: a target gets a noise mean per environment, any other
        node one intercept for all (its fit then uses the covariance about the overall mean), and the penalty counts
        the intercepts (1 or E per node); interventions that shift a mean become visible.
    """

    def __init__(self, data: np.ndarray, environment: np.ndarray, targets: Iterable[int] = (), *,
                 penalty_discount: float = 1.0, max_iter: int = 100, tol: float = 1e-10, center: bool = True) -> None:
        super().__init__()
        owner = "UnknownTargetGaussianBIC"
        self.penalty_discount = check_number(penalty_discount, "penalty_discount", owner, low=0, low_inclusive=False)
        matrix = np.asarray(data, dtype=np.float64)
        labels = np.asarray(environment)
        if matrix.ndim != 2 or labels.shape != (matrix.shape[0],):
            raise ValueError(f"The 'environment' argument of {owner} must be (n,) = ({matrix.shape[0]},), one index "
                             f"per row. Got shape {labels.shape}.")
        self.n_samples, self.n_nodes = matrix.shape
        self.n_environments = int(labels.max()) + 1 if labels.size else 0
        #: rows per environment (E,)
        self.counts = np.bincount(labels, minlength=self.n_environments).astype(np.float64)
        if self.n_environments < 1 or (self.counts < 2).any():
            raise ValueError(f"Every environment of {owner} needs at least 2 rows. Got {self.counts.tolist()}.")
        #: each environment's covariance (E, d, d), centred on its own mean, divisor n_e
        self.covariances = np.stack([np.cov(matrix[labels == e], rowvar=False, ddof=0).reshape(self.n_nodes,
                                                                                                 self.n_nodes)
                                     for e in range(self.n_environments)])
        self.pooled = np.tensordot(self.counts, self.covariances, axes=1) / self.n_samples
        self.center = bool(center)
        #: the covariance (d, d) a node outside ``targets`` is fitted on: the pooled within-environment one when
        #: centred, else the covariance about the overall mean (one intercept for all environments)
        self.shared = self.pooled
        if not self.center:
            means = np.stack([matrix[labels == e].mean(axis=0) for e in range(self.n_environments)])
            offsets = means - self.counts @ means / self.n_samples
            self.shared = self.pooled + (offsets * self.counts[:, None]).T @ offsets / self.n_samples
        self.max_iter = int(check_number(max_iter, "max_iter", owner, low=1, integer=True))
        self.tol = check_number(tol, "tol", owner, low=0)
        self._penalty = 0.5 * self.penalty_discount * np.log(self.n_samples)
        self.targets: frozenset[int] = frozenset()
        #: local scores computed (a node's cached ones are dropped when it enters or leaves ``targets``)
        self.n_evaluated = 0
        self.set_targets(targets)

    def set_targets(self, targets: Iterable[int]) -> None:
        """Change ``I``, dropping the cached local scores of the nodes that enter or leave it."""
        new = frozenset(int(v) for v in targets)
        changed = new ^ self.targets
        if changed:
            self._cache = {key: value for key, value in self._cache.items() if key[0] not in changed}
        self.targets = new

    def variances(self, node: int, parents: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The fitted weights (|P|,) and the noise variances per environment (E,) of ``node`` on ``parents``."""
        parents = sorted(int(p) for p in parents)
        weights = _regress(self.pooled, node, parents)
        if node not in self.targets:
            weights = _regress(self.shared, node, parents)
            residual = self._residual_map(node, parents, weights)
            floor = np.finfo(np.float64).eps * max(float(self.shared[node, node]), np.finfo(np.float64).tiny)
            return weights, np.full(self.n_environments, max(float(residual @ self.shared @ residual), floor))
        omegas = self._per_environment(node, parents, weights)
        for _ in range(self.max_iter if parents else 0):
            share = self.counts / omegas
            updated = _regress(np.tensordot(share / share.sum(), self.covariances, axes=1), node, parents)
            change = np.max(np.abs(updated - weights)) / max(1.0, float(np.max(np.abs(weights))))
            weights = updated
            omegas = self._per_environment(node, parents, weights)
            if change <= self.tol:
                break
        return weights, omegas

    def _residual_map(self, node: int, parents: list[int], weights: np.ndarray) -> np.ndarray:
        residual = np.zeros(self.n_nodes)
        residual[node] = 1.0
        residual[parents] -= weights
        return residual

    def _per_environment(self, node: int, parents: list[int], weights: np.ndarray) -> np.ndarray:
        residual = self._residual_map(node, parents, weights)
        omegas = np.einsum("i,eij,j->e", residual, self.covariances, residual)
        floor = np.finfo(np.float64).eps * np.maximum(self.covariances[:, node, node], np.finfo(np.float64).tiny)
        return np.maximum(omegas, floor)

    def _compute(self, node: int, parents: list[int], mask: int) -> float:
        self.n_evaluated += 1
        _, omegas = self.variances(node, parents)
        if node in self.targets:
            likelihood = -0.5 * float(np.sum(self.counts * (1.0 + np.log(omegas))))
            n_variances = self.n_environments
        else:
            likelihood = -0.5 * self.n_samples * (1.0 + float(np.log(omegas[0])))
            n_variances = 1
        n_intercepts = 0 if self.center else n_variances
        return likelihood - self._penalty * (len(parents) + n_variances + n_intercepts)


def _inner(scorer: UnknownTargetGaussianBIC, d: int, targets: frozenset[int], *, turning: bool, iterate: bool,
           max_parents: int | None) -> tuple[np.ndarray, float]:
    """GES's phases for a fixed ``I``, each step completed to the class's I-essential graph."""
    scorer.set_targets(targets)
    family = [(v,) for v in sorted(targets)]

    def complete(pdag: np.ndarray) -> np.ndarray:
        return interventional_essential_graph(consistent_extension(pdag), family)

    graph, value, _, _ = search_phases(scorer, d, turning=turning, iterate=iterate, max_parents=max_parents,
                                       complete=complete)
    return graph, value


def gnies(data: Any, environments: Any, *, approach: str = "greedy", known_targets: Sequence[Any] = (),
          penalty_discount: float = 1.0, center: bool = True, max_parents: int | None = None, turning: bool = True,
          iterate: bool = True, node_names: Sequence[str] | None = None) -> DiscoveredGraph:
    """GnIES: an I-essential graph and the intervened variables from environments with unknown targets.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame of the rows of all environments.
    environments: (n,) labels (any values) saying which environment each row comes from; at least 2 environments,
        each with more rows than a node can have parents plus one.
    approach: ``"greedy"`` (add, then remove, the target that helps most, until none helps) or ``"rank"`` (one fit
        with every node a target, then add targets in the order of their variances' spread across environments).
    known_targets: variables known to be intervened on (names or positions); always kept in ``I``.
    penalty_discount: multiplier (> 0) of the BIC penalty; 1 is the paper's default ``lambda = log(N) / 2``.
    center: True (default, the paper's): interventions change noise variances, and each environment is centred on
        its own mean. False: also noise means (shift interventions); see :class:`UnknownTargetGaussianBIC`.
    max_parents, turning, iterate: the inner GES's (see :func:`~latentscm.discovery.gies.gies`).
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    DiscoveredGraph with ``.adjacency`` (d, d), the I-essential graph of the estimate (``[i, j] = 1`` for ``i -> j``,
    both for ``i - j``). ``info``: method, approach, ``targets`` (the estimated ``I``, names), ``known_targets``,
    ``environments`` (the labels, in index order), ``environment_sizes``, penalty_discount, ``score_value``,
    ``n_inner_searches`` and ``n_local_scores`` (local scores computed, a node's again after it entered or left
    ``I``).
    """
    owner = "gnies"
    approach = check_choice(approach, "approach", owner, GNIES_APPROACHES)
    penalty_discount = check_number(penalty_discount, "penalty_discount", owner, low=0, low_inclusive=False)
    for flag, value in (("turning", turning), ("iterate", iterate), ("center", center)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"The '{flag}' argument of {owner} must be True or False, got {value!r}.")
    matrix, names = as_data_matrix(data, node_names, owner)
    n, d = matrix.shape
    labels = np.asarray(environments)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"The 'environments' argument of {owner} must hold one label per data row: shape ({n},). "
                         f"Got shape {labels.shape}.")
    values, index = np.unique(labels, return_inverse=True)
    index = index.reshape(-1)
    if len(values) < 2:
        raise ValueError(f"The 'environments' argument of {owner} holds a single environment ({values.tolist()}); "
                         "GnIES needs at least 2 to see a change.")
    if max_parents is not None:
        if isinstance(max_parents, bool) or not isinstance(max_parents, (int, np.integer)) or max_parents < 0:
            raise ValueError(f"The 'max_parents' argument of {owner} must be a non-negative integer or None. Got "
                             f"{max_parents!r}.")
        max_parents = int(max_parents)
    sizes = np.bincount(index, minlength=len(values))
    labels_out = values.tolist()
    needed = min(d - 1, d if max_parents is None else max_parents) + 2
    for e in np.flatnonzero(sizes < needed):
        raise ValueError(f"The 'environments' argument of {owner} gives environment {labels_out[e]!r} {int(sizes[e])} "
                         f"rows; a node with up to {needed - 2} parents needs at least {needed} per environment.")
    for j in range(d):
        for e in range(len(values)):
            if np.ptp(matrix[index == e, j]) == 0:
                raise ValueError(f"The 'data' argument of {owner} has variable {names[j]!r} constant in environment "
                                 f"{labels_out[e]!r}; every variable must vary within every environment.")
    if known_targets is None:
        known_targets = ()
    elif isinstance(known_targets, (str, bytes, int, np.integer)):
        known_targets = [known_targets]
    elif not isinstance(known_targets, Iterable):
        raise TypeError(f"The 'known_targets' argument of {owner} must be a collection of column names or positions. "
                        f"Got {known_targets!r}.")
    listed = list(known_targets)
    known = {node_position(item, names, d, "known_targets", owner) for item in listed}
    scorer = UnknownTargetGaussianBIC(matrix, index, known, penalty_discount=penalty_discount, center=center)
    settings = {"turning": turning, "iterate": iterate, "max_parents": max_parents}
    searches = 0

    def inner(targets: frozenset[int]) -> tuple[np.ndarray, float]:
        nonlocal searches
        searches += 1
        return _inner(scorer, d, targets, **settings)

    current = frozenset(known)
    graph, value = inner(current)
    if approach == "greedy":
        for phase in ("forward", "backward"):
            while True:
                moves = sorted(set(range(d)) - current) if phase == "forward" else sorted(current - known)
                best = None
                for v in moves:
                    candidate = current | {v} if phase == "forward" else current - {v}
                    found, score = inner(candidate)
                    if best is None or score > best[0]:
                        best = (score, candidate, found)
                if best is None or best[0] <= value:
                    break
                value, current, graph = best
    else:
        full = frozenset(range(d))
        dense, _ = inner(full)
        spread = [float(np.var(scorer.variances(j, np.flatnonzero(dense[:, j] & ~dense[j, :]))[1]))
                  for j in range(d)]
        for v in sorted(range(d), key=lambda j: -spread[j]):
            if v in current:
                continue
            found, score = inner(current | {v})
            if score <= value:
                break
            value, current, graph = score, current | {v}, found
    scorer.set_targets(current)
    info = {"method": "gnies", "approach": approach, "center": bool(center),
            "targets": [names[v] for v in sorted(current)],
            "known_targets": [names[v] for v in sorted(known)], "environments": labels_out,
            "environment_sizes": sizes.tolist(), "penalty_discount": scorer.penalty_discount,
            "max_parents": max_parents, "turning": bool(turning), "iterate": bool(iterate), "n_samples": int(n),
            "score_value": float(value), "n_inner_searches": searches, "n_local_scores": scorer.n_evaluated}
    return DiscoveredGraph(names, graph, {}, info)
