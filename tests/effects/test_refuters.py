"""Refutation checks: what each one catches, and what none can."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.effects import REFUTERS, refute_effect
from latentscm.graph import CausalGraph
from latentscm.scm import SCM, Functional, LinearGaussian, Normal, Uniform

GRAPH = CausalGraph.from_text("Z1 -> T; Z2 -> T; Z1 -> Y; Z2 -> Y; T -> Y")


def _data(n: int = 400, effect: float = 2.0, seed: int = 0) -> dict[str, np.ndarray]:
    scm = SCM(GRAPH, {
        "Z1": LinearGaussian(), "Z2": LinearGaussian(),
        "T": Functional(lambda p, u: (u < 1 / (1 + np.exp(-(p[:, 0] - 0.5 * p[:, 1])))).astype(float),
                        Uniform(0.0, 1.0), parent_names=("Z1", "Z2")),
        "Y": Functional(lambda p, u: effect * p[:, 2] + 1.5 * p[:, 0] + p[:, 1] + u, Normal(0.0, 1.0),
                        parent_names=("Z1", "Z2", "T")),
    })
    return scm.sample(n, seed=seed)


def test_a_real_effect_passes_every_check():
    report = refute_effect(_data(), GRAPH, "T", "Y", n_simulations=10, method="aipw")
    assert [c.name for c in report.checks] == list(REFUTERS) and report.passed
    placebo = {c.name: c for c in report.checks}["placebo"]
    assert abs(placebo.mean) < 3 * placebo.std / np.sqrt(10) + 1e-12  # placebo estimates centre on zero
    record = report.to_dict()
    assert record["passed"] and len(record["checks"][0]["estimates"]) == 10


def test_a_null_effect_is_indistinguishable_from_placebo():
    report = refute_effect(_data(effect=0.0), GRAPH, "T", "Y", checks=["placebo"], n_simulations=10)
    assert not report.passed and "FAILED" in str(report)


def test_no_check_reveals_a_confounder_the_graph_omits():
    data = _data(1000)
    wrong = CausalGraph.from_text("Z1 -> T; Z1 -> Y; T -> Y")  # Z2 confounds but is missing
    report = refute_effect({k: data[k] for k in ("Z1", "T", "Y")}, wrong, "T", "Y", n_simulations=10,
                           method="aipw")
    assert not report.original.covers(2.0)  # biased ...
    assert report.passed                     # ... and every check still passes: they are not proofs


def test_refutation_is_seeded():
    data = _data()
    first = refute_effect(data, GRAPH, "T", "Y", checks=["subset"], n_simulations=4, seed=3)
    again = refute_effect(data, GRAPH, "T", "Y", checks=["subset"], n_simulations=4, seed=3)
    other = refute_effect(data, GRAPH, "T", "Y", checks=["subset"], n_simulations=4, seed=4)
    assert first.checks[0].estimates == again.checks[0].estimates != other.checks[0].estimates


def test_bad_arguments_are_named():
    data = _data(100)
    with pytest.raises(ValueError, match="'checks' argument"):
        refute_effect(data, GRAPH, "T", "Y", checks=["bootstrap"])
    with pytest.raises(TypeError, match="'checks' argument"):
        refute_effect(data, GRAPH, "T", "Y", checks="placebo")
    with pytest.raises(ValueError, match="'subset_fraction' parameter"):
        refute_effect(data, GRAPH, "T", "Y", subset_fraction=1.0)
    with pytest.raises(ValueError, match="'n_simulations' parameter"):
        refute_effect(data, GRAPH, "T", "Y", n_simulations=1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        refute_effect(data, GRAPH, "T", "Y", learner="forest")
