"""``identify_effect``: the routes into an effect, and the graphical criteria against the ID algorithm (two
independent implementations: every effect an adjustment or front-door set identifies must have an ID estimand)."""

from __future__ import annotations

import pytest

from latentscm.effects import (
    Identification,
    InstrumentSet,
    NoAdjustmentSetError,
    identify_effect,
    minimal_adjustment_set,
)
from latentscm.graph import CausalGraph
from latentscm.testing.oracles import random_latent_graph


def test_each_route_on_its_textbook_graph():
    front = identify_effect(CausalGraph.from_text("U -> T; U -> Y; T -> M; M -> Y"), "T", "Y",
                            observed=["T", "M", "Y"])
    assert front.routes == ["front door", "ID algorithm"] and front.front_door == ("M",) and front.hidden == ("U",)
    assert "front_door_effect(data, graph, 'T', 'Y')" in str(front)
    assert front.estimand == "sum_{M} P(M|T) sum_{T'} P(T') P(Y|T',M)"  # Pearl's front-door formula
    iv = identify_effect(CausalGraph.from_text("W -> Z; W -> Y; Z -> X; U -> X; U -> Y; X -> Y"), "X", "Y",
                         observed=["W", "Z", "X", "Y"])
    assert iv.routes == ["instruments"] and iv.instruments == InstrumentSet(("Z",), ("W",))
    assert "not identifiable from the observed distribution" in str(iv) and "(a linear model)" in str(iv)
    plain = identify_effect(CausalGraph.from_text("A -> T; T -> Y; A -> Y"), "T", "Y")
    assert plain.routes == ["adjustment", "ID algorithm"] and plain.adjustment == ("A",) and plain.hidden == ()
    assert plain.optimal
    # The optimal set {H} (the mediator's other parent) is hidden; the minimal set, empty, is still valid.
    hidden_optimal = identify_effect(CausalGraph.from_text("T -> M; M -> Y; H -> M"), "T", "Y",
                                     observed=["T", "M", "Y"])
    assert hidden_optimal.adjustment == () and not hidden_optimal.optimal
    assert "adjustment='minimal'" in str(hidden_optimal)
    closed = identify_effect(CausalGraph.from_text("U -> T; U -> Y; T -> Y"), "T", "Y", observed=["T", "Y"])
    assert closed.routes == [] and closed.to_dict()["routes"] == []
    # The napkin graph: no adjustment or front door, yet the ID algorithm finds a formula (and W2 is an instrument
    # given W1 in a linear model).
    napkin = identify_effect(CausalGraph.from_text(
        "W1 -> W2; W2 -> X; X -> Y; U1 -> W1; U1 -> Y; U2 -> W1; U2 -> X"), "X", "Y", observed=["W1", "W2", "X", "Y"])
    assert napkin.routes == ["instruments", "ID algorithm"]
    assert napkin.to_dict()["instruments"] == {"instruments": ["W2"], "covariates": ["W1"]}


def test_graphical_routes_agree_with_the_id_algorithm_on_random_graphs():
    # Whenever an adjustment set or a front-door set exists, the ID algorithm (a separate implementation, on the
    # latent projection) must find an estimand; instruments need linearity, so they may exist where it finds none.
    counts = {"adjustment": 0, "front door": 0, "id only": 0, "instruments only": 0, "closed": 0}
    for seed in range(150):
        graph, observed = random_latent_graph(seed, observed=(4, 7), hidden=(1, 3))
        for x in observed:
            for y in observed:
                if x == y or y not in graph.descendants(x):
                    continue
                found = identify_effect(graph, x, y, observed=observed)
                assert isinstance(found, Identification)
                # An optimal set that holds a hidden node must not hide the minimal one (it once did).
                try:
                    minimal = minimal_adjustment_set(graph, x, y, observed=observed)
                except NoAdjustmentSetError:
                    minimal = None
                assert found.minimal_adjustment == minimal and (found.adjustment is None) == (minimal is None)
                if found.adjustment is not None or found.front_door is not None:
                    assert found.estimand is not None, (seed, x, y)
                counts["adjustment"] += found.adjustment is not None
                counts["front door"] += found.front_door is not None and found.adjustment is None
                counts["id only"] += found.routes == ["ID algorithm"]
                counts["instruments only"] += found.routes == ["instruments"]
                counts["closed"] += not found.routes

    # Measured: 664 by adjustment, 5 more by a front door, 2 by the ID algorithm alone (a formula id_effect
    # evaluates on discrete data), 35 by instruments alone, 171 by nothing.
    assert counts == {"adjustment": 664, "front door": 5, "id only": 2, "instruments only": 35, "closed": 171}


def test_bad_input_is_refused_by_name():
    graph = CausalGraph.from_text("U -> T; U -> Y; T -> Y")
    with pytest.raises(ValueError, match="'observed'.*leaves out \\['Y'\\]"):
        identify_effect(graph, "T", "Y", observed=["T"])
    with pytest.raises(ValueError, match="one treatment and one outcome"):
        identify_effect(graph, ["T", "U"], "Y")
    with pytest.raises(TypeError, match="'graph'"):
        identify_effect("U -> T", "T", "Y")
