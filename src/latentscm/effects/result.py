"""The result of an effect estimate: the number, its standard error and confidence interval, and how
it was obtained."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["CateCoefficient", "EffectEstimate", "IntervalEstimate", "normal_interval"]


def normal_interval(estimate: float, std_error: float, level: float) -> tuple[float, float]:
    """The two-sided normal (Wald) interval ``estimate ± z_{(1+level)/2} · std_error``."""
    half = float(stats.norm.ppf(0.5 + level / 2.0)) * std_error
    return estimate - half, estimate + half


@dataclass(frozen=True)
class IntervalEstimate:
    """One estimated quantity: estimate, standard error and the two-sided confidence interval."""

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float

    def covers(self, value: float) -> bool:
        """Whether the confidence interval holds ``value`` (e.g. the SCM's true value)."""
        return bool(self.ci_low <= value <= self.ci_high)

    def to_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "std_error": self.std_error, "ci_low": self.ci_low,
                "ci_high": self.ci_high}


@dataclass(frozen=True)
class CateCoefficient(IntervalEstimate):
    """A quantity of the heterogeneity inference (a coefficient, a group effect, a RATE): estimate, standard error,
    two-sided interval and the p-value of its test."""

    p_value: float

    def to_dict(self) -> dict[str, float]:
        return {**super().to_dict(), "p_value": self.p_value}


@dataclass(frozen=True)
class EffectEstimate:
    """``E[Y | do(T = t1)] - E[Y | do(T = t0)]`` estimated from data.

    Attributes
    ----------
    estimate, std_error:
        The estimate and its standard error (asymptotic, from the estimator's influence function, or
        from the bootstrap where ``info["std_error"]`` says so).
    ci_low, ci_high, level:
        The two-sided confidence interval at ``level``.
    method:
        The estimator (``"regression"``, ``"ipw"``, ``"aipw"``, ``"dml"``).
    treatment, outcome, contrast:
        Names, and the treatment values ``(t0, t1)`` compared.
    adjustment_set:
        The covariates adjusted for (names, in the graph's node order); empty for a front-door estimate, whose
        mediators are ``info["mediators"]``.
    n:
        The rows used.
    info:
        Method details (learners, folds, trimming, nuisance fit summaries).
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    treatment: str
    outcome: str
    contrast: tuple[float, float]
    adjustment_set: tuple[str, ...]
    n: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def p_value(self) -> float:
        """Two-sided p-value of "no effect" from the normal approximation."""
        if self.std_error == 0:
            return 0.0 if self.estimate != 0 else 1.0
        return float(2.0 * stats.norm.sf(abs(self.estimate) / self.std_error))

    def covers(self, value: float) -> bool:
        """Whether the confidence interval holds ``value`` (e.g. a known true effect)."""
        return bool(self.ci_low <= value <= self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field and the p-value."""
        from latentscm._io import json_ready

        return json_ready({"estimate": self.estimate, "std_error": self.std_error, "ci_low": self.ci_low,
                           "ci_high": self.ci_high, "level": self.level, "p_value": self.p_value,
                           "method": self.method, "treatment": self.treatment, "outcome": self.outcome,
                           "contrast": list(self.contrast), "adjustment_set": list(self.adjustment_set),
                           "n": self.n, "info": self.info})

    def __str__(self) -> str:
        t0, t1 = self.contrast
        pct = f"{100 * self.level:g}%"
        given = self.info.get("covariates")
        given = f" given {', '.join(given)}" if given else ""
        if self.info.get("identification") == "front-door":
            route = f"through the front-door mediators {', '.join(self.info['mediators'])}{given}"
        elif self.info.get("identification") == "instrumental variables":
            route = f"with the instruments {', '.join(self.info['instruments'])}{given}"
        elif self.info.get("identification") == "ID algorithm":
            route = f"by the ID algorithm's formula {self.info['estimand']}"
        else:
            route = f"adjusting for {', '.join(self.adjustment_set) or '(nothing)'}"
        return (f"{self.method}: E[{self.outcome} | do({self.treatment}={t1:g})] - "
                f"E[{self.outcome} | do({self.treatment}={t0:g})] = {self.estimate:.4g} "
                f"(s.e. {self.std_error:.3g}; {pct} CI [{self.ci_low:.4g}, {self.ci_high:.4g}]; p = "
                f"{self.p_value:.3g}; n = {self.n}; {route})")


def finite(value: float, what: str, owner: str) -> float:
    """``value`` as a float, refusing NaN or infinity with a message naming ``what``."""
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{owner}: the {what} is not finite ({value}); the nuisance fits diverged or the data "
                         f"are degenerate (check for collinear covariates or a treatment arm with no overlap).")
    return value
