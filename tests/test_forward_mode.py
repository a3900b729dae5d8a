"""Forward mode and Jacobians (`puretorch_scalar.autograd`): jvp, vjp, jacobian in both modes,
jacfwd/jacrev, and hvp's two paths. Against central differences on random DAGs (user-defined ops
included), forward against reverse, on a deep chain, the `.grad`s left alone, the bad-input
errors, and PyTorch (`torch.func.jvp`, `torch.func.vjp`, `torch.autograd.functional`) where it
is installed."""

import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import puretorch_scalar as pts
from puretorch_scalar import Tensor, Value, autograd, grad, ops
from puretorch_scalar.autograd import hessian, hvp, jacfwd, jacobian, jacrev, jvp, vjp
from puretorch_scalar.gradcheck import numerical_grad
from puretorch_scalar.testing import expressions, floats

ATOL, RTOL = 1e-5, 1e-3  # gradcheck's: central differences against the exact derivatives


def close(analytic, numeric) -> bool:
    return all(abs(a - n) <= ATOL + RTOL * abs(n) for a, n in zip(analytic, numeric, strict=True))


def flat(rows) -> list[float]:
    return [x for row in rows for x in row]


def numerical_jacobian(f, point) -> list[list[float]]:
    """J[j][i] by central differences, one output at a time (`gradcheck.numerical_grad`)."""
    leaves = [Value(p) for p in point]
    m = len(f(*leaves))
    return [numerical_grad(lambda *xs, j=j: f(*xs)[j], leaves) for j in range(m)]


def matvec(J, t) -> list[float]:
    return [sum(row[i] * t[i] for i in range(len(t))) for row in J]


def vecmat(c, J) -> list[float]:
    return [sum(c[j] * J[j][i] for j in range(len(c))) for i in range(len(J[0]))]


tangent_entries = floats(-2, 2)


def vectors(n: int):
    return st.lists(tangent_entries, min_size=n, max_size=n)


# -- against central differences ------------------------------------------------------------------
# A random DAG's every node is an output (`Expression.nodes`: the inputs, then one per step), so f
# has n inputs and m = n + steps outputs, among them the inputs themselves and reused nodes.


@given(expressions(), st.sampled_from(["forward", "reverse"]))
def test_jacobian_matches_central_differences(expr, mode):
    J = jacobian(expr.nodes, expr.inputs, mode=mode)
    numeric = numerical_jacobian(expr.nodes, expr.inputs)
    assert len(J) == len(expr.inputs) + len(expr.steps) and all(len(row) == len(expr.inputs) for row in J)
    assert close(flat(J), flat(numeric)), (J, numeric)


@given(st.data())
def test_jvp_matches_central_differences(data):
    expr = data.draw(expressions())
    t = data.draw(vectors(len(expr.inputs)))
    values, out = jvp(expr.nodes, expr.inputs, t)
    assert values == [v.data for v in expr.nodes(*expr.leaves())]
    assert close(out, matvec(numerical_jacobian(expr.nodes, expr.inputs), t))


@given(st.data())
def test_vjp_matches_central_differences(data):
    expr = data.draw(expressions())
    m = len(expr.inputs) + len(expr.steps)
    c = data.draw(vectors(m))
    values, out = vjp(expr.nodes, expr.inputs, c)
    assert values == [v.data for v in expr.nodes(*expr.leaves())]
    assert close(out, vecmat(c, numerical_jacobian(expr.nodes, expr.inputs)))


@given(expressions())
def test_forward_and_reverse_jacobians_agree(expr):
    forward, reverse = jacfwd(expr.nodes)(*expr.inputs), jacrev(expr.nodes)(*expr.inputs)
    assert flat(forward) == pytest.approx(flat(reverse), rel=1e-9, abs=1e-12)


@given(st.data())
def test_scalar_functions_jvp_is_the_gradient_along_the_tangent_and_vjp_the_gradient(data):
    expr = data.draw(expressions())
    t = data.draw(vectors(len(expr.inputs)))
    leaves = expr.leaves()
    g = grad(expr(*leaves), leaves)
    value, out = jvp(expr, expr.inputs, t)
    assert value == expr(*leaves).data and isinstance(out, float)
    assert out == pytest.approx(sum(gi * ti for gi, ti in zip(g, t)), rel=1e-9, abs=1e-12)
    value, out = vjp(expr, expr.inputs, 2.0)  # one output: one number
    assert out == pytest.approx([2 * gi for gi in g], rel=1e-9, abs=1e-12)
    assert jacobian(expr, expr.inputs) == [pytest.approx(g, rel=1e-9, abs=1e-12)]


# -- user ops ------------------------------------------------------------------------------------


def softplus_forward(x: float) -> float:
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


@settings(max_examples=30)
@given(st.data())
def test_forward_mode_uses_the_registry_for_user_ops(data):
    """Ops defined with define_op work in forward mode without anything else: the rules come
    from the same registry records that backward uses."""
    softplus = pts.define_op("softplus", softplus_forward, lambda x, out: ops.sigmoid(x))
    pts.define_op(
        "hypot", math.hypot, lambda a, b, out: (a / out, b / out), arity=2, edge_distance=lambda a, b: abs(a)
    )
    try:
        expr = data.draw(expressions(ops=["softplus", "hypot", "*", "sum"], max_steps=6))
        t = data.draw(vectors(len(expr.inputs)))
        numeric = numerical_jacobian(expr.nodes, expr.inputs)
        assert close(jvp(expr.nodes, expr.inputs, t)[1], matvec(numeric, t))
        assert close(flat(jacobian(expr.nodes, expr.inputs, mode="forward")), flat(numeric))
        x = 0.3  # and in closed form: d softplus(x²)/dx = σ(x²)·2x
        assert jvp(lambda v: softplus(v * v), [x], [1.0])[1] == pytest.approx(2 * x / (1 + math.exp(-x * x)))
    finally:
        pts.undefine_op("softplus")
        pts.undefine_op("hypot")


# -- what forward mode does not do ---------------------------------------------------------------


def test_forward_mode_never_runs_backward(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("forward mode ran backward")

    monkeypatch.setattr(Value, "backward", refuse)
    monkeypatch.setattr(autograd, "grad", refuse)
    f = lambda x, y: [x * y, (x - y).tanh()]
    assert jvp(f, [2.0, 3.0], [1.0, 0.0]) == ([6.0, math.tanh(-1.0)], [3.0, 1 - math.tanh(-1.0) ** 2])
    assert jacobian(f, [2.0, 3.0], mode="forward")[0] == [3.0, 2.0]


def test_no_grad_is_read_or_written():
    w = Value(0.5, label="w")  # a weight f closes over, with a gradient of its own
    h = w * 3.0
    w.grad, h.grad = 7.0, -1.0
    given_as_value = Value(2.0)
    given_as_value.grad = 4.0

    def f(x, y):
        return [(h * x).sin() + y, w * y * x]

    point = [given_as_value, 1.5]
    jvp(f, point, [1.0, -1.0])
    vjp(f, point, [1.0, 2.0])
    for mode in ("forward", "reverse"):
        assert jacobian(f, point, mode=mode)[1] == pytest.approx([0.75, 1.0])
    hvp(lambda x, y: w * x * x * y, point, [1.0, 1.0], mode="forward-over-reverse")
    assert (w.grad, h.grad, given_as_value.grad) == (7.0, -1.0, 4.0)


def deep_chain(x, n=100_000):
    y = x
    for _ in range(n):  # y ← y·1.00001 + 0.5: 100,000 products and 100,000 sums
        y = y * 1.00001 + 0.5
    return y


def test_a_deep_chain_works_in_both_modes():
    slope = 1.00001**100_000  # y = slope·x + 0.5·(slope − 1)/(1.00001 − 1)
    value, tangent = jvp(deep_chain, [0.5], [2.0])
    assert value == pytest.approx(slope * 0.5 + 0.5 * (slope - 1) / 1e-5, rel=1e-6)
    assert tangent == pytest.approx(2 * slope, rel=1e-9)
    assert vjp(deep_chain, [0.5], 3.0) == (value, [pytest.approx(3 * slope, rel=1e-9)])


# -- what f may return ---------------------------------------------------------------------------


def test_outputs_a_value_a_list_a_tuple_or_a_tensor_row_major():
    f_value = lambda x, y: x * y
    f_list = lambda x, y: [x * y, x + y]
    f_tuple = lambda x, y: (x * y, x + y)
    f_tensor = lambda x, y: Tensor([[x * y, x + y], [x, y * y]])  # rows [xy, x+y], [x, y²]
    assert jvp(f_value, [2.0, 3.0], [1.0, 1.0]) == (6.0, 5.0)
    assert jvp(f_list, [2.0, 3.0], [1.0, 1.0]) == ([6.0, 5.0], [5.0, 2.0])
    assert jvp(f_tuple, [2.0, 3.0], [1.0, 1.0]) == ([6.0, 5.0], [5.0, 2.0])
    assert jvp(f_tensor, [2.0, 3.0], [1.0, 0.0]) == ([6.0, 5.0, 2.0, 9.0], [3.0, 1.0, 1.0, 0.0])
    assert vjp(f_tensor, [2.0, 3.0], [1.0, 0.0, 0.0, 1.0]) == ([6.0, 5.0, 2.0, 9.0], [3.0, 8.0])
    expected = [[3.0, 2.0], [1.0, 1.0], [1.0, 0.0], [0.0, 6.0]]
    assert jacobian(f_tensor, [2.0, 3.0]) == jacobian(f_tensor, [2.0, 3.0], mode="forward") == expected
    assert jacobian(f_value, [2.0, 3.0]) == [[3.0, 2.0]]  # always m×n, m = 1 here


def test_unused_inputs_repeated_outputs_and_constants():
    f = lambda x, y, z: [x, x * x, x * x, Value(5.0), Value.sum([])]  # y, z unused; an output twice
    expected = [[1.0, 0.0, 0.0], [4.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0] * 3, [0.0] * 3]
    for mode in ("forward", "reverse"):
        assert jacobian(f, [2.0, 1.0, 1.0], mode=mode) == expected
    g = lambda x: [x * x, x * x]
    same = lambda x: [(y := x * x), y]  # the same node twice: cotangents add up
    assert vjp(g, [3.0], [1.0, 1.0])[1] == vjp(same, [3.0], [1.0, 1.0])[1] == [12.0]


def test_jacfwd_and_jacrev_take_fs_arguments():
    f = lambda a, b: [a * b, a.exp()]
    assert jacfwd(f)(1.0, 2.0) == jacrev(f)(1.0, 2.0) == [[2.0, 1.0], [math.e, 0.0]]
    assert pts.jacobian is jacobian and pts.jvp is jvp and pts.vjp is vjp


def test_the_api_page_example_runs(capsys):
    page = (Path(__file__).resolve().parents[1] / "docs" / "api" / "engine.md").read_text(encoding="utf-8")
    (code,) = [block for block in re.findall(r"```python\n(.*?)```", page, re.S) if "jvp(polar" in block]
    exec(compile(code, "docs/api/engine.md", "exec"), {})
    column, same = capsys.readouterr().out.splitlines()
    assert column == str(([2 * math.cos(0.5), 2 * math.sin(0.5)], [-2 * math.sin(0.5), 2 * math.cos(0.5)]))
    assert same == "True"


def test_primals_may_be_values_whose_data_is_used():
    x = Value(2.0)
    assert jvp(lambda v: v * v, [x], [1.0]) == (4.0, 4.0)
    assert x.grad == 0.0 and not x.children


# -- second derivatives --------------------------------------------------------------------------


def f3(x, y, z):
    return (x * y).sin() + Value.dot([x, y, z], [z, x, y]) + (z**2 + 1).log() * x.abs() + (x - y).relu() * z


@given(expressions(max_steps=5), st.data())
def test_hvp_forward_over_reverse_agrees_with_reverse_over_reverse(expr, data):
    v = data.draw(vectors(len(expr.inputs)))
    value, forward = hvp(expr, expr.inputs, v, mode="forward-over-reverse")
    value2, reverse = hvp(expr, expr.inputs, v)
    assert value == value2
    assert forward == pytest.approx(reverse, rel=1e-9, abs=1e-9)


def test_hvp_both_paths_equal_hessian_times_vector():
    v, point = [0.5, -1.0, 2.0], [0.3, -0.7, 1.1]
    expected = matvec(hessian(f3, point), v)
    for mode in ("reverse-over-reverse", "forward-over-reverse"):
        value, hv = hvp(f3, point, v, mode=mode)
        assert value == f3(*[Value(p) for p in point]).data
        assert hv == pytest.approx(expected)


def rosenbrock(a, b):
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2


@pytest.mark.parametrize(("f", "point"), [(f3, [0.3, -0.7, 1.1]), (rosenbrock, [-1.2, 1.0])])
def test_the_hessian_is_the_forward_jacobian_of_the_gradient(f, point):
    gradient = lambda *xs: grad(f(*xs), xs, create_graph=True)  # Values: a graph to sweep
    assert flat(jacobian(gradient, point, mode="forward")) == pytest.approx(flat(hessian(f, point)))


def test_constants_carry_no_tangent():
    """∂(aᵇ)/∂b is NaN for a < 0 (no real log): with b a constant it must not reach the sum, as
    in PyTorch, where a constant's tangent is undefined rather than 0 (NaN · 0 = NaN)."""
    assert jvp(lambda x: (x - 3) ** 2, [1.0], [1.0]) == (4.0, -4.0)
    assert jacobian(lambda x: [(x - 3) ** 2], [1.0], mode="forward") == [[-4.0]]
    value, hv = hvp(rosenbrock, [-1.2, 1.0], [1.0, 0.5], mode="forward-over-reverse")
    assert hv == pytest.approx(hvp(rosenbrock, [-1.2, 1.0], [1.0, 0.5])[1]) and not any(map(math.isnan, hv))


# -- bad input -----------------------------------------------------------------------------------

two = lambda x, y: [x * y, x + y, x - y]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: jvp(two, [1.0, 2.0], [1.0]),
            ValueError,
            r"jvp: 1 tangent for 2 primals; give one tangent per primal",
        ),
        (lambda: jvp(two, [1.0, 2.0], [1.0, 0.0, 0.0]), ValueError, r"jvp: 3 tangents for 2 primals"),
        (
            lambda: vjp(two, [1.0, 2.0], [1.0, 0.0]),
            ValueError,
            r"vjp: 2 cotangents for 3 outputs; give one cotangent per output",
        ),
        (lambda: vjp(lambda x: x, [1.0], [1.0, 2.0]), ValueError, r"vjp: 2 cotangents for 1 output;"),
        (
            lambda: jvp(two, [1.0, "2"], [1.0, 0.0]),
            TypeError,
            r"jvp: primals\[1\] must be a real number, got '2'",
        ),
        (
            lambda: jvp(two, [1.0, 2.0], [1.0, None]),
            TypeError,
            r"jvp: tangents\[1\] must be a real number, got None",
        ),
        (
            lambda: vjp(two, [1.0, 2.0], [1, 2, "c"]),
            TypeError,
            r"vjp: cotangents\[2\] must be a real number, got 'c'",
        ),
        (lambda: jvp(two, [1.0, 2.0], 1.0), TypeError, r"jvp: tangents must be a sequence of numbers"),
        (lambda: jvp(two, 1.0, [1.0]), TypeError, r"jvp: primals must be a sequence of numbers"),
        (lambda: vjp(two, [1.0, 2.0], "abc"), TypeError, r"vjp: cotangents must be a sequence of numbers"),
        (lambda: jacobian(two, [], mode="forward"), ValueError, r"jacobian: primals is empty"),
        (
            lambda: jacobian(two, [1.0, 2.0], mode="fwd"),
            ValueError,
            r"jacobian: mode must be one of \('reverse', 'forward'\), got 'fwd'",
        ),
        (
            lambda: jacobian(lambda x: 2.0, [1.0]),
            TypeError,
            r"jacobian: f must return a Value, a list of Values or a Tensor, not float: 2.0",
        ),
        (
            lambda: jvp(lambda x: [x, 2.0], [1.0], [1.0]),
            TypeError,
            r"jvp: f must return .*; its list holds a float at index 1: 2.0",
        ),
        (
            lambda: vjp(lambda x: None, [1.0], [1.0]),
            TypeError,
            r"vjp: f must return a Value, a list of Values or a Tensor, not NoneType",
        ),
        (
            lambda: hvp(lambda x: x * x, [1.0], [1.0], mode="forward"),
            ValueError,
            r"hvp: mode must be one of \('reverse-over-reverse', 'forward-over-reverse'\)",
        ),
        (
            lambda: jvp(two, [1.0, float("nan")], [1.0, 1.0]),
            ValueError,
            r"jvp: primals\[1\] must be a real number, got nan",
        ),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_failing_rule_is_named():
    pts.define_op("broken", lambda x: x, lambda x, out: 1.0 / 0.0)
    try:
        with pytest.raises(ZeroDivisionError) as info:
            jvp(lambda x: x.broken(), [1.0], [1.0])
        assert "op 'broken'" in "".join(info.value.__notes__)
    finally:
        pts.undefine_op("broken")


# -- PyTorch as an oracle ------------------------------------------------------------------------

torch_oracle = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def g(x, y, z):
    """Written once for both engines: Values and torch tensors have the same methods."""
    return (
        x * y + z.sin(),
        (x / z).exp() - y.tanh(),
        (x * x + y * y).sqrt() * z.sigmoid(),
        (x * z).abs().log(),
    )


def float64(xs):
    """The numbers xs as a tuple of float64 torch tensors (for tests that have imported torch)."""
    torch = pytest.importorskip("torch")
    return tuple(torch.tensor(x, dtype=torch.float64) for x in xs)


point3 = st.tuples(floats(-2, 2, avoid=(0,), margin=0.1), floats(-2, 2), floats(0.2, 2))


@torch_oracle
@settings(max_examples=20)
@given(point3, vectors(3))
def test_jvp_matches_torch_func_jvp(point, t):
    torch = pytest.importorskip("torch")
    expected_values, expected = torch.func.jvp(g, float64(point), float64(t))
    values, out = jvp(g, point, t)
    assert values == pytest.approx([v.item() for v in expected_values], rel=1e-12)
    assert out == pytest.approx([v.item() for v in expected], rel=1e-10, abs=1e-12)


@torch_oracle
@settings(max_examples=20)
@given(point3, vectors(4))
def test_vjp_matches_torch_func_vjp(point, c):
    torch = pytest.importorskip("torch")
    _, pullback = torch.func.vjp(g, *float64(point))
    expected = pullback(float64(c))
    assert vjp(g, point, c)[1] == pytest.approx([v.item() for v in expected], rel=1e-10, abs=1e-12)


@torch_oracle
@settings(max_examples=20)
@given(point3, st.sampled_from(["forward", "reverse"]))
def test_jacobian_matches_torch_autograd_functional_jacobian(point, mode):
    torch = pytest.importorskip("torch")
    expected = torch.autograd.functional.jacobian(g, float64(point))  # expected[j][i] = ∂gⱼ/∂xᵢ
    J = jacobian(g, point, mode=mode)
    assert flat(J) == pytest.approx([e.item() for row in expected for e in row], rel=1e-10, abs=1e-12)


@torch_oracle
def test_hvp_matches_torch_autograd_functional_hvp():
    torch = pytest.importorskip("torch")
    point, v = [0.3, -0.7, 1.1], [0.5, -1.0, 2.0]
    scalar = lambda x, y, z: sum(g(x, y, z))
    _, expected = torch.autograd.functional.hvp(scalar, float64(point), float64(v))
    for mode in ("reverse-over-reverse", "forward-over-reverse"):
        assert hvp(scalar, point, v, mode=mode)[1] == pytest.approx([e.item() for e in expected], rel=1e-10)
