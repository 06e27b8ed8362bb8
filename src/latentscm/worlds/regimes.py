"""Regimes: interventional (and, later, multi-domain) training data with known targets.

A :class:`Regime` is a named set of interventions on a world's factors — hard :class:`~latentscm.
interventions.Do`, soft ``Shift``/``Scale``, or :class:`RandomDo` (a hard intervention whose value
is drawn per sample from the factor's range or its observational marginal) — and/or replaced
mechanisms. :class:`RegimeMixture` mixes regimes with fractions. ``World.sample(n, seed=...,
regime=...)`` draws from a regime or a mixture and returns a :class:`~latentscm.worlds.base.Batch`
whose ``regime`` (N,) int says which regime (its index in the mixture) produced each sample and
``targets`` (N, K) bool which factors were intervened on, hard or soft (a replaced mechanism
and a domain's own change count: see :mod:`latentscm.worlds.domains`) (known-target interventional data, as
in the identifiability literature: e.g. Lippe et al. 2022, "CITRIS"; Ahuja et al. 2023,
"Interventional causal representation learning").

Each sample keeps its exogenous noise, and the batch keeps its regimes, so the world's exact
counterfactual of an interventional sample is computed in the regime it came from: a unit that
lived under ``do(shadow = s)`` keeps that shadow in every counterfactual that does not
intervene on the shadow itself.

Regimes are JSON-describable (:meth:`Regime.describe`, :meth:`Regime.from_description`) when they
replace no mechanisms, so run configs and dataset hashes record them and ``latentscm resume``
rebuilds the same data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from latentscm.interventions import Do, Intervention, Scale, Shift, as_interventions
from latentscm.scm.mechanisms import Mechanism

if TYPE_CHECKING:  # pragma: no cover
    from latentscm.worlds.base import World

__all__ = ["RandomDo", "Regime", "RegimeMixture", "as_mixture", "single_node_regimes", "interventional_mixture",
           "OBSERVATIONAL"]

_SOURCES = ("range", "marginal")


@dataclass(frozen=True, eq=False)
class RandomDo:
    """A hard intervention whose value is drawn per sample.

    ``source="range"``: uniform over the factor's grid (discrete) or range (continuous);
    ``"marginal"``: from the factor's observational marginal (a fresh observational sample's
    value; in a domain of a multi-domain world, that domain's observational sample), so the
    intervened factor keeps its usual distribution but loses its parents. Several ``"marginal"``
    targets of one regime draw from separate observational samples, so their values are independent.
    """

    source: str = "range"

    def __post_init__(self):
        if self.source not in _SOURCES:
            raise ValueError(f"The 'source' of RandomDo must be one of {', '.join(_SOURCES)}. Got {self.source!r}.")

    def __repr__(self) -> str:
        return f"RandomDo({self.source!r})"


def _describe_item(item: Any) -> dict[str, Any]:
    if isinstance(item, RandomDo):
        return {"kind": "random_do", "source": item.source}
    for kind, cls, attribute in (("do", Do, "value"), ("shift", Shift, "delta"), ("scale", Scale, "factor")):
        if isinstance(item, cls):
            value = getattr(item, attribute)
            if not isinstance(value, float):
                raise ValueError(f"A regime's {kind} intervention must have a scalar value (per-sample values come "
                                 f"from RandomDo). Got an array of shape {np.shape(value)}.")
            return {"kind": kind, "value": value}
    raise TypeError(f"Cannot describe intervention {item!r}.")


def _item_from_description(entry: Mapping[str, Any]) -> Any:
    if not isinstance(entry, Mapping):
        raise ValueError(f"An intervention in a regime description must be a mapping with a 'kind'. Got {entry!r}.")
    kind = entry.get("kind")
    if kind == "random_do":
        return RandomDo(entry.get("source", "range"))
    classes = {"do": Do, "shift": Shift, "scale": Scale}
    if kind not in classes:
        raise ValueError(f"Unknown intervention kind {kind!r} in a regime description; expected one of "
                         f"random_do, {', '.join(classes)}.")
    if "value" not in entry:
        raise ValueError(f"The {kind!r} intervention in a regime description has no 'value'. Got {dict(entry)!r}.")
    return classes[kind](entry["value"])


@dataclass(frozen=True, eq=False)
class Regime:
    """A named set of interventions and/or replaced mechanisms (see the module docstring).

    Parameters
    ----------
    name : str
        The regime's name (``"observational"``, ``"do(light)"``, ...).
    interventions : mapping
        Factor name -> ``Do`` / ``Shift`` / ``Scale`` (scalar) / :class:`RandomDo`
        (or a plain number, meaning ``Do``).
    mechanisms : mapping
        Factor name -> a replacement :class:`~latentscm.scm.Mechanism` over the same
        parents (a soft intervention by a new mechanism).
    """

    name: str = "observational"
    interventions: Mapping[str, Any] = field(default_factory=dict)
    mechanisms: Mapping[str, Mechanism] = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"A Regime needs a non-empty name. Got {self.name!r}.")
        if not isinstance(self.interventions, Mapping):
            raise TypeError(f"The 'interventions' of regime {self.name!r} must be a mapping {{factor: intervention}}. "
                            f"Got {type(self.interventions).__name__}.")
        items: dict[str, Any] = {}
        plain = {}
        for key, value in self.interventions.items():
            if not isinstance(key, str):
                raise TypeError(f"Regime {self.name!r}: intervention targets must be factor names. Got {key!r}.")
            if isinstance(value, RandomDo):
                items[key] = value
            else:
                plain[key] = value
        items.update(as_interventions(plain))
        for item in items.values():
            if isinstance(item, Intervention):
                _describe_item(item)  # scalar values only (raises otherwise)
        if not isinstance(self.mechanisms, Mapping):
            raise TypeError(f"The 'mechanisms' of regime {self.name!r} must be a mapping {{factor: Mechanism}}. Got "
                            f"{type(self.mechanisms).__name__}.")
        for key, mechanism in self.mechanisms.items():
            if not isinstance(mechanism, Mechanism):
                raise TypeError(f"Regime {self.name!r}: the replacement mechanism of {key!r} must be a Mechanism. "
                                f"Got {type(mechanism).__name__}.")
            if key in items:
                raise ValueError(f"Regime {self.name!r} both intervenes on {key!r} and replaces its mechanism; "
                                 f"choose one.")
        object.__setattr__(self, "interventions", items)
        object.__setattr__(self, "mechanisms", dict(self.mechanisms))

    @property
    def targets(self) -> tuple[str, ...]:
        """The factors this regime intervenes on (interventions and replaced mechanisms)."""
        return (*self.interventions, *self.mechanisms)

    @property
    def observational(self) -> bool:
        return not self.targets

    def check(self, world: World) -> None:
        """Raise naming the factor if this regime names something ``world`` lacks or intervenes
        in a way the factor's kind or range does not allow: a ``Do`` value off the grid / range; a
        ``Shift`` or ``Scale`` of a categorical factor (one with labels: its grid order means
        nothing); a ``Shift`` of more than the range's width or a ``Scale`` by 0 (the snapped /
        clipped result is then one constant, a hard intervention in disguise: use ``Do``).
        Non-finite amounts are refused when the ``Shift`` / ``Scale`` is built."""
        from latentscm.graph import UnknownNodeError

        valid = list(world.factor_names)
        for name in self.targets:
            if name not in valid:
                raise UnknownNodeError(name, valid, what=f"factor in regime {self.name!r} (world {world.name!r})")
        for name, item in self.interventions.items():
            if isinstance(item, Do):
                world.spec(name).check(np.atleast_1d(item.value), what=f"intervention value in regime {self.name!r}")
            elif isinstance(item, (Shift, Scale)):
                _check_soft(world.spec(name), item, f"regime {self.name!r}")

    def realise(self, world: World, n: int, rng: np.random.Generator) -> dict[str, Intervention]:
        """Concrete interventions for ``n`` samples: :class:`RandomDo` becomes ``Do`` of (n,) drawn values."""
        out: dict[str, Intervention] = {}
        scm = None
        for name, item in self.interventions.items():
            if not isinstance(item, RandomDo):
                out[name] = item
                continue
            spec = world.spec(name)
            if item.source == "range":
                if spec.values is not None:
                    values = spec.values[rng.integers(0, spec.values.size, size=n)]
                else:
                    values = rng.uniform(spec.low, spec.high, size=n)
            else:
                if scm is None:
                    observational = self._observational()
                    scm = world._regime_scm(observational, observational.interventions) \
                        if observational.targets else world.scm
                # a fresh observational sample per factor: values drawn from one joint sample would keep
                # the factors' observational dependence (a child would still follow its intervened parent)
                values = spec.snap(scm.sample(n, seed=rng)[name])
            out[name] = Do(values)
        return out

    def _observational(self) -> Regime:
        """The observational regime this regime's units live in (:class:`RandomDo` ``"marginal"``
        draws from it): the world as built; a domain's regime overrides it with the domain's."""
        return OBSERVATIONAL

    def describe(self) -> dict[str, Any]:
        """A JSON description (for run configs and dataset hashes).

        Raises ``ValueError`` when the regime replaces mechanisms (objects, not data)."""
        if self.mechanisms:
            raise ValueError(f"Regime {self.name!r} replaces the mechanism(s) of {', '.join(self.mechanisms)}, which "
                             f"cannot be recorded as data; pass cache_key=... to name such a dataset.")
        return {"name": self.name,
                "interventions": {k: _describe_item(v) for k, v in sorted(self.interventions.items())}}

    @classmethod
    def from_description(cls, entry: Mapping[str, Any]) -> Regime:
        """Inverse of :meth:`describe`."""
        if not isinstance(entry, Mapping) or "name" not in entry:
            raise ValueError(f"A regime description must be a mapping with a 'name'. Got {entry!r}.")
        items = {k: _item_from_description(v) for k, v in dict(entry.get("interventions", {})).items()}
        return cls(str(entry["name"]), items)

    def __repr__(self) -> str:
        parts = [f"{k}={v!r}" for k, v in self.interventions.items()] + [f"{k}:={v!r}" for k, v in
                                                                          self.mechanisms.items()]
        return f"Regime({self.name!r}{', ' if parts else ''}{', '.join(parts)})"


OBSERVATIONAL = Regime("observational")


def _check_soft(spec: Any, item: Shift | Scale, where: str) -> None:
    """Raise naming the factor if the soft intervention ``item`` does not suit factor ``spec`` (see
    :meth:`Regime.check`)."""
    kind = "shift" if isinstance(item, Shift) else "scale"
    amount = item.delta if isinstance(item, Shift) else item.factor
    if spec.labels is not None:
        raise ValueError(f"The {kind} {amount!r} of factor {spec.name!r} in {where}: {spec.name!r} is categorical "
                         f"(values {', '.join(spec.labels)}), so shifting or scaling it has no meaning; use Do or "
                         f"RandomDo, or replace its mechanism.")
    width = float(spec.high - spec.low)
    if isinstance(item, Shift) and np.any(np.abs(amount) > width):
        raise ValueError(f"The shift {amount!r} of factor {spec.name!r} in {where} exceeds the width {width:g} of its "
                         f"range [{spec.low:g}, {spec.high:g}], so every value would be clipped to one edge; use Do "
                         f"for a constant value.")
    if isinstance(item, Scale) and np.any(np.asarray(amount) == 0.0):
        raise ValueError(f"The scale 0 of factor {spec.name!r} in {where} makes the factor one constant; use Do.")


class RegimeMixture:
    """Regimes with fractions summing to 1; ``World.sample`` draws ``floor(fraction * n)`` samples
    from each, plus one for the regimes with the largest remainders so that the counts sum to
    ``n`` (:meth:`counts`), in a seeded random order.

    Parameters
    ----------
    regimes : sequence of Regime
        The regimes (distinct names).
    fractions : sequence of float or None
        One per regime, each in [0, 1], summing to 1 (default: equal).
    """

    def __init__(self, regimes: Sequence[Regime], fractions: Sequence[float] | None = None):
        regimes = list(regimes)
        if not regimes:
            raise ValueError("A RegimeMixture needs at least one regime.")
        for regime in regimes:
            if not isinstance(regime, Regime):
                raise TypeError(f"RegimeMixture takes Regime objects. Got {type(regime).__name__}.")
        names = [r.name for r in regimes]
        if len(set(names)) != len(names):
            raise ValueError(f"The regimes of a RegimeMixture need distinct names. Got {names}.")
        if fractions is None:
            fractions = [1.0 / len(regimes)] * len(regimes)
        if isinstance(fractions, (str, bytes, Mapping)) or not isinstance(fractions, (Sequence, np.ndarray)):
            raise TypeError(f"The 'fractions' of a RegimeMixture must be a sequence of numbers, one per regime. "
                            f"Got {fractions!r}.")
        if len(fractions) != len(regimes):
            raise ValueError(f"RegimeMixture got {len(regimes)} regimes but {len(fractions)} fractions.")
        for name, fraction in zip(names, fractions):
            if isinstance(fraction, (bool, np.bool_)) or not isinstance(fraction, (int, float, np.integer,
                                                                                   np.floating)):
                raise TypeError(f"The fraction of regime {name!r} must be a number. Got {fraction!r}.")
        fractions = [float(f) for f in fractions]
        for name, fraction in zip(names, fractions):
            if not math.isfinite(fraction) or not 0.0 <= fraction <= 1.0:
                raise ValueError(f"The fraction of regime {name!r} must lie in [0, 1]. Got {fraction!r}.")
        if abs(sum(fractions) - 1.0) > 1e-6:
            raise ValueError(f"The fractions of a RegimeMixture must sum to 1. Got {sum(fractions):g} "
                             f"({', '.join(f'{n}: {f:g}' for n, f in zip(names, fractions))}).")
        self.regimes = tuple(regimes)
        self.fractions = tuple(fractions)

    def counts(self, n: int) -> np.ndarray:
        """Samples per regime (int64 (R,), summing to ``n``), by largest remainders."""
        exact = np.asarray(self.fractions) * n
        counts = np.floor(exact).astype(np.int64)
        remainder = int(n - counts.sum())
        if remainder > 0:
            order = np.argsort(-(exact - counts), kind="stable")
            counts[order[:remainder]] += 1
        while remainder < 0:  # fractions summing to a little over 1 (within 1e-6): floors over n
            order = np.argsort(np.where(counts > 0, exact - counts, np.inf), kind="stable")
            take = order[:min(-remainder, int((counts > 0).sum()))]
            counts[take] -= 1
            remainder += take.size
        return counts

    def check(self, world: World) -> None:
        for regime in self.regimes:
            regime.check(world)

    def describe(self) -> dict[str, Any]:
        return {"regimes": [r.describe() for r in self.regimes], "fractions": list(self.fractions)}

    @classmethod
    def from_description(cls, entry: Mapping[str, Any]) -> RegimeMixture:
        """Inverse of :meth:`describe`."""
        if not isinstance(entry, Mapping) or not isinstance(entry.get("regimes"), (list, tuple)):
            raise ValueError(f"A regime mixture description must be a mapping with a list of 'regimes'. Got {entry!r}.")
        return cls([Regime.from_description(r) for r in entry["regimes"]], entry.get("fractions"))

    def __len__(self) -> int:
        return len(self.regimes)

    def __repr__(self) -> str:
        return "RegimeMixture(" + ", ".join(f"{r.name}: {f:g}" for r, f in zip(self.regimes, self.fractions)) + ")"


def as_mixture(regime: Regime | RegimeMixture | Sequence[Regime] | None) -> RegimeMixture:
    """A :class:`RegimeMixture` from a regime, a mixture, a list of regimes (equal fractions) or
    ``None`` (observational only)."""
    if regime is None:
        return RegimeMixture([OBSERVATIONAL])
    if isinstance(regime, RegimeMixture):
        return regime
    if isinstance(regime, Regime):
        return RegimeMixture([regime])
    if isinstance(regime, (list, tuple)):
        return RegimeMixture(regime)
    raise TypeError(f"The 'regime' argument must be a Regime, a RegimeMixture or a list of regimes. Got "
                    f"{type(regime).__name__}.")


def single_node_regimes(world: World, *, source: str = "range", factors: Sequence[str] | None = None,
                        include_observational: bool = True) -> list[Regime]:
    """The observational regime plus one ``do(f = random value)`` regime per factor ``f``.

    ``source`` is :class:`RandomDo`'s (``"range"`` or ``"marginal"``); ``factors`` restricts the
    intervened factors (default: all).
    """
    if isinstance(factors, str):  # one factor, not its letters
        factors = [factors]
    names = list(world.factor_names) if factors is None else list(factors)
    regimes = [OBSERVATIONAL] if include_observational else []
    regimes += [Regime(f"do({name})", {name: RandomDo(source)}) for name in names]
    mixture = RegimeMixture(regimes)
    mixture.check(world)
    return regimes


def interventional_mixture(world: World, interventional_fraction: float, *,
                           regimes: Sequence[Regime] | None = None, source: str = "range") -> RegimeMixture:
    """Observational data with ``interventional_fraction`` of the samples spread equally over
    ``regimes`` (default: one single-node ``RandomDo`` regime per factor)."""
    fraction = float(interventional_fraction) if not isinstance(interventional_fraction, bool) else math.nan
    if not math.isfinite(fraction) or not 0.0 <= fraction <= 1.0:
        raise ValueError(f"The 'interventional_fraction' must lie in [0, 1]. Got {interventional_fraction!r}.")
    if regimes is None:
        regimes = single_node_regimes(world, source=source, include_observational=False)
    regimes = [r for r in regimes if not r.observational]
    if not regimes or fraction == 0.0:
        return RegimeMixture([OBSERVATIONAL])
    share = fraction / len(regimes)
    mixture = RegimeMixture([OBSERVATIONAL, *regimes], [1.0 - fraction, *([share] * len(regimes))])
    mixture.check(world)
    return mixture
