"""Edge behaviour of the engine and Tensor that mutation testing (`make mutation`) found unchecked.

The methods made from the op registry are tested through the registry in test_ops.py.
"""

import math
import random
import threading
from fractions import Fraction

import pytest

from puretorch_scalar import Tensor, Value, grad, is_grad_enabled, no_grad

inf = float("inf")

# -- Value ---------------------------------------------------------------------------------------


def test_nodes_made_by_ops_have_an_empty_label_and_detach_keeps_the_label():
    a, b = Value(1.0, label="a"), Value(2.0)
    assert [n.label for n in (a + b, -a, Value.sum([a, b]), Value.dot([a], [b]))] == ["", "", "", ""]
    assert a.detach().label == "a"


def test_any_real_number_is_lifted():
    assert (Value(1.0) + Fraction(1, 2)).data == 1.5
    assert Tensor([Fraction(1, 4)]).tolist() == [0.25]


def test_comparisons_at_equality():
    one = Value(1.0)
    assert (one < Value(1.0), one <= 1, one > 1, one >= Value(1.0)) == (False, True, False, True)


@pytest.mark.parametrize(
    "base, exponent, expected",
    [(0.0, 0.5, 0.0), (10.0, 401, inf), (-10.0, 401, -inf), (-10.0, 400, inf), (0.5, -1025, inf)],
)
def test_pow_at_zero_and_on_overflow(base, exponent, expected):
    assert (Value(base) ** exponent).data == expected


def test_sqrt_of_zero_and_trig_of_infinity():
    y = Value(0.0)
    root = y.sqrt()
    assert root.data == 0.0 and grad(root, [y]) == [inf]  # 1 / (2·sqrt 0), as in PyTorch
    assert math.isnan(Value(inf).sin().data) and math.isnan(Value(-inf).cos().data)


def test_derivative_of_pow_in_its_exponent_at_zero_and_negative_bases():
    b = Value(2.0)
    assert grad(Value(0.0) ** b, [b]) == [0.0]  # PyTorch's value: 0 ** b is 0 for every b > 0
    (g,) = grad(Value(-2.0) ** b, [b])  # ln of a negative base: no real derivative
    assert math.isnan(g)


def test_no_grad_in_another_thread_does_not_switch_this_one_off():
    entered, release = threading.Event(), threading.Event()

    def other():
        with no_grad():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    entered.wait(10)
    try:
        assert is_grad_enabled()
        x = Value(1.0)
        assert (x + 1).children != () and x.exp().children == (x,)
        assert Tensor([1.0]).sin().values()[0].children != ()
    finally:
        release.set()
        thread.join()


def test_leaving_an_inner_no_grad_keeps_the_outer_one():
    with no_grad():
        with no_grad():
            pass
        assert not is_grad_enabled() and (Value(1.0) * 2).children == ()
    assert is_grad_enabled() and (Value(1.0) * 2).children != ()


@pytest.mark.parametrize("earlier", [1.0, 3.0])
def test_backward_with_create_graph_adds_to_what_leaves_accumulated(earlier):
    x = Value(0.5)
    (x * earlier).backward()
    assert x.grad == earlier
    (x * x).backward(create_graph=True)
    assert x.grad == earlier + 1.0
    x.backward(create_graph=True)  # on a leaf: adds the seed
    assert x.grad == earlier + 2.0


def test_grad_of_an_input_outside_the_graph_is_zero_whatever_its_grad():
    x, outside = Value(2.0), Value(5.0)
    outside.grad = 7.0
    assert grad(x * x, [x, outside]) == [4.0, 0.0]
    assert outside.grad == 7.0


# -- Tensor --------------------------------------------------------------------------------------


def test_negative_indices_reach_the_first_element():
    t = Tensor([1.0, 2.0, 3.0])
    assert t[-3].data == 1.0 and t[[-3, -1]].tolist() == [1.0, 3.0]


def test_advanced_indexing_pairs_lists_like_numpy():
    t = Tensor([[[4 * (3 * i + j) + k for k in range(4)] for j in range(3)] for i in range(2)])  # 0…23
    apart = t[[0, 1], :, [0, 1]]  # lists separated by a slice: their axis comes first
    assert apart.shape == (2, 3) and apart.tolist() == [[0, 4, 8], [13, 17, 21]]
    assert t[:, [0, 1], [0, 1]].shape == (2, 2)  # adjacent: their axis stays where they are
    assert Tensor.zeros(3, 4, 5, 6)[:, [0, 1], :, [0, 1]].shape == (2, 3, 5)  # apart, after a slice
    assert t[[1], [0, 2]].tolist() == [[12, 13, 14, 15], [20, 21, 22, 23]]  # a length-1 list pairs with any


def test_random_factories_follow_the_global_random_state_without_a_seed():
    for factory in (Tensor.randn, Tensor.uniform):
        random.seed(5)
        first = factory(4).tolist()
        random.seed(5)
        assert factory(4).tolist() == first
    samples = Tensor.uniform(500, seed=0).tolist()
    assert -1.0 <= min(samples) < -0.9 and 0.9 < max(samples) <= 1.0


def test_batched_matmul_multiplies_batch_by_batch():
    a = Tensor([[[1.0, 2.0]], [[3.0, 4.0]], [[5.0, 6.0]]])  # (3, 1, 2)
    b = Tensor([[[1.0], [0.0]], [[0.0], [1.0]], [[1.0], [1.0]]])  # (3, 2, 1)
    assert (a @ b).tolist() == [[[1.0]], [[4.0]], [[11.0]]]


def test_mean_drops_the_reduced_axis_by_default():
    assert Tensor([[1.0, 3.0]]).mean(axis=1).tolist() == [2.0]


def test_repr_summarizes_beyond_1000_elements_on_every_axis_longer_than_6():
    assert "..." not in repr(Tensor.zeros(1000)) and "..." in repr(Tensor.zeros(1001))
    assert repr(Tensor.zeros(1, 1001)).count("...") == 1  # the inner axis too
    six_rows = repr(Tensor.zeros(6, 200))
    assert six_rows.count("\n") == 5 and six_rows.count("...") == 6  # rows all shown, each cut
    eight_rows = repr(Tensor.zeros(8, 200))
    assert eight_rows.count("...") == 1 + 6  # the rows cut to 3 + 3, and each of those cut


def test_repr_indents_nested_rows_under_their_bracket():
    assert repr(Tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8.5]]])) == (
        "tensor([[[1.0000, 2.0000],\n"
        "         [3.0000, 4.0000]],\n"
        "\n"
        "        [[5.0000, 6.0000],\n"
        "         [7.0000, 8.5000]]], shape=(2, 2, 2))"
    )
    lines = repr(Tensor.zeros(7, 2, 200)).splitlines()  # cut: 3 blocks, "...,", 3 blocks
    assert [line[:10] for line in lines if "0.0000" in line] == [
        "tensor([[[",
        *["         [", "        [["] * 5,
        "         [",
    ]
