"""A likelihood-ratio CI test for mixed continuous / categorical data under the conditional Gaussian model.

Andrews, Ramsey & Cooper (2018, "Scoring Bayesian networks of mixed variables", §6) turn the conditional Gaussian
(CG) log-likelihood of :mod:`latentscm.discovery.conditional_gaussian` into a CI test: with ``J(S)`` the maximised
CG log-likelihood of a column set S and ``K(S)`` its number of parameters,

    LR = 2 [J(X + Y + Z) - J(Y + Z) - J(X + Z) + J(Z)],    df = K(X + Y + Z) - K(Y + Z) - K(X + Z) + K(Z),

the log-likelihood of X given Y and Z against X given Z alone, which is symmetric in X and Y. Under ``X ⊥ Y | Z``
it is asymptotically chi-square with df degrees of freedom. All continuous: the partial-correlation
likelihood-ratio test (``-n log(1 - r^2)``, one df per pair of columns); all categorical: the G-square test without
its sparse-table df reduction.

Which columns are categorical: ``categorical="auto"`` takes every column whose values are all integers with at most
``max_levels`` (default 5) distinct values, so a count or a rating with few values is read as categorical: name the
categorical columns (a list of positions) when that is wrong. Codes are re-made 0 .. L-1.
The four log-likelihoods are taken on the same rows: those in cells of X + Y + Z with at least k + ``min_extra_rows``
rows (k: the continuous columns), as Tetrad's CG likelihood leaves small cells out. A query with no such row, or a
singular covariance, is not estimable and answers p = 1: no evidence of dependence, as a chi-square test with no
degrees of freedom left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from latentscm._validation import check_number
from latentscm.discovery.ci_tests.base import CIQuery, CIResult, CITest, register_ci_test
from latentscm.discovery.conditional_gaussian import ConditionalGaussianBIC

__all__ = ["ConditionalGaussianLRT"]


def _mask(columns: Sequence[int]) -> int:
    out = 0
    for c in columns:
        out |= 1 << int(c)
    return out


@register_ci_test("cg_lrt")
class ConditionalGaussianLRT(CITest):
    """Likelihood-ratio test of ``X ⊥ Y | Z`` under the conditional Gaussian model (module docstring).

    Parameters
    ----------
    categorical: ``"auto"`` or the categorical columns of the data bound, by position, or by name through pc, fci,
        rfci and gfci (data are numbers: categorical columns hold integer codes).
    max_levels: with ``"auto"``, the most distinct integer values a categorical column may take (>= 2).
    min_extra_rows: rows beyond k a cell needs for its covariance (>= 1).
    """

    name = "cg_lrt"

    def __init__(self, categorical: str | Sequence[int | str] = "auto", max_levels: int = 5,
                 min_extra_rows: int = 4) -> None:
        super().__init__()
        owner = "ConditionalGaussianLRT"
        if isinstance(categorical, str):
            if categorical != "auto":
                raise ValueError(f"The 'categorical' argument of {owner} must be 'auto' or a list of column "
                                 f"positions. Got {categorical!r}.")
        else:
            categorical = [c if isinstance(c, str) else int(check_number(c, "categorical", owner, low=0, integer=True))
                           for c in categorical]
        self.categorical = categorical
        self.max_levels = int(check_number(max_levels, "max_levels", owner, low=2, integer=True))
        self.min_extra_rows = int(check_number(min_extra_rows, "min_extra_rows", owner, low=1, integer=True))

    def for_names(self, names: Sequence[str]) -> ConditionalGaussianLRT:
        """This test with the column names in ``categorical`` turned into positions among ``names`` (the searches
        call it once they know the data's names); itself when there are none."""
        if isinstance(self.categorical, str) or not any(isinstance(c, str) for c in self.categorical):
            return self
        unknown = [c for c in self.categorical if isinstance(c, str) and c not in names]
        if unknown:
            raise ValueError(f"The 'categorical' argument of ConditionalGaussianLRT names {unknown}, not columns of "
                             f"the data; columns: {', '.join(names)}.")
        positions = [list(names).index(c) if isinstance(c, str) else c for c in self.categorical]
        return ConditionalGaussianLRT(categorical=positions, max_levels=self.max_levels,
                                      min_extra_rows=self.min_extra_rows)

    def categorical_mask(self, data: np.ndarray) -> np.ndarray:
        """The categorical columns (bool (d,)) of a data matrix (n, d) under this test's rule."""
        data = np.asarray(data, dtype=np.float64)
        d = data.shape[1]
        if self.categorical == "auto":
            mask = np.array([bool(np.all(data[:, j] == np.round(data[:, j])))
                             and np.unique(data[:, j]).size <= self.max_levels for j in range(d)], dtype=bool)
        else:
            named = [c for c in self.categorical if isinstance(c, str)]
            if named:
                raise ValueError(f"The 'categorical' argument of ConditionalGaussianLRT names columns {named} by name; "
                                 "names work through pc, fci, rfci and gfci (which know the data's column names), "
                                 "or give positions.")
            bad = [c for c in self.categorical if c >= d]
            if bad:
                raise ValueError(f"The 'categorical' argument of ConditionalGaussianLRT names columns {bad}, outside "
                                 f"the data's 0..{d - 1}.")
            mask = np.zeros(d, dtype=bool)
            mask[list(self.categorical)] = True
            fractional = [int(j) for j in np.flatnonzero(mask) if np.any(data[:, j] != np.round(data[:, j]))]
            if fractional:
                raise ValueError(f"The 'categorical' argument of ConditionalGaussianLRT names columns {fractional}, "
                                 "which hold non-integer values; categorical columns need integer codes.")
        return mask

    def _prepare(self, data: np.ndarray) -> Any:
        return ConditionalGaussianBIC(np.asarray(data, dtype=np.float64), self.categorical_mask(data),
                                      min_extra_rows=self.min_extra_rows)

    def _compute(self, state: Any, queries: Sequence[CIQuery]) -> list[CIResult]:
        results = []
        for q in queries:
            z, x, y = _mask(q.z), _mask(q.x), _mask(q.y)
            parts = [state.joint(m, x | y | z) for m in (x | y | z, y | z, x | z, z)]  # on the same rows
            ll = [p[0] for p in parts]
            if not all(np.isfinite(v) for v in ll):
                results.append(CIResult(0.0, 1.0))
                continue
            statistic = max(0.0, 2.0 * (ll[0] - ll[1] - ll[2] + ll[3]))
            df = parts[0][1] - parts[1][1] - parts[2][1] + parts[3][1]
            p_value = float(stats.chi2.sf(statistic, df)) if df > 0 else 1.0
            results.append(CIResult(float(statistic), p_value))
        return results
