"""Notebook 09, debugging backward: paths, hooks, anomaly mode and the update ratio."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from puretorch_scalar.anomaly import AnomalyError, detect_anomaly
from puretorch_scalar.engine import Value
from puretorch_scalar.exercises.core import Report, exercise
from puretorch_scalar.explain import explain


@exercise(
    "count_paths",
    "09",
    "for y = (a·a)·a at a = 2: (the number of paths from y down to a, ∂y/∂a)",
    answer=(3, 12.0),
    notes="a·a uses a twice (2 paths), and the outer · uses a once more (1 path); y = a³, so 3a²:",
)
def _count_paths(answer: Any, r: Report) -> None:
    if not r.sized(answer, 2, "paths, gradient"):
        return
    a = Value(2.0, "a")
    e = explain((a * a) * a, a)
    r.equal("paths from y down to a", answer[0], e.n_paths, "a node that uses a twice adds one path per use")
    r.equal("∂y/∂a, the sum over the paths", answer[1], e.total, "each path's product is a·a = 4")


def clip(g: float) -> float:
    """The gradient clipped to [−1, 1]."""
    return max(-1.0, min(1.0, g))


@exercise("clip_hook", "09", "clip(g) -> the gradient clipped to [−1, 1], for register_hook", answer=clip)
def _clip_hook(answer: Callable, r: Report) -> None:
    for scale, expected in ((10.0, 1.0), (-10.0, -1.0), (0.3, 0.3)):
        x = Value(0.5)
        x.register_hook(answer)
        (x * scale).backward()
        r.equal(
            f"x.grad for y = {scale:g}·x, with the hook on x",
            x.grad,
            expected,
            "return the clipped number: max(−1, min(1, g))",
        )


def _leaky(x: Value) -> Value:
    big = (x * 1000).exp()  # inf for x ≥ 0.71
    return (big - big + 1) * x


@exercise(
    "find_the_nan",
    "09",
    "which op of `leaky(x)` at x = 1 makes the first NaN? (its name, e.g. '*' or 'exp')",
    answer="-",
    notes="exp(1000) overflows to inf, harmlessly; then inf − inf is NaN:",
)
def _find_the_nan(answer: Any, r: Report) -> None:
    try:
        with detect_anomaly():
            _leaky(Value(1.0))
    except AnomalyError as error:
        found = str(error).split("the op ")[1].split(" ")[0].strip("'")
    else:  # pragma: no cover - the exercise's function always makes a NaN
        raise AssertionError("leaky(1.0) made no NaN")
    r.equal("the op", answer, found, "run it inside `with pts.detect_anomaly():` and read the message")


@exercise(
    "healthy_lr",
    "09",
    "a learning rate for which the first layer's update ratio of the notebook's MLP is within −3 ± 0.5",
    answer=0.05,
    notes="the ratio is about log10(lr·|grad|/|w|): a tenfold lr adds 1 to it; from 0.1 (−2.35), lower:",
)
def _healthy_lr(answer: Any, r: Report) -> None:
    from puretorch_scalar import data, nn, optim
    from puretorch_scalar.train import fit

    random.seed(0)
    X, y = data.make_moons(60, noise=0.1, seed=0)
    model = nn.MLP(2, [16, 16, 1])
    labels = [2 * t - 1 for t in y]
    history = fit(model, nn.HingeLoss(), optim.SGD(model.parameters(), lr=float(answer)), X, labels, 5,
                  progress=False, diagnostics=True)  # fmt: skip
    ratios = history["diagnostics"]["0.weight"]["update_ratio"]
    mean = sum(ratios) / len(ratios)
    r.that(
        f"the mean update ratio of 0.weight over 5 steps within −3 ± 0.5 (it is {mean:.2f})",
        abs(mean + 3) <= 0.5,
        "steps too small: raise the learning rate (×10 adds 1)" if mean < -3 else "steps too big: lower it",
    )
