"""Notebook 06, handwritten digits: accuracy, cross-entropy, a confusion matrix, Adam by hand."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from puretorch_scalar import optim
from puretorch_scalar.engine import Value
from puretorch_scalar.exercises.core import Report, exercise, random_array
from puretorch_scalar.nn import functional as F


def accuracy(logits: list[list[float]], labels: list[int]) -> float:
    """The fraction of rows whose largest logit is at the label."""
    predicted = [max(range(len(row)), key=row.__getitem__) for row in logits]
    return sum(p == t for p, t in zip(predicted, labels)) / len(labels)


@exercise(
    "accuracy",
    "06",
    "accuracy(logits, labels): the fraction of rows whose largest logit is the label's",
    answer=accuracy,
)
def _accuracy(answer: Callable, r: Report) -> None:
    rng = random.Random(0)
    logits = random_array(rng, 20, 4)
    labels = [rng.randrange(4) for _ in logits]
    right = sum(max(range(4), key=row.__getitem__) == t for row, t in zip(logits, labels))
    r.equal(
        "accuracy on 20 random rows of 4 logits",
        answer(logits, labels),
        right / 20,
        "the prediction is the position of the largest logit (not its value)",
    )


@exercise(
    "cross_entropy_value",
    "06",
    "the cross-entropy loss of logits [2, 1, 0.1] for the label 0",
    answer=0.4170300162778333,
    notes="−log softmax(z)[0] = log(e² + e¹ + e⁰·¹) − 2:",
)
def _cross_entropy_value(answer: Any, r: Report) -> None:
    loss = F.cross_entropy([[2.0, 1.0, 0.1]], [0]).item()
    r.equal(
        "the loss", answer, loss, "softmax turns logits into probabilities; the loss is −log p of the label"
    )


def confusion_matrix(predicted: list[int], true: list[int], k: int) -> list[list[int]]:
    """counts[t][p]: how many samples of true class t were predicted as p."""
    counts = [[0] * k for _ in range(k)]
    for p, t in zip(predicted, true):
        counts[t][p] += 1
    return counts


@exercise(
    "confusion_matrix",
    "06",
    "confusion_matrix(predicted, true, k): counts[t][p] of samples of class t predicted as p",
    answer=confusion_matrix,
)
def _confusion_matrix(answer: Callable, r: Report) -> None:
    rng = random.Random(0)
    true = [rng.randrange(3) for _ in range(30)]
    predicted = [t if rng.random() < 0.7 else rng.randrange(3) for t in true]
    expected = [[sum(p == j and t == i for p, t in zip(predicted, true)) for j in range(3)] for i in range(3)]
    r.equal(
        "confusion_matrix of 30 random predictions, 3 classes",
        answer(predicted, true, 3),
        expected,
        "row = the true class, column = the prediction; the diagonal holds the right answers",
    )


def adam_step(p: float, g: float, m: float, v: float, t: int, lr: float, betas: tuple, eps: float) -> tuple:
    """Step t (from 1) of Adam on one parameter: the new (p, m, v)."""
    b1, b2 = betas
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return p - lr * m_hat / (v_hat**0.5 + eps), m, v


@exercise(
    "adam_step",
    "06",
    "adam_step(p, g, m, v, t, lr, betas, eps) -> (p, m, v): one Adam update of one parameter",
    answer=adam_step,
)
def _adam_step(answer: Callable, r: Report) -> None:
    p, m, v = 1.0, 0.0, 0.0
    reference = Value(1.0)
    adam = optim.Adam([reference], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    for t, g in enumerate([0.5, -1.0, 2.0], 1):
        p, m, v = answer(p, g, m, v, t, 0.1, (0.9, 0.999), 1e-8)
        reference.grad = g
        adam.step()
        if not r.equal(
            f"p after step {t} (lr 0.1, betas (0.9, 0.999))",
            p,
            reference.data,
            "m and v are running means of g and g²; divide them by 1 − βᵗ before the update",
        ):
            return
