"""DAGMA (linear): DAG learning along a central path with the log-determinant acyclicity function.

Bello, Aragam & Ravikumar (2022), "DAGMA: Learning DAGs via M-matrices and a Log-Determinant Acyclicity
Characterization", NeurIPS. For ``W`` (d, d) (``W[i, j]`` the coefficient of ``i`` in ``j``'s equation) and
``s > 0`` the function

    h^s(W) = -log det(s I - W ∘ W) + d log s,     grad h^s(W) = 2 W ∘ (s I - W ∘ W)^{-T},

is defined on the set where ``s I - W ∘ W`` is an M-matrix (spectral radius of ``W ∘ W`` below ``s``); there
``h^s >= 0``, with 0 exactly when ``W`` is a DAG (the paper's Theorem 1). Instead of an augmented Lagrangian,
DAGMA follows a central path: for ``t = 0 .. T-1`` it solves, from the last solution,

    W_{t+1} = argmin_W  mu_t (Q(W) + lambda1 |W|_1) + h^{s_t}(W),     mu_{t+1} = mu_factor * mu_t,

so the data term's weight shrinks and the solution is pushed onto the DAGs (Theorem 4: at the path's limit
``mu -> 0`` every solution is a DAG). Each sub-problem is solved by Adam on the (sub)gradient, inside the domain:
a step that leaves it (``(s I - W ∘ W)^{-1}`` has a negative entry; the inverse of a nonsingular M-matrix is
nonnegative) is taken back and the learning rate halved (the authors' code does so while ``s > 0.9``, and below
restarts the stage with ``s + 0.1``; with the defaults neither happened on any of the 60 data sets of
``benchmarks/bench_dagma.py``). If the start itself lies outside the domain of the
stage's ``s`` (``s`` falls along the path), the stage restarts with ``s + 0.1`` and half the learning rate, as in
the authors' code. A stage stops when its objective changes by less than ``tol`` (relative) between two checks
``checkpoint`` iterations apart. The losses are those of :func:`~latentscm.discovery.notears.notears_linear`
(least squares or logistic). The paper's defaults: ``lambda1 = 0.03``, ``T = 5``, ``s = (1, .9, .8, .7, .6)``,
``mu_0 = 1``, ``mu_factor = 0.1``, 30,000 Adam steps per stage and 60,000 in the last, learning rate 3e-4,
betas (0.99, 0.999), threshold 0.3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.discovery.notears import (
    NOTEARS_LOSSES,
    _l2_from_covariance,
    _logistic,
    _prepare,
    read_table,
    threshold_to_dag,
)
from latentscm.discovery.result import DiscoveredGraph

__all__ = ["dagma_acyclicity", "dagma_linear"]


def dagma_acyclicity(weights: np.ndarray, s: float = 1.0) -> tuple[float, np.ndarray]:
    """``h^s(W) = -log det(s I - W ∘ W) + d log s`` and its gradient (d, d) for ``W`` (d, d).

    Raises ValueError when ``weights`` is not a finite square matrix, ``s`` is not a number > 0, or ``s I - W ∘ W``
    is not an M-matrix (``W`` outside the function's domain).
    """
    owner = "dagma_acyclicity"
    s = check_number(s, "s", owner, low=0, low_inclusive=False)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or not np.all(np.isfinite(w)):
        raise ValueError(f"The 'weights' argument of {owner} must be a finite square matrix (d, d). Got shape "
                         f"{w.shape}{'' if np.all(np.isfinite(w)) else ' with NaN or infinite entries'}.")
    d = w.shape[0]
    m = s * np.eye(d) - w * w
    sign, logdet = np.linalg.slogdet(m)
    inverse = _m_matrix_inverse(m) if sign > 0 else None
    if inverse is None:
        raise ValueError(f"W is outside the domain of the log-det acyclicity function at s = {s}: s I - W o W is not "
                         f"an M-matrix (spectral radius of W o W >= s).")
    return float(-logdet + d * np.log(s)), 2.0 * w * inverse.T


def _m_matrix_inverse(m: np.ndarray) -> np.ndarray | None:
    """``m^{-1}`` for a Z-matrix ``m`` (d, d) (here ``s I - W ∘ W``), or None unless ``m`` is a nonsingular M-matrix,
    i.e. its inverse is nonnegative. Entries above ``-1e-12`` times the largest are rounding of exact zeros (the
    inverse of ``s I - W ∘ W`` for a DAG ``W`` has zeros where there is no path, which LU may return as -1e-17)."""
    try:
        inverse = np.linalg.inv(m)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(inverse)) or np.any(inverse < -1e-12 * np.abs(inverse).max()):
        return None
    return inverse


class _Stage:
    """One central-path sub-problem: Adam on ``mu (Q + lambda1 |W|_1) + h^s`` inside the M-matrix domain."""

    def __init__(self, loss: Any, lambda1: float, d: int) -> None:
        self.loss, self.lambda1, self.eye = loss, lambda1, np.eye(d)

    def objective(self, w: np.ndarray, mu: float, s: float) -> float:
        value, _ = self.loss(w)
        h, _ = dagma_acyclicity(w, s)
        return mu * (value + self.lambda1 * float(np.abs(w).sum())) + h

    def _inverse(self, w: np.ndarray, s: float) -> np.ndarray | None:
        """``(s I - W ∘ W)^{-1}``, or None outside the domain."""
        return _m_matrix_inverse(s * self.eye - w * w)

    def solve(self, w: np.ndarray, mu: float, s: float, *, n_steps: int, lr: float, betas: tuple[float, float],
              tol: float, checkpoint: int) -> tuple[np.ndarray, int, int] | None:
        """(W, steps taken, step-size halvings) from ``w`` (d, d), or None if ``w`` is outside the domain."""
        if self._inverse(w, s) is None:
            return None
        w = w.copy()
        first, second, update = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
        beta1, beta2 = betas
        previous = np.inf
        halvings = 0
        for step in range(1, n_steps + 1):
            w, lr, n_halved, inverse = self._back_inside(w, s, lr, update)
            halvings += n_halved
            if inverse is None:
                return w, step, halvings
            _, grad_loss = self.loss(w)
            grad = mu * (grad_loss + self.lambda1 * np.sign(w)) + 2.0 * w * inverse.T
            first = beta1 * first + (1.0 - beta1) * grad
            second = beta2 * second + (1.0 - beta2) * grad * grad
            update = (first / (1.0 - beta1 ** step)) / (np.sqrt(second / (1.0 - beta2 ** step)) + 1e-8)
            w -= lr * update
            if step % checkpoint == 0 or step == n_steps:
                inside = self._inverse(w, s) is not None
                current = self.objective(w, mu, s) if inside else np.inf
                if inside and np.isfinite(previous) and abs(previous - current) <= tol * abs(previous):
                    return w, step, halvings
                previous = current
        w, _, n_halved, _ = self._back_inside(w, s, lr, update)  # the very last step may have left the domain too
        return w, n_steps, halvings + n_halved

    def _back_inside(self, w: np.ndarray, s: float, lr: float, update: np.ndarray
                     ) -> tuple[np.ndarray, float, int, np.ndarray | None]:
        """While the last step ``w -= lr * update`` left the domain, take it back and redo it at half the rate.
        Returns (W, rate, halvings, ``(s I - W ∘ W)^{-1}``); the inverse is None when the rate fell below 1e-16
        (``W`` is then the last point inside)."""
        inverse, halvings = self._inverse(w, s), 0
        while inverse is None:
            w += lr * update
            lr *= 0.5
            halvings += 1
            if lr < 1e-16:
                return w, lr, halvings, None
            w -= lr * update
            inverse = self._inverse(w, s)
        return w, lr, halvings, inverse


def dagma_linear(data: Any, *, lambda1: float = 0.03, loss: str = "l2", w_threshold: float = 0.3, n_stages: int = 5,
                 s: float | Sequence[float] = (1.0, 0.9, 0.8, 0.7, 0.6), mu_init: float = 1.0, mu_factor: float = 0.1,
                 warm_steps: int = 30_000, final_steps: int = 60_000, lr: float = 3e-4,
                 betas: tuple[float, float] = (0.99, 0.999), tol: float = 1e-6, checkpoint: int = 1000,
                 standardize: bool = False, node_names: Sequence[str] | None = None) -> DiscoveredGraph:
    """Linear DAGMA (Bello et al. 2022): a DAG from observational data along a log-det central path.

    Parameters
    ----------
    data: array (n, d) (n >= 4), mapping name -> (n,) array, or DataFrame; finite. For ``loss="logistic"`` every
        value must be 0 or 1.
    lambda1: L1 weight (>= 0).
    loss: ``"l2"`` (least squares on centred data) or ``"logistic"`` (binary data).
    w_threshold: edges with ``|W[i, j]| < w_threshold`` (>= 0) are dropped at the end.
    n_stages: number ``T`` of central-path stages (int >= 1).
    s: the log-det parameter per stage (each > 0): one number for all stages, or a sequence (its last value
        repeats when shorter than ``n_stages``).
    mu_init, mu_factor: the data term's weight in stage 0 (> 0) and its factor per stage (in (0, 1]).
    warm_steps, final_steps: most Adam steps in each stage but the last, and in the last (ints >= 1).
    lr, betas: Adam's learning rate (> 0) and moment decays (each in [0, 1)).
    tol, checkpoint: a stage stops when its objective changes by at most ``tol`` (relative, >= 0) between checks
        ``checkpoint`` steps apart (int >= 1).
    standardize: scale each centred column to unit variance first (``"l2"`` only); see ``notears_linear``.
        Without it (loss ``"l2"``) a UserWarning names any column whose standard deviation lies outside
        ``notears.SCALE_RANGE`` (0.3 to 100): ``lambda1`` and ``w_threshold`` are absolute, so scale matters.
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    DiscoveredGraph (fully directed, acyclic) with ``info``: ``method`` ("dagma"), ``loss``, ``lambda1``,
    ``w_threshold``, ``standardize``, ``weights`` (d x d nested list, after thresholding), ``weights_raw``,
    ``h_final`` (``h^1`` of the unthresholded solution; NaN when it is outside the domain of ``h^1``, possible
    when the last stage's ``s`` is above 1), ``s_used`` (per stage, after any restarts), ``steps``
    (Adam steps per stage), ``restarts`` (stages restarted with a larger ``s``), ``lr_halvings``,
    ``removed_for_acyclicity`` and ``n_samples``. The fit starts from ``W = 0`` and is deterministic.
    """
    owner = "dagma_linear"
    lambda1 = check_number(lambda1, "lambda1", owner, low=0)
    loss = check_choice(loss, "loss", owner, NOTEARS_LOSSES)
    w_threshold = check_number(w_threshold, "w_threshold", owner, low=0)
    n_stages, schedule, mu, mu_factor, warm_steps, final_steps, lr, tol, checkpoint = check_path(
        n_stages, s, mu_init, mu_factor, warm_steps, final_steps, lr, tol, checkpoint, owner)
    if isinstance(betas, np.ndarray) and betas.ndim == 1:
        betas = betas.tolist()
    if not isinstance(betas, Sequence) or isinstance(betas, str) or len(betas) != 2:
        raise ValueError(f"The 'betas' parameter of {owner} must be a pair of numbers in [0, 1). Got {betas!r}.")
    betas = tuple(check_number(b, "betas", owner, low=0, high=1, high_inclusive=False) for b in betas)
    matrix, names = read_table(data, node_names, standardize, owner)
    n, d = matrix.shape
    x = _prepare(matrix, names, loss, bool(standardize), owner)
    if loss == "l2":
        cov = x.T @ x / n
        stage = _Stage(lambda w: _l2_from_covariance(w, cov), lambda1, d)
    else:
        stage = _Stage(lambda w: _logistic(w, x), lambda1, d)

    w = np.zeros((d, d))
    s_used, steps, restarts, halvings = [], [], 0, 0
    for t in range(n_stages):
        s_t, rate = schedule[t], lr
        while True:
            solved = stage.solve(w, mu, s_t, n_steps=final_steps if t == n_stages - 1 else warm_steps, lr=rate,
                                 betas=betas, tol=tol, checkpoint=checkpoint)
            if solved is not None:
                break
            s_t, rate, restarts = s_t + 0.1, rate * 0.5, restarts + 1
        w, n_steps, n_halvings = solved
        s_used.append(float(s_t))
        steps.append(n_steps)
        halvings += n_halvings
        mu *= mu_factor

    try:
        h_final = dagma_acyclicity(w, 1.0)[0]
    except ValueError:  # the last stage's s was above 1 (restarts): W o W may have spectral radius >= 1
        h_final = float("nan")
    w_final, removed = threshold_to_dag(w, w_threshold, names)
    info = {"method": "dagma", "loss": loss, "lambda1": lambda1, "w_threshold": w_threshold,
            "standardize": bool(standardize), "weights": w_final.tolist(), "weights_raw": w.tolist(),
            "h_final": h_final, "s_used": s_used, "steps": steps, "restarts": restarts, "lr_halvings": halvings,
            "removed_for_acyclicity": removed, "n_samples": int(n)}
    return DiscoveredGraph(names, (w_final != 0).astype(np.int64), {}, info)


def check_path(n_stages: Any, s: Any, mu_init: Any, mu_factor: Any, warm_steps: Any, final_steps: Any, lr: Any,
               tol: Any, checkpoint: Any, owner: str) -> tuple[int, list[float], float, float, int, int, float, float,
                                                              int]:
    """The central path's settings, checked (shared by ``dagma_linear`` and ``dagma_mlp``): ``n_stages``, the
    per-stage ``s``, ``mu_init``, ``mu_factor``, ``warm_steps``, ``final_steps``, ``lr``, ``tol``, ``checkpoint``."""
    n_stages = int(check_number(n_stages, "n_stages", owner, low=1, integer=True))
    return (n_stages, _schedule(s, n_stages, owner),
            check_number(mu_init, "mu_init", owner, low=0, low_inclusive=False),
            check_number(mu_factor, "mu_factor", owner, low=0, low_inclusive=False, high=1),
            int(check_number(warm_steps, "warm_steps", owner, low=1, integer=True)),
            int(check_number(final_steps, "final_steps", owner, low=1, integer=True)),
            check_number(lr, "lr", owner, low=0, low_inclusive=False),
            check_number(tol, "tol", owner, low=0),
            int(check_number(checkpoint, "checkpoint", owner, low=1, integer=True)))


def _schedule(s: Any, n_stages: int, owner: str) -> list[float]:
    """``s`` as one positive value per stage (a shorter sequence repeats its last value)."""
    values = [s] if isinstance(s, (int, float, np.integer, np.floating)) and not isinstance(s, bool) else s
    if isinstance(values, np.ndarray) and values.ndim == 1:  # a 1-D array is a sequence of stages too
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"The 's' parameter of {owner} must be a positive number or a non-empty sequence of them. "
                         f"Got {s!r}.")
    checked = [check_number(v, "s", owner, low=0, low_inclusive=False) for v in values]
    return (checked + [checked[-1]] * n_stages)[:n_stages]
