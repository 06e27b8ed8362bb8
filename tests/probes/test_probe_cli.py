"""`latentscm probe RUN --kind extreme|flows|controls` on a tiny trained sprites run, and the probe
report page."""

import json

from typer.testing import CliRunner

from latentscm.cli import app


def test_probe_extreme(run, tmp_path):
    out = tmp_path / "extreme"
    result = CliRunner().invoke(app, ["probe", str(run), "--kind", "extreme", "--out", str(out), "--n", "8",
                                      "--levels", "5", "--units", "0,2"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "extreme.json").read_text())
    assert data["units"] == [0, 2] and data["factors"] == ["scale", "posX", "posY"]
    assert len(data["effect_per_range_ci"]) == 2 and len(data["effect_per_range_ci"][0][0]) == 2
    assert (out / "extreme_values.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "probes.html").read_text()
    assert "Extreme-value effects" in page and "data:image/png;base64," in page and 'src="http' not in page
    assert not list(out.glob("*.tmp*"))


def test_probe_flows_and_controls(run, tmp_path):
    result = CliRunner().invoke(app, ["probe", str(run), "--kind", "flows", "--out", str(tmp_path), "--n", "8",
                                      "--steps", "2", "--n-flows", "2"])
    assert result.exit_code == 0, result.output
    flows = json.loads((tmp_path / "flows.json").read_text())
    assert flows["chance"] == 0.5 and len(flows["per_flow"]) == 2 and 0.0 <= flows["pair_accuracy"] <= 1.0
    assert "Potential flows" in (tmp_path / "probes.html").read_text()
    result = CliRunner().invoke(app, ["probe", str(run), "--kind", "controls,extreme", "--out", str(tmp_path),
                                      "--n", "8", "--steps", "5", "--target", "scale", "--exclude", "posX",
                                      "--levels", "5", "--units", "1", "--step-size", "0.2"])
    assert result.exit_code == 0, result.output
    controls = json.loads((tmp_path / "controls.json").read_text())
    assert controls["target"] == "scale" and set(controls["methods"]) == {"masked", "gradient", "linear"}
    assert controls["settings"]["step_size"] == 0.2
    assert set(controls["methods"]["masked"]["drift"]) == {"posX", "posY"}
    assert (tmp_path / "controls.png").exists()
    page = (tmp_path / "probes.html").read_text()  # one page, both sections
    assert "attribute controls" in page and "Extreme-value effects" in page and "Potential flows" not in page
    assert "drift posX at matched gain" in page and "drift along the edits" in page  # the matched columns and plot
    assert len(controls["methods"]["masked"]["curve"]["gain"]) == controls["methods"]["masked"]["steps"] + 1


def test_probe_errors_are_clear(run, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["probe", str(run), "--kind", "extreme", "--units", "7", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--units must hold unit indices in [0, 3)" in result.output
    for bad in ("0,a", "1.5", "0;1", "0,,2"):
        result = runner.invoke(app, ["probe", str(run), "--kind", "extreme", "--units", bad, "--out", str(tmp_path)])
        assert result.exit_code == 2 and "--units must be comma-separated latent unit indices" in result.output \
            and repr(bad) in result.output
    result = runner.invoke(app, ["probe", str(run), "--kind", "controls", "--target", "hue", "--n", "4",
                                 "--steps", "2", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "hue" in result.output
    result = runner.invoke(app, ["probe", str(run), "--kind", "traversal", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--kind must be one of extreme, flows, controls" in result.output
    result = runner.invoke(app, ["probe", str(run), "--kind", "extreme,nope", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "'extreme,nope'" in result.output
    result = runner.invoke(app, ["probe", str(tmp_path / "missing"), "--kind", "extreme"])
    assert result.exit_code == 2 and "Error" in result.output
    assert not list(tmp_path.glob("*.json"))
