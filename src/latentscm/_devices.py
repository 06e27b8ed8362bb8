"""A torch device named by a user, checked before anything is built on it."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["check_device"]


def check_device(value: Any, owner: str, name: str = "device") -> torch.device:
    """``value`` as a ``torch.device``; ValueError naming ``name`` and ``owner`` for text torch cannot read, a CUDA
    device where CUDA is not available (or an index beyond the devices present), or the ``meta`` device (no data)."""
    try:
        device = torch.device(value)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"The {name!r} parameter of {owner} is not a torch device: {value!r} (e.g. 'cpu', "
                         f"'cuda', 'cuda:1').") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"The {name!r} parameter of {owner} is {value!r} but CUDA is not available here; use "
                             f"'cpu'.")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"The {name!r} parameter of {owner} is {value!r} but only {torch.cuda.device_count()} "
                             f"CUDA device(s) are present.")
    if device.type == "meta":
        raise ValueError(f"The {name!r} parameter of {owner} is 'meta', a device without data; use 'cpu' or "
                         f"'cuda'.")
    return device
