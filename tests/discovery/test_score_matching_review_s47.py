"""Review of SCORE / DAS / NoGAM, the Stein estimators and CAM pruning: adversarial inputs.

The first group pins the fixes of the defects the review found (each failed on the reviewed code); the others pin
behaviour that was checked and found right.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.discovery import DiscoveredGraph, das, nogam, score_matching, stein_score
from latentscm.discovery.cam_pruning import additive_term_pvalues, cam_prune


def _anm(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x0 -> x1 -> x3 -> x4, x0 -> x2 -> x3, nonlinear, Gaussian noise; (data, adjacency)."""
    rng = np.random.default_rng(seed)
    e = rng.normal
    x0 = e(size=n)
    x1 = 2.0 * np.sin(1.5 * x0) + 0.5 * e(size=n)
    x2 = 1.5 * np.tanh(2 * x0) + 0.5 * e(size=n)
    x3 = np.cos(x1) * 1.5 + 0.8 * x2 ** 2 + 0.5 * e(size=n)
    x4 = 2.0 * np.sin(x3) + 0.5 * e(size=n)
    adjacency = np.zeros((5, 5), dtype=int)
    for i, j in [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)]:
        adjacency[i, j] = 1
    return np.column_stack([x0, x1, x2, x3, x4]), adjacency


def _pair(n: int = 150, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return np.column_stack([a, np.sin(2 * a) + 0.3 * rng.normal(size=n)])


# =========================================================================================== defects, fixed
def test_small_units_do_not_raise_a_bare_linalg_error():
    """stein.py SteinKernel.solve: the ridge eta is absolute while K ~ 1/s, so data in units ~1e-12 make
    K + eta I numerically singular and cho_factor raises scipy's LinAlgError out of score_matching."""
    x = _pair() * 1e-12
    try:
        graph = score_matching(x, prune="none")
    except np.linalg.LinAlgError as error:  # scipy.linalg.LinAlgError is numpy's
        pytest.fail(f"bare LinAlgError from score_matching on data in small units: {error}")
    except ValueError as error:  # a clear refusal would have to name the argument
        assert "'data'" in str(error) or "eta" in str(error)
    else:
        assert len(graph.info["causal_order"]) == 2
    try:
        score = stein_score(x)
    except np.linalg.LinAlgError as error:
        pytest.fail(f"bare LinAlgError from stein_score: {error}")
    except ValueError as error:
        assert "eta" in str(error) or "'x'" in str(error)
    else:
        assert np.isfinite(score).all()


@pytest.mark.parametrize("method", [score_matching, nogam], ids=["score", "nogam"])
@pytest.mark.parametrize("scale", [1e-6, 1e3, 1e6])
def test_causal_order_does_not_depend_on_the_units_of_the_data(method, scale):
    """A common change of unit (all columns times ``scale``) must not change the causal order. SCORE's ridge is
    absolute (effective regularisation eta * s) and NoGAM's ridge_gamma is an absolute RBF width, so the order
    changes (and becomes wrong) at 1e3 / 1e6 / 1e-6."""
    x, truth = _anm(300, 0)
    reference = method(x, prune="none").info["causal_order"]
    assert reference == ["X0", "X1", "X2", "X3", "X4"]  # the right order in the original units
    assert method(x * scale, prune="none").info["causal_order"] == reference


def test_cam_exact_fit_does_not_keep_an_irrelevant_candidate():
    """cam_pruning.py:81-85: on an exact fit every candidate that adds rank gets p-value 0, even one whose removal
    leaves the RSS at 0. y = 1.8 a + 32 (a unit conversion) with an unrelated candidate z keeps z."""
    rng = np.random.default_rng(1)
    a, z = rng.normal(size=(2, 200))
    p, _ = additive_term_pvalues(np.column_stack([a, z]), 1.8 * a + 32.0)
    assert p[0] < 1e-3
    assert p[1] > 1e-3  # z is not needed: dropping it leaves the exact fit exact
    candidates = np.zeros((3, 3), dtype=bool)
    candidates[0, 2] = candidates[1, 2] = True
    kept, _ = cam_prune(np.column_stack([a, z, 1.8 * a + 32.0]), candidates)
    assert kept[0, 2] and not kept[1, 2]


def test_rescaled_duplicate_column_does_not_create_a_spurious_edge():
    """The same defect through score_matching: b_f = 1.8 b + 32 determines b exactly, yet a -> b was kept (p = 0).
    Standardised, b and b_f are the same column, so either may come first; the later one has the earlier one as
    its only parent."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    b = np.sin(2 * a) + 0.5 * rng.normal(size=200)
    graph = score_matching(np.column_stack([a, b, 1.8 * b + 32.0]), node_names=["a", "b", "b_f"])
    first, second = graph.info["causal_order"][1:]
    assert graph.info["causal_order"][0] == "a"
    assert set(graph.directed_edges) == {("a", first), (first, second)}


@pytest.mark.parametrize("method", [score_matching, nogam], ids=["score", "nogam"])
def test_tied_columns_error_names_the_data_argument(method):
    """stein.py _kernel: when a leaf step sees mostly tied rows the error said "The 'x' argument of
    score_matching ... Pass bandwidth=", but score_matching has neither an 'x' nor a 'bandwidth' argument."""
    rng = np.random.default_rng(0)
    data = (rng.random((150, 3)) < 0.05).astype(float)  # most pairs of rows are equal: median distance 0
    with pytest.raises(ValueError) as info:
        method(data, prune="none")
    message = str(info.value)
    assert "'x' argument" not in message and "bandwidth=" not in message
    assert "'data'" in message and "['X0', 'X1', 'X2']" in message and "median distance" in message


@pytest.mark.parametrize("kwargs, name", [
    ({"pns": True, "pns_neighbours": -1}, "pns_neighbours"),  # argsort[:-1]: keeps all but the weakest
    ({"pns": True, "pns_neighbours": 1.5}, "pns_neighbours"),
    ({"pns": True, "pns_neighbours": 0}, "pns_neighbours"),  # no candidate at all: refused, not an empty graph
    ({"pns": True, "pns_threshold": float("nan")}, "pns_threshold"),  # every candidate silently dropped
    ({"pns": True, "pns_threshold": -1.0}, "pns_threshold"),
    ({"pns": "no"}, "pns"),  # a truthy string turns the selection on
])
def test_preliminary_neighbourhood_parameters_are_checked(kwargs, name):
    """score_matching.py:156-193 / 259-301: pns, pns_neighbours and pns_threshold are never validated."""
    with pytest.raises((TypeError, ValueError), match=name):
        score_matching(_pair(40), **kwargs)


@pytest.mark.parametrize("seed", [None, "x", -1])
def test_seed_is_checked_even_when_no_subsample_is_drawn(seed):
    """score_matching.py:80-85: the seed is only checked when n > max_samples (or pns=True), so the same call
    accepts seed=None / "x" on small data and refuses it on large data."""
    with pytest.raises((TypeError, ValueError), match="seed"):
        score_matching(_pair(40), seed=seed, prune="none")


def test_nogam_fold_error_names_max_samples():
    """score_matching.py:279-281: with 150 rows and max_samples=10 the error says the data has 10 rows."""
    with pytest.raises(ValueError, match="max_samples"):
        nogam(_pair(150), max_samples=10, n_folds=6)


def test_das_max_parents_one_with_min_parents_zero_is_not_silently_empty():
    """score_matching.py:204-212: the weakest of the top max_parents is the test's reference and never kept, so
    max_parents=1, min_parents=0 gives no candidate for any node whatever the data: refuse it or keep the top one."""
    x = _pair(200)
    try:
        graph = das(x, max_parents=1, min_parents=0, prune="none")
    except ValueError as error:
        assert "max_parents" in str(error)
    else:
        assert graph.adjacency.sum() == 1


# =========================================================================================== checked and fine
def test_pns_with_two_columns_and_one_neighbour_is_deterministic_and_serialisable():
    x = _pair(120)
    a = score_matching(x, pns=True, pns_neighbours=1, seed=3)
    b = score_matching(x, pns=True, pns_neighbours=1, seed=3)
    np.testing.assert_array_equal(a.adjacency, b.adjacency)
    assert a.adjacency.sum() == 1 and a.info == b.info
    json.loads(a.to_json())


def test_knowledge_is_respected_by_all_three_methods():
    x, _ = _anm(150, 2)
    knowledge = {"required": [["X4", "X0"]], "forbidden": [["X1", "X3"]], "tiers": [["X4", "X2"], ["X0", "X1", "X3"]]}
    for call in (lambda: score_matching(x, knowledge=knowledge, pns=True),
                 lambda: das(x, knowledge=knowledge, prune="none"),
                 lambda: nogam(x, knowledge=knowledge, n_folds=2)):
        graph = call()
        order = graph.info["causal_order"]
        assert order.index("X4") < order.index("X0")
        assert graph.adjacency[4, 0] == 1 and graph.adjacency[1, 3] == 0
        assert set(order[:2]) == {"X4", "X2"}
        later, earlier = [0, 1, 3], [4, 2]
        assert graph.adjacency[np.ix_(later, earlier)].sum() == 0  # no edge into an earlier tier
        DiscoveredGraph.from_dict(json.loads(graph.to_json()))


def test_unknown_node_in_knowledge_and_text_data_are_refused_by_name():
    import pandas as pd

    with pytest.raises(ValueError, match=r"\['Q'\]"):
        das(_pair(40), knowledge={"tiers": [["X0"], ["Q"]]})
    with pytest.raises(TypeError, match="'data'.*text"):
        nogam(pd.DataFrame({"a": np.arange(40.0), "b": ["u"] * 40}))


def test_dataframe_mapping_and_array_inputs_agree():
    import pandas as pd

    x = _pair(80)
    base = score_matching(x, node_names=["a", "b"])
    for data in (pd.DataFrame(x, columns=["a", "b"]), {"a": x[:, 0], "b": x[:, 1]}):
        graph = score_matching(data)
        assert graph.nodes == ("a", "b")
        np.testing.assert_array_equal(graph.adjacency, base.adjacency)


def test_max_samples_boundary():
    x = _pair(60)
    full = score_matching(x, max_samples=None, prune="none").info["leaf_statistics"]
    assert score_matching(x, max_samples=60, prune="none").info["leaf_statistics"] == full
    sub = score_matching(x, max_samples=59, prune="none", seed=4).info["leaf_statistics"]
    assert sub != full and sub == score_matching(x, max_samples=59, prune="none", seed=4).info["leaf_statistics"]


def test_spline_edge_values_and_few_rows():
    x = _pair(60)
    assert score_matching(x, degree=1, n_splines=2).adjacency.shape == (2, 2)
    with pytest.raises(ValueError, match="n_splines"):
        score_matching(x, degree=3, n_splines=3)
    assert len(score_matching(x[:4], prune="none").info["causal_order"]) == 2
    with pytest.raises(ValueError, match="'data'.*4 rows"):
        score_matching(x[:4])


def test_cli_text_column_is_a_clear_error(tmp_path):
    x = _pair(40)
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n" + "\n".join(f"{u},{v},t" for u, v in x) + "\n")
    result = CliRunner().invoke(app, ["discover", str(path), "--method", "nogam", "--out", str(tmp_path / "g.json")])
    assert result.exit_code == 2 and "non-numeric" in result.output
    assert not (tmp_path / "g.json").exists()
