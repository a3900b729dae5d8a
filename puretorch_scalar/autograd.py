"""Higher-order derivatives built on `grad(..., create_graph=True)`: Hessians and Hessian-vector
products, as in `torch.autograd.functional`.

The trick is that backward is itself a computation. With `create_graph=True` the engine runs the
same table of local derivatives on Values instead of floats, so ∇f comes back as Values that form
a graph of their own, and differentiating ∇f again gives the second derivatives:

    H[i][j] = ∂²f / ∂xᵢ∂xⱼ = ∂(∇f)ᵢ / ∂xⱼ
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from puretorch_scalar.checks import real
from puretorch_scalar.engine import Number, Value, grad


def _leaves(inputs: Sequence[Number | Value], where: str) -> list[Value]:
    """Fresh leaves at the inputs' values, so the caller's graph and `.grad`s stay untouched."""
    if isinstance(inputs, (Value, int, float)):
        raise TypeError("inputs must be a sequence of numbers or Values, e.g. [1.0, 2.0]")
    xs = [x.detach() if isinstance(x, Value) else Value(real(x, "input", where)) for x in inputs]
    if not xs:
        raise ValueError("inputs is empty: there is nothing to differentiate with respect to")
    return xs


def _gradient_graph(f: Callable[..., Value], xs: list[Value]) -> tuple[Value, list[Value]]:
    y = f(*xs)
    if not isinstance(y, Value):
        raise TypeError(f"f must return a Value (a scalar), not {type(y).__name__}")
    return y, grad(y, xs, create_graph=True)


def hessian(f: Callable[..., Value], inputs: Sequence[Number | Value]) -> list[list[float]]:
    """The matrix of second derivatives `H[i][j] = ∂²f/∂xᵢ∂xⱼ` of a scalar function `f(*xs)` at
    `inputs` (numbers, or Values whose data is used). One extra backward per row."""
    xs = _leaves(inputs, "hessian")
    _, g = _gradient_graph(f, xs)
    return [grad(gi, xs) for gi in g]


def hvp(
    f: Callable[..., Value], inputs: Sequence[Number | Value], v: Sequence[Number]
) -> tuple[float, list[float]]:
    """`(f(inputs), H·v)`: the Hessian-vector product without forming H, in two backward passes:
    H·v = ∇(∇f · v), since v does not depend on x."""
    xs = _leaves(inputs, "hvp")
    v = [real(vi, "vector entry", "hvp") for vi in v]
    if len(v) != len(xs):
        raise ValueError(f"hvp: vector has {len(v)} entries but there are {len(xs)} inputs")
    y, g = _gradient_graph(f, xs)
    return y.data, grad(Value.dot(g, v), xs)
