"""CD-NOD's orientation of edges between two changing variables (Huang et al. 2020, section 4.2)."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery import cdnod
from latentscm.discovery.cdnod import mechanism_dependence


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
