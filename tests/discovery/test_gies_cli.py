"""``latentscm discover --method gies --targets COLUMN``: a CSV of observational and interventional rows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.discovery.gies import gies


def _chain_rows(n: int = 500, seed: int = 0):
    """a -> b -> c; rows 0..n-1 observational, then do(b) for n rows (b ~ N(0, 1) cut from a)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=2 * n)
    b = 0.9 * a + rng.normal(size=2 * n)
    b[n:] = rng.normal(size=n)
    c = -0.8 * b + rng.normal(size=2 * n)
    targets = [""] * n + ["b"] * n
    return np.column_stack([a, b, c]), targets


def _write(path, data, targets, names=("a", "b", "c"), column="intervened"):
    lines = [",".join([*names, column])]
    lines += [",".join([*(f"{v:.6f}" for v in row), t]) for row, t in zip(data, targets)]
    path.write_text("\n".join(lines) + "\n")


def test_gies_from_a_csv_orients_the_chain_and_matches_the_library(tmp_path):
    data, targets = _chain_rows()
    _write(tmp_path / "data.csv", data, targets)
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "gies",
                                      "--targets", "intervened", "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert sorted(map(tuple, graph["directed"])) == [("a", "b"), ("b", "c")] and graph["undirected"] == []
    expected = gies(np.round(data, 6), [[t] if t else [] for t in targets], node_names=["a", "b", "c"])
    assert graph["adjacency"] == expected.adjacency.tolist()
    assert graph["info"]["targets"] == [[], ["b"]] and graph["info"]["environment_sizes"] == [500, 500]
    # observational rows alone leave the chain unoriented: the interventions did the orienting
    _write(tmp_path / "obs.csv", data[:500], targets[:500])
    plain = CliRunner().invoke(app, ["discover", str(tmp_path / "obs.csv"), "--method", "gies",
                                     "--targets", "intervened", "--out", str(tmp_path / "obs.json")])
    assert plain.exit_code == 0, plain.output
    assert json.loads((tmp_path / "obs.json").read_text())["directed"] == []


def test_several_targets_per_row_and_params(tmp_path):
    data, targets = _chain_rows(seed=1)
    targets = [t if t else "" for t in targets[:500]] + ["a;b"] * 250 + [" c "] * 250
    _write(tmp_path / "data.csv", data, targets)
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "gies", "--targets",
                                      "intervened", "--param", "turning=false", "--out", str(out)])
    assert result.exit_code == 0, result.output
    info = json.loads(out.read_text())["info"]
    assert info["targets"] == [[], ["c"], ["a", "b"]] and info["turning"] is False


@pytest.mark.parametrize(("extra", "message"), [
    ([], "--method gies needs --targets"),
    (["--targets", "nope"], "--targets 'nope' is not a column"),
    (["--targets", "intervened", "--ci", "kci"], "uses no CI test"),
    (["--targets", "intervened", "--environment", "a"], "gies reads its environments from --targets"),
    (["--targets", "intervened", "--param", "targets=[]"], "--param targets is set by --targets"),
])
def test_gies_cli_errors(tmp_path, extra, message):
    data, targets = _chain_rows(n=50)
    _write(tmp_path / "data.csv", data, targets)
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "gies", *extra,
                                      "--out", str(tmp_path / "g.json")])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "g.json").exists()


def test_targets_column_errors_name_the_line(tmp_path):
    data, targets = _chain_rows(n=50)
    targets[3] = "b;zz"
    _write(tmp_path / "data.csv", data, targets)
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "gies", "--targets",
                                      "intervened", "--out", str(tmp_path / "g.json")])
    assert result.exit_code == 2 and "line 5" in result.output and "['zz']" in result.output, result.output
    other = tmp_path / "other.csv"
    _write(other, data, [""] * 100)
    result = CliRunner().invoke(app, ["discover", str(other), "--method", "pc", "--targets", "intervened",
                                      "--out", str(tmp_path / "g.json")])
    assert result.exit_code == 2 and "--targets is only used by --method gies" in result.output
    text = (tmp_path / "data.csv").read_text().replace("0.", "x.", 1)
    (tmp_path / "bad.csv").write_text(text)
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "bad.csv"), "--method", "gies", "--targets",
                                      "intervened", "--out", str(tmp_path / "g.json")])
    assert result.exit_code == 2 and "non-numeric value" in result.output and "line 2" in result.output


def test_worlds_factors_then_gies_recovers_the_world_graph(tmp_path):
    """Two commands: a world's exact factors under single-node interventions, then GIES on them."""
    from latentscm.worlds import make

    runner = CliRunner()
    table = tmp_path / "factors.csv"
    made = runner.invoke(app, ["worlds", "factors", "ild-linear", "--n", "20000", "--domain", "0", "--regimes",
                               "single-node", "--factors", "z1,z3", "--out", str(table)])
    assert made.exit_code == 0, made.output
    header = table.read_text().splitlines()[0].split(",")
    assert header == ["z0", "z1", "z2", "z3", "z4", "z5", "intervened"]
    column = [line.split(",")[-1] for line in table.read_text().splitlines()[1:]]
    assert set(column) == {"", "z1", "z3"} and 6000 < column.count("") < 7400  # a third observational
    out = tmp_path / "graph.json"
    found = runner.invoke(app, ["discover", str(table), "--method", "gies", "--targets", "intervened",
                                "--out", str(out)])
    assert found.exit_code == 0, found.output
    graph = json.loads(out.read_text())
    truth = make("ild-linear").graph
    assert sorted(map(tuple, graph["directed"])) == sorted(truth.edges) and graph["undirected"] == []
    # the same rows again from the same seed; observational rows only without --regimes
    again = tmp_path / "again.csv"
    runner.invoke(app, ["worlds", "factors", "ild-linear", "--n", "20000", "--domain", "0", "--regimes",
                        "single-node", "--factors", "z1,z3", "--out", str(again)])
    assert again.read_bytes() == table.read_bytes()
    plain = tmp_path / "plain.csv"
    assert runner.invoke(app, ["worlds", "factors", "pendulum", "--n", "50", "--out", str(plain)]).exit_code == 0
    assert plain.read_text().splitlines()[0] == "pendulum_angle,light_position,shadow_length,shadow_position"


@pytest.mark.parametrize(("args", "message"), [
    (["ild-linear", "--n", "10"], "has 3 domains; choose one with --domain"),
    (["ild-linear", "--n", "10", "--domain", "7"], "--domain 7 is not a domain"),
    (["pendulum", "--n", "10", "--factors", "light_position"], "--factors, --source and --shift choose"),
    (["pendulum", "--n", "10", "--regimes", "single-node", "--factors", "nope"], "--factors names ['nope']"),
    (["pendulum", "--n", "10", "--regimes", "all"], "--regimes must be one of observational, single-node"),
])
def test_worlds_factors_errors(tmp_path, args, message):
    out = tmp_path / "f.csv"
    result = CliRunner().invoke(app, ["worlds", "factors", *args, "--out", str(out)])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not out.exists()


def test_worlds_factors_soft_shifts_then_soft_gies(tmp_path):
    """--shift makes soft single-node interventions (the target keeps its causes); gies with the soft score reads
    them, and the file says which rows were shifted."""
    from latentscm.worlds import make

    runner = CliRunner()
    table = tmp_path / "shifted.csv"
    made = runner.invoke(app, ["worlds", "factors", "ild-linear", "--n", "20000", "--domain", "0", "--regimes",
                               "single-node", "--factors", "z0,z3", "--shift", "2.5", "--out", str(table)])
    assert made.exit_code == 0, made.output
    rows = [line.split(",") for line in table.read_text().splitlines()[1:]]
    z0_shifted = np.mean([float(r[0]) for r in rows if r[-1] == "z0"])
    z0_plain = np.mean([float(r[0]) for r in rows if r[-1] == ""])
    assert z0_shifted - z0_plain == pytest.approx(2.5, abs=0.15)
    out = tmp_path / "graph.json"
    found = runner.invoke(app, ["discover", str(table), "--method", "gies", "--targets", "intervened", "--param",
                                "interventions=soft", "--out", str(out)])
    assert found.exit_code == 0, found.output
    graph = json.loads(out.read_text())
    assert graph["info"]["interventions"] == "soft"
    assert sorted(map(tuple, graph["directed"])) == sorted(make("ild-linear").graph.edges)


@pytest.mark.parametrize(("args", "message"), [
    (["--shift", "1"], "--factors, --source and --shift choose"),
    (["--regimes", "single-node", "--shift", "1", "--source", "range"], "--source draws the value"),
    (["--regimes", "single-node", "--shift", "0"], "--shift must be a finite non-zero number"),
])
def test_worlds_factors_shift_errors(tmp_path, args, message):
    out = tmp_path / "f.csv"
    result = CliRunner().invoke(app, ["worlds", "factors", "pendulum", "--n", "20", *args, "--out", str(out)])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not out.exists()


def test_suggest_plans_the_experiments_that_orient_the_rest(tmp_path):
    from latentscm.cli.discover import experiment_plan
    from latentscm.discovery.experiment_design import best_single_intervention, identifying_targets
    from latentscm.discovery.ges import ges
    from latentscm.discovery.result import DiscoveredGraph

    data, _ = _chain_rows(n=800)
    (tmp_path / "obs.csv").write_text("a,b,c\n" + "".join(",".join(f"{v:.6f}" for v in row) + "\n"
                                                          for row in data[:800]))
    out = tmp_path / "g.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "obs.csv"), "--method", "ges", "--suggest",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())["experiments"]
    graph = ges(np.round(data[:800], 6), node_names=["a", "b", "c"])  # a - b - c: nothing oriented
    assert plan["undirected"] == 2 and plan["next"] == {"target": "b", "orients_at_least": 2}
    assert best_single_intervention(graph) == ("b", 2, ())
    assert plan["identifying_targets"] == [list(t) for t in identifying_targets(graph)] == [["b"]]
    assert "Next experiment: intervene on b" in result.output
    # an oriented result needs nothing; a non-chordal undirected part gets a best next step but no full plan
    oriented = CliRunner().invoke(app, ["discover", str(tmp_path / "obs.csv"), "--method", "lingam", "--suggest",
                                        "--out", str(tmp_path / "l.json")])
    assert oriented.exit_code == 0 and "no experiment is needed" in oriented.output, oriented.output
    cycle = np.zeros((4, 4), dtype=np.int64)
    for i in range(4):
        cycle[i, (i + 1) % 4] = cycle[(i + 1) % 4, i] = 1
    plan = experiment_plan(DiscoveredGraph(("a", "b", "c", "d"), cycle, {}, {}))
    assert plan["identifying_targets"] is None and "not chordal" in plan["reason"] and plan["next"] is not None
    refused = CliRunner().invoke(app, ["discover", str(tmp_path / "obs.csv"), "--method", "fci", "--suggest",
                                       "--out", str(tmp_path / "f.json")])
    assert refused.exit_code == 2 and "partial ancestral graph" in refused.output
