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

__all__ = ["FisherZ"]


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
            raise ValueError(f"Fisher-z needs n - |Z| - 3 >= 1 samples. Got n={n} with |Z|={len(query.z)}.")

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
            raise ValueError(f"Fisher-z needs n - |Z| - 3 >= 1 samples. Got n={state.n} with |Z|={size}.")
        if size == 0:
            r = state.correlation[index[:, 0], index[:, 1]]
        else:
            sub = state.correlation[index[:, :, None], index[:, None, :]]
            try:
                precision = np.linalg.inv(sub)
            except np.linalg.LinAlgError:
                raise ValueError("The correlation matrix of a Fisher-z query is singular (collinear or "
                                 "duplicated columns); Fisher-z cannot be used on this data.") from None
            r = -precision[:, 0, 1] / np.sqrt(np.abs(precision[:, 0, 0] * precision[:, 1, 1]))
        # |r| may reach 1 for deterministic relations; keep the statistic finite.
        r = np.clip(r, -1 + np.finfo(float).eps, 1 - np.finfo(float).eps)
        z = np.sqrt(state.n - size - 3) * np.abs(np.arctanh(r))
        return z, np.clip(2.0 * stats.norm.sf(z), 0.0, 1.0)
