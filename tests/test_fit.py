"""fit, evaluate, accuracy and the plot helpers; real training runs: micrograd's moons demo to
100 % and the handwritten digits to over 90 % test accuracy in a few epochs."""

import gc
import random

import pytest

from puretorch_scalar import Tensor, data, fit, nn, optim
from puretorch_scalar.demo import moons_demo
from puretorch_scalar.nn import functional as F
from puretorch_scalar.train import accuracy, evaluate, predict

# -- real training --------------------------------------------------------------------------------


def test_micrograd_moons_demo_reaches_100_percent_and_draws_its_boundary(tmp_path):
    pytest.importorskip("matplotlib")
    assert moons_demo(tmp_path, progress=False) == 1.0
    assert (tmp_path / "moons.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_digits_mlp_learns_in_three_epochs():
    X, y = data.load_digits(scale=True)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, seed=0)
    random.seed(0)
    model = nn.MLP(64, [32, 10])
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=1e-2),
        X_train,
        y_train,
        epochs=3,
        batch_size=32,
        progress=False,
        val_data=(X_test, y_test),
        seed=0,
    )
    assert history["loss"][0] > history["loss"][-1]
    assert history["val_accuracy"][-1] >= 0.9  # chance is 0.1; 95 % takes ~5 epochs (benchmarks/)


# -- the loop -------------------------------------------------------------------------------------


def line_data(n=8):
    X = [[i / n] for i in range(n)]
    return X, [2.0 * x[0] - 1.0 for x in X]


def test_full_batch_fit_equals_the_hand_written_loop():
    X, y = line_data()
    random.seed(0)
    model = nn.Linear(1, 1)
    twin = nn.Linear(1, 1)
    twin.load_state_dict(model.state_dict())

    fit(
        model,
        nn.MSELoss(),
        optim.SGD(model.parameters(), lr=0.3),
        X,
        [[t] for t in y],
        epochs=5,
        progress=False,
    )
    opt = optim.SGD(twin.parameters(), lr=0.3)
    for _ in range(5):
        loss = nn.MSELoss()(twin(Tensor(X)), [[t] for t in y])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.weight.item() == pytest.approx(twin.weight.item())
    assert model.bias.item() == pytest.approx(twin.bias.item())
    assert model.weight.item() != pytest.approx(random.Random(0).uniform(-1, 1))  # it did train


def test_history_has_one_entry_per_epoch_and_regression_has_no_accuracy():
    X, y = line_data()
    model = nn.Linear(1, 1)
    history = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, y, epochs=3, progress=False)
    assert set(history) == {"loss", "accuracy"}
    assert len(history["loss"]) == 3 and history["accuracy"] == [None, None, None]
    assert history["loss"][-1] < history["loss"][0]


def test_every_epoch_visits_every_sample_once_in_a_new_order():
    X = [[float(i)] for i in range(10)]
    y = list(range(10))
    seen = []

    def recording_loss(outputs, labels):
        seen.append(list(labels))
        return outputs.sum() * 0.0

    model = nn.Linear(1, 1)
    fit(
        model,
        recording_loss,
        optim.SGD(model.parameters(), lr=0.1),
        X,
        y,
        epochs=2,
        batch_size=4,
        progress=False,
    )
    assert [len(b) for b in seen] == [4, 4, 2, 4, 4, 2]
    first, second = sum(seen[:3], []), sum(seen[3:], [])
    assert sorted(first) == sorted(second) == y
    assert first != second


def test_seed_makes_training_reproducible():
    X, y = data.make_moons(40, seed=1)

    def run(seed):
        random.seed(0)
        model = nn.MLP(2, [4, 2])
        opt = optim.SGD(model.parameters(), lr=0.1)
        return fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=2, batch_size=8, progress=False, seed=seed)

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_lr_schedule_sets_the_rate_before_every_step():
    X, y = line_data()
    model = nn.Linear(1, 1)
    opt = optim.SGD(model.parameters(), lr=1.0)
    rates = []

    def schedule(step):
        rates.append(opt.lr)  # what the previous step used
        return 0.1 / (step + 1)

    fit(model, nn.MSELoss(), opt, X, y, epochs=2, batch_size=4, progress=False, lr_schedule=schedule)
    assert rates == [1.0, 0.1, 0.05, 0.1 / 3]
    assert opt.lr == 0.1 / 4


def test_regularizer_is_minimised_but_not_recorded():
    X, y = line_data()
    random.seed(0)
    plain, regularised = nn.Linear(1, 1), nn.Linear(1, 1)
    regularised.load_state_dict(plain.state_dict())
    w0 = plain.weight.item()
    h1 = fit(
        plain, nn.MSELoss(), optim.SGD(plain.parameters(), lr=0.1), X, y, epochs=1, progress=False, seed=0
    )
    h2 = fit(
        regularised,
        nn.MSELoss(),
        optim.SGD(regularised.parameters(), lr=0.1),
        X,
        y,
        epochs=1,
        progress=False,
        seed=0,
        regularizer=lambda m: 1.0 * nn.functional.l2_penalty(m.parameters()),
    )
    assert h1["loss"] == h2["loss"]  # the same first forward pass, the data loss only
    # ... but the update has the penalty's gradient 2·w0 too: w = w_plain − lr·2·w0
    assert regularised.weight.item() == pytest.approx(plain.weight.item() - 0.1 * 2 * w0)


def test_validation_is_measured_in_eval_mode_without_a_graph():
    X, y = data.make_moons(30, seed=2)
    modes = []

    class Spy(nn.Module):
        def __init__(self):
            self.net = nn.MLP(2, [4, 2])

        def forward(self, x):
            out = self.net(x)
            modes.append((self.training, bool(out.values()[0].children)))
            return out

    model = Spy()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        X,
        y,
        epochs=2,
        progress=False,
        val_data=(X[:10], y[:10]),
    )
    assert modes == [(True, True), (False, False)] * 2
    assert model.training
    assert len(history["val_loss"]) == len(history["val_accuracy"]) == 2
    assert history["val_loss"][-1] == evaluate(model, nn.CrossEntropyLoss(), X[:10], y[:10])[0]


def test_progress_bar_goes_to_stderr_and_progress_false_silences_it(capsys):
    X, y = line_data()
    model = nn.Linear(1, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    fit(model, nn.MSELoss(), opt, X, y, epochs=2, batch_size=4, progress=False)
    assert capsys.readouterr().err == ""
    fit(model, nn.MSELoss(), opt, X, y, epochs=2, batch_size=4)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "4/4" in err


@pytest.mark.parametrize(
    "X, y, epochs, message",
    [
        ([[1.0]], [1.0], -1, "epochs must be an int >= 0"),
        ([[1.0]], [1.0], 1.5, "epochs must be an int >= 0"),
        ([[1.0], [2.0]], [1.0], 1, "X has 2 samples but y has 1"),
        ([], [], 1, "training set is empty"),
    ],
)
def test_fit_rejects_bad_arguments(X, y, epochs, message):
    model = nn.Linear(1, 1)
    with pytest.raises(ValueError, match=message):
        fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, y, epochs=epochs)


@pytest.mark.parametrize("batch_size", [0, -2, 2.5, True])
def test_fit_rejects_bad_batch_sizes_before_training(batch_size):
    model = nn.Linear(1, 1)
    before = model.state_dict()
    with pytest.raises(ValueError, match=f"fit: batch_size must be a positive int, got {batch_size!r}"):
        fit(
            model,
            nn.MSELoss(),
            optim.SGD(model.parameters(), lr=0.1),
            [[1.0]],
            [1.0],
            1,
            batch_size=batch_size,
        )
    assert model.state_dict() == before


# -- accuracy rules -------------------------------------------------------------------------------


def test_predict_argmax_for_several_outputs():
    assert predict(Tensor([[0.1, 0.7, 0.2], [2.0, -1.0, 0.0]]), {0, 1, 2}) == [1, 0]


def test_predict_sign_for_plus_minus_one_labels_and_threshold_for_zero_one():
    scores = Tensor([[0.3], [-0.2], [0.7]])
    assert predict(scores, {-1, 1}) == [1, -1, 1]
    assert predict(scores, {0, 1}) == [0, 0, 1]
    assert predict(Tensor([0.3, 0.6]), {0, 1}) == [0, 1]


def test_predict_is_none_for_regression_targets():
    assert predict(Tensor([[0.3], [0.1]]), {0.25, 1.5}) is None
    assert predict(Tensor([[0.3], [0.1]]), {0, 1, 2}) is None  # one output cannot pick among 3
    assert predict(Tensor([[0.3], [0.1]]), None) is None


def test_accuracy_is_the_fraction_predicted_right():
    assert accuracy(Tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), [0, 1, 1]) == pytest.approx(2 / 3)
    assert accuracy(Tensor([[0.5], [-0.5]]), Tensor([1, 1]), classes={-1, 1}) == 0.5
    assert accuracy(Tensor([[0.5]]), [[0.5]]) is None


# -- plots ----------------------------------------------------------------------------------------


@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_history_draws_loss_and_accuracy_panels(pyplot):
    from puretorch_scalar.plot import plot_history

    fig = plot_history(
        {"loss": [1.0, 0.5], "accuracy": [0.5, 0.9], "val_loss": [1.1, 0.7], "val_accuracy": [0.4, 0.8]}
    )
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    assert len(plot_history({"loss": [1.0, 0.5], "accuracy": [None, None]}).axes) == 1


def test_plot_decision_boundary_colours_the_plane_by_predicted_class(pyplot):
    from puretorch_scalar.plot import plot_decision_boundary

    model = nn.Linear(2, 1)  # a straight boundary: score = x (class +1 right of the y axis)
    model.load_state_dict({"weight": [[1.0, 0.0]], "bias": [0.0]})
    X, y = [[-1.0, 0.0], [1.0, 1.0]], [-1, 1]
    ax = plot_decision_boundary(model, X, y, resolution=5, margin=0.0)
    assert len(ax.collections) >= 2  # the filled regions and the points
    assert ax.get_xlim() == (-1.0, 1.0) and ax.get_ylim() == (0.0, 1.0)
    with pytest.raises(ValueError, match="needs class labels"):
        plot_decision_boundary(model, X, [0.5, 2.5])
    with pytest.raises(ValueError, match="2 coordinates, got 3"):
        plot_decision_boundary(model, [[1.0, 2.0, 3.0]], [1])


def test_plots_explain_how_to_get_matplotlib(monkeypatch):
    import sys

    from puretorch_scalar.plot import plot_history

    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'puretorch_scalar\[notebooks\]'"):
        plot_history({"loss": [1.0]})


def test_fit_pauses_the_cycle_collector_during_each_step_only():
    X, y = data.make_moons(12, seed=0)
    model = nn.Linear(2, 1)
    seen = []

    def loss_fn(out, target):
        seen.append(gc.isenabled())
        return F.mse_loss(out, [[float(t)] for t in target])

    fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=4, progress=False)
    assert seen == [False] * 6 and gc.isenabled()
    with pytest.raises(ZeroDivisionError):
        fit(model, lambda out, t: 1 / 0, optim.SGD(model.parameters(), 0.1), X, y, epochs=1, progress=False)
    assert gc.isenabled()  # back on after a failed step too
    gc.disable()
    try:  # a collector the caller had turned off stays off
        fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), X, y, epochs=1, progress=False)
        assert not gc.isenabled()
    finally:
        gc.enable()
