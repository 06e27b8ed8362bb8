"""``identify_effect``: every route this library knows into a total effect, for a DAG whose hidden nodes are the
ones without data, and the function that estimates along each.

=================  ==========================================================  =================================
route              when                                                        estimated by
=================  ==========================================================  =================================
adjustment         an observed set blocks every non-causal path (the           :func:`estimate_effect`
                   generalised adjustment criterion; the optimal set)
front door         observed mediators intercept every causal path and are      :func:`front_door_effect`
                   shielded from the confounding (Pearl 1995; the minimal set)
instruments        a linear model, and observed causes of the treatment reach  :func:`instrumental_effect`
                   the outcome only through it, given covariates
ID algorithm       the distribution ``P(y | do(x))`` is a function of the      :func:`id_effect` (discrete
                   observed one at all (Shpitser & Pearl 2006; complete), on   columns)
                   the latent projection of the DAG
=================  ==========================================================  =================================

The first three are the graphical criteria the estimators use; the ID algorithm is the complete answer for
nonparametric identification: when it fails no estimator can succeed without more assumptions (instruments add
one: linearity), and when it succeeds without the others the estimand is a formula this library evaluates only on
discrete data (frequency tables).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from latentscm.effects.adjustment import (
    NoAdjustmentSetError,
    _names,
    _pair,
    minimal_adjustment_set,
    optimal_adjustment_set,
)
from latentscm.effects.front_door import NoFrontDoorSetError, front_door_set
from latentscm.effects.instrument import InstrumentSet, NoInstrumentError, instrument_set
from latentscm.graph import CausalGraph

__all__ = ["Identification", "identify_effect"]


@dataclass(frozen=True)
class Identification:
    """The routes into the effect of ``treatment`` on ``outcome`` (None where a route is closed).

    Attributes
    ----------
    treatment, outcome, hidden:
        Names; ``hidden`` are the graph's nodes without data.
    adjustment, minimal_adjustment:
        A valid adjustment set (the optimal one when it holds no hidden node, else the minimal one) and a minimal
        one, or None when no set of observed nodes is valid.
    optimal:
        Whether ``adjustment`` is the optimal set (Henckel, Perković & Maathuis 2022).
    front_door:
        A minimal front-door set of mediators, or None.
    instruments:
        An :class:`~latentscm.effects.InstrumentSet` (linear models only), or None.
    estimand:
        The ID algorithm's formula for ``P(outcome | do(treatment))`` on the latent projection, or None when the
        effect is not identifiable nonparametrically.
    """

    treatment: str
    outcome: str
    hidden: tuple[str, ...]
    adjustment: tuple[str, ...] | None
    minimal_adjustment: tuple[str, ...] | None
    optimal: bool
    front_door: tuple[str, ...] | None
    instruments: InstrumentSet | None
    estimand: str | None

    @property
    def routes(self) -> list[str]:
        """The open routes, in the order the estimators are tried: ``"adjustment"``, ``"front door"``,
        ``"instruments"``, ``"ID algorithm"``."""
        named = (("adjustment", self.adjustment), ("front door", self.front_door),
                 ("instruments", self.instruments), ("ID algorithm", self.estimand))
        return [name for name, value in named if value is not None]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field and the open routes."""
        return {"treatment": self.treatment, "outcome": self.outcome, "hidden": list(self.hidden),
                "adjustment": None if self.adjustment is None else list(self.adjustment),
                "minimal_adjustment": None if self.minimal_adjustment is None else list(self.minimal_adjustment),
                "optimal": self.optimal,
                "front_door": None if self.front_door is None else list(self.front_door),
                "instruments": None if self.instruments is None else {
                    "instruments": list(self.instruments.instruments),
                    "covariates": list(self.instruments.covariates)},
                "estimand": self.estimand, "routes": self.routes}

    def __str__(self) -> str:
        t, y = self.treatment, self.outcome
        call = f"(data, graph, {t!r}, {y!r})"
        hidden = f" (hidden: {', '.join(self.hidden)})" if self.hidden else " (no hidden nodes)"
        lines = [f"The effect of {t} on {y}{hidden}:"]
        if self.adjustment is None:
            lines.append("  adjustment:   none: every set of observed nodes leaves a non-causal path open")
        else:
            shown = ", ".join(self.adjustment) or "(nothing)"
            small = ", ".join(self.minimal_adjustment or ()) or "(nothing)"
            if self.optimal:
                lines.append(f"  adjustment:   optimal {shown}; minimal {small}  ->  estimate_effect{call}")
            else:
                lines.append(f"  adjustment:   minimal {small} (the optimal set holds hidden nodes)  ->  "
                             f"estimate_effect(data, graph, {t!r}, {y!r}, adjustment='minimal')")
        lines.append("  front door:   none" if self.front_door is None else
                     f"  front door:   mediators {', '.join(self.front_door)}  ->  front_door_effect{call}")
        if self.instruments is None:
            lines.append("  instruments:  none")
        else:
            given = self.instruments.covariates
            lines.append(f"  instruments:  {', '.join(self.instruments.instruments)}"
                         + (f" given {', '.join(given)}" if given else "")
                         + f" (a linear model)  ->  instrumental_effect{call}")
        lines.append("  ID algorithm: not identifiable from the observed distribution (a hedge)" if self.estimand
                     is None else f"  ID algorithm: P({y} | do({t})) = {self.estimand}  ->  id_effect{call} "
                     f"(discrete columns)")
        return "\n".join(lines)


def identify_effect(graph: CausalGraph, treatment: str, outcome: str, *,
                    observed: Iterable[str] | None = None) -> Identification:
    """Which routes identify the total effect of ``treatment`` on ``outcome`` in ``graph`` (a DAG) when only
    ``observed`` nodes have data (default: every node); see the module docstring."""
    from latentscm.scm.id_algorithm import NonIdentifiableError, SemiMarkovianGraph, identify

    owner = "identify_effect"
    if not isinstance(graph, CausalGraph):
        raise TypeError(f"The 'graph' argument of {owner} must be a CausalGraph (a DAG). Got {type(graph).__name__}.")
    x, y = _pair(graph, treatment, outcome, owner)
    if len(x) != 1 or len(y) != 1:
        raise ValueError(f"{owner} takes one treatment and one outcome (names). Got {treatment!r} and {outcome!r}.")
    seen = frozenset(graph.nodes) if observed is None else _names(graph, observed, "observed", owner, empty=True)
    missing = sorted((x | y) - seen)
    if missing:
        raise ValueError(f"The 'observed' argument of {owner} leaves out {missing}; the treatment and the outcome "
                         f"must be observed.")
    t, o = next(iter(x)), next(iter(y))
    hidden = tuple(v for v in graph.nodes if v not in seen)
    optimal = False
    try:
        adjustment = minimal = minimal_adjustment_set(graph, t, o, observed=sorted(seen))
    except NoAdjustmentSetError:
        adjustment = minimal = None
    else:
        try:  # the optimal set exists whenever a valid one does, but it can hold hidden nodes
            adjustment, optimal = optimal_adjustment_set(graph, t, o, observed=sorted(seen)), True
        except NoAdjustmentSetError:
            pass
    try:
        mediators = front_door_set(graph, t, o, observed=sorted(seen))
    except NoFrontDoorSetError:
        mediators = None
    try:
        instruments = instrument_set(graph, t, o, observed=sorted(seen))
    except NoInstrumentError:
        instruments = None
    projected = SemiMarkovianGraph.from_dag(graph, hidden) if hidden else SemiMarkovianGraph(graph)
    try:
        estimand = str(identify(projected, y=o, do=t))
    except NonIdentifiableError:
        estimand = None
    return Identification(treatment=t, outcome=o, hidden=hidden, adjustment=adjustment, minimal_adjustment=minimal,
                          optimal=optimal, front_door=mediators, instruments=instruments, estimand=estimand)
