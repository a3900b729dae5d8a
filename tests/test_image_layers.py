"""Layers for images (Conv2d, the pools, Flatten) and Dropout and LayerNorm: shapes, the graph a
convolution builds, values and gradients against central differences and (where installed)
against PyTorch in float64, dropout's statistics, and the errors."""

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import Tensor, nn
from puretorch_scalar.nn import functional as F
from puretorch_scalar.testing import assert_grads_close, tensors

# -- shapes and initialisation ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"kernel_size": 3}, (2, 3, 8, 8), (2, 4, 6, 6)),
        ({"kernel_size": 3, "padding": 1}, (2, 3, 8, 8), (2, 4, 8, 8)),
        ({"kernel_size": 3, "stride": 2}, (1, 3, 8, 7), (1, 4, 3, 3)),
        ({"kernel_size": (2, 3), "stride": (1, 2), "padding": (0, 1)}, (3, 5, 6), (4, 4, 3)),
        ({"kernel_size": 5, "padding": 1}, (3, 3, 3), (4, 1, 1)),  # needs the padding to fit
    ],
)
def test_conv2d_output_shapes(kwargs, input_shape, output_shape):
    layer = nn.Conv2d(3, 4, **kwargs)
    assert layer(Tensor.zeros(*input_shape)).shape == output_shape


def test_conv2d_parameters_and_pytorch_initialisation():
    random.seed(0)
    layer = nn.Conv2d(2, 8, 3)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.weight.shape == (8, 2, 3, 3) and layer.bias.shape == (8,)
    bound = 1 / math.sqrt(2 * 3 * 3)  # kaiming-uniform with a = √5 comes to 1/√fan_in
    weights = [v.data for v in layer.weight.values()] + [v.data for v in layer.bias.values()]
    assert all(-bound <= w <= bound for w in weights)
    assert max(abs(w) for w in weights) > 0.9 * bound  # drawn from the whole range, not a part
    assert nn.Conv2d(2, 8, 3, bias=False).bias is None
    assert repr(nn.Conv2d(1, 2, 3, padding=1)) == (
        "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=True)"
    )


def test_pooling_and_flatten_shapes():
    x = Tensor.zeros(2, 3, 7, 6)
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 3, 3)  # stride = kernel: windows side by side
    assert nn.AvgPool2d(3, stride=1)(x).shape == (2, 3, 5, 4)
    assert nn.MaxPool2d((2, 3))(x[0]).shape == (3, 3, 2)
    assert nn.Flatten()(x).shape == (2, 126)
    assert nn.Flatten()(x).values() == x.values()  # no new nodes
    assert nn.Flatten(0, 1)(x).shape == (6, 7, 6)


def test_a_cnn_runs_end_to_end():
    random.seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(2 * 4 * 4, 3),
    )
    logits = model(Tensor.randn(2, 1, 8, 8, seed=1))
    assert logits.shape == (2, 3)
    F.cross_entropy(logits, [0, 2]).backward()
    assert any(g != 0 for g in Tensor(model[0].weight.grad).flatten().tolist())


# -- the graph: one dot node per output pixel ---------------------------------------------------


def test_a_conv_output_pixel_is_one_dot_node_over_its_patch():
    x = Tensor.randn(2, 4, 4, seed=0)
    layer = nn.Conv2d(2, 3, 3, padding=1)
    out = layer(x)  # (3, 4, 4)
    centre, corner = out[0, 1, 1], out[0, 0, 0]
    assert centre.op == "dot" and corner.op == "dot"
    patch = [x[c, i, j] for c in range(2) for i in range(3) for j in range(3)]
    assert list(centre.children[:19]) == [*patch, centre.children[18]]  # the patch, then the 1
    assert centre.children[18].data == 1.0 and centre.children[-1] is layer.bias.values()[0]
    assert len(centre.children) == 2 * (2 * 9 + 1)
    assert len(corner.children) == 2 * (2 * 4 + 1)  # the padding zeros are left out


# -- values and gradients against central differences -------------------------------------------


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((1, 2), (1, 0))])
def test_conv2d_gradients_match_central_differences(stride, padding):
    x, w, b = Tensor.randn(2, 2, 4, 5, seed=0), Tensor.randn(3, 2, 2, 3, seed=1), Tensor.randn(3, seed=2)
    assert_grads_close(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding), [x, w, b])


def test_conv2d_values_by_hand():
    x = Tensor([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])  # (1, 3, 3)
    w = Tensor([[[[1.0, 0.0], [0.0, -1.0]]]])  # (1, 1, 2, 2): top-left minus bottom-right
    assert F.conv2d(x, w).tolist() == [[[-4.0, -4.0], [-4.0, -4.0]]]
    assert F.conv2d(x, w, bias=[10.0], padding=1, stride=2).tolist() == [[[9.0, 7.0], [3.0, 6.0]]]


@given(tensors((2, 6), -3, 3), tensors((3, 2, 3), -1, 1), st.integers(1, 2), st.integers(0, 1))
def test_conv1d_gradients_match_central_differences(x, w, stride, padding):
    assert_grads_close(lambda x, w: F.conv1d(x, w, stride=stride, padding=padding), [x, w])


def test_conv1d_values_by_hand():
    x = Tensor([[1.0, 2.0, 3.0, 4.0]])  # (1, 4)
    w = Tensor([[[1.0, -1.0]]])  # (1, 1, 2)
    assert F.conv1d(x, w).tolist() == [[-1.0, -1.0, -1.0]]
    assert F.conv1d(x[None], w, bias=[1.0], padding=1, stride=2).tolist() == [[[0.0, 0.0, 5.0]]]


def test_pool_values_and_where_the_gradient_goes():
    x = Tensor([[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 8.0], [0.0, 0.0, 1.0, 1.0], [2.0, 6.0, 1.0, 1.0]]])
    assert F.max_pool2d(x, 2).tolist() == [[[5.0, 8.0], [6.0, 1.0]]]
    assert F.avg_pool2d(x, 2).tolist() == [[[3.25, 4.5], [2.0, 1.0]]]
    F.max_pool2d(x, 2).sum().backward()
    # each window's largest pixel, the first of a tie
    assert x.grad == [[[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 1, 0, 0]]]


@given(tensors((2, 4, 5), -3, 3))
def test_avg_pool_gradients_match_central_differences(x):
    assert_grads_close(lambda x: F.avg_pool2d(x, (2, 3), stride=1), [x])


def test_max_pool_gradients_match_central_differences():
    x = Tensor([[[float(7 * i % 11) for i in range(j, j + 5)] for j in range(0, 20, 5)]])  # distinct
    assert_grads_close(lambda x: F.max_pool2d(x, 2, stride=1), [x])


@given(tensors((2, 3), -3, 3), tensors((3,), -2, 2), tensors((3,), -2, 2))
def test_layer_norm_gradients_match_central_differences(x, w, b):
    assert_grads_close(lambda x, w, b: F.layer_norm(x, 3, w, b), [x, w, b])


def test_layer_norm_normalises_every_group():
    x = Tensor([[1.0, 2.0, 3.0, 6.0], [10.0, 10.0, 10.0, 10.0]])
    y = nn.LayerNorm(4)(x)
    for row in y.tolist():
        assert sum(row) == pytest.approx(0.0, abs=1e-12)
    assert sum(v * v for v in y.tolist()[0]) / 4 == pytest.approx(1.0, rel=1e-5)  # var 1 (eps aside)
    assert y.tolist()[1] == [0.0] * 4  # a constant row: eps keeps it finite
    assert [name for name, _ in nn.LayerNorm((2, 3)).named_parameters()] == ["weight", "bias"]
    assert nn.LayerNorm(3, elementwise_affine=False).parameters() == []


# -- against PyTorch (float64), where installed -------------------------------------------------


def torch_pair(torch, t):
    """A float64 torch leaf with t's numbers."""
    return torch.tensor(t.tolist(), dtype=torch.float64, requires_grad=True)


def assert_matches(ours, theirs, tol=1e-10):
    assert ours.shape == tuple(theirs.shape)
    flat_ours, flat_theirs = Tensor(ours).flatten().tolist(), theirs.detach().flatten().tolist()
    assert flat_ours == pytest.approx(flat_theirs, abs=tol, rel=tol)


def check_against_pytorch(ours_fn, theirs_fn, inputs):
    """Forward values and, through a fixed random upstream gradient, every input's gradient."""
    torch = pytest.importorskip("torch")
    references = [torch_pair(torch, t) for t in inputs]
    out, expected = ours_fn(*inputs), theirs_fn(*references)
    assert_matches(out, expected)
    upstream = Tensor.randn(*out.shape, seed=9)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream.tolist(), dtype=torch.float64))
    for t, reference in zip(inputs, references):
        assert_matches(Tensor(t.grad), reference.grad)


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, padding",
    [
        ((2, 3, 6, 5), (4, 3, 3, 3), 1, 0),
        ((3, 7, 6), (2, 3, 2, 3), (2, 1), (1, 2)),
        ((1, 1, 5, 5), (1, 1, 5, 5), 2, 2),
    ],
)
def test_conv2d_agrees_with_pytorch(x_shape, w_shape, stride, padding):
    torch = pytest.importorskip("torch")
    x, w, b = Tensor.randn(*x_shape, seed=0), Tensor.randn(*w_shape, seed=1), Tensor.randn(w_shape[0], seed=2)
    check_against_pytorch(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride=stride, padding=padding),
        [x, w, b],
    )


@pytest.mark.parametrize("x_shape, stride, padding", [((2, 3, 9), 1, 0), ((3, 8), 2, 1)])
def test_conv1d_agrees_with_pytorch(x_shape, stride, padding):
    torch = pytest.importorskip("torch")
    x, w, b = Tensor.randn(*x_shape, seed=0), Tensor.randn(2, 3, 3, seed=1), Tensor.randn(2, seed=2)
    check_against_pytorch(
        lambda x, w, b: F.conv1d(x, w, b, stride, padding),
        lambda x, w, b: torch.nn.functional.conv1d(x, w, b, stride=stride, padding=padding),
        [x, w, b],
    )


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("kernel, stride", [(2, None), ((3, 2), 1), (2, (1, 2))])
def test_pools_agree_with_pytorch(name, kernel, stride):
    torch = pytest.importorskip("torch")
    x = Tensor.randn(2, 3, 6, 5, seed=0)
    check_against_pytorch(
        lambda x: getattr(F, name)(x, kernel, stride),
        lambda x: getattr(torch.nn.functional, name)(x, kernel, stride),
        [x],
    )


@pytest.mark.parametrize("normalized_shape", [4, (3, 4)])
def test_layer_norm_agrees_with_pytorch(normalized_shape):
    torch = pytest.importorskip("torch")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x, w, b = Tensor.randn(2, 3, 4, seed=0), Tensor.randn(*shape, seed=1), Tensor.randn(*shape, seed=2)
    check_against_pytorch(
        lambda x, w, b: F.layer_norm(x, normalized_shape, w, b),
        lambda x, w, b: torch.nn.functional.layer_norm(x, shape, w, b),
        [x, w, b],
    )


def test_conv2d_layer_matches_torch_conv2d_layer_with_the_same_weights():
    torch = pytest.importorskip("torch")
    ours = nn.Conv2d(2, 3, (2, 3), stride=2, padding=1)
    theirs = torch.nn.Conv2d(2, 3, (2, 3), stride=2, padding=1).double()
    assert tuple(theirs.weight.shape) == ours.weight.shape
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.tolist(), dtype=torch.float64))
        theirs.bias.copy_(torch.tensor(ours.bias.tolist(), dtype=torch.float64))
    x = Tensor.randn(1, 2, 5, 6, seed=3)
    assert_matches(ours(x), theirs(torch.tensor(x.tolist(), dtype=torch.float64)))


# -- dropout ------------------------------------------------------------------------------------


def test_dropout_is_the_identity_in_eval_mode():
    x = Tensor.randn(3, 4, seed=0)
    layer = nn.Dropout(0.9).eval()
    assert layer(x) is x
    assert F.dropout(x, 0.5, training=False) is x


def test_dropout_zeroes_or_scales_every_element():
    random.seed(1)
    x = Tensor([float(i + 1) for i in range(1000)])
    y = nn.Dropout(0.25)(x)
    for a, b in zip(x.tolist(), y.tolist()):
        assert b == 0.0 or b == pytest.approx(a / 0.75)
    y.backward([1.0] * 1000)  # kept units pass 1/(1 − p) back, dropped ones 0
    assert all(g == (0.0 if b == 0.0 else pytest.approx(1 / 0.75)) for g, b in zip(x.grad, y.tolist()))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics(p):
    random.seed(2)
    n = 20_000
    y = F.dropout(Tensor.ones(n), p).tolist()
    dropped = sum(v == 0.0 for v in y) / n
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(dropped - p) < 5 * sigma  # the fraction dropped is p
    assert abs(sum(y) / n - 1.0) < 5 * sigma / (1 - p)  # the mean is kept


def test_dropout_is_repeatable_with_random_seed_and_p_zero_keeps_everything():
    x = Tensor.randn(50, seed=0)
    random.seed(3)
    first = F.dropout(x, 0.5).tolist()
    random.seed(3)
    assert F.dropout(x, 0.5).tolist() == first
    assert F.dropout(x, 0.0).tolist() == x.tolist()


# -- errors -------------------------------------------------------------------------------------


BAD_INPUT = [  # (call, the start of the message): each names the shapes or values involved
    (
        lambda: nn.Conv2d(3, 2, 3)(Tensor.zeros(3, 5)),
        "conv2d: input must have shape (C, H, W) or (N, C, H, W), got (3, 5)",
    ),
    (
        lambda: nn.Conv2d(3, 2, 3)(Tensor.zeros(1, 2, 5, 5)),
        "conv2d: input has 2 channels (shape (1, 2, 5, 5)) but the weight of shape (2, 3, 3, 3) expects 3",
    ),
    (
        lambda: nn.Conv2d(1, 2, 5, padding=1)(Tensor.zeros(1, 2, 4)),
        "conv2d: kernel (5, 5) is larger than the padded input (4, 6) "
        "(input shape (1, 2, 4), padding (1, 1))",
    ),
    (
        lambda: F.conv2d(Tensor.zeros(1, 3, 3), Tensor.zeros(2, 1, 2)),
        "conv2d: weight must have shape (out_channels, in_channels, kH, kW), got (2, 1, 2)",
    ),
    (
        lambda: F.conv2d(Tensor.zeros(1, 3, 3), Tensor.zeros(2, 1, 2, 2), bias=[1.0]),
        "conv2d: bias must have shape (2,), one per output channel, got (1,)",
    ),
    (
        lambda: F.conv1d(Tensor.zeros(2, 3), Tensor.zeros(1, 2, 4)),
        "conv1d: kernel (4,) is larger than the padded input (3,)",
    ),
    (
        lambda: F.conv1d(Tensor.zeros(3), Tensor.zeros(1, 1, 1)),
        "conv1d: input must have shape (C, L) or (N, C, L), got (3,)",
    ),
    (
        lambda: nn.MaxPool2d(3)(Tensor.zeros(1, 2, 5)),
        "max_pool2d: kernel (3, 3) is larger than the padded input (2, 5)",
    ),
    (
        lambda: nn.AvgPool2d(2)(Tensor.zeros(2, 2)),
        "avg_pool2d: input must have shape (C, H, W) or (N, C, H, W), got (2, 2)",
    ),
    (lambda: nn.Dropout(1.0), "Dropout: p must be a real number in [0, 1), got 1.0"),
    (lambda: F.dropout(Tensor([1.0]), -0.1), "dropout: p must be a real number in [0, 1), got -0.1"),
    (
        lambda: nn.LayerNorm(4)(Tensor.zeros(4, 3)),
        "layer_norm: input of shape (4, 3) does not end in normalized_shape (4,)",
    ),
    (lambda: nn.Conv2d(1, 2, 0), "Conv2d: kernel_size must be a positive int, got 0"),
    (
        lambda: nn.Conv2d(1, 2, (2, 2, 2)),
        "Conv2d: kernel_size must be an int or a pair of ints, got (2, 2, 2)",
    ),
]


@pytest.mark.parametrize("call, message", BAD_INPUT, ids=[message.split(":")[0] for _, message in BAD_INPUT])
def test_bad_input_raises_naming_the_shapes_and_values(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value).startswith(message)
