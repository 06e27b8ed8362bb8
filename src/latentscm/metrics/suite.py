"""Named metric suites on arrays: one place that maps metric names to functions, so that
``evaluate(learner, world)`` (and the CLI and the benchmark) encode once and then compute any
list of metrics on the same (codes, factors).

The names live in a :class:`~latentscm._registry.Registry` like learners, worlds and CI tests:
``REGISTRY.names()``, ``REGISTRY.get("mig")`` (the function), ``REGISTRY.make("mig",
estimator="knn")`` (the function with those options bound), ``REGISTRY.register(name, function)``.
:data:`METRICS` is a live read-only view of it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from latentscm._registry import Registry, RegistryView
from latentscm._validation import check_choice
from latentscm.metrics._common import check_codes_factors
from latentscm.metrics.dci import dci
from latentscm.metrics.infomec import infomec
from latentscm.metrics.mcc import mcc
from latentscm.metrics.mig import mig
from latentscm.metrics.modularity import modularity_explicitness
from latentscm.metrics.r2 import r2
from latentscm.metrics.sap import sap

__all__ = ["DISENTANGLEMENT_SUITE", "METRICS", "REGISTRY", "SUITES", "compute_metric", "compute_metrics"]


def _bind_options(function: Callable[..., float | dict[str, float]],
                  params: dict[str, object]) -> Callable[..., float | dict[str, float]]:
    return partial(function, **params) if params else function


#: The metric registry: name -> function of (codes, factors, ...). Scalar metrics are reported
#: under their name; dict metrics under their own namespaced keys.
REGISTRY = Registry("metric", None, build=_bind_options)

for _name, _function in {
    "mig": mig,
    "mig_knn": partial(mig, estimator="knn"),
    "sap": sap,
    "dci": dci,
    "dci_gbt": partial(dci, estimator="gbt"),
    "modularity_explicitness": modularity_explicitness,
    "infomec": infomec,
    "mcc": mcc,
    "mcc_spearman": partial(mcc, method="spearman"),
    "r2": r2,
}.items():
    REGISTRY.register(_name, _function)

#: Metric name -> function, a live read-only view of :data:`REGISTRY`.
METRICS: RegistryView = REGISTRY.view()

#: The array-level disentanglement suite of issue 4 (timed in benchmarks/bench_metrics.py).
DISENTANGLEMENT_SUITE = ("mig", "sap", "dci", "modularity_explicitness", "infomec", "mcc")

SUITES: dict[str, tuple[str, ...]] = {
    "disentanglement": DISENTANGLEMENT_SUITE,
    "identifiability": ("mcc", "mcc_spearman", "r2"),
}


def _accepts(function: Callable, name: str) -> bool:
    return name in inspect.signature(function).parameters


def compute_metric(name: str, codes: np.ndarray, factors: np.ndarray, *, seed: int = 0,
                   discrete: bool | Sequence[bool] | None = None) -> dict[str, float]:
    """One named metric as a dict: ``{name: value}`` for a scalar metric, the metric's own
    keys for a multi-part one. ``seed`` and ``discrete`` are passed where the metric takes
    them.

    Raises
    ------
    UnknownNameError
        No metric is registered as ``name`` (the message lists the valid ones).
    """
    function = REGISTRY.get(name)
    options = {}
    if _accepts(function, "seed"):
        options["seed"] = seed
    if discrete is not None and _accepts(function, "discrete"):
        options["discrete"] = discrete
    value = function(codes, factors, **options)
    if isinstance(value, dict):
        # namespaced keys take the name the metric was asked for: dci_gbt reports dci_gbt.*, not dci.*, so that
        # two variants of one metric can be computed together
        return {(f"{name}.{key.split('.', 1)[1]}" if "." in key else key): float(item) for key, item in value.items()}
    return {name: float(value)}


def compute_metrics(codes: np.ndarray, factors: np.ndarray, *,
                    metrics: str | Sequence[str] = "disentanglement", seed: int = 0,
                    discrete: bool | Sequence[bool] | None = None) -> dict[str, float]:
    """Compute a suite (a name in :data:`SUITES`) or a list of metric names (keys of
    :data:`METRICS`) on one (codes (N, D), factors (N, K)) pair; returns one flat dict."""
    codes, factors = check_codes_factors(codes, factors, "compute_metrics")
    if isinstance(metrics, str):
        names = SUITES[check_choice(metrics, "metrics", "compute_metrics", SUITES)]
    else:
        names = tuple(metrics)
        if not names:
            raise ValueError("The 'metrics' parameter of compute_metrics must be a suite name or a non-empty list "
                             f"of metric names. Got {metrics!r}.")
    result: dict[str, float] = {}
    owner: dict[str, str] = {}
    for name in dict.fromkeys(names):  # a metric listed twice is computed once
        for key, value in compute_metric(name, codes, factors, seed=seed, discrete=discrete).items():
            if key in result:
                raise ValueError(f"compute_metrics: metrics {owner[key]!r} and {name!r} both report {key!r}; "
                                 "compute them separately.")
            result[key], owner[key] = value, name
    return result
