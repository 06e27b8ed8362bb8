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
