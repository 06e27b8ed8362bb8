"""``latentscm discover --method contrastive-lcd --environment COLUMN``: contrastive causal disentanglement from a
CSV of rows grouped by environment, the same fit as the library's."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.discovery import contrastive_causal_disentanglement_by_environment
from latentscm.testing import simulate_interventional_latents


def test_contrastive_lcd_from_a_csv_matches_the_library(tmp_path):
    model = simulate_interventional_latents(3, p=6, hidden=32, layers=2, seed=0)
    x_obs, x_int, _, _ = model.sample(400, seed=1)
    contexts, labels = [x_obs, *x_int], ["observational", "siteA", "siteB", "siteC"]
    lines = [",".join([*(f"x{j}" for j in range(6)), "env"])]
    for rows, label in zip(contexts, labels):
        lines += [",".join([*(repr(float(v)) for v in row), label]) for row in rows]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "contrastive-lcd",
                                      "--environment", "env", "--param", "epochs=3", "--param", "hidden=[16]",
                                      "--out", str(out), "--png", str(tmp_path / "graph.png")])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    assert graph["nodes"] == ["siteA", "siteB", "siteC"]
    fit = contrastive_causal_disentanglement_by_environment(np.concatenate(contexts),
                                                            np.repeat(labels, [len(c) for c in contexts]),
                                                            epochs=3, hidden=[16])
    np.testing.assert_allclose(graph["info"]["weights"], fit.weights, rtol=1e-6, atol=1e-9)
    assert graph["info"]["observed"] == [f"x{j}" for j in range(6)]
    assert (tmp_path / "graph.png").stat().st_size > 0
    bad = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "contrastive-lcd",
                                   "--environment", "env", "--param", "interventional=1", "--out", str(out)])
    assert bad.exit_code != 0 and "interventional" in bad.output
