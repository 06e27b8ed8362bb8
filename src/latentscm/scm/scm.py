"""Structural causal models over named scalar variables.

An :class:`SCM` is a :class:`~latentscm.graph.CausalGraph` plus one mechanism per node. Values
and noise are dicts ``{name: ndarray (N,)}``. Counterfactuals run Pearl's three steps, each a
visible method (Pearl 2009, *Causality*, §7.1):

1. **abduction** — :meth:`SCM.abduct` recovers the exogenous noise from observed values;
2. **action** — :meth:`SCM.do` returns a *new* SCM with the intervened mechanisms replaced
   (graph surgery for hard interventions), leaving the original untouched;
3. **prediction** — :meth:`SCM.evaluate` pushes the abducted noise through the new model.

:meth:`SCM.counterfactual` composes them and recomputes only the descendants of the intervened
nodes: everything else keeps its observed value exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from latentscm._validation import as_generator
from latentscm.exceptions import LatentSCMError
from latentscm.graph import CausalGraph, UnknownNodeError
from latentscm.interventions import Intervention, InterventionLike, as_interventions
from latentscm.scm.mechanisms import InvertibleMechanism, Mechanism

__all__ = ["SCM", "NotInvertibleError"]

Values = dict[str, np.ndarray]


def _length(values: Values) -> int:
    """N, the common length of checked values (0 for a model without nodes)."""
    return next(iter(values.values())).shape[0] if values else 0


def _column(value: Any, label: str, n: int | None = None) -> np.ndarray:
    """``value`` as a finite float64 array (N,) (of length ``n`` when given); ValueError naming ``label``."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 1 or (n is not None and array.shape[0] != n):
        raise ValueError(f"{label} must have shape ({'N' if n is None else n},), one entry per unit. Got shape "
                         f"{array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{label} contains NaN or infinite values.")
    return array


class NotInvertibleError(LatentSCMError, TypeError):
    """Raised when abduction needs a mechanism that cannot recover its noise."""


class _Intervened(Mechanism):
    """The mechanism of an intervened node: ``intervention.apply(base(parents, noise))``.

    A hard intervention ignores parents and base; it keeps the base noise distribution so that
    seeded sampling of ``scm.do(...)`` draws the same noise stream as the original model.
    """

    def __init__(self, base: Mechanism, intervention: Intervention, parent_names):
        self.base = base
        self.intervention = intervention
        self.noise = base.noise
        self.parent_names = None if intervention.hard else parent_names
        self.n_parents = 0 if intervention.hard else base.n_parents

    def evaluate(self, parents, noise):
        if self.intervention.hard:
            return self.intervention.apply(np.asarray(noise, dtype=np.float64))
        return self.intervention.apply(self.base.evaluate(parents, noise))

    def __repr__(self) -> str:
        return f"Intervened({self.base!r}, {self.intervention!r})"


class SCM:
    """A structural causal model: ``graph`` plus ``mechanisms[name]`` for every node.

    Each mechanism receives its parents as columns of an (N, P) array, in the order of its own
    ``parent_names`` when it declares them (checked against the graph here), else in
    ``graph.parents(name)`` order.

    Raises
    ------
    ValueError
        If a node has no mechanism, a mechanism names an unknown node, or a mechanism's parent
        count or parent names disagree with the graph.
    """

    def __init__(self, graph: CausalGraph, mechanisms: Mapping[str, Mechanism]):
        if not isinstance(graph, CausalGraph):
            raise TypeError(f"SCM needs a CausalGraph. Got {type(graph).__name__}.")
        if not isinstance(mechanisms, Mapping):
            raise TypeError(f"SCM mechanisms must be a mapping {{node: Mechanism}}. Got "
                            f"{type(mechanisms).__name__}.")
        for name in mechanisms:
            if name not in graph:
                raise UnknownNodeError(name, graph.nodes, what="node in mechanisms")
        missing = [n for n in graph.nodes if n not in mechanisms]
        if missing:
            raise ValueError(f"SCM has no mechanism for node(s): {', '.join(missing)}.")
        columns: dict[str, np.ndarray] = {}
        for name in graph.nodes:
            mechanism = mechanisms[name]
            if not isinstance(mechanism, Mechanism):
                raise TypeError(f"The mechanism for {name!r} must be a latentscm Mechanism. Got "
                                f"{type(mechanism).__name__}.")
            parents = graph.parents(name)
            if mechanism.parent_names is not None:
                declared = tuple(mechanism.parent_names)
                if sorted(declared) != sorted(parents):
                    raise ValueError(
                        f"The mechanism for {name!r} was built for parents {list(declared)} but the "
                        f"graph gives {list(parents)}."
                    )
                order = declared
            else:
                order = parents
            if mechanism.n_parents is not None and mechanism.n_parents != len(parents):
                raise ValueError(
                    f"The mechanism for {name!r} takes {mechanism.n_parents} parent(s) but the graph "
                    f"gives {len(parents)}: {list(parents)}."
                )
            columns[name] = np.array([graph.index(p) for p in order], dtype=np.int64)
        self._graph = graph
        self._mechanisms = dict(mechanisms)
        self._parent_order = {
            name: tuple(graph.nodes[i] for i in columns[name]) for name in graph.nodes
        }

    # ------------------------------------------------------------------ properties
    @property
    def graph(self) -> CausalGraph:
        return self._graph

    @property
    def nodes(self) -> tuple[str, ...]:
        return self._graph.nodes

    @property
    def mechanisms(self) -> Mapping[str, Mechanism]:
        """Read-only view of the mechanisms by node name."""
        return MappingProxyType(self._mechanisms)

    def parent_order(self, name: str) -> tuple[str, ...]:
        """Parent names in the column order the mechanism of ``name`` receives."""
        return self._parent_order[self._graph.check_node(name)]

    def __repr__(self) -> str:
        return f"SCM({self._graph!r})"

    # ------------------------------------------------------------------ sampling
    def sample_noise(self, n: int, *, seed: int | np.random.Generator) -> Values:
        """Exogenous noise ``{name: (n,)}``, drawn in node order from one seeded generator."""
        n = self._check_n(n)
        rng = as_generator(seed)
        return {name: self._mechanisms[name].sample_noise(n, rng) for name in self.nodes}

    def evaluate(self, noise: Mapping[str, np.ndarray]) -> Values:
        """Prediction: push exogenous noise through the mechanisms in topological order."""
        noise = self._check_values(noise, "noise")
        values: Values = {}
        n = _length(noise)
        for name in self._graph.topological_order():
            values[name] = self._mechanisms[name].evaluate(self._parents(name, values, n), noise[name])
        return values

    def sample(self, n: int, *, seed: int | np.random.Generator) -> Values:
        """Draw ``n`` joint samples ``{name: (n,)}``."""
        return self.evaluate(self.sample_noise(n, seed=seed))

    # ------------------------------------------------------------------ causal steps
    def do(self, interventions: Mapping[str, InterventionLike] | str) -> SCM:
        """Action: a new SCM with the given interventions applied (the original is untouched).

        Hard interventions (:class:`~latentscm.interventions.Do`, or plain numbers) replace the
        mechanism and cut incoming edges; soft ones (``Shift``, ``Scale``) transform its output.
        """
        interventions = as_interventions(interventions, self.nodes)
        hard = [name for name, item in interventions.items() if item.hard]
        graph = self._graph.remove_incoming(hard)
        mechanisms = dict(self._mechanisms)
        for name, item in interventions.items():
            mechanisms[name] = _Intervened(self._mechanisms[name], item, self._parent_order[name])
        return SCM(graph, mechanisms)

    def replace(self, mechanisms: Mapping[str, Mechanism]) -> SCM:
        """A new SCM whose listed nodes get new mechanisms over the same parents (a soft
        intervention by mechanism change, or another domain's mechanisms); the graph and every
        other mechanism are shared with this one, which is left untouched."""
        if not isinstance(mechanisms, Mapping):
            raise TypeError(f"SCM.replace takes a mapping {{node: Mechanism}}. Got {type(mechanisms).__name__}.")
        for name in mechanisms:
            self._graph.check_node(name)
        return SCM(self._graph, {**self._mechanisms, **mechanisms})

    def abduct(self, values: Mapping[str, np.ndarray], *, nodes=None,
               rng: np.random.Generator | int | None = None) -> Values:
        """Abduction: the exogenous noise ``{name: (N,)}`` that produced ``values``.

        ``nodes`` restricts abduction to some nodes (default: all). Discrete mechanisms whose
        noise is not identified return the posterior midpoint, or a posterior draw when ``rng``
        is given.

        Raises :class:`NotInvertibleError` naming the node whose mechanism cannot abduct.
        """
        values = self._check_values(values, "values")
        if isinstance(nodes, str):  # one name, not its characters
            nodes = [nodes]
        targets = self.nodes if nodes is None else [self._graph.check_node(n) for n in nodes]
        generator = None if rng is None else as_generator(rng)
        n = _length(values)
        noise: Values = {}
        for name in targets:
            mechanism = self._mechanisms[name]
            if not isinstance(mechanism, InvertibleMechanism):
                raise NotInvertibleError(
                    f"Cannot abduct the noise of {name!r}: its mechanism {mechanism!r} is not "
                    "invertible (give it an inverse, e.g. Functional.with_inverse)."
                )
            noise[name] = mechanism.abduct(values[name], self._parents(name, values, n), rng=generator)
        return noise

    def counterfactual(self, values: Mapping[str, np.ndarray],
                       interventions: Mapping[str, InterventionLike] | str, *,
                       noise: Mapping[str, np.ndarray] | None = None,
                       rng: np.random.Generator | int | None = None) -> Values:
        """Counterfactual values ``{name: (N,)}`` for the units in ``values``.

        Abduction (noise of the nodes that must be recomputed), action (:meth:`do`), prediction
        (recompute the intervened nodes and their descendants; every other node keeps its
        observed value exactly). When the exogenous ``noise`` that produced ``values`` is known
        (a world's oracle), pass it and abduction is skipped: the result is then exact even for
        mechanisms that cannot be inverted.
        """
        values = self._check_values(values, "values")
        interventions = as_interventions(interventions, self.nodes)
        affected = self._graph.descendants_of(interventions)
        need_noise = [n for n in self._graph.topological_order()
                      if n in affected and not (n in interventions and interventions[n].hard)]
        n = _length(values)
        if noise is None:
            noise = self.abduct(values, nodes=need_noise, rng=rng)       # 1. abduction
        else:
            noise = self._check_noise(noise, need_noise, n)
        model = self.do(interventions)                                     # 2. action
        result: Values = {}
        for name in self._graph.topological_order():                      # 3. prediction
            if name not in affected:
                result[name] = values[name].copy()
                continue
            node_noise = noise.get(name, np.zeros(n))
            result[name] = model._mechanisms[name].evaluate(model._parents(name, result, n), node_noise)
        return result

    def interventional_sample(self, n: int, interventions, *, seed) -> Values:
        """Samples from the interventional distribution ``P(V | do(interventions))``."""
        return self.do(interventions).sample(n, seed=seed)

    # ------------------------------------------------------------------ helpers
    def _parents(self, name: str, values: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        order = self._parent_order[name]
        if not order:
            return np.zeros((n, 0))
        return np.stack([values[p] for p in order], axis=1)

    def _check_values(self, values: Mapping[str, np.ndarray], what: str) -> Values:
        if not isinstance(values, Mapping):
            raise TypeError(f"SCM {what} must be a mapping {{name: array (N,)}}. Got "
                            f"{type(values).__name__}.")
        for name in values:
            if name not in self._graph:
                raise UnknownNodeError(name, self.nodes, what=f"variable in {what}")
        missing = [n for n in self.nodes if n not in values]
        if missing:
            raise ValueError(f"SCM {what} are missing variable(s): {', '.join(missing)}.")
        out: Values = {}
        for name in self.nodes:
            out[name] = _column(values[name], f"SCM {what}[{name!r}]")
            if out[name].shape[0] != out[self.nodes[0]].shape[0]:
                raise ValueError(f"SCM {what} have different lengths: {self.nodes[0]!r} has "
                                 f"{out[self.nodes[0]].shape[0]}, {name!r} has {out[name].shape[0]}.")
        return out

    @staticmethod
    def _check_noise(noise: Mapping[str, np.ndarray], needed: list[str], n: int) -> Values:
        """The given exogenous noise of the ``needed`` nodes, each a finite float array (n,)."""
        if not isinstance(noise, Mapping):
            raise TypeError(f"The 'noise' of SCM.counterfactual must be a mapping {{name: array (N,)}}. Got "
                            f"{type(noise).__name__}.")
        missing = [name for name in needed if name not in noise]
        if missing:
            raise ValueError(f"The given noise lacks node(s) {', '.join(missing)} needed for "
                             "this counterfactual.")
        return {name: _column(noise[name], f"The given noise[{name!r}]", n) for name in needed}

    @staticmethod
    def _check_n(n: int) -> int:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"The number of samples 'n' must be a positive int. Got {n!r}.")
        return int(n)

