"""A lazy string registry of worlds: ``names()`` lists them, ``make(name, **options)`` builds
one. Entries point at ``module:Class`` so importing the registry renders nothing and imports no
world module until it is asked for."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from latentscm.graph import UnknownNodeError

__all__ = ["names", "make", "register"]

_REGISTRY: dict[str, str] = {
    "sprites": "latentscm.worlds.sprites:Sprites",
    "shapes3d": "latentscm.worlds.shapes3d:Shapes3D",
    "pendulum": "latentscm.worlds.pendulum:Pendulum",
    "flow": "latentscm.worlds.flow:Flow",
    "glyphs": "latentscm.worlds.glyphs:Glyphs",
}


def register(name: str, target: str | type) -> None:
    """Register a world class (or a ``"module:Class"`` path) under ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"World names must be non-empty strings. Got {name!r}.")
    _REGISTRY[name] = target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"


def names() -> list[str]:
    """Registered world names whose module is present."""
    available = []
    for name, target in _REGISTRY.items():
        module = target.split(":", 1)[0]
        if importlib.util.find_spec(module) is not None:
            available.append(name)
    return available


def _registered_paths() -> list[str]:
    """``"module:Class"`` of every registered world (what run configs may name untrusted)."""
    return list(_REGISTRY.values())


def _resolve(name: str) -> type:
    if name not in _REGISTRY:
        raise UnknownNodeError(name, names(), what="world")
    module, _, attribute = _REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def make(name: str, **options: Any):
    """Build the world ``name`` with keyword ``options`` (e.g. ``size=32``, ``variant="color"``,
    ``graph="scale -> posX"``, ``mechanisms={...}``)."""
    cls = _resolve(name)
    return cls(**options)
