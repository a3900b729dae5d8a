"""Every engine op against central differences on its valid domain, and random DAGs with reuse.

Built on the public strategies of `puretorch_scalar.testing`, the way users test their own code.
The semantics (accumulation, errors, deep graphs) are in test_engine.py.
"""

import math
import operator
from operator import methodcaller

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import Value, grad, ops
from puretorch_scalar.gradcheck import gradcheck
from puretorch_scalar.testing import assert_grads_close, expressions, floats, values

anywhere = floats(-5, 5)
positive = floats(0.05, 10)
off_zero = floats(-5, 5, avoid=(0.0,), margin=1e-3)

# op -> (the function on floats, per `math`; where its derivative is smooth)
UNARY_CASES = {
    "neg": (operator.neg, anywhere),
    "exp": (math.exp, anywhere),
    "log": (math.log, positive),
    "tanh": (math.tanh, anywhere),
    "sigmoid": (lambda x: 1 / (1 + math.exp(-x)), anywhere),
    "relu": (lambda x: max(x, 0.0), off_zero),
    "abs": (abs, off_zero),
    "sqrt": (math.sqrt, positive),
    "sin": (math.sin, anywhere),
    "cos": (math.cos, anywhere),
}
# op -> (operator, domain of the left operand, of the right one)
BINARY_CASES = {
    "+": (operator.add, anywhere, anywhere),
    "-": (operator.sub, anywhere, anywhere),
    "*": (operator.mul, anywhere, anywhere),
    "/": (operator.truediv, anywhere, floats(-5, 5, avoid=(0.0,), margin=0.1)),
    "**": (operator.pow, floats(0.1, 5), floats(-3, 3)),
}


def unary(op):
    return operator.neg if op == "neg" else methodcaller(op)


def test_every_built_in_op_of_the_registry_is_covered():
    builtin = ops.BUILTINS
    assert set(UNARY_CASES) == {r.name for r in builtin if r.arity == 1}
    assert set(BINARY_CASES) == {r.name for r in builtin if r.arity == 2}


@pytest.mark.parametrize("op", UNARY_CASES)
@given(data=st.data())
def test_unary_op_value_and_gradient(op, data):
    reference, domain = UNARY_CASES[op]
    x = data.draw(domain)
    out = unary(op)(Value(x))
    assert out.data == pytest.approx(reference(x), rel=1e-12)
    assert out.op == op
    assert_grads_close(unary(op), [x])


@pytest.mark.parametrize("op", UNARY_CASES)
@given(data=st.data())
def test_unary_op_second_derivative(op, data):
    x = data.draw(UNARY_CASES[op][1])
    assert_grads_close(lambda a: grad(unary(op)(a), [a], create_graph=True)[0], [x])


@pytest.mark.parametrize("op", BINARY_CASES)
@pytest.mark.parametrize("sides", ["Value op Value", "Value op number", "number op Value"])
@given(data=st.data())
def test_binary_op_value_and_gradient_with_a_number_on_either_side(op, sides, data):
    apply, left, right = BINARY_CASES[op]
    a, b = data.draw(left), data.draw(right)
    if sides == "Value op Value":
        f, inputs = apply, [a, b]
    elif sides == "Value op number":
        f, inputs = (lambda x: apply(x, b)), [a]
    else:
        f, inputs = (lambda y: apply(a, y)), [b]
    out = f(*map(Value, inputs))
    assert out.data == pytest.approx(apply(a, b), rel=1e-12) and out.op == op
    assert_grads_close(f, inputs)


@pytest.mark.parametrize("op", BINARY_CASES)
@given(data=st.data())
def test_binary_op_second_derivatives(op, data):
    apply, left, right = BINARY_CASES[op]
    first = lambda a, b: Value.sum(grad(apply(a, b), [a, b], create_graph=True))
    assert_grads_close(first, [data.draw(left), data.draw(right)])


@given(floats(-3, 3, avoid=(0.0,), margin=0.1), st.integers(-3, 4))
def test_any_base_to_an_integer_power(a, n):
    out = Value(a) ** n
    assert out.data == pytest.approx(a**n, rel=1e-12)
    assert_grads_close(lambda x: x**n, [a])


@given(values(0.1, 5), floats(-3, 3))
def test_a_positive_base_to_the_power_of_a_value_exponent(base, b):
    assert_grads_close(lambda x, y: x**y + 2.0**y, [base, Value(b)])


# -- n-ary nodes, with inputs reused ------------------------------------------------------------


def entries(n_inputs, size):
    """`size` entries, each an index into the inputs (a repeat is a reuse) or a plain number."""
    return st.lists(st.one_of(st.integers(0, n_inputs - 1), anywhere), min_size=size, max_size=size)


def resolve(picked, xs):
    """Each index in `picked` replaced by that input; numbers left as they are."""
    return [xs[p] if isinstance(p, int) else p for p in picked]


@given(st.lists(anywhere, min_size=1, max_size=4), st.data())
def test_sum_value_and_gradient_with_reuse_and_numbers(xs, data):
    picked = data.draw(entries(len(xs), data.draw(st.integers(1, 6))))
    f = lambda *vs: Value.sum(resolve(picked, vs))
    out = f(*map(Value, xs))
    assert out.data == pytest.approx(math.fsum(resolve(picked, xs)), rel=1e-12, abs=1e-12)
    assert out.op == "sum" and len(out.children) == len(picked)
    assert_grads_close(f, xs)


@given(st.lists(anywhere, min_size=1, max_size=4), st.data())
def test_dot_value_and_gradient_with_reuse_and_numbers(xs, data):
    n = data.draw(st.integers(1, 4))
    left, right = data.draw(entries(len(xs), n)), data.draw(entries(len(xs), n))
    f = lambda *vs: Value.dot(resolve(left, vs), resolve(right, vs))
    out = f(*map(Value, xs))
    expected = math.fsum(map(operator.mul, resolve(left, xs), resolve(right, xs)))
    assert out.data == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert out.op == "dot" and len(out.children) == 2 * n
    assert_grads_close(f, xs)


# -- random graphs ------------------------------------------------------------------------------


@given(expressions())
def test_random_dags_have_correct_gradients(expr):
    assert gradcheck(expr, expr.leaves())


@given(expressions())
def test_backward_agrees_with_grad_on_random_dags(expr):
    leaves = expr.leaves()
    out = expr(*leaves)
    expected = grad(out, leaves)
    out.backward()  # the fast path: a child used twice in one dot node may sum in another order
    assert [x.grad for x in leaves] == pytest.approx(expected, rel=1e-12, abs=1e-300)


@given(expressions(max_steps=5))
def test_random_dags_have_correct_second_derivatives(expr):
    """The gradient built with create_graph=True is itself differentiated: Hessian row sums."""
    assert gradcheck(lambda *xs: Value.sum(grad(expr(*xs), xs, create_graph=True)), expr.leaves())
