"""A lagged nonlinear structural causal model with lagged and contemporaneous edges.

    x_{j,t} = sum_{(i, tau) -> j} w_e g_e(x_{i,t-tau}) + sigma_j(loc_j) * eps_{j,t}

Every edge carries its own function ``g_e``: ``linear`` (x), ``tanh``, ``sin`` or the bounded
``quadratic`` ``x^2 / (1 + x^2 / 4)``; a fraction of the cross edges is contemporaneous (lag 0,
along a random causal order, so the lag-0 graph is a DAG). Noise is Gaussian, Laplace (unit
variance) or heteroscedastic Gaussian with scale ``noise_std * (0.5 + sigmoid(loc_j))``.

Stability: with ``L_e`` the Lipschitz constant of ``g_e``, each variable's incoming weights are
scaled so that ``sum_e |w_e| L_e <= contraction < 1``; by induction over the topological order
the map from the past to the present is then a contraction in the sup norm, so trajectories stay
bounded for every choice of mechanisms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from latentscm._validation import as_generator, check_choice, check_number
from latentscm.worlds.timeseries.base import TimeSeriesWorld, default_names

__all__ = ["EdgeMechanisms", "LaggedSCM", "MECHANISMS", "NOISES"]

#: Edge functions and their Lipschitz constants.
MECHANISMS: dict[str, tuple[object, float]] = {
    "linear": (lambda x: x, 1.0),
    "tanh": (np.tanh, 1.0),
    "sin": (np.sin, 1.0),
    # max |d/dx x^2/(1+x^2/4)| = 1.299 at x = 2/sqrt(3)
    "quadratic": (lambda x: x * x / (1.0 + 0.25 * x * x), 1.3),
}
NOISES = ("gaussian", "laplace", "heteroscedastic")


@dataclass
class EdgeMechanisms:
    """Additive edge functions ``loc_j = sum_e weight_e g_e(x_{src_e, t - lag_e})``, evaluated per layer.

    Arrays (n_edges,): ``src``, ``lag``, ``dst`` (ints), ``weight`` (floats) and ``kind`` (indices
    into ``kinds``).
    """

    src: np.ndarray
    lag: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    kind: np.ndarray
    kinds: tuple[str, ...]

    def window(self, lag_max: int, d: int) -> np.ndarray:
        window = np.zeros((lag_max + 1, d, d), dtype=np.int64)
        window[self.lag, self.src, self.dst] = 1
        return window

    def loc(self, nodes: np.ndarray, past: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Summed edge effects (len(nodes),) on ``nodes``."""
        position = np.full(current.shape[0], -1)
        position[nodes] = np.arange(len(nodes))
        chosen = position[self.dst] >= 0
        src, lag, dst = self.src[chosen], self.lag[chosen], self.dst[chosen]
        history = np.concatenate([past, current[None]])  # row L - lag is x_{t-lag}
        x = history[history.shape[0] - 1 - lag, src]
        effect = np.empty_like(x)
        kind = self.kind[chosen]
        for k, name in enumerate(self.kinds):
            mask = kind == k
            if mask.any():
                effect[mask] = MECHANISMS[name][0](x[mask])
        return np.bincount(position[dst], weights=self.weight[chosen] * effect, minlength=len(nodes))

    def normalise(self, d: int, contraction: float) -> None:
        """Scale each variable's incoming weights so that ``sum |w| Lipschitz <= contraction``."""
        lipschitz = np.array([MECHANISMS[self.kinds[k]][1] for k in self.kind])
        total = np.bincount(self.dst, weights=np.abs(self.weight) * lipschitz, minlength=d)
        factor = np.where(total > contraction, contraction / np.maximum(total, 1e-300), 1.0)
        self.weight = self.weight * factor[self.dst]


class LaggedSCM(TimeSeriesWorld):
    """Random lagged nonlinear SCM with an exact oracle.

    Parameters
    ----------
    d: number of variables.
    lag_max: largest lag L.
    edge_prob: probability of each cross edge per lag.
    contemporaneous_fraction: probability that a drawn cross edge becomes contemporaneous (lag 0),
        when it agrees with the random causal order.
    mechanism: ``"linear"``, ``"tanh"``, ``"sin"``, ``"quadratic"`` or ``"mixed"`` (one at random per edge).
    noise: ``"gaussian"``, ``"laplace"`` or ``"heteroscedastic"``.
    noise_std: noise scale.
    self_lag: range (low, high) of the lag-1 autoregressive weight of every variable (linear).
    contraction: bound < 1 on each variable's Lipschitz-weighted incoming weights.
    names: variable names (default ``x0, x1, ...``).
    seed: seed of the random structure (trajectories take their own seed).
    burn_in: steps simulated and dropped before ``t = 0``.
    """

    name = "lagged_scm"

    def __init__(self, d: int = 5, lag_max: int = 2, *, edge_prob: float = 0.25,
                 contemporaneous_fraction: float = 0.0, mechanism: str = "mixed", noise: str = "gaussian",
                 noise_std: float = 1.0, self_lag: tuple[float, float] = (0.2, 0.5), contraction: float = 0.9,
                 names: Sequence[str] | None = None, seed: int = 0, burn_in: int = 100) -> None:
        owner = "LaggedSCM"
        d = int(check_number(d, "d", owner, low=1, integer=True))
        lag_max = int(check_number(lag_max, "lag_max", owner, low=1, integer=True))
        check_number(edge_prob, "edge_prob", owner, low=0, high=1)
        check_number(contemporaneous_fraction, "contemporaneous_fraction", owner, low=0, high=1)
        self.mechanism = check_choice(mechanism, "mechanism", owner, (*MECHANISMS, "mixed"))
        self.noise = check_choice(noise, "noise", owner, NOISES)
        self.noise_std = check_number(noise_std, "noise_std", owner, low=0, low_inclusive=False)
        contraction = check_number(contraction, "contraction", owner, low=0, high=1, low_inclusive=False,
                                   high_inclusive=False)
        valid = isinstance(self_lag, Sequence) and len(self_lag) == 2
        if not (valid and 0 <= self_lag[0] <= self_lag[1] < contraction):
            raise ValueError(f"The 'self_lag' parameter of LaggedSCM must be (low, high) with "
                             f"0 <= low <= high < contraction={contraction}. Got {self_lag!r}.")
        rng = as_generator(seed)
        order = rng.permutation(d)
        rank = np.empty(d, dtype=np.intp)
        rank[order] = np.arange(d)
        src, lag, dst = [], [], []
        for tau in range(1, lag_max + 1):
            for i in range(d):
                for j in range(d):
                    if i == j or rng.random() >= edge_prob:
                        continue
                    contemporaneous = rank[i] < rank[j] and rng.random() < contemporaneous_fraction
                    src.append(i)
                    dst.append(j)
                    lag.append(0 if contemporaneous else tau)
        # de-duplicate (a lag-0 edge may be drawn at several lags)
        unique = sorted(set(zip(src, lag, dst)))
        src = [e[0] for e in unique] + list(range(d))
        lag = [e[1] for e in unique] + [1] * d
        dst = [e[2] for e in unique] + list(range(d))
        n_cross = len(unique)
        kinds = tuple(MECHANISMS)
        if self.mechanism == "mixed":
            kind = rng.integers(0, len(kinds), n_cross)
        else:
            kind = np.full(n_cross, kinds.index(self.mechanism))
        kind = np.concatenate([kind, np.full(d, kinds.index("linear"))]).astype(np.intp)
        cross_weight = rng.uniform(0.5, 1.0, n_cross) * rng.choice([-1.0, 1.0], n_cross)
        self_weight = rng.uniform(self_lag[0], self_lag[1], d)
        edges = EdgeMechanisms(np.array(src, np.intp), np.array(lag, np.intp), np.array(dst, np.intp),
                               np.concatenate([cross_weight, self_weight]), kind, kinds)
        # Cross edges share what the self-lag leaves of the contraction budget.
        lipschitz = np.array([MECHANISMS[kinds[k]][1] for k in kind[:n_cross]])
        budget = contraction - self_weight
        total = np.bincount(edges.dst[:n_cross], weights=np.abs(cross_weight) * lipschitz, minlength=d)
        factor = np.where(total > budget, budget / np.maximum(total, 1e-300), 1.0)
        edges.weight[:n_cross] *= factor[edges.dst[:n_cross]]
        self.edges = edges
        self.causal_order = tuple(int(j) for j in order)
        super().__init__(default_names(d) if names is None else names, edges.window(lag_max, d), burn_in=burn_in)
        self.lag_max = lag_max

    def _mechanism(self, t: int, nodes: np.ndarray, past: np.ndarray, current: np.ndarray,
                   context: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        loc = self.edges.loc(nodes, past, current)
        if self.noise == "heteroscedastic":
            scale = self.noise_std * (0.5 + 1.0 / (1.0 + np.exp(-loc)))
        else:
            scale = np.full(len(nodes), self.noise_std)
        return loc, scale

    def _draw_noise(self, rng: np.random.Generator, n_steps: int) -> np.ndarray:
        shape = (n_steps, self.n_vars)
        if self.noise == "laplace":
            return rng.laplace(0.0, 1.0 / np.sqrt(2.0), shape)
        return rng.standard_normal(shape)
