"""Borrowing a user's torch modules for a probe without changing them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch import nn

__all__ = ["frozen"]


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Hold ``modules`` in eval mode (no dropout noise, batch norm on its running statistics, so nothing is updated
    by a forward pass) with every parameter's ``requires_grad`` off, for the duration of the block; on exit each
    submodule's mode and each parameter's flag are restored as they were, whatever happened inside."""
    modes = [(m, m.training) for module in modules for m in module.modules()]
    parameters = list({id(p): p for module in modules for p in module.parameters() if p.requires_grad}.values())
    try:
        for module in modules:
            module.eval()
        for p in parameters:
            p.requires_grad_(False)
        yield
    finally:
        for p in parameters:
            p.requires_grad_(True)
        for m, mode in modes:
            m.train(mode)
