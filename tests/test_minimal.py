"""puretorch_scalar/minimal.py, the ~100-line engine of notebook 00, agrees with the main engine."""

import ast
import math
import operator
from pathlib import Path

import pytest
from hypothesis import given

from puretorch_scalar import Value, minimal
from puretorch_scalar.testing import expressions

# what the main engine's ops are in minimal.py
MINIMAL_OPS = {
    "+": operator.add,
    "*": operator.mul,
    "**": operator.pow,
    "neg": operator.neg,
    "exp": minimal.Value.exp,
    "log": minimal.Value.log,
    "tanh": minimal.Value.tanh,
    "relu": minimal.Value.relu,
}


def replay(expr, leaves):
    """The random expression's program run on minimal.Value leaves."""
    nodes = list(leaves)
    for op, args in expr.steps:
        nodes.append(MINIMAL_OPS[op](*(nodes[i] for i in args)))
    return nodes[-1]


@given(expressions(ops=list(MINIMAL_OPS)))
def test_minimal_agrees_with_the_engine_on_values_and_gradients(expr):
    ours = expr.leaves()
    out = expr(*ours)
    out.backward()
    theirs = [minimal.Value(x) for x in expr.inputs]
    small = replay(expr, theirs)
    small.backward()
    assert small.data == pytest.approx(out.data, rel=1e-12, abs=1e-12)
    for a, b in zip(theirs, ours):
        assert a.grad == pytest.approx(b.grad, rel=1e-9, abs=1e-12)


def test_numbers_on_either_side_and_the_derived_operators():
    x = minimal.Value(3.0)
    y = (2 - x) / 4 + 2**x - x / 2 + 1 / x + 3 * x
    y.backward()
    X = Value(3.0)
    Y = (2 - X) / 4 + 2**X - X / 2 + 1 / X + 3 * X
    Y.backward()
    assert (y.data, x.grad) == pytest.approx((Y.data, X.grad), rel=1e-12)


def test_a_reused_value_receives_the_sum_over_its_paths():
    a = minimal.Value(2.0)
    h = a * 3
    out = h + h * h  # ∂out/∂h = 1 + 2h = 13, ∂out/∂a = 39
    out.backward()
    assert (h.grad, a.grad) == (13.0, 39.0)


def test_a_chain_deeper_than_the_recursion_limit_backpropagates():
    x = y = minimal.Value(1.0)
    for _ in range(50_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


def test_topological_order_lists_each_node_once_after_its_children():
    a, b = minimal.Value(1.0), minimal.Value(2.0)
    c = a * b
    d = c + a
    order = minimal.topological_order(d * c)
    assert len(order) == len(set(order)) == 5
    position = {node: i for i, node in enumerate(order)}
    assert all(position[child] < position[node] for node in order for child in node.children)


def test_gradients_add_up_over_backward_calls():
    x = minimal.Value(2.0)
    y = x.tanh()
    y.backward()
    y.backward()
    assert x.grad == pytest.approx(2 * (1 - math.tanh(2.0) ** 2))


def test_minimal_imports_nothing_from_the_package_and_stays_small():
    source = Path(minimal.__file__).read_text(encoding="utf-8")
    imported = [
        name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in ([node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names])
    ]
    assert imported == ["math"]
    code = [line for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert len(code) <= 130, f"minimal.py has grown to {len(code)} non-blank lines; it promises about 100"
