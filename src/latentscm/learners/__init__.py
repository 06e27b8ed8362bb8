"""Representation learners sharing one contract (:class:`~latentscm.learners.base.Learner`).

A lazy string registry maps names (used by the CLI and run directories) to classes; each family
lives in its own module: ``ae``, ``vae`` (β-VAE, AnnealedVAE), ``tcvae``, ``factorvae``,
``dipvae`` and ``qlae``.
"""

from __future__ import annotations

import importlib
from typing import Any

from latentscm.graph import UnknownNodeError
from latentscm.learners.base import Learner, NotFittedError, StepOutput

__all__ = ["Learner", "NotFittedError", "StepOutput", "names", "get", "make", "register"]

_REGISTRY: dict[str, str] = {
    "ae": "latentscm.learners.ae:AE",
    "beta_vae": "latentscm.learners.vae:BetaVAE",
    "annealed_vae": "latentscm.learners.vae:AnnealedVAE",
    "beta_tcvae": "latentscm.learners.tcvae:BetaTCVAE",
    "factor_vae": "latentscm.learners.factorvae:FactorVAE",
    "dip_vae_i": "latentscm.learners.dipvae:DIPVAEI",
    "dip_vae_ii": "latentscm.learners.dipvae:DIPVAEII",
    "qlae": "latentscm.learners.qlae:QLAE",
    "causal_vae": "latentscm.learners.causal_vae:CausalVAE",
    "causal_diffae": "latentscm.learners.causal_diffae:CausalDiffAE",
}


def names() -> list[str]:
    """Registered learner names."""
    return list(_REGISTRY)


def register(name: str, target: str | type) -> None:
    """Register a learner class (or ``"module:Class"``) under ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"Learner names must be non-empty strings. Got {name!r}.")
    _REGISTRY[name] = target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"


def _registered_paths() -> list[str]:
    """``"module:Class"`` of every registered learner (what run directories may name untrusted)."""
    return list(_REGISTRY.values())


def get(name: str) -> type[Learner]:
    """The learner class registered as ``name``."""
    if name not in _REGISTRY:
        raise UnknownNodeError(name, list(_REGISTRY), what="learner")
    module, _, attribute = _REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


def make(name: str, **params: Any) -> Learner:
    """An unfitted learner ``name`` with hyperparameters ``params``."""
    return get(name)(**params)


def __getattr__(attribute: str) -> Any:
    # ``latentscm.learners.BetaVAE`` etc. without importing every family up front.
    for target in _REGISTRY.values():
        module, _, cls = target.partition(":")
        if cls == attribute and module.startswith("latentscm.learners."):
            return getattr(importlib.import_module(module), cls)
    raise AttributeError(f"module 'latentscm.learners' has no attribute {attribute!r}")
