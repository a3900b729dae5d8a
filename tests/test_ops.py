"""The op registry: one record per op, and everything made from it (methods, backward, create_graph,
drawing, captions, random expressions); `define_op` / `undefine_op` end to end; the reference
backward in engine.py against the fast path."""

import math
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import puretorch_scalar as pts
from puretorch_scalar import Tensor, Value, grad, no_grad, ops
from puretorch_scalar.engine import reference_backward, topological_order
from puretorch_scalar.gradcheck import GradcheckError, gradcheck
from puretorch_scalar.testing import assert_grads_close, expressions, floats
from puretorch_scalar.viz import backward_steps, draw_graph

ROOT = Path(__file__).resolve().parents[1]


def softplus_forward(x):
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


@contextmanager
def user_ops():
    """Two ops of a user's: softplus, and hypot(a, b) = √(a² + b²) (∂/∂a = a/out, ∂/∂b = b/out;
    kept away from a = 0, where out can be 0)."""
    defined = (
        pts.define_op("softplus", softplus_forward, lambda x, out: ops.sigmoid(x), symbol="softplus⁺"),
        pts.define_op(
            "hypot",
            math.hypot,
            lambda a, b, out: (a / out, b / out),
            arity=2,
            edge_distance=lambda a, b: abs(a),
        ),
    )
    try:
        yield defined
    finally:
        pts.undefine_op("softplus")
        pts.undefine_op("hypot")


@pytest.fixture
def softplus():
    with user_ops() as (f, _):
        yield f


@pytest.fixture
def hypot():
    with user_ops() as (_, f):
        yield f


# -- the registry -------------------------------------------------------------------------------


def test_every_record_has_what_the_package_reads_from_it():
    for record in ops.records():
        assert callable(record.forward) and callable(record.derivative)
        assert record.arity in (0, 1, 2) and record.symbol and record.caption
        assert ops.get(record.name) is record


def test_value_and_tensor_methods_are_the_registry_ops():
    for record in ops.records():
        for name in record.methods:
            assert callable(getattr(Value, name)) and callable(getattr(Tensor, name)), name
    assert {"sin", "cos", "sqrt", "abs", "sigmoid"} <= set(dir(Tensor))


@pytest.mark.parametrize("record", [r for r in ops.records() if r.arity == 1], ids=lambda r: r.name)
def test_each_unary_method_computes_the_forward_and_records_the_node(record):
    x = Value(0.5)
    out = getattr(x, record.methods[0])()
    assert (out.data, out.op, out.children, out.label, out.grad) == (
        record.forward(0.5),
        record.name,
        (x,),
        "",
        0.0,
    )
    with no_grad():
        assert getattr(x, record.methods[0])().children == ()
    t = getattr(Tensor([[0.5, 2.0]]), record.methods[0])()
    assert t.shape == (1, 2) and t.tolist() == [[record.forward(0.5), record.forward(2.0)]]


@pytest.mark.parametrize("record", [r for r in ops.records() if r.arity == 2], ids=lambda r: r.name)
def test_each_binary_method_lifts_numbers_on_the_side_they_were_written(record):
    forward, reflected = (getattr(Value, name) for name in record.methods)
    a, b = Value(1.5), Value(2.0)
    out = forward(a, b)
    assert (out.data, out.op, out.children) == (record.forward(1.5, 2.0), record.name, (a, b))
    out = forward(a, 3)
    assert out.data == record.forward(1.5, 3.0) and out.children[0] is a and out.children[1].data == 3.0
    out = reflected(a, 3)
    assert out.data == record.forward(3.0, 1.5) and out.children[1] is a and out.children[0].data == 3.0
    assert forward(a, "x") is NotImplemented and reflected(a, None) is NotImplemented
    t = Tensor([[1.0], [2.0]])
    assert getattr(Tensor, record.methods[0])(t, Tensor([3.0, 4.0])).shape == (2, 2)
    assert getattr(Tensor, record.methods[1])(t, 3.0).tolist() == [
        [record.forward(3.0, 1.0)],
        [record.forward(3.0, 2.0)],
    ]


def test_ops_functions_take_floats_values_and_tensors():
    assert ops.exp(1.0) == math.e and ops.pow(2, 10) == 1024.0 and ops.div(1.0, 0.0) == math.inf
    x = Value(2.0)
    y = ops.mul(3, ops.sin(x))
    assert y.op == "*" and y.data == 3 * math.sin(2.0) and y.children[1].op == "sin"
    assert ops.tanh(Tensor([0.0, 1.0])).tolist() == [0.0, math.tanh(1.0)]
    assert ops.add(Tensor([[1.0], [2.0]]), Tensor([10.0, 20.0])).tolist() == [[11.0, 21.0], [12.0, 22.0]]
    assert ops.function("dot")(x, 2.0, 3.0, x).data == 2 * 3 + 2 * 2
    with pytest.raises(TypeError, match=r"exp: takes 1 operand\(s\), got 2"):
        ops.exp(1.0, 2.0)
    with pytest.raises(TypeError, match="exp: entries must be Values or numbers, not str"):
        ops.exp("one")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ops.nope  # noqa: B018


def test_unknown_op_names_a_key_error_listing_the_ops():
    with pytest.raises(KeyError, match="no op named 'tan' is defined; the ops are"):
        ops.get("tan")


# -- define_op end to end -----------------------------------------------------------------------


@given(floats(-4, 4))
def test_a_user_op_gets_value_and_tensor_methods_and_gradients(x):
    f = pts.define_op("softplus", softplus_forward, lambda x, out: ops.sigmoid(x))
    try:
        assert Value(x).softplus().data == pytest.approx(math.log1p(math.exp(x)), rel=1e-12)
        assert f(x) == Value(x).softplus().data and f(Value(x)).op == "softplus"
        assert Tensor([[x, 1.0]]).softplus().tolist() == [[f(x), f(1.0)]]
        assert_grads_close(lambda v: v.softplus() * v, [x])
        assert_grads_close(lambda v: Tensor([[v, v * 2]]).softplus().sum(), [x])
        # second derivative, through grad(create_graph=True): d²/dx² softplus = σ(x)(1 − σ(x))
        v, s = Value(x), 1 / (1 + math.exp(-x))
        (dg,) = grad(grad(v.softplus(), [v], create_graph=True)[0], [v])
        assert dg == pytest.approx(s * (1 - s), rel=1e-9, abs=1e-12)
    finally:
        pts.undefine_op("softplus")


def test_a_user_binary_op_broadcasts_and_has_second_derivatives(hypot):
    a, b = Tensor([[3.0], [5.0]]), Tensor([4.0, 12.0])
    out = a.hypot(b)
    assert out.shape == (2, 2) and out.tolist() == [[5.0, math.hypot(3, 12)], [math.hypot(5, 4), 13.0]]
    assert hypot(3.0, 4.0) == 5.0 and hypot(Value(3.0), 4.0).data == 5.0 and hypot(3, Value(4.0)).data == 5.0
    assert_grads_close(lambda x, y: x.hypot(y), [3.0, 4.0])
    assert_grads_close(lambda x, y: (Tensor([x, y]).hypot(Tensor([[y], [x]])) * 2).sum(), [1.5, -2.0])
    assert_grads_close(lambda x, y: Value.sum(grad(x.hypot(y), [x, y], create_graph=True)), [3.0, 4.0])


def test_a_user_op_is_drawn_and_captioned(softplus):
    x = Value(0.5, label="x")
    y = (x * 2).softplus()
    y.label = "y"
    assert "softplus⁺" in draw_graph(y).source
    steps = backward_steps(y)
    assert "∂softplus/∂x: the rule given to define_op" in steps[1].caption
    assert "back through the softplus⁺ that made y" in steps[1].caption
    assert steps[-1].grads[x] == pytest.approx(2 / (1 + math.exp(-1.0)), rel=1e-12)


@settings(max_examples=30)
@given(st.data())
def test_expressions_draw_user_ops_and_their_gradients_check(data):
    with user_ops():
        expr = data.draw(expressions(ops=["softplus", "hypot", "*"], max_steps=5))
        assert_grads_close(expr, list(expr.inputs))


def test_expressions_draw_user_ops_by_default():
    quick = settings(max_examples=2000, phases=[Phase.generate], database=None)
    with user_ops():
        for op in ("softplus", "hypot"):
            expr = find(expressions(), lambda e, op=op: any(s == op for s, _ in e.steps), settings=quick)
            assert f".{op}(" in repr(expr)


def test_undefine_op_removes_everything():
    pts.define_op("softplus", softplus_forward, lambda x, out: ops.sigmoid(x))
    y = Value(1.0).softplus()
    pts.undefine_op("softplus")
    assert not hasattr(Value, "softplus") and not hasattr(Tensor, "softplus")
    assert "softplus" not in ops.names()
    with pytest.raises(AttributeError):
        ops.softplus  # noqa: B018
    with pytest.raises(KeyError, match="op 'softplus' is not defined"):
        y.backward()
    assert "softplus" in draw_graph(y).source  # still drawn, by name
    with pytest.raises(ValueError, match="unknown ops"):
        expressions(ops=["softplus"])


def test_replace_swaps_a_built_in_rule_and_undefine_restores_it():
    original = ops.get("cos")
    pts.define_op("cos", original.forward, lambda x, out: ops.sin(x), replace=True)  # the bug: + sin x
    try:
        with pytest.raises(GradcheckError, match="x0"):
            gradcheck(lambda v: v.cos(), [Value(1.0, "x0")])
        assert ops.get("cos").symbol == original.symbol and ops.get("cos").caption == original.caption
    finally:
        pts.undefine_op("cos")
    assert ops.get("cos") is original
    assert gradcheck(lambda v: v.cos(), [Value(1.0)])


def test_replace_of_a_user_op_takes_effect_in_value_and_tensor(softplus):
    pts.define_op("softplus", lambda x: 2.0 * x, lambda x, out: 2.0, replace=True)
    x = Value(3.0)
    y = x.softplus()
    y.backward()
    assert (y.data, x.grad, Tensor([1.0]).softplus().tolist()) == (6.0, 2.0, [2.0])


# -- define_op's errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(name=3), TypeError, "name must be a str, not int"),
        (
            dict(name="soft plus"),
            ValueError,
            r"define_op\('soft plus'\): the name must be a Python identifier",
        ),
        (dict(name="lambda"), ValueError, "must be a Python identifier"),
        (
            dict(name="exp"),
            ValueError,
            r"define_op\('exp'\): an op of that name exists already; pass replace=True",
        ),
        (dict(name="data"), ValueError, r"would shadow Value.data"),
        (dict(name="reshape"), ValueError, r"would shadow Tensor.reshape"),
        (dict(name="names"), ValueError, r"would shadow pts.ops.names"),
        (dict(name="add"), ValueError, r"would shadow pts.ops.add"),
        (dict(forward=2.0), TypeError, "forward must be callable, not float"),
        (dict(derivative=None), TypeError, "derivative must be callable, not NoneType"),
        (dict(arity=3), ValueError, "arity must be 1 or 2, got 3"),
        (dict(arity=True), TypeError, "arity must be an int, not bool"),
        (dict(forward=lambda a, b: a), TypeError, r"forward must take 1 argument\(s\) \(x\) for arity 1"),
        (dict(derivative=lambda x: 1.0), TypeError, r"derivative must take 2 argument\(s\) \(x, out\)"),
        (dict(arity=2), TypeError, r"forward must take 2 argument\(s\) \(a, b\) for arity 2"),
        (dict(symbol=1), TypeError, "symbol must be a str, not int"),
        (
            dict(
                name="exp",
                arity=2,
                forward=lambda a, b: a,
                derivative=lambda a, b, out: (1.0, 0.0),
                replace=True,
            ),
            ValueError,
            "has arity 1; a replacement must too, not 2",
        ),
    ],
)
def test_bad_definitions_raise_naming_the_problem_and_change_nothing(kwargs, error, message):
    before = ops.records()
    args = dict(name="softplus", forward=softplus_forward, derivative=lambda x, out: ops.sigmoid(x)) | kwargs
    name = args.pop("name")
    with pytest.raises(error, match=message):
        pts.define_op(name, **args)
    assert ops.records() == before and not hasattr(Value, "softplus")


def test_a_rule_that_only_works_on_floats_fails_under_create_graph_naming_the_op():
    pts.define_op("softplus", softplus_forward, lambda x, out: 1 / (1 + math.exp(-x)))
    try:
        x = Value(0.5)
        x.softplus().backward()  # floats: fine
        assert x.grad == pytest.approx(1 / (1 + math.exp(-0.5)))
        with pytest.raises(TypeError, match=r"rule of op 'softplus' failed on Values.*pts.ops functions"):
            grad(x.softplus(), [x], create_graph=True)
    finally:
        pts.undefine_op("softplus")


def test_undefine_op_refuses_built_ins_and_unknown_names():
    with pytest.raises(ValueError, match="'exp' is a built-in op and cannot be removed"):
        pts.undefine_op("exp")
    with pytest.raises(KeyError, match="no op named 'tan'"):
        pts.undefine_op("tan")


def test_a_failing_float_rule_says_which_op_it_was():
    pts.define_op("softplus", softplus_forward, lambda x, out: (1.0, 2.0))  # a tuple for arity 1
    try:
        y = Value(0.5).softplus() * 2
        with pytest.raises(TypeError) as info:
            y.backward()
        assert "derivative rule of op 'softplus'" in "".join(info.value.__notes__)
    finally:
        pts.undefine_op("softplus")


# -- the reference backward is what the fast path computes ----------------------------------------


def _grads(expr, backward):
    xs = expr.leaves()
    out = expr(*xs)
    backward(out)
    return [x.grad for x in xs], {id(n): n.grad for n in topological_order(out)}


def _reuses_inside_a_dot(expr) -> bool:
    """Whether a dot node has a child twice: the fast path adds that child's contributions pair
    by pair, the reference x's first, so the last bit of their sum may differ."""
    return any(op == "dot" and len(set(args)) < len(args) for op, args in expr.steps)


@settings(max_examples=200)
@given(expressions(max_steps=10), st.sampled_from([1.0, -0.5]))
def test_reference_and_fast_backward_give_identical_gradients(expr, seed):
    fast = _grads(expr, lambda out: out.backward(seed))
    reference = _grads(expr, lambda out: reference_backward(out, seed))
    if _reuses_inside_a_dot(expr):
        assert fast[0] == pytest.approx(reference[0], rel=1e-12, abs=1e-300)
    else:
        assert fast[0] == reference[0]
        assert sorted(fast[1].values()) == sorted(reference[1].values())


@settings(max_examples=50)
@given(st.data())
def test_reference_and_fast_backward_agree_on_user_ops(data):
    with user_ops():
        expr = data.draw(expressions(ops=["softplus", "hypot", "*", "dot", "sum", "tanh"], max_steps=10))
        fast, reference = _grads(expr, Value.backward)[0], _grads(expr, reference_backward)[0]
        assert fast == (
            pytest.approx(reference, rel=1e-12, abs=1e-300) if _reuses_inside_a_dot(expr) else reference
        )


def test_topological_order_of_several_roots_visits_shared_nodes_once():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d, e = c + a, c.exp()
    order = topological_order(d, e)
    assert len(order) == len(set(order)) == 5
    assert all(order.index(child) < order.index(node) for node in order for child in node.children)
    assert topological_order() == []


def test_reference_backward_accumulates_into_leaves_like_backward():
    x = Value(2.0)
    y = x * x + x
    reference_backward(y)
    reference_backward(y)
    assert (x.grad, y.grad) == (10.0, 1.0)


# -- "adding an operation means adding one row" ---------------------------------------------------


def test_adding_one_row_to_the_table_adds_the_op_everywhere(tmp_path):
    """docs/concepts.md's promise, on a copy of the package with a `tan` row added to BUILTINS."""
    copy = tmp_path / "puretorch_scalar"
    shutil.copytree(ROOT / "puretorch_scalar", copy, ignore=shutil.ignore_patterns("__pycache__"))
    source = (copy / "ops.py").read_text(encoding="utf-8")
    row = '    Op("tan", math.tan, lambda x, out: 1.0 + out * out, caption="∂tan x/∂x = 1 + tan²x"),\n'
    marker = "    # n-ary (arity 0)"
    assert marker in source
    (copy / "ops.py").write_text(source.replace(marker, row + marker, 1), encoding="utf-8")
    script = """
import math
from hypothesis import Phase, find, given, settings
from puretorch_scalar import Tensor, Value, grad, ops
from puretorch_scalar.testing import assert_grads_close, expressions
from puretorch_scalar.viz import backward_steps, draw_graph

x = Value(0.3, label="x")
y = x.tan()
assert y.data == math.tan(0.3) and ops.tan(0.3) == math.tan(0.3)
assert Tensor([0.1, 0.2]).tan().tolist() == [math.tan(0.1), math.tan(0.2)]
assert_grads_close(lambda v: v.tan() * v, [0.3])
assert_grads_close(lambda v: grad(v.tan(), [v], create_graph=True)[0], [0.3])
assert "tan" in draw_graph(y).source
assert "1 + tan²x" in backward_steps(y)[1].caption

@settings(max_examples=20)
@given(expressions(ops=["tan", "*"], min_value=-0.5, max_value=0.5, max_steps=4))
def check(expr):
    assert_grads_close(expr, list(expr.inputs))

check()
print("ok")
"""
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
