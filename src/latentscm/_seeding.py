"""Seeded construction of torch modules without disturbing the caller's random streams.

PyTorch's default parameter initialisation (``nn.Linear``, ``nn.Conv2d``, ``reset_parameters``)
draws from the global CPU generator. Code that builds networks from a ``seed`` therefore seeds that
generator for the build and restores it afterwards, so the same seed gives the same weights
whatever ran before, and the user's own stream continues as if nothing had drawn from it.

Only the CPU generator is seeded: modules are built on the CPU (and moved afterwards), and
``torch.manual_seed`` would also reseed every CUDA generator, which the restore would not undo.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["seeded_torch"]


@contextmanager
def seeded_torch(seed: int) -> Iterator[None]:
    """Run the block with torch's global CPU generator seeded by ``seed`` (an int below 2**64, torch's
    seed range); restore its state after."""
    if not -2**63 <= int(seed) < 2**64:  # torch would fail with "Overflow when unpacking long long", naming no seed
        raise ValueError(f"The seed {int(seed)} is outside torch's seed range (0 to 2**64 - 1 = 18446744073709551615).")
    state = torch.random.get_rng_state()
    torch.random.default_generator.manual_seed(int(seed))
    try:
        yield
    finally:
        torch.random.set_rng_state(state)
