"""Review of the PAG adjustment module (session 49): defects found, each pinned by a test that fails on the code
as reviewed, plus edge cases of the graph theory that the module's own tests do not pin down."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.discovery.pag import PartialAncestralGraph
from latentscm.effects import (
    is_pag_adjustment_set,
    is_pag_amenable,
    pag_adjustment_set,
    pag_forbidden_nodes,
    visible_edges,
)


def _pag(names, edges):
    return PartialAncestralGraph.from_edges(names, edges)


# --- defects ----------------------------------------------------------------------------------------------------


def test_duplicate_node_names_are_refused():
    # PartialAncestralGraph does not check that its names are unique (DiscoveredGraph does: "Node names must be
    # unique"), and _Pag.index takes the first match: here the first 'X' (A o-> X, X --> Y, visible) is silently
    # used and ('A',) returned, although the second 'X' has X <-> Y. A graph whose names are ambiguous must be
    # refused, as the DAG and CPDAG paths refuse it.
    marks = np.zeros((4, 4), dtype=np.int64)
    for a, b, at_a, at_b in ((0, 1, 1, 2), (1, 3, 3, 2), (2, 3, 2, 2)):  # A o-> X, X --> Y, X' <-> Y
        marks[b, a], marks[a, b] = at_a, at_b
    # Fixed at the source: the graph itself refuses ambiguous names, so no function ever sees one.
    with pytest.raises(ValueError, match="unique"):
        PartialAncestralGraph(("A", "X", "X", "Y"), marks)


def test_non_str_node_names_are_handled_consistently():
    # A PAG built with int node names: visible_edges accepts it ([(2, 3)]), but pag_adjustment_set(graph, 1, 3)
    # says "The 'treatment' argument ... must be one node name. Got 1." although 1 is one of the graph's node names.
    # Either the names are usable, or the graph is refused up front for its names (naming the 'graph' argument).
    graph = PartialAncestralGraph((1, 2, 3), np.array([[0, 2, 0], [1, 0, 2], [0, 3, 0]]))  # 1 o-> 2 --> 3
    try:
        result = pag_adjustment_set(graph, 2, 3)
    except (TypeError, ValueError) as error:
        assert "'graph'" in str(error), str(error)
        with pytest.raises(type(error), match="'graph'"):
            visible_edges(graph)
    else:
        assert result == ()


@pytest.mark.parametrize(("payload", "key"), [
    ({"nodes": None, "marks": [[0, 2], [3, 0]]}, "nodes"),
    ({"nodes": 5, "marks": [[0, 2], [3, 0]]}, "nodes"),
    ({"nodes": ["X", "Y"], "marks": [[0, None], [None, 0]]}, "marks"),
])
def test_cli_names_the_malformed_key_of_a_pag_json(tmp_path, payload, key):
    # read_graph_option's new 'marks' branch passes PartialAncestralGraph.from_dict's internal errors through:
    # "--graph g.json: 'NoneType' object is not iterable", "'int' object is not iterable", "'<' not supported between
    # instances of 'NoneType' and 'NoneType'". The message should name the bad key.
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(50, 2))
    (tmp_path / "d.csv").write_text("X,Y\n" + "\n".join(f"{a:.6f},{b:.6f}" for a, b in rows) + "\n")
    (tmp_path / "g.json").write_text(json.dumps(payload))
    result = CliRunner().invoke(app, ["effect", str(tmp_path / "d.csv"), "--graph", str(tmp_path / "g.json"),
                                      "--treatment", "X", "--outcome", "Y", "--method", "regression"])
    assert result.exit_code == 2, result.output
    assert key in result.output.split("g.json", 1)[-1], result.output


def test_cli_world_with_an_empty_adjustment_list_adjusts_for_nothing(tmp_path):
    # cli/effect.py: `adjust_world = _adjustment(adjustment) or "optimal"`. For --adjustment "" _adjustment gives []
    # (an explicit empty set, as on the CSV path, where estimate_effect checks it), and `[] or "optimal"` silently
    # turns it into the optimal set ({hole_position} in world 'flow'). Before this change --world used [] here.
    out = tmp_path / "e.json"
    result = CliRunner().invoke(app, ["effect", "--world", "flow", "--treatment", "ball_size", "--outcome", "flow",
                                      "--adjustment", "", "--samples", "200", "--method", "regression",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    estimate = payload.get("estimate", payload)
    assert estimate["adjustment_set"] == [], payload


# --- edge cases that hold (pinned: the module's tests never reach visibility through a collider path) -------------


def test_visibility_through_a_collider_path_only():
    # MAG C -> V <-> A <- D, V -> B, A -> B, D -> B; its PAG (by enumeration, 4 MAGs) is below. Every node with an
    # edge into A (V, D) is adjacent to B, so A -> B is visible only through the collider path C o-> V <-> A whose
    # inner node V is a parent of B (Zhang 2008, Def. 3.1). The valid sets were checked against the module tests'
    # linear-Gaussian regression oracle over the class's DAGs (11 DAGs, hidden confounders included).
    graph = _pag(list("CVADB"), ["C o-> V", "V <-> A", "V --> B", "D o-> A", "A --> B", "D --> B"])
    assert sorted(visible_edges(graph)) == [("A", "B"), ("V", "B")]
    assert is_pag_amenable(graph, "A", "B") and pag_forbidden_nodes(graph, "A", "B") == ("B",)
    assert pag_adjustment_set(graph, "A", "B") == ("C", "V", "D")
    assert pag_adjustment_set(graph, "A", "B", kind="minimal") == ("V", "D")
    subsets = [z for z in ([], ["C"], ["V"], ["D"], ["C", "V"], ["C", "D"], ["V", "D"], ["C", "V", "D"])
               if is_pag_adjustment_set(graph, "A", "B", z)]
    assert subsets == [["V", "D"], ["C", "V", "D"]]
    # without the arrowhead at A from V (A o-> V, as in the PAG of C -> V <-> A, V -> B, A -> B), no visibility
    open_mark = _pag(list("CVAB"), ["C o-> V", "A o-> V", "V --> B", "A --> B"])
    assert visible_edges(open_mark) == [("V", "B")] and not is_pag_amenable(open_mark, "A", "B")
    # the same MAG read as itself: there A -> B is visible (V <-> A is into A)
    mag = _pag(list("CVAB"), ["C --> V", "V <-> A", "V --> B", "A --> B"])
    assert sorted(visible_edges(mag)) == [("A", "B"), ("V", "B")]
