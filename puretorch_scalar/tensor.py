"""`Tensor`: an n-dimensional array of `Value`s, with numpy broadcasting, matmul on `dot` nodes,
reductions and shape operations.

A Tensor is a flat row-major list of Values plus a shape. Element (i0, i1, …) lives at flat
position Σ ik·stride_k, where stride_k = shape[k+1]·…·shape[-1] is how many elements one step along
axis k skips. Two kinds of operations follow from that:

- Rearranging (reshape, transpose, indexing, broadcasting) creates no nodes: it builds a new flat
  list of references to the *same* Value objects, so the graph stays connected through it.
- Computing (arithmetic, matmul, reductions) creates one node per output element; matmul and
  reductions use one n-ary node each (`Value.dot`, `Value.sum`), so a 16×16 @ 16×16 product is
  256 dot nodes, not 4,096 multiplications and 3,840 additions.

A Value that feeds several outputs (a broadcast bias, a row used by every column of a product)
receives the sum of their gradients, because backward sums over all paths. Broadcasting
therefore needs no gradient code of its own.
"""

from __future__ import annotations

import math
import numbers
import operator
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Union

from puretorch_scalar import hooks, ops
from puretorch_scalar.checks import boolean, non_negative_int, real
from puretorch_scalar.engine import (
    Constant,
    DataValue,
    Value,
    apply_op,
    computed_constant,
    data_leaf,
    no_gradient_for,
    topological_order,
    zero_grads,
)
from puretorch_scalar.grad_mode import decided_by_data

Shape = tuple[int, ...]
Axis = int | Sequence[int] | None
Index = int | slice | list | range | tuple | None
Nested = float | list  # a float, or nested lists of floats shaped like a tensor
Operand = Union["Tensor", Value, int, float]


class AxisError(ValueError, IndexError):
    """An axis out of range for a tensor's dimensions (a ValueError and an IndexError, as in numpy)."""


# ---------------------------------------------------------------------------------------------
# Shape arithmetic on plain ints.


def _strides(shape: Shape) -> list[int]:
    """Row-major strides: how many flat positions one step along each axis skips."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return strides[::-1]


def _gather(offsets: Sequence[Sequence[int]]) -> list[int]:
    """The flat source position of every element of a row-major result whose element
    (i0, i1, …) is read from offsets[0][i0] + offsets[1][i1] + ….

    Every rearrangement is this one function with different offsets: k·stride along each axis
    reads a tensor as it is; the strides in another order transpose it; a stride of 0 repeats it
    along an axis (broadcasting); a few chosen positions per axis index it."""
    index = [0]
    for axis in offsets:
        index = [i + o for i in index for o in axis]
    return index


def _axis_offsets(sizes: Sequence[int], strides: Sequence[int]) -> list[list[int]]:
    """k·stride for k in range(size), per axis: the offsets that walk each axis from the start."""
    return [[k * stride for k in range(n)] for n, stride in zip(sizes, strides)]


def broadcast_shapes(a: Shape, b: Shape) -> Shape:
    """numpy's broadcasting rule: align the shapes at the right; at each axis the sizes must be
    equal or one of them 1 (which is stretched); a missing leading axis counts as 1."""
    n = max(len(a), len(b))
    out = []
    for x, y in zip((1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"shapes {a} and {b} cannot be broadcast together: sizes {x} and {y} differ")
        out.append(y if x == 1 else x)
    return tuple(out)


def _broadcast(t: Tensor, shape: Shape) -> list[Value]:
    """t's Values laid out as an array of `shape` (which t's shape broadcasts to), by reference."""
    if t._shape == shape:
        return t._values
    if len(t._values) == 1:
        return t._values * math.prod(shape)
    pad = len(shape) - len(t._shape)
    strides = [0] * pad + [0 if n == 1 else s for n, s in zip(t._shape, _strides(t._shape))]
    return [t._values[i] for i in _gather(_axis_offsets(shape, strides))]


def _axis(axis: object, ndim: int) -> int:
    """An axis in range(ndim); negative axes count from the end."""
    try:
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an int, not {type(axis).__name__}: {axis!r}") from None
    if not -ndim <= a < ndim:
        raise AxisError(f"axis {a} is out of range for a tensor with {ndim} dimension(s)")
    return a % ndim


def _axes(axis: Axis, ndim: int) -> list[int]:
    """`axis` (None for all, an int, or a tuple of ints) as a sorted list of distinct axes."""
    if axis is None:
        return list(range(ndim))
    axes = [_axis(a, ndim) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))]
    if len(set(axes)) != len(axes):
        raise ValueError(f"repeated axis in {axis!r}")
    return sorted(axes)


def _shape_arg(args: tuple, what: str) -> Shape:
    """A shape given as separate ints, f(2, 3), or as one sequence, f((2, 3))."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for n in args:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{what}: sizes must be ints, not {type(n).__name__}: {n!r} in {args}")
    return tuple(int(n) for n in args)


def _position(i: object, n: int, axis: int, shape: Shape) -> int:
    """An index along an axis of size n, checked; negative ones count from the end."""
    if isinstance(i, bool) or not isinstance(i, numbers.Integral):
        raise TypeError(
            f"tensor indices must be ints, slices, lists of ints, None or ..., not {type(i).__name__}: {i!r}"
        )
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of range for axis {axis} of size {n} (shape {shape})")
    return int(i) % n


def _index_offsets(key: tuple, shape: Shape) -> tuple[list[list[int]], Shape]:
    """The `_gather` offsets and the result shape for `tensor[key]` (numpy's rules)."""
    named = sum(k is not None and k is not Ellipsis for k in key)
    if named > len(shape):
        raise IndexError(f"too many indices ({named}) for a tensor of shape {shape}")
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if not any(k is Ellipsis for k in key):
        key = (*key, Ellipsis)  # the axes not named are taken whole
    # numpy judges whether the ints and lists are adjacent on the key as written: a `...` between
    # them separates them even where it stands for no axes at all
    written = [j for j, k in enumerate(key) if not (k is None or k is Ellipsis or isinstance(k, slice))]
    adjacent = not written or written == list(range(written[0], written[-1] + 1))
    rest = [slice(None)] * (len(shape) - named)
    key = [k2 for k in key for k2 in (rest if k is Ellipsis else [k])]
    strides = _strides(shape)
    parts = []  # per entry of the key: (kind, offsets); "axis" entries become axes of the result
    axis = 0
    for k in key:
        if k is None:
            parts.append(("axis", [0]))
            continue
        n, stride = shape[axis], strides[axis]
        if isinstance(k, slice):
            parts.append(("axis", [p * stride for p in range(*k.indices(n))]))
        elif isinstance(k, (list, range)):
            parts.append(("list", [_position(i, n, axis, shape) * stride for i in k]))
        else:
            parts.append(("int", [_position(k, n, axis, shape) * stride]))
        axis += 1
    picked = [j for j, (kind, _) in enumerate(parts) if kind != "axis"]
    if any(parts[j][0] == "list" for j in picked):
        # numpy's advanced indexing: the lists (and the ints with them) advance together, as one
        # axis that takes the place of the first of them if they are adjacent, else comes first.
        lengths = {len(parts[j][1]) for j in picked if parts[j][0] == "list"} - {1}
        if len(lengths) > 1:
            raise IndexError(f"index lists of lengths {sorted(lengths)} cannot be paired up")
        length = lengths.pop() if lengths else 1
        lanes = [parts[j][1] for j in picked]
        together = [sum(o[i] if len(o) > 1 else o[0] for o in lanes) for i in range(length)]
        where = sum(kind == "axis" for kind, _ in parts[: picked[0]]) if adjacent else 0
        parts = [p for j, p in enumerate(parts) if j not in picked]
        parts.insert(where, ("axis", together))
    return [o for _, o in parts], tuple(len(o) for kind, o in parts if kind == "axis")


def _nest(flat: list, shape: Shape) -> object:
    """A flat row-major list as nested lists of `shape` (the bare element for shape ())."""
    if not shape:
        return flat[0]
    for d in range(len(shape) - 1, 0, -1):  # group the innermost axis first
        n, count = shape[d], math.prod(shape[:d])
        flat = [flat[i * n : (i + 1) * n] for i in range(count)]
    return flat


# ---------------------------------------------------------------------------------------------
# Construction: nested lists/tuples, numpy arrays and Tensors (inside lists too) to a flat list.


_PLAIN = {float, int, list, tuple, Value}  # what needs no unwrapping (checked first: it is most data)


def _unwrap(x: object) -> object:
    """A Tensor as nested lists of its Values, a numpy array as nested lists; anything else as is."""
    if isinstance(x, Tensor):
        return _nest(x._values, x._shape)
    if type(x).__module__ == "numpy" and hasattr(x, "tolist"):  # without importing numpy
        return x.tolist()
    return x


def _leaf(x: object, depth: int) -> Value:
    if isinstance(x, Value):
        return x  # kept as is: the tensor joins the graph it belongs to
    if isinstance(x, (float, int)) or isinstance(x, numbers.Real):  # the slow ABC check last
        return Value(x)
    if isinstance(x, (list, tuple)):
        raise ValueError(f"Tensor: ragged nested sequence at depth {depth}: a sequence next to numbers")
    raise TypeError(f"Tensor: elements must be numbers or Values, not {type(x).__name__}: {x!r}")


def _parse(data: object, requires_grad: bool = True) -> tuple[list[Value], Shape]:
    """Flatten `data` one nesting level at a time, checking that each level is rectangular;
    numbers become leaves (data leaves without `requires_grad`, Values too then: copied)."""
    if isinstance(data, Tensor) or (type(data).__module__ == "numpy" and hasattr(data, "shape")):
        # their own shape: an empty one's nested lists would lose the axes after the empty one
        values, _ = _parse(_unwrap(data), requires_grad)
        return values, tuple(data.shape)
    shape: list[int] = []
    level = [_unwrap(data)]
    while level and isinstance(level[0], (list, tuple)):
        n = len(level[0])
        for x in level:
            if not isinstance(x, (list, tuple)):
                raise ValueError(
                    f"Tensor: ragged nested sequence at depth {len(shape)}: "
                    f"an element of type {type(x).__name__} next to sequences of length {n}"
                )
            if len(x) != n:
                raise ValueError(
                    f"Tensor: ragged nested sequence at depth {len(shape)}: lengths {n} and {len(x)}"
                )
        shape.append(n)
        level = [y if type(y) in _PLAIN else _unwrap(y) for x in level for y in x]
    if not requires_grad:
        leaves = [data_leaf(x) if type(x) is float else _leaf(x, len(shape)).detach() for x in level]
        return leaves, tuple(shape)
    return [Value(x) if type(x) is float else _leaf(x, len(shape)) for x in level], tuple(shape)


def as_tensor(x: object) -> Tensor:
    """`x` itself if it is a Tensor; otherwise `Tensor(x, requires_grad=False)`: what models,
    layers and losses make of the plain numbers they are given (inputs, targets), which are
    data, as PyTorch's data tensors are."""
    return x if isinstance(x, Tensor) else Tensor(x, requires_grad=False)


def _operand(x: object) -> Tensor | None:
    """The other operand of an arithmetic operator as a Tensor; a number becomes one Constant,
    shared by every output element."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, Value):
        return Tensor._make([x], ())
    if isinstance(x, numbers.Real):
        return Tensor._make([Constant(x)], ())
    return None


# ---------------------------------------------------------------------------------------------


class Tensor:
    """An n-dimensional array of Values: a flat row-major list of them and a shape.

    `Tensor(data)` takes a number, a Value, rectangular nested lists/tuples of numbers or Values
    (Tensors inside them stack), or a numpy array. Numbers become new leaf Values; Values are
    kept as they are, so the tensor is part of their graph.

    `Tensor(data, requires_grad=False)` holds data instead: leaves that backward gives no
    gradient and spends no work on (an image, a batch of inputs), Values copied as such."""

    __array_ufunc__ = None  # numpy defers to our reflected operators instead of looping over us

    def __init__(self, data: object, requires_grad: bool = True) -> None:
        self._values, self._shape = _parse(data, boolean(requires_grad, "requires_grad", "Tensor"))

    @property
    def requires_grad(self) -> bool:
        """Whether any element receives a gradient in backward (False for data)."""
        return any(v.requires_grad for v in self._values)

    @staticmethod
    def _make(values: list[Value], shape: Shape) -> Tensor:
        """A Tensor over an existing flat list, without parsing (the result of every operation)."""
        t = object.__new__(Tensor)
        t._values, t._shape = values, shape
        return t

    @staticmethod
    def from_values(values: Iterable[Value], shape: Sequence[int]) -> Tensor:
        """A Tensor over existing Values, laid out row-major as `shape`: the Values themselves, not
        copies, so the tensor is part of their graph (how layers assemble their outputs)."""
        values = list(values)
        shape = _shape_arg((tuple(shape),), "from_values")
        for v in values:
            if not isinstance(v, Value):
                raise TypeError(f"from_values: entries must be Values, not {type(v).__name__}: {v!r}")
        if math.prod(shape) != len(values):
            raise ValueError(
                f"from_values: {len(values)} values do not fill shape {shape} ({math.prod(shape)} elements)"
            )
        return Tensor._make(values, shape)

    # -- factories -----------------------------------------------------------------------------

    @staticmethod
    def _filled(shape: tuple, what: str, draw: Callable[[], float]) -> Tensor:
        shape = _shape_arg(shape, what)
        if any(n < 0 for n in shape):
            raise ValueError(f"{what}: negative size in shape {shape}")
        return Tensor._make([Value(draw()) for _ in range(math.prod(shape))], shape)

    @staticmethod
    def zeros(*shape: int) -> Tensor:
        """Leaves holding 0.0; `Tensor.zeros(2, 3)` or `Tensor.zeros((2, 3))`."""
        return Tensor._filled(shape, "zeros", float)

    @staticmethod
    def ones(*shape: int) -> Tensor:
        """Leaves holding 1.0."""
        return Tensor._filled(shape, "ones", lambda: 1.0)

    @staticmethod
    def randn(*shape: int, seed: int | None = None) -> Tensor:
        """Leaves drawn from the standard normal distribution; `seed` makes them reproducible
        (without it, Python's global `random` state is used, so `random.seed` works too)."""
        rng = random if seed is None else random.Random(seed)
        return Tensor._filled(shape, "randn", lambda: rng.gauss(0.0, 1.0))

    @staticmethod
    def uniform(*shape: int, low: float = -1.0, high: float = 1.0, seed: int | None = None) -> Tensor:
        """Leaves drawn uniformly from [low, high] (low <= high, as torch's uniform_ requires)."""
        low = real(low, "low", "uniform")
        high = real(high, "high", "uniform", low=low)
        rng = random if seed is None else random.Random(seed)
        return Tensor._filled(shape, "uniform", lambda: rng.uniform(low, high))

    @staticmethod
    def eye(n: int, m: int | None = None) -> Tensor:
        """The (n, m) identity matrix (m = n if not given): leaves holding 1.0 where row == column
        and 0.0 elsewhere, as `torch.eye`."""
        n = non_negative_int(n, "n", "eye")
        m = n if m is None else non_negative_int(m, "m", "eye")
        return Tensor._make([Value(float(i == j)) for i in range(n) for j in range(m)], (n, m))

    # -- shape and contents --------------------------------------------------------------------

    @property
    def shape(self) -> Shape:
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        """The number of elements."""
        return len(self._values)

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def __bool__(self) -> bool:
        """The truth of a one-element tensor's number, as in PyTorch; with more elements (or
        none) it is ambiguous, and raises ValueError."""
        if len(self._values) != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self._shape} ({len(self._values)} elements) is "
                "ambiguous: use .item() on one element, or compare elements one by one"
            )
        return bool(self._values[0])

    def __iter__(self) -> Iterator[Tensor | Value]:
        """The sub-tensors along the first axis (the Values, for a 1-D tensor)."""
        if not self._shape:
            raise TypeError("iteration over a 0-d tensor")
        if len(self._shape) == 1:
            return iter(self._values)
        inner = self._shape[1:]
        step = math.prod(inner)
        return (Tensor._make(self._values[i * step : (i + 1) * step], inner) for i in range(self._shape[0]))

    def values(self) -> list[Value]:
        """The elements as a flat row-major list of the Value objects themselves."""
        return list(self._values)

    def tolist(self) -> Nested:
        """The data as nested lists of floats (a float for a 0-d tensor)."""
        return _nest([v.data for v in self._values], self._shape)

    def item(self) -> float:
        """The data of a one-element tensor as a float."""
        if len(self._values) != 1:
            raise ValueError(
                f"item(): the tensor has {len(self._values)} elements (shape {self._shape}), not 1"
            )
        return self._values[0].data

    def numpy(self) -> object:
        """The data as a numpy float64 array of the same shape (a copy: changing it changes
        nothing here). Needs numpy, which the engine itself does not."""
        try:
            import numpy
        except ImportError as error:
            raise ImportError("Tensor.numpy() needs numpy; install it with: pip install numpy") from error
        return numpy.array([v.data for v in self._values], dtype=numpy.float64).reshape(self._shape)

    def allclose(self, other: object, rtol: float = 1e-05, atol: float = 1e-08) -> bool:
        """Whether |self − other| <= atol + rtol·|other| for every element, shapes broadcast as in
        numpy (`other`: anything `Tensor()` takes). As `torch.allclose`: a NaN is close to
        nothing, an infinity only to the same infinity."""
        rtol = real(rtol, "rtol", "allclose", low=0)
        atol = real(atol, "atol", "allclose", low=0)
        b = other if isinstance(other, Tensor) else Tensor(other)
        shape = broadcast_shapes(self._shape, b._shape)
        return all(
            x.data == y.data or (math.isfinite(y.data) and abs(x.data - y.data) <= atol + rtol * abs(y.data))
            for x, y in zip(_broadcast(self, shape), _broadcast(b, shape))
        )

    # -- elementwise arithmetic, with broadcasting ---------------------------------------------

    def _elementwise(self, other: object, record: ops.Op, reflected: bool = False) -> Tensor:
        """out[i] = op(a[i], b[i]) over the broadcast shape: one binary node per output element
        (data from data alone, as `Value(…, requires_grad=False)` ops give)."""
        b = _operand(other)
        if b is None:
            return NotImplemented
        a, b = (b, self) if reflected else (self, b)
        shape = a._shape if a._shape == b._shape else broadcast_shapes(a._shape, b._shape)
        op = _value_op(record, _is_data(a) or _is_data(b))
        return Tensor._make([op(x, y) for x, y in zip(_broadcast(a, shape), _broadcast(b, shape))], shape)

    # The operators (+ - * / **, unary −, abs) and elementwise functions (.exp(), .tanh(), …)
    # are made from the op registry: see install_methods below the class.

    # -- elementwise comparisons (no graph) ----------------------------------------------------

    def _compare(self, other: object, compare: Callable[[float, float], bool]) -> Tensor:
        """1.0 where compare(a[i], b[i]) holds and 0.0 elsewhere, over the broadcast shape. The
        results are new leaves, as PyTorch's bool tensors carry no gradient: a step function's
        derivative is 0 wherever it is defined."""
        decided_by_data("comparing Tensors")
        b = _operand(other)
        if b is None:
            return NotImplemented
        shape = self._shape if self._shape == b._shape else broadcast_shapes(self._shape, b._shape)
        pairs = zip(_broadcast(self, shape), _broadcast(b, shape))
        return Tensor._make([Value(float(compare(x.data, y.data))) for x, y in pairs], shape)

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        """Elementwise a == b as 1.0/0.0 (not identity: use `is` for that)."""
        return self._compare(other, operator.eq)

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        """Elementwise a != b as 1.0/0.0 (a NaN differs from everything, itself included)."""
        return self._compare(other, operator.ne)

    def __lt__(self, other: Operand) -> Tensor:
        """Elementwise a < b as 1.0/0.0."""
        return self._compare(other, operator.lt)

    def __le__(self, other: Operand) -> Tensor:
        """Elementwise a <= b as 1.0/0.0."""
        return self._compare(other, operator.le)

    def __gt__(self, other: Operand) -> Tensor:
        """Elementwise a > b as 1.0/0.0."""
        return self._compare(other, operator.gt)

    def __ge__(self, other: Operand) -> Tensor:
        """Elementwise a >= b as 1.0/0.0."""
        return self._compare(other, operator.ge)

    __hash__ = object.__hash__  # hash stays identity, so Tensors remain usable as dict and set keys

    # -- matrix product ------------------------------------------------------------------------

    def __matmul__(self, other: Tensor) -> Tensor:
        """numpy's matmul: (…, m, k) @ (…, k, n) -> (…, m, n), the leading (batch) axes broadcast.
        A 1-D left operand is one row and a 1-D right operand one column, and that axis is dropped
        from the result. out[…, i, j] = Σ_l a[…, i, l]·b[…, l, j] is one `dot` node whose children
        are row i of a and column j of b."""
        if not isinstance(other, Tensor):
            return NotImplemented
        if not self._shape or not other._shape:
            raise ValueError(
                f"matmul: operands must be at least 1-D, got shapes {self._shape} and {other._shape}"
            )
        a = self if self.ndim > 1 else self.reshape(1, -1)
        b = other if other.ndim > 1 else other.reshape(-1, 1)
        (m, k), (k2, n) = a._shape[-2:], b._shape[-2:]
        if k != k2:
            raise ValueError(f"matmul: inner dimensions differ: {self._shape} @ {other._shape} ({k} != {k2})")
        try:
            batch = broadcast_shapes(a._shape[:-2], b._shape[:-2])
        except ValueError:
            raise ValueError(
                f"matmul: the batch axes of {self._shape} and {other._shape} cannot be broadcast together"
            ) from None
        xs, ys = _broadcast(a, batch + (m, k)), _broadcast(b, batch + (k, n))
        dot, out = Value.dot, []
        for s in range(math.prod(batch)):  # one matrix product per batch entry
            x, y = xs[s * m * k : (s + 1) * m * k], ys[s * k * n : (s + 1) * k * n]
            rows = [x[i * k : (i + 1) * k] for i in range(m)]
            cols = [y[j::n] for j in range(n)]
            out += [dot(row, col) for row in rows for col in cols]
        return Tensor._make(out, batch + (m,) * (self.ndim > 1) + (n,) * (other.ndim > 1))

    # -- reductions ----------------------------------------------------------------------------

    def _reduce(self, axis: Axis, keepdims: bool, reduce: Callable[[list[Value]], Value]) -> Tensor:
        """Apply `reduce` to each group of elements that differ only along the reduced axes."""
        axes = _axes(axis, self.ndim)
        kept = [d for d in range(self.ndim) if d not in axes]
        values = self._permuted(kept + axes)  # the reduced axes last: each group is contiguous
        r = math.prod(self._shape[d] for d in axes)
        count = math.prod(self._shape[d] for d in kept)
        out = [reduce(values[i * r : (i + 1) * r]) for i in range(count)]
        if keepdims:
            return Tensor._make(out, tuple(1 if d in axes else n for d, n in enumerate(self._shape)))
        return Tensor._make(out, tuple(self._shape[d] for d in kept))

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Σ over `axis` (all axes if None): one `sum` node per output element."""
        return self._reduce(axis, keepdims, Value.sum)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Σ / count over `axis`: a `sum` node and a division per output element."""
        count = Constant(math.prod(self._shape[d] for d in _axes(axis, self.ndim)))
        return self._reduce(axis, keepdims, lambda group: Value.sum(group) / count)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The largest element over `axis`, or NaN where the group holds a NaN (it propagates, as
        in torch.max). No node is created: the result holds the selected Values themselves, so
        the gradient flows to that element only (the first NaN, else the first largest on ties)."""
        self._check_nonempty(axis, "max")
        return self._reduce(axis, keepdims, lambda group: group[_largest(group)])

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """The position of the largest element along `axis`, as `torch.argmax`: for axis=None, a
        0-d tensor holding the row-major position in the flattened tensor. Positions are floats
        (the engine's only number type; `int(t.item())` reads one), in new leaves with no
        graph. The position is the one `max` selects: the first NaN, else the first largest."""
        axis = None if axis is None else _axis(axis, self.ndim)
        self._check_nonempty(axis, "argmax")
        return self._reduce(axis, keepdims, lambda group: Value(float(_largest(group))))

    def _check_nonempty(self, axis: Axis, what: str) -> None:
        if any(self._shape[d] == 0 for d in _axes(axis, self.ndim)):
            raise ValueError(f"{what}: cannot reduce over an empty axis of a tensor of shape {self._shape}")

    # -- softmax -------------------------------------------------------------------------------

    def _along(self, axis: int, f: Callable[[list[Value]], list[Value]]) -> Tensor:
        """Apply `f` to every 1-D lane along `axis` (a list of Values to a list as long)."""
        a = _axis(axis, self.ndim)
        perm = [d for d in range(self.ndim) if d != a] + [a]  # move `axis` last: lanes are contiguous
        values, n = self._permuted(perm), self._shape[a]
        out = [y for i in range(0, len(values), n or 1) for y in f(values[i : i + n])]
        moved = Tensor._make(out, tuple(self._shape[d] for d in perm))
        return moved.transpose(*(perm.index(d) for d in range(self.ndim)))

    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x − m) / Σ exp(x − m) along `axis`, with m the lane's max as a constant: the result
        is the same for any m, and with this one every exponent is ≤ 0, so logits of ±1000 work."""

        def lane(xs: list[Value]) -> list[Value]:
            m = computed_constant(max, xs)  # Constant(max(x.data …)), which a jit program recomputes
            exps = [(x - m).exp() for x in xs]
            total = Value.sum(exps)
            return [e / total for e in exps]

        return self._along(axis, lane)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """x − m − log Σ exp(x − m) along `axis` (m the lane's max, a constant): log(softmax)
        without ever computing a softmax that underflows to 0."""

        def lane(xs: list[Value]) -> list[Value]:
            m = computed_constant(max, xs)  # Constant(max(x.data …)), which a jit program recomputes
            shifted = [x - m for x in xs]
            log_total = Value.sum([s.exp() for s in shifted]).log()
            return [s - log_total for s in shifted]

        return self._along(axis, lane)

    # -- shape operations (no new nodes) -------------------------------------------------------

    def _permuted(self, perm: Sequence[int]) -> list[Value]:
        """The Values in the row-major order of the tensor with its axes permuted by `perm`."""
        if list(perm) == list(range(self.ndim)):
            return self._values
        strides = _strides(self._shape)
        index = _gather(_axis_offsets([self._shape[p] for p in perm], [strides[p] for p in perm]))
        return [self._values[i] for i in index]

    def reshape(self, *shape: int) -> Tensor:
        """The same elements in the same row-major order, as `shape`; one size may be -1 (inferred)."""
        shape = _shape_arg(shape, "reshape")
        size = len(self._values)
        if shape.count(-1) > 1 or any(n < -1 for n in shape):
            raise ValueError(f"reshape: invalid shape {shape}: sizes must be >= 0, with at most one -1")
        if -1 in shape:
            known = math.prod(n for n in shape if n != -1)
            if known and size % known == 0:
                shape = tuple(size // known if n == -1 else n for n in shape)
        if math.prod(shape) != size or -1 in shape:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {self._shape} ({size} elements) into {shape}"
            )
        return Tensor._make(list(self._values), shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Axes `start_dim` … `end_dim` merged into one, as `torch.flatten`: by default a 1-D
        tensor of the elements in row-major order; `flatten(1)` turns (N, C, H, W) into
        (N, C·H·W). A 0-d tensor becomes 1-D."""
        if not self._shape:
            return self.reshape(1)
        start, end = _axis(start_dim, self.ndim), _axis(end_dim, self.ndim)
        if start > end:
            raise ValueError(
                f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {self._shape})"
            )
        merged = math.prod(self._shape[start : end + 1])
        return self.reshape(*self._shape[:start], merged, *self._shape[end + 1 :])

    def transpose(self, *axes: int) -> Tensor:
        """The axes permuted as numpy does: result axis i is axis `axes[i]` of this tensor; no
        axes reverses them. `t.transpose(1, 0)` of a matrix swaps rows and columns."""
        if not axes:
            perm = list(range(self.ndim))[::-1]
        else:
            perm = [_axis(a, self.ndim) for a in _shape_arg(axes, "transpose")]
            if sorted(perm) != list(range(self.ndim)):
                raise ValueError(
                    f"transpose: axes {tuple(axes)} are not a permutation of the {self.ndim} axes "
                    f"of a tensor of shape {self._shape}"
                )
        return Tensor._make(self._permuted(perm), tuple(self._shape[p] for p in perm))

    @property
    def T(self) -> Tensor:
        """The axes reversed (the transpose of a matrix)."""
        return self.transpose()

    def __getitem__(self, key: Index) -> Tensor | Value:
        """numpy indexing. Per axis: an int picks one entry and drops the axis, a slice picks a
        range, a list of ints picks those entries; `...` stands for the axes not named and `None`
        inserts an axis of size 1. Several lists pair up as in numpy: t[[0, 1], [2, 0]] is
        [t[0, 2], t[1, 0]] (so `logp[range(n), labels]` picks each row's label). When every axis
        is picked by an int, the result is that Value itself."""
        offsets, shape = _index_offsets(key if isinstance(key, tuple) else (key,), self._shape)
        values = [self._values[i] for i in _gather(offsets)]
        return Tensor._make(values, shape) if shape else values[0]

    # -- gradients -----------------------------------------------------------------------------

    @property
    def grad(self) -> Nested:
        """Each element's `.grad`, as nested lists of floats shaped like the tensor."""
        return _nest([v.grad for v in self._values], self._shape)

    def backward(self, gradient: object = None) -> None:
        """Backpropagate from the elements, weighting element i by gradient[i]: afterwards each leaf
        below has accumulated Σ_i gradient[i]·∂t[i]/∂leaf in `.grad`. A one-element tensor may omit
        `gradient` (1.0); any other needs one of the same shape (nested lists or a Tensor)."""
        if gradient is None:
            if len(self._values) != 1:
                raise ValueError(
                    f"backward: a tensor of shape {self._shape} needs a gradient of that shape; "
                    f"only a one-element tensor can backpropagate without one"
                )
            self._values[0].backward()
            return
        g = gradient if isinstance(gradient, Tensor) else Tensor(gradient)
        if g._shape != self._shape:
            raise ValueError(
                f"backward: gradient of shape {g._shape} does not match the tensor's shape {self._shape}"
            )
        # One temporary node Σ gᵢ·tᵢ above all elements: its local derivative towards tᵢ is gᵢ, so
        # one backward from it seeds every element and walks the shared graph below only once.
        # Built directly rather than with Value.dot so that it also works under no_grad.
        weights = [Constant(w.data) for w in g._values]
        data = sum(w.data * v.data for w, v in zip(weights, self._values))
        Value(data, "", (*self._values, *weights), "dot").backward()

    def register_hook(self, fn: Callable[[Nested], Nested | None]) -> hooks.RemovableHandle:
        """Call `fn(grad)` during backward once the gradients of all elements are complete, with
        `grad` as nested lists shaped like the tensor; nested lists it returns replace them
        (None keeps them). Returns a handle whose `.remove()` takes the hook away."""
        if self._values and not self.requires_grad:
            no_gradient_for(self._values[0], "register_hook")
        return hooks.register_tensor(self._values, self._shape, fn)

    def zero_grad(self) -> None:
        """Set `.grad = 0.0` on every node of the graph below the elements (walked once)."""
        zero_grads(topological_order(*self._values))

    def detach(self) -> Tensor:
        """Data with the same numbers (`requires_grad=False`): the result is cut from the graph."""
        return Tensor._make([v.detach() for v in self._values], self._shape)

    def clone(self) -> Tensor:
        """A copy that stays in the graph, as `torch.clone`: each element is a new one-child `sum`
        node holding the same number, so changing the copy's data leaves the source alone while
        gradients flow through the copy back to the source (∂copy/∂source = 1). Under
        `no_grad()` the copies are leaves."""
        return Tensor._make([Value.sum([v]) for v in self._values], self._shape)

    # -- display -------------------------------------------------------------------------------

    def __repr__(self) -> str:
        """Nested rows as PyTorch prints them: 4 decimals, columns aligned; beyond 1,000 elements
        only the first and last 3 entries of each long axis are shown, as numpy does."""
        data = [v.data for v in self._values]
        width = max((len(f"{x:.4f}") for x in data), default=0)
        edge = 3 if len(data) > 1000 else None
        body = _format(
            _nest(data, self._shape) if data else [], len(self._shape), width, edge, len("tensor(")
        )
        return f"tensor({body}, shape={self._shape})"


def _largest(group: Sequence[Value]) -> int:
    """The position of the first NaN in `group` (it propagates, as in torch.max), else of the
    first largest element."""
    decided_by_data("Tensor.max or argmax (which element it picks depends on the numbers)")
    data = [v.data for v in group]
    nan = next((i for i, x in enumerate(data) if math.isnan(x)), None)  # max() would skip it
    return max(range(len(data)), key=data.__getitem__) if nan is None else nan


def _format(nested: Nested, ndim: int, width: int, edge: int | None, indent: int) -> str:
    if ndim == 0:
        return f"{nested:.4f}".rjust(width)
    if edge is not None and len(nested) > 2 * edge:
        items = [*(_format(x, ndim - 1, width, edge, indent + 1) for x in nested[:edge]), "..."]
        items += [_format(x, ndim - 1, width, edge, indent + 1) for x in nested[-edge:]]
    else:
        items = [_format(x, ndim - 1, width, edge, indent + 1) for x in nested]
    separator = ", " if ndim == 1 else "," + "\n" * (ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(items) + "]"


# ---------------------------------------------------------------------------------------------
# Elementwise methods: one per op of the registry, applying the Value method to every element.


def _is_data(t: Tensor) -> bool:
    """Whether `t` holds data (`requires_grad=False`), judged by its first element: a tensor is
    data throughout or not at all, unless assembled by hand from both (its data elements then
    become nodes, still given no gradient). One test per operation, not one per element."""
    return bool(t._values) and t._values[0].__class__ is DataValue


def _value_op(record: ops.Op, data: bool) -> Callable[..., Value]:
    """The op on Values: Value's method (the fast one), or for data `apply_op`, which sees
    whether the operands are all data and then builds no graph."""
    if data:
        return lambda *operands: apply_op(record, operands)
    return getattr(Value, record.methods[0])


def _unary_method(record: ops.Op, name: str) -> Callable[[Tensor], Tensor]:
    def method(self: Tensor) -> Tensor:
        op = _value_op(record, _is_data(self))
        return Tensor._make([op(v) for v in self._values], self._shape)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Elementwise {name}: one node per element."
    return method


def _binary_method(record: ops.Op, name: str, reflected: bool) -> Callable[[Tensor, Operand], Tensor]:
    def method(self: Tensor, other: Operand) -> Tensor:
        return self._elementwise(other, record, reflected)

    method.__name__ = method.__qualname__ = name
    operands = "other, self" if reflected else "self, other"
    method.__doc__ = f"Elementwise {record.methods[0]}({operands}), broadcast as numpy does."
    return method


def install_methods(record: ops.Op) -> None:
    """Give Tensor the op's elementwise methods (after Value has them: they call Value's)."""
    if not record.arity:
        return  # the n-ary sum and dot: Tensor has sum() as a reduction, and matmul
    for reflected, name in enumerate(record.methods):
        if record.arity == 1:
            setattr(Tensor, name, _unary_method(record, name))
        else:
            setattr(Tensor, name, _binary_method(record, name, bool(reflected)))


def remove_methods(record: ops.Op) -> None:
    for name in record.methods if record.arity else ():
        delattr(Tensor, name)


def apply_elementwise(record: ops.Op, operands: Sequence[object]) -> Tensor:
    """An elementwise op applied to Tensors, Values or numbers: `pts.ops.exp(t)`."""
    if not record.arity:
        raise TypeError(f"{record.name}: takes Values, not Tensors (for a Tensor, use its methods)")
    tensors = [_operand(x) for x in operands]
    for x, t in zip(operands, tensors):
        if t is None:
            kind = type(x).__name__
            raise TypeError(f"{record.name}: operands must be Tensors, Values or numbers, not {kind}")
    if record.arity == 1:
        return _unary_method(record, record.name)(tensors[0])
    return tensors[0]._elementwise(tensors[1], record)


for _record in ops.records():
    install_methods(_record)
