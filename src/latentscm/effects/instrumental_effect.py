"""``instrumental_effect``: a total effect by two-stage least squares with conditional instruments, when hidden
confounders leave no adjustment set, with the diagnostics that say when not to trust it.

The instrumental set ``(Z, W)`` comes from the graph (:mod:`latentscm.effects.instrument`): instruments ``Z`` and
covariates ``W``. Two-stage least squares regresses ``Y`` on ``[X, 1, W]`` with ``[1, W, Z]`` as instruments
(Wooldridge, *Econometric analysis of cross section and panel data*, 2nd ed. 2010, §5.2); the slope of ``X`` is the
effect per unit of treatment, times ``t1 - t0`` for the contrast. In a linear structural equation model it is
consistent for the total effect; with a binary instrument and treatment it is the complier average effect (Angrist,
Imbens & Rubin, JASA 1996) under monotonicity, not the average effect.

Standard errors: ``"robust"`` (default; HC1, White's sandwich with the ``n / (n - p)`` factor) or ``"classical"``
(homoskedastic, ``σ² = u'u / (n - p)``). The diagnostics (``info``):

* ``first_stage``: the partial R² of the instruments in the regression of ``X`` on ``[1, W, Z]``, the F statistic of
  the instruments (``f``, classical), the HC1 Wald statistic / q (``f_robust``) and Montiel Olea & Pflueger's
  effective F (``f_effective``, J. Bus. Econ. Stat. 2013: ``π'Z'Zπ / tr(V_π Z'Z)``, the robust F for weak
  instruments; equal to ``f_robust`` with one instrument, to ``f`` under a classical ``V_π``). Below 10 (Staiger &
  Stock, Econometrica 1997; the effective F with robust standard errors) the instruments are weak: a warning is
  issued, the Wald interval is not to be trusted and the Anderson-Rubin set is the one to read.
* ``anderson_rubin``: the confidence set of Anderson & Rubin (Ann. Math. Statist. 1949), the values ``τ0`` for
  which the instruments do not explain ``Y - τ0 X`` given ``W``; its level holds however weak the instruments are.
  Inverting the test is a quadratic inequality in ``τ0`` (Dufour & Taamouti, Econometrica 2005), so the set is an
  interval, two rays, the whole line (no information) or empty (the instruments disagree), given exactly. It uses
  the classical F test, or with ``std_error="robust"`` the HC1 Wald test; with several instruments the boundary
  of that set solves a quadratic eigenvalue problem in ``τ0``, and the set can be a union of more pieces
  (``info`` says which test and which shape).
* ``sargan``: with more instruments than treatments, ``n · R²`` of the residuals on ``[1, W, Z]``, χ² with ``q - 1``
  degrees of freedom (Sargan, Econometrica 1958): a small p-value says the instruments disagree, so at least one
  is invalid (a test of the graph's exclusion restrictions, under homoskedasticity); ``overid_robust`` is
  Wooldridge's score test of the same (Wooldridge, J. Econometrics 1995), valid under heteroskedasticity.
* ``endogeneity``: the control-function test (Hausman, Econometrica 1978; Wooldridge 2010 §6.2.1): the t statistic
  of the first-stage residual added to the regression of ``Y`` on ``[X, 1, W]``; a small p-value says ordinary
  regression on ``W`` is biased, as the graph says it is.
* ``ols``: that ordinary regression's slope (times the contrast), for comparison.

``method="liml"`` and ``"fuller"`` are the other k-class estimators (:func:`linear_iv`; Anderson & Rubin 1949,
Fuller 1977): with many or weak instruments 2SLS is biased towards ordinary regression, LIML is nearly
median-unbiased and Fuller's (α = 1) has finite moments as well.

``method="dml"`` replaces the linear adjustment for ``W`` by cross-fitted learners: the partially linear IV model
of :func:`~latentscm.effects.partially_linear_iv.dml_iv_effect` (Chernozhukov et al. 2018), for covariates that
confound the instruments or the outcome nonlinearly. Its standard error is the score's; the diagnostics above are
computed on the cross-fitted residuals (so ``ols`` is the partially linear DML slope that adjusts for ``W`` alone).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from latentscm._validation import check_choice, check_number
from latentscm.effects.estimate import _contrast, as_causal_dag, checked_columns
from latentscm.effects.instrument import (
    INSTRUMENT_KINDS,
    NoInstrumentError,
    covariates_for,
    instrument_set,
    is_instrument_set,
)
from latentscm.effects.nuisance import fold_labels
from latentscm.effects.partially_linear_iv import dml_iv_effect
from latentscm.effects.regression import hc1_sandwich
from latentscm.effects.result import EffectEstimate, finite, normal_interval

__all__ = ["IV_METHODS", "IV_STD_ERRORS", "WEAK_INSTRUMENT_F", "instrumental_effect", "linear_iv",
           "two_stage_least_squares"]

#: The estimators of :func:`instrumental_effect`.
IV_METHODS = ("2sls", "liml", "fuller", "dml")

#: The standard errors of :func:`instrumental_effect`.
IV_STD_ERRORS = ("robust", "classical")
#: Below this first-stage F the instruments are called weak (Staiger & Stock 1997).
WEAK_INSTRUMENT_F = 10.0

_OWNER = "instrumental_effect"


def _lstsq(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(design, target, rcond=None)[0]


def _covariance(regressors: np.ndarray, residuals: np.ndarray, robust: bool) -> np.ndarray:
    """The coefficient covariance (p, p) of a least-squares fit on ``regressors`` (n, p): HC1 or classical."""
    n, p = regressors.shape
    bread = np.linalg.inv(regressors.T @ regressors)
    if robust:
        return hc1_sandwich(regressors, residuals, bread)
    return bread * float(residuals @ residuals) / (n - p)


def _quadratic_set(a: float, b: float, d: float, unit: float = 1.0) -> tuple[list[list[float]], str]:
    """``{τ : a τ² - 2 b τ + d <= 0}`` as closed intervals (±inf for rays) and a word for its shape. ``unit`` is
    the scale of τ (the outcome's spread over the treatment's): the quadratic is solved in ``t = τ / unit``, so the
    tolerances do not depend on the data's units."""
    a, b = a * unit * unit, b * unit
    scale = max(abs(a), abs(b), abs(d), 1e-300)
    a, b, d = a / scale, b / scale, d / scale
    disc = b * b - a * d
    if abs(a) < 1e-12:
        if abs(b) < 1e-12:
            return ([[-np.inf, np.inf]], "whole line") if d <= 0 else ([], "empty")
        root = unit * d / (2.0 * b)
        return ([[root, np.inf]], "ray") if b > 0 else ([[-np.inf, root]], "ray")
    if a > 0:
        if disc < 0:
            return [], "empty"
        half = np.sqrt(disc) / a
        return [[unit * (b / a - half), unit * (b / a + half)]], "interval"
    if disc < 0:
        return [[-np.inf, np.inf]], "whole line"
    low, high = sorted(((b - np.sqrt(disc)) / a, (b + np.sqrt(disc)) / a))
    return [[-np.inf, unit * low], [unit * high, np.inf]], "two rays"


def _robust_ar_set(yt: np.ndarray, xt: np.ndarray, zt: np.ndarray, dof: int, level: float, unit: float
                   ) -> tuple[list[list[float]], str]:
    """The HC1 Anderson-Rubin set with q >= 2 instruments: ``{τ : g(τ)' V(τ)^-1 g(τ) <= χ²_q}``, ``g`` the
    instruments' coefficients in the regression of ``y - τ x`` (all columns with the exogenous ones partialled out)
    and ``V`` their HC1 covariance. Its boundary is where ``det [[c, g'], [g, V]] = det V (c - g'V^-1 g)`` vanishes;
    ``g`` is linear and ``V`` quadratic in τ, so that is a quadratic eigenvalue problem, solved by its companion
    linearisation (in ``t = (τ - centre) / unit``, each instrument scaled to unit variance). Between the real roots
    the set is read off the statistic itself."""
    from scipy.linalg import eigvals

    # The statistic is invariant to Z -> Z A (A invertible): an orthonormal basis of the instruments keeps it
    # accurate when they are nearly collinear.
    zt = np.linalg.qr(zt)[0]
    n, q = zt.shape
    coef_y, coef_x = zt.T @ yt, zt.T @ xt  # least squares on orthonormal columns
    e_y, e_x = yt - zt @ coef_y, xt - zt @ coef_x
    crit = float(stats.chi2.ppf(level, q))
    centre = float(np.dot(coef_x, coef_y) / max(float(np.dot(coef_x, coef_x)), 1e-300))
    a, b = coef_y - centre * coef_x, unit * coef_x  # g(t) = a - t b
    f, h = e_y - centre * e_x, unit * e_x  # residuals e(t) = f - t h

    def sandwich(u: np.ndarray, v: np.ndarray) -> np.ndarray:  # HC1, the bread (Z'Z)^-1 = I
        return (zt * (u * v)[:, None]).T @ zt * (n / dof)

    v0, v2 = sandwich(f, f), sandwich(h, h)
    v1 = -(sandwich(f, h) + sandwich(h, f))
    spread = np.sqrt(np.clip(np.diag(v0), 1e-300, None))
    a, b = a / spread, b / spread
    v0, v1, v2 = (m / np.outer(spread, spread) for m in (v0, v1, v2))

    def statistic(t: float) -> float:
        g = a - t * b
        return float(g @ np.linalg.solve(v0 + t * v1 + t * t * v2, g))

    k = q + 1
    m0 = np.block([[np.array([[crit]]), a[None, :]], [a[:, None], v0]])
    m1 = np.block([[np.zeros((1, 1)), -b[None, :]], [-b[:, None], v1]])
    m2 = np.block([[np.zeros((1, 1)), np.zeros((1, q))], [np.zeros((q, 1)), v2]])
    companion = np.block([[np.zeros((k, k)), np.eye(k)], [-m0, -m1]])
    weight = np.block([[np.eye(k), np.zeros((k, k))], [np.zeros((k, k)), m2]])
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = eigvals(companion, weight)
    found = sorted(float(r.real) for r in roots if np.isfinite(r) and abs(r.imag) <= 1e-7 * (1.0 + abs(r.real)))
    real = [centre + unit * t for t in _polished(found, lambda t: statistic(t) - crit)]
    edges = [-np.inf, *real, np.inf]
    pieces: list[list[float]] = []
    for low, high in zip(edges[:-1], edges[1:]):
        if np.isinf(low) and np.isinf(high):
            probe = centre
        elif np.isinf(low):
            probe = high - unit * (1.0 + abs(high - centre) / unit)
        elif np.isinf(high):
            probe = low + unit * (1.0 + abs(low - centre) / unit)
        else:
            probe = 0.5 * (low + high)
        if statistic((probe - centre) / unit) <= crit:
            if pieces and pieces[-1][1] == low:
                pieces[-1][1] = high
            else:
                pieces.append([low, high])
    if not pieces:
        return [], "empty"
    if len(pieces) == 1:
        low, high = pieces[0]
        shape = ("whole line" if np.isinf(low) and np.isinf(high) else "ray" if np.isinf(low) or np.isinf(high)
                 else "interval")
        return pieces, shape
    if len(pieces) == 2 and np.isinf(pieces[0][0]) and np.isinf(pieces[1][1]):
        return pieces, "two rays"
    return pieces, f"union of {len(pieces)} pieces"


def _polished(roots: list[float], gap: Any) -> list[float]:
    """``roots`` (sorted) of ``gap`` moved to where ``gap`` changes sign nearby (Brent's method on the smallest
    bracket that shows one, widened 4-fold at a time, never past half-way to a neighbour): an eigenvalue solver's
    roots are off by its rounding, which a near-singular covariance magnifies."""
    from scipy.optimize import brentq

    polished = []
    for i, root in enumerate(roots):
        room = min([abs(root - other) / 2 for other in roots[:i] + roots[i + 1:]] + [1.0])
        step = 1e-10 * max(1.0, abs(root))
        while step <= room:
            low, high = root - step, root + step
            g_low, g_high = gap(low), gap(high)
            if g_low == 0.0 or g_high == 0.0 or (g_low < 0) != (g_high < 0):
                root = brentq(gap, low, high, xtol=1e-14 * max(1.0, abs(root)), rtol=1e-15)
                break
            step *= 4.0
        polished.append(root)
    return polished


def _residualise(columns: np.ndarray, exogenous: np.ndarray) -> np.ndarray:
    return columns - exogenous @ _lstsq(exogenous, columns)


def two_stage_least_squares(y: np.ndarray, x: np.ndarray, z: np.ndarray, w: np.ndarray, *, level: float = 0.95,
                            robust: bool = True) -> dict[str, Any]:
    """Two-stage least squares of ``y`` (n,) on the treatment ``x`` (n,) and the covariates ``w`` (n, k) with
    instruments ``z`` (n, q), q >= 1, and an intercept; the slope of ``x`` per unit, its standard error and the
    diagnostics of the module docstring. Inputs are assumed checked (finite, full rank)."""
    return linear_iv(y, x, z, w, estimator="2sls", level=level, robust=robust)


def _liml_kappa(y: np.ndarray, x: np.ndarray, exogenous: np.ndarray, instruments: np.ndarray) -> float:
    """LIML's ``κ``: the smallest root of ``det(Y' M_W Y - κ Y' M_Q Y) = 0`` for ``Y = [y, x]``, ``M_W`` and
    ``M_Q`` the annihilators of the exogenous regressors and of all instruments (Anderson & Rubin 1949)."""
    both = np.column_stack([y, x])
    outside_w = _residualise(both, exogenous)
    outside_q = _residualise(both, instruments)
    # κ = 1 / the largest root of (Y'M_W Y)^-1 Y'M_Q Y: stable when the instruments fix the treatment (Y'M_Q Y
    # singular, κ = 1).
    roots = np.linalg.eigvals(np.linalg.solve(outside_w.T @ outside_w, outside_q.T @ outside_q))
    return 1.0 / float(np.max(roots.real))


def linear_iv(y: np.ndarray, x: np.ndarray, z: np.ndarray, w: np.ndarray, *, estimator: str = "2sls",
              fuller: float = 1.0, level: float = 0.95, robust: bool = True) -> dict[str, Any]:
    """A k-class estimate of the slope of ``x`` (n,) on ``y`` (n,) with covariates ``w`` (n, k), instruments ``z``
    (n, q) and an intercept: ``"2sls"`` (κ = 1), ``"liml"`` (κ the smallest root of Anderson & Rubin's
    determinant) or ``"fuller"`` (κ_LIML - ``fuller`` / (n - k_Q), Fuller, Econometrica 1977: finite moments and
    less median bias under weak instruments). ``β = (X̃'R)^-1 X̃'y`` with ``X̃ = (1 - κ) R + κ P_Q R``; the HC1
    covariance is ``(X̃'R)^-1 (Σ u² r̂ r̂') (R'X̃)^-1 n / (n - p)`` with ``r̂`` the rows of ``P_Q R``; the
    diagnostics of the module docstring use its residuals. Inputs are assumed checked (finite, full rank)."""
    n, q = z.shape
    # Centred columns: every slope is unchanged, and a column whose mean dwarfs its spread stays well conditioned.
    y, x, z, w = y - np.mean(y), x - np.mean(x), z - np.mean(z, axis=0), w - np.mean(w, axis=0)
    ones = np.ones((n, 1))
    exogenous = np.column_stack([ones, w])
    instruments = np.column_stack([exogenous, z])
    regressors = np.column_stack([x, exogenous])
    k_inst = instruments.shape[1]
    fitted = instruments @ _lstsq(instruments, regressors)
    kappa = 1.0
    if estimator != "2sls":
        kappa = _liml_kappa(y, x, exogenous, instruments)
        if estimator == "fuller":
            kappa -= fuller / (n - k_inst)
    weighted = (1.0 - kappa) * regressors + kappa * fitted  # (I - κ M_Q) R
    gram = weighted.T @ regressors
    beta = np.linalg.solve(gram, weighted.T @ y)
    residuals = y - regressors @ beta
    inverse = np.linalg.inv(gram)
    if robust:  # the meat uses P_Q R, the k-class estimators' common influence function (as linearmodels does)
        meat = (fitted * residuals[:, None] ** 2).T @ fitted
        cov = inverse @ meat @ inverse.T * n / (n - regressors.shape[1])
    else:
        cov = inverse * float(residuals @ residuals) / (n - regressors.shape[1])
    slope, std_error = float(beta[0]), float(np.sqrt(cov[0, 0]))

    # First stage: X on [1, W, Z] against X on [1, W].
    first = _lstsq(instruments, x)
    first_resid = x - instruments @ first
    restricted = x - exogenous @ _lstsq(exogenous, x)
    rss_u, rss_r = float(first_resid @ first_resid), float(restricted @ restricted)
    dof = n - k_inst
    pi = first[-q:]
    # Instruments that fix the treatment exactly (full compliance, X = Z): an infinitely strong first stage.
    perfect = rss_u <= 1e-14 * rss_r
    yt, xt, zt = (_residualise(v, exogenous) for v in (y, x, z))
    if perfect:
        f_classical = f_robust = f_effective = np.inf
    else:
        f_classical = ((rss_r - rss_u) / q) / (rss_u / dof)
        cov_first = _covariance(instruments, first_resid, True)[-q:, -q:]
        f_robust = float(pi @ _lstsq(cov_first, pi)) / q
        spread = zt.T @ zt  # Montiel Olea & Pflueger's effective F: π'Z'Zπ / tr(V_π Z'Z)
        f_effective = float(pi @ spread @ pi) / float(np.trace(cov_first @ spread))
    f_used = f_effective if robust else f_classical

    # Anderson-Rubin: with [1, W] partialled out, a quadratic inequality in τ0.
    spread_y, spread_x = float(yt @ yt), float(xt @ xt)
    unit = float(np.sqrt(spread_y / spread_x)) if spread_y > 0 and spread_x > 0 else 1.0
    gram = zt.T @ zt
    zy, zx = zt.T @ yt, zt.T @ xt
    if robust and q == 1:
        s = zt[:, 0] / gram[0, 0]
        g_y, g_x = float(s @ yt), float(s @ xt)
        e_y, e_x = yt - zt[:, 0] * g_y, xt - zt[:, 0] * g_x
        factor = n / dof
        h_yy, h_xy, h_xx = (float(np.sum(s ** 2 * u * v)) * factor for u, v in ((e_y, e_y), (e_x, e_y), (e_x, e_x)))
        crit = float(stats.chi2.ppf(level, 1))
        ar, shape = _quadratic_set(g_x ** 2 - crit * h_xx, g_x * g_y - crit * h_xy, g_y ** 2 - crit * h_yy, unit)
        ar_test = "HC1 Wald, chi2(1)"
    elif robust:
        ar, shape = _robust_ar_set(yt, xt, zt, dof, level, unit)
        ar_test = f"HC1 Wald, chi2({q})"
    else:
        p_xx = float(zx @ np.linalg.solve(gram, zx))
        p_xy = float(zx @ np.linalg.solve(gram, zy))
        p_yy = float(zy @ np.linalg.solve(gram, zy))
        m_xx, m_xy, m_yy = float(xt @ xt) - p_xx, float(xt @ yt) - p_xy, float(yt @ yt) - p_yy
        c = q * float(stats.f.ppf(level, q, dof)) / dof
        ar, shape = _quadratic_set(p_xx - c * m_xx, p_xy - c * m_xy, p_yy - c * m_yy, unit)
        ar_test = f"classical F({q}, {dof})"

    # Control-function endogeneity test and the naive regression. When the instruments fix the treatment, 2SLS is
    # ordinary regression and Hausman's contrast between them is 0.
    if perfect:
        t_stat = 0.0
    else:
        augmented = np.column_stack([regressors, first_resid])
        coef = _lstsq(augmented, y)
        cf_cov = _covariance(augmented, y - augmented @ coef, robust)
        t_stat = float(coef[-1] / np.sqrt(cf_cov[-1, -1]))
    ols = float(_lstsq(regressors, y)[0])

    out: dict[str, Any] = {
        "slope": slope, "std_error": std_error, "estimator": estimator, "kappa": kappa,
        "first_stage": {"f": float(f_classical), "f_robust": float(f_robust), "f_effective": float(f_effective),
                        "partial_r2": 1.0 if perfect else (rss_r - rss_u) / rss_r,
                        "df": [q, dof], "coefficients": pi.tolist(), "weak": bool(f_used < WEAK_INSTRUMENT_F)},
        "anderson_rubin": {"intervals": ar, "shape": shape, "test": ar_test},
        "endogeneity": {"t": t_stat, "p_value": float(2.0 * stats.norm.sf(abs(t_stat)))},
        "ols": ols,
    }
    if q > 1:
        sargan = n * float(residuals @ instruments @ _lstsq(instruments, residuals)) / float(residuals @ residuals)
        out["sargan"] = {"statistic": sargan, "df": q - 1, "p_value": float(stats.chi2.sf(sargan, q - 1))}
        # Wooldridge's score test: q - 1 instruments net of the fitted regressors, times the residuals; n - SSR of
        # regressing 1 on them (heteroskedasticity-robust, and invariant to which q - 1 are taken).
        scores = residuals[:, None] * _residualise(z[:, :q - 1], fitted)
        ones = np.ones(n)
        left = ones - scores @ _lstsq(scores, ones)
        score_stat = n - float(left @ left)
        out["overid_robust"] = {"statistic": score_stat, "df": q - 1,
                                "p_value": float(stats.chi2.sf(score_stat, q - 1))}
    return out


def _check_design(z: np.ndarray, w: np.ndarray, x: np.ndarray, instruments: Sequence[str],
                  covariates: Sequence[str]) -> None:
    """Refuse data on which 2SLS is not defined: too few rows, collinear instruments and covariates, or a
    treatment that the covariates alone fix."""
    n = x.shape[0]
    design = np.column_stack([np.ones(n), w, z])
    if n <= design.shape[1] + 1:
        raise ValueError(f"The 'data' argument of {_OWNER} has {n} rows, too few for {z.shape[1]} instrument(s) and "
                         f"{w.shape[1]} covariate(s) (at least {design.shape[1] + 2} needed).")
    scale = np.linalg.norm(design, axis=0)
    scale[scale == 0] = 1.0
    rank = np.linalg.matrix_rank(design / scale)
    if rank < design.shape[1]:
        raise ValueError(f"{_OWNER}: the instruments {list(instruments)} and the covariates {list(covariates)} are "
                         f"collinear (rank {rank} < {design.shape[1]}), so the first stage is not identified; drop "
                         f"the redundant columns.")
    centred = x - np.mean(x)
    left = _residualise(x, np.column_stack([np.ones(n), w]))
    if float(left @ left) <= 1e-20 * float(centred @ centred):
        raise ValueError(f"{_OWNER}: the covariates {list(covariates)} determine the treatment, so no instrument can "
                         f"move it.")


def _chosen_set(dag: Any, treatment: str, outcome: str, instruments: Any, covariates: Any, kind: str,
                observed: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from latentscm.effects.adjustment import _names

    def columns(value: Any, what: str) -> tuple[str, ...]:
        chosen = _names(dag, value, what, _OWNER, empty=what == "covariates")
        hidden = sorted(chosen - set(observed))
        if hidden:
            raise ValueError(f"The {what!r} argument of {_OWNER} names {hidden}, which are not columns of the data.")
        if {treatment, outcome} & chosen:
            raise ValueError(f"The {what!r} argument of {_OWNER} holds the treatment or the outcome "
                             f"({sorted({treatment, outcome} & chosen)}).")
        return tuple(v for v in dag.nodes if v in chosen)

    given_w = None if covariates is None else columns(covariates, "covariates")
    if instruments is None:
        found = instrument_set(dag, treatment, outcome, kind, observed=observed, covariates=given_w)
        return found.instruments, found.covariates
    given_z = columns(instruments, "instruments")
    if given_w is None:
        try:
            return given_z, covariates_for(dag, treatment, outcome, given_z, observed=observed)
        except NoInstrumentError as error:
            raise ValueError(f"The 'instruments' argument of {_OWNER}: {error} Pass instruments=None to let the "
                             f"graph choose.") from None
    if set(given_z) & set(given_w):
        raise ValueError(f"The 'instruments' and 'covariates' arguments of {_OWNER} share "
                         f"{sorted(set(given_z) & set(given_w))}.")
    if not is_instrument_set(dag, treatment, outcome, given_z, given_w):
        raise ValueError(f"The 'instruments' argument of {_OWNER}: {list(given_z)} given the covariates "
                         f"{list(given_w)} is not a conditional instrumental set for the effect of {treatment!r} on "
                         f"{outcome!r} in this graph (an instrument or covariate descends from a node on a causal "
                         f"path, an instrument reaches the outcome other than through the treatment, or none reaches "
                         f"the treatment). Pass covariates=None to let the graph choose them.")
    return given_z, given_w


def instrumental_effect(data: Any, graph: Any, treatment: str, outcome: str, *,
                        instruments: str | Sequence[str] | None = None, covariates: Sequence[str] | None = None,
                        kind: str = "all", method: str = "2sls", std_error: str = "robust",
                        contrast: Sequence[float] | None = None, level: float = 0.95,
                        outcome_learner: Any = "linear", treatment_learner: Any = "linear", n_folds: int = 5,
                        seed: int = 0, node_names: Sequence[str] | None = None) -> EffectEstimate:
    """``E[outcome | do(treatment = t1)] - E[outcome | do(treatment = t0)]`` by two-stage least squares with
    conditional instruments chosen or checked by the graph.

    Parameters
    ----------
    data:
        (n, d) array with ``node_names``, a mapping ``name -> (n,)`` or a pandas DataFrame. Every column must be a
        node of ``graph``.
    graph:
        The causal DAG (:class:`~latentscm.graph.CausalGraph`, fully directed ``DiscoveredGraph`` or text). Its
        nodes that are not columns are hidden variables.
    treatment, outcome:
        Column names.
    instruments:
        A column name or list, checked against the graph, or None (default) for the graph's choice
        (:func:`~latentscm.effects.instrument_set` with ``kind``).
    covariates:
        The columns to condition on, or None (default) for the graph's choice (the nearest separator).
    kind:
        One of :data:`~latentscm.effects.INSTRUMENT_KINDS`, when the graph chooses the instruments.
    method:
        One of :data:`IV_METHODS`: two-stage least squares, LIML or Fuller's modification of it (κ - 1 / (n - k);
        less median bias with weak or many instruments), all linear in ``W``, or the partially linear IV model by
        double machine learning (module docstring).
    std_error:
        One of :data:`IV_STD_ERRORS` (``"dml"`` has the score's, a robust one, only).
    outcome_learner, treatment_learner, n_folds, seed:
        ``method="dml"`` only: the learners of ``E[Y | W]`` and of ``E[X | W]`` and ``E[Z_j | W]`` (names from
        :data:`~latentscm.effects.LEARNERS` or scikit-learn estimators), the cross-fitting folds and their seed.
    contrast, level:
        The treatment values ``(t0, t1)`` compared (default: the two values of a binary treatment, else one unit)
        and the confidence level.

    Returns
    -------
    EffectEstimate
        ``method`` as given; ``adjustment_set`` is empty; ``info`` holds ``instruments``, ``covariates``,
        ``identification="instrumental variables"``, ``hidden`` and the diagnostics of the module docstring (every
        interval scaled to the contrast). A warning is issued when the first-stage F is below
        :data:`WEAK_INSTRUMENT_F`.
    """
    dag = as_causal_dag(graph, _OWNER)
    column = checked_columns(data, node_names, dag.nodes, treatment, outcome, _OWNER)
    check_choice(kind, "kind", _OWNER, INSTRUMENT_KINDS)
    check_choice(method, "method", _OWNER, IV_METHODS)
    check_choice(std_error, "std_error", _OWNER, IV_STD_ERRORS)
    level = check_number(level, "level", _OWNER, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_folds = check_number(n_folds, "n_folds", _OWNER, low=2, integer=True)
    seed = check_number(seed, "seed", _OWNER, low=0, integer=True)
    if method != "dml" and not all(isinstance(v, str) and v == "linear" for v in (outcome_learner,
                                                                                     treatment_learner)):
        raise ValueError(f"The 'outcome_learner' and 'treatment_learner' arguments of {_OWNER} apply to "
                         f"method='dml'; method={method!r} is linear. Got {outcome_learner!r} and "
                         f"{treatment_learner!r}.")
    if method == "dml" and std_error != "robust":
        raise ValueError(f"The 'std_error' argument of {_OWNER}: method='dml' has the score's standard error "
                         f"(robust) only. Got {std_error!r}.")
    z_names, w_names = _chosen_set(dag, treatment, outcome, instruments, covariates, kind, list(column))
    x, y = column[treatment], column[outcome]
    t0, t1 = _contrast(x, contrast, False, "2sls", _OWNER)
    z = np.column_stack([column[v] for v in z_names])
    w = np.column_stack([column[v] for v in w_names]) if w_names else np.zeros((x.shape[0], 0))
    _check_design(z, w, x, z_names, w_names)
    details: dict[str, Any] = {}
    if method != "dml":
        fit = linear_iv(y, x, z, w, estimator=method, level=level, robust=std_error == "robust")
        details["kappa"] = fit["kappa"]
        slope, slope_se = fit["slope"], fit["std_error"]
    else:
        if x.shape[0] < 2 * n_folds:
            raise ValueError(f"The 'data' argument of {_OWNER} has {x.shape[0]} rows, too few for "
                             f"n_folds={n_folds}.")
        slope, slope_se, details = dml_iv_effect(y, x, z, w, fold_labels(x.shape[0], n_folds, seed),
                                                 outcome_learner=outcome_learner,
                                                 treatment_learner=treatment_learner, seed=seed, owner=_OWNER,
                                                 names=z_names)
        u, wr, v = details.pop("residuals")
        fit = two_stage_least_squares(u, wr, v, np.zeros((u.shape[0], 0)), level=level, robust=True)
        fit["ols"] = float(np.sum(u * wr) / np.sum(wr ** 2))
        details["diagnostics"] = "on the cross-fitted residuals"
    delta = t1 - t0
    estimate = finite(slope * delta, "effect", _OWNER)
    error = finite(slope_se * abs(delta), "standard error", _OWNER)
    low, high = normal_interval(estimate, error, level)
    ar = fit["anderson_rubin"]
    scaled = [sorted((float(a * delta), float(b * delta))) for a, b in ar["intervals"]]
    ar["intervals"] = sorted(scaled)
    fit["ols"] *= delta
    first = fit["first_stage"]
    if first["weak"]:
        f_used = first["f_effective"] if std_error == "robust" else first["f"]
        warnings.warn(f"{_OWNER}: the instruments {list(z_names)} are weak (first-stage F = {f_used:.3g} < "
                      f"{WEAK_INSTRUMENT_F:g}); the 2SLS interval can miss the effect far more often than its level "
                      f"says. Read info['anderson_rubin'] (valid however weak the instruments), or find stronger "
                      f"ones.", stacklevel=2)
    binary = np.unique(x).size == 2 and all(np.unique(column[v]).size == 2 for v in z_names)
    estimand = ("the complier average effect (binary instrument and treatment; needs monotonicity)" if binary
                else "the total effect in a linear model")
    hidden = [v for v in dag.nodes if v not in column]
    info = {"identification": "instrumental variables", "instruments": list(z_names), "covariates": list(w_names),
            "hidden": hidden, "std_error": std_error, "estimand": estimand, "first_stage": first,
            "anderson_rubin": ar, "endogeneity": fit["endogeneity"], "ols": fit["ols"], "seed": seed, **details}
    for key in ("sargan", "overid_robust"):
        if key in fit:
            info[key] = fit[key]
    return EffectEstimate(estimate=estimate, std_error=error, ci_low=low, ci_high=high, level=level, method=method,
                          treatment=treatment, outcome=outcome, contrast=(t0, t1), adjustment_set=(),
                          n=int(x.shape[0]), info=info)
