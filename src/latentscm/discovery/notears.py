"""Linear NOTEARS: structure learning as continuous optimisation with a smooth acyclicity constraint.

Zheng, Aragam, Ravikumar & Xing (2018), "DAGs with NO TEARS: Continuous Optimization for Structure
Learning", NeurIPS. For data ``X`` (n, d) and a weighted adjacency ``W`` (d, d) (``W[i, j]`` the
coefficient of ``i`` in ``j``'s equation) the method solves

    min_W  L(W) + lambda1 * |W|_1   subject to   h(W) = tr(exp(W ∘ W)) - d = 0,

where ``h(W) >= 0`` with equality iff ``W`` is the weighted adjacency of a DAG (the paper's Theorem 1:
``tr(exp(W ∘ W)) = sum_k tr((W ∘ W)^k) / k!`` counts weighted closed walks). The constraint is handled
with the augmented Lagrangian

    F(W) = L(W) + rho / 2 * h(W)^2 + alpha * h(W) + lambda1 * |W|_1

(dual ascent ``alpha += rho * h``, ``rho *= 10`` while ``h`` does not shrink by a factor 4), each
sub-problem solved by L-BFGS-B. The non-smooth L1 term is made smooth by the split ``W = W+ - W-``
with ``W+, W- >= 0``, so ``|W|_1 = sum(W+ + W-)`` is linear under box constraints (the diagonal is
fixed at 0 by its bounds). Losses: ``"l2"``, ``L = |X - X W|_F^2 / (2 n)`` on centred data (linear
SEM; the equal-noise-variance case is identifiable, Peters & Bühlmann 2014), and ``"logistic"``,
``L = sum(log(1 + exp(X W)) - X ∘ (X W)) / n`` for binary data. Gradients are analytic. The continuous
solution is thresholded at ``w_threshold``; if the thresholded graph still has a cycle (possible when
``h`` did not reach ``h_tol``), the weakest edge is removed until it is acyclic.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.special

from latentscm._validation import check_choice, check_number
from latentscm.discovery.pc import as_data_matrix
from latentscm.discovery.result import DiscoveredGraph
from latentscm.metrics.graphs import _is_acyclic

__all__ = ["NOTEARS_LOSSES", "augmented_lagrangian", "notears_acyclicity_np", "notears_linear", "notears_loss",
           "threshold_to_dag"]

#: Losses ``notears_linear`` accepts.
NOTEARS_LOSSES = ("l2", "logistic")

#: Column standard deviations the absolute defaults of ``lambda1`` and ``w_threshold`` suit; outside them the four
#: continuous-optimisation methods warn (without ``standardize``). Measured on raw simulated data (linear SEM, d = 5
#: and 10, and index-model SEM, d = 5; n = 500; 2 seeds) multiplied by c: at c = 0.1 (stds 0.1-0.56) all
#: four return (nearly) empty graphs, at c = 0.2-0.3 linear NOTEARS and DAGMA lose 30-100% of the edges; at c = 100
#: (stds 96-560) DAGMA-MLP returns an empty graph, linear DAGMA loses up to half of the edges (all from c = 1000 on),
#: and NOTEARS-MLP, 30-75 times slower already at c = 10 with failed L-BFGS-B solves, had h = 1.1 after 2 outer steps
#: (325 s). Linear NOTEARS alone is unaffected by large scales. Low columns: at NOTEARS's defaults an edge into a
#: column with ``std < sqrt(2 * 0.1 * 0.3) = 0.245`` never pays (the l2 loss it can explain, at most ``var / 2``, is
#: below its L1 cost ``lambda1 * w_threshold``).
#: Raw simulated data (ER2 linear up to d = 30, the four nonlinear SEMs up to d = 20) have stds 0.9-15.
SCALE_RANGE = (0.3, 100.0)


def notears_acyclicity_np(weights: np.ndarray) -> tuple[float, np.ndarray]:
    """``h(W) = tr(exp(W ∘ W)) - d`` and its gradient ``exp(W ∘ W)^T ∘ 2 W``, both for ``W`` (d, d).

    ``h >= 0``, with 0 exactly when the nonzero entries of ``W`` form a DAG.
    """
    w = np.asarray(weights, dtype=np.float64)
    e = scipy.linalg.expm(w * w)
    return float(np.trace(e) - w.shape[0]), e.T * 2.0 * w


def notears_loss(weights: np.ndarray, data: np.ndarray, loss: str = "l2") -> tuple[float, np.ndarray]:
    """The data-fit term ``L(W)`` and its gradient (d, d) for data (n, d) (used as given: centre it for
    ``"l2"``, give 0/1 values for ``"logistic"``)."""
    loss = check_choice(loss, "loss", "notears_loss", NOTEARS_LOSSES)
    w = np.asarray(weights, dtype=np.float64)
    x = np.asarray(data, dtype=np.float64)
    if loss == "l2":
        return _l2_from_covariance(w, x.T @ x / x.shape[0])
    return _logistic(w, x)


def _l2_from_covariance(w: np.ndarray, cov: np.ndarray) -> tuple[float, np.ndarray]:
    """``|X - X W|^2 / (2n) = tr((I - W)^T S (I - W)) / 2`` with ``S = X^T X / n`` (d, d): cost free of n."""
    residual = np.eye(w.shape[0]) - w
    s_r = cov @ residual
    return 0.5 * float(np.sum(residual * s_r)), -s_r


def _logistic(w: np.ndarray, x: np.ndarray) -> tuple[float, np.ndarray]:
    m = x @ w
    value = float(np.sum(np.logaddexp(0.0, m) - x * m)) / x.shape[0]
    return value, x.T @ (scipy.special.expit(m) - x) / x.shape[0]


class _Problem:
    """The augmented Lagrangian of one data set on the split variables ``[W+, W-]`` flattened (2 d^2,)."""

    def __init__(self, x: np.ndarray, loss: str, lambda1: float) -> None:
        self.d = x.shape[1]
        self.lambda1 = lambda1
        if loss == "l2":
            cov = x.T @ x / x.shape[0]
            self.loss = lambda w: _l2_from_covariance(w, cov)
        else:
            self.loss = lambda w: _logistic(w, x)

    def weights(self, flat: np.ndarray) -> np.ndarray:
        d2 = self.d * self.d
        return (flat[:d2] - flat[d2:]).reshape(self.d, self.d)

    def objective(self, flat: np.ndarray, rho: float, alpha: float) -> tuple[float, np.ndarray]:
        """``F`` and its gradient (2 d^2,) at ``flat``."""
        w = self.weights(flat)
        value, grad = self.loss(w)
        h, grad_h = notears_acyclicity_np(w)
        value += 0.5 * rho * h * h + alpha * h + self.lambda1 * float(flat.sum())
        grad = (grad + (rho * h + alpha) * grad_h).ravel()
        return value, np.concatenate([grad + self.lambda1, -grad + self.lambda1])


def notears_linear(data: Any, *, lambda1: float = 0.1, loss: str = "l2", w_threshold: float = 0.3,
                   max_iter: int = 100, h_tol: float = 1e-8, rho_max: float = 1e16, standardize: bool = False,
                   node_names: Sequence[str] | None = None) -> DiscoveredGraph:
    """Linear NOTEARS (Zheng et al. 2018): a DAG from observational data by continuous optimisation.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame; finite. For ``loss="logistic"`` every
        value must be 0 or 1.
    lambda1: L1 weight (>= 0) on the edge weights.
    loss: ``"l2"`` (least squares on centred data, linear-Gaussian SEM) or ``"logistic"`` (binary data).
    w_threshold: edges with ``|W[i, j]| < w_threshold`` (>= 0) are dropped after optimisation.
    max_iter: most dual-ascent (outer) iterations (int >= 1).
    h_tol: stop once ``h(W) <= h_tol`` (> 0).
    rho_max: stop once the penalty weight ``rho`` would exceed this (> 0).
    standardize: scale each (centred) column to unit variance before fitting (``"l2"`` only). NOTEARS on
        raw simulated data profits from variances that grow along the causal order; Reisach et al. (2021)
        show it degrades on standardised data.
        Without it (loss ``"l2"``) a UserWarning names any column whose standard deviation lies outside
        ``notears.SCALE_RANGE`` (0.3 to 100): ``lambda1`` and ``w_threshold`` are absolute, so scale matters.
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    DiscoveredGraph (fully directed, acyclic) with ``info``: ``method``, ``loss``, ``lambda1``,
    ``w_threshold``, ``standardize``, ``weights`` (d x d nested list, ``weights[i][j]`` the coefficient of
    ``i`` in ``j``'s equation after thresholding), ``weights_raw`` (before thresholding), ``h_final``
    (``h`` of the unthresholded solution), ``n_iterations`` (outer iterations), ``n_solves`` (L-BFGS-B
    runs), ``rho_final``, ``converged`` (``h_final <= h_tol``), ``removed_for_acyclicity`` (edges dropped
    after thresholding to break cycles, as ``[from, to, weight]``) and ``n_samples``. The fit starts from
    ``W = 0``: it is deterministic and takes no seed.
    """
    owner = "notears_linear"
    lambda1 = check_number(lambda1, "lambda1", owner, low=0)
    loss = check_choice(loss, "loss", owner, NOTEARS_LOSSES)
    w_threshold = check_number(w_threshold, "w_threshold", owner, low=0)
    max_iter = int(check_number(max_iter, "max_iter", owner, low=1, integer=True))
    h_tol = check_number(h_tol, "h_tol", owner, low=0, low_inclusive=False)
    rho_max = check_number(rho_max, "rho_max", owner, low=0, low_inclusive=False)
    matrix, names = read_table(data, node_names, standardize, owner)
    n, d = matrix.shape
    x = _prepare(matrix, names, loss, bool(standardize), owner)

    problem = _Problem(x, loss, lambda1)
    bounds = [(0.0, 0.0) if i == j else (0.0, None) for _ in range(2) for i in range(d) for j in range(d)]
    fit = augmented_lagrangian(problem.objective, lambda flat: notears_acyclicity_np(problem.weights(flat))[0],
                               np.zeros(2 * d * d), bounds, max_iter=max_iter, h_tol=h_tol, rho_max=rho_max)
    flat, h, rho = fit["x"], fit["h"], fit["rho"]
    n_iterations, n_solves = fit["n_iterations"], fit["n_solves"]
    w_raw = problem.weights(flat)
    w, removed = threshold_to_dag(w_raw, w_threshold, names)
    info = {"method": "notears", "loss": loss, "lambda1": lambda1, "w_threshold": w_threshold,
            "standardize": bool(standardize), "weights": w.tolist(), "weights_raw": w_raw.tolist(),
            "h_final": float(h), "n_iterations": n_iterations, "n_solves": n_solves, "rho_final": float(rho),
            "converged": bool(h <= h_tol), "removed_for_acyclicity": removed, "n_samples": int(n)}
    return DiscoveredGraph(names, (w != 0).astype(np.int64), {}, info)


def read_table(data: Any, node_names: Sequence[str] | None, standardize: Any, owner: str
               ) -> tuple[np.ndarray, tuple[str, ...]]:
    """The data (n, d) and names of a continuous-optimisation method, ``standardize`` checked to be a bool and at
    least one column required (shared by NOTEARS, NOTEARS-MLP and both DAGMAs)."""
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"The 'standardize' parameter of {owner} must be a bool. Got {standardize!r}.")
    matrix, names = as_data_matrix(data, node_names, owner)
    if matrix.shape[1] == 0:
        raise ValueError(f"The 'data' argument of {owner} has no columns.")
    return matrix, names


def _prepare(matrix: np.ndarray, names: Sequence[str], loss: str, standardize: bool, owner: str) -> np.ndarray:
    """Centred (and scaled) data for ``"l2"``; checked 0/1 data for ``"logistic"``."""
    if loss == "logistic":
        if standardize:
            raise ValueError(f"The 'standardize' parameter of {owner} applies to loss='l2' only; the logistic "
                             f"loss needs the 0/1 values as they are.")
        bad = [names[j] for j in range(matrix.shape[1]) if not np.all((matrix[:, j] == 0) | (matrix[:, j] == 1))]
        if bad:
            raise ValueError(f"The 'data' argument of {owner} with loss='logistic' must hold only 0 and 1; "
                             f"columns {bad[:5]} have other values.")
        return matrix
    if not standardize:
        warn_if_badly_scaled(matrix, names, owner, stacklevel=4)
    x = matrix - matrix.mean(axis=0)
    if standardize:
        std = x.std(axis=0)
        constant = [names[j] for j in np.flatnonzero(std == 0)]
        if constant:
            raise ValueError(f"The 'data' argument of {owner} has constant columns {constant}; standardize=True "
                             f"cannot scale them. Drop them.")
        x = x / std
    return x


def warn_if_badly_scaled(matrix: np.ndarray, names: Sequence[str], owner: str, stacklevel: int) -> None:
    """One UserWarning when a non-constant column of ``matrix`` (n, d) has a standard deviation outside
    :data:`SCALE_RANGE`: the methods' ``lambda1`` and ``w_threshold`` are absolute, so on such data they can return
    a wrong (often empty) graph with no other sign. ``stacklevel`` is passed to ``warnings.warn`` (counted from
    here), so that the warning points at the user's call of ``owner``."""
    low, high = SCALE_RANGE
    std = matrix.std(axis=0)
    constant = np.all(matrix == matrix[:1], axis=0)  # std 0: not a scale, and not this warning's business
    bad = [j for j in range(matrix.shape[1]) if not constant[j] and not low <= std[j] <= high]
    if not bad:
        return
    listed = ", ".join(f"{names[j]!r} (std {std[j]:.3g})" for j in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    warnings.warn(f"{owner}: columns {listed}{more} have standard deviations outside [{low:g}, {high:g}], the range "
                  f"its absolute lambda1 and w_threshold suit; on such data it can silently return a wrong (often "
                  f"empty) graph. Rescale the data (multiplying all columns by one factor keeps their variance "
                  f"order) or pass standardize=True ('--param standardize=true' with latentscm discover; it removes "
                  f"the varsortability these methods exploit on raw simulated data).", UserWarning,
                  stacklevel=stacklevel)


def augmented_lagrangian(objective: Callable[[np.ndarray, float, float], tuple[float, np.ndarray]],
                         acyclicity: Callable[[np.ndarray], float], start: np.ndarray,
                         bounds: Sequence[tuple[float, float | None]], *, max_iter: int, h_tol: float,
                         rho_max: float) -> dict[str, Any]:
    """NOTEARS's dual ascent on ``F(x; rho, alpha)`` (Zheng et al. 2018, Algorithm 1), shared by the linear and
    MLP variants.

    Each sub-problem ``min_x F(x; rho, alpha)`` is solved by L-BFGS-B from the last solution; ``rho *= 10``
    until ``h`` falls below a quarter of its last value (or ``rho`` reaches ``rho_max``), then
    ``alpha += rho * h``. Stops when ``h <= h_tol``, ``rho >= rho_max`` or after ``max_iter`` outer steps.
    ``objective(x, rho, alpha)`` returns ``F`` and its gradient (p,); ``acyclicity(x)`` returns ``h``.
    Returns ``x`` (p,), ``h``, ``rho``, ``n_iterations``, ``n_solves`` and ``n_failed_solves`` (sub-problems
    where L-BFGS-B reported failure, e.g. an abnormal line-search end on badly scaled data).
    """
    flat = np.asarray(start, dtype=np.float64)
    rho, alpha, h = 1.0, 0.0, np.inf
    n_iterations = n_solves = n_failed = 0
    for _ in range(max_iter):
        n_iterations += 1
        while True:
            result = scipy.optimize.minimize(objective, flat, args=(rho, alpha), method="L-BFGS-B", jac=True,
                                             bounds=bounds)
            n_solves += 1
            n_failed += int(not result.success)
            h_new = float(acyclicity(result.x))
            if h_new > 0.25 * h and rho < rho_max:
                rho *= 10.0
            else:
                break
        flat, h = result.x, h_new
        alpha += rho * h
        if h <= h_tol or rho >= rho_max:
            break
    return {"x": flat, "h": float(h), "rho": float(rho), "n_iterations": n_iterations, "n_solves": n_solves,
            "n_failed_solves": n_failed}


def threshold_to_dag(w_raw: np.ndarray, w_threshold: float, names: Sequence[str]) -> tuple[np.ndarray, list]:
    """``w_raw`` (d, d) with entries ``|w| < w_threshold`` set to 0, then the weakest remaining edge dropped until
    the graph is acyclic (possible when ``h`` did not reach 0). Returns the matrix and the dropped edges as
    ``[from, to, weight]``. ValueError if ``w_raw`` has a NaN or infinite entry (a diverged fit: ``|NaN| >=
    w_threshold`` is False, so NaN would silently become "no edge", and an infinite weight "the strongest edge")."""
    w_raw = np.asarray(w_raw, dtype=np.float64)
    bad = np.argwhere(~np.isfinite(w_raw))
    if bad.size:
        i, j = (int(k) for k in bad[0])
        raise ValueError(f"The fitted weights have {len(bad)} non-finite entries (first W[{names[i]!r}, {names[j]!r}] "
                         f"= {w_raw[i, j]}): the optimisation diverged. Standardize the data or lower the step size.")
    w = np.where(np.abs(w_raw) >= w_threshold, w_raw, 0.0)
    removed = []
    while not _is_acyclic(w != 0):
        nonzero = np.flatnonzero(w)
        k = nonzero[np.argmin(np.abs(w.ravel()[nonzero]))]
        i, j = divmod(int(k), w.shape[0])
        removed.append([names[i], names[j], float(w[i, j])])
        w[i, j] = 0.0
    return w, removed
