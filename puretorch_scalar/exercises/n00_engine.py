"""Notebook 00, build your own engine: checkers for the learner's `Value` class and functions.

The notebook's `Value` skeleton fixes the contract the checkers rely on: `Value(data, children=(),
op="")` with `.data`, `.grad` (0.0 at first), `.children` and `._backward()`, which adds
`out.grad · ∂out/∂child` to each child's `.grad`. `topological_order(root)` and `backward(root)`
are checked on graphs of `puretorch_scalar.minimal.Value`, so they can be done in any order.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Callable
from typing import Any

from puretorch_scalar import minimal
from puretorch_scalar.exercises.core import Report, exercise

Node = Any  # a Value of the learner's class, or of minimal's


def _is_value(x: object) -> bool:
    """A node of the learner's engine: anything with data, grad, children and _backward."""
    return all(hasattr(x, attribute) for attribute in ("data", "grad", "children", "_backward"))


def _same_nodes(got: tuple, expected: tuple) -> bool:
    return sorted(map(id, got)) == sorted(map(id, expected))


def _check_binary(
    V: type, r: Report, symbol: str, f: Callable, local: Callable[[float, float], tuple], hints: tuple
) -> None:
    """`a symbol b` of two Values and of a Value and a number: data, children, local derivatives
    (out.grad = 1.5 passed on by `_backward`), and a Value used as both operands."""
    a, b = V(2.0), V(-3.0)
    out = f(a, b)
    if not r.that(f"Value(2) {symbol} Value(-3) is a Value", _is_value(out), "return a new Value"):
        return
    if not r.equal(f"(Value(2) {symbol} Value(-3)).data", out.data, f(2.0, -3.0)):
        return
    r.that(
        "its children are the two operands",
        _same_nodes(tuple(out.children), (a, b)),
        "give the new Value children=(self, other), so that backward can find them",
    )
    out.grad = 1.5
    out._backward()
    da, db = local(2.0, -3.0)
    r.equal("a.grad after out.grad = 1.5; out._backward()", a.grad, da * 1.5, hints[0])
    r.equal("b.grad after out.grad = 1.5; out._backward()", b.grad, db * 1.5, hints[1])
    c = V(4.0)
    both = f(c, c)
    both.grad = 1.0
    both._backward()
    r.equal(
        f"c.grad for out = c {symbol} c, after out.grad = 1; out._backward()",
        c.grad,
        sum(local(4.0, 4.0)),
        "c is both operands, so it receives two contributions: add them with +=, never overwrite with =",
    )
    r.equal(
        f"(Value(2) {symbol} 5).data, a plain number on the right",
        f(V(2.0), 5).data,
        f(2.0, 5.0),
        "wrap a number in a Value first: other = other if isinstance(other, Value) else Value(other)",
    )


def _check_unary(V: type, r: Report, name: str, f: Callable, df: Callable, points: tuple, hint: str) -> None:
    """`Value(x).name()` at each point: data, child, and x.grad after out.grad = 2; out._backward()."""
    for x in points:
        v = V(x)
        out = getattr(v, name)()
        if not r.that(f"Value({x:g}).{name}() is a Value", _is_value(out), "return a new Value"):
            return
        if not r.equal(f"Value({x:g}).{name}().data", out.data, f(x)):
            return
        r.that("its only child is the Value it was called on", _same_nodes(tuple(out.children), (v,)))
        out.grad = 2.0
        out._backward()
        r.equal(
            f"x.grad for x = Value({x:g}), after out = x.{name}(); out.grad = 2; out._backward()",
            v.grad,
            2.0 * df(x),
            hint,
        )


@exercise(
    "value_add",
    "00",
    "Value.__add__: the sum, its children, and a _backward that passes out.grad on to both",
    answer=minimal.Value,
    shows=minimal.Value.__add__,
)
def _value_add(V: type, r: Report) -> None:
    hint = "∂(a+b)/∂a = ∂(a+b)/∂b = 1: each operand's grad grows by 1 · out.grad"
    _check_binary(V, r, "+", operator.add, lambda a, b: (1.0, 1.0), (hint, hint))


@exercise(
    "value_mul",
    "00",
    "Value.__mul__: the product, its children, and a _backward with ∂(a·b)/∂a = b, ∂(a·b)/∂b = a",
    answer=minimal.Value,
    shows=minimal.Value.__mul__,
)
def _value_mul(V: type, r: Report) -> None:
    hint = "∂(a·b)/∂a = b and ∂(a·b)/∂b = a: each operand gets the *other* one's data times out.grad"
    _check_binary(V, r, "*", operator.mul, lambda a, b: (b, a), (hint, hint))


@exercise(
    "value_tanh",
    "00",
    "Value.tanh: tanh of the data, and a _backward with ∂tanh(x)/∂x = 1 − tanh(x)²",
    answer=minimal.Value,
    shows=(minimal.Value._unary, minimal.Value.tanh),
)
def _value_tanh(V: type, r: Report) -> None:
    _check_unary(
        V,
        r,
        "tanh",
        math.tanh,
        lambda x: 1 - math.tanh(x) ** 2,
        (0.5, -2.0),
        "the local derivative is 1 − t² with t = tanh(x), the output (1 − x² is another function)",
    )


@exercise(
    "value_exp",
    "00",
    "Value.exp: eˣ, and a _backward with ∂eˣ/∂x = eˣ",
    answer=minimal.Value,
    shows=(minimal.Value._unary, minimal.Value.exp),
)
def _value_exp(V: type, r: Report) -> None:
    _check_unary(V, r, "exp", math.exp, math.exp, (1.0, -0.5), "eˣ is its own derivative: reuse the output")


@exercise(
    "value_relu",
    "00",
    "Value.relu: max(x, 0), and a _backward with ∂relu(x)/∂x = 1 for x > 0, else 0",
    answer=minimal.Value,
    shows=(minimal.Value._unary, minimal.Value.relu),
)
def _value_relu(V: type, r: Report) -> None:
    _check_unary(
        V,
        r,
        "relu",
        lambda x: max(x, 0.0),
        lambda x: float(x > 0),
        (1.5, -2.0),
        "the slope is 1 where x > 0 (out = x) and 0 where x < 0 (out = 0), whatever x is",
    )


@exercise(
    "value_pow",
    "00",
    "Value.__pow__ with a number or a Value exponent: ∂(aᵇ)/∂a = b·aᵇ⁻¹, ∂(aᵇ)/∂b = aᵇ·ln a",
    answer=minimal.Value,
    shows=minimal.Value.__pow__,
)
def _value_pow(V: type, r: Report) -> None:
    a = V(2.0)
    out = a**3
    if not r.equal("(Value(2) ** 3).data", out.data, 8.0):
        return
    out.grad = 1.0
    out._backward()
    r.equal(
        "a.grad after out = a ** 3; out.grad = 1; out._backward()",
        a.grad,
        12.0,
        "∂(a³)/∂a = 3·a² = 12 at a = 2",
    )
    a, b = V(2.0), V(3.0)
    out = a**b
    out.grad = 1.0
    out._backward()
    r.equal("a.grad for out = Value(2) ** Value(3)", a.grad, 12.0, "∂(aᵇ)/∂a = b·aᵇ⁻¹")
    r.equal(
        "b.grad for out = Value(2) ** Value(3)",
        b.grad,
        8 * math.log(2),
        "∂(aᵇ)/∂b = aᵇ·ln a: the exponent is an input too (defined for a > 0)",
    )


# -- the algorithm -----------------------------------------------------------------------------


def _diamond() -> tuple[dict, Node, Node]:
    """h = 3a, out = h + h·h at a = 2 (∂out/∂h = 13, ∂out/∂a = 39): h is used twice."""
    V = minimal.Value
    a = V(2.0)
    three = V(3.0)
    h = a * three
    hh = h * h
    out = h + hh
    return {a: "a", three: "3", h: "h", hh: "hh", out: "out"}, a, out


def _chain(n: int) -> tuple[Node, Node]:
    x = y = minimal.Value(1.0)
    for _ in range(n):
        y = y + 1.0
    return x, y


DEEP = 10_000
STACK_HINT = (
    "recursion goes one Python call deeper per node and stops at about 3,000: keep the nodes still "
    "to visit on a list of your own (a stack) instead"
)


@exercise(
    "topological_order",
    "00",
    "topological_order(root): every node below root once, each after its children, without recursion",
    answer=minimal.topological_order,
)
def _topological_order(topological_order: Callable, r: Report) -> None:
    names, _, out = _diamond()
    order = topological_order(out)
    got = [names.get(node, "?") for node in order]
    r.equal(
        "the nodes of h = 3a, out = h + h·h, sorted by name",
        sorted(got),
        sorted(names.values()),
        "every node below the root, and the root itself, must be listed",
    )
    repeated = max(Counter(got).values(), default=0)
    r.equal(
        "how often the most frequent node is listed",
        repeated,
        1,
        "h is a child of both out and hh: remember the nodes you have visited (a set)",
    )
    position = {node: i for i, node in reversed(list(enumerate(order)))}  # first appearances
    late = [
        (names[node], names[child])
        for node in position
        for child in node.children
        if child in position and position[child] > position[node]
    ]
    if late:
        node, child = late[0]
        r.fail(
            f"{node} is listed before its child {child}: expected e.g. [a, 3, h, hh, out], got {got}",
            "put a node in the order only after all of its children are in it",
        )
    else:
        r.passed("every node comes after its children")
    r.equal("the last node", got[-1] if got else None, "out", "the root uses everything, so it comes last")
    _, y = _chain(DEEP)
    try:
        deep = topological_order(y)
    except RecursionError:
        r.fail(
            f"a chain of {DEEP:,} additions: expected an order of {2 * DEEP + 1:,} nodes, got RecursionError",
            STACK_HINT,
        )
    else:
        r.equal(f"the number of nodes in a chain of {DEEP:,} additions", len(deep), 2 * DEEP + 1)


@exercise(
    "backward",
    "00",
    "backward(root): root.grad = 1, then every node's _backward() in reverse topological order",
    answer=minimal.backward,
)
def _backward(backward: Callable, r: Report) -> None:
    V = minimal.Value
    x = V(3.0)
    y = x * 2.0
    backward(y)
    r.equal("y.grad after backward(y)", y.grad, 1.0, "seed the root: root.grad = 1.0, since ∂y/∂y = 1")
    r.equal("x.grad for y = 2x", x.grad, 2.0)
    names, a, out = _diamond()
    h = next(node for node, name in names.items() if name == "h")
    backward(out)
    r.equal(
        "h.grad for out = h + h·h at h = 6",
        h.grad,
        13.0,
        "∂out/∂h = 1 + 2h: h must hear from both out and hh before it passes its gradient on",
    )
    r.equal(
        "a.grad for h = 3a at a = 2",
        a.grad,
        39.0,
        "h passed its gradient on before it was complete: call _backward() in reverse topological order",
    )

    def neuron() -> tuple[list, Node]:  # micrograd's: o = tanh(x1·w1 + x2·w2 + b)
        leaves = [V(2.0), V(-3.0), V(0.0), V(1.0), V(6.8813735870195432)]
        x1, w1, x2, w2, b = leaves
        return leaves, (x1 * w1 + x2 * w2 + b).tanh()

    leaves, o = neuron()
    backward(o)
    right, o_right = neuron()
    minimal.backward(o_right)
    r.equal(
        "the grads of x1, w1, x2, w2, b for o = tanh(x1·w1 + x2·w2 + b)",
        [v.grad for v in leaves],
        [v.grad for v in right],
    )
    x, y = _chain(DEEP)
    try:
        backward(y)
    except RecursionError:
        r.fail(f"a chain of {DEEP:,} additions: expected x.grad = 1, got RecursionError", STACK_HINT)
    else:
        r.equal(f"x.grad at the bottom of a chain of {DEEP:,} additions", x.grad, 1.0)
