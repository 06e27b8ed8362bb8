"""``latentscm effect --heterogeneity``: the same numbers as conditional_effects, the plot and JSON written
atomically, and refusals of options that do not apply."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from latentscm.effects import conditional_effects, true_conditional_effects
from latentscm.testing.cate_scms import CATE_GRAPH, linear_cate_scm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke, refused  # noqa: E402

NAMES = ["X1", "X2", "X3", "T", "Y"]


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    truth = true_conditional_effects(linear_cate_scm(), "T", "Y", n=800, draws=2, seed=3)
    path = tmp_path_factory.mktemp("cate") / "d.csv"
    rows = np.column_stack([truth.data[v] for v in NAMES])
    path.write_text(",".join(NAMES) + "\n" + "\n".join(",".join(repr(float(x)) for x in row) for row in rows) + "\n")
    return path, {v: truth.data[v] for v in NAMES}


def _base(path):
    return ["effect", path, "--graph", CATE_GRAPH, "--treatment", "T", "--outcome", "Y", "--heterogeneity"]


def test_cli_gives_the_library_numbers_and_writes_json_and_png(csv, tmp_path):
    path, data = csv
    out, png = tmp_path / "h.json", tmp_path / "h.png"
    result = invoke(_base(path) + ["--modifiers", "X1,X2", "--method", "dr", "--groups", "4", "--seed", "2",
                                   "--level", "0.9", "--splits", "6", "--out", out, "--plot", png])
    assert result.exit_code == 0, result.output
    expected = conditional_effects(data, CATE_GRAPH, "T", "Y", modifiers=["X1", "X2"], method="dr", n_groups=4,
                                   seed=2, level=0.9, n_splits=6)
    payload = json.loads(out.read_text())
    np.testing.assert_allclose(payload["effects"], expected.effects, rtol=1e-12)
    assert payload["method"] == "dr" and payload["modifiers"] == ["X1", "X2"] and len(payload["groups"]) == 4
    assert payload["info"]["n_splits"] == 6
    assert payload["groups_difference"]["estimate"] == pytest.approx(expected.groups_difference.estimate, rel=1e-12)
    assert payload["projection"]["X1"]["estimate"] == pytest.approx(expected.projection["X1"].estimate, rel=1e-12)
    rate = expected.rate(seed=2)
    assert payload["rate_autoc"]["estimate"] == pytest.approx(rate.estimate, rel=1e-12)
    assert f"AUTOC {rate.estimate:.4g}" in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "dr-learner" in result.output and f"-> {png}" in result.output and f"-> {out}" in result.output


def test_cli_default_is_the_dr_learner_on_the_adjustment_set(csv):
    path, data = csv
    result = invoke(_base(path))
    assert result.exit_code == 0, result.output
    expected = conditional_effects(data, CATE_GRAPH, "T", "Y")
    assert "dr-learner" in result.output and "given X1, X2, X3" in result.output
    assert f"ATE {expected.ate.estimate:.4g}" in result.output


def test_cli_refuses_what_does_not_apply(csv, tmp_path):
    path, _ = csv
    png, out = tmp_path / "bad.png", tmp_path / "bad.json"
    refused(invoke(_base(path) + ["--method", "aipw"]), "--method 'aipw' does not apply")
    refused(invoke(_base(path) + ["--mediation", "--mediators", "X1"]), "--heterogeneity cannot be combined",
            "--mediation")
    refused(invoke(_base(path) + ["--contrast", "0,1"]), "--contrast")
    refused(invoke(_base(path) + ["--refute"]), "--refute")
    refused(invoke(_base(path) + ["--modifiers", "Q", "--plot", png, "--out", out]), "'Q', which is not a column")
    refused(invoke(_base(path) + ["--plot", tmp_path / "g.jpg"]), ".png")
    assert not png.exists() and not out.exists()
    plain = ["effect", path, "--graph", CATE_GRAPH, "--treatment", "T", "--outcome", "Y"]
    refused(invoke(plain + ["--modifiers", "X1"]), "--modifiers needs --heterogeneity")
    refused(invoke(plain + ["--groups", "3", "--effect-learner", "forest"]),
            "--effect-learner, --groups need --heterogeneity")
    refused(invoke(plain + ["--splits", "3"]), "--splits needs --heterogeneity")
    refused(invoke(_base(path) + ["--splits", "0"]), "'n_splits'")
    refused(invoke(["effect", "--world", "flow", "--treatment", "ball_size", "--outcome", "flow",
                    "--heterogeneity"]), "two-valued treatment")
    refused(invoke(_base(path) + ["--identify"]), "--heterogeneity")
