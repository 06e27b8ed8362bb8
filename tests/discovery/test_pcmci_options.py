"""pcmci options tau_min, link_assumptions and pc_alpha lists (model selection by AIC).

Reference p-values come from tigramite 5 (ParCorr(significance="analytic"), run_pcmci(tau_max=3, ...)) on the
series built by ``_var_data(1, 5, 1000)``; produced by /work/bench_out/s27/pcmci_options/refs.py
(``/work/tgvenv/bin/python refs.py``). tigramite's ``p_matrix[i, j, tau]`` is ``pvalues[tau, i, j]`` here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from latentscm.discovery.timeseries.pcmci import DEFAULT_PC_ALPHAS, pcmci


def _var_data(seed: int, d: int, T: int) -> np.ndarray:
    """Seeded VAR(2) series (T, d): self-lag 0.4 plus two random +-0.3 links per target."""
    rng = np.random.default_rng(seed)
    A = np.zeros((2, d, d))
    for j in range(d):
        A[0, j, j] = 0.4
        for _ in range(2):
            i, lag = rng.integers(d), rng.integers(2)
            A[lag, j, i] += rng.choice([-0.3, 0.3])
    x = np.zeros((T + 100, d))
    for t in range(2, T + 100):
        x[t] = A[0] @ x[t - 1] + A[1] @ x[t - 2] + rng.standard_normal(d)
    return x[100:]


@pytest.fixture(scope="module")
def series() -> np.ndarray:
    return _var_data(1, 5, 1000)


def test_tau_min_skips_small_lags_and_matches_tigramite(series: np.ndarray) -> None:
    graph = pcmci(series, tau_max=3, tau_min=2, pc_alpha=0.2)
    assert np.isnan(graph.pvalues[:2]).all() and not np.isnan(graph.pvalues[2:]).any()
    assert all(lag >= 2 for links in graph.info["parents"].values() for _, lag in links)
    assert graph.pvalues[2, 1, 0] == pytest.approx(0.11327242226712297, rel=1e-8)
    assert graph.pvalues[2, 0, 0] == pytest.approx(1.951701581114982e-10, rel=1e-6)


def test_link_assumptions_restrict_tests_and_conditions(series: np.ndarray) -> None:
    allowed = {j: [(i, -tau) for tau in (1, 2, 3) for i in {j, (j + 1) % 5}] for j in range(5)}
    graph = pcmci(series, tau_max=3, pc_alpha=0.2, link_assumptions=allowed)
    for j in range(5):
        for tau in range(1, 4):
            for i in range(5):
                assert np.isnan(graph.pvalues[tau, i, j]) == ((i, -tau) not in allowed[j])
        assert {(i, -lag) for i, lag in graph.info["parents"][j]} <= set(allowed[j])
    assert graph.pvalues[2, 1, 0] == pytest.approx(0.01790393268134489, rel=1e-8)
    assert graph.pvalues[2, 0, 0] == pytest.approx(0.4639540029619375, rel=1e-8)
    assert graph.pvalues[1, 1, 0] == pytest.approx(0.43739335996687856, rel=1e-8)
    assert graph.pvalues[1, 0, 4] == pytest.approx(0.9787308304241801, rel=1e-8)


def _aic(series: np.ndarray, tau_max: int, j: int, parents: list[tuple[int, int]]) -> float:
    """Hand AIC: n log RSS + 2 (k + 1) of x_j (standardised) on an intercept and its lagged parents."""
    n = series.shape[0] - 2 * tau_max
    y = series[2 * tau_max:, j]
    y = (y - y.mean()) / y.std()
    design = np.column_stack([np.ones(n)] + [series[2 * tau_max - lag: 2 * tau_max - lag + n, i]
                                             for i, lag in parents])
    rss = np.sum((y - design @ np.linalg.lstsq(design, y, rcond=None)[0]) ** 2)
    return n * math.log(rss) + 2 * (len(parents) + 1)


def test_pc_alpha_none_picks_the_level_of_smallest_aic(series: np.ndarray) -> None:
    graph = pcmci(series, tau_max=3, pc_alpha=None)
    chosen = graph.info["pc_alpha_chosen"]
    assert [chosen[j] for j in range(5)] == [0.1, 0.2, 0.5, 0.4, 0.05]  # tigramite's optimal_pc_alpha
    assert graph.pvalues[2, 1, 0] == pytest.approx(0.01759346790219176, rel=1e-8)
    assert graph.pvalues[1, 0, 4] == pytest.approx(0.7588589339372085, rel=1e-8)
    singles = {level: pcmci(series, tau_max=3, pc_alpha=level).info["parents"] for level in DEFAULT_PC_ALPHAS}
    for j in range(5):
        scores = {level: _aic(series, 3, j, singles[level][j]) for level in DEFAULT_PC_ALPHAS}
        best = min(scores.values())
        assert scores[chosen[j]] == pytest.approx(best, abs=1e-8)
        assert sorted(graph.info["parents"][j]) == sorted(singles[chosen[j]][j])


def test_a_single_level_list_equals_the_scalar(series: np.ndarray) -> None:
    a = pcmci(series, tau_max=2, pc_alpha=[0.2])
    b = pcmci(series, tau_max=2, pc_alpha=0.2)
    np.testing.assert_array_equal(a.pvalues, b.pvalues)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"tau_min": 3, "tau_max": 2}, r"'tau_min' argument of pcmci is 3, larger than tau_max=2"),
    ({"tau_min": 0}, r"'tau_min' argument of pcmci is 0.*pcmci_plus"),
    ({"link_assumptions": {0: [(7, -1)]}}, r"'link_assumptions'.*variable 7 is outside"),
    ({"link_assumptions": {0: [(1, -3)]}}, r"'link_assumptions'.*lag -3 is outside"),
    ({"link_assumptions": {0: [(1, 1)]}}, r"'link_assumptions'.*lag 1 is outside"),
    ({"link_assumptions": {9: [(1, -1)]}}, r"'link_assumptions'.*target 9"),
    ({"link_assumptions": {0: [(1, -1.7)]}}, r"'link_assumptions'.*\(1, -1\.7\).*pairs of integers"),  # was lag 1
    ({"link_assumptions": {0: [(1, "-1")]}}, r"'link_assumptions'.*pairs of integers"),
    ({"link_assumptions": {0: [(True, -1)]}}, r"'link_assumptions'.*pairs of integers"),
    ({"pc_alpha": [0.1, 1.5]}, r"pc_alpha"),
    ({"pc_alpha": []}, r"'pc_alpha' argument of pcmci is an empty list"),
])
def test_bad_options_are_refused(series: np.ndarray, kwargs: dict, match: str) -> None:
    options = {"tau_max": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        pcmci(series, **options)
