"""gradcheck and numerical_grad: right numbers, a readable failure table, and no side effects."""

import math

import pytest
from hypothesis import given

from puretorch_scalar import Value, grad
from puretorch_scalar.gradcheck import GradcheckError, Mismatch, gradcheck, numerical_grad
from puretorch_scalar.tensor import Tensor
from puretorch_scalar.testing import floats

half_detached = lambda a: a * Value(a.data)  # a², but the engine sees d/da = a instead of 2a


@given(floats(-3, 3), floats(0.1, 3))
def test_numerical_grad_of_known_functions(x, y):
    gx, gy = numerical_grad(lambda a, b: a * b.log() + a.sin(), [Value(x), Value(y)])
    assert gx == pytest.approx(math.log(y) + math.cos(x), abs=1e-6)
    assert gy == pytest.approx(x / y, abs=1e-5)


def test_numerical_grad_uses_eps():
    (g,) = numerical_grad(lambda a: a.relu(), [Value(0.5)], eps=1.0)  # (relu(1.5) − relu(−0.5)) / 2
    assert g == 0.75


def test_numerical_grad_of_tensor_inputs_has_their_shape():
    a, b = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), Value(2.0)
    ga, gb = numerical_grad(lambda t, s: (t * t * s).sum(), [a, b])
    expected = [[4.0, 8.0, 12.0], [16.0, 20.0, 24.0]]  # 2·t·s
    assert [[round(g, 6) for g in row] for row in ga] == expected
    assert gb == pytest.approx(91.0)  # Σ t²
    (g0,) = numerical_grad(lambda t: t.exp().sum(), [Tensor(0.0)])
    assert g0 == pytest.approx(1.0)


def test_numerical_grad_restores_the_data_even_when_f_raises():
    x, t = Value(1.0), Tensor([1.0, 4.0])

    def f(a, b):
        if a.data != 1.0 or b.values()[1].data != 4.0:
            raise RuntimeError("perturbed")
        return a * b.sum()

    with pytest.raises(RuntimeError, match="perturbed"):
        numerical_grad(f, [x, t])
    assert x.data == 1.0 and t.tolist() == [1.0, 4.0]


def test_gradcheck_of_a_function_that_differentiates_checks_second_derivatives():
    x = Value(0.7)
    assert gradcheck(lambda a: grad(a.sin() * a, [a], create_graph=True)[0], [x])  # d/da(sin a + a cos a)
    wrong_second = lambda a: grad(a.sin() * a, [a])[0] * a / a.data  # first derivative as a constant·a
    with pytest.raises(GradcheckError):
        gradcheck(wrong_second, [x])


def test_numerical_grad_needs_a_scalar_output():
    with pytest.raises(ValueError, match=r"one-element Tensor, not a Tensor of shape \(2,\)"):
        numerical_grad(lambda t: t * 2, [Tensor([1.0, 2.0])])


# -- gradcheck ----------------------------------------------------------------------------------


@given(floats(-3, 3), floats(-3, 3, avoid=(0.0,), margin=0.1))
def test_gradcheck_passes_correct_gradients_and_leaves_grads_as_they_were(x, y):
    a, b = Value(x), Value(y)
    a.grad, b.grad = 1.5, -2.0
    assert gradcheck(lambda p, q: (p / q).tanh() * p.exp() + q.abs(), [a, b]) is True
    assert (a.grad, b.grad) == (1.5, -2.0)


def test_gradcheck_error_is_a_table_of_the_mismatching_inputs_only():
    inputs = [Value(3.0, label="w"), Value(2.0), Value(-1.0)]
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda w, b, c: half_detached(w) + half_detached(c) + b, inputs)
    lines = str(info.value).splitlines()
    assert (
        lines[0]
        == "gradcheck: 2 of 3 gradients differ from central differences (eps=1e-06, atol=1e-05, rtol=0.001)"
    )
    assert lines[1].split() == ["input", "analytic", "numeric", "abs", "err", "rel", "err"]
    assert lines[2].split() == ["w", "3", "6", "3", "0.5"]
    assert lines[3].split() == ["inputs[2]", "-1", "-2", "1", "0.5"]
    assert len(lines) == 4
    w, c = info.value.mismatches
    assert (w.input, w.analytic, w.numeric) == ("w", 3.0, pytest.approx(6.0))
    assert (c.abs_error, c.rel_error) == (pytest.approx(1.0), pytest.approx(0.5))


def test_gradcheck_names_tensor_elements_by_position():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(GradcheckError, match=r"1 of 5 gradients(.|\n)*\ninputs\[1\]\[1, 0\] +4 +7 ") as info:
        gradcheck(lambda s, m: s * Value.sum(m.values()) + half_detached(m[1, 0]), [Value(1.0), t])
    assert [m.input for m in info.value.mismatches] == ["inputs[1][1, 0]"]


def test_gradcheck_honours_atol_and_rtol():
    f = lambda a: a * 1.0001 + Value(a.data) * -0.0001  # analytic 1.0001, numeric 1
    assert gradcheck(f, [Value(0.5)], atol=2e-4, rtol=0.0)
    assert gradcheck(f, [Value(0.5)], atol=0.0, rtol=2e-4)
    with pytest.raises(GradcheckError):
        gradcheck(f, [Value(0.5)], atol=5e-5, rtol=5e-5)


def test_gradcheck_uses_eps():
    with pytest.raises(GradcheckError, match=r"eps=1\b(.|\n)*\n\S+ +1 +0\.75 "):
        gradcheck(lambda a: a.relu(), [Value(0.5)], eps=1.0)


def test_a_nan_gradient_is_a_mismatch_and_a_zero_numeric_one_has_infinite_rel_error():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a: a * math.nan, [Value(1.0)])
    assert math.isnan(info.value.mismatches[0].analytic)
    assert Mismatch("x", 1.0, 0.0).rel_error == math.inf


def test_gradcheck_of_a_tensor_output_catches_one_wrong_element():
    t = Tensor([1.0, 2.0, 3.0])
    assert gradcheck(lambda x: x * x.sum(), [t])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: x * Tensor([1.0, x.values()[1].data, 1.0]) + x, [t])  # one detached factor
    assert [m.input for m in info.value.mismatches] == ["inputs[0][1]"]


@pytest.mark.parametrize(
    "f, inputs, message",
    [
        (lambda a: a, [2.0], r"inputs\[0\] must be a Value or a Tensor, not float: 2\.0"),
        (lambda a, b: a, [Value(1.0), [1.0]], r"inputs\[1\] must be a Value or a Tensor, not list"),
        (lambda a: a.data, [Value(1.0)], r"output must be a Value or a Tensor, not float"),
    ],
)
def test_gradcheck_rejects_what_it_cannot_check_with_type_error(f, inputs, message):
    with pytest.raises(TypeError, match=message):
        gradcheck(f, inputs)
