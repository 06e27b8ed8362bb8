"""How many domains a multi-domain learner builds, from its training data and ``n_domains``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["domains_to_build", "domain_indices"]


def domains_to_build(training_set: Any, n_domains: int | None, owner: str) -> int:
    """The number of per-domain modules to build.

    Parameters
    ----------
    training_set : object
        The training data; its ``domain`` attribute (N,) int, if any, holds each image's domain.
    n_domains : int or None
        The learner's ``n_domains`` hyperparameter (None: as many as the data holds).
    owner : str
        The learner's class name, for the error message.

    Returns
    -------
    int
        ``n_domains`` when given, else the largest domain index in the data + 1 (1 without domains).

    Raises
    ------
    ValueError
        A domain index is not an int >= 0 or is at least ``n_domains``, or a domain below the number
        built has no samples: its prior would keep its initialisation, and samples and counterfactuals
        in it would use that untrained prior (as :class:`~latentscm.learners.ild.ILD` refuses).
    """
    domain = getattr(training_set, "domain", None)
    if domain is not None and len(domain):
        array = np.asarray(domain)
        if not np.issubdtype(array.dtype, np.integer) or array.min() < 0:  # -1 would index the last domain
            raise ValueError(f"The training data of {owner} must give each image's domain as an int >= 0. Got "
                             f"dtype {array.dtype}, values {np.unique(array)[:10].tolist()}.")
    present = {0} if domain is None or len(domain) == 0 else set(np.unique(np.asarray(domain)).tolist())
    seen = max(present) + 1
    if n_domains is not None and seen > n_domains:
        raise ValueError(f"The training data of {owner} holds domain index {seen - 1}, but n_domains={n_domains}.")
    built = n_domains if n_domains is not None else seen
    empty = sorted(set(range(built)) - present)
    if empty:
        raise ValueError(f"{owner} builds {built} domains (0 .. {built - 1}; "
                         f"{'n_domains' if n_domains is not None else 'the largest domain index + 1'}), but domain(s) "
                         f"{empty[:10]} have no training samples and would keep an untrained prior; number the "
                         f"domains 0 .. K-1{' or lower n_domains' if n_domains is not None else ''}.")
    return int(built)


def domain_indices(domain: Any, n: int, limit: int, what: str, owner: str) -> torch.Tensor:
    """Domain argument ``domain`` (an int or (n,) ints) of ``owner`` as an (n,) int64 CPU tensor.

    Raises ``ValueError`` naming ``what`` when it is not ints of that shape (bools are refused) or
    an index lies outside ``[0, limit)`` (``limit``: the domains the model knows).
    """
    array = np.broadcast_to(np.asarray(domain), (n,)) if np.ndim(domain) == 0 else np.asarray(domain)
    if array.shape != (n,) or not (np.issubdtype(array.dtype, np.integer) and array.dtype != np.bool_):
        raise ValueError(f"The {what!r} of {owner} must be an int or ({n},) ints. Got {np.asarray(domain)!r:.80}.")
    if n and (array.min() < 0 or array.max() >= limit):
        raise ValueError(f"The {what!r} of {owner} must lie in [0, {limit}) (the model knows {limit} domains). "
                         f"Got {np.unique(array)[:10].tolist()}.")
    return torch.from_numpy(array.astype(np.int64))
