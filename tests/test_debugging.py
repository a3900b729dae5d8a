"""Debugging backward: register_hook, detect_anomaly and explain."""

import math
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import puretorch_scalar as pts
from puretorch_scalar import AnomalyError, Tensor, Value, detect_anomaly, explain, grad, no_grad
from puretorch_scalar.testing import expressions

# -- register_hook -------------------------------------------------------------------------------


def diamond():
    """a, b -> c = a·b -> d = tanh(c) + a -> e = d·d, with the values PyTorch is given below."""
    a, b = Value(2.0, "a"), Value(-0.3, "b")
    c = a * b
    d = c.tanh() + a
    return a, b, c, d, d * d


def test_a_hook_on_an_inner_node_sees_its_complete_gradient_and_changes_only_what_is_below():
    a, b, c, d, e = diamond()
    e.backward()
    plain = {"a": a.grad, "b": b.grad, "d": d.grad}
    a, b, c, d, e = diamond()
    seen = []
    c.register_hook(lambda g: seen.append(g) or 2 * g)
    e.backward()
    assert seen == [pytest.approx(2 * d.data * (1 - math.tanh(c.data) ** 2))]
    assert d.grad == plain["d"]  # above the hook: unchanged
    assert b.grad == pytest.approx(2 * plain["b"])  # only through c
    assert a.grad == pytest.approx(plain["a"] + (plain["a"] - 2 * d.data))  # the path through c doubled


def test_hook_semantics_match_pytorch():
    torch = pytest.importorskip("torch")
    a, b, c, d, e = diamond()
    c.register_hook(lambda g: g * 2)
    e.backward()
    ta = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(-0.3, dtype=torch.float64, requires_grad=True)
    tc = ta * tb
    tc.register_hook(lambda g: g * 2)
    te = (tc.tanh() + ta) ** 2
    te.backward()
    assert (a.grad, b.grad) == pytest.approx((ta.grad.item(), tb.grad.item()), rel=1e-12)


def test_a_leaf_hook_sees_this_passes_gradient_and_what_it_returns_is_accumulated():
    x = Value(3.0)
    seen = []
    x.register_hook(lambda g: seen.append(g) or g / 2)
    (x * x).backward()
    (x * x).backward()
    assert seen == [6.0, 6.0] and x.grad == 6.0


def test_hooks_run_in_registration_order_and_remove_takes_one_away():
    x = Value(1.0)
    calls = []
    first = x.register_hook(lambda g: calls.append(("first", g)) or g + 1)
    x.register_hook(lambda g: calls.append(("second", g)))
    (x * 5).backward()
    assert calls == [("first", 5.0), ("second", 6.0)] and x.grad == 6.0
    first.remove()
    first.remove()  # a second time: nothing
    calls.clear()
    x.grad = 0.0
    (x * 5).backward()
    assert calls == [("second", 5.0)] and x.grad == 5.0


def test_hooks_run_inside_grad_without_touching_any_grad():
    x = Value(2.0)
    y = x * x
    y.register_hook(lambda g: 10 * g)
    assert grad(y * 3, [x]) == [pytest.approx(10 * 3 * 4.0)]
    assert (x.grad, y.grad) == (0.0, 0.0)


def test_hooks_see_values_under_create_graph():
    x = Value(1.5)
    y = x * x
    seen = []
    handle = y.register_hook(lambda g: seen.append(g) or g * x)  # a Value: the gradient stays a graph
    (g,) = grad(y.sin(), [x], create_graph=True)
    assert isinstance(seen[0], Value)
    handle.remove()
    (h,) = grad(g, [x])
    # g = cos(x²)·x·2x = 2x²cos(x²); dg/dx = 4x cos(x²) − 4x³ sin(x²)
    assert g.data == pytest.approx(2 * 1.5**2 * math.cos(1.5**2))
    assert h == pytest.approx(4 * 1.5 * math.cos(2.25) - 4 * 1.5**3 * math.sin(2.25))


def test_a_tensor_hook_sees_all_element_gradients_at_once_as_nested_lists():
    w = Tensor([[1.0, 2.0], [3.0, 4.0]])
    h = w * w
    seen = []
    h.register_hook(lambda g: seen.append(g) or [[0.0, 1.0], [1.0, 0.0]])
    (h * Tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert seen == [[[1.0, 2.0], [3.0, 4.0]]]
    assert w.grad == [[0.0, 4.0], [6.0, 0.0]]


def test_a_hook_on_parameters_clips_their_gradient():
    model = pts.nn.Linear(2, 1)
    model.weight.register_hook(lambda g: [[max(-0.1, min(0.1, x)) for x in row] for row in g])
    model(Tensor([[10.0, -10.0]])).sum().backward()
    assert model.weight.grad == [[0.1, -0.1]]


@pytest.mark.parametrize(
    "hook, error, message",
    [
        (lambda g: "big", TypeError, "a hook on 'y' returned str 'big': a hook returns the new gradient"),
        (lambda g: True, TypeError, "returned bool"),
    ],
)
def test_bad_hook_results_name_the_node(hook, error, message):
    x = Value(1.0)
    y = x * 2
    y.label = "y"
    y.register_hook(hook)
    with pytest.raises(error, match=message):
        (y * 3).backward()


def test_a_tensor_hook_of_the_wrong_shape_and_a_hook_that_is_not_callable():
    t = Tensor([1.0, 2.0])
    u = t * 2
    u.register_hook(lambda g: [1.0])
    with pytest.raises(ValueError, match=r"do not match the tensor's shape \(2,\)"):
        u.sum().backward()
    with pytest.raises(TypeError, match="the hook must be callable, not int"):
        Value(1.0).register_hook(3)


def test_a_tensor_whose_elements_depend_on_each_other_cannot_be_hooked_as_one():
    x = Value(1.0)
    y = x * 2
    t = Tensor([y, y * 3])
    t.register_hook(lambda g: None)
    with pytest.raises(ValueError, match="depend on one another"):
        t.sum().backward()


@settings(max_examples=100)
@given(expressions(max_steps=8), st.data())
def test_identity_hooks_change_nothing(expr, data):
    xs = expr.leaves()
    out = expr(*xs)
    out.backward()
    plain = [x.grad for x in xs]
    xs = expr.leaves()
    out = expr(*xs)
    handles = [x.register_hook(lambda g: g) for x in xs]
    out.register_hook(lambda g: None)
    out.backward()
    assert [x.grad for x in xs] == pytest.approx(plain, rel=1e-12, abs=1e-300)
    for h in handles:
        h.remove()


# -- detect_anomaly ------------------------------------------------------------------------------


def test_forward_nan_names_the_op_the_inputs_and_the_users_line():
    with pytest.raises(AnomalyError) as info, detect_anomaly():
        zero = Value(0.0)
        zero / zero  # noqa: B018  (this line)
    message = str(info.value)
    assert "the op '/' made NaN from the inputs (0, 0)" in message
    assert "test_debugging.py:" in message and "zero / zero" in message


def test_nan_from_inf_is_caught_too_and_nothing_outside_the_mode():
    big = Value(1000.0).exp()
    assert math.isnan((big - big).data)  # outside: IEEE, silently
    with (
        pytest.raises(AnomalyError, match="the op '-' made NaN from the inputs \\(inf, inf\\)"),
        detect_anomaly(),
    ):
        big - big  # noqa: B018


def test_backward_nan_names_the_node_its_line_and_the_local_derivative():
    with detect_anomaly():
        x = Value(0.0, "x")
        r = x.sqrt()  # ∂√x/∂x = inf at 0
        y = r * 0.0
        with pytest.raises(AnomalyError) as info:
            y.backward()
    message = str(info.value)
    assert "NaN gradient for 'x' from t1 (sqrt)" in message
    assert "local derivative with respect to 'x' is inf" in message
    assert "r = x.sqrt()" in message


def test_a_leaf_changed_between_forward_and_backward_is_caught():
    with detect_anomaly():
        w = Value(1.0, "w")
        y = w * 3
        w.data = 2.0
        with pytest.raises(AnomalyError, match="the leaf 'w' held 1 when t1 .* used it .* holds 2 now"):
            y.backward()


def test_detect_anomaly_nests_works_as_a_decorator_and_is_per_thread():
    @detect_anomaly()
    def divide(a, b):
        return a / b

    with pytest.raises(AnomalyError):
        divide(Value(0.0), Value(0.0))
    with detect_anomaly():
        with detect_anomaly():
            pass
        with pytest.raises(AnomalyError):
            Value(0.0) / 0.0
    assert math.isnan((Value(0.0) / 0.0).data)  # left: off again
    results = []
    with detect_anomaly():
        thread = threading.Thread(target=lambda: results.append((Value(0.0) / 0.0).data))
        thread.start()
        thread.join()
    assert math.isnan(results[0])  # the other thread is not in the mode


def test_no_grad_inside_detect_anomaly_builds_no_graph():
    with detect_anomaly(), no_grad():
        assert (Value(1.0) * 2).children == ()


# -- explain -------------------------------------------------------------------------------------


def neuron():
    x1, w1, x2, w2, b = (
        Value(v, k) for v, k in [(2.0, "x1"), (-3.0, "w1"), (0.0, "x2"), (1.0, "w2"), (6.88, "b")]
    )
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, x1, w1


def test_explain_lists_the_path_with_its_local_derivatives():
    o, x1, _ = neuron()
    e = explain(o, x1)
    ((path, product),) = e.paths
    assert [v.label or v.op for v in path] == ["o", "n", "+", "*", "x1"]
    assert e.n_paths == 1 and product == pytest.approx(e.total) and e.total == pytest.approx(grad(o, [x1])[0])
    assert "-3" in str(e) and "∂o/∂x1" in str(e) and "<table>" in e._repr_html_()


def test_a_reused_node_has_one_path_per_use():
    a = Value(1.5, "a")
    y = a * a + a.exp() * a
    e = explain(y, a)
    assert e.n_paths == 4 and len(e.paths) == 4
    assert sum(p for _, p in e.paths) == pytest.approx(grad(y, [a])[0], rel=1e-12)
    assert [abs(p) for _, p in e.paths] == sorted((abs(p) for _, p in e.paths), reverse=True)


def test_a_deep_diamond_chain_counts_its_paths_without_listing_them():
    x = Value(0.9, "x")
    v = x
    for _ in range(100):
        v = v * 0.5 + v.tanh()  # two paths through every layer
    with pytest.raises(ValueError, match=f"there are {2**100:,} paths .* more than max_paths=1000"):
        explain(v, x)


def test_x_outside_the_graph_has_no_paths_and_bad_arguments_raise():
    o, _, _ = neuron()
    e = explain(o, Value(3.0))
    assert (e.paths, e.n_paths, e.total) == ([], 0, 0.0)
    with pytest.raises(TypeError, match="x must be a Value, not float"):
        explain(o, 3.0)
    with pytest.raises(TypeError, match="output must be a Value or a one-element Tensor"):
        explain("o", o)
    with pytest.raises(ValueError, match="max_paths must be a positive int, got 0"):
        explain(o, o, max_paths=0)


def test_draw_highlights_the_top_paths():
    pytest.importorskip("graphviz")
    o, x1, w1 = neuron()
    source = explain(o, w1).draw(top=1).source
    assert source.count("class=highlight") == 5  # o, n, the +, the *, w1


@settings(max_examples=150)
@given(expressions(max_steps=8), st.data())
def test_explain_total_and_paths_add_up_to_the_gradient(expr, data):
    xs = expr.leaves()
    out = expr(*xs)
    x = data.draw(st.sampled_from(xs))
    e = explain(out, x, max_paths=10**6)
    expected = grad(out, [x])[0]
    assert e.total == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert sum(p for _, p in e.paths) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert e.n_paths == len(e.paths) == _count_paths(out, x)


def _count_paths(node, x):
    """Brute force, by recursion: fine on the small expressions drawn above."""
    if node is x:
        return 1
    return sum(_count_paths(child, x) for child in node.children)


# -- training diagnostics ------------------------------------------------------------------------


def _moons_fit(diagnostics, epochs=3, dead_unit=False):
    import random

    random.seed(0)
    X, y = pts.data.make_moons(40, noise=0.1, seed=0)
    model = pts.nn.MLP(2, [4, 1])
    if dead_unit:  # unit 0 of the hidden layer never fires: its pre-activation is always < 0
        model.layers[0].bias.values()[0].data = -100.0
    optimizer = pts.optim.SGD(model.parameters(), lr=0.1)
    labels = [2 * t - 1 for t in y]
    history = pts.fit(
        model, pts.nn.HingeLoss(), optimizer, X, labels, epochs, progress=False, diagnostics=diagnostics
    )
    return model, history


def test_diagnostics_are_recorded_per_parameter_and_step():
    _, history = _moons_fit(True, dead_unit=True)
    diag = history["diagnostics"]
    assert list(diag) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(len(values) == 3 for record in diag.values() for values in record.values())
    assert diag["0.weight"]["dead"] == [0.25, 0.25, 0.25]  # 1 of the 4 hidden units
    assert all(math.isnan(x) for x in diag["0.bias"]["dead"])


def test_the_update_ratio_is_the_sgd_step_relative_to_the_data():
    model, history = _moons_fit(True, epochs=1)
    # one full-batch SGD step: Δw = −lr·grad, so the ratio is log10(lr·rms(grad)/rms(w before))
    w = model.layers[2].weight
    grads = [v.grad for v in w.values()]
    before = [v.data + 0.1 * g for v, g in zip(w.values(), grads)]
    rms = lambda xs: math.sqrt(sum(x * x for x in xs) / len(xs))  # noqa: E731
    expected = math.log10(0.1 * rms(grads) / rms(before))
    assert history["diagnostics"]["2.weight"]["update_ratio"] == [pytest.approx(expected, rel=1e-9)]


def test_diagnostics_off_records_nothing_and_the_plot_needs_them():
    _, history = _moons_fit(False, epochs=1)
    assert "diagnostics" not in history
    pytest.importorskip("matplotlib")
    from puretorch_scalar.plot import plot_diagnostics

    with pytest.raises(ValueError, match="train with fit\\(..., diagnostics=True\\)"):
        plot_diagnostics(history)
    figure = plot_diagnostics(_moons_fit(True, epochs=2)[1])
    assert [ax.get_title() for ax in figure.axes][:2] == ["update / data (log10)", "gradient std"]


def test_a_training_loop_inside_detect_anomaly_raises_nothing():
    """Each step uses the weights the previous step changed: only a change *between* a node's
    forward and its backward is an anomaly."""
    w = Value(1.0, "w")
    with detect_anomaly():
        for _ in range(3):
            loss = (w * 3 - 1) ** 2
            w.grad = 0.0
            loss.backward()
            w.data -= 0.01 * w.grad
    assert w.data != 1.0
