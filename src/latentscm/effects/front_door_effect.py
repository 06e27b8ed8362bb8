"""``front_door_effect``: the average causal effect through a front-door set of mediators, when hidden
confounders leave no adjustment set.

With mediators ``M`` that satisfy the front-door criterion (:mod:`latentscm.effects.front_door`; Pearl,
Biometrika 1995), ``E[Y | do(T = t)] = ψ(t) = E[ν(M) | T = t]`` with ``ν(m) = E_{T'}[μ(T', m)]`` and
``μ(t', m) = E[Y | T = t', M = m]``: how the treatment moves the mediators, times how the mediators move the
outcome at the treatment's observed distribution. Two estimators:

==============  =========================================================  ==============================
method          how                                                        consistent when
==============  =========================================================  ==============================
``regression``  the plug-in: fit ``μ``, average it over ``T'``, then       ``μ`` is right (and, for a
                average ``ν(M)`` within each treatment arm (a regression   non-discrete treatment, the
                of ``ν(M)`` on ``T`` for a continuous treatment); the      regression of ``ν(M)`` on
                seeded bootstrap's standard error                          ``T``)
``aipw``        binary treatment: the one-step estimator of the efficient  ``μ`` or the propensity
                influence function (Fulcher, Shpitser, Marealle &          ``P(T | M)`` is right
                Tchetgen Tchetgen, JRSS-B 2020, §3), cross-fitted
==============  =========================================================  ==============================

With a linear ``μ`` and a linear second stage the plug-in is the product-of-coefficients estimate (the slope
of ``M`` on ``T`` times the slope of ``Y`` on ``M`` given ``T``). The one-step estimator adds to the plug-in
the mean of ``r(M, T) (Y - μ(T, M))`` with ``r = p(M | t) / p(M | T) = P(t | M) P(T) / (P(t) P(T | M))``
(Bayes), so only a classifier of ``T`` on ``M`` is needed, never a density of ``M``; ``P(M | t)`` is the
empirical distribution of the mediators in arm ``t``. Its standard error is the influence function's.

**Covariates** ``W`` (the conditional front door) enter every term: ``ψ(t) = E_W E[ν(M, W) | T = t, W]`` with
``ν(m, w) = Σ_t' μ(t', m, w) P(t' | w)``. The plug-in then needs ``P(T | W)`` (a classifier, so a binary treatment)
and a regression of ``ν`` on ``W`` within each arm; for a treatment with more values it is the linear product of
coefficients (``M ~ T + W``, ``Y ~ T + M + W``). The one-step estimator's ratio becomes
``[P(t | M, W) / P(t | W)] / [P(T | M, W) / P(T | W)]``, and ``E[μ(t', M, W) | t, W]`` is an out-of-fold
regression on ``W`` within arm ``t``. A discrete treatment is bootstrapped within each of its values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_choice
from latentscm.effects.estimate import _contrast, as_causal_dag, checked_columns, checked_options
from latentscm.effects.front_door import FRONT_DOORS, front_door_set, is_front_door_set
from latentscm.effects.nuisance import (
    cross_fit_propensity,
    cross_fit_regression,
    fold_labels,
    make_classifier,
    make_regressor,
)
from latentscm.effects.result import EffectEstimate, finite, normal_interval
from latentscm.effects.weighting import truncate_propensity

__all__ = ["FRONT_DOOR_METHODS", "front_door_effect"]

#: The estimators of :func:`front_door_effect`; ``"auto"`` picks ``aipw`` for a treatment with two values and
#: ``regression`` otherwise.
FRONT_DOOR_METHODS = ("auto", "regression", "aipw")

_OWNER = "front_door_effect"
#: A treatment with at most this many values is averaged over exactly; a finer one over this many quantiles.
_GRID = 100


def _treatment_grid(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values (g,) and weights (g,) summing to 1 that stand for the observed distribution of ``t``."""
    levels, counts = np.unique(t, return_counts=True)
    if levels.size <= _GRID:
        return levels, counts / t.shape[0]
    return np.quantile(t, (np.arange(_GRID) + 0.5) / _GRID), np.full(_GRID, 1.0 / _GRID)


def _fit_predict(target: np.ndarray, features: np.ndarray, rows: np.ndarray, learner: Any, seed: int) -> np.ndarray:
    """``E[target | features]`` fitted on ``rows`` (a mask) and predicted at every row; the mean with no features."""
    if features.shape[1] == 0:
        return np.full(target.shape[0], float(np.mean(target[rows])))
    model = make_regressor(learner, seed, "outcome_learner", _OWNER).fit(features[rows], target[rows])
    return model.predict(features)


def _propensity(treated: np.ndarray, features: np.ndarray, learner: Any, seed: int) -> np.ndarray:
    """``P(treated | features)`` fitted on every row; the share treated with no features."""
    if features.shape[1] == 0:
        return np.full(treated.shape[0], float(np.mean(treated)))
    model = make_classifier(learner, seed, "treatment_learner", _OWNER).fit(features, treated.astype(np.int64))
    return model.predict_proba(features)[:, list(model.classes_).index(1)]


def _plug_in(y: np.ndarray, t: np.ndarray, m: np.ndarray, w: np.ndarray, contrast: tuple[float, float],
             outcome_learner: Any, treatment_learner: Any, seed: int) -> float:
    """``ψ(t1) - ψ(t0)`` by the plug-in (see the module docstring); ``w`` (n, k) are the covariates."""
    linear = isinstance(outcome_learner, str) and outcome_learner == "linear"
    levels = np.unique(t)
    if w.shape[1] and levels.size != 2:  # E_{T' | w} needs a conditional density: linear models only
        ones = np.ones((t.shape[0], 1))
        slopes = np.linalg.lstsq(np.column_stack([ones, t, w]), m, rcond=None)[0][1]  # (j,): T -> M_j given W
        effects = np.linalg.lstsq(np.column_stack([ones, t, m, w]), y, rcond=None)[0][2:2 + m.shape[1]]
        return float(slopes @ effects * (contrast[1] - contrast[0]))
    model = make_regressor(outcome_learner, seed, "outcome_learner", _OWNER).fit(np.column_stack([t, m, w]), y)

    def mu(value: float | np.ndarray) -> np.ndarray:
        return model.predict(np.column_stack([np.broadcast_to(value, t.shape), m, w]))

    if w.shape[1]:  # a binary treatment: ν(m, w) = Σ_t' μ(t', m, w) P(t' | w), then E_W E[ν | t, W]
        low, high = (float(v) for v in levels)
        share = _propensity(t == high, w, treatment_learner, seed)
        nu = share * mu(high) + (1.0 - share) * mu(low)
        arms = [float(np.mean(_fit_predict(nu, w, t == c, outcome_learner, seed))) for c in contrast]
        return arms[1] - arms[0]
    values, weights = _treatment_grid(t)
    if linear:  # μ is linear in t': its average is μ at the mean
        values, weights = np.array([float(np.mean(t))]), np.ones(1)
    nu = sum(weight * mu(value) for value, weight in zip(values, weights))
    if all(np.any(t == c) for c in contrast) and levels.size <= _GRID:
        return float(np.mean(nu[t == contrast[1]]) - np.mean(nu[t == contrast[0]]))
    second = make_regressor(outcome_learner, seed, "outcome_learner", _OWNER).fit(t[:, None], nu)
    at = second.predict(np.array(contrast, dtype=float)[:, None])
    return float(at[1] - at[0])


def _regression(y: np.ndarray, t: np.ndarray, m: np.ndarray, w: np.ndarray, contrast: tuple[float, float],
                outcome_learner: Any, treatment_learner: Any, n_bootstrap: int, seed: int
                ) -> tuple[float, float, dict[str, Any]]:
    if w.shape[1] and np.unique(t).size != 2 and not (isinstance(outcome_learner, str)
                                                       and outcome_learner == "linear"):
        raise ValueError(f"{_OWNER}: with covariates and a treatment that takes more than two values, "
                         f"method='regression' needs outcome_learner='linear' (averaging over P(t' | w) needs a "
                         f"conditional density otherwise). Got {outcome_learner!r}.")
    estimate = finite(_plug_in(y, t, m, w, contrast, outcome_learner, treatment_learner, seed), "effect", _OWNER)
    rng = as_generator(seed)
    levels, first, level_of = np.unique(t, return_index=True, return_inverse=True)
    order = np.argsort(first)  # strata in order of first appearance: the draws do not depend on how t is coded
    strata = [np.flatnonzero(level_of == k) for k in order] if levels.size <= _GRID else None
    draws = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        # A discrete treatment is resampled within each of its values, so every draw keeps every arm (and takes
        # the same branch of _plug_in as the estimate); a continuous one is resampled whole.
        rows = (rng.integers(0, y.shape[0], size=y.shape[0]) if strata is None else
                np.concatenate([rng.choice(stratum, size=stratum.size) for stratum in strata]))
        draws[b] = _plug_in(y[rows], t[rows], m[rows], w[rows], contrast, outcome_learner, treatment_learner, seed)
    std_error = finite(np.std(draws, ddof=1), "bootstrap standard error", _OWNER)
    names = [v if isinstance(v, str) else type(v).__name__ for v in (outcome_learner, treatment_learner)]
    kind = "stratified by treatment value" if strata is not None else "rows"
    info = {"outcome_learner": names[0], "std_error": f"bootstrap ({n_bootstrap} draws, {kind})"}
    if w.shape[1] and np.unique(t).size == 2:
        info["treatment_learner"] = names[1]
    return estimate, std_error, info


def _given_w(target: np.ndarray, w: np.ndarray, folds: np.ndarray, rows: np.ndarray, learner: Any, seed: int
             ) -> np.ndarray:
    """Out-of-fold ``E[target | W, rows]`` (n,); with no covariates the mean over ``rows``."""
    if w.shape[1] == 0:
        return np.full(target.shape[0], float(np.mean(target[rows])))
    return cross_fit_regression(target, w, folds, learner, rows=rows, seed=seed, name="outcome_learner",
                                owner=_OWNER)[0]


def _one_step(y: np.ndarray, treated: np.ndarray, m: np.ndarray, w: np.ndarray, folds: np.ndarray,
              outcome_learner: Any, treatment_learner: Any, trim: float, seed: int
              ) -> tuple[float, float, dict[str, Any]]:
    """The cross-fitted one-step estimator of ``ψ(1) - ψ(0)`` for a binary treatment (``treated`` (n,) bool),
    mediators ``m`` (n, j) and covariates ``w`` (n, k), k >= 0 (Fulcher et al. 2020, the efficient influence
    function of the generalised front-door functional)."""
    a = treated.astype(float)
    features = np.column_stack([a, m, w])
    ones, zeros = np.column_stack([np.ones_like(a), m, w]), np.column_stack([np.zeros_like(a), m, w])
    mu1, mu0, mu_obs = cross_fit_regression(y, features, folds, outcome_learner, seed=seed, name="outcome_learner",
                                            owner=_OWNER, predict_at=[ones, zeros, features])
    raw = cross_fit_propensity(treated, np.column_stack([m, w]), folds, treatment_learner, seed=seed,
                               name="treatment_learner", owner=_OWNER)
    pi_mw, n_trimmed = truncate_propensity(raw, trim, _OWNER)  # P(T = 1 | M, W)
    if w.shape[1]:
        pi_w, _ = truncate_propensity(cross_fit_propensity(treated, w, folds, treatment_learner, seed=seed,
                                                           name="treatment_learner", owner=_OWNER), trim, _OWNER)
    else:
        pi_w = np.full(a.shape[0], float(np.mean(a)))  # P(T = 1 | W)
    eta = pi_w * mu1 + (1.0 - pi_w) * mu0  # ν(M_i, W_i) = Σ_t' μ(t', M_i, W_i) P(t' | W_i)
    odds_observed = np.where(treated, pi_mw / pi_w, (1.0 - pi_mw) / (1.0 - pi_w))  # p(T_i | M, W) / p(T_i | W)
    scores, plug = [], []
    for arm, p_arm, pi_arm in ((treated, pi_w, pi_mw), (~treated, 1.0 - pi_w, 1.0 - pi_mw)):
        xi1 = _given_w(mu1, w, folds, arm, outcome_learner, seed)  # E[μ(1, M, W) | arm, W]
        xi0 = _given_w(mu0, w, folds, arm, outcome_learner, seed)
        theta = pi_w * xi1 + (1.0 - pi_w) * xi0  # E[ν(M, W) | arm, W]
        ratio = (pi_arm / p_arm) / odds_observed  # p(M_i | arm, W_i) / p(M_i | T_i, W_i)
        scores.append(arm / p_arm * (eta - theta) + ratio * (y - mu_obs) + np.where(treated, xi1, xi0))
        plug.append(float(np.mean(theta)))
    difference = scores[0] - scores[1]
    estimate = finite(np.mean(difference), "effect", _OWNER)
    std_error = finite(np.sqrt(np.mean((difference - estimate) ** 2) / y.shape[0]), "standard error", _OWNER)
    names = [v if isinstance(v, str) else type(v).__name__ for v in (outcome_learner, treatment_learner)]
    return estimate, std_error, {"outcome_learner": names[0], "treatment_learner": names[1], "trim": trim,
                                 "n_trimmed": n_trimmed, "n_folds": int(np.unique(folds).size),
                                 "plug_in": plug[0] - plug[1],
                                 "propensity_range": [float(raw.min()), float(raw.max())],
                                 "std_error": "influence function (efficient score)"}


def _check_rank(t: np.ndarray, m: np.ndarray, w: np.ndarray, mediators: Sequence[str], covariates: Sequence[str]
                ) -> None:
    """Refuse mediators that are a linear function of the treatment (and covariates): then ``P(t | m, w)`` is 0 or 1,
    ``μ(t', m, w)`` is never seen for ``t'`` other than the observed one, and the effect is not identified."""
    design = np.column_stack([np.ones_like(t), t, m, w])
    scale = np.linalg.norm(design, axis=0)
    scale[scale == 0] = 1.0
    rank = np.linalg.matrix_rank(design / scale)
    if rank < design.shape[1]:
        raise ValueError(f"{_OWNER}: the treatment, the mediators {list(mediators)} and the covariates "
                         f"{list(covariates)} are collinear (rank {rank} < {design.shape[1]}): a mediator fixed by the "
                         f"treatment leaves no overlap (positivity fails), and the front-door effect is not identified "
                         f"from these data.")


def _covariate_names(graph: Any, treatment: str, outcome: str, covariates: Any, observed: list[str]
                     ) -> tuple[str, ...]:
    from latentscm.effects.adjustment import _names

    chosen = _names(graph, () if covariates is None else covariates, "covariates", _OWNER, empty=True)
    hidden = sorted(chosen - set(observed))
    if hidden:
        raise ValueError(f"The 'covariates' argument of {_OWNER} names {hidden}, which are not columns of the data.")
    return tuple(v for v in graph.nodes if v in chosen)


def _mediators(graph: Any, treatment: str, outcome: str, mediators: Any, covariates: tuple[str, ...],
               observed: list[str]) -> tuple[str, ...]:
    if mediators is None or mediators in FRONT_DOORS:
        kind = "minimal" if mediators is None else mediators
        return front_door_set(graph, treatment, outcome, kind, observed=observed, covariates=covariates)
    if isinstance(mediators, str) and mediators not in graph.nodes:
        raise ValueError(f"The 'mediators' argument of {_OWNER} must be 'minimal', 'maximal', a column name or a "
                         f"list of column names. Got {mediators!r}.")
    from latentscm.effects.adjustment import _names

    chosen = _names(graph, mediators, "mediators", _OWNER)
    hidden = sorted(chosen - set(observed))
    if hidden:
        raise ValueError(f"The 'mediators' argument of {_OWNER} names {hidden}, which are not columns of the data.")
    if {treatment, outcome} & chosen:
        raise ValueError(f"The 'mediators' argument of {_OWNER} holds the treatment or the outcome "
                         f"({sorted({treatment, outcome} & chosen)}).")
    if chosen & set(covariates):
        raise ValueError(f"The 'mediators' and 'covariates' arguments of {_OWNER} share "
                         f"{sorted(chosen & set(covariates))}.")
    if not is_front_door_set(graph, treatment, outcome, sorted(chosen), covariates):
        given = f" given the covariates {list(covariates)}" if covariates else ""
        raise ValueError(f"The 'mediators' argument of {_OWNER}: {sorted(chosen)} does not satisfy the front-door "
                         f"criterion for the effect of {treatment!r} on {outcome!r} in this graph{given} (it misses a "
                         f"causal path, has a back-door path from the treatment, or one to the outcome that the "
                         f"treatment does not block). Pass mediators='minimal' to let the graph choose.")
    return tuple(v for v in graph.nodes if v in chosen)


def front_door_effect(data: Any, graph: Any, treatment: str, outcome: str, *,
                      mediators: str | Sequence[str] | None = None, covariates: Sequence[str] | None = (),
                      method: str = "auto",
                      contrast: Sequence[float] | None = None, level: float = 0.95, outcome_learner: Any = "linear",
                      treatment_learner: Any = "linear", n_folds: int = 5, trim: float = 0.01,
                      n_bootstrap: int = 100, seed: int = 0, node_names: Sequence[str] | None = None
                      ) -> EffectEstimate:
    """``E[outcome | do(treatment = t1)] - E[outcome | do(treatment = t0)]`` through front-door mediators.

    Parameters
    ----------
    data:
        (n, d) array with ``node_names``, a mapping ``name -> (n,)`` or a pandas DataFrame. Every column must be a
        node of ``graph``.
    graph:
        The causal DAG (:class:`~latentscm.graph.CausalGraph`, fully directed ``DiscoveredGraph`` or text). Its
        nodes that are not columns are hidden variables, e.g. a confounder of the treatment and the outcome.
    treatment, outcome:
        Column names.
    mediators:
        ``"minimal"`` (default: a front-door set with no front-door set strictly inside it), ``"maximal"`` (the
        largest one), or a column name or list of columns, checked against the graph (a set that is not a
        front-door set is refused).
    covariates:
        Observed pre-treatment columns to condition on (the conditional front-door criterion), for mediators whose
        confounding with the treatment or the outcome runs through them. Default: none.
    method:
        One of :data:`FRONT_DOOR_METHODS` (see the module docstring).
    contrast, level, outcome_learner, treatment_learner, n_folds, trim, n_bootstrap, seed:
        As in :func:`~latentscm.effects.estimate_effect`. ``outcome_learner`` fits ``E[Y | T, M, W]`` (and the
        second-stage regressions on ``T`` or ``W``); ``treatment_learner`` fits the classifiers ``P(T | M, W)`` of
        ``aipw`` and ``P(T | W)`` (with covariates). With covariates, a treatment taking more than two values needs
        the ``linear`` outcome learner.

    Returns
    -------
    EffectEstimate
        ``adjustment_set`` is empty; ``info["mediators"]`` names the front-door set and ``info["identification"]``
        is ``"front-door"``.
    """
    dag = as_causal_dag(graph, _OWNER)
    column = checked_columns(data, node_names, dag.nodes, treatment, outcome, _OWNER)
    check_choice(method, "method", _OWNER, FRONT_DOOR_METHODS)
    level, n_folds, trim, n_bootstrap, seed = checked_options(level, n_folds, trim, n_bootstrap, seed, _OWNER)
    given = _covariate_names(dag, treatment, outcome, covariates, list(column))
    chosen = _mediators(dag, treatment, outcome, mediators, given, list(column))
    t, y = column[treatment], column[outcome]
    m = np.column_stack([column[v] for v in chosen])
    w = np.column_stack([column[v] for v in given]) if given else np.zeros((t.shape[0], 0))
    binary = np.unique(t).size == 2
    if method == "auto":
        method = "aipw" if binary else "regression"
    t0, t1 = _contrast(t, contrast, method == "aipw" or (binary and bool(given)), method, _OWNER,
                       alternatives="method='regression'")
    _check_rank(t, m, w, chosen, given)
    if method == "aipw":
        if t.shape[0] < 2 * n_folds:
            raise ValueError(f"The 'data' argument of {_OWNER} has {t.shape[0]} rows, too few for "
                             f"n_folds={n_folds}.")
        folds = fold_labels(t.shape[0], n_folds, seed)
        estimate, std_error, info = _one_step(y, t == t1, m, w, folds, outcome_learner, treatment_learner, trim,
                                              seed)
    else:
        estimate, std_error, info = _regression(y, t, m, w, (t0, t1), outcome_learner, treatment_learner,
                                                n_bootstrap, seed)
    low, high = normal_interval(estimate, std_error, level)
    hidden = [v for v in dag.nodes if v not in column]
    kind = mediators if isinstance(mediators, str) else ("minimal" if mediators is None else "given")
    return EffectEstimate(estimate=estimate, std_error=std_error, ci_low=low, ci_high=high, level=level,
                          method=method, treatment=treatment, outcome=outcome, contrast=(t0, t1), adjustment_set=(),
                          n=int(t.shape[0]), info={**info, "seed": seed, "identification": "front-door",
                                                   "mediators": list(chosen), "mediator_set": kind,
                                                   "covariates": list(given),
                                                   "hidden": hidden})
