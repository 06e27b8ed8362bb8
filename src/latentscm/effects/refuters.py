"""Refutation checks of an effect estimate (the "refute" step of Sharma & Kiciman, *DoWhy*, 2020).

Each check re-runs the same estimator on altered data, ``n_simulations`` times with seeded draws:

- ``placebo``: the treatment column permuted, which cuts every causal path from it. The placebo estimates
  should centre on zero, and the real estimate should be far out in their distribution.
  Passes when the real estimate's two-sided p-value under a normal fit to the placebo estimates is below 0.05.
- ``random_common_cause``: an independent standard-normal column added as a confounder (a parent of the
  treatment and the outcome) and adjusted for. A valid design should barely move. Passes when the mean change
  is under one standard error of the original estimate.
- ``subset``: the estimate on random subsets of ``subset_fraction`` of the rows. Passes when their mean is
  within one standard error of the original.

A passed check is evidence, not proof: none of them can reveal a confounder the graph leaves out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from latentscm._validation import as_generator, check_number, check_sequence
from latentscm.effects.estimate import _OWNER as _ESTIMATE
from latentscm.effects.estimate import as_causal_dag, estimate_effect
from latentscm.effects.result import EffectEstimate
from latentscm.graph import CausalGraph

__all__ = ["REFUTERS", "Refutation", "RefutationReport", "refute_effect"]

#: The checks of :func:`refute_effect`.
REFUTERS = ("placebo", "random_common_cause", "subset")

_OWNER = "refute_effect"
_NOISE = "__random_common_cause__"


@dataclass(frozen=True)
class Refutation:
    """One check: the estimates it produced (n_simulations,), their mean and spread, and the verdict."""

    name: str
    estimates: tuple[float, ...]
    mean: float
    std: float
    statistic: float
    passed: bool
    rule: str

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (f"{self.name}: mean {self.mean:.4g} (sd {self.std:.3g}, {len(self.estimates)} runs); "
                f"{self.rule} = {self.statistic:.3g}: {verdict}")


@dataclass(frozen=True)
class RefutationReport:
    """The original estimate and each check's :class:`Refutation`."""

    original: EffectEstimate
    checks: tuple[Refutation, ...]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(check.passed for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        from latentscm._io import json_ready

        return json_ready({"original": self.original.to_dict(), "passed": self.passed,
                           "checks": [{"name": c.name, "mean": c.mean, "std": c.std, "statistic": c.statistic,
                                       "rule": c.rule, "passed": c.passed, "estimates": list(c.estimates)}
                                      for c in self.checks], "info": self.info})

    def __str__(self) -> str:
        return "\n".join([str(self.original), *(f"  {check}" for check in self.checks)])


def _columns(data: Any, node_names: Sequence[str] | None) -> dict[str, np.ndarray]:
    from latentscm.discovery.pc import as_data_matrix

    matrix, names = as_data_matrix(data, node_names, _OWNER)
    return {name: matrix[:, j].copy() for j, name in enumerate(names)}


def refute_effect(data: Any, graph: Any, treatment: str, outcome: str, *, checks: Sequence[str] = REFUTERS,
                  n_simulations: int = 20, subset_fraction: float = 0.8, seed: int = 0,
                  node_names: Sequence[str] | None = None, **options: Any) -> RefutationReport:
    """Estimate the effect of ``treatment`` on ``outcome`` with :func:`estimate_effect` (``options`` are its
    keyword arguments) and run the ``checks`` (names from :data:`REFUTERS`) on it.

    Every re-estimate uses the original's method and the adjustment set it chose (plus the added column for
    ``random_common_cause``); draws are seeded from ``seed``.
    """
    names = check_sequence(checks, "checks", _OWNER, what="check names")
    unknown = [c for c in names if c not in REFUTERS]
    if unknown or not names:
        raise ValueError(f"The 'checks' argument of {_OWNER} must name some of {list(REFUTERS)}. Got {list(names)}.")
    n_simulations = check_number(n_simulations, "n_simulations", _OWNER, low=2, integer=True)
    subset_fraction = check_number(subset_fraction, "subset_fraction", _OWNER, low=0.0, high=1.0,
                                   low_inclusive=False, high_inclusive=False)
    seed = check_number(seed, "seed", _OWNER, low=0, integer=True)
    columns = _columns(data, node_names)
    dag = _as_graph(graph)
    original = estimate_effect(columns, dag, treatment, outcome, seed=seed, **options)
    fixed = {**options, "method": original.method, "contrast": original.contrast,
             "adjustment": list(original.adjustment_set)}
    rng = as_generator(seed)
    n = original.n
    results = []
    for name in names:
        estimates = []
        for _ in range(n_simulations):
            run_seed = int(rng.integers(0, 2**31 - 1))
            draw = np.random.default_rng(run_seed)
            if name == "placebo":
                altered = {**columns, treatment: draw.permutation(columns[treatment])}
                estimates.append(estimate_effect(altered, dag, treatment, outcome, seed=seed, **fixed).estimate)
            elif name == "random_common_cause":
                noisy = _with_common_cause(dag, treatment, outcome)
                altered = {**columns, _NOISE: draw.standard_normal(n)}
                widened = {**fixed, "adjustment": [*fixed["adjustment"], _NOISE]}
                estimates.append(estimate_effect(altered, noisy, treatment, outcome, seed=seed,
                                                 **widened).estimate)
            else:
                rows = np.sort(draw.choice(n, size=max(int(round(subset_fraction * n)), 4), replace=False))
                altered = {key: value[rows] for key, value in columns.items()}
                estimates.append(estimate_effect(altered, dag, treatment, outcome, seed=seed, **fixed).estimate)
        results.append(_verdict(name, np.asarray(estimates), original))
    return RefutationReport(original=original, checks=tuple(results),
                            info={"n_simulations": n_simulations, "subset_fraction": subset_fraction, "seed": seed})


def _as_graph(graph: Any) -> Any:
    """A CausalGraph, or a partially directed DiscoveredGraph as it is (estimate_effect takes it when it
    identifies the effect)."""
    from latentscm.discovery.pag import PartialAncestralGraph
    from latentscm.discovery.result import DiscoveredGraph

    if isinstance(graph, PartialAncestralGraph) or (isinstance(graph, DiscoveredGraph)
                                                    and not graph.is_fully_directed()):
        return graph
    return as_causal_dag(graph, _ESTIMATE)


def _with_common_cause(graph: Any, treatment: str, outcome: str) -> Any:
    """``graph`` with a new root ``_NOISE`` and directed edges from it into the treatment and the outcome. In a
    PAG the column is a node without edges: what FCI would find for a column of independent noise (an edge
    ``o->`` into both could create colliders the class does not have)."""
    from latentscm.discovery.pag import PartialAncestralGraph
    from latentscm.discovery.result import DiscoveredGraph

    if isinstance(graph, PartialAncestralGraph):
        d = len(graph.nodes)
        marks = np.zeros((d + 1, d + 1), dtype=np.int64)
        marks[:d, :d] = graph.marks
        return PartialAncestralGraph((*graph.nodes, _NOISE), marks)
    if isinstance(graph, CausalGraph):
        return CausalGraph([*graph.edges, (_NOISE, treatment), (_NOISE, outcome)], nodes=[*graph.nodes, _NOISE])
    d = len(graph.nodes)
    adjacency = np.zeros((d + 1, d + 1), dtype=np.int64)
    adjacency[:d, :d] = np.asarray(graph.adjacency) != 0
    adjacency[d, [graph.nodes.index(treatment), graph.nodes.index(outcome)]] = 1
    return DiscoveredGraph((*graph.nodes, _NOISE), adjacency)


def _verdict(name: str, estimates: np.ndarray, original: EffectEstimate) -> Refutation:
    mean, std = float(np.mean(estimates)), float(np.std(estimates, ddof=1))
    if name == "placebo":
        statistic = float(2 * stats.norm.sf(abs(original.estimate - mean) / std)) if std > 0 else (
            0.0 if original.estimate != mean else 1.0)
        passed, rule = statistic < 0.05, "p-value of the estimate among placebo estimates (pass < 0.05)"
    else:
        change = abs(mean - original.estimate)
        statistic = change / original.std_error if original.std_error > 0 else float(change > 0) * np.inf
        passed, rule = statistic < 1.0, "|mean - estimate| / s.e. (pass < 1)"
    return Refutation(name=name, estimates=tuple(float(e) for e in estimates), mean=mean, std=std,
                      statistic=float(statistic), passed=bool(passed), rule=rule)
