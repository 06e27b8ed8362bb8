"""One shared place for checking user input, so every error names the parameter, the caller
and the value received (scikit-learn style). Never ``assert`` for user input."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def check_number(value: Any, name: str, owner: str, *, low: float | None = None,
                 high: float | None = None, low_inclusive: bool = True,
                 high_inclusive: bool = True, integer: bool = False) -> float | int:
    """Validate a scalar hyperparameter; returns it as float (or int when ``integer``)."""
    kind = "an int" if integer else "a float"
    bounds = []
    if low is not None:
        bounds.append(f"{'>=' if low_inclusive else '>'} {low}")
    if high is not None:
        bounds.append(f"{'<=' if high_inclusive else '<'} {high}")
    expected = f"{kind}{' ' + ' and '.join(bounds) if bounds else ''}"
    message = f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead."
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(message)
    try:
        as_float = float(value)
    except OverflowError:  # an int too large for a float: out of any range a parameter takes
        raise ValueError(message) from None
    if integer and not as_float.is_integer():
        raise TypeError(message)
    number = int(value) if integer else as_float
    if not math.isfinite(number):
        raise ValueError(message)
    if low is not None and (number < low or (not low_inclusive and number == low)):
        raise ValueError(message)
    if high is not None and (number > high or (not high_inclusive and number == high)):
        raise ValueError(message)
    return number


def check_choice(value: Any, name: str, owner: str, choices: Iterable[str]) -> str:
    options = list(choices)
    try:
        found = value in options
    except (TypeError, ValueError):  # an array compares element by element: no truth value, not a choice
        found = False
    if not found:
        raise ValueError(f"The {name!r} parameter of {owner} must be one of "
                         f"{', '.join(map(repr, options))}. Got {value!r} instead.")
    return value


def check_sequence(value: Any, name: str, owner: str, *, what: str = "items") -> list[Any]:
    """``value`` as a list; one string (or bytes) is refused with ``TypeError``, since iterating it
    would give its characters ("xy" read as the two items 'x' and 'y'), and so is a non-iterable."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"The {name!r} argument of {owner} must be a sequence of {what}, not one string. "
                        f"Got {value!r}; pass [{value!r}] for a single one.")
    try:
        return list(value)
    except TypeError:
        raise TypeError(f"The {name!r} argument of {owner} must be a sequence of {what}. Got {value!r}.") from None


def check_names(value: Any, name: str, owner: str, *, size: int | None = None,
                what: str = "names") -> tuple[str, ...]:
    """``value`` as a tuple of unique non-empty strings (``size`` of them when given): one string,
    a non-string or empty name, a repeated name or the wrong count is refused, naming ``name``."""
    names = check_sequence(value, name, owner, what=what)
    if size is not None and len(names) != size:
        raise ValueError(f"The {name!r} argument of {owner} has {len(names)} {what} for {size} columns. "
                         f"Got {names}.")
    bad = [n for n in names if not isinstance(n, str) or not n]
    if bad:
        raise ValueError(f"The {name!r} argument of {owner} must be non-empty strings. Got {bad[0]!r} in {names}.")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"The {name!r} argument of {owner} names {repeated} more than once. Got {names}.")
    return tuple(names)


def check_array(value: Any, name: str, owner: str, *, ndim: int | None = None,
                dtype: Any = np.float64, allow_nan: bool = False,
                min_rows: int = 1) -> np.ndarray:
    """Convert to an array and check dimensionality, finiteness and row count. Complex numbers, text
    and dates are refused, also inside an object array such as a pandas column of strings (a cast
    would drop the imaginary part, read "1.5" as a number, or a date as days since 1970)."""
    kind = getattr(value, "dtype", None)
    if isinstance(kind, np.dtype):
        kind = kind.kind
    else:
        try:
            kind = np.asarray(value).dtype.kind
        except (TypeError, ValueError, RuntimeError):  # ragged input, a tensor needing grad: named below
            kind = ""
    if kind == "O":  # what the elements are: a cast parses text as numbers
        try:
            items = np.asarray(value, dtype=object).flat
        except (TypeError, ValueError):
            items = iter(())
        odd = next((item for item in items if isinstance(item, (str, bytes, complex, np.complexfloating))), None)
        if odd is not None:
            kind = "c" if isinstance(odd, (complex, np.complexfloating)) else "U"
    if kind and kind in "cUSM":
        got = {"c": "complex numbers", "M": "dates (datetime64)"}.get(kind, "text")
        raise TypeError(f"The {name!r} argument of {owner} must be real numbers. Got {got}.")
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"The {name!r} argument of {owner} must be numeric array-like. "
                        f"Got {type(value).__name__}.") from error
    except RuntimeError as error:  # torch: a tensor that requires grad has no numpy view
        raise TypeError(f"The {name!r} argument of {owner} cannot be read as an array: {error}") from None
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"The {name!r} argument of {owner} must be {ndim}-D. "
                         f"Got shape {array.shape}.")
    if array.ndim >= 1 and array.shape[0] < min_rows:
        raise ValueError(f"The {name!r} argument of {owner} needs at least {min_rows} rows. "
                         f"Got {array.shape[0]}.")
    if not allow_nan and np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"The {name!r} argument of {owner} contains NaN or infinite values "
                         f"(first at index {tuple(int(i) for i in bad)}).")
    return array


def check_image_batch(images: Any, image_shape: Sequence[int], owner: str, *, dtype: Any = np.float32) -> np.ndarray:
    """``images`` as an array (N, *image_shape) of ``dtype``; another shape is refused naming ``owner`` and the shape
    it expects (a fitted read-out's or regressor's images)."""
    images = np.asarray(images, dtype=dtype)
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(image_shape):
        raise ValueError(f"{owner} expects images of shape (N, {', '.join(map(str, image_shape))}). "
                         f"Got {images.shape}.")
    return images


def node_position(item: Any, names: Sequence[str] | None, d: int, name: str, owner: str, where: str = "") -> int:
    """The position 0..d-1 of a node given by name (one of ``names``) or by position; ValueError naming the argument
    ``name`` of ``owner`` (and ``where``, e.g. " in row 3") otherwise."""
    if isinstance(item, str):
        if names is not None and item in names:
            return list(names).index(item)
        known = f"; the nodes are {list(names)}." if names is not None else " (nodes here have positions only)."
        raise ValueError(f"The '{name}' argument of {owner} names {item!r}{where}, which is not a node{known}")
    if isinstance(item, (int, np.integer)) and not isinstance(item, bool) and 0 <= item < d:
        return int(item)
    raise ValueError(f"The '{name}' argument of {owner} has {item!r}{where}; a node is a name or a position "
                     f"0..{d - 1}.")


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from an int seed or an existing generator (``None`` is refused:
    every random function in latentscm is seeded)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise TypeError("A seed (int) or numpy Generator is required; latentscm never draws "
                        "from unseeded global randomness.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or numpy.random.Generator. Got {seed!r}.")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int (numpy seeds are). Got {seed!r}.")
    return np.random.default_rng(int(seed))
