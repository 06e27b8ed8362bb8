"""Commands check their output paths before doing any work: a directory where a file goes, a path under a
regular file or a file where a directory goes is named, with exit code 2 (no traceback)."""

import json

import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.cli.output_paths import check_output_dir, check_output_path

runner = CliRunner()


def test_output_checks_name_the_option(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="--png '.*' is a directory"):
        check_output_path(tmp_path, "--png")
    with pytest.raises(ValueError, match="--out '.*afile/x.png' cannot be written: '.*afile' is a file"):
        check_output_path(tmp_path / "afile" / "x.png", "--out")
    with pytest.raises(ValueError, match="--out '.*afile' is a file; give a directory"):
        check_output_dir(tmp_path / "afile", "--out")
    check_output_path(tmp_path / "new" / "deeper" / "x.png", "--out")  # missing folders are created later
    check_output_path(tmp_path / "x.PNG", "--out", suffixes=(".png",))
    with pytest.raises(ValueError, match="--out '.*grid.txt' must end in .png"):
        check_output_path(tmp_path / "grid.txt", "--out", suffixes=(".png",))


@pytest.mark.parametrize("command", [
    ["worlds", "show", "sprites", "--set", "size=16", "--out", "{dir}/grid.txt"],
    ["counterfactual", "{missing}", "--do", "posX=0.5", "--out", "{dir}/cf.jpg"],
    ["domain-counterfactual", "{missing}", "--world", "sprites", "--shift", "n_domains=2", "--out", "{dir}/r.html",
     "--png", "{dir}/grid"],
    ["discover", "{dir}/t.csv", "--out", "{dir}/g.json", "--png", "{dir}/g.svg"],
])
def test_png_outputs_refuse_another_file_ending(tmp_path, command):
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "t.csv").write_text("a,b\n1,2\n2,3\n3,5\n")
    result = runner.invoke(app, [part.format(missing=tmp_path / "no-run", dir=tmp_path / "adir") for part in command])
    assert result.exit_code == 2, result.output
    assert "must end in .png" in result.output
    assert sorted(path.name for path in (tmp_path / "adir").iterdir()) == ["t.csv"]
    check_output_dir(tmp_path / "new" / "run", "--out")


@pytest.mark.parametrize("command", [
    ["counterfactual", "{missing}", "--do", "posX=0.5", "--out", "{dir}"],
    ["domain-counterfactual", "{missing}", "--world", "sprites", "--shift", "n_domains=2", "--out", "{dir}"],
    ["domain-counterfactual", "{missing}", "--world", "sprites", "--shift", "n_domains=2", "--png", "{file}/g.png"],
    ["evaluate", "--encoder", "nowhere:encode", "--world", "sprites", "--out", "{file}"],
    ["quickstart", "--out", "{file}"],
    ["rca", "--steps", "100", "--out", "{file}"],
    ["probe", "{dir}", "--kind", "extreme", "--out", "{file}"],
    ["study", "run", "{missing}", "--out", "{file}"],
    ["study", "show", "{missing}", "--out", "{file}"],
    ["study", "report", "{missing}", "--out", "{dir}"],
])
def test_commands_refuse_an_unwritable_output_before_any_work(tmp_path, command):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    filled = [part.format(missing=tmp_path / "no-run", dir=tmp_path / "adir", file=tmp_path / "afile")
              for part in command]
    result = runner.invoke(app, filled)
    assert result.exit_code == 2, result.output
    assert "Error: --out" in result.output or "Error: --png" in result.output
    assert (tmp_path / "afile").read_text() == "x"


def test_quickstart_recomputes_a_damaged_metrics_file(tmp_path):
    from latentscm.quickstart import QuickstartConfig, run_quickstart

    config = QuickstartConfig(n_samples=64, steps={"beta_vae": 2, "causal_vae": 2}, n_eval=64, n_counterfactual=8,
                              regressor_steps=5, threads=1)
    run_quickstart(tmp_path, config, progress=False)
    damaged = tmp_path / "runs" / "beta_vae" / "metrics.json"
    first = json.loads(damaged.read_text())
    damaged.write_text('{"truncated": ')
    run_quickstart(tmp_path, config, progress=False)
    again = json.loads(damaged.read_text())  # evaluated again: the same numbers, other timings

    def untimed(metrics):
        return {k: v for k, v in metrics.items() if not k.startswith("time.")}

    assert untimed(again) == untimed(first) and untimed(first)
