"""Notebook 00b, backprop by hand: the backward passes of a layer and of losses, on floats.

Each answer is a function of nested lists of floats; the checkers compare it with the engine's
gradients of the same computation.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from puretorch_scalar.engine import Value
from puretorch_scalar.exercises.core import Report, exercise, random_array
from puretorch_scalar.nn import functional as F
from puretorch_scalar.tensor import Tensor

Matrix = list[list[float]]


def _check_loss_backward(
    r: Report, name: str, answer: Callable, loss: Callable, x: list[float], target: object, hint: str
) -> None:
    """answer(x, target), the learner's ∂loss/∂x, against the engine's gradient of loss(x, target)."""
    X = Tensor(x)
    loss(X, target).backward()
    r.equal(f"{name}({x}, {target})", answer(x, target), X.grad, hint)


def mse_backward(pred: list[float], target: list[float]) -> list[float]:
    """L = (1/n)·Σ (pᵢ − tᵢ)², so ∂L/∂pᵢ = 2·(pᵢ − tᵢ)/n."""
    n = len(pred)
    return [2 * (p - t) / n for p, t in zip(pred, target)]


@exercise(
    "mse_backward",
    "00b",
    "mse_backward(pred, target) -> ∂L/∂pred for L = mean((pred − target)²)",
    answer=mse_backward,
)
def _mse_backward(answer: Callable, r: Report) -> None:
    hint = "d/dp (p − t)² = 2(p − t), and the mean divides by n"
    _check_loss_backward(
        r, "mse_backward", answer, F.mse_loss, [0.5, -1.0, 2.0, 0.0], [1.0, 1.0, 1.5, -0.5], hint
    )


def tanh_layer_backward(
    x: Matrix, W: Matrix, b: list[float], dout: Matrix
) -> tuple[Matrix, Matrix, list[float]]:
    """y = tanh(x·W + b) for x (n, i), W (i, o), b (o,); dout = ∂L/∂y (n, o). First back through
    tanh, elementwise: dpre = dout·(1 − y²); then through the linear map, as in the notebook:

        dx = dpre·Wᵀ,   dW = xᵀ·dpre,   db = Σₙ dpre[n]"""
    rows, ins, outs = range(len(x)), range(len(W)), range(len(b))
    y = [[math.tanh(sum(x[n][i] * W[i][o] for i in ins) + b[o]) for o in outs] for n in rows]
    dpre = [[dout[n][o] * (1 - y[n][o] ** 2) for o in outs] for n in rows]
    dx = [[sum(dpre[n][o] * W[i][o] for o in outs) for i in ins] for n in rows]
    dW = [[sum(x[n][i] * dpre[n][o] for n in rows) for o in outs] for i in ins]
    db = [sum(dpre[n][o] for n in rows) for o in outs]
    return dx, dW, db


@exercise(
    "tanh_layer_backward",
    "00b",
    "tanh_layer_backward(x, W, b, dout) -> (dx, dW, db) for y = tanh(x·W + b) on a batch",
    answer=tanh_layer_backward,
)
def _tanh_layer_backward(answer: Callable, r: Report) -> None:
    rng = random.Random(0)
    x, W, b, dout = (random_array(rng, *shape) for shape in ((3, 4), (4, 2), (2,), (3, 2)))
    dx, dW, db = answer(x, W, b, dout)
    X, Wt, bt = Tensor(x), Tensor(W), Tensor(b)
    (X @ Wt + bt).tanh().backward(dout)
    hint = "back through tanh first: dpre = dout·(1 − y²), then the Linear layer's formulas with dpre"
    r.equal("dx for x (3, 4), W (4, 2), b (2,)", dx, X.grad, hint)
    r.equal("dW", dW, Wt.grad, "dW = xᵀ·dpre: shape (4, 2), like W; each entry sums over the batch")
    r.equal("db", db, bt.grad, "db = dpre summed over the batch (its rows): b is added to every row")


def cross_entropy_backward(logits: list[float], label: int) -> list[float]:
    """L = −log softmax(z)[y] = log Σⱼ e^zⱼ − z_y, so ∂L/∂zᵢ = softmax(z)ᵢ − [i = y]."""
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]
    total = sum(exps)
    return [e / total - (i == label) for i, e in enumerate(exps)]


@exercise(
    "cross_entropy_backward",
    "00b",
    "cross_entropy_backward(logits, label) -> ∂L/∂logits for L = −log softmax(logits)[label]",
    answer=cross_entropy_backward,
)
def _cross_entropy_backward(answer: Callable, r: Report) -> None:
    hint = "∂L/∂zᵢ = softmax(z)ᵢ − 1 for the label, softmax(z)ᵢ for the others"
    for logits, label in (([2.0, 1.0, 0.1], 0), ([0.5, -1.0, 3.0, 0.0], 1)):
        _check_loss_backward(r, "cross_entropy_backward", answer, F.cross_entropy, logits, label, hint)


EPS = 1e-5


def layernorm_backward(x: list[float], dy: list[float]) -> list[float]:
    """y = x̂ = (x − μ)/σ with μ = mean(x), σ = √(mean((x − μ)²) + ε). Through μ and σ every
    yⱼ depends on every xᵢ; the chain rule over all of them simplifies to

        dx = (dy − mean(dy) − x̂·mean(dy·x̂)) / σ"""
    n = len(x)
    mu = sum(x) / n
    sigma = math.sqrt(sum((xi - mu) ** 2 for xi in x) / n + EPS)
    xhat = [(xi - mu) / sigma for xi in x]
    mean_dy = sum(dy) / n
    mean_dy_xhat = sum(d * h for d, h in zip(dy, xhat)) / n
    return [(d - mean_dy - h * mean_dy_xhat) / sigma for d, h in zip(dy, xhat)]


@exercise(
    "layernorm_backward",
    "00b",
    "layernorm_backward(x, dy) -> dx for y = (x − mean(x)) / √(var(x) + 1e-5) over one row",
    answer=layernorm_backward,
)
def _layernorm_backward(answer: Callable, r: Report) -> None:
    x, dy = [1.0, -2.0, 0.5, 3.0], [0.3, -0.1, 0.8, 0.2]
    xs = [Value(xi) for xi in x]
    mu = Value.sum(xs) / len(xs)
    var = Value.sum([(xi - mu) ** 2 for xi in xs]) / len(xs)
    ys = [(xi - mu) / (var + EPS).sqrt() for xi in xs]
    Value.dot(ys, dy).backward()
    r.equal(
        f"layernorm_backward({x}, {dy})",
        answer(x, dy),
        [xi.grad for xi in xs],
        "x reaches y three ways (directly, through μ, through σ): dx = (dy − mean(dy) − x̂·mean(dy·x̂))/σ",
    )
