"""Neural Granger causality with component-wise MLPs (cMLP) and proximal group-lasso training.

Tank, Covert, Foti, Shojaie & Fox (2021), "Neural Granger causality", IEEE TPAMI 44(8). One MLP per
target ``x_j`` reads the last K values of every series; the first-layer weights ``W1[j, :, i, :]``
(hidden x lag) of input series ``i`` form a group. Training minimises the squared prediction error
plus ``lambda * sum_i Omega(W1[j, :, i, :])`` by proximal gradient steps (ISTA): a gradient step on
the smooth loss, then the exact proximal map of the penalty, which sets whole groups to zero.

Penalties: ``"group"`` (GL) — one group per input series; ``"hierarchical"`` (H) — nested groups
``W1[j, :, i, k:]`` for k = 1..K, whose proximal map applies group soft-thresholding from the
highest-lag group to the full group (Jenatton et al. 2011, JMLR, tree-structured groups), so a
series can enter with only its recent lags.

A **lambda path** is fitted from the smallest to the largest value, each warm-started from the
previous solution. ``scores[tau, i, j]`` is the largest lambda at which lag tau of series i still has
non-zero weights into the network of j (0 if never); the returned graph uses the largest lambda whose
validation error (on the last ``val_fraction`` of the series) is within ``tolerance`` of the best.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.discovery.timeseries._series import check_series, resolve_names
from latentscm.discovery.timeseries.result import TemporalGraph

__all__ = ["cmlp_granger"]


def _prox(weight: Any, step: float, penalty: str) -> None:
    """In-place proximal map of ``step * Omega`` on first-layer weights (d_out, H, d_in, K)."""
    import torch

    with torch.no_grad():
        if penalty == "group":
            norm = weight.norm(dim=(1, 3), keepdim=True)
            weight.mul_(torch.clamp(1 - step / torch.clamp(norm, min=1e-12), min=0.0))
            return
        n_lags = weight.shape[-1]
        for k in range(n_lags - 1, -1, -1):  # smallest (highest-lag) group first
            block = weight[..., k:]
            norm = block.norm(dim=(1, 3), keepdim=True)
            block.mul_(torch.clamp(1 - step / torch.clamp(norm, min=1e-12), min=0.0))


def cmlp_granger(data: Any, *, max_lag: int = 3, hidden: int = 16, penalty: str = "hierarchical",
                 lambdas: Sequence[float] | None = None, lr: float = 0.05, max_iter: int = 400,
                 ridge: float = 1e-3, val_fraction: float = 0.2, tolerance: float = 0.05, seed: int = 0,
                 var_names: Sequence[str] | None = None) -> TemporalGraph:
    """Neural Granger causality (cMLP) over a lambda path.

    Parameters
    ----------
    data: series (T, d); standardised internally.
    max_lag: number of lags K each network reads.
    hidden: hidden units per network.
    penalty: ``"hierarchical"`` (lag-selective) or ``"group"`` (one group per series: all lags share a score).
    lambdas: penalty strengths > 0, increasing (default 10 values from 1e-3 to 0.3 on a log grid).
    lr: step size of the proximal gradient steps.
    max_iter: full-batch proximal steps per lambda.
    ridge: L2 penalty on the output layer.
    val_fraction: last part of the series held out to choose lambda.
    tolerance: relative slack over the best validation error when choosing the sparsest lambda.
    seed: seed of the weight initialisation.
    var_names: names of the d columns.

    Returns
    -------
    TemporalGraph with ``scores`` (largest lambda at which a link is active), ``threshold`` the chosen
    lambda and ``info["path"]`` (lambda, validation error, number of links) per path point.
    """
    import torch

    owner = "cmlp_granger"
    start = time.perf_counter()
    K = int(check_number(max_lag, "max_lag", owner, low=1, integer=True))
    series = check_series(data, owner, tau_max=K, min_extra=10, lag_name="max_lag")
    hidden = int(check_number(hidden, "hidden", owner, low=1, integer=True))
    check_choice(penalty, "penalty", owner, ("hierarchical", "group"))
    lr = check_number(lr, "lr", owner, low=0, low_inclusive=False)
    max_iter = int(check_number(max_iter, "max_iter", owner, low=1, integer=True))
    ridge = check_number(ridge, "ridge", owner, low=0)
    val_fraction = check_number(val_fraction, "val_fraction", owner, low=0, high=0.5, low_inclusive=False)
    tolerance = check_number(tolerance, "tolerance", owner, low=0)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"The 'seed' parameter of {owner} must be a non-negative int. Got {seed!r}.")
    if seed < 0:
        raise ValueError(f"The 'seed' parameter of {owner} must be a non-negative int. Got {seed!r}.")
    path = np.geomspace(1e-3, 0.3, 10) if lambdas is None else np.asarray(lambdas, dtype=np.float64)
    # lambda = 0 is refused: a link's score is the largest lambda at which it is active, so a link active only at
    # lambda = 0 would score 0, which the graph reads as "never active".
    if path.ndim != 1 or path.size == 0 or not np.all(np.isfinite(path)) or np.any(path <= 0) \
            or np.any(np.diff(path) < 0):
        raise ValueError(f"The 'lambdas' parameter of {owner} must be a non-empty increasing sequence of "
                         f"finite numbers > 0. Got {lambdas!r}.")
    T, d = series.shape
    z = (series - series.mean(axis=0)) / series.std(axis=0)
    windows = np.stack([z[K - k - 1: T - k - 1] for k in range(K)], axis=-1)  # (n, d, K): lag k+1
    targets = z[K:]
    n = targets.shape[0]
    n_val = max(1, int(round(val_fraction * n)))
    generator = torch.Generator().manual_seed(int(seed))
    x_train = torch.as_tensor(windows[: n - n_val], dtype=torch.float64)
    y_train = torch.as_tensor(targets[: n - n_val], dtype=torch.float64)
    x_val = torch.as_tensor(windows[n - n_val:], dtype=torch.float64)
    y_val = torch.as_tensor(targets[n - n_val:], dtype=torch.float64)
    scale = 1.0 / np.sqrt(d * K)
    w1 = (torch.randn(d, hidden, d, K, generator=generator, dtype=torch.float64) * scale).requires_grad_()
    b1 = torch.zeros(d, hidden, dtype=torch.float64, requires_grad=True)
    w2 = (torch.randn(d, hidden, generator=generator, dtype=torch.float64) / np.sqrt(hidden)).requires_grad_()
    b2 = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    params = (w1, b1, w2, b2)

    def predict(x: Any) -> Any:
        h = torch.relu(torch.einsum("nik,jhik->njh", x, w1) + b1)
        return torch.einsum("njh,jh->nj", h, w2) + b2

    scores = np.zeros((K + 1, d, d))
    record = []
    for lam in path:
        for _ in range(max_iter):
            loss = 0.5 * ((predict(x_train) - y_train) ** 2).mean(dim=0).sum() + 0.5 * ridge * (w2**2).sum()
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for param, grad in zip(params, grads):
                    param.sub_(lr * grad)
            _prox(w1, lr * float(lam), penalty)
        with torch.no_grad():
            val = float(0.5 * ((predict(x_val) - y_val) ** 2).mean(dim=0).sum())
            # active[k, i, j]: lag k+1 of series i feeds network j
            active = (w1.detach().norm(dim=1) > 0).permute(2, 1, 0).numpy()  # (K, d_in, d_out)
        scores[1:][active] = lam
        record.append({"lambda": float(lam), "val_loss": val, "n_links": int(active.sum())})
    losses = np.array([r["val_loss"] for r in record])
    if not np.all(np.isfinite(losses)):  # NaN weights would also read as "no link" in the scores
        first = float(path[np.flatnonzero(~np.isfinite(losses))[0]])
        raise FloatingPointError(f"{owner}: the proximal gradient steps diverged (validation error not finite from "
                                 f"lambda = {first:g} on); lower 'lr' (now {lr}).")
    acceptable = np.flatnonzero(losses <= losses.min() * (1 + tolerance))
    chosen = float(path[acceptable.max()])
    info = {"path": record, "lambda": chosen, "penalty": penalty, "max_lag": K, "hidden": hidden,
            "time_s": time.perf_counter() - start}
    return TemporalGraph(resolve_names(var_names, d, owner), scores, None, "cmlp", threshold=chosen, info=info)
