"""Interventions on named variables: hard ``Do`` and soft ``Shift`` / ``Scale``.

An intervention is a small value object with ``apply(values) -> values`` that works on whole
batches at once (``values`` shape (N,); a per-sample array of targets (N,) broadcasts). Hard
interventions cut the variable from its parents (graph surgery); soft ones keep the mechanism
and transform its output.

The CLI form is parsed by :func:`parse_interventions`::

    "light=0.3, angle+=0.1, scale*=2"   ->  {"light": Do(0.3), "angle": Shift(0.1), "scale": Scale(2)}
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from latentscm._validation import check_number
from latentscm.exceptions import LatentSCMError

__all__ = [
    "Intervention",
    "Do",
    "Shift",
    "Scale",
    "InterventionParseError",
    "parse_interventions",
    "as_interventions",
    "format_interventions",
    "hard_values",
]


def _as_value(value: Any, what: str) -> float | np.ndarray:
    if isinstance(value, bool):
        raise TypeError(f"The {what} of an intervention must be a number or array. Got {value!r}.")
    if value is None:
        raise TypeError(f"The {what} of an intervention must be a number or array. Got None.")
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            value = float(value)
        except OverflowError:  # an int beyond any float
            raise ValueError(f"The {what} of an intervention must be finite. Got {value!r}.") from None
        if not math.isfinite(value):
            raise ValueError(f"The {what} of an intervention must be finite. Got {value!r}.")
        return value
    try:
        array = np.array(value, dtype=np.float64)  # a copy: the caller may go on editing its array
    except OverflowError:  # an int beyond any float
        raise ValueError(f"The {what} of an intervention must be finite. Got {value!r}.") from None
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"The {what} of an intervention must be a number or array. Got {value!r}."
        ) from error
    if array.ndim > 1:
        raise ValueError(f"The {what} of an intervention must be a scalar or a 1-D array (N,). "
                         f"Got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"The {what} of an intervention must be finite; it contains NaN or inf.")
    if array.ndim == 0:
        return float(array)
    array.setflags(write=False)  # interventions are immutable
    return array


def _short(value: float) -> str:
    """The shortest text that reads back as exactly ``value`` (``2`` for 2.0, ``0.123456789``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _broadcast(value: float | np.ndarray, values: np.ndarray) -> np.ndarray:
    if isinstance(value, np.ndarray) and value.shape[0] != values.shape[0]:
        raise ValueError(
            f"A per-sample intervention has {value.shape[0]} values but the batch has "
            f"{values.shape[0]} samples."
        )
    return np.broadcast_to(value, values.shape)


class Intervention:
    """Base class. ``hard`` interventions remove the edges into the variable."""

    hard: bool = False

    def apply(self, values: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return self.apply(np.asarray(values, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class Do(Intervention):
    """Hard intervention ``do(z = value)``; ``value`` a scalar or per-sample array (N,)."""

    value: Union[float, np.ndarray]  # noqa: UP007 - dataclass field annotations are evaluated
    hard = True

    def __post_init__(self):
        object.__setattr__(self, "value", _as_value(self.value, "value"))

    def apply(self, values: np.ndarray) -> np.ndarray:
        return np.array(_broadcast(self.value, values), dtype=np.float64)

    def __repr__(self) -> str:
        return f"Do({self.value!r})"


@dataclass(frozen=True, eq=False)
class Shift(Intervention):
    """Soft intervention ``z := f(parents, noise) + delta``."""

    delta: Union[float, np.ndarray]  # noqa: UP007

    def __post_init__(self):
        object.__setattr__(self, "delta", _as_value(self.delta, "delta"))

    def apply(self, values: np.ndarray) -> np.ndarray:
        return values + _broadcast(self.delta, values)

    def __repr__(self) -> str:
        return f"Shift({self.delta!r})"


@dataclass(frozen=True, eq=False)
class Scale(Intervention):
    """Soft intervention ``z := f(parents, noise) * factor``."""

    factor: Union[float, np.ndarray]  # noqa: UP007

    def __post_init__(self):
        object.__setattr__(self, "factor", _as_value(self.factor, "factor"))

    def apply(self, values: np.ndarray) -> np.ndarray:
        return values * _broadcast(self.factor, values)

    def __repr__(self) -> str:
        return f"Scale({self.factor!r})"


InterventionLike = Union[Intervention, float, int, np.ndarray]  # noqa: UP007


def as_interventions(
    interventions: Mapping[str, InterventionLike] | str | None,
    valid_names: Iterable[str] | None = None,
) -> dict[str, Intervention]:
    """Normalise a mapping (plain numbers become :class:`Do`) or a CLI string.

    ``valid_names``, when given, is checked: an unknown name raises a ``ValueError`` that lists
    the valid ones.
    """
    if interventions is None:
        return {}
    if isinstance(interventions, str):
        result = parse_interventions(interventions)
    elif isinstance(interventions, Mapping):
        result = {}
        for name, value in interventions.items():
            if not isinstance(name, str):
                raise TypeError(f"Intervention targets must be names (str). Got {name!r}.")
            try:
                result[name] = value if isinstance(value, Intervention) else Do(value)
            except (TypeError, ValueError) as error:  # say which target the value was for
                raise type(error)(f"Intervention on {name!r}: {error}") from None
    else:
        raise TypeError("Interventions must be a mapping {name: value} or a string like "
                        f"'light=0.3'. Got {type(interventions).__name__}.")
    if valid_names is not None:
        valid = [valid_names] if isinstance(valid_names, str) else list(valid_names)  # one name, not its letters
        for name in result:
            if name not in valid:
                raise ValueError(f"Unknown intervention target {name!r}. Valid names: "
                                 f"{', '.join(valid)}")
    return result


class InterventionParseError(LatentSCMError, ValueError):
    """Raised by :func:`parse_interventions`; the message points at the bad token."""

    def __init__(self, text: str, start: int, end: int, reason: str):
        self.text, self.start, self.end = text, start, end
        caret = " " * start + "^" * max(1, end - start)
        super().__init__(f"{reason}\n  {text}\n  {caret}")


_TOKEN = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(\+=|-=|\*=|=)\s*(\S.*?)\s*$")
# float() alone also reads '0_3' as 3 and digits of other scripts: a typo must not become a value
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_interventions(text: str) -> dict[str, Intervention]:
    """Parse ``"light=0.3, angle+=0.1, scale*=2, x-=1"`` into interventions.

    ``=`` is :class:`Do`, ``+=``/``-=`` are :class:`Shift`, ``*=`` is :class:`Scale`. Tokens are
    separated by commas or semicolons. Errors raise :class:`InterventionParseError` pointing at
    the offending token.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_interventions expects a string. Got {type(text).__name__}.")
    result: dict[str, Intervention] = {}
    position = 0
    for token in re.split(r"([,;])", text):
        if token in {",", ";"}:
            position += 1
            continue
        start, end = position, position + len(token)
        position = end
        if not token.strip():
            if text.strip():
                raise InterventionParseError(text, start, end, "Empty intervention token.")
            continue
        match = _TOKEN.match(token)
        if match is None:
            raise InterventionParseError(
                text, start, end,
                f"Cannot parse intervention {token.strip()!r}; expected NAME=VALUE, NAME+=DELTA, "
                "NAME-=DELTA or NAME*=FACTOR.",
            )
        name, operator, raw = match.groups()
        value_start = start + match.start(3)
        try:
            number = float(raw)
        except ValueError:
            raise InterventionParseError(
                text, value_start, value_start + len(raw),
                f"The value {raw!r} for {name!r} is not a number.",
            ) from None
        if not math.isfinite(number):
            raise InterventionParseError(text, value_start, value_start + len(raw),
                                         f"The value for {name!r} must be finite.")
        if not _NUMBER.fullmatch(raw):
            raise InterventionParseError(text, value_start, value_start + len(raw),
                                         f"The value {raw!r} for {name!r} is not a decimal number.")
        if name in result:
            raise InterventionParseError(text, start + match.start(1), start + match.end(1),
                                         f"{name!r} is intervened on twice.")
        if operator == "=":
            result[name] = Do(number)
        elif operator == "+=":
            result[name] = Shift(number)
        elif operator == "-=":
            result[name] = Shift(-number)
        else:
            result[name] = Scale(number)
    return result


def format_interventions(interventions: Mapping[str, Intervention]) -> str:
    """Inverse of :func:`parse_interventions` for scalar interventions (for labels and logs)."""
    parts = []
    for name, item in interventions.items():
        if isinstance(item, Do):
            parts.append(f"{name}={_short(item.value)}" if isinstance(item.value, float) else f"{name}=[…]")
        elif isinstance(item, Shift):
            parts.append(f"{name}+={_short(item.delta)}" if isinstance(item.delta, float)
                         else f"{name}+=[…]")
        elif isinstance(item, Scale):
            parts.append(f"{name}*={_short(item.factor)}" if isinstance(item.factor, float)
                         else f"{name}*=[…]")
        else:
            parts.append(f"{name}:{item!r}")
    return ", ".join(parts)


def hard_values(interventions: Any, names: Sequence[str], owner: str) -> dict[int, float]:
    """Hard interventions ``{name: value}`` on the variables ``names`` as ``{index: value}`` (a fitted latent model's
    ``do``); ValueError naming ``owner`` for an empty or non-mapping argument, a name not among ``names``, or a
    value that is not a finite number."""
    if not isinstance(interventions, Mapping) or not interventions:
        raise ValueError(f"The 'interventions' argument of {owner} must be a non-empty mapping from latent name "
                         f"to value. Got {interventions!r}.")
    fixed: dict[int, float] = {}
    for name, value in interventions.items():
        if name not in names:
            raise ValueError(f"The 'interventions' argument of {owner} names {name!r}, which is not a latent; "
                             f"the latents are {list(names)}.")
        fixed[list(names).index(name)] = float(check_number(value, f"interventions[{name!r}]", owner))
    return fixed
