"""NOTEARS-MLP: nonparametric DAG learning with one small neural network per variable.

Zheng, Dan, Aragam, Ravikumar & Xing (2020), "Learning Sparse Nonparametric DAGs", AISTATS. Each variable
``j`` gets an MLP ``f_j`` fitted to predict ``x_j`` from all variables. The network's dependence on input ``i``
passes only through the columns of its first layer ``A_j`` (m1, d) that read ``i``, so ``x_j`` does not depend on
``x_i`` when that column is 0 (the paper's Proposition 3: partial-derivative sparsity reduces to first-layer
sparsity). The weighted adjacency is

    W[i, j] = ||A_j[:, i]||_2,

and the linear NOTEARS program (:func:`~latentscm.discovery.notears.notears_linear`) is reused on it:

    min  1/(2n) sum_j |x_j - f_j(X)|^2 + lambda1 * sum |A| + lambda2 / 2 * sum (all weights)^2
    s.t. h(W) = tr(exp(W ∘ W)) - d = 0,

with the same augmented Lagrangian and L-BFGS-B sub-problems (``W ∘ W`` is the squared norm of the first-layer
columns, smooth in the weights). The L1 term on the first layer is made smooth by the split ``A = A+ - A-`` with
``A+, A- >= 0``; the column of ``A_j`` reading ``x_j`` itself is fixed at 0 by its bounds. Hidden layers are
"locally connected": network ``j`` has its own weights (no sharing between variables), with sigmoid activations.
The paper's defaults are one hidden layer of 10 units, ``lambda1 = lambda2 = 0.01`` and threshold 0.3.

Unlike linear NOTEARS the problem has no fixed start: the weights are initialised at random (uniform in
``±1/sqrt(fan_in)``, as ``torch.nn.Linear`` does) from ``seed``, so results depend on the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from latentscm._validation import as_generator, check_number
from latentscm.discovery.locally_connected_mlp import LocallyConnectedMLP
from latentscm.discovery.notears import _prepare, augmented_lagrangian, read_table, threshold_to_dag
from latentscm.discovery.result import DiscoveredGraph

__all__ = ["notears_mlp"]


def _trace_exp_h(model: LocallyConnectedMLP, params: list[torch.Tensor]) -> torch.Tensor:
    """NOTEARS's ``h = tr(exp(W ∘ W)) - d`` of the networks' first layers (a scalar tensor)."""
    return torch.trace(torch.linalg.matrix_exp(model.squared_adjacency(params))) - model.d


class _Objective:
    """The augmented Lagrangian of NOTEARS-MLP on one data set, evaluated by torch autograd in float64."""

    def __init__(self, model: LocallyConnectedMLP, x: np.ndarray, lambda1: float, lambda2: float) -> None:
        self.model, self.lambda1, self.lambda2 = model, lambda1, lambda2
        self.x = torch.as_tensor(x, dtype=torch.float64)

    def __call__(self, flat: np.ndarray, rho: float, alpha: float) -> tuple[float, np.ndarray]:
        theta = torch.tensor(flat, dtype=torch.float64, requires_grad=True)
        params = self.model.unpack(theta)
        residual = self.x - self.model.forward(params, self.x)
        loss = 0.5 * torch.sum(residual * residual) / self.x.shape[0]
        h = _trace_exp_h(self.model, params)
        weights = [self.model.first_layer(params)] + self.model.later_weights(params)
        ridge = 0.5 * self.lambda2 * sum(torch.sum(w * w) for w in weights)
        value = loss + 0.5 * rho * h * h + alpha * h + ridge + self.lambda1 * torch.sum(params[0] + params[1])
        (grad,) = torch.autograd.grad(value, theta)
        return float(value.detach()), grad.numpy()

    def acyclicity(self, flat: np.ndarray) -> float:
        with torch.no_grad():
            return float(_trace_exp_h(self.model, self.model.unpack(torch.as_tensor(flat))))

    def mse(self, flat: np.ndarray) -> list[float]:
        """Mean squared residual of each variable (d,) at ``flat``."""
        with torch.no_grad():
            residual = self.x - self.model.forward(self.model.unpack(torch.as_tensor(flat)), self.x)
            return torch.mean(residual * residual, dim=0).tolist()


def notears_mlp(data: Any, *, hidden: Sequence[int] = (10,), lambda1: float = 0.01, lambda2: float = 0.01,
                w_threshold: float = 0.3, max_iter: int = 100, h_tol: float = 1e-8, rho_max: float = 1e16,
                standardize: bool = False, seed: int | np.random.Generator = 0,
                node_names: Sequence[str] | None = None) -> DiscoveredGraph:
    """NOTEARS-MLP (Zheng et al. 2020): a DAG from observational data with nonlinear mechanisms.

    Parameters
    ----------
    data: array (n, d) (n >= 4), mapping name -> (n,) array, or DataFrame; finite. Columns are centred.
    hidden: hidden-layer widths of each variable's MLP (each int >= 1; the paper: one layer of 10).
    lambda1: L1 weight (>= 0) on the first-layer weights (the graph's sparsity).
    lambda2: L2 weight (>= 0) on all weights (the networks' smoothness).
    w_threshold: edges with ``W[i, j] = ||A_j[:, i]|| < w_threshold`` (>= 0) are dropped after optimisation.
    max_iter, h_tol, rho_max: the augmented Lagrangian's limits, as in ``notears_linear``.
    standardize: scale each centred column to unit variance first. As for linear NOTEARS, raw simulated data
        are often "varsortable" (Reisach et al. 2021) and standardising removes that shortcut.
        Without it a UserWarning names any column whose standard deviation lies outside
        ``notears.SCALE_RANGE`` (0.3 to 100): ``lambda1`` and ``w_threshold`` are absolute, so scale matters.
    seed: seed or generator of the random initial weights.
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    DiscoveredGraph (fully directed, acyclic) with ``info``: ``method`` ("notears_mlp"), ``hidden``,
    ``lambda1``, ``lambda2``, ``w_threshold``, ``standardize``, ``weights`` (d x d nested list: ``W`` after
    thresholding, ``weights[i][j] >= 0`` the strength of ``i -> j``), ``weights_raw``, ``h_final``,
    ``n_iterations``, ``n_solves``, ``n_failed_solves`` (L-BFGS-B sub-problems that ended in failure: a sign of badly
    scaled data, try ``standardize=True``), ``rho_final``, ``converged`` (``h_final <= h_tol``),
    ``removed_for_acyclicity``, ``residual_mse`` (per variable, of the fitted networks on the data, before
    thresholding), ``n_params`` and ``n_samples``.
    """
    owner = "notears_mlp"
    lambda1 = check_number(lambda1, "lambda1", owner, low=0)
    lambda2 = check_number(lambda2, "lambda2", owner, low=0)
    w_threshold = check_number(w_threshold, "w_threshold", owner, low=0)
    max_iter = int(check_number(max_iter, "max_iter", owner, low=1, integer=True))
    h_tol = check_number(h_tol, "h_tol", owner, low=0, low_inclusive=False)
    rho_max = check_number(rho_max, "rho_max", owner, low=0, low_inclusive=False)
    hidden = _check_hidden(hidden, owner)
    rng = as_generator(seed)
    matrix, names = read_table(data, node_names, standardize, owner)
    n, d = matrix.shape
    x = _prepare(matrix, names, "l2", bool(standardize), owner)

    model = LocallyConnectedMLP(d, hidden, split=True)
    objective = _Objective(model, x, lambda1, lambda2)
    fit = augmented_lagrangian(objective, objective.acyclicity, model.initial(rng), model.bounds(),
                               max_iter=max_iter, h_tol=h_tol, rho_max=rho_max)
    w_raw = model.adjacency(fit["x"])
    w, removed = threshold_to_dag(w_raw, w_threshold, names)
    info = {"method": "notears_mlp", "hidden": list(hidden), "lambda1": lambda1, "lambda2": lambda2,
            "w_threshold": w_threshold, "standardize": bool(standardize), "weights": w.tolist(),
            "weights_raw": w_raw.tolist(), "h_final": fit["h"], "n_iterations": fit["n_iterations"],
            "n_solves": fit["n_solves"], "n_failed_solves": fit["n_failed_solves"],
            "rho_final": fit["rho"], "converged": bool(fit["h"] <= h_tol),
            "removed_for_acyclicity": removed, "residual_mse": objective.mse(fit["x"]),
            "n_params": model.n_params, "n_samples": int(n)}
    return DiscoveredGraph(names, (w != 0).astype(np.int64), {}, info)


def _check_hidden(hidden: Any, owner: str) -> tuple[int, ...]:
    """``hidden`` as a non-empty tuple of ints >= 1; a clear error otherwise."""
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (int(hidden),)
    if isinstance(hidden, np.ndarray) and hidden.ndim == 1:  # np.array([10]) lists widths like [10]
        hidden = hidden.tolist()
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence) or len(hidden) == 0:
        raise ValueError(f"The 'hidden' parameter of {owner} must be a non-empty sequence of layer widths. "
                         f"Got {hidden!r}.")
    widths = []
    for width in hidden:
        if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
            raise ValueError(f"The 'hidden' parameter of {owner} must hold integers >= 1. Got {width!r} in "
                             f"{list(hidden)!r}.")
        widths.append(int(width))
    return tuple(widths)
