"""`fit`: the training loop, with a progress bar; `evaluate` and `accuracy` for measuring a model.

    history = pts.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2),
                      X_train, y_train, epochs=10, batch_size=32, val_data=(X_test, y_test))

Each epoch shuffles the training set into mini-batches, and for each batch (Xb, yb):

    loss = loss_fn(model(Xb), yb)              (+ regularizer(model), if given)
    optimizer.zero_grad(); loss.backward(); optimizer.step()

How accuracy is counted, from the labels' values (`predict`):
- a model with C > 1 outputs predicts the argmax, to compare with class indices 0…C−1;
- a model with one output predicts by a threshold: the sign of the score for ±1 labels (hinge
  loss), output > 0.5 for 0/1 labels (a probability, for BCELoss);
- other targets (regression) have no accuracy: it is recorded as None.
"""

from __future__ import annotations

import gc
import math
import numbers
import random
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from puretorch_scalar.checks import boolean, non_negative_int, positive_int, real
from puretorch_scalar.data import batches
from puretorch_scalar.diagnostics import Watch
from puretorch_scalar.engine import Value, no_grad
from puretorch_scalar.jit import jit as compile_step
from puretorch_scalar.nn.module import Module
from puretorch_scalar.optim import Optimizer
from puretorch_scalar.tensor import Tensor, as_tensor

__all__ = ["fit", "evaluate", "evaluating", "accuracy", "predict"]

History = dict[str, list]


def predict(outputs: Tensor, classes: Collection | None) -> list | None:
    """The predicted label of each sample (rules in the module docstring), or None when `classes`
    (the set of label values) are not class labels."""
    if classes is None or not all(float(c).is_integer() for c in classes):
        return None
    rows = outputs.tolist() if outputs.ndim == 2 else [[s] for s in outputs.tolist()]  # (N, C)
    if rows and len(rows[0]) > 1:
        return [max(range(len(row)), key=row.__getitem__) for row in rows]
    if set(classes) <= {-1, 1} and -1 in classes:
        return [1 if row[0] > 0 else -1 for row in rows]
    if set(classes) <= {0, 1}:
        return [1 if row[0] > 0.5 else 0 for row in rows]
    return None


def accuracy(outputs: Tensor, labels: Sequence, classes: Collection | None = None) -> float | None:
    """The fraction of samples whose predicted label equals its label, or None for non-class
    labels. `classes` (all label values of the data set) defaults to the values in `labels`."""
    labels = _as_list(labels)
    predicted = predict(outputs, _classes(labels) if classes is None else classes)
    if predicted is None or not labels:
        return None
    return sum(p == t for p, t in zip(predicted, labels)) / len(labels)


@contextmanager
def evaluating(model: Module) -> Iterator[Module]:
    """Inside: `model` in evaluation mode and no graph built; after: its previous mode back."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            yield model
    finally:
        model.train(was_training)


def evaluate(model: Module, loss_fn: Callable, X: Any, y: Any) -> tuple[float, float | None]:
    """(loss, accuracy) of `model` on (X, y) in evaluation mode, building no graph."""
    with evaluating(model):
        outputs = model(as_tensor(X))
        return loss_fn(outputs, y).item(), accuracy(outputs, y)


def fit(
    model: Module,
    loss_fn: Callable,
    optimizer: Optimizer,
    X: Any,
    y: Any,
    epochs: int,
    batch_size: int | None = None,
    progress: bool = True,
    val_data: tuple[Any, Any] | None = None,
    regularizer: Callable[[Module], Tensor | Value] | None = None,
    lr_schedule: Callable[[int], float] | None = None,
    seed: int | None = None,
    diagnostics: bool = False,
    jit: bool = False,
) -> History:
    """Train `model` for `epochs` passes over (X, y) and return the history.

    - `batch_size=None` trains on the whole set at once (one step per epoch).
    - `regularizer(model)` is added to each batch's loss (e.g. an L2 penalty); it is minimised
      but not included in the recorded loss.
    - `lr_schedule(step)` sets `optimizer.lr` before step 0, 1, 2, … (counted across epochs).
    - `seed` makes the shuffling reproducible; `progress=False` silences the bar.
    - `diagnostics=True` also records, per parameter and per step, the gradient's mean and
      std, the fraction of dead units and the update-to-data ratio (see diagnostics.py) in
      `history["diagnostics"]`, for `plot.plot_diagnostics`.
    - `jit=True` compiles the step (model, loss and regularizer, forward and backward) with
      `pts.jit`: the same numbers as without, faster. A batch of another size traces again, and
      so do labels that choose what enters the loss (cross-entropy's class indices): it pays
      when the batches keep their size and their labels are numbers (hinge, MSE), as in
      full-batch training. After 8 traces the step runs eagerly (with a warning).

    The history maps "loss" and "accuracy" to one number per epoch (the mean over that epoch's
    batches, measured on each batch just before its update), plus "val_loss" and
    "val_accuracy" (measured at the end of each epoch) when `val_data=(X_val, y_val)` is given.

    Interrupted (Ctrl-C, KeyboardInterrupt), fit stops, prints one line saying so and returns the
    history of the epochs it finished. Any other exception leaves fit with that history attached
    as `err.history`, and `optimizer.lr` as it was before the call.
    """
    epochs = non_negative_int(epochs, "epochs", "fit")
    progress, diagnostics = boolean(progress, "progress", "fit"), boolean(diagnostics, "diagnostics", "fit")
    step = _step(model, loss_fn, regularizer)
    step = compile_step(step) if boolean(jit, "jit", "fit") else step
    if batch_size is not None:
        batch_size = positive_int(batch_size, "batch_size", "fit")
    X, y = _training_set(X, y)
    batch_size = len(X) if batch_size is None else batch_size
    classes, rng = _classes(y), random.Random(seed)
    history = _empty_history(validating=val_data is not None)
    bar = tqdm(total=epochs * math.ceil(len(X) / batch_size), disable=not progress, unit="step")
    watch = Watch(model) if diagnostics else None
    if watch:
        history["diagnostics"] = watch.history  # filled in step by step

    model.train()
    with _stopping_cleanly(optimizer, history, epochs) as run, bar:
        for epoch in range(epochs):
            bar.set_description(f"epoch {epoch + 1}/{epochs}")
            means = _EpochMeans(classes)
            for Xb, yb in collector_paused(batches(X, y, batch_size, seed=rng.randrange(2**32))):
                _schedule(optimizer, lr_schedule, run.steps)
                optimizer.zero_grad()
                objective, loss, outputs = step(Xb, yb)
                objective.backward()
                if watch:
                    watch.gradients()
                optimizer.step()
                run.steps += 1
                if watch:
                    watch.updates()
                means.add(loss, outputs, yb)
                bar.update()
                bar.set_postfix(means.shown(), refresh=False)
            validation = None if val_data is None else evaluate(model, loss_fn, *val_data)
            _record(history, means, validation)
    return history


def _step(model: Module, loss_fn: Callable, regularizer: Callable | None) -> Callable:
    """A batch's objective (its loss, plus the regularizer), its loss and the model's outputs:
    what each step of fit computes, as one function, which `jit=True` compiles."""

    def step(Xb: list, yb: list) -> tuple:
        outputs = model(Tensor(Xb, requires_grad=False))  # data: no gradient, no backward work
        loss = loss_fn(outputs, yb)
        # the regularizer is minimised too, but only the loss is recorded
        return (loss if regularizer is None else loss + regularizer(model)), loss, outputs

    return step


# -- fit's bookkeeping ---------------------------------------------------------------------------


def collector_paused(items: Iterator) -> Iterator:
    """The items, with Python's cycle collector paused while the loop body runs on each one.

    A training step builds a graph of Values (a million for a batch of MNIST) that holds no
    reference cycle and that reference counting frees as soon as the step is over; but the
    collector, triggered by the allocations, would walk it again and again while it grows:
    20 % of an MNIST MLP step, measured (benchmarks/bench_mnist.py)."""
    for item in items:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            yield item
        finally:
            if was_enabled:
                gc.enable()


def _training_set(X: Any, y: Any) -> tuple[list, list]:
    """X and y as lists of one non-zero length."""
    X, y = _as_list(X), _as_list(y)
    if len(X) != len(y):
        raise ValueError(f"fit: X has {len(X)} samples but y has {len(y)}")
    if not X:
        raise ValueError("fit: the training set is empty")
    return X, y


def _empty_history(validating: bool) -> History:
    """The history before the first epoch: an empty list per quantity recorded."""
    keys = ("loss", "accuracy", "val_loss", "val_accuracy") if validating else ("loss", "accuracy")
    return {key: [] for key in keys}


def _schedule(optimizer: Optimizer, lr_schedule: Callable[[int], float] | None, step: int) -> None:
    """Set the learning rate of `step` from the schedule, if there is one, once it is checked to
    be a rate (a real number >= 0; a numpy scalar becomes a float, so none leaks into the data)."""
    if lr_schedule is not None:
        optimizer.lr = real(lr_schedule(step), f"lr_schedule({step})", "fit", low=0)


@dataclass
class _Run:
    """How far fit got: the optimizer steps it took."""

    steps: int = 0


@contextmanager
def _stopping_cleanly(optimizer: Optimizer, history: History, epochs: int) -> Iterator[_Run]:
    """Around fit's loop, so that no finished epoch is lost: Ctrl-C ends the block quietly after
    one line saying how far training got (fit then returns the history of the finished epochs);
    any other error leaves it with that history as `err.history` and the learning rate that
    `optimizer` had before the loop (a schedule may have changed it)."""
    lr, run = optimizer.lr, _Run()
    try:
        yield run
    except KeyboardInterrupt:
        done = len(history["loss"])
        print(
            f"fit: interrupted after {done} of {epochs} epochs ({run.steps} steps); "
            f"the history holds the {done} finished epochs"
        )
    except Exception as err:
        optimizer.lr = lr
        err.history = history
        raise


class _EpochMeans:
    """The loss and accuracy over an epoch's batches so far, each batch weighted by its size."""

    def __init__(self, classes: Collection | None) -> None:
        self.classes = classes
        self.samples = 0
        self.loss_sum = 0.0
        self.correct: float | None = 0.0  # None: the labels are not classes (regression)

    def add(self, loss: Tensor, outputs: Tensor, labels: list) -> None:
        n = len(labels)
        self.samples += n
        self.loss_sum += loss.item() * n
        batch_accuracy = accuracy(outputs, labels, self.classes)
        self.correct = None if batch_accuracy is None else self.correct + batch_accuracy * n

    @property
    def loss(self) -> float:
        return self.loss_sum / self.samples

    @property
    def accuracy(self) -> float | None:
        return None if self.correct is None else self.correct / self.samples

    def shown(self) -> dict[str, str]:
        """What the progress bar shows after the epoch's name."""
        shown = {"loss": f"{self.loss:.4f}"}
        if self.accuracy is not None:
            shown["accuracy"] = f"{self.accuracy:.1%}"
        return shown


def _record(history: History, means: _EpochMeans, validation: tuple[float, float | None] | None) -> None:
    """Append one epoch: its training means and, when validating, the (loss, accuracy) measured."""
    history["loss"].append(means.loss)
    history["accuracy"].append(means.accuracy)
    if validation is not None:
        history["val_loss"].append(validation[0])
        history["val_accuracy"].append(validation[1])


def _as_list(data: Any) -> list:
    return data.tolist() if isinstance(data, Tensor) else list(data)


def _classes(labels: list) -> set | None:
    """The distinct label values, or None when labels are not numbers (e.g. regression rows)."""
    return set(labels) if all(isinstance(t, numbers.Real) for t in labels) else None
