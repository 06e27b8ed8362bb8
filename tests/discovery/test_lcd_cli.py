"""``latentscm discover --method lcd --environment COLUMN``: linear causal disentanglement from a CSV of rows grouped
by environment, the same fit as the library's."""

from __future__ import annotations

import json

import numpy as np
from tests.discovery.test_linear_causal_disentanglement import random_model, sample_contexts, true_graph
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.discovery import linear_causal_disentanglement_by_environment


def _write(path, contexts, labels):
    p = contexts[0].shape[1]
    lines = [",".join([*(f"x{j}" for j in range(p)), "env"])]
    for rows, label in zip(contexts, labels):
        lines += [",".join([*(repr(float(v)) for v in row), str(label)]) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def test_lcd_from_a_csv_names_latents_by_environment_and_matches_the_library(tmp_path):
    model = random_model(3, 3, 4)
    contexts = sample_contexts(model, 5000, 0)
    labels = ["observational", "siteA", "siteB", "siteC"]
    _write(tmp_path / "data.csv", contexts, labels)
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "lcd", "--environment",
                                      "env", "--out", str(out), "--png", str(tmp_path / "graph.png")])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert graph["nodes"] == ["siteA", "siteB", "siteC"]
    np.testing.assert_array_equal(graph["adjacency"], true_graph(model))
    table = np.concatenate(contexts)
    environments = np.repeat(labels, [len(c) for c in contexts])
    fit = linear_causal_disentanglement_by_environment(table, environments)
    np.testing.assert_allclose(graph["info"]["unmixing"], fit.unmixing, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(graph["info"]["mean"], fit.mean, rtol=1e-6, atol=1e-9)
    assert graph["info"]["observed"] == ["x0", "x1", "x2", "x3"]
    assert graph["info"]["order"] == [fit.nodes[i] for i in fit.order]
    assert (tmp_path / "graph.png").stat().st_size > 0


def test_lcd_with_numeric_environments_and_the_observational_label_as_a_param(tmp_path):
    model = random_model(8, 3, 3)
    contexts = sample_contexts(model, 4000, 1)
    _write(tmp_path / "data.csv", contexts, [3, 0, 1, 2])  # environment 3 is the observational one
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "lcd", "--environment",
                                      "env", "--param", "observational=3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert graph["nodes"] == ["0", "1", "2"]
    np.testing.assert_array_equal(graph["adjacency"], true_graph(model))


def test_lcd_errors_name_the_missing_observational_label_and_the_ignored_test(tmp_path):
    model = random_model(3, 3, 4)
    _write(tmp_path / "data.csv", sample_contexts(model, 500, 0), ["obs", "a", "b", "c"])
    base = ["discover", str(tmp_path / "data.csv"), "--method", "lcd", "--out", str(tmp_path / "g.json")]
    result = CliRunner().invoke(app, [*base, "--environment", "env"])
    assert result.exit_code == 2 and "'observational'" in result.output and "['a', 'b', 'c', 'obs']" in result.output
    result = CliRunner().invoke(app, [*base, "--environment", "env", "--ci", "kci"])
    assert result.exit_code == 2 and "--ci would be ignored" in result.output
    result = CliRunner().invoke(app, base)
    assert result.exit_code == 2 and "needs --environment" in result.output
    assert not (tmp_path / "g.json").exists()
