"""s25: the ID algorithm (Shpitser & Pearl 2006) on textbook graphs, the semi-Markovian graph and bad input.

Numbers are checked against graph surgery on random DiscreteSCMs (``DiscreteSCM.do(...).observed``),
formulas against the ones in the literature (back-door, front-door, napkin)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from latentscm.exceptions import LatentSCMError
from latentscm.graph import CausalGraph, UnknownNodeError
from latentscm.scm import (
    DiscreteSCM,
    NonIdentifiableError,
    PositivityError,
    ProbabilityTable,
    backdoor_adjustment,
    frontdoor_adjustment,
    identify,
    is_backdoor_set,
    is_frontdoor_set,
)
from latentscm.scm.id_algorithm import SemiMarkovianGraph


def random_scm(edges, nodes, seed, card=None):
    rng = np.random.default_rng(seed)
    graph = CausalGraph(edges, nodes=nodes)
    card = card or {n: int(rng.integers(2, 4)) for n in nodes}
    cpts = {n: rng.dirichlet(np.ones(card[n]), size=tuple(card[p] for p in graph.parents(n))) for n in nodes}
    return DiscreteSCM(graph, cpts)


def truth(model: DiscreteSCM, y, x):
    """P(y | do(x)) with axes (*x, *y), one surgery per treatment configuration."""
    cards = [model.cardinalities[n] for n in x]
    out = np.zeros(cards + [model.cardinalities[n] for n in y])
    for index in np.ndindex(*cards):
        out[index] = model.do(dict(zip(x, index))).observed(y).values
    return out


def check_numbers(model, hidden, y, x, seeds=3):
    observed = [n for n in model.nodes if n not in hidden]
    estimand = identify(SemiMarkovianGraph.from_scm(model, hidden=hidden), y, x)
    assert estimand.variables() <= set(observed)
    result = estimand.evaluate(model.observed(observed))
    assert result.variables == (*x, *y) and result.intervened == tuple(x)
    np.testing.assert_allclose(result.values, truth(model, y, x), atol=1e-10, rtol=0)
    return estimand


# ---------------------------------------------------------------------------------- identifiable
@pytest.mark.parametrize("seed", range(3))
def test_backdoor_graph(seed):
    model = random_scm([("z", "x"), ("z", "y"), ("x", "y")], ["z", "x", "y"], seed)
    estimand = check_numbers(model, [], ["y"], ["x"])
    assert str(estimand) == "sum_{z} P(z) P(y|z,x)"
    joint = model.joint()
    assert estimand.evaluate(joint).allclose(backdoor_adjustment(joint, "x", "y", "z"), atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_frontdoor_graph_with_hidden_confounder(seed):
    model = random_scm([("u", "x"), ("u", "y"), ("x", "m"), ("m", "y")], ["u", "x", "m", "y"], seed)
    estimand = check_numbers(model, ["u"], ["y"], ["x"])
    assert str(estimand) == "sum_{m} P(m|x) sum_{x'} P(x') P(y|x',m)"
    joint = model.observed(["x", "m", "y"])
    assert estimand.evaluate(joint).allclose(frontdoor_adjustment(joint, "x", "m", "y"), atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_napkin_is_identified_where_backdoor_and_frontdoor_fail(seed):
    # w -> z -> x -> y, w <-> x (u1), w <-> y (u2): Pearl's napkin.
    edges = [("w", "z"), ("z", "x"), ("x", "y"), ("u1", "w"), ("u1", "x"), ("u2", "w"), ("u2", "y")]
    model = random_scm(edges, ["u1", "u2", "w", "z", "x", "y"], seed)
    for subset in ([], ["w"], ["z"], ["w", "z"]):
        assert not is_backdoor_set(model.graph, "x", "y", subset)
        assert not subset or not is_frontdoor_set(model.graph, "x", "y", subset)
    estimand = check_numbers(model, ["u1", "u2"], ["y"], ["x"])
    assert str(estimand) == ("sum_{z} P(z) (sum_{w} P(w) P(x|w,z) P(y|w,z,x)) / (sum_{w} P(w) P(x|w,z))")


def test_confounder_path_through_a_non_ancestor_is_harmless():
    # x -> y, x <-> z <-> y, z not a cause of y: z is a collider on the only back-door path.
    edges = [("x", "y"), ("u1", "x"), ("u1", "z"), ("u2", "z"), ("u2", "y")]
    model = random_scm(edges, ["u1", "u2", "x", "z", "y"], 4)
    assert str(check_numbers(model, ["u1", "u2"], ["y"], ["x"])) == "P(y|x)"


def test_line_three_variables_are_averaged_out():
    # w -> x -> y: ID adds w to the intervention (line 3); the estimand averages it with P(w).
    model = random_scm([("w", "x"), ("x", "y")], ["w", "x", "y"], 5)
    assert str(check_numbers(model, [], ["y"], ["x"])) == "sum_{w} P(w) P(y|w,x)"


@pytest.mark.parametrize("seed", range(3))
def test_joint_query_with_two_treatments(seed):
    edges = [("x1", "z"), ("z", "y"), ("x2", "y"), ("x1", "x2"), ("u1", "x1"), ("u1", "y"), ("u2", "x2"),
             ("u2", "z")]
    model = random_scm(edges, ["u1", "u2", "x1", "x2", "z", "y"], seed)
    check_numbers(model, ["u1", "u2"], ["y", "z"], ["x1", "x2"])


def test_treatment_that_is_not_a_cause_and_empty_do():
    model = random_scm([("a", "b"), ("u", "a"), ("u", "c")], ["u", "a", "b", "c"], 6)
    smg = SemiMarkovianGraph.from_scm(model, observed=["a", "b", "c"])
    estimand = identify(smg, "c", "b")  # b does not cause c: P(c | do(b)) = P(c) for every b
    assert str(estimand) == "P(c)"
    values = estimand.evaluate(model.observed(["a", "b", "c"])).values
    np.testing.assert_allclose(values, truth(model, ["c"], ["b"]), atol=1e-12)
    marginal = identify(smg, ["a", "c"])
    assert marginal.evaluate(model.observed(["a", "b", "c"])).allclose(model.observed(["a", "c"]), atol=1e-12)


def test_causal_graph_is_read_as_fully_observed():
    graph = CausalGraph.from_text("a -> b -> c")
    assert str(identify(graph, "c", "a")) == "sum_{b} P(b|a) P(c|a,b)"


# ---------------------------------------------------------------------------------- not identifiable
@pytest.mark.parametrize(("text", "y", "x", "forest", "sub"), [
    ("x -> y; x <-> y", ["y"], ["x"], {"x", "y"}, {"y"}),  # the bow
    ("x -> y; z -> y; x <-> z; z <-> y", ["y"], ["x"], {"x", "z", "y"}, {"z", "y"}),
    ("z -> x -> y; x <-> y", ["y"], ["x"], {"x", "y"}, {"y"}),  # an instrument does not help
    ("x -> m -> y; x <-> m", ["y"], ["x"], {"x", "m"}, {"m"}),  # P(m | do(x)) fails inside line 4
])
def test_hedges(text, y, x, forest, sub):
    with pytest.raises(NonIdentifiableError) as info:
        identify(SemiMarkovianGraph(text), y, x)
    assert info.value.hedge == (frozenset(forest), frozenset(sub))
    assert isinstance(info.value, LatentSCMError) and isinstance(info.value, ValueError)
    assert all(name in str(info.value) for name in forest)
    assert pickle.loads(pickle.dumps(info.value)).hedge == info.value.hedge


def test_bow_refusal_matters():
    # In the bow, the only candidate number (the conditional) is wrong, and identify returns none.
    model = random_scm([("u", "x"), ("u", "y"), ("x", "y")], ["u", "x", "y"], 8, card={"u": 2, "x": 2, "y": 2})
    naive = model.observed(["x", "y"]).conditional("y", "x").values
    assert not np.allclose(naive, truth(model, ["y"], ["x"]), atol=1e-3)
    with pytest.raises(NonIdentifiableError, match=r"F = \{x, y\}, F' = \{y\}"):
        identify(SemiMarkovianGraph.from_scm(model, hidden="u"), "y", "x")


# ---------------------------------------------------------------------------------- the graph
def test_text_and_pairs_give_the_same_graph():
    a = SemiMarkovianGraph("x -> m -> y\nx <-> y  # confounded")
    b = SemiMarkovianGraph(CausalGraph([("x", "m"), ("m", "y")]), [("y", "x")])
    assert a == b and hash(a) == hash(b)
    assert a.bidirected == (("x", "y"),)
    assert SemiMarkovianGraph(str(a)) == a
    assert SemiMarkovianGraph("a -> b; c <-> d <-> b").c_components() == [frozenset("a"), frozenset("bcd")]


def test_latent_projection():
    # h1 hidden on a path a -> h1 -> b gives a -> b; h2 -> h3 -> {c, d} gives c <-> d; h4 -> a only: nothing.
    graph = CausalGraph([("a", "h1"), ("h1", "b"), ("h2", "h3"), ("h3", "c"), ("h3", "d"), ("h2", "a"),
                         ("h4", "a")], nodes=["a", "b", "c", "d", "h1", "h2", "h3", "h4"])
    smg = SemiMarkovianGraph.from_dag(graph, ["h1", "h2", "h3", "h4"])
    assert smg.nodes == ("a", "b", "c", "d")
    assert smg.directed.edges == (("a", "b"),)
    assert set(smg.bidirected) == {("a", "c"), ("a", "d"), ("c", "d")}


# ---------------------------------------------------------------------------------- bad input
def test_bad_graph_input():
    with pytest.raises(UnknownNodeError, match="bidirected.*'q'"):
        SemiMarkovianGraph("x -> y", [("x", "q")])
    with pytest.raises(ValueError, match="to itself"):
        SemiMarkovianGraph("x -> y", [("x", "x")])
    with pytest.raises(ValueError, match="pair"):
        SemiMarkovianGraph("x -> y", [("x", "y", "z")])
    with pytest.raises(TypeError, match="bidirected"):
        SemiMarkovianGraph("x -> y", "x <-> y")
    with pytest.raises(TypeError, match="directed"):
        SemiMarkovianGraph(42)
    with pytest.raises(ValueError, match="bidirected statement"):
        SemiMarkovianGraph("x -> y; x <-> ")
    model = random_scm([("u", "x"), ("x", "y")], ["u", "x", "y"], 0)
    with pytest.raises(ValueError, match="exactly one"):
        SemiMarkovianGraph.from_scm(model, hidden=["u"], observed=["x", "y"])
    with pytest.raises(UnknownNodeError, match="hidden.*'v'"):
        SemiMarkovianGraph.from_scm(model, hidden=["v"])
    with pytest.raises(UnknownNodeError, match="observed.*'v'"):
        SemiMarkovianGraph.from_scm(model, observed=["v"])
    with pytest.raises(ValueError, match="at least one observed"):
        SemiMarkovianGraph.from_scm(model, hidden=["u", "x", "y"])


def test_bad_query_input():
    smg = SemiMarkovianGraph("x -> y; x <-> z")
    with pytest.raises(UnknownNodeError, match="'y'.*'q'"):
        identify(smg, "q", "x")
    with pytest.raises(UnknownNodeError, match="'do'.*'q'"):
        identify(smg, "y", ["q"])
    with pytest.raises(ValueError, match="'y' and 'do' must not share"):
        identify(smg, ["y", "x"], "x")
    with pytest.raises(ValueError, match="at least one outcome"):
        identify(smg, [], "x")
    with pytest.raises(TypeError, match="SemiMarkovianGraph"):
        identify("x -> y", "y", "x")
    model = random_scm([("u", "x"), ("u", "z"), ("x", "y")], ["u", "x", "y", "z"], 1)
    with pytest.raises(UnknownNodeError, match="'u'"):  # a hidden node cannot be queried
        identify(SemiMarkovianGraph.from_scm(model, hidden="u"), "y", "u")


def test_bad_evaluate_input():
    model = random_scm([("z", "x"), ("z", "y"), ("x", "y")], ["z", "x", "y"], 2)
    estimand = identify(model.graph, "y", "x")
    with pytest.raises(UnknownNodeError, match="'z'"):
        estimand.evaluate(model.observed(["x", "y"]))
    with pytest.raises(ValueError, match="observational joint"):
        estimand.evaluate(model.probability("y", given="x"))
    with pytest.raises(ValueError, match="'variables'"):
        estimand.evaluate(model.joint().values)
    array = model.joint().values
    result = estimand.evaluate(array, variables=list(model.nodes))
    assert result.allclose(estimand.evaluate(model.joint()))


def test_zero_probability_raises_positivity_error():
    # P(x=1, z=0) = 0: the back-door formula needs P(y | z=0, x=1), which the joint does not define.
    values = np.array([[[0.2, 0.2], [0.0, 0.0]], [[0.1, 0.1], [0.2, 0.2]]])  # axes z, x, y
    joint = ProbabilityTable(values, ["z", "x", "y"])
    with pytest.raises(PositivityError, match="zero"):
        identify(CausalGraph.from_text("z -> x -> y; z -> y"), "y", "x").evaluate(joint)


def test_conditional_query_by_idc_prints_with_primes_and_names_its_query():
    from latentscm.scm import smoking_cancer_model

    model = smoking_cancer_model()
    graph = SemiMarkovianGraph.from_scm(model, hidden=["U"])
    estimand = identify(graph, "cancer", "smoking", given="tar")
    # tar is moved into the treatment (rule 2), leaving the front-door inner sum; the summed smoking is primed
    assert str(estimand) == "sum_{smoking'} P(smoking') P(cancer|smoking',tar)"
    assert estimand.query == "P(cancer | do(smoking), tar)"
    truth = model.interventional("cancer", ["smoking"], given=["tar"])
    got = estimand.evaluate(model.observed(["smoking", "tar", "cancer"]))
    np.testing.assert_allclose(got.values, truth.values, atol=1e-12)
    with pytest.raises(ValueError, match="given"):
        identify(graph, "cancer", "smoking", given="cancer")


def test_m_separation_with_bidirected_edges_and_cut_edges():
    graph = SemiMarkovianGraph("x -> m -> y; x <-> y")
    assert not graph.d_separated({"x"}, {"y"}, {"m"})  # the hidden common cause stays open
    assert graph.d_separated({"x"}, {"y"}, {"m"}, cut_in={"x"})  # no edge into x: neither x <- U nor any other
    assert not graph.d_separated({"m"}, {"y"}, set(), cut_out=set())
    assert graph.d_separated({"m"}, {"y"}, {"x"}, cut_out={"m"})  # rule 2's graph for m: y _||_ m | x
