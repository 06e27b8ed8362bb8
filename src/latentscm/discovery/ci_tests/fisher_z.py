"""Fisher's z test of zero partial correlation (Gaussian / linear CI test).

The partial correlation of X and Y given Z is read off the inverse of the correlation submatrix
over (X, Y, Z); ``sqrt(n - |Z| - 3) * atanh(r)`` is standard normal under ``X ⊥ Y | Z`` for
Gaussian data (Fisher 1921, 1924). All queries of one conditioning-set size are solved as one
batched matrix inversion.
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
                             data.shape[0])

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
        correlation submatrices, with no pass over the data."""
        size = index.shape[1] - 2
        if state.n - size - 3 < 1:
            raise TooFewSamplesError("Fisher-z", state.n, size, 3)
        if size == 0:
            r = state.correlation[index[:, 0], index[:, 1]]
        else:
            r = partial_correlations(state.correlation, index, "Fisher-z")
        # |r| may reach 1 for deterministic relations; keep the statistic finite.
        r = np.clip(r, -1 + np.finfo(float).eps, 1 - np.finfo(float).eps)
        z = np.sqrt(state.n - size - 3) * np.abs(np.arctanh(r))
        return z, np.clip(2.0 * stats.norm.sf(z), 0.0, 1.0)


#: Share of a variable's variance left unexplained by the other variables of a query (``1 / P_ii`` of the
#: inverse correlation submatrix) below which the submatrix counts as singular: exact collinearity leaves
#: ~1e-16 after rounding (the inverse then "succeeds" with meaningless entries); 1e-12 is a noise standard
#: deviation of 1e-6 of the column's.
_SINGULAR = 1e-12


def partial_correlations(correlation: np.ndarray, index: np.ndarray, owner: str) -> np.ndarray:
    """Partial correlations (m,) of ``x`` and ``y`` given ``Z`` for queries given as rows ``(x, y, *z)`` of an
    int array (m, 2 + |Z|), from one batched inversion of the correlation submatrices (d, d) -> (m, k, k).

    A (near-)singular submatrix is not trusted to the inverse: such a query is recomputed from the
    conditioning set (:func:`_singular_partial_correlation`), which gives ``|r| = 1`` when the residuals of
    x and y on Z are exactly collinear, and raises ValueError naming the columns when the conditioning
    columns are collinear or x or y is a linear function of them (the partial correlation is undefined).
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
    diagonal = np.abs(np.diagonal(precision, axis1=1, axis2=2))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = -precision[:, 0, 1] / np.sqrt(diagonal[:, 0] * diagonal[:, 1])
        singular = ~np.all(np.isfinite(precision), axis=(1, 2)) | np.any(1.0 / diagonal <= _SINGULAR, axis=1)
    for k in np.flatnonzero(singular):
        r[k] = _singular_partial_correlation(correlation, index[k], owner)
    return r


def _singular_partial_correlation(correlation: np.ndarray, row: np.ndarray, owner: str) -> float:
    """The partial correlation of one query ``(x, y, *z)`` whose correlation submatrix is singular, through the
    conditional covariance of (x, y) given Z; ValueError when it is undefined."""
    x, y, z = int(row[0]), int(row[1]), [int(c) for c in row[2:]]
    pair = correlation[np.ix_([x, y], [x, y])]
    if z:
        try:
            z_precision = np.linalg.inv(correlation[np.ix_(z, z)])
        except np.linalg.LinAlgError:
            z_precision = None
        if z_precision is None or np.any(1.0 / np.abs(np.diagonal(z_precision)) <= _SINGULAR):
            raise ValueError(f"{owner} cannot test columns {x} and {y} given columns {z}: the conditioning columns are "
                             "collinear (one is a linear function of the others). Drop the redundant columns.")
        cross = correlation[np.ix_([x, y], z)]
        pair = pair - cross @ z_precision @ cross.T  # covariance of (x, y) given Z, in correlation units
    for column, variance in zip((x, y), np.diagonal(pair)):
        if variance <= _SINGULAR:
            raise ValueError(f"{owner} cannot test columns {x} and {y} given columns {z}: column {column} is a linear "
                             "function of the conditioning columns, so their partial correlation is undefined "
                             "(collinear or duplicated columns). Drop the redundant columns.")
    return float(np.clip(pair[0, 1] / np.sqrt(pair[0, 0] * pair[1, 1]), -1.0, 1.0))
