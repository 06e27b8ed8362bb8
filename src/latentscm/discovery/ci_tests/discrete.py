"""Pearson chi-square and G-square (likelihood-ratio) CI tests for categorical data.

For ``X ⊥ Y | Z`` the rows are split into strata, one per observed configuration of Z, and each
stratum gives an ``|X| x |Y|`` contingency table ``O`` with expected counts under independence
``E[x, y] = O[x, +] O[+, y] / O[+, +]`` (Spirtes, Glymour & Scheines 2000, §5.4.2.1; Agresti 2002,
*Categorical Data Analysis*, §3.2). The statistics sum over strata:

    chi-square:  Σ (O - E)² / E        (cells with E > 0)
    G-square:    2 Σ O ln(O / E)       (cells with O > 0)

and are referred to a chi-square distribution.

**Degrees of freedom for sparse tables.** Strata of Z that never occur are dropped. Within an
occurring stratum ``k``, a level of X (or Y) that does not occur there is a structural zero of that
table: its whole row (column) has ``E = 0`` and carries no evidence, so it contributes no degree of
freedom. With ``r_k`` and ``c_k`` the numbers of levels of X and of Y seen in stratum ``k``,

    df = Σ_k (r_k - 1)(c_k - 1),

and a test with ``df = 0`` returns ``p = 1`` (there is no table left that could show dependence).
This is the reduction of causal-learn's ``chisq``/``gsq`` (our reference, which these tests match
to 1e-6 in p-value); Tsamardinos, Brown & Aliferis (2006, "The max-min hill-climbing Bayesian
network structure learning algorithm", Machine Learning 65) discuss this family of df corrections
for sparse tables and why the unreduced ``(|X| - 1)(|Y| - 1)|Z|`` loses power.

Data are categories: integer codes, integral floats, booleans or text. Levels are re-coded to
``0 .. L - 1`` per column, so only the partition of the rows matters. Floats with a fractional part
are refused (discretise continuous columns first, or use a continuous test such as ``fisherz``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from scipy import stats

from latentscm._validation import check_names
from latentscm.discovery.ci_tests.base import CIQuery, CIResult, CITest, register_ci_test

__all__ = ["ChiSquare", "GSquare", "encode_categories", "encode_table"]

# Above this many cells a dense (strata, |X|, |Y|) count array is replaced by sparse counting.
_DENSE_CELLS = 2_000_000


def encode_categories(values: Any, name: str, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (n,) in ``0 .. L-1`` and the sorted levels (L,) of one categorical column.

    Accepts integers, booleans, integral floats and text (``str``/``bytes``/object arrays of them).
    Raises ValueError naming ``name`` for missing values (NaN, None, empty text), floats with a
    fractional part (continuous data) and columns with a single level.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"The column {name!r} given to {owner} must be 1-D. Got shape {array.shape}.")
    if array.shape[0] == 0:
        raise ValueError(f"The column {name!r} given to {owner} is empty.")
    kind = array.dtype.kind
    if kind in "OUS":
        text = []
        for row, value in enumerate(array.tolist()):
            if value is None or (isinstance(value, float) and not np.isfinite(value)):
                raise ValueError(f"The column {name!r} given to {owner} has a missing value at row {row}.")
            label = value.decode() if isinstance(value, bytes) else str(value)
            label = label.strip()
            if not label:
                raise ValueError(f"The column {name!r} given to {owner} has an empty value at row {row}.")
            text.append(label)
        array = np.asarray(text, dtype=str)
    elif kind == "f":
        finite = np.isfinite(array)
        if not np.all(finite):
            row = int(np.flatnonzero(~finite)[0])
            raise ValueError(f"The column {name!r} given to {owner} contains NaN or infinite values "
                             f"(first at row {row}).")
        fractional = array != np.round(array)
        if np.any(fractional):
            example = float(array[np.flatnonzero(fractional)[0]])
            raise ValueError(f"The column {name!r} given to {owner} holds non-integer values (e.g. {example!r}); "
                             f"{owner} needs categories (integer codes or text). Discretise continuous "
                             "columns first, or use a continuous test such as 'fisherz' or 'kci'.")
    elif kind == "c":
        raise ValueError(f"The column {name!r} given to {owner} is complex; categories must be integers or text.")
    elif kind not in "iub":
        raise TypeError(f"The column {name!r} given to {owner} has unsupported dtype {array.dtype}.")
    levels, codes = np.unique(array, return_inverse=True)
    if levels.size < 2:
        raise ValueError(f"The column {name!r} given to {owner} takes a single value ({levels[0].item()!r}); a "
                         "categorical test needs at least two categories. Drop the column.")
    return codes.reshape(-1).astype(np.int64), levels


def encode_table(data: Any, node_names: Sequence[str] | None, owner: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Categorical data as a float matrix of integer codes (n, d) and column names.

    ``data`` is an array (n, d) (numeric, text or object), a mapping name -> (n,) array, or a pandas
    DataFrame; names default to ``X0, X1, ...``. Every column is checked by :func:`encode_categories`.
    """
    if isinstance(data, Mapping):
        if node_names is not None:
            raise TypeError(f"{owner}: 'node_names' cannot be combined with a mapping of named columns.")
        names = tuple(str(k) for k in data)
        columns = [np.asarray(v) for v in data.values()]
    else:
        if hasattr(data, "columns") and hasattr(data, "to_numpy") and node_names is None:
            node_names = [str(c) for c in data.columns]
            data = data.to_numpy()
        array = np.asarray(data)
        if array.ndim != 2:
            raise ValueError(f"The 'data' argument of {owner} must be 2-D (n, d). Got shape {array.shape}.")
        d = array.shape[1]
        names = (tuple(f"X{i}" for i in range(d)) if node_names is None
                 else check_names(node_names, "node_names", owner, size=d))
        columns = [array[:, j] for j in range(d)]
    lengths = {np.shape(c)[0] if np.ndim(c) else -1 for c in columns}
    if len(lengths) > 1:
        raise ValueError(f"The columns of 'data' given to {owner} have different lengths {sorted(lengths)}.")
    if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"The column names given to {owner} must be unique non-empty strings. Got {list(names)}.")
    if not columns:
        raise ValueError(f"The 'data' argument of {owner} has no columns.")
    n_rows = lengths.pop()
    if n_rows < 2:
        raise ValueError(f"The 'data' argument of {owner} needs at least 2 rows. Got {n_rows}.")
    codes = [encode_categories(column, name, owner)[0] for column, name in zip(columns, names)]
    return np.stack(codes, axis=1).astype(np.float64), names


@dataclass
class _ContingencyState:
    codes: np.ndarray  # int64 (n, d), column j in 0 .. cardinality[j] - 1
    cardinality: np.ndarray  # int64 (d,)
    joint: OrderedDict = field(default_factory=OrderedDict)  # column tuple -> (codes (n,), levels)
    capacity: int = 64


class _ContingencyTest(CITest):
    """Shared machinery of the chi-square and G-square tests (see the module docstring)."""

    #: Data must be categorical: callers (``pc``, the CLI) encode text columns before binding.
    discrete: ClassVar[bool] = True
    multivariate = True
    _likelihood_ratio: ClassVar[bool] = False

    def test(self, x: Any, y: Any, z: Any = None) -> CIResult:
        """Test ``x ⊥ y | z`` on categorical arrays (n,) or (n, k): integer codes or text."""
        owner = f"{type(self).__name__}.test"
        blocks = [None if block is None else self._encode_block(block, label, owner)
                  for block, label in ((x, "x"), (y, "y"), (z, "z"))]
        return super().test(*blocks)

    @staticmethod
    def _encode_block(value: Any, label: str, owner: str) -> np.ndarray:
        array = np.asarray(value)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise ValueError(f"The {label!r} argument of {owner} must be 1-D or 2-D. Got shape {array.shape}.")
        columns = [encode_categories(array[:, k], label if array.shape[1] == 1 else f"{label}[:, {k}]",
                                     owner)[0] for k in range(array.shape[1])]
        return np.stack(columns, axis=1).astype(np.float64)

    def _prepare(self, data: np.ndarray) -> _ContingencyState:
        owner = type(self).__name__
        fractional = data != np.round(data)
        if np.any(fractional):
            column = int(np.flatnonzero(fractional.any(axis=0))[0])
            raise ValueError(f"Column {column} of the data bound to {owner} holds non-integer values; {owner} "
                             "needs categories (integer codes or text, encoded with encode_table).")
        codes = np.empty(data.shape, dtype=np.int64)
        cardinality = np.empty(data.shape[1], dtype=np.int64)
        for j in range(data.shape[1]):
            levels, codes[:, j] = np.unique(data[:, j], return_inverse=True)
            cardinality[j] = levels.size
            if levels.size < 2:
                raise ValueError(f"Column {j} of the data bound to {owner} takes a single value; a categorical "
                                 "test needs at least two categories. Drop the column.")
        # Joint codes of column sets (conditioning sets recur across a PC level): bounded memory.
        capacity = max(8, int(64 * 2**20 / (8 * max(1, data.shape[0]))))
        return _ContingencyState(codes, cardinality, capacity=capacity)

    def _joint(self, state: _ContingencyState, columns: tuple[int, ...]) -> tuple[np.ndarray, int]:
        """Codes (n,) of the joint configuration of ``columns`` (compact, observed ones only)."""
        if len(columns) == 1:
            return state.codes[:, columns[0]], int(state.cardinality[columns[0]])
        if columns in state.joint:
            state.joint.move_to_end(columns)
            return state.joint[columns]
        if not columns:
            value = (np.zeros(state.codes.shape[0], dtype=np.int64), 1)
        else:
            combined = np.zeros(state.codes.shape[0], dtype=np.int64)
            size = 1
            for column in columns:
                card = int(state.cardinality[column])
                if size * card >= 2**62:  # keep the mixed-radix index in int64
                    _, combined = np.unique(combined, return_inverse=True)
                    size = int(combined.max()) + 1
                combined = combined * card + state.codes[:, column]
                size *= card
            levels, combined = np.unique(combined, return_inverse=True)
            value = (combined.reshape(-1).astype(np.int64), int(levels.size))
        state.joint[columns] = value
        while len(state.joint) > state.capacity:
            state.joint.popitem(last=False)
        return value

    def _compute(self, state: _ContingencyState, queries: Sequence[CIQuery]) -> list[CIResult]:
        # Grouping by conditioning set keeps its stratum codes in the cache.
        order = sorted(range(len(queries)), key=lambda k: (queries[k].z, queries[k].x, queries[k].y))
        results: list[CIResult | None] = [None] * len(queries)
        for k in order:
            q = queries[k]
            x, cx = self._joint(state, q.x)
            y, cy = self._joint(state, q.y)
            s, cs = self._joint(state, q.z)
            statistic, df = self._statistic(x, cx, y, cy, s, cs)
            p = 1.0 if df == 0 else float(stats.chi2.sf(statistic, df))
            results[k] = CIResult(float(statistic), min(max(p, 0.0), 1.0))
        return results  # type: ignore[return-value]

    def _statistic(self, x: np.ndarray, cx: int, y: np.ndarray, cy: int, s: np.ndarray,
                   cs: int) -> tuple[float, int]:
        """(statistic, degrees of freedom) summed over the strata ``s`` (all observed)."""
        if cs * cx * cy <= _DENSE_CELLS:
            table = np.bincount((s * cx + x) * cy + y, minlength=cs * cx * cy).reshape(cs, cx, cy)
            table = table.astype(np.float64)
            row = table.sum(axis=2)  # (cs, cx)
            col = table.sum(axis=1)  # (cs, cy)
            size = row.sum(axis=1)  # (cs,), > 0: strata are observed configurations
            expected = row[:, :, None] * col[:, None, :] / size[:, None, None]
            if self._likelihood_ratio:
                seen = table > 0
                statistic = 2.0 * float(np.sum(table[seen] * np.log(table[seen] / expected[seen])))
            else:
                positive = expected > 0
                statistic = float(np.sum((table[positive] - expected[positive]) ** 2 / expected[positive]))
            df = int(np.sum((np.count_nonzero(row, axis=1) - 1) * (np.count_nonzero(col, axis=1) - 1)))
            return statistic, df
        # Sparse counting: only the occupied cells, margins from the rows directly.
        cells, counts = np.unique((s * cx + x) * cy + y, return_counts=True)
        sx_keys, sx_counts = np.unique(s * cx + x, return_counts=True)
        sy_keys, sy_counts = np.unique(s * cy + y, return_counts=True)
        size = np.bincount(s, minlength=cs).astype(np.float64)
        cell_s, rest = np.divmod(cells, cx * cy)
        cell_x, cell_y = np.divmod(rest, cy)
        n_x = sx_counts[np.searchsorted(sx_keys, cell_s * cx + cell_x)].astype(np.float64)
        n_y = sy_counts[np.searchsorted(sy_keys, cell_s * cy + cell_y)].astype(np.float64)
        observed = counts.astype(np.float64)
        expected = n_x * n_y / size[cell_s]
        if self._likelihood_ratio:
            statistic = 2.0 * float(np.sum(observed * np.log(observed / expected)))
        else:
            # Σ (O - E)²/E over all cells = Σ_{O>0} O²/E - N, because Σ E = Σ O = N in each stratum.
            statistic = max(0.0, float(np.sum(observed * observed / expected) - s.shape[0]))
        rows = np.bincount(sx_keys // cx, minlength=cs)
        cols = np.bincount(sy_keys // cy, minlength=cs)
        return statistic, int(np.sum((rows - 1) * (cols - 1)))


@register_ci_test("chisq")
class ChiSquare(_ContingencyTest):
    """Pearson's chi-square test of conditional independence for categorical data.

    Statistic ``Σ (O - E)² / E`` over the strata of Z; degrees of freedom reduced for levels absent
    from a stratum (module docstring). x, y and z may span several columns (joint categories).
    """

    name = "chisq"


@register_ci_test("gsq")
class GSquare(_ContingencyTest):
    """G-square (likelihood-ratio) test of conditional independence for categorical data.

    Statistic ``2 Σ O ln(O / E)`` over the strata of Z; degrees of freedom as for :class:`ChiSquare`.
    """

    name = "gsq"
    _likelihood_ratio = True
