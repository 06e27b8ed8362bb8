"""Multi-domain worlds and exchangeable environments.

Real data come from several *domains* (hospitals, cameras, seasons) whose causal mechanisms differ
in a few places. A :class:`DomainShift` turns any world into a multi-domain world: the causal
graph and the exogenous noise are shared by all domains, and domain ``d > 0`` replaces the
mechanisms of the ``shifted`` factors by copies of the world's own mechanisms with perturbed
parameters (domain 0 is the world as built). This is the data model of domain counterfactuals in
Zhou, Bai, Kulinski, Kocaoglu & Inouye (ICLR 2024), "Towards characterizing domain counterfactuals
for invertible latent causal models": ``x = g(f_d(eps))`` with shared noise ``eps``, shared
rendering ``g`` and domain-specific latent mechanisms ``f_d`` that differ on a sparse set of nodes.

A domain is a :class:`DomainRegime`, a :class:`~latentscm.worlds.regimes.Regime` with replaced
mechanisms that also remembers its domain index and the plain regime it extends, so sampling and
the exact counterfactual use the same machinery as interventional regimes
(``World._regime_scm``). The exact **domain counterfactual** of a sample keeps its exogenous
noise (and rendering noise and the realised values of its hard interventions), swaps in domain
``d``'s mechanisms and re-renders; factors that do not descend from a shifted factor keep their
values bit for bit, and a counterfactual to the sample's own domain is the identity.

:func:`environments` draws many small *exchangeable* environments in the sense of Guo, Tóth,
Schölkopf & Huszár (NeurIPS 2023), "Causal de Finetti": in each environment every mechanism's
parameters are drawn afresh and independently of every other mechanism's (independent causal
mechanisms), and ``per_env`` samples share them.

Perturbing a mechanism (:func:`perturb_mechanism`, extensible with
``perturb_mechanism.register(MyMechanism)``) keeps its class and its noise distribution wherever
the class has parameters of its own — ``LinearGaussian`` (weights, bias), ``Categorical`` (the
table, tilted by ``exp(strength * N(0, 1))`` and renormalised) — and otherwise applies a random
affine map of strength ``strength`` to the part that is an opaque function (``AdditiveNoise``:
``a f(pa) + b``; ``PostNonlinear``: its inner function; ``Functional``: its output about the
centre of the factor's range), with ``a = exp(strength * N(0, 1) / 2)`` and
``b = strength * width * N(0, 1) / 4`` (``width``: the factor's range). A continuous uniform root
(``value = noise``) cannot change without changing its noise, so its domain mechanism is the
monotone warp ``low + width * t ** p`` of ``t = (u - low) / width`` with ``p = exp(strength *
N(0, 1))``; any other root gets the affine map of its value about the centre of the range, as
``Functional``. ``kind="shift"`` instead shifts each shifted factor by a soft
:class:`~latentscm.interventions.Shift` of ``b``; the shifted value is snapped to the factor's grid
and clipped to its range (a value pushed past an edge stays at the edge), so on a grid ``b`` is
rounded to a whole number of grid steps, at least one, and ``|b|`` is capped at the range's width;
a categorical factor (one with labels) cannot be shifted. Domains must differ in every factor they
shift: on a grid a domain whose rounded shift equals an earlier domain's takes the nearest unused
number of steps (:func:`_distinct_shifts`); two continuous shifts capped at the same edge are refused.

A domain's changed factors are *targets* of its samples (``Batch.targets``): replacing a mechanism
or shifting it is a soft intervention relative to domain 0, as a :class:`Regime` with replaced
mechanisms or a ``Shift`` is.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.graph import UnknownNodeError
from latentscm.interventions import Do, Scale, Shift
from latentscm.scm.mechanisms import (
    AdditiveNoise,
    Categorical,
    Functional,
    InvertibleFunctional,
    LinearGaussian,
    Mechanism,
    PostNonlinear,
    Root,
    _call_function,
)
from latentscm.scm.noise import Uniform
from latentscm.worlds.batch import RENDER_SEED, Batch
from latentscm.worlds.regimes import OBSERVATIONAL, Regime, RegimeMixture, as_mixture

if TYPE_CHECKING:  # pragma: no cover
    from latentscm.worlds.base import FactorSpec, World

__all__ = ["DomainShift", "DomainRegime", "Environments", "perturb_mechanism", "domain_regimes",
           "sample_domain", "sample_domains", "domain_counterfactual", "environments", "KINDS"]

#: kinds of domain shift: new mechanism parameters, or a soft additive shift of the factor
KINDS = ("mechanism", "shift")


# ---------------------------------------------------------------------------- the shift spec
@dataclass(frozen=True)
class DomainShift:
    """How the domains of a multi-domain world differ.

    Parameters
    ----------
    n_domains : int
        Number of domains (>= 1). Domain 0 is the world as built; domains 1 .. n_domains - 1
        change the mechanisms of ``shifted``.
    shifted : sequence of str
        The factors whose mechanisms differ across domains (non-empty, no duplicates).
    kind : {"mechanism", "shift"}
        ``"mechanism"``: each domain gets the world's own mechanism classes with perturbed
        parameters (see the module docstring); ``"shift"``: a soft additive shift of the factor,
        snapped to its grid (at least one grid step) and clipped to its range.
    strength : float
        Size of the perturbation (> 0; 0.5 is clearly visible, 2 is drastic).
    seed : int
        Seed of the perturbations: domain ``d``'s mechanism of the ``j``-th factor comes from the
        generator ``default_rng([seed, d, j])``, so it does not depend on the other factors.
    """

    n_domains: int = 3
    shifted: tuple[str, ...] = ()
    kind: str = "mechanism"
    strength: float = 0.5
    seed: int = 0

    def __post_init__(self):
        owner = "DomainShift"
        object.__setattr__(self, "n_domains", check_number(self.n_domains, "n_domains", owner, low=1, integer=True))
        shifted = self.shifted
        if isinstance(shifted, str):
            shifted = (shifted,)
        if not isinstance(shifted, Sequence) or not shifted:
            raise ValueError(f"The 'shifted' parameter of {owner} must name at least one factor. Got {shifted!r}.")
        for name in shifted:
            if not isinstance(name, str):
                raise TypeError(f"The 'shifted' parameter of {owner} must list factor names. Got {name!r}.")
        if len(set(shifted)) != len(shifted):
            raise ValueError(f"The 'shifted' parameter of {owner} lists a factor twice: {list(shifted)}.")
        object.__setattr__(self, "shifted", tuple(shifted))
        if self.kind not in KINDS:
            raise ValueError(f"The 'kind' parameter of {owner} must be one of {', '.join(map(repr, KINDS))}. "
                             f"Got {self.kind!r} instead.")
        object.__setattr__(self, "strength", check_number(self.strength, "strength", owner, low=0.0,
                                                          low_inclusive=False))
        object.__setattr__(self, "seed", check_number(self.seed, "seed", owner, low=0, integer=True))

    def describe(self) -> dict[str, Any]:
        """A JSON description (inverse: ``DomainShift(**description)``)."""
        return {"n_domains": self.n_domains, "shifted": list(self.shifted), "kind": self.kind,
                "strength": self.strength, "seed": self.seed}

    @classmethod
    def coerce(cls, value: Any) -> DomainShift:
        """A :class:`DomainShift` from itself or a mapping of its arguments."""
        if isinstance(value, DomainShift):
            return value
        if isinstance(value, Mapping):
            return cls(**dict(value))
        raise TypeError(f"The 'domains' option must be a DomainShift or a mapping of its arguments "
                        f"(n_domains, shifted, kind, strength, seed). Got {type(value).__name__}.")


@dataclass(frozen=True, eq=False)
class DomainRegime(Regime):
    """A regime inside a domain: ``base``'s interventions plus domain ``domain``'s replaced
    mechanisms (the mechanisms of factors ``base`` intervenes on are left to the intervention).
    ``changes`` is the domain's own observational regime, all its changes included (``None``: this
    regime, when ``base`` is observational)."""

    domain: int = 0
    base: Regime = field(default=OBSERVATIONAL)
    changes: Regime | None = None

    def _observational(self) -> Regime:
        """The domain's observational regime (what :class:`RandomDo` ``"marginal"`` draws from)."""
        if self.changes is not None:
            return self.changes
        if self.base.observational:
            return self
        return Regime(f"domain{self.domain}",
                      {k: v for k, v in self.interventions.items() if k not in self.base.interventions},
                      {k: v for k, v in self.mechanisms.items() if k not in self.base.mechanisms})


# ---------------------------------------------------------------------------- perturbations
def _width(spec: FactorSpec | None) -> float:
    return 1.0 if spec is None else float(spec.high - spec.low)


def _centre(spec: FactorSpec | None) -> float:
    """The point a gain scales about: the centre of the factor's range (0 for a hidden node)."""
    return 0.0 if spec is None else (spec.low + spec.high) / 2.0


def _gain_offset(rng: np.random.Generator, strength: float, width: float) -> tuple[float, float]:
    gain = math.exp(strength * rng.standard_normal() / 2.0)
    offset = strength * width * rng.standard_normal() / 4.0
    return gain, offset


class _Affine:
    """``gain * function(parents) + offset`` (``function`` None means 0); picklable."""

    def __init__(self, function: Any, gain: float, offset: float):
        self.function, self.gain, self.offset = function, float(gain), float(offset)

    def __call__(self, parents: np.ndarray) -> np.ndarray:
        base = np.zeros(parents.shape[0]) if self.function is None else _call_function(self.function, parents)
        return self.gain * base + self.offset

    def __repr__(self) -> str:
        name = getattr(self.function, "__name__", repr(self.function))
        return f"{self.gain:.6g}*{name}+{self.offset:.6g}"


class _OutputAffine:
    """``centre + gain * (function(parents, noise) - centre) + offset``; picklable."""

    def __init__(self, function: Any, gain: float, offset: float, centre: float):
        self.function, self.gain, self.offset, self.centre = function, float(gain), float(offset), float(centre)

    def __call__(self, parents: np.ndarray, noise: np.ndarray) -> np.ndarray:
        value = np.asarray(self.function(parents, noise), dtype=np.float64)
        return self.centre + self.gain * (value - self.centre) + self.offset

    def __repr__(self) -> str:
        name = getattr(self.function, "__name__", self.function)
        return f"OutputAffine({name!r}, {self.gain:.6g}, {self.offset:.6g})"


class _OutputAffineInverse:
    """Inverse of :class:`_OutputAffine` given the base inverse ``(values, parents) -> noise``."""

    def __init__(self, inverse: Any, gain: float, offset: float, centre: float):
        self.inverse, self.gain, self.offset, self.centre = inverse, float(gain), float(offset), float(centre)

    def __call__(self, values: np.ndarray, parents: np.ndarray) -> np.ndarray:
        return self.inverse(self.centre + (np.asarray(values) - self.offset - self.centre) / self.gain, parents)


class _PowerWarp:
    """``low + width * ((u - low) / width) ** power`` on ``[low, high]``; picklable."""

    def __init__(self, low: float, high: float, power: float):
        self.low, self.width, self.power = float(low), float(high - low), float(power)

    def __call__(self, parents: np.ndarray, noise: np.ndarray) -> np.ndarray:
        t = np.clip((np.asarray(noise, dtype=np.float64) - self.low) / self.width, 0.0, 1.0)
        return self.low + self.width * t ** self.power

    def __repr__(self) -> str:
        return f"PowerWarp([{self.low:g}, {self.low + self.width:g}], p={self.power:.6g})"


class _PowerWarpInverse:
    def __init__(self, warp: _PowerWarp):
        self.warp = warp

    def __call__(self, values: np.ndarray, parents: np.ndarray) -> np.ndarray:
        w = self.warp
        t = np.clip((np.asarray(values, dtype=np.float64) - w.low) / w.width, 0.0, 1.0)
        return w.low + w.width * t ** (1.0 / w.power)


@functools.singledispatch
def perturb_mechanism(mechanism: Mechanism, spec: FactorSpec | None, rng: np.random.Generator,
                      strength: float) -> Mechanism:
    """A copy of ``mechanism`` with randomly perturbed parameters and the same noise distribution.

    Parameters
    ----------
    mechanism : Mechanism
        The world's mechanism (unwrapped from ``OnGrid``).
    spec : FactorSpec or None
        The factor's spec (its range scales offsets); ``None`` for hidden nodes.
    rng : numpy.random.Generator
        Source of the perturbation.
    strength : float
        Size of the perturbation (> 0).

    Raises
    ------
    TypeError
        For a mechanism class without a rule; register one with
        ``perturb_mechanism.register(MyMechanism)``.
    """
    raise TypeError(f"Cannot perturb a mechanism of class {type(mechanism).__name__} for a domain shift; register "
                    f"a rule with latentscm.worlds.domains.perturb_mechanism.register({type(mechanism).__name__}).")


@perturb_mechanism.register
def _(mechanism: LinearGaussian, spec, rng, strength):
    weights = mechanism.weights * np.exp(strength * rng.standard_normal(mechanism.weights.shape) / 2.0)
    bias = mechanism.bias + strength * _width(spec) * rng.standard_normal() / 4.0
    if mechanism.parent_names is not None:
        return LinearGaussian(dict(zip(mechanism.parent_names, weights.tolist())), bias, mechanism.std)
    return LinearGaussian(weights, bias, mechanism.std)


@perturb_mechanism.register
def _(mechanism: Categorical, spec, rng, strength):
    table = mechanism.table * np.exp(strength * rng.standard_normal(mechanism.table.shape))
    table = table / table.sum(axis=-1, keepdims=True)
    return Categorical(table, mechanism.states, mechanism.parent_states, mechanism.parent_names)


@perturb_mechanism.register
def _(mechanism: AdditiveNoise, spec, rng, strength):
    gain, offset = _gain_offset(rng, strength, _width(spec))
    names = mechanism.parent_names
    if mechanism.function is None:
        names = ()
    return AdditiveNoise(_Affine(mechanism.function, gain, offset), mechanism.noise, parent_names=names)


@perturb_mechanism.register
def _(mechanism: PostNonlinear, spec, rng, strength):
    gain, offset = _gain_offset(rng, strength, 1.0)
    return PostNonlinear(_Affine(mechanism.inner, gain, offset), mechanism.outer, mechanism.outer_inverse,
                         mechanism.noise, mechanism.parent_names)


@perturb_mechanism.register
def _(mechanism: Functional, spec, rng, strength):
    gain, offset = _gain_offset(rng, strength, _width(spec))
    centre = _centre(spec)
    function = _OutputAffine(mechanism.function, gain, offset, centre)
    if isinstance(mechanism, InvertibleFunctional):
        return InvertibleFunctional(function, _OutputAffineInverse(mechanism.inverse, gain, offset, centre),
                                    mechanism.noise, mechanism.parent_names)
    return Functional(function, mechanism.noise, mechanism.parent_names)


@perturb_mechanism.register
def _(mechanism: Root, spec, rng, strength):
    noise = mechanism.noise
    if isinstance(noise, Uniform):
        warp = _PowerWarp(noise.low, noise.high, math.exp(strength * rng.standard_normal()))
        return InvertibleFunctional(warp, _PowerWarpInverse(warp), noise, parent_names=())
    gain, offset = _gain_offset(rng, strength, _width(spec))
    centre = _centre(spec)  # as for Functional: a gain about 0 would move a factor's values off its range
    identity = _OutputAffine(_noise_value, gain, offset, centre)
    return InvertibleFunctional(identity, _OutputAffineInverse(_value_noise, gain, offset, centre), noise,
                                parent_names=())


def _noise_value(parents: np.ndarray, noise: np.ndarray) -> np.ndarray:
    return np.asarray(noise, dtype=np.float64)


def _value_noise(values: np.ndarray, parents: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _unwrapped(world: World, name: str) -> Mechanism:
    mechanism = world.scm.mechanisms[name]
    return getattr(mechanism, "base", mechanism)  # OnGrid wrappers are re-applied by World._regime_scm


def _check_factors(world: World, names: Sequence[str], what: str) -> None:
    valid = list(world.factor_names)
    for name in names:
        if name not in valid:
            raise UnknownNodeError(name, valid, what=f"{what} (world {world.name!r})")


def _domain_change(world: World, shift: DomainShift, domain: int) -> tuple[dict[str, Any], dict[str, Mechanism]]:
    """(soft interventions, replaced mechanisms) of ``domain`` (both empty for domain 0)."""
    if domain == 0:
        return {}, {}
    interventions: dict[str, Any] = {}
    mechanisms: dict[str, Mechanism] = {}
    for j, name in enumerate(world.factor_names):
        if name not in shift.shifted:
            continue
        rng = np.random.default_rng([shift.seed, domain, j])
        spec = world.spec(name)
        if shift.kind == "shift":
            interventions[name] = Shift(_effective_shift(spec, shift.strength * _width(spec) * rng.standard_normal()
                                                         / 4.0))
        else:
            mechanisms[name] = perturb_mechanism(_unwrapped(world, name), spec, rng, shift.strength)
    return interventions, mechanisms


def _effective_shift(spec: FactorSpec, delta: float) -> float:
    """The amount a ``kind="shift"`` domain shifts ``spec``'s factor by, given the drawn ``delta``.

    The shifted value is snapped to the factor's grid and clipped to its range (as every soft
    intervention on a factor), so a drawn shift below half a grid step would leave a discrete factor
    unchanged although the domain claims to shift it: on a grid the shift is rounded to a whole
    number of grid steps, at least one (the largest gap between neighbouring values, so that every
    value not at the range's edge moves), keeping its sign. A shift of more than the range's width
    moves every value to the edge, as the width itself does, so it is capped at the width."""
    width = float(spec.high - spec.low)
    if spec.values is not None and spec.values.size > 1:
        step = float(np.max(np.diff(spec.values)))
        delta = math.copysign(max(1, round(abs(delta) / step)) * step, delta)
    return float(np.clip(delta, -width, width))


def _distinct_shifts(world: World, shift: DomainShift,
                     changes: Sequence[tuple[dict[str, Any], dict[str, Mechanism]]]) -> None:
    """Make the domains of a ``kind="shift"`` world differ in every shifted factor (in place).

    On a grid, a domain whose rounded shift (a whole number ``k`` of steps) equals an earlier domain's
    takes the nearest unused number of steps (``k + 1``, ``k - 1``, ``k + 2``, ... ; never 0, at most
    the number of steps across the range, beyond which every shift clips to the same edge). A grid of
    ``m`` values gives at most ``2 (m - 1)`` distinct shifts: more shifted domains are refused. A
    continuous factor's shifts coincide only when two are capped at the range's width (a drastic
    strength): that is refused, naming the factor and the domains."""
    if shift.kind != "shift":
        return
    for name in shift.shifted:
        spec = world.spec(name)
        width = float(spec.high - spec.low)
        grid = spec.values is not None and spec.values.size > 1
        step = float(np.max(np.diff(spec.values))) if grid else 0.0
        limit = int(math.ceil(width / step - 1e-9)) if grid else 0
        used: dict[float, int] = {}
        for d, (interventions, _) in enumerate(changes):
            if name not in interventions:
                continue
            delta = interventions[name].delta
            if grid:
                k = int(round(delta / step))
                candidates = [k] + [c for m in range(1, 2 * limit + 1) for c in (k + m, k - m)]
                free = [c for c in candidates if c != 0 and abs(c) <= limit and c * step not in used]
                if not free:
                    raise ValueError(f"DomainShift(kind='shift') cannot give {shift.n_domains - 1} shifted domains "
                                     f"distinct shifts of factor {name!r}: its grid of {spec.values.size} values "
                                     f"allows {2 * limit} (a shift of more steps clips to the same edge). Use fewer "
                                     f"domains or kind='mechanism'.")
                interventions[name] = Shift(float(np.clip(free[0] * step, -width, width)))
                used[free[0] * step] = d
                continue
            match = next((e for value, e in used.items() if math.isclose(value, delta, rel_tol=1e-12, abs_tol=1e-12)),
                         None)
            if match is not None:
                raise ValueError(f"DomainShift(kind='shift'): domains {match} and {d} shift factor {name!r} by the "
                                 f"same amount {delta:g} (shifts are capped at the range's width, since shifted "
                                 f"values are clipped to it), so they would not differ in {name!r}. Choose a smaller "
                                 f"strength, another seed, or kind='mechanism'.")
            used[delta] = d


def domain_regimes(world: World, shift: DomainShift) -> tuple[DomainRegime, ...]:
    """The observational regime of each domain, ``(n_domains,)``; names ``"domain0"``, ...

    Raises ``UnknownNodeError`` naming a shifted factor the world lacks, and ``ValueError`` naming
    the factor when a domain of kind ``"shift"`` shifts a categorical factor, or when the domains
    cannot be given distinct shifts of a factor (see :func:`_distinct_shifts`).
    """
    _check_factors(world, shift.shifted, "shifted factor")
    for name in shift.shifted if shift.kind == "shift" else ():
        if world.spec(name).labels is not None:
            raise ValueError(f"DomainShift(kind='shift') cannot shift factor {name!r}: it is categorical (values "
                             f"{', '.join(world.spec(name).labels)}), so a shift has no meaning; use "
                             f"kind='mechanism'.")
    changes = [_domain_change(world, shift, d) for d in range(shift.n_domains)]
    _distinct_shifts(world, shift, changes)
    return tuple(DomainRegime(f"domain{d}", interventions, mechanisms, domain=d, base=OBSERVATIONAL)
                 for d, (interventions, mechanisms) in enumerate(changes))


def _in_domain(world: World, regime: Regime, domain: DomainRegime) -> DomainRegime:
    """``regime`` (a plain regime) lived in ``domain``: its interventions win over the domain's
    change on the same factor; a mechanism it replaces itself wins too."""
    if isinstance(regime, DomainRegime):
        regime = regime.base
    for name, item in regime.interventions.items():  # checked before the regime's items replace the domain's
        if name in domain.interventions and isinstance(item, (Shift, Scale)):
            raise ValueError(f"Regime {regime.name!r} shifts or scales {name!r}, which domain {domain.domain} also "
                             f"shifts; use kind='mechanism' or a hard intervention.")
    interventions = {k: v for k, v in domain.interventions.items()
                     if k not in regime.interventions and k not in regime.mechanisms}
    interventions.update(regime.interventions)
    mechanisms = {k: v for k, v in domain.mechanisms.items()
                  if k not in regime.interventions and k not in regime.mechanisms}
    mechanisms.update(regime.mechanisms)
    name = domain.name if regime.observational else f"{regime.name}@{domain.name}"
    return DomainRegime(name, interventions, mechanisms, domain=domain.domain, base=regime,
                        changes=domain._observational())


# ---------------------------------------------------------------------------- sampling
def _domains_of(world: World) -> tuple[DomainShift, tuple[DomainRegime, ...]]:
    shift = getattr(world, "_domain_shift", None)
    if shift is None:
        raise ValueError(f"World {world.name!r} has no domains; build it with worlds.make({world.name!r}, "
                         f"domains=DomainShift(...)) or world.with_domains(...).")
    return shift, world._domain_regimes


def check_domain(world: World, domain: Any, what: str = "domain") -> int:
    """``domain`` as an int in ``[0, n_domains)``, else a ``ValueError`` naming it."""
    shift, _ = _domains_of(world)
    if isinstance(domain, bool) or not isinstance(domain, (int, np.integer)):
        raise TypeError(f"The {what!r} must be an int in [0, {shift.n_domains}). Got {domain!r}.")
    if not 0 <= int(domain) < shift.n_domains:
        raise ValueError(f"The {what!r} must lie in [0, {shift.n_domains}) for world {world.name!r} "
                         f"({shift.n_domains} domains). Got {domain!r}.")
    return int(domain)


def sample_domain(world: World, n: int, *, seed: int | np.random.Generator, domain: int,
                  interventions: Mapping[str, Any] | str | None = None,
                  regime: Regime | RegimeMixture | Sequence[Regime] | None = None) -> Batch:
    """``n`` samples from domain ``domain`` (optionally under interventions / a regime mixture).

    ``interventions`` must be scalar here (they are recorded in the sample's regime so that the
    domain counterfactual can keep them); per-sample values come from a regime with ``RandomDo``.
    """
    domain = check_domain(world, domain)
    _, regimes = _domains_of(world)
    mixture = as_mixture(regime)
    extra = world._check_interventions(interventions) if interventions else {}
    for name, item in extra.items():
        value = getattr(item, "value", getattr(item, "delta", getattr(item, "factor", 0.0)))
        if np.ndim(value) != 0:
            raise ValueError(f"With domain=..., the intervention on {name!r} must be scalar (per-sample values come "
                             f"from a Regime with RandomDo).")
    merged = []
    for r in mixture.regimes:
        if extra:
            base = r.base if isinstance(r, DomainRegime) else r
            for name, item in extra.items():  # as World.sample without a domain
                if name in base.mechanisms and not item.hard:
                    raise ValueError(f"sample(interventions=...) shifts or scales {name!r}, whose mechanism regime "
                                     f"{base.name!r} replaces; put the soft intervention in the regime instead.")
            r = Regime(base.name if not base.observational else "interventions",
                       {**{k: v for k, v in base.interventions.items() if k not in extra}, **extra},
                       {k: v for k, v in base.mechanisms.items() if k not in extra})  # a hard intervention overrides
        merged.append(_in_domain(world, r, regimes[domain]))
    batch = world.sample(n, seed=seed, regime=RegimeMixture(merged, mixture.fractions))
    batch.domain = np.full(len(batch), domain, dtype=np.int64)
    return batch


def sample_domains(world: World, n: int, *, seed: int | np.random.Generator,
                   domains: Sequence[int] | None = None,
                   regime: Regime | RegimeMixture | Sequence[Regime] | None = None) -> Batch:
    """``n`` samples from each of ``domains`` (default: all), concatenated domain by domain
    (``batch.domain`` says which); one seeded generator drives all of them."""
    shift, _ = _domains_of(world)
    rng = as_generator(seed)
    chosen = range(shift.n_domains) if domains is None else [check_domain(world, d, "domains") for d in domains]
    chosen = list(chosen)
    if not chosen:
        raise ValueError("The 'domains' of sample_domains must not be empty.")
    return Batch.concatenate([sample_domain(world, n, seed=rng, domain=d, regime=regime) for d in chosen])


def _changed_nodes(source: Regime, target: Regime) -> list[str]:
    """The nodes whose mechanism differs between ``source`` and ``target`` (a regime and the same
    regime moved to another domain): replaced mechanisms and soft shifts that are not the same
    objects in both. Hard interventions keep the unit's realised value in both, so they never count."""
    def entry(regime: Regime, name: str) -> Any:
        if name in regime.mechanisms:
            return regime.mechanisms[name]
        item = regime.interventions.get(name)
        return item if isinstance(item, (Shift, Scale)) else None

    names = {*source.mechanisms, *target.mechanisms, *source.interventions, *target.interventions}
    return sorted(name for name in names if entry(source, name) is not entry(target, name))


def domain_soft_shifts(regime: Regime) -> set[str]:
    """The factors a domain's regime shifts softly by the domain's own change (``DomainShift``
    of kind ``"shift"``), not by an intervention of the regime it extends."""
    base = getattr(regime, "base", None)
    if base is None:
        return set()
    return {name for name, item in regime.interventions.items()
            if isinstance(item, (Shift, Scale)) and name not in base.interventions}


def domain_counterfactual(world: World, batch: Batch, *, to_domain: int) -> Batch:
    """The exact domain counterfactual of ``batch``: every sample's exogenous noise, rendering
    noise and realised hard interventions kept, domain ``to_domain``'s mechanisms swapped in, the
    factors whose mechanism changes and their descendants recomputed from the noise (every other
    factor keeps the batch's value) and images re-rendered. A batch made by
    :meth:`World.counterfactual` keeps the interventions it was made under (``batch.interventions``):
    a hard one keeps its value, a soft one acts on top of the new domain's mechanism.

    Returns a batch with ``domain`` all ``to_domain``, each sample's regime moved to that domain,
    ``targets`` those of the moved regime and of the kept interventions.
    """
    if not isinstance(batch, Batch):
        raise TypeError(f"domain_counterfactual expects a Batch. Got {type(batch).__name__}.")
    to_domain = check_domain(world, to_domain, "to_domain")
    _, regimes = _domains_of(world)
    if tuple(batch.factor_names) != tuple(world.factor_names):
        raise ValueError(f"The batch's factors {list(batch.factor_names)} are not those of world {world.name!r} "
                         f"{world.factor_names}.")
    world._check_batch_factors(batch, "domain_counterfactual")
    missing = [name for name in world.scm.nodes if name not in batch.noise]
    if missing:
        raise ValueError(f"The batch's noise lacks node(s) {', '.join(missing)}; was it sampled from this world?")
    render_seeds = world._batch_render_seeds(batch, "domain_counterfactual")
    names = list(world.factor_names)
    factors = np.empty_like(batch.factors)
    targets = np.empty_like(batch.targets)
    new_regimes: list[Regime] = []
    new_index = np.empty(len(batch), dtype=np.int64)
    for r in np.unique(batch.regime):
        index = np.flatnonzero(batch.regime == r)
        part = batch[index]
        source = batch.regimes[int(r)]
        if not isinstance(source, DomainRegime) and np.any(part.domain != 0):
            # e.g. a stored dataset opened with load(): its regimes are rebuilt from their descriptions, which
            # merge the domain's own change into the regime's interventions, so it would be kept as one of them
            raise ValueError(f"domain_counterfactual: regime {source.name!r} of the batch's samples from domain "
                             f"{int(part.domain.max())} is a plain Regime, not the domain's (DomainRegime), so the "
                             f"domain's own change cannot be told from the regime's interventions; sample the batch "
                             f"from the world, or open a stored dataset with generate(world, n, seed=..., regime=...) "
                             f"rather than load().")
        target = _in_domain(world, source, regimes[to_domain])
        noise = {name: part.noise[name] for name in world.scm.nodes}
        values = {name: part.factors[:, j] for j, name in enumerate(names)}
        if world.hidden:  # hidden nodes are not recorded: recompute them in the unit's own regime, under the
            # interventions of the counterfactual that made the batch (as World.counterfactual did)
            own = domain_soft_shifts(source)
            kept = {name: (item if isinstance(item, (Shift, Scale)) else Do(part.factor(name)))
                    for name, item in source.interventions.items() if name not in part.interventions or name in own}
            made = {name: (Do(part.factor(name)) if item.hard and name in names else item)
                    for name, item in part.interventions.items()}
            hidden = world._regime_scm(source, kept).do(world._on_grid(made)).evaluate(noise)
            values.update({name: hidden[name] for name in world.hidden})
        # a hard intervention keeps the value the unit actually received; soft ones their effect; a
        # counterfactual's hard intervention its value too (as the regime's, whose item it replaced)
        realised = {name: (item if isinstance(item, (Shift, Scale)) else Do(part.factor(name)))
                    for name, item in target.interventions.items()
                    if name not in part.interventions or name in domain_soft_shifts(target)}
        realised.update({name: Do(values[name]) for name, item in part.interventions.items() if item.hard})
        scm = world._regime_scm(target, realised)
        # the identity Shift(0) marks the changed mechanisms for the prediction step: they and
        # their descendants are recomputed from the noise, every other node keeps its value; a
        # counterfactual's soft intervention acts on top of the (new) mechanism, as in World.counterfactual
        changed = {name: Shift(0.0) for name in _changed_nodes(source, target)}
        changed.update(world._on_grid({name: item for name, item in part.interventions.items() if not item.hard}))
        result = scm.counterfactual(values, changed, noise=noise) if changed else values
        factors[index] = world._factors_from(result)
        targets[index] = np.isin(names, [*target.targets, *part.interventions])
        new_index[index] = len(new_regimes)
        new_regimes.append(target)
    images = world._render_checked(factors, render_seeds)
    return Batch(images, factors, dict(batch.noise), tuple(world.factor_names), new_index, targets,
                 tuple(new_regimes), np.full(len(batch), to_domain, dtype=np.int64), dict(batch.interventions))


# ---------------------------------------------------------------------------- environments
@dataclass
class Environments:
    """Exchangeable environments: ``factors`` (E, m, K) and ``images`` (E, m, C, H, W) (``None``
    when not rendered); ``batch`` holds the same samples flat (E * m, ...) in environment-major
    order with ``batch.domain`` the environment index (E * m,)."""

    factors: np.ndarray
    images: np.ndarray | None
    batch: Batch
    factor_names: tuple[str, ...]

    @property
    def environment(self) -> np.ndarray:
        """Environment index of each flat sample, (E * m,) int64."""
        return self.batch.domain

    @property
    def n_envs(self) -> int:
        return int(self.factors.shape[0])

    @property
    def per_env(self) -> int:
        return int(self.factors.shape[1])


def environments(world: World, n_envs: int, per_env: int, *, seed: int, strength: float = 1.0,
                 factors: Sequence[str] | None = None, render: bool = True) -> Environments:
    """``n_envs`` environments of ``per_env`` exchangeable samples each.

    In environment ``e`` the mechanism of every factor in ``factors`` (default: all) gets
    parameters drawn by :func:`perturb_mechanism` from ``default_rng([seed, 1, e, j])`` — independently
    per variable and environment — and the ``per_env`` samples share them, with fresh
    exogenous noise each.

    Parameters
    ----------
    n_envs : int
        Number of environments (>= 1).
    per_env : int
        Samples per environment (>= 2: exchangeability needs at least two).
    seed : int
        Seed of the mechanism draws and of the noise.
    strength : float
        Size of the mechanism perturbations (> 0).
    factors : sequence of str, optional
        The factors whose mechanisms vary (default: all).
    render : bool
        Render images (default). ``False`` (for discovery on factors) leaves ``images`` None and
        gives the flat batch placeholder zero images of shape (E * m, 1, 1, 1).
    """
    owner = "environments"
    n_envs = check_number(n_envs, "n_envs", owner, low=1, integer=True)
    per_env = check_number(per_env, "per_env", owner, low=2, integer=True)
    seed = check_number(seed, "seed", owner, low=0, integer=True)
    strength = check_number(strength, "strength", owner, low=0.0, low_inclusive=False)
    names = list(world.factor_names) if factors is None else [factors] if isinstance(factors, str) else list(factors)
    if not names:
        raise ValueError(f"The 'factors' of {owner} must name at least one factor whose mechanism varies (default: "
                         f"all). Got {factors!r}.")
    _check_factors(world, names, "factor in 'factors'")
    rng = np.random.default_rng([seed, 0])
    k = len(world.factor_names)
    all_factors = np.empty((n_envs, per_env, k))
    noise_parts: list[dict[str, np.ndarray]] = []
    regimes = []
    for e in range(n_envs):
        mechanisms = {name: perturb_mechanism(_unwrapped(world, name), world.spec(name),
                                              np.random.default_rng([seed, 1, e, world.factor_names.index(name)]),
                                              strength) for name in names}
        regime = DomainRegime(f"environment{e}", {}, mechanisms, domain=e, base=OBSERVATIONAL)
        scm = world._regime_scm(regime, {})
        noise = scm.sample_noise(per_env, seed=rng)
        all_factors[e] = world._factors_from(scm.evaluate(noise))
        noise_parts.append(noise)
        regimes.append(regime)
    noise = {key: np.concatenate([part[key] for part in noise_parts]) for key in noise_parts[0]}
    flat = all_factors.reshape(n_envs * per_env, k)
    if world.render_random:
        noise[RENDER_SEED] = rng.integers(0, 2**62, size=n_envs * per_env, dtype=np.int64)
    if render:
        images = world._render_checked(flat, noise.get(RENDER_SEED))
    else:
        images = np.zeros((flat.shape[0], 1, 1, 1), dtype=np.float32)
    environment = np.repeat(np.arange(n_envs, dtype=np.int64), per_env)
    targets = np.zeros((flat.shape[0], k), dtype=bool)
    targets[:, [world.factor_names.index(n) for n in names]] = True
    batch = Batch(images, flat, noise, tuple(world.factor_names), environment, targets, tuple(regimes), environment)
    shaped = images.reshape(n_envs, per_env, *images.shape[1:]) if render else None
    return Environments(all_factors, shaped, batch, tuple(world.factor_names))
