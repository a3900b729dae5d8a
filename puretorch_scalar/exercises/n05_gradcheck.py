"""Notebook 05, gradient checking: central differences, a rule of your own, bugs planted and found."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings

from puretorch_scalar import ops
from puretorch_scalar.engine import Value
from puretorch_scalar.exercises.bug_hunt import BUGS, bug_hunt, planted
from puretorch_scalar.exercises.core import Report, exercise
from puretorch_scalar.testing import assert_grads_close, expressions


@exercise(
    "central_difference",
    "05",
    "(estimate, its error) of d(x³)/dx at x = 1 by central differences with eps = 0.1",
    answer=(3.01, 0.01),
    notes="((1.1)³ − (0.9)³) / 0.2 = 3.01; the true slope is 3: the error is eps² = 0.01, as promised:",
)
def _central_difference(answer: Any, r: Report) -> None:
    if not r.sized(answer, 2, "estimate, error"):
        return
    eps = 0.1
    estimate = ((1 + eps) ** 3 - (1 - eps) ** 3) / (2 * eps)
    r.equal("the estimate", answer[0], estimate, "(f(x + eps) − f(x − eps)) / (2·eps)")
    r.equal("its error, estimate − 3", answer[1], estimate - 3.0, "for x³ the error is exactly eps²")


def softplus_derivative(x: Any, out: Any) -> Any:
    """∂ log(1 + eˣ)/∂x = eˣ/(1 + eˣ) = σ(x), written with pts.ops so that it also runs on Values."""
    return ops.sigmoid(x)


@exercise(
    "softplus_derivative",
    "05",
    "derivative(x, out) of softplus(x) = log(1 + eˣ), in the registry's style (floats and Values)",
    answer=softplus_derivative,
)
def _softplus_derivative(derivative: Callable, r: Report) -> None:
    def softplus(x: float) -> float:
        return math.log1p(math.exp(x))

    for x in (-3.0, 0.0, 2.0):
        eps = 1e-6
        slope = (softplus(x + eps) - softplus(x - eps)) / (2 * eps)
        r.equal(
            f"derivative({x:g}, softplus({x:g}))",
            derivative(x, softplus(x)),
            slope,
            "compare with central differences; softplus'(x) = eˣ/(1 + eˣ)",
            rel_tol=1e-5,
        )
    on_values = derivative(Value(0.5), Value(softplus(0.5)))
    r.that(
        "on Values it returns a Value, so that gradients of gradients work (create_graph=True)",
        isinstance(on_values, Value),
        "math.exp and float() turn a Value into a number and cut the graph: use pts.ops.exp, pts.ops.sigmoid",
    )


def _property_test() -> Callable[[], None]:
    """The property test the notebook writes: every random expression against central differences."""

    @settings(max_examples=200, derandomize=True, database=None, deadline=None)
    @given(expressions())
    def test_any_expression(expr: Any) -> None:
        assert_grads_close(expr, expr.leaves())

    return test_any_expression


@exercise(
    "plant_a_bug",
    "05",
    "(op, wrong_rule): plant a derivative bug of your own that a property test over expressions() finds",
    answer=("tanh", lambda x, out: 1.0 - out),
    notes="Any rule that differs from the right one away from kinks is found, e.g. tanh without the square:\n"
    '    ("tanh", lambda x, out: 1.0 - out)',
)
def _plant_a_bug(answer: Any, r: Report) -> None:
    if not r.sized(answer, 2, "op, wrong_rule"):
        return
    op, rule = answer
    test = _property_test()
    try:
        with planted(op, rule):
            test()
    except AssertionError as error:
        shrunk = error.__notes__[0].splitlines()[1].strip() if getattr(error, "__notes__", None) else ""
        r.passed(f"the property test over expressions() finds your bug in {op!r}: {shrunk}")
    else:
        r.fail(
            "a property test over expressions(): expected a failing example, got 200 passing ones",
            "your rule agrees with central differences wherever the test looks: is it wrong anywhere but "
            "at a kink (which the strategies avoid)?",
        )


@exercise(
    "property_test",
    "05",
    "test(): a hypothesis property test that passes on the engine and fails inside every bug_hunt(k)",
    answer=_property_test(),
    shows=_property_test,
)
def _property_test_check(test: Callable, r: Report) -> None:
    test()
    r.passed("it passes on the engine as it is")
    missed = []
    for k in range(1, len(BUGS) + 1):
        with bug_hunt(k):
            try:
                test()
            except Exception:  # any failure of the test counts as finding the bug
                continue
        missed.append(k)
    r.equal(
        "the planted bugs it misses",
        missed,
        [],
        "draw from every op: expressions() with no ops= argument, and enough examples (200)",
    )
