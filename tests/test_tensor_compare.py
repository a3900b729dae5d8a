"""Tensor completeness: elementwise comparisons, argmax, clone, eye, allclose and numpy(), checked
against hand-worked values, against numpy/PyTorch where installed, and (for clone, the one that
carries gradients) against central differences."""

import math
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import Tensor, Value, no_grad
from puretorch_scalar.testing import assert_grads_close, broadcastable_shapes, tensors

COMPARISONS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@st.composite
def small_int_tensors(draw, shape):
    """Tensors of whole numbers in [-2, 2], so that equal elements are common."""
    n = math.prod(shape)
    data = draw(st.lists(st.integers(-2, 2), min_size=n, max_size=n))
    return Tensor([float(x) for x in data]).reshape(shape) if shape else Tensor(float(data[0]))


# -- comparisons --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "symbol, expected",
    [
        ("==", [[0, 1, 1], [0, 0, 1]]),
        ("!=", [[1, 0, 0], [1, 1, 0]]),
        ("<", [[1, 0, 0], [0, 1, 0]]),
        ("<=", [[1, 1, 1], [0, 1, 1]]),
        (">", [[0, 0, 0], [1, 0, 0]]),
        (">=", [[0, 1, 1], [1, 0, 1]]),
    ],
)
def test_comparisons_broadcast_a_row_against_a_matrix(symbol, expected):
    a = Tensor([[1, 2, 3], [4, 0, 3]])
    b = Tensor([2, 2, 3])  # (3,) stretched over both rows
    result = COMPARISONS[symbol](a, b)
    assert isinstance(result, Tensor)
    assert result.shape == (2, 3)
    assert result.tolist() == expected


def test_comparisons_with_numbers_and_values_on_either_side():
    t = Tensor([1.0, 2.0, 3.0])
    assert (t > 2).tolist() == [0, 0, 1]
    assert (2 < t).tolist() == [0, 0, 1]  # Python turns 2 < t into t > 2
    assert (t == Value(2.0)).tolist() == [0, 1, 0]
    assert (Value(2.0) == t).tolist() == [0, 1, 0]
    assert (Value(2.0) >= t).tolist() == [1, 1, 0]
    assert (Tensor(2.0) <= t).shape == (3,)


def test_comparison_results_are_leaves_with_no_graph():
    a, b = Tensor([1.0, 5.0]), Tensor([2.0, 2.0])
    for result in (a < b, a == b, a != b):
        assert all(v.children == () and v.op == "" for v in result.values())
        result.sum().backward()
    assert a.grad == [0.0, 0.0] and b.grad == [0.0, 0.0]


def test_nan_is_unequal_to_everything():
    nan = Tensor([math.nan, 1.0])
    assert (nan == nan).tolist() == [0, 1]
    assert (nan != nan).tolist() == [1, 0]
    assert (nan < 2).tolist() == [0, 1] and (nan >= 2).tolist() == [0, 0]


def test_equality_is_elementwise_and_hash_stays_identity():
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    assert (a == b).tolist() == [1.0, 1.0]  # was an identity test, False, before
    assert hash(a) == object.__hash__(a)
    table = {a: "a", b: "b"}  # usable as keys: equal data, still different keys
    assert table[a] == "a" and table[b] == "b" and len({a, b}) == 2
    assert Tensor([3.0]) == 3.0  # a one-element result is true or false as its number


def test_comparing_with_something_that_is_not_a_number():
    t = Tensor([1.0])
    assert (t == "a") is False and (t != "a") is True  # Python's fallback: identity
    with pytest.raises(TypeError):
        t < "a"  # noqa: B015


def test_value_comparisons_are_unchanged():
    assert (Value(1.0) < Value(2.0)) is True
    assert (Value(2.0) <= 2) is True and (Value(3.0) > 4) is False and (Value(3.0) >= 3.0) is True
    v = Value(1.0)
    assert (v == Value(1.0)) is False and (v == v) is True  # == is identity for Values
    assert len({v, Value(1.0)}) == 2


def test_comparison_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3,\) cannot be broadcast"):
        Tensor([1, 2]) < Tensor([1, 2, 3])  # noqa: B015


@given(broadcastable_shapes().flatmap(lambda s: st.tuples(small_int_tensors(s[0]), small_int_tensors(s[1]))))
def test_comparisons_agree_with_numpy(pair):
    pytest.importorskip("numpy")
    a, b = pair
    for symbol, compare in COMPARISONS.items():
        expected = compare(a.numpy(), b.numpy()).astype(float)
        result = compare(a, b)
        assert result.shape == expected.shape, symbol
        assert result.numpy().tolist() == expected.tolist(), symbol


# -- argmax -------------------------------------------------------------------------------------


def test_argmax_positions():
    t = Tensor([[1.0, 5.0, 3.0], [7.0, 2.0, 7.0]])
    assert t.argmax().shape == () and t.argmax().item() == 3.0  # row-major position of the 7
    assert t.argmax(0).tolist() == [1.0, 0.0, 1.0]
    assert t.argmax(axis=1).tolist() == [1.0, 0.0]  # ties: the first
    assert t.argmax(-1, keepdims=True).tolist() == [[1.0], [0.0]]
    assert Tensor([1.0, math.nan, 9.0, math.nan]).argmax().item() == 1.0  # the first NaN, as max


def test_argmax_points_at_what_max_selects():
    t = Tensor([[0.5, -1.0, 0.5], [2.0, 3.0, -4.0]])
    for axis in (0, 1):
        picked = t.argmax(axis).tolist()
        lanes = t.tolist() if axis == 1 else t.T.tolist()
        assert [lane[int(i)] for lane, i in zip(lanes, picked)] == t.max(axis).tolist()


def test_argmax_errors():
    with pytest.raises(ValueError, match=r"argmax: cannot reduce over an empty axis .* \(0, 2\)"):
        Tensor.zeros(0, 2).argmax(0)
    with pytest.raises(IndexError, match="axis 2 is out of range"):
        Tensor([[1.0]]).argmax(2)
    with pytest.raises(TypeError, match="axis must be an int"):
        Tensor([[1.0]]).argmax((0, 1))


@given(tensors(min_value=-3, max_value=3), st.data())
def test_argmax_agrees_with_pytorch(t, data):
    torch = pytest.importorskip("torch")
    reference = torch.tensor(t.tolist(), dtype=torch.float64)
    assert t.argmax().item() == reference.argmax().item()
    axis = data.draw(st.integers(-t.ndim, t.ndim - 1))
    assert t.argmax(axis).tolist() == reference.argmax(axis).double().tolist()


# -- clone --------------------------------------------------------------------------------------


def test_clone_copies_the_data_and_passes_gradients_back():
    x = Tensor([[1.0, -2.0], [3.0, 0.5]])
    c = x.clone()
    assert c.tolist() == x.tolist() and c.shape == x.shape
    assert all(a is not b for a, b in zip(c.values(), x.values()))
    c.values()[0].data = 100.0  # the copy's numbers are its own
    assert x.tolist()[0][0] == 1.0
    (x.clone() * x).sum().backward()  # d/dx Σ x·x = 2x, both paths reaching x
    assert x.grad == [[2.0, -4.0], [6.0, 1.0]]


@given(tensors(min_value=-3, max_value=3))
def test_clone_gradients_match_central_differences(t):
    assert_grads_close(lambda x: x.clone().tanh() * x, [t])


def test_clone_under_no_grad_gives_leaves():
    x = Tensor([1.0, 2.0])
    with no_grad():
        c = x.clone()
    assert all(v.children == () for v in c.values()) and c.tolist() == [1.0, 2.0]


# -- eye, allclose, numpy -----------------------------------------------------------------------


def test_eye():
    assert Tensor.eye(3).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert Tensor.eye(2, 3).shape == (2, 3) and Tensor.eye(0).shape == (0, 0)
    with pytest.raises(ValueError, match="eye: n must be an int >= 0, got -1"):
        Tensor.eye(-1)


def test_allclose():
    a = Tensor([[1.0, 2.0], [3.0, math.inf]])
    assert a.allclose(a) and a.allclose([[1.0, 2.0], [3.0, math.inf]])
    assert a.allclose(a + Tensor([[1e-6, 0], [0, 0]]))  # within rtol·|other|
    assert not a.allclose(a + Tensor([[1e-3, 0], [0, 0]]))
    assert not a.allclose([[1.0, 2.0], [3.0, -math.inf]])
    assert not Tensor([1e300]).allclose(math.inf) and not Tensor([math.inf]).allclose(1e300)
    assert Tensor([1.0, 1.0]).allclose(1.0)  # broadcast
    assert Tensor([1.0]).allclose(1.1, rtol=0, atol=0.2) and not Tensor([1.0]).allclose(1.1)
    assert not Tensor([math.nan]).allclose([math.nan])
    with pytest.raises(ValueError, match="cannot be broadcast"):
        Tensor([1.0, 2.0]).allclose([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="allclose: rtol must be a real number >= 0, got -1"):
        a.allclose(a, rtol=-1)


@pytest.mark.parametrize("x, y", [(1.0, 1.0 + 1e-9), (1e-9, 0.0), (1.0, 1.0001), (100.0, 100.001)])
def test_allclose_agrees_with_pytorch(x, y):
    torch = pytest.importorskip("torch")
    expected = torch.allclose(torch.tensor([x], dtype=torch.float64), torch.tensor([y], dtype=torch.float64))
    assert Tensor([x]).allclose([y]) == expected


def test_numpy():
    np = pytest.importorskip("numpy")
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    array = t.numpy()
    assert array.dtype == np.float64 and array.shape == (2, 2) and array.tolist() == t.tolist()
    array[0, 0] = 9.0
    assert t.tolist()[0][0] == 1.0  # a copy
    assert Tensor(3.0).numpy().shape == () and Tensor.zeros(0, 3).numpy().shape == (0, 3)


def test_numpy_without_numpy(monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` now fails
    with pytest.raises(ImportError, match=r"Tensor.numpy\(\) needs numpy"):
        Tensor([1.0]).numpy()


def test_flatten_between_two_axes():
    t = Tensor.zeros(2, 3, 4, 5)
    assert t.flatten().shape == (120,)
    assert t.flatten(1).shape == (2, 60)
    assert t.flatten(1, 2).shape == (2, 12, 5) and t.flatten(-2).shape == (2, 3, 20)
    assert Tensor(1.0).flatten().shape == (1,)
    assert t.flatten(1).values() == t.values()  # the same Values, in the same order
    with pytest.raises(
        ValueError, match=r"flatten: start_dim 2 comes after end_dim 1 \(shape \(2, 3, 4, 5\)\)"
    ):
        t.flatten(2, 1)
