"""Loss functions: a batch of predictions and targets in, a scalar to minimise out.

Each loss computes one term per sample (or per element) and then reduces them:
`reduction="mean"` (the default) averages the terms, `"sum"` adds them, both giving a 0-d Tensor
ready for `.backward()`; `"none"` returns the terms themselves as a Tensor.

Targets and labels are data, not part of the graph: plain numbers, nested lists or a Tensor
(whose numbers are read). A model with one output gives predictions of shape (N, 1); they may be
paired with N targets of shape (N,), the way labels usually come.

The layers' functional forms are defined next to their layers and importable from here too, as
in `torch.nn.functional`: `conv2d`, `conv1d`, `max_pool2d`, `avg_pool2d` (nn/conv.py), `dropout`
(nn/layers.py) and `layer_norm` (nn/norm.py).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, Literal

from puretorch_scalar.checks import one_of
from puretorch_scalar.engine import Value
from puretorch_scalar.nn.conv import avg_pool2d, conv1d, conv2d, max_pool2d
from puretorch_scalar.nn.layers import dropout
from puretorch_scalar.nn.norm import layer_norm
from puretorch_scalar.tensor import Tensor, as_tensor

__all__ = [
    "mse_loss",
    "binary_cross_entropy",
    "cross_entropy",
    "hinge_loss",
    "l2_penalty",
    "conv2d",
    "conv1d",
    "max_pool2d",
    "avg_pool2d",
    "dropout",
    "layer_norm",
]

Reduction = Literal["mean", "sum", "none"]
REDUCTIONS = ("mean", "sum", "none")


def _reduce(terms: Tensor, reduction: str) -> Tensor:
    """The terms themselves ("none"), or their mean or sum as a 0-d Tensor."""
    if reduction == "none":
        return terms
    total = Value.sum(terms.values())
    return Tensor(total / terms.size if reduction == "mean" else total)


def _paired(pred: Any, target: Any, name: str) -> tuple[Tensor, list[float]]:
    """The predictions as a Tensor and the targets' numbers in the same (row-major) order."""
    pred = as_tensor(pred)
    target = as_tensor(target)
    column_vs_flat = pred.ndim == 2 and pred.shape[1] == 1 and target.shape == pred.shape[:1]
    if target.shape != pred.shape and not column_vs_flat:
        raise ValueError(
            f"{name}: predictions of shape {pred.shape} do not match targets of shape {target.shape}"
        )
    return pred, [v.data for v in target.values()]


def mse_loss(pred: Any, target: Any, reduction: Reduction = "mean") -> Tensor:
    """Squared error per element, (pred − target)²."""
    one_of(reduction, REDUCTIONS, "reduction", "mse_loss")
    pred, targets = _paired(pred, target, "mse_loss")
    diffs = [p - t for p, t in zip(pred.values(), targets)]
    return _reduce(Tensor.from_values([d * d for d in diffs], pred.shape), reduction)


_LOG_FLOOR = -100.0  # PyTorch's clamp: log(0) counts as −100, so a saturated sigmoid is finite
_GRADIENT_FLOOR = 9.999999960041972e-13  # PyTorch's floor of p(1 − p) in the gradient: 1e-12 as a float32


def _clamped_log(x: float) -> float:
    """log x, but at least −100 (log 0 = −∞ included), as PyTorch clamps it."""
    return max(math.log(x), _LOG_FLOOR) if x > 0 else _LOG_FLOOR


def _bce_term(p: Value, t: float) -> Value:
    """−[t·log p + (1 − t)·log(1 − p)] with PyTorch's value and gradient, (p − t) / p(1 − p).

    Where p is within about 1e-12 of 0 or 1, PyTorch computes the value with each log clamped
    at −100 and the gradient with p(1 − p) floored at 1e-12, so that a saturated sigmoid still
    learns, and in the right direction: its gradient is not the derivative of its value there
    (the clamped log alone would give the −t·log p term no gradient, and leave only the other
    term's, which points the wrong way when 0 < t < 1). There, the term is built as a node that
    has that value and is linear in p with that slope (so its second derivative is 0)."""
    if p.data * (1 - p.data) >= _GRADIENT_FLOOR:  # both logs are > −28 here: no clamp needed
        return Value.dot([p.log(), (1 - p).log()], [-t, t - 1])
    value = -t * _clamped_log(p.data) - (1 - t) * _clamped_log(1 - p.data)
    slope = (p.data - t) / _GRADIENT_FLOOR
    return value + slope * (p - p.data)


def binary_cross_entropy(probs: Any, targets: Any, reduction: Reduction = "mean") -> Tensor:
    """−[t·log p + (1 − t)·log(1 − p)] per element, for probabilities p in [0, 1] (a sigmoid's
    output) and targets t in [0, 1]. As in PyTorch, where p saturates (within ~1e-12 of 0 or 1)
    each log is clamped at −100 and the gradient is (p − t) / 1e-12: see `_bce_term`."""
    one_of(reduction, REDUCTIONS, "reduction", "binary_cross_entropy")
    probs, ts = _paired(probs, targets, "binary_cross_entropy")
    terms = []
    for i, (p, t) in enumerate(zip(probs.values(), ts)):
        if not 0 <= p.data <= 1:
            raise ValueError(f"binary_cross_entropy: probability {p.data!r} at position {i} is not in [0, 1]")
        if not 0 <= t <= 1:
            raise ValueError(f"binary_cross_entropy: target {t!r} at position {i} is not in [0, 1]")
        terms.append(_bce_term(p, t))
    return _reduce(Tensor.from_values(terms, probs.shape), reduction)


def _int_labels(labels: Any, n: int, n_classes: int, name: str) -> list[int]:
    """`labels` as n ints in range(n_classes); a Tensor's numbers count if they are whole."""
    flat = labels.tolist() if isinstance(labels, Tensor) else labels
    flat = [flat] if isinstance(flat, numbers.Number) else list(flat)
    if len(flat) != n:
        raise ValueError(f"{name}: {n} predictions but {len(flat)} labels")
    out = []
    for i, label in enumerate(flat):
        whole = isinstance(label, numbers.Integral) or (isinstance(label, float) and label.is_integer())
        if isinstance(label, bool) or not whole:
            raise TypeError(f"{name}: labels must be class indices (ints), got {label!r} at position {i}")
        if not 0 <= label < n_classes:
            raise ValueError(f"{name}: label {label} at position {i} is out of range for {n_classes} classes")
        out.append(int(label))
    return out


def cross_entropy(logits: Any, labels: Any, reduction: Reduction = "mean") -> Tensor:
    """−log softmax(logits)[label] per sample: logits (N, C) with N class indices, or logits (C,)
    with one. Computed through `log_softmax`, which never takes the log of an underflowed 0."""
    one_of(reduction, REDUCTIONS, "reduction", "cross_entropy")
    logits = as_tensor(logits)
    if logits.ndim not in (1, 2):
        raise ValueError(f"cross_entropy: logits must have shape (N, C) or (C,), got {logits.shape}")
    n_classes = logits.shape[-1]
    n = logits.shape[0] if logits.ndim == 2 else 1
    labels = _int_labels(labels, n, n_classes, "cross_entropy")
    logp = logits.log_softmax(axis=-1).reshape(n, n_classes)  # (N, C); one sample is N = 1
    terms = -logp[range(n), labels]  # (N,): each row's log-probability of its label, negated
    return _reduce(terms.reshape(logits.shape[:-1]), reduction)


def hinge_loss(scores: Any, labels: Any, reduction: Reduction = "mean") -> Tensor:
    """max(0, 1 − y·s) per sample (the SVM loss of micrograd's demo): scores s of shape (N,) or
    (N, 1), labels y of ±1. A sample costs nothing once it is on the right side by a margin of 1."""
    one_of(reduction, REDUCTIONS, "reduction", "hinge_loss")
    scores, ys = _paired(scores, labels, "hinge_loss")
    for i, y in enumerate(ys):
        if y not in (1.0, -1.0):
            raise ValueError(
                f"hinge_loss: labels must be +1 or -1, got {y!r} at position {i} "
                "(for 0/1 labels use [2 * t - 1 for t in labels])"
            )
    terms = [(1.0 - s * y).relu() for s, y in zip(scores.values(), ys)]
    return _reduce(Tensor.from_values(terms, scores.shape), reduction)


def l2_penalty(parameters: Iterable[Tensor | Value]) -> Tensor:
    """Σ p² over every element of every parameter, as one `dot` node: add `alpha * l2_penalty(
    model.parameters())` to a loss for L2 regularisation (its gradient is 2·alpha·p)."""
    elements = [v for p in parameters for v in (p.values() if isinstance(p, Tensor) else [p])]
    return Tensor(Value.dot(elements, elements))
