"""Random walk with restart (personalised PageRank) backwards along a causal graph.

Anomalies travel from a root cause to its effects, so a walker that starts at anomalous nodes and
steps from effects to their causes gathers where the anomaly entered the system (the network
propagation step of CORAL, Wang et al., KDD 2023, and of MicroCause, Meng et al., IWQoS 2020).
With node anomaly scores ``s`` the walker at node ``j`` moves to a cause ``i`` with probability
proportional to ``A[i, j] * s_i`` and stays with weight ``self_weight * s_j`` (a node without
anomalous causes keeps the walker: it is where the propagation starts); with probability
``restart`` it jumps back to a node drawn from the personalisation vector (``s`` normalised). The
stationary distribution, found by power iteration, scores the candidates (Page, Brin, Motwani &
Winograd 1999; Tong, Faloutsos & Pan 2006, "Fast random walk with restart and its applications").

Deviation from MicroCause's walk: there the walker may also step forward, from a cause to its effects, with
weight ``rho * s`` (``rho`` = 0.1 in common implementations), and stays with weight ``max(0, s_j - max over
causes s_i)``; here the walk only steps backward (``P[cause, effect] = 0``), stays with ``self_weight * s_j``,
and restarts, so a node whose causes are not anomalous keeps the walker by itself.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_number

__all__ = ["random_walk_with_restart", "transition_matrix"]


def transition_matrix(adjacency: Any, node_scores: Any = None, *, self_weight: float = 0.1) -> np.ndarray:
    """Row-stochastic matrix (d, d) of the backward walk: ``P[j, i]`` is the probability to step from j to i.

    Parameters
    ----------
    adjacency : array-like, shape (d, d)
        Non-negative edge weights, ``[i, j]`` for ``i -> j``; the diagonal is ignored.
    node_scores : array-like, shape (d,), optional
        Non-negative anomaly scores (default: all ones).
    self_weight : float, default 0.1
        Weight of staying, relative to the node's own score.
    """
    owner = "transition_matrix"
    weights = check_array(adjacency, "adjacency", owner, ndim=2)
    d = weights.shape[0]
    if weights.shape != (d, d):
        raise ValueError(f"The 'adjacency' argument of {owner} must be square (d, d). Got {weights.shape}.")
    if np.any(weights < 0):
        raise ValueError(f"The 'adjacency' argument of {owner} must hold non-negative weights.")
    scores = np.ones(d) if node_scores is None else check_array(node_scores, "node_scores", owner, ndim=1)
    if scores.shape[0] != d or np.any(scores < 0):
        raise ValueError(f"The 'node_scores' argument of {owner} must be {d} non-negative values. "
                         f"Got shape {scores.shape}.")
    self_weight = check_number(self_weight, "self_weight", owner, low=0)
    backward = weights.T * scores[None, :]  # backward[j, i] = A[i, j] s_i
    np.fill_diagonal(backward, self_weight * scores)
    totals = backward.sum(1)
    stuck = totals <= 0
    backward[stuck, :] = 0.0
    backward[stuck, np.flatnonzero(stuck)] = 1.0
    return backward / backward.sum(1, keepdims=True)


def random_walk_with_restart(adjacency: Any, node_scores: Any = None, *, restart: float = 0.15,
                             self_weight: float = 0.1, tol: float = 1e-10, max_iter: int = 10_000) -> np.ndarray:
    """Stationary visit probabilities (d,) of the backward walk with restart (higher: more likely root cause).

    Parameters
    ----------
    adjacency : array-like, shape (d, d)
        Non-negative weights ``[i, j]`` for ``i -> j`` (a learned or the true summary graph).
    node_scores : array-like, shape (d,), optional
        Non-negative anomaly scores: weight the steps and form the restart distribution.
    restart : float, default 0.15
        Restart probability, in (0, 1].
    self_weight : float, default 0.1
        See :func:`transition_matrix`.
    tol : float, default 1e-10
        Stop when the L1 change of the distribution falls below this.
    max_iter : int, default 10000
        Iteration cap; a RuntimeWarning (naming it and the last change) says when it is reached first.

    Returns
    -------
    ndarray, shape (d,)
        Probabilities summing to 1.
    """
    owner = "random_walk_with_restart"
    restart = check_number(restart, "restart", owner, low=0, high=1, low_inclusive=False)
    max_iter = int(check_number(max_iter, "max_iter", owner, low=1, integer=True))
    tol = check_number(tol, "tol", owner, low=0, low_inclusive=False)
    transition = transition_matrix(adjacency, node_scores, self_weight=self_weight)
    d = transition.shape[0]
    personalisation = np.ones(d) if node_scores is None else np.asarray(node_scores, dtype=np.float64)
    if personalisation.sum() <= 0:
        personalisation = np.ones(d)
    personalisation = personalisation / personalisation.sum()
    visits = personalisation.copy()
    change = float("inf")
    for _ in range(max_iter):
        updated = (1.0 - restart) * visits @ transition + restart * personalisation
        change = float(np.abs(updated - visits).sum())
        if change < tol:
            return updated
        visits = updated
    # the error to the fixed point is at most change * (1 - restart) / restart (a contraction by 1 - restart)
    warnings.warn(f"{owner}: power iteration did not converge within max_iter={max_iter} iterations (last L1 "
                  f"change {change:.3g}, tol={tol:.3g}); the visit probabilities returned may be far from "
                  f"stationary. Raise max_iter or restart (now {restart:.3g}; the walk contracts by 1 - restart "
                  f"per iteration).", RuntimeWarning, stacklevel=2)
    return visits
