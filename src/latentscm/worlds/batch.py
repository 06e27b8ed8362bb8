"""A batch of world samples: images, factors, the exogenous noise that produced them, and the
regime each sample came from (see :mod:`latentscm.worlds.regimes`). Kept apart from
:mod:`latentscm.worlds.base` so that the store and other consumers need not import the World."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentscm.graph import UnknownNodeError
from latentscm.interventions import Do, Intervention, Scale, Shift
from latentscm.worlds.regimes import OBSERVATIONAL, Regime

__all__ = ["Batch", "RENDER_SEED"]

#: key of the per-image rendering seed in ``Batch.noise`` (worlds whose renderer is random)
RENDER_SEED = "render_seed"


def _regime_key(regime: Regime) -> tuple:
    """What makes two regime objects the same regime for :meth:`Batch.concatenate`."""
    mechanisms = tuple(sorted((name, id(mechanism)) for name, mechanism in regime.mechanisms.items()))
    base = getattr(regime, "base", None)
    return (type(regime).__qualname__, regime.name, getattr(regime, "domain", 0),
            repr(dict(regime.interventions)), mechanisms, None if base is None else _regime_key(base))


def _amount_field(item: Intervention) -> str | None:
    """The field holding an intervention's amount: ``value`` (Do), ``delta`` (Shift) or ``factor``
    (Scale); ``None`` for another kind of intervention (a user's subclass), which is kept whole."""
    if not isinstance(item, (Do, Shift, Scale)):
        return None
    return next(name for name in ("value", "delta", "factor") if hasattr(item, name))


def _per_sample(item: Any, n: int, name: str) -> Intervention:
    """``item`` with its amount as a float array (n,) (a scalar broadcast to every sample); an
    intervention without an amount (a user's :class:`Intervention` subclass) acts alike on every sample."""
    if not isinstance(item, Intervention):
        raise TypeError(f"Batch.interventions[{name!r}] must be an Intervention (Do, Shift, Scale). "
                        f"Got {type(item).__name__}.")
    field_name = _amount_field(item)
    if field_name is None:
        return item
    amount = np.asarray(getattr(item, field_name), dtype=np.float64)
    if amount.ndim and amount.shape != (n,):
        raise ValueError(f"Batch.interventions[{name!r}] must hold a scalar or one value per sample ({n},). Got "
                         f"shape {amount.shape}.")
    return dataclasses.replace(item, **{field_name: np.broadcast_to(amount, (n,)).copy()})


def _select(item: Intervention, index: Any) -> Intervention:
    field_name = _amount_field(item)
    return item if field_name is None else dataclasses.replace(item, **{field_name: getattr(item, field_name)[index]})


def _joined(items: list[Intervention]) -> Intervention:
    """One intervention from those of several batches on one factor (of one kind): amounts concatenated."""
    field_name = _amount_field(items[0])
    if field_name is None:
        return items[0]
    return dataclasses.replace(items[0], **{field_name: np.concatenate([getattr(item, field_name) for item in items])})


def _indices(values: Any, name: str) -> np.ndarray:
    """``values`` as int64 indices; a fractional or non-finite number is refused, naming ``Batch.<name>`` (a cast
    would turn domain 0.5 into 0 without a word)."""
    array = np.asarray(values)
    if array.dtype.kind == "f" and array.size and not (np.all(np.isfinite(array)) and np.all(array == np.round(array))):
        bad = float(array[~(np.isfinite(array) & (array == np.round(array)))].flat[0])
        raise ValueError(f"Batch.{name} must hold integer indices. Got {bad!r}.")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"Batch.{name} must hold integer indices. Got dtype {array.dtype}.")
    return array.astype(np.int64)


@dataclass
class Batch:
    """Images, factors, the exogenous noise that produced them, and the regime of each sample.

    ``regime`` (N,) int64 indexes ``regimes`` (default: all observational); ``targets`` (N, K)
    bool marks the intervened factors of each sample (default: none): hard and soft interventions
    and replaced mechanisms, a domain's own changed factors included (a soft intervention relative
    to domain 0); ``domain`` (N,) int64 is
    the domain (or environment) of each sample in a multi-domain world (default: all 0; see
    :mod:`latentscm.worlds.domains`). ``interventions`` are the counterfactual interventions a batch
    returned by :meth:`~latentscm.worlds.base.World.counterfactual` was made under (factor or hidden
    node -> Do / Shift / Scale, amounts (N,)); empty for sampled data. A further counterfactual keeps
    them, so counterfactuals compose: ``cf(cf(b, do(a)), do(b))`` is ``cf(b, {do(a), do(b)})``.
    """

    images: np.ndarray
    factors: np.ndarray
    noise: dict[str, np.ndarray]
    factor_names: tuple[str, ...] = field(default=())
    regime: np.ndarray | None = None
    targets: np.ndarray | None = None
    regimes: tuple[Regime, ...] = ()
    domain: np.ndarray | None = None
    interventions: dict[str, Intervention] = field(default_factory=dict)

    def __post_init__(self):
        if self.images.ndim != 4:
            raise ValueError(f"Batch.images must be (N, C, H, W). Got shape {self.images.shape}.")
        if self.factors.ndim != 2 or self.factors.shape[0] != self.images.shape[0]:
            raise ValueError(f"Batch.factors must be (N, K) with N = {self.images.shape[0]}. Got "
                             f"{self.factors.shape}.")
        self.factor_names = tuple(self.factor_names)
        n, k = self.factors.shape
        self.regimes = tuple(self.regimes) or (OBSERVATIONAL,)
        self.regime = np.zeros(n, dtype=np.int64) if self.regime is None else _indices(self.regime, "regime")
        self.targets = (np.zeros((n, k), dtype=bool) if self.targets is None
                        else np.asarray(self.targets, dtype=bool))
        if self.regime.shape != (n,) or (n and (self.regime.min() < 0 or self.regime.max() >= len(self.regimes))):
            raise ValueError(f"Batch.regime must be (N,) = ({n},) indices into {len(self.regimes)} regime(s).")
        if self.targets.shape != (n, k):
            raise ValueError(f"Batch.targets must be (N, K) = ({n}, {k}). Got {self.targets.shape}.")
        self.domain = np.zeros(n, dtype=np.int64) if self.domain is None else _indices(self.domain, "domain")
        if self.domain.shape != (n,) or (n and self.domain.min() < 0):
            raise ValueError(f"Batch.domain must be (N,) = ({n},) non-negative domain indices. Got shape "
                             f"{self.domain.shape}.")
        nodes = [*self.factor_names, *(name for name in self.noise if name not in self.factor_names
                                       and name != RENDER_SEED)]  # factors, and hidden nodes by their noise
        for name in self.interventions:
            if name not in nodes:
                raise UnknownNodeError(name, nodes, what="node in Batch.interventions")
        self.interventions = {name: _per_sample(item, n, name) for name, item in self.interventions.items()}

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def factor(self, name: str) -> np.ndarray:
        """Column (N,) of one factor."""
        if name not in self.factor_names:
            raise UnknownNodeError(name, self.factor_names, what="factor")
        return self.factors[:, self.factor_names.index(name)]

    def __getitem__(self, index) -> Batch:
        """Select samples (slice, integer array or boolean mask); an integer selects one sample as
        a batch of one (negative counts from the end) and raises IndexError past either end, which
        also ends iteration over a batch."""
        if isinstance(index, (int, np.integer)):
            position = int(index) + (len(self) if index < 0 else 0)
            if not 0 <= position < len(self):
                raise IndexError(f"Batch index {int(index)} is out of range for a batch of {len(self)} samples.")
            index = slice(position, position + 1)
        return Batch(self.images[index], self.factors[index],
                     {k: v[index] for k, v in self.noise.items()}, self.factor_names,
                     self.regime[index], self.targets[index], self.regimes, self.domain[index],
                     {name: _select(item, index) for name, item in self.interventions.items()})

    @staticmethod
    def concatenate(batches: Sequence[Batch]) -> Batch:
        """One batch from several; their regimes are merged when they are the same regime: same
        class, name, domain and interventions (by repr) and the same replaced mechanism objects
        (a repr need not show a mechanism's parameters, so equal reprs are not enough)."""
        if not batches:
            raise ValueError("Batch.concatenate needs at least one batch.")
        names = batches[0].factor_names
        for i, b in enumerate(batches[1:], start=1):
            # joined under the first batch's names, columns of another order or world would be mislabelled
            if b.factor_names != names:
                raise ValueError(f"Batch.concatenate: batch {i} has factors {list(b.factor_names)}, batch 0 has "
                                 f"{list(names)}; only batches of one world can be joined.")
            if set(b.noise) != set(batches[0].noise):
                raise ValueError(f"Batch.concatenate: batch {i} has noise for {sorted(b.noise)}, batch 0 for "
                                 f"{sorted(batches[0].noise)}; only batches of one world can be joined.")
            kinds = {name: type(item) for name, item in b.interventions.items()}
            others = [name for name, item in b.interventions.items()  # a user's intervention: the very same one
                      if _amount_field(item) is None and batches[0].interventions.get(name) is not item]
            if others or kinds != {name: type(item) for name, item in batches[0].interventions.items()}:
                raise ValueError(f"Batch.concatenate: batch {i} is a counterfactual under {_describe(b)}, batch 0 "
                                 f"under {_describe(batches[0])}; only batches under the same kinds of "
                                 f"interventions on the same factors (a user's Intervention: the same object) can be "
                                 f"joined.")
        regimes: list[Regime] = []
        keys: list[tuple] = []
        indices = []
        for b in batches:
            remap = []
            for regime in b.regimes:
                key = _regime_key(regime)
                if key not in keys:
                    keys.append(key)
                    regimes.append(regime)
                remap.append(keys.index(key))
            indices.append(np.asarray(remap, dtype=np.int64)[b.regime])
        return Batch(np.concatenate([b.images for b in batches]), np.concatenate([b.factors for b in batches]),
                     {k: np.concatenate([b.noise[k] for b in batches]) for k in batches[0].noise}, names,
                     np.concatenate(indices), np.concatenate([b.targets for b in batches]), tuple(regimes),
                     np.concatenate([b.domain for b in batches]),
                     {name: _joined([b.interventions[name] for b in batches]) for name in batches[0].interventions})


def _describe(batch: Batch) -> str:
    kinds = {name: type(item).__name__ for name, item in batch.interventions.items()}
    return ", ".join(f"{kind}({name})" for name, kind in sorted(kinds.items())) or "no intervention (sampled data)"
