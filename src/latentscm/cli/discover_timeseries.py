"""Temporal discovery for ``latentscm discover --timeseries``: a CSV series (rows = time steps) to a window graph.

    latentscm discover --timeseries --method pcmci --tau-max 3 data.csv --out graph.json

``--link-assumptions FILE.json`` (pcmci, pcmci_plus) gives background knowledge by column name and lag::

    {"links": [{"cause": "X0", "effect": "X1", "lag": 0, "mark": "-->"},
               {"cause": "X2", "effect": "X1", "lag": 1}]}

Each entry is the link ``cause(t - lag) -> effect(t)`` (``lag`` an integer, ``tau_min <= lag <= tau_max``).
An effect named in the file keeps only its listed links (every other link into it is forbidden); effects
never named keep all links. ``mark`` (optional) is tigramite's: ``-?>`` (default for lagged links: allowed),
``-->`` (forced; at lag 0 also oriented cause -> effect), and at lag 0 only ``o?o`` (default: allowed, either
orientation), ``o-o`` (forced adjacency), ``<--`` / ``<?-`` (effect -> cause). A lag-0 link listed for one end
is mirrored at the other. pcmci takes lagged ``-?>`` links only.

``"no_causes": ["X3", ...]`` (optional; the file may hold it alone) names variables with no cause at all
among the columns at any lag in ``tau_min..tau_max``, their own past included: every link into them is
forbidden, and an entry with one of them as effect is refused. They may still be causes: at lag 0 (pcmci_plus)
of every variable the file leaves open, oriented out of them, and of a listed effect that lists the link (its
mark defaults to ``-?>`` and must orient the link out of them).

The table is checked once (NaN, ``tau_max`` too large for the number of rows, constant columns get a
clear error), then one method of :mod:`latentscm.discovery.timeseries` runs on it. The JSON written
holds the variable names, the method and its settings, every found link ``cause -(lag)-> effect``
with its score and p-value, and the window and summary adjacencies.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TIMESERIES_METHODS", "read_link_assumptions", "run_timeseries_discovery", "temporal_graph_payload"]

#: method name on the command line -> function of latentscm.discovery.timeseries
TIMESERIES_METHODS = ("pcmci", "pcmci_plus", "granger", "varlingam", "cmlp")


def run_timeseries_discovery(table: np.ndarray, names: Sequence[str], *, method: str, tau_max: int, alpha: float,
                             ci: str, collider_rule: str | None = None, tau_min: int | None = None,
                             pc_alpha: str | None = None, link_assumptions: Path | None = None) -> Any:
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
        The smallest lag of pcmci (None: 1) and pcmci_plus (None: 0). Refused with the other methods.
    pc_alpha : str or None
        PCMCI's PC1 level: one number, a comma-separated list, or ``auto`` (tigramite's default list, the level
        chosen per target by AIC); None: 0.2. Refused with the other methods.
    link_assumptions : Path or None
        A JSON file of link assumptions (module docstring) for pcmci and pcmci_plus. Refused with the others.

    Returns
    -------
    TemporalGraph

    Raises
    ------
    ValueError
        Unknown method; NaN values; ``tau_max`` leaving too few steps; a constant column; a bad
        link-assumptions file (the message names the file and the entry).
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
    for flag, value, users in (("--tau-min", tau_min, ("pcmci", "pcmci_plus")), ("--pc-alpha", pc_alpha, ("pcmci",)),
                               ("--link-assumptions", link_assumptions, ("pcmci", "pcmci_plus"))):
        if value is not None and method not in users:
            raise ValueError(f"{flag} is used by --method {' and '.join(users)}, not by --method {method}.")
    series = check_series(table, "latentscm discover --timeseries", tau_max=tau_max)
    names = list(names)
    options: dict[str, Any] = {} if tau_min is None else {"tau_min": tau_min}
    if link_assumptions is not None:
        if tau_min is not None and tau_min > tau_max:  # else every lag of the file is refused, not tau_min
            raise ValueError(f"--tau-min {tau_min} is larger than --tau-max {tau_max}.")
        options["link_assumptions"] = read_link_assumptions(
            link_assumptions, names, method=method, tau_max=tau_max,
            tau_min=(1 if method == "pcmci" else 0) if tau_min is None else tau_min)
    try:
        if method == "pcmci":
            if pc_alpha is not None:
                options["pc_alpha"] = _pc_alpha_levels(pc_alpha)
            return timeseries.pcmci(series, tau_max=tau_max, ci_test=ci, alpha=alpha, var_names=names, **options)
        if method == "pcmci_plus":
            return timeseries.pcmci_plus(series, tau_max=tau_max, ci_test=ci, alpha=alpha, var_names=names,
                                         collider_rule=collider_rule or "standard", **options)
    except ValueError as error:
        if link_assumptions is not None and "'link_assumptions'" in str(error):
            raise ValueError(f"--link-assumptions '{link_assumptions}': {error}") from None
        raise
    if method == "granger":
        return timeseries.granger(series, max_lag=tau_max, alpha=alpha, var_names=names)
    if method == "varlingam":
        return timeseries.varlingam(series, max_lag=tau_max, alpha=alpha, var_names=names)
    return timeseries.cmlp_granger(series, max_lag=tau_max, var_names=names)


def read_link_assumptions(path: Path, names: Sequence[str], *, method: str, tau_min: int,
                          tau_max: int) -> dict[int, Any]:
    """The link assumptions of a JSON file (module docstring) by column index: pcmci's ``{j: [(i, -lag), ...]}``
    or, for pcmci_plus, tigramite's ``{j: {(i, -lag): mark}}``. Errors name the file and the entry."""
    from latentscm.discovery.timeseries.pcmci_plus import LINK_MARKS

    where = f"--link-assumptions '{path}'"
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{where}: cannot read a JSON file ({error}).") from None
    if not isinstance(content, dict) or not content or not set(content) <= {"links", "no_causes"}:
        raise ValueError(f"{where}: expected an object with the keys \"links\", a list of "
                         f"{{\"cause\", \"effect\", \"lag\", \"mark\" (optional)}} objects, and/or \"no_causes\", "
                         f"a list of column names.")
    entries, rootless = content.get("links", []), content.get("no_causes", [])
    if not isinstance(entries, list):
        raise ValueError(f"{where}: \"links\" must be a list of {{\"cause\", \"effect\", \"lag\", \"mark\" "
                         f"(optional)}} objects. Got {json.dumps(entries)}.")
    if not isinstance(rootless, list):
        raise ValueError(f"{where}: \"no_causes\" must be a list of column names. Got {json.dumps(rootless)}.")
    index = {name: k for k, name in enumerate(names)}
    marks: dict[int, dict[tuple[int, int], str]] = {}
    for number, name in enumerate(rootless):
        if not isinstance(name, str) or name not in index:
            raise ValueError(f"{where}, no_causes[{number}]: unknown column {name!r}; the columns are "
                             f"{', '.join(names)}.")
        if index[name] in marks:
            raise ValueError(f"{where}, no_causes[{number}]: {name!r} is named twice.")
        marks[index[name]] = {}
    no_causes = set(marks)
    for number, entry in enumerate(entries):
        at = f"{where}, links[{number}] {json.dumps(entry)}"
        if not isinstance(entry, dict) or not {"cause", "effect", "lag"} <= set(entry) or \
                not set(entry) <= {"cause", "effect", "lag", "mark"}:
            raise ValueError(f"{at}: give an object with \"cause\", \"effect\", \"lag\" and optionally \"mark\".")
        for key in ("cause", "effect"):
            if not isinstance(entry[key], str) or entry[key] not in index:
                raise ValueError(f"{at}: unknown {key} {entry[key]!r}; the columns are {', '.join(names)}.")
        lag = entry["lag"]
        if isinstance(lag, bool) or not isinstance(lag, int) or not tau_min <= lag <= tau_max:
            raise ValueError(f"{at}: the lag must be an integer in {tau_min}..{tau_max} (tau_min..tau_max), "
                             f"got {lag!r}.")
        cause, effect = index[entry["cause"]], index[entry["effect"]]
        if effect in no_causes:
            raise ValueError(f"{at}: {entry['effect']!r} is listed in \"no_causes\", so it is the effect of no link; "
                             f"write a link out of it with it as the cause.")
        allowed = (("-?>",) if method == "pcmci" else ("-?>", "-->")) if lag > 0 else LINK_MARKS
        if lag == 0 and cause in no_causes:  # a lag-0 link out of a variable without causes is oriented out of it
            allowed = ("-?>", "-->")
        mark = entry.get("mark", "-?>" if lag > 0 or cause in no_causes else "o?o")
        if mark not in allowed:
            why = f", whose cause {entry['cause']!r} is in \"no_causes\"" if lag == 0 and cause in no_causes else ""
            raise ValueError(f"{at}: mark {mark!r} is not allowed for --method {method} at lag {lag}{why}; "
                             f"allowed: {', '.join(allowed)}.")
        if lag == 0 and cause == effect:
            raise ValueError(f"{at}: a variable is no contemporaneous cause of itself.")
        previous = marks.setdefault(effect, {}).setdefault((cause, -lag), mark)
        if previous != mark:
            raise ValueError(f"{at}: the link is listed twice, with marks {previous!r} and {mark!r}.")
    if method == "pcmci":
        return {j: list(links) for j, links in marks.items()}
    if tau_min == 0:  # a variable without causes may still cause, at lag 0, any variable the file leaves open
        for root in no_causes:
            for other in range(len(names)):
                if other != root and other not in marks:
                    marks[root][(other, 0)] = "<?-"
    return dict(marks)


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
