"""The machinery of the exercises: one record per exercise, and the report a checker fills in.

A checker is a function `checker(answer, report)` that tries the learner's answer (a number, a
tuple, a function, a class) and states each finding on the report: `report.equal(what, got,
expected, hint)` prints `✓ what = expected` or `✗ what: expected …, got …` followed by the hint.
`check(name, answer)` runs it and prints the report; an exception raised by the answer (such as
the `NotImplementedError("your turn")` of an exercise cell not written yet) becomes a failed line
instead of a traceback, so that a notebook runs top to bottom either way.
"""

from __future__ import annotations

import builtins
import inspect
import math
import numbers
import random
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from puretorch_scalar.engine import Value
from puretorch_scalar.tensor import Tensor


class Report:
    """What a checker found: one line per check, ✓ or ✗, and how many failed."""

    def __init__(self) -> None:
        self.lines: builtins.list[str] = []
        self.failed = 0

    def passed(self, what: str) -> None:
        self.lines.append(f"  ✓ {what}")

    def fail(self, what: str, hint: str = "") -> None:
        self.failed += 1
        self.lines.append(f"  ✗ {what}" + (f"\n      {hint}" if hint else ""))

    def that(self, what: str, condition: bool, hint: str = "") -> bool:
        """A check with no number to show: ✓ what, or ✗ what, with the hint."""
        if condition:
            self.passed(what)
        else:
            self.fail(f"expected: {what}", hint)
        return bool(condition)

    def sized(self, answer: Any, n: int, what: str) -> bool:
        """Whether `answer` is a tuple or list of n entries (`what` names them)."""
        length = len(answer) if isinstance(answer, tuple | builtins.list) else None
        return self.equal(f"how many entries the answer has ({what})", length, n)

    def equal(
        self, what: str, got: Any, expected: Any, hint: str = "", rel_tol: float = 1e-6, abs_tol: float = 1e-9
    ) -> bool:
        """✓ what: expected, or ✗ what: expected …, got … (numbers compared within rel_tol/abs_tol;
        Values, Tensors and nested lists compared element by element)."""
        if close(got, expected, rel_tol, abs_tol):
            self.passed(f"{what}: {show(expected)}")
            return True
        self.fail(f"{what}: expected {show(expected)}, got {show(got)}", hint)
        return False


def plain(x: Any) -> Any:
    """Values and Tensors as numbers and nested lists, tuples as lists; anything else as is."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, Tensor):
        return x.tolist()
    if isinstance(x, tuple | builtins.list):
        return [plain(item) for item in x]
    return x


def close(got: Any, expected: Any, rel_tol: float = 1e-6, abs_tol: float = 1e-9) -> bool:
    """Whether `got` equals `expected`: numbers within the tolerances, sequences element by element."""
    got, expected = plain(got), plain(expected)
    if isinstance(expected, builtins.list):
        return (
            isinstance(got, builtins.list)
            and len(got) == len(expected)
            and all(close(g, e, rel_tol, abs_tol) for g, e in zip(got, expected))
        )
    if isinstance(expected, numbers.Real) and not isinstance(expected, bool):
        if not isinstance(got, numbers.Real) or isinstance(got, bool):
            return False
        if math.isinf(expected):
            return got == expected
        return math.isclose(got, expected, rel_tol=rel_tol, abs_tol=abs_tol)
    return got == expected


def show(x: Any) -> str:
    """A number to 6 significant digits, lists element by element, anything else by repr."""
    x = plain(x)
    if isinstance(x, builtins.list):
        return "[" + ", ".join(map(show, x)) + "]"
    if isinstance(x, float):
        return f"{x:.6g}"
    return repr(x)


@dataclass(frozen=True)
class Exercise:
    """One exercise: where it is, what it asks, how to check an answer, and a right answer.

    name:     what `check` and `solution` take
    notebook: the notebook it closes ("00", "00b", "01", …)
    task:     what to do, in one sentence (the notebook says it at length)
    checker:  checker(answer, report): tries the answer and states each finding on the report
    answer:   a right answer (the tests check that it passes)
    shows:    what `solution` prints, when not `answer` itself: a method of it, or a tuple of them
    notes:    how to get there, printed by `solution` before the answer
    """

    name: str
    notebook: str
    task: str
    checker: Callable[[Any, Report], None]
    answer: Any
    shows: Any = None
    notes: str = ""


EXERCISES: dict[str, Exercise] = {}


def exercise(
    name: str, notebook: str, task: str, answer: Any, shows: Any = None, notes: str = ""
) -> Callable[[Callable[[Any, Report], None]], Callable[[Any, Report], None]]:
    """Register the decorated function as the checker of a new exercise."""

    def register(checker: Callable[[Any, Report], None]) -> Callable[[Any, Report], None]:
        if name in EXERCISES:
            raise ValueError(f"exercise {name!r} is registered twice")
        EXERCISES[name] = Exercise(name, notebook, task, checker, answer, shows, notes)
        return checker

    return register


def get(name: object) -> Exercise:
    """The exercise called `name`; KeyError listing the names when there is none."""
    if not isinstance(name, str):
        raise TypeError(f"exercises: the name must be a str, not {type(name).__name__}: {name!r}")
    try:
        return EXERCISES[name]
    except KeyError:
        raise KeyError(f"no exercise named {name!r}; the exercises are {names()}") from None


def names(notebook: str | None = None) -> builtins.list[str]:
    """The exercises' names, notebook by notebook (only those of `notebook` when given)."""
    notebooks = {e.notebook for e in EXERCISES.values()}
    if notebook is not None and notebook not in notebooks:
        raise ValueError(f"exercises: no notebook {notebook!r}; the notebooks are {sorted(notebooks)}")
    return [e.name for e in EXERCISES.values() if notebook in (None, e.notebook)]


def check(name: str, answer: Any) -> bool:
    """Check `answer` for the exercise `name`: print what is right and what is wrong (with the
    expected values), and return True when every check passes."""
    exercise = get(name)
    report = Report()
    try:
        if answer is ...:  # the placeholder of an exercise cell: no checks, so no answer given away
            report.fail("not answered yet: replace the ... with your answer")
        else:
            exercise.checker(answer, report)
    except NotImplementedError as error:
        report.fail(f"not written yet: the answer raised NotImplementedError({str(error)!r})")
    except Exception as error:  # the learner's code failed: say how, instead of a traceback
        report.fail(f"the answer raised {type(error).__name__}: {error}")
    total = len(report.lines)
    checks = "check" if total == 1 else "checks"
    if report.failed:
        verdict = (
            f"{report.failed} of {total} {checks} failed (exercises.solution({name!r}) shows a solution)"
        )
    else:
        verdict = f"all {total} {checks} passed"
    print("\n".join([f"{name} (notebook {exercise.notebook}): {exercise.task}", *report.lines, verdict]))
    return not report.failed


def solution(name: str) -> None:
    """Print a solution of the exercise `name`: how to get there, then the code or the numbers."""
    exercise = get(name)
    shown = exercise.shows if exercise.shows is not None else exercise.answer
    parts = shown if isinstance(shown, tuple) and exercise.shows is not None else (shown,)
    body = "\n\n".join(_source_or_value(part) for part in parts)
    print("\n".join(part for part in (f"{name}: {exercise.task}", exercise.notes, body) if part))


def _source_or_value(x: Any) -> str:
    if inspect.isfunction(x) or inspect.isclass(x) or inspect.ismethod(x):
        return textwrap.dedent(inspect.getsource(x)).rstrip()
    return show(x)


def random_array(rng: random.Random, *shape: int) -> Any:
    """Nested lists of numbers drawn uniformly from [−2, 2], shaped `shape` (a float for ())."""
    if not shape:
        return round(rng.uniform(-2, 2), 3)
    return [random_array(rng, *shape[1:]) for _ in range(shape[0])]
