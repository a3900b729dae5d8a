"""optim.SGD and optim.Adam: closed-form trajectories, schedules, zero_grad, parameter handling,
errors, and (when torch is installed) PyTorch's own optimizers step for step."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from puretorch_scalar import Tensor, Value, nn, optim

finite = st.floats(-10, 10)
positive = st.floats(1e-3, 1.0)


def run(opt, params, loss_fn, steps):
    """`steps` rounds of zero_grad, backward of loss_fn(params), step; the data after each."""
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(params).backward()
        opt.step()
        trajectory.append([p.data for p in params])
    return trajectory


def linear(g):
    """loss = g · θ: the gradient is the constant g, whatever θ is."""
    return lambda params: Value.sum(g * p for p in params)


# -- SGD ---------------------------------------------------------------------------------------


@given(theta=finite, grad=finite, lr=positive)
def test_sgd_one_step_is_theta_minus_lr_grad(theta, grad, lr):
    p = Value(theta)
    p.grad = grad
    optim.SGD([p], lr=lr).step()
    assert p.data == theta - lr * grad


def test_sgd_on_a_quadratic_shrinks_geometrically():
    # loss = θ²/2 has gradient θ, so each step multiplies θ by (1 − lr).
    p = Value(3.0)
    trajectory = run(optim.SGD([p], lr=0.25), [p], lambda ps: ps[0] * ps[0] * 0.5, 5)
    assert [t[0] for t in trajectory] == pytest.approx([3.0 * 0.75**k for k in range(1, 6)])


def test_sgd_momentum_under_a_constant_gradient():
    # b_k = g (1 + μ + … + μ^(k−1)) = g (1 − μ^k)/(1 − μ), and θ_k = θ_0 − lr · Σ_j b_j.
    g, lr, mu = 2.0, 0.1, 0.9
    p = Value(1.0)
    trajectory = run(optim.SGD([p], lr=lr, momentum=mu), [p], linear(g), 6)
    expected, theta = [], 1.0
    for k in range(1, 7):
        theta -= lr * g * (1 - mu**k) / (1 - mu)
        expected.append(theta)
    assert [t[0] for t in trajectory] == pytest.approx(expected)


def test_sgd_weight_decay_alone_shrinks_by_one_minus_lr_lambda():
    p = Value(5.0)  # the loss does not involve p: its gradient stays 0
    trajectory = run(optim.SGD([p], lr=0.5, weight_decay=0.1), [p], lambda ps: Value(0.0) * 1.0, 4)
    assert [t[0] for t in trajectory] == pytest.approx([5.0 * 0.95**k for k in range(1, 5)])


def test_sgd_momentum_and_weight_decay_by_hand():
    # gradient of θ²/2 is θ; g = θ + 0.1 θ; b = 0.5 b + g; θ −= 0.2 b
    p = Value(2.0)
    trajectory = run(
        optim.SGD([p], lr=0.2, momentum=0.5, weight_decay=0.1), [p], lambda ps: ps[0] * ps[0] * 0.5, 3
    )
    # step 1: g = 2.2,       b = 2.2,                  θ = 2 − 0.44 = 1.56
    # step 2: g = 1.716,     b = 1.1 + 1.716 = 2.816,  θ = 1.56 − 0.5632 = 0.9968
    # step 3: g = 1.09648,   b = 1.408 + 1.09648,      θ = 0.9968 − 0.2 · 2.50448 = 0.495904
    assert [t[0] for t in trajectory] == pytest.approx([1.56, 0.9968, 0.495904])


# -- Adam --------------------------------------------------------------------------------------


@given(
    theta=finite,
    grad=finite.filter(lambda g: g != 0),
    lr=positive,
    b1=st.floats(0, 0.99),
    b2=st.floats(0, 0.999),
)
def test_adam_first_step_is_lr_times_the_sign_of_the_gradient(theta, grad, lr, b1, b2):
    # After one step m̂ = g and v̂ = g², whatever the betas: the step is lr · g / (|g| + ε).
    p = Value(theta)
    p.grad = grad
    optim.Adam([p], lr=lr, betas=(b1, b2), eps=1e-8).step()
    assert p.data == pytest.approx(theta - lr * grad / (abs(grad) + 1e-8), rel=1e-12, abs=1e-12)


def test_adam_under_a_constant_gradient_moves_lr_per_step():
    # Bias correction makes m̂ = g and v̂ = g² at every step of a constant gradient.
    p, q = Value(1.0), Value(-1.0)
    trajectory = run(optim.Adam([p, q], lr=0.01, eps=0.0), [p, q], lambda ps: 3.0 * ps[0] - 0.5 * ps[1], 5)
    assert [t[0] for t in trajectory] == pytest.approx([1.0 - 0.01 * k for k in range(1, 6)])
    assert [t[1] for t in trajectory] == pytest.approx([-1.0 + 0.01 * k for k in range(1, 6)])


def test_adam_two_steps_by_hand():
    p = Value(0.0)
    opt = optim.Adam([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    for g in (1.0, -2.0):
        p.grad = g
        opt.step()
    # step 1: m = 0.1, v = 0.001; m̂ = 1, v̂ = 1: θ = −0.1 · 1/(1 + 1e−8)
    # step 2: m = 0.09 − 0.2 = −0.11, v = 0.000999 + 0.004 = 0.004999
    m_hat, v_hat = -0.11 / (1 - 0.9**2), 0.004999 / (1 - 0.999**2)
    assert p.data == pytest.approx(-0.1 / (1 + 1e-8) - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-8), rel=1e-12)
    assert opt.t == 2 and opt.m == pytest.approx([-0.11]) and opt.v == pytest.approx([0.004999])


def test_adam_weight_decay_is_added_to_the_gradient():
    p = Value(4.0)
    opt = optim.Adam([p], lr=0.1, weight_decay=0.5, eps=0.0)
    opt.step()  # g = 0 + 0.5 · 4 = 2 > 0: the first step moves by −lr
    assert p.data == pytest.approx(3.9)
    assert opt.m == pytest.approx([0.2])


def test_adam_with_zero_eps_leaves_a_never_touched_parameter_alone():
    p = Value(1.5)
    opt = optim.Adam([p], eps=0.0)
    opt.step()  # √v̂ + ε = 0: PyTorch would write NaN
    assert p.data == 1.5


# -- both: schedules, zero_grad, parameters ----------------------------------------------------


@pytest.mark.parametrize(
    "make", [lambda ps: optim.SGD(ps, lr=1.0), lambda ps: optim.Adam(ps, lr=1.0, eps=0.0)]
)
def test_changing_lr_between_steps_takes_effect(make):
    p = Value(0.0)
    opt = make([p])
    for lr in (0.5, 0.25, 0.0, 0.125):  # constant gradient 1: both optimizers step by exactly lr
        opt.lr = lr
        opt.zero_grad()
        p.backward()
        opt.step()
    assert p.data == pytest.approx(-0.875, rel=1e-12)  # Adam's bias corrections round a little


def test_micrograd_linear_decay_schedule():
    p = Value(0.0)
    opt = optim.SGD([p], lr=1.0)
    for k in range(100):
        opt.lr = 1.0 - 0.9 * k / 100
        opt.zero_grad()
        p.backward()
        opt.step()
    assert p.data == pytest.approx(-sum(1.0 - 0.9 * k / 100 for k in range(100)))


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam])
def test_zero_grad_clears_every_parameter(cls):
    w = Tensor([[1.0, 2.0], [3.0, 4.0]])
    b = Value(0.5)
    opt = cls([w, b], lr=0.1)
    (Value.sum(w.values()) * b).backward()
    assert all(v.grad != 0.0 for v in opt.params)
    opt.zero_grad()
    assert [v.grad for v in opt.params] == [0.0] * 5


def test_without_zero_grad_gradients_accumulate_into_the_step():
    p = Value(0.0)
    opt = optim.SGD([p], lr=1.0)
    p.backward()
    p.backward()  # grad 2: two backward passes, no zero_grad
    opt.step()
    assert p.data == -2.0


def test_params_flatten_tensors_and_values_in_order_each_once():
    w, b = Tensor([[1.0, 2.0], [3.0, 4.0]]), Value(5.0)
    opt = optim.SGD((p for p in [w, b, w, b]), lr=0.1)  # any iterable; repeats are tied weights
    assert opt.params == [*w.values(), b]
    for v in opt.params:
        v.grad = 1.0
    opt.step()
    assert [v.data for v in opt.params] == pytest.approx([0.9, 1.9, 2.9, 3.9, 4.9])  # one step each


def test_works_with_module_parameters():
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    assert len(opt.params) == 8
    before = [v.data for v in opt.params]
    opt.zero_grad()
    model(Tensor([1.0, -2.0, 0.5])).sum().backward()
    opt.step()
    assert all(abs(a - b) == pytest.approx(0.1) for a, b in zip(before, [v.data for v in opt.params]))


def test_repr_names_the_hyper_parameters():
    ps = [Value(1.0), Value(2.0)]
    assert (
        repr(optim.SGD(ps, lr=0.1, momentum=0.9)) == "SGD(lr=0.1, momentum=0.9, weight_decay=0.0, params=2)"
    )
    assert repr(optim.Adam(ps)) == "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, params=2)"


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, kwargs, exc, fragment",
    [
        (optim.SGD, {"lr": -0.1}, ValueError, r"SGD: lr must be a real number >= 0, got -0.1"),
        (optim.SGD, {"lr": math.nan}, ValueError, "lr must be a real number >= 0, got nan"),
        (optim.SGD, {"lr": math.inf}, ValueError, "lr must be a real number >= 0, got inf"),
        (optim.SGD, {"lr": "0.1"}, TypeError, r"lr must be a real number >= 0, got '0.1' \(str\)"),
        (
            optim.SGD,
            {"lr": 0.1, "momentum": -0.5},
            ValueError,
            "momentum must be a real number >= 0, got -0.5",
        ),
        (optim.SGD, {"lr": 0.1, "weight_decay": -1e-4}, ValueError, "weight_decay must be .*, got -0.0001"),
        (optim.Adam, {"lr": -1.0}, ValueError, "Adam: lr must be a real number >= 0, got -1.0"),
        (
            optim.Adam,
            {"betas": (1.0, 0.999)},
            ValueError,
            r"betas\[0\] must be a real number in \[0, 1\), got 1.0",
        ),
        (optim.Adam, {"betas": (0.9, -0.1)}, ValueError, r"betas\[1\] must be .*, got -0.1"),
        (optim.Adam, {"betas": (0.9, 0.99, 0.9)}, TypeError, r"betas must be a pair \(beta1, beta2\)"),
        (optim.Adam, {"betas": 0.9}, TypeError, "betas must be a pair"),
        (optim.Adam, {"eps": -1e-8}, ValueError, "eps must be a real number >= 0, got -1e-08"),
        (optim.Adam, {"weight_decay": True}, TypeError, r"weight_decay must be .*, got True \(bool\)"),
    ],
)
def test_bad_hyper_parameters_raise_naming_the_value(cls, kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        cls([Value(1.0)], **kwargs)


@pytest.mark.parametrize(
    "params, exc, fragment",
    [
        ([], ValueError, "empty parameter list"),
        (iter([]), ValueError, "empty parameter list"),
        ([Tensor.zeros(0)], ValueError, "empty parameter list"),
        (Value(1.0), TypeError, "not a single Value; wrap it in a list"),
        (Tensor([1.0, 2.0]), TypeError, "not a single Tensor; wrap it in a list"),
        (3.0, TypeError, "params must be an iterable of Tensors or Values, not float"),
        ([Value(1.0), 2.0], TypeError, "params must contain Tensors or Values, not float: 2.0"),
        ([[Value(1.0)]], TypeError, "params must contain Tensors or Values, not list"),
        ([Value(1.0) * 2], ValueError, r"can't optimize a non-leaf Value \(made by '\*'\)"),
    ],
)
def test_bad_params_raise(params, exc, fragment):
    with pytest.raises(exc, match=fragment):
        optim.SGD(params, lr=0.1)


# -- PyTorch as an oracle ----------------------------------------------------------------------

X = [[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-1.2, 0.8, 0.1], [0.0, -0.4, 1.1], [2.0, 1.0, -1.0]]
Y = [0.3, -0.5, 0.9, 0.1, -0.8]
W0, B0 = [0.2, -0.3, 0.1], 0.05


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", {"lr": 0.3}),
        ("SGD", {"lr": 0.3, "momentum": 0.9}),
        ("SGD", {"lr": 0.3, "momentum": 0.5, "weight_decay": 0.05}),
        ("Adam", {"lr": 0.05}),
        ("Adam", {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.1}),
    ],
)
def test_matches_torch_optim_step_for_step(name, kwargs):
    torch = pytest.importorskip("torch")
    # Ours: a tanh regression on 5 points, mean squared error, built from Values.
    w, b = [Value(v) for v in W0], Value(B0)
    ours = getattr(optim, name)([*w, b], **kwargs)
    # PyTorch's: the same model in float64.
    tw = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(B0, dtype=torch.float64, requires_grad=True)
    theirs = getattr(torch.optim, name)([tw, tb], **kwargs)
    tX, tY = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
    for k in range(20):
        lr = kwargs["lr"] * (1 - 0.04 * k)  # a linear schedule, set on both
        ours.lr = lr
        theirs.param_groups[0]["lr"] = lr

        ours.zero_grad()
        loss = Value.sum(((Value.dot(w, x) + b).tanh() - y) ** 2 for x, y in zip(X, Y)) / len(X)
        loss.backward()
        ours.step()

        theirs.zero_grad()
        torch.mean((torch.tanh(tX @ tw + tb) - tY) ** 2).backward()
        theirs.step()

        assert loss.data > 0
        assert [v.data for v in w] == pytest.approx(tw.tolist(), rel=1e-10, abs=1e-12), f"step {k + 1}"
        assert b.data == pytest.approx(tb.item(), rel=1e-10, abs=1e-12), f"step {k + 1}"
