"""IDA: the possible causal effects of one variable on another when only the CPDAG is known.

Maathuis, Kalisch & Bühlmann, *Estimating high-dimensional intervention effects from observational data*,
Ann. Statist. 2009 ("local" IDA). Observational data determine a DAG only up to its Markov equivalence
class (the CPDAG that PC or GES return). For a treatment ``X`` with directed parents ``pa(X)`` and undirected
neighbours ``sib(X)``, every DAG of the class gives ``X`` the parents ``pa(X) ∪ S`` for some ``S ⊆ sib(X)``
whose orientation ``S -> X`` creates no new v-structure at ``X`` (every node of ``S`` adjacent to every
other node of ``pa(X) ∪ S``); conversely each such ``S`` occurs in some DAG. Adjusting for ``pa(X) ∪ S``
gives that DAG's effect; an outcome inside ``pa(X) ∪ S`` is a cause of ``X``, so the effect there is 0.

The result is the multiset of these effects (one per locally valid ``S``; multiplicities differ from the
global method's count of DAGs, the distinct values are the same). For a graph oriented further by background
knowledge (an MPDAG) the local rule is not enough; each ``S`` is then also checked by orienting it and finding a
consistent extension (the semi-local IDA of Perković et al. 2017). Its smallest absolute value is a
conservative effect size (the paper's lower bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from latentscm.effects.estimate import checked_columns, run_estimator
from latentscm.effects.result import EffectEstimate

__all__ = ["IdaResult", "ida", "possible_parent_sets"]

_OWNER = "ida"


@dataclass(frozen=True)
class IdaResult:
    """The possible effects of ``treatment`` on ``outcome`` over a CPDAG's equivalence class.

    ``parent_sets[k]`` is the parent set of the treatment in the DAGs whose effect is ``effects[k]``
    (an :class:`EffectEstimate`, or ``None`` where the outcome is among those parents: the effect is 0).
    """

    treatment: str
    outcome: str
    parent_sets: tuple[tuple[str, ...], ...]
    effects: tuple[EffectEstimate | None, ...]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def values(self) -> np.ndarray:
        """The possible effects (k,), 0 where the outcome is a parent of the treatment."""
        return np.array([0.0 if e is None else e.estimate for e in self.effects])

    @property
    def minimum_absolute(self) -> float:
        """``min |effect|`` over the class: the conservative effect size of Maathuis et al. (2009)."""
        return float(np.min(np.abs(self.values)))

    @property
    def identified(self) -> bool:
        """Whether every DAG of the class gives the treatment the same parents (then there is one possible
        effect). The effect can be identified with several parent sets too: see
        :func:`~latentscm.effects.is_amenable`."""
        return len(self.parent_sets) == 1

    def to_dict(self) -> dict[str, Any]:
        from latentscm._io import json_ready

        return json_ready({"treatment": self.treatment, "outcome": self.outcome,
                           "parent_sets": [list(p) for p in self.parent_sets],
                           "effects": [None if e is None else e.to_dict() for e in self.effects],
                           "values": self.values.tolist(), "minimum_absolute": self.minimum_absolute,
                           "info": self.info})

    def __str__(self) -> str:
        lines = [f"IDA: {len(self.parent_sets)} possible effect(s) of {self.treatment} on {self.outcome}; "
                 f"min |effect| = {self.minimum_absolute:.4g}"]
        for parents, effect in zip(self.parent_sets, self.effects):
            shown = "0 (the outcome is a parent)" if effect is None else (
                f"{effect.estimate:.4g} [{effect.ci_low:.4g}, {effect.ci_high:.4g}]")
            lines.append(f"  parents {{{', '.join(parents)}}}: {shown}")
        return "\n".join(lines)


def _as_cpdag(graph: Any) -> tuple[tuple[str, ...], np.ndarray]:
    from latentscm.discovery.result import DiscoveredGraph
    from latentscm.graph import CausalGraph

    if isinstance(graph, DiscoveredGraph):
        return tuple(graph.nodes), (np.asarray(graph.adjacency) != 0)
    if isinstance(graph, CausalGraph):
        return tuple(graph.nodes), graph.adjacency.astype(bool)
    raise TypeError(f"The 'graph' argument of {_OWNER} must be a DiscoveredGraph (a CPDAG, e.g. from pc or ges) or "
                    f"a CausalGraph. Got {type(graph).__name__}.")


def possible_parent_sets(graph: Any, treatment: str) -> list[tuple[str, ...]]:
    """The parent sets ``pa(X) ∪ S`` of ``treatment`` over the DAGs of the CPDAG ``graph`` (local criterion),
    each in node order, ``S`` by increasing size."""
    nodes, adjacency = _as_cpdag(graph)
    if treatment not in nodes:
        from latentscm.graph import UnknownNodeError

        raise UnknownNodeError(treatment, nodes)
    x = nodes.index(treatment)
    parents = [i for i in range(len(nodes)) if adjacency[i, x] and not adjacency[x, i]]
    siblings = [i for i in range(len(nodes)) if adjacency[i, x] and adjacency[x, i]]
    adjacent = adjacency | adjacency.T
    found = []
    for size in range(len(siblings) + 1):
        for chosen in combinations(siblings, size):
            together = parents + list(chosen)
            if all(adjacent[s, p] for s in chosen for p in together if p != s) and _extends(adjacency, x, chosen,
                                                                                           siblings):
                found.append(tuple(nodes[i] for i in sorted(together)))
    return found


def _extends(adjacency: np.ndarray, x: int, chosen: tuple[int, ...], siblings: list[int]) -> bool:
    """Whether some DAG of the class gives ``x`` the siblings ``chosen`` as parents: orient them into ``x`` and
    the other siblings out of it; no new v-structure may appear at those children, and the oriented graph
    must have a consistent extension (Dor & Tarsi 1992). For a CPDAG this always holds once the local clique
    condition does; for a graph oriented by background knowledge it need not (Perković et al. 2017)."""
    from latentscm.discovery.ges import consistent_extension

    oriented = adjacency.copy()
    directed = adjacency & ~adjacency.T
    for s in siblings:
        if s in chosen:
            oriented[x, s] = False
        else:
            oriented[s, x] = False
            if any(directed[q, s] and not (adjacency[q, x] or adjacency[x, q]) for q in range(len(adjacency))):
                return False
    try:
        consistent_extension(oriented.astype(np.int64))
    except ValueError:
        return False
    return True


def ida(data: Any, graph: Any, treatment: str, outcome: str, *, method: str = "regression",
        contrast: Sequence[float] | None = None, level: float = 0.95, outcome_learner: Any = "linear",
        treatment_learner: Any = "linear", n_folds: int = 5, trim: float = 0.01, n_bootstrap: int = 100,
        seed: int = 0, node_names: Sequence[str] | None = None) -> IdaResult:
    """The possible effects of ``treatment`` on ``outcome`` over the equivalence class of the CPDAG ``graph``.

    Each possible parent set of the treatment (:func:`possible_parent_sets`) is the adjustment set of one
    :func:`~latentscm.effects.estimate_effect`-style estimate (same ``method`` and options; the paper's
    choice is ``"regression"`` with the linear learner). Every node of ``graph`` must be a column of ``data``:
    IDA assumes no hidden variables.
    """
    nodes, _ = _as_cpdag(graph)
    column = checked_columns(data, node_names, nodes, treatment, outcome, _OWNER)
    missing = [v for v in nodes if v not in column]
    if missing:
        raise ValueError(f"The 'data' argument of {_OWNER} lacks the graph's nodes {missing}; IDA assumes every "
                         f"variable is observed.")
    sets = possible_parent_sets(graph, treatment)
    effects: list[EffectEstimate | None] = []
    for parents in sets:
        if outcome in parents:
            effects.append(None)
            continue
        effects.append(run_estimator(column, treatment, outcome, parents, method=method, contrast=contrast,
                                     level=level, outcome_learner=outcome_learner,
                                     treatment_learner=treatment_learner, n_folds=n_folds, trim=trim,
                                     n_bootstrap=n_bootstrap, seed=seed, owner=_OWNER))
    return IdaResult(treatment=treatment, outcome=outcome, parent_sets=tuple(sets), effects=tuple(effects),
                     info={"method": method, "seed": seed})
