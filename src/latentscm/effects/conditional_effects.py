"""Heterogeneous effects: the conditional average treatment effect (CATE) of a binary treatment given effect
modifiers, by meta-learners, with inference on the heterogeneity.

``τ(v) = E[Y(t1) - Y(t0) | V = v]`` for effect modifiers ``V``, identified by adjusting for ``W ∪ V`` where the graph
justifies it (``W`` the adjustment set :func:`estimate_effect` would use; ``W ∪ V`` is checked to be an adjustment
set, so a modifier that opens a path is refused). Estimators (``method``):

- ``"dr"`` — the DR-learner (Kennedy, *Towards optimal doubly robust estimation of heterogeneous causal effects*,
  EJS 2023): the cross-fitted doubly robust score ``φ = μ1 - μ0 + T (Y - μ1)/e - (1 - T)(Y - μ0)/(1 - e)`` regressed
  on ``V`` (``effect_learner``). The default.
- ``"r"`` — the R-learner (Nie & Wager, *Quasi-oracle estimation of heterogeneous treatment effects*, Biometrika
  2021): ``(Y - m)/(T - e)`` regressed on ``V`` with weights ``(T - e)²``, i.e. ``Y - m`` on ``(T - e) τ(V)``, with
  ``m = E[Y | W ∪ V]`` and the propensity ``e`` cross-fitted (``e`` untruncated: the weights keep it stable). Its
  weights make it the CATE only when the modifiers hold the adjustment set.
- ``"t"``, ``"s"``, ``"x"`` — the T-, S- and X-learners (Künzel, Sekhon, Bickel & Yu, *Metalearners for estimating
  heterogeneous treatment effects using machine learning*, PNAS 2019). They model the outcome on the modifiers,
  so the modifiers must hold the adjustment set; the T- and S-learners use no effect learner. The X-learner's two
  effect models are combined as ``e(v) τ0(v) + (1 - e(v)) τ1(v)``.

Every row's ``effects`` value comes from the learner refitted without the row's fold; for ``"dr"`` and ``"r"`` the
pseudo-outcomes it is refitted on come from the cross-fitted nuisance models, which did see the row (a second-order
dependence: moving one outcome of 600 rows by 50 standard deviations moved its own effect by 0.005 to 0.2 in the
review's draws; removing it would take nested cross-fitting). ``predict`` uses models fitted on every row.
Inference does not trust the learner: it uses the doubly robust score ``φ`` (the same
cross-fitted nuisances for every method), as in Chernozhukov, Demirer, Duflo & Fernández-Val (*Generic machine
learning inference on heterogeneous treatment effects*, NBER w24678, 2018):

- ``ate``: the AIPW average effect, mean of ``φ``.
- ``calibration`` (the "best linear predictor"): ``φ`` regressed on ``1`` and ``τ̂ - mean τ̂`` (HC1): a slope
  ``β2`` near 1 says the learner's effects are well calibrated, ``β2 = 0`` that they carry no heterogeneity; its
  one-sided p-value tests "the effect varies with what the learner found".
- ``groups`` (GATES): the rows cut into ``n_groups`` equal groups by ``τ̂``; each group's mean of ``φ``, and the
  top-minus-bottom difference.

Both, and the targeting measures below, score a learner on rows it was not fitted on, by their paper's recipe: the
rows are halved at random ``n_splits`` times, the learner fitted on one half scores the other, and the splits are
aggregated by medians (estimates, bounds at the level ``1 - (1 - level)/2``, twice the median p-value). Pooling the
out-of-fold ``effects`` instead is biased and misjudges its spread: each fold's effects come from a model fitted on
the other folds' scores, so a fold whose model saw high scores holds scores below the mean (a negative bias; a
constant effect model gets a slope of exactly ``-(n_folds - 1)``), and the folds' models share most of their rows (a
variance the row formulas do not see). In ``benchmarks/bench_conditional_effects.py`` (linear DR-learner, n = 2000,
no heterogeneity, 200 data sets) the pooled slope's z-statistic had mean -0.86 and sd 1.39 where a valid one has 0 and
1; the halvings rejected at 5% in 0.5% of the data sets (conservative) and, at a weak heterogeneity, in 49% where the
pooled test did in 67%.
- ``projection``: the best linear projection of ``τ`` on the modifiers (Semenova & Chernozhukov, *Debiased machine
  learning of conditional average treatment effects and other causal functions*, Econometrics J. 2021): ``φ``
  regressed on ``1`` and the centred modifiers (HC1), whatever the effect learner.

Whether the estimated effects are good for choosing whom to treat: :meth:`ConditionalEffects.rate` (the
rank-weighted average effect, AUTOC or Qini), :meth:`~ConditionalEffects.targeting` (the targeting curve) and
:meth:`~ConditionalEffects.policy` (the value of treating where the estimate exceeds a cost); see
:mod:`latentscm.effects.targeting`.

The truth for a world or SCM is :func:`~latentscm.effects.true_conditional_effects` (every unit's exact
CATE given its pre-treatment state, and its individual effect); :meth:`ConditionalEffects.score` compares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from latentscm._validation import check_choice, check_number
from latentscm.effects.nuisance import cross_fit_regression, fold_labels, make_classifier, make_regressor
from latentscm.effects.regression import hc1_sandwich
from latentscm.effects.result import CateCoefficient, EffectEstimate, finite, normal_interval

__all__ = ["CATE_METHODS", "CateCoefficient", "ConditionalEffects", "conditional_effects"]

_OWNER = "conditional_effects"

#: The estimators of :func:`conditional_effects` (see the module docstring).
CATE_METHODS = ("dr", "r", "t", "s", "x")
#: The methods whose estimand is the CATE given the modifiers only when they hold the adjustment set: the T-, S- and
#: X-learners model the outcome on the modifiers alone, the R-learner weights rows by ``e (1 - e)``.
_ON_EVERY_COVARIATE = ("r", "t", "s", "x")


@dataclass(frozen=True)
class ConditionalEffects:
    """Heterogeneous effects of ``treatment`` on ``outcome`` given ``modifiers``.

    Attributes
    ----------
    effects:
        (n,) each row's estimated CATE ``τ̂(v_i)``, out of fold.
    scores:
        (n,) each row's cross-fitted doubly robust score ``φ_i`` (its mean given the covariates is the CATE).
    folds:
        (n,) the fold of each row (its effect was predicted by the models fitted on the other folds).
    ate:
        The AIPW average effect (an :class:`EffectEstimate`).
    calibration:
        ``{"ate": β1, "heterogeneity": β2}`` of the best linear predictor, aggregated over the splits;
        ``β2``'s p-value is one-sided (β2 > 0). Empty when the learner's effects do not vary in most splits.
    groups:
        ``[{"low": τ̂ min, "high": τ̂ max, "n": rows, "effect": CateCoefficient}, ...]`` from the lowest ``τ̂``
        group up (GATES; bounds are medians over the splits, ``n`` a split's group size), and
        ``groups_difference``, top minus bottom.
    projection:
        ``{"intercept": ..., modifier: ...}``: the best linear projection of the CATE on the centred modifiers
        (the intercept is the ATE).
    method, treatment, outcome, modifiers, covariates, contrast, level, n, info:
        How it was estimated: ``covariates`` is ``W ∪ V``, the nuisance models' columns.
    """

    effects: np.ndarray
    scores: np.ndarray
    folds: np.ndarray
    ate: EffectEstimate
    calibration: dict[str, CateCoefficient]
    groups: list[dict[str, Any]]
    groups_difference: CateCoefficient | None
    projection: dict[str, CateCoefficient]
    method: str
    treatment: str
    outcome: str
    modifiers: tuple[str, ...]
    covariates: tuple[str, ...]
    contrast: tuple[float, float]
    level: float
    n: int
    info: dict[str, Any] = field(default_factory=dict)
    _model: Any = field(default=None, repr=False, compare=False)
    _splits: tuple = field(default=(), repr=False, compare=False)

    def predict(self, data: Any) -> np.ndarray:
        """``τ̂`` (m,) at new rows: a mapping ``{modifier: (m,)}`` or a pandas DataFrame, read by name (extra columns
        ignored), or an (m, len(modifiers)) array in ``modifiers``' order. Uses the models fitted on every row."""
        owner = "ConditionalEffects.predict"
        if hasattr(data, "columns") and hasattr(data, "to_numpy"):  # a DataFrame: by name, not by position
            data = {str(name): data[name].to_numpy() for name in data.columns}
        if isinstance(data, dict):
            missing = [v for v in self.modifiers if v not in data]
            if missing:
                raise ValueError(f"The 'data' argument of {owner} lacks the modifiers {missing}.")
            v = np.column_stack([np.asarray(data[name], dtype=np.float64).reshape(-1) for name in self.modifiers])
        else:
            v = np.asarray(data, dtype=np.float64)
            if v.ndim == 1 and len(self.modifiers) == 1:
                v = v[:, None]
            if v.ndim != 2 or v.shape[1] != len(self.modifiers):
                raise ValueError(f"The 'data' argument of {owner} must be (m, {len(self.modifiers)}) for the "
                                 f"modifiers {list(self.modifiers)}. Got shape {v.shape}.")
        if v.shape[0] == 0:
            raise ValueError(f"The 'data' argument of {owner} has no rows.")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"The 'data' argument of {owner} holds values that are not finite.")
        return self._model(v)

    def rate(self, kind: str = "autoc", *, n_bootstrap: int = 200, seed: int = 0) -> CateCoefficient:
        """How well ranking rows by the learner's effects targets the treatment: the rank-weighted average effect
        (``"autoc"`` or ``"qini"``; :func:`~latentscm.effects.rank_weighted_effect`) of each split's held-out half,
        aggregated over the splits (:func:`aggregate_splits`)."""
        from latentscm.effects.targeting import rank_weighted_effect

        wider = 1.0 - (1.0 - self.level) / 2.0
        return aggregate_splits([rank_weighted_effect(self.scores[main], tau, kind=kind, level=wider,
                                                      n_bootstrap=n_bootstrap,
                                                      seed=np.random.default_rng([seed, k]))
                                 for k, (main, tau) in enumerate(self._splits)])

    def targeting(self, fractions: Any = None, *, n_bootstrap: int = 200, seed: int = 0) -> Any:
        """The targeting operator characteristic of ranking by the learner's effects
        (:func:`~latentscm.effects.targeting_curve`), each point aggregated over the splits as in :meth:`rate`."""
        from latentscm.effects.targeting import TargetingCurve, targeting_curve

        wider = 1.0 - (1.0 - self.level) / 2.0
        curves = [targeting_curve(self.scores[main], tau, fractions=fractions, level=wider, n_bootstrap=n_bootstrap,
                                  seed=np.random.default_rng([seed, k])) for k, (main, tau) in enumerate(self._splits)]
        middle = TargetingCurve(curves[0].fractions, np.median([c.toc for c in curves], axis=0),
                                np.median([c.std_error for c in curves], axis=0), self.level)
        middle.ci_low = np.median([c.ci_low for c in curves], axis=0)
        middle.ci_high = np.median([c.ci_high for c in curves], axis=0)
        return middle

    def policy(self, threshold: float = 0.0, cost: float | None = None) -> dict[str, Any]:
        """The value of treating the rows whose estimated effect exceeds ``threshold``, each treatment costing
        ``cost`` (default ``threshold``): the gains over treating no one and everyone
        (:func:`~latentscm.effects.policy_value`) on each split's held-out half, aggregated over the splits; the
        treated share is the median."""
        from latentscm.effects.targeting import policy_value

        wider = 1.0 - (1.0 - self.level) / 2.0
        values = [policy_value(self.scores[main], tau, threshold=threshold, cost=cost, level=wider)
                  for main, tau in self._splits]
        out = {key: values[0][key] for key in ("threshold", "cost")}
        out["treated_share"] = float(np.median([value["treated_share"] for value in values]))
        for key in ("gain_vs_none", "gain_vs_all"):
            out[key] = aggregate_splits([value[key] for value in values])
        return out

    def score(self, truth: Any) -> dict[str, float]:
        """How close ``effects`` are to ``truth`` (n,) or the ``cate`` of
        :func:`~latentscm.effects.true_conditional_effects` on the same rows: ``pehe`` (root mean squared error,
        Hill 2011), ``pehe_constant`` (that of the true mean effect everywhere, the no-heterogeneity baseline),
        ``ate_error`` and ``rank_correlation`` (Spearman)."""
        owner = "ConditionalEffects.score"
        given = getattr(truth, "contrast", None)
        if given is not None and tuple(float(c) for c in given) != self.contrast:
            raise ValueError(f"The 'truth' argument of {owner} is for the contrast {tuple(given)}; the estimate "
                             f"compares {self.contrast}.")
        tau = np.asarray(getattr(truth, "cate", truth), dtype=np.float64)
        if tau.ndim != 1:
            raise ValueError(f"The 'truth' argument of {owner} must be (n,) effects. Got shape {tau.shape}.")
        if tau.shape[0] != self.n:
            raise ValueError(f"The 'truth' argument of ConditionalEffects.score has {tau.shape[0]} rows; the "
                             f"estimate has {self.n}.")
        rank = float(stats.spearmanr(self.effects, tau).statistic) if np.ptp(self.effects) > 0 and np.ptp(tau) > 0 \
            else float("nan")
        return {"pehe": float(np.sqrt(np.mean((self.effects - tau) ** 2))),
                "pehe_constant": float(np.sqrt(np.mean((tau - tau.mean()) ** 2))),
                "ate_error": float(self.ate.estimate - tau.mean()), "rank_correlation": rank}

    def plot(self, ax: Any = None) -> Any:
        """The group effects (GATES) with their intervals, lowest ``τ̂`` group on the left, and the ATE; returns
        the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 3.2))
        x = np.arange(1, len(self.groups) + 1)
        for row, group in zip(x, self.groups):
            item = group["effect"]
            ax.plot([row, row], [item.ci_low, item.ci_high], color="0.3", lw=2)
            ax.plot(row, item.estimate, "o", color="black")
        ax.axhline(self.ate.estimate, color="tab:blue", lw=1, ls="--", label=f"ATE {self.ate.estimate:.3g}")
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_xticks(x, [str(k) for k in x])
        ax.set_xlabel(f"group of rows by estimated effect ({self.method}-learner), lowest first")
        t0, t1 = self.contrast
        ax.set_ylabel(f"effect of {self.treatment} ({t0:g} -> {t1:g})\non {self.outcome}, "
                      f"{100 * self.level:g}% intervals")
        ax.set_title(f"given {', '.join(self.modifiers)}", fontsize=9)
        ax.legend(fontsize=8, loc="best")
        return ax

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (strict JSON: NaN becomes null); ``effects`` as a list."""
        from latentscm._io import json_ready

        def nan_to_none(value: Any) -> Any:
            return None if isinstance(value, float) and not np.isfinite(value) else value

        groups = [{"low": g["low"], "high": g["high"], "n": g["n"], "effect": g["effect"].to_dict()}
                  for g in self.groups]
        return json_ready({
            "method": self.method, "treatment": self.treatment, "outcome": self.outcome,
            "modifiers": list(self.modifiers), "covariates": list(self.covariates), "contrast": list(self.contrast),
            "level": self.level, "n": self.n, "ate": self.ate.to_dict(),
            "calibration": {k: v.to_dict() for k, v in self.calibration.items()}, "groups": groups,
            "groups_difference": None if self.groups_difference is None else self.groups_difference.to_dict(),
            "projection": {k: v.to_dict() for k, v in self.projection.items()},
            "effects": self.effects.tolist(), "info": self.info}, default=nan_to_none)

    def __str__(self) -> str:
        t0, t1 = self.contrast
        pct = f"{100 * self.level:g}%"
        lines = [f"{self.method}-learner: effects of {self.treatment} ({t0:g} -> {t1:g}) on {self.outcome} given "
                 f"{', '.join(self.modifiers)}, adjusting for {', '.join(self.covariates) or '(nothing)'}; "
                 f"n = {self.n}",
                 f"  ATE {self.ate.estimate:.4g} (s.e. {self.ate.std_error:.3g}; {pct} CI [{self.ate.ci_low:.4g}, "
                 f"{self.ate.ci_high:.4g}]); estimated effects range {self.effects.min():.4g} .. "
                 f"{self.effects.max():.4g} (sd {self.effects.std():.3g})"]
        lines.append(f"  scored on held-out halves: medians over {self.info.get('n_splits', 1)} random halvings")
        if self.calibration:
            b2 = self.calibration["heterogeneity"]
            lines.append(f"  calibration slope {b2.estimate:.3g} (s.e. {b2.std_error:.3g}; p = {b2.p_value:.3g} "
                         f"for 'no heterogeneity the learner found')")
        else:
            lines.append("  calibration: the learner's effects (fitted on half the rows) do not vary in most splits, "
                         "so there is no slope to test")
        lines.append(f"  {'group (GATES)':<22} {'effect':>10} {'s.e.':>9}   {pct} CI")
        for k, group in enumerate(self.groups, 1):
            item = group["effect"]
            lines.append(f"  {k} [{group['low']:.3g}, {group['high']:.3g}]".ljust(24) + f" {item.estimate:>10.4g} "
                         f"{item.std_error:>9.3g}   [{item.ci_low:.4g}, {item.ci_high:.4g}]")
        if self.groups_difference is not None:
            d = self.groups_difference
            lines.append(f"  {'top - bottom':<22} {d.estimate:>10.4g} {d.std_error:>9.3g}   [{d.ci_low:.4g}, "
                         f"{d.ci_high:.4g}]")
        lines.append(f"  {'projection on':<22} {'slope':>10} {'s.e.':>9}   {pct} CI")
        for name, item in self.projection.items():
            lines.append(f"  {name:<22} {item.estimate:>10.4g} {item.std_error:>9.3g}   [{item.ci_low:.4g}, "
                         f"{item.ci_high:.4g}]")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ inference
def _coefficient(estimate: float, std_error: float, level: float, *, one_sided: bool = False) -> CateCoefficient:
    estimate = finite(estimate, "coefficient", _OWNER)
    std_error = finite(std_error, "standard error", _OWNER)
    low, high = normal_interval(estimate, std_error, level)
    if std_error == 0:
        p = float(estimate <= 0) if one_sided else float(estimate == 0)
    elif one_sided:
        p = float(stats.norm.sf(estimate / std_error))
    else:
        p = float(2.0 * stats.norm.sf(abs(estimate) / std_error))
    return CateCoefficient(estimate, std_error, low, high, p)


def robust_regression(target: np.ndarray, regressors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS of ``target`` (n,) on ``[1, regressors]`` (regressors (n, p)): coefficients (p + 1,) and their HC1
    standard errors (p + 1,)."""
    n = target.shape[0]
    design = np.column_stack([np.ones(n), regressors])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError(f"{_OWNER}: the modifiers are collinear or one is constant, so the linear projection is not "
                         f"defined; drop the redundant modifier.")
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    inverse = np.linalg.inv(design.T @ design)
    covariance = hc1_sandwich(design, target - design @ coef, inverse)
    return coef, np.sqrt(np.clip(np.diag(covariance), 0.0, None))


def aggregate_splits(items: Sequence[CateCoefficient]) -> CateCoefficient:
    """One coefficient from its values over random splits (each at level ``1 - (1 - level) / 2``): the medians of the
    estimates, standard errors and bounds, and twice the median p-value (at most 1); Chernozhukov, Demirer, Duflo &
    Fernández-Val (2018), "variational estimation and inference", which holds the level over the splits' noise. The
    interval is thus wider than ``estimate ± z · std_error`` (the standard error is the splits' median, for
    reference)."""
    values = np.array([[c.estimate, c.std_error, c.ci_low, c.ci_high, c.p_value] for c in items])
    middle = np.median(values, axis=0)
    return CateCoefficient(float(middle[0]), float(middle[1]), float(middle[2]), float(middle[3]),
                           float(min(1.0, 2.0 * middle[4])))


def _split_statistics(score: np.ndarray, tau: np.ndarray, n_groups: int, level: float) -> dict[str, Any]:
    """One split's best linear predictor and sorted group effects, from the main half's scores ``score`` (m,) and
    effects ``tau`` (m,) predicted by a model fitted on the other half."""
    out: dict[str, Any] = {}
    if np.ptp(tau) > 1e-12 * max(1.0, float(np.abs(tau).max())):
        coef, se = robust_regression(score, (tau - tau.mean())[:, None])
        out["ate"] = _coefficient(coef[0], se[0], level)
        out["heterogeneity"] = _coefficient(coef[1], se[1], level, one_sided=True)
    means, bounds = [], []
    for rows in np.array_split(np.argsort(tau, kind="stable"), n_groups):
        mean, std_error = float(np.mean(score[rows])), float(np.std(score[rows], ddof=1) / np.sqrt(rows.size))
        out[f"group{len(means)}"] = _coefficient(mean, std_error, level)
        means.append((mean, std_error))
        bounds.append((float(tau[rows].min()), float(tau[rows].max()), rows.size))
    out["difference"] = _coefficient(means[-1][0] - means[0][0], float(np.hypot(means[-1][1], means[0][1])), level)
    out["bounds"] = bounds
    return out


def split_inference(score: np.ndarray, v: np.ndarray, fit: Any, *, n_splits: int, n_groups: int, level: float,
                    seed: int, treated: np.ndarray | None = None) -> dict[str, Any]:
    """The best linear predictor and the sorted group effects over ``n_splits`` random halvings of the rows: each
    time the learner (``fit(rows) -> predict``, ``rows`` a boolean mask) is fitted on one half and its effects on
    the other half are scored with that half's doubly robust scores ``score`` (n,), modifiers ``v`` (n, q) (with
    ``treated`` (n,) bool, a half short of either arm is refused); the
    splits are aggregated by :func:`aggregate_splits`. Returns ``calibration``, ``groups``, ``groups_difference``
    and ``splits`` (each split's main rows and predicted effects, for :meth:`ConditionalEffects.rate`)."""
    n = score.shape[0]
    rng = np.random.default_rng([seed, 56])
    per_split, splits = [], []
    wider = 1.0 - (1.0 - level) / 2.0
    for _ in range(n_splits):
        permutation = rng.permutation(n)
        auxiliary, main = permutation[: n // 2], np.sort(permutation[n // 2:])
        for arm, rows in () if treated is None else (("treated", treated), ("untreated", ~treated)):
            if np.count_nonzero(rows[auxiliary]) < 2 or np.count_nonzero(rows[main]) < 2:
                raise ValueError(f"{_OWNER}: a random half of the rows holds fewer than 2 {arm} rows, so the "
                                 f"learner cannot be fitted and scored on halves; give more {arm} rows.")
        mask = np.zeros(n, dtype=bool)
        mask[auxiliary] = True
        tau = np.asarray(fit(mask)(v[main]), dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(tau)):
            raise ValueError(f"{_OWNER}: the effects predicted in a split are not finite; the learners diverged.")
        per_split.append(_split_statistics(score[main], tau, n_groups, wider))
        splits.append((main, tau))
    out: dict[str, Any] = {"calibration": {}, "splits": splits}
    defined = [item for item in per_split if "heterogeneity" in item]
    if 2 * len(defined) > n_splits:  # the learner's effects vary in most splits
        out["calibration"] = {name: aggregate_splits([item[name] for item in defined])
                              for name in ("ate", "heterogeneity")}
        # a split whose learner found no variation found no heterogeneity: its p-value is 1, so the test rejects
        # only when most of all the splits do
        p_values = [item["heterogeneity"].p_value if "heterogeneity" in item else 1.0 for item in per_split]
        slope = out["calibration"]["heterogeneity"]
        out["calibration"]["heterogeneity"] = CateCoefficient(slope.estimate, slope.std_error, slope.ci_low,
                                                              slope.ci_high, float(min(1.0, 2.0 * np.median(p_values))))
    out["groups"] = [{"low": float(np.median([item["bounds"][g][0] for item in per_split])),
                      "high": float(np.median([item["bounds"][g][1] for item in per_split])),
                      "n": int(per_split[0]["bounds"][g][2]),
                      "effect": aggregate_splits([item[f"group{g}"] for item in per_split])}
                     for g in range(n_groups)]
    out["groups_difference"] = aggregate_splits([item["difference"] for item in per_split])
    return out


def projection_inference(score: np.ndarray, v: np.ndarray, names: Sequence[str], level: float
                         ) -> dict[str, CateCoefficient]:
    """The best linear projection of the CATE on the modifiers: ``score`` (n,) on ``[1, v - mean v]`` ((n, q)),
    HC1; the intercept is the average effect."""
    coef, se = robust_regression(score, v - v.mean(axis=0))
    return {name: _coefficient(c, s, level) for name, c, s in zip(("intercept", *names), coef, se)}


# ------------------------------------------------------------------------------------------------- learners
def effect_model(learner: Any, seed: int) -> Any:
    """A fresh effect model for ``effect_learner``. The effect stage fits noisy targets (pseudo-outcomes, imputed
    effects), so its named learners are regularised for them: ``"boosting"`` stops early on a 20% validation split
    (10 rounds without gain) with at least 50 rows a leaf, ``"forest"`` has 50 rows a leaf. The nuisance roles' named
    learners overfit such targets: on ``bench_conditional_effects.py``'s linear SCM (n = 2000, boosted or forest
    nuisances, 5 seeds) the DR-learner's PEHE was 1.82 (boosting) and 0.70 (forest) times that of a constant with
    them, 0.72 and 0.36 with these; the R-learner's 0.77 and 0.54, now 0.44 and 0.35. Other names and estimators as
    :func:`make_regressor`."""
    if isinstance(learner, str) and learner == "boosting":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, early_stopping=True,
                                             validation_fraction=0.2, n_iter_no_change=10, min_samples_leaf=50,
                                             random_state=seed)
    if isinstance(learner, str) and learner == "forest":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(n_estimators=200, min_samples_leaf=50, max_features=1.0, random_state=seed,
                                     n_jobs=1)
    return make_regressor(learner, seed, "effect_learner", _OWNER)


def _fit_weighted(learner: Any, features: np.ndarray, target: np.ndarray, weight: np.ndarray | None, seed: int,
                  name: str) -> Any:
    model = effect_model(learner, seed)
    if weight is None:
        return model.fit(features, target)
    from sklearn.utils.validation import has_fit_parameter

    if not has_fit_parameter(model, "sample_weight"):
        raise TypeError(f"The {name!r} argument of {_OWNER} ({type(model).__name__}) takes no sample_weight in "
                        f"fit(), which the R-learner needs.")
    return model.fit(features, target, sample_weight=weight)


def _meta_learner(method: str, y: np.ndarray, treated: np.ndarray, v: np.ndarray, *, outcome_learner: Any,
                  treatment_learner: Any, effect_learner: Any, trim: float, seed: int) -> Any:
    """Fit the T-, S- or X-learner on rows ``(y, treated, v)``; returns ``predict(v_new) -> (m,)``."""
    if method == "s":
        model = make_regressor(outcome_learner, seed, "outcome_learner", _OWNER).fit(
            np.column_stack([treated.astype(np.float64), v]), y)

        def s_predict(rows: np.ndarray) -> np.ndarray:
            m = rows.shape[0]
            return model.predict(np.column_stack([np.ones(m), rows])) - model.predict(np.column_stack([np.zeros(m),
                                                                                                       rows]))
        return s_predict
    arms = {arm: make_regressor(outcome_learner, seed, "outcome_learner", _OWNER).fit(v[treated == arm],
                                                                                    y[treated == arm])
            for arm in (True, False)}
    if method == "t":
        return lambda rows: arms[True].predict(rows) - arms[False].predict(rows)
    # X-learner: imputed effects of each arm, an effect model per arm, combined by the propensity
    tau1 = effect_model(effect_learner, seed).fit(v[treated], y[treated] - arms[False].predict(v[treated]))
    tau0 = effect_model(effect_learner, seed).fit(v[~treated], arms[True].predict(v[~treated]) - y[~treated])
    propensity = make_classifier(treatment_learner, seed, "treatment_learner", _OWNER).fit(v, treated.astype(np.int64))
    column = list(propensity.classes_).index(1)

    def x_predict(rows: np.ndarray) -> np.ndarray:
        e = np.clip(propensity.predict_proba(rows)[:, column], trim, 1.0 - trim)
        return e * tau0.predict(rows) + (1.0 - e) * tau1.predict(rows)
    return x_predict


def _both_arms(treated: np.ndarray, folds: np.ndarray) -> None:
    for arm, rows in (("treated", treated), ("untreated", ~treated)):
        for fold in np.unique(folds):
            if np.count_nonzero(rows & (folds != fold)) < 2:
                raise ValueError(f"{_OWNER}: fewer than 2 {arm} rows outside fold {int(fold)}, so the {arm} "
                                 f"outcome model cannot be fitted; give more rows or fewer folds.")


# ---------------------------------------------------------------------------------------------------- entry
def conditional_effects(data: Any, graph: Any, treatment: str, outcome: str, *, modifiers: Any = None,
                        method: str = "dr", adjustment: Any = None, outcome_learner: Any = "linear",
                        treatment_learner: Any = "linear", effect_learner: Any = "linear", n_folds: int = 5,
                        n_groups: int = 5, n_splits: int = 20, trim: float = 0.01, level: float = 0.95,
                        seed: int = 0,
                        node_names: Sequence[str] | None = None) -> ConditionalEffects:
    """The conditional average effect of a two-valued ``treatment`` on ``outcome`` given ``modifiers``.

    Parameters
    ----------
    data, graph, treatment, outcome, adjustment, node_names:
        As in :func:`~latentscm.effects.estimate_effect`; the treatment column must take exactly two values, and
        the effect is that of moving it from the lower to the higher.
    modifiers:
        The columns the effect may vary with (a name or a list; default: the adjustment set). None may descend
        from the treatment, and they must keep the adjustment set valid when added to it.
    method:
        One of :data:`CATE_METHODS` (module docstring); ``"t"``, ``"s"`` and ``"x"`` need modifiers that hold
        the adjustment set.
    outcome_learner, treatment_learner, effect_learner:
        ``"linear"``, ``"forest"``, ``"boosting"`` or a scikit-learn estimator: the outcome models, the propensity
        (a classifier) and the final effect model (a regressor; with ``"r"`` it must take ``sample_weight``; its
        named learners are regularised for noisy targets, see :func:`effect_model`).
    n_folds, n_groups, n_splits, trim, level, seed:
        Cross-fitting folds (>= 2), the number of sorted groups (>= 2), the random halvings of the calibration and
        group inference (>= 1), propensity truncation to ``[trim, 1 - trim]``, the confidence level and the seed of
        folds, splits and learners.
    """
    from latentscm.effects.doubly_robust import aipw_nuisances, aipw_score
    from latentscm.effects.estimate import checked_options, resolve_adjustment

    def options() -> None:
        check_choice(method, "method", _OWNER, CATE_METHODS)

    column, chosen, hidden, rule = resolve_adjustment(data, graph, treatment, outcome, adjustment, node_names,
                                                      check=options, owner=_OWNER)
    level, n_folds, trim, _, seed = checked_options(level, n_folds, trim, 2, seed, _OWNER)
    n_groups = check_number(n_groups, "n_groups", _OWNER, low=2, integer=True)
    n_splits = check_number(n_splits, "n_splits", _OWNER, low=1, integer=True)
    v_names = _modifiers(modifiers, graph, column, treatment, outcome, chosen)
    order = [name for name in column if name in set(chosen) | set(v_names)]
    if method in _ON_EVERY_COVARIATE and not set(chosen) <= set(v_names):
        why = ("weights each row by e(1 - e), so with fewer modifiers than covariates it estimates an "
               "overlap-weighted effect, not E[effect | modifiers]" if method == "r" else
               "models the outcome on the modifiers alone")
        raise ValueError(f"The 'modifiers' argument of {_OWNER}: method={method!r} {why}, so the modifiers must hold "
                         f"the adjustment set {list(chosen)}; add {sorted(set(chosen) - set(v_names))}, or use "
                         f"method='dr'.")
    if method in ("t", "s") and not (isinstance(effect_learner, str) and effect_learner == "linear"):
        raise ValueError(f"The 'effect_learner' argument of {_OWNER} is not used by method={method!r} (its effect "
                         f"is the difference of its outcome models); it applies to 'dr', 'r' and 'x'.")
    t, y = column[treatment], column[outcome]
    levels = np.unique(t)
    if levels.size != 2:
        raise ValueError(f"The 'treatment' argument of {_OWNER} names {treatment!r}, which takes {levels.size} "
                         f"values in the data; conditional effects here compare two (binarise it first).")
    n = y.shape[0]
    if n < max(2 * n_folds, 4 * n_groups, 10):
        raise ValueError(f"The 'data' argument of {_OWNER} has {n} rows, too few for n_folds={n_folds} and "
                         f"n_groups={n_groups} (half the rows are cut into n_groups groups of at least 2).")
    treated = t == levels[1]
    x = np.column_stack([column[name] for name in order]) if order else np.zeros((n, 0))
    v = np.column_stack([column[name] for name in v_names])
    folds = fold_labels(n, n_folds, seed)
    _both_arms(treated, folds)
    g1, g0, e, raw, n_trimmed = aipw_nuisances(y, treated, x, folds, outcome_learner=outcome_learner,
                                               treatment_learner=treatment_learner, trim=trim, seed=seed,
                                               owner=_OWNER)
    score = aipw_score(y, treated, g1, g0, e)
    if method in ("dr", "r"):
        if method == "dr":
            target, weight = score, None
        else:  # Robinson's residuals: m = E[Y | X] fitted directly, the raw propensity (weights keep it stable)
            m, = cross_fit_regression(y, x, folds, outcome_learner, seed=seed, name="outcome_learner", owner=_OWNER)
            residual = treated - raw
            if np.any(residual == 0):
                raise ValueError(f"{_OWNER}: a propensity of exactly 0 or 1 leaves a treatment residual of 0; the "
                                 f"R-learner needs overlap (use method='dr', whose propensities are truncated).")
            target, weight = (y - m) / residual, residual ** 2

        def fit(rows: np.ndarray) -> Any:
            model = _fit_weighted(effect_learner, v[rows], target[rows], None if weight is None else weight[rows],
                                  seed, "effect_learner")
            return model.predict
    else:
        def fit(rows: np.ndarray) -> Any:
            return _meta_learner(method, y[rows], treated[rows], v[rows], outcome_learner=outcome_learner,
                                 treatment_learner=treatment_learner, effect_learner=effect_learner, trim=trim,
                                 seed=seed)
    tau = np.empty(n)
    for fold in np.unique(folds):
        test = folds == fold
        tau[test] = fit(~test)(v[test])
    if not np.all(np.isfinite(tau)):
        raise ValueError(f"{_OWNER}: the estimated effects are not finite; the learners diverged (check for "
                         f"collinear columns or a treatment arm with no overlap).")
    final = fit(np.ones(n, dtype=bool))
    inference = split_inference(score, v, fit, n_splits=n_splits, n_groups=n_groups, level=level, seed=seed,
                                treated=treated)
    contrast = (float(levels[0]), float(levels[1]))
    ate = finite(np.mean(score), "average effect", _OWNER)
    ate_se = finite(np.sqrt(np.mean((score - ate) ** 2) / n), "standard error", _OWNER)
    low, high = normal_interval(ate, ate_se, level)
    names = [u if isinstance(u, str) else type(u).__name__ for u in (outcome_learner, treatment_learner,
                                                                      effect_learner)]
    info = {"outcome_learner": names[0], "treatment_learner": names[1], "effect_learner": names[2],
            "n_folds": n_folds, "n_groups": n_groups, "n_splits": n_splits, "trim": trim, "n_trimmed": n_trimmed,
            "propensity_range": [float(raw.min()), float(raw.max())], "adjustment": rule if isinstance(rule, str)
            else "given", "adjustment_set": list(chosen), "hidden": hidden}
    ate_result = EffectEstimate(ate, ate_se, low, high, level, "aipw", treatment, outcome, contrast, tuple(order), n,
                                {"std_error": "influence function (efficient score)", **info})
    return ConditionalEffects(effects=tau, scores=score, folds=folds, ate=ate_result,
                              calibration=inference["calibration"],
                              groups=inference["groups"], groups_difference=inference["groups_difference"],
                              projection=projection_inference(score, v, v_names, level), method=method,
                              treatment=treatment, outcome=outcome, modifiers=tuple(v_names),
                              covariates=tuple(order), contrast=contrast, level=level, n=n, info=info,
                              _model=final, _splits=tuple(inference["splits"]))


def _modifiers(modifiers: Any, graph: Any, column: dict[str, np.ndarray], treatment: str, outcome: str,
               chosen: Sequence[str]) -> list[str]:
    """The modifiers (names, in the data's column order), checked against the graph."""
    from latentscm.effects.adjustment import is_adjustment_set
    from latentscm.effects.estimate import as_causal_dag

    if modifiers is None:
        if not chosen:
            raise ValueError(f"The 'modifiers' argument of {_OWNER} defaults to the adjustment set, which is empty "
                             f"here; name the columns the effect may vary with.")
        return [name for name in column if name in chosen]
    items = [modifiers] if isinstance(modifiers, str) else modifiers
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"The 'modifiers' argument of {_OWNER} must be a column name or a list of them. "
                        f"Got {modifiers!r}.") from None
    if not items:
        raise ValueError(f"The 'modifiers' argument of {_OWNER} is empty; name at least one column.")
    for item in items:
        if not isinstance(item, str) or item not in column:
            raise ValueError(f"The 'modifiers' argument of {_OWNER} names {item!r}, which is not a column of the "
                             f"data ({list(column)}).")
        if item in (treatment, outcome):
            role = "treatment" if item == treatment else "outcome"
            raise ValueError(f"The 'modifiers' argument of {_OWNER} names {item!r}, the {role}.")
    if len(set(items)) != len(items):
        raise ValueError(f"The 'modifiers' argument of {_OWNER} names a column twice: {items}.")
    extra = set(items) - set(chosen)
    if extra:
        from latentscm.discovery.pag import PartialAncestralGraph
        from latentscm.discovery.result import DiscoveredGraph

        if isinstance(graph, PartialAncestralGraph) or (isinstance(graph, DiscoveredGraph)
                                                        and not graph.is_fully_directed()):
            raise ValueError(f"The 'modifiers' argument of {_OWNER} names {sorted(extra)}, outside the adjustment "
                             f"set {list(chosen)}; with a CPDAG or PAG the modifiers must lie in it (pass them as "
                             f"'adjustment' if they are a valid set).")
        dag = as_causal_dag(graph, _OWNER)
        late = sorted(extra & dag.descendants(treatment))
        if late:
            raise ValueError(f"The 'modifiers' argument of {_OWNER} names {late}, descendants of {treatment!r}: the "
                             f"effect given a variable the treatment moves is not a conditional average effect.")
        if not is_adjustment_set(dag, treatment, outcome, set(chosen) | set(items)):
            raise ValueError(f"The 'modifiers' argument of {_OWNER}: adding {sorted(extra)} to the adjustment set "
                             f"{list(chosen)} opens a non-causal path from {treatment!r} to {outcome!r} (e.g. a "
                             f"collider), so the effect given them is not identified by adjustment.")
    return [name for name in column if name in items]
