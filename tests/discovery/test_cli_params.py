"""``latentscm discover --param KEY=VALUE``: a method's own parameters from the command line, checked by name."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.cli.method_params import parse_params
from latentscm.discovery import ges, notears_linear


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 4))
    x[:, 1] += 0.9 * x[:, 0]
    x[:, 2] += 0.7 * x[:, 1] - 0.6 * x[:, 3]
    lines = ["a,b,c,d", *(",".join(f"{v:.8f}" for v in row) for row in x)]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "data.csv", x


def _discover(path, *args):
    out = path.parent / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(path), *args, "--out", str(out)])
    return result, (json.loads(out.read_text()) if result.exit_code == 0 else None)


def test_values_are_json_or_text():
    parsed = parse_params(["lambda1=0.05", "hidden=[8, 4]", "turning=true", "measure=kernel", "max_parents=null",
                           "note=a=b", "loss= l2 "])
    assert parsed == {"lambda1": 0.05, "hidden": [8, 4], "turning": True, "measure": "kernel", "max_parents": None,
                      "note": "a=b", "loss": "l2"}


def test_params_reach_the_method(table):
    path, x = table
    result, graph = _discover(path, "--method", "notears", "--param", "lambda1=0.5", "--param", "w_threshold=0.6")
    assert result.exit_code == 0, result.output
    direct = notears_linear(x, node_names=list("abcd"), lambda1=0.5, w_threshold=0.6)
    assert graph["info"]["lambda1"] == 0.5 and graph["info"]["w_threshold"] == 0.6
    assert graph["info"]["weights"] == direct.info["weights"]
    default = notears_linear(x, node_names=list("abcd"))
    assert default.info["weights"] != direct.info["weights"]  # the parameters changed the fit
    result, graph = _discover(path, "--method", "ges", "--param", "turning=true", "--param", "iterate=true")
    assert result.exit_code == 0, result.output
    assert graph["info"]["turning"] is True
    direct = json.loads(json.dumps(ges(x, node_names=list("abcd"), turning=True, iterate=True).info))
    assert graph["info"].pop("score_value") == pytest.approx(direct.pop("score_value"), rel=1e-8)  # CSV rounding
    assert graph["info"] == direct


@pytest.mark.parametrize(("args", "match"), [
    (["--method", "ges", "--param", "lambda1=0.1"], "--method ges has no parameter 'lambda1'; --param takes: score"),
    (["--method", "notears", "--param", "lambda1"], "must be KEY=VALUE"),
    (["--method", "notears", "--param", "1x=2"], "must be KEY=VALUE"),
    (["--method", "notears", "--param", "lambda1=1", "--param", "lambda1=2"], "given twice"),
    (["--method", "pc", "--param", "alpha=0.1"], "--param alpha is set by --alpha"),
    (["--method", "notears", "--param", "node_names=[1]"], "set by the CSV header"),
    (["--method", "notears", "--param", "lambda1=-1"], "'lambda1' parameter of notears_linear"),
    (["--method", "dagma", "--param", "s=[]"], "'s' parameter of dagma_linear"),
])
def test_bad_params_are_named(table, args, match):
    path, _ = table
    result, _ = _discover(path, *args)
    assert result.exit_code == 2 and match in result.output, result.output
    assert not (path.parent / "graph.json").exists()


def test_param_is_refused_with_timeseries(table):
    path, _ = table
    result, _ = _discover(path, "--timeseries", "--param", "tau_max=2")
    assert result.exit_code == 2 and "--param cannot be used with --timeseries" in result.output


def _run_dir(tmp_path):
    """A run directory of codes z0 -> z1 -> z3 <- z2 with uniform noise and its true graph."""
    rng = np.random.default_rng(5)
    z0 = rng.uniform(-1, 1, 1500)
    z1 = 1.2 * z0 + rng.uniform(-1, 1, 1500)
    z2 = rng.uniform(-1, 1, 1500)
    z3 = z1 - z2 + rng.uniform(-1, 1, 1500)
    np.save(tmp_path / "codes.npy", np.stack([z0, z1, z2, z3], 1))
    (tmp_path / "code_names.json").write_text(json.dumps(["z0", "z1", "z2", "z3"]))
    truth = {"nodes": ["z0", "z1", "z2", "z3"], "edges": [["z0", "z1"], ["z1", "z3"], ["z2", "z3"]]}
    (tmp_path / "world_graph.json").write_text(json.dumps(truth))
    return tmp_path


def test_run_codes_with_the_dag_methods_and_their_params(tmp_path):
    run = _run_dir(tmp_path)
    out = tmp_path / "learned.json"
    # DirectLiNGAM on uniform noise finds the DAG itself, directions included
    result = CliRunner().invoke(app, ["discover", "--run", str(run), "--method", "lingam", "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert graph["comparison"]["shd"] == 0.0 and graph["info"]["method"] == "direct_lingam"
    # the params reach the method through discover_from_codes
    result = CliRunner().invoke(app, ["discover", "--run", str(run), "--method", "dagma", "--param", "lambda1=0.05",
                                      "--param", "w_threshold=0.2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert graph["info"]["method"] == "dagma" and graph["info"]["lambda1"] == 0.05
    assert graph["info"]["w_threshold"] == 0.2 and graph["comparison"]["skeleton.f1"] == 1.0
    result = CliRunner().invoke(app, ["discover", "--run", str(run), "--method", "notears", "--param", "lambd=1",
                                      "--out", str(tmp_path / "bad.json")])
    assert result.exit_code == 2 and "--method notears has no parameter 'lambd'" in result.output
    result = CliRunner().invoke(app, ["discover", "--run", str(run), "--method", "cdnod", "--out",
                                      str(tmp_path / "bad.json")])
    assert result.exit_code == 2 and "--method cdnod needs a CSV table" in result.output


def test_discover_from_codes_options(tmp_path):
    from latentscm.discovery.codes import discover_from_codes

    codes = np.load(_run_dir(tmp_path) / "codes.npy")
    names = ["z0", "z1", "z2", "z3"]
    first = discover_from_codes(codes, names, method="notears_mlp", max_samples=300, seed=7,
                                options={"hidden": [4], "max_iter": 3})
    again = discover_from_codes(codes, names, method="notears_mlp", max_samples=300, seed=7,
                                options={"hidden": [4], "max_iter": 3})
    assert first.info["hidden"] == [4] and first.info["weights_raw"] == again.info["weights_raw"]
    with pytest.raises(ValueError, match="options alpha is set by 'alpha'"):
        discover_from_codes(codes, names, method="pc", options={"alpha": 0.1})
    with pytest.raises(ValueError, match="Method 'ges' has no parameter 'lambda1'"):
        discover_from_codes(codes, names, method="ges", options={"lambda1": 0.1})
    with pytest.raises(ValueError, match="'knowledge' .* applies to method='pc', 'fci', 'gfci', 'boss', 'lingam', "
                                         "'llc', 'score', 'das', 'nogam', 'sortnregress', not 'dagma'"):
        discover_from_codes(codes, names, method="dagma", knowledge={"tiers": [["z0"], ["z1"]]})
