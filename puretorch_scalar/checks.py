"""Argument checks, one way for the whole package, so that every bad argument reads the same:

    Linear: in_features must be a positive int, got 0
    SGD: lr must be a real number >= 0, got -1
    make_moons: n_samples must be a positive int, got 2.5 (float)

Each check takes the value, the argument's `name` and `where` (the function or class called),
and returns the value as a plain Python int, float or bool (so a numpy scalar is stored as one),
or raises. A value of the wrong type raises `ArgumentTypeError` (the type is shown after the
value); a value of the right type outside its range raises `ValueError`. `bool` is not accepted
as a number: `Linear(True, 2)` is almost certainly a mistake. numpy's scalars count as what they
are: `np.int64(2)` is an int, `np.float32(0.1)` a real number, `np.True_` a bool.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Collection, Iterable, Mapping
from typing import TypeVar

__all__ = [
    "ArgumentTypeError",
    "positive_int",
    "non_negative_int",
    "real",
    "one_of",
    "boolean",
    "is_bool",
    "mapping",
    "sequence",
]

T = TypeVar("T")


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type. A `TypeError`, as Python's own; also a `ValueError`,
    because the layers, `fit` and the models raised `ValueError` for every bad argument before
    the checks were unified here, and code catching that should keep working."""


_SHORT = reprlib.Repr()  # a whole list of weights passed by mistake: its start says enough
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxdict = 2, 3, 3, 3
_SHORT.maxstring = _SHORT.maxother = 40


def _message(where: str, name: str, expected: str, value: object, show_type: bool = False) -> str:
    shown = repr(value)
    if len(shown) > 80:
        shown = _SHORT.repr(value)
    got = f"{shown} ({type(value).__name__})" if show_type else shown
    return f"{where}: {name} must be {expected}, got {got}"


def is_bool(value: object) -> bool:
    """True for Python's bool and numpy's (`np.True_`, `np.False_`), which is not a subclass of it."""
    return isinstance(value, bool) or type(value).__name__ in ("bool", "bool_")  # numpy 2 / numpy 1


def _int(value: object, name: str, where: str, minimum: int, expected: str) -> int:
    if is_bool(value) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(_message(where, name, expected, value, show_type=True))
    if value < minimum:
        raise ValueError(_message(where, name, expected, value))
    return int(value)


def positive_int(value: object, name: str, where: str) -> int:
    """`value` as an int >= 1: a size or a count of something that must exist."""
    return _int(value, name, where, 1, "a positive int")


def non_negative_int(value: object, name: str, where: str) -> int:
    """`value` as an int >= 0: a count that may be zero (e.g. epochs)."""
    return _int(value, name, where, 0, "an int >= 0")


def _interval(low: float | None, high: float | None, include_low: bool, include_high: bool) -> str:
    """The range in words: " >= 0", " > 0", " < 1", " in [0, 1)", or "" for no bounds."""
    if low is not None and high is not None:
        return f" in {'[' if include_low else '('}{low}, {high}{']' if include_high else ')'}"
    if low is not None:
        return f" {'>=' if include_low else '>'} {low}"
    if high is not None:
        return f" {'<=' if include_high else '<'} {high}"
    return ""


def real(
    value: object,
    name: str,
    where: str,
    low: float | None = None,
    high: float | None = None,
    include_low: bool = True,
    include_high: bool = True,
) -> float:
    """`value` as a float: a real number (an int or a float, never NaN or ±inf, which are not
    real numbers) between `low` and `high`, each bound included unless told otherwise."""
    expected = "a real number" + _interval(low, high, include_low, include_high)
    if is_bool(value) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(_message(where, name, expected, value, show_type=True))
    x = float(value)
    above_low = low is None or x > low or (include_low and x == low)
    below_high = high is None or x < high or (include_high and x == high)
    if not (math.isfinite(x) and above_low and below_high):
        raise ValueError(_message(where, name, expected, value))
    return x


def one_of(value: T, choices: Collection[T], name: str, where: str) -> T:
    """`value` itself if it equals one of `choices` (e.g. a reduction or an activation name)."""
    choices = tuple(choices)  # compared by ==, so an unhashable value is reported, not a crash
    if value not in choices:
        raise ValueError(_message(where, name, f"one of {choices}", value))
    return value


def boolean(value: object, name: str, where: str) -> bool:
    """`value` as a bool if it is True or False, numpy's included (not 0, 1, None or "no": a flag
    given anything else is a slip)."""
    if not is_bool(value):
        raise ArgumentTypeError(_message(where, name, "True or False", value, show_type=True))
    return bool(value)


def mapping(value: object, name: str, where: str, expected: str = "a dict") -> Mapping:
    """`value` itself if it is a dict (or another Mapping); `expected` describes what it maps."""
    if not isinstance(value, Mapping):
        raise ArgumentTypeError(_message(where, name, expected, value, show_type=True))
    return value


def sequence(value: object, name: str, where: str, expected: str = "a list") -> list:
    """`value` as a list if it is a list, a tuple or another iterable of items (not a str, whose
    items are characters, nor a dict, whose items are its keys); `expected` describes the items."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ArgumentTypeError(_message(where, name, expected, value, show_type=True))
    return list(value)
