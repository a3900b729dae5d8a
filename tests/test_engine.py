"""The engine's semantics: construction, operators, gradient accumulation, deep graphs, no_grad,
grad(), and every error a user can trigger. Per-op gradients against central differences live in
test_engine_properties.py."""

import math
import threading

import pytest

from puretorch_scalar import Value, grad, is_grad_enabled, no_grad
from puretorch_scalar.engine import Constant, topological_order

np = pytest.importorskip("numpy")


# -- construction -------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [3, 3.0, True, np.float64(3.0), np.int64(3), np.float32(3.0)])
def test_numbers_are_stored_as_plain_floats(data):
    v = Value(data)
    assert type(v.data) is float and v.data == float(data)
    assert v.grad == 0.0 and v.op == "" and v.children == () and v.label == ""


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], 1 + 2j, {}, Value(1.0)])
def test_non_numbers_raise_type_error_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


@pytest.mark.parametrize("bad", ["x", None, [1.0], 1j])
def test_operators_reject_non_numbers(bad):
    v = Value(1.0)
    for op in (lambda: v + bad, lambda: v / bad, lambda: v**bad, lambda: bad - v):
        with pytest.raises(
            TypeError, match=f"'Value' and '{type(bad).__name__}'|'{type(bad).__name__}' and 'Value'"
        ):
            op()
    with pytest.raises(TypeError, match="Value"):  # str/list * Value: Python's sequence-repeat message
        bad * v


def test_nodes_record_op_and_children():
    a, b = Value(2.0), Value(3.0)
    c = a * b
    assert c.op == "*" and c.children == (a, b) and c.data == 6.0
    d = 2 * a
    assert d.op == "*" and isinstance(d.children[0], Constant) and d.children[1] is a
    assert (a.tanh()).op == "tanh" and Value.sum([a, b]).op == "sum" and Value.dot([a], [b]).op == "dot"


def test_repr_float_item_and_comparisons():
    v = Value(1.5, label="w")
    assert repr(v) == "Value(data=1.5, grad=0, label='w')"
    assert repr(Value(2.0)) == "Value(data=2, grad=0)"
    assert float(v) == 1.5 and v.item() == 1.5
    assert v < 2 and v <= 1.5 and v > Value(1.0) and v >= 1.5 and not v > 1.5
    assert isinstance(v < 2, bool)


def test_equality_and_hash_are_identity():
    a, b = Value(1.0), Value(1.0)
    assert a != b and a == a and len({a, b}) == 2
    assert {a: 1}[a] == 1


# -- forward values -----------------------------------------------------------------------------


def test_forward_values_of_every_operator():
    a, b = Value(3.0), Value(-2.0)
    assert (a + b).data == 1.0 and (a - b).data == 5.0 and (a * b).data == -6.0
    assert (a / b).data == -1.5 and (a**b).data == pytest.approx(1 / 9) and (-a).data == -3.0
    assert (1 - a).data == -2.0 and (6 / a).data == 2.0 and (2**a).data == 8.0 and (a**2).data == 9.0
    x = Value(0.5)
    for name, f in [("exp", math.exp), ("log", math.log), ("tanh", math.tanh), ("sqrt", math.sqrt),
                    ("sin", math.sin), ("cos", math.cos), ("abs", abs)]:  # fmt: skip
        assert getattr(x, name)().data == pytest.approx(f(0.5))
    assert x.sigmoid().data == pytest.approx(1 / (1 + math.exp(-0.5)))
    assert Value(-1.0).relu().data == 0.0 and Value(2.0).relu().data == 2.0 and abs(Value(-2.0)).data == 2.0


def test_sum_and_dot_are_single_n_ary_nodes():
    xs = [Value(float(i)) for i in range(5)]
    s = Value.sum(xs)
    assert s.data == 10.0 and s.children == tuple(xs)
    d = Value.dot(xs, [1, 2, 3, 4, 5])
    assert d.data == 0 + 2 + 6 + 12 + 20 and len(d.children) == 10 and d.children[:5] == tuple(xs)
    d.backward()
    assert [x.grad for x in xs] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert Value.sum([]).data == 0.0 and Value.sum([]).op == ""


def test_ieee_semantics_instead_of_python_exceptions():
    assert Value(1.0).exp().data == 1.0 * math.e
    assert Value(1000.0).exp().data == math.inf  # not OverflowError
    assert (Value(1.0) / 0).data == math.inf and (Value(-1.0) / 0).data == -math.inf
    assert math.isnan((Value(0.0) / 0).data)
    assert (Value(0.0) ** -1).data == math.inf
    assert (Value(10.0) ** 400).data == math.inf and (Value(-10.0) ** 401).data == -math.inf
    assert Value(-1000.0).sigmoid().data == pytest.approx(0.0) and Value(1000.0).sigmoid().data == 1.0


def test_nan_propagates_without_crashing():
    n = Value(math.nan)
    for y in (n + 1, n * 2, n.exp(), n.log(), n.sqrt(), n.tanh(), n.relu(), n.sin(), n**2, 2**n):
        assert math.isnan(y.data)
        y.backward()
    assert math.isnan(Value(math.inf).sin().data)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Value(0.0).log(), "log: input 0.0 is not positive"),
        (lambda: Value(-2.5).log(), "log: input -2.5"),
        (lambda: Value(-1.0).sqrt(), "sqrt: input -1.0 is negative"),
        (lambda: Value(-8.0) ** (1 / 3), "negative base -8.0 with non-integer exponent"),
        (lambda: Value(-8.0) ** Value(0.5), "negative base -8.0"),
        (lambda: (-2) ** Value(0.5), "negative base -2.0"),
        (lambda: Value.dot([1, 2], [3]), "lengths differ: 2 and 1"),
    ],
)
def test_domain_errors_raise_value_error_with_the_offending_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_negative_base_with_integer_exponent_is_fine():
    x = Value(-2.0)
    y = x**3
    y.backward()
    assert y.data == -8.0 and x.grad == 12.0


def test_n_ary_nodes_reject_non_numbers():
    with pytest.raises(TypeError, match="sum: entries must be Values or numbers, not str"):
        Value.sum([Value(1.0), "2"])
    with pytest.raises(TypeError, match="dot: .*NoneType"):
        Value.dot([None], [1.0])


# -- backward semantics (the bugs the original blog post admits to) ---------------------------


def test_reused_node_sums_over_paths():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0 and b.grad == 2.0


def test_diamond():
    x = Value(2.0)
    y = x * 3
    z = x.exp()
    out = y * z
    out.backward()
    assert x.grad == pytest.approx(3 * math.exp(2) + 6 * math.exp(2))


def test_leaves_accumulate_non_leaves_hold_the_latest_pass():
    a, b = Value(2.0), Value(3.0)
    c = a * b
    d = c + a
    d.backward()
    assert (a.grad, b.grad, c.grad, d.grad) == (4.0, 2.0, 1.0, 1.0)
    d.backward()
    assert (a.grad, b.grad) == (8.0, 4.0)  # leaves doubled
    assert (c.grad, d.grad) == (1.0, 1.0)  # non-leaves: the latest pass only
    d.zero_grad()
    assert (a.grad, b.grad, c.grad, d.grad) == (0.0, 0.0, 0.0, 0.0)


def test_backward_from_an_inner_node_only_touches_the_graph_below_it():
    a, b = Value(2.0), Value(3.0)
    c = a * b
    d = c * 10
    d.backward()
    c.backward()  # c's grad is now from this pass; leaves accumulate 10·b + b
    assert c.grad == 1.0 and a.grad == 33.0 and d.grad == 1.0


def test_backward_gradient_argument_scales_everything():
    a = Value(2.0)
    y = a * a
    y.backward(gradient=0.5)
    assert y.grad == 0.5 and a.grad == 2.0
    with pytest.raises(TypeError, match="backward gradient must be an int or float, not str"):
        y.backward("1")


def test_backward_on_a_leaf_accumulates_the_seed():
    a = Value(1.0)
    a.backward()
    a.backward(2.0)
    assert a.grad == 3.0


def test_million_node_chain_has_no_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0000001
    y.backward()
    assert x.grad == pytest.approx(1.0000001**1_000_000, rel=1e-9)
    assert len(topological_order(y)) == 2_000_001  # the chain plus one Constant per step


def test_topological_order_puts_children_first_and_visits_shared_nodes_once():
    a = Value(1.0)
    b = a * 2
    c = a + b
    order = topological_order(c * b)
    assert len(order) == len(set(order))
    pos = {v: i for i, v in enumerate(order)}
    for v in order:
        assert all(pos[ch] < pos[v] for ch in v.children)


def test_a_node_shared_by_the_root_and_a_deeper_node_comes_before_both():
    # e is a child of the root and of the sum: it must be processed after both (softmax's shape)
    v = Value(0.0)
    e = (v - 0.0).exp()
    (e / Value.sum([e])).backward()
    assert v.grad == 0.0
    order = topological_order(e / Value.sum([e]))
    assert order.index(e) < order.index(order[-1].children[1])


def test_detach_makes_a_leaf():
    a = Value(2.0, label="a")
    b = (a * 3).detach()
    assert b.data == 6.0 and b.children == () and b.op == ""
    (b * a).backward()
    assert a.grad == 6.0 and b.grad == 0.0 and not b.requires_grad  # as PyTorch: detach() needs no gradient


# -- no_grad ------------------------------------------------------------------------------------


def test_no_grad_builds_no_graph_and_nests():
    a = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        with no_grad():
            b = a * 3
        c = b.exp() + a
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert b.children == () and c.children == () and c.op == ""
    assert (a * 3).children != ()


def test_no_grad_as_decorator_and_restored_after_an_exception():
    @no_grad()
    def f(x):
        return x * 2

    assert f(Value(1.0)).children == ()
    with pytest.raises(ZeroDivisionError), no_grad():
        raise ZeroDivisionError
    assert is_grad_enabled()


def test_no_grad_is_per_thread():
    seen = []
    with no_grad():
        t = threading.Thread(target=lambda: seen.append((Value(1.0) * 2).children != ()))
        t.start()
        t.join()
    assert seen == [True]


# -- grad() ------------------------------------------------------------------------------------


def test_grad_returns_floats_without_touching_dot_grad():
    a, b = Value(2.0), Value(3.0)
    a.grad = 7.0
    y = a * b + a.sin()
    ga, gb = grad(y, [a, b])
    assert ga == pytest.approx(3.0 + math.cos(2.0)) and gb == 2.0
    assert a.grad == 7.0 and b.grad == 0.0 and y.grad == 0.0


def test_grad_of_an_unused_input_is_zero_and_bad_arguments_raise():
    a, b = Value(2.0), Value(3.0)
    assert grad(a * a, [b, a]) == [0.0, 4.0]
    with pytest.raises(TypeError, match="outputs must be a Value, not float"):
        grad(1.0, [a])
    with pytest.raises(TypeError, match="inputs must be Values, not int"):
        grad(a * a, [1])


def test_grad_works_inside_no_grad_for_an_existing_graph():
    a = Value(2.0)
    y = a * a * a
    with no_grad():
        assert grad(y, [a]) == [12.0]
