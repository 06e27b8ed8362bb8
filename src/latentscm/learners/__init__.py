"""Representation learners sharing one contract (:class:`~latentscm.learners.base.Learner`).

A lazy string registry maps names (used by the CLI and run directories) to classes; each family
lives in its own module (``ae``, ``vae`` (β-VAE, AnnealedVAE), ``tcvae``, ``factorvae``, ``dipvae``,
``qlae``, ``causal_vae``, ``causal_diffae``, ``dts``, ``gcrl``, ``ild_vae``, ``ivae``, ``ada_gvae``,
``slow_vae``, ``ilcm``, ``contrastive``, ``multiview``, ``citris``, ``tdrl``, ``cauca``, and ``ild``, whose
exact-likelihood ``ILD`` is not a registered :class:`Learner`). The classes are served from here lazily
(``latentscm.learners.BetaVAE`` imports its module on first use) and are listed in ``__all__`` and ``dir()``.
"""

from __future__ import annotations

from typing import Any

from latentscm.learners.base import Learner, NotFittedError, StepOutput
from latentscm.learners.registry import REGISTRY


def _lazy_classes() -> list[str]:
    """Names of the classes :func:`__getattr__` serves: the built-in registered learners, and ILD."""
    return ["ILD"] + sorted({path.partition(":")[2] for path in REGISTRY.paths()
                             if path.startswith("latentscm.learners.")})


__all__ = ["Learner", "NotFittedError", "StepOutput", "REGISTRY", "names", "get", "make", "register",
           *_lazy_classes()]


def names() -> list[str]:
    """Registered learner names."""
    return REGISTRY.names()


def register(name: str, target: str | type) -> None:
    """Register a learner class (or ``"module:Class"``) under ``name``."""
    REGISTRY.register(name, target)


def _registered_paths() -> list[str]:
    """``"module:Class"`` of every registered learner (what run directories may name untrusted)."""
    return REGISTRY.paths()


def get(name: str) -> type[Learner]:
    """The learner class registered as ``name`` (``UnknownNameError`` lists the valid ones)."""
    return REGISTRY.get(name)


def make(name: str, **params: Any) -> Learner:
    """An unfitted learner ``name`` with hyperparameters ``params``."""
    return REGISTRY.make(name, **params)


def __getattr__(attribute: str) -> Any:
    # ``latentscm.learners.BetaVAE`` etc. without importing every family up front.
    if attribute == "ILD":  # not a Learner subclass (its own exact-likelihood loop), so not registered
        from latentscm.learners.ild import ILD

        return ILD
    for path in REGISTRY.paths():
        module, _, cls = path.partition(":")
        if cls == attribute and module.startswith("latentscm.learners."):
            import importlib

            return getattr(importlib.import_module(module), cls)
    raise AttributeError(f"module 'latentscm.learners' has no attribute {attribute!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_lazy_classes()))
