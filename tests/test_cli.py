import subprocess
import sys

from typer.testing import CliRunner

from latentscm import __version__
from latentscm.cli import app

runner = CliRunner()


def test_version_and_help():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
    help_result = runner.invoke(app, ["--help"])
    assert help_result.exit_code == 0 and "worlds" in help_result.output


def test_graph_command_text_and_dot():
    result = runner.invoke(app, ["graph", "a -> b; b -> c"])
    assert result.exit_code == 0 and "a -> b" in result.output
    dot = runner.invoke(app, ["graph", "a -> b", "--dot"])
    assert '"a" -> "b";' in dot.output


def test_graph_command_reports_cycle():
    result = runner.invoke(app, ["graph", "a -> b -> a"])
    assert result.exit_code == 2
    assert "cycle" in result.output and ("a -> b -> a" in result.output or "b -> a -> b" in result.output)


def test_console_script_entry_point():
    # the installed `latentscm` entry point is the same app, run as a module here
    completed = subprocess.run([sys.executable, "-c", "from latentscm.cli import main; main()", "--version"],
                               capture_output=True, text=True, check=False)
    assert completed.returncode == 0 and __version__ in completed.stdout


def test_worlds_commands(tmp_path):
    listing = runner.invoke(app, ["worlds", "list"])
    assert listing.exit_code == 0
    for name in ("sprites", "shapes3d", "pendulum", "flow", "glyphs"):
        assert name in listing.output
    assert "737,280 combinations" in listing.output
    grid = tmp_path / "grid.png"
    shown = runner.invoke(app, ["worlds", "show", "pendulum", "--out", str(grid), "--n", "4", "--set", "size=32",
                                "--set", "grid=false",
                                "--do", "light_position=1.2"])
    assert shown.exit_code == 0, shown.output
    from PIL import Image

    with Image.open(grid) as picture:  # two rows of four 32-px images, scaled by 2, with padding
        assert picture.size[1] > 2 * 64 and picture.size[0] > 4 * 64
    bad = runner.invoke(app, ["worlds", "show", "pendulum", "--out", str(grid), "--do", "lamp=1"])
    assert bad.exit_code == 2 and "lamp" in bad.output
    unknown = runner.invoke(app, ["worlds", "show", "pendulums", "--out", str(grid)])
    assert unknown.exit_code == 2 and "Valid names" in unknown.output
    generated = runner.invoke(app, ["worlds", "generate", "flow", "--n", "16", "--root", str(tmp_path / "cache"),
                                    "--set", "size=16"])
    assert generated.exit_code == 0, generated.output
    assert "16 images" in generated.output


def test_worlds_show_and_generate_name_a_bad_out_or_root(tmp_path):
    folder = tmp_path / "outdir"
    folder.mkdir()
    shown = runner.invoke(app, ["worlds", "show", "sprites", "--set", "size=16", "--n", "2", "--out", str(folder)])
    assert shown.exit_code == 2 and "Error: --out" in shown.output and "is a directory" in shown.output
    assert shown.exception is None or isinstance(shown.exception, SystemExit)
    afile = tmp_path / "afile"
    afile.write_text("")
    generated = runner.invoke(app, ["worlds", "generate", "sprites", "--set", "size=16", "--n", "4",
                                    "--root", str(afile)])
    assert generated.exit_code == 2 and "Error: --root" in generated.output and "not a directory" in generated.output
