"""Losses: values against the formulas, the three reductions, gradients against central
differences (and closed forms), numerical stability, bad labels, and PyTorch as an oracle."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import Tensor, Value, nn
from puretorch_scalar.nn import functional as F
from puretorch_scalar.testing import assert_grads_close, floats

LOSSES = [F.mse_loss, F.binary_cross_entropy, F.cross_entropy, F.hinge_loss]
# A valid (prediction, target) pair for each loss, to test what they share.
VALID = {
    F.mse_loss: ([[0.5], [2.0]], [1.0, 0.0]),
    F.binary_cross_entropy: ([[0.25], [0.5]], [1, 0]),
    F.cross_entropy: ([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], [1, 2]),
    F.hinge_loss: ([[0.5], [-2.0]], [1, -1]),
}


def per_sample(loss, pred, target):
    return loss(Tensor(pred), target, reduction="none").tolist()


# -- values -----------------------------------------------------------------------------------


def test_mse_is_the_squared_error():
    assert per_sample(F.mse_loss, [[1.0, 2.0], [3.0, -1.0]], [[0.0, 2.0], [1.0, 1.0]]) == [
        [1.0, 0.0],
        [4.0, 4.0],
    ]


def test_bce_is_the_negative_log_likelihood():
    terms = per_sample(F.binary_cross_entropy, [0.8, 0.3, 0.5], [1, 0, 0.25])
    expected = [-math.log(0.8), -math.log(0.7), -(0.25 * math.log(0.5) + 0.75 * math.log(0.5))]
    assert terms == pytest.approx(expected)


def test_cross_entropy_is_log_sum_exp_minus_the_labelled_logit():
    logits = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]]
    lse = [math.log(sum(math.exp(z) for z in row)) for row in logits]
    assert per_sample(F.cross_entropy, logits, [1, 0]) == pytest.approx([lse[0] - 2.0, lse[1] - 0.0])


def test_cross_entropy_takes_one_sample_as_1d_logits_and_an_int_label():
    loss = F.cross_entropy(Tensor([2.0, 0.0]), 0)
    assert loss.shape == () and loss.item() == pytest.approx(math.log(1 + math.exp(-2.0)))


def test_hinge_is_relu_of_one_minus_label_times_score():
    assert per_sample(F.hinge_loss, [2.0, 0.5, -0.5, 0.25], [1, 1, 1, -1]) == [0.0, 0.5, 1.5, 1.25]


# -- reductions and shapes ----------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES, ids=lambda f: f.__name__)
def test_reductions_mean_sum_none(loss):
    pred, target = VALID[loss]
    terms = [v.data for v in loss(pred, target, reduction="none").values()]
    total = loss(pred, target, reduction="sum")
    mean = loss(pred, target)
    assert total.shape == mean.shape == ()
    assert total.item() == pytest.approx(sum(terms))
    assert mean.item() == pytest.approx(sum(terms) / len(terms))


@pytest.mark.parametrize("loss", LOSSES, ids=lambda f: f.__name__)
def test_bad_reduction_raises_before_computing(loss):
    pred, target = VALID[loss]
    with pytest.raises(ValueError, match="reduction must be one of .*got 'avg'"):
        loss(pred, target, reduction="avg")


MODULES = {
    nn.MSELoss: F.mse_loss,
    nn.BCELoss: F.binary_cross_entropy,
    nn.CrossEntropyLoss: F.cross_entropy,
    nn.HingeLoss: F.hinge_loss,
}


@pytest.mark.parametrize("cls, function", MODULES.items(), ids=lambda x: x.__name__)
def test_loss_modules_call_the_functions_and_check_reduction_when_made(cls, function):
    pred, target = VALID[function]
    assert cls()(pred, target).item() == function(pred, target).item()
    assert cls("sum")(pred, target).item() == function(pred, target, reduction="sum").item()
    assert repr(cls()) == f"{cls.__name__}()" and repr(cls("none")) == f"{cls.__name__}(reduction='none')"
    with pytest.raises(ValueError, match="reduction must be one of"):
        cls(reduction="avg")


def test_column_of_predictions_pairs_with_flat_targets_but_other_shapes_do_not():
    assert F.mse_loss([[1.0], [2.0]], [1.0, 4.0]).item() == 2.0
    with pytest.raises(
        ValueError, match=r"predictions of shape \(2, 2\) do not match targets of shape \(2,\)"
    ):
        F.mse_loss([[1.0, 2.0], [3.0, 4.0]], [1.0, 4.0])
    with pytest.raises(ValueError, match=r"shape \(3,\) do not match targets of shape \(2,\)"):
        F.hinge_loss([1.0, 2.0, 3.0], [1, -1])


# -- bad labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels, error, message",
    [
        ([1, 3], ValueError, "label 3 at position 1 is out of range for 3 classes"),
        ([-1, 0], ValueError, "label -1 at position 0 is out of range"),
        ([1], ValueError, "2 predictions but 1 labels"),
        ([1, 0, 2], ValueError, "2 predictions but 3 labels"),
        ([1, 0.5], TypeError, "class indices .*got 0.5 at position 1"),
        ([True, 0], TypeError, "class indices .*got True"),
    ],
)
def test_cross_entropy_rejects_bad_labels(labels, error, message):
    with pytest.raises(error, match=message):
        F.cross_entropy([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], labels)


def test_cross_entropy_accepts_labels_as_a_tensor_of_whole_numbers():
    logits = [[1.0, 2.0], [0.5, 0.0]]
    assert F.cross_entropy(logits, Tensor([1, 0])).item() == F.cross_entropy(logits, [1, 0]).item()


def test_hinge_rejects_labels_other_than_plus_minus_one():
    with pytest.raises(ValueError, match=r"\+1 or -1, got 0.0 at position 1 .*2 \* t - 1"):
        F.hinge_loss([0.5, 0.5], [1, 0])


@pytest.mark.parametrize(
    "probs, targets, message",
    [
        ([1.5], [1], "probability 1.5 at position 0 is not in"),
        ([0.5], [2], "target 2.0 at position 0 is not in"),
    ],
)
def test_bce_rejects_values_outside_zero_one(probs, targets, message):
    with pytest.raises(ValueError, match=message):
        F.binary_cross_entropy(probs, targets)


# -- numerical stability ------------------------------------------------------------------------


def test_cross_entropy_is_finite_for_huge_logits():
    loss = F.cross_entropy([[1000.0, 0.0, -1000.0]], [1])
    assert loss.item() == pytest.approx(1000.0)
    loss.backward()  # gradient softmax − onehot, with no overflow on the way


def test_bce_clamps_the_log_of_zero_at_minus_100_as_pytorch_does():
    p = Tensor([0.0, 1.0, 1e-50, 1e-40])
    loss = F.binary_cross_entropy(p, [1, 0, 1, 1], reduction="none")
    assert loss.tolist() == pytest.approx([100.0, 100.0, 100.0, 40 * math.log(10)])
    loss.sum().backward()
    # PyTorch's gradient there is (p − t) / max(p(1 − p), 1e-12): towards the target, and finite
    assert p.grad == pytest.approx([-1e12, 1e12, -1e12, -1e12], rel=1e-8)


def test_bce_of_a_saturated_sigmoid_is_finite():
    logits = Tensor([-800.0, 800.0])
    F.binary_cross_entropy(logits.sigmoid(), [1, 0]).backward()
    assert all(math.isfinite(g) for g in logits.grad)


# -- gradients ----------------------------------------------------------------------------------


@given(st.lists(floats(-3, 3), min_size=4, max_size=4), st.lists(floats(-3, 3), min_size=4, max_size=4))
def test_mse_gradients(pred, target):
    assert_grads_close(lambda p: F.mse_loss(p, target), [Tensor(pred)])


@given(st.lists(floats(0.05, 0.95), min_size=3, max_size=3), st.lists(floats(0, 1), min_size=3, max_size=3))
def test_bce_gradients(probs, targets):
    assert_grads_close(lambda p: F.binary_cross_entropy(p, targets, reduction="sum"), [Tensor(probs)])


@given(st.lists(floats(-5, 5), min_size=6, max_size=6), st.lists(st.integers(0, 2), min_size=2, max_size=2))
def test_cross_entropy_gradients_are_softmax_minus_onehot(flat, labels):
    logits = Tensor(flat).reshape(2, 3)
    assert_grads_close(lambda z: F.cross_entropy(z, labels), [logits])
    F.cross_entropy(logits, labels).backward()
    for row, label, grads in zip(logits.tolist(), labels, logits.grad):
        total = sum(math.exp(z) for z in row)
        expected = [(math.exp(z) / total - (k == label)) / 2 for k, z in enumerate(row)]
        assert grads == pytest.approx(expected)


@given(st.lists(st.sampled_from([-1, 1]), min_size=3, max_size=3), st.data())
def test_hinge_gradients_away_from_the_kink(labels, data):
    # Scores with 1 − y·s at least 0.1 away from 0, where the hinge is smooth.
    scores = [y * data.draw(floats(-3, 3, avoid=(1.0,), margin=0.1)) for y in labels]
    assert_grads_close(lambda s: F.hinge_loss(s, labels), [Tensor(scores)])


def test_l2_penalty_is_one_dot_node_with_gradient_two_p():
    a, b = nn.Parameter([1.0, -2.0]), Value(3.0)
    penalty = F.l2_penalty([a, b])
    assert penalty.item() == 14.0 and penalty.values()[0].op == "dot"
    penalty.backward()
    assert a.grad == [2.0, -4.0] and b.grad == 6.0


# -- PyTorch as an oracle -----------------------------------------------------------------------


def test_losses_match_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    cases = [
        (F.mse_loss, tf.mse_loss, [0.5, -1.0, 2.0], [1.0, 0.0, 2.5], float),
        (F.binary_cross_entropy, tf.binary_cross_entropy, [0.2, 0.9, 0.5], [0.0, 1.0, 0.3], float),
        (F.cross_entropy, tf.cross_entropy, [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], [2, 0], torch.long),
    ]
    for ours, theirs, pred, target, target_type in cases:
        for reduction in ("mean", "sum", "none"):
            x = Tensor(pred)
            loss = ours(x, target, reduction=reduction)
            loss.backward([1.0] * len(target) if reduction == "none" else None)
            tx = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
            ty = torch.tensor(target, dtype=torch.float64 if target_type is float else target_type)
            ref = theirs(tx, ty, reduction=reduction)
            ref.backward(torch.ones_like(ref))
            torch.testing.assert_close(torch.tensor(loss.tolist(), dtype=torch.float64), ref.detach())
            torch.testing.assert_close(torch.tensor(x.grad, dtype=torch.float64), tx.grad)
