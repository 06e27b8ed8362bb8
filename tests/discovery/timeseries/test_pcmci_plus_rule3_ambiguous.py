"""Meek R3 does not orient through an ambiguous non-collider (an intentional difference from tigramite 5.2).

Graph: a - b, a - k1, a - k2, k1 -> b <- k2, k1 and k2 not adjacent. R3 orients a -> b because
k1 - a - k2 is a non-collider; when that triple is ambiguous, a - b stays undirected (tigramite checks
the shielded triples (a, k1, b), (a, k2, b) instead, which are never ambiguous, and orients a -> b:
/work/bench_out/s25/pcmci_review/rule3_ambiguous.py).
"""

import numpy as np
import pytest

from latentscm.discovery.timeseries.pcmci_plus import _propagate_orientations

A, B, K1, K2 = range(4)


def graph():
    g = np.zeros((4, 4), dtype=np.int64)
    for x, y in [(A, B), (A, K1), (A, K2)]:
        g[x, y] = g[y, x] = 1
    g[K1, B] = g[K2, B] = 1
    return g


@pytest.mark.parametrize(("ambiguous", "oriented"), [(set(), True), ({(K1, 0, A, K2), (K2, 0, A, K1)}, False)])
def test_r3_needs_an_unambiguous_non_collider(ambiguous, oriented):
    out = _propagate_orientations(graph(), {j: set() for j in range(4)}, ambiguous, set())
    assert (out[A, B], out[B, A]) == ((1, 0) if oriented else (1, 1))
