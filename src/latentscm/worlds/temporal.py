"""Temporal intervened sequences: a World's factors evolving in time, with known intervention targets.

The data of temporal causal representation learning (Lippe, Magliacane, Löwe, Asano, Cohen & Gavves, ICML
2022, "CITRIS: Causal Identifiability from Temporal Intervened Sequences"; their Temporal Causal3DIdent
generator, phlippe/CITRIS, was read for the dynamics and the intervention policy, not copied). Some factors
of a World, the *causal variables* ``C_1 ... C_V``, follow a first-order dynamic Bayesian network without
instantaneous effects; at each step some of them are intervened on, and which (the intervention targets
``I^{t+1}``, a binary vector) is known; every frame is the World's rendering of the factors.

Each variable lives in a standardised state ``u_i in [-1, 1]`` (the factor's range mapped linearly). One step:

    goal_i = u_i^t                                           (no parent but itself: a random walk)
    goal_i = sin(pi / 2 * sum_k s_k u_{p_k}^t / n_i)         (parents p_1 ... p_{n_i}, signs s_k = +1, -1, +1, ...)
    u_i^{t+1} = reflect(u_i^t + pull * (goal_i - u_i^t) + noise * eps_i^{t+1})     (I_i^{t+1} = 0)
    u_i^{t+1} = d_i^{t+1} ~ U[-1, 1]                                               (I_i^{t+1} = 1: perfect do)

with ``eps ~ N(0, 1)`` and ``reflect`` folding a value back into ``[-1, 1]`` (as Temporal Causal3DIdent moves
each variable half way to the goal its parents set, ``pull = 0.5``). So every variable depends on its own
past, and on its parents' past through the graph ``parents``. Targets are drawn per step: ``"independent"``,
each variable with probability ``intervention_prob``; ``"single"``, with that probability one variable chosen
uniformly, else none (the two policies of the CITRIS benchmarks). Frame 0 draws ``u^0 ~ U[-1, 1]^V``.
With ``noise_coupling = c != 0`` the innovations are heteroscedastic, ``noise * exp(c * goal_i) * eps_i``: their
scale depends on the past through the goal (as the "noise-coupled" processes of Yao, Chen & Zhang, NeurIPS
2022, "Temporally Disentangled Representation Learning", whose identifiability needs transitions that are not
additive Gaussian noise of constant scale; :class:`latentscm.learners.TDRL`).

The rendered factor value is the state mapped to the factor's range and snapped to its grid; the state
itself stays continuous (snapping it each step would freeze a variable whose steps are shorter than half a
grid cell). The World's other factors are drawn once per sequence from its observational distribution and
kept: information no intervention touches (CITRIS's ``psi_0``). The World's own mechanisms between the
variables are not used: the temporal process replaces them.

Everything is exact: a sequence keeps its innovations ``eps``, its intervention draws ``d`` and its targets,
so :meth:`TemporalWorld.counterfactual` reruns it under ``do(C_i = v)`` at step ``t`` (Pearl's three steps:
the noise is the abducted exogenous state, the action overrides one step, prediction reruns the rest), and
:meth:`TemporalWorld.triplets` renders CITRIS's triplet ground truth, the image whose variables in a mask come
from a second image and the rest from a first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_choice, check_number

__all__ = ["TemporalWorld", "TemporalBatch", "Triplets", "TARGET_POLICIES", "OTHERS", "reflect", "default_variables",
           "check_temporal_world"]

#: How the intervention targets of each step are drawn.
TARGET_POLICIES = ("independent", "single")
#: What the world's other factors do over a sequence: keep their values, or follow the variables through the
#: world's own mechanisms at every frame.
OTHERS = ("fixed", "mechanisms")


def reflect(x: np.ndarray) -> np.ndarray:
    """Fold values back into ``[-1, 1]`` by reflection at both ends (period 4)."""
    y = np.mod(np.asarray(x, dtype=np.float64) + 1.0, 4.0)
    return np.where(y > 2.0, 4.0 - y, y) - 1.0


def default_variables(world: Any) -> list[str]:
    """The factors of ``world`` that can be causal variables by default: every factor but the categorical ones
    (a grid with labels, e.g. a shape) and those with fewer than 3 values."""
    names = []
    for name in world.factor_names:
        spec = world.spec(name)
        if spec.labels is None and (spec.size is None or spec.size >= 3):
            names.append(name)
    return names


@dataclass(frozen=True)
class TemporalBatch:
    """N sequences of T frames.

    ``images`` (N, T, C, H, W) float32; ``factors`` (N, T, K) the rendered factors in ``factor_names`` order;
    ``state`` (N, T, V) each variable's standardised state in [-1, 1]; ``targets`` (N, T, V) bool, the
    variables intervened on at each step (``targets[:, 0]`` is False: frame 0 has no transition); ``noise``
    (N, T, V) the innovations ``eps``; ``draws`` (N, T, V) the initial state (``draws[:, 0]``) and the values an
    intervention sets; ``fixed`` (N, K) the factors each sequence
    keeps (the variables' columns are unused); ``render_seeds`` (N, T) int64 or None.
    """

    images: np.ndarray
    factors: np.ndarray
    state: np.ndarray
    targets: np.ndarray
    noise: np.ndarray
    draws: np.ndarray
    fixed: np.ndarray
    render_seeds: np.ndarray | None
    factor_names: tuple[str, ...]
    variables: tuple[str, ...]
    #: the exogenous noise (name -> (N,)) of each sequence's sample of the world (its other factors)
    base_noise: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def length(self) -> int:
        return int(self.images.shape[1])

    def variable_values(self) -> np.ndarray:
        """The causal variables' rendered values (N, T, V), in ``variables`` order."""
        columns = [self.factor_names.index(name) for name in self.variables]
        return self.factors[:, :, columns]

    def transitions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair of consecutive frames: ``(x^t, x^{t+1}, I^{t+1})``, arrays (N (T - 1), C, H, W) twice and
        (N (T - 1), V) bool, sequence by sequence."""
        n, t = self.images.shape[:2]
        first = self.images[:, :-1].reshape(n * (t - 1), *self.images.shape[2:])
        second = self.images[:, 1:].reshape(n * (t - 1), *self.images.shape[2:])
        return first, second, self.targets[:, 1:].reshape(n * (t - 1), -1)


@dataclass(frozen=True)
class Triplets:
    """CITRIS's triplets: ``first``, ``second`` and ``combined`` (N, C, H, W) images, where ``combined`` shows
    the variables in ``mask`` (N, V) bool at their values in ``second`` and everything else as in ``first``;
    the factors of the three (N, K) each."""

    first: np.ndarray
    second: np.ndarray
    combined: np.ndarray
    mask: np.ndarray
    first_factors: np.ndarray
    second_factors: np.ndarray
    combined_factors: np.ndarray
    factor_names: tuple[str, ...]
    variables: tuple[str, ...]


def _check_world(world: Any, owner: str) -> None:
    from latentscm.worlds.base import World

    if not isinstance(world, World):
        raise TypeError(f"The 'world' argument of {owner} must be a World (e.g. latentscm.worlds.make('hue-sprites'))."
                        f" Got {type(world).__name__}.")
    if world.n_domains > 1:
        raise ValueError(f"{owner}: world {world.name!r} has {world.n_domains} domains; temporal sequences are drawn "
                         f"from a single-domain world.")


class TemporalWorld:
    """A World whose ``variables`` follow a temporal causal process with known interventions (module docstring).

    Parameters
    ----------
    world : World
        The world that renders each frame.
    variables : sequence of str or None, default None
        The factors that are causal variables (``None``: :func:`default_variables`). The others are fixed per
        sequence.
    parents : mapping or None, default None
        ``{variable: [lag-1 parents]}``, each variable's parents at the previous step besides itself (every
        variable depends on its own past). ``None``: a chain, ``variables[i - 1] -> variables[i]``. Variables
        not named have no other parent; ``{}``: none at all (independent reflected random walks). With the default
        ``pull`` and ``noise`` a chain's variables correlate strongly within a sequence (0.77-0.94 between hue-sprites'
        four, ``benchmarks/bench_tdrl.py``), so its frames lie near a curve: learners without interventions see
        little that separates the variables.
    pull : float in (0, 1], default 0.5
        How far each step moves a variable towards the goal its parents set.
    noise : float >= 0, default 0.1
        Standard deviation of each step's innovation, in the standardised state (range [-1, 1]).
    intervention_prob : float in [0, 1], default 0.2
        Per step: each variable's probability of an intervention (``"independent"``), or the probability that
        one variable is intervened on (``"single"``).
    targets : {"independent", "single"}, default "independent"
        The intervention policy.
    others : {"fixed", "mechanisms"}, default "fixed"
        The world's other factors: drawn once per sequence and kept, or (``"mechanisms"``) recomputed at every frame
        by the world's own mechanisms from the variables' values and the sequence's exogenous noise (the world's
        exact counterfactual of its sample under ``do(variables)``), so that e.g. a pendulum's shadow follows its
        angle and light within each frame. Such factors are effects within a frame, not causal variables of the
        process; a random renderer then keeps one rendering seed per sequence.
    sequence_length : int, default 50
        Frames of the sequences that :meth:`transitions` (a learner's training data) cuts into transitions.
    noise_coupling : float, default 0.0
        ``c`` in [-4, 4]: each innovation's scale is ``noise * exp(c * goal_i)`` (0: additive noise of constant scale).
    """

    def __init__(self, world: Any, variables: Sequence[str] | None = None,
                 parents: Mapping[str, Sequence[str]] | None = None, *, pull: float = 0.5, noise: float = 0.1,
                 intervention_prob: float = 0.2, targets: str = "independent", others: str = "fixed",
                 sequence_length: int = 50, noise_coupling: float = 0.0):
        owner = type(self).__name__
        _check_world(world, owner)
        self.world = world
        names = list(world.factor_names)
        if variables is None:
            variables = default_variables(world)
        if isinstance(variables, str) or not isinstance(variables, Sequence):
            raise TypeError(f"The 'variables' argument of {owner} must be a list of factor names. Got {variables!r}.")
        variables = [str(v) for v in variables]
        if not variables:
            raise ValueError(f"The 'variables' argument of {owner} is empty; name at least one factor of world "
                             f"{world.name!r} ({', '.join(names)}).")
        for v in variables:
            if v not in names:
                raise ValueError(f"The 'variables' argument of {owner} names {v!r}, not a factor of world "
                                 f"{world.name!r} ({', '.join(names)}).")
            spec = world.spec(v)
            if spec.labels is not None:
                raise ValueError(f"The 'variables' argument of {owner} names {v!r}, a categorical factor "
                                 f"({', '.join(spec.labels)}); causal variables here move continuously.")
        if len(set(variables)) != len(variables):
            raise ValueError(f"The 'variables' argument of {owner} repeats a factor: {variables}.")
        self.variables = tuple(variables)
        if parents is None:
            parents = {variables[i]: [variables[i - 1]] for i in range(1, len(variables))}
        if not isinstance(parents, Mapping):
            raise TypeError(f"The 'parents' argument of {owner} must map variables to lists of parents. "
                            f"Got {parents!r}.")
        checked: dict[str, list[str]] = {}
        for child, listed in parents.items():
            if child not in self.variables:
                raise ValueError(f"The 'parents' argument of {owner} names {child!r}, not one of the variables "
                                 f"{list(self.variables)}.")
            if isinstance(listed, str) or not isinstance(listed, Sequence):
                raise TypeError(f"The 'parents' argument of {owner}: the parents of {child!r} must be a list of "
                                f"variables. Got {listed!r}.")
            listed = [str(p) for p in listed]
            for parent in listed:
                if parent not in self.variables:
                    raise ValueError(f"The 'parents' argument of {owner}: {parent!r}, a parent of {child!r}, is not "
                                     f"one of the variables {list(self.variables)}.")
                if parent == child:
                    raise ValueError(f"The 'parents' argument of {owner} lists {child!r} as its own parent; every "
                                     f"variable depends on its own past already.")
            if len(set(listed)) != len(listed):
                raise ValueError(f"The 'parents' argument of {owner} repeats a parent of {child!r}: {listed}.")
            if listed:
                checked[child] = listed
        self.parents = {v: checked[v] for v in self.variables if v in checked}
        self.pull = check_number(pull, "pull", owner, low=0.0, high=1.0, low_inclusive=False)
        self.noise = check_number(noise, "noise", owner, low=0.0)
        self.intervention_prob = check_number(intervention_prob, "intervention_prob", owner, low=0.0, high=1.0)
        self.targets = check_choice(targets, "targets", owner, TARGET_POLICIES)
        self.others = check_choice(others, "others", owner, OTHERS)
        self.sequence_length = check_number(sequence_length, "sequence_length", owner, low=2, integer=True)
        self.noise_coupling = check_number(noise_coupling, "noise_coupling", owner, low=-4.0, high=4.0)
        self._columns = np.array([names.index(v) for v in self.variables], dtype=np.intp)
        index = {v: i for i, v in enumerate(self.variables)}
        self._parent_index = [np.array([index[p] for p in self.parents.get(v, [])], dtype=np.intp)
                              for v in self.variables]
        self._signs = [np.where(np.arange(len(p)) % 2 == 0, 1.0, -1.0) for p in self._parent_index]

    # ------------------------------------------------------------------ description
    @property
    def name(self) -> str:
        return self.world.name

    @property
    def factor_names(self) -> list[str]:
        return list(self.world.factor_names)

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.world.image_shape)

    @property
    def n_variables(self) -> int:
        return len(self.variables)

    def describe(self) -> dict[str, Any]:
        """The process as JSON (without the world): ``TemporalWorld(world, **description)`` rebuilds it."""
        description = {"variables": list(self.variables), "parents": {k: list(v) for k, v in self.parents.items()},
                       "pull": self.pull, "noise": self.noise, "intervention_prob": self.intervention_prob,
                       "targets": self.targets, "sequence_length": self.sequence_length}
        if self.others != "fixed":  # recorded where it departs from the default
            description["others"] = self.others
        if self.noise_coupling != 0.0:
            description["noise_coupling"] = self.noise_coupling
        return description

    def temporal_graph(self) -> np.ndarray:
        """(V, V) bool: entry ``[i, j]`` is the edge ``C_i^t -> C_j^{t+1}`` (the diagonal is always True)."""
        adjacency = np.eye(self.n_variables, dtype=bool)
        for j, parents in enumerate(self._parent_index):
            adjacency[parents, j] = True
        return adjacency

    def __repr__(self) -> str:
        edges = ", ".join(f"{p}->{c}" for c, ps in self.parents.items() for p in ps) or "none"
        return (f"TemporalWorld({self.world.name!r}, variables={list(self.variables)}, edges: {edges}, "
                f"pull={self.pull:g}, noise={self.noise:g}, intervention_prob={self.intervention_prob:g}, "
                f"targets={self.targets!r}, others={self.others!r}"
                + (f", noise_coupling={self.noise_coupling:g})" if self.noise_coupling else ")"))

    # ------------------------------------------------------------------ state <-> factors
    def to_factor_values(self, state: np.ndarray) -> np.ndarray:
        """Rendered values (..., V) of states (..., V) in [-1, 1]: mapped to each factor's range, snapped."""
        state = np.asarray(state, dtype=np.float64)
        out = np.empty_like(state)
        for i, name in enumerate(self.variables):
            spec = self.world.spec(name)
            out[..., i] = spec.snap(spec.low + (state[..., i] + 1.0) / 2.0 * (spec.high - spec.low))
        return out

    def to_state(self, values: Mapping[str, Any], owner: str, n: int | None = None) -> dict[int, np.ndarray]:
        """``{variable: value in factor units}`` as ``{variable index: state in [-1, 1]}`` (a scalar, or ``n`` values,
        one per sequence); errors name the variable and the value."""
        if not isinstance(values, Mapping) or not values:
            raise ValueError(f"{owner}: the interventions must be a non-empty mapping {{variable: value}}. "
                             f"Got {values!r}.")
        out = {}
        for name, value in values.items():
            if name not in self.variables:
                raise ValueError(f"{owner}: {name!r} is not a causal variable of this TemporalWorld "
                                 f"({', '.join(self.variables)}).")
            spec = self.world.spec(name)
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{owner}: the value of {name!r} must be a number or an array of numbers. "
                                 f"Got {value!r}.") from None
            if array.ndim > 1 or (array.ndim == 1 and (n is None or array.shape != (n,))):
                raise ValueError(f"{owner}: the value of {name!r} must be a scalar or one value per sequence "
                                 f"({'(N,)' if n is None else (n,)}). Got shape {array.shape}.")
            if not np.all(np.isfinite(array)) or np.any(array < spec.low) or np.any(array > spec.high):
                raise ValueError(f"{owner}: the value of {name!r} must lie in its range [{spec.low:g}, "
                                 f"{spec.high:g}]. Got {value!r}.")
            out[self.variables.index(name)] = 2.0 * (array - spec.low) / (spec.high - spec.low) - 1.0
        return out

    # ------------------------------------------------------------------ simulation
    def _goal(self, state: np.ndarray) -> np.ndarray:
        """Each variable's goal (N, V) from the previous state (N, V)."""
        goal = state.copy()
        for j, (parents, signs) in enumerate(zip(self._parent_index, self._signs)):
            if parents.size:
                goal[:, j] = np.sin(np.pi / 2.0 * (state[:, parents] * signs).sum(axis=1) / parents.size)
        return goal

    def _simulate(self, noise: np.ndarray, draws: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """States (N, T, V) from the exogenous values: ``draws[:, 0]`` is the initial state, ``draws[:, t]`` the value
        of each variable intervened on at step t (``targets[:, t]``), ``noise`` the innovations."""
        n, length, v = noise.shape
        state = np.empty((n, length, v))
        state[:, 0] = draws[:, 0]
        for t in range(1, length):
            previous = state[:, t - 1]
            goal = self._goal(previous)
            scale = self.noise * np.exp(self.noise_coupling * goal) if self.noise_coupling else self.noise
            moved = reflect(previous + self.pull * (goal - previous) + scale * noise[:, t])
            state[:, t] = np.where(targets[:, t], draws[:, t], moved)
        return state

    def _fixed_factors(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(n, K) observational factors of the world, unrendered (the variables' columns are replaced later), and
        their exogenous noise."""
        factors, noise = self.world._draw(n, seed=rng)[:2]
        return np.asarray(factors, dtype=np.float64), {k: np.asarray(v) for k, v in noise.items()}

    def _draw_targets(self, rng: np.random.Generator, n: int, length: int) -> np.ndarray:
        v = self.n_variables
        targets = np.zeros((n, length, v), dtype=bool)
        if self.targets == "independent":
            targets[:, 1:] = rng.random((n, length - 1, v)) < self.intervention_prob
        else:
            hit = rng.random((n, length - 1)) < self.intervention_prob
            which = rng.integers(0, v, size=(n, length - 1))
            targets[:, 1:] = hit[..., None] & (which[..., None] == np.arange(v))
        return targets

    def _frames(self, state: np.ndarray, fixed: np.ndarray, render_seeds: np.ndarray | None,
                base_noise: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Images (N, T, C, H, W) and factors (N, T, K) of states (N, T, V) with the per-sequence ``fixed`` factors
        (N, K) and their exogenous noise."""
        n, length = state.shape[:2]
        values = self.to_factor_values(state).reshape(n * length, -1)
        factors = np.repeat(fixed[:, None, :], length, axis=1).reshape(n * length, -1)
        if self.others == "mechanisms":
            from latentscm.worlds.base import Batch

            noise = {k: np.repeat(v, length, axis=0) for k, v in base_noise.items()}
            placeholder = np.zeros((n * length, 1, 1, 1), np.float32)  # the counterfactual reads factors and noise
            batch = Batch(placeholder, factors, noise, tuple(self.world.factor_names))
            result = self.world.counterfactual(batch, {v: values[:, i] for i, v in enumerate(self.variables)})
            images, factors = result.images, result.factors
        else:
            factors[:, self._columns] = values
            seeds = None if render_seeds is None else render_seeds.reshape(-1)
            images = self.world.render(factors, render_seeds=seeds)
        return images.reshape(n, length, *images.shape[1:]), factors.reshape(n, length, -1)

    def sample(self, n: int, length: int, *, seed: int | np.random.Generator) -> TemporalBatch:
        """``n`` sequences of ``length`` frames (seeded)."""
        owner = f"{type(self).__name__}.sample"
        n = check_number(n, "n", owner, low=1, integer=True)
        length = check_number(length, "length", owner, low=2, integer=True)
        rng = as_generator(seed)
        v = self.n_variables
        fixed, base_noise = self._fixed_factors(n, rng)
        initial = rng.uniform(-1.0, 1.0, size=(n, v))
        noise = rng.standard_normal((n, length, v))
        noise[:, 0] = 0.0
        draws = rng.uniform(-1.0, 1.0, size=(n, length, v))
        targets = self._draw_targets(rng, n, length)
        draws[:, 0] = initial  # frame 0 is the initial draw (never a target)
        render_seeds = rng.integers(0, 2 ** 31 - 1, size=(n, length)) if self.world.render_random else None
        state = self._simulate(noise, draws, targets)
        images, factors = self._frames(state, fixed, render_seeds, base_noise)
        return TemporalBatch(images, factors, state, targets, noise, draws, fixed, render_seeds,
                             tuple(self.world.factor_names), self.variables, base_noise)

    def counterfactual(self, batch: TemporalBatch, interventions: Mapping[str, Any], *, at: int) -> TemporalBatch:
        """The exact counterfactual of every sequence of ``batch`` had ``do(variable = value)`` (values in factor
        units, a scalar or one per sequence) happened at step ``at``: same innovations, intervention draws and
        targets, the intervened variables set at step ``at``, every later step recomputed; steps before ``at`` are
        unchanged. The returned batch records the intervention as one of its own (targets True and the value as the
        draw at step ``at``; at step 0 the value is the initial state), so counterfactuals compose:
        ``counterfactual(counterfactual(b, a, at=s), c, at=t)`` keeps ``a`` at ``s``."""
        owner = f"{type(self).__name__}.counterfactual"
        if not isinstance(batch, TemporalBatch) or batch.variables != self.variables \
                or batch.factor_names != tuple(self.world.factor_names):
            raise ValueError(f"{owner}: 'batch' must be a TemporalBatch drawn from this TemporalWorld "
                             f"(variables {list(self.variables)}).")
        at = check_number(at, "at", owner, low=0, high=batch.length - 1, integer=True)
        draws, targets = batch.draws.copy(), batch.targets.copy()
        for i, value in self.to_state(interventions, owner, n=len(batch)).items():
            draws[:, at, i] = value
            if at > 0:  # step 0 has no transition: the value is its initial state
                targets[:, at, i] = True
        state = self._simulate(batch.noise, draws, targets)
        images, factors = self._frames(state, batch.fixed, batch.render_seeds, batch.base_noise or {})
        return TemporalBatch(images, factors, state, targets, batch.noise, draws, batch.fixed,
                             batch.render_seeds, batch.factor_names, self.variables, batch.base_noise)

    def independent_frames(self, n: int, *, seed: int | np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` single frames with every variable drawn independently and uniformly over its range (the other
        factors from the world): images (n, C, H, W) and factors (n, K). Scoring codes on these separates
        what a code holds of each variable from what the dynamics make the variables share."""
        owner = f"{type(self).__name__}.independent_frames"
        n = check_number(n, "n", owner, low=1, integer=True)
        rng = as_generator(seed)
        fixed, base_noise = self._fixed_factors(n, rng)
        state = rng.uniform(-1.0, 1.0, size=(n, 1, self.n_variables))
        seeds = rng.integers(0, 2 ** 31 - 1, size=(n, 1)) if self.world.render_random else None
        images, factors = self._frames(state, fixed, seeds, base_noise)
        return images[:, 0], factors[:, 0]

    def triplets(self, n: int, *, seed: int | np.random.Generator) -> Triplets:
        """``n`` triplets (CITRIS's evaluation): two independent frames and the true image that takes a random
        non-empty, not-full set of variables (uniform over such masks) from the second and all else from the
        first."""
        owner = f"{type(self).__name__}.triplets"
        n = check_number(n, "n", owner, low=1, integer=True)
        rng = as_generator(seed)
        v = self.n_variables
        if v < 2:
            raise ValueError(f"{owner}: triplets mix variables of two images and this TemporalWorld has one "
                             f"variable ({self.variables[0]!r}).")
        fixed, base_noise = self._fixed_factors(2 * n, rng)
        fixed = fixed.reshape(n, 2, -1)
        noise_of = [{k: v.reshape(n, 2, *v.shape[1:])[:, j] for k, v in base_noise.items()} for j in (0, 1)]
        state = rng.uniform(-1.0, 1.0, size=(n, 2, v))
        codes = rng.integers(1, 2 ** v - 1, size=n)  # a mask per row, never empty nor full
        mask = ((codes[:, None] >> np.arange(v)) & 1).astype(bool)
        mixed = np.where(mask, state[:, 1], state[:, 0])
        seeds = rng.integers(0, 2 ** 31 - 1, size=(n, 3)) if self.world.render_random else None
        first, first_factors = self._frames(state[:, :1], fixed[:, 0], None if seeds is None else seeds[:, :1],
                                            noise_of[0])
        second, second_factors = self._frames(state[:, 1:], fixed[:, 1], None if seeds is None else seeds[:, 1:2],
                                              noise_of[1])
        combined, combined_factors = self._frames(mixed[:, None], fixed[:, 0],
                                                  None if seeds is None else seeds[:, 2:], noise_of[0])
        return Triplets(first[:, 0], second[:, 0], combined[:, 0], mask, first_factors[:, 0], second_factors[:, 0],
                        combined_factors[:, 0], tuple(self.world.factor_names), self.variables)

    def transitions(self, n: int, *, seed: int | np.random.Generator, length: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``n`` training transitions ``(x^t, x^{t+1}, I^{t+1})`` from ``ceil(n / (length - 1))`` sequences of
        ``length`` frames (default ``sequence_length``; the last sequence cut): images (n, C, H, W) twice, targets
        (n, V) bool, and the factors of ``x^t`` (n, K)."""
        owner = f"{type(self).__name__}.transitions"
        n = check_number(n, "n", owner, low=1, integer=True)
        length = self.sequence_length if length is None else check_number(length, "length", owner, low=2,
                                                                            integer=True)
        sequences = -(-n // (length - 1))
        batch = self.sample(sequences, length, seed=seed)
        first, second, targets = batch.transitions()
        factors = batch.factors[:, :-1].reshape(sequences * (length - 1), -1)
        return first[:n], second[:n], targets[:n], factors[:n]


def check_temporal_world(value: Any, owner: str, argument: str = "temporal_world") -> TemporalWorld:
    """``value`` if it is a TemporalWorld; else a TypeError naming ``argument`` of ``owner`` (the scorers of temporal
    learners need the process, not only its world)."""
    if not isinstance(value, TemporalWorld):
        raise TypeError(f"The {argument!r} argument of {owner} must be a TemporalWorld (the causal variables and "
                        f"their process are scored, not only the world). Got {type(value).__name__}.")
    return value
