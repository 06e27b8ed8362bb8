"""The finite structural causal model: a causal graph plus one conditional probability table per node.

Every variable takes finitely many states, so every observational, interventional and
conditional distribution can be computed *exactly* by multiplying CPTs (``numpy.einsum``) — the
ground truth against which identification formulas and estimators are checked.
:meth:`DiscreteSCM.do` is graph surgery (the intervened node becomes a point mass and loses its
incoming edges), :meth:`DiscreteSCM.interventional` the truncated factorisation.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.graph import CausalGraph, UnknownNodeError
from latentscm.interventions import parse_interventions
from latentscm.scm.probability_table import (
    NORMALISATION_ATOL,
    Names,
    ProbabilityTable,
    StatesSpec,
    _as_names,
    _check_disjoint,
    _first_bad,
    _normalise_states,
    _state_index,
)

__all__ = ["DiscreteSCM"]

# numpy.einsum accepts at most 52 distinct axis labels.
_MAX_EINSUM_AXES = 52


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
        ``{name: state}`` a table over ``query`` alone. Raises
        :class:`~latentscm.scm.probability_table.PositivityError` when conditioning on a
        zero-probability event.
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
        do_names = _as_names(do, "do", owner)  # none: the observational distribution, as with do={}
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
        product = np.einsum(*operands, [axis[n] for n in names], optimize="greedy")
        # Each CPT row may be off by NORMALISATION_ATOL, so a product of many is off by a multiple
        # of it: renormalise over the free axes so the result is a distribution to rounding.
        free = tuple(i for i, n in enumerate(names) if n not in intervened)
        return product / product.sum(axis=free, keepdims=True)


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

