"""ParCorr: the partial-correlation CI test with the Student-t null, as used by PCMCI.

The partial correlation ``r`` of X and Y given Z (the correlation of their least-squares residuals on
Z with an intercept, read here off the inverse of the correlation submatrix, or for ill-conditioned
submatrices off a QR factorisation of the centred data columns) gives
``t = r sqrt(nu / (1 - r^2))`` with ``nu = n - 2 - |Z|`` degrees of freedom, t-distributed under
``X ⊥ Y | Z`` for Gaussian data (the exact finite-sample null of the partial correlation; Fisher-z
is its large-sample approximation). Runge et al. (2019), Sci. Adv. 5, eaau4996, use this test
("ParCorr") for linear PCMCI. Queries of one conditioning-set size are solved as one batched
inversion. Identical columns give ``|r| = 1`` (p = 0); a query whose partial correlation is undefined (x or y a
linear function of Z, or collinear Z, to a residual standard deviation of 1e-10 of the column's) raises ValueError
naming the columns. Registered as ``"parcorr"`` in the CI-test registry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from latentscm.discovery.ci_tests import CIQuery, CIResult, CITest, ci_test_names, register_ci_test
from latentscm.discovery.ci_tests.fisher_z import partial_correlations
from latentscm.exceptions import TooFewSamplesError

__all__ = ["ParCorr"]


@dataclass
class _ParCorrState:
    correlation: np.ndarray  # (d, d)
    n: int
    data: np.ndarray  # (n, d), the bound (read-only) data, for ill-conditioned queries


class ParCorr(CITest):
    """Partial-correlation t-test; x and y are single columns. ``statistic`` is the signed partial
    correlation; the p-value is two-sided."""

    name = "parcorr"
    multivariate = False

    def _check_query(self, query: CIQuery, data: np.ndarray) -> None:
        n = data.shape[0]
        if n - len(query.z) - 2 < 1:
            raise TooFewSamplesError("ParCorr", n, len(query.z), 2)

    def _prepare(self, data: np.ndarray) -> _ParCorrState:
        std = data.std(axis=0)
        if np.any(std == 0):
            raise ValueError(f"ParCorr cannot use constant columns {np.flatnonzero(std == 0).tolist()}.")
        d = data.shape[1]
        return _ParCorrState(np.corrcoef(data, rowvar=False).reshape(d, d), data.shape[0], data)

    def _compute(self, state: _ParCorrState, queries: Sequence[CIQuery]) -> list[CIResult]:
        by_size: dict[int, list[int]] = defaultdict(list)
        for position, query in enumerate(queries):
            by_size[len(query.z)].append(position)
        results: list[CIResult | None] = [None] * len(queries)
        for size, positions in by_size.items():
            index = np.array([queries[p].columns for p in positions], dtype=np.intp)
            r = partial_correlations(state.correlation, index, "ParCorr", data=state.data)  # ValueError if undefined
            r = np.clip(r, -1.0, 1.0)
            dof = state.n - 2 - size
            with np.errstate(divide="ignore"):
                t = np.where(np.abs(r) < 1, r * np.sqrt(dof / np.maximum(1 - r * r, 1e-300)), np.inf * np.sign(r))
            p = 2.0 * stats.t.sf(np.abs(t), dof)
            for k, position in enumerate(positions):
                results[position] = CIResult(float(r[k]), float(min(max(p[k], 0.0), 1.0)))
        return results  # type: ignore[return-value]


if "parcorr" not in ci_test_names():  # the registry may gain its own ParCorr; never register twice
    register_ci_test("parcorr")(ParCorr)
