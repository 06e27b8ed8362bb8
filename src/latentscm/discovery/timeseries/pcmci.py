"""PCMCI: condition selection (PC1) followed by momentary conditional independence (MCI) tests.

Runge, Nowack, Kretschmer, Flaxman & Sejdinovic (2019), "Detecting and quantifying causal
associations in large nonlinear time series datasets", Science Advances 5, eaau4996.

1. **PC1** (per variable ``x_j``): start from all lagged candidates ``x_{i,t-tau}``, 1 <= tau <= tau_max.
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
        self.bound: BoundCITest = ci_test.bind(embed(series, 2 * tau_max))

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
         stats_out: dict[tuple[int, int, int], list[float]]) -> dict[int, list[Link]]:
    """PC1 condition selection; returns the sorted parent candidates of every variable.

    ``stats_out[(i, tau, j)]`` receives ``[max p-value, min |statistic|]`` of every tested link.
    """
    d, tau_max = embedded.d, embedded.tau_max
    parents = {j: [(i, tau) for tau in range(1, tau_max + 1) for i in range(d)] for j in range(d)}
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
                    if link in removed[j]:
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


def pcmci(data: Any, *, tau_max: int = 1, ci_test: str | CITest = "parcorr", alpha: float = 0.05,
          pc_alpha: float = 0.2, max_conds_dim: int | None = None, max_combinations: int = 1,
          max_conds_py: int | None = None, max_conds_px: int | None = None, fdr: str = "none",
          var_names: Sequence[str] | None = None, ci_options: dict[str, Any] | None = None) -> TemporalGraph:
    """PCMCI on a multivariate series (lagged links only).

    Parameters
    ----------
    data: series (T, d).
    tau_max: largest lag tested.
    ci_test: a registered CI test name (``"parcorr"``, ``"fisherz"``, ``"kci"``, ``"rcit"``, ...) or instance.
    alpha: level of the returned graph (MCI p-values), in (0, 1).
    pc_alpha: level in (0, 1) of the PC1 condition selection (the paper's default 0.2 keeps it liberal).
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
    TemporalGraph: ``pvalues[tau, i, j]`` and ``scores`` (|MCI statistic|) for ``tau >= 1``; lag 0
    untested (NaN p-values).
    """
    owner = "pcmci"
    start = time.perf_counter()
    tau_max = int(check_number(tau_max, "tau_max", owner, low=1, integer=True))
    series = check_series(data, owner, tau_max=tau_max, span=2)
    alpha = check_number(alpha, "alpha", owner, low=0, high=1, low_inclusive=False, high_inclusive=False)
    pc_alpha = check_number(pc_alpha, "pc_alpha", owner, low=0, high=1, low_inclusive=False,
                            high_inclusive=False)
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
    selection: dict[tuple[int, int, int], list[float]] = {}
    parents = _pc1(embedded, pc_alpha=pc_alpha, max_conds_dim=max_conds_dim, max_combinations=max_combinations,
                   stats_out=selection)

    keys, queries = [], []
    for j in range(d):
        for tau in range(1, tau_max + 1):
            for i in range(d):
                own = [link for link in parents[j] if link != (i, tau)][:max_conds_py]
                theirs = [(k, lag + tau) for k, lag in parents[i][:max_conds_px]]
                keys.append((tau, i, j))
                queries.append(embedded.query((i, tau), j, own + theirs))
    scores = np.zeros((tau_max + 1, d, d))
    pvalues = np.full((tau_max + 1, d, d), np.nan)  # lag 0 is not tested
    for key, result in zip(keys, embedded.test_many(queries)):
        scores[key] = abs(result.statistic)
        pvalues[key] = result.p_value
    if fdr == "bh":
        pvalues[1:] = _benjamini_hochberg(pvalues[1:])  # every lagged entry is tested (no NaN)
    info = {"tau_max": tau_max, "ci_test": repr(test), "pc_alpha": pc_alpha, "fdr": fdr,
            "parents": {j: list(links) for j, links in parents.items()},
            "n_tests": embedded.bound.n_computed, "n_samples": embedded.bound.n_samples,
            "time_s": time.perf_counter() - start}
    return TemporalGraph(resolve_names(var_names, d, owner), scores, pvalues, "pcmci", alpha=alpha, info=info)
