"""``latentscm discover --method score|das|nogam``: a DAG of a nonlinear additive noise model from a CSV, and from a
run's codes through ``discover_from_codes``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.discovery import score_matching

NAMES = ("rain", "wet", "slippery", "falls")


def _write(path, n: int = 500, seed: int = 0) -> np.ndarray:
    """rain -> wet -> slippery -> falls, all nonlinear, Gaussian noise."""
    rng = np.random.default_rng(seed)
    rain = rng.normal(size=n)
    wet = 2.0 * np.tanh(1.5 * rain) + 0.5 * rng.normal(size=n)
    slippery = np.sin(1.5 * wet) * 1.5 + 0.5 * rng.normal(size=n)
    falls = slippery ** 2 / 2 + 0.5 * rng.normal(size=n)
    data = np.round(np.column_stack([rain, wet, slippery, falls]), 6)
    path.write_text(",".join(NAMES) + "\n" + "\n".join(",".join(f"{v:.6f}" for v in row) for row in data) + "\n")
    return data


def _edges(payload: dict) -> set[tuple[str, str]]:
    nodes, adjacency = payload["nodes"], np.asarray(payload["adjacency"])
    return {(nodes[i], nodes[j]) for i, j in zip(*np.nonzero(adjacency))}


@pytest.mark.parametrize("method", ["score", "das", "nogam"])
def test_each_method_finds_the_chain_from_a_csv(tmp_path, method):
    data = _write(tmp_path / "data.csv")
    out = tmp_path / f"{method}.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", method, "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert _edges(payload) == {("rain", "wet"), ("wet", "slippery"), ("slippery", "falls")}
    assert payload["info"]["method"] == method and payload["info"]["alpha"] == 0.001
    assert payload["info"]["causal_order"] == list(NAMES)
    if method == "score":  # the command runs the library function with its defaults
        again = score_matching(data, node_names=list(NAMES))
        np.testing.assert_array_equal(np.asarray(payload["adjacency"]), again.adjacency)


def test_alpha_params_and_knowledge_reach_the_method(tmp_path):
    _write(tmp_path / "data.csv")
    knowledge = tmp_path / "knowledge.json"
    knowledge.write_text(json.dumps({"forbidden": [["slippery", "falls"]]}))
    out = tmp_path / "g.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "das", "--alpha", "0.05",
                                      "--param", "min_parents=1", "--knowledge", str(knowledge), "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["info"]["alpha"] == 0.05 and payload["info"]["min_parents"] == 1
    assert ("slippery", "falls") not in _edges(payload)


@pytest.mark.parametrize("args, message", [
    (["--method", "score", "--ci", "kci"], "not by a CI test, so --ci would be ignored"),
    (["--method", "nogam", "--param", "alpha=0.1"], "--param alpha is set by --alpha"),
    (["--method", "das", "--param", "min_parent=1"], "no parameter 'min_parent'"),
    (["--method", "score", "--param", "eta_g=0"], "eta_g"),
    (["--method", "score", "--alpha", "2"], "alpha"),
    (["--method", "nogam", "--environment", "rain"], "--environment is only used by"),
])
def test_bad_options_are_refused_by_name(tmp_path, args, message):
    _write(tmp_path / "data.csv", n=60)
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), *args, "--out",
                                      str(tmp_path / "g.json")])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "g.json").exists()


def test_run_codes_with_a_true_graph_are_compared(tmp_path):
    data = _write(tmp_path / "data.csv")
    run = tmp_path / "run"
    run.mkdir()
    np.save(run / "codes.npy", data)
    (run / "code_names.json").write_text(json.dumps(list(NAMES)))
    (run / "world_graph.json").write_text(json.dumps({"nodes": list(NAMES), "edges": [
        ["rain", "wet"], ["wet", "slippery"], ["slippery", "falls"]]}))
    out = tmp_path / "g.json"
    result = CliRunner().invoke(app, ["discover", "--run", str(run), "--method", "score", "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert _edges(payload) == {("rain", "wet"), ("wet", "slippery"), ("slippery", "falls")}
    assert payload["info"]["alpha"] == 0.001
    assert payload["comparison"]["shd"] == 0.0 and payload["comparison"]["sid"] == 0.0
