"""RCIT and RCoT: fast kernel CI tests with random Fourier features, for large n.

Strobl, Zhang & Visweswaran (2019), "Approximate kernel-based conditional independence tests for
fast non-parametric causal discovery", Journal of Causal Inference 7(1). Gaussian kernels are
replaced by ``m`` random Fourier features (Rahimi & Recht 2007) ``sqrt(2) cos(v W / sigma + b)``;
the features of X and Y are residualised on those of Z by (ridge) linear regression and the
statistic is ``n |Cov(res_X, res_Y)|_F^2``. Under the null it is a weighted sum of chi-squared(1)
variables whose weights are the eigenvalues of the covariance of the products
``res_X[t] ⊗ res_Y[t]``; the tail is approximated by moment matching (:data:`NULL_APPROXIMATIONS`:
Hall–Buckley–Eagleson three moments, the default, or Satterthwaite–Welch / gamma two moments).

RCoT uses the features of X; RCIT those of ``Ẍ = (X, Z)``, as KCI does. Cost per test is
O(n m_Z^2), linear in n.

Two choices differ from the authors' R code (and causal-learn's port): the covariance of the products
whose eigenvalues weight the null is centred and divided by n - 1 (theirs: uncentred, divided by n),
and the kernel width is the median distance over a strided subsample of at most 500 rows (theirs: the
first 500 rows, which depends on the row order). Under the null both covariances estimate the same
matrix; not measured against theirs, whose random features come from R's global RNG.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import linalg, stats

from latentscm._validation import check_choice, check_number
from latentscm.discovery.ci_tests.base import CIQuery, CIResult, CITest, register_ci_test
from latentscm.discovery.ci_tests.kci import gamma_p_value
from latentscm.discovery.kernels import median_distance, standardize

__all__ = ["NULL_APPROXIMATIONS", "RCIT", "RCoT", "hbe_p_value"]


def hbe_p_value(statistic: float, weights: np.ndarray) -> float:
    """``P(sum_i w_i chi2_1 > statistic)`` by the Hall–Buckley–Eagleson three-moment approximation."""
    weights = weights[weights > 0]
    if weights.size == 0:
        return 1.0
    k1 = weights.sum()
    k2 = 2.0 * np.sum(weights**2)
    k3 = 8.0 * np.sum(weights**3)
    dof = 8.0 * k2**3 / k3**2
    return float(stats.chi2.sf(dof + (statistic - k1) * np.sqrt(2.0 * dof / k2), dof))


def _gamma_weights_p_value(statistic: float, weights: np.ndarray) -> float:
    weights = weights[weights > 0]
    return gamma_p_value(statistic, float(weights.sum()), float(2.0 * np.sum(weights**2)))


#: Tail approximations of a weighted sum of chi-squared(1) variables, by name.
NULL_APPROXIMATIONS: dict[str, Callable[[float, np.ndarray], float]] = {
    "hbe": hbe_p_value,
    "gamma": _gamma_weights_p_value,
}


@dataclass
class _RCoTState:
    data: np.ndarray  # standardised (n, d)
    features: dict[Any, np.ndarray] = field(default_factory=dict)
    solves: dict[Any, Any] = field(default_factory=dict)


@register_ci_test("rcot")
class RCoT(CITest):
    """Randomized conditional correlation test (Strobl et al. 2019).

    Parameters
    ----------
    n_features: random Fourier features for X and for Y (5 in the paper).
    n_features_z: random Fourier features for Z (100 in the paper).
    approximation: null tail approximation, a key of :data:`NULL_APPROXIMATIONS`.
    ridge: ridge added to the Z feature covariance.
    seed: seed of the random features; each variable set draws its own features from
        ``(seed, its columns)``, so results do not depend on the order of queries.
    """

    name = "rcot"
    augment_x = False

    def __init__(self, *, n_features: int = 5, n_features_z: int = 100, approximation: str = "hbe",
                 ridge: float = 1e-10, seed: int = 0):
        super().__init__()
        owner = type(self).__name__
        self.n_features = int(check_number(n_features, "n_features", owner, low=1, integer=True))
        self.n_features_z = int(check_number(n_features_z, "n_features_z", owner, low=1, integer=True))
        self.approximation = check_choice(approximation, "approximation", owner, NULL_APPROXIMATIONS)
        self.ridge = check_number(ridge, "ridge", owner, low=0)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise TypeError(f"The 'seed' parameter of {owner} must be a non-negative int. Got {seed!r}.")
        self.seed = int(seed)

    def _check_query(self, query: CIQuery, data: np.ndarray) -> None:
        if data.shape[0] < 10:
            raise ValueError(f"{type(self).__name__} needs at least 10 samples. Got {data.shape[0]}.")

    def _prepare(self, data: np.ndarray) -> _RCoTState:
        return _RCoTState(standardize(data))

    # ------------------------------------------------------------------ features
    def _features(self, state: _RCoTState, role: int, columns: tuple[int, ...], count: int) -> np.ndarray:
        key = (role, columns, count)
        if key not in state.features:
            block = state.data[:, list(columns)]
            width = median_distance(block, max_points=500)
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(role, *columns)))
            weights = rng.normal(size=(block.shape[1], count)) / width
            phases = rng.uniform(0.0, 2.0 * np.pi, size=count)
            state.features[key] = standardize(np.sqrt(2.0) * np.cos(block @ weights + phases))
        return state.features[key]

    def _z_solver(self, state: _RCoTState, z: tuple[int, ...]) -> tuple[np.ndarray, Any]:
        if z not in state.solves:
            fz = self._features(state, 2, z, self.n_features_z)
            n = fz.shape[0]
            covariance = fz.T @ fz / (n - 1) + self.ridge * np.eye(fz.shape[1])
            state.solves[z] = (fz, linalg.cho_factor(covariance + 1e-12 * np.eye(fz.shape[1])))
        return state.solves[z]

    def _residual(self, state: _RCoTState, f: np.ndarray, z: tuple[int, ...]) -> np.ndarray:
        if not z:
            return f - f.mean(axis=0)
        fz, factor = self._z_solver(state, z)
        n = f.shape[0]
        coefficients = linalg.cho_solve(factor, fz.T @ f / (n - 1))
        return f - fz @ coefficients

    # ------------------------------------------------------------------ test
    def _compute(self, state: _RCoTState, queries: Sequence[CIQuery]) -> list[CIResult]:
        return [self._one(state, q) for q in queries]

    def _one(self, state: _RCoTState, q: CIQuery) -> CIResult:
        x_columns = (*q.x, *q.z) if (self.augment_x and q.z) else q.x
        fx = self._features(state, 0, x_columns, self.n_features)
        fy = self._features(state, 1, q.y, self.n_features)
        rx, ry = self._residual(state, fx, q.z), self._residual(state, fy, q.z)
        n = rx.shape[0]
        covariance = rx.T @ ry / (n - 1)
        statistic = float(n * np.sum(covariance**2))
        products = (rx[:, :, None] * ry[:, None, :]).reshape(n, -1)
        products -= products.mean(axis=0)
        weights = np.linalg.eigvalsh(products.T @ products / (n - 1))
        return CIResult(statistic, NULL_APPROXIMATIONS[self.approximation](statistic, weights))


@register_ci_test("rcit")
class RCIT(RCoT):
    """Randomized conditional independence test (Strobl et al. 2019): RCoT on ``Ẍ = (X, Z)``."""

    name = "rcit"
    augment_x = True
