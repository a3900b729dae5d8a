"""Hypothesis strategies and a gradient assertion, for property-testing autograd code.

This is how puretorch_scalar tests itself, and you can test your own functions the same way:

    from hypothesis import given
    from puretorch_scalar.testing import assert_grads_close, floats

    @given(floats(-3, 3, avoid=(0.0,)), floats(-3, 3))
    def test_my_function(x, y):
        assert_grads_close(lambda a, b: (a * b).relu() + a.exp(), [x, y])

Every strategy draws finite numbers from a bounded range, kept `margin` away from the kinks and
poles you name, so that central differences are a fair reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

try:
    from hypothesis import strategies as st
except ImportError as error:  # hypothesis is a test-time dependency only
    raise ImportError(
        "puretorch_scalar.testing needs hypothesis; install it with: pip install puretorch_scalar[test]"
    ) from error

from puretorch_scalar import ops as registry
from puretorch_scalar.engine import Value
from puretorch_scalar.gradcheck import GradcheckError, gradcheck
from puretorch_scalar.tensor import Tensor

Shape = tuple[int, ...]


def floats(
    min_value: float = -10.0, max_value: float = 10.0, avoid: Sequence[float] = (), margin: float = 1e-3
) -> st.SearchStrategy[float]:
    """Finite floats in [min_value, max_value], at least `margin` away from every point in `avoid`.

    Built from the pieces of the range between the avoided points (no filtering, so no example is
    ever rejected): `floats(-1, 1, avoid=(0,), margin=0.1)` draws from [-1, -0.1] ∪ [0.1, 1]."""
    if not min_value <= max_value:
        raise ValueError(f"floats: min_value {min_value!r} is greater than max_value {max_value!r}")
    cuts = sorted(avoid)
    lows = [min_value, *(max(min_value, _away(a, margin)) for a in cuts)]
    highs = [*(min(max_value, _away(a, -margin)) for a in cuts), max_value]
    # lo == hi keeps lo twice: hypothesis refuses st.floats(0.0, -0.0), although 0.0 <= -0.0
    pieces = [st.floats(lo, hi if hi != lo else lo) for lo, hi in zip(lows, highs) if lo <= hi]
    if not pieces:
        raise ValueError(
            f"floats: nothing in [{min_value!r}, {max_value!r}] is {margin!r} away from {tuple(avoid)!r}"
        )
    return st.one_of(pieces)


def _away(a: float, step: float) -> float:
    """a + step, rounded outwards: at least |step| away from a."""
    x = a + step
    return x if abs(x - a) >= abs(step) else math.nextafter(x, math.copysign(math.inf, step))


def values(
    min_value: float = -10.0,
    max_value: float = 10.0,
    avoid: Sequence[float] = (),
    margin: float = 1e-3,
    label: str = "",
) -> st.SearchStrategy[Value]:
    """Leaf Values whose data is drawn by `floats(min_value, max_value, avoid, margin)`."""
    return floats(min_value, max_value, avoid, margin).map(lambda x: Value(x, label))


def shapes(
    min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 3
) -> st.SearchStrategy[Shape]:
    """Tensor shapes: tuples of `min_dims`…`max_dims` sides, each `min_side`…`max_side`."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def broadcastable_shapes(draw: st.DrawFn, max_dims: int = 3, max_side: int = 3) -> tuple[Shape, Shape]:
    """Pairs of shapes that broadcast together (numpy's rules), such as ((2, 1, 3), (4, 1)).

    Both are cut from one full shape: each keeps some of its trailing axes (possibly none, a 0-d
    tensor) and sets some of them to 1."""
    full = draw(shapes(1, max_dims, 1, max_side))

    def part() -> Shape:
        kept = full[len(full) - draw(st.integers(0, len(full))) :]
        ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
        return tuple(1 if one else n for n, one in zip(kept, ones))

    return part(), part()


@st.composite
def tensors(
    draw: st.DrawFn,
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    min_value: float = -10.0,
    max_value: float = 10.0,
    avoid: Sequence[float] = (),
    margin: float = 1e-3,
) -> Tensor:
    """Tensors of leaf Values drawn by `floats(...)`; `shape` is a tuple, a strategy, or None
    (any of `shapes()`)."""
    if shape is None:
        shape = shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    size = math.prod(shape)
    flat = draw(st.lists(floats(min_value, max_value, avoid, margin), min_size=size, max_size=size))
    return Tensor(flat).reshape(*shape)


def assert_grads_close(
    f: Callable, inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> None:
    """Assert that f's gradients at `inputs` match central differences (see `gradcheck`).

    `inputs` may be Values, Tensors or plain numbers (which become leaves labelled x0, x1, …).
    Raises AssertionError with gradcheck's table, so pytest shows which input is wrong."""
    inputs = [Value(x, f"x{i}") if isinstance(x, int | float) else x for i, x in enumerate(inputs)]
    try:
        gradcheck(f, inputs, eps, atol, rtol)
    except GradcheckError as error:
        raise AssertionError(str(error)) from None


# ---------------------------------------------------------------------------------------------
# Random expressions: DAGs over the engine's ops, with reuse.

# Every op of the registry can be drawn (user-defined ones too); the n-ary ones draw how many
# operands they get: `sum` 2 to 4, `dot` 1 to 3 pairs.
_NARY_ARITY = {"sum": st.integers(2, 4), "dot": st.integers(1, 3).map(lambda pairs: 2 * pairs)}


def _apply(op: str, operands: list[Value]) -> Value:
    return registry.function(op)(*operands)  # for dot: the operands are x1…xn, y1…yn


def _well_inside_domain(op: str, args: list[float], margin: float) -> bool:
    """Whether op's operands are `margin` away from its domain's edge, its kinks and its poles
    (as its record's `edge_distance` measures them)."""
    distance = registry.get(op).edge_distance
    return distance is None or distance(*args) >= margin


@dataclass(frozen=True)
class Expression:
    """A random function of n Values, with a point `inputs` where it is well-behaved.

    `expr(*xs)` builds the graph on the Values xs: each step applies an op to earlier nodes and
    the output is the last step. `expr.nodes(*xs)` returns every node instead (the inputs, then
    one per step): a function with many outputs, for Jacobians. `expr.leaves()` gives fresh
    leaves x0, x1, … at `inputs`."""

    inputs: tuple[float, ...]
    steps: tuple[tuple[str, tuple[int, ...]], ...]  # (op, operand node numbers); inputs are 0…n−1

    def __call__(self, *xs: Value) -> Value:
        return self.nodes(*xs)[-1]

    def nodes(self, *xs: Value) -> list[Value]:
        nodes = list(xs)
        for op, args in self.steps:
            nodes.append(_apply(op, [nodes[i] for i in args]))
        return nodes

    def leaves(self) -> list[Value]:
        return [Value(x, f"x{i}") for i, x in enumerate(self.inputs)]

    def __repr__(self) -> str:  # what hypothesis prints for a failing example: the program
        names = [f"x{i}" for i in range(len(self.inputs))]
        lines = [f"{name} = {x!r}" for name, x in zip(names, self.inputs)]
        for op, args in self.steps:
            names.append(f"v{len(names)}")
            lines.append(f"{names[-1]} = {_formula(op, [names[i] for i in args])}")
        return f"Expression({'; '.join(lines)})"


def _formula(op: str, a: list[str]) -> str:
    if op == "neg":
        return f"-{a[0]}"
    if len(a) == 1:
        return f"{a[0]}.{op}()"
    if op.isidentifier() and len(a) == 2:  # a binary op of define_op's
        return f"{a[0]}.{op}({a[1]})"
    if op == "sum":
        return f"Value.sum([{', '.join(a)}])"
    if op == "dot":
        half = len(a) // 2
        return f"Value.dot([{', '.join(a[:half])}], [{', '.join(a[half:])}])"
    return f"{a[0]} {op} {a[1]}"


def expressions(
    ops: Sequence[str] | None = None,
    max_inputs: int = 3,
    max_steps: int = 8,
    min_value: float = -3.0,
    max_value: float = 3.0,
    margin: float = 0.1,
    bound: float = 100.0,
) -> st.SearchStrategy[Expression]:
    """Random DAGs with reuse over `ops` (names in the op registry: "exp", "+", "sum", "dot", …;
    None for every op registered, user-defined ones included), at a
    point of 1…`max_inputs` inputs drawn from [min_value, max_value].

    Each step takes the latest node and, for ops of two or more operands, any earlier nodes
    (inputs or intermediates, the same one possibly twice): that is where reuse comes from. A
    step is kept only if, at the drawn inputs, its operands are `margin` inside the op's domain
    (log, sqrt and the base of ** positive; relu and abs away from 0; no division near 0) and
    its result is at most `bound` in size, so that central differences are a fair reference."""
    known = registry.names()
    ops = known if ops is None else list(ops)
    unknown = sorted(set(ops) - set(known))
    if unknown:
        raise ValueError(f"expressions: unknown ops {unknown}; known: {known}")
    point = st.lists(floats(min_value, max_value), min_size=1, max_size=max_inputs).map(tuple)
    return _expressions(point, tuple(ops), max_steps, margin, bound)


@st.composite
def _expressions(
    draw: st.DrawFn, point: st.SearchStrategy, ops: tuple, max_steps: int, margin: float, bound: float
) -> Expression:
    inputs = draw(point)
    nodes = [Value(x) for x in inputs]
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        op = draw(st.sampled_from(ops))
        arity = registry.get(op).arity or draw(_NARY_ARITY[op])
        others = draw(st.lists(st.integers(0, len(nodes) - 1), min_size=arity - 1, max_size=arity - 1))
        args = tuple(draw(st.permutations([len(nodes) - 1, *others])))
        if not _well_inside_domain(op, [nodes[i].data for i in args], margin):
            continue
        out = _apply(op, [nodes[i] for i in args])
        if abs(out.data) <= bound:  # also False for inf and NaN
            nodes.append(out)
            steps.append((op, args))
    return Expression(inputs, tuple(steps))
