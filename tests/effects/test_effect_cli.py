"""``latentscm effect``: an effect from a CSV and a graph (text or JSON), with refutations, IDA and JSON output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke, refused  # noqa: E402

GRAPH = "Z1 -> T; Z2 -> T; Z1 -> Y; Z2 -> Y; T -> Y"


def _write(path: Path, n: int = 400, seed: int = 0) -> None:
    """Binary T with a logistic propensity in Z1, Z2; Y = 2 T + 1.5 Z1 + Z2 + noise (true effect 2)."""
    rng = np.random.default_rng(seed)
    z1, z2 = rng.normal(size=n), rng.normal(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-(z1 - 0.5 * z2)))).astype(float)
    y = 2 * t + 1.5 * z1 + z2 + rng.normal(size=n)
    rows = np.column_stack([z1, z2, t, y])
    path.write_text("Z1,Z2,T,Y\n" + "\n".join(",".join(f"{v:.8f}" for v in row) for row in rows) + "\n")


def test_effect_from_graph_text_writes_json(tmp_path):
    _write(tmp_path / "d.csv")
    out = tmp_path / "e.json"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y",
                     "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["method"] == "aipw" and payload["adjustment_set"] == ["Z1", "Z2"]
    assert payload["ci_low"] < 2.0 < payload["ci_high"]
    assert "adjusting for Z1, Z2" in result.output


def test_graph_json_file_methods_and_options(tmp_path):
    _write(tmp_path / "d.csv")
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps({"nodes": ["Z1", "Z2", "T", "Y"],
                                 "edges": [["Z1", "T"], ["Z2", "T"], ["Z1", "Y"], ["Z2", "Y"], ["T", "Y"]]}))
    out = tmp_path / "e.json"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", graph, "--treatment", "T", "--outcome", "Y",
                     "--method", "dml", "--adjustment", "Z1,Z2", "--level", "0.9", "--folds", "3", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["method"] == "dml" and payload["level"] == 0.9 and payload["info"]["n_folds"] == 3
    assert payload["info"]["adjustment"] == "given"


def test_refute_and_ida(tmp_path):
    _write(tmp_path / "d.csv")
    out = tmp_path / "r.json"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y",
                     "--refute", "--simulations", "3", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert [c["name"] for c in payload["checks"]] == ["placebo", "random_common_cause", "subset"]
    assert all(len(c["estimates"]) == 3 for c in payload["checks"])
    cpdag = tmp_path / "cpdag.json"  # complete and undirected: every subset of the others can be T's parents
    adjacency = [[int(i != j) for j in range(4)] for i in range(4)]
    cpdag.write_text(json.dumps({"nodes": ["Z1", "Z2", "T", "Y"], "adjacency": adjacency}))
    out = tmp_path / "ida.json"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", cpdag, "--treatment", "T", "--outcome", "Y",
                     "--ida", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert len(payload["parent_sets"]) == 8 and payload["parent_sets"][0] == []
    assert all(v == 0.0 for p, v in zip(payload["parent_sets"], payload["values"]) if "Y" in p)
    assert payload["values"][payload["parent_sets"].index(["Z1", "Z2"])] == pytest.approx(2.0, abs=0.4)
    refused(invoke(["effect", tmp_path / "d.csv", "--graph", cpdag, "--treatment", "T", "--outcome", "Y"]),
            "does not identify", "--ida")


@pytest.mark.parametrize("args, message", [
    (["--graph", "Z1 -> T; T -> Y"], "columns ['Z2'] that are not nodes"),
    (["--graph", GRAPH, "--method", "probit"], "'method' parameter"),
    (["--graph", GRAPH, "--contrast", "0"], "--contrast must be two numbers"),
    (["--graph", GRAPH, "--adjustment", "Z1"], "not a valid adjustment set"),
    (["--graph", GRAPH, "--learner", "svm"], "'outcome_learner' argument"),
    (["--graph", "missing.json"], "neither graph text"),
    (["--graph", GRAPH, "--ida", "--refute"], "--refute cannot be combined with --ida"),
])
def test_bad_options_are_refused_by_name(tmp_path, args, message):
    _write(tmp_path / "d.csv", n=60)
    refused(invoke(["effect", tmp_path / "d.csv", "--treatment", "T", "--outcome", "Y", *args]), message)


def test_unwritable_out_is_named_before_the_work(tmp_path):
    _write(tmp_path / "d.csv", n=60)
    (tmp_path / "dir").mkdir()
    refused(invoke(["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y",
                    "--out", tmp_path / "dir"]), "--out")


def test_a_pag_from_discover_fci_gives_the_effect(tmp_path):
    """discover --method fci writes a PAG; effect reads it, adjusts by the canonical set and covers the truth."""
    rng = np.random.default_rng(0)
    n = 8000
    hidden, a = rng.normal(size=n), rng.normal(size=n)
    b, c = hidden + rng.normal(size=n), hidden + rng.normal(size=n)
    x = a + b + rng.normal(size=n)
    y = 1.5 * x + 2.0 * c + rng.normal(size=n)
    rows = np.column_stack([a, b, c, x, y])
    (tmp_path / "d.csv").write_text("a,b,c,x,y\n" + "\n".join(",".join(f"{v:.8f}" for v in row) for row in rows))
    pag = tmp_path / "pag.json"
    result = invoke(["discover", tmp_path / "d.csv", "--method", "fci", "--alpha", "0.01", "--out", pag])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(pag.read_text())["edges"]) == ["a o-> x", "b o-> x", "b o-o c", "c --> y", "x --> y"]
    out = tmp_path / "e.json"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", pag, "--treatment", "x", "--outcome", "y",
                     "--method", "regression", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["adjustment_set"] == ["a", "b", "c"] and payload["info"]["adjustment"] == "canonical"
    assert payload["ci_low"] < 1.5 < payload["ci_high"]
    result = invoke(["effect", tmp_path / "d.csv", "--graph", pag, "--treatment", "x", "--outcome", "y",
                     "--adjustment", "minimal", "--out", out])
    assert result.exit_code == 0 and json.loads(out.read_text())["adjustment_set"] == ["b"], result.output
    refused(invoke(["effect", tmp_path / "d.csv", "--graph", pag, "--treatment", "b", "--outcome", "y"]),
            "does not identify the effect of 'b' on 'y'")
    refused(invoke(["effect", tmp_path / "d.csv", "--graph", pag, "--treatment", "x", "--outcome", "y",
                    "--adjustment", "optimal"]), "defined for a DAG or CPDAG")


def test_front_door_through_a_mediator_when_a_hidden_confounder_blocks_adjustment(tmp_path):
    rng = np.random.default_rng(5)
    n = 2000
    u = rng.normal(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-1.5 * u))).astype(float)
    m = t + rng.normal(size=n)
    y = 2.0 * m + 1.5 * u + rng.normal(size=n)  # true effect of T on Y: 2
    rows = np.column_stack([t, m, y])
    (tmp_path / "d.csv").write_text("T,M,Y\n" + "\n".join(",".join(f"{v:.8f}" for v in r) for r in rows) + "\n")
    graph = "U -> T; U -> Y; T -> M; M -> Y"
    base = ["effect", tmp_path / "d.csv", "--graph", graph, "--treatment", "T", "--outcome", "Y"]
    refused(invoke(base), "--front-door")  # adjustment is refused, and the error points to the front door
    out = tmp_path / "fd.json"
    result = invoke([*base, "--front-door", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["method"] == "aipw" and payload["info"]["mediators"] == ["M"]
    assert payload["ci_low"] < 2.0 < payload["ci_high"]
    assert "through the front-door mediators M" in result.output
    listed = invoke([*base, "--front-door", "--mediators", "M", "--method", "regression"])
    assert listed.exit_code == 0 and "regression" in listed.output, listed.output
    refused(invoke([*base, "--mediators", "M"]), "--mediators needs --front-door")
    refused(invoke([*base, "--front-door", "--ida"]), "--front-door cannot be combined")
    refused(invoke([*base, "--front-door", "--mediators", "T"]), "holds the treatment or the outcome")


def test_front_door_with_covariates(tmp_path):
    rng = np.random.default_rng(2)
    n = 3000
    u, w = rng.normal(size=n), rng.normal(size=n)
    t = u + 0.8 * w + rng.normal(size=n)
    m = 0.7 * t - 0.9 * w + rng.normal(size=n)
    y = 1.5 * m + 1.2 * u + w + rng.normal(size=n)  # true effect of T on Y: 1.05
    rows = np.column_stack([t, m, w, y])
    (tmp_path / "d.csv").write_text("T,M,W,Y\n" + "\n".join(",".join(f"{v:.8f}" for v in r) for r in rows) + "\n")
    base = ["effect", tmp_path / "d.csv", "--graph", "U -> T; U -> Y; W -> T; W -> M; W -> Y; T -> M; M -> Y",
            "--treatment", "T", "--outcome", "Y", "--front-door"]
    refused(invoke(base), "no set of observed nodes")
    out = tmp_path / "fd.json"
    result = invoke([*base, "--covariates", "W", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["info"]["covariates"] == ["W"] and payload["ci_low"] < 1.05 < payload["ci_high"]
    refused(invoke([*base, "--covariates", "M"]), "descendants of the treatment")


def test_instrument_when_hidden_confounding_leaves_neither_adjustment_nor_front_door(tmp_path):
    rng = np.random.default_rng(4)
    n = 3000
    u, w = rng.normal(size=n), rng.normal(size=n)
    z1, z2 = rng.normal(size=n) + w, rng.normal(size=n)
    t = 0.7 * z1 + 0.5 * z2 + u + rng.normal(size=n)
    y = 1.5 * t + 1.5 * u + w + rng.normal(size=n)  # true effect of T on Y: 1.5
    rows = np.column_stack([z1, z2, w, t, y])
    (tmp_path / "d.csv").write_text("Z1,Z2,W,T,Y\n" + "\n".join(",".join(f"{v:.8f}" for v in r) for r in rows) + "\n")
    graph = "W -> Z1; W -> Y; Z1 -> T; Z2 -> T; U -> T; U -> Y; T -> Y"
    base = ["effect", tmp_path / "d.csv", "--graph", graph, "--treatment", "T", "--outcome", "Y"]
    refused(invoke(base), "--instrument")  # no adjustment set, no front door: the error points to the instruments
    out = tmp_path / "iv.json"
    result = invoke([*base, "--instrument", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["method"] == "2sls" and payload["info"]["instruments"] == ["Z1", "Z2"]
    assert payload["info"]["covariates"] == ["W"] and payload["ci_low"] < 1.5 < payload["ci_high"]
    assert "with the instruments Z1, Z2 given W" in result.output
    assert "first stage: F =" in result.output and "Anderson-Rubin 95% set: [" in result.output
    assert "over-identification: Sargan chi2(1) =" in result.output and "robust score test" in result.output
    single = invoke([*base, "--instrument", "--instruments", "Z2", "--covariates", "", "--std-error", "classical"])
    assert single.exit_code == 0 and "with the instruments Z2" in single.output, single.output
    refused(invoke([*base, "--instrument", "--instruments", "Z1", "--covariates", ""]),
            "not a conditional instrumental set")
    refused(invoke([*base, "--instrument", "--front-door"]), "choose one")
    refused(invoke([*base, "--instrument", "--method", "aipw"]), "two-stage least squares")
    refused(invoke([*base, "--instrument", "--learner", "forest"]), "applies to --instrument with --method dml")
    dml = invoke([*base, "--instrument", "--method", "dml", "--out", out])
    assert dml.exit_code == 0 and json.loads(out.read_text())["method"] == "dml", dml.output
    assert json.loads(out.read_text())["ci_low"] < 1.5 < json.loads(out.read_text())["ci_high"]
    refused(invoke([*base, "--instruments", "Z1"]), "need --instrument")
    refused(invoke([*base, "--covariates", "W"]), "--covariates needs --front-door, --instrument or --mediation")


def test_identify_lists_the_routes_without_estimating(tmp_path):
    graph = "W -> Z; W -> Y; Z -> X; U -> X; U -> Y; X -> M; M -> Y"
    out = tmp_path / "routes.json"
    result = invoke(["effect", "--graph", graph, "--treatment", "X", "--outcome", "Y", "--identify", "--hidden", "U",
                     "--out", out])
    assert result.exit_code == 0, result.output
    assert "front door:   mediators M" in result.output and "instruments:  Z given W" in result.output
    payload = json.loads(out.read_text())
    assert payload["routes"] == ["front door", "instruments", "ID algorithm"] and payload["hidden"] == ["U"]
    rows = np.random.default_rng(0).normal(size=(20, 4))
    (tmp_path / "d.csv").write_text("W,Z,X,Y\n" + "\n".join(",".join(f"{v:.6f}" for v in r) for r in rows) + "\n")
    from_csv = invoke(["effect", tmp_path / "d.csv", "--graph", graph, "--treatment", "X", "--outcome", "Y",
                       "--identify"])
    assert from_csv.exit_code == 0 and "(hidden: U, M)" in from_csv.output, from_csv.output
    assert "front door:   none" in from_csv.output
    refused(invoke(["effect", "--graph", graph, "--treatment", "X", "--outcome", "Y", "--hidden", "U"]),
            "--hidden needs --identify")
    refused(invoke(["effect", "--graph", graph, "--treatment", "X", "--outcome", "Y", "--identify", "--hidden",
                    "Q"]), "not nodes of the graph")
    refused(invoke(["effect", "--graph", graph, "--treatment", "X", "--outcome", "Y", "--identify",
                    "--instrument"]), "estimates nothing; --instrument does not apply")


def test_id_formula_on_discrete_columns(tmp_path):
    # The napkin graph: W1 -> W2 -> X -> Y with hidden U1 (-> W1, Y) and U2 (-> W1, X); discrete rows.
    rng = np.random.default_rng(3)
    n = 6000
    u1, u2 = rng.uniform(size=n) < 0.5, rng.uniform(size=n) < 0.5
    w1 = rng.uniform(size=n) < 0.05 + 0.6 * u1 + 0.3 * u2
    w2 = rng.uniform(size=n) < 0.1 + 0.8 * w1
    x = rng.uniform(size=n) < 0.05 + 0.6 * w2 + 0.3 * u2
    y = rng.uniform(size=n) < 0.05 + 0.4 * x + 0.5 * u1  # the effect of X on Y: 0.4
    rows = np.column_stack([w1, w2, x, y]).astype(int)
    (tmp_path / "d.csv").write_text("W1,W2,X,Y\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    base = ["effect", tmp_path / "d.csv", "--graph", "W1 -> W2; W2 -> X; X -> Y; U1 -> W1; U1 -> Y; U2 -> W1; "
            "U2 -> X", "--treatment", "X", "--outcome", "Y"]
    refused(invoke(base), "id_effect")
    out = tmp_path / "id.json"
    result = invoke([*base, "--id", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["method"] == "id" and payload["ci_low"] < 0.4 < payload["ci_high"]
    assert "by the ID algorithm's formula" in result.output
    refused(invoke([*base, "--id", "--instrument"]), "choose one")
    refused(invoke([*base, "--pseudocount", "1"]), "--pseudocount and --max-levels need --id")
    refused(invoke([*base, "--id", "--method", "aipw"]), "--id cannot be combined")


# ----------------------------------------------------------------------------------------------- --sensitivity
def test_sensitivity_writes_the_report_and_the_contour_plot(tmp_path):
    from latentscm.effects import sensitivity_analysis

    _write(tmp_path / "d.csv")
    out, plot = tmp_path / "s.json", tmp_path / "s.png"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y",
                     "--sensitivity", "--benchmark", "Z1,Z1+Z2", "--kd", "1,2", "--ky", "1,3", "--plot", plot,
                     "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    table = np.loadtxt(tmp_path / "d.csv", delimiter=",", skiprows=1)
    ours = sensitivity_analysis(table, GRAPH, "T", "Y", node_names=["Z1", "Z2", "T", "Y"],
                                benchmark=["Z1", ["Z1", "Z2"]], kd=[1, 2], ky=[1, 3])
    assert payload["kind"] == "sensitivity" and payload["covariates"] == ["Z1", "Z2"]
    assert payload["robustness_value"] == pytest.approx(ours.robustness_value, rel=1e-6)
    assert [s["label"] for s in payload["scenarios"]] == ["1x Z1", "2x/3x Z1", "1x Z1+Z2", "2x/3x Z1+Z2"]
    assert "RV_q" in result.output and f"-> {plot}" in result.output
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_sensitivity_refusals(tmp_path):
    _write(tmp_path / "d.csv")
    base = ["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y"]
    refused(invoke(base + ["--kd", "2"]), "--kd needs --sensitivity")
    refused(invoke(base + ["--plot", tmp_path / "p.png", "--q", "0.5"]), "--q, --plot need --sensitivity")
    refused(invoke(base + ["--sensitivity", "--refute", "--method", "dml"]), "cannot be combined with --refute")
    refused(invoke(base + ["--sensitivity", "--method", "ipw"]), "--method 'ipw' does not apply")
    refused(invoke(base + ["--sensitivity", "--learner", "forest"]), "--learner and --folds apply to")
    refused(invoke(base + ["--sensitivity", "--kd", "2"]), "give --benchmark")
    refused(invoke(base + ["--sensitivity", "--benchmark", "Z1", "--kd", "one"]), "--kd must be comma-separated")
    refused(invoke(base + ["--sensitivity", "--benchmark", "Q"]), "'benchmark'", "'Q'")
    assert not (tmp_path / "p.png").exists()


def test_sensitivity_of_the_dml_estimate_from_the_command_line(tmp_path):
    from latentscm.effects import sensitivity_analysis

    _write(tmp_path / "d.csv")
    out = tmp_path / "s.json"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y",
                     "--sensitivity", "--method", "dml", "--folds", "3", "--seed", "2", "--benchmark", "Z2",
                     "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    table = np.loadtxt(tmp_path / "d.csv", delimiter=",", skiprows=1)
    ours = sensitivity_analysis(table, GRAPH, "T", "Y", node_names=["Z1", "Z2", "T", "Y"], method="dml",
                                n_folds=3, seed=2, benchmark="Z2")
    assert payload["method"] == "dml" and payload["info"]["n_folds"] == 3
    assert payload["estimate"] == pytest.approx(ours.estimate, rel=1e-6)
    assert payload["robustness_value_alpha"] == pytest.approx(ours.robustness_value_alpha, rel=1e-6)
    assert "DML with linear/linear learners" in result.output


def test_sensitivity_of_the_aipw_effect_of_a_binary_treatment(tmp_path):
    _write(tmp_path / "d.csv")
    out = tmp_path / "s.json"
    result = invoke(["effect", tmp_path / "d.csv", "--graph", GRAPH, "--treatment", "T", "--outcome", "Y",
                     "--sensitivity", "--method", "aipw", "--benchmark", "Z1", "--kd", "0.5", "--out", out])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["method"] == "aipw" and payload["info"]["trim"] == 0.01
    assert payload["ci"][0] < 2.0 < payload["ci"][1] and "AIPW with linear/linear" in result.output
