"""PCMCI: condition selection (PC1) followed by momentary conditional independence (MCI) tests.

Runge, Nowack, Kretschmer, Flaxman & Sejdinovic (2019), "Detecting and quantifying causal
associations in large nonlinear time series datasets", Science Advances 5, eaau4996.

1. **PC1** (per variable ``x_j``): start from the allowed lagged candidates ``x_{i,t-tau}``, tau_min <= tau <= tau_max.
   At level p = 0, 1, 2, ... test each candidate given the p *strongest* other candidates (the
   first of the combinations, ordered by the smallest |statistic| seen so far; ``max_combinations``
   more), drop those with p-value > ``pc_alpha`` at the end of the level, re-sort, and stop when no
   candidate has p others left. The survivors ``P(x_j)`` are a superset of the lagged parents that
   is small enough to condition on.
2. **MCI**: for every candidate link test ``x_{i,t-tau} ⊥ x_{j,t} | P(x_j) \\ {x_{i,t-tau}}, P_tau(x_i)``
   where ``P_tau(x_i)`` are the parents of ``x_i`` shifted back by tau. Conditioning on the parents of
   both ends removes autocorrelation, which keeps the false-positive rate at its nominal level.

All tests use the same ``T - 2 tau_max`` samples (the lag embedding up to ``2 tau_max``), run through a
registered CI test bound to that embedding (memoised; the queries of a level go as one batch).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.discovery.ci_tests import BoundCITest, CIQuery, CIResult, CITest, make_ci_test
from latentscm.discovery.timeseries import parcorr as _parcorr  # noqa: F401  registers "parcorr"
from latentscm.discovery.timeseries._series import check_series, embed, resolve_names
from latentscm.discovery.timeseries.result import TemporalGraph
from latentscm.exceptions import TooFewSamplesError

__all__ = ["pcmci"]

Link = tuple[int, int]  # (variable i, lag tau) of a candidate cause x_{i,t-tau}


class _Embedded:
    """A CI test bound to the lag embedding up to 2 tau_max; queries name (variable, lag) pairs."""

    def __init__(self, series: np.ndarray, tau_max: int, ci_test: CITest, owner: str) -> None:
        self.d = series.shape[1]
        self.tau_max = tau_max
        self.owner = owner
        self.length = series.shape[0]
        self.matrix = embed(series, 2 * tau_max)
        self.bound: BoundCITest = ci_test.bind(self.matrix)

    def aic(self, j: int, parents: Sequence[Link]) -> float:
        """AIC ``n log(RSS) + 2 (|parents| + 1)`` of the least-squares regression (with intercept) of the
        standardised ``x_{j,t}`` on ``parents`` over the ``n = T - 2 tau_max`` embedded rows."""
        y = self.matrix[:, j]
        y = (y - y.mean()) / (y.std() or 1.0)
        design = np.column_stack([np.ones(y.size)] + [self.matrix[:, lag * self.d + k] for k, lag in parents])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        rss = float(np.sum((y - design @ coef) ** 2))
        return y.size * math.log(rss) + 2.0 * (len(parents) + 1)

    def test_many(self, queries: Sequence[CIQuery]) -> list[CIResult]:
        """The bound test's results; a test with too few rows for its conditions is refused in the
        caller's terms (the series length and ``tau_max``)."""
        try:
            return self.bound.test_many(queries)
        except TooFewSamplesError as error:
            rows = self.length - 2 * self.tau_max
            raise ValueError(f"The 'data' argument of {self.owner} is too short for tau_max={self.tau_max}: of its "
                             f"T={self.length} steps, T - 2 tau_max = {rows} rows are left per test, and a test "
                             f"conditioning on {error.conditions} variables needs {error.needed} ({error}). Give a "
                             f"longer series, a smaller tau_max or a smaller max_conds_dim.") from error

    def query(self, cause: Link, j: int, conditions: Sequence[Link]) -> CIQuery:
        x = cause[1] * self.d + cause[0]
        z = {lag * self.d + k for k, lag in conditions} - {x, j}
        return CIQuery.make(x, j, sorted(z))


def _pc1(embedded: _Embedded, *, pc_alpha: float, max_conds_dim: int | None, max_combinations: int,
         stats_out: dict[tuple[int, int, int], list[float]],
         candidates: dict[int, list[Link]] | None = None,
         forced: set[tuple[int, int, int]] | None = None) -> dict[int, list[Link]]:
    """PC1 condition selection from ``candidates[j]`` (the allowed lagged links of every target ``j``; ``None``:
    all lags 1..tau_max); returns the sorted parent candidates of every variable. Links ``(i, tau, j)`` in
    ``forced`` are never tested nor removed and rank first as conditions (tigramite's ``'-->'``).

    ``stats_out[(i, tau, j)]`` receives ``[max p-value, min |statistic|]`` of every tested link.
    """
    d, tau_max = embedded.d, embedded.tau_max
    if candidates is None:
        candidates = {j: [(i, tau) for tau in range(1, tau_max + 1) for i in range(d)] for j in range(d)}
    parents = {j: list(candidates[j]) for j in range(d)}
    strength: dict[int, dict[Link, float]] = {j: dict.fromkeys(parents[j], math.inf) for j in range(d)}
    level = 0
    while max_conds_dim is None or level <= max_conds_dim:
        todo = {j: list(links) for j, links in parents.items() if len(links) - 1 >= level and links}
        if not todo:
            break
        removed: dict[int, set[Link]] = {j: set() for j in todo}
        for combination in range(max_combinations):
            keys, queries = [], []
            for j, links in todo.items():
                for link in links:
                    if link in removed[j] or (forced and (link[0], link[1], j) in forced):
                        continue
                    others = [other for other in links if other != link]
                    chosen = next(itertools.islice(itertools.combinations(others, level), combination, None), None)
                    if chosen is None:
                        continue
                    keys.append((j, link))
                    queries.append(embedded.query(link, j, chosen))
            if not queries:
                break
            for (j, link), result in zip(keys, embedded.test_many(queries)):
                record = stats_out.setdefault((link[0], link[1], j), [0.0, math.inf])
                record[0] = max(record[0], result.p_value)
                record[1] = min(record[1], abs(result.statistic))
                strength[j][link] = min(strength[j][link], abs(result.statistic))
                if result.p_value > pc_alpha:
                    removed[j].add(link)
        for j, links in todo.items():
            kept = [link for link in links if link not in removed[j]]
            parents[j] = sorted(kept, key=lambda link, j=j: -strength[j][link])
        level += 1
    return parents


def _benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (same shape), over all entries."""
    flat = pvalues.ravel()
    order = np.argsort(flat)
    m = flat.size
    adjusted = flat[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(adjusted[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out.reshape(pvalues.shape)


DEFAULT_PC_ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def _check_pc_alpha(pc_alpha: float | Sequence[float] | None, owner: str) -> list[float]:
    """The PC1 levels as a list: one level, a list of levels, or ``None`` for :data:`DEFAULT_PC_ALPHAS`."""
    if pc_alpha is None:
        return list(DEFAULT_PC_ALPHAS)
    if isinstance(pc_alpha, (list, tuple, np.ndarray)):
        if len(pc_alpha) == 0:
            raise ValueError(f"The 'pc_alpha' argument of {owner} is an empty list; give levels in (0, 1) or None.")
        return [check_number(level, "pc_alpha", owner, low=0, high=1, low_inclusive=False, high_inclusive=False)
                for level in pc_alpha]
    return [check_number(pc_alpha, "pc_alpha", owner, low=0, high=1, low_inclusive=False, high_inclusive=False)]


def _check_link_assumptions(link_assumptions: Any, d: int, tau_min: int, tau_max: int,
                            owner: str) -> dict[int, list[Link]]:
    """Candidate links ``{j: [(i, tau), ...]}`` (tau > 0) from ``{j: [(i, -tau), ...]}``; targets absent from
    the mapping keep every lagged link ``tau_min <= tau <= tau_max``."""
    every = [(i, tau) for tau in range(tau_min, tau_max + 1) for i in range(d)]
    candidates = {j: list(every) for j in range(d)}
    if link_assumptions is None:
        return candidates
    if not isinstance(link_assumptions, dict):
        raise ValueError(f"The 'link_assumptions' argument of {owner} must be a dict {{j: [(i, -tau), ...]}}, "
                         f"got {type(link_assumptions).__name__}.")
    for j, links in link_assumptions.items():
        if not isinstance(j, (int, np.integer)) or not 0 <= j < d:
            raise ValueError(f"The 'link_assumptions' argument of {owner} names target {j!r}; targets are 0..{d - 1}.")
        allowed = set()
        for link in links:
            integers = isinstance(link, (tuple, list, np.ndarray)) and len(link) == 2 and all(
                isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in link)
            if not integers:  # int() would read (0, -1.7) or (0, "-1") as lag 1
                raise ValueError(f"The 'link_assumptions' argument of {owner} has entry {link!r} for target {j}; "
                                 f"give (i, -tau) pairs of integers.")
            i, lag = int(link[0]), int(link[1])
            if not 0 <= i < d:
                raise ValueError(f"The 'link_assumptions' argument of {owner} has link {link!r} -> {j}: variable "
                                 f"{i} is outside 0..{d - 1}.")
            if not tau_min <= -lag <= tau_max:
                raise ValueError(f"The 'link_assumptions' argument of {owner} has link {link!r} -> {j}: lag {lag} is "
                                 f"outside -{tau_max}..-{tau_min} (lags are negative: (i, -tau)).")
            allowed.add((i, -lag))
        candidates[int(j)] = [link for link in every if link in allowed]
    return candidates


def pcmci(data: Any, *, tau_max: int = 1, ci_test: str | CITest = "parcorr", alpha: float = 0.05,
          pc_alpha: float | Sequence[float] | None = 0.2, tau_min: int = 1, link_assumptions: Any = None,
          max_conds_dim: int | None = None, max_combinations: int = 1,
          max_conds_py: int | None = None, max_conds_px: int | None = None, fdr: str = "none",
          var_names: Sequence[str] | None = None, ci_options: dict[str, Any] | None = None) -> TemporalGraph:
    """PCMCI on a multivariate series (lagged links only).

    Parameters
    ----------
    data: series (T, d).
    tau_max: largest lag tested.
    ci_test: a registered CI test name (``"parcorr"``, ``"fisherz"``, ``"kci"``, ``"rcit"``, ...) or instance.
    alpha: level of the returned graph (MCI p-values), in (0, 1).
    pc_alpha: level in (0, 1) of the PC1 condition selection (the paper's default 0.2 keeps it liberal); a
        list of levels, or ``None`` for ``DEFAULT_PC_ALPHAS`` (0.05, ..., 0.5): PC1 runs at each level and,
        per target ``x_j``, keeps the parents of the level with the smallest AIC of the linear regression of
        ``x_j`` on them (the first level on ties; as tigramite's ParCorr model selection, for any CI test).
        ``info["pc_alpha_chosen"][j]`` is the level kept.
    tau_min: smallest lag tested, ``1 <= tau_min <= tau_max``. Lag 0 (contemporaneous links) is refused:
        PCMCI's MCI conditions are lagged only; use ``pcmci_plus`` for contemporaneous links.
    link_assumptions: ``{j: [(i, -tau), ...]}``, the only candidate causes of target ``j`` (tigramite's
        ``selected_links``; lags negative, ``tau_min <= tau <= tau_max``). Other links of ``j`` are neither
        tested (NaN p-value, score 0) nor used as conditions; targets absent from the dict keep all links.
    max_conds_dim: largest conditioning set in PC1 (``None``: no limit).
    max_combinations: conditioning sets tried per candidate and level in PC1.
    max_conds_py, max_conds_px: how many of the strongest parents of ``x_j`` / ``x_i`` MCI conditions on
        (``None``: all). The tested link is left out of the parents of ``x_j`` before they are counted, so
        MCI conditions on ``max_conds_py`` others; tigramite counts first and then leaves it out (one
        parent fewer when the tested link is among the strongest), so its p-values differ there.
    fdr: ``"none"`` or ``"bh"`` (Benjamini–Hochberg over all lagged links).
    var_names: names of the d columns.
    ci_options: constructor options of a CI test given by name.

    Returns
    -------
    TemporalGraph: ``pvalues[tau, i, j]`` and ``scores`` (|MCI statistic|) for ``tau_min <= tau <= tau_max``
    and allowed links; lag 0, lags below ``tau_min`` and excluded links untested (NaN p-values).
    """
    owner = "pcmci"
    start = time.perf_counter()
    tau_max = int(check_number(tau_max, "tau_max", owner, low=1, integer=True))
    tau_min = int(check_number(tau_min, "tau_min", owner, low=0, integer=True))
    if tau_min == 0:
        raise ValueError(f"The 'tau_min' argument of {owner} is 0: PCMCI tests lagged links only (tau_min >= 1); "
                         f"use pcmci_plus for contemporaneous links.")
    if tau_min > tau_max:
        raise ValueError(f"The 'tau_min' argument of {owner} is {tau_min}, larger than tau_max={tau_max}.")
    series = check_series(data, owner, tau_max=tau_max, span=2)
    alpha = check_number(alpha, "alpha", owner, low=0, high=1, low_inclusive=False, high_inclusive=False)
    pc_alphas = _check_pc_alpha(pc_alpha, owner)
    max_combinations = int(check_number(max_combinations, "max_combinations", owner, low=1, integer=True))
    check_choice(fdr, "fdr", owner, ("none", "bh"))
    if max_conds_dim is not None:
        max_conds_dim = int(check_number(max_conds_dim, "max_conds_dim", owner, low=0, integer=True))
    if max_conds_py is not None:
        max_conds_py = int(check_number(max_conds_py, "max_conds_py", owner, low=0, integer=True))
    if max_conds_px is not None:
        max_conds_px = int(check_number(max_conds_px, "max_conds_px", owner, low=0, integer=True))
    test = make_ci_test(ci_test, owner=owner, **(ci_options or {}))
    embedded = _Embedded(series, tau_max, test, owner)
    d = series.shape[1]
    candidates = _check_link_assumptions(link_assumptions, d, tau_min, tau_max, owner)
    runs = [_pc1(embedded, candidates=candidates, pc_alpha=level, max_conds_dim=max_conds_dim,
                 max_combinations=max_combinations, stats_out={}) for level in pc_alphas]
    chosen = {j: 0 for j in range(d)}
    if len(runs) > 1:
        for j in range(d):
            cache: dict[frozenset[Link], float] = {}  # equal parent sets score equal (no rounding-noise ties)
            aics = [cache.setdefault(frozenset(run[j]), embedded.aic(j, sorted(run[j]))) for run in runs]
            chosen[j] = int(np.argmin(aics))
    parents = {j: runs[chosen[j]][j] for j in range(d)}

    keys, queries = [], []
    for j in range(d):
        allowed = set(candidates[j])
        for tau in range(tau_min, tau_max + 1):
            for i in range(d):
                if (i, tau) not in allowed:
                    continue
                own = [link for link in parents[j] if link != (i, tau)][:max_conds_py]
                theirs = [(k, lag + tau) for k, lag in parents[i][:max_conds_px]]
                keys.append((tau, i, j))
                queries.append(embedded.query((i, tau), j, own + theirs))
    scores = np.zeros((tau_max + 1, d, d))
    pvalues = np.full((tau_max + 1, d, d), np.nan)  # lag 0, lags < tau_min and excluded links are not tested
    for key, result in zip(keys, embedded.test_many(queries)):
        scores[key] = abs(result.statistic)
        pvalues[key] = result.p_value
    if fdr == "bh":
        tested = ~np.isnan(pvalues)
        if tested.any():
            pvalues[tested] = _benjamini_hochberg(pvalues[tested])  # over the tested links only
    info = {"tau_max": tau_max, "tau_min": tau_min, "ci_test": repr(test),
            "pc_alpha": pc_alphas[0] if len(pc_alphas) == 1 else list(pc_alphas),
            "pc_alpha_chosen": {j: pc_alphas[chosen[j]] for j in range(d)}, "fdr": fdr,
            "parents": {j: list(links) for j, links in parents.items()},
            "n_tests": embedded.bound.n_computed, "n_samples": embedded.bound.n_samples,
            "time_s": time.perf_counter() - start}
    return TemporalGraph(resolve_names(var_names, d, owner), scores, pvalues, "pcmci", alpha=alpha, info=info)
