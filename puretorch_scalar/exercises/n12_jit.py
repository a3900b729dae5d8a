"""Notebook 12, tracing and compiling: how many lines a traced forward has, what one line of a
compiled backward computes, and a function with an `if` rewritten so that it traces."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from puretorch_scalar.engine import Value
from puretorch_scalar.exercises.core import Report, exercise
from puretorch_scalar.jit import TraceError, jit


def squash(x: Value, y: Value) -> Value:
    """Exercise 1's function: z = x·y + 1, then tanh(z) + z² + y in one `Value.sum`."""
    z = x * y + 1.0
    return Value.sum([z.tanh(), z * z, y])


def forward_lines(fn: Callable[..., Value], *args: float) -> int:
    """How many lines of jit(fn)'s forward compute a number (`t2 = x * y`): one per node of the
    traced graph that is computed, none for the arguments, the leaves and the constants."""
    compiled = jit(fn)
    compiled(*[Value(a) for a in args])
    body = compiled.program.forward_source.splitlines()
    return sum(bool(re.match(r"    \w+ = ", line)) for line in body)


@exercise(
    "count_forward_lines",
    "12",
    "how many lines of jit(squash)'s forward compute a number (one per node that is computed)?",
    answer=5,
    notes=(
        "x * y, + 1.0, tanh, z * z and Value.sum: five nodes, five lines. The 1.0 is a constant, "
        "written into the line that uses it; Value.sum is one node however many terms it has:"
    ),
)
def _count_forward_lines(answer: Any, r: Report) -> None:
    r.equal(
        "the lines of jit(squash)'s forward that compute a number",
        answer,
        forward_lines(squash, 0.5, -1.0),
        "one line per op node: count the *, +, tanh, * and sum; constants and arguments get no line",
    )


def sine_plus(x: Value, y: Value) -> Value:
    """Exercise 2's function: sin(x·y) + x."""
    return (x * y).sin() + x


@exercise(
    "read_a_backward_line",
    "12",
    "in jit(sine_plus)'s backward at (x, y) = (0.5, 2): (the number g_t2, what `g_x += y * g_t2` adds)",
    answer=(math.cos(1.0), 2.0 * math.cos(1.0)),
    notes=(
        "g_t4 = 1 (the output's own gradient), g_t3 = g_t4 (through the +), g_t2 = cos(t2)·g_t3 = "
        "cos(0.5·2) = cos 1; then the line adds y·g_t2 = 2·cos 1 to g_x (x's other path, through the "
        "+, adds 1 more):"
    ),
)
def _read_a_backward_line(answer: Any, r: Report) -> None:
    if not r.sized(answer, 2, "the number g_t2, what the line adds to g_x"):
        return
    g_t2, added = answer
    r.equal(
        "g_t2, ∂out/∂(x·y), at (0.5, 2)",
        g_t2,
        math.cos(1.0),
        "g_t2 = cos(t2) * g_t3, with t2 = x·y = 1 and g_t3 = g_t4 = 1 (a + passes its gradient on)",
    )
    r.equal(
        "what `g_x += y * g_t2` adds to g_x",
        added,
        2.0 * math.cos(1.0),
        "y · g_t2, one of x's two paths: x.grad (1 + 2·cos 1) also holds the 1 that comes through the +",
    )


def clip_with_if(x: Value) -> Value:
    """x clipped to [−1, 1] with Python decisions on its number: eagerly fine, refused by jit."""
    if x > 1:
        return x * 0.0 + 1.0
    if x < -1:
        return x * 0.0 - 1.0
    return x


def clip(x: Value) -> Value:
    """x clipped to [−1, 1] with relu only: relu(x + 1) − relu(x − 1) − 1 is −1 below −1, x in
    between and 1 above, and its slope is 1 inside, 0 outside."""
    return (x + 1.0).relu() - (x - 1.0).relu() - 1.0


@exercise(
    "clip_without_if",
    "12",
    "clip(x) -> x clipped to [−1, 1] with no `if` on x (relu, abs, …), so that pts.jit traces it",
    answer=clip,
    notes="Each relu is a kink: relu(x + 1) starts rising at −1, relu(x − 1) cancels it from 1 on:",
)
def _clip_without_if(answer: Callable, r: Report) -> None:
    compiled = jit(answer)
    for x in (-3.0, -0.5, 0.25, 0.75, 2.5):
        v = Value(x)
        try:
            out = compiled(v)
        except TraceError as error:
            r.fail(
                f"clip through jit raised TraceError: {str(error).splitlines()[0]}",
                "a Python `if` on the Value's number is a decision jit cannot record: build the kinks "
                "from relu, e.g. relu(x + 1) is 0 below −1",
            )
            return
        out.backward()
        r.equal(f"clip({x}) through jit", out.data, max(-1.0, min(1.0, x)), "−1 below −1, x between, 1 above")
        r.equal(f"d clip/dx at {x}", v.grad, 1.0 if -1 < x < 1 else 0.0, "slope 1 inside [−1, 1], 0 outside")
    r.equal(
        "programs traced for five values of x",
        compiled.cache_size,
        1,
        "one program serves every x when no number of x is baked in",
    )
