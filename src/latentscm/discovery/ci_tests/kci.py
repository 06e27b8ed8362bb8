"""KCI: the kernel-based conditional independence test with the gamma approximation.

Zhang, Peters, Janzing & Schölkopf (2011), "Kernel-based conditional independence test and
application in causal discovery", UAI. For ``X ⊥ Y | Z`` with centred Gram matrices ``K_X`` (on
``Ẍ = (X, Z/2)``, the augmentation of the paper with the Z/2 scaling of the authors' code), ``K_Y``
and ``K_Z``, and ``R_Z = ε (K_Z + ε I)^{-1}``:

    T = tr(K̃_X K̃_Y),  K̃ = R_Z K R_Z,
    null ≈ Gamma(k, θ) with mean  Σ_t K̃_X[t, t] K̃_Y[t, t]  and variance  2 Σ_{t,s} (K̃_X[t, s] K̃_Y[t, s])².

The mean and variance are the trace of ``W W^T`` and ``2 |W W^T|_F^2`` for the matrix ``W`` of
products of eigenfunctions of the paper (Prop. 5); written with entrywise products they need no
eigendecomposition. The unconditional test is HSIC with the same gamma approximation (Gretton et
al. 2008, "A kernel statistical test of independence", NeurIPS).

Speed: ``R_Z`` is built from a pivoted-Cholesky factor of ``K_Z`` (O(n r^2), r the numerical rank)
and applied as ``I - Q diag(μ) Q^T`` (O(n^2 r) per kernel), instead of the O(n^3) inverse and the
eigendecompositions of the reference implementation; factors, centred Gram matrices and
residualised Gram matrices are cached per variable set, and the queries of one PC level are
processed grouped by conditioning set. When the Y kernel has a low-rank factor (the usual case for
one-dimensional Y), ``K̃_X`` and ``K̃_Y`` are never formed: the three sums are accumulated in one
blocked pass over the centred ``K_X`` (:func:`_blocked_moments`), and the unconditional test with
low-rank factors on both sides costs O(n r^2). These paths agree with the dense formulas to the
factor's stated error bound (p-values to ~1e-10 in the tests).

Precision: by default (``dtype="float32"``) the O(n^2) work of that blocked conditional path (the
Gram matrix of the augmented X, its centring, ``K_X Q`` and the slabs of :func:`_blocked_moments`)
runs in single precision, which halves its memory traffic and doubles the BLAS rate; every sum over
the n^2 entries, the column means of the centring and all the small (r, r) algebra are accumulated
in double precision. The p-values then agree with ``dtype="float64"`` to 1e-4 (tested on PC levels
at n = 250 to 2000); the dense fallbacks and the low-rank unconditional test always run in double.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from scipy.linalg import blas

from latentscm._validation import check_number
from latentscm.discovery.ci_tests.base import CIQuery, CIResult, CITest, register_ci_test
from latentscm.discovery.kernels import (
    WIDTH_RULES,
    GaussianKernel,
    KernelFamily,
    WidthContext,
    center_gram,
    center_gram_,
    pivoted_cholesky,
    standardize,
)

__all__ = ["KCI", "gamma_p_value"]


def gamma_p_value(statistic: float, mean: float, variance: float) -> float:
    """Upper tail of the gamma distribution with the given mean and variance at ``statistic``."""
    if mean <= 0 or variance <= 0:
        # Degenerate kernels (a constant variable): no evidence against independence.
        return 1.0
    shape = mean * mean / variance
    scale = variance / mean
    return float(stats.gamma.sf(statistic, shape, scale=scale))


class _LRU(OrderedDict):
    """A small least-recently-used cache bounded by a number of entries."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = max(1, capacity)

    def fetch(self, key: Any, make: Any) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        while len(self) > self.capacity:
            self.popitem(last=False)
        return value


@dataclass
class _KCIState:
    data: np.ndarray  # standardised (n, d)
    grams: _LRU
    residuals: _LRU
    factors: _LRU
    widths: dict[Any, float] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.data.shape[0]


@register_ci_test("kci")
class KCI(CITest):
    """Kernel conditional independence test (Zhang et al. 2011) with the gamma approximation.

    Parameters
    ----------
    width: a width rule name (``"empirical"``: the reference implementation's rules, the default and
        causal-learn's default; ``"median"``; ``"kta"``: kernel-target alignment) or one fixed kernel
        parameter (the Gaussian width sigma on standardised data) used for X, Y and Z.
    epsilon: ridge ε of the kernel regression on Z (1e-3 in the reference implementation).
    kernel: the kernel family (default :class:`~latentscm.discovery.kernels.GaussianKernel`).
    rank_tol: residual tolerance of the low-rank factor of ``K_Z``; the p-values agree with the exact
        computation to ~1e-6 at the default.
    cache_mb: memory budget of the per-data caches of Gram matrices.
    dtype: ``"float32"`` (default) or ``"float64"``: the precision of the (n, n) kernel algebra of the
        conditional test (sums always accumulate in double; see the module docstring). float32 is
        about twice as fast and moves p-values by less than 1e-4; float64 reproduces the dense
        formulas to ~1e-6.
    """

    name = "kci"

    def __init__(self, *, width: str | float = "empirical", epsilon: float = 1e-3,
                 kernel: KernelFamily | None = None, rank_tol: float = 1e-9, cache_mb: float = 512.0,
                 dtype: str = "float32"):
        super().__init__()
        owner = type(self).__name__
        if isinstance(width, str):
            if width not in WIDTH_RULES:
                raise ValueError(f"The 'width' parameter of {owner} must be one of "
                                 f"{', '.join(map(repr, WIDTH_RULES))} or a positive float. Got {width!r}.")
        else:
            width = check_number(width, "width", owner, low=0, low_inclusive=False)
        self.width = width
        self.epsilon = check_number(epsilon, "epsilon", owner, low=0, low_inclusive=False)
        if kernel is None:
            kernel = GaussianKernel()
        if not isinstance(kernel, KernelFamily):
            raise TypeError(f"The 'kernel' parameter of {owner} must be a KernelFamily. Got {kernel!r}.")
        self.kernel = kernel
        self.rank_tol = check_number(rank_tol, "rank_tol", owner, low=0, low_inclusive=False)
        self.cache_mb = check_number(cache_mb, "cache_mb", owner, low=0, low_inclusive=False)
        if dtype not in ("float32", "float64"):
            raise ValueError(f"The 'dtype' parameter of {owner} must be 'float32' or 'float64'. Got {dtype!r}.")
        self.dtype = dtype

    # ------------------------------------------------------------------ CITest hooks
    def _check_query(self, query: CIQuery, data: np.ndarray) -> None:
        if data.shape[0] < 5:
            raise ValueError(f"KCI needs at least 5 samples. Got {data.shape[0]}.")

    def _prepare(self, data: np.ndarray) -> _KCIState:
        n = data.shape[0]
        matrices = max(4, int(self.cache_mb * 2**20 / (8.0 * n * n)))
        return _KCIState(standardize(data), _LRU(matrices // 2), _LRU(matrices // 2), _LRU(64))

    def _compute(self, state: _KCIState, queries: Sequence[CIQuery]) -> list[CIResult]:
        # Grouping by conditioning set keeps its factor (and residualised Gram matrices) hot.
        order = sorted(range(len(queries)), key=lambda k: (queries[k].z, queries[k].y, queries[k].x))
        results: list[CIResult | None] = [None] * len(queries)
        for k in order:
            q = queries[k]
            results[k] = self._unconditional(state, q) if not q.z else self._conditional(state, q)
        return results  # type: ignore[return-value]

    # ------------------------------------------------------------------ pieces
    def _parameter(self, state: _KCIState, key: Any, block: np.ndarray, context: WidthContext) -> float:
        if not isinstance(self.width, str):
            return float(self.width)
        if key not in state.widths:
            state.widths[key] = float(WIDTH_RULES[self.width](self.kernel, block, context))
        return state.widths[key]

    def _centered_gram(self, state: _KCIState, key: Any, block: np.ndarray, parameter: float,
                       dtype: type = np.float64) -> np.ndarray:
        def make() -> np.ndarray:
            if dtype is np.float32 and isinstance(self.kernel, GaussianKernel):
                # Distances and exponentials in single precision directly (inputs are standardised).
                gram = self.kernel.gram(block.astype(np.float32), parameter)
            else:
                gram = self.kernel.gram(block, parameter)
            # The Gram matrix is fresh, so it is centred in place (no second (n, n) allocation).
            return center_gram_(np.asarray(gram, dtype=dtype))
        return state.grams.fetch((key, parameter, np.dtype(dtype).name), make)

    def _z_factor(self, state: _KCIState, z: tuple[int, ...],
                  parameter: float) -> tuple[np.ndarray, np.ndarray]:
        """``Q`` (n, r) orthonormal and ``μ`` (r,) with ``I - R_Z = Q diag(μ) Q^T``."""
        def make() -> tuple[np.ndarray, np.ndarray]:
            block = state.data[:, list(z)]
            n = state.n
            factor = pivoted_cholesky(self.kernel, block, parameter, tol=self.rank_tol, max_rank=n // 2)
            if factor is not None:
                factor = factor - factor.mean(axis=0)  # H L: a factor of the centred Gram matrix
                # Eigenpairs of L L^T from the small (r, r) Gram matrix L^T L.
                eigenvalues, small = np.linalg.eigh(factor.T @ factor)
                eigenvalues = np.clip(eigenvalues, 0.0, None)
                keep = eigenvalues > self.rank_tol
                basis = (factor @ small[:, keep]) / np.sqrt(eigenvalues[keep])
                eigenvalues = eigenvalues[keep]
            else:
                gram = center_gram(self.kernel.gram(block, parameter))
                eigenvalues, basis = np.linalg.eigh(gram)
                eigenvalues = np.clip(eigenvalues, 0.0, None)
            shrink = eigenvalues / (eigenvalues + self.epsilon)
            # Directions with μ below rank_tol change R_Z by less than rank_tol (operator norm).
            keep = shrink > self.rank_tol
            return np.ascontiguousarray(basis[:, keep]), shrink[keep]
        return state.factors.fetch((z, parameter), make)

    def _centered_factor(self, block: np.ndarray, parameter: float, n: int) -> np.ndarray | None:
        """``H L`` (n, r) with ``L L^T ≈ K`` by pivoted Cholesky, or None when the rank exceeds n/8.

        Error bound: the residual ``E = K - L L^T`` is positive semi-definite with every diagonal
        entry ``<= rank_tol``, so ``|E|_* = tr E <= n rank_tol``; centring and ``R_Z`` are
        contractions, hence ``|K̃_Y - B B^T|_* <= n rank_tol`` and the statistic moves by at most
        ``n rank_tol |K̃_X|_2`` (about 1e-6 of its size at the default 1e-9).
        """
        factor = pivoted_cholesky(self.kernel, block, parameter, tol=self.rank_tol, max_rank=max(1, n // 8))
        if factor is None:
            return None
        return factor - factor.mean(axis=0)

    def _residualize(self, gram: np.ndarray, basis: np.ndarray, shrink: np.ndarray) -> np.ndarray:
        """``R K R`` with ``R = I - Q diag(μ) Q^T``, as one symmetric rank-2r update in O(n^2 r).

        ``R K R = K - (Q M^T + M Q^T)`` with ``M = K Q diag(μ) - ½ Q diag(μ) Q^T K Q diag(μ)``.
        """
        if basis.shape[1] == 0:
            return gram
        kq = gram @ basis  # (n, r)
        core = (basis.T @ kq) * shrink[:, None] * shrink[None, :]
        update = kq * shrink[None, :] - 0.5 * (basis @ core)
        # gram.T is the same symmetric matrix in Fortran order, which BLAS updates in place.
        upper = blas.dsyr2k(-1.0, basis, update, beta=1.0, c=np.array(gram.T, order="F"), overwrite_c=1)
        # Only the upper triangle was updated; the strict lower one still holds K. With S the result,
        # U + U^T = S + diag(S) + K - diag(K), so S follows in two passes without masks.
        diagonal = np.diagonal(upper).copy()
        out = upper + upper.T
        out -= gram
        np.fill_diagonal(out, diagonal)
        return out

    def _unconditional(self, state: _KCIState, q: CIQuery) -> CIResult:
        bx, by = state.data[:, list(q.x)], state.data[:, list(q.y)]
        partner = (q.x, q.y) if self.width == "kta" else ()  # KTA targets depend on the partner
        px = self._parameter(state, ("x", q.x, (), partner), bx, WidthContext(state.n, 0, by))
        py = self._parameter(state, ("y", q.y, (), partner), by, WidthContext(state.n, 0, bx))
        n = state.n
        fx = state.factors.fetch(("y-factor", q.x, px), lambda: self._centered_factor(bx, px, n))
        fy = state.factors.fetch(("y-factor", q.y, py), lambda: self._centered_factor(by, py, n))
        if fx is not None and fy is not None:
            # K_X = A A^T, K_Y = B B^T (centred, same error bound as _centered_factor): every term is
            # a trace of small (r, r) products, O(n r^2) instead of O(n^2).
            cross = fx.T @ fy
            statistic = float(np.vdot(cross, cross))
            gx, gy = fx.T @ fx, fy.T @ fy
            mean = float(np.trace(gx) * np.trace(gy) / n)
            variance = float(2.0 * np.vdot(gx, gx) * np.vdot(gy, gy) / (n * n))
            return CIResult(statistic, gamma_p_value(statistic, mean, variance))
        kx = self._centered_gram(state, ("plain", q.x), bx, px)
        ky = self._centered_gram(state, ("plain", q.y), by, py)
        statistic = float(np.vdot(kx, ky))
        mean = float(np.trace(kx) * np.trace(ky) / n)
        variance = float(2.0 * np.vdot(kx, kx) * np.vdot(ky, ky) / (n * n))
        return CIResult(statistic, gamma_p_value(statistic, mean, variance))

    def _conditional(self, state: _KCIState, q: CIQuery) -> CIResult:
        n, dz = state.n, len(q.z)
        bz = state.data[:, list(q.z)]
        bx = np.concatenate([state.data[:, list(q.x)], 0.5 * bz], axis=1)
        by = state.data[:, list(q.y)]
        targets = np.concatenate([state.data[:, list(q.x)], by], axis=1)
        partner = (q.x, q.y) if self.width == "kta" else ()  # KTA targets depend on the partner
        px = self._parameter(state, ("x", q.x, q.z, partner), bx, WidthContext(n, dz, by))
        py = self._parameter(state, ("y", q.y, q.z, partner), by, WidthContext(n, dz, bx))
        pz = self._parameter(state, ("z", q.z, partner), bz, WidthContext(n, dz, targets))
        basis, shrink = self._z_factor(state, q.z, pz)
        factor = state.factors.fetch(("y-factor", q.y, py), lambda: self._centered_factor(by, py, n))
        if factor is not None:
            # K̃_Y = B B^T with B = R H L_Y (O(n r_Z r_Y)); K̃_X = K_X - C D^T is never formed whole:
            # both are evaluated block by block in one pass over K_X (see _blocked_moments).
            b = state.residuals.fetch(("y-low-rank", q.y, q.z, py, pz),
                                      lambda: factor - basis @ (shrink[:, None] * (basis.T @ factor)))
            precision = np.float32 if self.dtype == "float32" else np.float64
            kx_centred = self._centered_gram(state, ("aug", q.x, q.z), bx, px, precision)
            left, right = state.factors.fetch(("x-update", q.x, q.z, px, pz, self.dtype),
                                              lambda: self._update_factors(kx_centred, basis, shrink))
            statistic, mean, variance = _blocked_moments(kx_centred, left, right, b)
            return CIResult(statistic, gamma_p_value(statistic, mean, variance))
        kx = state.residuals.fetch(
            ("x", q.x, q.z, px, pz),
            lambda: self._residualize(self._centered_gram(state, ("aug", q.x, q.z), bx, px), basis, shrink))
        ky = state.residuals.fetch(
            ("y", q.y, q.z, py, pz),
            lambda: self._residualize(self._centered_gram(state, ("plain", q.y), by, py), basis, shrink))
        product = kx * ky
        statistic = float(product.sum())
        mean = float(np.dot(np.diagonal(kx), np.diagonal(ky)))
        variance = float(2.0 * np.vdot(product, product))
        return CIResult(statistic, gamma_p_value(statistic, mean, variance))

    @staticmethod
    def _update_factors(gram: np.ndarray, basis: np.ndarray,
                        shrink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``C, D`` (n, 2r) with ``R K R = K - C D^T`` (see :meth:`_residualize`): ``C = [Q, M]``,
        ``D = [M, Q]``; O(n^2 r) once per (x, Z), cached across the y's tested with it.

        ``K Q`` is computed in the precision of ``gram``, the rest in double; ``C`` and ``D`` are
        returned in the precision of ``gram``."""
        kq = (gram @ basis.astype(gram.dtype)).astype(np.float64)
        core = (basis.T @ kq) * shrink[:, None] * shrink[None, :]
        update = kq * shrink[None, :] - 0.5 * (basis @ core)
        return (np.concatenate([basis, update], axis=1).astype(gram.dtype),
                np.concatenate([update, basis], axis=1).astype(gram.dtype))


#: Rows per block of the fused conditional statistic (a (block, n) float64 slab stays in cache).
_BLOCK = 128


def _blocked_moments(gram: np.ndarray, left: np.ndarray, right: np.ndarray,
                     factor: np.ndarray) -> tuple[float, float, float]:
    """Statistic, null mean and variance of KCI for ``K̃_X = gram - left right^T`` and
    ``K̃_Y = factor factor^T``, i.e. ``Σ K̃_X∘K̃_Y``, ``Σ_t K̃_X[t,t] K̃_Y[t,t]`` and
    ``2 Σ (K̃_X∘K̃_Y)^2``, without forming either (n, n) matrix.

    Both matrices are symmetric, so only the block upper triangle is visited (off-diagonal blocks
    count twice): ``n^2 (r_C + r_Y) / 2`` multiply-adds in cache-sized slabs, where the dense path
    allocates and sweeps several (n, n) arrays.

    The slabs are computed in the precision of ``gram`` (``factor`` is cast to it); the sums are
    accumulated in double precision either way.
    """
    n = gram.shape[0]
    factor = factor.astype(gram.dtype, copy=False)
    statistic = mean = squares = 0.0
    for start in range(0, n, _BLOCK):
        stop = min(n, start + _BLOCK)
        width = stop - start
        slab = gram[start:stop, start:] - left[start:stop] @ right[start:].T
        slab *= factor[start:stop] @ factor[start:].T
        inner, outer = slab[:, :width], slab[:, width:]
        # diag(K̃_X) K̃_Y[t, t]: the slab's diagonal holds their product already.
        mean += float(np.trace(inner, dtype=np.float64))
        statistic += float(inner.sum(dtype=np.float64)) + 2.0 * float(outer.sum(dtype=np.float64))
        np.multiply(slab, slab, out=slab)
        squares += float(inner.sum(dtype=np.float64)) + 2.0 * float(outer.sum(dtype=np.float64))
    return statistic, mean, 2.0 * squares
