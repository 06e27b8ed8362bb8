"""Random DAGs and random SCMs for tests and benchmarks.

Graphs: Erdős–Rényi (each forward pair of a random order is an edge with probability
``edge_prob``) and scale-free (Barabási–Albert preferential attachment, Barabási & Albert 1999,
oriented along the insertion order). Mechanisms: linear-Gaussian, or additive-noise with random
smooth nonlinearities (sums of per-parent tanh / sine / bump / softplus terms), the usual
testbeds of causal discovery benchmarks (e.g. Zhang et al. 2011, KCI).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from latentscm._validation import as_generator, check_choice, check_number
from latentscm.graph import CausalGraph
from latentscm.scm.discrete_scm import DiscreteSCM
from latentscm.scm.mechanisms import AdditiveNoise, LinearGaussian, Mechanism, Root
from latentscm.scm.noise import Normal
from latentscm.scm.scm import SCM

__all__ = ["random_dag", "random_discrete_scm", "random_scm", "RandomNonlinearFunction", "StandardisedFunction"]

_KINDS = ("tanh", "sin", "bump", "softplus")


def random_dag(n_nodes: int, *, edge_prob: float = 0.3, graph_type: str = "erdos_renyi",
               seed: int | np.random.Generator, prefix: str = "x") -> CausalGraph:
    """A random DAG over nodes ``x0 .. x{n-1}``; node order is random w.r.t. causal order.

    ``graph_type="scale_free"`` attaches each new node to ``m = max(1, round(edge_prob * (n - 1)
    / 2))`` earlier nodes chosen with probability proportional to degree + 1 (so the expected
    density roughly matches Erdős–Rényi at the same ``edge_prob``); ``edge_prob=0`` gives no edges
    for either type.
    """
    n = check_number(n_nodes, "n_nodes", "random_dag", low=1, integer=True)
    p = check_number(edge_prob, "edge_prob", "random_dag", low=0.0, high=1.0)
    check_choice(graph_type, "graph_type", "random_dag", ("erdos_renyi", "scale_free"))
    rng = as_generator(seed)
    causal_order = rng.permutation(n)
    names = [f"{prefix}{i}" for i in range(n)]
    edges: list[tuple[str, str]] = []
    if graph_type == "erdos_renyi":
        mask = np.triu(rng.uniform(size=(n, n)) < p, k=1)
        for i, j in zip(*np.nonzero(mask)):
            edges.append((names[causal_order[i]], names[causal_order[j]]))
    else:
        m = max(1, int(round(p * (n - 1) / 2))) if p > 0 else 0
        degree = np.zeros(n)
        for position in range(1, n):
            k = min(m, position)
            weights = degree[:position] + 1.0
            chosen = rng.choice(position, size=k, replace=False, p=weights / weights.sum())
            for source in chosen:
                edges.append((names[causal_order[source]], names[causal_order[position]]))
                degree[source] += 1
                degree[position] += 1
    return CausalGraph(edges, nodes=names)


class RandomNonlinearFunction:
    """``f(parents) = sum_j a_j * g_j(parents[:, j])``, g_j one of ``tanh(2x)``, ``sin(2x)``,
    ``2 exp(-x^2) - 1`` (non-monotone) and ``softplus(2x) / 2`` (grows linearly, so values stay on
    a moderate scale along long chains).

    A picklable class (not a lambda) so random SCMs can cross process boundaries.
    """

    def __init__(self, coefficients: np.ndarray, kinds: list[str]):
        self.coefficients = np.asarray(coefficients, dtype=np.float64)
        self.kinds = list(kinds)

    def __call__(self, parents: np.ndarray) -> np.ndarray:
        out = np.zeros(parents.shape[0])
        for j, (a, kind) in enumerate(zip(self.coefficients, self.kinds)):
            x = parents[:, j]
            if kind == "tanh":
                out += a * np.tanh(2.0 * x)
            elif kind == "sin":
                out += a * np.sin(2.0 * x)
            elif kind == "bump":
                out += a * (2.0 * np.exp(-(x**2)) - 1.0)
            else:
                out += a * (np.logaddexp(0.0, 2.0 * x) / 2.0 - 0.35)
        return out

    def __repr__(self) -> str:
        terms = " + ".join(f"{a:.2f}*{k}(x{j})" for j, (a, k) in enumerate(zip(self.coefficients,
                                                                              self.kinds)))
        return f"RandomNonlinearFunction({terms or '0'})"


def random_scm(n_nodes: int, *, edge_prob: float = 0.3, mechanism: str = "linear",
               graph_type: str = "erdos_renyi", noise_std: float = 1.0,
               weight_range: tuple[float, float] = (0.5, 1.5), standardize: str = "none",
               seed: int | np.random.Generator) -> SCM:
    """A random SCM over ``x0 .. x{n-1}``.

    ``mechanism="linear"``: linear-Gaussian with weights uniform in ±``weight_range`` (default ±[0.5, 1.5];
    NOTEARS' and Reisach et al.'s simulations use ±[0.5, 2]).
    ``mechanism="nonlinear"``: additive noise with :class:`RandomNonlinearFunction` terms,
    coefficients uniform in ±``weight_range``, Gaussian noise. Every term is bounded or grows at most
    linearly, so values stay on a moderate scale.

    ``standardize="internal"`` gives the *internally standardised* SCM (iSCM) of Ormaniec, Sussex, Lorch, Krause &
    Weichwald (2024), "Standardizing structural causal models": each variable is standardised to mean 0 and
    variance 1 as it is generated, so its children see the standardised value. Variances then no longer grow
    along the causal order (varsortability 1/2; see :mod:`latentscm.metrics.sortability`), which plain linear SCMs
    give away to any method that sorts by scale. Same graph and draws of weights and noise types as ``"none"`` for
    the same seed: linear mechanisms are rescaled exactly (population variances from the implied covariance);
    nonlinear ones by the mean and standard deviation of a 100,000-row Monte Carlo sample drawn after the others.
    """
    check_choice(mechanism, "mechanism", "random_scm", ("linear", "nonlinear"))
    check_choice(standardize, "standardize", "random_scm", ("none", "internal"))
    std = check_number(noise_std, "noise_std", "random_scm", low=0.0, low_inclusive=False)
    low, high = _weight_range(weight_range)
    rng = as_generator(seed)
    graph = random_dag(n_nodes, edge_prob=edge_prob, graph_type=graph_type, seed=rng)
    mechanisms: dict[str, Mechanism] = {}
    for name in graph.nodes:
        k = len(graph.parents(name))
        if k == 0:
            mechanisms[name] = Root(Normal(0.0, std))
            continue
        signs = rng.choice([-1.0, 1.0], size=k)
        weights = signs * rng.uniform(low, high, size=k)
        if mechanism == "linear":
            mechanisms[name] = LinearGaussian(weights, std=std)
        else:
            kinds = [str(kind) for kind in rng.choice(_KINDS, size=k)]
            mechanisms[name] = AdditiveNoise(RandomNonlinearFunction(weights, kinds), noise=Normal(0.0, std))
    if standardize == "internal":
        mechanisms = _internally_standardised(graph, mechanisms, std, rng)
    return SCM(graph, mechanisms)


def _weight_range(value: object) -> tuple[float, float]:
    if isinstance(value, (str, bytes, Mapping)):
        raise TypeError(f"The 'weight_range' parameter of random_scm must be two numbers (low, high), not "
                        f"{type(value).__name__} {value!r}.")
    try:
        low, high = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"The 'weight_range' parameter of random_scm must be two numbers (low, high). Got "
                         f"{value!r}.") from None
    if not (np.isfinite(low) and np.isfinite(high) and 0 <= low <= high):
        raise ValueError(f"The 'weight_range' parameter of random_scm must satisfy 0 <= low <= high (weights are "
                         f"drawn from ±[low, high]). Got {value!r}.")
    return low, high


class StandardisedFunction:
    """``(function(parents) - offset) / scale``: a mechanism's function, standardised. Picklable."""

    def __init__(self, function: RandomNonlinearFunction, offset: float, scale: float):
        self.function, self.offset, self.scale = function, float(offset), float(scale)

    def __call__(self, parents: np.ndarray) -> np.ndarray:
        return (self.function(parents) - self.offset) / self.scale

    def __repr__(self) -> str:
        return f"({self.function!r} - {self.offset:.3g}) / {self.scale:.3g}"


#: Rows of the Monte Carlo sample that standardises nonlinear mechanisms internally.
_STANDARDISE_ROWS = 100_000


def _internally_standardised(graph: CausalGraph, mechanisms: dict[str, Mechanism], std: float,
                             rng: np.random.Generator) -> dict[str, Mechanism]:
    """The iSCM of ``mechanisms`` (Ormaniec et al. 2024): every node rescaled to mean 0 and variance 1 given
    standardised parents; linear ones exactly, nonlinear ones from a Monte Carlo sample."""
    order = graph.topological_order()
    position = {name: k for k, name in enumerate(order)}
    out: dict[str, Mechanism] = {}
    if all(isinstance(mechanisms[name], (LinearGaussian, Root)) for name in order):
        correlation = np.eye(len(order))  # of the standardised variables, in topological order
        for k, name in enumerate(order):
            parents = [position[p] for p in graph.parents(name)]
            if not parents:  # N(0, std) -> N(0, 1), uncorrelated with every earlier node
                out[name] = Root(Normal(0.0, 1.0))
                continue
            w = mechanisms[name].weights  # type: ignore[attr-defined]
            scale = float(np.sqrt(w @ correlation[np.ix_(parents, parents)] @ w + std**2))
            out[name] = LinearGaussian(w / scale, std=std / scale)
            correlation[k, :k] = correlation[:k, k] = w @ correlation[parents, :k] / scale
        return out
    mc = np.random.default_rng(rng.integers(2**63))
    values: dict[str, np.ndarray] = {}
    for name in order:
        parents = graph.parents(name)
        if not parents:
            out[name] = Root(Normal(0.0, 1.0))
            values[name] = mc.normal(size=_STANDARDISE_ROWS)
            continue
        function = mechanisms[name].function  # type: ignore[attr-defined]
        raw = function(np.column_stack([values[p] for p in parents])) + mc.normal(0.0, std, size=_STANDARDISE_ROWS)
        offset, scale = float(raw.mean()), float(raw.std())
        out[name] = AdditiveNoise(StandardisedFunction(function, offset, scale), noise=Normal(0.0, std / scale))
        values[name] = (raw - offset) / scale
    return out


def random_discrete_scm(n_nodes: int, *, edge_prob: float = 0.3, levels: int | tuple[int, int] | list[int] = 3,
                        concentration: float = 0.5, seed: int | np.random.Generator) -> DiscreteSCM:
    """A random categorical Bayesian network: the DAG of :func:`random_dag` (Erdős–Rényi), each node with
    ``levels`` states (an int, or a half-open range ``(low, high)`` to draw from per node) and, for every parent
    configuration, its conditional distribution drawn from a symmetric Dirichlet(``concentration``) (below 1:
    peaked tables, strong dependences; a table too flat to show an edge is rare but possible).
    ``scm.sample(n, seed=...)`` gives integer codes (n, d) in ``scm.nodes`` order."""
    owner = "random_discrete_scm"
    concentration = check_number(concentration, "concentration", owner, low=0, low_inclusive=False)
    form = "an int >= 2 or a half-open range (low, high) of ints with 2 <= low < high"
    if isinstance(levels, (tuple, list)):
        if (len(levels) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in levels)
                or not 2 <= levels[0] < levels[1]):
            raise ValueError(f"The 'levels' argument of {owner} must be {form}. Got {levels!r}.")
        levels = (int(levels[0]), int(levels[1]))
    elif isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        levels = int(check_number(levels, "levels", owner, low=2, integer=True))
    else:
        raise ValueError(f"The 'levels' argument of {owner} must be {form}. Got {levels!r}.")
    rng = as_generator(seed)
    graph = random_dag(n_nodes, edge_prob=edge_prob, seed=rng)
    cards = {name: int(rng.integers(*levels)) if isinstance(levels, tuple) else levels for name in graph.nodes}
    cpts = {}
    for name in graph.nodes:
        shape = tuple(cards[p] for p in graph.parents(name))
        cpts[name] = rng.dirichlet(np.full(cards[name], concentration), size=shape or None)
    return DiscreteSCM(graph, cpts)
