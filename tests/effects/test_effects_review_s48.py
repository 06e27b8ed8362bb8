"""Review of ``latentscm.effects`` and ``latentscm effect``: defects found (tests that fail while the defect
exists) and behaviour checked to be right (the criterion against linear-SEM algebra, signs, refusals)."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latentscm.effects import (
    NoAdjustmentSetError,
    adjustment_set,
    estimate_effect,
    ida,
    is_adjustment_set,
    minimal_adjustment_set,
    optimal_adjustment_set,
    refute_effect,
    true_effect,
)
from latentscm.graph import CausalGraph
from latentscm.scm import SCM, LinearGaussian, random_dag

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke, refused  # noqa: E402

GRAPH = CausalGraph.from_text("Z -> T; Z -> Y; T -> Y")


def _binary(n: int = 400, seed: int = 0, values: tuple[float, float] = (0.0, 1.0)) -> dict[str, np.ndarray]:
    """Z confounds a logistic binary T (taking ``values``); Y = 2 T + Z + noise (effect 2 per unit of T)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    treated = rng.uniform(size=n) < 1 / (1 + np.exp(-z))
    t = np.where(treated, values[1], values[0])
    return {"Z": z, "T": t, "Y": 2.0 * t + z + rng.normal(size=n)}


# ---------------------------------------------------------------------------------------------- defects


def test_optimal_set_exists_when_one_outcome_is_not_a_descendant():
    # O = pa(cn) \ forb assumes every outcome descends from the treatment (Henckel et al. 2022). Here Y2 does
    # not; {C} is valid (the library's own criterion says so), yet optimal_adjustment_set claims no valid set
    # exists (adjustment.py:148-150); with Y2 -> Y1 its O is {Y2}, an outcome.
    graph = CausalGraph.from_text("X -> Y1; C -> X; C -> Y2")
    assert is_adjustment_set(graph, "X", ["Y1", "Y2"], ["C"])
    assert minimal_adjustment_set(graph, "X", ["Y1", "Y2"]) == ("C",)
    chosen = optimal_adjustment_set(graph, "X", ["Y1", "Y2"])
    assert is_adjustment_set(graph, "X", ["Y1", "Y2"], chosen)
    outcome_parent = CausalGraph.from_text("X -> Y1; Y2 -> Y1")  # pa(cn) \ forb = {Y2}, an outcome
    assert is_adjustment_set(outcome_parent, "X", ["Y1", "Y2"], [])
    assert is_adjustment_set(outcome_parent, "X", ["Y1", "Y2"], optimal_adjustment_set(outcome_parent, "X",
                                                                                        ["Y1", "Y2"]))


def test_optimal_refusal_names_the_function_called():
    # With Y -> X the optimal set falls back to the minimal one, whose error names 'minimal_adjustment_set'
    # although the caller asked for the optimal set (adjustment.py:147).
    with pytest.raises(NoAdjustmentSetError, match="^optimal_adjustment_set"):
        optimal_adjustment_set(CausalGraph.from_text("Y -> X"), "X", "Y")


def test_a_non_iterable_treatment_is_named():
    # _names calls tuple(names): an int gives "'int' object is not iterable" (adjustment.py:44).
    with pytest.raises(TypeError, match="'treatment'"):
        optimal_adjustment_set(GRAPH, 3, "Y")


def test_adjustment_none_is_the_graphs_default():
    # Session 48 found adjustment=None crashing in _names' tuple(None). Since session 49 None is the default:
    # the optimal set for a DAG or CPDAG (the canonical one for a PAG), recorded in info.
    result = estimate_effect(_binary(), GRAPH, "T", "Y", adjustment=None)
    assert result.info["adjustment"] == "optimal"
    assert result.adjustment_set == estimate_effect(_binary(), GRAPH, "T", "Y", adjustment="optimal").adjustment_set


def test_an_unhashable_kind_is_named():
    # adjustment_set(kind=[...]) raises "unhashable type: 'list'" from `kind not in rules` (adjustment.py:218).
    with pytest.raises((TypeError, ValueError), match="'kind'"):
        adjustment_set(GRAPH, "T", "Y", kind=["optimal"])


@pytest.mark.parametrize("method", ["regression", "dml"])
def test_default_contrast_of_a_two_valued_treatment_is_its_two_values(method):
    # Docstring (estimate.py:129, CLI --contrast help): "Default: the two values of a binary treatment, else
    # (0, 1)". _contrast only uses the two values for ipw/aipw (estimate.py:75), so a {2, 5} treatment gets
    # (0, 1) under regression/dml (a unit change it never takes) while method='auto' gives 2 -> 5.
    data = _binary(values=(2.0, 5.0))
    auto = estimate_effect(data, GRAPH, "T", "Y")
    result = estimate_effect(data, GRAPH, "T", "Y", method=method)
    assert auto.contrast == (2.0, 5.0)
    assert result.contrast == (2.0, 5.0)
    assert result.covers(6.0)


@pytest.mark.parametrize("method", ["auto", "regression", "dml"])
def test_a_constant_treatment_is_refused_as_such(method):
    # dml says "the covariates predict the treatment exactly ... positivity failure" and regression says
    # "collinear ... drop a redundant covariate" (partially_linear.py:33, regression.py:28): both blame the
    # covariates for a treatment column that takes one value.
    data = {**_binary(), "T": np.ones(400)}
    with pytest.raises(ValueError, match="(?i)constant|one value|single value|only one"):
        estimate_effect(data, GRAPH, "T", "Y", method=method)


def test_regression_without_residual_degrees_of_freedom_is_refused():
    # n = p = 4 (intercept, T, A, B): OLS interpolates, the HC1 factor n / max(n - p, 1) hides the zero degrees
    # of freedom, and the result has s.e. ~1e-13 and p = 0 (regression.py:35).
    graph = CausalGraph.from_text("A -> T; B -> T; A -> Y; B -> Y; T -> Y")
    rng = np.random.default_rng(0)
    data = {"A": rng.normal(size=4), "B": rng.normal(size=4), "T": np.array([0.0, 1, 0, 1]),
            "Y": rng.normal(size=4)}
    with pytest.raises(ValueError, match="rows|degrees of freedom"):
        estimate_effect(data, graph, "T", "Y", method="regression")


@pytest.mark.parametrize("scale", [1e8, 1e-8])
def test_regression_does_not_call_a_rescaled_covariate_collinear(scale):
    # The rank test runs on the Gram matrix (regression.py:28), whose condition number is the design's squared:
    # a covariate in other units (x 1e8) is refused as "collinear" though the design is well posed. OLS is
    # equivariant: the treatment coefficient must not change.
    data = _binary()
    reference = estimate_effect(data, GRAPH, "T", "Y", method="regression")
    rescaled = estimate_effect({**data, "Z": data["Z"] * scale}, GRAPH, "T", "Y", method="regression")
    assert rescaled.estimate == pytest.approx(reference.estimate, rel=1e-6)
    assert rescaled.std_error == pytest.approx(reference.std_error, rel=1e-6)


def test_an_unordered_contrast_is_refused():
    # A set has no order: contrast={1, 0} iterates as (0, 1) and silently flips the sign the caller wrote
    # (estimate.py:76 accepts anything with a len).
    with pytest.raises((TypeError, ValueError), match="'contrast'"):
        estimate_effect(_binary(), GRAPH, "T", "Y", contrast={1, 0})


def test_a_classifier_as_outcome_learner_is_named():
    # _check_estimator only checks for predict(); a classifier reaches sklearn, which raises "Unknown label
    # type: continuous" without naming the argument (nuisance.py:28-34).
    from sklearn.linear_model import LogisticRegression

    with pytest.raises((TypeError, ValueError), match="'outcome_learner'"):
        estimate_effect(_binary(), GRAPH, "T", "Y", method="aipw", outcome_learner=LogisticRegression())


def _linear_scm() -> SCM:
    return SCM(GRAPH, {"Z": LinearGaussian(), "T": LinearGaussian([0.7]), "Y": LinearGaussian([0.5, 2.0])})


def test_true_effect_is_exact_and_signed_for_a_linear_scm():
    assert true_effect(_linear_scm(), "T", "Y", n=100)[0] == pytest.approx(2.0)
    assert true_effect(_linear_scm(), "T", "Y", (1.0, 0.0), n=100)[0] == pytest.approx(-2.0)
    assert true_effect(_linear_scm(), "Y", "T", n=100)[0] == 0.0


@pytest.mark.parametrize("contrast", [(0.0, 1.0, 2.0), None])
def test_true_effect_names_a_bad_contrast(contrast):
    # ground_truth.py:33 unpacks the contrast unchecked: (0, 1, 2) gives "too many values to unpack",
    # None "'NoneType' object is not iterable".
    with pytest.raises((TypeError, ValueError), match="'contrast'"):
        true_effect(_linear_scm(), "T", "Y", contrast, n=100)


def test_true_effect_names_a_list_treatment():
    # ground_truth.py:29: scm.graph.check_node(["T"]) raises "unhashable type: 'list'".
    with pytest.raises((TypeError, ValueError), match="'treatment'|Unknown node"):
        true_effect(_linear_scm(), ["T"], "Y", n=100)


def _write_csv(path: Path, data: dict[str, np.ndarray]) -> None:
    names = list(data)
    rows = np.column_stack([data[k] for k in names])
    path.write_text(",".join(names) + "\n" + "\n".join(",".join(f"{v:.10g}" for v in row) for row in rows) + "\n")


def test_cli_reads_a_graph_file_without_suffix(tmp_path):
    # read_graph_option treats any value without a suffix as graph text (cli/effect.py:31), so an existing
    # JSON file named 'graph' becomes a one-node graph called by its path.
    _write_csv(tmp_path / "d.csv", _binary(200))
    graph = tmp_path / "graph"
    graph.write_text(json.dumps(GRAPH.to_dict()))
    result = invoke(["effect", tmp_path / "d.csv", "--graph", graph, "--treatment", "T", "--outcome", "Y"])
    assert result.exit_code == 0, result.output


def test_cli_does_not_blame_the_diagonal_for_text_in_an_adjacency(tmp_path):
    # {"adjacency": [[0, "a"], [0, 0]]} is refused as "must have a zero diagonal" (the array becomes text, and
    # '0' != 0), which misleads; the CLI relays it (cli/effect.py:43; discovery/result.py:50).
    _write_csv(tmp_path / "d.csv", _binary(200))
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps({"nodes": ["T", "Y"], "adjacency": [[0, "a"], [0, 0]]}))
    result = invoke(["effect", tmp_path / "d.csv", "--graph", graph, "--treatment", "T", "--outcome", "Y"])
    refused(result, "adjacency")
    assert "diagonal" not in result.output, result.output


# ------------------------------------------------------------------------------- verified correct behaviour


def _linear_sem(graph: CausalGraph, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    index = {v: i for i, v in enumerate(graph.nodes)}
    weights = np.zeros((len(index), len(index)))
    for parent, child in graph.edges:
        weights[index[parent], index[child]] = rng.uniform(0.5, 1.5) * rng.choice([-1.0, 1.0])
    mix = np.linalg.inv(np.eye(len(index)) - weights.T)
    return weights, mix @ np.diag(rng.uniform(0.5, 1.5, size=len(index))) @ mix.T, index


def _ols_variance(cov: np.ndarray, x: int, y: int, zi: list[int]) -> float:
    """n times the asymptotic variance of the OLS coefficient of x in y ~ x + z: var(y | x, z) / var(x | z)."""
    cols = [x, *zi]
    res_y = cov[y, y] - cov[y, cols] @ np.linalg.solve(cov[np.ix_(cols, cols)], cov[cols, y])
    res_x = cov[x, x] - (cov[x, zi] @ np.linalg.solve(cov[np.ix_(zi, zi)], cov[zi, x]) if zi else 0.0)
    return float(res_y / res_x)


def test_criterion_optimal_and_minimal_sets_against_linear_sem_algebra():
    # A set Z is a valid adjustment set iff the population OLS coefficients of X in Y ~ X + Z equal the total
    # effects (generic weights); O must be valid with the smallest asymptotic variance; the minimal set valid
    # with no valid proper subset.
    for seed in range(12):
        graph = random_dag(5, edge_prob=0.45, seed=seed)
        weights, cov, index = _linear_sem(graph, np.random.default_rng(seed))
        for xs in [*itertools.combinations(graph.nodes, 1), *itertools.combinations(graph.nodes, 2)]:
            xi = [index[v] for v in xs]
            cut = weights.copy()
            cut[:, xi] = 0.0
            paths = np.linalg.inv(np.eye(len(index)) - cut)
            for y in (v for v in graph.nodes if v not in xs):
                yi = index[y]
                others = [v for v in graph.nodes if v not in xs and v != y]
                valid = []
                for k in range(len(others) + 1):
                    for zs in itertools.combinations(others, k):
                        cols = xi + [index[v] for v in zs]
                        beta = np.linalg.solve(cov[np.ix_(cols, cols)], cov[cols, yi])[:len(xi)]
                        truth = bool(np.allclose(beta, paths[xi, yi], atol=1e-8))
                        assert is_adjustment_set(graph, list(xs), y, list(zs)) == truth, (graph.edges, xs, y, zs)
                        if truth:
                            valid.append(frozenset(zs))
                if not valid:
                    with pytest.raises(NoAdjustmentSetError):
                        minimal_adjustment_set(graph, list(xs), y)
                    continue
                minimal = frozenset(minimal_adjustment_set(graph, list(xs), y))
                assert minimal in valid and not any(s < minimal for s in valid)
                optimal = frozenset(optimal_adjustment_set(graph, list(xs), y))
                assert optimal in valid
                if len(xs) == 1 and y in graph.descendants(xs[0]):
                    best = min(_ols_variance(cov, xi[0], yi, [index[v] for v in s]) for s in valid)
                    assert _ols_variance(cov, xi[0], yi, [index[v] for v in optimal]) <= best * (1 + 1e-9)


def test_a_hidden_node_in_the_optimal_set_is_named_and_minimal_avoids_it():
    graph = CausalGraph.from_text("U -> W; W -> X; U -> Y; X -> Y; W -> Y")
    with pytest.raises(NoAdjustmentSetError, match=r"hidden node\(s\) \['U'\]"):
        optimal_adjustment_set(graph, "X", "Y", observed=["X", "Y", "W"])
    assert minimal_adjustment_set(graph, "X", "Y", observed=["X", "Y", "W"]) == ("W",)


@pytest.mark.parametrize("method", ["regression", "ipw", "aipw", "dml"])
def test_a_reversed_contrast_flips_the_sign(method):
    data = _binary()
    forward = estimate_effect(data, GRAPH, "T", "Y", method=method)
    backward = estimate_effect(data, GRAPH, "T", "Y", method=method, contrast=(1, 0))
    assert forward.contrast == (0.0, 1.0) and backward.contrast == (1.0, 0.0)
    assert forward.covers(2.0) and backward.covers(-2.0)
    assert backward.estimate == pytest.approx(-forward.estimate, rel=1e-6)
    assert backward.std_error == pytest.approx(forward.std_error, rel=1e-4)
    assert backward.ci_low == pytest.approx(-forward.ci_high, rel=1e-4)


def test_two_valued_treatment_under_aipw_compares_its_values_in_the_given_order():
    data = _binary(values=(2.0, 5.0))
    up = estimate_effect(data, GRAPH, "T", "Y", method="aipw")
    down = estimate_effect(data, GRAPH, "T", "Y", method="aipw", contrast=(5, 2))
    assert up.contrast == (2.0, 5.0) and up.covers(6.0) and down.covers(-6.0)
    with pytest.raises(ValueError, match="treatment takes the values"):
        estimate_effect(data, GRAPH, "T", "Y", method="aipw", contrast=(0, 1))


def test_dataframe_int_and_bool_columns_match_the_float_mapping():
    data = _binary()
    reference = estimate_effect(data, GRAPH, "T", "Y")
    assert estimate_effect(pd.DataFrame(data), GRAPH, "T", "Y").estimate == reference.estimate
    as_bool = pd.DataFrame({**data, "T": data["T"] == 1})
    assert estimate_effect(as_bool, GRAPH, "T", "Y").estimate == reference.estimate
    ints = {"Z": np.round(data["Z"] * 100).astype(np.int64), "T": data["T"].astype(np.int64),
            "Y": np.round(data["Y"] * 100).astype(np.int64)}
    floats = {k: v.astype(float) for k, v in ints.items()}
    assert estimate_effect(ints, GRAPH, "T", "Y").estimate == estimate_effect(floats, GRAPH, "T", "Y").estimate


def test_bad_data_is_refused_naming_it():
    data = _binary()
    with pytest.raises(ValueError, match=r"data\['Y'\].*NaN"):
        estimate_effect({**data, "Y": np.where(np.arange(400) == 3, np.nan, data["Y"])}, GRAPH, "T", "Y")
    with pytest.raises(TypeError, match="real numbers"):
        estimate_effect(pd.DataFrame({**data, "T": pd.Categorical(np.where(data["T"] == 1, "a", "b"))}),
                        GRAPH, "T", "Y")
    tiny = {**data, "T": (np.arange(400) < 1).astype(float)}
    with pytest.raises(ValueError, match="no treated rows outside fold"):
        estimate_effect(tiny, GRAPH, "T", "Y", method="aipw")
    with pytest.raises(NoAdjustmentSetError, match=r"hidden nodes: \['U'\]"):
        estimate_effect(data, CausalGraph.from_text("Z -> T; Z -> Y; T -> Y; U -> T; U -> Y"), "T", "Y")


def test_ida_on_a_dag_matches_adjusting_for_the_parents():
    data = _binary()
    result = ida(data, GRAPH, "T", "Y")
    direct = estimate_effect(data, GRAPH, "T", "Y", method="regression", adjustment="parents")
    assert result.identified and result.parent_sets == (("Z",),)
    assert result.values[0] == pytest.approx(direct.estimate, rel=1e-12)
    reverse = ida(data, GRAPH, "Y", "Z")  # Z is a parent of Y: effect 0 in every DAG
    assert reverse.effects == (None,) and reverse.minimum_absolute == 0.0
    sibling = ida(data, GRAPH, "T", "Z")
    assert sibling.values.tolist() == [0.0]


def test_refute_honours_adjustment_and_seed():
    data = _binary(300)
    first = refute_effect(data, GRAPH, "T", "Y", checks=["subset", "random_common_cause"], n_simulations=3,
                          method="regression", adjustment=["Z"], seed=7)
    again = refute_effect(data, GRAPH, "T", "Y", checks=["subset", "random_common_cause"], n_simulations=3,
                          method="regression", adjustment=["Z"], seed=7)
    assert first.to_dict() == again.to_dict() and first.original.adjustment_set == ("Z",)
    assert first.original.info["seed"] == 7 and first.passed


def test_cli_contrast_with_spaces_reversed_and_out_in_a_new_folder(tmp_path):
    _write_csv(tmp_path / "d.csv", _binary(300))
    out = tmp_path / "new" / "deeper" / "e.json"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", GRAPH.to_text(), "--treatment", "T", "--outcome", "Y",
                     "--method", "regression", "--contrast", " 1 , 0 ", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["contrast"] == [1.0, 0.0] and payload["ci_low"] < -2.0 + 0.5 and payload["estimate"] < 0


@pytest.mark.parametrize("content, part", [
    ("{", "not a JSON file"),
    ("[1, 2]", "expected a JSON object"),
    ('{"nodes": ["T", "Y"]}', "'nodes' and 'edges'"),
    ('{"nodes": ["T", "Y"], "edges": [["T", "Q"]]}', "Unknown node 'Q'"),
    ('{"nodes": ["T", "Y"], "edges": [["T", "Y"], ["Y", "T"]]}', "cycle"),
])
def test_cli_refuses_malformed_graph_json(tmp_path, content, part):
    _write_csv(tmp_path / "d.csv", _binary(50))
    (tmp_path / "g.json").write_text(content)
    refused(invoke(["effect", tmp_path / "d.csv", "--graph", tmp_path / "g.json", "--treatment", "T",
                    "--outcome", "Y"]), part)


def test_cli_refuses_text_values_and_a_bad_contrast(tmp_path):
    (tmp_path / "t.csv").write_text("Z,T,Y\n1,a,2\n2,b,3\n3,a,1\n4,b,5\n")
    refused(invoke(["effect", tmp_path / "t.csv", "--graph", GRAPH.to_text(), "--treatment", "T", "--outcome", "Y"]),
            "non-numeric")
    _write_csv(tmp_path / "d.csv", _binary(50))
    refused(invoke(["effect", tmp_path / "d.csv", "--graph", GRAPH.to_text(), "--treatment", "T", "--outcome", "Y",
                    "--contrast", "0;1"]), "--contrast")
