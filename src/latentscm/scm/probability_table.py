"""Probability tables with named axes, and the helpers shared by the finite-SCM modules.

* :class:`ProbabilityTable` — a joint ``P(A)`` or conditional ``P(A | C, do(D))`` table with named
  axes and state labels; marginals, conditionals and transposes are computed exactly.
* :class:`PositivityError` — raised when a computation conditions on an event of probability zero.

The private helpers here (name and state validation, positivity checks) are shared with
:mod:`latentscm.scm.discrete_scm` and :mod:`latentscm.scm.identification`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Union

import numpy as np

from latentscm.graph import UnknownNodeError
from latentscm.interventions import Do, Intervention

__all__ = ["ProbabilityTable", "PositivityError", "NORMALISATION_ATOL"]

#: Tolerance for "sums to one" checks on CPTs and probability tables.
NORMALISATION_ATOL = 1e-9

Names = Union[str, Sequence[str]]  # noqa: UP007 - module-level aliases are evaluated at runtime
StatesSpec = Union[int, Sequence[Hashable]]  # noqa: UP007


class PositivityError(ValueError):
    """Raised when a computation conditions on an event of probability zero.

    ``variables`` are the conditioning variables and ``configuration`` maps each of them to the
    state label at which the probability is zero.
    """

    def __init__(self, message: str, variables: Sequence[str], configuration: Mapping[str, Any]):
        self.variables = list(variables)
        self.configuration = dict(configuration)
        super().__init__(message)



# ---------------------------------------------------------------------------------- helpers
def _as_names(value: Names | None, what: str, owner: str) -> list[str]:
    """A list of distinct variable names from one name or a sequence of names."""
    if value is None:
        return []
    names = [value] if isinstance(value, str) else list(value)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"The {what!r} argument of {owner} must be a name or a sequence of names. "
                            f"Got {name!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"The {what!r} argument of {owner} names a variable twice: {names}.")
    return names


def _check_disjoint(owner: str, **groups: Sequence[str]) -> None:
    items = list(groups.items())
    for i, (first, a) in enumerate(items):
        for second, b in items[i + 1:]:
            common = [n for n in a if n in set(b)]
            if common:
                raise ValueError(f"In {owner}, {first!r} and {second!r} must not share variables; "
                                 f"both contain {', '.join(map(repr, common))}.")


def _normalise_states(spec: StatesSpec, name: str, owner: str) -> tuple[Hashable, ...]:
    """State labels of one variable from a cardinality or a sequence of labels."""
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if spec < 1:
            raise ValueError(f"Variable {name!r} of {owner} needs at least one state. Got cardinality "
                             f"{spec}.")
        return tuple(range(int(spec)))
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Iterable):
        raise TypeError(f"The states of variable {name!r} of {owner} must be a cardinality (int) or a "
                        f"sequence of labels. Got {spec!r}.")
    labels = tuple(spec)
    if not labels:
        raise ValueError(f"Variable {name!r} of {owner} needs at least one state. Got no labels.")
    try:
        distinct = len(set(labels))
    except TypeError as error:
        raise TypeError(f"The state labels of variable {name!r} of {owner} must be hashable. "
                        f"Got {labels!r}.") from error
    if distinct != len(labels):
        raise ValueError(f"The state labels of variable {name!r} of {owner} must be distinct. "
                         f"Got {labels!r}.")
    return labels


def _state_index(labels: tuple[Hashable, ...], name: str, value: Any, owner: str) -> int:
    """Index of ``value`` among ``labels``: a label, an integer index, or :class:`Do` of either.

    A label always wins; an integer is read as an index only when no label is an integer (so
    ``states=2`` and ``states=("no", "yes")`` both accept ``1``, but labels ``(1, 2)`` do not
    accept ``0``).
    """
    if isinstance(value, Do):
        value = value.value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
    elif isinstance(value, Intervention):
        raise TypeError(f"{owner} supports only hard interventions (a state or Do(state)) on "
                        f"{name!r}. Got {value!r}.")
    try:
        matches = [i for i, label in enumerate(labels) if bool(label == value)]
    except (TypeError, ValueError):  # e.g. an array compared with a label
        matches = []
    if matches:
        return matches[0]
    int_labels = any(isinstance(label, (int, np.integer)) for label in labels)
    if (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and not int_labels
            and 0 <= value < len(labels)):
        return int(value)
    raise _unknown_state(labels, name, value)


def _unknown_state(labels: tuple[Hashable, ...], name: str, value: Any) -> ValueError:
    hint = "" if any(isinstance(label, (int, np.integer)) for label in labels) else \
        f" (or an index 0..{len(labels) - 1})"
    return ValueError(f"Unknown state {value!r} for variable {name!r}. Valid states: "
                      f"{', '.join(map(repr, labels))}{hint}.")


def _first_bad(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _raise_positivity(bad: np.ndarray, names: Sequence[str], states: Mapping[str, tuple],
                      what: str, owner: str) -> None:
    """Raise :class:`PositivityError` if any entry of ``bad`` (axes ``names``) is set."""
    if not np.any(bad):
        return
    index = _first_bad(bad)
    configuration = {n: states[n][i] for n, i in zip(names, index)}
    shown = ", ".join(f"{n}={v!r}" for n, v in configuration.items())
    raise PositivityError(
        f"Positivity violated in {owner}: P({', '.join(names)}) is zero at {shown}, so {what} is "
        f"undefined there ({int(np.count_nonzero(bad))} such configuration(s)).",
        names, configuration)


# ---------------------------------------------------------------------------------- tables
class ProbabilityTable:
    """A probability table with named axes: a joint ``P(A)`` or a conditional ``P(A | C, do(D))``.

    Parameters
    ----------
    values:
        Non-negative array of shape ``(card(v) for v in variables)``.
    variables:
        Axis names, one per axis of ``values``.
    states:
        Optional mapping from each variable to a cardinality or a sequence of state labels;
        defaults to labels ``0 .. card - 1`` read from ``values.shape``.
    given:
        Variables that are conditioned on (observed evidence).
    intervened:
        Variables that are intervened on (``do``).

    For every configuration of the conditioning axes (``given`` and ``intervened``), the values
    summed over the remaining axes must equal 1 (to ``1e-9``).
    """

    __slots__ = ("_values", "_variables", "_states", "_given", "_intervened")

    def __init__(self, values: Any, variables: Sequence[str], states: Mapping[str, StatesSpec] | None = None,
                 *, given: Sequence[str] = (), intervened: Sequence[str] = ()):
        owner = "ProbabilityTable"
        names = _as_names(variables, "variables", owner)
        try:
            array = np.array(values, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"The 'values' argument of {owner} must be a numeric array. "
                            f"Got {type(values).__name__}.") from error
        if array.ndim != len(names):
            raise ValueError(f"{owner} has {len(names)} variable name(s) {names} but values of shape "
                             f"{array.shape}.")
        if states is None:
            state_map = {n: tuple(range(k)) for n, k in zip(names, array.shape)}
        else:
            missing = [n for n in names if n not in states]
            if missing:
                raise ValueError(f"The 'states' argument of {owner} has no entry for "
                                 f"{', '.join(map(repr, missing))}.")
            state_map = {n: _normalise_states(states[n], n, owner) for n in names}
            for axis, n in enumerate(names):
                if len(state_map[n]) != array.shape[axis]:
                    raise ValueError(f"Variable {n!r} has {len(state_map[n])} states but axis {axis} of "
                                     f"the values has length {array.shape[axis]}.")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{owner} values contain NaN or infinite entries (first at index "
                             f"{_first_bad(~np.isfinite(array))}).")
        if np.any(array < 0):
            raise ValueError(f"{owner} values must be non-negative (first negative entry at index "
                             f"{_first_bad(array < 0)}).")
        given_names = _as_names(given, "given", owner)
        intervened_names = _as_names(intervened, "intervened", owner)
        for name in (*given_names, *intervened_names):
            if name not in names:
                raise UnknownNodeError(name, names, what="conditioning variable")
        _check_disjoint(owner, given=given_names, intervened=intervened_names)
        conditioning = {*given_names, *intervened_names}
        summed = tuple(i for i, n in enumerate(names) if n not in conditioning)
        totals = array.sum(axis=summed) if summed else np.ones(())
        bad = np.abs(totals - 1.0) > NORMALISATION_ATOL
        if np.any(bad):
            where = _first_bad(bad) if bad.ndim else ()
            raise ValueError(f"{owner} values must sum to 1 over the non-conditioning axes; the sum is "
                             f"{float(totals[where]):.12g} at conditioning index {where}.")
        array.setflags(write=False)
        self._values = array
        self._variables = tuple(names)
        self._states = state_map
        self._given = tuple(n for n in names if n in set(given_names))
        self._intervened = tuple(n for n in names if n in set(intervened_names))

    # ------------------------------------------------------------------ properties
    @property
    def values(self) -> np.ndarray:
        """Read-only array, one axis per entry of :attr:`variables`."""
        return self._values

    @property
    def variables(self) -> tuple[str, ...]:
        return self._variables

    @property
    def states(self) -> dict[str, tuple[Hashable, ...]]:
        """State labels per variable."""
        return dict(self._states)

    @property
    def given(self) -> tuple[str, ...]:
        return self._given

    @property
    def intervened(self) -> tuple[str, ...]:
        return self._intervened

    @property
    def targets(self) -> tuple[str, ...]:
        """The variables the table is a distribution over (neither given nor intervened)."""
        conditioning = {*self._given, *self._intervened}
        return tuple(n for n in self._variables if n not in conditioning)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._values.shape

    def state_index(self, name: str, state: Any) -> int:
        """Position of ``state`` (label or index) on the axis of ``name``."""
        return _state_index(self._states[self._check_variable(name)], name, state, "ProbabilityTable")

    # ------------------------------------------------------------------ queries
    def value(self, assignment: Mapping[str, Any]) -> float:
        """The probability at a full assignment ``{variable: state}`` of every axis."""
        missing = [n for n in self._variables if n not in assignment]
        extra = [n for n in assignment if n not in self._variables]
        if extra:
            raise UnknownNodeError(extra[0], self._variables, what="variable")
        if missing:
            raise ValueError(f"ProbabilityTable.value needs a state for every variable; missing "
                             f"{', '.join(map(repr, missing))}.")
        return float(self._values[tuple(self.state_index(n, assignment[n]) for n in self._variables)])

    def transpose(self, variables: Sequence[str]) -> ProbabilityTable:
        """The same table with axes in the order ``variables`` (a permutation of :attr:`variables`)."""
        names = _as_names(variables, "variables", "ProbabilityTable.transpose")
        if sorted(names) != sorted(self._variables):
            raise ValueError(f"transpose needs a permutation of {list(self._variables)}. Got {names}.")
        return self._new(self._reduce(names), names, self._given, self._intervened)

    def marginal(self, names: Names) -> ProbabilityTable:
        """Sum out every target variable not in ``names``; conditioning axes are kept (first)."""
        keep = _as_names(names, "names", "ProbabilityTable.marginal")
        for name in keep:
            self._check_variable(name)
        conditioning = [n for n in self._variables if n in {*self._given, *self._intervened}]
        order = conditioning + [n for n in keep if n not in set(conditioning)]
        return self._new(self._reduce(order), order, self._given, self._intervened)

    def conditional(self, targets: Names, given: Names | Mapping[str, Any]) -> ProbabilityTable:
        """``P(targets | given)`` from this table (existing conditioning axes are kept).

        ``given`` is either variable names — the result then has axes ``(*conditioning, *given,
        *targets)`` — or evidence ``{name: state}``, giving axes ``(*conditioning, *targets)``.

        Raises
        ------
        PositivityError
            If the probability of a conditioning configuration is zero.
        """
        owner = "ProbabilityTable.conditional"
        target_names = _as_names(targets, "targets", owner)
        evidence = dict(given) if isinstance(given, Mapping) else None
        given_names = _as_names(list(evidence) if evidence is not None else given, "given", owner)
        if not target_names:
            raise ValueError(f"{owner} needs at least one target variable.")
        for name in (*target_names, *given_names):
            self._check_variable(name)
        conditioning = [n for n in self._variables if n in {*self._given, *self._intervened}]
        _check_disjoint(owner, targets=target_names, given=given_names, conditioning=conditioning)
        order = conditioning + given_names + target_names
        array = self._reduce(order)
        if evidence is not None:
            index = tuple(self.state_index(n, evidence[n]) for n in given_names)
            array = array[(slice(None),) * len(conditioning) + index]
            order = conditioning + target_names
        target_axes = tuple(range(len(order) - len(target_names), len(order)))
        denominator = array.sum(axis=target_axes, keepdims=True)
        denominator_names = order[:len(order) - len(target_names)]
        if evidence is not None and np.any(denominator <= 0):
            shown = ", ".join(f"{n}={evidence[n]!r}" for n in given_names)
            raise PositivityError(f"Positivity violated in {owner}: the evidence {shown} has probability "
                                  f"zero, so P({', '.join(target_names)} | {shown}) is undefined.",
                                  given_names, evidence)
        _raise_positivity(np.squeeze(denominator <= 0, axis=target_axes), denominator_names, self._states,
                          f"P({', '.join(target_names)} | {', '.join(denominator_names)})", owner)
        new_given = [*self._given, *(given_names if evidence is None else ())]
        return self._new(array / denominator, order, new_given, self._intervened)

    def allclose(self, other: ProbabilityTable, *, atol: float = 1e-12) -> bool:
        """Whether ``other`` has the same variables, states and conditioning and values within
        ``atol`` (axes are matched by name, not position)."""
        if not isinstance(other, ProbabilityTable):
            raise TypeError(f"allclose compares two ProbabilityTables. Got {type(other).__name__}.")
        if (set(self._variables) != set(other._variables) or set(self._given) != set(other._given)
                or set(self._intervened) != set(other._intervened)
                or any(self._states[n] != other._states[n] for n in self._variables)):
            return False
        return bool(np.allclose(self._values, other._reduce(self._variables), rtol=0.0, atol=atol))

    # ------------------------------------------------------------------ dunder
    def __repr__(self) -> str:
        return (f"ProbabilityTable({self.label()}, axes={list(self._variables)}, "
                f"values={self._values.tolist()})")

    def label(self) -> str:
        """Readable form such as ``P(cancer | do(smoking))``."""
        parts = list(self._given) + ([f"do({', '.join(self._intervened)})"] if self._intervened else [])
        conditioning = f" | {', '.join(parts)}" if parts else ""
        return f"P({', '.join(self.targets)}{conditioning})"

    # ------------------------------------------------------------------ internals
    def _check_variable(self, name: str) -> str:
        if name not in self._states:
            raise UnknownNodeError(name, self._variables, what="variable")
        return name

    def _reduce(self, names: Sequence[str]) -> np.ndarray:
        """Array with axes ``names`` (a subset of the variables), other axes summed out."""
        position = {n: i for i, n in enumerate(self._variables)}
        return np.einsum(self._values, list(range(len(self._variables))), [position[n] for n in names])

    def _new(self, values: np.ndarray, names: Sequence[str], given: Iterable[str],
             intervened: Iterable[str]) -> ProbabilityTable:
        return ProbabilityTable(values, names, {n: self._states[n] for n in names},
                                given=[n for n in given if n in names],
                                intervened=[n for n in intervened if n in names])

