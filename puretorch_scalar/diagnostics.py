"""Training diagnostics: is every layer learning, and at a healthy rate?

The numbers Karpathy's makemore lectures teach to watch, per parameter tensor and per step:

    grad_mean, grad_std   the gradient's mean and spread: a layer whose gradients are far
                          smaller than the others' barely learns (vanishing), far larger ones
                          make the steps erratic (exploding)
    dead                  for a weight matrix (out, in): the fraction of its rows (output units)
                          whose gradient is exactly 0 over the whole batch. A ReLU unit that
                          never fires passes no gradient to its weights: it is dead, and stays so
    update_ratio          log10(size of the step the optimizer took / size of the data), sizes as
                          root mean squares (so a one-element bias has one too): how much one
                          step changes the weights, relatively. Around −3 is healthy; much
                          lower and the layer learns too slowly, much higher and too fast
                          (−inf: the step changed nothing)

`fit(..., diagnostics=True)` records them in `history["diagnostics"]`, and
`plot.plot_diagnostics(history)` draws them. Off (the default) nothing is measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from puretorch_scalar.nn.module import Module, Parameter

__all__ = ["Watch", "QUANTITIES"]

QUANTITIES = ("grad_mean", "grad_std", "dead", "update_ratio")
Diagnostics = dict[str, dict[str, list[float]]]  # parameter name -> quantity -> one value per step


class Watch:
    """Records the diagnostics of a model's parameters: `gradients()` after backward, `updates()`
    after the optimizer's step; `.history` is what `fit` returns under "diagnostics"."""

    def __init__(self, model: Module) -> None:
        self.parameters: list[tuple[str, Parameter]] = model.named_parameters()
        self.history: Diagnostics = {name: {q: [] for q in QUANTITIES} for name, _ in self.parameters}
        self._before: list[list[float]] = []

    def gradients(self) -> None:
        """After backward, before the step: the gradient statistics, and the data to compare with."""
        self._before = []
        for name, p in self.parameters:
            values = p.values()
            grads = [v.grad for v in values]
            record = self.history[name]
            record["grad_mean"].append(_mean(grads))
            record["grad_std"].append(_std(grads))
            record["dead"].append(_dead_rows(grads, p.shape))
            self._before.append([v.data for v in values])

    def updates(self) -> None:
        """After the step: how big it was, relative to the data."""
        for (name, p), before in zip(self.parameters, self._before):
            step = [v.data - b for v, b in zip(p.values(), before)]
            size, change = _rms(before), _rms(step)
            ratio = math.log10(change / size) if size > 0 and change > 0 else -math.inf
            self.history[name]["update_ratio"].append(ratio)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def _std(xs: Sequence[float]) -> float:
    m = _mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs)) if xs else 0.0


def _rms(xs: Sequence[float]) -> float:
    return math.sqrt(sum(x * x for x in xs) / len(xs)) if xs else 0.0


def _dead_rows(grads: list[float], shape: tuple[int, ...]) -> float:
    """The fraction of rows of a matrix whose gradient is all 0 (NaN for a non-matrix: a bias
    has no units of its own)."""
    if len(shape) != 2 or not shape[0]:
        return math.nan
    n = shape[1]
    rows = [grads[i * n : (i + 1) * n] for i in range(shape[0])]
    return sum(all(g == 0.0 for g in row) for row in rows) / shape[0]
