"""DirectLiNGAM: the causal order and weights of a linear acyclic model with non-Gaussian noise.

Shimizu, Inazumi, Sogawa, Hyvärinen, Kawahara, Washio, Hoyer & Bollen (2011), "DirectLiNGAM: A direct method
for learning a linear non-Gaussian structural equation model", JMLR 12. Data ``x = B x + e`` with ``B`` (d, d)
lower triangular in some order and independent non-Gaussian ``e``. A variable is exogenous (first in a causal
order) iff it is independent of the residual of every other variable regressed on it (the paper's Lemma 1), and
the residuals of the remaining variables on it again follow a LiNGAM (Lemma 2). So the order is found by
repeatedly picking the most exogenous remaining variable and replacing the others by their residuals on it.

How exogenous a candidate ``i`` is, against the remaining set ``U``:

* ``measure="pwling"`` (the default, as in the ``lingam`` package): the pairwise likelihood ratio of Hyvärinen &
  Smith (2013), "Pairwise likelihood ratios for estimation of non-Gaussian structural equation models", JMLR 14.
  For standardised ``x_i, x_j`` and the standardised residuals ``r_{i|j}``, ``r_{j|i}``,
  ``R(i -> j) = H(x_j) + H(r_{i|j}) - H(x_i) - H(r_{j|i})`` is the log-likelihood ratio of ``i -> j`` over
  ``j -> i`` (per sample), with the differential entropy ``H`` from the maximum-entropy approximation of
  Hyvärinen (1998), "New approximations of differential entropy", NIPS:
  ``H(u) ≈ (1 + log 2π) / 2 - k1 (E log cosh u - γ)^2 - k2 (E u exp(-u^2 / 2))^2``. The score of ``i`` is
  ``-Σ_j min(0, R(i -> j))^2``; the largest wins.
* ``measure="kernel"``: the paper's ``T_kernel(i; U) = Σ_j MI(x_i, r_{j|i})`` with the kernel generalised
  variance estimate of mutual information (Bach & Jordan 2002, "Kernel independent component analysis", JMLR 3;
  Gaussian kernels on standardised data, incomplete Cholesky factors); the smallest wins. Slower; on more than
  ``KERNEL_MAX_SAMPLES`` rows it uses a seeded subsample.

Prior knowledge (the paper's §4): a candidate ``i`` is skipped while another remaining variable must precede it,
that is, has a required (directed) path to it or sits in an earlier tier; forbidden edges (and those of the
tiers) are removed from each node's predecessors before pruning.

Weights: each node is regressed on its predecessors in the order. ``prune="adaptive_lasso"`` (Zou 2006, "The
adaptive lasso and its oracle properties", JASA) selects predictors with a Lasso whose penalty on each standardised
predictor is weighted by ``1 / |OLS coefficient|``, the Lasso path chosen by BIC (sklearn ``LassoLarsIC``), then
refits OLS on the selected ones; ``"ols_threshold"`` keeps OLS coefficients with ``|w| >= threshold``; ``"none"``
keeps every OLS coefficient. Required edges are always kept.

Limits: the order is identifiable only with non-Gaussian noise; with Gaussian noise the measure has no signal and
the order (hence the edge directions) is arbitrary. Hidden confounders and cycles break the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_array, check_choice, check_number
from latentscm.discovery.knowledge import BackgroundKnowledge
from latentscm.discovery.order_regression import ORDER_PRUNES, ordered_table, regress_on_order, standardise
from latentscm.discovery.result import DiscoveredGraph

__all__ = ["KERNEL_MAX_SAMPLES", "LINGAM_MEASURES", "LINGAM_PRUNES", "direct_lingam", "entropy_maxent",
           "pairwise_likelihood_ratio"]

#: Independence measures ``direct_lingam`` accepts.
LINGAM_MEASURES = ("pwling", "kernel")
#: Pruning rules ``direct_lingam`` accepts.
LINGAM_PRUNES = ORDER_PRUNES
#: Rows the kernel measure uses at most (a seeded subsample above it).
KERNEL_MAX_SAMPLES = 1000

# Hyvärinen (1998), eq. for G1(u) = log cosh u and G2(u) = u exp(-u^2/2).
_K1, _K2, _GAMMA = 79.047, 7.4129, 0.37457
_GAUSS_ENTROPY = (1.0 + np.log(2.0 * np.pi)) / 2.0


def entropy_maxent(u: np.ndarray) -> np.ndarray:
    """Maximum-entropy approximation of the differential entropy of each standardised column of ``u`` (n, k) or of
    ``u`` (n,); returns (k,) or a scalar array. Largest (the Gaussian's) for Gaussian data."""
    u = np.asarray(u, dtype=float)
    log_cosh = np.logaddexp(u, -u) - np.log(2.0)  # log cosh without overflow
    return _GAUSS_ENTROPY - _K1 * (log_cosh.mean(axis=0) - _GAMMA) ** 2 \
        - _K2 * (np.mean(u * np.exp(-u ** 2 / 2.0), axis=0)) ** 2


def pairwise_likelihood_ratio(xi: np.ndarray, xj: np.ndarray) -> float:
    """``R(i -> j)`` of Hyvärinen & Smith (2013) for two samples (n,): positive favours ``xi -> xj``."""
    owner = "pairwise_likelihood_ratio"
    xi, xj = check_array(xi, "xi", owner, ndim=1, min_rows=2), check_array(xj, "xj", owner, ndim=1, min_rows=2)
    if xi.shape != xj.shape:
        raise ValueError(f"The 'xi' and 'xj' arguments of {owner} must have the same length. "
                         f"Got {xi.shape[0]} and {xj.shape[0]}.")
    for name, sample in (("xi", xi), ("xj", xj)):
        if np.ptp(sample) == 0:
            raise ValueError(f"The {name!r} argument of {owner} is constant; it has no standardised sample.")
    a, b = standardise(np.column_stack([xi, xj])).T
    rho = float(np.mean(a * b))
    r_ij = standardise((a - rho * b)[:, None])[:, 0]  # residual of x_i on x_j
    r_ji = standardise((b - rho * a)[:, None])[:, 0]
    h = entropy_maxent(np.column_stack([a, b, r_ij, r_ji]))
    return float(h[1] + h[2] - h[0] - h[3])


def _pwling_scores(x: np.ndarray, candidates: list[int], remaining: list[int]) -> np.ndarray:
    """``-Σ_j min(0, R(i -> j))^2`` for each candidate ``i`` (vectorised over the pairs)."""
    z = standardise(x[:, remaining])
    h = entropy_maxent(z)
    corr = z.T @ z / z.shape[0]
    position = {v: k for k, v in enumerate(remaining)}
    scores = np.zeros(len(candidates))
    for c, i in enumerate(candidates):
        p = position[i]
        others = [k for k in range(len(remaining)) if k != p]
        if not others:
            continue
        rho = corr[p, others]
        zi = z[:, [p]]
        r_ij = _unit(zi - rho * z[:, others])          # x_i on each x_j
        r_ji = _unit(z[:, others] - rho * zi)          # each x_j on x_i
        ratio = h[others] + entropy_maxent(r_ij) - h[p] - entropy_maxent(r_ji)
        scores[c] = -np.sum(np.minimum(0.0, ratio) ** 2)
    return scores


def _unit(r: np.ndarray) -> np.ndarray:
    sd = r.std(axis=0)
    return (r - r.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


# ------------------------------------------------------------------------------------------- kernel measure
def _incomplete_cholesky(x: np.ndarray, sigma: float, tol: float, max_rank: int) -> np.ndarray:
    """Pivoted incomplete Cholesky factor ``G`` (n, m) of the Gaussian Gram matrix of ``x`` (n,): ``K ≈ G G^T``."""
    n = x.shape[0]
    diag = np.ones(n)
    factor = np.zeros((n, max_rank))
    rank = 0
    while rank < max_rank:
        pivot = int(np.argmax(diag))
        if diag[pivot] <= tol:
            break
        column = np.exp(-(x - x[pivot]) ** 2 / (2.0 * sigma ** 2))
        column -= factor[:, :rank] @ factor[pivot, :rank]
        column /= np.sqrt(diag[pivot])
        factor[:, rank] = column
        diag = np.maximum(diag - column ** 2, 0.0)
        rank += 1
    return factor[:, :rank]


def _kernel_basis(x: np.ndarray, kappa: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvectors (n, m) and the regularised ratios ``λ / (λ + n κ / 2)`` (m,) of the centred Gram matrix."""
    n = x.shape[0]
    g = _incomplete_cholesky(x, sigma, tol=1e-4, max_rank=min(n, 60))
    g = g - g.mean(axis=0)
    u, s, _ = np.linalg.svd(g, full_matrices=False)
    lam = s ** 2
    keep = lam > 1e-12
    return u[:, keep], lam[keep] / (lam[keep] + n * kappa / 2.0)


def _kernel_mi(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """Kernel generalised variance mutual information ``-1/2 log det(I - C C^T)`` (Bach & Jordan 2002)."""
    (ua, ra), (ub, rb) = a, b
    c = (ra[:, None] * (ua.T @ ub)) * rb[None, :]
    sv = np.linalg.svd(c, compute_uv=False)
    return float(-0.5 * np.sum(np.log(np.clip(1.0 - sv ** 2, 1e-12, None))))


def _kernel_scores(x: np.ndarray, candidates: list[int], remaining: list[int]) -> np.ndarray:
    """``-T_kernel(i; U)`` for each candidate ``i`` (larger is more exogenous)."""
    n = x.shape[0]
    kappa, sigma = (2e-2, 0.5) if n > 1000 else (2e-3, 1.0)
    scores = np.zeros(len(candidates))
    for c, i in enumerate(candidates):
        xi = standardise(x[:, [i]])[:, 0]
        basis_i = _kernel_basis(xi, kappa, sigma)
        total = 0.0
        for j in remaining:
            if j == i:
                continue
            xj = standardise(x[:, [j]])[:, 0]
            r = _unit((xj - np.mean(xi * xj) * xi)[:, None])[:, 0]
            total += _kernel_mi(basis_i, _kernel_basis(r, kappa, sigma))
        scores[c] = -total
    return scores


# -------------------------------------------------------------------------------------------- the order
def _residualise(x: np.ndarray, on: int, targets: list[int], names: Sequence[str], owner: str,
                 scale: np.ndarray) -> None:
    """Replace each column of ``targets`` of ``x`` (n, d) by its OLS residual on column ``on``, in place; a residual
    below ``1e-12`` of the column's original standard deviation ``scale`` (d,) is refused as collinear."""
    base = x[:, on] - x[:, on].mean()
    var = float(base @ base)
    for t in targets:
        column = x[:, t] - x[:, t].mean()
        x[:, t] = column - (column @ base) / var * base
        if np.std(x[:, t]) <= 1e-12 * scale[t]:  # relative: data in any unit (not an absolute floor)
            raise ValueError(f"The 'data' argument of {owner}: column {names[t]!r} is a linear function of earlier "
                             f"columns (its residual is constant); drop collinear columns.")


def _causal_order(x: np.ndarray, measure: str, before: np.ndarray, names: Sequence[str], owner: str) -> list[int]:
    x = x.copy()
    scale = x.std(axis=0)
    remaining = list(range(x.shape[1]))
    order: list[int] = []
    while remaining:
        candidates = [i for i in remaining if not before[remaining, i].any()]
        if len(candidates) == 1 or len(remaining) == 1:
            chosen = candidates[0]
        else:
            score = _pwling_scores if measure == "pwling" else _kernel_scores
            chosen = candidates[int(np.argmax(score(x, candidates, remaining)))]
        order.append(chosen)
        remaining.remove(chosen)
        _residualise(x, chosen, remaining, names, owner, scale)
    return order


def direct_lingam(data: Any, *, measure: str = "pwling", prune: str = "adaptive_lasso",
                  knowledge: BackgroundKnowledge | Any = None, threshold: float = 0.1,
                  node_names: Sequence[str] | None = None, seed: int = 0) -> DiscoveredGraph:
    """DirectLiNGAM (Shimizu et al. 2011): a DAG and its edge weights from linear non-Gaussian data.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame; finite, no constant column, n >= d + 2.
    measure: ``"pwling"`` (pairwise likelihood ratio, Hyvärinen & Smith 2013) or ``"kernel"`` (kernel mutual
        information, Shimizu et al. 2011); see the module docstring.
    prune: ``"adaptive_lasso"`` (BIC), ``"ols_threshold"`` (drop ``|w| < threshold``) or ``"none"``.
    knowledge: :class:`~latentscm.discovery.knowledge.BackgroundKnowledge` (or its dict) by node name: required
        edges and tiers restrict the order, forbidden edges (and tiers) are never estimated. Required edges are
        kept by the pruning (the order always allows them).
    threshold: the cut of ``prune="ols_threshold"`` (>= 0; unused by the other rules).
    node_names: names of the d columns (default ``X0, X1, ...``).
    seed: seeds the row subsample of the kernel measure when n > ``KERNEL_MAX_SAMPLES`` (everything else is
        deterministic).

    Returns
    -------
    DiscoveredGraph, fully directed: ``adjacency[i, j] = 1`` for ``i -> j``. ``info``: method, measure, prune,
    threshold, ``causal_order`` (names, first = most exogenous), ``weights`` (nested list d x d, ``[i][j]`` the
    coefficient of i in j's equation), ``n_samples``.
    """
    owner = "direct_lingam"
    measure = check_choice(measure, "measure", owner, LINGAM_MEASURES)
    prune = check_choice(prune, "prune", owner, LINGAM_PRUNES)
    threshold = float(check_number(threshold, "threshold", owner, low=0))
    rng = as_generator(seed)
    matrix, names, forbidden, required, before = ordered_table(data, node_names, knowledge, owner)
    n = matrix.shape[0]
    order_data = matrix
    if measure == "kernel" and n > KERNEL_MAX_SAMPLES:
        order_data = matrix[np.sort(rng.choice(n, size=KERNEL_MAX_SAMPLES, replace=False))]
    order = _causal_order(order_data, measure, before, names, owner)
    weights = regress_on_order(matrix, order, prune=prune, threshold=threshold, forbidden=forbidden, required=required)
    info = {"method": "direct_lingam", "measure": measure, "prune": prune, "threshold": threshold,
            "causal_order": [names[i] for i in order], "weights": weights.tolist(), "n_samples": int(n)}
    return DiscoveredGraph(names, (weights != 0).astype(np.int64), {}, info)
