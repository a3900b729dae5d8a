"""Higher-order gradients: grad(create_graph=True), backward(create_graph=True), hessian, hvp.

Per-op second derivatives and random DAGs are property-tested in test_engine_properties.py; here:
closed forms, derivatives of any order, the .grad_value semantics, Hessians against central
differences of the gradient, and Newton's method."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import Value, grad, no_grad
from puretorch_scalar.autograd import hessian, hvp
from puretorch_scalar.testing import floats


def flat(rows) -> list[float]:
    return [x for row in rows for x in row]


def nth_derivative(f, x0: float, n: int) -> float:
    x = Value(x0)
    y = f(x)
    for _ in range(n):
        (y,) = grad(y, [x], create_graph=True)
    return y.data


@pytest.mark.parametrize(
    ("f", "derivatives"),
    [
        (lambda x: x**4, lambda x: [4 * x**3, 12 * x**2, 24 * x, 24.0, 0.0]),
        (lambda x: x.sin(), lambda x: [math.cos(x), -math.sin(x), -math.cos(x), math.sin(x)]),
        (lambda x: x.exp() * x, lambda x: [math.exp(x) * (x + k) for k in (1, 2, 3)]),
        (lambda x: 1 / x, lambda x: [-1 / x**2, 2 / x**3, -6 / x**4]),
        (lambda x: x.log(), lambda x: [1 / x, -1 / x**2, 2 / x**3]),
        (lambda x: 2**x, lambda x: [2**x * math.log(2) ** k for k in (1, 2, 3)]),
    ],
)
def test_derivatives_of_any_order_match_closed_forms(f, derivatives):
    x0 = 0.7
    for n, expected in enumerate(derivatives(x0), start=1):
        assert nth_derivative(f, x0, n) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_tanh_second_derivative():
    t = math.tanh(0.3)
    assert nth_derivative(lambda x: x.tanh(), 0.3, 2) == pytest.approx(-2 * t * (1 - t * t))


def test_grad_with_create_graph_leaves_dot_grad_alone_and_returns_values():
    x = Value(3.0)
    y = x * x * x
    (g,) = grad(y, [x], create_graph=True)
    assert isinstance(g, Value) and g.data == 27.0 and x.grad == 0.0 and y.grad == 0.0
    assert g.children  # a real graph, not a constant
    (h,) = grad(g, [x])
    assert h == 18.0


def test_create_graph_builds_even_under_no_grad():
    x = Value(2.0)
    y = x * x
    with no_grad():
        (g,) = grad(y, [x], create_graph=True)
    assert grad(g, [x]) == [2.0]


def test_gradient_of_an_unused_input_is_a_zero_value():
    x, z = Value(1.0), Value(2.0)
    gx, gz = grad(x * x, [x, z], create_graph=True)
    assert isinstance(gz, Value) and gz.data == 0.0 and gx.data == 2.0


def test_backward_create_graph_exposes_grad_value_and_accumulates():
    x, w = Value(3.0), Value(2.0)
    y = w * x * x
    y.backward(create_graph=True)
    assert x.grad == 12.0 and x.grad_value.data == 12.0 and w.grad == 9.0
    gx = x.grad_value
    assert grad(gx, [x, w]) == [4.0, 6.0]  # ∂(2wx)/∂x, ∂(2wx)/∂w
    y.backward(create_graph=True)  # leaves accumulate, as a graph too
    assert x.grad == 24.0 and grad(x.grad_value, [x]) == [8.0]
    assert y.grad_value.data == 1.0  # non-leaves: this pass only


def test_grad_value_is_none_without_create_graph_and_cleared_by_zero_grad():
    x = Value(1.0)
    y = x * x
    y.backward()
    assert x.grad_value is None
    y.backward(create_graph=True)
    y.zero_grad()
    assert x.grad == 0.0 and x.grad_value is None


def test_a_hand_reset_grad_is_not_accumulated_into():
    x = Value(3.0)
    y = x * x
    y.backward(create_graph=True)
    x.grad = 0.0  # what an optimizer's zero_grad does
    y.backward(create_graph=True)
    assert x.grad == 6.0 and x.grad_value.data == 6.0


def test_hessian_of_rosenbrock():
    rosen = lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2
    assert hessian(rosen, [1.0, 1.0]) == [[802.0, -400.0], [-400.0, 200.0]]
    x0, y0 = -0.5, 2.0
    expected = [[2 - 400 * (y0 - x0 * x0) + 800 * x0 * x0, -400 * x0], [-400 * x0, 200.0]]
    assert flat(hessian(rosen, [Value(x0), y0])) == pytest.approx(flat(expected))


def f3(x, y, z):
    return (x * y).sin() + Value.dot([x, y, z], [z, x, y]) + (z**2 + 1).log() * x.abs() + (x - y).relu() * z


@given(st.lists(floats(-2, 2, avoid=(0.0,), margin=0.05), min_size=3, max_size=3))
def test_hessian_matches_central_differences_of_the_gradient(point):
    eps = 1e-6
    h = hessian(f3, point)
    assert flat(h) == pytest.approx(flat(zip(*h)), abs=1e-9)  # symmetric
    for j in range(3):
        up, down = list(point), list(point)
        up[j] += eps
        down[j] -= eps
        g_up = grad(f3(*(xs := [Value(v) for v in up])), xs)
        g_down = grad(f3(*(xs := [Value(v) for v in down])), xs)
        numeric = [(a - b) / (2 * eps) for a, b in zip(g_up, g_down)]
        if abs(point[0] - point[1]) > 0.05:  # relu's kink at x = y
            assert [h[i][j] for i in range(3)] == pytest.approx(numeric, rel=1e-4, abs=1e-4)


def test_hvp_equals_hessian_times_vector():
    v = [0.5, -1.0, 2.0]
    point = [0.3, -0.7, 1.1]
    h = hessian(f3, point)
    value, hv = hvp(f3, point, v)
    assert value == f3(*[Value(p) for p in point]).data
    assert hv == pytest.approx([sum(h[i][j] * v[j] for j in range(3)) for i in range(3)])


def test_newton_converges_on_rosenbrock_in_few_steps():
    rosen = lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2
    p = [-1.2, 1.0]
    for _ in range(10):
        xs = [Value(v) for v in p]
        g = grad(rosen(*xs), xs)
        (a, b), (c, d) = hessian(rosen, p)
        det = a * d - b * c
        p = [p[0] - (d * g[0] - b * g[1]) / det, p[1] - (-c * g[0] + a * g[1]) / det]
    assert p == pytest.approx([1.0, 1.0], abs=1e-8)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: hessian(lambda x: x, 1.0), TypeError, "inputs must be a sequence"),
        (lambda: hessian(lambda: Value(1.0), []), ValueError, "inputs is empty"),
        (lambda: hessian(lambda x: 2.0, [1.0]), TypeError, "f must return a Value"),
        (
            lambda: hessian(lambda x: x, ["a"]),
            TypeError,
            r"hessian: inputs\[0\] must be a real number, got 'a'",
        ),
        (lambda: hvp(lambda x: x, [1.0], [1.0, 2.0]), ValueError, "vector has 2 entries but there are 1"),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
