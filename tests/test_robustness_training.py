"""Nothing lost, nothing silently wrong, outside the engine (issue 13): atomic checkpoints in strict
JSON, NaN in `max`, PyTorch's binary cross-entropy at saturation, optimizers that skip missing
gradients and change nothing when they fail, `fit` that validates its schedule and keeps its
history through an interruption, and clear errors for bad arguments. Each test reproduces a
failure found by an adversarial review."""

import json
import math
import os
import random

import pytest

from puretorch_scalar import Tensor, Value, fit, grad, nn, optim
from puretorch_scalar.checks import ArgumentTypeError
from puretorch_scalar.gradcheck import gradcheck, numerical_grad
from puretorch_scalar.nn import functional as F

inf, nan = math.inf, math.nan


def strict_json(text):
    """`text` parsed as RFC 8259 JSON, which has no NaN, Infinity or -Infinity."""

    def reject(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=reject)


# -- 1. Module.save: atomic, strict JSON ------------------------------------------------------------


@pytest.fixture
def checkpoint(tmp_path):
    """A folder holding one checkpoint, model.json, of an MLP(2, [3, 1])."""
    path = tmp_path / "model.json"
    nn.MLP(2, [3, 1]).save(path)
    return path


def test_a_save_that_fails_while_writing_leaves_the_old_checkpoint_and_no_temporary_file(
    checkpoint, monkeypatch
):
    before = checkpoint.read_bytes()

    def dump_half_then_fail(obj, f, **kwargs):
        f.write('{"0.weight": [[')
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(json, "dump", dump_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        nn.MLP(2, [3, 1]).save(checkpoint)
    assert checkpoint.read_bytes() == before
    assert os.listdir(checkpoint.parent) == ["model.json"]


def test_a_state_that_cannot_be_saved_raises_before_the_file_is_touched(checkpoint):
    before = checkpoint.read_bytes()
    model = nn.MLP(2, [3, 1])
    model.parameters()[1].values()[2].data = "x"  # not a number: the state cannot be written
    with pytest.raises(TypeError, match=r"state_dict: '0.bias' holds 'x' \(str\), not a number"):
        model.save(checkpoint)
    assert checkpoint.read_bytes() == before
    assert os.listdir(checkpoint.parent) == ["model.json"]


def test_save_writes_a_temporary_file_in_the_same_folder_syncs_it_then_replaces(checkpoint, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda src, dst: calls.append((src, dst)) or real_replace(src, dst))
    nn.MLP(2, [3, 1]).save(checkpoint)
    assert calls[0] == "fsync" and len(calls) == 2
    src, dst = calls[1]
    assert os.path.dirname(src) == str(checkpoint.parent) and dst == checkpoint
    assert os.listdir(checkpoint.parent) == ["model.json"]


def test_nan_and_infinities_round_trip_through_strict_json(tmp_path):
    path = tmp_path / "model.json"
    model = nn.Linear(3, 1)
    for v, x in zip(model.weight.values(), [nan, inf, -inf]):
        v.data = x
    model.save(path)
    saved = strict_json(path.read_text())
    assert saved["weight"] == [["NaN", "Infinity", "-Infinity"]]
    loaded = nn.Linear(3, 1).load(path)
    w = loaded.weight.tolist()[0]
    assert math.isnan(w[0]) and w[1:] == [inf, -inf]
    assert loaded.bias.tolist() == model.bias.tolist()


def test_numpy_scalars_in_the_parameters_are_saved_as_floats(tmp_path):
    np = pytest.importorskip("numpy")
    path = tmp_path / "model.json"
    model = nn.Linear(2, 1)
    model.weight.values()[0].data = np.float32(0.5)  # what an np.float32 learning rate used to leave
    assert type(model.state_dict()["weight"][0][0]) is float
    model.save(path)
    assert strict_json(path.read_text())["weight"][0][0] == 0.5


# -- 5. max propagates NaN ------------------------------------------------------------------------


def test_max_is_nan_when_an_element_is_and_the_gradient_goes_to_it():
    t = Tensor([1.0, nan, 3.0])
    m = t.max()
    assert math.isnan(m.item())
    m.backward()
    assert t.grad == [0.0, 1.0, 0.0]


def test_max_along_an_axis_is_nan_in_the_rows_holding_one_first_nan_first():
    t = Tensor([[1.0, nan, nan], [3.0, 4.0, 2.0]])
    m = t.max(axis=1)
    assert math.isnan(m.tolist()[0]) and m.tolist()[1] == 4.0
    m.backward([1.0, 1.0])
    assert t.grad == [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]


def test_max_with_nan_matches_torch():
    torch = pytest.importorskip("torch")
    for rows in ([[1.0, nan, 3.0]], [[nan, 1.0], [2.0, 5.0]], [[-inf, nan, inf]]):
        ours = Tensor(rows)
        theirs = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
        m, tm = ours.max(axis=1), theirs.max(dim=1).values
        torch.testing.assert_close(torch.tensor(m.tolist(), dtype=torch.float64), tm.detach(), equal_nan=True)
        m.backward([1.0] * len(rows))
        tm.sum().backward()
        assert ours.grad == theirs.grad.tolist()


# -- 8. binary cross-entropy at saturation ---------------------------------------------------------


def pytorch_bce(p, t):
    """PyTorch's term and its derivative, by hand: −[t·max(log p, −100) + (1 − t)·max(log(1 − p),
    −100)], and (p − t) / max(p(1 − p), 1e-12) with 1e-12 a float32, as in ATen's Loss.cpp."""

    def clamped_log(x):
        return max(math.log(x), -100.0) if x > 0 else -100.0

    value = -(t * clamped_log(p) + (1 - t) * clamped_log(1 - p))
    return value, (p - t) / max(p * (1 - p), 9.999999960041972e-13)


SATURATED = [0.0, 1e-300, 1e-50, 1e-13, 1.0 - 1e-13, 1.0]
PROBABILITIES = [*SATURATED, 1e-12, 2e-12, 1e-6, 0.3, 0.5, 0.999]


@pytest.mark.parametrize("t", [0.0, 0.25, 0.5, 1.0])
def test_bce_value_and_gradient_are_pytorchs_even_where_the_log_is_clamped(t):
    for p in PROBABILITIES:
        probs = Tensor([p])
        loss = F.binary_cross_entropy(probs, [t])
        loss.backward()
        value, slope = pytorch_bce(p, t)
        assert loss.item() == pytest.approx(value, rel=1e-12, abs=1e-12), p
        assert probs.grad[0] == pytest.approx(slope, rel=1e-9, abs=1e-12), p


def test_bce_gradient_points_towards_the_target_at_zero():
    probs = Tensor([0.0])
    F.binary_cross_entropy(probs, [0.5]).backward()
    assert probs.grad[0] < 0  # raising p lowers the loss; it was +0.5


def test_bce_second_derivative_is_t_over_p_squared_plus_the_other_term_or_0_at_saturation():
    for p, t, expected in [(0.25, 0.5, 0.5 / 0.25**2 + 0.5 / 0.75**2), (0.0, 0.5, 0.0), (1.0, 0.25, 0.0)]:
        x = Value(p)
        (slope,) = grad(F.binary_cross_entropy(Tensor([x]), [t]).values()[0], [x], create_graph=True)
        assert grad(slope, [x]) == [pytest.approx(expected)], p


def test_bce_matches_torch_at_saturation():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for t in (0.0, 0.25, 0.5, 1.0):
        probs = Tensor(PROBABILITIES)
        loss = F.binary_cross_entropy(probs, [t] * len(PROBABILITIES), reduction="sum")
        loss.backward()
        tp = torch.tensor(PROBABILITIES, dtype=torch.float64, requires_grad=True)
        ref = tf.binary_cross_entropy(tp, torch.full_like(tp, t), reduction="sum")
        ref.backward()
        assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
        assert probs.grad == pytest.approx(tp.grad.tolist(), rel=1e-9)


# -- 9. optimizers: gradients that are None, and nothing half-changed -------------------------------


def optimizers():
    return [
        lambda ps: optim.SGD(ps, lr=0.1),
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
        lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.01),
    ]


def state(opt):
    """Everything an optimizer step may change: the data and the optimizer's own state."""
    own = {k: list(v) if isinstance(v, list) else v for k, v in vars(opt).items() if k != "params"}
    if own.get("steps", []) is None:  # Adam: no list while every element's count is opt.t
        own["steps"] = [opt.t] * len(opt.params)
    return [p.data for p in opt.params], own


@pytest.mark.parametrize("make", optimizers())
def test_a_parameter_whose_grad_is_none_is_skipped(make):
    params = [Value(float(i)) for i in range(8)]
    opt = make(params)
    for i, p in enumerate(params):
        p.grad = None if i % 2 else 1.0
    data, own = state(opt)
    opt.step()
    for i, p in enumerate(params):
        assert (p.data == data[i]) == bool(i % 2), i  # the None ones untouched, the others moved
    after = state(opt)[1]
    for name, values in after.items():  # no momentum, moment or step count for the None ones
        if isinstance(values, list):
            assert [values[i] for i in (1, 3, 5, 7)] == [own[name][i] for i in (1, 3, 5, 7)], name


@pytest.mark.parametrize("make", optimizers())
@pytest.mark.parametrize("bad", ["x", Value(1.0), [1.0]])
def test_a_gradient_that_is_not_a_number_raises_before_anything_changes(make, bad):
    params = [Value(float(i)) for i in range(8)]
    opt = make(params)
    for p in params:
        p.grad = 1.0
    opt.step()  # some momentum and moments to keep
    params[5].grad = bad
    before = state(opt)
    with pytest.raises(TypeError, match=rf"{type(opt).__name__}: parameter 5 has \.grad = "):
        opt.step()
    assert state(opt) == before


@pytest.mark.parametrize("make", optimizers())
def test_a_parameter_whose_data_is_not_a_number_raises_before_anything_changes(make):
    params = [Value(float(i)) for i in range(4)]
    opt = make(params)
    for p in params:
        p.grad = 1.0
    params[3].data = "x"
    before = state(opt)
    with pytest.raises(TypeError, match=r"parameter 3 has \.data = 'x' \(str\); it must be a number"):
        opt.step()
    assert state(opt) == before


@pytest.mark.parametrize("make", optimizers())
def test_a_learning_rate_set_to_nonsense_raises_before_anything_changes(make):
    params = [Value(1.0), Value(2.0)]
    opt = make(params)
    for p in params:
        p.grad = 1.0
    opt.lr = "x"
    before = state(opt)
    with pytest.raises(ArgumentTypeError, match=r"lr must be a real number >= 0, got 'x' \(str\)"):
        opt.step()
    assert state(opt) == before


def test_adam_counts_steps_per_parameter_as_pytorch_does_when_a_grad_is_none():
    torch = pytest.importorskip("torch")
    a, b = Value(1.0), Value(-2.0)
    ours = optim.Adam([a, b], lr=0.1)
    ta = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor([-2.0], dtype=torch.float64, requires_grad=True)
    theirs = torch.optim.Adam([ta, tb], lr=0.1)
    for k in range(6):  # b has no gradient on the first three steps
        a.grad, b.grad = 0.5 * k - 1.0, (None if k < 3 else 2.0 - k)
        ta.grad = torch.tensor([a.grad], dtype=torch.float64)
        tb.grad = None if b.grad is None else torch.tensor([b.grad], dtype=torch.float64)
        ours.step()
        theirs.step()
        assert [a.data, b.data] == pytest.approx([ta.item(), tb.item()], rel=1e-12), k


def test_adam_per_parameter_steps_by_hand():
    p = Value(0.0)
    opt = optim.Adam([p], lr=0.1)
    p.grad = None
    opt.step()  # skipped: p's first step is still to come
    p.grad = 2.0
    opt.step()  # p's first step: m̂ = g, v̂ = g², so it moves by lr · g / (|g| + ε)
    assert p.data == pytest.approx(-0.1 * 2.0 / (2.0 + 1e-8), rel=1e-12)


# -- 11. fit's learning-rate schedule ---------------------------------------------------------------


def line_data(n=8):
    X = [[i / n] for i in range(n)]
    return X, [2.0 * x[0] - 1.0 for x in X]


def train(schedule, epochs=2, loss_fn=None, model=None, opt=None):
    """fit on a line with batches of 4 (two steps per epoch); returns (model, optimizer, history)."""
    X, y = line_data()
    model = model or nn.Linear(1, 1)
    opt = opt or optim.SGD(model.parameters(), lr=0.5)
    loss_fn = loss_fn or nn.MSELoss()
    history = fit(
        model, loss_fn, opt, X, y, epochs=epochs, batch_size=4, progress=False, lr_schedule=schedule
    )
    return model, opt, history


@pytest.mark.parametrize(
    "rate, error, message",
    [
        ("x", ArgumentTypeError, r"fit: lr_schedule\(2\) must be a real number >= 0, got 'x' \(str\)"),
        (-0.1, ValueError, r"fit: lr_schedule\(2\) must be a real number >= 0, got -0.1"),
        (nan, ValueError, r"fit: lr_schedule\(2\) must be a real number >= 0, got nan"),
        (None, ArgumentTypeError, r"fit: lr_schedule\(2\) must be a real number >= 0, got None"),
    ],
)
def test_a_bad_scheduled_rate_names_the_step_and_leaves_the_rate_as_before(rate, error, message):
    model = nn.Linear(1, 1)
    opt = optim.SGD(model.parameters(), lr=0.5)
    with pytest.raises(error, match=message):
        train(lambda step: 0.1 if step < 2 else rate, model=model, opt=opt)
    assert opt.lr == 0.5 and type(opt.lr) is float
    opt.step()  # the optimizer still works


def test_a_numpy_rate_is_used_as_a_float_and_leaks_into_nothing():
    np = pytest.importorskip("numpy")
    model, opt, _ = train(lambda step: np.float32(0.01))
    assert type(opt.lr) is float and opt.lr == float(np.float32(0.01))
    assert all(type(v.data) is float for p in model.parameters() for v in p.values())


# -- 12. fit interrupted ------------------------------------------------------------------------------


class FailingLoss:
    """MSELoss that raises `error` on call number `at` (0-based): an interrupt or a bug mid-training."""

    def __init__(self, error, at):
        self.error, self.at, self.calls = error, at, 0

    def __call__(self, outputs, targets):
        self.calls += 1
        if self.calls - 1 == self.at:
            raise self.error
        return F.mse_loss(outputs, targets)


def test_ctrl_c_stops_fit_cleanly_and_returns_the_finished_epochs(capsys):
    random.seed(0)
    model = nn.Linear(1, 1)
    _, opt, history = train(None, epochs=5, loss_fn=FailingLoss(KeyboardInterrupt(), at=5), model=model)
    assert len(history["loss"]) == len(history["accuracy"]) == 2  # epochs 1 and 2 of 2 steps each
    out = capsys.readouterr()
    lines = (out.out + out.err).strip().splitlines()
    assert lines == [
        "fit: interrupted after 2 of 5 epochs (5 steps); the history holds the 2 finished epochs"
    ]


def test_an_error_in_fit_carries_the_history_so_far_and_restores_the_rate():
    model = nn.Linear(1, 1)
    opt = optim.SGD(model.parameters(), lr=0.5)
    with pytest.raises(RuntimeError, match="boom") as info:
        train(
            lambda step: 0.1, epochs=5, loss_fn=FailingLoss(RuntimeError("boom"), at=6), model=model, opt=opt
        )
    assert len(info.value.history["loss"]) == 3
    assert opt.lr == 0.5


def test_the_history_of_an_interrupted_fit_matches_a_shorter_fit():
    random.seed(0)
    twin = nn.Linear(1, 1)
    random.seed(0)
    model = nn.Linear(1, 1)
    X, y = line_data()
    interrupted = fit(
        model,
        FailingLoss(KeyboardInterrupt(), at=4),
        optim.SGD(model.parameters(), lr=0.5),
        X,
        y,
        epochs=4,
        batch_size=4,
        progress=False,
        seed=1,
    )
    shorter = fit(twin, nn.MSELoss(), optim.SGD(twin.parameters(), lr=0.5), X, y, 2, 4, False, seed=1)
    assert interrupted == shorter


# -- 14. transformer pieces take lists ---------------------------------------------------------------


def test_rmsnorm_and_attention_accept_nested_lists_as_linear_does():
    norm = nn.RMSNorm(3)
    assert norm([1, 2, 3]).tolist() == norm(Tensor([1, 2, 3])).tolist()
    attention = nn.CausalSelfAttention(4, 2)
    assert attention([[1, 2, 3, 4]]).tolist() == attention(Tensor([[1, 2, 3, 4]])).tolist()


def test_attention_on_an_empty_sequence_says_so():
    with pytest.raises(ValueError, match=r"CausalSelfAttention: the sequence is empty \(shape \(0, 4\)\)"):
        nn.CausalSelfAttention(4, 2)(Tensor.zeros(0, 4))


# -- 15. clear errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state, error, message",
    [
        (None, ArgumentTypeError, r"load_state_dict: state_dict must be a dict .*, got None \(NoneType\)"),
        ([("weight", [[1.0]]), ("bias", [0.0])], ArgumentTypeError, r"state_dict must be a dict .*\(list\)"),
        (
            {"weight": [["0.5"]], "bias": [0.0]},
            TypeError,
            r"load_state_dict: 'weight' must be nested lists of",
        ),
        (
            {"weight": [[1.0]], "bias": [0.0, [1.0]]},
            ValueError,
            r"load_state_dict: 'bias' must be nested lists",
        ),
    ],
)
def test_load_state_dict_of_the_wrong_thing_names_it_and_changes_nothing(state, error, message):
    model = nn.Linear(1, 1)
    before = model.state_dict()
    with pytest.raises(error, match=message):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_a_load_of_a_file_with_a_string_for_a_number_names_the_key(tmp_path):
    path = tmp_path / "model.json"
    path.write_text('{"weight": [["0.5"]], "bias": [0.0]}')
    with pytest.raises(TypeError, match="'weight'"):
        nn.Linear(1, 1).load(path)


def test_mlp_needs_a_list_of_widths():
    with pytest.raises(
        ArgumentTypeError, match=r"MLP: nouts must be a list of layer widths .*, got 3 \(int\)"
    ):
        nn.MLP(2, 3)
    with pytest.raises(ValueError, match=r"MLP: nouts\[1\] must be a positive int, got 0"):
        nn.MLP(2, [3, 0])
    assert len(nn.MLP(2, (3, 1)).parameters()) == 4


@pytest.mark.parametrize("check", [gradcheck, numerical_grad])
@pytest.mark.parametrize("eps", [0, -1e-6, nan])
def test_gradcheck_needs_a_positive_eps(check, eps):
    with pytest.raises(ValueError, match=rf"{check.__name__}: eps must be a real number > 0, got"):
        check(lambda x: x * x, [Value(1.0)], eps=eps)


def test_gradcheck_needs_non_negative_tolerances():
    with pytest.raises(ValueError, match="gradcheck: atol must be a real number >= 0, got -1"):
        gradcheck(lambda x: x * x, [Value(1.0)], atol=-1)


def test_numpy_ints_are_ints():
    np = pytest.importorskip("numpy")
    layer = nn.Linear(np.int64(2), np.int64(3))
    assert type(layer.in_features) is int and layer.weight.shape == (3, 2)
    assert layer([1.0, 2.0]).shape == (3,)
    assert nn.MLP(np.int64(2), [np.int64(3), 1])([1.0, 2.0]).shape == (1,)


def test_uniform_needs_low_at_most_high():
    with pytest.raises(ValueError, match=r"uniform: high must be a real number >= 1.0, got 0"):
        Tensor.uniform(2, low=1, high=0)
    assert Tensor.uniform(3, low=2, high=2).tolist() == [2.0, 2.0, 2.0]


def test_train_takes_a_bool_and_numpy_bools_are_bools():
    np = pytest.importorskip("numpy")
    model = nn.MLP(2, [3, 1])
    with pytest.raises(ArgumentTypeError, match=r"MLP.train: mode must be True or False, got 'no' \(str\)"):
        model.train("no")
    assert model.training is True
    model.train(np.False_)
    assert all(m.training is False for m in model.modules())
    assert nn.Linear(2, 2, bias=np.False_).bias is None
    with pytest.raises(ArgumentTypeError, match=r"Linear: bias must be True or False, got 'no' \(str\)"):
        nn.Linear(2, 2, bias="no")
