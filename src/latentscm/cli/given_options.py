"""Which options the user typed, as opposed to their defaults (to refuse options a mode would ignore)."""

from __future__ import annotations

import typer

__all__ = ["given_on_command_line"]


def given_on_command_line(ctx: typer.Context, name: str) -> bool:
    """Whether the parameter ``name`` of the running command was typed on the command line (not its default)."""
    return getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
