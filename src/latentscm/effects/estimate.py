"""``estimate_effect``: the average causal effect of one variable on another, from data and a causal graph.

The graph (a DAG, a CPDAG or a PAG) says which covariates to adjust for (:mod:`latentscm.effects.adjustment`,
:mod:`~latentscm.effects.cpdag_adjustment`, :mod:`~latentscm.effects.pag_adjustment`), and the data give the
number, by one of four estimators:

==============  ============================================  ==========================================
method          treatment                                     consistent when
==============  ============================================  ==========================================
``regression``  any (the g-formula plug-in)                   the outcome model is right
``ipw``         binary (normalised inverse propensity)        the propensity model is right
``aipw``        binary (cross-fitted, doubly robust)          either is right (√n when both converge)
``dml``         any (cross-fitted, partially linear)          ``T`` enters ``Y`` linearly
==============  ============================================  ==========================================

Graph nodes that are not columns of the data are hidden variables: they are never adjusted for, and an
effect that only they could deconfound is refused (:class:`~latentscm.effects.NoAdjustmentSetError`, which names
a front-door set when one identifies the effect: :func:`~latentscm.effects.front_door_effect`). A PAG
(what FCI returns) allows any number of hidden variables outside the graph: its effect is estimated only when
every DAG of its class gives the same adjustment formula.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.effects.adjustment import (
    ADJUSTMENTS,
    NoAdjustmentSetError,
    _names,
    adjustment_set,
    is_adjustment_set,
)
from latentscm.effects.doubly_robust import aipw_effect
from latentscm.effects.nuisance import fold_labels
from latentscm.effects.partially_linear import dml_effect
from latentscm.effects.regression import regression_effect
from latentscm.effects.result import EffectEstimate, normal_interval
from latentscm.effects.weighting import ipw_effect
from latentscm.graph import CausalGraph

__all__ = ["EFFECT_METHODS", "BINARY_METHODS", "estimate_effect", "as_causal_dag", "checked_columns", "checked_options",
           "run_estimator"]

#: The estimators of :func:`estimate_effect`; ``"auto"`` picks ``aipw`` for a treatment with two values
#: and ``dml`` otherwise.
EFFECT_METHODS = ("auto", "regression", "ipw", "aipw", "dml")
#: The estimators that need a treatment with exactly two values.
BINARY_METHODS = ("ipw", "aipw")

_OWNER = "estimate_effect"


def as_causal_dag(graph: Any, owner: str) -> CausalGraph:
    """``graph`` as a :class:`CausalGraph`: a CausalGraph, a fully directed ``DiscoveredGraph``, or text
    (``"Z -> T; Z -> Y; T -> Y"``)."""
    from latentscm.discovery.result import DiscoveredGraph

    if isinstance(graph, CausalGraph):
        return graph
    if isinstance(graph, DiscoveredGraph):
        if not graph.is_fully_directed():
            raise ValueError(f"The 'graph' argument of {owner} is a partially directed graph (undirected edges "
                             f"{graph.undirected_edges[:5]}); adjustment needs a DAG. Orient it (background "
                             f"knowledge), or use ida() (command line: --ida) for the possible effects over its "
                             f"equivalence class.")
        return graph.to_causal_graph()
    if isinstance(graph, str):
        return CausalGraph.from_text(graph)
    raise TypeError(f"The 'graph' argument of {owner} must be a CausalGraph, a fully directed DiscoveredGraph or "
                    f"graph text. Got {type(graph).__name__}.")


def _contrast(values: np.ndarray, contrast: Any, binary: bool, method: str, owner: str,
              alternatives: str = "method='dml' or 'regression'") -> tuple[float, float]:
    levels = np.unique(values)
    if levels.size < 2:
        raise ValueError(f"The treatment column given to {owner} is constant ({levels[0]:g}); an effect needs "
                         f"rows with different treatment values.")
    if binary and levels.size != 2:
        shown = levels[:6].tolist()
        raise ValueError(f"The treatment column given to {owner} has {levels.size} distinct values "
                         f"({shown}{' ...' if levels.size > 6 else ''}); method={method!r} needs a binary "
                         f"treatment. Use {alternatives}.")
    if contrast is None:
        return (float(levels[0]), float(levels[1])) if levels.size == 2 else (0.0, 1.0)
    if not isinstance(contrast, (Sequence, np.ndarray)) or isinstance(contrast, (str, bytes)) or len(contrast) != 2:
        raise ValueError(f"The 'contrast' argument of {owner} must be two treatment values (t0, t1). "
                         f"Got {contrast!r}.")
    t0, t1 = (float(check_number(v, "contrast", owner)) for v in contrast)
    if t0 == t1:
        raise ValueError(f"The 'contrast' argument of {owner} compares {t0:g} with itself; give two different "
                         f"values.")
    if binary and {t0, t1} != set(levels.tolist()):
        raise ValueError(f"The 'contrast' argument of {owner} is ({t0:g}, {t1:g}) but the treatment takes the "
                         f"values {levels.tolist()}; method={method!r} compares the two values it takes.")
    return t0, t1


def _adjust(graph: CausalGraph, treatment: str, outcome: str, adjustment: Any, observed: list[str],
            owner: str = _OWNER) -> tuple[str, ...]:
    if isinstance(adjustment, str):
        check_choice(adjustment, "adjustment", owner, ADJUSTMENTS)
        return adjustment_set(graph, treatment, outcome, adjustment, observed=observed)
    chosen = _names(graph, adjustment, "adjustment", owner, empty=True)
    hidden = sorted(chosen - set(observed))
    if hidden:
        raise ValueError(f"The 'adjustment' argument of {owner} names {hidden}, which are not columns of the data.")
    if not is_adjustment_set(graph, treatment, outcome, chosen):
        raise ValueError(f"The 'adjustment' argument of {owner}: {sorted(chosen)} is not a valid adjustment set "
                         f"for the effect of {treatment!r} on {outcome!r} in this graph (it opens or leaves open a "
                         f"non-causal path, or holds a descendant of a node on a causal path). Pass "
                         f"adjustment='optimal' to let the graph choose.")
    return tuple(v for v in graph.nodes if v in chosen)


def _with_alternatives(error: NoAdjustmentSetError, dag: CausalGraph, treatment: str, outcome: str,
                      observed: list[str]) -> NoAdjustmentSetError:
    """``error``, naming the front-door set, or else the instrumental set, that identifies the effect when one
    exists."""
    from latentscm.effects.front_door import NoFrontDoorSetError, front_door_set
    from latentscm.effects.instrument import NoInstrumentError, instrument_set

    try:
        mediators = front_door_set(dag, treatment, outcome, observed=observed)
    except NoFrontDoorSetError:
        pass
    else:
        return NoAdjustmentSetError(f"{error} The mediators {list(mediators)} satisfy the front-door criterion: "
                                    f"front_door_effect(data, graph, {treatment!r}, {outcome!r}) estimates the "
                                    f"effect through them (command line: --front-door).")
    from latentscm.scm.id_algorithm import NonIdentifiableError, SemiMarkovianGraph, identify

    routes = []
    try:
        found = instrument_set(dag, treatment, outcome, observed=observed)
    except NoInstrumentError:
        pass
    else:
        given = f" given the covariates {list(found.covariates)}" if found.covariates else ""
        routes.append(f"In a linear model, {list(found.instruments)} are instruments{given}: "
                      f"instrumental_effect(data, graph, {treatment!r}, {outcome!r}) estimates the effect by "
                      f"two-stage least squares (command line: --instrument).")
    hidden = [v for v in dag.nodes if v not in observed]
    try:
        estimand = identify(SemiMarkovianGraph.from_dag(dag, hidden), y=outcome, do=treatment)
    except NonIdentifiableError:
        pass
    else:
        routes.append(f"The ID algorithm identifies it: P({outcome} | do({treatment})) = {estimand}; for discrete "
                      f"columns id_effect(data, graph, {treatment!r}, {outcome!r}) estimates it from that formula.")
    return NoAdjustmentSetError(" ".join([str(error), *routes])) if routes else error


def estimate_effect(data: Any, graph: Any, treatment: str, outcome: str, *, method: str = "auto",
                    adjustment: str | Sequence[str] | None = None, contrast: Sequence[float] | None = None,
                    level: float = 0.95, outcome_learner: Any = "linear", treatment_learner: Any = "linear",
                    n_folds: int = 5, trim: float = 0.01, n_bootstrap: int = 100, seed: int = 0,
                    node_names: Sequence[str] | None = None) -> EffectEstimate:
    """``E[outcome | do(treatment = t1)] - E[outcome | do(treatment = t0)]`` from observational data.

    Parameters
    ----------
    data:
        (n, d) array with ``node_names``, a mapping ``name -> (n,)`` (what ``SCM.sample`` returns) or a
        pandas DataFrame. Every column must be a node of ``graph``.
    graph:
        The causal DAG (:class:`CausalGraph`, fully directed ``DiscoveredGraph`` or text; nodes that are not
        columns are hidden), or a CPDAG (a partially directed ``DiscoveredGraph``, possibly oriented further by
        background knowledge) that identifies the effect (:func:`~latentscm.effects.is_amenable`; every node
        must then be a column), or a PAG (:class:`~latentscm.discovery.PartialAncestralGraph`, e.g. from
        ``fci``) that identifies it (:func:`~latentscm.effects.is_pag_amenable`; every node a column).
    treatment, outcome:
        Column names.
    method:
        One of :data:`EFFECT_METHODS` (see the module docstring).
    adjustment:
        ``"optimal"`` (Henckel et al. 2022), ``"minimal"`` or ``"parents"`` for a DAG or CPDAG;
        ``"canonical"`` (Perković et al. 2018) or ``"minimal"`` for a PAG; or an explicit list of columns,
        which is checked against the graph (an invalid set is refused, not used). Default (None): ``"optimal"``,
        and ``"canonical"`` for a PAG (no optimal set is known there).
    contrast:
        ``(t0, t1)``, in that order (a sequence; an unordered set is refused). Default: the two values of a
        treatment that takes two, in increasing order, for every method; else ``(0, 1)``.
    level:
        Confidence level of the interval, in (0, 1).
    outcome_learner, treatment_learner:
        ``"linear"``, ``"forest"``, ``"boosting"`` or a scikit-learn estimator (a regressor for outcomes and
        for the treatment under ``dml``; a classifier with ``predict_proba`` for propensities).
    n_folds:
        Cross-fitting folds of ``aipw`` and ``dml`` (>= 2).
    trim:
        Propensities are truncated to ``[trim, 1 - trim]`` (``ipw``, ``aipw``).
    n_bootstrap:
        Bootstrap draws for the standard error of ``regression`` with a non-linear learner.
    seed:
        Seeds the folds, the bootstrap and the learners.

    Returns
    -------
    EffectEstimate
    """
    column, chosen, hidden, adjustment = resolve_adjustment(
        data, graph, treatment, outcome, adjustment, node_names,
        check=lambda: check_choice(method, "method", _OWNER, EFFECT_METHODS))
    result = run_estimator(column, treatment, outcome, chosen, method=method, contrast=contrast, level=level,
                           outcome_learner=outcome_learner, treatment_learner=treatment_learner,
                           n_folds=n_folds, trim=trim, n_bootstrap=n_bootstrap, seed=seed, owner=_OWNER)
    result.info.update(adjustment=adjustment if isinstance(adjustment, str) else "given", hidden=hidden)
    return result


def resolve_adjustment(data: Any, graph: Any, treatment: str, outcome: str, adjustment: Any,
                       node_names: Sequence[str] | None, *, check: Callable[[], None] = lambda: None,
                       owner: str = _OWNER) -> tuple[dict[str, np.ndarray], tuple[str, ...], list[str], Any]:
    """What :func:`estimate_effect` adjusts for: ``(columns, chosen, hidden, adjustment)``, the checked data's
    columns ``{name: (n,)}``, the adjustment set the graph justifies (a DAG, CPDAG or PAG; ``adjustment`` as there),
    the DAG's nodes without a column, and the adjustment rule used (its default filled in). ``check`` runs after the
    columns are read and before the graph work (the caller's own option checks, named before a graph error);
    ``owner`` names the caller in error messages."""
    from latentscm.discovery.pag import PartialAncestralGraph
    from latentscm.discovery.result import DiscoveredGraph

    if isinstance(graph, PartialAncestralGraph):
        column = checked_columns(data, node_names, graph.nodes, treatment, outcome, owner)
        check()
        adjustment = "canonical" if adjustment is None else adjustment
        return column, _adjust_pag(graph, treatment, outcome, adjustment, list(column), owner), [], adjustment
    if isinstance(graph, DiscoveredGraph) and not graph.is_fully_directed():
        column = checked_columns(data, node_names, graph.nodes, treatment, outcome, owner)
        check()
        adjustment = "optimal" if adjustment is None else adjustment
        return column, _adjust_cpdag(graph, treatment, outcome, adjustment, list(column), owner), [], adjustment
    dag = as_causal_dag(graph, owner)
    column = checked_columns(data, node_names, dag.nodes, treatment, outcome, owner)
    check()
    adjustment = "optimal" if adjustment is None else adjustment
    try:
        chosen = _adjust(dag, treatment, outcome, adjustment, list(column), owner)
    except NoAdjustmentSetError as error:
        raise _with_alternatives(error, dag, treatment, outcome, list(column)) from None
    return column, chosen, [v for v in dag.nodes if v not in column], adjustment


def _adjust_cpdag(graph: Any, treatment: str, outcome: str, adjustment: Any, observed: list[str],
                  owner: str = _OWNER) -> tuple[str, ...]:
    """The adjustment set of an amenable CPDAG (valid in every DAG of its class)."""
    from latentscm.effects.cpdag_adjustment import cpdag_adjustment_set, is_amenable, is_cpdag_adjustment_set

    missing = [v for v in graph.nodes if v not in observed]
    if missing:
        raise ValueError(f"The 'data' argument of {owner} lacks the CPDAG's nodes {missing}; a CPDAG assumes every "
                         f"variable is observed.")
    if isinstance(adjustment, str):
        check_choice(adjustment, "adjustment", owner, ADJUSTMENTS)
        return cpdag_adjustment_set(graph, treatment, outcome, adjustment)
    items = _names(CausalGraph([], nodes=graph.nodes), adjustment, "adjustment", owner, empty=True)
    if not is_amenable(graph, treatment, outcome):
        return cpdag_adjustment_set(graph, treatment, outcome)  # raises NotAmenableError, naming the remedy
    if not is_cpdag_adjustment_set(graph, treatment, outcome, items):
        raise ValueError(f"The 'adjustment' argument of {owner}: {sorted(items)} is not a valid adjustment set "
                         f"for the effect of {treatment!r} on {outcome!r} in every DAG of this CPDAG's class. Pass "
                         f"adjustment='optimal' to let the graph choose.")
    return tuple(v for v in graph.nodes if v in items)


def _adjust_pag(graph: Any, treatment: str, outcome: str, adjustment: Any, observed: list[str],
                owner: str = _OWNER) -> tuple[str, ...]:
    """The adjustment set of an amenable PAG (valid in every DAG, hidden variables allowed, of its class)."""
    from latentscm.effects.pag_adjustment import (
        PAG_ADJUSTMENTS,
        is_pag_adjustment_set,
        is_pag_amenable,
        pag_adjustment_set,
    )

    missing = [v for v in graph.nodes if v not in observed]
    if missing:
        raise ValueError(f"The 'data' argument of {owner} lacks the PAG's nodes {missing}; a PAG's nodes are the "
                         f"observed variables (hidden ones are outside it).")
    if isinstance(adjustment, str):
        if adjustment in ADJUSTMENTS and adjustment not in PAG_ADJUSTMENTS:
            raise ValueError(f"The 'adjustment' argument of {owner} is {adjustment!r}, which is defined for a DAG "
                             f"or CPDAG; for a PAG use one of {list(PAG_ADJUSTMENTS)} or a list of columns.")
        check_choice(adjustment, "adjustment", owner, PAG_ADJUSTMENTS)
        return pag_adjustment_set(graph, treatment, outcome, adjustment)
    items = _names(CausalGraph([], nodes=graph.nodes), adjustment, "adjustment", owner, empty=True)
    if not is_pag_amenable(graph, treatment, outcome):
        return pag_adjustment_set(graph, treatment, outcome)  # raises NotAmenableError, saying why
    if not is_pag_adjustment_set(graph, treatment, outcome, items):
        raise ValueError(f"The 'adjustment' argument of {owner}: {sorted(items)} is not an adjustment set for the "
                         f"effect of {treatment!r} on {outcome!r} in every DAG of this PAG's class. Pass "
                         f"adjustment='canonical' to let the graph choose.")
    return tuple(v for v in graph.nodes if v in items)


def checked_columns(data: Any, node_names: Sequence[str] | None, nodes: Sequence[str], treatment: Any,
                    outcome: Any, owner: str) -> dict[str, np.ndarray]:
    """The data's columns ``{name: (n,)}``, checked: every column a node of the graph (``nodes``), and the
    treatment and outcome two different columns."""
    from latentscm.discovery.pc import as_data_matrix

    matrix, names = as_data_matrix(data, node_names, owner)
    strangers = [v for v in names if v not in nodes]
    if strangers:
        raise ValueError(f"The 'data' argument of {owner} has columns {strangers} that are not nodes of the graph "
                         f"(its nodes: {list(nodes)}).")
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if not isinstance(name, str) or name not in names:
            raise ValueError(f"The {role!r} argument of {owner} must name a column of the data ({list(names)}). "
                             f"Got {name!r}.")
    if treatment == outcome:
        raise ValueError(f"{owner}: 'treatment' and 'outcome' are both {treatment!r}.")
    return {v: matrix[:, j] for j, v in enumerate(names)}


def checked_options(level: float, n_folds: int, trim: float, n_bootstrap: int, seed: int, owner: str
                    ) -> tuple[float, int, float, int, int]:
    """The estimators' shared options, checked: ``level`` in (0, 1), ``n_folds`` >= 2, ``trim`` in [0, 0.5),
    ``n_bootstrap`` >= 2 and ``seed`` >= 0."""
    return (check_number(level, "level", owner, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False),
            check_number(n_folds, "n_folds", owner, low=2, integer=True),
            check_number(trim, "trim", owner, low=0.0, high=0.5, high_inclusive=False),
            check_number(n_bootstrap, "n_bootstrap", owner, low=2, integer=True),
            check_number(seed, "seed", owner, low=0, integer=True))


def run_estimator(column: dict[str, np.ndarray], treatment: str, outcome: str, chosen: Sequence[str], *,
                  method: str, contrast: Sequence[float] | None, level: float, outcome_learner: Any,
                  treatment_learner: Any, n_folds: int, trim: float, n_bootstrap: int, seed: int,
                  owner: str) -> EffectEstimate:
    """Run ``method`` on checked columns with the adjustment set ``chosen`` (names, already justified by a
    graph); the options are :func:`estimate_effect`'s, checked here."""
    check_choice(method, "method", owner, EFFECT_METHODS)
    level, n_folds, trim, n_bootstrap, seed = checked_options(level, n_folds, trim, n_bootstrap, seed, owner)
    t, y = column[treatment], column[outcome]
    if method == "auto":
        method = "aipw" if np.unique(t).size == 2 else "dml"
    t0, t1 = _contrast(t, contrast, method in BINARY_METHODS, method, owner)
    z = np.column_stack([column[v] for v in chosen]) if chosen else np.zeros((t.shape[0], 0))
    if method in ("aipw", "dml") and t.shape[0] < 2 * n_folds:
        raise ValueError(f"The 'data' argument of {owner} has {t.shape[0]} rows, too few for n_folds={n_folds}.")
    folds = fold_labels(t.shape[0], n_folds, seed)
    if method == "regression":
        estimate, std_error, info = regression_effect(y, t, z, (t0, t1), learner=outcome_learner,
                                                      n_bootstrap=n_bootstrap, seed=seed, owner=owner)
    elif method == "dml":
        estimate, std_error, info = dml_effect(y, t, z, folds, (t0, t1), outcome_learner=outcome_learner,
                                               treatment_learner=treatment_learner, seed=seed, owner=owner)
    else:
        treated = t == t1
        if method == "ipw":
            estimate, std_error, info = ipw_effect(y, treated, z, folds, learner=treatment_learner, trim=trim,
                                                   seed=seed, owner=owner)
        else:
            estimate, std_error, info = aipw_effect(y, treated, z, folds, outcome_learner=outcome_learner,
                                                    treatment_learner=treatment_learner, trim=trim, seed=seed,
                                                    owner=owner)
    low, high = normal_interval(estimate, std_error, level)
    return EffectEstimate(estimate=estimate, std_error=std_error, ci_low=low, ci_high=high, level=level,
                          method=method, treatment=treatment, outcome=outcome, contrast=(t0, t1),
                          adjustment_set=tuple(chosen), n=int(t.shape[0]), info={**info, "seed": seed})
