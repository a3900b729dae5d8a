"""Check gradients against central differences, as `torch.autograd.gradcheck` does.

The analytic gradient (from the engine's backward pass) of f at x is compared with

    ∂f/∂x ≈ (f(x + eps) − f(x − eps)) / (2·eps)

whose error is O(eps²) for a smooth f. With Python's doubles the defaults eps = 1e-6, atol = 1e-5,
rtol = 1e-3 (PyTorch's) tell a wrong derivative rule from rounding noise; near a kink (relu or abs
at 0) or a pole (1/x at 0) the two legitimately disagree, so check such functions away from them.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Sequence
from typing import NamedTuple

from puretorch_scalar.checks import real
from puretorch_scalar.engine import Value, grad
from puretorch_scalar.tensor import Tensor

Input = Value | Tensor
Function = Callable[..., Value | Tensor]


class Mismatch(NamedTuple):
    """One input element whose analytic and numerical gradients differ."""

    input: str  # its label, or its position: "inputs[1]", "inputs[0][2, 1]"
    analytic: float
    numeric: float

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.numeric)

    @property
    def rel_error(self) -> float:
        return self.abs_error / abs(self.numeric) if self.numeric else math.inf


class GradcheckError(RuntimeError):
    """Raised by `gradcheck`; `.mismatches` lists the failing inputs, the message shows them as a table."""

    def __init__(self, mismatches: list[Mismatch], total: int, eps: float, atol: float, rtol: float):
        self.mismatches = mismatches
        cells = [("input", "analytic", "numeric", "abs err", "rel err")] + [
            (m.input, f"{m.analytic:.6g}", f"{m.numeric:.6g}", f"{m.abs_error:.3g}", f"{m.rel_error:.3g}")
            for m in mismatches
        ]
        width = max(len(row[0]) for row in cells)
        table = [f"{a:<{width}}  {b:>12}  {c:>12}  {d:>10}  {e:>10}" for a, b, c, d, e in cells]
        super().__init__(
            f"gradcheck: {len(mismatches)} of {total} gradients differ from central differences "
            f"(eps={eps:g}, atol={atol:g}, rtol={rtol:g})\n" + "\n".join(table)
        )


def numerical_grad(f: Function, inputs: Sequence[Input], eps: float = 1e-6) -> list:
    """∂f/∂x by central differences for every element x of every input.

    `f(*inputs)` must return a Value (or a one-element Tensor). Returns one entry per input: a
    float for a Value, a nested list of floats shaped like a Tensor input (as `Tensor.grad`).
    Every input's data is restored afterwards, even when f raises. f runs in the caller's grad
    mode, so it may differentiate something itself (to check second derivatives)."""
    eps = real(eps, "eps", "numerical_grad", low=0, include_low=False)
    inputs = list(inputs)
    grads = [_central_differences(f, inputs, _elements(x, i), eps) for i, x in enumerate(inputs)]
    return [
        g[0] if isinstance(x, Value) else Tensor(g).reshape(*x.shape).tolist() for x, g in zip(inputs, grads)
    ]


def gradcheck(
    f: Function, inputs: Sequence[Input], eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> bool:
    """True if the engine's gradient of f matches central differences at `inputs`, else raises
    `GradcheckError` listing every input element where |analytic − numeric| > atol + rtol·|numeric|.

    `f(*inputs)` returns a Value or a Tensor; a Tensor output y is checked through the scalar
    Σ wᵢ·yᵢ with fixed random weights wᵢ ∈ [0.5, 1.5] (a wrong entry of the Jacobian changes that
    sum, except by a coincidence of measure zero). The inputs' `.grad` are left as they were."""
    eps = real(eps, "eps", "gradcheck", low=0, include_low=False)
    atol, rtol = real(atol, "atol", "gradcheck", low=0), real(rtol, "rtol", "gradcheck", low=0)
    inputs = list(inputs)
    elements = [_elements(x, i) for i, x in enumerate(inputs)]
    f = _scalar_valued(f, inputs)
    analytic = grad(f(*inputs), [v for vs in elements for v in vs])
    numeric = [g for vs in elements for g in _central_differences(f, inputs, vs, eps)]
    names = [name for i, x in enumerate(inputs) for name in _names(x, i)]
    mismatches = [
        Mismatch(name, a, n)
        for name, a, n in zip(names, analytic, numeric)
        if not abs(a - n) <= atol + rtol * abs(n)  # `not <=` so that a NaN counts as a mismatch
    ]
    if mismatches:
        raise GradcheckError(mismatches, len(names), eps, atol, rtol)
    return True


# ---------------------------------------------------------------------------------------------


def _central_differences(f: Function, inputs: list, elements: list[Value], eps: float) -> list[float]:
    grads = []
    for v in elements:
        x = v.data
        try:
            v.data = x + eps
            up = _scalar(f(*inputs)).data
            v.data = x - eps
            down = _scalar(f(*inputs)).data
        finally:
            v.data = x
        grads.append((up - down) / (2 * eps))
    return grads


def _scalar_valued(f: Function, inputs: list) -> Callable[..., Value]:
    """f itself if it returns a Value, else x ↦ Σ wᵢ·f(x)ᵢ with fixed random weights."""
    out = f(*inputs)
    if isinstance(out, Value):
        return f
    rng = random.Random(0)
    weights = [rng.uniform(0.5, 1.5) for _ in _elements(out, "output")]
    return lambda *xs: Value.dot(weights, f(*xs).values())


def _scalar(out: object) -> Value:
    elements = _elements(out, "output")
    if len(elements) != 1:
        raise ValueError(
            f"numerical_grad: f must return a Value or a one-element Tensor, not a Tensor of shape "
            f"{out.shape}; gradcheck checks a Tensor output through a random projection"
        )
    return elements[0]


def _elements(x: object, position: int | str) -> list[Value]:
    """The Values of an input (or of f's output): [x] for a Value, the elements of a Tensor."""
    if isinstance(x, Value):
        return [x]
    if isinstance(x, Tensor):
        return x.values()
    where = f"inputs[{position}]" if isinstance(position, int) else position
    raise TypeError(f"gradcheck: {where} must be a Value or a Tensor, not {type(x).__name__}: {x!r}")


def _names(x: Input, i: int) -> list[str]:
    """How the error table names each element: its label, else its position."""
    if isinstance(x, Value):
        return [x.label or f"inputs[{i}]"]
    indices = itertools.product(*(range(n) for n in x.shape))  # row-major, like .values()
    return [v.label or f"inputs[{i}][{', '.join(map(str, ix))}]" for v, ix in zip(x.values(), indices)]
