"""Finite structural causal models from conditional probability tables (CPTs).

Every variable takes finitely many states, so every observational, interventional and
conditional distribution can be computed *exactly* by multiplying CPTs (``numpy.einsum``) — the
ground truth against which identification formulas and estimators are checked.

* :class:`DiscreteSCM` — a :class:`~latentscm.graph.CausalGraph` plus one CPT per node;
  :meth:`DiscreteSCM.do` is graph surgery (the intervened node becomes a point mass and loses its
  incoming edges), :meth:`DiscreteSCM.interventional` the truncated factorisation.
* :class:`ProbabilityTable` — a (conditional) probability table with named axes and state labels.
* :func:`backdoor_adjustment` and :func:`frontdoor_adjustment` compute ``P(y | do(x))`` from an
  *observational joint alone* (no model), and :func:`is_backdoor_set` / :func:`is_frontdoor_set`
  check the graphical criteria that make them valid (Pearl 2009, *Causality*, 2nd ed., §3.3).
* :func:`smoking_cancer_model` — the classic smoking → tar → cancer model with a hidden
  confounder of smoking and cancer.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Union

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.graph import CausalGraph, UnknownNodeError
from latentscm.interventions import Do, Intervention, parse_interventions

__all__ = [
    "DiscreteSCM",
    "ProbabilityTable",
    "PositivityError",
    "backdoor_adjustment",
    "frontdoor_adjustment",
    "is_backdoor_set",
    "is_frontdoor_set",
    "smoking_cancer_model",
]

#: Tolerance for "sums to one" checks on CPTs and probability tables.
NORMALISATION_ATOL = 1e-9

# numpy.einsum accepts at most 52 distinct axis labels.
_MAX_EINSUM_AXES = 52

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


def _as_joint(joint: ProbabilityTable | Any, variables: Sequence[str] | None,
              states: Mapping[str, StatesSpec] | None, owner: str) -> ProbabilityTable:
    """A joint (unconditional) table from a :class:`ProbabilityTable` or an array plus names."""
    if isinstance(joint, ProbabilityTable):
        if variables is not None or states is not None:
            raise ValueError(f"{owner}: pass 'variables' and 'states' only with a plain array joint; "
                             "a ProbabilityTable already names its axes.")
        if joint.given or joint.intervened:
            raise ValueError(f"{owner} needs an observational joint; got the conditional table "
                             f"{joint.label()}.")
        return joint
    if variables is None:
        raise ValueError(f"{owner} needs 'variables' (one name per axis) when the joint is a plain array.")
    return ProbabilityTable(joint, variables, states)


# ---------------------------------------------------------------------------------- the model
class DiscreteSCM:
    """A finite SCM: a causal graph plus one conditional probability table per node.

    Parameters
    ----------
    graph:
        The causal DAG.
    cpts:
        ``cpts[name]`` is an array of shape ``(*(card(p) for p in graph.parents(name)),
        card(name))`` — parents in ``graph.parents`` (node) order, the node itself last — whose
        last axis sums to 1 (to ``1e-9``) for every parent configuration.
    states:
        Optional ``states[name]``: a cardinality or a sequence of distinct state labels. Missing
        entries default to labels ``0 .. card - 1`` with ``card`` read from the CPT's last axis.

    Raises
    ------
    ValueError
        For a missing or unknown node, a wrong shape, negative or non-finite entries, or rows
        that do not sum to one; the message names the node and the problem.
    """

    def __init__(self, graph: CausalGraph, cpts: Mapping[str, Any],
                 states: Mapping[str, StatesSpec] | None = None):
        owner = "DiscreteSCM"
        if not isinstance(graph, CausalGraph):
            raise TypeError(f"The 'graph' argument of {owner} must be a CausalGraph. "
                            f"Got {type(graph).__name__}.")
        if not isinstance(cpts, Mapping):
            raise TypeError(f"The 'cpts' argument of {owner} must be a mapping from node name to array. "
                            f"Got {type(cpts).__name__}.")
        states = {} if states is None else states
        if not isinstance(states, Mapping):
            raise TypeError(f"The 'states' argument of {owner} must be a mapping from node name to a "
                            f"cardinality or labels. Got {type(states).__name__}.")
        for what, mapping in (("cpts", cpts), ("states", states)):
            for name in mapping:
                if name not in graph:
                    raise UnknownNodeError(name, graph.nodes, what=f"node in '{what}' of {owner}")
        missing = [n for n in graph.nodes if n not in cpts]
        if missing:
            raise ValueError(f"{owner} needs a CPT for every node; none given for "
                             f"{', '.join(map(repr, missing))}.")
        arrays: dict[str, np.ndarray] = {}
        for name in graph.nodes:
            try:
                arrays[name] = np.array(cpts[name], dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise TypeError(f"The CPT of node {name!r} must be a numeric array. "
                                f"Got {type(cpts[name]).__name__}.") from error
            if arrays[name].ndim == 0:
                raise ValueError(f"The CPT of node {name!r} must have at least one axis (its states). "
                                 f"Got a scalar.")
        labels = {n: _normalise_states(states.get(n, arrays[n].shape[-1]), n, owner) for n in graph.nodes}
        for name in graph.nodes:
            _validate_cpt(arrays[name], name, graph.parents(name), labels)
            arrays[name].setflags(write=False)
        self._graph = graph
        self._cpts = arrays
        self._states = labels

    # ------------------------------------------------------------------ properties
    @property
    def graph(self) -> CausalGraph:
        return self._graph

    @property
    def nodes(self) -> tuple[str, ...]:
        return self._graph.nodes

    @property
    def states(self) -> dict[str, tuple[Hashable, ...]]:
        """State labels per node."""
        return dict(self._states)

    @property
    def cardinalities(self) -> dict[str, int]:
        return {n: len(s) for n, s in self._states.items()}

    @property
    def cpts(self) -> dict[str, np.ndarray]:
        """Read-only CPT arrays per node (see the class docstring for shapes)."""
        return dict(self._cpts)

    def state_index(self, name: str, state: Any) -> int:
        """Position of ``state`` (label, index or ``Do(state)``) among the states of ``name``."""
        return _state_index(self._states[self._graph.check_node(name)], name, state, "DiscreteSCM")

    # ------------------------------------------------------------------ distributions
    def joint(self) -> ProbabilityTable:
        """The observational joint over all nodes, axes in node order; shape ``(card(v) for v)``."""
        return self.observed(self.nodes)

    def observed(self, names: Names) -> ProbabilityTable:
        """The joint over ``names`` (axes in that order) with every other variable — hidden
        confounders included — summed out. This is what an observer of ``names`` can estimate."""
        order = _as_names(names, "names", "DiscreteSCM.observed")
        if not order:
            raise ValueError("DiscreteSCM.observed needs at least one variable name.")
        return ProbabilityTable(self._product(order), order, self._labels(order))

    def probability(self, query: Names, given: Names | Mapping[str, Any] | None = None) -> ProbabilityTable:
        """``P(query)`` or ``P(query | given)``.

        ``given`` as names gives a table with axes ``(*given, *query)``; as evidence
        ``{name: state}`` a table over ``query`` alone. Raises :class:`PositivityError` when
        conditioning on a zero-probability event.
        """
        owner = "DiscreteSCM.probability"
        query_names = _as_names(query, "query", owner)
        given_names = _as_names(list(given) if isinstance(given, Mapping) else given, "given", owner)
        _check_disjoint(owner, query=query_names, given=given_names)
        table = self.observed(given_names + query_names)
        return table.conditional(query_names, given) if given_names else table

    def interventional(self, targets: Names, do: Names | Mapping[str, Any],
                       given: Names | Mapping[str, Any] | None = None) -> ProbabilityTable:
        """``P(targets | do(...))``, optionally also conditioned on ``given``.

        ``do`` as ``{name: state}`` gives the distribution after that intervention (computed on
        the surgically modified model :meth:`do`), axes as in :meth:`probability`. ``do`` as
        names gives the whole family ``P(targets | do(names))`` by the truncated factorisation
        (every CPT but the intervened ones), axes ``(*do, *given, *targets)``.
        """
        owner = "DiscreteSCM.interventional"
        target_names = _as_names(targets, "targets", owner)
        given_arg = list(given) if isinstance(given, Mapping) else given
        given_names = _as_names(given_arg, "given", owner)
        if isinstance(do, Mapping):
            _check_disjoint(owner, targets=target_names, do=list(do), given=given_names)
            return self.do(do).probability(target_names, given)
        do_names = _as_names(do, "do", owner)
        if not do_names:
            raise ValueError(f"{owner} needs at least one intervened variable in 'do'.")
        _check_disjoint(owner, targets=target_names, do=do_names, given=given_names)
        order = do_names + given_names + target_names
        table = ProbabilityTable(self._product(order, intervened=do_names), order, self._labels(order),
                                 intervened=do_names)
        return table.conditional(target_names, given) if given_names else table

    def do(self, interventions: Mapping[str, Any] | str) -> DiscreteSCM:
        """Graph surgery: a new model in which each ``name`` in ``interventions`` is a point mass
        at the given state (label, index or :class:`~latentscm.interventions.Do`) and has no
        parents. The CLI form ``"smoking=1"`` (state indices) is accepted too. The original
        model is untouched."""
        if isinstance(interventions, str):
            interventions = parse_interventions(interventions)
        if not isinstance(interventions, Mapping):
            raise TypeError("DiscreteSCM.do expects a mapping {name: state}. "
                            f"Got {type(interventions).__name__}.")
        cpts = dict(self._cpts)
        for name, state in interventions.items():
            self._graph.check_node(name)
            point_mass = np.zeros(len(self._states[name]))
            point_mass[self.state_index(name, state)] = 1.0
            cpts[name] = point_mass
        return DiscreteSCM(self._graph.remove_incoming(interventions), cpts, self._states)

    def sample(self, n: int, *, seed: int | np.random.Generator) -> np.ndarray:
        """Ancestral sampling. Returns int64 state indices of shape ``(n, len(nodes))`` in node
        order (``states[name][index]`` gives the label)."""
        count = check_number(n, "n", "DiscreteSCM.sample", low=0, integer=True)
        rng = as_generator(seed)
        out = np.zeros((count, len(self.nodes)), dtype=np.int64)
        for name in self._graph.topological_order():
            parent_columns = tuple(out[:, self._graph.index(p)] for p in self._graph.parents(name))
            rows = np.broadcast_to(self._cpts[name][parent_columns], (count, len(self._states[name])))
            cumulative = np.cumsum(rows, axis=1)
            # Dividing by the last entry makes it exactly 1, so a uniform in [0, 1) never runs
            # past the last state and zero-probability states are never drawn.
            cumulative /= cumulative[:, -1:]
            out[:, self._graph.index(name)] = np.sum(cumulative <= rng.random((count, 1)), axis=1)
        return out

    def __repr__(self) -> str:
        cards = ", ".join(f"{n}:{len(s)}" for n, s in self._states.items())
        return f"DiscreteSCM(nodes=[{cards}], edges={len(self._graph.edges)})"

    # ------------------------------------------------------------------ internals
    def _labels(self, names: Iterable[str]) -> dict[str, tuple[Hashable, ...]]:
        return {n: self._states[n] for n in names}

    def _product(self, names: Sequence[str], intervened: Sequence[str] = ()) -> np.ndarray:
        """Array with axes ``names``: the product of the CPTs of the ancestral closure of
        ``names`` (barren nodes sum to one, so they are skipped), leaving out the CPTs of
        ``intervened`` nodes (the truncated factorisation), all other axes summed out."""
        for name in names:
            self._graph.check_node(name)
        graph = self._graph.remove_incoming(intervened) if intervened else self._graph
        closure = set(names)
        for name in names:
            closure |= graph.ancestors(name)
        members = [n for n in graph.nodes if n in closure]
        if len(members) > _MAX_EINSUM_AXES:
            raise ValueError(f"This query involves {len(members)} variables (with ancestors); exact "
                             f"tables support at most {_MAX_EINSUM_AXES}.")
        axis = {n: i for i, n in enumerate(members)}
        operands: list[Any] = []
        for name in members:
            if name in intervened:
                # The intervened value is a free (conditioning) axis of the result.
                operands += [np.ones(len(self._states[name])), [axis[name]]]
            else:
                operands += [self._cpts[name], [*(axis[p] for p in graph.parents(name)), axis[name]]]
        return np.einsum(*operands, [axis[n] for n in names], optimize="greedy")


def _validate_cpt(cpt: np.ndarray, name: str, parents: Sequence[str],
                  labels: Mapping[str, tuple[Hashable, ...]]) -> None:
    expected = (*(len(labels[p]) for p in parents), len(labels[name]))
    if cpt.shape != expected:
        axes = f"parents {', '.join(parents)} then {name!r} itself" if parents else f"{name!r} (no parents)"
        raise ValueError(f"The CPT of node {name!r} must have shape {expected} (axes: {axes}). "
                         f"Got shape {cpt.shape}.")
    if not np.all(np.isfinite(cpt)):
        raise ValueError(f"The CPT of node {name!r} contains NaN or infinite entries (first at index "
                         f"{_first_bad(~np.isfinite(cpt))}).")
    if np.any(cpt < 0):
        raise ValueError(f"The CPT of node {name!r} has negative probabilities (first at index "
                         f"{_first_bad(cpt < 0)}).")
    sums = cpt.sum(axis=-1)
    bad = np.abs(sums - 1.0) > NORMALISATION_ATOL
    if np.any(bad):
        where = _first_bad(bad) if bad.ndim else ()
        config = ", ".join(f"{p}={labels[p][i]!r}" for p, i in zip(parents, where)) or "(root)"
        raise ValueError(f"The CPT of node {name!r} must sum to 1 over {name!r} for every parent "
                         f"configuration; it sums to {float(sums[where]):.12g} at {config}.")


# ---------------------------------------------------------------------------------- identification
def backdoor_adjustment(joint: ProbabilityTable | Any, treatment: Names, outcome: Names,
                        adjustment_set: Names = (), *, variables: Sequence[str] | None = None,
                        states: Mapping[str, StatesSpec] | None = None) -> ProbabilityTable:
    """``P(y | do(x)) = sum_z P(y | x, z) P(z)`` from an observational joint alone.

    Valid when ``adjustment_set`` satisfies the back-door criterion (:func:`is_backdoor_set`).

    Parameters
    ----------
    joint:
        A joint :class:`ProbabilityTable` over observed variables, or an array of shape
        ``(card(v) for v in variables)`` together with ``variables`` (and optional ``states``).
    treatment, outcome, adjustment_set:
        Names (or sequences of names) of ``X``, ``Y`` and ``Z``; pairwise disjoint.

    Returns
    -------
    ProbabilityTable
        Axes ``(*treatment, *outcome)``, ``treatment`` marked as intervened.

    Raises
    ------
    PositivityError
        If ``P(x, z) = 0`` for some ``x`` and some ``z`` with ``P(z) > 0``.
    """
    owner = "backdoor_adjustment"
    table = _as_joint(joint, variables, states, owner)
    x = _as_names(treatment, "treatment", owner)
    y = _as_names(outcome, "outcome", owner)
    z = _as_names(adjustment_set, "adjustment_set", owner)
    _check_identification_names(table, owner, treatment=x, outcome=y, adjustment_set=z)
    p = table._reduce(x + y + z)  # axes (X, Y, Z)
    y_axes = tuple(range(len(x), len(x) + len(y)))
    p_xz = p.sum(axis=y_axes, keepdims=True)
    p_z = p_xz.sum(axis=tuple(range(len(x))), keepdims=True)
    _raise_positivity(np.squeeze((p_xz <= 0) & (p_z > 0), axis=y_axes), x + z, table.states,
                      f"P({', '.join(y)} | {', '.join(x + z)})", owner)
    outcome_given_xz = np.divide(p, p_xz, out=np.zeros_like(p), where=p_xz > 0)
    values = (outcome_given_xz * p_z).sum(axis=tuple(range(len(x) + len(y), p.ndim)))
    return ProbabilityTable(values, x + y, {n: table.states[n] for n in x + y}, intervened=x)


def frontdoor_adjustment(joint: ProbabilityTable | Any, treatment: Names, mediator: Names,
                         outcome: Names, *, variables: Sequence[str] | None = None,
                         states: Mapping[str, StatesSpec] | None = None) -> ProbabilityTable:
    """``P(y | do(x)) = sum_m P(m | x) sum_x' P(y | x', m) P(x')`` from an observational joint.

    Valid when ``mediator`` satisfies the front-door criterion (:func:`is_frontdoor_set`), even
    if ``X`` and ``Y`` share an unobserved confounder (Pearl 1995; Pearl 2009, §3.3.2).

    Parameters
    ----------
    joint:
        A joint :class:`ProbabilityTable`, or an array of shape ``(card(v) for v in variables)``
        together with ``variables`` (and optional ``states``).
    treatment, mediator, outcome:
        Names (or sequences of names) of ``X``, ``M`` and ``Y``; pairwise disjoint.

    Returns
    -------
    ProbabilityTable
        Axes ``(*treatment, *outcome)``, ``treatment`` marked as intervened.

    Raises
    ------
    PositivityError
        If ``P(x) = 0`` for some ``x``, or ``P(x, m) = 0`` for some ``x`` and some ``m`` with
        ``P(m) > 0``.
    """
    owner = "frontdoor_adjustment"
    table = _as_joint(joint, variables, states, owner)
    x = _as_names(treatment, "treatment", owner)
    m = _as_names(mediator, "mediator", owner)
    y = _as_names(outcome, "outcome", owner)
    _check_identification_names(table, owner, treatment=x, mediator=m, outcome=y)
    if not m:
        raise ValueError(f"{owner} needs at least one mediator variable.")
    p = table._reduce(x + m + y)  # axes (X, M, Y)
    x_axes = tuple(range(len(x)))
    m_axes = tuple(range(len(x), len(x) + len(m)))
    y_axes = tuple(range(len(x) + len(m), p.ndim))
    p_xm = p.sum(axis=y_axes, keepdims=True)
    p_x = p_xm.sum(axis=m_axes, keepdims=True)
    p_m = p_xm.sum(axis=x_axes, keepdims=True)
    _raise_positivity(np.squeeze(p_x <= 0, axis=m_axes + y_axes), x, table.states,
                      f"P({', '.join(m)} | {', '.join(x)})", owner)
    _raise_positivity(np.squeeze((p_xm <= 0) & (p_m > 0), axis=y_axes), x + m, table.states,
                      f"P({', '.join(y)} | {', '.join(x + m)})", owner)
    mediator_given_x = p_xm / p_x  # (X, M, 1)
    outcome_given_xm = np.divide(p, p_xm, out=np.zeros_like(p), where=p_xm > 0)  # (X, M, Y)
    # sum_x' P(y | x', m) P(x'): the effect of m on y, adjusted for x' by back-door.
    outcome_do_m = (outcome_given_xm * p_x).sum(axis=x_axes, keepdims=True)  # (1, M, Y)
    values = (mediator_given_x * outcome_do_m).sum(axis=m_axes)  # (X, Y)
    return ProbabilityTable(values, x + y, {n: table.states[n] for n in x + y}, intervened=x)


def _check_identification_names(table: ProbabilityTable, owner: str, **groups: list[str]) -> None:
    for what, names in groups.items():
        for name in names:
            if name not in table.variables:
                raise UnknownNodeError(name, table.variables, what=f"{what} variable of {owner}")
    for what in ("treatment", "outcome"):
        if not groups[what]:
            raise ValueError(f"{owner} needs at least one {what} variable.")
    _check_disjoint(owner, **groups)


def _graph_sets(graph: CausalGraph, owner: str, **groups: Names) -> list[set[str]]:
    if not isinstance(graph, CausalGraph):
        raise TypeError(f"The 'graph' argument of {owner} must be a CausalGraph. Got {type(graph).__name__}.")
    sets = []
    for what, value in groups.items():
        names = _as_names(value, what, owner)
        for name in names:
            if name not in graph:
                raise UnknownNodeError(name, graph.nodes, what=f"node in {what!r} of {owner}")
        sets.append(set(names))
    _check_disjoint(owner, **{what: sorted(s) for what, s in zip(groups, sets)})
    return sets


def _without_outgoing(graph: CausalGraph, names: set[str]) -> CausalGraph:
    """``G`` with every edge out of ``names`` removed (Pearl's underlined-``X`` graph)."""
    return CausalGraph([e for e in graph.edges if e[0] not in names], nodes=graph.nodes)


def is_backdoor_set(graph: CausalGraph, x: Names, y: Names, z: Names) -> bool:
    """Whether ``z`` satisfies the back-door criterion relative to ``(x, y)`` (Pearl 2009,
    Def. 3.3.1): no node of ``z`` is a descendant of ``x``, and ``z`` blocks every path between
    ``x`` and ``y`` that starts with an arrow into ``x`` (d-separation once the edges out of ``x``
    are removed). ``graph`` may contain hidden variables."""
    xs, ys, zs = _graph_sets(graph, "is_backdoor_set", x=x, y=y, z=z)
    if not xs or not ys:
        raise ValueError("is_backdoor_set needs non-empty 'x' and 'y'.")
    if zs & graph.descendants_of(xs):
        return False
    return _without_outgoing(graph, xs).d_separated(xs, ys, zs)


def is_frontdoor_set(graph: CausalGraph, x: Names, y: Names, m: Names) -> bool:
    """Whether ``m`` satisfies the front-door criterion relative to ``(x, y)`` (Pearl 2009,
    Def. 3.3.3): ``m`` intercepts every directed path from ``x`` to ``y``; there is no unblocked
    back-door path from ``x`` to ``m``; and every back-door path from ``m`` to ``y`` is blocked
    by ``x``. ``graph`` may (and usually does) contain hidden variables."""
    xs, ys, ms = _graph_sets(graph, "is_frontdoor_set", x=x, y=y, m=m)
    if not xs or not ys or not ms:
        raise ValueError("is_frontdoor_set needs non-empty 'x', 'y' and 'm'.")
    without_m = graph.subgraph([n for n in graph.nodes if n not in ms])
    if ys & without_m.descendants_of(xs):
        return False
    if not _without_outgoing(graph, xs).d_separated(xs, ms, ()):
        return False
    return _without_outgoing(graph, ms).d_separated(ms, ys, xs)


# ---------------------------------------------------------------------------------- examples
def smoking_cancer_model() -> DiscreteSCM:
    """Smoking → tar → cancer with a hidden confounder ``U`` of smoking and cancer.

    The running example of Jacobs, Kissinger & Zanasi, "Causal Inference by String Diagram
    Surgery" (FoSSaCS 2019, arXiv:1811.08338), after Pearl's front-door example (Pearl 1995,
    "Causal diagrams for empirical research", Biometrika 82(4); Pearl 2009, *Causality*, §3.3.2).
    ``U`` (say, a genotype) is hidden: only smoking, tar and cancer are observed, ``U`` makes
    smoking and cancer both more likely, and tar mediates the whole effect of smoking. Because
    ``{tar}`` satisfies the front-door criterion, ``P(cancer | do(smoking))`` is identified from
    the observed joint by :func:`frontdoor_adjustment`, while ``P(cancer | smoking)`` overstates
    the effect (here by more than 0.15 on the risk difference).

    All variables are binary with states ``("no", "yes")`` (``U``: ``("absent", "present")``);
    node order ``U, smoking, tar, cancer``. The numbers are illustrative, not epidemiological.
    """
    graph = CausalGraph([("U", "smoking"), ("U", "cancer"), ("smoking", "tar"), ("tar", "cancer")],
                        nodes=["U", "smoking", "tar", "cancer"])
    cpts = {
        "U": [0.7, 0.3],
        # P(smoking | U): carriers of U smoke far more often.
        "smoking": [[0.8, 0.2], [0.2, 0.8]],
        # P(tar | smoking)
        "tar": [[0.9, 0.1], [0.15, 0.85]],
        # P(cancer | U, tar): axes (U, tar, cancer).
        "cancer": [[[0.9, 0.1], [0.8, 0.2]],
                   [[0.4, 0.6], [0.25, 0.75]]],
    }
    yes_no = ("no", "yes")
    return DiscreteSCM(graph, cpts, {"U": ("absent", "present"), "smoking": yes_no, "tar": yes_no,
                                     "cancer": yes_no})

