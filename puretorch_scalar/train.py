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

import numbers
import random
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm.auto import tqdm

from puretorch_scalar.data import batches
from puretorch_scalar.engine import Value, no_grad
from puretorch_scalar.nn.module import Module
from puretorch_scalar.optim import Optimizer
from puretorch_scalar.tensor import Tensor

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
        outputs = model(_as_tensor(X))
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
) -> History:
    """Train `model` for `epochs` passes over (X, y) and return the history.

    - `batch_size=None` trains on the whole set at once (one step per epoch).
    - `regularizer(model)` is added to each batch's loss (e.g. an L2 penalty); it is minimised
      but not included in the recorded loss.
    - `lr_schedule(step)` sets `optimizer.lr` before step 0, 1, 2, … (counted across epochs).
    - `seed` makes the shuffling reproducible; `progress=False` silences the bar.

    The history maps "loss" and "accuracy" to one number per epoch (the mean over that epoch's
    batches, measured on each batch just before its update), plus "val_loss" and
    "val_accuracy" (measured at the end of each epoch) when `val_data=(X_val, y_val)` is given.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive int or None (the whole set), got {batch_size!r}")
    X, y = _as_list(X), _as_list(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if not X:
        raise ValueError("fit: the training set is empty")
    batch_size = len(X) if batch_size is None else batch_size
    classes = _classes(y)
    rng = random.Random(seed)
    history: History = {"loss": [], "accuracy": []}
    if val_data is not None:
        history.update(val_loss=[], val_accuracy=[])

    model.train()
    steps_per_epoch = -(-len(X) // batch_size)
    bar = tqdm(total=epochs * steps_per_epoch, disable=not progress, unit="step")
    step = 0
    for epoch in range(epochs):
        bar.set_description(f"epoch {epoch + 1}/{epochs}")
        loss_sum, correct, counted = 0.0, 0.0, 0
        for Xb, yb in batches(X, y, batch_size, seed=rng.randrange(2**32)):
            if lr_schedule is not None:
                optimizer.lr = lr_schedule(step)
            outputs = model(Tensor(Xb))
            loss = loss_fn(outputs, yb)
            objective = loss + regularizer(model) if regularizer is not None else loss
            optimizer.zero_grad()
            objective.backward()
            optimizer.step()

            loss_sum += loss.item() * len(yb)
            batch_accuracy = accuracy(outputs, yb, classes)
            correct = None if batch_accuracy is None else correct + batch_accuracy * len(yb)
            counted += len(yb)
            step += 1
            bar.update()
            shown = {"loss": f"{loss_sum / counted:.4f}"}
            if correct is not None:
                shown["accuracy"] = f"{correct / counted:.1%}"
            bar.set_postfix(shown, refresh=False)
        history["loss"].append(loss_sum / counted)
        history["accuracy"].append(None if correct is None else correct / counted)
        if val_data is not None:
            val_loss, val_accuracy = evaluate(model, loss_fn, *val_data)
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_accuracy)
    bar.close()
    return history


def _as_list(data: Any) -> list:
    return data.tolist() if isinstance(data, Tensor) else list(data)


def _as_tensor(data: Any) -> Tensor:
    return data if isinstance(data, Tensor) else Tensor(data)


def _classes(labels: list) -> set | None:
    """The distinct label values, or None when labels are not numbers (e.g. regression rows)."""
    return set(labels) if all(isinstance(t, numbers.Real) for t in labels) else None
