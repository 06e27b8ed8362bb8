"""The one parser of ``KEY=VALUE`` command-line options (``--set``, ``--world-set``).

Values are read as JSON where they parse (``4``, ``1e-3``, ``[16, 32]``, ``"text"``), then as the
words ``true``/``false``/``none``/``null`` in any case (so ``grid=False`` is the boolean), and
otherwise kept as the string. Every command that takes assignments uses :func:`parse_assignments`,
so one spelling means the same thing everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["parse_assignments", "parse_value", "parse_domain_shift", "parse_temporal", "refuse_domains_option",
           "accepted_keys", "refuse_unknown_keys"]

_WORDS = {"none": None, "null": None, "true": True, "false": False}


def parse_value(text: str) -> Any:
    """One assignment value: JSON, else ``true``/``false``/``none`` (any case), else the string."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return _WORDS.get(text.lower(), text)


def parse_assignments(items: Iterable[str] | None, *, option: str = "--set") -> dict[str, Any]:
    """``["beta=4", "channels=[16,32]", "grid=False"]`` -> ``{"beta": 4, "channels": [16, 32], "grid": False}``.

    Parameters
    ----------
    items : iterable of str, optional
        The ``KEY=VALUE`` strings as given on the command line.
    option : str
        The option's name, for error messages.

    Raises
    ------
    ValueError
        An item without ``=`` or without a key, a key that is not an identifier, or a key given twice.
    """
    params: dict[str, Any] = {}
    for item in items or []:
        if not isinstance(item, str):
            raise TypeError(f"{option} expects KEY=VALUE strings; got {item!r}.")
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"{option} expects KEY=VALUE; got {item!r}.")
        if not key.isidentifier():
            raise ValueError(f"{option} key {key!r} (in {item!r}) is not a parameter name.")
        if key in params:
            raise ValueError(f"{option} sets {key!r} twice ({item!r}).")
        params[key] = parse_value(text)
    return params


def parse_domain_shift(items: Iterable[str] | None, *, option: str = "--shift") -> Any:
    """``["n_domains=3", "shifted=hue,scale"]`` -> ``DomainShift(3, shifted=("hue", "scale"))``;
    ``None`` when no item is given. ``shifted`` is a comma-separated list of factor names."""
    arguments = parse_assignments(items, option=option)
    if not arguments:
        return None
    from latentscm.worlds.domains import DomainShift

    if isinstance(arguments.get("shifted"), str):
        arguments["shifted"] = tuple(part.strip() for part in arguments["shifted"].split(",") if part.strip())
    try:
        return DomainShift(**arguments)
    except TypeError as error:  # an unknown key
        raise ValueError(f"{option} takes n_domains, shifted, kind, strength and seed: {error}") from None


def parse_temporal(items: Iterable[str] | None, *, option: str = "--temporal") -> dict[str, Any] | None:
    """``["variables=posX,posY", "edges=posX->posY", "intervention_prob=0.1"]`` -> the keyword arguments of
    :class:`~latentscm.worlds.temporal.TemporalWorld` (``variables`` a comma-separated list, ``edges`` lag-1 edges
    ``parent->child`` separated by ``,`` or ``;``, turned into ``parents``); ``None`` when no item is given."""
    arguments = parse_assignments(items, option=option)
    if not arguments:
        return None
    allowed = {"variables", "edges", "pull", "noise", "intervention_prob", "targets", "others", "sequence_length",
               "noise_coupling"}
    unknown = sorted(set(arguments) - allowed)
    if unknown:
        raise ValueError(f"{option} takes {', '.join(sorted(allowed))}; got {', '.join(unknown)}.")
    if isinstance(arguments.get("variables"), str):
        arguments["variables"] = [part.strip() for part in arguments["variables"].split(",") if part.strip()]
    if "edges" in arguments:
        text = arguments.pop("edges")
        parents: dict[str, list[str]] = {}
        for edge in str(text or "").replace(";", ",").split(","):
            if not edge.strip():
                continue
            parent, arrow, child = edge.partition("->")
            if not arrow or not parent.strip() or not child.strip():
                raise ValueError(f"{option} edges: {edge.strip()!r} is not an edge PARENT->CHILD.")
            parents.setdefault(child.strip(), []).append(parent.strip())
        arguments["parents"] = parents
    return arguments


def refuse_domains_option(options: dict[str, Any], option: str = "--world-set") -> None:
    """A world's domain shift is given with ``--shift``, never as the world option ``domains``."""
    if "domains" in options:
        raise ValueError(f"{option} domains=... is not a world option here: give the domain shift with "
                         f"--shift KEY=VALUE (n_domains, shifted, kind, strength, seed).")


def accepted_keys(cls: type) -> list[str] | None:
    """The keyword arguments ``cls``'s constructor takes, sorted; ``None`` when it takes any (``**kwargs``) or has
    no signature to read."""
    from latentscm._params import accepted_parameters

    names = accepted_parameters(cls)
    return None if names is None else sorted(names)


def refuse_unknown_keys(cls: type, assigned: dict[str, Any], *, option: str, what: str) -> None:
    """A ``KEY`` that ``cls``'s constructor does not take, named with ``option`` and the keys it takes (rather than
    Python's "unexpected keyword argument"); ``what`` names the class for the user (``"learner 'beta_vae'"``).
    A constructor with ``**kwargs`` takes any key and is left to check its own."""
    valid = accepted_keys(cls)
    unknown = [] if valid is None else [key for key in assigned if key not in valid]
    if unknown:
        raise ValueError(f"{option} {unknown[0]}={assigned[unknown[0]]!r}: {what} has no option {unknown[0]!r}; "
                         f"it takes {', '.join(valid)}.")
