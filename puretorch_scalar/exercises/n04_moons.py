"""Notebook 04, an MLP on the moons: parameters, the hinge loss by hand, an optimizer, a loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from puretorch_scalar import data, nn, optim
from puretorch_scalar.demo import micrograd_mlp
from puretorch_scalar.engine import Value
from puretorch_scalar.exercises.core import Report, exercise
from puretorch_scalar.nn import functional as F
from puretorch_scalar.tensor import Tensor
from puretorch_scalar.train import evaluate


@exercise(
    "count_parameters",
    "04",
    "how many parameters nn.MLP(3, [4, 4, 1]) has, counted by hand",
    answer=41,
    notes="A Linear(i, o) has o·i weights and o biases: (3·4 + 4) + (4·4 + 4) + (4·1 + 1):",
)
def _count_parameters(answer: Any, r: Report) -> None:
    expected = sum(p.size for p in nn.MLP(3, [4, 4, 1]).parameters())
    r.equal("parameters of MLP(3, [4, 4, 1])", answer, expected, "count each Linear's weights and its biases")


SCORES, LABELS = [0.5, -2.0, 3.0], [1, 1, -1]


@exercise(
    "hinge_by_hand",
    "04",
    "(loss, [∂loss/∂sᵢ]) of the hinge loss for scores [0.5, −2, 3] and labels [1, 1, −1]",
    answer=(2.5, [-1 / 3, -1 / 3, 1 / 3]),
    notes="Margins 1 − y·s = 0.5, 3, 4 are all positive, so every point costs; the mean's slope is −y/3:",
)
def _hinge_by_hand(answer: Any, r: Report) -> None:
    if not r.sized(answer, 2, "loss, gradients"):
        return
    scores = Tensor(SCORES)
    loss = F.hinge_loss(scores, LABELS)
    loss.backward()
    r.equal("the loss", answer[0], loss.item(), "mean over the points of max(0, 1 − y·s)")
    r.equal("∂loss/∂scores", answer[1], scores.grad, "where 1 − y·s > 0 the slope is −y/n, elsewhere 0")


def sgd_momentum(params: list[Value], buffers: list[float], lr: float, momentum: float) -> None:
    """One step of SGD with momentum, as torch.optim.SGD: b ← μ·b + g, then p ← p − lr·b."""
    for i, p in enumerate(params):
        buffers[i] = momentum * buffers[i] + p.grad
        p.data -= lr * buffers[i]


@exercise(
    "sgd_momentum",
    "04",
    "sgd_momentum(params, buffers, lr, momentum): one in-place step of SGD with momentum, as optim.SGD",
    answer=sgd_momentum,
)
def _sgd_momentum(answer: Callable, r: Report) -> None:
    grads = [[1.0, -2.0], [0.5, 0.5], [-1.0, 3.0]]  # the gradients of three steps
    ours, theirs = [Value(1.0), Value(-1.0)], [Value(1.0), Value(-1.0)]
    buffers = [0.0, 0.0]
    reference = optim.SGD(theirs, lr=0.1, momentum=0.9)
    for step, g in enumerate(grads, 1):
        for p, q, gi in zip(ours, theirs, g):
            p.grad = q.grad = gi
        answer(ours, buffers, 0.1, 0.9)
        reference.step()
        if not r.equal(
            f"the parameters after step {step} (lr 0.1, momentum 0.9)",
            ours,
            theirs,
            "b ← momentum·b + grad (b starts at 0), then p ← p − lr·b",
        ):
            return


def train(model: nn.Module, X: list, y: list) -> None:
    """micrograd's schedule: 100 full-batch SGD steps, lr 1.0 → 0.1, hinge loss + 1e-4·L2."""
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    for step in range(100):
        loss = F.hinge_loss(model(Tensor(X)), y) + 1e-4 * F.l2_penalty(model.parameters())
        optimizer.zero_grad()
        loss.backward()
        optimizer.lr = 1.0 - 0.9 * step / 100
        optimizer.step()


@exercise(
    "training_loop",
    "04",
    "train(model, X, y): your own loop (no fit) that takes micrograd's MLP to 100% training accuracy",
    answer=train,
)
def _training_loop(answer: Callable, r: Report) -> None:
    X, labels = data.make_moons(100, noise=0.1, seed=0)
    y = [2 * t - 1 for t in labels]
    model = micrograd_mlp(seed=0)
    answer(model, X, y)
    _, accuracy = evaluate(model, nn.HingeLoss(), X, y)
    r.equal(
        "training accuracy after train(micrograd_mlp(seed=0), X, y)",
        accuracy,
        1.0,
        "zero the gradients before each backward, and let the learning rate decay (1.0 → 0.1 over 100 steps)",
    )
