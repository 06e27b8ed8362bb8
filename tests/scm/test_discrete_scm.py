"""Tests for latentscm.scm.discrete: exact finite SCMs, surgery, back-door and front-door."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentscm.graph import CausalGraph, UnknownNodeError
from latentscm.interventions import Do, Shift
from latentscm.scm.discrete import (
    DiscreteSCM,
    PositivityError,
    ProbabilityTable,
    backdoor_adjustment,
    frontdoor_adjustment,
    is_backdoor_set,
    is_frontdoor_set,
    smoking_cancer_model,
)

OBSERVED = ["smoking", "tar", "cancer"]


def two_node_model() -> DiscreteSCM:
    """X -> Y, P(X) = (0.3, 0.7), P(Y=1 | X) = (0.1, 0.8)."""
    graph = CausalGraph([("X", "Y")])
    return DiscreteSCM(graph, {"X": [0.3, 0.7], "Y": [[0.9, 0.1], [0.2, 0.8]]})


def confounded_model() -> DiscreteSCM:
    """Z -> X, Z -> Y, X -> Y with an observed confounder Z (all binary, labels 0/1)."""
    graph = CausalGraph([("Z", "X"), ("Z", "Y"), ("X", "Y")], nodes=["Z", "X", "Y"])
    y_given_zx = np.array([[0.1, 0.5], [0.4, 0.8]])  # P(Y=1 | Z=z, X=x)
    return DiscreteSCM(graph, {
        "Z": [0.5, 0.5],
        "X": [[0.8, 0.2], [0.3, 0.7]],
        "Y": np.stack([1 - y_given_zx, y_given_zx], axis=-1),
    })


# ---------------------------------------------------------------------------------- known answers
def test_joint_and_queries_two_nodes_hand_computed():
    model = two_node_model()
    joint = model.joint()
    assert joint.variables == ("X", "Y")
    np.testing.assert_allclose(joint.values, [[0.27, 0.03], [0.14, 0.56]], atol=1e-15)
    np.testing.assert_allclose(model.observed("Y").values, [0.41, 0.59], atol=1e-15)
    posterior = model.probability("X", given="Y")
    assert posterior.variables == ("Y", "X") and posterior.given == ("Y",)
    np.testing.assert_allclose(posterior.values[1], [0.03 / 0.59, 0.56 / 0.59], atol=1e-15)
    np.testing.assert_allclose(model.probability("X", given={"Y": 1}).values, [0.03 / 0.59, 0.56 / 0.59],
                               atol=1e-15)
    assert joint.value({"X": 1, "Y": 0}) == pytest.approx(0.14, abs=1e-15)


def test_do_on_child_leaves_parent_and_do_on_parent_sets_child_cpt():
    model = two_node_model()
    np.testing.assert_allclose(model.interventional("X", do={"Y": 1}).values, [0.3, 0.7], atol=1e-15)
    np.testing.assert_allclose(model.interventional("Y", do={"X": 0}).values, [0.9, 0.1], atol=1e-15)
    family = model.interventional("Y", do="X")
    assert family.variables == ("X", "Y") and family.intervened == ("X",)
    assert family.label() == "P(Y | do(X))"
    np.testing.assert_allclose(family.values, [[0.9, 0.1], [0.2, 0.8]], atol=1e-15)


def test_backdoor_with_observed_confounder_hand_computed():
    model = confounded_model()
    # P(Y=1 | do(X=x)) = sum_z P(Y=1 | x, z) P(z): 0.5*0.1 + 0.5*0.4 and 0.5*0.5 + 0.5*0.8.
    adjusted = backdoor_adjustment(model.joint(), "X", "Y", ["Z"])
    np.testing.assert_allclose(adjusted.values[:, 1], [0.25, 0.65], atol=1e-15)
    assert adjusted.allclose(model.interventional("Y", do="X"), atol=1e-14)
    assert model.do({"X": 1}).observed("Y").values[1] == pytest.approx(0.65, abs=1e-15)
    # Naive conditioning is confounded: P(Y=1 | X=1) = 0.33 / 0.45.
    assert model.probability("Y", given={"X": 1}).values[1] == pytest.approx(0.33 / 0.45, abs=1e-15)
    # An empty adjustment set gives back plain conditioning.
    naive = backdoor_adjustment(model.joint(), "X", "Y")
    np.testing.assert_allclose(naive.values, model.probability("Y", given="X").values, atol=1e-15)


def test_do_on_root_matches_conditioning_on_it():
    model = confounded_model()
    for z in (0, 1):
        np.testing.assert_allclose(model.interventional(["X", "Y"], do={"Z": z}).values,
                                   model.probability(["X", "Y"], given={"Z": z}).values, atol=1e-15)


def test_interventional_with_given_matches_surgery_then_conditioning():
    model = confounded_model()
    family = model.interventional("Y", do="X", given="Z")
    assert family.variables == ("X", "Z", "Y")
    for x in (0, 1):
        expected = model.do({"X": x}).probability("Y", given="Z")
        np.testing.assert_allclose(family.values[x], expected.values, atol=1e-15)
        np.testing.assert_allclose(model.interventional("Y", do={"X": x}, given="Z").values,
                                   expected.values, atol=1e-15)


# ---------------------------------------------------------------------------------- smoking model
def test_smoking_frontdoor_on_observed_joint_equals_surgery_on_full_model():
    model = smoking_cancer_model()
    observed = model.observed(OBSERVED)
    assert "U" not in observed.variables
    frontdoor = frontdoor_adjustment(observed, "smoking", "tar", "cancer")
    surgery = model.interventional("cancer", do="smoking")
    assert frontdoor.variables == surgery.variables == ("smoking", "cancer")
    np.testing.assert_allclose(frontdoor.values, surgery.values, rtol=0, atol=1e-12)
    for smoking in ("no", "yes"):
        mutilated = model.do({"smoking": smoking})
        np.testing.assert_allclose(frontdoor.values[model.state_index("smoking", smoking)],
                                   mutilated.observed("cancer").values, rtol=0, atol=1e-12)


def test_smoking_frontdoor_differs_from_conditioning():
    model = smoking_cancer_model()
    frontdoor = frontdoor_adjustment(model.observed(OBSERVED), "smoking", "tar", "cancer")
    conditional = model.probability("cancer", given="smoking")
    yes = model.state_index("cancer", "yes")
    gap = np.abs(frontdoor.values[:, yes] - conditional.values[:, yes])
    assert gap.min() > 0.1
    causal_effect = frontdoor.values[1, yes] - frontdoor.values[0, yes]
    observed_effect = conditional.values[1, yes] - conditional.values[0, yes]
    assert observed_effect - causal_effect > 0.15


def test_smoking_backdoor_on_hidden_confounder_equals_surgery():
    model = smoking_cancer_model()
    adjusted = backdoor_adjustment(model.joint(), "smoking", "cancer", ["U"])
    assert adjusted.allclose(model.interventional("cancer", do="smoking"), atol=1e-12)


def test_smoking_criteria():
    graph = smoking_cancer_model().graph
    assert is_frontdoor_set(graph, "smoking", "cancer", ["tar"])
    assert not is_backdoor_set(graph, "smoking", "cancer", [])
    assert is_backdoor_set(graph, "smoking", "cancer", ["U"])
    assert not is_backdoor_set(graph, "smoking", "cancer", ["tar"])  # a descendant of smoking
    assert not is_frontdoor_set(graph, "smoking", "cancer", ["U"])


def test_smoking_model_labels_and_array_joint_input():
    model = smoking_cancer_model()
    assert model.states["smoking"] == ("no", "yes")
    observed = model.observed(OBSERVED)
    from_array = frontdoor_adjustment(np.asarray(observed.values), "smoking", "tar", "cancer",
                                      variables=OBSERVED)
    np.testing.assert_allclose(from_array.values,
                               frontdoor_adjustment(observed, "smoking", "tar", "cancer").values, atol=0)


# ---------------------------------------------------------------------------------- criteria
def test_backdoor_criterion_on_m_graph():
    # X <- A -> B <- C -> Y and X -> Y: B is a collider on the only back-door path.
    graph = CausalGraph([("A", "X"), ("A", "B"), ("C", "B"), ("C", "Y"), ("X", "Y")])
    assert is_backdoor_set(graph, "X", "Y", [])
    assert not is_backdoor_set(graph, "X", "Y", ["B"])
    assert is_backdoor_set(graph, "X", "Y", ["A", "B"])
    assert is_backdoor_set(graph, "X", "Y", ["B", "C"])


def test_frontdoor_criterion_rejections():
    chain = [("U", "X"), ("U", "Y"), ("X", "M"), ("M", "Y")]
    assert is_frontdoor_set(CausalGraph(chain), "X", "Y", ["M"])
    assert not is_frontdoor_set(CausalGraph([*chain, ("X", "Y")]), "X", "Y", ["M"])  # direct path
    assert not is_frontdoor_set(CausalGraph([*chain, ("U", "M")]), "X", "Y", ["M"])  # X <- U -> M
    assert not is_frontdoor_set(CausalGraph([*chain, ("V", "M"), ("V", "Y")]), "X", "Y", ["M"])


def test_criteria_reject_bad_names():
    graph = smoking_cancer_model().graph
    with pytest.raises(UnknownNodeError, match="'smoke'"):
        is_backdoor_set(graph, "smoke", "cancer", [])
    with pytest.raises(ValueError, match="'smoking'"):
        is_frontdoor_set(graph, "smoking", "cancer", ["smoking"])


# ---------------------------------------------------------------------------------- surgery
def test_do_leaves_original_model_untouched():
    model = smoking_cancer_model()
    before_joint = model.joint().values.copy()
    before_cpts = {n: a.copy() for n, a in model.cpts.items()}
    before_graph = model.graph
    mutilated = model.do({"smoking": "yes"})
    assert model.graph == before_graph and ("U", "smoking") in model.graph.edges
    assert ("U", "smoking") not in mutilated.graph.edges
    np.testing.assert_array_equal(mutilated.cpts["smoking"], [0.0, 1.0])
    np.testing.assert_array_equal(model.joint().values, before_joint)
    for name, array in before_cpts.items():
        np.testing.assert_array_equal(model.cpts[name], array)
    with pytest.raises(ValueError, match="read-only"):
        model.cpts["tar"][0, 0] = 0.5


def test_do_accepts_label_index_and_do_object():
    model = smoking_cancer_model()
    expected = model.do({"smoking": "yes"}).joint().values
    for value in (1, np.int64(1), Do(1)):
        np.testing.assert_array_equal(model.do({"smoking": value}).joint().values, expected)
    np.testing.assert_array_equal(model.do("smoking=1").joint().values, expected)


def test_do_rejects_unknown_state_node_and_soft_intervention():
    model = smoking_cancer_model()
    with pytest.raises(ValueError, match=r"Unknown state 'maybe' for variable 'smoking'.*'no', 'yes'"):
        model.do({"smoking": "maybe"})
    with pytest.raises(ValueError, match="Unknown state 2 for variable 'smoking'"):
        model.do({"smoking": 2})
    with pytest.raises(UnknownNodeError, match="'smoke'"):
        model.do({"smoke": "yes"})
    with pytest.raises(TypeError, match="hard interventions"):
        model.do({"smoking": Shift(1.0)})
    labelled = DiscreteSCM(CausalGraph(nodes=["A"]), {"A": [0.5, 0.5]}, {"A": (1, 2)})
    with pytest.raises(ValueError, match="Unknown state 0 for variable 'A'"):
        labelled.do({"A": 0})  # integer labels are never read as indices


# ---------------------------------------------------------------------------------- positivity
def test_zero_probability_conditioning_raises_positivity_error():
    graph = CausalGraph([("Z", "X"), ("Z", "Y"), ("X", "Y")], nodes=["Z", "X", "Y"])
    # X is deterministic given Z=0, so P(X=1, Z=0) = 0.
    model = DiscreteSCM(graph, {"Z": [0.5, 0.5], "X": [[1.0, 0.0], [0.5, 0.5]],
                                "Y": np.full((2, 2, 2), 0.5)})
    with pytest.raises(PositivityError, match=r"P\(X, Z\) is zero at X=1, Z=0") as info:
        backdoor_adjustment(model.joint(), "X", "Y", ["Z"])
    assert info.value.configuration == {"X": 1, "Z": 0}
    with pytest.raises(PositivityError, match="X=1, Z=0"):
        model.probability("Y", given=["X", "Z"])
    with pytest.raises(PositivityError, match="Z=0, X=1"):
        model.probability("Y", given={"Z": 0, "X": 1})
    # The model itself is fine: surgery needs no positivity.
    np.testing.assert_allclose(model.do({"X": 1}).observed("Y").values, [0.5, 0.5])


def test_frontdoor_positivity_error():
    joint = np.zeros((2, 2, 2))
    joint[0] = 0.25  # P(X=1) = 0
    with pytest.raises(PositivityError, match=r"P\(X\) is zero at X=1"):
        frontdoor_adjustment(joint, "X", "M", "Y", variables=["X", "M", "Y"])


# ---------------------------------------------------------------------------------- sampling
def test_sampling_frequencies_converge_to_joint():
    model = smoking_cancer_model()
    samples = model.sample(200_000, seed=7)
    assert samples.shape == (200_000, 4) and samples.dtype == np.int64
    joint = model.joint().values
    counts = np.bincount(np.ravel_multi_index(samples.T, joint.shape), minlength=joint.size)
    np.testing.assert_allclose(counts / len(samples), joint.ravel(), atol=0.004)
    np.testing.assert_array_equal(model.sample(50, seed=3), model.sample(50, seed=3))


def test_sampling_never_draws_zero_probability_states():
    graph = CausalGraph([("A", "B")])
    model = DiscreteSCM(graph, {"A": [0.0, 1.0, 0.0], "B": [[1, 0], [0, 1], [1, 0]]})
    samples = model.sample(5000, seed=0)
    assert np.all(samples[:, 0] == 1) and np.all(samples[:, 1] == 1)
    with pytest.raises(TypeError, match="seed"):
        model.sample(3, seed=None)


# ---------------------------------------------------------------------------------- validation
def test_bad_cpts_raise_errors_naming_node():
    graph = CausalGraph([("X", "Y")])
    good = {"X": [0.5, 0.5], "Y": [[0.9, 0.1], [0.2, 0.8]]}
    with pytest.raises(ValueError, match="none given for 'Y'"):
        DiscreteSCM(graph, {"X": good["X"]})
    with pytest.raises(UnknownNodeError, match="'W'"):
        DiscreteSCM(graph, {**good, "W": [1.0]})
    with pytest.raises(ValueError, match=r"CPT of node 'Y' must have shape \(2, 2\).*Got shape \(2,\)"):
        DiscreteSCM(graph, {**good, "Y": [0.5, 0.5]})
    with pytest.raises(ValueError, match="CPT of node 'X' has negative"):
        DiscreteSCM(graph, {**good, "X": [1.5, -0.5]})
    with pytest.raises(ValueError, match=r"CPT of node 'Y' must sum to 1.*0\.9.*X=1"):
        DiscreteSCM(graph, {**good, "Y": [[0.9, 0.1], [0.2, 0.7]]})
    with pytest.raises(ValueError, match="CPT of node 'X' contains NaN"):
        DiscreteSCM(graph, {**good, "X": [np.nan, 0.5]})
    with pytest.raises(TypeError, match="CPT of node 'X' must be a numeric array"):
        DiscreteSCM(graph, {**good, "X": ["a", "b"]})
    with pytest.raises(ValueError, match=r"CPT of node 'Y' must have shape \(3, 2\)"):
        DiscreteSCM(graph, {**good, "X": [0.2, 0.3, 0.5]}, states={"X": ("a", "b", "c")})
    with pytest.raises(ValueError, match="labels of variable 'X' of DiscreteSCM must be distinct"):
        DiscreteSCM(graph, good, states={"X": ("a", "a")})
    with pytest.raises(TypeError, match="CausalGraph"):
        DiscreteSCM("X -> Y", good)


def test_probability_table_validation_and_queries():
    with pytest.raises(ValueError, match="sum to 1"):
        ProbabilityTable([0.5, 0.6], ["A"])
    with pytest.raises(ValueError, match=r"2 variable name\(s\) \['A', 'B'\] but values of shape \(2,\)"):
        ProbabilityTable([0.5, 0.5], ["A", "B"])
    with pytest.raises(ValueError, match="'A' has 3 states"):
        ProbabilityTable([0.5, 0.5], ["A"], {"A": 3})
    with pytest.raises(ValueError, match="needs 'variables'"):
        backdoor_adjustment(np.full((2, 2), 0.25), "A", "B")
    table = ProbabilityTable(np.full((2, 3), 1 / 6), ["A", "B"], {"A": ("lo", "hi"), "B": 3})
    assert table.marginal("B").allclose(ProbabilityTable(np.full(3, 1 / 3), ["B"]))
    conditional = table.conditional("A", "B")
    assert conditional.variables == ("B", "A") and conditional.label() == "P(A | B)"
    assert conditional.transpose(["A", "B"]).allclose(conditional)
    with pytest.raises(UnknownNodeError, match="'C'"):
        table.marginal("C")
    with pytest.raises(ValueError, match="Unknown state 'mid'"):
        table.value({"A": "mid", "B": 0})
    with pytest.raises(ValueError, match="conditional table"):
        backdoor_adjustment(conditional, "B", "A")


# ---------------------------------------------------------------------------------- properties
@st.composite
def random_models(draw):
    """A random DAG over 2..5 nodes (node order shuffled w.r.t. causal order), cardinalities
    2..3 and strictly positive random CPTs; returns (model, treatment, outcome)."""
    n_nodes = draw(st.integers(2, 5))
    pairs = [(i, j) for j in range(n_nodes) for i in range(j)]
    present = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    cards = draw(st.lists(st.integers(2, 3), min_size=n_nodes, max_size=n_nodes))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    names = [f"v{i}" for i in range(n_nodes)]
    node_order = [names[i] for i in rng.permutation(n_nodes)]
    graph = CausalGraph([(names[i], names[j]) for (i, j), keep in zip(pairs, present) if keep],
                        nodes=node_order)
    cpts = {}
    for k, name in enumerate(names):
        parent_cards = tuple(cards[names.index(p)] for p in graph.parents(name))
        cpts[name] = rng.dirichlet(np.ones(cards[k]), size=parent_cards)
    model = DiscreteSCM(graph, cpts)
    treatment = draw(st.sampled_from(names))
    outcome = draw(st.sampled_from([n for n in names if n != treatment and n not in graph.parents(treatment)]
                                   or [None]))
    return model, treatment, outcome


@settings(max_examples=60, deadline=None)
@given(random_models())
def test_backdoor_with_parents_of_treatment_equals_surgery(case):
    model, treatment, outcome = case
    if outcome is None:  # every other node is a parent of the treatment
        return
    parents = list(model.graph.parents(treatment))
    assert is_backdoor_set(model.graph, treatment, outcome, parents)
    adjusted = backdoor_adjustment(model.joint(), treatment, outcome, parents)
    family = model.interventional(outcome, do=treatment)
    np.testing.assert_allclose(adjusted.values, family.values, rtol=0, atol=1e-12)
    # The truncated factorisation agrees with explicit surgery, state by state.
    for state in range(len(model.states[treatment])):
        surgery = model.do({treatment: state}).observed(outcome)
        np.testing.assert_allclose(family.values[state], surgery.values, rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(2, 3), min_size=4, max_size=4), st.integers(0, 2**32 - 1))
def test_frontdoor_equals_surgery_on_random_confounded_chains(cards, seed):
    rng = np.random.default_rng(seed)
    u, x, m, y = cards
    graph = smoking_cancer_model().graph
    model = DiscreteSCM(graph, {
        "U": rng.dirichlet(np.ones(u)),
        "smoking": rng.dirichlet(np.ones(x), size=u),
        "tar": rng.dirichlet(np.ones(m), size=x),
        "cancer": rng.dirichlet(np.ones(y), size=(u, m)),
    })
    frontdoor = frontdoor_adjustment(model.observed(OBSERVED), "smoking", "tar", "cancer")
    np.testing.assert_allclose(frontdoor.values, model.interventional("cancer", do="smoking").values,
                               rtol=0, atol=1e-12)


def test_the_compatibility_module_re_exports_the_split_modules():
    """``latentscm.scm.discrete`` keeps every name it had before the split, as the same objects."""
    import latentscm.scm as scm
    from latentscm.scm import discrete, probability_table

    for name in ("DiscreteSCM", "ProbabilityTable", "PositivityError", "backdoor_adjustment",
                 "frontdoor_adjustment", "is_backdoor_set", "is_frontdoor_set", "smoking_cancer_model"):
        assert name in discrete.__all__
        assert getattr(discrete, name) is getattr(scm, name)
    assert discrete.NORMALISATION_ATOL == probability_table.NORMALISATION_ATOL == 1e-9


def test_an_empty_do_is_the_observational_distribution_in_both_forms():
    from latentscm.scm import smoking_cancer_model

    model = smoking_cancer_model()
    for do in ([], {}):
        np.testing.assert_allclose(model.interventional("cancer", do).values, model.probability("cancer").values)
    np.testing.assert_allclose(model.interventional("cancer", [], given=["tar"]).values,
                               model.probability("cancer", given="tar").values)
