"""Tensor: construction, values against numpy, gradients against central differences (hypothesis,
every operation and axis choice), the graph it builds, and every error a user can trigger."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import Tensor, Value, no_grad, ops
from puretorch_scalar.engine import Constant, topological_order
from puretorch_scalar.tensor import AxisError
from puretorch_scalar.testing import assert_grads_close, broadcastable_shapes, shapes, tensors

np = pytest.importorskip("numpy")


def array(t):
    """A tensor's data as a numpy array (the reference every value is compared with)."""
    return np.array(t.tolist(), dtype=float).reshape(t.shape)


def close(t, expected, tol=1e-9):
    assert t.shape == np.shape(expected)
    np.testing.assert_allclose(array(t), expected, rtol=tol, atol=tol)


@st.composite
def axis_choices(draw, ndim):
    """None, one axis (maybe negative), or a tuple of distinct axes (maybe negative)."""
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none" or ndim == 0:
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


# -- construction -------------------------------------------------------------------------------


def test_numbers_become_leaves_and_values_are_kept_as_they_are():
    v = Value(2.0)
    t = Tensor([[1, v], (3.5, True)])
    assert t.shape == (2, 2) and t.ndim == 2 and t.size == 4 and len(t) == 2
    assert t.values()[1] is v and t[0, 1] is v
    assert all(type(x) is Value and x.op == "" for x in t.values())
    assert t.tolist() == [[1.0, 2.0], [3.5, 1.0]]
    s = Tensor(3)
    assert s.shape == () and s.ndim == 0 and s.size == 1 and s.item() == 3.0 and s.tolist() == 3.0
    assert Tensor(v).values() == [v]


def test_numpy_arrays_and_nested_tensors():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3) and t.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert type(t.values()[0].data) is float
    assert Tensor(np.arange(3, dtype=np.int32)).tolist() == [0.0, 1.0, 2.0]
    assert Tensor([np.float32(1.5), np.int64(2)]).tolist() == [1.5, 2.0]
    assert Tensor(np.float64(2.5)).shape == () and Tensor(np.zeros((2, 0))).shape == (2, 0)
    assert Tensor(np.zeros((0, 4))).shape == (0, 4) and Tensor(Tensor.zeros(0, 4)).shape == (0, 4)
    v = Value(1.0)
    assert Tensor(np.array([v, v], dtype=object)).values()[1] is v
    rows = [Tensor([1, 2]), Tensor([3, 4])]
    stacked = Tensor(rows)
    assert stacked.shape == (2, 2) and stacked.values()[3] is rows[1].values()[1]
    t = Tensor([1, 2])
    assert all(a is b for a, b in zip(Tensor(t).values(), t.values()))


def test_empty_tensors():
    assert Tensor([]).shape == (0,) and Tensor([[], []]).shape == (2, 0)
    assert Tensor([]).tolist() == [] and Tensor([[], []]).tolist() == [[], []]
    assert Tensor([]).sum().item() == 0.0


@pytest.mark.parametrize(
    ("data", "depth"),
    [([[1, 2], [3]], 1), ([1, [2]], 1), ([[1], 2], 1), ([[[1, 2], [3, 4]], [[5, 6], [7]]], 2)],
)
def test_ragged_input_names_the_depth(data, depth):
    with pytest.raises(ValueError, match=f"ragged nested sequence at depth {depth}"):
        Tensor(data)


@pytest.mark.parametrize("bad", ["ab", None, [1, "x"], [[None]], {1: 2}, 1j])
def test_non_numeric_elements_raise_type_error_naming_the_type(bad):
    with pytest.raises(TypeError, match="elements must be numbers or Values, not"):
        Tensor(bad)


# -- contents -----------------------------------------------------------------------------------


def test_item_len_and_iteration_errors():
    with pytest.raises(ValueError, match=r"item\(\): the tensor has 3 elements \(shape \(3,\)\)"):
        Tensor([1, 2, 3]).item()
    assert Tensor([[5]]).item() == 5.0
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(Tensor(1))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(Tensor(1))


def test_iteration_yields_rows_or_values():
    t = Tensor([[1, 2], [3, 4], [5, 6]])
    assert [row.tolist() for row in t] == [[1, 2], [3, 4], [5, 6]]
    assert list(t[0]) == t[0].values() and all(isinstance(v, Value) for v in t[0])


# -- elementwise --------------------------------------------------------------------------------

BINARY = {
    "+": (lambda a, b: a + b, np.add),
    "-": (lambda a, b: a - b, np.subtract),
    "*": (lambda a, b: a * b, np.multiply),
    "/": (lambda a, b: a / b, np.divide),
    "**": (lambda a, b: a**b, np.power),
}


@pytest.mark.parametrize("op", BINARY)
@given(pair=broadcastable_shapes(), data=st.data())
def test_binary_ops_broadcast_like_numpy_with_gradients(op, pair, data):
    f, reference = BINARY[op]
    positive = op in ("/", "**")  # keep divisors away from 0 and bases positive
    a = data.draw(tensors(pair[0], 0.5 if positive else -3, 3))
    b = data.draw(tensors(pair[1], 0.5 if positive else -3, 3))
    close(f(a, b), reference(array(a), array(b)))
    assert_grads_close(f, [a, b])


@pytest.mark.parametrize("op", BINARY)
def test_numbers_and_values_on_either_side(op):
    f, reference = BINARY[op]
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    x = np.array(t.tolist())
    close(f(t, 2), reference(x, 2.0))
    close(f(2, t), reference(2.0, x))
    close(f(Value(2.0), t), reference(2.0, x))
    close(f(t, Value(2.0)), reference(x, 2.0))


def test_a_number_operand_is_one_shared_constant():
    t = Tensor([1.0, 2.0, 3.0])
    out = t * 2
    constants = {v.children[1] for v in out.values()}
    assert len(constants) == 1 and isinstance(constants.pop(), Constant)


def test_broadcast_operand_receives_the_sum_of_its_gradients():
    x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = Tensor([10.0, 20.0, 30.0])
    (x * b).sum().backward()
    assert b.grad == [5.0, 7.0, 9.0]
    assert x.grad == [[10.0, 20.0, 30.0], [10.0, 20.0, 30.0]]
    # no copies: every element of the product reads b's own Values
    assert {id(v.children[1]) for v in (x * b).values()} == {id(v) for v in b.values()}


@pytest.mark.parametrize(("a", "b"), [((2, 3), (2,)), ((3, 1, 4), (2, 5)), ((2, 3), (3, 2)), ((0,), (2,))])
def test_incompatible_shapes_raise_showing_both(a, b):
    with pytest.raises(ValueError, match=rf"shapes \({a[0]},.*\) and \({b[0]},.*\) cannot be broadcast"):
        Tensor.zeros(*a) + Tensor.zeros(*b)


@pytest.mark.parametrize("bad", ["x", None, [1.0, 2.0]])
def test_arithmetic_with_unsupported_types_raises_type_error(bad):
    t = Tensor([1.0, 2.0])
    with pytest.raises(TypeError):
        t + bad
    with pytest.raises(TypeError):
        bad * t


def test_numpy_array_operand_is_refused_instead_of_looped_over():
    with pytest.raises(TypeError):
        np.ones(2) + Tensor([1.0, 2.0])


UNARY = {
    "exp": (np.exp, None),
    "log": (np.log, "positive"),
    "tanh": (np.tanh, None),
    "relu": (lambda x: np.maximum(x, 0), "kink"),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), None),
    "sqrt": (np.sqrt, "positive"),
    "abs": (np.abs, "kink"),
    "neg": (np.negative, None),
    "sin": (np.sin, None),
    "cos": (np.cos, None),
}


def test_every_elementwise_op_of_the_registry_is_checked_against_numpy():
    builtin_unary = {r.name for r in ops.BUILTINS if r.arity == 1}
    assert set(UNARY) == builtin_unary


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_functions_against_numpy_with_gradients(name, data):
    reference, domain = UNARY[name]
    if domain == "positive":
        t = data.draw(tensors(shapes(0), 0.1, 5))
    else:
        t = data.draw(tensors(shapes(0), -3, 3, avoid=(0.0,) if domain == "kink" else (), margin=0.01))
    f = (lambda x: -x) if name == "neg" else (lambda x: getattr(x, name)())
    close(f(t), reference(array(t)))
    assert_grads_close(f, [t])
    assert abs(t).tolist() == t.abs().tolist()


# -- matmul -------------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((1, 1), (1, 5)),
    ((2, 2, 3), (3, 2)), ((3,), (2, 3, 2)), ((2, 1, 2, 3), (3, 3, 1)), ((2, 3, 2), (2,)),
]  # fmt: skip


@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES)
@given(data=st.data())
def test_matmul_like_numpy_with_gradients(sa, sb, data):
    a, b = data.draw(tensors(sa, -2, 2)), data.draw(tensors(sb, -2, 2))
    close(a @ b, array(a) @ array(b))
    assert_grads_close(lambda x, y: x @ y, [a, b])


def test_matmul_output_elements_are_single_dot_nodes():
    a, b = Tensor.randn(16, 16, seed=0), Tensor.randn(16, 16, seed=1)
    out = a @ b
    assert out.shape == (16, 16)
    assert all(v.op == "dot" and len(v.children) == 32 for v in out.values())
    row, col = out[2, 5].children[:16], out[2, 5].children[16:]
    assert list(row) == a[2].values() and list(col) == b[:, 5].values()


@pytest.mark.parametrize(
    ("sa", "sb", "message"),
    [
        ((2, 3), (4, 5), r"inner dimensions differ: \(2, 3\) @ \(4, 5\)"),
        ((3,), (4,), r"inner dimensions differ: \(3,\) @ \(4,\)"),
        ((2, 3), (2,), r"\(2, 3\) @ \(2,\)"),
        ((), (3,), r"at least 1-D, got shapes \(\) and \(3,\)"),
        ((2, 2, 3), (3, 3, 4), r"batch axes of \(2, 2, 3\) and \(3, 3, 4\) cannot be broadcast"),
    ],
)
def test_matmul_shape_errors_show_both_shapes(sa, sb, message):
    with pytest.raises(ValueError, match=message):
        Tensor.zeros(*sa) @ Tensor.zeros(*sb)


def test_matmul_with_empty_axes_gives_zeros_like_numpy():
    close(Tensor.zeros(2, 0) @ Tensor.zeros(0, 3), np.zeros((2, 3)))
    close(Tensor.zeros(0, 2) @ Tensor.zeros(2, 3), np.zeros((0, 3)))


def test_matmul_with_a_non_tensor_is_a_type_error():
    with pytest.raises(TypeError):
        Tensor([1.0]) @ [1.0]


# -- reductions ---------------------------------------------------------------------------------

REDUCTIONS = {"sum": np.sum, "mean": np.mean, "max": np.max}


@pytest.mark.parametrize("name", REDUCTIONS)
@given(data=st.data())
def test_reductions_against_numpy_for_every_axis_choice(name, data):
    t = data.draw(tensors(shapes(0, 3), -3, 3))
    axis = data.draw(axis_choices(t.ndim))
    keepdims = data.draw(st.booleans())
    out = getattr(t, name)(axis=axis, keepdims=keepdims)
    close(out, REDUCTIONS[name](array(t), axis=axis, keepdims=keepdims))
    if name != "max":  # max's gradient is checked below, away from ties
        assert_grads_close(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), [t])


@given(data=st.data())
def test_max_gradient_goes_to_the_argmax(data):
    shape = data.draw(shapes(1, 3))
    # distinct values far apart, so that no nudge changes the argmax
    flat = data.draw(st.permutations(range(math.prod(shape))))
    t = Tensor([float(x) for x in flat]).reshape(*shape)
    axis = data.draw(axis_choices(t.ndim))
    assert_grads_close(lambda x: x.max(axis=axis), [t])


def test_max_returns_the_selected_values_first_on_ties():
    t = Tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    m = t.max(axis=1)
    assert m.values()[0] is t[0, 1] and m.values()[1] is t[1, 0]
    m.sum().backward()
    assert t.grad == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


def test_reductions_build_one_n_ary_node_per_output():
    t = Tensor.ones(3, 4)
    s = t.sum(axis=0)
    assert s.shape == (4,) and all(v.op == "sum" and len(v.children) == 3 for v in s.values())
    total = t.sum()
    assert total.shape == () and total.values()[0].op == "sum" and len(total.values()[0].children) == 12
    mean = t.mean(axis=1)
    assert all(v.op == "/" and v.children[0].op == "sum" for v in mean.values())


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_axis_errors(name):
    t = Tensor.zeros(2, 3)
    with pytest.raises(AxisError, match="axis 2 is out of range for a tensor with 2 dimension"):
        getattr(t, name)(axis=2)
    with pytest.raises(IndexError, match="axis -3"):
        getattr(t, name)(axis=-3)
    with pytest.raises(ValueError, match="repeated axis"):
        getattr(t, name)(axis=(0, -2))
    with pytest.raises(TypeError, match="axis must be an int, not float"):
        getattr(t, name)(axis=1.0)


def test_max_of_an_empty_axis_raises():
    with pytest.raises(ValueError, match=r"max: cannot reduce over an empty axis .* shape \(2, 0\)"):
        Tensor.zeros(2, 0).max(axis=1)
    assert Tensor.zeros(2, 0).max(axis=0).shape == (0,)


# -- softmax ------------------------------------------------------------------------------------


def softmax_reference(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_against_numpy_with_gradients_along_every_axis(name, data):
    t = data.draw(tensors(shapes(1, 3), -4, 4))
    axis = data.draw(st.integers(-t.ndim, t.ndim - 1))
    out = getattr(t, name)(axis=axis)
    expected = softmax_reference(array(t), axis)
    close(out, expected if name == "softmax" else np.log(expected), tol=1e-9)
    assert_grads_close(lambda x: getattr(x, name)(axis=axis), [t])


def test_softmax_is_stable_for_huge_logits():
    t = Tensor([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]])
    np.testing.assert_allclose(array(t.softmax()), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-12)
    np.testing.assert_allclose(array(t.log_softmax()), [[0, -2000, -1000], [-math.log(3)] * 3], rtol=1e-12)
    t.log_softmax()[0, 1].backward()
    assert all(math.isfinite(g) for row in t.grad for g in row)


def test_softmax_axis_errors():
    with pytest.raises(AxisError, match="axis 1 is out of range"):
        Tensor([1.0, 2.0]).softmax(axis=1)
    with pytest.raises(TypeError, match="axis must be an int, not tuple"):
        Tensor([[1.0]]).log_softmax(axis=(0, 1))


# -- shape operations ---------------------------------------------------------------------------


@given(data=st.data())
def test_reshape_flatten_transpose_against_numpy(data):
    t = data.draw(tensors(shapes(0, 3)))
    x = array(t)
    close(t.flatten(), x.flatten())
    close(t.T, x.T)
    perm = data.draw(st.permutations(range(t.ndim)))
    close(t.transpose(*perm), x.transpose(*perm))
    sizes = [n for n in x.shape]
    new = tuple(reversed(sizes)) + (1,)
    close(t.reshape(*new), x.reshape(new))
    if sizes:
        close(t.reshape(-1, *sizes[1:]), x.reshape(-1, *sizes[1:]))
    assert_grads_close(lambda y: y.transpose(*perm).reshape(*new) * 2, [t])


def test_shape_operations_rearrange_the_same_values():
    t = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.T[2, 1] is t[1, 2] and t.reshape(3, 2)[2, 0] is t[1, 1]
    assert t.transpose(1, 0).shape == (3, 2) and t.transpose((1, 0)).tolist() == t.T.tolist()
    assert t.reshape((6,)).values() == t.values() and t.flatten().values() == t.values()


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((4,), r"cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4,\)"),
        ((-1, 4), r"cannot reshape .* into \(-1, 4\)"),
        ((-1, -1), "at most one -1"),
        ((-2, 3), "at most one -1"),
    ],
)
def test_reshape_errors_show_both_shapes(shape, message):
    with pytest.raises(ValueError, match=message):
        Tensor.zeros(2, 3).reshape(*shape)


def test_transpose_errors():
    t = Tensor.zeros(2, 3, 4)
    with pytest.raises(ValueError, match=r"axes \(0, 1\) are not a permutation of the 3 axes .* \(2, 3, 4\)"):
        t.transpose(0, 1)
    with pytest.raises(ValueError, match="not a permutation"):
        t.transpose(0, 0, 1)
    with pytest.raises(AxisError, match="axis 3 is out of range"):
        t.transpose(0, 1, 3)
    with pytest.raises(TypeError, match="transpose: sizes must be ints, not str"):
        t.transpose("a")


# -- indexing -----------------------------------------------------------------------------------


@st.composite
def index_keys(draw, shape):
    """numpy index keys for `shape`: ints, slices, lists of ints (paired up), `...` and None."""
    key, lists = [], st.integers(0, 3)
    list_length = draw(lists)
    keyed = draw(st.integers(0, len(shape)))  # how many axes get a key
    ellipsis_at = draw(st.integers(0, keyed)) if draw(st.booleans()) else None
    # keys after a `...` apply to the last axes
    sizes = (
        shape[:keyed]
        if ellipsis_at is None
        else shape[:ellipsis_at] + shape[len(shape) - keyed + ellipsis_at :]
    )
    for position, n in enumerate(sizes):
        if position == ellipsis_at:
            key.append(Ellipsis)
        kind = draw(st.sampled_from(["int", "slice", "list", "none"]))
        if kind == "none":
            key.append(None)
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "list":
            length = draw(st.sampled_from([1, list_length]))  # lists pair up: lengths equal or 1
            key.append(draw(st.lists(st.integers(-n, n - 1), min_size=length, max_size=length)))
        else:
            bounds = st.integers(-n - 1, n + 1)
            key.append(slice(draw(bounds), draw(bounds), draw(st.sampled_from([None, 1, 2, -1]))))
    if ellipsis_at == len(sizes):
        key.append(Ellipsis)
    return tuple(key)


@given(data=st.data())
def test_indexing_against_numpy(data):
    t = data.draw(tensors(shapes(1, 3, 1, 4)))
    key = data.draw(index_keys(t.shape))
    out, expected = t[key], array(t)[key]
    if isinstance(out, Value):
        assert np.ndim(expected) == 0 and out.data == expected
    else:
        close(out, expected)
    assert_grads_close(lambda y: y[key] * 3, [t])


_ = slice(None)  # `:` in the keys below


@pytest.mark.parametrize(
    "shape, key, expected",  # the expected shapes are numpy's (checked with numpy 2.4)
    [
        # lists (and the ints with them) separated by a slice, None or `...` go first, even where
        # the `...` stands for no axes at all
        ((2, 3, 4), (_, [0], ..., 0), (1, 2)),
        ((2, 3, 4), (_, 0, ..., [0, 1, 2]), (3, 2)),
        ((2, 3, 4), (_, [0, 1, 2], ..., [1, 3, 0]), (3, 2)),
        ((2, 3, 4), (_, range(3), ..., -1), (3, 2)),
        ((2, 3, 4, 5), (_, [1, 0, 2], ..., 0, _), (3, 2, 5)),
        ((2, 3, 4, 5), (_, range(3), ..., [1, 0, 2]), (3, 2, 4)),
        ((2, 3, 4, 5), (_, 0, _, [1, 2, 3]), (3, 2, 4)),
        ((2, 3, 4, 5), (_, [0], None, 0), (1, 2, 1, 5)),
        # adjacent ones stay where the first of them is
        ((2, 3, 4), (_, [0, 1, 2], 0), (2, 3)),
        ((2, 3, 4), (_, [0, 1, 2], 0, ...), (2, 3)),
        ((2, 3, 4), (..., [0, 1, 2], 0), (2, 3)),
        ((2, 3, 4, 5), (_, [1, 0, 2], 0, ..., _), (2, 3, 5)),
        ((2, 3, 4, 5), (None, _, [0, 1, 2], 0), (1, 2, 3, 5)),
    ],
)
def test_separated_index_lists_go_first(shape, key, expected):
    t = Tensor(np.arange(math.prod(shape), dtype=float).reshape(shape))
    assert t[key].shape == expected == np.shape(array(t)[key])
    close(t[key], array(t)[key])
    assert_grads_close(lambda y: y[key] * 3, [t])


def test_separated_index_lists_values():
    t = Tensor([[[100 * i + 10 * j + k for k in range(4)] for j in range(3)] for i in range(2)])
    assert t[:, [0, 2], ..., 1].tolist() == [[1, 101], [21, 121]]  # the list's axis first
    assert t[:, [0, 2], 1].tolist() == [[1, 21], [101, 121]]  # adjacent: in its place


def test_index_results_are_the_same_values():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    v = t.values()[3]
    assert t[1, 1] is v and t[-1, -1] is v and t[1][1] is v and t[..., 1][1] is v
    assert t[[1, 0], [1, 1]].values()[0] is v and t[:, None, 1][1, 0] is v
    s = Tensor(5.0)
    assert s[()] is s.values()[0] and s[None].shape == (1,)


def test_picking_each_rows_label_and_its_gradient():
    logp = Tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    picked = logp[range(2), [2, 0]]
    assert picked.tolist() == [0.3, 0.4]
    picked.sum().backward()
    assert logp.grad == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    rows = logp[[1, 1, 0]]  # a row picked twice collects both gradients
    rows.sum().backward()
    assert logp.grad == [[1.0, 1.0, 2.0], [3.0, 2.0, 2.0]]


def test_index_errors():
    t = Tensor.zeros(2, 3)
    with pytest.raises(IndexError, match=r"index 3 is out of range for axis 1 of size 3 \(shape \(2, 3\)\)"):
        t[0, 3]
    with pytest.raises(IndexError, match="index -3 is out of range for axis 0 of size 2"):
        t[-3]
    with pytest.raises(IndexError, match="index 5 is out of range for axis 1"):
        t[:, [0, 5]]
    with pytest.raises(IndexError, match=r"too many indices \(3\) for a tensor of shape \(2, 3\)"):
        t[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        t[..., 0, ...]
    with pytest.raises(IndexError, match=r"index lists of lengths \[2, 3\] cannot be paired up"):
        t[[0, 1], [0, 1, 2]]
    for bad, name in [
        (1.0, "float"),
        ("a", "str"),
        (True, "bool"),
        ([0.5], "float"),
        ([[0]], "list"),
        (Tensor([0]), "Tensor"),
    ]:
        with pytest.raises(TypeError, match=f"tensor indices must be ints, slices, .* not {name}"):
            t[bad]


# -- backward and gradients ---------------------------------------------------------------------


def test_backward_of_a_one_element_tensor_and_accumulation():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    loss = (x * x).sum()
    loss.backward()
    assert x.grad == [[2.0, 4.0], [6.0, 8.0]]
    loss.backward()
    assert x.grad == [[4.0, 8.0], [12.0, 16.0]]  # leaves accumulate
    x.zero_grad()
    assert x.grad == [[0.0, 0.0], [0.0, 0.0]]


def test_backward_with_a_gradient_matches_per_element_backward():
    x = Tensor([1.0, 2.0, 3.0])
    y = (x * x).exp() / 10  # non-leaf elements
    y.backward([1.0, 0.5, -2.0])
    expected = [g * 2 * a * math.exp(a * a) / 10 for g, a in zip([1.0, 0.5, -2.0], [1.0, 2.0, 3.0])]
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)
    assert y.grad == [1.0, 0.5, -2.0]  # non-leaves hold the latest pass's gradient
    y.backward(Tensor([1.0, 0.5, -2.0]))
    np.testing.assert_allclose(x.grad, [2 * e for e in expected], rtol=1e-12)
    assert y.grad == [1.0, 0.5, -2.0]


def test_backward_errors():
    y = Tensor([1.0, 2.0]) * 2
    with pytest.raises(ValueError, match=r"shape \(2,\) needs a gradient of that shape"):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient of shape \(3,\) does not match .* shape \(2,\)"):
        y.backward([1.0, 2.0, 3.0])


def test_backward_and_zero_grad_work_under_no_grad():
    x = Tensor([1.0, 2.0])
    y = x * 3
    with no_grad():
        y.backward([1.0, 1.0])
        assert x.grad == [3.0, 3.0]
        y.zero_grad()
    assert x.grad == [0.0, 0.0]


def test_zero_grad_walks_the_whole_graph_below():
    x = Tensor([1.0, 2.0])
    y = (x * 3).exp()
    y.sum().backward()
    y.zero_grad()
    assert all(v.grad == 0.0 for root in y.values() for v in topological_order(root))


def test_detach_makes_new_leaves():
    x = Tensor([1.0, 2.0])
    d = (x * 3).detach()
    assert d.tolist() == [3.0, 6.0] and all(v.op == "" and v.children == () for v in d.values())


def test_grad_of_a_0d_tensor_is_a_float():
    x = Tensor(2.0)
    (x * x).backward()
    assert x.grad == 4.0


def test_operations_under_no_grad_build_no_graph():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    with no_grad():
        outs = [x + 1, x @ x, x.sum(axis=0), x.mean(), x.softmax(), x.log_softmax(axis=0), x.exp()]
    assert all(v.children == () for out in outs for v in out.values())
    assert x.max().values()[0] is x[1, 1]  # max selects, whatever the mode


def test_a_value_operand_receives_the_gradient_of_every_element():
    w = Value(3.0)
    x = Tensor([1.0, 2.0, 4.0])
    (x * w).sum().backward()
    assert w.grad == 7.0 and x.grad == [3.0, 3.0, 3.0]


# -- factories ----------------------------------------------------------------------------------


def test_factories():
    assert Tensor.zeros(2, 3).tolist() == [[0.0] * 3] * 2 and Tensor.ones((2,)).tolist() == [1.0, 1.0]
    assert Tensor.zeros().shape == () and Tensor.zeros(0, 2).shape == (0, 2)
    assert Tensor.randn(3, 4, seed=1).tolist() == Tensor.randn(3, 4, seed=1).tolist()
    assert Tensor.randn(3, 4, seed=1).tolist() != Tensor.randn(3, 4, seed=2).tolist()
    u = Tensor.uniform(1000, low=2, high=3, seed=0)
    assert (
        all(2 <= v.data <= 3 for v in u.values())
        and Tensor.uniform(5, seed=3).tolist() == Tensor.uniform(5, seed=3).tolist()
    )
    assert all(type(v) is Value and v.op == "" for v in Tensor.randn(2, seed=0).values())
    big = array(Tensor.randn(4000, seed=0))
    assert abs(big.mean()) < 0.1 and abs(big.std() - 1) < 0.1


@pytest.mark.parametrize("factory", [Tensor.zeros, Tensor.ones, Tensor.randn, Tensor.uniform])
def test_factory_errors(factory):
    with pytest.raises(ValueError, match=r"negative size in shape \(2, -1\)"):
        factory(2, -1)
    with pytest.raises(TypeError, match="sizes must be ints, not float"):
        factory(2.0)


# -- display ------------------------------------------------------------------------------------


def test_repr_aligns_columns_and_summarizes_large_tensors():
    assert repr(Tensor([[1, -2.5], [30, 4]])) == (
        "tensor([[ 1.0000, -2.5000],\n        [30.0000,  4.0000]], shape=(2, 2))"
    )
    assert repr(Tensor([[[1, 2]], [[3, 4]]])) == (
        "tensor([[[1.0000, 2.0000]],\n\n        [[3.0000, 4.0000]]], shape=(2, 1, 2))"
    )
    big = repr(Tensor(list(range(2000))))
    assert (
        big
        == "tensor([   0.0000,    1.0000,    2.0000, ..., 1997.0000, 1998.0000, 1999.0000], shape=(2000,))"
    )
    rows = repr(Tensor.zeros(100, 20)).splitlines()
    assert len(rows) == 7 and rows[3].strip() == "...," and rows[0].count("...") == 1
    assert repr(Tensor(list(range(1000)))).count("...") == 0  # up to 1,000 elements, all shown


def test_repr_is_nested_rounded_and_shows_the_shape():
    expected = "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], shape=(2, 2))"
    assert repr(Tensor([[1, 2], [3, 4]])) == expected
    assert repr(Tensor(1.23456)) == "tensor(1.2346, shape=())"
    assert repr(Tensor([])) == "tensor([], shape=(0,))"


# -- PyTorch as an optional second oracle -------------------------------------------------------


def test_a_small_network_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w1, b1, w2 = (rng.normal(size=s) for s in [(5, 4), (4, 6), (6,), (6, 3)])
    labels = [0, 2, 1, 1, 0]

    def forward(lib_x, lib_w1, lib_b1, lib_w2, log_softmax, pick):
        h = (lib_x @ lib_w1 + lib_b1).tanh()
        logits = h @ lib_w2 / 2 - (h * h).mean()
        return -pick(log_softmax(logits), labels).mean() + logits.softmax(-1)[0, 1] * 3

    ours = [Tensor(a) for a in (x, w1, b1, w2)]
    loss = forward(*ours, lambda z: z.log_softmax(axis=-1), lambda z, y: z[range(5), y])
    loss.backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w1, b1, w2)]
    expected = forward(*theirs, lambda z: z.log_softmax(-1), lambda z, y: z[range(5), y])
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-10)
    for t, reference in zip(ours, theirs):
        np.testing.assert_allclose(t.grad, reference.grad.numpy(), rtol=1e-9, atol=1e-12)
