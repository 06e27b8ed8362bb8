"""Kernels for the kernel CI tests: Gaussian kernels, width rules and kernel-target alignment.

* :class:`GaussianKernel` — ``k(a, b) = exp(-|a - b|^2 / (2 sigma^2))``; its parameter is the width
  sigma. A kernel *family* maps (data block, parameter) to Gram matrices, so KCI can run on any
  family (:mod:`latentscm.discovery.quantum_kernel` adds a simulated quantum feature-map kernel).
* Width rules, by name (:data:`WIDTH_RULES`): ``"median"`` (median pairwise distance, Gretton et al.
  2008), ``"empirical"`` (the sample-size rules of Zhang et al.'s KCI reference implementation,
  also causal-learn's default) and ``"kta"`` (maximal kernel-target alignment, below).
* Kernel-target alignment (Cristianini et al. 2001, "On kernel-target alignment", NeurIPS; centred
  form: Cortes, Mohri & Rostamizadeh 2012, JMLR 13): ``A(K, T) = <K_c, T_c>_F / (|K_c|_F |T_c|_F)``.
  qPC (Terada et al. 2025, "Quantum-enhanced causal discovery for a small number of samples")
  choose their kernels' hyperparameters by maximising KTA; here the target of a kernel is the
  linear Gram matrix of what the test must explain with it (see :func:`kta_parameter`).
* :func:`pivoted_cholesky` — a low-rank factor ``K ≈ L L^T`` (Harbrecht, Peters & Schneider 2012)
  computed from O(n r) kernel evaluations, used by KCI to avoid O(n^3) factorisations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GaussianKernel",
    "KernelFamily",
    "WIDTH_RULES",
    "WidthContext",
    "center_gram",
    "center_gram_",
    "kernel_target_alignment",
    "kta_parameter",
    "median_distance",
    "pivoted_cholesky",
    "squared_distances",
    "standardize",
]


def standardize(block: np.ndarray) -> np.ndarray:
    """Columns of (n, d) scaled to zero mean and unit variance (ddof=1); constant columns become 0."""
    block = np.asarray(block, dtype=np.float64)
    centred = block - block.mean(axis=0)
    std = centred.std(axis=0, ddof=1) if block.shape[0] > 1 else np.zeros(block.shape[1])
    safe = np.where(std > 0, std, 1.0)
    return np.where(std > 0, centred / safe, 0.0)


def squared_distances(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Pairwise squared Euclidean distances (n, m) between rows of a (n, d) and b (m, d)."""
    b_ = a if b is None else b
    if a.shape[1] <= 3:
        # Direct differences are exact (no cancellation) and cheap in few dimensions; done in place
        # (two (n, m) buffers in all), as fresh large allocations cost more than the arithmetic.
        if a.shape[1] == 0:
            return np.zeros((a.shape[0], b_.shape[0]))
        out = np.subtract.outer(a[:, 0], b_[:, 0])
        np.multiply(out, out, out=out)
        if a.shape[1] > 1:
            diff = np.empty_like(out)
            for k in range(1, a.shape[1]):
                np.subtract.outer(a[:, k], b_[:, k], out=diff)
                np.multiply(diff, diff, out=diff)
                out += diff
        return out
    sq_a = np.einsum("ij,ij->i", a, a)
    sq_b = sq_a if b is None else np.einsum("ij,ij->i", b_, b_)
    out = sq_a[:, None] + sq_b[None, :] - 2.0 * (a @ b_.T)
    np.maximum(out, 0.0, out=out)
    if b is None:
        np.fill_diagonal(out, 0.0)
    return out


def center_gram(gram: np.ndarray) -> np.ndarray:
    """``H K H`` with ``H = I - 11^T / n`` for a symmetric Gram matrix (n, n), in O(n^2)."""
    return center_gram_(np.array(gram, dtype=np.float64, copy=True))


def center_gram_(gram: np.ndarray) -> np.ndarray:
    """:func:`center_gram` in place (overwrites and returns ``gram``, which must be float).

    The means are accumulated in double precision also for a float32 ``gram``."""
    column_means = gram.mean(axis=0, dtype=np.float64).astype(gram.dtype)
    mean = column_means.mean(dtype=np.float64).astype(gram.dtype)
    gram -= column_means[None, :]
    gram -= column_means[:, None]
    gram += mean
    return gram


def median_distance(block: np.ndarray, max_points: int = 1000) -> float:
    """Median pairwise Euclidean distance between rows (a deterministic stride subsample of at
    most ``max_points`` rows); 1.0 if all rows coincide."""
    step = max(1, -(-block.shape[0] // max_points))
    sub = block[::step]
    d2 = squared_distances(sub)
    upper = d2[np.triu_indices(sub.shape[0], k=1)]
    upper = upper[upper > 0]
    return float(np.sqrt(np.median(upper))) if upper.size else 1.0


class KernelFamily(ABC):
    """A family of positive-definite kernels indexed by one scalar parameter."""

    name: str = "kernel"

    @abstractmethod
    def cross(self, a: np.ndarray, b: np.ndarray, parameter: float) -> np.ndarray:
        """Kernel matrix (n, m) between rows of a (n, d) and b (m, d)."""

    def gram(self, a: np.ndarray, parameter: float) -> np.ndarray:
        """Gram matrix (n, n) of the rows of a (n, d)."""
        return self.cross(a, a, parameter)

    def diagonal(self, a: np.ndarray, parameter: float) -> np.ndarray:
        """``k(a_i, a_i)`` for every row, shape (n,)."""
        return np.ones(a.shape[0])

    def column_source(self, block: np.ndarray, parameter: float) -> Callable[[int], np.ndarray]:
        """A function returning column ``p`` of the Gram matrix of block (for pivoted Cholesky)."""
        return lambda p: self.cross(block, block[p:p + 1], parameter)[:, 0]

    @abstractmethod
    def heuristic(self, block: np.ndarray) -> float:
        """A data-dependent default parameter (the median heuristic for Gaussian kernels)."""

    @abstractmethod
    def kta_grid(self, block: np.ndarray) -> np.ndarray:
        """Candidate parameters searched by kernel-target alignment."""


class GaussianKernel(KernelFamily):
    """``k(a, b) = exp(-|a - b|^2 / (2 sigma^2))``; the parameter is the width sigma > 0."""

    name = "gaussian"

    def cross(self, a: np.ndarray, b: np.ndarray, parameter: float) -> np.ndarray:
        d2 = squared_distances(a, None if a is b else b)
        d2 *= -0.5 / (parameter * parameter)
        return np.exp(d2, out=d2)

    def heuristic(self, block: np.ndarray) -> float:
        return median_distance(block)

    def kta_grid(self, block: np.ndarray) -> np.ndarray:
        return self.heuristic(block) * 2.0 ** np.linspace(-2.0, 3.0, 11)

    def __repr__(self) -> str:
        return "GaussianKernel()"


@dataclass(frozen=True)
class WidthContext:
    """What a width rule may look at besides the block: sample size and conditioning-set size.

    ``target`` (n, t) is what the kernel should align with under ``"kta"`` (None: the block itself).
    """

    n: int
    dim_z: int
    target: np.ndarray | None = None


def kernel_target_alignment(gram: np.ndarray, target: np.ndarray) -> float:
    """Centred kernel-target alignment of two Gram matrices (n, n), in [-1, 1] (higher = aligned)."""
    kc, tc = center_gram(gram), center_gram(target)
    denominator = np.linalg.norm(kc) * np.linalg.norm(tc)
    return float(np.sum(kc * tc) / denominator) if denominator > 0 else 0.0


def kta_parameter(kernel: KernelFamily, block: np.ndarray, target: np.ndarray, *,
                  max_points: int = 200) -> float:
    """The grid parameter maximising the centred alignment of ``kernel`` on ``block`` (n, d) with the
    linear Gram matrix of ``target`` (n, t) (a deterministic stride subsample of ``max_points`` rows).
    """
    step = max(1, -(-block.shape[0] // max_points))
    sub, sub_target = block[::step], standardize(target[::step])
    target_gram = sub_target @ sub_target.T
    grid = kernel.kta_grid(block)
    scores = [kernel_target_alignment(kernel.gram(sub, float(p)), target_gram) for p in grid]
    return float(grid[int(np.argmax(scores))])


def _median_rule(kernel: KernelFamily, block: np.ndarray, context: WidthContext) -> float:
    return kernel.heuristic(block)


def _empirical_rule(kernel: KernelFamily, block: np.ndarray, context: WidthContext) -> float:
    # Zhang et al.'s reference code: a width that shrinks with n, scaled by the conditioning-set
    # dimension for the conditional test and by the block dimension for the unconditional one.
    if not isinstance(kernel, GaussianKernel):
        raise TypeError(f"The 'empirical' width rule is defined for Gaussian kernels only. Got {kernel!r}.")
    n = context.n
    if context.dim_z:
        base = 1.2 if n < 200 else 0.7 if n < 1200 else 0.4
        return base * np.sqrt(context.dim_z)
    base = 0.8 if n < 200 else 0.5 if n < 1200 else 0.3
    return base / np.sqrt(block.shape[1])


def _kta_rule(kernel: KernelFamily, block: np.ndarray, context: WidthContext) -> float:
    target = block if context.target is None else context.target
    return kta_parameter(kernel, block, target)


#: Width (kernel parameter) rules by name: ``rule(kernel, block (n, d), context) -> parameter``.
WIDTH_RULES: dict[str, Callable[[KernelFamily, np.ndarray, WidthContext], float]] = {
    "median": _median_rule,
    "empirical": _empirical_rule,
    "kta": _kta_rule,
}


def pivoted_cholesky(kernel: KernelFamily, block: np.ndarray, parameter: float, *, tol: float,
                     max_rank: int) -> np.ndarray | None:
    """Low-rank ``L`` (n, r) with ``K ≈ L L^T`` and every residual diagonal entry ``<= tol``.

    Greedy diagonal pivoting; the residual ``K - L L^T`` is positive semi-definite, so its largest
    entry is on the diagonal and the entrywise error is at most ``tol``. Returns None when more than
    ``max_rank`` columns would be needed (the caller then uses a dense factorisation).
    """
    n = block.shape[0]
    residual = kernel.diagonal(block, parameter).astype(np.float64).copy()
    column_of = kernel.column_source(block, parameter)
    factor = np.zeros((n, min(max_rank, n)))
    for rank in range(min(max_rank, n) + 1):
        pivot = int(np.argmax(residual))
        if residual[pivot] <= tol:
            return factor[:, :rank]
        if rank == min(max_rank, n):
            return None
        column = np.array(column_of(pivot), dtype=np.float64)
        column -= factor[:, :rank] @ factor[pivot, :rank]
        column /= np.sqrt(residual[pivot])
        factor[:, rank] = column
        residual -= column * column
        residual[pivot] = 0.0
    return factor
