"""Stein estimators of the score ``∇ log p(x)`` and of the Hessian of ``log p(x)`` at the sample points.

Li & Turner (2018), "Gradient estimators for implicit models", ICLR: for a kernel ``k`` and samples ``x_1..x_n`` of
``p``, Stein's identity ``E[h(x) ∇ log p(x)ᵀ + ∇h(x)] = 0`` with ``h = k(·, x_m)`` is a linear system in the score
values ``G`` (n, d) at the samples; ridge-regularised, ``G = -(K + η I)^{-1} <∇, K>`` with ``K[m, k] = k(x_m, x_k)``
and ``<∇, K>[m] = Σ_k ∇_{x_k} k(x_k, x_m)``.

Rolland, Cevher, Kleindessner, Russel, Schölkopf, Janzing & Locatello (2022), "Score matching enables causal
discovery of nonlinear additive noise models", ICML, §3.2: the second-order identity gives the Hessian the same
way. Since ``∂_a ∂_b log p = (∂_a ∂_b p) / p - ∂_a log p ∂_b log p``, the estimate is
``H[:, a, b] = -G_a G_b + (K + η_H I)^{-1} Σ_k ∂_a ∂_b k(x_k, ·)``.

The kernel is the paper's Gaussian ``k(x, y) = exp(-|x - y|² / (2 s²)) / s`` with ``s`` the median of all ``n²``
pairwise distances (zeros of the diagonal included), as in the authors' code. The factor ``1 / s`` is not
cosmetic: with the ridge ``η`` it sets the effective regularisation ``η s``. Everything is computed from matrix
products (no (n, n, d) array), and the ridge systems are solved by Cholesky instead of explicit inverses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
from scipy.linalg import cho_factor, cho_solve

from latentscm._validation import check_array, check_number

__all__ = ["DegenerateKernelError", "SteinKernel", "median_bandwidth", "stein_hessian", "stein_hessian_diagonal",
           "stein_score"]


class DegenerateKernelError(ValueError):
    """The kernel cannot be formed or solved at these samples (all rows tied, or a scale far from 1)."""


class SteinKernel(NamedTuple):
    """The Gaussian kernel at the samples and what every Stein estimate reuses.

    x: the samples (n, d); s: the bandwidth; gram: ``K`` (n, n); row_sums: ``K 1`` (n,); k_x: ``K x`` (n, d);
    grad: ``<∇, K>`` (n, d), the sum over samples of the kernel's gradient in its first argument; factors: the
    Cholesky factors of ``K + eta I`` computed so far, by ``eta``.
    """

    x: np.ndarray
    s: float
    gram: np.ndarray
    row_sums: np.ndarray
    k_x: np.ndarray
    grad: np.ndarray
    factors: dict[float, tuple[np.ndarray, bool]]

    def solve(self, eta: float, rhs: np.ndarray) -> np.ndarray:
        """``(K + eta I)^{-1} rhs`` for ``rhs`` (n, k); each ``eta``'s Cholesky factor is computed once."""
        if eta not in self.factors:
            n = self.gram.shape[0]
            try:
                self.factors[eta] = cho_factor(self.gram + eta * np.eye(n), lower=True, check_finite=False)
            except np.linalg.LinAlgError:
                raise DegenerateKernelError(f"the kernel system K + eta I (eta = {eta:g}, bandwidth s = "
                                            f"{self.s:.3g}) is numerically singular: the kernel's entries (1 / s) "
                                            f"dwarf eta. Raise eta or rescale the data to unit spread.") from None
        return cho_solve(self.factors[eta], rhs, check_finite=False)


def median_bandwidth(x: np.ndarray) -> float:
    """The median of the ``n²`` Euclidean distances between the rows of ``x`` (n, d), the diagonal's zeros included."""
    x = np.asarray(x, dtype=float)
    sq = np.sum(x * x, axis=1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0))
    np.fill_diagonal(dist, 0.0)
    return float(np.median(dist))


def _kernel(x: np.ndarray, bandwidth: float | None, owner: str) -> SteinKernel:
    x = check_array(x, "x", owner, ndim=2, min_rows=2)
    if bandwidth is None:
        s = median_bandwidth(x)
        if s <= 0.0:
            raise DegenerateKernelError("more than half of the pairs of rows are equal: the median distance between "
                                     "rows is 0, so the kernel has no bandwidth.")
    else:
        s = float(check_number(bandwidth, "bandwidth", owner, low=0.0, low_inclusive=False))
    sq = np.sum(x * x, axis=1)
    dist2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    np.fill_diagonal(dist2, 0.0)
    gram = np.exp(-dist2 / (2.0 * s * s)) / s
    row_sums = gram.sum(axis=1)
    k_x = gram @ x
    # <∇, K>[m] = Σ_k ∇_{x_k} k(x_k, x_m) = Σ_k (x_m - x_k) k(x_m, x_k) / s² ... with the sign of the identity:
    # G = (K + η I)^{-1} (-(x_m Σ_k K_mk - Σ_k K_mk x_k) / s²).
    grad = -(x * row_sums[:, None] - k_x) / (s * s)
    return SteinKernel(x, s, gram, row_sums, k_x, grad, {})


@contextmanager
def _named(owner: str, argument: str = "x") -> Iterator[None]:
    """Re-raise a DegenerateKernelError as a ValueError naming ``owner``'s ``argument``."""
    try:
        yield
    except DegenerateKernelError as error:
        raise ValueError(f"The '{argument}' argument of {owner}: {error}") from None


def _score(kernel: SteinKernel, eta: float) -> np.ndarray:
    return kernel.solve(eta, kernel.grad)


def stein_score(x: np.ndarray, *, eta: float = 0.001, bandwidth: float | None = None) -> np.ndarray:
    """The Stein gradient estimate (Li & Turner 2018) of ``∇ log p`` at the rows of ``x`` (n, d); returns (n, d).

    eta: the ridge (> 0). bandwidth: the kernel's ``s`` (default: the median distance between rows).
    """
    owner = "stein_score"
    eta = float(check_number(eta, "eta", owner, low=0.0, low_inclusive=False))
    with _named(owner):
        return _score(_kernel(x, bandwidth, owner), eta)


def _hessian_diagonal(kernel: SteinKernel, score: np.ndarray, eta_h: float) -> np.ndarray:
    x, s = kernel.x, kernel.s
    k_x2 = kernel.gram @ (x * x)
    # Σ_k ∂²_a k(x_k, x_m) = Σ_k K_mk (-1/s² + (x_ma - x_ka)² / s⁴)
    second = -kernel.row_sums[:, None] / s ** 2 + (x * x * kernel.row_sums[:, None] - 2.0 * x * kernel.k_x
                                                   + k_x2) / s ** 4
    return -score ** 2 + kernel.solve(eta_h, second)


def stein_hessian_diagonal(x: np.ndarray, *, eta_g: float = 0.001, eta_h: float = 0.001,
                           bandwidth: float | None = None) -> np.ndarray:
    """The Stein estimate (Rolland et al. 2022, eq. 9) of the diagonal ``∂²_a log p`` at the rows of ``x`` (n, d);
    returns (n, d). eta_g, eta_h: the ridges of the score and of the second-order term (> 0)."""
    owner = "stein_hessian_diagonal"
    eta_g = float(check_number(eta_g, "eta_g", owner, low=0.0, low_inclusive=False))
    eta_h = float(check_number(eta_h, "eta_h", owner, low=0.0, low_inclusive=False))
    with _named(owner):
        kernel = _kernel(x, bandwidth, owner)
        return _hessian_diagonal(kernel, _score(kernel, eta_g), eta_h)


def _hessian_column(kernel: SteinKernel, score: np.ndarray, a: int, eta_h: float) -> np.ndarray:
    """``∂_a ∂_b log p`` for every ``b`` at the samples: (n, d)."""
    x, s = kernel.x, kernel.s
    xa = x[:, [a]]
    # Σ_k K_mk (x_ma - x_ka)(x_mb - x_kb) / s⁴, minus δ_ab Σ_k K_mk / s²
    cross = (xa * x * kernel.row_sums[:, None] - xa * kernel.k_x - x * kernel.k_x[:, [a]]
             + kernel.gram @ (xa * x)) / s ** 4
    cross[:, a] -= kernel.row_sums / s ** 2
    return -score[:, [a]] * score + kernel.solve(eta_h, cross)


def stein_hessian(x: np.ndarray, *, eta_g: float = 0.001, eta_h: float = 0.001,
                  bandwidth: float | None = None) -> np.ndarray:
    """The Stein estimate of the whole Hessian of ``log p`` at the rows of ``x`` (n, d); returns (n, d, d),
    ``[m, a, b] = ∂_a ∂_b log p(x_m)``. Symmetric up to the ridge's error (not symmetrised)."""
    owner = "stein_hessian"
    eta_g = float(check_number(eta_g, "eta_g", owner, low=0.0, low_inclusive=False))
    eta_h = float(check_number(eta_h, "eta_h", owner, low=0.0, low_inclusive=False))
    with _named(owner):
        kernel = _kernel(x, bandwidth, owner)
        score = _score(kernel, eta_g)
        return np.stack([_hessian_column(kernel, score, a, eta_h) for a in range(kernel.x.shape[1])], axis=1)
