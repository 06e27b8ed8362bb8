"""A linear cyclic model with latent confounders: what :func:`~latentscm.discovery.llc.llc` returns.

The model (Hyttinen, Eberhardt & Hoyer 2012, "Learning linear cyclic causal models with latent variables", JMLR 13,
§2) over d observed variables is ``x_j = sum_i B[i, j] x_i + e_j``, i.e. ``x = B^T x + e``, with ``e`` zero-mean
disturbances of covariance ``Sigma_e``: a non-zero ``B[i, j]`` is a direct effect ``i -> j`` (cycles, 2-cycles
included, allowed), a non-zero ``Sigma_e[u, v]`` a latent confounder ``u <-> v``. An experiment with intervened set
``J`` (surgical and randomised) cuts the edges into ``J`` and sets ``x_J`` to independent random values; the others
(``U``) follow their equations. ``I - B`` (and ``I - B_J`` for the experiments used) must be invertible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentscm._io import dumps_strict, json_ready
from latentscm._validation import as_generator, check_names, check_number
from latentscm.graph import CausalGraph

__all__ = ["LinearCyclicModel"]


def _square(value: Any, d: int, name: str) -> np.ndarray:
    try:
        matrix = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"The '{name}' of a LinearCyclicModel must be a numeric ({d}, {d}) matrix.") from None
    if matrix.shape != (d, d):
        raise ValueError(f"The '{name}' of a LinearCyclicModel over {d} nodes must be ({d}, {d}). Got shape "
                         f"{matrix.shape}.")
    return matrix


def _frozen(matrix: np.ndarray) -> np.ndarray:
    matrix.setflags(write=False)
    return matrix


@dataclass(frozen=True)
class LinearCyclicModel:
    """Direct effects, disturbance covariance and the edges read from them (see the module docstring).

    Attributes
    ----------
    nodes: the d variable names.
    direct_effects: float array (d, d), ``[i, j]`` the direct effect of ``i`` on ``j`` (zero diagonal); NaN where
        the experiments do not identify it.
    disturbance_covariance: float array (d, d), symmetric, ``Sigma_e``; NaN where not identified.
    directed: 0/1 array (d, d), ``[i, j] = 1`` for the edge ``i -> j`` (both entries set: a 2-cycle). Default: the
        non-zero (non-NaN) direct effects.
    bidirected: symmetric 0/1 array (d, d), ``u <-> v`` (correlated disturbances, a latent confounder). Default: the
        non-zero (non-NaN) off-diagonal disturbance covariances.
    standard_errors, disturbance_standard_errors: float arrays (d, d) of the estimates' standard errors (bootstrap),
        or None.
    info: method, settings, experiments, what was not identified, ...
    """

    nodes: tuple[str, ...]
    direct_effects: np.ndarray
    disturbance_covariance: np.ndarray
    directed: np.ndarray | None = None
    bidirected: np.ndarray | None = None
    standard_errors: np.ndarray | None = None
    disturbance_standard_errors: np.ndarray | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.nodes, (str, bytes)):
            raise TypeError(f"The nodes of a LinearCyclicModel must be a sequence of names, not a single string. Got "
                            f"{self.nodes!r}.")
        nodes = check_names(list(self.nodes), "nodes", "LinearCyclicModel")
        d = len(nodes)
        effects = _square(self.direct_effects, d, "direct_effects")
        if np.any(np.diag(effects)[~np.isnan(np.diag(effects))] != 0):
            raise ValueError("The 'direct_effects' of a LinearCyclicModel must have a zero diagonal (no self-loops).")
        np.fill_diagonal(effects, 0.0)
        if np.isinf(effects).any():
            raise ValueError("The 'direct_effects' of a LinearCyclicModel must be finite (NaN: not identified).")
        sigma = _square(self.disturbance_covariance, d, "disturbance_covariance")
        if np.isinf(sigma).any():
            raise ValueError("The 'disturbance_covariance' of a LinearCyclicModel must be finite (NaN: not "
                             "identified).")
        if not np.array_equal(np.isnan(sigma), np.isnan(sigma).T) or not np.allclose(
                np.nan_to_num(sigma), np.nan_to_num(sigma).T, rtol=1e-9, atol=1e-12):
            raise ValueError("The 'disturbance_covariance' of a LinearCyclicModel must be symmetric.")
        if np.any(np.diag(sigma)[~np.isnan(np.diag(sigma))] < 0):
            raise ValueError("The 'disturbance_covariance' of a LinearCyclicModel must have non-negative variances "
                             f"on its diagonal. Got {np.diag(sigma).tolist()}.")
        directed = (np.nan_to_num(effects) != 0) if self.directed is None else _square(self.directed, d, "directed")
        if not np.isin(directed, (0, 1)).all() or np.diag(directed).any():
            raise ValueError("The 'directed' edges of a LinearCyclicModel must be 0/1 with a zero diagonal.")
        off = ~np.eye(d, dtype=bool)
        bidirected = ((np.nan_to_num(sigma) != 0) & off) if self.bidirected is None else _square(
            self.bidirected, d, "bidirected")
        if not np.isin(bidirected, (0, 1)).all() or np.diag(bidirected).any() or not np.array_equal(
                bidirected, bidirected.T):
            raise ValueError("The 'bidirected' edges of a LinearCyclicModel must be a symmetric 0/1 matrix with a "
                             "zero diagonal.")
        for name in ("standard_errors", "disturbance_standard_errors"):
            value = getattr(self, name)
            if value is not None:
                matrix = _square(value, d, name)
                if (matrix < 0).any() or np.isinf(matrix).any():
                    raise ValueError(f"The '{name}' of a LinearCyclicModel must be finite and non-negative (NaN: "
                                     "none).")
                object.__setattr__(self, name, _frozen(matrix))
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "direct_effects", _frozen(effects))
        object.__setattr__(self, "disturbance_covariance", _frozen(sigma))
        object.__setattr__(self, "directed", _frozen(np.asarray(directed, dtype=np.int64)))
        object.__setattr__(self, "bidirected", _frozen(np.asarray(bidirected, dtype=np.int64)))

    def __eq__(self, other: object) -> bool:
        """Models are equal when their nodes and edges are (the estimates and ``info`` are not compared)."""
        if not isinstance(other, LinearCyclicModel):
            return NotImplemented
        return (self.nodes == other.nodes and np.array_equal(self.directed, other.directed)
                and np.array_equal(self.bidirected, other.bidirected))

    def __hash__(self) -> int:
        return hash((self.nodes, self.directed.tobytes(), self.bidirected.tobytes()))

    # ------------------------------------------------------------------ queries
    @property
    def directed_edges(self) -> list[tuple[str, str]]:
        """Every ``i -> j`` (both ways for a 2-cycle)."""
        return [(self.nodes[i], self.nodes[j]) for i, j in zip(*np.nonzero(self.directed))]

    @property
    def bidirected_edges(self) -> list[tuple[str, str]]:
        """Every ``u <-> v`` once (``u`` before ``v`` in node order)."""
        return [(self.nodes[u], self.nodes[v]) for u, v in zip(*np.nonzero(np.triu(self.bidirected)))]

    def edges(self) -> list[str]:
        """The edges as text: ``"a --> b"`` and ``"a <-> b"``."""
        return [f"{a} --> {b}" for a, b in self.directed_edges] + [f"{a} <-> {b}" for a, b in self.bidirected_edges]

    @property
    def is_acyclic(self) -> bool:
        """Whether the directed edges form a DAG (no cycle, no 2-cycle)."""
        remaining = self.directed.astype(bool).copy()
        alive = np.ones(len(self.nodes), dtype=bool)
        while alive.any():
            sources = alive & ~remaining[alive].any(axis=0)
            if not sources.any():
                return False
            alive &= ~sources
            remaining[sources] = False
        return True

    def to_causal_graph(self) -> CausalGraph:
        """The directed edges as a :class:`~latentscm.graph.CausalGraph` (a DAG); refused when they have a cycle or
        the model has a bidirected edge (a DAG would drop the confounding)."""
        if not self.is_acyclic:
            raise ValueError(f"This LinearCyclicModel has a directed cycle ({', '.join(self.edges())}); a "
                             "CausalGraph must be acyclic.")
        if self.bidirected.any():
            raise ValueError(f"This LinearCyclicModel has latent confounders "
                             f"({', '.join(f'{a} <-> {b}' for a, b in self.bidirected_edges)}); a CausalGraph has "
                             "no bidirected edges.")
        return CausalGraph.from_adjacency(self.directed, list(self.nodes))

    def to_scm(self) -> Any:
        """The model as the library's :class:`~latentscm.scm.SCM` (linear-Gaussian mechanisms, zero means), for its
        ``do``, ``sample`` and ``counterfactual``; refused (as :meth:`to_causal_graph`) for a cycle or a latent
        confounder, which an SCM over these variables alone cannot hold, or for a NaN estimate."""
        from latentscm.scm.mechanisms import LinearGaussian, Root
        from latentscm.scm.noise import Normal
        from latentscm.scm.scm import SCM

        graph = self.to_causal_graph()
        variances = np.diag(self.disturbance_covariance)
        if np.isnan(variances).any() or np.isnan(self.direct_effects[self.directed == 1]).any():
            raise ValueError("This LinearCyclicModel has estimates that are not identified (NaN); it cannot be an "
                             "SCM.")
        mechanisms: dict[str, Any] = {}
        for j, name in enumerate(self.nodes):
            parents = list(graph.parents(name))
            std = float(np.sqrt(variances[j]))
            mechanisms[name] = LinearGaussian({p: float(self.direct_effects[self.nodes.index(p), j])
                                               for p in parents}, std=std) if parents else Root(Normal(0.0, std))
        return SCM(graph, mechanisms)

    def _positions(self, targets: Iterable[Any] | None, what: str) -> np.ndarray:
        if targets is None:  # observational, as in llc's targets
            targets = ()
        if isinstance(targets, (str, bytes, int, np.integer)):
            targets = [targets]
        mask = np.zeros(len(self.nodes), dtype=bool)
        if not isinstance(targets, Iterable):
            raise TypeError(f"The '{what}' argument must be a collection of node names or positions (None or empty: "
                            f"observational). Got {targets!r}.")
        for item in targets:
            if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
                if not 0 <= item < len(self.nodes):
                    raise ValueError(f"The '{what}' argument names position {item}, outside 0..{len(self.nodes) - 1}.")
                mask[int(item)] = True
            elif item in self.nodes:
                mask[self.nodes.index(item)] = True
            else:
                raise ValueError(f"The '{what}' argument names {item!r}, not a node of this model: "
                                 f"{', '.join(self.nodes)}.")
        return mask

    def _cut(self, intervened: np.ndarray, purpose: str = "experiments") -> np.ndarray:
        """(I - B_J)^{-1} (d, d) for the experiment intervening on ``intervened``: the edges into J cut (row ``i``:
        what ``x_i``'s equation input adds to every variable; ``x = input @ (I - B_J)^{-1}`` for row vectors)."""
        if np.isnan(self.direct_effects[:, ~intervened]).any():
            raise ValueError("This LinearCyclicModel has direct effects that are not identified (NaN); it cannot "
                             f"predict {purpose}.")
        cut = np.nan_to_num(self.direct_effects) * ~intervened[None, :]
        system = np.eye(len(self.nodes)) - cut
        if np.linalg.cond(system) > 1e12:
            raise ValueError("I - B is singular for this experiment: the model's feedback has no equilibrium there.")
        return np.linalg.inv(system)

    def total_effects(self, targets: Iterable[Any] = ()) -> np.ndarray:
        """Float array (d, d): ``[i, j]`` the total effect of ``x_i`` on ``x_j`` in the experiment intervening on
        ``targets`` (names or positions; rows outside the intervened set describe the passive system, ``(I - B)^-1``
        of the equations with the edges into the targets cut). The experimental effect ``t(i ~> j || J)`` of the
        paper is ``[i, j]`` for ``i`` in J."""
        return self._cut(self._positions(targets, "targets"))

    def covariance(self, targets: Iterable[Any] = (), intervention_variance: float = 1.0) -> np.ndarray:
        """The population covariance (d, d) of ``x`` in the experiment intervening on ``targets``, the intervened
        variables set to independent values of variance ``intervention_variance``."""
        intervened = self._positions(targets, "targets")
        intervention_variance = check_number(intervention_variance, "intervention_variance",
                                             "LinearCyclicModel.covariance", low=0, low_inclusive=False)
        passive = ~intervened
        sigma = self.disturbance_covariance
        if np.isnan(sigma[np.ix_(passive, passive)]).any():
            raise ValueError("This LinearCyclicModel's disturbance covariance is not identified (NaN) among the "
                             "variables this experiment leaves alone; it cannot predict their covariance.")
        inner = np.zeros_like(sigma)
        inner[np.ix_(passive, passive)] = sigma[np.ix_(passive, passive)]
        inner[intervened, intervened] = intervention_variance
        mix = self._cut(intervened).T  # x = (I - B_J^T)^{-1} (U e + J c)
        return mix @ inner @ mix.T

    def counterfactual(self, values: Any, interventions: Mapping[Any, float]) -> np.ndarray:
        """Each unit's values (n, d) had ``interventions`` ({name or position: value}) been made, at equilibrium.

        Abduction is exact in a linear model, latent confounders or not: a unit's disturbances (with any intercepts)
        are ``(I - B^T) x``. The counterfactual keeps them for the variables left alone, sets the intervened ones,
        and solves the equations with the edges into them cut: ``x' = (I - B_J^T)^{-1} (U (I - B^T) x + J v)``
        (Pearl's three steps for a linear SCM, Hyttinen et al.'s equilibrium reading of a cyclic one).

        ``values``: array (n, d), or (d,) for one unit, in node order.
        """
        owner = "LinearCyclicModel.counterfactual"
        d = len(self.nodes)
        try:
            x = np.array(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"The 'values' argument of {owner} must be a numeric array (n, {d}).") from None
        single = x.ndim == 1
        x = x.reshape(1, -1) if single else x
        if x.ndim != 2 or x.shape[1] != d:
            raise ValueError(f"The 'values' argument of {owner} must be (n, {d}) (or ({d},) for one unit), one "
                             f"column per node. Got shape {np.shape(values)}.")
        if not np.isfinite(x).all():
            raise ValueError(f"The 'values' argument of {owner} must be finite.")
        if not isinstance(interventions, Mapping) or not interventions:
            raise TypeError(f"The 'interventions' argument of {owner} must be a non-empty mapping {{node: value}}. "
                            f"Got {interventions!r}.")
        intervened = self._positions(list(interventions), "interventions")
        if intervened.sum() != len(interventions):
            raise ValueError(f"The 'interventions' argument of {owner} sets one node twice (by name and by position?): "
                             f"{dict(interventions)!r}.")
        settings = np.zeros(d)
        for key, value in interventions.items():
            settings[self._positions([key], "interventions")] = check_number(value, f"interventions[{key!r}]", owner)
        abducted = x - x @ np.nan_to_num(self.direct_effects)  # row-wise (I - B^T) x: disturbances + intercepts
        inner = np.where(intervened, settings, abducted)
        out = inner @ self._cut(intervened, "counterfactuals")
        return out[0] if single else out

    def sample(self, n: int, targets: Iterable[Any] = (), *, intervention_variance: float = 1.0,
               seed: int | np.random.Generator | None = 0) -> np.ndarray:
        """``n`` Gaussian draws (n, d) of the experiment intervening on ``targets`` (see :meth:`covariance`)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"The 'n' argument of LinearCyclicModel.sample must be a positive integer. Got {n!r}.")
        cov = self.covariance(targets, intervention_variance)
        values, vectors = np.linalg.eigh((cov + cov.T) / 2)
        if values.min() < -1e-9 * max(float(np.abs(values).max()), 1e-300):
            raise ValueError(f"This LinearCyclicModel's covariance in this experiment has a negative eigenvalue "
                             f"({values.min():.3g}): its disturbance covariance is not positive semi-definite, so no "
                             "Gaussian has it.")
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
        return as_generator(seed).standard_normal((int(n), len(self.nodes))) @ root.T

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: nodes, edges as text, the matrices (NaN as null) and info (numpy values as Python's)."""
        out: dict[str, Any] = {"nodes": list(self.nodes), "edges": self.edges(),
                               "direct_effects": self.direct_effects.tolist(),
                               "disturbance_covariance": self.disturbance_covariance.tolist(),
                               "directed": self.directed.tolist(), "bidirected": self.bidirected.tolist(),
                               "info": dict(self.info)}
        for name in ("standard_errors", "disturbance_standard_errors"):
            value = getattr(self, name)
            out[name] = None if value is None else value.tolist()
        return json_ready(out)

    def to_json(self) -> str:
        return dumps_strict(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearCyclicModel:
        """The inverse of :meth:`to_dict` (a null matrix entry reads back as NaN)."""
        missing = [key for key in ("nodes", "direct_effects", "disturbance_covariance") if key not in data]
        if missing:
            raise ValueError(f"A LinearCyclicModel dict needs {', '.join(missing)}.")

        d = len(data["nodes"])

        def matrix(key: str) -> np.ndarray | None:
            value = data.get(key)
            if value is None:
                return None
            try:
                out = np.array([[np.nan if v is None else v for v in row] for row in value], dtype=np.float64)
            except (TypeError, ValueError):
                out = None
            if out is None or out.shape != (d, d):
                raise ValueError(f"The '{key}' of a LinearCyclicModel dict must be a ({d}, {d}) list of rows of "
                                 "numbers (null: not identified).")
            return out

        return cls(nodes=tuple(data["nodes"]), direct_effects=matrix("direct_effects"),
                   disturbance_covariance=matrix("disturbance_covariance"),
                   directed=data.get("directed"), bidirected=data.get("bidirected"),
                   standard_errors=matrix("standard_errors"),
                   disturbance_standard_errors=matrix("disturbance_standard_errors"),
                   info=dict(data.get("info", {})))

