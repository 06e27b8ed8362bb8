"""Drifting mechanisms: a linear lagged SCM whose coefficients change smoothly with time.

For the ``changing`` variables every incoming coefficient is modulated,

    C_j(t) = C_j * (1 + amplitude * sin(2 pi t / period + phase_j)),   0 <= amplitude < 1,

so no edge ever vanishes (the graph is fixed) while the mechanism changes: the time index is the
changing context, as in CD-NOD (Huang et al. 2020, JMLR, "Causal discovery from heterogeneous /
nonstationary data"), which finds the changing modules by testing each variable against time.
Stability: ``sum_{tau,i} |C[tau, i, j]| (1 + amplitude) <= contraction < 1`` for every j.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.worlds.timeseries.base import TimeSeriesWorld, default_names, random_lagged_support
from latentscm.worlds.timeseries.regime_switching import contractive_coefficients

__all__ = ["DriftingMechanisms"]


class DriftingMechanisms(TimeSeriesWorld):
    """Linear lagged SCM with time-varying coefficients for a subset of variables.

    Parameters
    ----------
    d: number of variables.
    lag_max: largest lag.
    edge_prob: probability of each cross edge per lag.
    changing_fraction: fraction of variables whose mechanism drifts (at least one when > 0).
    amplitude: relative modulation of the drifting coefficients, in [0, 1).
    period: period of the modulation in steps.
    contraction: stability bound < 1 (see the module docstring).
    noise_std: noise standard deviation.
    names: variable names.
    seed: seed of the random structure.
    burn_in: steps dropped before ``t = 0`` (time runs from ``-burn_in``).
    """

    name = "drift"

    def __init__(self, d: int = 5, lag_max: int = 1, *, edge_prob: float = 0.3, changing_fraction: float = 0.4,
                 amplitude: float = 0.8, period: float = 500.0, contraction: float = 0.9, noise_std: float = 1.0,
                 names: Sequence[str] | None = None, seed: int = 0, burn_in: int = 100) -> None:
        owner = "DriftingMechanisms"
        d = int(check_number(d, "d", owner, low=1, integer=True))
        lag_max = int(check_number(lag_max, "lag_max", owner, low=1, integer=True))
        check_number(edge_prob, "edge_prob", owner, low=0, high=1)
        fraction = check_number(changing_fraction, "changing_fraction", owner, low=0, high=1)
        self.amplitude = check_number(amplitude, "amplitude", owner, low=0, high=1, high_inclusive=False)
        self.period = check_number(period, "period", owner, low=0, low_inclusive=False)
        contraction = check_number(contraction, "contraction", owner, low=0, high=1, low_inclusive=False,
                                   high_inclusive=False)
        self.noise_std = check_number(noise_std, "noise_std", owner, low=0, low_inclusive=False)
        rng = as_generator(seed)
        support = random_lagged_support(rng, d, lag_max, edge_prob, self_lags=True)[1:]
        self.coefficients = contractive_coefficients(rng, support, contraction / (1.0 + self.amplitude))
        self.coefficients.setflags(write=False)
        n_changing = int(round(fraction * d)) if fraction == 0 else max(1, int(round(fraction * d)))
        self._changing = np.zeros(d, dtype=bool)
        self._changing[rng.choice(d, n_changing, replace=False)] = True
        self.phase = rng.uniform(0, 2 * np.pi, d)
        window = np.concatenate([np.zeros((1, d, d), np.int64), (self.coefficients != 0).astype(np.int64)])
        super().__init__(default_names(d) if names is None else names, window, burn_in=burn_in)

    @property
    def changing_nodes(self) -> tuple[str, ...]:
        """Variables whose mechanism depends on time."""
        return tuple(n for n, c in zip(self.var_names, self._changing) if c)

    def modulation(self, time: np.ndarray | float) -> np.ndarray:
        """Multipliers (..., d) of each variable's incoming coefficients at the given time(s)."""
        time = np.asarray(time, dtype=np.float64)[..., None]
        wave = 1.0 + self.amplitude * np.sin(2 * np.pi * time / self.period + self.phase)
        return np.where(self._changing, wave, 1.0)

    def _draw_context(self, rng: np.random.Generator, n_steps: int) -> dict[str, np.ndarray]:
        return {"time": np.arange(n_steps, dtype=np.float64) - self.burn_in}

    def _mechanism(self, t: int, nodes: np.ndarray, past: np.ndarray, current: np.ndarray,
                   context: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        loc = np.einsum("ti,tij->j", past[::-1], self.coefficients[:, :, nodes])
        return loc * self.modulation(context["time"][t])[nodes], np.full(len(nodes), self.noise_std)

    def _draw_noise(self, rng: np.random.Generator, n_steps: int) -> np.ndarray:
        return rng.standard_normal((n_steps, self.n_vars))
