"""Temporal discovery for ``latentscm discover --timeseries``: a CSV series (rows = time steps) to a window graph.

    latentscm discover --timeseries --method pcmci --tau-max 3 data.csv --out graph.json

The table is checked once (NaN, ``tau_max`` too large for the number of rows, constant columns get a
clear error), then one method of :mod:`latentscm.discovery.timeseries` runs on it. The JSON written
holds the variable names, the method and its settings, every found link ``cause -(lag)-> effect``
with its score and p-value, and the window and summary adjacencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["TIMESERIES_METHODS", "run_timeseries_discovery", "temporal_graph_payload"]

#: method name on the command line -> function of latentscm.discovery.timeseries
TIMESERIES_METHODS = ("pcmci", "pcmci_plus", "granger", "varlingam", "cmlp")


def run_timeseries_discovery(table: np.ndarray, names: Sequence[str], *, method: str, tau_max: int, alpha: float,
                             ci: str, collider_rule: str | None = None, tau_min: int | None = None,
                             pc_alpha: str | None = None) -> Any:
    """Run one temporal discovery method on a series (the CLI's core, importable for tests).

    Parameters
    ----------
    table : ndarray, shape (T, d)
        The series, one row per time step.
    names : sequence of str
        The d column names.
    method : {"pcmci", "pcmci_plus", "granger", "varlingam", "cmlp"}
        Discovery method.
    tau_max : int
        Largest lag.
    alpha : float
        Significance level (methods with p-values).
    ci : str
        CI test of PCMCI / PCMCI+ (any registered test; ``parcorr`` or ``fisherz`` for linear data).
    collider_rule : str or None
        PCMCI+'s collider rule (``standard``, ``conservative`` or ``majority``); None: standard. Refused
        with the other methods.
    tau_min : int or None
        PCMCI's smallest lag (None: 1). Refused with the other methods.
    pc_alpha : str or None
        PCMCI's PC1 level: one number, a comma-separated list, or ``auto`` (tigramite's default list, the level
        chosen per target by AIC); None: 0.2. Refused with the other methods.

    Returns
    -------
    TemporalGraph

    Raises
    ------
    ValueError
        Unknown method; NaN values; ``tau_max`` leaving too few steps; a constant column.
    """
    from latentscm.discovery import timeseries
    from latentscm.discovery.timeseries._series import check_series

    if method not in TIMESERIES_METHODS:
        raise ValueError(f"Unknown time-series method {method!r}. Available with --timeseries: "
                         f"{', '.join(TIMESERIES_METHODS)}.")
    if collider_rule is not None and method != "pcmci_plus":
        raise ValueError(f"--collider-rule is used by --method pcmci_plus (and pc), not by --method {method}.")
    if collider_rule is not None:
        from latentscm.discovery.timeseries.pcmci_plus import COLLIDER_RULES

        if collider_rule not in COLLIDER_RULES:
            raise ValueError(f"--collider-rule {collider_rule!r} is not a rule of pcmci_plus; choose one of "
                             f"{', '.join(COLLIDER_RULES)}.")
    for flag, value in (("--tau-min", tau_min), ("--pc-alpha", pc_alpha)):
        if value is not None and method != "pcmci":
            raise ValueError(f"{flag} is used by --method pcmci, not by --method {method}.")
    series = check_series(table, "latentscm discover --timeseries", tau_max=tau_max)
    names = list(names)
    if method == "pcmci":
        options: dict[str, Any] = {} if tau_min is None else {"tau_min": tau_min}
        if pc_alpha is not None:
            options["pc_alpha"] = _pc_alpha_levels(pc_alpha)
        return timeseries.pcmci(series, tau_max=tau_max, ci_test=ci, alpha=alpha, var_names=names, **options)
    if method == "pcmci_plus":
        return timeseries.pcmci_plus(series, tau_max=tau_max, ci_test=ci, alpha=alpha, var_names=names,
                                     collider_rule=collider_rule or "standard")
    if method == "granger":
        return timeseries.granger(series, max_lag=tau_max, alpha=alpha, var_names=names)
    if method == "varlingam":
        return timeseries.varlingam(series, max_lag=tau_max, alpha=alpha, var_names=names)
    return timeseries.cmlp_granger(series, max_lag=tau_max, var_names=names)


def _pc_alpha_levels(text: str) -> float | list[float] | None:
    """``--pc-alpha``: ``auto`` (None: tigramite's default list), one level, or a comma-separated list."""
    if text.strip().lower() == "auto":
        return None
    try:
        levels = [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--pc-alpha must be a level, a comma-separated list of levels or 'auto'. Got {text!r}."
                         ) from None
    return levels[0] if len(levels) == 1 else levels


def temporal_graph_payload(graph: Any) -> dict[str, Any]:
    """A JSON-ready dict of a TemporalGraph: names, method, links (cause, effect, lag, score, p-value),
    window adjacency (tau_max + 1, d, d) and summary adjacency (d, d)."""
    window = graph.adjacency()
    links = []
    for tau, i, j in zip(*np.nonzero(window)):
        pvalue = None if graph.pvalues is None else float(graph.pvalues[tau, i, j])
        links.append({"cause": graph.var_names[i], "effect": graph.var_names[j], "lag": int(tau),
                      "score": float(graph.scores[tau, i, j]),
                      "pvalue": None if pvalue is None or not np.isfinite(pvalue) else pvalue})
    return {"kind": "temporal_graph", "method": graph.method, "var_names": list(graph.var_names),
            "tau_max": int(graph.tau_max), "alpha": graph.alpha, "links": links,
            "window_adjacency": window.tolist(), "summary_adjacency": graph.summary().tolist()}
