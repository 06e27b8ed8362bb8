"""The common base of time-series worlds: lagged structural equations with an exact oracle.

Every world here is a *structural* time series: at each step ``t`` every variable is computed,
in the topological order of the contemporaneous (lag-0) graph, as

    x_{j,t} = loc_j(t, past, current) + scale_j(t, past, current) * eps_{j,t}

where ``past`` holds ``x_{t-L}, ..., x_{t-1}`` and ``current`` the already computed variables of
step ``t``. A world only supplies ``loc`` and ``scale`` (:meth:`TimeSeriesWorld._mechanism`),
the standardised exogenous noise ``eps`` and its window graph; this base owns the simulation loop,
interventions over time windows, noise abduction and the counterfactual.

The counterfactual of a trajectory under interventions is exact (Pearl's three steps, each visible):
*abduction* — the trajectory keeps its exogenous noise ``eps`` (T, d) and the ``L`` values before
``t = 0``, and :meth:`TimeSeriesWorld.abduct` recovers the noise from the values alone; *action* —
the interventions become a per-(t, j) schedule; *prediction* — the same simulation loop runs with
the same noise, so every value downstream in time is recomputed and nothing else changes (with no
intervention the trajectory is reproduced bit for bit).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from latentscm._validation import as_generator, check_array, check_choice, check_names, check_number
from latentscm.graph import UnknownNodeError
from latentscm.interventions import Do, Intervention, Scale, Shift

__all__ = [
    "TimeIntervention",
    "TimeSeriesWorld",
    "Trajectory",
    "as_time_interventions",
    "contemporaneous_layers",
]


@dataclass(frozen=True)
class TimeIntervention:
    """An intervention on one variable over the time steps ``start <= t < stop``.

    Parameters
    ----------
    target: variable name.
    intervention: :class:`~latentscm.interventions.Do` (hard: the mechanism is replaced by a
        constant), :class:`~latentscm.interventions.Shift` or :class:`~latentscm.interventions.Scale`
        (soft: the mechanism's output, noise included, is shifted or scaled). A plain number is
        ``Do(number)``.
    start: first intervened step (default 0).
    stop: one past the last intervened step (default: the end of the trajectory).
    """

    target: str
    intervention: Union[Intervention, float]  # noqa: UP007 - evaluated dataclass annotation
    start: int = 0
    stop: Union[int, None] = None  # noqa: UP007

    def __post_init__(self) -> None:
        if not isinstance(self.target, str):
            raise TypeError(f"The 'target' of a TimeIntervention must be a variable name. Got {self.target!r}.")
        value = self.intervention
        if not isinstance(value, Intervention):
            value = Do(check_number(value, "intervention", "TimeIntervention"))
        if not isinstance(value, (Do, Shift, Scale)):
            raise TypeError(f"The 'intervention' of a TimeIntervention must be Do, Shift, Scale or a number. "
                            f"Got {value!r}.")
        for name, part in (("value", getattr(value, "value", None)), ("delta", getattr(value, "delta", None)),
                           ("factor", getattr(value, "factor", None))):
            if isinstance(part, np.ndarray):
                raise ValueError(f"A TimeIntervention takes a scalar {name}, not a per-sample array.")
        object.__setattr__(self, "intervention", value)
        start = check_number(self.start, "start", "TimeIntervention", low=0, integer=True)
        object.__setattr__(self, "start", start)
        if self.stop is not None:
            stop = check_number(self.stop, "stop", "TimeIntervention", low=start + 1, integer=True)
            object.__setattr__(self, "stop", stop)


InterventionsLike = Union[Mapping[str, Any], Iterable[TimeIntervention], None]  # noqa: UP007


def as_time_interventions(interventions: InterventionsLike) -> tuple[TimeIntervention, ...]:
    """Normalise interventions: ``None``; a mapping ``{name: number | Do | Shift | Scale}`` (over
    the whole trajectory); or a sequence of :class:`TimeIntervention`."""
    if interventions is None:
        return ()
    if isinstance(interventions, Mapping):
        return tuple(TimeIntervention(name, value) for name, value in interventions.items())
    if isinstance(interventions, (str, bytes)):
        raise TypeError("The 'interventions' argument must be a mapping {name: value} or a sequence of "
                        f"TimeIntervention. Got the string {interventions!r}.")
    try:
        items = tuple(interventions)
    except TypeError:
        raise TypeError("The 'interventions' argument must be a mapping {name: value} or a sequence of "
                        f"TimeIntervention. Got {interventions!r}.") from None
    for item in items:
        if not isinstance(item, TimeIntervention):
            raise TypeError("The 'interventions' argument must hold TimeIntervention objects. "
                            f"Got {item!r}.")
    return items


@dataclass(frozen=True)
class Trajectory:
    """One simulated multivariate time series and everything needed to replay it.

    Attributes
    ----------
    values: float array (T, d), columns in ``var_names`` order.
    noise: float array (T, d): the standardised exogenous noise ``eps`` that produced ``values``.
    initial: float array (L, d): the values of the ``L`` steps before ``t = 0`` (after burn-in).
    var_names: variable names (d,).
    interventions: the interventions active in this trajectory (empty for an observational one).
    context: exogenous per-trajectory arrays the mechanisms read (e.g. ``"regime"`` (T,) labels,
        ``"factors"`` (K,)); kept unchanged by counterfactuals.
    root_causes: intervened (faulty) variables of a fault-injected trajectory.
    fault_onset: the first faulty step, or ``None``.

    The arrays are read-only copies of those given (``values``, ``noise`` and ``initial`` as float64,
    the ``context`` arrays with their own dtype), so a replay or counterfactual reads what was simulated.
    """

    values: np.ndarray
    noise: np.ndarray
    initial: np.ndarray
    var_names: tuple[str, ...]
    interventions: tuple[TimeIntervention, ...] = ()
    context: Mapping[str, np.ndarray] = field(default_factory=dict)
    root_causes: tuple[str, ...] = ()
    fault_onset: Union[int, None] = None  # noqa: UP007

    def __post_init__(self) -> None:
        for name in ("values", "noise", "initial"):
            array = np.array(getattr(self, name), dtype=np.float64)
            if not np.all(np.isfinite(array)):  # a replay would stop as a 'divergence' at the bad step
                raise ValueError(f"The {name!r} of a Trajectory must be finite. Got a NaN or infinite value at "
                                 f"index {tuple(int(k) for k in np.argwhere(~np.isfinite(array))[0])}.")
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        object.__setattr__(self, "var_names", tuple(self.var_names))
        if not isinstance(self.context, Mapping):
            raise TypeError(f"The 'context' of a Trajectory must be a mapping {{name: array}}. "
                            f"Got {type(self.context).__name__}.")
        context = {}
        for key, value in self.context.items():
            array = np.array(value)  # a copy: the caller's array may change later
            array.setflags(write=False)
            context[key] = array
        object.__setattr__(self, "context", context)
        # a replay runs as many steps as the noise has: values and noise must be the same (T, d)
        d = len(self.var_names)
        if self.values.ndim != 2 or self.values.shape[1] != d or self.noise.shape != self.values.shape \
                or self.initial.ndim != 2 or self.initial.shape[1] != d:
            raise ValueError(f"A Trajectory needs values (T, d) and noise (T, d) of the same shape and initial (L, d), "
                             f"with d = {d} variables ({list(self.var_names)}). Got values {self.values.shape}, noise "
                             f"{self.noise.shape}, initial {self.initial.shape}.")

    @property
    def n_steps(self) -> int:
        return int(self.values.shape[0])

    @property
    def regime(self) -> np.ndarray | None:
        """Regime labels (T,) for regime-switching worlds, else ``None``."""
        return self.context.get("regime")

    def column(self, name: str) -> np.ndarray:
        """The series (T,) of one variable."""
        if name not in self.var_names:
            raise UnknownNodeError(name, self.var_names, what="variable")
        return self.values[:, self.var_names.index(name)]


def contemporaneous_layers(lag0: np.ndarray, names: Sequence[str]) -> list[np.ndarray]:
    """Groups of variables in topological order of the lag-0 adjacency (d, d); raises on a cycle."""
    remaining = set(range(lag0.shape[0]))
    layers: list[np.ndarray] = []
    while remaining:
        ready = sorted(j for j in remaining if not any(lag0[i, j] for i in remaining if i != j))
        if not ready:
            cyclic = [names[j] for j in sorted(remaining)]
            raise ValueError(f"The contemporaneous (lag 0) graph has a cycle among {cyclic}.")
        layers.append(np.array(ready, dtype=np.intp))
        remaining -= set(ready)
    return layers


@dataclass
class _Schedule:
    """Interventions as arrays (T, d): ``value = where(do_mask, do_value, output * scale + shift)``."""

    do_mask: np.ndarray
    do_value: np.ndarray
    scale: np.ndarray
    shift: np.ndarray

    @classmethod
    def empty(cls, n_steps: int, d: int) -> _Schedule:
        return cls(np.zeros((n_steps, d), bool), np.zeros((n_steps, d)), np.ones((n_steps, d)),
                   np.zeros((n_steps, d)))


class TimeSeriesWorld(ABC):
    """Base class of time-series worlds (see the module docstring for the structural form).

    Subclasses set ``name``, call ``super().__init__(var_names, window)`` with the window graph
    (L+1, d, d), and implement :meth:`_mechanism` and :meth:`_draw_noise` (and optionally
    :meth:`_draw_context`).
    """

    name: str = "timeseries"

    def __init__(self, var_names: Sequence[str], window: np.ndarray, *, burn_in: int = 100) -> None:
        window = np.asarray(window, dtype=np.int64)
        # one string is not a list of names; TimeIntervention targets are strings, so names must be too
        var_names = tuple(str(n) for n in check_names(var_names, "names", type(self).__name__))
        d = len(var_names)
        if window.ndim == 3 and window.shape[1] == window.shape[2] != d:
            raise ValueError(f"{type(self).__name__} has {window.shape[1]} variables but {d} names were given "
                             f"('names' / 'var_names'): {list(var_names)}.")
        if window.ndim != 3 or window.shape[1:] != (d, d):
            raise ValueError(f"The window graph of {type(self).__name__} must be (L+1, {d}, {d}). "
                             f"Got shape {window.shape}.")
        if np.any(np.diagonal(window[0])):
            raise ValueError("The window graph must have no contemporaneous self-loops (window[0, j, j]).")
        self.var_names: tuple[str, ...] = tuple(var_names)
        self._window = (window != 0).astype(np.int64)
        self._window.setflags(write=False)
        self.lag_max = max(int(window.shape[0]) - 1, 1)
        self.burn_in = int(check_number(burn_in, "burn_in", type(self).__name__, low=0, integer=True))
        self._layers = contemporaneous_layers(self._window[0], self.var_names)

    # ------------------------------------------------------------------ oracle API
    @property
    def n_vars(self) -> int:
        return len(self.var_names)

    def graph(self, kind: str = "summary") -> np.ndarray:
        """The true causal graph.

        Parameters
        ----------
        kind: ``"window"`` — int array (L+1, d, d) with ``[tau, i, j] = 1`` for ``x_{i,t-tau} -> x_{j,t}``;
            ``"summary"`` — int array (d, d) with ``[i, j] = 1`` if ``i`` causes ``j`` at some lag
            (the diagonal marks autoregressive self-dependence).
        """
        check_choice(kind, "kind", f"{type(self).__name__}.graph", ("summary", "window"))
        window = np.array(self._window)
        if kind == "window":
            return window
        return (window.sum(axis=0) > 0).astype(np.int64)

    def sample(self, T: int, *, seed: int | np.random.Generator,
               interventions: InterventionsLike = None) -> Trajectory:
        """Simulate ``T`` steps after a burn-in of ``burn_in`` steps from zero.

        Parameters
        ----------
        T: number of steps returned.
        seed: int or numpy Generator (noise, regimes and any other randomness).
        interventions: interventions active in the returned trajectory (see
            :func:`as_time_interventions`); steps are counted from the first returned step.

        Returns
        -------
        Trajectory with ``values`` (T, d) and ``noise`` (T, d).
        """
        owner = f"{type(self).__name__}.sample"
        T = int(check_number(T, "T", owner, low=1, integer=True))
        rng = as_generator(seed)
        total = self.burn_in + T
        noise = self._draw_noise(rng, total)
        context = self._draw_context(rng, total)
        L = self.lag_max
        start = self._initial_state(rng)
        warm = self._simulate(start, noise[: self.burn_in],
                              {k: v[: self.burn_in] if self._per_step(k) else v for k, v in context.items()},
                              None, t_offset=-self.burn_in)
        initial = np.concatenate([start, warm])[-L:]
        context = {k: (v[self.burn_in:] if self._per_step(k) else v) for k, v in context.items()}
        noise = noise[self.burn_in:]
        planned = self._check_interventions(as_time_interventions(interventions), T, owner)
        values = self._simulate(initial, noise, context, self._schedule(planned, T))
        return Trajectory(values, noise, initial, self.var_names, planned, context)

    def counterfactual(self, trajectory: Trajectory, interventions: InterventionsLike = None, *,
                       replace: bool = False) -> Trajectory:
        """The exact counterfactual trajectory: same noise and context, intervened values, every later
        step recomputed.

        Parameters
        ----------
        trajectory: a trajectory of this world.
        interventions: new interventions (mapping or sequence of :class:`TimeIntervention`).
        replace: if False (default) they are applied on top of the trajectory's own interventions (a
            fault stays in place); if True they replace them (``replace=True`` with no interventions
            gives the trajectory the world would have produced without its faults).
        """
        owner = f"{type(self).__name__}.counterfactual"
        if not isinstance(replace, (bool, np.bool_)):
            raise TypeError(f"The 'replace' argument of {owner} must be a bool. Got {replace!r}.")
        self._check_trajectory(trajectory, owner)
        new = self._check_interventions(as_time_interventions(interventions), trajectory.n_steps, owner)
        planned = new if replace else (*trajectory.interventions, *new)
        values = self._simulate(trajectory.initial, trajectory.noise, trajectory.context,
                                self._schedule(planned, trajectory.n_steps))
        return Trajectory(values, trajectory.noise, trajectory.initial, self.var_names, planned,
                          trajectory.context, trajectory.root_causes, trajectory.fault_onset)

    def abduct(self, values: Any, initial: Any, context: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Recover the exogenous noise (T, d) from observed values (T, d) and the ``L`` values before
        them (L, d): ``eps = (x - loc) / scale`` step by step. Exact for steps without interventions
        (under a hard intervention the noise of the intervened entry is not identified).

        ``context`` is the trajectory's (``trajectory.context``): worlds whose mechanisms read it
        (regimes, time, per-sequence factors) need it, its per-step series one entry per step."""
        owner = f"{type(self).__name__}.abduct"
        values = check_array(values, "values", owner, ndim=2)
        initial = check_array(initial, "initial", owner, ndim=2)
        d, L = self.n_vars, self.lag_max
        if values.shape[1] != d or initial.shape != (L, d):
            raise ValueError(f"{owner} expects values (T, {d}) and initial ({L}, {d}). "
                             f"Got {values.shape} and {initial.shape}.")
        history = np.concatenate([initial, values])
        noise = np.empty_like(values)
        if context is not None and not isinstance(context, Mapping):
            raise TypeError(f"The 'context' argument of {owner} must be a mapping (trajectory.context). "
                            f"Got {type(context).__name__}.")
        context = dict(context or {})
        for key, series in context.items():
            if self._per_step(key) and np.shape(series)[:1] != (values.shape[0],):
                raise ValueError(f"The 'context' argument of {owner} has a {key!r} series of shape "
                                 f"{np.shape(series)}; it needs one entry per step ({values.shape[0]},).")
        for t in range(values.shape[0]):
            past = history[t: t + L]
            current = history[t + L]
            for nodes in self._layers:
                try:
                    loc, scale = self._mechanism(t, nodes, past, current, context)
                except KeyError as error:
                    raise ValueError(f"The 'context' argument of {owner} lacks {error.args[0]!r}, which "
                                     f"{type(self).__name__} reads; pass the trajectory's context.") from None
                noise[t, nodes] = (current[nodes] - loc) / scale
        return noise

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _mechanism(self, t: int, nodes: np.ndarray, past: np.ndarray, current: np.ndarray,
                   context: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Location and scale (len(nodes),) of ``nodes`` at step ``t`` (a row index into the per-step
        context arrays, which hold the absolute time where a world needs it).

        ``past`` is (L, d) with ``past[-tau] = x_{t-tau}``; ``current`` (d,) holds the step-``t`` values
        of the earlier contemporaneous layers (other entries are undefined).
        """

    @abstractmethod
    def _draw_noise(self, rng: np.random.Generator, n_steps: int) -> np.ndarray:
        """Standardised exogenous noise (n_steps, d)."""

    def _draw_context(self, rng: np.random.Generator, n_steps: int) -> dict[str, np.ndarray]:
        """Exogenous context arrays; keys listed in ``_per_step_context`` are (n_steps, ...) series."""
        return {}

    def _initial_state(self, rng: np.random.Generator) -> np.ndarray:
        """The ``L`` values (L, d) the burn-in starts from: zeros (drawing nothing from ``rng``)."""
        return np.zeros((self.lag_max, self.n_vars))

    _per_step_context: tuple[str, ...] = ("regime", "time")

    def _per_step(self, key: str) -> bool:
        return key in self._per_step_context

    # ------------------------------------------------------------------ machinery
    def _simulate(self, initial: np.ndarray, noise: np.ndarray, context: Mapping[str, np.ndarray],
                  schedule: _Schedule | None, *, t_offset: int = 0) -> np.ndarray:
        L, d = self.lag_max, self.n_vars
        n_steps = noise.shape[0]
        # NaN until computed: a mechanism that read a value of the current step before its layer was
        # computed would produce NaN and stop at the finiteness check below instead of passing silently.
        history = np.full((L + n_steps, d), np.nan)
        history[:L] = initial
        for t in range(n_steps):
            past = history[t: t + L]
            current = history[t + L]
            for nodes in self._layers:
                loc, scale = self._mechanism(t, nodes, past, current, context)
                value = loc + scale * noise[t, nodes]
                if schedule is not None:
                    value = value * schedule.scale[t, nodes] + schedule.shift[t, nodes]
                    value = np.where(schedule.do_mask[t, nodes], schedule.do_value[t, nodes], value)
                current[nodes] = value
            if not np.all(np.isfinite(current)):
                raise FloatingPointError(f"{type(self).__name__} diverged at step {t + t_offset} "
                                         "(non-finite values); lower the coupling or step size.")
        return history[L:].copy()

    def _check_interventions(self, interventions: tuple[TimeIntervention, ...], n_steps: int,
                             owner: str) -> tuple[TimeIntervention, ...]:
        for item in interventions:
            if item.target not in self.var_names:
                raise UnknownNodeError(item.target, self.var_names, what=f"intervention target of {owner}")
            if item.start >= n_steps:
                raise ValueError(f"An intervention on {item.target!r} of {owner} starts at step {item.start} "
                                 f"but the trajectory has {n_steps} steps.")
        return interventions

    def _schedule(self, interventions: Sequence[TimeIntervention], n_steps: int) -> _Schedule:
        schedule = _Schedule.empty(n_steps, self.n_vars)
        for item in interventions:  # applied in order: a later intervention acts on the earlier result
            j = self.var_names.index(item.target)
            rows = slice(item.start, n_steps if item.stop is None else min(item.stop, n_steps))
            action = item.intervention
            if isinstance(action, Do):
                schedule.do_mask[rows, j] = True
                schedule.do_value[rows, j] = action.value
            elif isinstance(action, Shift):
                schedule.do_value[rows, j] += action.delta
                schedule.shift[rows, j] += action.delta
            else:
                schedule.do_value[rows, j] *= action.factor
                schedule.scale[rows, j] *= action.factor
                schedule.shift[rows, j] *= action.factor
        return schedule

    def _check_trajectory(self, trajectory: Trajectory, owner: str) -> None:
        if not isinstance(trajectory, Trajectory):
            raise TypeError(f"The 'trajectory' argument of {owner} must be a Trajectory. "
                            f"Got {type(trajectory).__name__}.")
        if trajectory.var_names != self.var_names:
            raise ValueError(f"The 'trajectory' argument of {owner} has variables {list(trajectory.var_names)}; "
                             f"this world has {list(self.var_names)}.")
        if trajectory.initial.shape != (self.lag_max, self.n_vars):
            raise ValueError(f"The 'trajectory' argument of {owner} has initial state {trajectory.initial.shape}; "
                             f"expected ({self.lag_max}, {self.n_vars}).")
        for key, series in trajectory.context.items():
            if self._per_step(key) and np.shape(series)[:1] != (trajectory.n_steps,):
                raise ValueError(f"The 'trajectory' argument of {owner} has a {key!r} context series of shape "
                                 f"{np.shape(series)}; it needs one entry per step ({trajectory.n_steps},).")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(d={self.n_vars}, lag_max={self.lag_max})"


def default_names(d: int, prefix: str = "x") -> tuple[str, ...]:
    """``x0, x1, ...``."""
    return tuple(f"{prefix}{j}" for j in range(d))


def random_lagged_support(rng: np.random.Generator, d: int, lag_max: int, edge_prob: float, *,
                          self_lags: bool, contemporaneous_prob: float = 0.0) -> np.ndarray:
    """A random window graph (L+1, d, d): lagged cross edges with ``edge_prob``, lag-1 self edges if
    ``self_lags``, and lag-0 edges along a random order with ``contemporaneous_prob`` (a DAG)."""
    window = np.zeros((lag_max + 1, d, d), dtype=np.int64)
    window[1:] = rng.random((lag_max, d, d)) < edge_prob
    for tau in range(1, lag_max + 1):
        np.fill_diagonal(window[tau], 0)
    if self_lags:
        window[1][np.arange(d), np.arange(d)] = 1
    if contemporaneous_prob > 0:
        order = rng.permutation(d)
        for a in range(d):
            for b in range(a + 1, d):
                if rng.random() < contemporaneous_prob:
                    window[0, order[a], order[b]] = 1
    return window
