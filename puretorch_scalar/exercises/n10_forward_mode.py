"""Notebook 10, forward mode vs reverse mode: dual numbers, counting sweeps, a column by `jvp`,
and H·v as forward-over-reverse."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from puretorch_scalar.autograd import hvp as reference_hvp
from puretorch_scalar.autograd import jacobian, jvp
from puretorch_scalar.engine import Value, grad
from puretorch_scalar.exercises.core import Report, exercise


class Dual:
    """The notebook's dual number a + a′ε (ε² = 0), as far as the checkers need one: the
    learner's `dual_div` reads `.value` and `.tangent` and may return its own Dual class."""

    def __init__(self, value: float, tangent: float = 0.0):
        self.value, self.tangent = value, tangent

    def __repr__(self) -> str:
        return f"Dual({self.value:g} + {self.tangent:g}ε)"


def dual_div(a: Dual, b: Dual) -> Dual:
    """(a + a′ε) / (b + b′ε) = a/b + ((a′b − ab′) / b²)ε: the quotient rule."""
    return Dual(a.value / b.value, (a.tangent * b.value - a.value * b.tangent) / b.value**2)


@exercise(
    "dual_div",
    "10",
    "dual_div(a, b) -> the Dual a / b: the value a/b and the tangent by the quotient rule",
    answer=dual_div,
)
def _dual_div(answer: Callable, r: Report) -> None:
    for a, b in [
        (Dual(3.0, 1.0), Dual(2.0, 0.5)),
        (Dual(-1.0, 2.0), Dual(4.0, -3.0)),
        (Dual(5.0), Dual(2.0, 1.0)),
    ]:
        q = answer(a, b)
        expected = dual_div(a, b)
        r.equal(f"the value of {a} / {b}", q.value, expected.value, "the value is a / b")
        r.equal(
            f"the tangent of {a} / {b}",
            q.tangent,
            expected.tangent,
            "the quotient rule: (a′·b − a·b′) / b², with a′, b′ the tangents",
        )


@exercise(
    "count_sweeps",
    "10",
    "for f with n = 30 inputs and m = 3 outputs: (sweeps of jacfwd, sweeps of jacrev, the cheaper mode)",
    answer=(30, 3, "reverse"),
    notes="jacfwd sweeps once per input (a column each), jacrev once per output (a row each):",
)
def _count_sweeps(answer: Any, r: Report) -> None:
    if not r.sized(answer, 3, "forward sweeps, reverse sweeps, the cheaper mode"):
        return
    n_forward, n_reverse, cheaper = answer
    r.equal("jacfwd's sweeps", n_forward, 30, "one forward sweep per input: each gives a column of J")
    r.equal("jacrev's sweeps", n_reverse, 3, "one reverse sweep per output: each gives a row of J")
    r.equal("the cheaper mode", cheaper, "reverse", 'answer "forward" or "reverse": fewer sweeps win')


def polar(r: Value, theta: Value) -> list[Value]:
    return [r * theta.cos(), r * theta.sin()]


@exercise(
    "jvp_column",
    "10",
    "with one jvp: the column ∂(x, y)/∂θ of polar(r, θ) = [r·cos θ, r·sin θ] at (2, 0.5)",
    answer=[-2 * math.sin(0.5), 2 * math.cos(0.5)],
    notes="jvp(polar, [2.0, 0.5], [0.0, 1.0])[1]: the tangent (0, 1) moves θ only:",
)
def _jvp_column(answer: Any, r: Report) -> None:
    expected = [row[1] for row in jacobian(polar, [2.0, 0.5])]
    r.equal(
        "∂(x, y)/∂θ at (2, 0.5)",
        answer,
        expected,
        "jvp(f, primals, tangents) returns (outputs, J·tangents): take the tangent (0, 1)",
    )


def hvp_forward(f: Callable[..., Value], point: list[float], v: list[float]) -> list[float]:
    """H·v as the jvp of the gradient: the gradient built as Values (create_graph=True), then
    one forward sweep through it along v."""
    gradient = lambda *xs: grad(f(*xs), xs, create_graph=True)  # noqa: E731
    return jvp(gradient, point, v)[1]


def _cubic(a: Value, b: Value) -> Value:
    return a**3 * b + b.exp()


def _rosenbrock(a: Value, b: Value) -> Value:
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2


@exercise(
    "hvp_forward_over_reverse",
    "10",
    "hvp_forward(f, point, v) -> H·v as jvp of grad(..., create_graph=True) (no hvp, no hessian)",
    answer=hvp_forward,
)
def _hvp_forward(answer: Callable, r: Report) -> None:
    for f, name, point, v in (
        (_cubic, "a³b + eᵇ", [1.0, 0.5], [1.0, -1.0]),
        (_rosenbrock, "Rosenbrock", [-1.2, 1.0], [1.0, 0.5]),
    ):
        r.equal(
            f"hvp_forward({name}, {point}, {v})",
            answer(f, point, v),
            reference_hvp(f, point, v)[1],
            "a function returning grad(f(*xs), xs, create_graph=True) is the gradient; jvp it along v",
        )
