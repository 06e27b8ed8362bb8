"""The ``latentscm discover`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app


def _write_csv(path, names, data):
    lines = [",".join(names)] + [",".join(f"{v:.6f}" for v in row) for row in data]
    path.write_text("\n".join(lines) + "\n")


def test_discover_pc_writes_json_and_png(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 500))
    c = a + b + 0.5 * rng.normal(size=500)
    _write_csv(tmp_path / "data.csv", ["a", "b", "c"], np.stack([a, b, c], 1))
    out, png = tmp_path / "out" / "graph.json", tmp_path / "graph.png"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "pc",
                                      "--ci", "fisherz",
                                      "--out", str(out), "--png", str(png)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert sorted(map(tuple, graph["directed"])) == [("a", "c"), ("b", "c")]
    assert graph["adjacency"][0][2] == 1 and graph["adjacency"][2][0] == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob("**/*.tmp"))


def test_discover_cdnod_and_errors(tmp_path):
    rng = np.random.default_rng(1)
    c = np.repeat(np.arange(4), 60).astype(float)
    x = c + rng.normal(size=c.size)
    y = 0.8 * x + 0.5 * rng.normal(size=c.size)
    _write_csv(tmp_path / "d.csv", ["x", "y", "domain"], np.stack([x, y, c], 1))
    out = tmp_path / "g.json"
    runner = CliRunner()
    ok = runner.invoke(app, ["discover", str(tmp_path / "d.csv"), "--method", "cdnod", "--context", "domain",
                             "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert ["x", "y"] in json.loads(out.read_text())["directed"]
    bad = runner.invoke(app, ["discover", str(tmp_path / "d.csv"), "--ci", "nope", "--out", str(out)])
    assert bad.exit_code == 2 and "Unknown CI test" in bad.output
    missing = runner.invoke(app, ["discover", str(tmp_path / "d.csv"), "--method", "cdnod",
                                  "--out", str(out)])
    assert missing.exit_code == 2 and "--context" in missing.output
    (tmp_path / "bad.csv").write_text("a,b\n1,x\n")
    bad_csv = runner.invoke(app, ["discover", str(tmp_path / "bad.csv"), "--out", str(out)])
    assert bad_csv.exit_code == 2 and "line 2" in bad_csv.output


def test_discover_on_run_codes(tmp_path):
    rng = np.random.default_rng(2)
    z0 = rng.normal(size=400)
    z1 = z0 + 0.5 * rng.normal(size=400)
    z2 = rng.normal(size=400)
    z3 = z1 + z2 + 0.5 * rng.normal(size=400)
    np.save(tmp_path / "codes.npy", np.stack([z0, z1, z2, z3], 1))
    (tmp_path / "code_names.json").write_text(json.dumps(["z0", "z1", "z2", "z3"]))
    truth = {"nodes": ["z0", "z1", "z2", "z3"], "edges": [["z0", "z1"], ["z1", "z3"], ["z2", "z3"]]}
    (tmp_path / "world_graph.json").write_text(json.dumps(truth))
    out = tmp_path / "learned.json"
    result = CliRunner().invoke(app, ["discover", "--run", str(tmp_path), "--ci", "fisherz",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    comparison = json.loads(out.read_text())["comparison"]
    # CPDAG z0 - z1 -> z3 <- z2: the skeleton is exact; z0 - z1 stays undirected (SHD 1).
    assert comparison["skeleton.f1"] == 1.0 and comparison["shd"] == 1.0
    assert comparison["orientation.accuracy"] == pytest.approx(2 / 3)
    # variances 1, 1.25, 1, 2.5: z0 -> z1 (up), z1 -> z3 (up), z2 -> z3 (up), and the paths z0 -> z3 (up)
    assert comparison["sortability.var"] == 1.0
    assert 0.0 <= comparison["sortability.r2"] <= 1.0


def test_discover_collider_rule(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 500))
    c = a + b + 0.5 * rng.normal(size=500)
    d = c + 0.5 * rng.normal(size=500)
    _write_csv(tmp_path / "data.csv", ["a", "b", "c", "d"], np.stack([a, b, c, d], 1))
    out = tmp_path / "graph.json"
    for rule in ("conservative", "majority", "maxp"):
        result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--collider-rule", rule,
                                          "--out", str(out)])
        assert result.exit_code == 0, result.output
        graph = json.loads(out.read_text())
        assert graph["info"]["collider_rule"] == rule and graph["info"]["n_collider_tests"] > 0
        assert sorted(map(tuple, graph["directed"])) == [("a", "c"), ("b", "c"), ("c", "d")]
    series = tmp_path / "series.csv"
    _write_csv(series, ["x", "y"], rng.normal(size=(200, 2)))
    for arguments, message in (
            ([str(tmp_path / "data.csv"), "--collider-rule", "cpc"], "--collider-rule 'cpc' is not a rule of pc"),
            ([str(tmp_path / "data.csv"), "--method", "cdf", "--context", "a", "--collider-rule", "majority"],
             "--collider-rule is used by --method pc and cdnod"),
            ([str(series), "--timeseries", "--method", "granger", "--collider-rule", "majority"],
             "--collider-rule is used by --method pcmci_plus"),
            ([str(series), "--timeseries", "--method", "pcmci_plus", "--collider-rule", "maxp"],
             "--collider-rule 'maxp' is not a rule of pcmci_plus")):
        result = CliRunner().invoke(app, ["discover", *arguments, "--out", str(tmp_path / "bad.json")])
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert not (tmp_path / "bad.json").exists()
    result = CliRunner().invoke(app, ["discover", str(series), "--timeseries", "--method", "pcmci_plus",
                                      "--collider-rule", "majority", "--out", str(out)])
    assert result.exit_code == 0, result.output


def test_discover_fci_writes_a_pag(tmp_path):
    rng = np.random.default_rng(0)
    a, d, hidden = rng.normal(size=(3, 3000))
    b = a + hidden + 0.5 * rng.normal(size=3000)
    c = d + hidden + 0.5 * rng.normal(size=3000)
    _write_csv(tmp_path / "data.csv", ["a", "b", "c", "d"], np.stack([a, b, c, d], 1))
    out, png = tmp_path / "pag.json", tmp_path / "pag.png"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "fci", "--out", str(out),
                                      "--png", str(png)])
    assert result.exit_code == 0, result.output
    assert "3 edges of a partial ancestral graph" in result.output
    payload = json.loads(out.read_text())
    assert payload["kind"] == "pag" and sorted(payload["edges"]) == ["a o-> b", "b <-> c", "d o-> c"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for arguments, message in ((["--context", "a"], "--context is only used by --method cdnod"),
                               (["--collider-rule", "majority"], "--collider-rule is used by --method pc"),
                               (["--run", str(tmp_path)], "Give exactly one of a CSV file or --run DIR")):
        result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "fci", *arguments,
                                          "--out", str(tmp_path / "bad.json")])
        assert result.exit_code == 2 and message in result.output, result.output
    result = CliRunner().invoke(app, ["discover", "--run", str(tmp_path), "--method", "cdf", "--out",
                                      str(tmp_path / "bad.json")])
    assert result.exit_code == 2 and "--method cdf needs a CSV table" in result.output
    assert not (tmp_path / "bad.json").exists()


def test_discover_fci_on_run_codes_is_scored_against_the_world_graph(tmp_path):
    rng = np.random.default_rng(2)
    z0 = rng.normal(size=2000)
    z1 = z0 + 0.5 * rng.normal(size=2000)
    z2 = rng.normal(size=2000)
    z3 = z1 + z2 + 0.5 * rng.normal(size=2000)
    np.save(tmp_path / "codes.npy", np.stack([z0, z1, z2, z3], 1))
    (tmp_path / "code_names.json").write_text(json.dumps(["z0", "z1", "z2", "z3"]))
    truth = {"nodes": ["z0", "z1", "z2", "z3"], "edges": [["z0", "z1"], ["z1", "z3"], ["z2", "z3"]]}
    (tmp_path / "world_graph.json").write_text(json.dumps(truth))
    out = tmp_path / "pag.json"
    result = CliRunner().invoke(app, ["discover", "--run", str(tmp_path), "--method", "fci", "--ci", "fisherz",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    # PAG z0 o-o z1 o-> z3 <-o z2: the skeleton is exact, both arrowheads at z3 are right, the circles score nothing
    assert sorted(payload["edges"]) == ["z0 o-o z1", "z1 o-> z3", "z2 o-> z3"]
    comparison = payload["comparison"]
    assert comparison["skeleton.f1"] == 1.0 and comparison["arrowhead.precision"] == 1.0
    # the truth has 3 arrowheads (at z1 on z0 -> z1, at z3 twice); the PAG shows the 2 at z3 and a circle at z1
    assert comparison["arrowhead.recall"] == pytest.approx(2 / 3) and comparison["tail.precision"] == 1.0


def test_discover_with_background_knowledge(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=800)
    b = a + rng.normal(size=800)
    c = b + rng.normal(size=800)
    _write_csv(tmp_path / "data.csv", ["a", "b", "c"], np.stack([a, b, c], 1))
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--out", str(out)])
    assert result.exit_code == 0 and json.loads(out.read_text())["directed"] == []  # a chain: no orientation
    (tmp_path / "k.json").write_text(json.dumps({"tiers": [["a"], ["b", "c"]]}))
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--knowledge", str(tmp_path / "k.json"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert sorted(map(tuple, graph["directed"])) == [("a", "b"), ("b", "c")]  # a -> b by the tiers, then Meek R1
    assert graph["info"]["knowledge"]["tiers"] == [["a"], ["b", "c"]]
    domain = (np.arange(800) % 2).astype(float)  # CD-NOD: the knowledge may name the context column too
    _write_csv(tmp_path / "domains.csv", ["a", "b", "c", "e"], np.stack([a, b, c, domain], 1))
    (tmp_path / "kc.json").write_text(json.dumps({"required": [["e", "a"]]}))
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "domains.csv"), "--method", "cdnod", "--ci",
                                      "fisherz", "--context", "e", "--knowledge", str(tmp_path / "kc.json"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert ("e", "a") in set(map(tuple, graph["directed"])) and graph["info"]["knowledge"]["required"] == [["e", "a"]]
    (tmp_path / "unknown.json").write_text(json.dumps({"required": [["a", "q"]]}))
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "edges.json").write_text(json.dumps({"required": [["a", "b"]]}))
    series = tmp_path / "series.csv"
    _write_csv(series, ["x", "y"], rng.normal(size=(200, 2)))
    for arguments, message in (
            ([str(tmp_path / "data.csv"), "--knowledge", str(tmp_path / "unknown.json")], "names the node(s) ['q']"),
            ([str(tmp_path / "data.csv"), "--knowledge", str(tmp_path / "broken.json")], "is not valid JSON"),
            ([str(tmp_path / "data.csv"), "--knowledge", str(tmp_path / "none.json")], "does not exist"),
            ([str(tmp_path / "data.csv"), "--method", "ges", "--knowledge", str(tmp_path / "k.json")],
             "--knowledge is used by --method pc, cdnod, lingam, boss, fci, gfci, llc, score, das, nogam, "
             "sortnregress, not by --method ges"),
            ([str(tmp_path / "data.csv"), "--method", "fci", "--knowledge", str(tmp_path / "edges.json")],
             "tiers only, not required edges"),
            ([str(series), "--timeseries", "--knowledge", str(tmp_path / "k.json")], "--knowledge")):
        result = CliRunner().invoke(app, ["discover", *arguments, "--out", str(tmp_path / "bad.json")])
        assert result.exit_code == 2 and message in result.output, result.output
        assert not (tmp_path / "bad.json").exists()


def test_discover_ges(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 2000))
    c = a + b + 0.5 * rng.normal(size=2000)
    _write_csv(tmp_path / "data.csv", ["a", "b", "c"], np.stack([a, b, c], 1))
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "ges", "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert sorted(map(tuple, graph["directed"])) == [("a", "c"), ("b", "c")] and graph["info"]["method"] == "ges"
    for arguments, message in ((["--alpha", "0.01"], "--alpha would be ignored"),
                               (["--ci", "kci"], "--ci would be ignored"),
                               (["--context", "a"], "--context is only used by --method cdnod")):
        result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "ges", *arguments,
                                          "--out", str(tmp_path / "bad.json")])
        assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "bad.json").exists()


def test_discover_lingam_notears_and_fci_with_tiers(tmp_path):
    """The table-only methods of the CLI: DirectLiNGAM on uniform noise and NOTEARS on equal noise variances
    find the chain a -> b -> c with its directions; FCI takes tiers; none of the three takes --ci / --alpha."""
    rng = np.random.default_rng(0)
    n = 2000
    a = rng.uniform(-1, 1, n)
    b = 1.5 * a + rng.uniform(-1, 1, n)
    c = -1.2 * b + rng.uniform(-1, 1, n)
    _write_csv(tmp_path / "uniform.csv", ["a", "b", "c"], np.stack([a, b, c], 1))
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "uniform.csv"), "--method", "lingam", "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert sorted(map(tuple, graph["directed"])) == [("a", "b"), ("b", "c")]
    assert graph["info"]["causal_order"] == ["a", "b", "c"]
    x = rng.normal(size=n)
    y = 1.2 * x + rng.normal(size=n)
    z = -1.0 * y + rng.normal(size=n)
    _write_csv(tmp_path / "gauss.csv", ["x", "y", "z"], np.stack([x, y, z], 1))
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "gauss.csv"), "--method", "notears", "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert sorted(map(tuple, graph["directed"])) == [("x", "y"), ("y", "z")] and graph["info"]["method"] == "notears"
    # FCI: x - y - z is o-o o-o without knowledge; tiers x | y | z give x o-> y -> z
    (tmp_path / "tiers.json").write_text(json.dumps({"tiers": [["x"], ["y"], ["z"]]}))
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "gauss.csv"), "--method", "fci", "--knowledge",
                                      str(tmp_path / "tiers.json"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(out.read_text())["edges"]) == ["x o-> y", "y --> z"]
    for method, flag in (("lingam", ["--ci", "kci"]), ("notears", ["--alpha", "0.01"])):
        result = CliRunner().invoke(app, ["discover", str(tmp_path / "gauss.csv"), "--method", method, *flag,
                                          "--out", str(tmp_path / "bad.json")])
        assert result.exit_code == 2 and f"{flag[0]} would be ignored" in result.output, result.output
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "gauss.csv"), "--method", "notears", "--knowledge",
                                      str(tmp_path / "tiers.json"), "--out", str(tmp_path / "bad.json")])
    assert result.exit_code == 2 and "not by --method notears" in result.output
    assert not (tmp_path / "bad.json").exists()


def test_cli_table_methods_are_the_code_methods_registry():
    """One registry: every DAG / PAG method of discover_from_codes is a --method of the CLI, dispatched from it."""
    from latentscm.cli.discover import _TABLE_ONLY, _table_methods
    from latentscm.discovery.codes import CODE_METHODS

    assert set(_TABLE_ONLY) == set(CODE_METHODS) - {"pc"} == set(_table_methods())
