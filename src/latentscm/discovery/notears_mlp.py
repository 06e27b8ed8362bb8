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
from latentscm.discovery.notears import augmented_lagrangian, threshold_to_dag
from latentscm.discovery.pc import as_data_matrix
from latentscm.discovery.result import DiscoveredGraph

__all__ = ["NotearsMLPModel", "notears_mlp"]


class NotearsMLPModel:
    """The d per-variable MLPs of NOTEARS-MLP as one flat parameter vector (float64).

    Layout of the flat vector: ``A+`` (d, m1, d), ``A-`` (d, m1, d), first-layer bias (d, m1), then for each
    later layer ``l`` its weights (d, m_{l-1}, m_l) and bias (d, m_l), the last layer having ``m_L = 1``.
    ``A[j, k, i]`` is the weight from input ``i`` to hidden unit ``k`` of variable ``j``'s network.
    """

    def __init__(self, d: int, hidden: Sequence[int]) -> None:
        self.d = d
        self.dims = [int(m) for m in hidden] + [1]
        shapes = [(d, self.dims[0], d), (d, self.dims[0], d), (d, self.dims[0])]
        for m_in, m_out in zip(self.dims[:-1], self.dims[1:], strict=True):
            shapes += [(d, m_in, m_out), (d, m_out)]
        self.shapes = shapes
        self.sizes = [int(np.prod(s)) for s in shapes]
        self.n_params = int(sum(self.sizes))

    def unpack(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """The parameter tensors (views of ``flat``) in the layout above."""
        return [part.reshape(shape) for part, shape in zip(torch.split(flat, self.sizes), self.shapes, strict=True)]

    def bounds(self) -> list[tuple[float, float | None]]:
        """L-BFGS-B bounds: ``A+, A- >= 0`` with the self-input column fixed at 0; other weights free."""
        d, m1 = self.d, self.dims[0]
        first = [(0.0, 0.0) if i == j else (0.0, None) for j in range(d) for _ in range(m1) for i in range(d)]
        return first * 2 + [(None, None)] * (self.n_params - 2 * len(first))

    def initial(self, rng: np.random.Generator) -> np.ndarray:
        """Random start (n_params,): every layer uniform in ``±1/sqrt(fan_in)``; the first layer's draw ``u`` is
        split as ``A+ = max(u, 0)``, ``A- = max(-u, 0)`` with the self-input column 0."""
        d, m1 = self.d, self.dims[0]
        bound = 1.0 / np.sqrt(d)
        u = rng.uniform(-bound, bound, size=(d, m1, d))
        u[np.arange(d), :, np.arange(d)] = 0.0
        parts = [np.maximum(u, 0.0), np.maximum(-u, 0.0), rng.uniform(-bound, bound, size=(d, m1))]
        for m_in, m_out in zip(self.dims[:-1], self.dims[1:], strict=True):
            b = 1.0 / np.sqrt(m_in)
            parts += [rng.uniform(-b, b, size=(d, m_in, m_out)), rng.uniform(-b, b, size=(d, m_out))]
        return np.concatenate([p.ravel() for p in parts])

    def forward(self, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Predictions (n, d): column ``j`` is ``f_j(x)`` for data ``x`` (n, d)."""
        a = params[0] - params[1]
        h = torch.einsum("ni,jki->njk", x, a) + params[2]
        for layer in range(len(self.dims) - 1):
            weight, bias = params[3 + 2 * layer], params[4 + 2 * layer]
            h = torch.einsum("njk,jkl->njl", torch.sigmoid(h), weight) + bias
        return h[:, :, 0]

    @staticmethod
    def squared_adjacency(params: list[torch.Tensor]) -> torch.Tensor:
        """``W ∘ W`` (d, d): entry ``[i, j]`` the squared norm of the first-layer column of net ``j`` reading ``i``."""
        a = params[0] - params[1]
        return torch.sum(a * a, dim=1).T

    def acyclicity(self, params: list[torch.Tensor]) -> torch.Tensor:
        """``h = tr(exp(W ∘ W)) - d`` (a scalar tensor)."""
        return torch.trace(torch.linalg.matrix_exp(self.squared_adjacency(params))) - self.d

    def adjacency(self, flat: np.ndarray) -> np.ndarray:
        """``W`` (d, d) of a flat parameter vector."""
        with torch.no_grad():
            return torch.sqrt(self.squared_adjacency(self.unpack(torch.as_tensor(flat)))).numpy()


class _Objective:
    """The augmented Lagrangian of NOTEARS-MLP on one data set, evaluated by torch autograd in float64."""

    def __init__(self, model: NotearsMLPModel, x: np.ndarray, lambda1: float, lambda2: float) -> None:
        self.model, self.lambda1, self.lambda2 = model, lambda1, lambda2
        self.x = torch.as_tensor(x, dtype=torch.float64)

    def __call__(self, flat: np.ndarray, rho: float, alpha: float) -> tuple[float, np.ndarray]:
        theta = torch.tensor(flat, dtype=torch.float64, requires_grad=True)
        params = self.model.unpack(theta)
        residual = self.x - self.model.forward(params, self.x)
        loss = 0.5 * torch.sum(residual * residual) / self.x.shape[0]
        h = self.model.acyclicity(params)
        weights = [params[0] - params[1]] + params[3::2]
        ridge = 0.5 * self.lambda2 * sum(torch.sum(w * w) for w in weights)
        value = loss + 0.5 * rho * h * h + alpha * h + ridge + self.lambda1 * torch.sum(params[0] + params[1])
        (grad,) = torch.autograd.grad(value, theta)
        return float(value.detach()), grad.numpy()

    def acyclicity(self, flat: np.ndarray) -> float:
        with torch.no_grad():
            return float(self.model.acyclicity(self.model.unpack(torch.as_tensor(flat))))

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
    seed: seed or generator of the random initial weights.
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    DiscoveredGraph (fully directed, acyclic) with ``info``: ``method`` ("notears_mlp"), ``hidden``,
    ``lambda1``, ``lambda2``, ``w_threshold``, ``standardize``, ``weights`` (d x d nested list: ``W`` after
    thresholding, ``weights[i][j] >= 0`` the strength of ``i -> j``), ``weights_raw``, ``h_final``,
    ``n_iterations``, ``n_solves``, ``rho_final``, ``converged`` (``h_final <= h_tol``),
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
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"The 'standardize' parameter of {owner} must be a bool. Got {standardize!r}.")
    rng = as_generator(seed)
    matrix, names = as_data_matrix(data, node_names, owner)
    n, d = matrix.shape
    if d == 0:
        raise ValueError(f"The 'data' argument of {owner} has no columns.")
    x = matrix - matrix.mean(axis=0)
    if standardize:
        std = x.std(axis=0)
        constant = [names[j] for j in np.flatnonzero(std == 0)]
        if constant:
            raise ValueError(f"The 'data' argument of {owner} has constant columns {constant}; standardize=True "
                             f"cannot scale them. Drop them.")
        x = x / std

    model = NotearsMLPModel(d, hidden)
    objective = _Objective(model, x, lambda1, lambda2)
    fit = augmented_lagrangian(objective, objective.acyclicity, model.initial(rng), model.bounds(),
                               max_iter=max_iter, h_tol=h_tol, rho_max=rho_max)
    w_raw = model.adjacency(fit["x"])
    w, removed = threshold_to_dag(w_raw, w_threshold, names)
    info = {"method": "notears_mlp", "hidden": list(hidden), "lambda1": lambda1, "lambda2": lambda2,
            "w_threshold": w_threshold, "standardize": bool(standardize), "weights": w.tolist(),
            "weights_raw": w_raw.tolist(), "h_final": fit["h"], "n_iterations": fit["n_iterations"],
            "n_solves": fit["n_solves"], "rho_final": fit["rho"], "converged": bool(fit["h"] <= h_tol),
            "removed_for_acyclicity": removed, "residual_mse": objective.mse(fit["x"]),
            "n_params": model.n_params, "n_samples": int(n)}
    return DiscoveredGraph(names, (w != 0).astype(np.int64), {}, info)


def _check_hidden(hidden: Any, owner: str) -> tuple[int, ...]:
    """``hidden`` as a non-empty tuple of ints >= 1; a clear error otherwise."""
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (int(hidden),)
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
