"""The one configuration contract: an object's parameters are its constructor's arguments.

scikit-learn's rule: every argument of ``__init__`` is stored unchanged as an attribute of the
same name, so ``get_params()`` can read the configuration back from the signature and
``type(obj)(**obj.get_params())`` rebuilds an equivalent object. Run configs, store keys and
``repr`` all use it, so a parameter that is not recorded cannot silently be left out of a key.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

__all__ = ["accepted_parameters", "constructor_parameters", "params_from_signature", "params_repr"]


def constructor_parameters(cls: type) -> list[str]:
    """Names of the keyword-capable arguments of ``cls.__init__`` (without ``self``, ``*args``, ``**kwargs``)."""
    if cls.__init__ is object.__init__:
        return []
    names = []
    for parameter in inspect.signature(cls.__init__).parameters.values():
        if parameter.name == "self" or parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        names.append(parameter.name)
    return names


def accepted_parameters(cls: type) -> list[str] | None:
    """The keyword arguments ``cls(...)`` accepts (:func:`constructor_parameters`), or ``None`` when its
    ``__init__`` takes ``**kwargs`` (any name) or has no signature to read; for naming a misspelt option
    before a class is built with it (``--set``, a study spec)."""
    if cls.__init__ is object.__init__:
        return []
    try:
        parameters = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
        return None
    return constructor_parameters(cls)


def params_from_signature(obj: Any, *, recorded: Mapping[str, Any] | None = None, what: str | None = None) -> dict:
    """The constructor arguments of ``obj``: ``recorded[name]`` where given, else ``obj.name``.

    Parameters
    ----------
    obj : object
        The configured object.
    recorded : mapping, optional
        Values recorded by the object itself (they take precedence over attributes).
    what : str, optional
        How to name the object in the error message.

    Returns
    -------
    dict
        ``{name: value}`` in signature order.

    Raises
    ------
    TypeError
        A constructor argument is neither recorded nor stored as an attribute of the same name
        (the configuration could not be reproduced, so nothing may be keyed or saved on it).
    """
    recorded = dict(recorded or {})
    state = vars(obj) if hasattr(obj, "__dict__") else {}
    params: dict[str, Any] = {}
    for name in constructor_parameters(type(obj)):
        if name in recorded:
            params[name] = recorded[name]
        elif name in state:
            params[name] = state[name]
        else:
            label = what or type(obj).__name__
            raise TypeError(f"{label} does not expose its constructor argument {name!r}: store it unchanged as "
                            f"self.{name} in __init__ (scikit-learn's rule), so that its configuration can be "
                            f"recorded and content-addressed.")
    return params


def params_repr(obj: Any, params: Mapping[str, Any]) -> str:
    """``Name(a=1, b='x')`` listing the parameters that differ from the constructor defaults."""
    defaults = {}
    if type(obj).__init__ is not object.__init__:
        defaults = {p.name: p.default for p in inspect.signature(type(obj).__init__).parameters.values()}
    shown = []
    for key, value in params.items():
        default = defaults.get(key, inspect.Parameter.empty)
        if isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
            default, value_compared = tuple(default), tuple(value)  # (4, 8) given as [4, 8] is the default
        else:
            value_compared = value
        try:
            same = default is not inspect.Parameter.empty and bool(default == value_compared)
        except (TypeError, ValueError):  # arrays and other values without a plain ==
            same = False
        if not same:
            shown.append(f"{key}={value!r}")
    return f"{type(obj).__name__}({', '.join(shown)})"
