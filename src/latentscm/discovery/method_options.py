"""Checking a discovery method's own keyword options by name before it runs (``discover_from_codes(options=)``,
``latentscm discover --param``): a misspelt option is an error listing the method's options, and an option the
caller sets itself (node names, CI test, ...) is refused naming what sets it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["check_method_options"]


def check_method_options(function: Callable[..., Any], options: Mapping[str, Any] | None, method: str,
                         reserved: Mapping[str, str], *, label: str = "option") -> dict[str, Any]:
    """``options`` as a dict if every key is a keyword parameter of ``function`` (other than ``data``) and none is in
    ``reserved`` (parameter name -> what sets it); ValueError otherwise. ``label`` names an option in messages."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"The options of method {method!r} must be a mapping of parameter names to values. Got "
                        f"{type(options).__name__}.")
    names = [name for name, p in inspect.signature(function).parameters.items()
             if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and name != "data"]
    allowed = [name for name in names if name not in reserved]
    for key in options:
        if key in reserved or key == "data":
            raise ValueError(f"{label} {key} is set by {reserved.get(key, 'the data')}, not by {label}.")
        if key not in names:
            raise ValueError(f"Method {method!r} has no parameter {key!r}; {label} takes: "
                             f"{', '.join(allowed) or 'none'}.")
    return dict(options)
