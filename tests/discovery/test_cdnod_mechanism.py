"""CD-NOD's orientation of edges between two changing variables (Huang et al. 2020, section 4.2)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from latentscm.discovery import cdnod
from latentscm.discovery.cdnod import mechanism_dependence

cdnod_module = sys.modules["latentscm.discovery.cdnod"]  # the module, shadowed by the function in the package


def _two_changing(seed: int, kind: str, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X -> Y with independently changing P(X) and P(Y | X): C -> X, C -> Y, X -> Y, a triangle with
    no v-structure, so neither PC nor CD-NOD's collider and Meek steps can orient X - Y."""
    rng = np.random.default_rng(seed)
    if kind == "domain":
        k = 8
        c = np.repeat(np.arange(k), n // k).astype(float)
        shift_x, scale_x = rng.uniform(-1.5, 1.5, k), rng.uniform(0.5, 1.5, k)
        shift_y, scale_y = rng.uniform(-1.5, 1.5, k), rng.uniform(0.3, 1.0, k)
        idx = c.astype(int)
        x = shift_x[idx] + scale_x[idx] * rng.normal(size=n)
        y = 1.5 * np.tanh(x) + shift_y[idx] + scale_y[idx] * rng.normal(size=n)
    else:
        c = np.arange(n) / n
        phase_x, phase_y = rng.uniform(0, 2 * np.pi, 2)
        freq_x, freq_y = rng.uniform(1, 3, 2)
        x = 1.5 * np.sin(2 * np.pi * freq_x * c + phase_x) + rng.normal(size=n)
        y = 1.5 * np.tanh(x) + 1.5 * np.sin(2 * np.pi * freq_y * c + phase_y) + 0.5 * rng.normal(size=n)
    return x, y, c


@pytest.mark.parametrize("kind", ["domain", "time"])
def test_independent_changes_point_from_cause_to_effect_on_most_seeds(kind):
    # Measured 8/10 for both kinds on seeds 0..9 (a heuristic decision, not a test with a level):
    # the bound leaves one seed of slack and still fails for a coin flip (P(>= 7/10) = 0.17).
    right = 0
    for seed in range(10):
        x, y, c = _two_changing(seed, kind)
        right += mechanism_dependence(x, y, c) < mechanism_dependence(y, x, c)
    assert right >= 7


def test_cdnod_orients_the_changing_pair_only_with_the_new_step():
    x, y, c = _two_changing(4, "domain")
    data = np.column_stack([x, y])
    without = cdnod(data, c, node_names=["X", "Y"])  # the default leaves the step off
    assert set(without.info["changing"]) == {"X", "Y"}
    assert without.adjacency[0, 1] == 1 and without.adjacency[1, 0] == 1  # X - Y left undirected
    assert without.info["mechanism_dependence"] == []
    found = cdnod(data, c, node_names=["X", "Y"], orient_changing=True)
    assert found.adjacency[0, 1] == 1 and found.adjacency[1, 0] == 0  # X -> Y
    (record,) = found.info["mechanism_dependence"]
    assert (record["cause"], record["effect"]) == ("X", "Y") and record["chosen"] < record["reverse"]


def test_mechanism_dependence_rejects_bad_input():
    x = np.random.default_rng(0).normal(size=50)
    with pytest.raises(ValueError, match="same number of rows"):
        mechanism_dependence(x, x, np.arange(40.0))
    with pytest.raises(ValueError, match="ridge"):
        mechanism_dependence(x, x, np.arange(50.0), ridge=0.0)
    with pytest.raises(ValueError, match=r"'cause' argument of mechanism_dependence must be 1-D .* \(10, 2, 2\)"):
        mechanism_dependence(np.ones((10, 2, 2)), x[:10], np.arange(10.0))


def test_intransitive_pair_decisions_never_close_a_directed_cycle(monkeypatch):
    # X0 -> X1 -> X2 and X0 -> X2, every mechanism changing across 10 domains: a triangle whose three
    # edges are all adjacent to C, so only orient_changing can orient them. The scores are replaced by
    # a cyclic set: X0 -> X1 (margin 0.8) and X1 -> X2 (0.6) right, X2 -> X0 (0.2) wrong.
    rng = np.random.default_rng(3)
    c = np.repeat(np.arange(10, dtype=float), 40)
    a = 2 * rng.normal(size=(10, 6))[c.astype(int)]
    x = a[:, 0] + (0.5 + np.abs(a[:, 1])) * rng.normal(size=c.size)
    y = (1 + 0.3 * a[:, 2]) * x + a[:, 3] + 0.5 * rng.normal(size=c.size)
    z = (1 + 0.3 * a[:, 4]) * y + 0.5 * x + a[:, 5] + 0.5 * rng.normal(size=c.size)
    data = np.column_stack([x, y, z])
    decided = {(0, 1): 0.1, (1, 0): 0.9, (1, 2): 0.2, (2, 1): 0.8, (2, 0): 0.4, (0, 2): 0.6}

    def column(values):
        return int(np.flatnonzero((data == np.asarray(values)[:, None]).all(axis=0))[0])

    monkeypatch.setattr(cdnod_module, "mechanism_dependence",
                        lambda cause, effect, context: decided[(column(cause), column(effect))])
    found = cdnod(data, c, ci_test="fisherz", orient_changing=True)
    assert found.info["changing"] == ["X0", "X1", "X2"]
    assert found.undirected_edges == []
    assert sorted(found.directed_edges) == [("C", "X0"), ("C", "X1"), ("C", "X2"), ("X0", "X1"), ("X0", "X2"),
                                            ("X1", "X2")]
    found.to_causal_graph()  # acyclic
    records = [(r["cause"], r["effect"], r["oriented"]) for r in found.info["mechanism_dependence"]]
    assert records == [("X0", "X1", True), ("X1", "X2", True), ("X2", "X0", False)]  # by decreasing margin
