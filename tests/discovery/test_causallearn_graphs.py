"""causal-learn's endpoint matrices in latentscm's CPDAG and PAG conventions (the shared converter of the
cross-checks). The matrices here are written by hand from causal-learn's documented convention; the tests that
run causal-learn itself (test_fci, the PC cross-checks) use the same converter."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery.pag import ARROW, CIRCLE, TAIL, PartialAncestralGraph
from latentscm.testing import cpdag_from_causallearn, pag_from_causallearn


def test_cpdag_directed_undirected_and_bidirected_edges() -> None:
    # 0 -> 1, 1 - 2, 2 <-> 3; g[j, i] is the mark at i: -1 tail, 1 arrowhead
    g = np.zeros((4, 4), dtype=int)
    g[0, 1], g[1, 0] = -1, 1
    g[1, 2], g[2, 1] = -1, -1
    g[2, 3], g[3, 2] = 1, 1
    out = cpdag_from_causallearn(g)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 1] = 1
    expected[1, 2] = expected[2, 1] = 1
    expected[2, 3] = expected[3, 2] = 1
    np.testing.assert_array_equal(out, expected)


def test_pag_marks_follow_pcalg() -> None:
    # 0 -> 1, 0 o-> 2, 2 <-> 3, 3 o-o 1
    g = np.zeros((4, 4), dtype=int)
    g[0, 1], g[1, 0] = -1, 1
    g[0, 2], g[2, 0] = 2, 1
    g[2, 3], g[3, 2] = 1, 1
    g[3, 1], g[1, 3] = 2, 2
    marks = pag_from_causallearn(g)
    assert sorted(PartialAncestralGraph(("a", "b", "c", "d"), marks).edges()) == [
        "a --> b", "a o-> c", "b o-o d", "c <-> d"]
    assert marks[0, 1] == ARROW and marks[1, 0] == TAIL and marks[2, 0] == CIRCLE


@pytest.mark.parametrize("g, message", [
    (np.array([[0, 3], [1, 0]]), r"endpoint codes \[3(\.0)?\]"),
    (np.zeros((2, 3)), "square"),
])
def test_bad_matrices_are_refused(g, message) -> None:
    with pytest.raises(ValueError, match=message):
        pag_from_causallearn(g)


def test_cpdag_refuses_circles() -> None:
    with pytest.raises(ValueError, match="PAG; use pag_from_causallearn"):
        cpdag_from_causallearn(np.array([[0, 2], [1, 0]]))
