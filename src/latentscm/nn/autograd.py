"""Running a probe's own training or differentiation with autograd on, whatever the caller runs under."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import torch

__all__ = ["with_autograd"]

_F = TypeVar("_F", bound=Callable[..., Any])


def with_autograd(function: _F) -> _F:
    """Decorate a function that trains or differentiates so that it runs with autograd on even when its caller
    runs under ``torch.no_grad()`` or ``torch.inference_mode()`` (where its gradients would be missing, or read
    as zeros), and so that the tensors it makes are ordinary ones that can join a graph. The caller's mode is
    back when it returns."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with torch.inference_mode(False), torch.enable_grad():
            return function(*args, **kwargs)

    return cast(_F, wrapper)
