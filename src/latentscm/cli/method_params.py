"""``--param KEY=VALUE``: a discovery method's own keyword parameters from the command line.

Each value is read as JSON when it parses (``3``, ``0.01``, ``true``, ``[10, 5]``, ``null``), else as text
(``measure=kernel``). Keys are checked against the method function's signature before it runs, so a misspelt or
unknown parameter is an error naming it and listing the method's parameters; parameters the command sets from its
own flags (``data``, ``node_names``, ``ci_test``, ``alpha``, ...) are refused with the flag to use instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["check_method_params", "parse_params"]


def parse_params(items: Sequence[str] | None) -> dict[str, Any]:
    """``["lambda1=0.05", "hidden=[8]"]`` -> ``{"lambda1": 0.05, "hidden": [8]}``; ValueError naming a bad item."""
    params: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ValueError(f"--param {item!r} must be KEY=VALUE with KEY a parameter name (e.g. --param "
                             f"lambda1=0.05).")
        if key in params:
            raise ValueError(f"--param {key} is given twice.")
        try:
            params[key] = json.loads(text)
        except ValueError:
            params[key] = text.strip()  # "loss= l2" means "l2"
    return params


def check_method_params(function: Callable[..., Any], params: Mapping[str, Any], method: str,
                        reserved: Mapping[str, str]) -> dict[str, Any]:
    """``params`` if every key is a keyword parameter of ``function`` and none is in ``reserved`` (parameter name ->
    the flag that sets it); ValueError otherwise (see :func:`latentscm.discovery.method_options`)."""
    from latentscm.discovery.method_options import check_method_options

    try:
        return check_method_options(function, params, method, reserved, label="--param")
    except ValueError as error:
        raise ValueError(str(error).replace(f"Method {method!r}", f"--method {method}")) from None
