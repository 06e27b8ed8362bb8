"""Sequences generated from per-sequence factors, for disentangled sequence learners (DTS).

Li et al. (KDD 2022), "Towards learning disentangled representations for time series", learn a
latent code per sequence; this world gives them known factors. Each sequence draws

    frequency ~ U[0.02, 0.1] cycles/step, amplitude ~ U[0.5, 2], trend ~ U[-1, 1],
    noise_level ~ U[0.05, 0.3], waveform ~ {sine, square, triangle, sawtooth}

and its channels fall in two **groups** driven by disjoint factor subsets: ``oscillation``
channels ``amplitude * wave(frequency * t + phase_c)`` (frequency, amplitude, waveform) and
``trend`` channels ``trend * gain_c * t / 100`` (trend); ``noise_level`` scales the AR(1) noise
of every channel:

    x_{c,t} = s_c(t) + u_{c,t},   u_{c,t} = phi u_{c,t-1} + noise_level * eps_{c,t}.

So ``x_{c,t}`` has location ``s_c(t) + phi (x_{c,t-1} - s_c(t-1))`` and scale ``noise_level``; the
window graph holds the lag-1 self edges. Factors are exogenous context: a counterfactual given a
mapping ``{factor: value}`` regenerates the sequence with the same noise and the new factors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.graph import UnknownNodeError
from latentscm.worlds.timeseries.base import InterventionsLike, TimeSeriesWorld, Trajectory

__all__ = ["FactorSequences", "SequenceBatch", "WAVEFORMS"]

WAVEFORMS = ("sine", "square", "triangle", "sawtooth")
FACTOR_NAMES = ("frequency", "amplitude", "trend", "noise_level", "waveform")
_RANGES = {"frequency": (0.02, 0.1), "amplitude": (0.5, 2.0), "trend": (-1.0, 1.0), "noise_level": (0.05, 0.3)}


def _wave(kind: np.ndarray | int, phase: np.ndarray) -> np.ndarray:
    """Unit waveforms of a phase in cycles: sine, square, triangle, sawtooth (index ``kind``)."""
    cycle = phase - np.floor(phase)
    sine = np.sin(2 * np.pi * phase)
    square = np.where(cycle < 0.5, 1.0, -1.0)
    triangle = 4.0 * np.abs(cycle - 0.5) - 1.0
    sawtooth = 2.0 * cycle - 1.0
    return np.choose(np.asarray(kind, dtype=np.intp), [sine, square, triangle, sawtooth])


@dataclass(frozen=True)
class SequenceBatch:
    """Many sequences: ``values`` (N, T, d), ``factors`` (N, K) in ``factor_names`` order, ``noise`` (N, T, d)."""

    values: np.ndarray
    factors: np.ndarray
    noise: np.ndarray
    factor_names: tuple[str, ...]
    var_names: tuple[str, ...]


class FactorSequences(TimeSeriesWorld):
    """Multichannel sequences from per-sequence factors, in channel groups.

    Parameters
    ----------
    n_oscillation: channels in the ``oscillation`` group.
    n_trend: channels in the ``trend`` group.
    ar: AR(1) coefficient ``phi`` of the noise, in [0, 1).
    seed: seed of the channel phases and gains.
    burn_in: steps dropped before ``t = 0``.
    """

    name = "factor_sequences"
    factor_names = FACTOR_NAMES
    _per_step_context = ("time",)

    def __init__(self, n_oscillation: int = 3, n_trend: int = 2, *, ar: float = 0.5, seed: int = 0,
                 burn_in: int = 20) -> None:
        owner = "FactorSequences"
        n_osc = int(check_number(n_oscillation, "n_oscillation", owner, low=1, integer=True))
        n_trend = int(check_number(n_trend, "n_trend", owner, low=1, integer=True))
        self.ar = check_number(ar, "ar", owner, low=0, high=1, high_inclusive=False)
        rng = as_generator(seed)
        self.phases = rng.uniform(0, 1, n_osc)
        self.gains = rng.uniform(0.5, 1.5, n_trend) * rng.choice([-1.0, 1.0], n_trend)
        names = [f"osc{k}" for k in range(n_osc)] + [f"trend{k}" for k in range(n_trend)]
        self.groups: dict[str, tuple[str, ...]] = {"oscillation": tuple(names[:n_osc]),
                                                   "trend": tuple(names[n_osc:])}
        self.group_factors: dict[str, tuple[str, ...]] = {
            "oscillation": ("frequency", "amplitude", "waveform", "noise_level"),
            "trend": ("trend", "noise_level")}
        d = n_osc + n_trend
        window = np.zeros((2, d, d), dtype=np.int64)
        window[1][np.arange(d), np.arange(d)] = 1
        super().__init__(names, window, burn_in=burn_in)
        self._n_osc = n_osc

    def factor_graph(self) -> np.ndarray:
        """Int array (K, d): ``[k, c] = 1`` if factor k drives channel c."""
        graph = np.zeros((len(FACTOR_NAMES), self.n_vars), dtype=np.int64)
        for group, channels in self.groups.items():
            for factor in self.group_factors[group]:
                for channel in channels:
                    graph[FACTOR_NAMES.index(factor), self.var_names.index(channel)] = 1
        return graph

    def sample_factors(self, n: int, *, seed: int | np.random.Generator) -> np.ndarray:
        """Factors (n, K) from the prior (waveform as an index into :data:`WAVEFORMS`)."""
        n = int(check_number(n, "n", "FactorSequences.sample_factors", low=1, integer=True))
        rng = as_generator(seed)
        columns = [rng.uniform(*_RANGES[name], n) if name != "waveform" else
                   rng.integers(0, len(WAVEFORMS), n).astype(np.float64) for name in FACTOR_NAMES]
        return np.stack(columns, axis=1)

    def signal(self, factors: np.ndarray, time: np.ndarray) -> np.ndarray:
        """Noise-free channels (len(time), d) for one factor vector (K,)."""
        f = dict(zip(FACTOR_NAMES, factors))
        time = np.asarray(time, dtype=np.float64)[:, None]
        osc = f["amplitude"] * _wave(int(f["waveform"]), f["frequency"] * time + self.phases)
        trend = f["trend"] * self.gains * time / 100.0
        return np.concatenate([osc, trend], axis=1)

    def sample_sequences(self, n: int, T: int, *, seed: int | np.random.Generator) -> SequenceBatch:
        """``n`` sequences of ``T`` steps with factors from the prior."""
        owner = "FactorSequences.sample_sequences"
        n = int(check_number(n, "n", owner, low=1, integer=True))
        rng = as_generator(seed)
        runs = [self.sample(T, seed=child) for child in rng.spawn(n)]
        return SequenceBatch(np.stack([r.values for r in runs]), np.stack([r.context["factors"] for r in runs]),
                             np.stack([r.noise for r in runs]), FACTOR_NAMES, self.var_names)

    def counterfactual(self, trajectory: Trajectory, interventions: InterventionsLike = None, *,
                       replace: bool = False) -> Trajectory:
        """As the base, and a mapping may also name factors (``{"frequency": 0.05}``): the sequence is
        regenerated with the same noise and the intervened factors (its burn-in included, so the
        values before ``t = 0`` move too). Factor values must lie on the ranges of the prior (module
        docstring); ``waveform`` is an index into :data:`WAVEFORMS`."""
        channel_part: Any = interventions
        factors = np.array(trajectory.context.get("factors", np.zeros(len(FACTOR_NAMES))), dtype=np.float64)
        if isinstance(interventions, Mapping):
            channel_part = {k: v for k, v in interventions.items() if k not in FACTOR_NAMES}
            for name, value in interventions.items():
                if name in FACTOR_NAMES:
                    factors[FACTOR_NAMES.index(name)] = self._check_factor(name, value)
                elif name not in self.var_names:
                    raise UnknownNodeError(name, (*FACTOR_NAMES, *self.var_names),
                                           what="intervention target of FactorSequences.counterfactual")
        context = dict(trajectory.context)
        old = np.array(context.get("factors", factors), dtype=np.float64)
        context["factors"] = factors
        initial = self._initial_under(trajectory.initial, old, factors) if not np.array_equal(old, factors) \
            else trajectory.initial
        moved = Trajectory(trajectory.values, trajectory.noise, initial, trajectory.var_names,
                           trajectory.interventions, context)
        return super().counterfactual(moved, channel_part, replace=replace)

    def _initial_under(self, initial: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
        """The values (L, d) before ``t = 0`` that the burn-in (same noise, from zero) reaches under
        the factors ``new`` (K,), given those it reached under ``old`` (K,).

        The burn-in starts at ``x = 0`` one step before its first step, so the AR noise there is
        ``-s(start)``; after ``B`` steps ``u_{-1} = phi^B (-s(start)) + noise_level * w`` with ``w`` the
        burn-in's accumulated standardised noise, recovered from ``old`` and applied to ``new``.
        """
        start, last = -self.burn_in - 1.0, -1.0
        s_old, s_new = self.signal(old, np.array([start, last])), self.signal(new, np.array([start, last]))
        level = FACTOR_NAMES.index("noise_level")
        decay = self.ar ** self.burn_in
        change = (s_new[1] - s_old[1]) - decay * (s_new[0] - s_old[0])  # exactly 0 where the signal is unchanged
        if new[level] != old[level]:
            if old[level] == 0:
                raise ValueError("FactorSequences.counterfactual cannot change 'noise_level' of a trajectory whose "
                                 "noise_level is 0: its burn-in noise was not kept.")
            accumulated = initial[-1] - s_old[1] + decay * s_old[0]  # noise_level * w
            change = change + accumulated * (new[level] / old[level] - 1.0)
        return initial + change[None, :]

    def _check_factor(self, name: str, value: Any) -> float:
        """A factor value on its documented range (``waveform``: an index into :data:`WAVEFORMS`)."""
        owner = "FactorSequences.counterfactual"
        if name == "waveform":
            return float(check_number(value, "waveform", owner, low=0, high=len(WAVEFORMS) - 1, integer=True))
        low, high = _RANGES[name]
        return float(check_number(value, name, owner, low=low, high=high))

    def _draw_context(self, rng: np.random.Generator, n_steps: int) -> dict[str, np.ndarray]:
        return {"factors": self.sample_factors(1, seed=rng)[0],
                "time": np.arange(n_steps, dtype=np.float64) - self.burn_in}

    def _mechanism(self, t: int, nodes: np.ndarray, past: np.ndarray, current: np.ndarray,
                   context: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        time = context["time"][t]
        signal = self.signal(context["factors"], np.array([time - 1.0, time]))  # (2, d)
        loc = signal[1, nodes] + self.ar * (past[-1, nodes] - signal[0, nodes])
        noise_level = context["factors"][FACTOR_NAMES.index("noise_level")]
        return loc, np.full(len(nodes), noise_level)

    def _draw_noise(self, rng: np.random.Generator, n_steps: int) -> np.ndarray:
        return rng.standard_normal((n_steps, self.n_vars))
