"""The conditional Gaussian (CG) BIC: a local score for data mixing continuous and categorical columns.

Andrews, Ramsey & Cooper (2018), "Scoring Bayesian networks of mixed variables", International Journal of Data
Science and Analytics 6. A set S of columns, split into categorical ones D and continuous ones C (k = |C|), is
modelled as conditional Gaussian: the configurations of D (cells) are multinomial and, within a cell, C is
multivariate normal with the cell's own mean and covariance. Its maximised log-likelihood is

    ll(S) = sum_cells [ n_a log(n_a / n)  -  n_a / 2 (k log(2 pi) + log det Sigma_a + k) ]

(Sigma_a the maximum-likelihood covariance of C in cell a, with n_a rows), with

    dof(S) = (q - 1) + q (k + k (k + 1) / 2)

free parameters, q the number of possible cells (the product of D's levels). The local score of node i with
parents P is the log-likelihood of i given P under that model, ``ll(P + i) - ll(P)``, penalised like the BIC:

    s(i, P) = ll(P + i) - ll(P) - penalty_discount / 2 * (dof(P + i) - dof(P)) * log n.

For a continuous i this is a regression of i on P's continuous columns within each cell of P's categorical ones;
for a categorical i with continuous parents it is the paper's device of dividing the joint by the marginal (the
class probabilities of i given P follow from Gaussians within the cells of i and P's categories, a quadratic
discriminant). All continuous: the linear-Gaussian BIC (:class:`~latentscm.discovery.scores.GaussianBIC` plus a
constant per node, ``-n/2 log(2 pi)`` and the penalty of the intercept, which no search sees); all categorical: the
multinomial BIC.

**Cells too small to estimate.** A cell with fewer than ``k + min_extra_rows`` rows (``min_extra_rows`` default
4) gives no usable covariance, so, as Tetrad's implementation does, the log-likelihoods of a local score are taken
over the rows of the cells of ``P + i`` large enough (both terms on the same rows; a coarser partition's cells are
then large enough too). Unlike Tetrad, the difference is scaled by ``n / rows`` (the conditional log-likelihood per
row, times n), so that scores of parent sets that keep different rows compare on one scale. No row left, or a
singular covariance (a deterministic relation): ``-inf``, never adopted. (The paper's other remedy, discretising the
continuous parents of a categorical child, is not implemented.) Cells never observed add nothing to the
log-likelihood but count in ``dof``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_number
from latentscm.discovery.ci_tests.discrete import encode_categories
from latentscm.discovery.scores import LocalScore

__all__ = ["ConditionalGaussianBIC", "mixed_table"]

_LOG_2PI = float(np.log(2 * np.pi))


def mixed_table(data: Any, node_names: Sequence[str] | None, discrete: Iterable[str | int], owner: str
                ) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """A mixed table as floats (n, d) (categorical columns re-coded to 0 .. L-1), its names, and the categorical
    mask (d,) bool. ``discrete`` names the categorical columns (by name or position); text is allowed there."""
    from latentscm.discovery.pc import as_data_matrix

    if hasattr(data, "columns") and hasattr(data, "to_numpy") and node_names is None:
        node_names = [str(c) for c in data.columns]
        columns = [data[c].to_numpy() for c in data.columns]
    elif isinstance(data, dict):
        if node_names is not None:
            raise TypeError(f"{owner}: 'node_names' cannot be combined with a mapping of named columns.")
        node_names = [str(k) for k in data]
        columns = [np.asarray(v) for v in data.values()]
    else:
        array = np.asarray(data)
        if array.ndim != 2:
            raise ValueError(f"The 'data' argument of {owner} must be 2-D (n, d). Got shape {array.shape}.")
        columns = [array[:, j] for j in range(array.shape[1])]
    d = len(columns)
    names = tuple(node_names) if node_names is not None else tuple(f"X{i}" for i in range(d))
    if len(names) != d:
        raise ValueError(f"The 'node_names' argument of {owner} has {len(names)} names for {d} columns.")
    if isinstance(discrete, (str, bytes)):
        raise TypeError(f"The 'discrete' score option of {owner} must be a list of column names or positions, not "
                        f"one string. Got {discrete!r}; pass [{discrete!r}].")
    mask = np.zeros(d, dtype=bool)
    for item in discrete:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not 0 <= int(item) < d:
                raise ValueError(f"The 'discrete' score option of {owner} names column {item}, outside 0..{d - 1}.")
            mask[int(item)] = True
        elif str(item) in names:
            mask[names.index(str(item))] = True
        else:
            raise ValueError(f"The 'discrete' score option of {owner} names {item!r}, not a column; columns: "
                             f"{', '.join(names)}.")
    out = np.empty((len(columns[0]) if columns else 0, d))
    for j, column in enumerate(columns):
        if mask[j]:
            out[:, j] = encode_categories(column, names[j], owner)[0]
    continuous = [j for j in range(d) if not mask[j]]
    if continuous:
        values, _ = as_data_matrix(np.column_stack([np.asarray(columns[j], dtype=np.float64) for j in continuous]),
                                   [names[j] for j in continuous], owner)
        out[:, continuous] = values
    return out, names, mask


class ConditionalGaussianBIC(LocalScore):
    """Cached CG-BIC local scores (module docstring) of a mixed table.

    Parameters
    ----------
    data: floats (n, d); the categorical columns hold codes 0 .. L-1 (as :func:`mixed_table` gives).
    discrete: bool mask (d,) of the categorical columns.
    penalty_discount: multiplier (> 0) of the BIC penalty; 1 is the usual BIC.
    min_extra_rows: rows beyond k a cell needs for its covariance (>= 1).
    """

    def __init__(self, data: np.ndarray, discrete: np.ndarray, *, penalty_discount: float = 1.0,
                 min_extra_rows: int = 4) -> None:
        super().__init__()
        owner = "ConditionalGaussianBIC"
        self.data = np.asarray(data, dtype=np.float64)
        if self.data.ndim != 2:
            raise ValueError(f"The 'data' argument of {owner} must be 2-D. Got shape {self.data.shape}.")
        self.discrete = np.asarray(discrete, dtype=bool)
        if self.discrete.shape != (self.data.shape[1],):
            raise ValueError(f"The 'discrete' argument of {owner} must be a mask ({self.data.shape[1]},). Got "
                             f"shape {self.discrete.shape}.")
        self.n_samples, self.n_nodes = self.data.shape
        self.penalty_discount = check_number(penalty_discount, "penalty_discount", owner, low=0, low_inclusive=False)
        self.min_extra_rows = int(check_number(min_extra_rows, "min_extra_rows", owner, low=1, integer=True))
        self.codes = np.zeros(self.data.shape, dtype=np.int64)  # the categorical columns re-coded 0 .. L-1
        for j in np.flatnonzero(self.discrete):
            self.codes[:, j] = np.unique(self.data[:, j], return_inverse=True)[1].reshape(-1)
        self.levels = np.where(self.discrete, self.codes.max(axis=0) + 1, 1) if self.n_samples else np.ones(
            self.n_nodes, dtype=np.int64)
        self._penalty = 0.5 * self.penalty_discount * np.log(self.n_samples)
        self._cells: dict[int, np.ndarray] = {}
        self._supports: dict[int, np.ndarray] = {}
        self._joint: dict[tuple[int, int], tuple[float, float]] = {}

    def _split(self, mask: int) -> tuple[list[int], list[int]]:
        columns = [j for j in range(self.n_nodes) if mask >> j & 1]
        return [j for j in columns if self.discrete[j]], [j for j in columns if not self.discrete[j]]

    def cells(self, mask: int) -> np.ndarray:
        """The cell (configuration of the categorical columns of ``mask``) of each row, ids 0 .. (n,)."""
        found = self._cells.get(mask)
        if found is None:
            cats, _ = self._split(mask)
            if not cats:
                found = np.zeros(self.n_samples, dtype=np.int64)
            elif float(np.prod(self.levels[cats].astype(np.float64))) < 2.0 ** 62:  # one mixed-radix integer per row
                key = np.zeros(self.n_samples, dtype=np.int64)
                for j in cats:
                    key = key * int(self.levels[j]) + self.codes[:, j]
                found = np.unique(key, return_inverse=True)[1].reshape(-1)
            else:
                found = np.unique(self.codes[:, cats], axis=0, return_inverse=True)[1].reshape(-1)
            self._cells[mask] = found
        return found

    def support(self, mask: int) -> np.ndarray:
        """The rows (bool (n,)) in cells of ``mask`` with at least k + ``min_extra_rows`` rows (k: its continuous
        columns; every row when k = 0)."""
        found = self._supports.get(mask)
        if found is None:
            _, conts = self._split(mask)
            cell = self.cells(mask)
            found = (np.bincount(cell)[cell] >= len(conts) + self.min_extra_rows if conts
                     else np.ones(self.n_samples, dtype=bool))
            self._supports[mask] = found
        return found

    def joint(self, mask: int, support: int | None = None) -> tuple[float, float]:
        """``(ll(S), dof(S))`` of the column set S (bit mask) on the rows of ``support(support)`` (default: S's own);
        ll is ``-inf`` when no row is left or a cell's covariance is singular."""
        support = mask if support is None else support
        key = (mask, support)
        found = self._joint.get(key)
        if found is not None:
            return found
        cats, conts = self._split(mask)
        k = len(conts)
        q = float(np.prod(self.levels[cats].astype(np.float64))) if cats else 1.0
        dof = (q - 1.0) + q * (k + k * (k + 1) / 2)
        rows = self.support(support)
        n = int(rows.sum())
        result = (-np.inf, dof)
        if n:
            cell = np.unique(self.cells(mask)[rows], return_inverse=True)[1].reshape(-1)
            counts = np.bincount(cell)
            ll = float(np.sum(counts * np.log(counts / n))) if cats else 0.0
            if k:
                values = self.data[np.ix_(rows, conts)]
                values = values - values.mean(axis=0)  # centred once, for the accuracy of the moments below
                m = counts.size
                means = np.stack([np.bincount(cell, weights=values[:, j], minlength=m) for j in range(k)], 1)
                means /= counts[:, None]
                second = np.zeros((m, k, k))
                for i in range(k):
                    for j in range(i, k):
                        second[:, i, j] = second[:, j, i] = np.bincount(cell, weights=values[:, i] * values[:, j],
                                                                        minlength=m)
                covariances = second / counts[:, None, None] - means[:, :, None] * means[:, None, :]
                sign, logdet = np.linalg.slogdet(covariances)  # every cell at once (m, k, k)
                if np.any(sign <= 0) or not np.all(np.isfinite(logdet)):
                    ll = -np.inf
                else:
                    ll -= 0.5 * float(np.sum(counts * (k * _LOG_2PI + logdet + k)))
            result = (ll, dof)
        self._joint[key] = result
        return result

    def _compute(self, node: int, parents: list[int], mask: int) -> float:
        family = mask | (1 << node)
        ll_with, dof_with = self.joint(family, family)
        ll_without, dof_without = self.joint(mask, family)
        if not np.isfinite(ll_with) or not np.isfinite(ll_without):
            return -np.inf
        rows = int(self.support(family).sum())  # the conditional log-likelihood per row, times n
        return float(self.n_samples / rows * (ll_with - ll_without) - self._penalty * (dof_with - dof_without))
