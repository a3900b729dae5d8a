"""Notebook 07, higher-order derivatives: second derivatives, Hessians, Newton, H·v."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from puretorch_scalar.autograd import hessian
from puretorch_scalar.autograd import hvp as reference_hvp
from puretorch_scalar.engine import Value, grad
from puretorch_scalar.exercises.core import Report, exercise


@exercise(
    "second_derivative",
    "07",
    "f''(2) for f(x) = x³ − 2x² + x, by hand",
    answer=8.0,
    notes="f'(x) = 3x² − 4x + 1, f''(x) = 6x − 4:",
)
def _second_derivative(answer: Any, r: Report) -> None:
    x = Value(2.0)
    (df,) = grad(x**3 - 2 * x**2 + x, [x], create_graph=True)
    (d2f,) = grad(df, [x])
    r.equal("f''(2)", answer, d2f, "differentiate twice: 3x² − 4x + 1, then 6x − 4")


def _f(a: Value, b: Value) -> Value:
    return a * a * b + b**3


@exercise(
    "hessian_by_hand",
    "07",
    "the Hessian of f(a, b) = a²·b + b³ at (1, 2), as [[∂²f/∂a², ∂²f/∂a∂b], [∂²f/∂b∂a, ∂²f/∂b²]]",
    answer=[[4.0, 2.0], [2.0, 12.0]],
    notes="∂f/∂a = 2ab, ∂f/∂b = a² + 3b²; again: [[2b, 2a], [2a, 6b]] at (1, 2):",
)
def _hessian_by_hand(answer: Any, r: Report) -> None:
    r.equal(
        "the Hessian at (1, 2)",
        answer,
        hessian(_f, [1.0, 2.0]),
        "differentiate each first derivative by a and by b; the matrix is symmetric",
    )


def newton_step(f: Callable[[Value], Value], x0: float) -> float:
    """x0 − f'(x0)/f''(x0), both derivatives from the engine."""
    x = Value(x0)
    (df,) = grad(f(x), [x], create_graph=True)
    (d2f,) = grad(df, [x])
    return x0 - df.data / d2f


@exercise(
    "newton_step",
    "07",
    "newton_step(f, x0) -> x0 − f'(x0)/f''(x0), with both derivatives from grad",
    answer=newton_step,
)
def _newton_step(answer: Callable, r: Report) -> None:
    cases = [
        ("x − ln x", lambda x: x - x.log(), 0.5, lambda x: 1 - 1 / x, lambda x: 1 / x**2),
        ("x⁴ − 3x", lambda x: x**4 - 3 * x, 2.0, lambda x: 4 * x**3 - 3, lambda x: 12 * x**2),
        ("cos x", lambda x: x.cos(), 2.5, lambda x: -math.sin(x), lambda x: -math.cos(x)),
    ]
    for name, f, x0, df, d2f in cases:
        r.equal(
            f"newton_step({name}, {x0:g})",
            answer(f, x0),
            x0 - df(x0) / d2f(x0),
            "grad(f(x), [x], create_graph=True) gives f' as a Value; grad of that gives f''",
        )


def hvp(f: Callable[..., Value], point: list[float], v: list[float]) -> list[float]:
    """H·v = ∇(∇f · v): one backward with create_graph=True, then one through the dot product."""
    xs = [Value(p) for p in point]
    gradient = grad(f(*xs), xs, create_graph=True)
    return grad(Value.dot(gradient, v), xs)


@exercise(
    "hvp",
    "07",
    "hvp(f, point, v) -> H·v with two calls of grad (no hessian, no autograd.hvp)",
    answer=hvp,
)
def _hvp(answer: Callable, r: Report) -> None:
    def rosenbrock(a: Value, b: Value) -> Value:
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2

    for f, name, point, v in (
        (rosenbrock, "Rosenbrock", [-1.2, 1.0], [1.0, 0.5]),
        (_f, "a²b + b³", [1.0, 2.0], [0.0, 1.0]),
    ):
        r.equal(
            f"hvp({name}, {point}, {v})",
            answer(f, point, v),
            reference_hvp(f, point, v)[1],
            "H·v = ∇(∇f·v): take grad with create_graph=True, dot it with v, take grad again",
        )
