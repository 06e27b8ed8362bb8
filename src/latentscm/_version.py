"""The package version, read once from the installed package metadata (``pyproject.toml`` is
the only place it is written)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("latentscm")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
