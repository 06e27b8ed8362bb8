"""A lazy string registry of worlds: ``names()`` lists them, ``make(name, **options)`` builds
one. Entries point at ``module:Class`` so importing the registry renders nothing and imports no
world module until it is asked for."""

from __future__ import annotations

from typing import Any

from latentscm._registry import Registry

__all__ = ["REGISTRY", "names", "make", "register", "get"]

#: The world registry (see :class:`latentscm._registry.Registry`).
REGISTRY = Registry("world", "latentscm.worlds.base:World", {
    "sprites": "latentscm.worlds.sprites:Sprites",
    "shapes3d": "latentscm.worlds.shapes3d:Shapes3D",
    "pendulum": "latentscm.worlds.pendulum:Pendulum",
    "flow": "latentscm.worlds.flow:Flow",
    "glyphs": "latentscm.worlds.glyphs:Glyphs",
    "ild-linear": "latentscm.worlds.ild_linear:ILDLinear",
    "hue-sprites": "latentscm.worlds.hue_sprites:HueSprites",
    "content-style": "latentscm.worlds.content_style:ContentStyle",
    "nonlinear-ica": "latentscm.worlds.nonlinear_ica:NonlinearICA",
    "balls": "latentscm.worlds.balls:Balls",
})


def register(name: str, target: str | type) -> None:
    """Register a world class (or a ``"module:Class"`` path) under ``name``."""
    REGISTRY.register(name, target)


def names() -> list[str]:
    """Registered world names whose module is present."""
    return REGISTRY.names()


def _registered_paths() -> list[str]:
    """``"module:Class"`` of every registered world (what run configs may name untrusted)."""
    return REGISTRY.paths()


def get(name: str) -> type:
    """The world class registered as ``name`` (``UnknownNameError`` lists the valid ones)."""
    return REGISTRY.get(name)


def make(name: str, *, domains: Any = None, **options: Any):
    """Build the world ``name`` with keyword ``options`` (e.g. ``size=32``, ``variant="color"``,
    ``graph="scale -> posX"``, ``mechanisms={...}``); ``domains`` (a
    :class:`~latentscm.worlds.domains.DomainShift` or a mapping of its arguments) makes it a
    multi-domain world (see :meth:`World.with_domains`)."""
    world = REGISTRY.make(name, **options)
    return world if domains is None else world.with_domains(domains)
