"""`puretorch_scalar.checks`: one form for every bad-argument message, and the checks behind it."""

import math
import re
from fractions import Fraction

import pytest

from puretorch_scalar import Tensor, Value, data, fit, nn, optim
from puretorch_scalar.checks import (
    ArgumentTypeError,
    boolean,
    mapping,
    non_negative_int,
    one_of,
    positive_int,
    real,
    sequence,
)
from puretorch_scalar.gradcheck import gradcheck
from puretorch_scalar.models import GPT, GPTConfig, train

# -- the checks ---------------------------------------------------------------------------------


def test_ints_come_back_as_ints_and_bool_is_not_an_int():
    assert positive_int(3, "n", "f") == 3 and non_negative_int(0, "n", "f") == 0
    with pytest.raises(ArgumentTypeError, match=r"^f: n must be a positive int, got True \(bool\)$"):
        positive_int(True, "n", "f")
    with pytest.raises(ArgumentTypeError, match=r"^f: n must be an int >= 0, got 2.0 \(float\)$"):
        non_negative_int(2.0, "n", "f")
    with pytest.raises(ValueError, match="^f: n must be a positive int, got 0$"):
        positive_int(0, "n", "f")
    with pytest.raises(ValueError, match="^f: n must be an int >= 0, got -1$"):
        non_negative_int(-1, "n", "f")


def test_a_wrong_type_is_both_a_type_error_and_a_value_error():
    assert issubclass(ArgumentTypeError, TypeError) and issubclass(ArgumentTypeError, ValueError)


@pytest.mark.parametrize(
    "bounds, inside, outside, words",
    [
        ({}, [-1e300, 0, 7], [], "a real number"),
        ({"low": 0}, [0, 2.5], [-0.1], "a real number >= 0"),
        ({"low": 0, "include_low": False}, [1e-9], [0], "a real number > 0"),
        ({"high": 1, "include_high": False}, [-3, 0.99], [1], "a real number < 1"),
        ({"low": 0, "high": 1, "include_high": False}, [0, 0.5], [1, -0.5], r"a real number in \[0, 1\)"),
        ({"low": 0, "high": 1, "include_low": False}, [1], [0], r"a real number in \(0, 1\]"),
    ],
)
def test_real_checks_the_range_it_states(bounds, inside, outside, words):
    for x in inside:
        assert real(x, "x", "f", **bounds) == x and type(real(x, "x", "f", **bounds)) is float
    for x in [*outside, math.nan, math.inf, -math.inf]:  # NaN and ±inf are not real numbers
        with pytest.raises(ValueError, match=f"^f: x must be {words}, got {re.escape(repr(x))}$"):
            real(x, "x", "f", **bounds)


def test_real_takes_any_real_number_but_not_bool_or_str():
    assert real(Fraction(1, 4), "x", "f") == 0.25
    for bad in [True, "0.1", None, 1j]:
        with pytest.raises(
            ArgumentTypeError, match=f"got {re.escape(repr(bad))} \\({type(bad).__name__}\\)$"
        ):
            real(bad, "x", "f")


def test_one_of_and_boolean():
    assert one_of("sum", ("mean", "sum"), "reduction", "f") == "sum"
    with pytest.raises(ValueError, match=r"^f: reduction must be one of \('mean', 'sum'\), got 'avg'$"):
        one_of("avg", ("mean", "sum"), "reduction", "f")
    with pytest.raises(ValueError, match=r"got \['mean'\]$"):  # unhashable: reported, not a crash
        one_of(["mean"], {"mean": 1}, "reduction", "f")
    assert boolean(False, "flag", "f") is False
    with pytest.raises(ArgumentTypeError, match=r"^f: flag must be True or False, got 1 \(int\)$"):
        boolean(1, "flag", "f")


def test_numpy_scalars_count_as_what_they_are():
    np = pytest.importorskip("numpy")
    assert boolean(np.True_, "flag", "f") is True and boolean(np.False_, "flag", "f") is False
    assert positive_int(np.int64(3), "n", "f") == 3 and type(positive_int(np.int64(3), "n", "f")) is int
    assert type(real(np.float32(0.5), "x", "f")) is float
    for check in (positive_int, real):  # a numpy bool is no more a number than Python's
        with pytest.raises(ArgumentTypeError, match=r"got np.True_ \(bool_?\)$"):
            check(np.True_, "n", "f")


def test_mapping_and_sequence():
    assert mapping({"a": 1}, "d", "f") == {"a": 1}
    assert sequence((1, 2), "xs", "f") == [1, 2] and sequence(range(2), "xs", "f") == [0, 1]
    with pytest.raises(ArgumentTypeError, match=r"^f: d must be a dict, got \[\('a', 1\)\] \(list\)$"):
        mapping([("a", 1)], "d", "f")
    for bad in (3, "ab", {"a": 1}, None):  # a str's items are characters, a dict's its keys
        with pytest.raises(ArgumentTypeError, match=r"^f: xs must be widths, got .+ \(\w+\)$"):
            sequence(bad, "xs", "f", "widths")


def test_a_long_value_is_shown_shortened():
    with pytest.raises(ArgumentTypeError) as info:
        mapping([[float(i)] * 10 for i in range(100)], "d", "f")
    assert len(str(info.value)) < 120 and "..." in str(info.value)


# -- every bad argument in the package reads the same ------------------------------------------


def step_with_lr(lr):
    """A step of an optimizer whose `lr` was set to `lr` after it was made."""
    opt = optim.SGD([Value(1.0)], lr=0.1)
    opt.lr = lr
    opt.step()


FORM = re.compile(r"^[A-Za-z_.]+: [a-z_]+(\[\d\]|\(\d+\))? must be .+, got .+$")


@pytest.mark.parametrize(
    "call",
    [
        lambda: nn.Linear(0, 2),
        lambda: nn.Linear(2, 1.5),
        lambda: nn.MLP(2, [1], activation="gelu"),
        lambda: nn.MLP(2, 3),
        lambda: nn.MLP(2, [3, 0]),
        lambda: nn.Linear(2, 2, bias="no"),
        lambda: nn.Linear(2, 2).train("no"),
        lambda: nn.Linear(2, 2).load_state_dict(None),
        lambda: Tensor.uniform(2, low=1, high=0),
        lambda: gradcheck(lambda x: x, [Value(1.0)], eps=0),
        lambda: nn.Embedding(4, 0),
        lambda: nn.RMSNorm(4, eps=-1.0),
        lambda: nn.CausalSelfAttention(True, 1),
        lambda: nn.MSELoss(reduction="avg"),
        lambda: nn.functional.cross_entropy([[1.0, 2.0]], [0], reduction=None),
        lambda: optim.SGD([Value(1.0)], lr=-1),
        lambda: optim.SGD([Value(1.0)], lr=0.1, momentum="high"),
        lambda: optim.Adam([Value(1.0)], betas=(0.9, 1.0)),
        lambda: optim.Adam([Value(1.0)], betas=0.9),
        lambda: data.make_moons(n_samples=0),
        lambda: data.make_spiral(noise=math.nan),
        lambda: data.make_circles(factor=1.0),
        lambda: data.load_digits(scale="yes"),
        lambda: data.train_test_split([[1.0], [2.0]], [0, 1], test_size=1.5),
        lambda: data.batches([[1.0]], [0], batch_size=0),
        lambda: fit(
            nn.Linear(1, 1), nn.MSELoss(), optim.SGD([Value(1.0)], lr=0.1), [[1.0]], [1.0], epochs=-1
        ),
        lambda: fit(
            nn.Linear(1, 1), nn.MSELoss(), optim.SGD([Value(1.0)], lr=0.1), [[1.0]], [1.0], 1, batch_size=0
        ),
        lambda: fit(
            nn.Linear(1, 1), nn.MSELoss(), optim.SGD([Value(1.0)], lr=0.1), [[1.0]], [1.0], 1, progress=1
        ),
        lambda: fit(
            nn.Linear(1, 1), nn.MSELoss(), optim.SGD([Value(1.0)], lr=0.1), [[1.0]], [1.0], 1, lr_schedule=str
        ),
        lambda: step_with_lr(-1),
        lambda: train(GPT(GPTConfig(vocab_size=3)), [[0, 1]], steps=0),
        lambda: GPT(GPTConfig(vocab_size=3)).generate([0], 1, temperature=-1),
    ],
)
def test_bad_arguments_everywhere_give_one_message_form(call):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    assert FORM.match(str(info.value)), str(info.value)
