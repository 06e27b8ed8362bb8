"""``mediation_analysis``: how much of a treatment's effect goes through given mediators, and how much around them.

The natural effects (Robins & Greenland, Epidemiology 1992; Pearl, UAI 2001) split the total effect of moving the
treatment from ``t0`` to ``t1`` with the nested counterfactual means ``ψ(t, s) = E[Y(t, M(s))]``:

====================  ===============================  ==================================================
effect                contrast                         in words
====================  ===============================  ==================================================
``total``             ψ(t1, t1) − ψ(t0, t0)            the average causal effect
``direct``            ψ(t1, t0) − ψ(t0, t0)            pure natural direct: mediators held at their t0 values
``indirect``          ψ(t1, t1) − ψ(t1, t0)            total natural indirect: only the mediators move
``direct_treated``    ψ(t1, t1) − ψ(t0, t1)            total natural direct: mediators at their t1 values
``indirect_control``  ψ(t0, t1) − ψ(t0, t0)            pure natural indirect
====================  ===============================  ==================================================

so ``total = direct + indirect = direct_treated + indirect_control``; ``proportion_mediated`` is
``indirect / total``. A graph decides the covariates ``W`` under which the mediation formula holds
(:mod:`latentscm.effects.mediation_identification`), and one of two estimators gives the numbers:

``regression``
    The mediation formula with linear models: ``E[Y | t, m, w] = θ0 + θ_T t + θ_M·m + θ_TM·(t m) + θ_W·w`` (the
    treatment–mediator interaction unless ``interaction=False``) and ``E[M_j | s, w] = β0j + β_Tj s + β_Wj·w``.
    The outcome model is linear in ``m`` given ``t`` and ``w``, so only the mediators' conditional means enter and
    any number of mediators, and any treatment (binary or continuous), is handled exactly (VanderWeele &
    Vansteelandt, Stat. Interface 2009; Valeri & VanderWeele, Psychol. Methods 2013, for one mediator; with no
    interaction and no covariates ``indirect`` is Baron & Kenny's product ``θ_M β_T``). Standard errors come from
    the influence function of the plug-in (the delta method over both least-squares fits, heteroskedasticity
    robust), so they are deterministic.
``multiply_robust``
    For a binary treatment, the efficient influence function of ``ψ(t, s)`` (Tchetgen Tchetgen & Shpitser, Ann.
    Stat. 2012), with cross-fitted machine-learned nuisances (Farbmacher, Huber, Lafférs, Langen & Spindler,
    Econometrics J. 2022):

        φ(t, s) = 1[T=t] P(s | M, W) / (P(t | M, W) P(s | W)) · (Y − μ_t(M, W))
                  + 1[T=s] / P(s | W) · (μ_t(M, W) − η_ts(W)) + η_ts(W),

    with ``μ_t(M, W) = E[Y | T=t, M, W]``, ``η_ts(W) = E[μ_t(M, W) | T=s, W]`` (a regression of ``μ_t``'s
    predictions on the ``T = s`` rows, out-of-sample there because ``μ_t`` is fitted on the ``T = t`` rows), and
    the density ratio of the mediators replaced by two propensities (Bayes' rule), so the mediators may be many
    and of any type. The estimate is consistent when any one of three pairs of nuisances is right, and √n-normal
    when all converge faster than ``n^{-1/4}``. For ``t = s`` it is the AIPW score.

Each effect's standard error is that of the difference of the two means' influence functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentscm._validation import check_choice
from latentscm.effects.result import IntervalEstimate, finite, normal_interval

__all__ = ["MEDIATION_METHODS", "MEDIATION_EFFECTS", "MediationEffect", "MediationResult", "mediation_analysis"]

#: The estimators of :func:`mediation_analysis`.
MEDIATION_METHODS = ("regression", "multiply_robust")
#: The effects a :class:`MediationResult` holds, each the difference of two nested means ``(t, s)``.
MEDIATION_EFFECTS = {"total": ((1, 1), (0, 0)), "direct": ((1, 0), (0, 0)), "indirect": ((1, 1), (1, 0)),
                     "direct_treated": ((1, 1), (0, 1)), "indirect_control": ((0, 1), (0, 0))}
_OWNER = "mediation_analysis"


@dataclass(frozen=True)
class MediationEffect(IntervalEstimate):
    """One natural effect (or the proportion mediated): estimate, standard error and the two-sided interval."""


@dataclass(frozen=True)
class MediationResult:
    """The natural direct and indirect effects of ``treatment`` on ``outcome`` through ``mediators``.

    Attributes
    ----------
    effects:
        ``{name: MediationEffect}`` for every name of :data:`MEDIATION_EFFECTS` and ``"proportion_mediated"``
        (``indirect / total``, delta-method interval; NaN when the total effect is 0).
    means:
        ``{"Y(t, M(s))": MediationEffect}``: the four nested counterfactual means, ``t`` and ``s`` the contrast's
        values.
    method, treatment, outcome, mediators, covariates, contrast, level, n:
        How it was estimated: the estimator, names, the covariates ``W`` adjusted for, ``(t0, t1)``, the confidence
        level and the rows used.
    info:
        The covariate rule, hidden nodes, learners, folds, trimming and model coefficients.
    """

    effects: dict[str, MediationEffect]
    means: dict[str, MediationEffect]
    method: str
    treatment: str
    outcome: str
    mediators: tuple[str, ...]
    covariates: tuple[str, ...]
    contrast: tuple[float, float]
    level: float
    n: int
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> MediationEffect:
        if name not in self.effects:
            raise KeyError(f"MediationResult has no effect {name!r}; it has {list(self.effects)}.")
        return self.effects[name]

    @property
    def total(self) -> MediationEffect:
        return self.effects["total"]

    @property
    def direct(self) -> MediationEffect:
        return self.effects["direct"]

    @property
    def indirect(self) -> MediationEffect:
        return self.effects["indirect"]

    @property
    def proportion_mediated(self) -> MediationEffect:
        return self.effects["proportion_mediated"]

    def plot(self, ax: Any = None) -> Any:
        """The effects (all but the proportion mediated) as points with their intervals, on ``ax`` or a new figure;
        returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        names = [k for k in self.effects if k != "proportion_mediated"]
        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 0.45 * len(names) + 1.2))
        rows = np.arange(len(names))[::-1]
        for row, name in zip(rows, names):
            item = self.effects[name]
            ax.plot([item.ci_low, item.ci_high], [row, row], color="0.3", lw=2)
            ax.plot(item.estimate, row, "o", color="black")
        ax.axvline(0.0, color="0.6", lw=0.8)
        ax.set_yticks(rows, names)
        kind = self.info.get("effects", "natural")
        t0, t1 = self.contrast
        ax.set_xlabel(f"{kind} effect of {self.treatment} ({t0:g} -> {t1:g}) on {self.outcome}, "
                      f"{100 * self.level:g}% intervals")
        ax.set_title(f"through {', '.join(self.mediators)}", fontsize=9)
        return ax

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (strict JSON: a NaN proportion becomes null)."""
        from latentscm._io import json_ready

        return json_ready({"effects": {k: v.to_dict() for k, v in self.effects.items()},
                           "means": {k: v.to_dict() for k, v in self.means.items()}, "method": self.method,
                           "treatment": self.treatment, "outcome": self.outcome, "mediators": list(self.mediators),
                           "covariates": list(self.covariates), "contrast": list(self.contrast), "level": self.level,
                           "n": self.n, "info": self.info}, default=_nan_to_none)

    def __str__(self) -> str:
        t0, t1 = self.contrast
        pct = f"{100 * self.level:g}%"
        given = ", ".join(self.covariates) or "(nothing)"
        kind = self.info.get("effects", "natural")
        ell = self.info.get("intermediate_confounders") or []
        ell = f", intermediate confounders {', '.join(ell)}" if ell else ""
        lines = [f"{self.method}: {kind} effects of {self.treatment} ({t0:g} -> {t1:g}) on {self.outcome} through "
                 f"{', '.join(self.mediators)}, adjusting for {given}{ell}; n = {self.n}",
                 f"  {'effect':<20} {'estimate':>10} {'s.e.':>9}   {pct} CI"]
        for name, item in self.effects.items():
            lines.append(f"  {name:<20} {item.estimate:>10.4g} {item.std_error:>9.3g}   "
                         f"[{item.ci_low:.4g}, {item.ci_high:.4g}]")
        return "\n".join(lines)


def mean_label(t: float, s: float) -> str:
    """``"Y(t, M(s))"`` with each value written exactly (no rounding, so different values never share a label)."""
    def text(v: float) -> str:
        return np.format_float_positional(float(v), trim="-")

    return f"Y({text(t)}, M({text(s)}))"


def _nan_to_none(value: Any) -> Any:
    return None if isinstance(value, float) and not np.isfinite(value) else value


def _effect(estimate: float, influence: np.ndarray, level: float, what: str) -> MediationEffect:
    n = influence.shape[0]
    estimate = finite(estimate, what, _OWNER)
    std_error = finite(np.sqrt(np.mean(influence ** 2) / n), f"standard error of the {what}", _OWNER)
    low, high = normal_interval(estimate, std_error, level)
    return MediationEffect(estimate, std_error, low, high)


# ---------------------------------------------------------------------------------------------- regression
def _least_squares(target: np.ndarray, design: np.ndarray, what: str, owner: str = _OWNER,
                   why: str = "a mediator or covariate is a linear function of the others, or constant; drop the "
                              "redundant column") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS of ``target`` (n,) or (n, k) on ``design`` (n, p): ``(coefficients, residuals, (X'X/n)^{-1})``; a
    rank-deficient design is refused, naming ``owner`` and saying ``why``."""
    n, p = design.shape
    if np.linalg.matrix_rank(design) < p:
        raise ValueError(f"{owner}: the {what} design is rank deficient ({why}).")
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return coef, target - design @ coef, np.linalg.inv(design.T @ design / n)


def regression_means(y: np.ndarray, t: np.ndarray, m: np.ndarray, w: np.ndarray, contrast: tuple[float, float], *,
                     interaction: bool = True, intermediate: np.ndarray | None = None,
                     controlled: np.ndarray | None = None
                     ) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], np.ndarray], dict[str, Any]]:
    """The linear mediation formula: ``ψ(t, s)`` for ``t, s`` in the contrast (keys ``(1, 0)`` mean
    ``(t1, t0)``), their influence functions (n,) and the models' coefficients. ``y`` (n,), ``t`` (n,), ``m`` (n, k)
    mediators, ``w`` (n, p) covariates; ``intermediate`` (n, r) holds the intermediate confounders ``L`` of the
    interventional effects, whose means are taken at ``t`` while the mediators' are taken at ``s``. With
    ``controlled`` (k,) mediator values, the keys ``(a, 2)`` hold ``E[Y(t_a, m)]``, the mediators set to them."""
    n = y.shape[0]
    ell = np.zeros((n, 0)) if intermediate is None else intermediate
    blocks = [("mediators", m, 1), ("intermediate", ell, 0)]  # (name, columns, which contrast index sets them)
    blocks = [b for b in blocks if b[1].shape[1]]
    ones = np.ones((n, 1))
    x_sub = np.column_stack([ones, t, w])  # (n, 2 + p): the design of every block's model E[· | T, W]
    fits = {name: _least_squares(cols, x_sub, f"{name} model")[:2] for name, cols, _ in blocks}
    inv_sub = np.linalg.inv(x_sub.T @ x_sub / n)
    mains = [cols for _, cols, _ in blocks]
    parts = [ones, t[:, None], *mains] + ([t[:, None] * c for c in mains] if interaction else []) + [w]
    x_out = np.column_stack(parts)
    why = None
    if interaction and np.linalg.matrix_rank(x_out) < x_out.shape[1]:
        plain = np.column_stack([ones, t[:, None], *mains, w])
        if np.linalg.matrix_rank(plain) == plain.shape[1]:
            why = ("the treatment x mediator (or intermediate confounder) interaction columns add nothing the other "
                   "columns lack, e.g. a binary mediator that never takes one value in one arm; pass "
                   "interaction=False")
    theta, resid_y, inv_y = _least_squares(y, x_out, "outcome model", **({"why": why} if why else {}))
    widths = [c.shape[1] for c in mains]
    cuts = np.cumsum([2] + widths + (widths if interaction else []))
    main_coef = [theta[cuts[i]:cuts[i + 1]] for i in range(len(blocks))]
    if interaction:
        inter_coef = [theta[cuts[len(blocks) + i]:cuts[len(blocks) + i + 1]] for i in range(len(blocks))]
    else:
        inter_coef = [np.zeros(width) for width in widths]
    th_w = theta[cuts[-1]:]
    if_theta = (x_out * resid_y[:, None]) @ inv_y  # (n, p_out): influence of θ
    means, influence = {}, {}
    for a in (0, 1):
        for b in (0, 1) if controlled is None else (0, 1, 2):
            tv = contrast[a]
            f = theta[0] + theta[1] * tv + w @ th_w
            grad_main, grad_inter, extra = [], [], np.zeros(n)
            for (name, _, index), main, inter in zip(blocks, main_coef, inter_coef):
                slope = main + tv * inter  # how f moves with the block's means
                if b == 2 and name == "mediators":  # the controlled direct effect's mediators: fixed values
                    hat = np.broadcast_to(np.asarray(controlled, dtype=float), (n, main.shape[0]))
                else:
                    x_v = np.column_stack([ones, np.full(n, contrast[(a, b)[index]]), w])
                    beta, resid = fits[name]
                    hat = x_v @ beta  # (n, width): E[block | T = value, W_i]
                    extra += (x_sub @ (inv_sub @ x_v.mean(0))) * (resid @ slope)  # the block model's influence
                f = f + hat @ slope
                grad_main.append(hat.mean(0))
                grad_inter.append(tv * hat.mean(0))
            grad_theta = np.concatenate([[1.0, tv], *grad_main, *(grad_inter if interaction else []), w.mean(0)])
            psi = float(f.mean())
            influence[(a, b)] = f - psi + if_theta @ grad_theta + extra
            means[(a, b)] = psi
    models = {name: {"treatment": fits[name][0][1].tolist(), "covariates": fits[name][0][2:].T.tolist()}
              for name, _, _ in blocks}
    info = {"outcome_model": {"intercept": float(theta[0]), "treatment": float(theta[1]),
                              **{name: c.tolist() for (name, _, _), c in zip(blocks, main_coef)},
                              **({f"treatment x {name}": c.tolist() for (name, _, _), c in zip(blocks, inter_coef)}
                                 if interaction else {}),
                              "covariates": th_w.tolist()},
            "mediator_model": models["mediators"], "interaction": interaction,
            "std_error": "influence function (delta method, robust)"}
    if "intermediate" in models:
        info["intermediate_model"] = models["intermediate"]
    return means, influence, info


# ----------------------------------------------------------------------------------------- multiply robust
def multiply_robust_means(y: np.ndarray, treated: np.ndarray, m: np.ndarray, w: np.ndarray, folds: np.ndarray, *,
                          outcome_learner: Any, treatment_learner: Any, trim: float, seed: int
                          ) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], np.ndarray],
                                     dict[str, Any]]:
    """Cross-fitted efficient-influence-function estimates of ``ψ(t, s)`` for a binary treatment (``treated``
    (n,) bool is ``T = t1``): means, influence functions (n,) and nuisance summaries."""
    from latentscm.effects.nuisance import _covariates, make_classifier, make_regressor
    from latentscm.effects.weighting import truncate_propensity

    n = y.shape[0]
    mw = np.column_stack([m, w])
    wc = _covariates(w)
    p, q = np.empty(n), np.empty(n)
    mu = {1: np.empty(n), 0: np.empty(n)}
    g = {1: np.empty(n), 0: np.empty(n)}
    eta = {(1, 0): np.empty(n), (0, 1): np.empty(n)}
    arm = {1: treated, 0: ~treated}
    for fold in np.unique(folds):
        test, train = folds == fold, folds != fold
        for a in (0, 1):
            if (train & arm[a]).sum() < 2:
                name = "treated" if a else "untreated"
                raise ValueError(f"{_OWNER}: fewer than 2 {name} rows outside fold {int(fold)}, so its models cannot "
                                 f"be fitted; give more rows or fewer folds.")
        for target, features in ((p, wc), (q, mw)):
            model = make_classifier(treatment_learner, seed, "treatment_learner", _OWNER)
            model.fit(features[train], treated[train].astype(np.int64))
            target[test] = model.predict_proba(features[test])[:, list(model.classes_).index(1)]
        for a in (0, 1):
            rows = train & arm[a]
            outcome = make_regressor(outcome_learner, seed, "outcome_learner", _OWNER).fit(mw[rows], y[rows])
            mu[a][test] = outcome.predict(mw[test])
            base = make_regressor(outcome_learner, seed, "outcome_learner", _OWNER).fit(wc[rows], y[rows])
            g[a][test] = base.predict(wc[test])
            other = train & arm[1 - a]  # μ_a is out-of-sample on the other arm's rows
            nested = make_regressor(outcome_learner, seed, "outcome_learner", _OWNER)
            nested.fit(wc[other], outcome.predict(mw[other]))
            eta[(a, 1 - a)][test] = nested.predict(wc[test])
    p_raw, q_raw = p, q
    p, trimmed_p = truncate_propensity(p_raw, trim, _OWNER)
    q, trimmed_q = truncate_propensity(q_raw, trim, _OWNER)
    for name, values in (("P(T | W)", p), ("P(T | M, W)", q)):
        if np.any(values <= 0.0) or np.any(values >= 1.0):
            raise ValueError(f"{_OWNER}: the propensity {name} is 0 or 1 for some rows (the learner separates the "
                             f"arms), so the weights are infinite; pass trim > 0 (e.g. 0.01), or a smoother "
                             f"treatment_learner.")
    a1 = treated.astype(float)
    a0 = 1.0 - a1
    scores = {
        (1, 1): g[1] + a1 / p * (y - g[1]),
        (0, 0): g[0] + a0 / (1 - p) * (y - g[0]),
        (1, 0): a1 * (1 - q) / (q * (1 - p)) * (y - mu[1]) + a0 / (1 - p) * (mu[1] - eta[(1, 0)]) + eta[(1, 0)],
        (0, 1): a0 * q / ((1 - q) * p) * (y - mu[0]) + a1 / p * (mu[0] - eta[(0, 1)]) + eta[(0, 1)],
    }
    means = {key: float(np.mean(score)) for key, score in scores.items()}
    influence = {key: score - means[key] for key, score in scores.items()}
    names = [v if isinstance(v, str) else type(v).__name__ for v in (outcome_learner, treatment_learner)]
    info = {"outcome_learner": names[0], "treatment_learner": names[1], "trim": trim,
            "n_trimmed": {"P(T|W)": trimmed_p, "P(T|M,W)": trimmed_q}, "n_folds": int(np.unique(folds).size),
            "propensity_range": [float(p_raw.min()), float(p_raw.max())],
            "mediator_propensity_range": [float(q_raw.min()), float(q_raw.max())],
            "std_error": "influence function (efficient score)"}
    return means, influence, info


# ----------------------------------------------------------------------------------------------- the API
def _resolve(data: Any, graph: Any, treatment: Any, outcome: Any, mediators: Any, covariates: Any,
             intermediates: Any, node_names: Sequence[str] | None, *, owner: str = _OWNER, suggest: bool = True
             ) -> tuple[dict[str, np.ndarray], tuple[str, ...], tuple[str, ...], tuple[str, ...], dict[str, Any]]:
    """The checked columns, the mediators, intermediate confounders and covariates (in data or graph order) and how
    the covariates were chosen. ``owner`` names the caller in errors; ``suggest`` lets a refusal of the natural
    effects suggest intermediate confounders."""
    from latentscm.discovery.pag import PartialAncestralGraph
    from latentscm.discovery.pc import as_data_matrix
    from latentscm.discovery.result import DiscoveredGraph
    from latentscm.effects.estimate import as_causal_dag, checked_columns
    from latentscm.effects.mediation_identification import (
        MEDIATION_COVARIATES,
        NoMediationFormulaError,
        explain_failure,
        intermediate_roles,
        mediation_roles,
        search_covariates,
    )

    given_ell = () if intermediates is None else intermediates
    if graph is None:
        if covariates is None or isinstance(covariates, str) and covariates in MEDIATION_COVARIATES:
            raise ValueError(f"{owner}: without a 'graph', give 'covariates' as a list of columns (your claim that "
                             f"they remove all treatment, mediator and outcome confounding; [] for none). Got "
                             f"{covariates!r}.")
        _, names = as_data_matrix(data, node_names, owner)
        column = checked_columns(data, node_names, names, treatment, outcome, owner)
        m = _listed(mediators, "mediators", column, (treatment, outcome), empty=False, owner=owner)
        ell = _listed(given_ell, "intermediate_confounders", column, (treatment, outcome, *m), empty=True,
                      owner=owner)
        w = _listed(covariates, "covariates", column, (treatment, outcome, *m, *ell), empty=True, owner=owner)
        return column, m, ell, w, {"covariates": "given (no graph)", "hidden": []}
    if isinstance(graph, PartialAncestralGraph) or isinstance(graph, DiscoveredGraph) and \
            not graph.is_fully_directed():
        raise ValueError(f"The 'graph' argument of {owner} must be a DAG: the mediation formula's conditions are "
                         f"checked in one causal graph, not over an equivalence class. Orient the "
                         f"{type(graph).__name__} first (background knowledge), or pass the DAG you assume.")
    dag = as_causal_dag(graph, owner)
    column = checked_columns(data, node_names, dag.nodes, treatment, outcome, owner)
    _, _, m = mediation_roles(dag, treatment, outcome, mediators, owner)
    ell = intermediate_roles(dag, treatment, outcome, m, given_ell, owner)
    for role, names in (("mediators", m), ("intermediate_confounders", ell)):
        missing = [v for v in names if v not in column]
        if missing:
            raise ValueError(f"The {role!r} argument of {owner} names {missing}, which are not columns of the "
                             f"data: they must be observed.")
    hidden = [v for v in dag.nodes if v not in column]
    rule = "minimal" if covariates is None else covariates
    if isinstance(rule, str):
        check_choice(rule, "covariates", owner, MEDIATION_COVARIATES)
        w = search_covariates(dag, treatment, outcome, m, rule, observed=list(column), intermediate_confounders=ell,
                              owner=owner, suggest=suggest)
        return column, m, ell, w, {"covariates": rule, "hidden": hidden}
    w = _listed(covariates, "covariates", column, (treatment, outcome, *m, *ell), empty=True, owner=owner)
    why = explain_failure(dag, treatment, outcome, m, w, ell)
    if why is not None:
        kind = "interventional" if ell else "natural"
        raise NoMediationFormulaError(f"The 'covariates' argument of {owner}: {list(w)} do not identify the {kind} "
                                      f"effects in this graph, since {why}. Pass covariates='minimal' to let the "
                                      f"graph choose.")
    return column, m, ell, tuple(v for v in dag.nodes if v in set(w)), {"covariates": "given", "hidden": hidden}


def _controlled(controlled: Any, mediators: tuple[str, ...], method: str) -> np.ndarray | None:
    """The mediator values of the controlled direct effect, (k,) in ``mediators``' order, or None."""
    if controlled is None:
        return None
    if method != "regression":
        raise ValueError(f"The 'controlled' argument of {_OWNER} needs method='regression'.")
    if not isinstance(controlled, dict) or set(controlled) != set(mediators):
        raise ValueError(f"The 'controlled' argument of {_OWNER} must map every mediator {list(mediators)} to a "
                         f"value. Got {controlled!r}.")
    values = []
    for v in mediators:
        value = controlled[v]
        message = f"The 'controlled' argument of {_OWNER} must map mediator {v!r} to a finite number. Got {value!r}."
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(message)
        try:
            value = float(value)
        except OverflowError:
            value = float("inf")
        if not np.isfinite(value):
            raise ValueError(message)
        values.append(value)
    return np.array(values)


def _listed(value: Any, name: str, column: dict[str, np.ndarray], taken: Sequence[str], *, empty: bool,
            owner: str = _OWNER) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"The {name!r} argument of {owner} must be a column name or a list of them. "
                        f"Got {value!r}.") from None
    if not items and not empty:
        raise ValueError(f"The {name!r} argument of {owner} is empty; give at least one column.")
    for item in items:
        if not isinstance(item, str) or item not in column:
            raise ValueError(f"The {name!r} argument of {owner} names {item!r}, which is not a column of the data "
                             f"({list(column)}).")
        if item in taken:
            raise ValueError(f"The {name!r} argument of {owner} names {item!r}, which is already the treatment, "
                             f"outcome or a mediator.")
    if len(set(items)) != len(items):
        raise ValueError(f"The {name!r} argument of {owner} repeats a column: {items}.")
    return tuple(items)


def mediation_analysis(data: Any, graph: Any = None, treatment: str | None = None, outcome: str | None = None,
                       mediators: Sequence[str] | str | None = None, *, method: str = "regression",
                       covariates: Sequence[str] | str | None = None,
                       intermediate_confounders: Sequence[str] | str | None = None,
                       controlled: dict[str, float] | None = None, contrast: Sequence[float] | None = None,
                       interaction: bool = True, level: float = 0.95,
                       outcome_learner: Any = "linear",
                       treatment_learner: Any = "linear", n_folds: int = 5, trim: float = 0.01, seed: int = 0,
                       node_names: Sequence[str] | None = None) -> MediationResult:
    """The natural direct and indirect effects of ``treatment`` on ``outcome`` through ``mediators`` (or, given
    ``intermediate_confounders``, the interventional ones).

    Parameters
    ----------
    data:
        (n, d) array with ``node_names``, a mapping ``name -> (n,)`` or a pandas DataFrame.
    graph:
        The causal DAG (:class:`~latentscm.graph.CausalGraph`, a fully directed ``DiscoveredGraph`` or text; nodes
        that are not columns are hidden). It decides the covariates and refuses mediators for which the mediation
        formula does not hold (:class:`~latentscm.effects.mediation_identification.NoMediationFormulaError`, naming
        the open path's kind). ``None``: ``covariates`` must then be a list, and the assumptions are yours.
    treatment, outcome, mediators:
        Column names; ``mediators`` one name or several (the indirect effect goes through all of them jointly).
    method:
        One of :data:`MEDIATION_METHODS` (see the module docstring); ``multiply_robust`` needs a binary treatment.
    covariates:
        With a graph: ``"minimal"`` (default) or ``"ancestral"``
        (:func:`~latentscm.effects.mediation_identification.mediation_covariates`), or a list, checked against the
        graph. Without one: a list.
    intermediate_confounders:
        Observed mediator–outcome confounders that the treatment affects (``L``). They make the natural effects
        unidentifiable; given them, the result holds the *interventional* effects (VanderWeele, Vansteelandt & Robins,
        Epidemiology 2014), ``E[Y(t, G(s | W))]`` with ``G(s | W)`` a random draw of the mediators under
        ``do(T = s)`` given the covariates: ``direct``, ``indirect`` and ``total`` (their sum, the "overall" effect)
        then answer "what if the mediators were drawn from their distribution under the other treatment". The
        refusal of the natural effects names such ``L`` when the graph has them. ``regression`` only, with the
        outcome linear in ``L`` (and ``T × L`` with ``interaction``) and ``E[L | t, w]`` linear.
    controlled:
        ``{mediator: value}`` for every mediator: adds ``"controlled_direct"``, the controlled direct effect
        ``E[Y(t1, m)] - E[Y(t0, m)]`` with the mediators set to these values (Robins & Greenland 1992; identified
        under the conditions of the interventional effects, no cross-world assumption). ``regression`` only; it
        equals ``direct`` at every ``m`` when the outcome model has no treatment–mediator interaction.
    contrast:
        ``(t0, t1)``. Default: the two values of a binary treatment in increasing order, else ``(0, 1)``.
    interaction:
        ``regression``: include the treatment–mediator interaction in the outcome model.
    level:
        Confidence level of the intervals, in (0, 1).
    outcome_learner, treatment_learner, n_folds, trim:
        ``multiply_robust``: the regressor of the outcome models (``"linear"``, ``"forest"``, ``"boosting"`` or a
        scikit-learn regressor), the classifier of the two propensities ``P(T | W)`` and ``P(T | M, W)``, the
        cross-fitting folds (>= 2) and the truncation of both propensities to ``[trim, 1 - trim]``.
    seed:
        Seeds the folds and the learners.

    Returns
    -------
    MediationResult
    """
    from latentscm.effects.estimate import _contrast, checked_options
    from latentscm.effects.nuisance import fold_labels

    check_choice(method, "method", _OWNER, MEDIATION_METHODS)
    level, n_folds, trim, _, seed = checked_options(level, n_folds, trim, 2, seed, _OWNER)
    if not isinstance(interaction, bool):
        raise TypeError(f"The 'interaction' argument of {_OWNER} must be True or False. Got {interaction!r}.")
    if mediators is None:
        raise ValueError(f"{_OWNER}: give 'mediators', the column(s) the indirect effect goes through.")
    column, m_names, ell_names, w_names, chosen = _resolve(data, graph, treatment, outcome, mediators, covariates,
                                                           intermediate_confounders, node_names)
    y, t = column[outcome], column[treatment]
    n = y.shape[0]
    binary = method == "multiply_robust"
    t0, t1 = _contrast(t, contrast, binary, method, _OWNER, alternatives="method='regression'")
    m = np.column_stack([column[v] for v in m_names])
    w = np.column_stack([column[v] for v in w_names]) if w_names else np.zeros((n, 0))
    ell = np.column_stack([column[v] for v in ell_names]) if ell_names else None
    fixed = _controlled(controlled, m_names, method)
    if method == "regression":
        means, influence, info = regression_means(y, t, m, w, (t0, t1), interaction=interaction, intermediate=ell,
                                                  controlled=fixed)
    else:
        if ell_names:
            raise ValueError(f"The 'intermediate_confounders' argument of {_OWNER} needs method='regression': the "
                             f"multiply robust estimator here is that of the natural effects.")
        if n < 2 * n_folds:
            raise ValueError(f"The 'data' argument of {_OWNER} has {n} rows, too few for n_folds={n_folds}.")
        if not interaction:
            raise ValueError(f"The 'interaction' argument of {_OWNER} applies to method='regression'; "
                             f"multiply_robust's outcome models are fitted per arm.")
        folds = fold_labels(n, n_folds, seed)
        means, influence, info = multiply_robust_means(y, t == t1, m, w, folds, outcome_learner=outcome_learner,
                                                       treatment_learner=treatment_learner, trim=trim, seed=seed)
    effects = {name: _effect(means[a] - means[b], influence[a] - influence[b], level, f"{name} effect")
               for name, (a, b) in MEDIATION_EFFECTS.items()}
    total, indirect = means[(1, 1)] - means[(0, 0)], means[(1, 1)] - means[(1, 0)]
    if total != 0:
        ratio = indirect / total
        share = ((influence[(1, 1)] - influence[(1, 0)]) - ratio * (influence[(1, 1)] - influence[(0, 0)])) / total
        effects["proportion_mediated"] = _effect(ratio, share, level, "proportion mediated")
    else:
        nan = float("nan")
        effects["proportion_mediated"] = MediationEffect(nan, nan, nan, nan)
    if fixed is not None:
        effects["controlled_direct"] = _effect(means[(1, 2)] - means[(0, 2)], influence[(1, 2)] - influence[(0, 2)],
                                               level, "controlled direct effect")
        info["controlled"] = dict(zip(m_names, fixed.tolist()))
    values = (t0, t1)
    mean_rows = {mean_label(values[a], values[b]): _effect(means[(a, b)], influence[(a, b)], level, "mean")
                 for a, b in ((0, 0), (1, 0), (0, 1), (1, 1))}
    return MediationResult(effects=effects, means=mean_rows, method=method, treatment=treatment, outcome=outcome,
                           mediators=m_names, covariates=w_names, contrast=(t0, t1), level=level, n=n,
                           info={**chosen, **info, "seed": seed,
                                 "effects": "interventional" if ell_names else "natural",
                                 "intermediate_confounders": list(ell_names)})
