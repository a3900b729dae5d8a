"""Optimizers: turn each parameter's `.grad` into a change of its `.data`, as torch.optim does.

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(100):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()

An optimizer flattens its parameters (Tensors such as `nn.Parameter`, and/or Values) into one
list of Values when it is made, and keeps its per-parameter state (momentum buffers, Adam's
moments) in plain float lists beside it. Updates are float arithmetic on `.data`: they build no
graph. `.lr` is a plain attribute, so a learning-rate schedule is one assignment per step.

A Value's `.grad` is a number (0.0 after `zero_grad`, PyTorch's `zero_grad(set_to_none=False)`),
so a parameter the loss does not reach still takes part in the step: it decays under
`weight_decay` and keeps moving with its momentum. A `.grad` set to None (a PyTorch habit) means
"no gradient": that element is skipped, as PyTorch skips a parameter whose `.grad` is None (no
decay, no momentum, and for Adam no step counted). Each element is a parameter of its own here,
so the unit skipped is a Value, where PyTorch's is a whole tensor.

`step()` checks everything first (the learning rate, every `.grad` and `.data`): when it raises,
no parameter and no optimizer state has changed.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable

from puretorch_scalar.checks import real
from puretorch_scalar.engine import Value, zero_grads
from puretorch_scalar.tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam"]


def _flatten(params: Iterable[Tensor | Value]) -> list[Value]:
    """The parameters as one list of leaf Values, each once (tied weights are updated once)."""
    if isinstance(params, (Tensor, Value)):
        raise TypeError(
            f"params must be an iterable of Tensors or Values, such as model.parameters(), "
            f"not a single {type(params).__name__}; wrap it in a list"
        )
    try:
        items = list(params)
    except TypeError:
        raise TypeError(
            f"params must be an iterable of Tensors or Values, not {type(params).__name__}"
        ) from None
    values: dict[Value, None] = {}  # an ordered set: Values hash by identity
    for p in items:
        if isinstance(p, Tensor):
            values.update(dict.fromkeys(p.values()))
        elif isinstance(p, Value):
            values[p] = None
        else:
            raise TypeError(f"params must contain Tensors or Values, not {type(p).__name__}: {p!r}")
    for v in values:
        if v.children:
            raise ValueError(f"can't optimize a non-leaf Value (made by {v.op!r}): {v!r}")
    if not values:
        raise ValueError("optimizer got an empty parameter list")
    return list(values)


_data_of = operator.attrgetter("data")


class Optimizer:
    """What every optimizer shares: the flat parameter list, `lr`, `weight_decay`, `zero_grad`."""

    _hyper: tuple[str, ...] = ("lr", "weight_decay")  # shown by repr

    def __init__(self, params: Iterable[Tensor | Value], lr: float, weight_decay: float) -> None:
        where = type(self).__name__
        self.lr = real(lr, "lr", where, low=0)
        self.weight_decay = real(weight_decay, "weight_decay", where, low=0)
        self.params = _flatten(params)

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to 0.0, ready for the next backward (which accumulates)."""
        zero_grads(self.params)

    def step(self) -> None:
        """Update once the `.data` of every parameter element that has a gradient (a `.grad` that
        is not None). Everything is checked before anything changes, so an error leaves the
        parameters and the optimizer's state as they were."""
        lr = real(self.lr, "lr", type(self).__name__, low=0)  # a plain attribute: anything may be in it
        self._update(lr, self._gradients())

    def _gradients(self) -> list[float | None]:
        """Each element's gradient as a float, None for one without a gradient (to skip), after
        checking that every gradient and every `.data` is a number."""
        grads = [p.grad for p in self.params]
        if set(map(type, grads)) == {float} and set(map(type, map(_data_of, self.params))) == {float}:
            return grads  # the usual case, checked by C loops (a Python loop costs ~8% of a GPT step)
        grads = []
        for i, p in enumerate(self.params):
            g = p.grad
            if not (g is None or type(g) is float):
                g = self._number(g, i, ".grad", "a number, or None for no gradient")
            if type(p.data) is not float:
                self._number(p.data, i, ".data", "a number")
            grads.append(g)
        return grads

    def _number(self, x: object, i: int, attribute: str, expected: str) -> float:
        """x (parameter i's `attribute`) as a float, or a TypeError naming the parameter."""
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(
                f"{type(self).__name__}: parameter {i} has {attribute} = {x!r} ({type(x).__name__}); "
                f"it must be {expected}"
            )
        return float(x)

    def _update(self, lr: float, grads: list[float | None]) -> None:
        """The update rule, given the checked learning rate and gradients (None: skip)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        hyper = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._hyper)
        return f"{type(self).__name__}({hyper}, params={len(self.params)})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay (torch.optim.SGD).

    For each parameter θ with gradient ∇, and momentum buffer b (0 before the first step):

        g ← ∇ + weight_decay · θ
        b ← momentum · b + g           (on the first step b = g; dampening 0, no Nesterov)
        θ ← θ − lr · b                 (θ ← θ − lr · g when momentum = 0)

    `lr` may be changed between steps; micrograd's demo decays it linearly from 1.0 to 0.1:

        opt = SGD(model.parameters(), lr=1.0)
        for k in range(100):
            opt.lr = 1.0 - 0.9 * k / 100
            ...  # zero_grad, forward, backward
            opt.step()
    """

    _hyper = ("lr", "momentum", "weight_decay")

    def __init__(
        self, params: Iterable[Tensor | Value], lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = real(momentum, "momentum", "SGD", low=0)
        self.buffers = [0.0] * len(self.params)

    def _update(self, lr: float, grads: list[float | None]) -> None:
        mu, wd, buffers = self.momentum, self.weight_decay, self.buffers
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if g is None:
                continue
            if wd:
                g += wd * p.data
            if mu:
                g = buffers[i] = mu * buffers[i] + g
            p.data -= lr * g


class Adam(Optimizer):
    """Adam with bias-corrected moments and optional L2 weight decay (torch.optim.Adam).

    At step t = 1, 2, … for each parameter θ with gradient ∇, first moment m and second moment
    v (both 0 before the first step):

        g ← ∇ + weight_decay · θ                 (L2 added to the gradient, not AdamW's decay)
        m ← β₁ · m + (1 − β₁) · g
        v ← β₂ · v + (1 − β₂) · g²
        θ ← θ − lr · m̂ / (√v̂ + ε)              where m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ)

    t counts the updates of each element (`steps[i]`), as PyTorch counts them per parameter: an
    element skipped because its `.grad` is None does not advance (`t` itself counts the calls of
    `step()`). ε is added after the square root of the bias-corrected v̂, as in PyTorch. The step
    is computed in PyTorch's order, θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε), so the two
    agree to rounding. One deliberate difference: with ε = 0, a parameter whose gradients have
    all been 0 (or so small that g² underflows) has √v̂ + ε = 0; it is left alone here, where
    PyTorch divides by zero and gets NaN or ±inf.
    """

    _hyper = ("lr", "betas", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor | Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (
            real(betas[0], "betas[0]", "Adam", 0, 1, include_high=False),
            real(betas[1], "betas[1]", "Adam", 0, 1, include_high=False),
        )
        self.eps = real(eps, "eps", "Adam", low=0)
        self.t = 0  # calls of step()
        self.steps: list[int] | None = None  # each element's own t, once one has skipped a step
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def _update(self, lr: float, grads: list[float | None]) -> None:
        self.t += 1
        (b1, b2), wd, eps, m, v = self.betas, self.weight_decay, self.eps, self.m, self.v
        # Until an element skips a step (its .grad None), every element's t is self.t: no list.
        if self.steps is None and None in grads:
            self.steps = [self.t - 1] * len(grads)
        steps = self.steps

        t = self.t if steps is None else None  # the bias corrections below belong to this t
        step_size, root_bias2 = (lr / (1 - b1**t), math.sqrt(1 - b2**t)) if t else (0.0, 1.0)
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if g is None:
                continue
            if wd:
                g += wd * p.data
            if steps is not None:
                steps[i] += 1
                if steps[i] != t:
                    t = steps[i]
                    step_size, root_bias2 = lr / (1 - b1**t), math.sqrt(1 - b2**t)
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            denominator = math.sqrt(v[i]) / root_bias2 + eps
            if denominator:
                p.data -= step_size * m[i] / denominator
