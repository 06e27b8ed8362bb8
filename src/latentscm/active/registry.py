"""The registry of active-inference world models and the loader of saved ones.

``"factorised"`` (:class:`~latentscm.active.factorised.FactorisedModel`) and ``"entangled"``
(:class:`~latentscm.active.entangled.EntangledModel`). A saved model file records its registered
name, never a class path, so loading imports nothing that is not registered here.
"""

from __future__ import annotations

import os
from typing import Any

from latentscm._registry import Registry

__all__ = ["REGISTRY", "names", "make", "load_world_model"]

REGISTRY = Registry("world model", "latentscm.active.world_model:WorldModel", {
    "factorised": "latentscm.active.factorised:FactorisedModel",
    "entangled": "latentscm.active.entangled:EntangledModel",
})


def names() -> list[str]:
    """Registered world-model names."""
    return REGISTRY.names()


def make(name: str, **params: Any) -> Any:
    """An unfitted world model of the registered ``name`` with ``params``."""
    return REGISTRY.make(name, **params)


def load_world_model(path: str | os.PathLike) -> Any:
    """A fitted world model from a file written by :meth:`WorldModel.save`.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a saved world model (or names an unregistered model), or it is damaged (its contents do
        not match the digest recorded by :meth:`WorldModel.save`).
    """
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # unpickling errors come in many types
        raise ValueError(f"'{path}' is not a readable world-model file: {error}") from None
    if not isinstance(state, dict) or not {"name", "params", "weights", "image_shape", "n_actions"} <= set(state):
        raise ValueError(f"'{path}' is not a world-model file written by WorldModel.save.")
    if "sha256" in state:  # files written before digests were recorded have none and load as before
        from latentscm.active.world_model import state_digest

        try:
            intact = state_digest(state) == state["sha256"]
        except (AttributeError, TypeError, ValueError, RuntimeError):  # damaged structure
            intact = False
        if not intact:
            raise ValueError(f"'{path}' is a damaged world-model file: its contents do not match the SHA-256 recorded "
                             f"when it was saved. Train the model again (`latentscm active train`).")
    model = REGISTRY.get(state["name"])
    try:
        return model.from_state(state)
    except (RuntimeError, TypeError, KeyError) as error:  # weights that do not fit the recorded settings
        raise ValueError(f"'{path}' does not match its recorded parameters ({state['name']}): {error}") from None
