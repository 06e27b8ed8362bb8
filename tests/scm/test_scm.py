import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from latentscm.graph import CausalGraph, CycleError, UnknownNodeError
from latentscm.interventions import Do, Scale, Shift
from latentscm.scm import (
    SCM,
    AdditiveNoise,
    Categorical,
    Functional,
    Gamma,
    LinearGaussian,
    Normal,
    NotInvertibleError,
    PostNonlinear,
    Root,
    Uniform,
    random_dag,
    random_scm,
)


def chain_scm():
    graph = CausalGraph.from_text("a -> b -> c; d")
    return SCM(graph, {
        "a": Root(Normal(0, 1)),
        "b": LinearGaussian({"a": 2.0}, bias=1.0, std=0.5),
        "c": PostNonlinear(np.tanh, np.exp, np.log, noise=Normal(0, 0.1)),
        "d": AdditiveNoise(noise=Gamma(10, 5)),
    })


def test_sample_shapes_and_seed_determinism():
    scm = chain_scm()
    first, second = scm.sample(100, seed=3), scm.sample(100, seed=3)
    assert set(first) == {"a", "b", "c", "d"}
    for name in first:
        assert first[name].shape == (100,)
        np.testing.assert_array_equal(first[name], second[name])
    assert not np.allclose(first["a"], scm.sample(100, seed=4)["a"])
    # structural equations hold
    np.testing.assert_allclose(first["c"], np.exp(np.tanh(first["b"]) + scm.abduct(first)["c"]))


def test_linear_gaussian_moments():
    values = chain_scm().sample(20000, seed=0)
    assert abs(values["b"].mean() - 1.0) < 0.05
    assert abs(values["b"].std() - np.sqrt(4 + 0.25)) < 0.05
    assert abs(values["d"].mean() - 2.0) < 0.02  # Gamma(10, rate 5) mean


def test_abduct_then_evaluate_reproduces():
    scm = chain_scm()
    values = scm.sample(50, seed=1)
    again = scm.evaluate(scm.abduct(values))
    for name in values:
        np.testing.assert_allclose(again[name], values[name], rtol=1e-12, atol=1e-12)


def test_counterfactual_empty_is_exact():
    scm = chain_scm()
    values = scm.sample(50, seed=2)
    out = scm.counterfactual(values, {})
    for name in values:
        np.testing.assert_array_equal(out[name], values[name])


def test_counterfactual_chain_propagates_to_grandchildren():
    scm = chain_scm()
    values = scm.sample(30, seed=5)
    noise = scm.abduct(values)
    out = scm.counterfactual(values, {"a": 0.5})
    np.testing.assert_array_equal(out["a"], 0.5)
    np.testing.assert_allclose(out["b"], 2 * 0.5 + 1 + noise["b"])
    np.testing.assert_allclose(out["c"], np.exp(np.tanh(out["b"]) + noise["c"]))
    np.testing.assert_array_equal(out["d"], values["d"])


def test_soft_interventions():
    scm = chain_scm()
    values = scm.sample(30, seed=6)
    shifted = scm.counterfactual(values, {"b": Shift(1.0)})
    np.testing.assert_allclose(shifted["b"], values["b"] + 1.0)
    scaled = scm.counterfactual(values, {"b": Scale(2.0)})
    np.testing.assert_allclose(scaled["b"], values["b"] * 2.0)
    # soft interventions keep the edge a -> b
    assert scm.do({"b": Shift(1.0)}).graph.parents("b") == ("a",)
    assert scm.do({"b": Do(1.0)}).graph.parents("b") == ()


def test_do_returns_new_model_and_matches_counterfactual_of_same_noise():
    scm = chain_scm()
    model = scm.do("a=0.25")
    assert scm.graph.parents("b") == ("a",) and scm.mechanisms["a"].__class__ is Root
    interventional = model.sample(40, seed=9)
    counterfactual = scm.counterfactual(scm.sample(40, seed=9), {"a": 0.25})
    for name in interventional:
        np.testing.assert_allclose(interventional[name], counterfactual[name], rtol=1e-12)


def test_per_sample_do_values():
    scm = chain_scm()
    values = scm.sample(4, seed=0)
    out = scm.counterfactual(values, {"a": np.array([0.0, 1.0, 2.0, 3.0])})
    np.testing.assert_array_equal(out["a"], [0, 1, 2, 3])


def test_torch_module_mechanism():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    graph = CausalGraph.from_text("x, y -> z")
    scm = SCM(graph, {"x": Root(), "y": Root(Uniform(-1, 1)), "z": AdditiveNoise(net, Normal(0, 0.1))})
    values = scm.sample(16, seed=0)
    with torch.no_grad():
        expected = net(torch.tensor(np.stack([values["x"], values["y"]], 1), dtype=torch.float32))[:, 0]
    np.testing.assert_allclose(values["z"] - scm.abduct(values)["z"], expected.numpy(), rtol=1e-5)


def test_categorical_mechanism_frequencies_and_abduction():
    graph = CausalGraph.from_text("s -> t")
    table = np.array([[0.9, 0.1], [0.2, 0.8]])
    scm = SCM(graph, {
        "s": Categorical([0.3, 0.7], states=[1.0, 2.0]),
        "t": Categorical(table, parent_states=[[1.0, 2.0]]),
    })
    values = scm.sample(20000, seed=0)
    assert set(np.unique(values["s"])) == {1.0, 2.0}
    assert abs((values["s"] == 2.0).mean() - 0.7) < 0.02
    assert abs(values["t"][values["s"] == 1.0].mean() - 0.1) < 0.02
    noise = scm.abduct(values)
    again = scm.evaluate(noise)
    np.testing.assert_array_equal(again["t"], values["t"])
    rng_noise = scm.abduct(values, rng=1)
    np.testing.assert_array_equal(scm.evaluate(rng_noise)["t"], values["t"])


def test_parent_names_checked_and_reordered():
    graph = CausalGraph.from_text("a, b -> c")
    weights = {"b": 10.0, "a": 1.0}  # declared order differs from graph order
    scm = SCM(graph, {"a": Root(), "b": Root(), "c": LinearGaussian(weights, std=0.0)})
    values = scm.sample(5, seed=0)
    np.testing.assert_allclose(values["c"], values["a"] + 10 * values["b"])
    with pytest.raises(ValueError, match=r"built for parents \['a', 'x'\] but the graph gives \['a', 'b'\]"):
        SCM(graph, {"a": Root(), "b": Root(), "c": LinearGaussian({"a": 1.0, "x": 1.0})})


def test_bad_inputs():
    graph = CausalGraph.from_text("a -> b")
    with pytest.raises(ValueError, match="no mechanism for node\\(s\\): b"):
        SCM(graph, {"a": Root()})
    with pytest.raises(UnknownNodeError, match="Valid names: a, b"):
        SCM(graph, {"a": Root(), "b": Root(), "q": Root()})
    with pytest.raises(ValueError, match="takes 2 parent\\(s\\) but the graph gives 1"):
        SCM(graph, {"a": Root(), "b": LinearGaussian([1.0, 2.0])})
    with pytest.raises(TypeError, match="Mechanism"):
        SCM(graph, {"a": Root(), "b": lambda x: x})
    scm = SCM(graph, {"a": Root(), "b": LinearGaussian([1.0])})
    values = scm.sample(3, seed=0)
    with pytest.raises(ValueError, match="Unknown intervention target 'z'"):
        scm.do({"z": 1.0})
    with pytest.raises(ValueError, match="missing variable\\(s\\): b"):
        scm.abduct({"a": values["a"]})
    with pytest.raises(ValueError, match=r"values\['b'\] contains NaN"):
        scm.counterfactual({"a": values["a"], "b": np.array([np.nan, 0, 0])}, {"a": 1.0})
    with pytest.raises(ValueError, match="different lengths"):
        scm.abduct({"a": values["a"], "b": values["b"][:2]})
    with pytest.raises(ValueError, match="positive int"):
        scm.sample(0, seed=0)
    with pytest.raises(TypeError, match="seed"):
        scm.sample(3, seed=None)
    with pytest.raises(ValueError, match="'std' parameter of LinearGaussian"):
        LinearGaussian([1.0], std=-1)


def test_not_invertible_error_names_node():
    graph = CausalGraph.from_text("a -> b")
    scm = SCM(graph, {"a": Root(), "b": Functional(lambda p, u: p[:, 0] ** 2 + u, Normal())})
    values = scm.sample(5, seed=0)
    with pytest.raises(NotInvertibleError, match="'b'"):
        scm.counterfactual(values, {"a": 1.0})
    # intervening on b itself needs no abduction of b
    out = scm.counterfactual(values, {"b": 2.0})
    np.testing.assert_array_equal(out["b"], 2.0)
    inverse = Functional.with_inverse(lambda p, u: p[:, 0] ** 2 + u, lambda v, p: v - p[:, 0] ** 2, Normal())
    scm2 = SCM(graph, {"a": Root(), "b": inverse})
    values2 = scm2.sample(5, seed=0)
    np.testing.assert_allclose(scm2.counterfactual(values2, {"a": 1.0})["b"],
                               1.0 + scm2.abduct(values2)["b"])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_nodes=st.integers(2, 8), linear=st.booleans(),
       graph_type=st.sampled_from(["erdos_renyi", "scale_free"]))
def test_random_scm_properties(seed, n_nodes, linear, graph_type):
    scm = random_scm(n_nodes, edge_prob=0.5, mechanism="linear" if linear else "nonlinear",
                     graph_type=graph_type, seed=seed)
    order = {n: i for i, n in enumerate(scm.graph.topological_order())}
    for u, v in scm.graph.edges:
        assert order[u] < order[v]
    values = scm.sample(20, seed=seed)
    # counterfactual with no intervention is the identity, exactly
    same = scm.counterfactual(values, {})
    for name in values:
        np.testing.assert_array_equal(same[name], values[name])
    # an intervention never changes non-descendants
    target = scm.graph.nodes[seed % n_nodes]
    out = scm.counterfactual(values, {target: 0.7})
    affected = scm.graph.descendants_of([target])
    for name in scm.nodes:
        if name not in affected:
            np.testing.assert_array_equal(out[name], values[name])
    np.testing.assert_array_equal(out[target], 0.7)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_do_root_matches_sampling_with_that_value(seed):
    scm = random_scm(5, edge_prob=0.6, mechanism="nonlinear", seed=seed)
    root = next(n for n in scm.graph.topological_order() if scm.graph.is_root(n))
    intervened = scm.do({root: 1.5}).sample(30, seed=seed)
    # sampling the original model and overwriting the root by hand, then recomputing
    noise = scm.sample_noise(30, seed=seed)
    manual = {}
    for name in scm.graph.topological_order():
        if name == root:
            manual[name] = np.full(30, 1.5)
        else:
            parents = np.stack([manual[p] for p in scm.parent_order(name)], 1) if scm.graph.parents(name) \
                else np.zeros((30, 0))
            manual[name] = scm.mechanisms[name].evaluate(parents, noise[name])
    for name in scm.nodes:
        np.testing.assert_allclose(intervened[name], manual[name], rtol=1e-12)


def test_random_dag_errors_and_determinism():
    assert random_dag(6, edge_prob=0.5, seed=3) == random_dag(6, edge_prob=0.5, seed=3)
    with pytest.raises(ValueError, match="edge_prob"):
        random_dag(5, edge_prob=1.5, seed=0)
    with pytest.raises(ValueError, match="graph_type"):
        random_dag(5, graph_type="tree", seed=0)
    with pytest.raises(ValueError, match="mechanism"):
        random_scm(5, mechanism="quadratic", seed=0)
    with pytest.raises(CycleError):
        random_dag(4, edge_prob=1.0, seed=0).add_edges([("x0", "x0")])


def test_counterfactual_with_known_noise_skips_abduction():
    graph = CausalGraph.from_text("a -> b")
    scm = SCM(graph, {"a": Root(), "b": Functional(lambda p, u: p[:, 0] ** 2 + u, Normal())})
    noise = scm.sample_noise(6, seed=0)
    values = scm.evaluate(noise)
    out = scm.counterfactual(values, {"a": 2.0}, noise=noise)
    np.testing.assert_allclose(out["b"], 4.0 + noise["b"])
    with pytest.raises(ValueError, match="lacks node\\(s\\) b"):
        scm.counterfactual(values, {"a": 2.0}, noise={"a": noise["a"]})
