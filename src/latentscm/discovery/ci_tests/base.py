"""The one interface every conditional-independence (CI) test implements, and its memo cache.

A CI test answers ``X ⊥ Y | Z ?`` with a :class:`CIResult` (statistic and p-value). Two ways in:

* ``test.test(x, y, z=None)`` on arrays (n,) or (n, d) — the public, array-level call;
* ``test.bind(data)`` on a data matrix (n, d): a :class:`BoundCITest` whose queries are column
  indices. Constraint-based search (PC, CD-NOD) uses this path: per-data precomputations (kernel
  matrices, correlation matrices, conditioning-set factorisations) are made once and reused, and
  the tests of one search level are handed over together (:meth:`BoundCITest.test_many`) so that a
  test can batch its linear algebra.

Results are memoised under a canonical key — X and Y sorted, the conditioning set sorted and
de-duplicated — inside a session that is itself keyed by a content hash of the data
(``blake2b`` of the raw bytes, shape and dtype). Different data can never share a cache entry, which
``md5(str(array))``-style keys (numpy elides large arrays in ``str``) cannot promise.
"""

from __future__ import annotations

import hashlib
import inspect
import math
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from latentscm._params import params_from_signature, params_repr
from latentscm._registry import Registry
from latentscm._validation import check_array

__all__ = [
    "REGISTRY",
    "BoundCITest",
    "CIQuery",
    "CIResult",
    "CITest",
    "ci_test_names",
    "content_hash",
    "make_ci_test",
    "register_ci_test",
]


def content_hash(array: np.ndarray) -> str:
    """A hex digest of an array's dtype, shape and raw bytes (C order)."""
    contiguous = np.ascontiguousarray(array)
    digest = hashlib.blake2b(digest_size=20)
    digest.update(str(contiguous.dtype).encode())
    digest.update(repr(contiguous.shape).encode())
    digest.update(contiguous.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class CIResult:
    """Outcome of one CI test: the test statistic and its p-value under ``X ⊥ Y | Z``."""

    statistic: float
    p_value: float

    def independent(self, alpha: float) -> bool:
        """Whether independence is *not* rejected at level ``alpha`` (``p_value > alpha``)."""
        return self.p_value > alpha


@dataclass(frozen=True, order=True)
class CIQuery:
    """A canonical CI query over column indices: ``x < y`` (as sorted tuples), ``z`` sorted.

    Build with :meth:`make`, which sorts, de-duplicates and checks the sets are disjoint.
    """

    x: tuple[int, ...]
    y: tuple[int, ...]
    z: tuple[int, ...] = ()

    @classmethod
    def make(cls, x: int | Iterable[int], y: int | Iterable[int],
             z: int | Iterable[int] | None = None) -> CIQuery:
        xs, ys = _as_index_tuple(x, "x"), _as_index_tuple(y, "y")
        zs = () if z is None else _as_index_tuple(z, "z")
        if not xs or not ys:
            raise ValueError(f"A CI query needs non-empty x and y. Got x={xs}, y={ys}.")
        overlap = (set(xs) & set(ys)) | ((set(xs) | set(ys)) & set(zs))
        if overlap:
            raise ValueError(f"The x, y and z sets of a CI query must be disjoint. Got x={xs}, y={ys}, "
                             f"z={zs} (shared: {sorted(overlap)}).")
        if ys < xs:
            xs, ys = ys, xs
        return cls(xs, ys, zs)

    @property
    def columns(self) -> tuple[int, ...]:
        return (*self.x, *self.y, *self.z)


def _as_index_tuple(value: int | Iterable[int], name: str) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),)
    try:
        items = [int(v) for v in value]  # type: ignore[union-attr]
    except TypeError as error:
        raise TypeError(f"The {name!r} part of a CI query must be a column index or a sequence of "
                        f"them. Got {value!r}.") from error
    return tuple(sorted(set(items)))


class CITest(ABC):
    """Base class of conditional-independence tests.

    Subclasses set ``name`` (the registry key), take their hyperparameters as keyword arguments of
    ``__init__`` and store each unchanged under its own name (so :meth:`get_params` reads them off
    the signature), and implement :meth:`_prepare` (per-data state) and
    :meth:`_compute` (a batch of canonical queries on that state).
    """

    name: ClassVar[str] = "citest"
    #: Whether x and y may each span several columns (Fisher-z needs one column each).
    multivariate: ClassVar[bool] = True
    #: Whether the test needs categorical data (integer codes or text, see ``encode_table``).
    discrete: ClassVar[bool] = False
    #: Whether the test implements ``_indexed(state, index)`` (arrays in, arrays out, no memo):
    #: the fast path of PC on many variables.
    indexed: ClassVar[bool] = False
    #: Bound sessions kept per test object (most recently used data matrices).
    max_sessions: ClassVar[int] = 4

    def __init__(self) -> None:
        self._sessions: OrderedDict[str, BoundCITest] = OrderedDict()

    # ------------------------------------------------------------------ public API
    def test(self, x: Any, y: Any, z: Any = None) -> CIResult:
        """Test ``x ⊥ y | z`` on arrays of shape (n,) or (n, d) with a common n."""
        owner = f"{type(self).__name__}.test"
        blocks = [_as_block(x, "x", owner), _as_block(y, "y", owner)]
        z_block = None if z is None else _as_block(z, "z", owner)
        n = blocks[0].shape[0]
        for name, block in (("y", blocks[1]), ("z", z_block)):
            if block is not None and block.shape[0] != n:
                raise ValueError(f"The {name!r} argument of {owner} has {block.shape[0]} rows but 'x' has "
                                 f"{n}; all arguments need the same number of samples.")
        # Order x and y by content so that test(x, y) and test(y, x) are the same query even for
        # tests that treat the two sides differently (RCIT augments one side with z).
        if content_hash(blocks[1]) < content_hash(blocks[0]):
            blocks.reverse()
        parts = [*blocks] + ([z_block] if z_block is not None and z_block.shape[1] else [])
        data = np.concatenate(parts, axis=1)
        dx, dy = blocks[0].shape[1], blocks[1].shape[1]
        query = CIQuery.make(range(dx), range(dx, dx + dy), range(dx + dy, data.shape[1]))
        return self.bind(data).test_query(query)

    def bind(self, data: Any) -> BoundCITest:
        """A session over a data matrix (n, d) whose queries are column indices (memoised)."""
        array = check_array(data, "data", f"{type(self).__name__}.bind", ndim=2, min_rows=2)
        key = content_hash(array)
        session = self._sessions.get(key)
        if session is None:
            session = BoundCITest(self, array, key)
            self._sessions[key] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        else:
            self._sessions.move_to_end(key)
        return session

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments read from the signature (scikit-learn's rule: each is stored as an
        attribute of the same name), so that ``type(t)(**t.get_params())`` rebuilds the test."""
        return params_from_signature(self)

    def __repr__(self) -> str:
        try:
            return params_repr(self, self.get_params())
        except TypeError:  # a test that does not follow the contract still gets a repr (errors print it)
            return f"{type(self).__name__}(...)"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_sessions"] = OrderedDict()  # caches are not worth pickling (process pools)
        return state

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _prepare(self, data: np.ndarray) -> Any:
        """Per-data state (standardised columns, caches) for a data matrix (n, d)."""

    @abstractmethod
    def _compute(self, state: Any, queries: Sequence[CIQuery]) -> list[CIResult]:
        """Results for canonical, validated queries (in order)."""

    def _check_query(self, query: CIQuery, data: np.ndarray) -> None:
        """Extra per-test validation (sample size, dimensions); raise ValueError."""
        return None


def _as_block(value: Any, name: str, owner: str) -> np.ndarray:
    array = check_array(value, name, owner, min_rows=2)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"The {name!r} argument of {owner} must be 1-D or 2-D. Got shape {array.shape}.")
    return array


@dataclass
class BoundCITest:
    """A CI test bound to one data matrix (n, d); queries are column indices, results memoised.

    Counters ``n_computed`` and ``n_cached`` tell how many queries ran and how many were served from
    the memo (useful in benchmarks).
    """

    test: CITest
    data: np.ndarray
    data_hash: str
    n_computed: int = 0
    n_cached: int = 0
    _memo: dict[CIQuery, CIResult] = field(default_factory=dict, repr=False)
    _state: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.data = np.array(self.data, dtype=np.float64, copy=True)
        self.data.setflags(write=False)

    @property
    def n_samples(self) -> int:
        return self.data.shape[0]

    @property
    def n_columns(self) -> int:
        return self.data.shape[1]

    def __call__(self, x: int | Iterable[int], y: int | Iterable[int],
                 z: int | Iterable[int] | None = None) -> CIResult:
        """Test columns ``x ⊥ y | z``."""
        return self.test_query(CIQuery.make(x, y, z))

    def p_value(self, x: int | Iterable[int], y: int | Iterable[int],
                z: int | Iterable[int] | None = None) -> float:
        return self(x, y, z).p_value

    def test_query(self, query: CIQuery) -> CIResult:
        return self.test_many([query])[0]

    def test_many(self, queries: Iterable[CIQuery]) -> list[CIResult]:
        """Results for many queries at once; the uncached ones go to the test as one batch."""
        queries = list(queries)
        todo: list[CIQuery] = []
        seen: set[CIQuery] = set()
        for query in queries:
            if query in self._memo:
                self.n_cached += 1
            elif query not in seen:
                self._validate(query)
                seen.add(query)
                todo.append(query)
        if todo:
            if self._state is None:
                self._state = self.test._prepare(self.data)
            results = self.test._compute(self._state, todo)
            for query, result in zip(todo, results):
                _check_result(result, query, self.test)
                self._memo[query] = result
            self.n_computed += len(todo)
        return [self._memo[q] for q in queries]

    @property
    def has_indexed(self) -> bool:
        """Whether the indexed path gives the same answers as ``_compute``: the test declares
        ``indexed`` and no subclass overrides ``_compute`` below the class defining ``_indexed``."""
        if not self.test.indexed:
            return False
        mro = type(self.test).__mro__
        owner_of = {name: next(k for k, c in enumerate(mro) if name in vars(c)) for name in ("_compute", "_indexed")}
        return owner_of["_indexed"] <= owner_of["_compute"]

    def p_values_indexed(self, index: np.ndarray) -> np.ndarray:
        """P-values (m,) of queries given as rows ``(x, y, *z)`` of an int array (m, 2 + |Z|), for
        tests with ``indexed = True``. Not memoised: the caller plans each query once."""
        if not self.has_indexed:
            raise TypeError(f"{type(self.test).__name__} has no indexed (array) interface consistent with "
                            "its _compute.")
        index = np.asarray(index, dtype=np.intp)
        if index.ndim != 2 or index.shape[1] < 2:
            raise ValueError(f"The index of p_values_indexed must have shape (m, 2 + |Z|). Got {index.shape}.")
        if index.size and (index.min() < 0 or index.max() >= self.n_columns):
            raise ValueError(f"p_values_indexed: column indices must lie in 0..{self.n_columns - 1}.")
        ordered = np.sort(index, axis=1)
        repeated = np.flatnonzero(np.any(ordered[:, 1:] == ordered[:, :-1], axis=1))
        if repeated.size:  # as CIQuery.make: x, y and z must be disjoint (the data are not at fault)
            raise ValueError(f"p_values_indexed: row {int(repeated[0])} of the index, {index[repeated[0]].tolist()}, "
                             "names a column twice; x, y and the conditioning set must be disjoint.")
        if self._state is None:
            self._state = self.test._prepare(self.data)
        self.n_computed += index.shape[0]
        return self.test._indexed(self._state, index)[1]

    def cached(self, query: CIQuery) -> CIResult | None:
        return self._memo.get(query)

    def _validate(self, query: CIQuery) -> None:
        d = self.n_columns
        bad = [c for c in query.columns if not 0 <= c < d]
        if bad:
            raise ValueError(f"CI query {query} names columns {bad} outside 0..{d - 1} of the data.")
        if not self.test.multivariate and (len(query.x) != 1 or len(query.y) != 1):
            raise ValueError(f"{type(self.test).__name__} tests one column against one column. "
                             f"Got x={query.x}, y={query.y}.")
        self.test._check_query(query, self.data)


def _check_result(result: CIResult, query: CIQuery, test: CITest) -> None:
    # A failed decomposition must not be silently reported as a p-value (anti-pattern: NaN on
    # linear-algebra errors), so non-finite results are an error here.
    if not (math.isfinite(result.p_value) and 0.0 <= result.p_value <= 1.0):
        raise RuntimeError(f"{type(test).__name__} produced p-value {result.p_value!r} for {query}.")
    if not math.isfinite(result.statistic):
        raise RuntimeError(f"{type(test).__name__} produced statistic {result.statistic!r} for {query}.")


# ---------------------------------------------------------------------- registry
#: The CI-test registry (:class:`latentscm._registry.Registry`): ``REGISTRY.names()``,
#: ``REGISTRY.make("kci", width="kta")``, ``REGISTRY.register("mine", MyTest)``.
REGISTRY = Registry("CI test", "latentscm.discovery.ci_tests.base:CITest")


def register_ci_test(name: str) -> Callable[[type[CITest]], type[CITest]]:
    """Class decorator adding a CI test to the registry under ``name``.

    Raises
    ------
    ValueError
        Another class is already registered under ``name``.
    """

    def decorate(cls: type[CITest]) -> type[CITest]:
        if name in REGISTRY and REGISTRY.get(name) is not cls:
            raise ValueError(f"A CI test named {name!r} is already registered.")
        REGISTRY.register(name, cls)
        return cls

    return decorate


def ci_test_names() -> list[str]:
    """Registered CI test names, sorted (``"fisherz"``, ``"kci"``, ``"rcit"``, ``"rcot"``, ...)."""
    return sorted(REGISTRY.names())


def make_ci_test(ci_test: str | CITest, /, *, owner: str | None = None, **options: Any) -> CITest:
    """A CI test from a registered name (with constructor options) or an instance (returned as is).

    ``owner``: the function whose ``ci_test`` and ``ci_options`` arguments these are, named in errors.

    Raises
    ------
    UnknownNameError
        ``ci_test`` is a name no CI test is registered under (the message lists the valid ones).
    TypeError
        ``ci_test`` is neither a string nor a :class:`CITest`, options came with an instance, or the
        test's constructor does not take them.
    """
    where = f" of {owner}" if owner else ""
    if isinstance(ci_test, CITest):
        if options:
            raise TypeError(f"The 'ci_options' argument{where} can only be given with a CI test name, not with an "
                            f"instance. Got options {sorted(options)} for {ci_test!r}.")
        return ci_test
    if not isinstance(ci_test, str):
        raise TypeError(f"The 'ci_test' argument{where} must be a registered CI test name "
                        f"({', '.join(REGISTRY.names())}) or a CITest instance. Got {ci_test!r}.")
    cls = REGISTRY.get(ci_test)
    try:
        return REGISTRY.make(ci_test, **options)
    except TypeError as error:
        if not options or _takes(cls, options):
            raise
        raise TypeError(f"The 'ci_options' argument{where} does not fit the {ci_test!r} CI test ({cls.__name__}): "
                        f"{error}.") from error


def _takes(cls: type, options: dict[str, Any]) -> bool:
    """Whether ``cls(**options)`` binds (a TypeError raised inside the constructor is then the test's own)."""
    try:
        inspect.signature(cls).bind(**options)
    except TypeError:
        return False
    return True
