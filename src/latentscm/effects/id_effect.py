"""``id_effect``: a total effect of discrete variables through the ID algorithm's formula, when hidden confounders
leave no adjustment set or front door but the effect is still identified (the napkin graph, and many more).

The ID algorithm (Shpitser & Pearl 2006; :func:`latentscm.scm.identify`) runs on the latent projection of the DAG
(hidden nodes are those without data) and returns a formula for ``P(y | do(x))`` in terms of the observational
distribution. Here that distribution is the empirical one: the frequencies of the observed discrete columns the
formula reads, plus an optional pseudocount per cell, and ``E[Y | do(t)] = Σ_y y P(y | do(t))`` for the two
treatment values compared. Only those two values' entries must be defined: a quotient by an empty cell that only
other treatment values need (a rare third value) does not block the estimate. The standard error comes from a
seeded bootstrap of the rows (draws in which a needed quotient divides by an empty cell are redrawn, at most as
many again; how many is reported).

When a set of observed nodes is a valid adjustment set, its formula ``Σ_z P(z) E[Y | t, z]`` (the minimal set) is
used instead: the ID algorithm's formula is correct but can condition on more than it needs (all pre-treatment
variables at once), which costs precision and empty cells, not bias. ``info["formula"]`` says which was used.

A plug-in of frequencies needs every cell the formula conditions on to be seen: with more than a few variables or
levels, sparse tables make it noisy or undefined (``pseudocount`` smooths, at the price of a bias towards
uniform), and tables of more than 2**24 cells are refused. It is the estimator of last resort, for effects no
other criterion reaches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.effects.adjustment import NoAdjustmentSetError, minimal_adjustment_set
from latentscm.effects.estimate import _contrast, as_causal_dag, checked_columns
from latentscm.effects.result import EffectEstimate, finite, normal_interval

__all__ = ["id_effect"]

_OWNER = "id_effect"
#: The largest frequency table (cells) the plug-in builds: 2**24 float64 cells are 128 MiB.
_MAX_CELLS = 2 ** 24


def _encode(column: np.ndarray, name: str, max_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values (k,) of ``column`` and each row's index into them (n,)."""
    levels, index = np.unique(column, return_inverse=True)
    if levels.size > max_levels:
        raise ValueError(f"The 'data' argument of {_OWNER}: column {name!r} takes {levels.size} distinct values, more "
                         f"than max_levels={max_levels}; the ID formula is evaluated on frequency tables, so "
                         f"discretise it (or raise max_levels; on the command line --max-levels).")
    return levels, index


def _table(codes: dict[str, np.ndarray], levels: dict[str, np.ndarray], rows: np.ndarray, pseudocount: float
           ) -> np.ndarray:
    """The frequency table of ``rows`` over the variables of ``codes`` (axes in their order), plus the
    pseudocount, normalised."""
    names = list(codes)
    shape = tuple(levels[v].size for v in names)
    flat = np.ravel_multi_index(tuple(codes[v][rows] for v in names), shape)
    counts = np.bincount(flat, minlength=int(np.prod(shape))).astype(float).reshape(shape) + pseudocount
    return counts / counts.sum()


def _mean_effect(formula: Any, codes: dict[str, np.ndarray], levels: dict[str, np.ndarray], rows: np.ndarray,
                 treatment: str, outcome: str, contrast: tuple[int, int], pseudocount: float) -> float:
    """The effect from the frequency table of ``rows`` (indices into the data). ``formula`` is an ID estimand, or
    the adjustment set (a tuple of names, the table's leading axes; then the treatment and the outcome follow).
    Raises :class:`~latentscm.scm.PositivityError` when a needed quotient divides by an empty cell."""
    from latentscm.scm.probability_table import PositivityError, ProbabilityTable

    joint = _table(codes, levels, rows, pseudocount)
    values = levels[outcome].astype(float)
    if isinstance(formula, tuple):  # Σ_z P(z) E[Y | t, z], strata of weight 0 left out
        weight = joint.sum(axis=(-2, -1))
        arms = joint[..., list(contrast), :]  # (..., 2, |Y|)
        mass = arms.sum(axis=-1)
        seen = weight > 0
        if np.any(mass[seen] <= 0):
            raise PositivityError(f"a stratum of {list(formula)} has no row with {treatment} at a compared value",
                                  list(formula), {})
        means = (arms @ values) / np.where(mass > 0, mass, 1.0)
        return float(np.sum(np.where(seen, weight * (means[..., 1] - means[..., 0]), 0.0)))
    names = list(codes)
    table = ProbabilityTable(joint, names, {v: tuple(range(levels[v].size)) for v in names})
    result = formula.evaluate_where_defined(table)[list(contrast)]  # axes (treatment, outcome)
    if not np.all(np.isfinite(result)):
        raise PositivityError(f"the formula divides by an empty cell for {treatment} at a compared value",
                              [treatment], {})
    means = result @ values
    return float(means[1] - means[0])


def id_effect(data: Any, graph: Any, treatment: str, outcome: str, *, contrast: Sequence[float] | None = None,
              level: float = 0.95, pseudocount: float = 0.0, n_bootstrap: int = 200, max_levels: int = 20,
              seed: int = 0, node_names: Sequence[str] | None = None) -> EffectEstimate:
    """``E[outcome | do(treatment = t1)] - E[outcome | do(treatment = t0)]`` by the ID algorithm's formula on the
    empirical distribution of discrete columns (module docstring).

    Parameters
    ----------
    data:
        (n, d) array with ``node_names``, a mapping ``name -> (n,)`` or a pandas DataFrame; every column a node of
        ``graph`` with at most ``max_levels`` distinct values (numbers: the outcome's are averaged).
    graph:
        The causal DAG; its nodes that are not columns are hidden.
    treatment, outcome:
        Column names.
    contrast:
        Two values the treatment takes (default: its two values when binary, else (0, 1)).
    level, n_bootstrap, seed:
        The confidence level, and the seeded bootstrap behind the standard error.
    pseudocount:
        Added to every cell of the frequency table (0: none; a formula that divides by an empty cell is refused).

    Returns
    -------
    EffectEstimate
        ``method="id"``; ``info["estimand"]`` is the ID algorithm's formula, ``info["formula"]`` the one evaluated
        (the adjustment formula when an adjustment set exists), ``info["identification"]`` ``"ID algorithm"``.

    Raises
    ------
    latentscm.scm.NonIdentifiableError
        When no formula exists (a hedge): then only extra assumptions help (see :func:`identify_effect`).
    """
    from latentscm.scm.id_algorithm import SemiMarkovianGraph, identify
    from latentscm.scm.probability_table import PositivityError

    dag = as_causal_dag(graph, _OWNER)
    column = checked_columns(data, node_names, dag.nodes, treatment, outcome, _OWNER)
    level = check_number(level, "level", _OWNER, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    pseudocount = check_number(pseudocount, "pseudocount", _OWNER, low=0.0)
    n_bootstrap = check_number(n_bootstrap, "n_bootstrap", _OWNER, low=2, integer=True)
    max_levels = check_number(max_levels, "max_levels", _OWNER, low=2, integer=True)
    seed = check_number(seed, "seed", _OWNER, low=0, integer=True)
    hidden = [v for v in dag.nodes if v not in column]
    estimand = identify(SemiMarkovianGraph.from_dag(dag, hidden), y=outcome, do=treatment)
    try:
        adjustment = minimal_adjustment_set(dag, treatment, outcome, observed=list(column))
    except NoAdjustmentSetError:
        formula: Any = estimand
        read = set(estimand.variables()) | {treatment, outcome}
        names = [v for v in dag.nodes if v in read]
        shown = str(estimand)
    else:
        formula = tuple(adjustment)
        names = [*adjustment, treatment, outcome]
        given = ",".join(adjustment)
        shown = (f"sum_{{{given}}} P({given}) P({outcome}|{treatment},{given})" if adjustment else
                 f"P({outcome}|{treatment})")
    encoded = {v: _encode(column[v], v, max_levels) for v in names}
    cells = int(np.prod([float(pair[0].size) for pair in encoded.values()]))
    if cells > _MAX_CELLS:
        sizes = {v: int(pair[0].size) for v, pair in encoded.items()}
        raise ValueError(f"{_OWNER}: the frequency table over {sizes} (variables: levels) has {cells:,} cells, more "
                         f"than {_MAX_CELLS:,}; the formula needs every one. Discretise more coarsely or observe fewer "
                         f"variables.")
    levels = {v: pair[0] for v, pair in encoded.items()}
    codes = {v: pair[1] for v, pair in encoded.items()}
    t0, t1 = _contrast(column[treatment], contrast, False, "id", _OWNER)
    positions = []
    for value in (t0, t1):
        where = np.flatnonzero(levels[treatment] == value)
        if where.size == 0:
            raise ValueError(f"The 'contrast' argument of {_OWNER} holds {value:g}, which the treatment never takes "
                             f"(its values: {levels[treatment].tolist()}).")
        positions.append(int(where[0]))
    pair = (positions[0], positions[1])
    n = column[treatment].shape[0]
    try:
        estimate = _mean_effect(formula, codes, levels, np.arange(n), treatment, outcome, pair, pseudocount)
    except PositivityError as error:
        raise ValueError(f"{_OWNER}: the formula {shown} divides by a probability that is zero in these data "
                         f"({error}); give more rows, fewer levels, or a pseudocount (e.g. pseudocount=0.5).") from None
    rng = as_generator(seed)
    draws: list[float] = []
    failed = 0
    while len(draws) < n_bootstrap:
        rows = rng.integers(0, n, size=n)
        try:
            draws.append(_mean_effect(formula, codes, levels, rows, treatment, outcome, pair, pseudocount))
        except (PositivityError, ValueError):
            failed += 1
            if failed > n_bootstrap:
                raise ValueError(f"{_OWNER}: {failed} bootstrap draws left a cell the formula divides by empty; the "
                                 f"table is too sparse for a standard error. Give more rows, fewer levels, or a "
                                 f"pseudocount.") from None
    std_error = finite(np.std(draws, ddof=1), "bootstrap standard error", _OWNER)
    estimate = finite(estimate, "effect", _OWNER)
    low, high = normal_interval(estimate, std_error, level)
    return EffectEstimate(estimate=estimate, std_error=std_error, ci_low=low, ci_high=high, level=level, method="id",
                          treatment=treatment, outcome=outcome, contrast=(t0, t1), adjustment_set=(), n=int(n),
                          info={"identification": "ID algorithm", "estimand": str(estimand), "hidden": hidden,
                                "formula": shown if formula is estimand else f"adjustment for {list(formula)}: {shown}",
                                "variables": names, "levels": {v: levels[v].tolist() for v in names},
                                "pseudocount": pseudocount, "seed": seed,
                                "std_error": f"bootstrap ({n_bootstrap} draws, {failed} redrawn)"})
