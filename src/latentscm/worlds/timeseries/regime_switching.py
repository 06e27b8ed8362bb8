"""Regime-switching linear lagged SCMs: K window graphs, a sticky Markov chain of known labels.

At step t the active regime ``r_t`` (a Markov chain with ``P(r_t = r_{t-1}) = persistence``) selects
the coefficients:

    x_{j,t} = sum_{tau, i} C[r_t, tau, i, j] x_{i,t-tau} + noise_std * eps_{j,t}.

Regimes are exogenous context: counterfactuals keep them. Each regime's coefficients satisfy
``sum_{tau, i} |C[r, tau, i, j]| <= contraction < 1`` for every j, a sup-norm contraction, so the
process is stable under *any* switching sequence (a spectral radius < 1 per regime would not be
enough: products of stable matrices can grow).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from latentscm._validation import as_generator, check_choice, check_number
from latentscm.worlds.timeseries.base import TimeSeriesWorld, default_names, random_lagged_support

__all__ = ["RegimeSwitching", "contractive_coefficients"]


def contractive_coefficients(rng: np.random.Generator, support: np.ndarray, contraction: float) -> np.ndarray:
    """Random-sign coefficients on ``support`` (L, d, d) with each column's absolute sum <= contraction."""
    coefs = rng.uniform(0.5, 1.0, support.shape) * rng.choice([-1.0, 1.0], support.shape) * support
    total = np.abs(coefs).sum(axis=(0, 1))
    factor = np.where(total > contraction, contraction / np.maximum(total, 1e-300), 1.0)
    return coefs * factor[None, None, :]


class RegimeSwitching(TimeSeriesWorld):
    """Linear lagged SCM whose window graph switches between ``n_regimes`` known regimes.

    Parameters
    ----------
    d: number of variables.
    lag_max: largest lag.
    n_regimes: number of regimes K (each with its own random graph and coefficients).
    edge_prob: probability of each cross edge per lag and regime.
    persistence: probability of staying in the current regime at each step.
    contraction: per-variable bound < 1 on the absolute incoming coefficients.
    noise_std: noise standard deviation.
    names: variable names.
    seed: seed of the random structure.
    burn_in: steps dropped before ``t = 0``.
    """

    name = "regime_switching"

    def __init__(self, d: int = 5, lag_max: int = 1, *, n_regimes: int = 2, edge_prob: float = 0.3,
                 persistence: float = 0.98, contraction: float = 0.9, noise_std: float = 1.0,
                 names: Sequence[str] | None = None, seed: int = 0, burn_in: int = 100) -> None:
        owner = "RegimeSwitching"
        d = int(check_number(d, "d", owner, low=1, integer=True))
        lag_max = int(check_number(lag_max, "lag_max", owner, low=1, integer=True))
        self.n_regimes = int(check_number(n_regimes, "n_regimes", owner, low=1, integer=True))
        self.persistence = check_number(persistence, "persistence", owner, low=0, high=1)
        contraction = check_number(contraction, "contraction", owner, low=0, high=1, low_inclusive=False,
                                   high_inclusive=False)
        self.noise_std = check_number(noise_std, "noise_std", owner, low=0, low_inclusive=False)
        check_number(edge_prob, "edge_prob", owner, low=0, high=1)
        rng = as_generator(seed)
        self.coefficients = np.stack([
            contractive_coefficients(rng, random_lagged_support(rng, d, lag_max, edge_prob, self_lags=True)[1:],
                                     contraction)
            for _ in range(self.n_regimes)])  # (K, L, d, d)
        self.coefficients.setflags(write=False)
        union = (np.abs(self.coefficients).sum(axis=0) > 0).astype(np.int64)
        window = np.concatenate([np.zeros((1, d, d), np.int64), union])
        super().__init__(default_names(d) if names is None else names, window, burn_in=burn_in)

    def graph(self, kind: str = "summary", *, regime: int | None = None) -> np.ndarray:
        """The true graph of one regime, or (``regime=None``) the union over regimes (see the base)."""
        if regime is None:
            return super().graph(kind)
        check_choice(kind, "kind", "RegimeSwitching.graph", ("summary", "window"))
        regime = int(check_number(regime, "regime", "RegimeSwitching.graph", low=0, high=self.n_regimes - 1,
                                  integer=True))
        lagged = (self.coefficients[regime] != 0).astype(np.int64)
        window = np.concatenate([np.zeros((1, self.n_vars, self.n_vars), np.int64), lagged])
        return window if kind == "window" else (window.sum(axis=0) > 0).astype(np.int64)

    def _draw_context(self, rng: np.random.Generator, n_steps: int) -> dict[str, np.ndarray]:
        regime = np.empty(n_steps, dtype=np.int64)
        switch = rng.random(n_steps) >= self.persistence
        jump = rng.integers(1, max(self.n_regimes, 2), n_steps)  # a switch moves to another regime
        current = int(rng.integers(0, self.n_regimes))
        for t in range(n_steps):
            if t > 0 and switch[t] and self.n_regimes > 1:
                current = (current + int(jump[t])) % self.n_regimes
            regime[t] = current
        return {"regime": regime}

    def _mechanism(self, t: int, nodes: np.ndarray, past: np.ndarray, current: np.ndarray,
                   context: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        coefs = self.coefficients[int(context["regime"][t])]
        loc = np.einsum("ti,tij->j", past[::-1], coefs[:, :, nodes])
        return loc, np.full(len(nodes), self.noise_std)

    def _draw_noise(self, rng: np.random.Generator, n_steps: int) -> np.ndarray:
        return rng.standard_normal((n_steps, self.n_vars))
