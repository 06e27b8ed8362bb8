"""DAGMA-MLP: nonlinear DAG learning along the log-det central path, one small MLP per variable.

Bello, Aragam & Ravikumar (2022), "DAGMA: Learning DAGs via M-matrices and a Log-Determinant Acyclicity
Characterization", NeurIPS, §5 (nonlinear SEMs). The model is NOTEARS-MLP's
(:class:`~latentscm.discovery.locally_connected_mlp.LocallyConnectedMLP`: ``W[i, j]`` the norm of the first-layer
column of network ``j`` reading ``x_i``); the program is DAGMA's central path (see
:func:`~latentscm.discovery.dagma.dagma_linear`): for ``t = 0 .. T-1``

    Theta_{t+1} = argmin  mu_t (Q(Theta) + lambda1 |A|_1 + lambda2 / 2 |Theta|^2) + h^{s}(W(Theta)),
    mu_{t+1} = mu_factor * mu_t,

with the log-MSE score ``Q = d/2 log(|X - f(X)|_F^2 / n)`` (the Gaussian likelihood with one noise variance,
profiled out) and ``h^s(W) = -log det(s I - W ∘ W) + d log s``. Each stage runs Adam (``torch.optim.Adam``, the
ridge as its ``weight_decay = mu_t * lambda2`` on every parameter, as in the authors' code) from the last stage's
solution, and stops when its objective changes by at most ``tol`` (relative) between checks ``checkpoint`` steps
apart. A step that leaves the log-det's domain (``s I - W ∘ W`` no longer an M-matrix) restarts the stage from its
start with half the learning rate, decayed by 0.8 every 1000 steps from then on (the authors' code does this too,
and also sets ``s`` to 1 and keeps the halved rate for the later stages; here each stage starts at ``lr`` and its
own ``s``). A stage whose warm start lies outside its ``s``'s domain runs at ``s + 0.1 k`` instead, the smallest
such value with the start inside. The first
layer starts at 0 (``W = 0``); later layers start at random from ``seed``.

One deviation from the authors' code: the first-layer column reading a network's own variable is fixed at 0 (their
code leaves it free and lets ``h``, which counts self-loops, push it to 0; with it free the score rewards a network
that copies its own input).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from latentscm._validation import as_generator, check_number
from latentscm.discovery.dagma import _m_matrix_inverse, check_path
from latentscm.discovery.locally_connected_mlp import LocallyConnectedMLP
from latentscm.discovery.notears import read_table, threshold_to_dag, warn_if_badly_scaled
from latentscm.discovery.notears_mlp import _check_hidden
from latentscm.discovery.result import DiscoveredGraph

__all__ = ["dagma_mlp"]


class _Path:
    """The stages of one DAGMA-MLP fit on centred data ``x`` (n, d)."""

    def __init__(self, model: LocallyConnectedMLP, x: np.ndarray, lambda1: float, lambda2: float) -> None:
        self.model, self.lambda1, self.lambda2 = model, lambda1, lambda2
        self.x = torch.as_tensor(x, dtype=torch.float64)
        self.eye = torch.eye(model.d, dtype=torch.float64)
        self.free = torch.as_tensor(~model.self_input_mask(), dtype=torch.float64)

    def terms(self, theta: torch.Tensor, s: float) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """(score + L1, h^s, inside the domain) at ``theta``."""
        params = self.model.unpack(theta)
        residual = self.x - self.model.forward(params, self.x)
        n, d = self.x.shape
        score = 0.5 * d * torch.log(torch.sum(residual * residual) / n)
        m = s * self.eye - self.model.squared_adjacency(params)
        inside = _m_matrix_inverse(m.detach().numpy()) is not None
        h = -torch.linalg.slogdet(m)[1] + d * np.log(s)
        return score + self.lambda1 * torch.sum(torch.abs(self.model.first_layer(params))), h, inside

    def inside(self, theta: np.ndarray, s: float) -> bool:
        """Whether ``W(theta)`` lies in the log-det domain at ``s`` (``s I - W ∘ W`` an M-matrix)."""
        with torch.no_grad():
            w2 = self.model.squared_adjacency(self.model.unpack(torch.as_tensor(theta))).numpy()
        return _m_matrix_inverse(s * np.eye(self.model.d) - w2) is not None

    def stage(self, start: np.ndarray, mu: float, s: float, *, n_steps: int, lr: float, tol: float,
              checkpoint: int) -> tuple[np.ndarray, int, int]:
        """(Theta, steps, restarts) of one stage from ``start`` (n_params,)."""
        restarts = 0
        while True:
            theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
            optimiser = torch.optim.Adam([theta], lr=lr, betas=(0.99, 0.999), weight_decay=mu * self.lambda2)
            decay = torch.optim.lr_scheduler.ExponentialLR(optimiser, gamma=0.8) if restarts else None
            previous, left = np.inf, False
            for step in range(1, n_steps + 1):
                optimiser.zero_grad()
                fit, h, inside = self.terms(theta, s)
                if not inside:
                    left = True
                    break
                (mu * fit + h).backward()
                theta.grad *= self.free  # a network never reads its own variable
                optimiser.step()
                if decay is not None and step % 1000 == 0:
                    decay.step()
                if step % checkpoint == 0 or step == n_steps:
                    with torch.no_grad():
                        fit, h, inside = self.terms(theta, s)
                    if not inside:  # checked here too, so that the stage's last step cannot leave the domain
                        left = True
                        break
                    if inside:
                        current = float(mu * fit + h)
                        if np.isfinite(previous) and abs(previous - current) <= tol * abs(previous):
                            break
                        previous = current
            if not left:
                return theta.detach().numpy().copy(), step, restarts
            restarts += 1
            lr *= 0.5
            if lr < 1e-10:
                raise RuntimeError(f"DAGMA-MLP: the stage at mu = {mu:g}, s = {s:g} left the log-det domain at "
                                   f"every learning rate down to 1e-10.")


def dagma_mlp(data: Any, *, hidden: Sequence[int] = (10,), lambda1: float = 0.02, lambda2: float = 0.005,
              w_threshold: float = 0.3, n_stages: int = 4, s: float | Sequence[float] = 1.0, mu_init: float = 0.1,
              mu_factor: float = 0.1, warm_steps: int = 50_000, final_steps: int = 80_000, lr: float = 2e-4,
              tol: float = 1e-6, checkpoint: int = 1000, standardize: bool = False,
              seed: int | np.random.Generator = 0, node_names: Sequence[str] | None = None) -> DiscoveredGraph:
    """DAGMA-MLP (Bello et al. 2022): a DAG from observational data with nonlinear mechanisms.

    Parameters
    ----------
    data: array (n, d) (n >= 4), mapping name -> (n,) array, or DataFrame; finite. Columns are centred.
    hidden: hidden-layer widths of each variable's MLP (ints >= 1; the paper: one layer of 10).
    lambda1: L1 weight (>= 0) on the first layer; lambda2: L2 weight (>= 0) on all parameters.
    w_threshold: edges with ``W[i, j] < w_threshold`` (>= 0) are dropped at the end.
    n_stages, s, mu_init, mu_factor: the central path (as ``dagma_linear``; the paper's nonlinear defaults
        ``T = 4``, ``s = 1``, ``mu_0 = 0.1``, factor 0.1).
    warm_steps, final_steps: most Adam steps per stage and in the last stage (ints >= 1).
    lr: Adam's learning rate (> 0); tol, checkpoint: a stage's stopping rule (as ``dagma_linear``).
    standardize: scale each centred column to unit variance first.
        Without it a UserWarning names any column whose standard deviation lies outside
        ``notears.SCALE_RANGE`` (0.3 to 100): ``lambda1`` and ``w_threshold`` are absolute, so scale matters.
    seed: seed or generator of the later layers' initial weights.
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    DiscoveredGraph (fully directed, acyclic) with ``info``: ``method`` ("dagma_mlp"), the parameters,
    ``weights`` (d x d nested list, after thresholding), ``weights_raw``, ``h_final`` (``h^1``; NaN when ``W`` is
    outside its domain, possible when ``s > 1``), ``steps`` (per stage), ``s_used`` (per stage: a stage whose warm
    start lies outside the domain of its ``s`` runs at ``s + 0.1 k``, the smallest such value with the start inside,
    like ``dagma_linear``), ``restarts`` (per stage), ``removed_for_acyclicity``, ``n_params`` and ``n_samples``.
    """
    owner = "dagma_mlp"
    hidden = _check_hidden(hidden, owner)
    lambda1 = check_number(lambda1, "lambda1", owner, low=0)
    lambda2 = check_number(lambda2, "lambda2", owner, low=0)
    w_threshold = check_number(w_threshold, "w_threshold", owner, low=0)
    n_stages, schedule, mu, mu_factor, warm_steps, final_steps, lr, tol, checkpoint = check_path(
        n_stages, s, mu_init, mu_factor, warm_steps, final_steps, lr, tol, checkpoint, owner)
    rng = as_generator(seed)
    matrix, names = read_table(data, node_names, standardize, owner)
    n, d = matrix.shape
    x = matrix - matrix.mean(axis=0)
    std = x.std(axis=0)
    constant = [names[j] for j in np.flatnonzero(std == 0)]
    if constant:  # the log-MSE score is -inf for a network that fits a constant column exactly
        raise ValueError(f"The 'data' argument of {owner} has constant columns {constant}; drop them.")
    if standardize:
        x = x / std
    else:
        warn_if_badly_scaled(matrix, names, owner, stacklevel=3)

    model = LocallyConnectedMLP(d, hidden, split=False)
    path = _Path(model, x, lambda1, lambda2)
    theta = model.initial(rng, zero_first=True)
    steps, restarts, s_used = [], [], []
    for t in range(n_stages):
        s_t = schedule[t]
        if not np.all(np.isfinite(theta)):  # inside() would then never hold
            raise RuntimeError(f"DAGMA-MLP: non-finite parameters after stage {t - 1}; standardize the data.")
        while not path.inside(theta, s_t):  # the warm start is outside this stage's domain (s falls along the path)
            s_t += 0.1
        theta, n_steps, n_restarts = path.stage(theta, mu, s_t, lr=lr, tol=tol, checkpoint=checkpoint,
                                                n_steps=final_steps if t == n_stages - 1 else warm_steps)
        s_used.append(float(s_t))
        steps.append(n_steps)
        restarts.append(n_restarts)
        mu *= mu_factor

    w_raw = model.adjacency(theta)
    with torch.no_grad():
        _, h_final, inside = path.terms(torch.as_tensor(theta), 1.0)
    w, removed = threshold_to_dag(w_raw, w_threshold, names)
    info = {"method": "dagma_mlp", "hidden": list(hidden), "lambda1": lambda1, "lambda2": lambda2,
            "w_threshold": w_threshold, "standardize": bool(standardize), "weights": w.tolist(),
            "weights_raw": w_raw.tolist(), "h_final": float(h_final) if inside else float("nan"), "steps": steps,
            "s_used": s_used, "restarts": restarts, "removed_for_acyclicity": removed, "n_params": model.n_params,
            "n_samples": int(n)}
    return DiscoveredGraph(names, (w != 0).astype(np.int64), {}, info)
