"""puretorch_scalar.testing: the strategies draw what they promise, and the assertion fails when it should."""

import importlib
import math
import sys

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from puretorch_scalar import ops
from puretorch_scalar.engine import Value
from puretorch_scalar.tensor import Tensor
from puretorch_scalar.testing import (
    Expression,
    assert_grads_close,
    broadcastable_shapes,
    expressions,
    floats,
    shapes,
    tensors,
    values,
)


def drawn(strategy, condition):
    """An example of `strategy` that meets `condition`; fails if none turns up (no shrinking)."""
    return find(
        strategy, condition, settings=settings(max_examples=2000, phases=[Phase.generate], database=None)
    )


@st.composite
def float_ranges(draw):
    """(min_value, max_value, avoid, margin) such that something is left to draw."""
    lo = draw(st.floats(-100, 100))
    hi = draw(st.floats(lo + 1, lo + 100))
    avoid = draw(st.lists(st.floats(lo - 1, hi + 1), max_size=3))
    return lo, hi, avoid, draw(st.floats(0, 0.1))


@given(float_ranges(), st.data())
def test_floats_are_in_range_and_margin_away_from_every_avoided_point(ranges, data):
    lo, hi, avoid, margin = ranges
    x = data.draw(floats(lo, hi, avoid, margin))
    assert lo <= x <= hi
    assert all(abs(x - a) >= margin for a in avoid)


def test_floats_reach_both_sides_of_an_avoided_point():
    strategy = floats(-1, 1, avoid=(0.0,), margin=0.25)
    assert -1 <= drawn(strategy, lambda x: x < 0) <= -0.25
    assert 0.25 <= drawn(strategy, lambda x: x > 0) <= 1


@pytest.mark.parametrize(
    "args, message",
    [((1.0, 0.0), "min_value 1.0 is greater than max_value 0.0"), ((0.0, 1.0, (0.5,), 1.0), "nothing in")],
)
def test_floats_with_nothing_to_draw_raise_value_error(args, message):
    with pytest.raises(ValueError, match=message):
        floats(*args)


@given(values(-2, 2, avoid=(1.0,), margin=0.5, label="w"))
def test_values_are_labelled_leaves_drawn_like_floats(v):
    assert isinstance(v, Value) and v.op == "" and v.children == () and v.grad == 0.0
    assert v.label == "w"
    assert -2 <= v.data <= 2 and abs(v.data - 1.0) >= 0.5


@given(shapes(min_dims=2, max_dims=4, min_side=2, max_side=5))
def test_shapes_respect_their_limits(shape):
    assert isinstance(shape, tuple) and 2 <= len(shape) <= 4
    assert all(2 <= n <= 5 for n in shape)


@given(broadcastable_shapes(max_dims=4, max_side=5))
def test_broadcastable_shapes_broadcast_by_numpy_rules(pair):
    a, b = pair
    assert len(a) <= 4 and len(b) <= 4 and all(1 <= n <= 5 for n in a + b)
    for m, n in zip(reversed(a), reversed(b)):  # trailing axes line up
        assert m == n or 1 in (m, n)


def test_broadcastable_shapes_include_scalars_stretched_axes_and_unequal_ranks():
    pairs = broadcastable_shapes()
    drawn(pairs, lambda p: p[0] == ())
    drawn(pairs, lambda p: any(m == 1 < n for m, n in zip(reversed(p[0]), reversed(p[1]))))
    drawn(pairs, lambda p: 0 < len(p[0]) < len(p[1]))


@given(tensors(shapes(min_dims=0), -2, 2, avoid=(0.0,), margin=0.5))
def test_tensors_are_made_of_leaves_drawn_like_floats(t):
    assert len(t.values()) == math.prod(t.shape) and t.ndim <= 3
    assert all(v.op == "" and -2 <= v.data <= 2 and abs(v.data) >= 0.5 for v in t.values())


@given(tensors((2, 3)), tensors())
def test_tensors_of_a_given_or_any_shape(t, u):
    assert t.shape == (2, 3)
    assert 1 <= u.ndim <= 3 and all(1 <= n <= 3 for n in u.shape)


# -- expressions --------------------------------------------------------------------------------


def _node_data(expr):
    """The data of every node at the expression's inputs: the inputs, then one per step."""
    prefixes = (Expression(expr.inputs, expr.steps[: k + 1]) for k in range(len(expr.steps)))
    return [*expr.inputs, *(prefix(*prefix.leaves()).data for prefix in prefixes)]


@given(expressions())
def test_expressions_stay_inside_every_domain_and_bound(expr):
    data = _node_data(expr)
    assert all(-3 <= x <= 3 for x in expr.inputs)
    assert all(abs(x) <= 100 for x in data[len(expr.inputs) :])
    for op, args in expr.steps:
        operands = [data[i] for i in args]
        if op in ("log", "sqrt", "**"):
            assert operands[0] >= 0.1
        if op in ("relu", "abs"):
            assert abs(operands[0]) >= 0.1
        if op == "/":
            assert abs(operands[1]) >= 0.1


@given(expressions())
def test_each_step_uses_the_previous_node_so_every_step_reaches_the_output(expr):
    for k, (_, args) in enumerate(expr.steps):
        assert len(expr.inputs) + k - 1 in args


@given(expressions(ops=("exp", "+"), max_inputs=2, max_steps=4))
def test_expressions_use_only_the_chosen_ops(expr):
    assert {op for op, _ in expr.steps} <= {"exp", "+"}
    assert 1 <= len(expr.inputs) <= 2 and len(expr.steps) <= 4


@pytest.mark.parametrize("op", ops.names())
def test_every_op_can_be_drawn(op):
    expr = drawn(expressions(ops=(op,)), lambda e: len(e.steps) > 0)
    assert expr.steps[0][0] == op


def test_expressions_reuse_nodes():
    expr = drawn(expressions(), lambda e: any(len(set(args)) < len(args) for _, args in e.steps))
    assert expr(*expr.leaves()).op in ops.names()


def test_unknown_ops_raise_value_error_listing_them():
    with pytest.raises(ValueError, match=r"unknown ops \['max'\]"):
        expressions(ops=("exp", "max"))


def test_an_expression_evaluates_to_its_formula_and_shows_it():
    expr = Expression((2.0, 3.0), (("*", (0, 1)), ("log", (2,)), ("sum", (3, 0, 3)), ("dot", (4, 1, 0, 4))))
    out = expr(*expr.leaves())
    v4 = math.log(6.0) + 2.0 + math.log(6.0)
    assert out.data == pytest.approx(v4 * 2.0 + 3.0 * v4)
    assert repr(expr) == (
        "Expression(x0 = 2.0; x1 = 3.0; v2 = x0 * x1; v3 = v2.log(); v4 = Value.sum([v3, x0, v3]); "
        "v5 = Value.dot([v4, x1], [x0, v4]))"
    )
    assert [v.label for v in expr.leaves()] == ["x0", "x1"]
    leaves = expr.leaves()
    nodes = expr.nodes(*leaves)  # every node: the inputs, then one per step, the output last
    assert nodes[:2] == leaves and [v.op for v in nodes[2:]] == ["*", "log", "sum", "dot"]
    assert nodes[-1].data == out.data


def test_an_expression_without_steps_is_its_last_input():
    expr = Expression((1.0, 5.0), ())
    assert expr(*expr.leaves()).data == 5.0
    assert repr(Expression((1.0,), (("neg", (0,)),))) == "Expression(x0 = 1.0; v1 = -x0)"


# -- assert_grads_close -------------------------------------------------------------------------


def test_assert_grads_close_accepts_numbers_and_passes_for_correct_gradients():
    assert_grads_close(lambda a, b: (a * b).tanh() + a.exp(), [0.5, -2])


def test_assert_grads_close_takes_tensors():
    assert_grads_close(lambda t, s: (t * s).softmax(), [Tensor([[1.0, -2.0], [0.5, 3.0]]), 2.0])


def test_assert_grads_close_raises_assertion_error_with_the_table():
    half_detached = lambda a, b: a * Value(a.data) + b  # d/da is a, not 2a
    with pytest.raises(AssertionError, match=r"1 of 2 gradients differ(.|\n)*x0 +1\.5 +3 "):
        assert_grads_close(half_detached, [1.5, 2.0])


def test_importing_testing_without_hypothesis_says_how_to_install_it(monkeypatch):
    monkeypatch.delitem(sys.modules, "puretorch_scalar.testing")
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # None makes `import hypothesis` fail
    with pytest.raises(ImportError, match=r"pip install puretorch_scalar\[test\]"):
        importlib.import_module("puretorch_scalar.testing")


def test_floats_next_to_an_avoided_signed_zero():
    """0.0 and -0.0 are equal but ordered for hypothesis: a piece [0.0, -0.0] is the point 0."""
    assert drawn(floats(0.0, 1.0, avoid=(-0.0,), margin=0.0), lambda x: x == 0.0) == 0.0
