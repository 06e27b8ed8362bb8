"""Mechanisms of a structural causal model, layered as in dowhy.gcm and pyro:

1. :class:`Mechanism` — can *sample*: draws exogenous noise ``u`` and *evaluates*
   ``value = f(parents, u)``.
2. :class:`InvertibleMechanism` — can also *abduct*: recover the noise from a value and its
   parents, ``u = f^{-1}(value; parents)``, which is what counterfactuals need.

Shapes: ``parents`` is a float array (N, P) whose columns follow the mechanism's parent order
(``parent_names`` when the mechanism declares them, otherwise the graph's parent order);
``noise`` and values are (N,).

A mechanism may declare ``parent_names``; the SCM then checks them against its graph at
construction (a different parent set of the same size would otherwise give wrong answers
silently) and feeds the columns in the declared order.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_number
from latentscm.scm.noise import Constant, NoiseDistribution, Normal, Uniform

__all__ = [
    "Mechanism",
    "InvertibleMechanism",
    "Root",
    "LinearGaussian",
    "AdditiveNoise",
    "PostNonlinear",
    "Functional",
    "InvertibleFunctional",
    "Categorical",
]

ArrayFunction = Callable[[np.ndarray], np.ndarray]


def _call_function(function: Any, parents: np.ndarray) -> np.ndarray:
    """Apply a numpy callable or a torch module to parents (N, P); returns float64 (N,)."""
    # A torch module can only exist once torch is imported; never import torch just to check.
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(function, torch.nn.Module):
        parameter = next(function.parameters(), None)
        dtype = parameter.dtype if parameter is not None else torch.float32
        device = parameter.device if parameter is not None else "cpu"
        # A structural assignment is a fixed function: run it in eval mode (no dropout draws from
        # torch's global RNG, no batch-norm statistics updated), then restore every submodule's mode.
        modes = [(module, module.training) for module in function.modules()]
        function.eval()
        try:
            with torch.no_grad():
                output = function(torch.as_tensor(parents, dtype=dtype, device=device))
        finally:
            for module, training in modes:
                module.training = training
        result = output.detach().cpu().double().numpy()
    else:
        result = np.asarray(function(parents), dtype=np.float64)
    result = result.reshape(parents.shape[0], -1)
    if result.shape[1] != 1:
        raise ValueError(f"A mechanism function must return one value per sample, shape (N,) or "
                         f"(N, 1). Got {result.shape}.")
    return result[:, 0]


def _function_name(function: Any) -> str:
    """A callable's name for a repr (its own repr when it has no ``__name__``)."""
    return repr(getattr(function, "__name__", function))


def _parent_names_repr(parent_names: tuple[str, ...] | None) -> str:
    return "" if parent_names is None else f", parent_names={list(parent_names)!r}"


class Mechanism:
    """Sample-only layer: ``value = evaluate(parents, noise)`` with ``noise ~ self.noise``.

    Subclasses implement :meth:`evaluate`. ``n_parents`` is ``None`` when any number is allowed.
    """

    noise: NoiseDistribution = Normal()
    parent_names: tuple[str, ...] | None = None
    n_parents: int | None = None

    def sample_noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw exogenous noise, (n,)."""
        return np.asarray(self.noise.sample(n, rng), dtype=np.float64)

    def evaluate(self, parents: np.ndarray, noise: np.ndarray) -> np.ndarray:  # pragma: no cover
        """Structural assignment: parents (N, P), noise (N,) -> values (N,)."""
        raise NotImplementedError

    def sample(self, parents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw values given parents (N, P)."""
        return self.evaluate(parents, self.sample_noise(parents.shape[0], rng))

    @property
    def invertible(self) -> bool:
        return isinstance(self, InvertibleMechanism)


class InvertibleMechanism(Mechanism):
    """Adds abduction: ``abduct(values, parents) -> noise`` with ``evaluate(parents, abduct(v,
    parents)) == v``."""

    def abduct(self, values: np.ndarray, parents: np.ndarray, *,
               rng: np.random.Generator | None = None) -> np.ndarray:  # pragma: no cover
        """Recover the exogenous noise (N,) from values (N,) and parents (N, P)."""
        raise NotImplementedError


def _parent_spec(parent_names: Sequence[str] | None) -> tuple[str, ...] | None:
    if parent_names is None:
        return None
    if isinstance(parent_names, str):
        raise TypeError(f"parent_names must be a sequence of names, not a string. Got {parent_names!r}.")
    return tuple(parent_names)


class Root(InvertibleMechanism):
    """A root node: ``value = noise``."""

    n_parents = 0

    def __init__(self, noise: NoiseDistribution | None = None):
        self.noise = noise if noise is not None else Normal()

    def evaluate(self, parents: np.ndarray, noise: np.ndarray) -> np.ndarray:
        return np.array(noise, dtype=np.float64)

    def abduct(self, values, parents, *, rng=None):
        return np.array(values, dtype=np.float64)

    def __repr__(self) -> str:
        return f"Root({self.noise!r})"


class LinearGaussian(InvertibleMechanism):
    """``value = parents @ weights + bias + u``, ``u ~ N(0, std^2)``.

    ``weights`` is a sequence (graph parent order) or a mapping ``{parent_name: weight}`` (then the
    parent set is checked against the graph).
    """

    def __init__(self, weights: Sequence[float] | Mapping[str, float] = (), bias: float = 0.0,
                 std: float = 1.0):
        if isinstance(weights, Mapping):
            self.parent_names = tuple(weights)
            weights = list(weights.values())
        self.weights = check_array(weights, "weights", "LinearGaussian", ndim=1, min_rows=0)
        self.bias = check_number(bias, "bias", "LinearGaussian")
        self.std = check_number(std, "std", "LinearGaussian", low=0.0)
        self.noise = Normal(0.0, self.std)
        self.n_parents = len(self.weights)

    def evaluate(self, parents, noise):
        return parents @ self.weights + self.bias + noise

    def abduct(self, values, parents, *, rng=None):
        return values - (parents @ self.weights + self.bias)

    def __repr__(self) -> str:
        weights = (self.weights.tolist() if self.parent_names is None
                   else dict(zip(self.parent_names, self.weights.tolist())))
        return f"LinearGaussian(weights={weights!r}, bias={self.bias}, std={self.std})"


class AdditiveNoise(InvertibleMechanism):
    """Additive noise model ``value = f(parents) + u`` (Hoyer et al. 2009).

    ``function`` is any callable on (N, P) arrays or a ``torch.nn.Module``; ``None`` means
    ``f = 0`` (a root with the given noise).
    """

    def __init__(self, function: ArrayFunction | Any | None = None,
                 noise: NoiseDistribution | None = None,
                 parent_names: Sequence[str] | None = None):
        if function is not None and not callable(function):
            raise TypeError(f"The 'function' of AdditiveNoise must be callable. Got {function!r}.")
        self.function = function
        self.noise = noise if noise is not None else Normal()
        self.parent_names = _parent_spec(parent_names)
        if function is None:
            self.n_parents = 0
        elif self.parent_names is not None:
            self.n_parents = len(self.parent_names)

    def _f(self, parents: np.ndarray) -> np.ndarray:
        if self.function is None:
            return np.zeros(parents.shape[0])
        return _call_function(self.function, parents)

    def evaluate(self, parents, noise):
        return self._f(parents) + noise

    def abduct(self, values, parents, *, rng=None):
        return values - self._f(parents)

    def __repr__(self) -> str:
        return f"AdditiveNoise({self.function!r}, noise={self.noise!r}{_parent_names_repr(self.parent_names)})"


class PostNonlinear(InvertibleMechanism):
    """Post-nonlinear model ``value = g(f(parents) + u)`` (Zhang & Hyvärinen 2009), with an
    invertible ``outer`` g whose inverse is given as ``outer_inverse``."""

    def __init__(self, inner: ArrayFunction | Any, outer: Callable[[np.ndarray], np.ndarray],
                 outer_inverse: Callable[[np.ndarray], np.ndarray],
                 noise: NoiseDistribution | None = None,
                 parent_names: Sequence[str] | None = None):
        for name, function in (("inner", inner), ("outer", outer), ("outer_inverse", outer_inverse)):
            if not callable(function):
                raise TypeError(f"The {name!r} of PostNonlinear must be callable. Got {function!r}.")
        self.inner, self.outer, self.outer_inverse = inner, outer, outer_inverse
        self.noise = noise if noise is not None else Normal()
        self.parent_names = _parent_spec(parent_names)
        if self.parent_names is not None:
            self.n_parents = len(self.parent_names)

    def evaluate(self, parents, noise):
        return np.asarray(self.outer(_call_function(self.inner, parents) + noise), dtype=np.float64)

    def abduct(self, values, parents, *, rng=None):
        return np.asarray(self.outer_inverse(values), dtype=np.float64) - _call_function(self.inner, parents)

    def __repr__(self) -> str:
        return (f"PostNonlinear({_function_name(self.inner)}, {_function_name(self.outer)}, "
                f"{_function_name(self.outer_inverse)}, noise={self.noise!r}{_parent_names_repr(self.parent_names)})")


class Functional(Mechanism):
    """A general assignment ``value = function(parents (N, P), noise (N,))``.

    Give ``inverse(values, parents) -> noise`` to make it invertible (then use
    :func:`Functional.invertible` or pass ``inverse``); without it the SCM can sample and
    intervene but not abduct.
    """

    def __init__(self, function: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 noise: NoiseDistribution | None = None,
                 parent_names: Sequence[str] | None = None):
        if not callable(function):
            raise TypeError(f"The 'function' of Functional must be callable. Got {function!r}.")
        self.function = function
        self.noise = noise if noise is not None else Constant(0.0)
        self.parent_names = _parent_spec(parent_names)
        if self.parent_names is not None:
            self.n_parents = len(self.parent_names)

    def evaluate(self, parents, noise):
        out = np.asarray(self.function(parents, noise), dtype=np.float64)
        return np.broadcast_to(out, noise.shape).copy() if out.ndim == 0 else out.reshape(noise.shape)

    @staticmethod
    def with_inverse(function: Callable[[np.ndarray, np.ndarray], np.ndarray],
                     inverse: Callable[[np.ndarray, np.ndarray], np.ndarray],
                     noise: NoiseDistribution | None = None,
                     parent_names: Sequence[str] | None = None) -> InvertibleFunctional:
        """An invertible functional mechanism."""
        return InvertibleFunctional(function, inverse, noise, parent_names)

    def __repr__(self) -> str:
        inverse = f", inverse={_function_name(self.inverse)}" if isinstance(self, InvertibleFunctional) else ""
        return (f"{type(self).__name__}({_function_name(self.function)}{inverse}, noise={self.noise!r}"
                f"{_parent_names_repr(self.parent_names)})")


class InvertibleFunctional(Functional, InvertibleMechanism):
    """:class:`Functional` with an explicit inverse ``inverse(values, parents) -> noise``."""

    def __init__(self, function, inverse, noise=None, parent_names=None):
        super().__init__(function, noise, parent_names)
        if not callable(inverse):
            raise TypeError(f"The 'inverse' of InvertibleFunctional must be callable. Got {inverse!r}.")
        self.inverse = inverse

    def abduct(self, values, parents, *, rng=None):
        return np.asarray(self.inverse(values, parents), dtype=np.float64).reshape(values.shape)


class Categorical(InvertibleMechanism):
    """A discrete variable from a conditional probability table.

    ``table`` has shape (*parent_cardinalities, K): ``table[i1, ..., ip, k] = P(value = states[k]
    | parents = (parent_states[0][i1], ...))``. The exogenous noise is ``u ~ U[0, 1)`` and the
    value is the inverse CDF at ``u``. Abduction cannot recover ``u`` exactly (many ``u`` give the
    same value); it returns a draw from the noise posterior ``U[cdf(k-1), cdf(k))`` when ``rng`` is
    given, and the interval's midpoint otherwise (deterministic). A value of probability zero given
    its parents has no posterior and raises ``ValueError``. State labels, and the states of each
    parent axis, must be distinct.
    """

    def __init__(self, table: Any, states: Sequence[float] | None = None,
                 parent_states: Sequence[Sequence[float]] | None = None,
                 parent_names: Sequence[str] | None = None):
        table = check_array(table, "table", "Categorical")
        if table.ndim < 1:
            raise ValueError("The 'table' of Categorical must have at least one axis (the states).")
        if np.any(table < 0):
            raise ValueError("The 'table' of Categorical has negative probabilities.")
        sums = table.sum(axis=-1)
        if not np.allclose(sums, 1.0, atol=1e-9):
            worst = np.unravel_index(np.argmax(np.abs(sums - 1)), sums.shape)
            raise ValueError(f"Rows of the Categorical 'table' must sum to 1; the row at parent index "
                             f"{tuple(int(i) for i in worst)} sums to {sums[worst]:.6g}.")
        self.table = table
        k = table.shape[-1]
        self.states = (np.arange(k, dtype=np.float64) if states is None
                       else check_array(states, "states", "Categorical", ndim=1))
        if self.states.shape[0] != k:
            raise ValueError(f"Categorical has {k} states in 'table' but {self.states.shape[0]} "
                             "'states' labels.")
        if np.unique(self.states).size != k:
            raise ValueError(f"The 'states' of Categorical must be distinct. Got {self.states.tolist()}.")
        cards = table.shape[:-1]
        if parent_states is None:
            parent_states = [np.arange(c, dtype=np.float64) for c in cards]
        if len(parent_states) != len(cards):
            raise ValueError(f"Categorical 'table' has {len(cards)} parent axes but {len(parent_states)} "
                             "'parent_states' were given.")
        self.parent_states = [check_array(s, "parent_states", "Categorical", ndim=1) for s in parent_states]
        for axis, (states_i, card) in enumerate(zip(self.parent_states, cards)):
            if states_i.shape[0] != card:
                raise ValueError(f"Parent axis {axis} of the Categorical 'table' has {card} entries but "
                                 f"{states_i.shape[0]} parent states were given.")
            if np.unique(states_i).size != card:
                raise ValueError(f"The 'parent_states' of Categorical must be distinct on each axis; axis {axis} "
                                 f"has {states_i.tolist()}.")
        self.cdf = np.cumsum(table, axis=-1)
        # A row may sum to 1 - 1e-9: closing it at its last state of positive probability (not at the last
        # state) keeps u ~ U[0, 1) off trailing zero-probability states, which abduction then refuses.
        last_positive = k - 1 - np.argmax(table[..., ::-1] > 0, axis=-1)
        self.cdf[np.arange(k) >= last_positive[..., None]] = 1.0
        self.noise = Uniform(0.0, 1.0)
        self.n_parents = len(cards)
        self.parent_names = _parent_spec(parent_names)
        if self.parent_names is not None and len(self.parent_names) != self.n_parents:
            raise ValueError(f"Categorical 'table' has {self.n_parents} parent axes but {len(self.parent_names)} "
                             f"'parent_names' were given: {list(self.parent_names)}.")

    def _rows(self, parents: np.ndarray) -> np.ndarray:
        """CDF rows (N, K) for each sample's parent configuration."""
        index = []
        for axis, states in enumerate(self.parent_states):
            column = parents[:, axis]
            position = np.searchsorted(states, column) if np.all(np.diff(states) > 0) else None
            if position is None:
                matches = column[:, None] == states[None, :]
                position = np.argmax(matches, axis=1)
                ok = matches.any(axis=1)
            else:
                position = np.clip(position, 0, len(states) - 1)
                ok = states[position] == column
            if not np.all(ok):
                bad = column[~ok][0]
                raise ValueError(f"Parent value {bad!r} (parent axis {axis}) is not one of the Categorical "
                                 f"parent states {states.tolist()}.")
            index.append(position)
        if not index:
            return np.broadcast_to(self.cdf, (parents.shape[0], self.cdf.shape[-1]))
        return self.cdf[tuple(index)]

    def evaluate(self, parents, noise):
        rows = self._rows(parents)
        k = (noise[:, None] >= rows).sum(axis=1)
        return self.states[np.minimum(k, len(self.states) - 1)]

    def abduct(self, values, parents, *, rng=None):
        rows = self._rows(parents)
        k = np.searchsorted(self.states, values) if np.all(np.diff(self.states) > 0) else None
        if k is None:
            k = np.argmax(values[:, None] == self.states[None, :], axis=1)
        k = np.clip(k, 0, len(self.states) - 1)
        if not np.all(self.states[k] == values):
            bad = values[self.states[k] != values][0]
            raise ValueError(f"Value {bad!r} is not one of the Categorical states {self.states.tolist()}.")
        upper = rows[np.arange(len(k)), k]
        lower = np.where(k > 0, rows[np.arange(len(k)), np.maximum(k - 1, 0)], 0.0)
        impossible = upper <= lower
        if np.any(impossible):
            first = int(np.argmax(impossible))
            raise ValueError(f"Value {float(values[first])!r} (sample {first}) has probability zero under the "
                             f"Categorical given its parents {parents[first].tolist()}, so its noise cannot be "
                             "abducted.")
        if rng is None:
            return (lower + upper) / 2
        return lower + (upper - lower) * rng.uniform(size=len(k))

    def __repr__(self) -> str:
        parents = f", parent_states={[s.tolist() for s in self.parent_states]}" if self.parent_states else ""
        return (f"Categorical(table={self.table.tolist()}, states={self.states.tolist()}{parents}"
                f"{_parent_names_repr(self.parent_names)})")
