"""Running the one training loop on several processes (``torchrun``) with DistributedDataParallel.

Launched by ``torchrun --nproc-per-node=K ...`` the environment holds ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and the rendezvous address; :func:`setup` then initialises the process group
(``gloo`` on CPU, ``nccl`` on CUDA) unless the caller already has. Every process builds the same
model from the same seed, trains on its own shard of the data, and DDP averages gradients, so
the weights stay identical; rank 0 alone writes checkpoints and logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DistContext", "is_launch_main", "setup", "wrap"]


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: ``rank`` of ``world_size``; ``active`` when more than one."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    created_group: bool = False

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def teardown(self) -> None:
        """Destroy the process group if :func:`setup` created it."""
        if self.created_group and dist.is_initialized():
            dist.destroy_process_group()


def is_launch_main() -> bool:
    """Whether this process is rank 0 of its launch (``RANK`` of ``torchrun``'s environment; a
    process not started by torchrun is). Readable before and after the process group exists,
    e.g. to let one rank alone print what a command did."""
    return os.environ.get("RANK", "0").strip() in ("", "0")


def setup(device: torch.device) -> DistContext:
    """Join the process group described by the environment (if any); a no-op for one process."""
    if dist.is_available() and dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed support.")
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)),
                       created_group=True)


def wrap(module: nn.Module, context: DistContext, device: torch.device) -> nn.Module:
    """``module`` in DistributedDataParallel when running on several processes (else itself)."""
    if not context.active or not any(p.requires_grad for p in module.parameters()):
        return module
    device_ids = [device.index] if device.type == "cuda" and device.index is not None else None
    return nn.parallel.DistributedDataParallel(module, device_ids=device_ids)
