"""Fisher's z test of zero partial correlation (Gaussian / linear CI test).

The partial correlation of X and Y given Z is read off the inverse of the correlation submatrix
over (X, Y, Z); ``sqrt(n - |Z| - 3) * atanh(r)`` is standard normal under ``X ⊥ Y | Z`` for
Gaussian data (Fisher 1921, 1924). All queries of one conditioning-set size are solved as one
batched matrix inversion; the few whose submatrix is ill-conditioned (near-collinear columns, where
the inverse of correlations loses accuracy as ``eps * cond``) are recomputed from a QR factorisation of
their centred data columns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from latentscm.discovery.ci_tests.base import CIQuery, CIResult, CITest, register_ci_test
from latentscm.exceptions import TooFewSamplesError

__all__ = ["FisherZ", "partial_correlations"]


@dataclass
class _FisherZState:
    correlation: np.ndarray  # (d, d)
    n: int
    data: np.ndarray  # (n, d), the bound (read-only) data, for ill-conditioned queries


@register_ci_test("fisherz")
class FisherZ(CITest):
    """Fisher-z partial-correlation test; x and y are single columns.

    The statistic is ``|z| = sqrt(n - |Z| - 3) |atanh(r)|``; the p-value is two-sided.
    """

    name = "fisherz"
    multivariate = False
    indexed = True

    def _check_query(self, query: CIQuery, data: np.ndarray) -> None:
        n = data.shape[0]
        if n - len(query.z) - 3 < 1:
            raise TooFewSamplesError("Fisher-z", n, len(query.z), 3)

    def _prepare(self, data: np.ndarray) -> _FisherZState:
        std = data.std(axis=0)
        if np.any(std == 0):
            constant = np.flatnonzero(std == 0).tolist()
            raise ValueError(f"Fisher-z cannot use constant columns {constant}: their correlation is "
                             "undefined.")
        return _FisherZState(np.corrcoef(data, rowvar=False).reshape(data.shape[1], data.shape[1]),
                             data.shape[0], data)

    def _compute(self, state: _FisherZState, queries: Sequence[CIQuery]) -> list[CIResult]:
        by_size: dict[int, list[int]] = defaultdict(list)
        for position, query in enumerate(queries):
            by_size[len(query.z)].append(position)
        results: list[CIResult | None] = [None] * len(queries)
        for positions in by_size.values():
            index = np.array([queries[p].columns for p in positions], dtype=np.intp)  # (m, size+2)
            z, p = self._indexed(state, index)
            for k, position in enumerate(positions):
                results[position] = CIResult(float(z[k]), float(p[k]))
        return results  # type: ignore[return-value]

    def _indexed(self, state: _FisherZState, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Statistics and p-values (m,) for queries given as rows ``(x, y, *z)`` of an int array
        (m, 2 + |Z|): the partial correlations of all m queries come from one batched inversion of
        correlation submatrices, with no pass over the data except for ill-conditioned submatrices."""
        size = index.shape[1] - 2
        if state.n - size - 3 < 1:
            raise TooFewSamplesError("Fisher-z", state.n, size, 3)
        if size == 0:
            r = state.correlation[index[:, 0], index[:, 1]]
        else:
            r = partial_correlations(state.correlation, index, "Fisher-z", data=state.data)
        # |r| may reach 1 for deterministic relations; keep the statistic finite.
        r = np.clip(r, -1 + np.finfo(float).eps, 1 - np.finfo(float).eps)
        z = np.sqrt(state.n - size - 3) * np.abs(np.arctanh(r))
        return z, np.clip(2.0 * stats.norm.sf(z), 0.0, 1.0)


#: Largest variance-inflation factor ``P_ii = 1 / (1 - R_i^2)`` (a diagonal entry of the inverse correlation
#: submatrix; the submatrix's condition number is at least the largest one) up to which the batched inverse is
#: trusted. Forming correlations squares the conditioning of the data, so the inverse's partial correlation errs by
#: about ``0.1 eps VIF`` (measured: 6e-13 at VIF 2e4, 7e-9 at 2e8); above 1e4 a query is recomputed by a QR
#: factorisation of its centred data columns, whose error grows only as ``eps sqrt(VIF)``. PC on random
#: linear-Gaussian DAGs (d = 50..200, expected degree 3..10) sent no query past 1e4 (benchmarks/
#: bench_partial_correlation.py), so the batched path keeps its speed.
_ILL_CONDITIONED = 1e4

#: Residual norm of a unit-norm centred column (x or y on Z; a Z column on the Z columns before it) below which the
#: column counts as an exact linear function of them: a noise standard deviation of 1e-10 of the column's, as for
#: the time-series designs (``_series._NOISELESS``). Float64 rounding of an exact relation leaves ~1e-16; at noise
#: 1e-8 the QR path's r is still within 5e-10 of exact. Relations exact only up to coarser rounding (float32 data,
#: large offsets) leave more and are tested as noise.
_EXACT = 1e-10

#: Largest number of data values gathered at once by the QR path (chunks of queries of one size).
_QR_CHUNK = 2_000_000


def partial_correlations(correlation: np.ndarray, index: np.ndarray, owner: str, *, data: np.ndarray) -> np.ndarray:
    """Partial correlations (m,) of ``x`` and ``y`` given ``Z`` for queries given as rows ``(x, y, *z)`` of an
    int array (m, 2 + |Z|), from one batched inversion of the correlation submatrices (d, d) -> (m, k, k).

    ``data`` (n, d) is the matrix ``correlation`` was computed from. A query whose submatrix is ill-conditioned
    (some variance-inflation factor above ``_ILL_CONDITIONED``, or the inverse fails) is not trusted to the inverse:
    it is recomputed by a QR factorisation of its centred, scaled data columns (:func:`_qr_partial_correlations`),
    which gives ``|r| = 1`` when the residuals of x and y on Z are exactly collinear, and raises ValueError naming the
    columns when the conditioning columns are collinear or x or y is a linear function of them (the partial
    correlation is undefined; "exact" means a residual standard deviation of at most ``_EXACT`` of the column's).
    """
    sub = correlation[index[:, :, None], index[:, None, :]]
    try:
        precision = np.linalg.inv(sub)
    except np.linalg.LinAlgError:  # one exactly singular submatrix fails the whole batch: invert one by one
        precision = np.full_like(sub, np.nan)
        for k in range(sub.shape[0]):
            try:
                precision[k] = np.linalg.inv(sub[k])
            except np.linalg.LinAlgError:
                pass
    diagonal = np.diagonal(precision, axis1=1, axis2=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = -precision[:, 0, 1] / np.sqrt(diagonal[:, 0] * diagonal[:, 1])
    # NaN fails both comparisons; a diagonal below 1 (impossible for a positive definite correlation) is rounding
    ill = ~np.all((diagonal > 0.5) & (diagonal <= _ILL_CONDITIONED), axis=1) | ~np.isfinite(r)
    rows = np.flatnonzero(ill)
    if rows.size:
        r[rows] = _qr_partial_correlations(data, index[rows], owner)
    return r


def _qr_partial_correlations(data: np.ndarray, index: np.ndarray, owner: str) -> np.ndarray:
    """Partial correlations (m,) for query rows ``(x, y, *z)`` (m, k) by least squares on the data: a batched QR
    of each query's centred unit-norm columns (n, k) ordered ``(Z, x, y)`` gives the regression coefficients of x
    and y on Z (``|R_jj|`` is the residual norm of column j on the columns before it, which tells collinear Z),
    and the residuals are formed explicitly: both are orthogonal to Z, so an error in the coefficients changes
    their correlation only to second order. ValueError when the partial correlation is undefined."""
    m, k = index.shape
    order = np.concatenate([index[:, 2:], index[:, :2]], axis=1)  # (m, k): Z first, then x, y
    out = np.empty(m)
    step = max(1, _QR_CHUNK // (data.shape[0] * k))
    for begin in range(0, m, step):
        block = np.moveaxis(data[:, order[begin:begin + step]], 0, 1)  # (b, n, k)
        block = block - block.mean(axis=1, keepdims=True)
        block -= block.mean(axis=1, keepdims=True)  # a second pass removes the rounding of the first mean
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        residual = block[:, :, k - 2:]  # (b, n, 2)
        z_diag = np.zeros((len(block), 0))
        if k > 2:
            factor = np.linalg.qr(block, mode="r")  # (b, k, k)
            z_diag = np.abs(np.diagonal(factor, axis1=1, axis2=2))[:, :k - 2]
            for b in np.flatnonzero(np.any(z_diag <= _EXACT, axis=1)):  # before the solve, which they would break
                _raise_undefined(z_diag[b], np.ones(2), index[begin + b], owner)
            beta = np.linalg.solve(factor[:, :k - 2, :k - 2], factor[:, :k - 2, k - 2:])  # (b, k - 2, 2)
            residual = residual - block[:, :, :k - 2] @ beta
        res_x, res_y = np.ascontiguousarray(residual[:, :, 0]), np.ascontiguousarray(residual[:, :, 1])  # (b, n)
        # one summation for the three sums: identical residuals give r = 1 exactly
        sxx, syy, sxy = np.sum(res_x * res_x, axis=1), np.sum(res_y * res_y, axis=1), np.sum(res_x * res_y, axis=1)
        norms = np.sqrt(np.stack([sxx, syy], axis=1))  # (b, 2)
        for b in np.flatnonzero(np.any(~(norms > _EXACT), axis=1)):
            _raise_undefined(z_diag[b], norms[b], index[begin + b], owner)
        out[begin:begin + len(block)] = np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0)
    return out


def _raise_undefined(z_diag: np.ndarray, norms: np.ndarray, row: np.ndarray, owner: str) -> None:
    """ValueError for a query ``(x, y, *z)`` whose partial correlation is undefined: ``z_diag`` (|Z|,) holds the
    residual norms of the Z columns on the ones before them, ``norms`` (2,) those of x and y on Z."""
    x, y, z = int(row[0]), int(row[1]), [int(c) for c in row[2:]]
    if np.any(z_diag <= _EXACT):
        raise ValueError(f"{owner} cannot test columns {x} and {y} given columns {z}: the conditioning columns are "
                         "collinear (one is a linear function of the others). Drop the redundant columns.")
    column = x if not norms[0] > _EXACT else y
    raise ValueError(f"{owner} cannot test columns {x} and {y} given columns {z}: column {column} is a linear "
                     "function of the conditioning columns, so their partial correlation is undefined "
                     "(collinear or duplicated columns). Drop the redundant columns.")
