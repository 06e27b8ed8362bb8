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
        if indices is None:
            self.indices = np.arange(len(stored))
        else:
            rows = np.asarray(list(indices))
            # a boolean mask or float positions would be cast to other rows without a word
            if rows.size and (rows.ndim != 1 or rows.dtype == bool or not np.issubdtype(rows.dtype, np.integer)):
                raise TypeError(f"The 'indices' of WorldDataset must be integer row numbers (M,) (use "
                                f"np.flatnonzero(mask) for a boolean mask). Got {rows.dtype} of shape {rows.shape}.")
            self.indices = rows.astype(np.int64).reshape(-1)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= len(stored)):
            raise IndexError(f"WorldDataset indices must lie in [0, {len(stored)}).")

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = int(self.indices[item])
        image = torch.from_numpy(np.asarray(self.stored.images[index], dtype=np.float32) / 255.0)
        factors = torch.from_numpy(self.stored.factors[index].astype(np.float32))
        return image, factors
