"""Regression tests for the s22 review of latentscm.scm (mechanisms, SCM, BIF)."""

import numpy as np
import pytest
import torch

from latentscm.graph import CausalGraph
from latentscm.interventions import Shift
from latentscm.scm import (
    SCM,
    AdditiveNoise,
    Categorical,
    Functional,
    LinearGaussian,
    PostNonlinear,
    Root,
    parse_bif,
)


def test_mechanism_reprs_show_what_distinguishes_them():
    a = Categorical([[0.2, 0.8], [0.7, 0.3]])
    b = Categorical([[0.5, 0.5], [0.1, 0.9]], states=[3.0, 4.0])
    assert repr(a) != repr(b)
    assert "0.7" in repr(a) and "4.0" in repr(b)
    assert "0x" not in repr(PostNonlinear(np.tanh, np.exp, np.log))
    assert repr(Functional.with_inverse(np.add, np.subtract)).startswith("InvertibleFunctional(")
    assert "'a'" in repr(LinearGaussian({"a": 1.0}))
    assert "'a'" in repr(AdditiveNoise(np.sin, parent_names=["a"]))
    # a LinearGaussian's repr rebuilds it, parent names included
    rebuilt = eval(repr(LinearGaussian({"a": 1.0, "b": -2.0}, bias=0.5, std=2.0)))
    assert rebuilt.parent_names == ("a", "b") and rebuilt.weights.tolist() == [1.0, -2.0]


def test_categorical_refuses_duplicate_states_and_wrong_parent_names():
    with pytest.raises(ValueError, match="'states' of Categorical must be distinct"):
        Categorical([0.2, 0.8], states=[1.0, 1.0])
    with pytest.raises(ValueError, match="'parent_states' of Categorical must be distinct"):
        Categorical([[0.9, 0.1], [0.1, 0.9]], parent_states=[[0.0, 0.0]])
    with pytest.raises(ValueError, match="1 parent axes but 2 'parent_names'"):
        Categorical([[0.9, 0.1], [0.1, 0.9]], parent_names=["a", "b"])


def test_categorical_abduction_refuses_a_zero_probability_value():
    scm = SCM(CausalGraph([("x", "y")], nodes=["x", "y"]),
              {"x": Categorical([0.5, 0.0, 0.5]), "y": Categorical([[0.2, 0.8], [0.5, 0.5], [0.7, 0.3]])})
    impossible = {"x": np.array([0.0, 1.0]), "y": np.array([0.0, 0.0])}
    with pytest.raises(ValueError, match="probability zero"):
        scm.abduct(impossible)
    with pytest.raises(ValueError, match="probability zero"):
        scm.counterfactual(impossible, {"x": Shift(0.0)})
    possible = {"x": np.array([0.0, 2.0]), "y": np.array([0.0, 1.0])}
    assert all(np.array_equal(v, possible[k]) for k, v in scm.evaluate(scm.abduct(possible)).items())


def test_counterfactual_checks_the_given_noise():
    scm = SCM(CausalGraph([("x", "y")], nodes=["x", "y"]), {"x": Root(), "y": LinearGaussian([2.0])})
    values = scm.sample(3, seed=0)
    with pytest.raises(ValueError, match=r"noise\['y'\] contains NaN"):
        scm.counterfactual(values, {"x": 1.0}, noise={"y": np.full(3, np.nan)})
    for bad in (np.zeros(5), np.zeros((3, 1))):
        with pytest.raises(ValueError, match=r"noise\['y'\] must have shape \(3,\)"):
            scm.counterfactual(values, {"x": 1.0}, noise={"y": bad})
    with pytest.raises(TypeError, match="must be a mapping"):
        scm.counterfactual(values, {"x": 1.0}, noise=[0.0, 0.0, 0.0])
    exact = scm.counterfactual(values, {"x": 1.0}, noise=scm.abduct(values))
    np.testing.assert_allclose(exact["y"], 2.0 + scm.abduct(values)["y"])


def test_abduct_takes_a_single_name_as_one_node():
    scm = SCM(CausalGraph([], nodes=["a", "b", "ab"]), {"a": Root(), "b": Root(), "ab": Root()})
    assert list(scm.abduct(scm.sample(2, seed=0), nodes="ab")) == ["ab"]


def test_torch_mechanism_runs_in_eval_mode_and_keeps_the_callers_mode():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Dropout(0.5), torch.nn.Linear(16, 1))
    net[2].eval()  # a mixed-mode module: every submodule's own mode must come back
    scm = SCM(CausalGraph([("x", "y")], nodes=["x", "y"]), {"x": Root(), "y": AdditiveNoise(net)})
    first, second = scm.sample(5, seed=0), scm.sample(5, seed=0)
    np.testing.assert_array_equal(first["y"], second["y"])
    np.testing.assert_allclose(scm.evaluate(scm.abduct(first))["y"], first["y"])
    assert [m.training for m in net.modules()] == [True, True, True, False]
    norm = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.BatchNorm1d(1))
    before = norm[1].running_mean.clone()
    AdditiveNoise(norm).evaluate(np.full((8, 1), 5.0), np.zeros(8))
    assert torch.equal(before, norm[1].running_mean)


_HEAD = """network n { }
variable a { type discrete [ 2 ] { y, n }; }
variable b { type discrete [ 2 ] { y, n }; }
probability ( a ) { table 0.3, 0.7; }
"""


@pytest.mark.parametrize("block, message", [
    ("probability ( b | a ) {\n (y) 0.1, 0.9;\n (n) 0.2, 0.8;\n (y) 0.5, 0.5;\n}",
     r"line 8: row \('y',\) of 'b' is given twice"),
    ("probability ( b | a ) {\n table 0.1, 0.2, 0.9, 0.8;\n table 0.5, 0.5, 0.5, 0.5;\n}", "line 7: .*'table' after"),
    ("probability ( b | a ) {\n table 0.1, 0.2, 0.9, 0.8;\n (y) 0.5, 0.5;\n}", "line 7: .* given twice"),
    ("probability ( b | a ) {\n default 0.1, 0.9;\n default 0.5, 0.5;\n}", "line 7: .*two default rows"),
    ("probability ( b | a ) {\n (y) nan, nan;\n (n) 0.2, 0.8;\n default 0.5, 0.5;\n}", "line 6: .*finite probability"),
])
def test_bif_refuses_entries_given_twice_and_nan(block, message):
    with pytest.raises(ValueError, match=f"BIF net.bif, {message}"):
        parse_bif(_HEAD + block, source="net.bif")


def test_bif_refuses_a_second_type_line():
    text = ("variable a { type discrete [ 2 ] { y, n };\n type discrete [ 3 ] { p, q, r }; }\n"
            "probability ( a ) { table 0.3, 0.3, 0.4; }")
    with pytest.raises(ValueError, match="BIF net.bif, line 2: variable 'a' has a second 'type' line"):
        parse_bif(text, source="net.bif")
    # a default row still fills the configurations not listed
    model = parse_bif(_HEAD + "probability ( b | a ) {\n (n) 0.2, 0.8;\n default 0.5, 0.5;\n}")
    assert model.cpts["b"].tolist() == [[0.5, 0.5], [0.2, 0.8]]


def test_discrete_joint_of_many_cpts_within_tolerance_is_a_distribution():
    from latentscm.scm import DiscreteSCM

    nodes = [f"v{i}" for i in range(8)]
    model = DiscreteSCM(CausalGraph([], nodes=nodes), {n: [0.5, 0.5 + 8e-10] for n in nodes})
    assert abs(model.joint().values.sum() - 1.0) < 1e-12
    np.testing.assert_allclose(model.probability("v0", {"v1": 0}).values, [0.5, 0.5], atol=1e-9)
    assert model.interventional("v0", ["v1"]).values.shape == (2, 2)


def test_scm_without_nodes_returns_empty_results():
    scm = SCM(CausalGraph([], nodes=[]), {})
    assert scm.sample(3, seed=0) == {}
    assert scm.abduct({}) == {} and scm.counterfactual({}, {}) == {}


def test_read_bif_accepts_a_utf8_byte_order_mark(tmp_path):
    from latentscm.scm import format_bif, load_network, read_bif

    path = tmp_path / "cancer.bif"
    path.write_text(format_bif(load_network("cancer")), encoding="utf-8-sig")
    model = read_bif(path)
    assert model.nodes == load_network("cancer").nodes
