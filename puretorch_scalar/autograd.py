"""Derivatives of whole functions: forward and reverse mode (`jvp`, `vjp`), Jacobians, Hessians
and Hessian-vector products, as in `torch.func` and `torch.autograd.functional`.

**Forward and reverse mode from one table.** A graph of Values is, around its point, a linear
map: every node changes by Σ ∂node/∂child · (the child's change), with the local derivatives
∂node/∂child taken from the op registry (`engine.local_grads`, the same rules backward uses, so
an op added with `define_op` works everywhere). That map can be swept two ways:

    forward mode (jvp):   tangent(node)   = Σ ∂node/∂child · tangent(child)     children first
    reverse mode (vjp):   cotangent(child) += ∂node/∂child · cotangent(node)    parents first

One forward sweep gives J·t (one column of the Jacobian J for t a unit vector), one reverse
sweep gives c·J (one row). A Jacobian of n inputs and m outputs therefore costs n forward sweeps
or m reverse sweeps: forward mode wins when n < m, reverse mode (backpropagation) when m < n,
as in training, where m = 1. Both sweeps here work on floats, never run backward and never read
or write any `.grad`.

**Second derivatives.** Backward is itself a computation: with `create_graph=True` the engine
runs the same table on Values, so ∇f comes back as Values forming a graph of their own, and
differentiating ∇f again gives the second derivatives, `H[i][j] = ∂²f/∂xᵢ∂xⱼ = ∂(∇f)ᵢ/∂xⱼ`. `hvp`
does that in reverse mode (reverse-over-reverse) or sweeps forward through the gradient graph
(forward-over-reverse).

`f` takes one Value per primal (the point, given as numbers) and returns a Value, a list of
Values or a Tensor; a Tensor's elements are its outputs in row-major order (as `.values()`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from numbers import Real

from puretorch_scalar.checks import one_of, real
from puretorch_scalar.engine import Number, Value, grad, local_grads, topological_order
from puretorch_scalar.tensor import Tensor

__all__ = ["jvp", "vjp", "jacobian", "jacfwd", "jacrev", "hessian", "hvp"]

Outputs = Value | list[Value] | Tensor


# ---------------------------------------------------------------------------------------------
# The linear map of a graph, and its two sweeps.


class _Linearization:
    """The graph below `outputs`, linearized at its current data: one row per node that depends
    on the inputs, `(its position, its children's positions, ∂node/∂child for each child)` in
    topological order, the derivatives floats from the op registry. `inputs` and `outputs` are
    positions.

    Only children that depend on the inputs are kept: a constant, or a weight that f closes
    over, has no tangent (PyTorch's forward mode leaves it undefined, too). Besides saving work,
    this keeps an undefined local derivative with respect to a constant out of the sums: for
    `x ** 2` at x < 0, ∂/∂exponent = xᵇ·ln x is NaN, and NaN · 0 would be NaN."""

    def __init__(self, outputs: list[Value], inputs: list[Value]):
        order = topological_order(*outputs, *inputs)  # inputs too: f need not use every one
        position = {node: i for i, node in enumerate(order)}
        self.size = len(order)
        self.inputs = [position[x] for x in inputs]
        self.outputs = [position[y] for y in outputs]
        self.rows = []
        depends = set(inputs)
        node = None
        try:
            for node in order:
                if any(child in depends for child in node.children):
                    depends.add(node)
                    local = local_grads(node.op, [child.data for child in node.children], node.data)
                    kept = [(c, d) for c, d in zip(node.children, local) if c in depends]
                    children = tuple(position[c] for c, _ in kept)
                    self.rows.append((position[node], children, tuple(d for _, d in kept)))
        except Exception as error:
            error.add_note(f"(taking the local derivatives of op {node.op!r} from the registry)")
            raise

    def push_forward(self, tangents: Sequence[float]) -> list[float]:
        """Forward mode: the outputs' tangents J·t for the inputs' `tangents` t."""
        tangent = [0.0] * self.size
        for i, t in zip(self.inputs, tangents):
            tangent[i] = t
        for i, children, local in self.rows:  # children before parents
            t = 0.0
            for k, d in zip(children, local):
                t += d * tangent[k]
            tangent[i] = t
        return [tangent[i] for i in self.outputs]

    def pull_back(self, cotangents: Sequence[float]) -> list[float]:
        """Reverse mode: the inputs' cotangents c·J for the outputs' `cotangents` c."""
        cotangent = [0.0] * self.size
        for i, c in zip(self.outputs, cotangents):
            cotangent[i] += c  # += : f may return the same node twice
        for i, children, local in reversed(self.rows):  # parents before children
            c = cotangent[i]
            for k, d in zip(children, local):
                cotangent[k] += d * c
        return [cotangent[i] for i in self.inputs]


# ---------------------------------------------------------------------------------------------
# Arguments in, results out.


def _numbers(numbers: object, name: str, where: str) -> list:
    """`numbers` as a list, if it is a sequence (a list, a tuple, a 1-d numpy array, …)."""
    if isinstance(numbers, (str, Value, Real)) or not isinstance(numbers, Iterable):
        raise TypeError(
            f"{where}: {name} must be a sequence of numbers, e.g. [1.0, 2.0], "
            f"not {type(numbers).__name__}: {numbers!r}"
        )
    return list(numbers)


def _leaves(inputs: Iterable[Number | Value], where: str, name: str = "inputs") -> list[Value]:
    """Fresh leaves at the inputs' values (numbers, or Values whose data is used), so the
    caller's graph and `.grad`s stay untouched."""
    xs = [
        Value(x.data, x.label) if isinstance(x, Value) else Value(real(x, f"{name}[{i}]", where))
        for i, x in enumerate(_numbers(inputs, name, where))
    ]
    if not xs:
        raise ValueError(f"{where}: {name} is empty: there is nothing to differentiate with respect to")
    return xs


def _vector(numbers: object, name: str, length: int, per: str, where: str) -> list[float]:
    """`numbers` as floats, one `name` per `per` (a primal or an output), `length` of them."""
    numbers = _numbers(numbers, f"{name}s", where)
    if len(numbers) != length:
        raise ValueError(
            f"{where}: {_count(len(numbers), name)} for {_count(length, per)}; give one {name} per {per}"
        )
    return [real(x, f"{name}s[{i}]", where) for i, x in enumerate(numbers)]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _call(f: Callable[..., Outputs], xs: list[Value], where: str) -> tuple[list[Value], bool]:
    """f's outputs as a flat list of Values (a Tensor's row-major), and whether f returned a
    single Value."""
    y = f(*xs)
    if isinstance(y, Value):
        return [y], True
    if isinstance(y, Tensor):
        return y.values(), False
    if isinstance(y, (list, tuple)):
        for i, v in enumerate(y):
            if not isinstance(v, Value):
                raise TypeError(
                    f"{where}: f must return a Value, a list of Values or a Tensor; "
                    f"its list holds a {type(v).__name__} at index {i}: {v!r}"
                )
        return list(y), False
    raise TypeError(
        f"{where}: f must return a Value, a list of Values or a Tensor, not {type(y).__name__}: {y!r}"
    )


def _unit(i: int, n: int) -> list[float]:
    e = [0.0] * n
    e[i] = 1.0
    return e


# ---------------------------------------------------------------------------------------------
# Forward and reverse mode.


def jvp(
    f: Callable[..., Outputs], primals: Sequence[Number], tangents: Sequence[Number]
) -> tuple[float | list[float], float | list[float]]:
    """`(f(primals), J·tangents)`: the Jacobian-vector product, in forward mode.

    One sweep over f's graph, children before parents, carrying a tangent per node:

        tangent(node) = Σ ∂node/∂child · tangent(child)

    starting from `tangents[i]` at the i-th primal, with the local derivatives of the op
    registry (nodes that do not depend on the primals, such as constants, carry no tangent). It
    is the directional derivative of f at `primals` along `tangents`: for the i-th unit vector,
    the derivatives of every output with respect to the i-th input. No backward is run and no
    `.grad` is read or written. As `torch.func.jvp`.

    `primals` and `tangents` are sequences of numbers of the same length, one per argument of
    `f`. Both results are floats if `f` returns a Value, else lists of floats (a Tensor's
    outputs in row-major order)."""
    xs = _leaves(primals, "jvp", "primals")
    t = _vector(tangents, "tangent", len(xs), "primal", "jvp")
    ys, single = _call(f, xs, "jvp")
    out = _Linearization(ys, xs).push_forward(t)
    values = [y.data for y in ys]
    return (values[0], out[0]) if single else (values, out)


def vjp(
    f: Callable[..., Outputs], primals: Sequence[Number], cotangents: Number | Sequence[Number]
) -> tuple[float | list[float], list[float]]:
    """`(f(primals), cotangents·J)`: the vector-Jacobian product, in reverse mode.

    One sweep over f's graph, parents before children, carrying a cotangent per node:

        cotangent(child) += ∂node/∂child · cotangent(node)

    starting from `cotangents[j]` at the j-th output: backpropagation of a weighted sum of the
    outputs, `Σⱼ cotangents[j] · ∂outputⱼ/∂primalᵢ` for each primal i. It works on floats and
    reads or writes no `.grad`. As `torch.func.vjp` (which returns a function to call with the
    cotangents; here they are given at once).

    `cotangents`: one number per output of `f` (a Tensor's in row-major order); a single number
    when `f` returns a Value. Returns `f`'s outputs (a float, or a list) and a list of floats,
    one per primal."""
    xs = _leaves(primals, "vjp", "primals")
    ys, single = _call(f, xs, "vjp")
    if single and isinstance(cotangents, Real):
        cotangents = [cotangents]
    c = _vector(cotangents, "cotangent", len(ys), "output", "vjp")
    values = [y.data for y in ys]
    return values[0] if single else values, _Linearization(ys, xs).pull_back(c)


# ---------------------------------------------------------------------------------------------
# Jacobians.


def jacobian(
    f: Callable[..., Outputs], primals: Sequence[Number], mode: str = "reverse"
) -> list[list[float]]:
    """The Jacobian of `f` at `primals`: an m×n list of lists, `J[j][i] = ∂outputⱼ/∂primalᵢ`, for
    n primals and m outputs (m = 1 for a Value; a Tensor's outputs in row-major order).

    `mode="reverse"` (the default, as `torch.autograd.functional.jacobian`) computes it row by
    row, one reverse sweep (a `vjp` with a unit cotangent) per output; `mode="forward"` column
    by column, one forward sweep (a `jvp` with a unit tangent) per primal. The numbers are the
    same; the cost is m sweeps against n. f runs once, and the local derivatives are taken
    once, whichever the mode."""
    mode = one_of(mode, ("reverse", "forward"), "mode", "jacobian")
    xs = _leaves(primals, "jacobian", "primals")
    ys, _ = _call(f, xs, "jacobian")
    linear = _Linearization(ys, xs)
    n, m = len(xs), len(ys)
    if mode == "forward":
        columns = [linear.push_forward(_unit(i, n)) for i in range(n)]
        return [[column[j] for column in columns] for j in range(m)]
    return [linear.pull_back(_unit(j, m)) for j in range(m)]


def jacfwd(f: Callable[..., Outputs]) -> Callable[..., list[list[float]]]:
    """The function `(*primals) -> jacobian(f, primals, mode="forward")`: it takes the same
    arguments as `f`, as numbers (`jacfwd(f)(1.0, 2.0)`). As `torch.func.jacfwd` with respect
    to every argument."""

    def jacobian_forward(*primals: Number) -> list[list[float]]:
        return jacobian(f, primals, mode="forward")

    return jacobian_forward


def jacrev(f: Callable[..., Outputs]) -> Callable[..., list[list[float]]]:
    """The function `(*primals) -> jacobian(f, primals, mode="reverse")`: it takes the same
    arguments as `f`, as numbers (`jacrev(f)(1.0, 2.0)`). As `torch.func.jacrev` with respect
    to every argument."""

    def jacobian_reverse(*primals: Number) -> list[list[float]]:
        return jacobian(f, primals, mode="reverse")

    return jacobian_reverse


# ---------------------------------------------------------------------------------------------
# Second derivatives.


def _gradient_graph(f: Callable[..., Value], xs: list[Value], where: str) -> tuple[Value, list[Value]]:
    y = f(*xs)
    if not isinstance(y, Value):
        raise TypeError(f"{where}: f must return a Value (a scalar), not {type(y).__name__}")
    return y, grad(y, xs, create_graph=True)


def hessian(f: Callable[..., Value], inputs: Sequence[Number | Value]) -> list[list[float]]:
    """The matrix of second derivatives `H[i][j] = ∂²f/∂xᵢ∂xⱼ` of a scalar function `f(*xs)` at
    `inputs` (numbers, or Values whose data is used). One extra backward per row."""
    xs = _leaves(inputs, "hessian")
    _, g = _gradient_graph(f, xs, "hessian")
    return [grad(gi, xs) for gi in g]


def hvp(
    f: Callable[..., Value],
    inputs: Sequence[Number | Value],
    v: Sequence[Number],
    mode: str = "reverse-over-reverse",
) -> tuple[float, list[float]]:
    """`(f(inputs), H·v)`: the Hessian-vector product without forming H. The gradient ∇f is
    built as a graph (`grad(..., create_graph=True)`), then differentiated once more:

    - `mode="reverse-over-reverse"`: a backward pass of ∇f · v, since H·v = ∇(∇f · v) (v does
      not depend on x);
    - `mode="forward-over-reverse"`: a forward sweep through ∇f's graph with tangent v, since
      H·v is the derivative of ∇f along v (`jvp` of the gradient).

    Both give the same numbers; forward-over-reverse is what JAX and `torch.func` recommend."""
    mode = one_of(mode, ("reverse-over-reverse", "forward-over-reverse"), "mode", "hvp")
    xs = _leaves(inputs, "hvp")
    v = [real(vi, "vector entry", "hvp") for vi in _numbers(v, "v", "hvp")]
    if len(v) != len(xs):
        raise ValueError(f"hvp: vector has {len(v)} entries but there are {len(xs)} inputs")
    y, g = _gradient_graph(f, xs, "hvp")
    if mode == "forward-over-reverse":
        return y.data, _Linearization(g, xs).push_forward(v)
    return y.data, grad(Value.dot(g, v), xs)
