"""The World contract: procedural data that knows its own structural causal model.

A :class:`World` has named factors (:class:`FactorSpec`: a discrete grid or a continuous range),
an :class:`~latentscm.scm.SCM` over them (independent uniform factors by default; any graph and
mechanisms the user passes as the constructor's ``graph=`` / ``mechanisms=``, see
:meth:`World._init_structure`), and a renderer from factors to
images. Because it keeps the exogenous noise of every sample, it returns the **exact**
counterfactual of any intervention: same noise, intervened factors, descendants recomputed
through the SCM, re-rendered with the same rendering noise.

Shapes: ``Batch.images`` float32 (N, C, H, W) in [0, 1]; ``Batch.factors`` float64 (N, K) in
``factor_names`` order; ``Batch.noise`` a dict of (N,) arrays — the SCM's exogenous noise per
node, plus ``"render_seed"`` (N,) int64 for worlds whose renderer is random (sprite colour,
background noise); ``Batch.regime`` (N,) int64 — the index of the regime (in ``Batch.regimes``)
each sample was drawn from — and ``Batch.targets`` (N, K) bool — which factors were intervened on
(all ``False`` for observational data; see :mod:`latentscm.worlds.regimes`).

Subclasses implement :meth:`World._render` and declare ``factor_specs`` and ``image_shape``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentscm._params import params_from_signature
from latentscm._validation import as_generator, check_number
from latentscm.graph import CausalGraph, UnknownNodeError
from latentscm.interventions import Do, Intervention, InterventionLike, Scale, Shift, as_interventions
from latentscm.scm import SCM, Categorical, InvertibleMechanism, Mechanism, Uniform
from latentscm.scm.mechanisms import Root
from latentscm.worlds.batch import RENDER_SEED, Batch
from latentscm.worlds.regimes import Regime, RegimeMixture, as_mixture, single_node_regimes

__all__ = ["FactorSpec", "Batch", "World", "OnGrid", "RENDER_SEED", "check_world_and_batch"]

#: Constructor arguments that :meth:`World._init_structure` records itself (``None`` when unused).
_STRUCTURE_PARAMETERS = ("graph", "mechanisms")


@dataclass(frozen=True, eq=False)
class FactorSpec:
    """One factor of variation.

    ``values`` is the sorted discrete grid (1-D float array) or ``None`` for a continuous factor
    on ``[low, high]``. ``labels`` optionally names the grid values (e.g. shape names).
    """

    name: str
    values: np.ndarray | None = None
    low: float | None = None
    high: float | None = None
    labels: tuple[str, ...] | None = None
    description: str = ""

    def __post_init__(self):
        if self.values is not None:
            grid = np.asarray(self.values, dtype=np.float64)
            if grid.ndim != 1 or grid.size == 0:
                raise ValueError(f"The grid of factor {self.name!r} must be a non-empty 1-D array.")
            if not np.all(np.isfinite(grid)):
                raise ValueError(f"The grid of factor {self.name!r} must be finite. Got {grid.tolist()}.")
            if np.any(np.diff(grid) <= 0):  # a repeated value would be one state under two indices
                raise ValueError(f"The grid of factor {self.name!r} must be strictly increasing (sorted, no "
                                 f"repeated value). Got {grid.tolist()}.")
            object.__setattr__(self, "values", grid)
            object.__setattr__(self, "low", float(grid[0]))
            object.__setattr__(self, "high", float(grid[-1]))
            if self.labels is not None and len(self.labels) != grid.size:
                raise ValueError(f"Factor {self.name!r} has {grid.size} values but {len(self.labels)} labels.")
        else:
            if self.low is None or self.high is None or not self.low < self.high:
                raise ValueError(f"Continuous factor {self.name!r} needs low < high. Got "
                                 f"low={self.low!r}, high={self.high!r}.")
            object.__setattr__(self, "low", float(self.low))
            object.__setattr__(self, "high", float(self.high))
            if not (math.isfinite(self.low) and math.isfinite(self.high)):  # no uniform prior, no 'other value'
                raise ValueError(f"Continuous factor {self.name!r} needs a finite range. Got "
                                 f"low={self.low!r}, high={self.high!r}.")

    @property
    def discrete(self) -> bool:
        return self.values is not None

    @property
    def size(self) -> int | None:
        """Number of grid values (``None`` when continuous)."""
        return None if self.values is None else int(self.values.size)

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Nearest grid value (discrete) or clip to ``[low, high]`` (continuous); ``+-inf`` go to
        the nearest end. Raises ``ValueError`` naming the factor for NaN (e.g. a mechanism's
        output), which has no nearest value."""
        x = np.asarray(x, dtype=np.float64)
        if np.any(np.isnan(x)):
            raise ValueError(f"Factor {self.name!r} got a NaN value (from its mechanism or an intervention); it has "
                             f"no nearest value on its {'grid' if self.discrete else 'range'}.")
        if self.values is None:
            return np.clip(x, self.low, self.high)
        if self.values.size == 1:
            return np.full_like(x, self.values[0])
        x = np.clip(x, self.low, self.high)  # an infinite value is nearest to an end (inf - inf is not)
        right = np.clip(np.searchsorted(self.values, x), 1, self.values.size - 1)
        left = right - 1
        choose_left = np.abs(x - self.values[left]) <= np.abs(self.values[right] - x)
        return np.where(choose_left, self.values[left], self.values[right])

    def index_of(self, x: np.ndarray) -> np.ndarray:
        """Grid index (int64) of on-grid values; raises for off-grid values."""
        if self.values is None:
            raise ValueError(f"Factor {self.name!r} is continuous; it has no grid index.")
        x = np.asarray(x, dtype=np.float64)
        self.check(x)
        right = np.clip(np.searchsorted(self.values, x), 1, max(self.values.size - 1, 1))
        left = right - 1
        choose_left = np.abs(x - self.values[left]) <= np.abs(self.values[np.minimum(right, self.values.size - 1)] - x)
        return np.where(choose_left, left, right).astype(np.int64) if self.values.size > 1 \
            else np.zeros(x.shape, dtype=np.int64)

    def other_values(self, current: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A different valid value for each entry of ``current`` (N,): another grid value chosen
        uniformly, or a continuous value shifted by 25-75% of the range (wrapping around)."""
        current = np.asarray(current, dtype=np.float64)
        if self.values is not None:
            k = self.values.size
            if k == 1:
                return np.full(current.shape, self.values[0])
            return self.values[(self.index_of(current) + rng.integers(1, k, size=current.shape)) % k]
        width = self.high - self.low
        offset = rng.uniform(0.25, 0.75, size=current.shape) * width
        return self.low + np.mod(current - self.low + offset, width)

    def check(self, x: np.ndarray, what: str = "value") -> None:
        """Raise a ``ValueError`` naming the factor if any entry is off its grid / range."""
        x = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"Factor {self.name!r} got a NaN or infinite {what}.")
        if self.values is None:
            bad = (x < self.low - 1e-9) | (x > self.high + 1e-9)
            if np.any(bad):
                raise ValueError(f"Factor {self.name!r}: {what} {float(x[bad].flat[0])!r} is out of range "
                                 f"[{self.low:g}, {self.high:g}].")
            return
        tolerance = 1e-6 * max(1.0, float(np.max(np.abs(self.values))))
        bad = np.abs(self.snap(x) - x) > tolerance
        if np.any(bad):
            shown = ", ".join(f"{v:g}" for v in self.values[:12]) + (", ..." if self.values.size > 12 else "")
            raise ValueError(f"Factor {self.name!r}: {what} {float(x[bad].flat[0])!r} is not on its grid "
                             f"({self.values.size} values: {shown}).")


class OnGrid(Mechanism):
    """Wrap a mechanism so a discrete factor stays on its grid (nearest value) and a continuous
    one within its range. Keeps the base noise, so exact counterfactuals still hold."""

    def __init__(self, base: Mechanism, spec: FactorSpec):
        self.base = base
        self.spec = spec
        self.noise = base.noise
        self.parent_names = base.parent_names
        self.n_parents = base.n_parents

    def evaluate(self, parents, noise):
        return self.spec.snap(self.base.evaluate(parents, noise))

    def __repr__(self) -> str:
        return f"OnGrid({self.base!r}, {self.spec.name!r})"


class InvertibleOnGrid(OnGrid, InvertibleMechanism):
    """:class:`OnGrid` over an invertible mechanism: abduction is the base's (exact whenever the
    value was not moved by snapping, i.e. for continuous factors inside their range)."""

    def abduct(self, values, parents, *, rng=None):
        return self.base.abduct(values, parents, rng=rng)


class _OnGridSoft(Intervention):
    """A soft intervention (``Shift`` / ``Scale``) on a factor whose output is snapped to the
    factor's grid or clipped to its range, as :class:`OnGrid` does for mechanisms: the factor's
    children then see the value the factor records."""

    hard = False

    def __init__(self, base: Intervention, spec: FactorSpec):
        self.base = base
        self.spec = spec

    def apply(self, values: np.ndarray) -> np.ndarray:
        return self.spec.snap(self.base.apply(values))

    def __repr__(self) -> str:
        return f"OnGrid({self.base!r}, {self.spec.name!r})"


def _take(interventions: Mapping[str, Any], index: np.ndarray, n: int) -> dict[str, Any]:
    """Interventions restricted to the samples ``index`` (per-sample arrays of length ``n`` sliced)."""
    out = {}
    for name, item in interventions.items():
        fields = [f for f in ("value", "delta", "factor") if hasattr(item, f)]
        value = getattr(item, fields[0]) if fields else None
        if isinstance(value, np.ndarray) and value.shape == (n,):
            item = type(item)(value[index])
        out[name] = item
    return out


def _regime_domains(regimes: Sequence[Regime]) -> np.ndarray:
    """The domain index (R,) int64 of each regime: a domain's regime knows it, any other is 0."""
    return np.array([int(getattr(regime, "domain", 0)) for regime in regimes], dtype=np.int64)


def default_root(spec: FactorSpec) -> Mechanism:
    """The default independent prior of a factor: uniform over its grid or range."""
    if spec.values is not None:
        k = spec.values.size
        return Categorical(np.full(k, 1.0 / k), states=spec.values)
    return Root(Uniform(spec.low, spec.high))


class World:
    """Base class of procedural worlds. See the module docstring for the contract.

    Subclasses set ``name``, ``factor_specs``, ``image_shape`` in ``__init__`` (then call
    :meth:`_init_structure`) and implement :meth:`_render`. ``render_random`` marks renderers
    that consume a per-image ``render_seed``.
    """

    name: str = "world"
    render_random: bool = False
    #: Documented symmetries: factor -> expected fraction of random single-factor changes that
    #: leave the image unchanged (e.g. a square rotated by 90°). ``check_world`` measures it.
    symmetries: dict[str, float] = {}

    factor_specs: tuple[FactorSpec, ...]
    image_shape: tuple[int, int, int]

    # ------------------------------------------------------------------ structure
    def _init_structure(self, graph: CausalGraph | str | None = None,
                        mechanisms: Mapping[str, Mechanism] | None = None,
                        default_graph: CausalGraph | None = None,
                        default_mechanisms: Mapping[str, Mechanism] | None = None) -> None:
        """Build ``self.scm``. ``graph``/``mechanisms`` come from the user (custom structure);
        ``default_*`` from the world itself (e.g. the pendulum's physics). Hidden (non-factor)
        nodes are allowed in ``graph`` as confounders and need a mechanism."""
        names = [s.name for s in self.factor_specs]
        if len(set(names)) != len(names):
            raise ValueError(f"World {self.name!r} has duplicate factor names.")
        self._spec_by_name = {s.name: s for s in self.factor_specs}
        if isinstance(graph, str):
            graph = CausalGraph.from_text(graph)
        if graph is not None and not isinstance(graph, CausalGraph):
            raise TypeError(f"The 'graph' option of world {self.name!r} must be a CausalGraph or text. "
                            f"Got {type(graph).__name__}.")
        custom = graph is not None or mechanisms is not None
        if graph is None:
            graph = default_graph if default_graph is not None else CausalGraph.empty(names)
        full_graph = CausalGraph(graph.edges, nodes=[*names, *[n for n in graph.nodes if n not in names]])
        user = dict(mechanisms or {})
        for key in user:
            if key not in full_graph:
                raise UnknownNodeError(key, full_graph.nodes, what="node in mechanisms")
        defaults = dict(default_mechanisms or {})
        chosen: dict[str, Mechanism] = {}
        for node in full_graph.nodes:
            parents = full_graph.parents(node)
            default_parents = (default_graph.parents(node) if default_graph is not None and node in default_graph
                               else ())
            if node in user:
                mechanism = user[node]
            elif node in defaults and set(parents) == set(default_parents):
                mechanism = defaults[node]  # the world's own mechanism still fits the graph
            elif node in self._spec_by_name and not parents:
                mechanism = default_root(self._spec_by_name[node])
            else:
                raise ValueError(
                    f"World {self.name!r}: node {node!r} has parents {list(parents)} in the given graph "
                    f"but no mechanism for them; pass mechanisms={{{node!r}: ...}}."
                )
            if node in self._spec_by_name:
                wrapper = InvertibleOnGrid if mechanism.invertible else OnGrid
                mechanism = wrapper(mechanism, self._spec_by_name[node])
            chosen[node] = mechanism
        self.scm = SCM(full_graph, chosen)
        # recorded for options() (and so for content-addressed caching): a custom graph is text;
        # custom mechanisms are objects, which make the world un-addressable without a cache_key
        self._structure_options = {}
        if custom:
            self._structure_options["graph"] = full_graph.to_text()
        if mechanisms:
            self._structure_options["mechanisms"] = dict(mechanisms)
        self.hidden = tuple(n for n in full_graph.nodes if n not in self._spec_by_name)
        self.custom_structure = custom

    # ------------------------------------------------------------------ contract
    @property
    def factor_names(self) -> list[str]:
        return [s.name for s in self.factor_specs]

    @property
    def graph(self) -> CausalGraph:
        """The causal graph over the factors (hidden confounders left out; see ``scm.graph``): the
        edges among factors, plus ``a -> b`` wherever a directed path from factor ``a`` reaches
        factor ``b`` through hidden nodes only (a hidden mediator, which the subgraph would drop)."""
        full = self.scm.graph
        factors = self.factor_names
        mediated = []
        for source in factors:
            reached: set[str] = set()
            stack = [child for child in full.children(source) if child in self.hidden]
            while stack:
                node = stack.pop()
                if node in reached:
                    continue
                reached.add(node)
                stack.extend(full.children(node))
            mediated += [(source, target) for target in factors
                         if target in reached and target not in full.children(source)]
        graph = full.subgraph(factors)
        return graph.add_edges(mediated) if mediated else graph

    def spec(self, name: str) -> FactorSpec:
        if name not in self._spec_by_name:
            raise UnknownNodeError(name, self.factor_names, what="factor")
        return self._spec_by_name[name]

    def sample(self, n: int, *, seed: int | np.random.Generator,
               interventions: Mapping[str, InterventionLike] | str | None = None,
               regime: Regime | RegimeMixture | Sequence[Regime] | None = None,
               domain: int | None = None) -> Batch:
        """Draw ``n`` samples, optionally from ``P(. | do(interventions))`` and/or from a regime
        or a mixture of regimes (``floor(fraction * n)`` samples each, one more for the regimes
        with the largest remainders so that the counts sum to ``n``, in a seeded random order).
        The batch's ``regime``, ``targets`` and ``domain`` (the domain of a domain's regime, else
        0) say where each sample came from; scalar ``interventions`` on factors are recorded in
        every regime of the batch (overriding a regime's own on the same factor), so
        :meth:`counterfactual` keeps them.
        ``domain`` picks a domain of a multi-domain world (see :meth:`with_domains`)."""
        if domain is not None:
            from latentscm.worlds.domains import sample_domain

            return sample_domain(self, n, seed=seed, domain=domain, interventions=interventions, regime=regime)
        factors, noise, assignment, targets, regimes = self._draw(n, seed=seed, interventions=interventions,
                                                                  regime=regime)
        images = self._render_checked(factors, noise.get(RENDER_SEED))
        return Batch(images, factors, noise, tuple(self.factor_names), assignment, targets, regimes,
                     _regime_domains(regimes)[assignment])

    def _draw(self, n: int, *, seed: int | np.random.Generator,
              interventions: Mapping[str, InterventionLike] | str | None = None,
              regime: Regime | RegimeMixture | Sequence[Regime] | None = None,
              ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray, tuple[Regime, ...]]:
        """What :meth:`sample` draws, before rendering: factors (n, K), noise ``{name: (n,)}``,
        regime index (n,) int64, targets (n, K) bool and the regimes (the store renders in chunks)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"The number of samples 'n' must be a positive int. Got {n!r}.")
        rng = as_generator(seed)
        mixture = as_mixture(regime)
        mixture.check(self)
        if interventions:
            mixture = self._with_interventions(mixture, self._check_interventions(interventions))
        counts = mixture.counts(int(n))
        if len(mixture) == 1:
            assignment = np.zeros(n, dtype=np.int64)
        else:
            assignment = rng.permutation(np.repeat(np.arange(len(mixture), dtype=np.int64), counts))
        k = len(self.factor_names)
        targets = np.zeros((n, k), dtype=bool)
        noise: dict[str, np.ndarray] = {}
        values: dict[str, np.ndarray] = {}
        for r, regime_r in enumerate(mixture.regimes):
            if counts[r] == 0:
                continue
            index = np.flatnonzero(assignment == r)
            scm = self._regime_scm(regime_r, regime_r.realise(self, index.size, rng))
            part_noise = scm.sample_noise(index.size, seed=rng)
            part_values = scm.evaluate(part_noise)
            for target in regime_r.targets:
                if target in self._spec_by_name:
                    targets[index, self.factor_names.index(target)] = True
            for store, part in ((noise, part_noise), (values, part_values)):
                for key, column in part.items():
                    if key not in store:
                        store[key] = np.empty(n, dtype=column.dtype)
                    store[key][index] = column
        if self.render_random:
            noise[RENDER_SEED] = rng.integers(0, 2**62, size=n, dtype=np.int64)
        return self._factors_from(values), noise, assignment, targets, mixture.regimes

    def _with_interventions(self, mixture: RegimeMixture, interventions: Mapping[str, Any]) -> RegimeMixture:
        """``mixture`` with the scalar factor ``interventions`` added to each regime (they override
        the regime's own intervention or replaced mechanism on the same factor)."""
        for name, item in interventions.items():
            if name not in self._spec_by_name:
                raise ValueError(f"World {self.name!r}: sample(interventions=...) can intervene on factors only "
                                 f"({', '.join(self.factor_names)}); {name!r} is a hidden node.")
            value = getattr(item, "value", getattr(item, "delta", getattr(item, "factor", 0.0)))
            if np.ndim(value) != 0:
                raise ValueError(f"The intervention on {name!r} given to sample(interventions=...) must be scalar (it "
                                 f"is recorded in the batch's regime); per-sample values come from a Regime with "
                                 f"RandomDo.")
        regimes = []
        for regime in mixture.regimes:
            mechanisms = dict(regime.mechanisms)
            for name, item in interventions.items():
                if name in mechanisms and not item.hard:
                    raise ValueError(f"sample(interventions=...) shifts or scales {name!r}, whose mechanism regime "
                                     f"{regime.name!r} replaces; put the soft intervention in the regime instead.")
                mechanisms.pop(name, None)  # a hard intervention overrides the replaced mechanism
            items = {**{k: v for k, v in regime.interventions.items() if k not in interventions}, **interventions}
            name = regime.name if not regime.observational else "interventions"
            regimes.append(dataclasses.replace(regime, name=name, interventions=items, mechanisms=mechanisms))
        return RegimeMixture(regimes, mixture.fractions)

    # ------------------------------------------------------------------ domains
    def with_domains(self, domains: Any) -> World:
        """A copy of this world with domains: ``domains`` is a
        :class:`~latentscm.worlds.domains.DomainShift` or a mapping of its arguments. Graph,
        exogenous noise and renderer are shared; see :mod:`latentscm.worlds.domains`."""
        import copy

        from latentscm.worlds.domains import DomainShift, domain_regimes

        shift = DomainShift.coerce(domains)
        regimes = domain_regimes(self, shift)
        world = copy.copy(self)
        world._domain_shift = shift
        world._domain_regimes = regimes
        return world

    @property
    def domains(self) -> Any:
        """The :class:`~latentscm.worlds.domains.DomainShift` of a multi-domain world, else ``None``."""
        return getattr(self, "_domain_shift", None)

    @property
    def n_domains(self) -> int:
        """Number of domains (1 for a world without domains)."""
        shift = self.domains
        return 1 if shift is None else shift.n_domains

    def sample_domains(self, n: int, *, seed: int | np.random.Generator, domains: Sequence[int] | None = None,
                       regime: Regime | RegimeMixture | Sequence[Regime] | None = None) -> Batch:
        """``n`` samples from each domain (default: all), concatenated domain by domain; see
        :func:`latentscm.worlds.domains.sample_domains`."""
        from latentscm.worlds.domains import sample_domains

        return sample_domains(self, n, seed=seed, domains=domains, regime=regime)

    def domain_counterfactual(self, batch: Batch, *, to_domain: int) -> Batch:
        """The exact domain counterfactual: same exogenous and rendering noise, domain
        ``to_domain``'s mechanisms, re-rendered; see :func:`latentscm.worlds.domains.domain_counterfactual`."""
        from latentscm.worlds.domains import domain_counterfactual

        return domain_counterfactual(self, batch, to_domain=to_domain)

    def environments(self, n_envs: int, per_env: int, *, seed: int, strength: float = 1.0,
                     factors: Sequence[str] | None = None, render: bool = True) -> Any:
        """Exchangeable environments (mechanism parameters drawn independently per variable and
        environment); see :func:`latentscm.worlds.domains.environments`."""
        from latentscm.worlds.domains import environments

        return environments(self, n_envs, per_env, seed=seed, strength=strength, factors=factors, render=render)

    def single_node_regimes(self, *, source: str = "range", factors: Sequence[str] | None = None,
                            include_observational: bool = True) -> list[Regime]:
        """The observational regime plus one ``do(f = random value)`` regime per factor; see
        :func:`latentscm.worlds.regimes.single_node_regimes`."""
        return single_node_regimes(self, source=source, factors=factors, include_observational=include_observational)

    def _regime_scm(self, regime: Regime, realised: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> SCM:
        """The world's SCM with ``regime``'s replaced mechanisms, then its (realised) interventions
        and ``extra`` ones (which override the regime's on the same factor)."""
        scm = self.scm
        if regime.mechanisms:
            replaced = {}
            for name, mechanism in regime.mechanisms.items():
                wrapper = InvertibleOnGrid if mechanism.invertible else OnGrid
                replaced[name] = wrapper(mechanism, self._spec_by_name[name])
            scm = scm.replace(replaced)
        items = {**{k: v for k, v in realised.items() if k not in (extra or {})}, **(extra or {})}
        return scm.do(self._on_grid(items)) if items else scm

    def _on_grid(self, interventions: Mapping[str, Any]) -> dict[str, Any]:
        """``interventions`` with the soft ones on factors snapped to the factor's grid / range
        (see :class:`_OnGridSoft`), so they keep the world's SCM as :class:`OnGrid` mechanisms do,
        and the hard ones' values snapped too: a value the grid check accepts within its tolerance
        (``0.3`` for ``0.30000000000000004``) reaches the children as the value the factor records."""
        out = {}
        for name, item in interventions.items():
            spec = self._spec_by_name.get(name)
            if spec is not None and isinstance(item, (Shift, Scale)):
                item = _OnGridSoft(item, spec)
            elif spec is not None and isinstance(item, Do):
                item = Do(spec.snap(item.value) if np.ndim(item.value) else float(spec.snap(item.value)))
            out[name] = item
        return out

    def render(self, factors: Any, *, render_seeds: np.ndarray | None = None) -> np.ndarray:
        """Images (N, C, H, W) float32 in [0, 1] for factors (N, K) in ``factor_names`` order.

        Discrete factors must lie on their grid and continuous ones in range (errors name the
        factor). ``render_seeds`` (N,) int fixes random rendering (defaults to zeros).
        """
        factors = np.asarray(factors, dtype=np.float64)
        if factors.ndim == 1:
            factors = factors[None, :]
        if factors.ndim != 2 or factors.shape[1] != len(self.factor_specs):
            raise ValueError(f"World {self.name!r} expects factors of shape (N, {len(self.factor_specs)}) "
                             f"in the order {self.factor_names}. Got {factors.shape}.")
        for j, spec in enumerate(self.factor_specs):
            spec.check(factors[:, j])
        if render_seeds is None and self.render_random:
            render_seeds = np.zeros(factors.shape[0], dtype=np.int64)
        elif render_seeds is not None:
            seeds = np.asarray(render_seeds)
            if seeds.shape != (factors.shape[0],) or not np.issubdtype(seeds.dtype, np.integer):
                raise ValueError(f"World {self.name!r}: 'render_seeds' must be integers of shape (N,) = "
                                 f"({factors.shape[0]},), one per row of factors. Got {seeds.dtype} {seeds.shape}.")
            render_seeds = seeds.astype(np.int64, copy=False)
        return self._render_checked(factors, render_seeds)

    def counterfactual(self, batch: Batch,
                       interventions: Mapping[str, InterventionLike] | str) -> Batch:
        """The exact counterfactual of ``batch`` under ``interventions``: the batch's own
        exogenous noise, intervened factors, descendants recomputed by the world's SCM, and the
        images re-rendered with the same rendering noise (a batch of a random renderer must carry
        its ``render_seed``). Each sample stays in its regime and domain: a hard intervention of its
        regime keeps its realised value and a soft one its effect unless ``interventions`` names that
        factor; a domain's own change (replaced mechanism or soft shift) always stays, and a soft
        counterfactual intervention acts on top of it. A batch that is itself a counterfactual keeps
        the interventions it was made under (``batch.interventions``; a new one on the same factor
        replaces the old), so counterfactuals compose; the result records them all and marks their
        factors in ``targets``."""
        if not isinstance(batch, Batch):
            raise TypeError(f"counterfactual expects a Batch. Got {type(batch).__name__}.")
        if tuple(batch.factor_names) != tuple(self.factor_names) or batch.factors.shape[1] != len(self.factor_names):
            raise ValueError(f"The 'batch' given to counterfactual has factors {list(batch.factor_names)}, not those "
                             f"of world {self.name!r} {self.factor_names}; was it sampled from this world?")
        self._check_batch_factors(batch, "counterfactual")
        interventions = self._check_interventions(interventions)
        for name, item in interventions.items():
            value = getattr(item, "value", getattr(item, "delta", getattr(item, "factor", 0.0)))
            if np.ndim(value) != 0 and np.shape(value) != (len(batch),):
                raise ValueError(f"The intervention on {name!r} given to counterfactual has {np.shape(value)} values; "
                                 f"it needs a scalar or one value per sample of the batch ({len(batch)},).")
        for name in self.hidden:
            if name not in batch.noise:
                raise ValueError(f"Batch noise lacks hidden node {name!r}; was it sampled from this world?")
        # the interventions an earlier counterfactual made this batch under stay (a new one on a factor replaces)
        interventions = {**batch.interventions, **interventions}
        render_seeds = self._batch_render_seeds(batch, "counterfactual")
        from latentscm.worlds.domains import domain_soft_shifts

        factors = np.empty_like(batch.factors)
        names = self.factor_names
        for r in np.unique(batch.regime):
            index = np.flatnonzero(batch.regime == r)
            part_factors = batch.factors[index]  # factors and noise only: the images are not needed
            part_noise = {k: v[index] for k, v in batch.noise.items()}
            regime = batch.regimes[int(r)]
            # the unit lived in its regime: a hard intervention keeps its realised value, a soft
            # one its effect, unless the counterfactual intervenes on that factor itself; a
            # domain's own soft shift is part of the domain's mechanism, so it always stays (a soft
            # counterfactual intervention acts on top of it, a hard one replaces it)
            own = domain_soft_shifts(regime)
            softened = [name for name, item in regime.interventions.items() if isinstance(item, (Shift, Scale))
                        and name in interventions and not interventions[name].hard]
            if softened and not hasattr(regime, "base") and np.any(batch.domain[index] != 0):
                # a plain regime of a domain > 0 (a stored dataset opened with load()) merges the domain's own
                # shift into its interventions: whether the new soft one acts on top of it or replaces it is unknown
                raise ValueError(f"counterfactual: regime {regime.name!r} of the batch's samples from domain "
                                 f"{int(batch.domain[index].max())} is a plain Regime, so its soft change of "
                                 f"{', '.join(map(repr, softened))} may be the domain's own; sample the batch from "
                                 f"the world, or open a stored dataset with generate(world, n, seed=..., regime=...) "
                                 f"rather than load().")
            realised = {name: (item if isinstance(item, (Shift, Scale)) else Do(part_factors[:, names.index(name)]))
                        for name, item in regime.interventions.items() if name not in interventions or name in own}
            scm = self._regime_scm(regime, realised)
            values = {name: part_factors[:, j] for j, name in enumerate(names)}
            if self.hidden:
                hidden_values = scm.evaluate({k: part_noise[k] for k in scm.nodes})
                values.update({name: hidden_values[name] for name in self.hidden})
            scm_noise = {k: v for k, v in part_noise.items() if k in scm.graph}
            result = scm.counterfactual(values, self._on_grid(_take(interventions, index, len(batch))),
                                        noise=scm_noise)
            factors[index] = self._factors_from(result)
        images = self._render_checked(factors, render_seeds)
        noise = dict(batch.noise)
        targets = batch.targets | np.isin(names, list(interventions))[None, :]
        return Batch(images, factors, noise, tuple(self.factor_names), batch.regime, targets, batch.regimes,
                     batch.domain, interventions)

    def _check_batch_factors(self, batch: Batch, caller: str) -> None:
        """Raise naming the factor if the batch's factors (N, K) are off this world's grids / ranges
        (e.g. a batch of the same world made with other options): snapped silently, they would
        change even under no intervention."""
        for j, spec in enumerate(self.factor_specs):
            try:
                spec.check(batch.factors[:, j], what="batch value")
            except ValueError as error:
                raise ValueError(f"{error} The 'batch' given to {caller} does not fit world {self.name!r}; was it "
                                 f"sampled from this world, made with the same options?") from None

    def _batch_render_seeds(self, batch: Batch, caller: str) -> np.ndarray | None:
        """The batch's rendering seeds (N,), or ``None`` for a deterministic renderer; a batch of a
        random renderer without them would be re-rendered with other colours or backgrounds."""
        if not self.render_random:
            return None
        if RENDER_SEED not in batch.noise:
            raise ValueError(f"The 'batch' given to {caller} lacks the rendering seeds (noise[{RENDER_SEED!r}]) that "
                             f"world {self.name!r} renders with; was it sampled from this world?")
        return batch.noise[RENDER_SEED]

    # ------------------------------------------------------------------ helpers
    def _check_interventions(self, interventions) -> dict:
        """Interventions normalised, named factors checked: a ``Do`` value on the factor's grid / in its range; no
        ``Shift`` / ``Scale`` of a categorical factor (as :meth:`Regime.check`). Unlike a regime's, a shift wider
        than the range or a scale by 0 is allowed here: the result is clipped / snapped, as a user asking "had it
        moved by this much" expects."""
        from latentscm.worlds.regimes import _check_soft

        items = as_interventions(interventions, self.scm.nodes)
        for name, item in items.items():
            if name not in self._spec_by_name:
                continue
            if isinstance(item, Do):
                self._spec_by_name[name].check(np.atleast_1d(item.value), what="intervention value")
            elif isinstance(item, (Shift, Scale)) and self._spec_by_name[name].labels is not None:
                _check_soft(self._spec_by_name[name], item, "the interventions")
        return items

    def _factors_from(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.stack([self._spec_by_name[n].snap(values[n]) for n in self.factor_names], axis=1)

    def _render_checked(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        images = self._render(factors, render_seeds)
        expected = (factors.shape[0], *self.image_shape)
        if images.shape != expected or images.dtype != np.float32:
            raise RuntimeError(f"World {self.name!r} rendered {images.dtype} {images.shape}; expected "
                               f"float32 {expected}.")
        return images

    def _render(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        """Render factors (N, K) to float32 images (N, C, H, W) in [0, 1]."""
        raise NotImplementedError

    # ------------------------------------------------------------------ grid helpers
    @property
    def n_combinations(self) -> float:
        """Number of grid points (``inf`` if any factor is continuous)."""
        sizes = [s.size for s in self.factor_specs]
        return math.inf if any(s is None for s in sizes) else float(np.prod(sizes, dtype=np.float64))

    def grid_factors(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Factors (M, K) of grid points ``start .. stop`` in row-major order (last factor fastest),
        like dSprites' storage order; only for fully discrete worlds. ``start`` is an int in
        ``[0, n_combinations]`` and ``stop`` an int ``>= start`` (clipped to the grid's end)."""
        sizes = [s.size for s in self.factor_specs]
        if any(s is None for s in sizes):
            raise ValueError(f"World {self.name!r} has continuous factors; it has no finite grid.")
        total = int(np.prod(sizes))
        owner = f"{type(self).__name__}.grid_factors"
        start = check_number(start, "start", owner, low=0, high=total, integer=True)
        stop = total if stop is None else min(check_number(stop, "stop", owner, low=start, integer=True), total)
        index = np.arange(int(start), stop, dtype=np.int64)
        columns = np.unravel_index(index, sizes)
        return np.stack([s.values[c] for s, c in zip(self.factor_specs, columns)], axis=1)

    def generate(self, n: int | None = None, *, seed: int = 0, root=None, cache_key: str | None = None,
                 progress: bool = False, regime: Regime | RegimeMixture | Sequence[Regime] | None = None):
        """Write this world's dataset once (full grid when ``n`` is None; ``n`` samples from
        ``regime`` when given) and open it verified and memory-mapped; see
        :mod:`latentscm.worlds.store`."""
        from latentscm.worlds.store import generate

        return generate(self, n, seed=seed, root=root, cache_key=cache_key, progress=progress, regime=regime)

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments this world was made with (scikit-learn's rule).

        Read from the ``__init__`` signature: values the world recorded itself (``_options``, and
        the custom ``graph`` as text), else the attribute of the same name; ``graph`` and
        ``mechanisms`` handed to :meth:`_init_structure` are known without either. The store key
        and run configs are built from this, so a constructor argument that can be read back
        nowhere raises ``TypeError`` instead of being left out of the key.
        """
        recorded = {**getattr(self, "_options", {}), **getattr(self, "_structure_options", {})}
        if hasattr(self, "_structure_options"):
            for name in _STRUCTURE_PARAMETERS:
                recorded.setdefault(name, None)
        return params_from_signature(self, recorded=recorded,
                                     what=f"World {self.name!r} ({type(self).__module__}:{type(self).__qualname__})")

    def options(self) -> dict[str, Any]:
        """The keyword options this world was made with: :meth:`get_params` (kept for callers)."""
        return self.get_params()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, factors={self.factor_names})"


def check_world_and_batch(world: Any, batch: Any, owner: str) -> None:
    """Refuse, naming ``owner``'s argument, a ``world`` that is not a World or a ``batch`` that is not a Batch (the
    samples of the world that a function makes partners or views of)."""
    if not isinstance(world, World):
        raise TypeError(f"The 'world' argument of {owner} must be a World. Got {type(world).__name__}.")
    if not isinstance(batch, Batch):
        raise TypeError(f"The 'batch' argument of {owner} must be a Batch sampled from the world. "
                        f"Got {type(batch).__name__}.")
