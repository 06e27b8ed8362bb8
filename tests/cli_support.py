"""Shared helpers of the command-line tests: run the real ``latentscm`` app in process, check a refusal."""

from typer.testing import CliRunner

from latentscm.cli import app

runner = CliRunner()


def invoke(args):
    """Run ``latentscm ARGS`` (each argument as text) and return typer's result."""
    return runner.invoke(app, [str(a) for a in args])


def refused(result, *parts):
    """A usage refusal: exit code 2, one ``Error:`` line with every text of ``parts``, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Error:" in result.output and "Traceback" not in result.output, result.output
    for part in parts:
        assert part in result.output, result.output
