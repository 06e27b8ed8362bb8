"""``latentscm discover``: parcorr with --timeseries, unwritable outputs and damaged run files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app


def _write_csv(path, names, data):
    lines = [",".join(names)] + [",".join(f"{v:.6f}" for v in row) for row in data]
    path.write_text("\n".join(lines) + "\n")


def _table(path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=200)
    b = a + rng.normal(size=200)
    _write_csv(path, ["a", "b", "c"], np.stack([a, b, b + rng.normal(size=200)], 1))
    return path


def _series(path):
    rng = np.random.default_rng(0)
    x = np.zeros((150, 2))
    for t in range(1, 150):
        x[t, 0] = 0.5 * x[t - 1, 0] + rng.normal()
        x[t, 1] = 0.6 * x[t - 1, 0] + rng.normal()
    _write_csv(path, ["a", "b"], x)
    return path


def test_timeseries_accepts_parcorr(tmp_path):
    # a fresh process: in this one another test may already have registered parcorr by importing
    # latentscm.discovery.timeseries, which the command must do itself before checking the name
    out = tmp_path / "g.json"
    command = [sys.executable, "-m", "latentscm.cli", "discover", "--timeseries", "--method", "pcmci", "--ci",
               "parcorr", "--tau-max", "1", str(_series(tmp_path / "ts.csv")), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    links = json.loads(out.read_text())["links"]
    assert {(link["cause"], link["effect"], link["lag"]) for link in links} >= {("a", "b", 1), ("a", "a", 1)}


def test_out_that_is_a_directory_is_an_error(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    for extra in ([], ["--timeseries", "--method", "granger"]):
        data = _series(tmp_path / "ts.csv") if extra else _table(tmp_path / "t.csv")
        result = CliRunner().invoke(app, ["discover", str(data), *extra, "--out", str(folder)])
        assert result.exit_code == 2, result.output
        assert "Error: --out" in result.output and "is a directory" in result.output
        assert "Traceback" not in result.output


def test_png_under_a_regular_file_is_an_error_before_anything_is_written(tmp_path):
    data = _table(tmp_path / "t.csv")
    out = tmp_path / "g.json"
    result = CliRunner().invoke(app, ["discover", str(data), "--out", str(out), "--png", str(data / "g.png")])
    assert result.exit_code == 2, result.output
    assert "Error: --png" in result.output and "is a file, not a directory" in result.output
    assert not out.exists()


def _run_dir(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    np.save(run / "codes.npy", np.random.default_rng(0).normal(size=(200, 3)))
    (run / "code_names.json").write_text(json.dumps(["a", "b", "c"]))
    return run


def _truncate(path, size):
    path.write_bytes(path.read_bytes()[:size])


@pytest.mark.parametrize(("damage", "named"), [
    (lambda run: (run / "code_names.json").write_text('["a", "b"'), "code_names.json"),
    (lambda run: (run / "code_names.json").write_text('{"a": 1}'), "code_names.json"),
    (lambda run: (run / "code_names.json").write_text('["a", "b"]'), "code_names.json"),
    (lambda run: _truncate(run / "codes.npy", 1000), "codes.npy"),
    (lambda run: _truncate(run / "codes.npy", 20), "codes.npy"),
    (lambda run: (run / "world_graph.json").write_text('{"nodes": ["a", "b"'), "world_graph.json"),
    (lambda run: (run / "world_graph.json").write_text('[1, 2]'), "world_graph.json"),
    (lambda run: (run / "world_graph.json").write_text('{"nodes": ["x"], "edges": []}'), "world_graph.json"),
], ids=["names-truncated", "names-dict", "names-too-few", "codes-truncated", "codes-header-truncated",
        "truth-truncated", "truth-list", "truth-other-nodes"])
def test_damaged_run_files_are_named(tmp_path, damage, named):
    run = _run_dir(tmp_path)
    damage(run)
    result = CliRunner().invoke(app, ["discover", "--run", str(run), "--out", str(tmp_path / "g.json")])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error:") and str(run / named) in result.output
    assert not (tmp_path / "g.json").exists()
