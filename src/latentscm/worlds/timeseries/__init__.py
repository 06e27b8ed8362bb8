"""Time-series worlds with exact ground truth: window and summary graphs, interventions over time
windows and exact counterfactual trajectories by noise abduction.

``latentscm.worlds.timeseries.make("var", d=5)`` builds a registered world; ``names()`` lists them.
This registry is separate from the image-world registry (:mod:`latentscm.worlds`).
"""

from __future__ import annotations

import importlib
from typing import Any

from latentscm.graph import UnknownNodeError
from latentscm.worlds.timeseries.base import (
    TimeIntervention,
    TimeSeriesWorld,
    Trajectory,
    as_time_interventions,
)

__all__ = [
    "TimeIntervention",
    "TimeSeriesWorld",
    "Trajectory",
    "as_time_interventions",
    "make",
    "names",
    "register",
]

_REGISTRY: dict[str, str] = {
    "var": "latentscm.worlds.timeseries.var:VAR",
    "lorenz96": "latentscm.worlds.timeseries.lorenz96:Lorenz96",
    "lagged_scm": "latentscm.worlds.timeseries.lagged_scm:LaggedSCM",
    "regime_switching": "latentscm.worlds.timeseries.regime_switching:RegimeSwitching",
    "drift": "latentscm.worlds.timeseries.drift:DriftingMechanisms",
    "microservice": "latentscm.worlds.timeseries.microservice:Microservice",
    "factor_sequences": "latentscm.worlds.timeseries.factor_sequences:FactorSequences",
}


def register(name: str, target: str | type) -> None:
    """Register a time-series world class (or a ``"module:Class"`` path) under ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"Time-series world names must be non-empty strings. Got {name!r}.")
    _REGISTRY[name] = target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"


def names() -> list[str]:
    """Registered time-series world names."""
    return list(_REGISTRY)


def make(name: str, **options: Any) -> TimeSeriesWorld:
    """Build the time-series world ``name`` with keyword ``options`` (e.g. ``make("var", d=10, seed=1)``)."""
    if name not in _REGISTRY:
        raise UnknownNodeError(name, names(), what="time-series world")
    module, _, attribute = _REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attribute)(**options)
