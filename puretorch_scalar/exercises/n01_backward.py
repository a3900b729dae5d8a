"""Notebook 01, a Value and its backward pass: the chain rule by hand, accumulation, and why
backward needs a topological order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from puretorch_scalar.engine import Value, grad, local_grads, topological_order
from puretorch_scalar.exercises.core import Report, exercise


@exercise(
    "chain_rule_by_hand",
    "01",
    "(∂f/∂a, ∂f/∂b, ∂f/∂c) for f = (a·b + c)·a at a = 2, b = −3, c = 10, derived on paper",
    answer=(-2.0, 4.0, 2.0),
    notes="f = a²b + ac, so ∂f/∂a = 2ab + c = −12 + 10 (a reaches f by two paths), ∂f/∂b = a², ∂f/∂c = a:",
)
def _chain_rule_by_hand(answer: Any, r: Report) -> None:
    if not r.sized(answer, 3, "∂f/∂a, ∂f/∂b, ∂f/∂c"):
        return
    a, b, c = Value(2.0), Value(-3.0), Value(10.0)
    ((a * b + c) * a).backward()
    r.equal("∂f/∂a", answer[0], a.grad, "a is used twice: add the path through a·b to the direct one")
    r.equal("∂f/∂b", answer[1], b.grad, "∂f/∂b = ∂f/∂(a·b+c) · ∂(a·b)/∂b = a · a")
    r.equal("∂f/∂c", answer[2], c.grad, "∂f/∂c = ∂f/∂(a·b+c) · 1 = a")


def _notebook_graph() -> tuple[Value, Value, Value, Value]:
    """Notebook 1's L = (x·y + x)² at x = 3, y = −2, with r = x·y + x."""
    x, y = Value(3.0), Value(-2.0)
    r = x * y + x
    return x, y, r, r**2


@exercise(
    "backward_twice",
    "01",
    "(x.grad, y.grad, r.grad) after calling L.backward() twice on a fresh L = (x·y + x)², x = 3, y = −2",
    answer=(12.0, -36.0, -6.0),
    notes="Leaves accumulate (6 + 6, −18 − 18); an inner node holds the last pass only (−6):",
)
def _backward_twice(answer: Any, r: Report) -> None:
    if not r.sized(answer, 3, "x.grad, y.grad, r.grad"):
        return
    x, y, inner, L = _notebook_graph()
    L.backward()
    L.backward()
    r.equal("x.grad", answer[0], x.grad, "a leaf's grad is a running total: each backward adds ∂L/∂x = 6")
    r.equal("y.grad", answer[1], y.grad, "the same for y: −18 per pass")
    r.equal("r.grad", answer[2], inner.grad, "an inner node keeps the gradient of the latest pass only")


@exercise(
    "sum_over_paths",
    "01",
    "for f = x * x * x at x = 2: (how many contributions x.grad receives, x.grad after backward)",
    answer=(3, 12.0),
    notes="x * x * x is (x·x)·x: the inner · gives x two contributions of x each, the outer one more:",
)
def _sum_over_paths(answer: Any, r: Report) -> None:
    if not r.sized(answer, 2, "contributions, x.grad"):
        return
    x = Value(2.0)
    f = x * x * x
    contributions = sum(child is x for node in topological_order(f) for child in node.children)
    f.backward()
    r.equal(
        "contributions to x.grad (one per edge from x to a node using it)",
        answer[0],
        contributions,
        "x * x * x is (x·x)·x: count x among the children of each of the two * nodes",
    )
    r.equal("x.grad", answer[1], x.grad, "d(x³)/dx = 3x², the sum of the three contributions")


def nearest_first(out: Value) -> dict[Value, float]:
    """The chain rule applied in breadth-first order from `out` (nearest nodes first): the
    gradients it ends with, which are wrong when a node passes its gradient on too early."""
    order, seen = [out], {out}
    for node in order:  # the list grows while we walk it: breadth-first
        for child in node.children:
            if child not in seen:
                seen.add(child)
                order.append(child)
    grads = {node: 0.0 for node in order}
    grads[out] = 1.0
    for node in order:
        if node.children:
            for child, d in zip(
                node.children, local_grads(node.op, [c.data for c in node.children], node.data)
            ):
                grads[child] += d * grads[node]
    return grads


def build(a: Value) -> Value:
    """b = a², out = b + b·a: b is one step from out and also used by b·a, which is as near."""
    b = a * a
    return b + b * a


@exercise(
    "nearest_first_breaks",
    "01",
    "build(a) -> out: a graph of + and * on a for which backward in nearest-first order gets ∂out/∂a wrong",
    answer=build,
)
def _nearest_first_breaks(build: Callable, r: Report) -> None:
    a = Value(1.5)
    out = build(a)
    if not r.that("build(a) returns a Value", isinstance(out, Value), "return the output node"):
        return
    nodes = topological_order(out)
    r.that("the graph uses a", a in nodes, "build it from the Value a you are given")
    ops = sorted({node.op for node in nodes if node.children})
    r.that(f"only + and * nodes (found {ops})", set(ops) <= {"+", "*"}, "keep to + and *")
    (right,) = grad(out, [a])
    wrong = nearest_first(out).get(a, 0.0)
    if abs(wrong - right) > 1e-9:
        r.passed(f"nearest-first order gives ∂out/∂a = {wrong:g}, backward the right {right:g}")
    else:
        r.fail(
            f"nearest-first order: expected a ∂out/∂a that differs from backward's {right:g}, got {wrong:g}",
            "let a node be used by its parent and by a sibling of it, so that it is visited before the "
            "sibling has passed it its share",
        )
