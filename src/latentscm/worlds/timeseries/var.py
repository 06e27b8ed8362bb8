"""A sparse vector autoregression with exact ground truth.

    x_t = sum_{tau=1..L} A_tau^T x_{t-tau} + noise_std * eps_t,   eps_t ~ N(0, I)

with ``coefficients[tau - 1, i, j]`` the effect of ``x_{i,t-tau}`` on ``x_{j,t}``. Stability is
enforced: the spectral radius of the companion matrix (Lütkepohl 2005, "New Introduction to
Multiple Time Series Analysis", §2.1.1) is rescaled to ``spectral_radius`` < 1 by multiplying the
lag-tau coefficients by ``c**tau``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_array, check_number
from latentscm.worlds.timeseries.base import TimeSeriesWorld, default_names, random_lagged_support

__all__ = ["VAR", "companion_spectral_radius"]


def companion_spectral_radius(coefficients: np.ndarray) -> float:
    """Spectral radius of the companion matrix of a VAR with coefficients (L, d, d) ([tau-1, i, j])."""
    L, d, _ = coefficients.shape
    companion = np.zeros((L * d, L * d))
    for tau in range(L):
        companion[:d, tau * d:(tau + 1) * d] = coefficients[tau].T
    companion[d:, :-d] = np.eye((L - 1) * d)
    return float(np.max(np.abs(np.linalg.eigvals(companion))))


class VAR(TimeSeriesWorld):
    """Sparse stable VAR(L) with Gaussian noise.

    Parameters
    ----------
    d: number of variables.
    lag_max: the order L.
    edge_prob: probability of each cross edge ``x_{i,t-tau} -> x_{j,t}`` (i != j) per lag.
    self_lags: include the lag-1 autoregressive edge of every variable.
    spectral_radius: companion spectral radius after rescaling, in (0, 1). A structure without feedback
        (no self-lags and acyclic cross lags: a nilpotent companion matrix) has radius 0 at any scale and
        keeps its raw coefficients.
    min_coef, max_coef: magnitudes of the raw coefficients (random signs) before rescaling.
    noise_std: standard deviation of the innovations.
    coefficients: explicit coefficients (L, d, d); overrides the random draw (must be stable).
    names: variable names (default ``x0, x1, ...``).
    seed: seed of the random structure (trajectories take their own seed).
    burn_in: steps simulated and dropped before ``t = 0``.
    """

    name = "var"

    def __init__(self, d: int = 5, lag_max: int = 2, *, edge_prob: float = 0.2, self_lags: bool = True,
                 spectral_radius: float = 0.8, min_coef: float = 0.3, max_coef: float = 0.8,
                 noise_std: float = 1.0, coefficients: Any = None, names: Sequence[str] | None = None,
                 seed: int = 0, burn_in: int = 100) -> None:
        owner = "VAR"
        self.noise_std = check_number(noise_std, "noise_std", owner, low=0, low_inclusive=False)
        if not isinstance(self_lags, (bool, np.bool_)):
            raise TypeError(f"The 'self_lags' parameter of {owner} must be a bool. Got {self_lags!r}.")
        if coefficients is None:
            d = int(check_number(d, "d", owner, low=1, integer=True))
            lag_max = int(check_number(lag_max, "lag_max", owner, low=1, integer=True))
            check_number(edge_prob, "edge_prob", owner, low=0, high=1)
            target = check_number(spectral_radius, "spectral_radius", owner, low=0, high=1,
                                  low_inclusive=False, high_inclusive=False)
            low = check_number(min_coef, "min_coef", owner, low=0, low_inclusive=False)
            high = check_number(max_coef, "max_coef", owner, low=low)
            rng = as_generator(seed)
            support = random_lagged_support(rng, d, lag_max, edge_prob, self_lags=self_lags)[1:]
            raw = rng.uniform(low, high, support.shape) * rng.choice([-1.0, 1.0], support.shape) * support
            radius = companion_spectral_radius(raw)
            # Scaling lag tau by c**tau scales every companion eigenvalue by c (they solve
            # det(lambda^L I - sum_tau A_tau lambda^(L - tau)) = 0); a plain factor c would not.
            powers = (target / radius) ** np.arange(1, lag_max + 1) if radius > 0 else np.ones(lag_max)
            coefs = raw * powers[:, None, None]
        else:
            coefs = check_array(coefficients, "coefficients", owner, ndim=3)
            if coefs.shape[1] != coefs.shape[2]:
                raise ValueError(f"The 'coefficients' argument of VAR must be (L, d, d). Got shape {coefs.shape}.")
            d = coefs.shape[1]
            radius = companion_spectral_radius(coefs)
            if radius >= 1:
                raise ValueError(f"The 'coefficients' argument of VAR gives an unstable process: companion "
                                 f"spectral radius {radius:.4f} >= 1.")
        self.coefficients = np.array(coefs)
        self.coefficients.setflags(write=False)
        window = np.concatenate([np.zeros((1, d, d), np.int64), (coefs != 0).astype(np.int64)])
        super().__init__(default_names(d) if names is None else names, window, burn_in=burn_in)

    @property
    def spectral_radius(self) -> float:
        """Spectral radius of the companion matrix (< 1)."""
        return companion_spectral_radius(self.coefficients)

    def _mechanism(self, t: int, nodes: np.ndarray, past: np.ndarray, current: np.ndarray,
                   context: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        # past[-tau] is x_{t-tau}: reverse so that row tau-1 pairs with coefficients[tau-1].
        loc = np.einsum("ti,tij->j", past[::-1], self.coefficients[:, :, nodes])
        return loc, np.full(len(nodes), self.noise_std)

    def _draw_noise(self, rng: np.random.Generator, n_steps: int) -> np.ndarray:
        return rng.standard_normal((n_steps, self.n_vars))
