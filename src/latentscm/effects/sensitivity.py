"""Sensitivity of a regression-adjusted effect to a confounder the graph left out.

Cinelli, C. & Hazlett, C., *Making sense of sensitivity: extending omitted variable bias*, Journal of the Royal
Statistical Society B 82(1), 39-67, 2020.

Every estimate that adjusts for a set ``X`` rests on the graph's claim that ``X`` blocks every back-door path; the
refutation checks (:func:`~latentscm.effects.refute_effect`) cannot see a confounder the graph does not name. This
module asks the other question: *how strong would such a confounder ``Z`` have to be to change the conclusion?*

The estimate is the coefficient of the treatment ``D`` in the least-squares fit ``Y ~ 1 + D + X`` (the "restricted"
regression; ``se`` its classical standard error, ``df = n - 2 - |X|`` its residual degrees of freedom). Had ``Z``
been included, the coefficient would differ by an amount set by two partial R^2 alone,
``R2_dz = R^2(D ~ Z | X)`` (how much of the treatment's residual variance ``Z`` explains) and
``R2_yz = R^2(Y ~ Z | D, X)`` (how much of the outcome's)::

    |bias|   = se * sqrt(df * R2_yz * R2_dz / (1 - R2_dz))
    se(full) = se * sqrt((1 - R2_yz) / (1 - R2_dz) * df / (df - 1))

For one omitted variable both are identities that hold exactly in the sample (the full regression's coefficient and
standard error); for several, the first bounds the bias over every set with those partial R^2. The summaries:

- ``partial_r2`` = ``R^2(Y ~ D | X) = t^2 / (t^2 + df)``: a confounder that explained *all* the outcome's residual
  variance would have to explain this share of the treatment's to bring the estimate to zero (the extreme
  robustness value at ``q = 1``; :func:`extreme_robustness_value` for other ``q``).
- ``robustness_value`` ``RV_q``: the partial R^2 a confounder needs with both treatment and outcome (the same for
  each) to reduce the estimate by ``100 q`` %; ``RV_{q,alpha}``: to make the adjusted interval at level
  ``1 - alpha`` reach ``(1 - q)`` times the estimate (the estimate no longer significant, at ``q = 1``).
- Bounds from a benchmark covariate ``X_j`` of the adjustment set: a confounder ``kd`` times as strong as ``X_j``
  in explaining the treatment and ``ky`` times in explaining the outcome, and independent of ``X_j`` given the rest
  of ``X``, has at most the partial R^2 :func:`benchmark_bounds` gives (in the population: in a sample, chance
  correlation with ``X_j`` moves the values by about ``1 / sqrt(n)``; ``benchmarks/bench_sensitivity.py``).
  Whether such a confounder could exist is the analyst's judgement; the benchmark makes it a comparison with
  something measured.

``method="dml"`` bounds the partially linear DML estimate instead (Chernozhukov, Cinelli, Newey, Sharma &
Syrgkanis, *Long story short: omitted variable bias in causal machine learning*, 2022): with cross-fitted
residuals ``u = Y - l(X)``, ``v = D - m(X)`` and ``eps = u - theta v``, a confounder whose nonparametric partial
R^2 are ``cf_d`` (with the treatment) and ``cf_y`` (with the outcome) biases ``theta`` by at most
``S sqrt(cf_y cf_d / (1 - cf_d))`` with ``S = sqrt(E[eps^2] / E[v^2])`` (the worst case, correlation ``rho = 1``;
for the regression ``S = se sqrt(df)`` and the bound is the identity above); ``method="aipw"`` does the same for
the doubly robust ATE of a binary treatment, with ``E[v^2]`` replaced by the Riesz representer
``alpha = D / e(X) - (1 - D) / (1 - e(X))``: ``S = sqrt(E[eps^2] E[alpha^2])``. Its intervals come from the influence
functions of ``theta`` and ``S``, and a benchmark's strength is its *gain*: ``(E[v_-j^2] - E[v^2]) / E[v^2]`` with
the treatment and ``(E[eps_-j^2] - E[eps^2]) / E[eps^2]`` with the outcome, from refitting without it (times
``kd`` and ``ky``). With linear learners the treatment side is Cinelli & Hazlett's ``kd r2 / (1 - r2)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from latentscm._validation import check_number

__all__ = [
    "ConfounderScenario",
    "SENSITIVITY_METHODS",
    "SensitivityReport",
    "adjusted_estimate",
    "adjusted_std_error",
    "benchmark_bounds",
    "confounder_strength",
    "extreme_robustness_value",
    "omitted_variable_bias",
    "partial_r2",
    "robustness_value",
    "sensitivity_analysis",
]

_OWNER = "sensitivity_analysis"


# ------------------------------------------------------------------------------------------- the formulas
def _r2(value: Any, name: str, owner: str, *, below_one: bool = False) -> np.ndarray:
    """A partial R^2 (scalar or array) checked to lie in [0, 1] ([0, 1) with ``below_one``)."""
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array > 1) or (below_one and np.any(array >= 1)):
        bound = "[0, 1)" if below_one else "[0, 1]"
        raise ValueError(f"The {name!r} argument of {owner} must be partial R^2 values in {bound}. Got {value!r}.")
    return array


def _dof(dof: Any, owner: str, *, at_least: int = 1) -> int:
    return int(check_number(dof, "dof", owner, low=at_least, integer=True))


def omitted_variable_bias(std_error: float, dof: int, r2_dz_x: Any, r2_yz_dx: Any) -> np.ndarray | float:
    """The size of the bias a confounder with partial R^2 ``r2_dz_x`` (with the treatment, given the covariates) and
    ``r2_yz_dx`` (with the outcome, given treatment and covariates) puts on a regression coefficient with standard
    error ``std_error`` and ``dof`` residual degrees of freedom: ``se * sqrt(dof * r2_yz * r2_dz / (1 - r2_dz))``
    (Cinelli & Hazlett 2020). Arrays broadcast; a float for scalar input."""
    owner = "omitted_variable_bias"
    se = float(check_number(std_error, "std_error", owner, low=0.0))
    df = _dof(dof, owner)
    dz = _r2(r2_dz_x, "r2_dz_x", owner, below_one=True)
    yz = _r2(r2_yz_dx, "r2_yz_dx", owner)
    bias = se * np.sqrt(df * yz * dz / (1.0 - dz))
    return float(bias) if bias.ndim == 0 else bias


def adjusted_estimate(estimate: float, std_error: float, dof: int, r2_dz_x: Any, r2_yz_dx: Any, *,
                      reduce: bool = True) -> np.ndarray | float:
    """The coefficient had the confounder been adjusted for: ``sign(estimate) (|estimate| - bias)`` when the
    confounder pushed the estimate away from zero (``reduce=True``, the cautious default), else ``+ bias``."""
    value = float(check_number(estimate, "estimate", "adjusted_estimate"))
    bias = omitted_variable_bias(std_error, dof, r2_dz_x, r2_yz_dx)
    sign = 1.0 if value >= 0 else -1.0
    return sign * (abs(value) - bias) if reduce else sign * (abs(value) + bias)


def adjusted_std_error(std_error: float, dof: int, r2_dz_x: Any, r2_yz_dx: Any) -> np.ndarray | float:
    """The classical standard error of the coefficient had the confounder been adjusted for:
    ``se * sqrt((1 - r2_yz) / (1 - r2_dz) * dof / (dof - 1))`` (one degree of freedom fewer; ``dof >= 2``)."""
    owner = "adjusted_std_error"
    se = float(check_number(std_error, "std_error", owner, low=0.0))
    df = _dof(dof, owner, at_least=2)
    dz = _r2(r2_dz_x, "r2_dz_x", owner, below_one=True)
    yz = _r2(r2_yz_dx, "r2_yz_dx", owner)
    value = se * np.sqrt((1.0 - yz) / (1.0 - dz) * df / (df - 1.0))
    return float(value) if value.ndim == 0 else value


def robustness_value(t_value: float, dof: int, *, q: float = 1.0, alpha: float | None = None) -> float:
    """``RV_q`` (``alpha=None``): the partial R^2 a confounder needs with both treatment and outcome to reduce the
    estimate by ``100 q`` % (to zero at ``q = 1``); ``RV_{q,alpha}``: to bring the ``1 - alpha`` interval to
    ``(1 - q)`` times the estimate. With ``f_q = q |t| / sqrt(dof)``, ``RV_q = (sqrt(f_q^4 + 4 f_q^2) - f_q^2) / 2``;
    ``RV_{q,alpha}`` is the same with ``f_q`` less the critical ``|t_{alpha/2, dof-1}| / sqrt(dof - 1)`` (0 when
    that is negative: the interval already reaches it), and ``(f_q^2 - f_crit^2) / (1 + f_q^2)`` when
    ``f_q > 1 / f_crit`` (there the confounder that is cheapest in the larger of its two R^2 has unequal ones)."""
    owner = "robustness_value"
    t = float(check_number(t_value, "t_value", owner))
    df = _dof(dof, owner, at_least=1 if alpha is None else 2)
    q = float(check_number(q, "q", owner, low=0.0, low_inclusive=False))
    f_q = q * abs(t) / np.sqrt(df)
    if alpha is None:
        return _rv(f_q)
    alpha = float(check_number(alpha, "alpha", owner, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False))
    f_crit = abs(float(stats.t.ppf(alpha / 2, df - 1))) / np.sqrt(df - 1)
    f_qa = f_q - f_crit
    if f_qa <= 0:
        return 0.0
    if f_q > 1 / f_crit:  # (f_q^2 - f_crit^2) / (1 + f_q^2), written to stay finite for a huge f_q
        return float((1 - (f_crit / f_q) ** 2) / (1 + 1 / f_q**2))
    return _rv(f_qa)


def extreme_robustness_value(t_value: float, dof: int, *, q: float = 1.0) -> float:
    """``XRV_q = f_q^2 / (1 + f_q^2)``: the partial R^2 with the treatment a confounder needs to reduce the estimate
    by ``100 q`` % if it explained all the outcome's residual variance (``r2_yz = 1``, the worst case); at ``q = 1``
    this is ``R^2(Y ~ D | X)``."""
    owner = "extreme_robustness_value"
    t = float(check_number(t_value, "t_value", owner))
    df = _dof(dof, owner)
    q = float(check_number(q, "q", owner, low=0.0, low_inclusive=False))
    return _xrv(q * abs(t) / np.sqrt(df))


def benchmark_bounds(r2_dxj_x: float, r2_yxj_dx: float, *, kd: Any = 1.0, ky: Any = None
                     ) -> tuple[np.ndarray | float, np.ndarray | float]:
    """The largest ``(r2_dz_x, r2_yz_dx)`` of a confounder ``kd`` times as strong as a benchmark covariate ``X_j``
    in explaining the treatment and ``ky`` times (default ``kd``) in explaining the outcome, independent of ``X_j``
    given the other covariates. ``r2_dxj_x = R^2(D ~ X_j | X_-j)`` and ``r2_yxj_dx = R^2(Y ~ X_j | D, X_-j)`` are
    the benchmark's own partial R^2 (Cinelli & Hazlett 2020, their bounds from observed covariates)::

        r2_dz_x  = kd r2_dxj / (1 - r2_dxj)
        r2_zxj   = kd r2_dxj^2 / ((1 - kd r2_dxj)(1 - r2_dxj))       (Z with X_j, given D and X_-j)
        r2_yz_dx = ((sqrt(ky) + sqrt(r2_zxj)) / sqrt(1 - r2_zxj))^2  r2_yxj / (1 - r2_yxj),  at most 1

    ``kd`` must stay below ``(1 - r2_dxj) / r2_dxj`` (both R^2 below one). Arrays of ``kd``/``ky`` broadcast."""
    owner = "benchmark_bounds"
    dxj = float(_r2(r2_dxj_x, "r2_dxj_x", owner, below_one=True))
    yxj = float(_r2(r2_yxj_dx, "r2_yxj_dx", owner, below_one=True))
    kd_array = np.asarray(kd, dtype=float)
    ky_array = kd_array if ky is None else np.asarray(ky, dtype=float)
    for name, array in (("kd", kd_array), ("ky", ky_array)):
        if not np.all(np.isfinite(array)) or np.any(array < 0):
            raise ValueError(f"The {name!r} argument of {owner} must be multiples >= 0. Got {array.tolist()!r}.")
    if np.any(kd_array * dxj >= 1 - dxj):
        limit = np.inf if dxj == 0 else (1 - dxj) / dxj
        raise ValueError(f"The 'kd' argument of {owner} is {kd_array.tolist()!r}: a confounder that strong would "
                         f"explain all of the treatment's residual variance (the benchmark explains {dxj:.4g} of it); "
                         f"kd must stay below {limit:.4g}.")
    r2_dz = kd_array * dxj / (1 - dxj)
    r2_zxj = kd_array * dxj**2 / ((1 - kd_array * dxj) * (1 - dxj))
    r2_yz = ((np.sqrt(ky_array) + np.sqrt(r2_zxj)) / np.sqrt(1 - r2_zxj)) ** 2 * yxj / (1 - yxj)
    r2_yz = np.minimum(r2_yz, 1.0)
    if r2_dz.ndim == 0 and r2_yz.ndim == 0:
        return float(r2_dz), float(r2_yz)
    r2_dz, r2_yz = np.broadcast_arrays(r2_dz, r2_yz)
    return r2_dz.copy(), r2_yz.copy()


# --------------------------------------------------------------------------------------- partial R^2 from data
def _residual_ss(target: np.ndarray, design: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coef
    return float(residual @ residual)


def partial_r2(target: Any, regressors: Any, given: Any = None) -> float:
    """``R^2(target ~ regressors | given)``: the share of ``target``'s variance left after a least-squares fit on
    ``given`` (and an intercept) that ``regressors`` explain, ``1 - RSS(given + regressors) / RSS(given)``.

    target: (n,); regressors: (n,) or (n, k); given: (n,) or (n, m) or None (the intercept alone)."""
    owner = "partial_r2"
    y = np.asarray(target, dtype=float)
    if y.ndim != 1 or y.size < 3 or not np.all(np.isfinite(y)):
        raise ValueError(f"The 'target' argument of {owner} must be a finite (n,) array with n >= 3.")
    n = y.size
    blocks = []
    for name, value in (("regressors", regressors), ("given", given)):
        if value is None:
            blocks.append(np.empty((n, 0)))
            continue
        array = np.asarray(value, dtype=float)
        array = array[:, None] if array.ndim == 1 else array
        if array.ndim != 2 or array.shape[0] != n or not np.all(np.isfinite(array)):
            raise ValueError(f"The {name!r} argument of {owner} must be a finite (n,) or (n, k) array with the "
                             f"target's {n} rows. Got shape {np.shape(value)}.")
        blocks.append(array)
    if blocks[0].shape[1] == 0:
        raise ValueError(f"The 'regressors' argument of {owner} has no columns.")
    restricted = np.column_stack([np.ones(n), blocks[1]])
    rss_restricted = _residual_ss(y, restricted)
    if rss_restricted <= 1e-12 * max(float(y @ y), 1e-300):
        raise ValueError(f"{owner}: 'given' explains the target exactly; no residual variance is left to explain.")
    rss_full = _residual_ss(y, np.column_stack([restricted, blocks[0]]))
    return float(min(max(1.0 - rss_full / rss_restricted, 0.0), 1.0))


# ------------------------------------------------------------------------------------------------ the report
@dataclass(frozen=True)
class ConfounderScenario:
    """The estimate had a confounder of the given strength been adjusted for.

    Attributes
    ----------
    label: where the strengths come from (``"1x W"``: one times benchmark ``W``; ``"given"``; a user's name).
    r2_dz_x, r2_yz_dx: the confounder's partial R^2 with the treatment and with the outcome.
    bias: the size of the bias it implies; adjusted_estimate, adjusted_std_error, adjusted_t: the estimate, its
        classical standard error and t statistic (against 0) with it adjusted for.
    ci_low, ci_high: the adjusted interval (Student t with ``dof - 1`` degrees of freedom, the report's level).
    capped: ``r2_yz_dx`` reached 1 in a benchmark bound (the benchmark cannot be that strong on the outcome).
    """

    label: str
    r2_dz_x: float
    r2_yz_dx: float
    bias: float
    adjusted_estimate: float
    adjusted_std_error: float
    adjusted_t: float
    ci_low: float
    ci_high: float
    capped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "r2_dz_x": self.r2_dz_x, "r2_yz_dx": self.r2_yz_dx, "bias": self.bias,
                "adjusted_estimate": self.adjusted_estimate, "adjusted_std_error": self.adjusted_std_error,
                "adjusted_t": self.adjusted_t, "ci": [self.ci_low, self.ci_high], "capped": self.capped}


@dataclass(frozen=True)
class SensitivityReport:
    """A regression-adjusted effect and how strong an omitted confounder must be to change it.

    Attributes
    ----------
    treatment, outcome, covariates: the names; ``covariates`` the adjustment set (the graph's, or the given one).
    contrast: the treatment values ``(t0, t1)`` the effect compares (estimate = coefficient x (t1 - t0)).
    n, dof: rows, and the restricted regression's residual degrees of freedom ``n - 2 - len(covariates)`` (DML,
        AIPW: ``n - 1``, unused).
    estimate, std_error, t_value, ci_low, ci_high, level: the effect, its standard error (classical; DML: from the
        influence function), its t (z) statistic and its interval at ``level`` (Student t; DML, AIPW: normal).
    partial_r2: ``R^2(Y ~ D | X)`` (for DML and AIPW its analogue ``f^2 / (1 + f^2)``, ``f = |estimate| / S``: the
        extreme robustness value at q = 1); robustness_value: ``RV_q``; robustness_value_alpha: ``RV_{q,alpha}`` with
        ``alpha = 1 - level``; extreme_robustness_value: ``XRV_q``; q: the fraction of the estimate in question.
    reduce: confounders are taken to have pushed the estimate away from zero (the cautious direction).
    method: ``"regression"`` (Cinelli & Hazlett), ``"dml"`` or ``"aipw"`` (Chernozhukov et al.).
    bias_scale: ``S`` in effect units: a confounder of strengths ``(r2_dz, r2_yz)`` biases the estimate by at most
        ``S sqrt(r2_yz r2_dz / (1 - r2_dz))`` (``se sqrt(dof)`` for the regression; ``sqrt(E[eps^2] E[alpha^2])``
        for DML and AIPW).
    benchmarks: ``label -> (R^2(D ~ X_j | X_-j), R^2(Y ~ X_j | D, X_-j))`` of each benchmark covariate (group);
        for DML and AIPW its gains ``(treatment, outcome)`` from refitting without it (ratios; see the module
        docstring).
    scenarios: the estimate adjusted for each benchmark bound (``kd``, ``ky``) and each given scenario.
    info: how the adjustment set was chosen and the hidden nodes of the graph.
    influence: DML and AIPW: the per-row influence functions of the estimate and of ``S`` (for the intervals).
    """

    treatment: str
    outcome: str
    covariates: tuple[str, ...]
    contrast: tuple[float, float]
    n: int
    dof: int
    estimate: float
    std_error: float
    t_value: float
    ci_low: float
    ci_high: float
    level: float
    partial_r2: float
    robustness_value: float
    robustness_value_alpha: float
    extreme_robustness_value: float
    q: float
    reduce: bool
    method: str
    bias_scale: float
    benchmarks: dict[str, tuple[float, float]] = field(default_factory=dict)
    scenarios: tuple[ConfounderScenario, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)
    influence: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def scenario(self, r2_dz_x: float, r2_yz_dx: float, label: str = "given") -> ConfounderScenario:
        """The estimate adjusted for a confounder with these partial R^2 (for instance those
        :func:`confounder_strength` measures on a variable the analysis left out)."""
        return _scenario(self, float(_r2(r2_dz_x, "r2_dz_x", "SensitivityReport.scenario", below_one=True)),
                         float(_r2(r2_yz_dx, "r2_yz_dx", "SensitivityReport.scenario")), label)

    def adjusted_estimates(self, r2_dz_x: Any, r2_yz_dx: Any) -> np.ndarray:
        """Adjusted estimates over a grid: arrays of partial R^2 broadcast against each other."""
        owner = "SensitivityReport.adjusted_estimates"
        dz = _r2(r2_dz_x, "r2_dz_x", owner, below_one=True)
        yz = _r2(r2_yz_dx, "r2_yz_dx", owner)
        bias = self.bias_scale * np.sqrt(yz * dz / (1.0 - dz))
        sign = 1.0 if self.estimate >= 0 else -1.0
        return sign * (abs(self.estimate) - bias) if self.reduce else sign * (abs(self.estimate) + bias)

    def plot(self, *, limit: float | None = None, resolution: int = 101, ax: Any = None) -> Any:
        """The contour plot of the adjusted estimate over ``(r2_dz_x, r2_yz_dx)`` in ``[0, limit]^2`` (default:
        enough to show every scenario, at least 0.4 and at most 0.99), with the level ``(1 - q)`` x estimate dashed
        and every scenario marked; one beyond the view (an outcome R^2 capped at 1, say) is drawn hollow on its
        edge, labelled as such. Returns the matplotlib Figure."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        owner = "SensitivityReport.plot"
        resolution = int(check_number(resolution, "resolution", owner, low=11, integer=True))
        if limit is None:
            largest = max([0.0] + [max(s.r2_dz_x, s.r2_yz_dx) for s in self.scenarios])
            limit = min(max(0.4, 1.25 * largest), 0.99)
        limit = float(check_number(limit, "limit", owner, low=0.0, high=1.0, low_inclusive=False,
                                   high_inclusive=False))
        grid = np.linspace(0.0, limit, resolution)
        dz, yz = np.meshgrid(grid, grid, indexing="xy")
        values = self.adjusted_estimates(dz, yz)
        if ax is None:
            figure, ax = plt.subplots(figsize=(5.0, 4.5))
        else:
            figure = ax.figure
        span = max(abs(self.estimate), 1e-12)  # levels between -|estimate| and |estimate|: the values explode
        levels = [v for v in np.linspace(-span, span, 9) if values.min() < v < values.max()]  # as r2_dz -> 1
        contours = ax.contour(dz, yz, values, levels=levels or 5, colors="grey", linewidths=0.8)
        ax.clabel(contours, fontsize=7, fmt="%.3g")
        threshold = (1 - self.q) * self.estimate
        if values.min() < threshold < values.max():
            ax.contour(dz, yz, values, levels=[threshold], colors="red", linestyles="--", linewidths=1.5)
        ax.plot([0], [0], "k^")
        ax.annotate(f"unadjusted ({self.estimate:.3g})", (0, 0), xytext=(4, 4), textcoords="offset points", fontsize=7)
        for item in self.scenarios:
            inside = item.r2_dz_x <= limit and item.r2_yz_dx <= limit
            point = (min(item.r2_dz_x, limit), min(item.r2_yz_dx, limit))  # beyond the view: on its edge, hollow
            ax.plot([point[0]], [point[1]], marker="d", linestyle="none", color="red",
                    fillstyle="full" if inside else "none", clip_on=False)
            note = "" if inside else (", capped" if item.capped else ", off the plot")
            ax.annotate(f"{item.label} ({item.adjusted_estimate:.3g}{note})", point, xytext=(4, -10 if not inside
                        else 4), textcoords="offset points", fontsize=7)
        ax.set_xlabel(f"partial R² of the confounder with the treatment ({self.treatment})")
        ax.set_ylabel(f"partial R² of the confounder with the outcome ({self.outcome})")
        ax.set_title(f"Adjusted effect of {self.treatment} on {self.outcome}", fontsize=9)
        ax.set_xlim(0, limit)
        ax.set_ylim(0, limit)
        return figure

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready (non-finite numbers, such as the t of a scenario with ``r2_yz_dx = 1``, as None)."""
        from latentscm._io import json_ready

        return json_ready({"kind": "sensitivity", "treatment": self.treatment, "outcome": self.outcome,
                "covariates": list(self.covariates), "contrast": list(self.contrast), "n": self.n, "dof": self.dof,
                "estimate": self.estimate, "std_error": self.std_error, "t_value": self.t_value,
                "ci": [self.ci_low, self.ci_high], "level": self.level, "partial_r2": self.partial_r2,
                "robustness_value": self.robustness_value, "robustness_value_alpha": self.robustness_value_alpha,
                "extreme_robustness_value": self.extreme_robustness_value, "q": self.q, "reduce": self.reduce,
                "method": self.method, "bias_scale": self.bias_scale,
                "benchmarks": {k: list(v) for k, v in self.benchmarks.items()},
                "scenarios": [s.to_dict() for s in self.scenarios], "info": dict(self.info)})

    def __str__(self) -> str:
        alpha = 1 - self.level
        fit = (f"t {self.t_value:.3g}, df {self.dof}" if self.method == "regression"
               else f"z {self.t_value:.3g}, {self.method.upper()} with {self.info.get('outcome_learner')}/"
                    f"{self.info.get('treatment_learner')} learners")
        lines = [
            f"effect of {self.treatment} on {self.outcome} ({self.contrast[0]:g} -> {self.contrast[1]:g}), "
            f"adjusting for {list(self.covariates)}: {self.estimate:.4g} (se {self.std_error:.3g}, {fit}); "
            f"{100 * self.level:g}% CI [{self.ci_low:.4g}, {self.ci_high:.4g}]",
            f"partial R2 of the treatment with the outcome: {100 * self.partial_r2:.2f}% (a confounder explaining all "
            f"of the outcome's residual variance must explain this much of the treatment's)",
            f"robustness value RV_q (q = {self.q:g}): {100 * self.robustness_value:.2f}%; RV_q,alpha (alpha = "
            f"{alpha:.3g}): {100 * self.robustness_value_alpha:.2f}%",
        ]
        if self.scenarios:
            lines.append(f"{'scenario':<24} {'R2 d~z|x':>9} {'R2 y~z|d,x':>11} {'adjusted':>10} {'se':>9} "
                         f"{'CI':>23}")
            for s in self.scenarios:
                mark = "*" if s.capped else ""
                lines.append(f"{s.label[:24]:<24} {s.r2_dz_x:>9.4f} {s.r2_yz_dx:>10.4f}{mark:1} "
                             f"{s.adjusted_estimate:>10.4g} {s.adjusted_std_error:>9.3g} "
                             f"[{s.ci_low:>9.4g}, {s.ci_high:>9.4g}]")
            if any(s.capped for s in self.scenarios):
                lines.append("(* the bound on the outcome's partial R2 reached 1)")
        if self.info.get("impossible"):
            lines.append(f"impossible (a confounder that strong would explain all of the treatment's residual "
                         f"variance): {', '.join(self.info['impossible'])}")
        return "\n".join(lines)


def _scenario(report: SensitivityReport, r2_dz: float, r2_yz: float, label: str,
              capped: bool = False) -> ConfounderScenario:
    """The estimate adjusted for a confounder of strengths ``(r2_dz, r2_yz)``, with its error and interval."""
    strength = float(np.sqrt(r2_yz * r2_dz / (1.0 - r2_dz)))
    bias = strength * report.bias_scale
    value = float(report.adjusted_estimates(r2_dz, r2_yz))
    if report.method != "regression":
        # the bound's influence function (Chernozhukov et al. 2022): the estimate's, moved by the scale's in the
        # direction the bound moves the estimate
        direction = (1.0 if report.estimate >= 0 else -1.0) * (-1.0 if report.reduce else 1.0)
        psi = report.influence["estimate"] + direction * strength * report.influence["scale"]
        adjusted_se = float(np.sqrt(np.mean(psi**2) / psi.size))
        half = float(stats.norm.ppf(0.5 + report.level / 2)) * adjusted_se
    else:
        if report.dof < 2:
            raise ValueError(f"{_OWNER}: an adjusted standard error needs dof >= 2 (the data leave {report.dof}).")
        adjusted_se = float(adjusted_std_error(report.std_error, report.dof, r2_dz, r2_yz))
        half = float(stats.t.ppf(0.5 + report.level / 2, report.dof - 1)) * adjusted_se
    t_value = value / adjusted_se if adjusted_se > 0 else float(np.sign(value) * np.inf)
    return ConfounderScenario(label, r2_dz, r2_yz, bias, value, adjusted_se, t_value, value - half, value + half,
                              capped)


# -------------------------------------------------------------------------------------------------- from data
def _columns(data: Any, graph: Any, covariates: Any, treatment: str, outcome: str, adjustment: Any,
             node_names: Sequence[str] | None) -> tuple[dict[str, np.ndarray], tuple[str, ...], dict[str, Any]]:
    from latentscm.discovery.pc import as_data_matrix
    from latentscm.effects.estimate import checked_columns, resolve_adjustment

    if (graph is None) == (covariates is None):
        which = "both" if graph is not None else "neither"
        raise ValueError(f"{_OWNER}: give either 'graph' (the adjustment set is the graph's choice) or "
                         f"'covariates' (the columns to adjust for, your claim), not {which}.")
    if graph is not None:
        column, chosen, hidden, rule = resolve_adjustment(data, graph, treatment, outcome, adjustment, node_names,
                                                          owner=_OWNER)
        return column, tuple(chosen), {"adjustment": rule if isinstance(rule, str) else "given", "hidden": hidden}
    if adjustment is not None:
        raise ValueError(f"The 'adjustment' argument of {_OWNER} chooses a set from 'graph'; with 'covariates' "
                         f"there is nothing to choose.")
    _, names = as_data_matrix(data, node_names, _OWNER)
    column = checked_columns(data, node_names, names, treatment, outcome, _OWNER)
    items = [covariates] if isinstance(covariates, str) else list(covariates)
    for item in items:
        if not isinstance(item, str) or item not in column:
            raise ValueError(f"The 'covariates' argument of {_OWNER} names {item!r}, which is not a column of the "
                             f"data ({list(column)}).")
        if item in (treatment, outcome):
            raise ValueError(f"The 'covariates' argument of {_OWNER} names {item!r}, the treatment or outcome.")
    if len(set(items)) != len(items):
        raise ValueError(f"The 'covariates' argument of {_OWNER} repeats a column: {items}.")
    return column, tuple(items), {"adjustment": "covariates", "hidden": []}


def _benchmark_groups(benchmark: Any, covariates: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    if benchmark is None:
        return []
    items = [benchmark] if isinstance(benchmark, str) else list(benchmark)
    groups = []
    for item in items:
        group = (item,) if isinstance(item, str) else tuple(item)
        if not group or not all(isinstance(v, str) for v in group):
            raise ValueError(f"The 'benchmark' argument of {_OWNER} must be covariate names or groups (lists) of "
                             f"them. Got {item!r}.")
        outside = [v for v in group if v not in covariates]
        if outside:
            raise ValueError(f"The 'benchmark' argument of {_OWNER} names {outside}, not in the adjustment set "
                             f"{list(covariates)}: a benchmark is a covariate the regression adjusts for.")
        groups.append(("+".join(group), group))
    return groups


def _multiples(value: Any, name: str) -> np.ndarray:
    array = np.atleast_1d(np.asarray(value, dtype=float))
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"The {name!r} argument of {_OWNER} must be one or more multiples > 0. Got {value!r}.")
    return array


#: The estimators :func:`sensitivity_analysis` bounds.
SENSITIVITY_METHODS = ("regression", "dml", "aipw")


def sensitivity_analysis(data: Any, graph: Any = None, treatment: str | None = None,
                         outcome: str | None = None, *, method: str = "regression",
                         covariates: Sequence[str] | None = None, adjustment: Any = None,
                         benchmark: Any = None, kd: Any = (1.0, 2.0, 3.0), ky: Any = None, q: float = 1.0,
                         level: float = 0.95, reduce: bool = True, contrast: Sequence[float] | None = None,
                         scenarios: Mapping[str, Sequence[float]] | None = None, outcome_learner: Any = "linear",
                         treatment_learner: Any = "linear", n_folds: int = 5, trim: float = 0.01, seed: int = 0,
                         node_names: Sequence[str] | None = None) -> SensitivityReport:
    """How strong an omitted confounder would have to be to change an adjusted effect (see the module docstring).

    Parameters
    ----------
    data: (n, d) array with ``node_names``, a mapping ``name -> (n,)`` or a DataFrame.
    graph: the causal graph (a DAG, CPDAG or PAG, as :func:`~latentscm.effects.estimate_effect` takes) that picks
        the adjustment set; or None with ``covariates``.
    treatment, outcome: column names.
    method: ``"regression"``: the least-squares coefficient and Cinelli & Hazlett's exact formulas; ``"dml"``: the
        partially linear model fitted by cross-fitted learners (``estimate_effect(method="dml")``'s estimate) and
        Chernozhukov et al.'s bounds with influence-function intervals; ``"aipw"``: the same for the cross-fitted
        doubly robust ATE of a binary treatment (``estimate_effect(method="aipw")``'s estimate), whose Riesz
        representer is ``D / e - (1 - D) / (1 - e)``: there ``r2_dz_x`` is ``1 - R^2`` of the long representer on
        the short one (how much the confounder would sharpen the propensity), not a partial R^2 with ``D``.
    covariates: instead of a graph, the columns to adjust for (the analyst's claim that they suffice).
    adjustment: with a graph, the rule or explicit set, as in ``estimate_effect`` (default: optimal; canonical for
        a PAG).
    benchmark: covariates of the adjustment set to compare a confounder with: a name, a list of names (each its own
        benchmark) or lists within it (a group, its joint partial R^2; for DML and AIPW its joint gains).
    kd, ky: multiples of each benchmark's strength with the treatment and with the outcome (``ky`` default
        ``kd``; paired, so of the same length). For the regression the bound is Cinelli & Hazlett's (a confounder
        independent of the benchmark given the other covariates); for DML it is the benchmark's gains (from
        refitting without it; see the module docstring) times ``kd`` and ``ky``. A multiple that would explain all
        of the treatment's residual variance is impossible: it is skipped and listed in ``info["impossible"]``.
    q: the fraction of the estimate a confounder would remove (1: all of it), > 0.
    level: the confidence level of the intervals; ``RV_{q,alpha}`` uses ``alpha = 1 - level``.
    reduce: confounders push the estimate away from zero (True, the cautious reading) or towards it.
    contrast: treatment values ``(t0, t1)``; the effect is the coefficient times ``t1 - t0`` (AIPW: the ATE of
        ``t1`` against ``t0``) (default: the two values of a binary treatment, else (0, 1)).
    scenarios: more confounders to show, ``label -> (r2_dz_x, r2_yz_dx)``.
    outcome_learner, treatment_learner, n_folds, trim, seed: the learners, cross-fitting and propensity truncation of
        DML and AIPW (as ``estimate_effect``).

    Returns
    -------
    SensitivityReport
    """
    from latentscm._validation import check_choice
    from latentscm.effects.estimate import _contrast

    column, chosen, info = _columns(data, graph, covariates, treatment, outcome, adjustment, node_names)
    check_choice(method, "method", _OWNER, SENSITIVITY_METHODS)
    level = float(check_number(level, "level", _OWNER, low=0.0, high=1.0, low_inclusive=False,
                               high_inclusive=False))
    q = float(check_number(q, "q", _OWNER, low=0.0, low_inclusive=False))
    if not isinstance(reduce, (bool, np.bool_)):
        raise TypeError(f"The 'reduce' argument of {_OWNER} must be True or False. Got {reduce!r}.")
    groups = _benchmark_groups(benchmark, chosen)
    kd_values = _multiples(kd, "kd")
    ky_values = kd_values if ky is None else _multiples(ky, "ky")
    if ky_values.size != kd_values.size:
        raise ValueError(f"The 'ky' argument of {_OWNER} pairs with 'kd': {ky_values.size} values for "
                         f"{kd_values.size}.")
    y, d = column[outcome], column[treatment]
    t0, t1 = _contrast(d, contrast, method == "aipw", method, _OWNER,
                       alternatives="method='dml' or 'regression'")
    width = t1 - t0
    x = np.column_stack([column[v] for v in chosen]) if chosen else np.empty((d.size, 0))
    if method == "regression":
        fit = _regression_fit(y, d, x, chosen, groups)
    else:
        n_folds = int(check_number(n_folds, "n_folds", _OWNER, low=2, integer=True))
        seed = int(check_number(seed, "seed", _OWNER, low=0, integer=True))
        trim = float(check_number(trim, "trim", _OWNER, low=0.0, high=0.5, high_inclusive=False))
        treatment_column = (d == t1).astype(float) if method == "aipw" else d
        fit = _debiased_fit(method, y, treatment_column, x, groups, chosen, outcome_learner, treatment_learner,
                            n_folds, seed, trim)
        info.update(outcome_learner=fit["learners"][0], treatment_learner=fit["learners"][1], n_folds=n_folds,
                    seed=seed, **({"trim": trim} if method == "aipw" else {}))
        if method == "aipw":
            width = 1.0  # the ATE of t0 -> t1 itself, not a slope
    n, dof = d.size, fit["dof"]
    estimate, std_error = fit["slope"] * width, fit["slope_se"] * abs(width)
    f = abs(fit["slope"]) / fit["scale"]
    if method == "regression":
        half = float(stats.t.ppf(0.5 + level / 2, dof)) * std_error
        rv_alpha = robustness_value(fit["slope"] / fit["slope_se"], dof, q=q, alpha=1 - level)
    else:
        half = float(stats.norm.ppf(0.5 + level / 2)) * std_error
        rv_alpha = float("nan")  # set below, once the report can score scenarios
    report = SensitivityReport(
        treatment=treatment, outcome=outcome, covariates=chosen, contrast=(t0, t1), n=n, dof=dof,
        estimate=estimate, std_error=std_error, t_value=estimate / std_error, ci_low=estimate - half,
        ci_high=estimate + half, level=level, partial_r2=_xrv(f), robustness_value=_rv(q * f),
        robustness_value_alpha=rv_alpha, extreme_robustness_value=_xrv(q * f), q=q,
        reduce=bool(reduce), method=method, bias_scale=fit["scale"] * abs(width), benchmarks=fit["benchmarks"],
        info={**info, "std_error": "classical" if method == "regression" else "influence function",
              "kd": kd_values.tolist(), "ky": ky_values.tolist()},
        influence={k: v * (width if k == "estimate" else abs(width)) for k, v in fit.get("influence", {}).items()})
    if method != "regression":
        report = SensitivityReport(**{**report.__dict__, "robustness_value_alpha": _rv_alpha_numeric(report)})
    found, impossible = [], []
    for label, (dxj, yxj) in report.benchmarks.items():
        for a, b in zip(kd_values, ky_values):
            if method == "regression":
                if a * dxj >= 1 - dxj:  # Cinelli & Hazlett's bound needs kd r2 / (1 - r2) < 1
                    impossible.append(_multiple_label(a, b, label))
                    continue
                r2_dz, r2_yz = benchmark_bounds(dxj, yxj, kd=a, ky=b)
            else:
                if a * dxj >= 1:
                    impossible.append(_multiple_label(a, b, label))
                    continue
                r2_dz, r2_yz = a * dxj, min(b * yxj, 1.0)
            found.append(_scenario(report, float(r2_dz), float(r2_yz), _multiple_label(a, b, label),
                                   capped=bool(r2_yz >= 1.0)))
    if impossible:
        report.info["impossible"] = impossible
    for label, pair in (scenarios or {}).items():
        if not isinstance(pair, (Sequence, np.ndarray)) or isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"The 'scenarios' argument of {_OWNER} maps a label to (r2_dz_x, r2_yz_dx). Got "
                             f"{label!r}: {pair!r}.")
        found.append(report.scenario(pair[0], pair[1], str(label)))
    return SensitivityReport(**{**report.__dict__, "scenarios": tuple(found)})


def _rv(f_q: float) -> float:
    """The equal partial R^2 ``r`` with ``r / sqrt(1 - r) = f_q``: ``(sqrt(f_q^4 + 4 f_q^2) - f_q^2) / 2``, computed
    as ``2 / (1 + sqrt(1 + 4 / f_q^2))`` (the same number without the cancellation that zeroes it for f_q > 1e8)."""
    if f_q == 0:
        return 0.0
    with np.errstate(over="ignore"):
        return float(2.0 / (1.0 + np.sqrt(1.0 + 4.0 / f_q**2)))


def _xrv(f_q: float) -> float:
    """``f_q^2 / (1 + f_q^2)``, finite for any ``f_q``."""
    if f_q == 0:
        return 0.0
    with np.errstate(over="ignore"):
        return float(1.0 / (1.0 + 1.0 / f_q**2))


def _rv_alpha_numeric(report: SensitivityReport) -> float:
    """DML's ``RV_{q,alpha}``: the smallest equal strength ``r`` at which the adjusted interval reaches
    ``(1 - q)`` times the estimate (found on a grid, then refined by bisection; along the diagonal, as
    Chernozhukov et al. report it)."""
    from scipy.optimize import brentq

    report = SensitivityReport(**{**report.__dict__, "reduce": True})  # RV asks what brings the estimate down
    target = (1 - report.q) * abs(report.estimate)
    sign = 1.0 if report.estimate >= 0 else -1.0

    def gap(r: float) -> float:  # > 0 while the interval's end nearer zero stays beyond the threshold
        scenario = _scenario(report, r, r, "rv")
        return (scenario.ci_low if sign > 0 else -scenario.ci_high) - target

    if gap(0.0) <= 0:
        return 0.0
    grid = np.linspace(0.0, 0.9999, 401)
    values = [gap(r) for r in grid]
    for left, right, a, b in zip(grid[:-1], grid[1:], values[:-1], values[1:]):
        if a > 0 >= b:
            return float(brentq(gap, left, right, xtol=1e-10))
    return 1.0


def _ols(target: np.ndarray, design: np.ndarray) -> dict[str, Any]:
    """Least squares of ``target`` (n,) on ``design`` (n, p): ``coef`` (p,), classical ``t`` statistics (p,),
    residual ``dof``, ``sigma2`` and ``inverse`` = (X'X)^-1 (p, p), taken on unit-norm columns for conditioning."""
    scale = np.linalg.norm(design, axis=0)
    scale[scale == 0] = 1.0
    inverse = np.linalg.inv((design / scale).T @ (design / scale)) / np.outer(scale, scale)
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = target - design @ coef
    dof = design.shape[0] - design.shape[1]
    sigma2 = float(residual @ residual) / dof
    return {"coef": coef, "t": coef / np.sqrt(sigma2 * np.diag(inverse)), "dof": dof, "sigma2": sigma2,
            "inverse": inverse}


def _regression_fit(y: np.ndarray, d: np.ndarray, x: np.ndarray, chosen: tuple[str, ...],
                    groups: list[tuple[str, tuple[str, ...]]]) -> dict[str, Any]:
    """The restricted least-squares fit: slope, classical se, dof, ``S = se sqrt(dof)``, benchmark partial R^2."""
    design = np.column_stack([np.ones(d.size), d, x])
    n, p = design.shape
    if n <= p + 1:
        raise ValueError(f"{_OWNER}: {n} rows for {p} coefficients (intercept, treatment, {p - 2} covariates) leave "
                         f"fewer than two residual degrees of freedom; give more rows.")
    scale = np.linalg.norm(design, axis=0)
    scale[scale == 0] = 1.0
    if np.linalg.matrix_rank(design / scale) < p:
        raise ValueError(f"{_OWNER}: the treatment and covariates {list(chosen)} are collinear; drop a redundant "
                         f"covariate.")
    outcome = _ols(y, design)
    dof = outcome["dof"]
    se = float(np.sqrt(outcome["sigma2"] * outcome["inverse"][1, 1]))
    if not se > 0:
        raise ValueError(f"{_OWNER}: the outcome is fitted exactly (zero residual variance); there is nothing for a "
                         f"confounder to explain.")
    benchmarks = {}
    if any(len(group) == 1 for _, group in groups):
        # one covariate's partial R^2 is t^2 / (t^2 + dof) of its coefficient, in the outcome fit above and in one
        # treatment fit d ~ 1 + x: two fits for any number of single benchmarks (groups refit, below)
        treatment = _ols(d, np.column_stack([np.ones(d.size), x]))
    for label, group in groups:
        inside = [chosen.index(v) for v in group]
        if len(group) == 1:
            a, b = float(treatment["t"][1 + inside[0]]) ** 2, float(outcome["t"][2 + inside[0]]) ** 2
            benchmarks[label] = (a / (a + treatment["dof"]), b / (b + dof))
            continue
        rest, own = np.delete(x, inside, axis=1), x[:, inside]
        benchmarks[label] = (partial_r2(d, own, rest), partial_r2(y, own, np.column_stack([d, rest])))
    return {"slope": float(outcome["coef"][1]), "slope_se": se, "dof": dof, "scale": se * np.sqrt(dof),
            "benchmarks": benchmarks}


def _partialled(y: np.ndarray, d: np.ndarray, x: np.ndarray, folds: np.ndarray, outcome_learner: Any,
                treatment_learner: Any, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Cross-fitted residuals ``u = Y - l(X)``, ``v = D - m(X)`` and the slope ``sum(u v) / sum(v^2)``."""
    from latentscm.effects.partially_linear import partialled_residuals

    u, v = partialled_residuals(y, d, x, folds, outcome_learner=outcome_learner,
                                treatment_learner=treatment_learner, seed=seed, owner=_OWNER)
    return u, v, float(np.sum(u * v) / np.sum(v**2))


def _elements(method: str, y: np.ndarray, d: np.ndarray, x: np.ndarray, folds: np.ndarray, outcome_learner: Any,
              treatment_learner: Any, seed: int, trim: float) -> dict[str, Any]:
    """The estimate and the sensitivity elements of one debiased fit (Chernozhukov et al. 2022): ``theta`` and its
    influence function; ``sigma2 = E[eps^2]``, the outcome's residual variance; ``nu2 = E[alpha^2]``, the Riesz
    representer's second moment; and the influence functions of both.

    ``"dml"`` (partially linear): ``eps = u - theta v``, ``alpha = v / E[v^2]``, ``nu2 = 1 / E[v^2]``.
    ``"aipw"`` (a binary ``d``, the ATE): ``eps = Y - g(D, X)``, ``alpha = D / e - (1 - D) / (1 - e)`` with the
    truncated propensity ``e``, and ``nu2`` the mean of ``2 (1 / e + 1 / (1 - e)) - alpha^2`` (its orthogonal
    form: ``E[alpha^2] = E[1 / e + 1 / (1 - e)]``)."""
    from latentscm.effects.doubly_robust import aipw_nuisances, aipw_score

    if method == "dml":
        u, v, theta = _partialled(y, d, x, folds, outcome_learner, treatment_learner, seed)
        eps = u - theta * v
        spread = float(np.mean(v**2))
        nu2 = 1.0 / spread
        return {"theta": theta, "psi_theta": eps * v / spread, "sigma2": float(np.mean(eps**2)),
                "psi_sigma2": eps**2 - float(np.mean(eps**2)), "nu2": nu2, "psi_nu2": nu2 - v**2 * nu2**2}
    treated = d.astype(bool)
    g1, g0, e, _, _ = aipw_nuisances(y, treated, x, folds, outcome_learner=outcome_learner,
                                     treatment_learner=treatment_learner, trim=trim, seed=seed, owner=_OWNER)
    score = aipw_score(y, treated, g1, g0, e)
    theta = float(np.mean(score))
    eps = y - np.where(treated, g1, g0)
    alpha = treated / e - (~treated) / (1.0 - e)
    nu2_terms = 2.0 * (1.0 / e + 1.0 / (1.0 - e)) - alpha**2
    sigma2, nu2 = float(np.mean(eps**2)), float(np.mean(nu2_terms))
    return {"theta": theta, "psi_theta": score - theta, "sigma2": sigma2, "psi_sigma2": eps**2 - sigma2,
            "nu2": nu2, "psi_nu2": nu2_terms - nu2}


def _checked(fit: dict[str, Any], owner: str, which: str = "") -> dict[str, Any]:
    """``fit`` (from :func:`_elements`), refused unless its outcome residual variance and Riesz second moment are
    finite and positive (a propensity of exactly 0 or 1 makes them NaN; an orthogonal estimate can go negative)."""
    if not (np.isfinite(fit["sigma2"]) and fit["sigma2"] > 0):
        raise ValueError(f"{owner}: the outcome is fitted exactly{which} (residual variance {fit['sigma2']:.3g}); "
                         f"there is nothing for a confounder to explain.")
    if not (np.isfinite(fit["nu2"]) and fit["nu2"] > 0):
        raise ValueError(f"{owner}: the Riesz representer's estimated second moment{which} is {fit['nu2']:.3g}, not "
                         f"positive and finite (propensities at or near 0 or 1); the bound cannot be scaled. Raise "
                         f"'trim' or check the overlap of the treatment arms.")
    return fit


def _debiased_fit(method: str, y: np.ndarray, d: np.ndarray, x: np.ndarray,
                  groups: list[tuple[str, tuple[str, ...]]], chosen: tuple[str, ...], outcome_learner: Any,
                  treatment_learner: Any, n_folds: int, seed: int, trim: float) -> dict[str, Any]:
    """The DML or AIPW fit and its bound's scale ``S = sqrt(sigma2 nu2)`` with the influence function of S, and
    each benchmark's gains from refitting without it, relative to the model with it (as Chernozhukov et al.
    benchmark): ``(nu2 - nu2_-j) / nu2_-j`` with the treatment (for DML ``(E[v_-j^2] - E[v^2]) / E[v^2]``) and
    ``(sigma2_-j - sigma2) / sigma2`` with the outcome (ratios, not R^2: they may exceed 1)."""
    from latentscm.effects.nuisance import fold_labels

    n = d.size
    if n < 2 * n_folds:
        raise ValueError(f"{_OWNER}: {n} rows for {n_folds} folds; give more rows or fewer folds.")
    folds = fold_labels(n, n_folds, seed)
    fit = _checked(_elements(method, y, d, x, folds, outcome_learner, treatment_learner, seed, trim), _OWNER)
    sigma2, nu2 = fit["sigma2"], fit["nu2"]
    scale = float(np.sqrt(sigma2 * nu2))
    psi_scale = (sigma2 * fit["psi_nu2"] + nu2 * fit["psi_sigma2"]) / (2 * scale)
    benchmarks = {}
    for label, group in groups:
        keep = [k for k, name in enumerate(chosen) if name not in group]
        short = _checked(_elements(method, y, d, x[:, keep], folds, outcome_learner, treatment_learner, seed, trim),
                         _OWNER, f" without benchmark {label!r}")
        benchmarks[label] = (max((nu2 - short["nu2"]) / short["nu2"], 0.0),
                             max((short["sigma2"] - sigma2) / sigma2, 0.0))
    names = [a if isinstance(a, str) else type(a).__name__ for a in (outcome_learner, treatment_learner)]
    return {"slope": fit["theta"], "slope_se": float(np.sqrt(np.mean(fit["psi_theta"] ** 2) / n)), "dof": n - 1,
            "scale": scale, "benchmarks": benchmarks,
            "influence": {"estimate": fit["psi_theta"], "scale": psi_scale}, "learners": names}


def _multiple_label(kd: float, ky: float, label: str) -> str:
    return f"{kd:g}x {label}" if kd == ky else f"{kd:g}x/{ky:g}x {label}"


def confounder_strength(data: Any, treatment: str, outcome: str, covariates: Sequence[str], confounder: Any, *,
                        method: str = "regression", outcome_learner: Any = "linear",
                        treatment_learner: Any = "linear", n_folds: int = 5, trim: float = 0.01, seed: int = 0,
                        node_names: Sequence[str] | None = None) -> tuple[float, float]:
    """The strength ``(r2_dz_x, r2_yz_dx)`` of a variable ``Z`` the analysis left out, measured where its values are
    known (a world's hidden factor, a simulation's latent): ``confounder`` names one column of ``data`` or a list
    of them (a group). Pass the result to :meth:`SensitivityReport.scenario` to get the estimate with ``Z``
    adjusted for (exactly, for one column and the regression).

    ``method="regression"``: the partial R^2 ``R^2(D ~ Z | X)`` and ``R^2(Y ~ Z | D, X)``. ``"dml"`` or ``"aipw"``:
    the nonparametric ones their bounds use, from cross-fitted fits with and without ``Z`` on the same folds:
    ``1 - E[alpha_X^2] / E[alpha_XZ^2]`` (for DML ``(E[v_X^2] - E[v_XZ^2]) / E[v_X^2]``) and
    ``(E[eps_X^2] - E[eps_XZ^2]) / E[eps_X^2]``; AIPW's treated arm is the treatment's larger value."""
    owner = "confounder_strength"
    from latentscm._validation import check_choice
    from latentscm.discovery.pc import as_data_matrix

    check_choice(method, "method", owner, SENSITIVITY_METHODS)
    matrix, names = as_data_matrix(data, node_names, owner)
    column = {v: matrix[:, j] for j, v in enumerate(names)}
    group = [confounder] if isinstance(confounder, str) else list(confounder)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    for role, items in (("treatment", [treatment]), ("outcome", [outcome]), ("covariates", covariates),
                        ("confounder", group)):
        for item in items:
            if not isinstance(item, str) or item not in column:
                raise ValueError(f"The {role!r} argument of {owner} names {item!r}, which is not a column of the "
                                 f"data ({list(column)}).")
    if not group:
        raise ValueError(f"The 'confounder' argument of {owner} names no column.")
    if treatment == outcome:
        raise ValueError(f"{owner}: 'treatment' and 'outcome' are both {treatment!r}.")
    clash = sorted({treatment, outcome} & set(covariates))
    if clash:
        raise ValueError(f"The 'covariates' argument of {owner} names {clash}, the treatment or outcome.")
    overlap = set(group) & ({treatment, outcome} | set(covariates))
    if overlap:
        raise ValueError(f"The 'confounder' argument of {owner} names {sorted(overlap)}, already the treatment, "
                         f"outcome or a covariate.")
    x = np.column_stack([column[v] for v in covariates]) if covariates else np.empty((matrix.shape[0], 0))
    z = np.column_stack([column[v] for v in group])
    d, y = column[treatment], column[outcome]
    if method == "regression":
        return partial_r2(d, z, x if covariates else None), partial_r2(y, z, np.column_stack([d, x]))
    from latentscm.effects.estimate import _contrast
    from latentscm.effects.nuisance import fold_labels

    n_folds = int(check_number(n_folds, "n_folds", owner, low=2, integer=True))
    seed = int(check_number(seed, "seed", owner, low=0, integer=True))
    trim = float(check_number(trim, "trim", owner, low=0.0, high=0.5, high_inclusive=False))
    if method == "aipw":
        d = (d == _contrast(d, None, True, method, owner)[1]).astype(float)
    folds = fold_labels(d.size, n_folds, seed)
    short, long = (_checked(_elements(method, y, d, m, folds, outcome_learner, treatment_learner, seed, trim), owner,
                            which) for m, which in ((x, " without the confounder"), (np.column_stack([x, z]),
                                                                                     " with the confounder")))
    return (min(max(1.0 - short["nu2"] / long["nu2"], 0.0), 1.0 - 1e-12),
            min(max((short["sigma2"] - long["sigma2"]) / short["sigma2"], 0.0), 1.0))
