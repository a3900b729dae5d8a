"""Layers: `Linear`, the activations, `Dropout` (and `dropout`), `Sequential`, and micrograd's `MLP`
built from them."""

from __future__ import annotations

import math
import random
from typing import Any

from puretorch_scalar.checks import boolean, one_of, positive_int, real, sequence
from puretorch_scalar.engine import Constant, Value
from puretorch_scalar.nn.module import Module, Parameter
from puretorch_scalar.tensor import Tensor, as_tensor

__all__ = ["Linear", "ReLU", "Tanh", "Sigmoid", "Dropout", "dropout", "Sequential", "MLP"]


class Linear(Module):
    """y = x·Wᵀ + b, mapping `(batch, in_features)` to `(batch, out_features)`, or one sample
    `(in_features,)` to `(out_features,)`.

    `weight` is stored `(out_features, in_features)` and, with `bias`, `bias` is
    `(out_features,)`, both drawn uniformly from [−1/√in, 1/√in] as PyTorch does.

    Each output element is a single `dot` node over [x, 1]·[wᵢ, bᵢ] (the bias is the weight of
    a constant input 1), so a layer adds batch·out_features nodes to the graph, whatever its
    width: this is what makes training at the scalar level fast enough to be useful."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        bias = boolean(bias, "bias", "Linear")
        bound = 1 / math.sqrt(in_features)  # drawn from Python's `random`: random.seed(0) repeats a model
        self.weight = Parameter(Tensor.uniform(self.out_features, self.in_features, low=-bound, high=bound))
        self.bias = Parameter(Tensor.uniform(self.out_features, low=-bound, high=bound)) if bias else None

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if x.ndim not in (1, 2):
            raise ValueError(
                f"Linear: input must have shape (batch, in_features) or (in_features,), got {x.shape}"
            )
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear: input has {x.shape[-1]} features (shape {x.shape}) but the layer expects "
                f"in_features={self.in_features}"
            )
        # Each output is one dot node over [x, 1]·[w, b] (the bias is the weight of a constant 1):
        # x @ W.T + b computes the same with a second node per output, 1.15× the time of a step.
        n_in, xs, ws = self.in_features, x.values(), self.weight.values()
        rows = [xs[i : i + n_in] for i in range(0, len(xs), n_in)]  # (batch, in)
        weights = [ws[j : j + n_in] for j in range(0, len(ws), n_in)]  # (out, in)
        if self.bias is not None:
            one = Constant(1.0)
            rows = [[*row, one] for row in rows]  # (batch, in + 1)
            weights = [[*w, b] for w, b in zip(weights, self.bias.values())]  # (out, in + 1)
        out = [Value.dot(row, w) for row in rows for w in weights]  # (batch, out)
        return Tensor.from_values(out, (*x.shape[:-1], self.out_features))

    def extra_repr(self) -> str:
        bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={bias}"


class ReLU(Module):
    """max(0, x), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return x.tanh()


class Sigmoid(Module):
    """1 / (1 + e^−x), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


def dropout(x: Any, p: float = 0.5, training: bool = True) -> Tensor:
    """Each element zeroed with probability p, the others scaled by 1/(1 − p), so every element's
    expected value is unchanged: y = x·m/(1 − p) with m ~ Bernoulli(1 − p). With training=False,
    x itself. The draws come from Python's `random`, so `random.seed` repeats them.

    Each element becomes one `mul` node by a shared constant, 0 or 1/(1 − p): a dropped element
    stays in the graph and passes back a gradient of 0. p must be in [0, 1)."""
    p = real(p, "p", "dropout", low=0, high=1, include_high=False)
    training = boolean(training, "training", "dropout")
    x = as_tensor(x)
    if not training:
        return x
    dropped, kept = Constant(0.0), Constant(1 / (1 - p))
    scaled = [v * (dropped if random.random() < p else kept) for v in x.values()]
    return Tensor.from_values(scaled, x.shape)


class Dropout(Module):
    """`dropout` as a layer: active in `train()` mode (the default), x itself in `eval()`."""

    def __init__(self, p: float = 0.5):
        self.p = real(p, "p", "Dropout", low=0, high=1, include_high=False)

    def forward(self, x: Any) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Sequential(Module):
    """Modules applied one after the other; sub-module i is named "i", as in PyTorch."""

    def __init__(self, *modules: Module):
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} has type {type(m).__name__}, not a Module")
        self.layers = list(modules)

    def named_children(self) -> Any:
        return ((str(i), m) for i, m in enumerate(self.layers))

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def forward(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x


ACTIVATIONS: dict[str, type[Module]] = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class MLP(Sequential):
    """micrograd's multi-layer perceptron: `MLP(2, [16, 16, 1])` is Linear(2, 16), activation,
    Linear(16, 16), activation, Linear(16, 1): every layer but the last is followed by the
    activation ("relu", "tanh" or "sigmoid"), so the output is unbounded scores (logits)."""

    def __init__(self, nin: int, nouts: list[int], activation: str = "relu"):
        one_of(activation, ACTIVATIONS, "activation", "MLP")
        nouts = sequence(nouts, "nouts", "MLP", "a list of layer widths such as [16, 16, 1]")
        if not nouts:
            raise ValueError("MLP: nouts must list at least one layer width, e.g. [16, 16, 1]")
        sizes = [positive_int(nin, "nin", "MLP")]
        sizes += [positive_int(n, f"nouts[{i}]", "MLP") for i, n in enumerate(nouts)]
        layers: list[Module] = []
        for i in range(len(nouts)):
            layers.append(Linear(sizes[i], sizes[i + 1]))
            if i < len(nouts) - 1:
                layers.append(ACTIVATIONS[activation]())
        super().__init__(*layers)
