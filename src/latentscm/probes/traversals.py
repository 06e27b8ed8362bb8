"""Latent traversals: decode one code with a single unit swept across a range.

The classic qualitative probe of disentanglement (Higgins et al. 2017): for each latent unit d,
decode ``z`` with ``z_d`` replaced by each of a row of values, keeping every other unit fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_number

__all__ = ["latent_traversal", "traversal_values"]


def traversal_values(codes: np.ndarray, *, steps: int = 9, quantile: float = 0.02) -> np.ndarray:
    """Per-unit sweep values (D, steps) between the ``quantile`` and ``1 - quantile`` of the codes
    (N, D), so each row covers what the encoder actually produces."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[0] == 0:
        raise ValueError(f"traversal_values needs codes of shape (N, D) with N >= 1. Got {codes.shape}.")
    if not np.all(np.isfinite(codes)):  # a NaN code would make its unit's whole sweep NaN
        bad = sorted({int(d) for d in np.flatnonzero(~np.isfinite(codes).all(axis=0))})
        raise ValueError(f"The 'codes' argument of traversal_values has NaN or infinite values (units {bad}).")
    steps = int(check_number(steps, "steps", "traversal_values", low=2, integer=True))
    q = check_number(quantile, "quantile", "traversal_values", low=0.0, high=0.5, high_inclusive=False)
    low, high = np.quantile(codes, q, axis=0), np.quantile(codes, 1 - q, axis=0)
    return np.linspace(low, high, steps, axis=1)


def latent_traversal(learner: Any, image: np.ndarray, values: np.ndarray,
                     units: Sequence[int] | None = None) -> list[np.ndarray]:
    """Rows of traversal images: row d holds ``decode(z with z_d = values[d, j])`` for each j.

    ``image`` (C, H, W) or (1, C, H, W); ``values`` (D, S) from :func:`traversal_values`;
    returns a list of (S, C, H, W) arrays, one per unit in ``units`` (default all; indices in [0, D)).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"The 'image' argument of latent_traversal must be one image, (C, H, W) or (1, C, H, W). "
                         f"Got shape {image.shape}.")
    base = learner.encode(image)[0]
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or values.shape[0] != base.shape[0]:
        raise ValueError(f"latent_traversal needs values of shape ({base.shape[0]}, S). Got {values.shape}.")
    chosen = range(base.shape[0]) if units is None else list(units)
    for unit in chosen:  # -1 would silently sweep the last unit
        if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or not 0 <= unit < base.shape[0]:
            raise ValueError(f"The 'units' argument of latent_traversal must hold unit indices in "
                             f"[0, {base.shape[0]}). Got {unit!r}.")
    rows = []
    for unit in chosen:
        codes = np.repeat(base[None], values.shape[1], axis=0)
        codes[:, unit] = values[unit]
        rows.append(learner.decode(codes))
    return rows
