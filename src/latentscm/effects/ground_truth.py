"""The true average causal effect of an SCM, for checking estimators against.

``E[Y | do(T = t1)] - E[Y | do(T = t0)]`` by Monte Carlo with common random numbers: the same exogenous
noise is pushed through both intervened models, so the average is over unit-level effects. For a linear
SCM every unit has the same effect, and the result is exact up to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_number

__all__ = ["true_effect"]


def true_effect(scm: Any, treatment: str, outcome: str, contrast: tuple[float, float] = (0.0, 1.0), *,
                n: int = 200_000, seed: int | np.random.Generator = 0) -> tuple[float, float]:
    """The effect of moving ``treatment`` from ``contrast[0]`` to ``contrast[1]`` on ``outcome`` in ``scm``
    (a :class:`~latentscm.scm.SCM`). Returns ``(effect, monte_carlo_std_error)``."""
    from latentscm.scm.scm import SCM

    owner = "true_effect"
    if not isinstance(scm, SCM):
        raise TypeError(f"The 'scm' argument of {owner} must be a latentscm SCM. Got {type(scm).__name__}.")
    for role, name in (("treatment", treatment), ("outcome", outcome)):
        if not isinstance(name, str):
            raise TypeError(f"The {role!r} argument of {owner} must be one node name. Got {name!r}.")
        scm.graph.check_node(name)
    if treatment == outcome:
        raise ValueError(f"{owner}: 'treatment' and 'outcome' are both {treatment!r}.")
    n = check_number(n, "n", owner, low=2, integer=True)
    if not isinstance(contrast, (Sequence, np.ndarray)) or isinstance(contrast, (str, bytes)) or len(contrast) != 2:
        raise ValueError(f"The 'contrast' argument of {owner} must be two treatment values (t0, t1). "
                         f"Got {contrast!r}.")
    t0, t1 = (check_number(v, "contrast", owner) for v in contrast)
    noise = scm.sample_noise(n, seed=seed)
    low = scm.do({treatment: t0}).evaluate(noise)[outcome]
    high = scm.do({treatment: t1}).evaluate(noise)[outcome]
    unit = high - low
    return float(np.mean(unit)), float(np.std(unit, ddof=1) / np.sqrt(n))
