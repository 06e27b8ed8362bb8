"""Torch ``Dataset`` adapters over stored world datasets (seeded splits come from
:meth:`StoredDataset.split`)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["WorldDataset"]


class WorldDataset(Dataset):
    """``(image float32 (C, H, W) in [0, 1], factors float32 (K,))`` pairs read lazily from the
    memory-mapped store; ``indices`` selects a split."""

    def __init__(self, stored, indices: Iterable[int] | None = None):
        self.stored = stored
        self.indices = np.arange(len(stored)) if indices is None else np.asarray(list(indices), dtype=np.int64)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= len(stored)):
            raise IndexError(f"WorldDataset indices must lie in [0, {len(stored)}).")

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = int(self.indices[item])
        image = torch.from_numpy(np.asarray(self.stored.images[index], dtype=np.float32) / 255.0)
        factors = torch.from_numpy(self.stored.factors[index].astype(np.float32))
        return image, factors
