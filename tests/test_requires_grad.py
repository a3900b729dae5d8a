"""`requires_grad=False`: data leaves get no gradient, cost no backward work, and operations on
data alone build no graph (API.md, "Gradients that do not need computing")."""

import copy
import pickle
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import puretorch_scalar as pts
from puretorch_scalar import Tensor, Value, explain, fit, nn, optim
from puretorch_scalar.checks import ArgumentTypeError
from puretorch_scalar.engine import (
    Constant,
    DataDot,
    DataValue,
    ParameterValue,
    reference_backward,
    topological_order,
)
from puretorch_scalar.nn import functional as F
from puretorch_scalar.testing import expressions

# -- Values -------------------------------------------------------------------------------------


def test_a_data_leaf_reads_its_flag_and_keeps_a_zero_gradient():
    x, w = Value(2.0, "x", requires_grad=False), Value(3.0, "w")
    assert not x.requires_grad and w.requires_grad and Value(1.0).requires_grad
    y = x * w + x.tanh() * w
    y.backward()
    assert x.grad == 0.0 and w.grad == pytest.approx(2.0 + 0.9640275800758169)
    y.backward()  # accumulates on w, still nothing on x
    assert x.grad == 0.0 and w.grad == pytest.approx(2 * (2.0 + 0.9640275800758169))


@pytest.mark.parametrize(
    "build",
    [
        lambda d, e: d * 2,
        lambda d, e: 2 - d,
        lambda d, e: d**2,
        lambda d, e: 2**d,
        lambda d, e: d / e,
        lambda d, e: (d + e).exp(),
        lambda d, e: -d,
        lambda d, e: d * Constant(3.0),
        lambda d, e: Value.sum([d, e, 1.0]),
        lambda d, e: Value.dot([d, 1.0], [e, d]),
        lambda d, e: pts.ops.log(d),
    ],
)
def test_operations_on_data_alone_build_no_graph(build):
    d, e = Value(0.5, requires_grad=False), Value(1.5, requires_grad=False)
    out = build(d, e)
    twin = build(Value(0.5), Value(1.5))  # the same arithmetic on ordinary leaves
    assert type(out) is DataValue and out.children == () and not out.requires_grad
    assert out.data == twin.data


def test_data_mixed_with_a_gradient_leaf_builds_a_node_whichever_side_it_is_on():
    d, w, p = Value(2.0, requires_grad=False), Value(3.0), nn.Parameter([4.0]).values()[0]
    for out in (d * w, w * d, d * p, p * d, d - w, w - d, d**w, w**d):
        assert out.children and out.requires_grad and d in out.children


@given(expr=expressions(max_inputs=3), data=st.data())
def test_gradients_of_the_other_leaves_are_unchanged_by_making_some_leaves_data(expr, data):
    flags = data.draw(st.lists(st.booleans(), min_size=len(expr.inputs), max_size=len(expr.inputs)))
    plain = expr.leaves()
    expr(*plain).backward()
    mixed = [Value(x, requires_grad=keep) for x, keep in zip(expr.inputs, flags)]
    out = expr(*mixed)
    assert out.data == expr(*plain).data
    out.backward()
    for leaf, twin, keep in zip(mixed, plain, flags):
        assert leaf.grad == (twin.grad if keep else 0.0)
    again = [Value(x, requires_grad=keep) for x, keep in zip(expr.inputs, flags)]
    reference_backward(expr(*again))  # the readable algorithm agrees (to the last bit but where a
    # Value is used twice in one dot node: the fast loop adds its two terms in the other order)
    assert [v.grad for v in again] == pytest.approx([v.grad for v in mixed], rel=1e-12, abs=1e-300)


def test_second_derivatives_with_data_inputs():
    x, w = Value(1.5, requires_grad=False), Value(0.7)
    (gw,) = pts.grad((x * w).tanh() * x, [w], create_graph=True)
    (hw,) = pts.grad(gw, [w])
    x2, w2 = Value(1.5), Value(0.7)
    (gw2,) = pts.grad((x2 * w2).tanh() * x2, [w2], create_graph=True)
    assert (gw.data, hw) == (gw2.data, pts.grad(gw2, [w2])[0])


def test_no_grad_and_detach_give_data_as_pytorch_does():
    w = Value(2.0)
    with pts.no_grad():
        y = w * 3
    assert not y.requires_grad and not w.detach().requires_grad and w.detach().label == w.label
    (y * w).backward()
    assert y.grad == 0.0 and w.grad == 6.0


def test_data_and_its_nodes_survive_copy_and_pickle():
    x, w = Value(2.0, "x", requires_grad=False), Value(3.0, "w")
    out = Value.dot([x], [w])
    for twin in (copy.deepcopy(out), pickle.loads(pickle.dumps(out))):
        assert type(twin) is DataDot and type(twin.children[0]) is DataValue
        twin.backward()
        assert twin.children[0].grad == 0.0 and twin.children[1].grad == 2.0


# -- dot nodes over data: no backward work ------------------------------------------------------


def test_a_dot_over_data_is_a_data_dot_with_the_data_first():
    xs = [Value(v, requires_grad=False) for v in (1.0, 2.0)]
    ws = [Value(v) for v in (3.0, 4.0)]
    for out in (Value.dot(xs, ws), Value.dot(ws, xs)):
        assert type(out) is DataDot and out.children == (*xs, *ws) and out.data == 11.0
    mixed = Value.dot([xs[0], ws[0]], [ws[1], xs[1]])
    assert type(mixed) is Value  # neither half all data: an ordinary node, still right
    mixed.backward()
    assert xs[0].grad == 0.0 and ws[0].grad == 2.0 and ws[1].grad == 1.0


def test_backward_never_touches_the_data_of_a_linear_layer(monkeypatch):
    """No backward work for data: the fast backward neither reads nor writes a data leaf."""
    layer = nn.Linear(4, 3)
    x = Tensor([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]], requires_grad=False)
    loss = layer(x).tanh().sum()
    touched = []
    monkeypatch.setattr(
        DataValue, "grad", property(lambda v: touched.append(v) or 0.0, lambda v, g: touched.append(v))
    )
    loss.backward()
    assert touched == []
    eager = nn.Linear(4, 3)
    eager.load_state_dict(layer.state_dict())
    eager(Tensor(x.tolist())).tanh().sum().backward()  # the same input as ordinary leaves
    assert layer.weight.grad == eager.weight.grad and layer.bias.grad == eager.bias.grad


def test_conv_over_data_makes_data_dots():
    conv = nn.Conv2d(1, 2, 2, padding=1)
    out = conv(Tensor([[[0.0, 1.0], [2.0, 3.0]]], requires_grad=False))
    assert {type(v) for v in out.values()} == {DataDot}


# -- Tensors, models, fit -----------------------------------------------------------------------


def test_a_data_tensor_and_what_is_computed_from_it_alone():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=False)
    assert not t.requires_grad and Tensor([1.0]).requires_grad
    for out in (
        t / 255,
        1 - t,
        t.exp(),
        t * t,
        t.sum(),
        t @ t,
        t.detach(),
        Tensor(Tensor([1.0]), requires_grad=False),
    ):
        assert not out.requires_grad and all(not v.children for v in out.values())
    w = Tensor([1.0, 2.0])
    assert (t * w).requires_grad and (t @ Tensor([[1.0], [2.0]])).requires_grad


def test_models_and_losses_take_plain_numbers_as_data():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    loss = F.mse_loss(model([[1.0, 2.0]]), [[0.5]])
    order = topological_order(loss.values()[0])
    dots = [v for v in order if v.op == "dot"]
    assert [type(v) for v in dots] == [DataDot, DataDot, Value]  # the first layer's, over the input
    leaves = {type(v) for v in order if not v.children}
    assert leaves == {ParameterValue, DataValue, Constant}  # no leaf that needs no gradient gets one


class _OrdinaryLeaves(Tensor):
    def __init__(self, data: object, requires_grad: bool = True) -> None:
        super().__init__(data)  # requires_grad ignored


def test_fit_trains_on_data_to_the_same_weights_as_on_ordinary_leaves(monkeypatch):
    X, y = pts.data.make_moons(40, noise=0.1, seed=1)
    runs = []
    for as_data in (True, False):
        if not as_data:  # fit's own loop, with its inputs made as ordinary leaves
            monkeypatch.setattr(pts.train, "Tensor", _OrdinaryLeaves)
        random.seed(0)
        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
        opt = optim.SGD(model.parameters(), lr=0.1)
        loss_fn = lambda out, t: F.mse_loss(out, [[float(v)] for v in t])  # noqa: E731
        fit(model, loss_fn, opt, X, y, epochs=3, batch_size=10, progress=False, seed=0)
        runs.append([p.tolist() for p in model.parameters()])
    assert runs[0] == runs[1]


# -- errors ---------------------------------------------------------------------------------------


def test_errors_name_the_problem():
    with pytest.raises(ArgumentTypeError, match="requires_grad must be True or False"):
        Value(1.0, requires_grad=0)
    with pytest.raises(ArgumentTypeError, match="requires_grad must be True or False"):
        Tensor([1.0], requires_grad="no")
    with pytest.raises(ValueError, match="makes a data leaf"):
        Constant(1.0, requires_grad=False)
    with pytest.raises(AttributeError, match="requires_grad is fixed when a Value is made"):
        Value(1.0).requires_grad = False
    d = Value(1.0, requires_grad=False)
    with pytest.raises(RuntimeError, match="does not require grad"):
        d.register_hook(print)
    with pytest.raises(RuntimeError, match="does not require grad"):
        pts.grad(d * Value(2.0), [d])
    with pytest.raises(RuntimeError, match="does not require grad"):
        explain(d * Value(2.0), d)


def test_a_conv_net_on_data_matches_pytorch():
    """An optional oracle: the parameters' gradients of a small CNN on data inputs are PyTorch's
    (float64), and in both the input gets no gradient."""
    torch = pytest.importorskip("torch")
    random.seed(3)
    conv, head = nn.Conv2d(1, 2, 3, padding=1), nn.Linear(2 * 2 * 2, 3)
    images = [[[[random.uniform(0, 1) for _ in range(4)] for _ in range(4)]] for _ in range(2)]
    x = Tensor(images, requires_grad=False)
    loss = F.cross_entropy(head(nn.MaxPool2d(2)(conv(x).relu()).flatten(1)), [0, 2])
    loss.backward()

    t = {name: torch.tensor(p.tolist(), dtype=torch.float64, requires_grad=True) for name, p in
         [("cw", conv.weight), ("cb", conv.bias), ("hw", head.weight), ("hb", head.bias)]}  # fmt: skip
    tx = torch.tensor(images, dtype=torch.float64)
    h = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(tx, t["cw"], t["cb"], padding=1).relu(), 2)
    ref = torch.nn.functional.cross_entropy(h.flatten(1) @ t["hw"].T + t["hb"], torch.tensor([0, 2]))
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    for p, name in [(conv.weight, "cw"), (conv.bias, "cb"), (head.weight, "hw"), (head.bias, "hb")]:
        assert torch.allclose(torch.tensor(p.grad, dtype=torch.float64), t[name].grad, rtol=1e-10, atol=1e-12)
    assert tx.grad is None and all(v.grad == 0.0 for v in x.values())
