"""Helpers for the metrics that sample batches with one factor held fixed (FactorVAE and
BetaVAE scores): reading a world's factor specifications, drawing a value for the fixed factor,
sampling with a ``do()`` intervention, and encoding through the user's ``encode`` callable.

World contract used here: ``world.factor_specs`` — objects with ``.name``, ``.values`` (1-D
array of the discrete grid, or None when continuous) and ``.low`` / ``.high``;
``world.sample(n, *, seed, interventions=None) -> Batch`` with ``Batch.images`` (N, C, H, W).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from latentscm._validation import check_array


def varying_specs(world: Any, owner: str) -> list[Any]:
    """The world's factor specs that can vary (a grid of >= 2 values, or low < high). Holding a
    constant factor fixed changes nothing, so it cannot be voted for."""
    specs = getattr(world, "factor_specs", None)
    if specs is None or not hasattr(world, "sample"):
        raise TypeError(f"The 'world' argument of {owner} must have 'factor_specs' and 'sample' "
                        f"(a latentscm World). Got {type(world).__name__}.")
    varying = []
    for spec in specs:
        values = getattr(spec, "values", None)
        if values is not None:
            if np.unique(np.asarray(values)).size >= 2:
                varying.append(spec)
        elif float(spec.high) > float(spec.low):
            varying.append(spec)
    if not varying:
        raise ValueError(f"The world given to {owner} has no factor that varies.")
    return varying


def draw_value(spec: Any, rng: np.random.Generator) -> float:
    """A value for a fixed factor: uniform over its grid, or uniform in [low, high]."""
    if spec.values is not None:
        return float(rng.choice(np.asarray(spec.values)))
    return float(rng.uniform(float(spec.low), float(spec.high)))


def sample_fixed(world: Any, spec: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """Images (n, C, H, W) from ``world`` with ``spec``'s factor held at one random value."""
    batch = world.sample(n, seed=int(rng.integers(2**63 - 1)),
                         interventions={spec.name: draw_value(spec, rng)})
    return np.asarray(batch.images)


def sample_pairs(world: Any, spec: Any, n_pairs: int, rng: np.random.Generator) -> np.ndarray:
    """Images (2 n_pairs, C, H, W) in pairs ``(i, n_pairs + i)`` that share a value of ``spec``'s factor,
    each pair its own value (Higgins et al. 2017, section 3); everything else is drawn afresh.

    A world with ``counterfactual`` (a latentscm World) gives all pairs in one vectorised draw: a fresh
    sample, then its counterfactual under ``do(factor = v)`` with one ``v`` per pair; each member is so a
    draw from ``P(x | do(factor = v))``. Any other world is sampled once per distinct value.
    """
    values = np.array([draw_value(spec, rng) for _ in range(n_pairs)], dtype=np.float64)
    if callable(getattr(world, "counterfactual", None)):
        batch = world.sample(2 * n_pairs, seed=int(rng.integers(2**63 - 1)))
        return np.asarray(world.counterfactual(batch, {spec.name: np.concatenate([values, values])}).images)
    distinct, inverse = np.unique(values, return_inverse=True)
    parts = [world.sample(2 * int(np.sum(inverse == j)), seed=int(rng.integers(2**63 - 1)),
                          interventions={spec.name: float(value)}) for j, value in enumerate(distinct)]
    first = [np.asarray(part.images) for part in parts]
    images = np.empty((2 * n_pairs, *first[0].shape[1:]), dtype=first[0].dtype)
    for j, part in enumerate(first):
        rows = np.flatnonzero(inverse == j)
        images[rows], images[n_pairs + rows] = part[:len(rows)], part[len(rows):]
    return images


def encode_checked(encode: Callable[[np.ndarray], Any], images: np.ndarray, owner: str
                   ) -> np.ndarray:
    """Call ``encode`` and check it returned codes (len(images), D)."""
    codes = check_array(encode(images), "encode(images)", owner, ndim=2)
    if codes.shape[0] != images.shape[0]:
        raise ValueError(f"The 'encode' callable given to {owner} returned {codes.shape[0]} rows "
                         f"for {images.shape[0]} images.")
    return codes


def encode_chunked(encode: Callable[[np.ndarray], Any], images: list[np.ndarray], owner: str,
                   chunk_rows: int = 4096) -> list[np.ndarray]:
    """Encode a list of image batches with few ``encode`` calls (batches concatenated up to
    about ``chunk_rows`` rows), returning the codes split back per batch."""
    result: list[np.ndarray] = []
    start = 0
    while start < len(images):
        stop, rows = start, 0
        while stop < len(images) and (rows == 0 or rows + len(images[stop]) <= chunk_rows):
            rows += len(images[stop])
            stop += 1
        codes = encode_checked(encode, np.concatenate(images[start:stop]), owner)
        bounds = np.cumsum([len(batch) for batch in images[start:stop]])[:-1]
        result.extend(np.split(codes, bounds))
        start = stop
    return result
