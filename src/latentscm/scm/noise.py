"""Exogenous noise distributions for SCM mechanisms.

Each distribution draws ``sample(n, rng) -> (n,)`` float64 arrays from a numpy Generator; nothing
here touches global randomness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentscm._validation import check_number

__all__ = ["NoiseDistribution", "Normal", "Uniform", "Gamma", "Laplace", "Constant"]


class NoiseDistribution:
    """Base class: ``sample(n, rng) -> ndarray (n,)``."""

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class Normal(NoiseDistribution):
    """Gaussian noise N(mean, std^2)."""

    mean: float = 0.0
    std: float = 1.0

    def __post_init__(self):
        check_number(self.mean, "mean", "Normal")
        check_number(self.std, "std", "Normal", low=0.0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.normal(self.mean, self.std, size=n)


@dataclass(frozen=True)
class Uniform(NoiseDistribution):
    """Uniform noise on [low, high)."""

    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        check_number(self.low, "low", "Uniform")
        check_number(self.high, "high", "Uniform", low=self.low)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=n)


@dataclass(frozen=True)
class Gamma(NoiseDistribution):
    """Gamma noise with ``concentration`` (shape) and ``rate`` (1 / scale)."""

    concentration: float = 1.0
    rate: float = 1.0

    def __post_init__(self):
        check_number(self.concentration, "concentration", "Gamma", low=0.0, low_inclusive=False)
        check_number(self.rate, "rate", "Gamma", low=0.0, low_inclusive=False)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.gamma(self.concentration, 1.0 / self.rate, size=n)


@dataclass(frozen=True)
class Laplace(NoiseDistribution):
    """Laplace noise with ``loc`` and ``scale``."""

    loc: float = 0.0
    scale: float = 1.0

    def __post_init__(self):
        check_number(self.loc, "loc", "Laplace")
        check_number(self.scale, "scale", "Laplace", low=0.0)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.laplace(self.loc, self.scale, size=n)


@dataclass(frozen=True)
class Constant(NoiseDistribution):
    """Degenerate noise: always ``value`` (deterministic mechanisms)."""

    value: float = 0.0

    def __post_init__(self):
        check_number(self.value, "value", "Constant")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.full(n, float(self.value))
