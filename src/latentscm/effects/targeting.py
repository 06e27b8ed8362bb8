"""Is an estimated effect good for choosing whom to treat? Targeting curves, rank-weighted average effects and the
value of a treatment rule, from doubly robust scores.

A priority ``s_i`` (e.g. each row's estimated CATE, out of fold) orders the rows; ``φ_i`` is the row's doubly robust
score, whose mean given the row's covariates is its conditional effect.

- The *targeting operator characteristic* (Yadlowsky, Fleming, Shah, Brunskill & Wager, *Evaluating treatment
  prioritization rules via rank-weighted average treatment effects*, JASA 2024): ``TOC(q)``, the mean effect of
  the top ``q`` fraction by priority minus the mean effect of all, estimated at ``q = j / n`` as the mean ``φ`` of the
  ``j`` highest-priority rows minus the mean ``φ``. Rows with equal priority share their group's mean ``φ``, so the
  order among ties does not matter.
- *RATE*: ``AUTOC = ∫ TOC(q) dq`` (weights the top most) and ``Qini = ∫ q TOC(q) dq``, as Riemann sums over
  ``q = j / n``. Both are 0 for a priority unrelated to the effect; a positive value says that treating by this
  priority beats treating at random. Standard error by the bootstrap over rows (priorities held; as ``grf``'s
  ``rank_average_treatment_effect`` does with its half-sample bootstrap); p-value one-sided, against RATE <= 0.
- The *value of a rule* ``π_i = 1[s_i > c]`` (Athey & Wager, *Policy learning with observational data*,
  Econometrica 2021): its gain over treating no one, ``mean(π φ) - c mean(π)`` when each treatment costs ``c``, and
  over treating everyone, ``mean((π - 1)(φ - c))``, with influence-function standard errors.

The priorities must come from a model fitted on other rows than those scored, or every one of these is biased
upwards; :class:`~latentscm.effects.ConditionalEffects` scores each random half with a model fitted on the other
half (pooled out-of-fold estimates are not enough: see :mod:`latentscm.effects.conditional_effects`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from latentscm._validation import as_generator, check_choice, check_number
from latentscm.effects.result import CateCoefficient, finite, normal_interval

__all__ = ["RATE_KINDS", "TargetingCurve", "policy_value", "rank_weighted_effect", "targeting_curve"]

#: The rank-weighted average effects of :func:`rank_weighted_effect`.
RATE_KINDS = ("autoc", "qini")


def _check(score: Any, priority: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    score = np.asarray(score, dtype=np.float64)
    priority = np.asarray(priority, dtype=np.float64)
    if score.ndim != 1 or priority.shape != score.shape or score.size < 2:
        raise ValueError(f"{owner}: 'score' and 'priority' must be 1-D arrays of one length >= 2. Got shapes "
                         f"{score.shape} and {priority.shape}.")
    for name, values in (("score", score), ("priority", priority)):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"The {name!r} argument of {owner} holds values that are not finite.")
    return score, priority


def _toc(score: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """``TOC(j / n)`` for ``j = 1..n``, shape (n,), ties sharing their mean score."""
    order = np.argsort(-priority, kind="stable")
    ranked, keys = score[order], priority[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sums = np.add.reduceat(ranked, starts)
    sizes = np.diff(np.r_[starts, keys.size])
    if starts.size == 1:  # one priority for all: the top j are the average row, TOC is 0 (not rounding noise)
        return np.zeros(score.size)
    ranked = np.repeat(sums / sizes, sizes)
    toc = np.cumsum(ranked) / np.arange(1, score.size + 1) - score.mean()
    toc[-1] = 0.0  # all rows: exactly the mean
    return toc


def _rate(score: np.ndarray, priority: np.ndarray, kind: str) -> float:
    toc = _toc(score, priority)
    if kind == "autoc":
        return float(np.mean(toc))
    q = np.arange(1, score.size + 1) / score.size
    return float(np.mean(q * toc))


class TargetingCurve:
    """``TOC(q)`` at ``fractions`` (k,) with bootstrap standard errors (k,) and intervals at ``level``."""

    def __init__(self, fractions: np.ndarray, toc: np.ndarray, std_error: np.ndarray, level: float):
        self.fractions, self.toc, self.std_error, self.level = fractions, toc, std_error, level
        self.ci_low, self.ci_high = normal_interval(toc, std_error, level)

    def plot(self, ax: Any = None) -> Any:
        """The curve with its band; returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5.0, 3.2))
        ax.fill_between(self.fractions, self.ci_low, self.ci_high, color="0.85")
        ax.plot(self.fractions, self.toc, color="black")
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_xlabel("fraction treated, highest priority first")
        ax.set_ylabel(f"TOC: their effect minus the mean\n({100 * self.level:g}% band)")
        return ax

    def to_dict(self) -> dict[str, list[float]]:
        return {"fractions": self.fractions.tolist(), "toc": self.toc.tolist(), "std_error": self.std_error.tolist(),
                "ci_low": np.asarray(self.ci_low).tolist(), "ci_high": np.asarray(self.ci_high).tolist(),
                "level": self.level}


def _bootstrap(score: np.ndarray, priority: np.ndarray, statistic, n_bootstrap: int, seed: Any) -> np.ndarray:
    """``statistic`` on ``n_bootstrap`` resamples of the rows (their priorities held)."""
    rng = as_generator(seed)
    return np.asarray([statistic(score[rows], priority[rows])
                       for rows in (rng.integers(0, score.size, size=score.size) for _ in range(n_bootstrap))])


def targeting_curve(score: Any, priority: Any, *, fractions: Any = None, level: float = 0.95,
                    n_bootstrap: int = 200, seed: Any = 0) -> TargetingCurve:
    """``TOC(q)`` of ``priority`` (n,) with doubly robust scores ``score`` (n,) at ``fractions`` (default 0.05,
    0.1, ..., 1), each the value at the first ``j / n >= q``; bootstrap standard errors over ``n_bootstrap``
    resamples."""
    owner = "targeting_curve"
    score, priority = _check(score, priority, owner)
    level = check_number(level, "level", owner, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_bootstrap = check_number(n_bootstrap, "n_bootstrap", owner, low=2, integer=True)
    q = np.linspace(0.05, 1.0, 20) if fractions is None else np.asarray(fractions, dtype=np.float64).reshape(-1)
    if q.size == 0 or not np.all((q > 0) & (q <= 1)):
        raise ValueError(f"The 'fractions' argument of {owner} must be values in (0, 1]. Got {q.tolist()}.")

    def at(s: np.ndarray, p: np.ndarray) -> np.ndarray:
        index = np.minimum(np.searchsorted(np.arange(1, s.size + 1) / s.size, q, side="left"), s.size - 1)
        return _toc(s, p)[index]
    draws = _bootstrap(score, priority, at, n_bootstrap, seed)
    return TargetingCurve(q, at(score, priority), draws.std(axis=0, ddof=1), level)


def rank_weighted_effect(score: Any, priority: Any, *, kind: str = "autoc", level: float = 0.95,
                         n_bootstrap: int = 200, seed: Any = 0) -> Any:
    """The RATE (``"autoc"`` or ``"qini"``) of ``priority`` (n,) with doubly robust scores ``score`` (n,): a
    :class:`~latentscm.effects.CateCoefficient` with a bootstrap standard error and a one-sided p-value (RATE <= 0)."""
    owner = "rank_weighted_effect"
    score, priority = _check(score, priority, owner)
    check_choice(kind, "kind", owner, RATE_KINDS)
    level = check_number(level, "level", owner, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n_bootstrap = check_number(n_bootstrap, "n_bootstrap", owner, low=2, integer=True)
    estimate = finite(_rate(score, priority, kind), kind, owner)
    draws = _bootstrap(score, priority, lambda s, p: _rate(s, p, kind), n_bootstrap, seed)
    std_error = finite(np.std(draws, ddof=1), "standard error", owner)
    low, high = normal_interval(estimate, std_error, level)
    p = float(stats.norm.sf(estimate / std_error)) if std_error > 0 else float(estimate <= 0)
    return CateCoefficient(estimate, std_error, low, high, p)


def policy_value(score: Any, priority: Any, *, threshold: float = 0.0, cost: float | None = None,
                 level: float = 0.95) -> dict[str, Any]:
    """The rule "treat where ``priority > threshold``" (``priority``, ``score`` (n,)), each treatment costing ``cost``
    (default: ``threshold``): ``{"treated_share": float, "gain_vs_none": CateCoefficient, "gain_vs_all":
    CateCoefficient}``, the mean net gain per row over treating no one and over treating everyone."""
    owner = "policy_value"
    score, priority = _check(score, priority, owner)
    threshold = check_number(threshold, "threshold", owner)
    cost = threshold if cost is None else check_number(cost, "cost", owner)
    level = check_number(level, "level", owner, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    treat = (priority > threshold).astype(np.float64)
    out: dict[str, Any] = {"treated_share": float(treat.mean()), "threshold": threshold, "cost": cost}
    for name, terms in (("gain_vs_none", treat * (score - cost)), ("gain_vs_all", (treat - 1.0) * (score - cost))):
        estimate = float(terms.mean())
        std_error = float(terms.std(ddof=1) / np.sqrt(terms.size))
        low, high = normal_interval(estimate, std_error, level)
        p = float(2.0 * stats.norm.sf(abs(estimate) / std_error)) if std_error > 0 else float(estimate == 0)
        out[name] = CateCoefficient(estimate, std_error, low, high, p)
    return out
