"""``mediation_sensitivity``: how the indirect effect moves if the mediator and the outcome share a hidden confounder.

The natural effects need "no unmeasured mediator–outcome confounding", which no data can check, even in a randomised
trial. Imai, Keele & Yamamoto (Stat. Sci. 2010) measure its violation by ``ρ``, the correlation of the errors of

    M = α2 + β2 T + ξ2·W + ε2        (the mediator model)
    Y = α3 + β3 T + γ M + ξ3·W + ε3  (the outcome model, no treatment–mediator interaction)

and the indirect effect is a function of ``ρ`` and of what the data identify. With the reduced form
``Y = α1 + β1 T + ξ1·W + ε1`` (so ``ε1 = γ ε2 + ε3``), ``σ_j² = Var(ε_j)`` and ``ρ̃ = corr(ε1, ε2)``:

    indirect(ρ) = β2 γ(ρ) = (β2 σ1 / σ2) (ρ̃ − ρ √((1 − ρ̃²) / (1 − ρ²))),    direct(ρ) = β1 − indirect(ρ)

(derived here from ``cov(ε1, ε2) = γ σ2² + ρ σ2 σ3`` and ``σ1² = γ² σ2² + σ3² + 2 γ ρ σ2 σ3``). At ``ρ = 0`` it is
the product of coefficients; it vanishes at ``ρ = ρ̃``. The same point in the other parametrisation of the paper:
a confounder explaining the shares ``R²*_M`` and ``R²*_Y`` of the two models' residual variances gives
``ρ² = R²*_M R²*_Y``, or, as shares ``R̃²`` of the variables' total variances, ``ρ² (1 − R²_M)(1 − R²_Y)``.

The intervals at each ``ρ`` are delta-method intervals from the influence functions of ``β2`` and of the residual
moments ``σ1², σ2², cov(ε1, ε2)`` (deterministic, no simulation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentscm._validation import check_number
from latentscm.effects.result import normal_interval

__all__ = ["MediationSensitivity", "mediation_sensitivity"]

_OWNER = "mediation_sensitivity"


@dataclass(frozen=True)
class MediationSensitivity:
    """The indirect and direct effects as functions of the error correlation ``ρ``.

    Attributes
    ----------
    rho:
        (g,) the grid of error correlations.
    indirect, indirect_low, indirect_high, direct:
        (g,) the indirect effect at each ``ρ``, its interval at ``level``, and the direct effect (total − indirect).
    total:
        The total effect (identified whatever ``ρ``).
    rho_at_zero:
        ``ρ̃``: the correlation at which the indirect effect is 0.
    r2_residual_product, r2_total_product:
        ``R²*_M R²*_Y`` and ``R̃²_M R̃²_Y`` at ``rho_at_zero``: how much residual (or total) variance of the mediator
        and the outcome a hidden confounder must explain, as a product, to erase the indirect effect.
    treatment, outcome, mediator, covariates, contrast, level, n, info:
        Names, ``(t0, t1)``, the interval level, the rows, and the fitted quantities.
    """

    rho: np.ndarray
    indirect: np.ndarray
    indirect_low: np.ndarray
    indirect_high: np.ndarray
    direct: np.ndarray
    total: float
    rho_at_zero: float
    r2_residual_product: float
    r2_total_product: float
    treatment: str
    outcome: str
    mediator: str
    covariates: tuple[str, ...]
    contrast: tuple[float, float]
    level: float
    n: int
    info: dict[str, Any] = field(default_factory=dict)

    def at(self, rho: float) -> tuple[float, float, float]:
        """``(indirect, low, high)`` at one correlation ``rho`` in (-1, 1) (computed, not interpolated)."""
        rho = check_number(rho, "rho", "MediationSensitivity.at", low=-1.0, high=1.0, low_inclusive=False,
                           high_inclusive=False)
        value, se = _indirect(self.info["_parts"], np.array([rho]))
        low, high = normal_interval(float(value[0]), float(se[0]), self.level)
        return float(value[0]), low, high

    def plot(self, ax: Any = None) -> Any:
        """The indirect effect against ``ρ`` with its interval band; returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 4.0))
        ax.fill_between(self.rho, self.indirect_low, self.indirect_high, color="0.85",
                        label=f"{100 * self.level:g}% interval")
        ax.plot(self.rho, self.indirect, color="black", label="indirect effect")
        ax.axhline(0.0, color="0.4", lw=0.8)
        ax.axvline(0.0, color="0.4", lw=0.8, ls=":")
        ax.axvline(self.rho_at_zero, color="tab:red", lw=1.0, ls="--", label=f"ρ = {self.rho_at_zero:.2f}")
        ax.set_xlabel("ρ: correlation of the mediator and outcome errors")
        ax.set_ylabel(f"indirect effect of {self.treatment} via {self.mediator}")
        ax.legend(frameon=False, fontsize=8)
        return ax

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the grid as lists)."""
        from latentscm._io import json_ready

        info = {k: v for k, v in self.info.items() if not k.startswith("_")}
        return json_ready({"rho": self.rho.tolist(), "indirect": self.indirect.tolist(),
                           "indirect_low": self.indirect_low.tolist(), "indirect_high": self.indirect_high.tolist(),
                           "direct": self.direct.tolist(), "total": self.total, "rho_at_zero": self.rho_at_zero,
                           "r2_residual_product": self.r2_residual_product, "r2_total_product": self.r2_total_product,
                           "treatment": self.treatment, "outcome": self.outcome, "mediator": self.mediator,
                           "covariates": list(self.covariates), "contrast": list(self.contrast), "level": self.level,
                           "n": self.n, "info": info})

    def __str__(self) -> str:
        t0, t1 = self.contrast
        at_zero = int(np.argmin(np.abs(self.rho)))
        pct = f"{100 * self.level:g}%"
        lines = [f"Sensitivity of the indirect effect of {self.treatment} ({t0:g} -> {t1:g}) on {self.outcome} via "
                 f"{self.mediator} to a hidden mediator-outcome confounder (Imai, Keele & Yamamoto 2010); n = {self.n}",
                 f"  at rho = {self.rho[at_zero]:.2f}: {self.indirect[at_zero]:.4g} ({pct} CI "
                 f"[{self.indirect_low[at_zero]:.4g}, {self.indirect_high[at_zero]:.4g}])",
                 f"  the indirect effect is 0 at rho = {self.rho_at_zero:.3f}: a confounder explaining residual "
                 f"variance shares with product R2*_M R2*_Y = {self.r2_residual_product:.3f} (total variance: "
                 f"{self.r2_total_product:.3f})"]
        return "\n".join(lines)


def _indirect(parts: dict[str, Any], rho: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The indirect effect at each ``rho`` (g,) and its delta-method standard error (g,)."""
    b2, s11, s22, c = parts["b2"], parts["s11"], parts["s22"], parts["c"]
    root = np.sqrt(s11 * s22 - c ** 2)
    shrink = rho / np.sqrt(1.0 - rho ** 2)
    gamma = (c - shrink * root) / s22
    value = parts["scale"] * b2 * gamma
    # d gamma / d (s11, s22, c), then the influence function of b2 * gamma.
    d_s11 = -shrink * (s22 / (2 * root)) / s22
    d_s22 = -shrink * (s11 / (2 * root)) / s22 - gamma / s22
    d_c = (1.0 + shrink * c / root) / s22
    infl = (np.outer(parts["if_b2"], gamma)
            + b2 * (np.outer(parts["if_s11"], d_s11) + np.outer(parts["if_s22"], d_s22)
                    + np.outer(parts["if_c"], d_c)))
    n = infl.shape[0]
    return value, np.abs(parts["scale"]) * np.sqrt(np.mean(infl ** 2, axis=0) / n)


def mediation_sensitivity(data: Any, graph: Any = None, treatment: str | None = None, outcome: str | None = None,
                          mediator: str | None = None, *, covariates: Sequence[str] | str | None = None,
                          rho: Sequence[float] | None = None, contrast: Sequence[float] | None = None,
                          level: float = 0.95, node_names: Sequence[str] | None = None) -> MediationSensitivity:
    """The indirect effect of ``treatment`` on ``outcome`` through one ``mediator`` over a grid of error
    correlations ``rho`` (default: -0.9 to 0.9 in steps of 0.05), with the linear models of
    :func:`~latentscm.effects.mediation_analysis` without interaction. ``graph`` and ``covariates`` as there: the
    graph's covariates are those that would make the effects identified if ``ρ`` were 0."""
    from latentscm.effects.estimate import _contrast
    from latentscm.effects.mediation import _least_squares, _resolve

    level = check_number(level, "level", _OWNER, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    if mediator is None or not isinstance(mediator, str):
        raise ValueError(f"The 'mediator' argument of {_OWNER} must be one column name (the sensitivity analysis "
                         f"of Imai, Keele & Yamamoto is for a single mediator). Got {mediator!r}.")
    grid = np.round(np.arange(-0.9, 0.9001, 0.05), 10) if rho is None else np.asarray(rho, dtype=float).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(np.abs(grid) >= 1):
        raise ValueError(f"The 'rho' argument of {_OWNER} must be correlations strictly between -1 and 1. "
                         f"Got {rho!r}.")
    from latentscm.effects.mediation_identification import NoMediationFormulaError

    try:
        column, (m_name,), _, w_names, chosen = _resolve(data, graph, treatment, outcome, mediator, covariates, None,
                                                         node_names, owner=_OWNER, suggest=False)
    except NoMediationFormulaError as error:
        raise NoMediationFormulaError(
            f"{error} The graph given to {_OWNER} is the one you would assume with rho = 0: leave a hidden "
            f"mediator-outcome confounder out of it (rho stands for it), or pass graph=None with covariates=[...].") \
            from None
    t, y, m = column[treatment], column[outcome], column[m_name]
    n = t.shape[0]
    t0, t1 = _contrast(t, contrast, False, "regression", _OWNER)
    w = np.column_stack([column[v] for v in w_names]) if w_names else np.zeros((n, 0))
    x = np.column_stack([np.ones(n), t, w])
    coef_m, e2, inv = _least_squares(m, x, "mediator model", _OWNER)
    coef_y, e1, _ = _least_squares(y, x, "reduced-form outcome model", _OWNER)
    s11, s22, c = float(np.mean(e1 ** 2)), float(np.mean(e2 ** 2)), float(np.mean(e1 * e2))
    if s11 * s22 - c ** 2 <= 1e-12 * s11 * s22:
        raise ValueError(f"{_OWNER}: the outcome's residual is a linear function of the mediator's, so the outcome "
                         f"has no error of its own; the sensitivity analysis needs a noisy outcome model.")
    if_beta = (x * e2[:, None]) @ inv  # (n, p): influence of the mediator model's coefficients
    scale = t1 - t0
    parts = {"b2": float(coef_m[1]), "s11": s11, "s22": s22, "c": c, "scale": scale, "if_b2": if_beta[:, 1],
             "if_s11": e1 ** 2 - s11, "if_s22": e2 ** 2 - s22, "if_c": e1 * e2 - c}
    value, se = _indirect(parts, grid)
    half = np.array([normal_interval(0.0, s, level)[1] for s in se])
    total = float(coef_y[1]) * scale
    rho0 = c / np.sqrt(s11 * s22)
    _, e3, _ = _least_squares(y, np.column_stack([x, m]), "outcome model", _OWNER)
    r2_m, r2_y = 1.0 - s22 / np.var(m), 1.0 - float(np.mean(e3 ** 2)) / np.var(y)
    return MediationSensitivity(
        rho=grid, indirect=value, indirect_low=value - half, indirect_high=value + half, direct=total - value,
        total=total, rho_at_zero=float(rho0), r2_residual_product=float(rho0 ** 2),
        r2_total_product=float(rho0 ** 2 * (1.0 - r2_m) * (1.0 - r2_y)), treatment=treatment, outcome=outcome,
        mediator=m_name, covariates=w_names, contrast=(t0, t1), level=level, n=n,
        info={**chosen, "mediator_treatment_coefficient": parts["b2"], "residual_sd": [np.sqrt(s11), np.sqrt(s22)],
              "r2_mediator_model": float(r2_m), "r2_outcome_model": float(r2_y), "_parts": parts,
              "std_error": "influence function (delta method)"})
