"""The Lorenz-96 system (Lorenz 1996, "Predictability: a problem partly solved"), discretised
with explicit Euler steps plus Gaussian noise per sample. With ``substeps=1`` (the default) one Euler
step per sample:

    x_{j,t} = x_{j,t-1} + dt * ((x_{j+1,t-1} - x_{j-2,t-1}) x_{j-1,t-1} - x_{j,t-1} + F) + noise_std * eps_{j,t}

(indices modulo d), which makes the declared lag-1 graph — ``j-2, j-1, j, j+1 -> j`` — the exact
dependency structure of the sampled process. With ``substeps=k`` each sample is ``k`` Euler steps
(time ``k * dt`` between samples, as in Tank et al. 2021, "Neural Granger causality", who sample every
0.1 time units): cross effects per sample are ~k times stronger, which is what the usual Lorenz-96
benchmark figures are measured on, but each sample then depends on a neighbourhood wider than the
ODE's. ``graph()`` stays the ODE's graph — the convention those benchmarks score against — and is no
longer the exact dependency structure (the mechanism, interventions and counterfactuals stay exact).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from latentscm._validation import check_number
from latentscm.worlds.timeseries.base import TimeSeriesWorld, default_names

__all__ = ["Lorenz96"]


class Lorenz96(TimeSeriesWorld):
    """Noisy Euler-discretised Lorenz-96.

    Parameters
    ----------
    d: number of variables (>= 4).
    forcing: the constant F (chaotic for F >= 8).
    dt: Euler step (explicit Euler on Lorenz-96 at F = 10 diverges for dt >= 0.02 — measured).
    substeps: Euler steps per sample (1: the graph is exact; see the module docstring).
    noise_std: standard deviation of the additive noise per step.
    names: variable names (default ``x0, x1, ...``).
    burn_in: steps simulated and dropped before ``t = 0`` (starting from x = 0).
    """

    name = "lorenz96"

    def __init__(self, d: int = 10, *, forcing: float = 10.0, dt: float = 0.01, substeps: int = 1,
                 noise_std: float = 0.1, names: Sequence[str] | None = None, burn_in: int = 300) -> None:
        owner = "Lorenz96"
        d = int(check_number(d, "d", owner, low=4, integer=True))
        self.forcing = check_number(forcing, "forcing", owner)
        self.dt = check_number(dt, "dt", owner, low=0, low_inclusive=False, high=0.2)
        self.substeps = int(check_number(substeps, "substeps", owner, low=1, integer=True))
        self.noise_std = check_number(noise_std, "noise_std", owner, low=0, low_inclusive=False)
        window = np.zeros((2, d, d), dtype=np.int64)
        for j in range(d):
            for offset in (-2, -1, 0, 1):
                window[1, (j + offset) % d, j] = 1
        super().__init__(default_names(d) if names is None else names, window, burn_in=burn_in)
        index = np.arange(d)
        self._plus1, self._minus1, self._minus2 = (index + 1) % d, (index - 1) % d, (index - 2) % d

    def _mechanism(self, t: int, nodes: np.ndarray, past: np.ndarray, current: np.ndarray,
                   context: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        x = past[-1]
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported by the simulation loop
            if self.substeps == 1:
                drift = (x[self._plus1[nodes]] - x[self._minus2[nodes]]) * x[self._minus1[nodes]] - x[nodes] \
                    + self.forcing
                return x[nodes] + self.dt * drift, np.full(len(nodes), self.noise_std)
            for _ in range(self.substeps):  # every variable moves in each sub-step
                x = x + self.dt * ((x[self._plus1] - x[self._minus2]) * x[self._minus1] - x + self.forcing)
        return x[nodes], np.full(len(nodes), self.noise_std)

    def _draw_noise(self, rng: np.random.Generator, n_steps: int) -> np.ndarray:
        return rng.standard_normal((n_steps, self.n_vars))
