"""The scalar autograd engine: `Value`, its table of local derivatives, and backward.

A `Value` is one node of the computation graph: a float, the operation that made it and the
Values it was made from. Every operation is one row of the tables below: the forward formula on
floats next to its local derivatives ∂out/∂input. Backward is the chain rule applied once per
node, from the output down (reverse topological order):

    child.grad += (∂node/∂child) · node.grad

The derivative rules are written with ordinary operators, so the same rules run on floats (a
normal backward) and on Values (`create_graph=True`: the gradient is itself a graph that can be
differentiated again).
"""

from __future__ import annotations

import math
import numbers
import operator
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import ContextDecorator
from itertools import repeat
from typing import Union

Number = int | float
Operand = Union["Value", int, float]
Scalar = Union[float, "Value"]  # what the derivative rules compute on: floats, or Values (create_graph)

inf, nan = math.inf, math.nan
_data_of = operator.attrgetter("data")


# ---------------------------------------------------------------------------------------------
# Forward formulas that need care beyond Python's float operators. Division by zero, overflow
# and NaN follow IEEE 754 (as PyTorch does): x/0 is ±inf and exp(1000) is inf, so a training run
# is never killed by a ZeroDivisionError/OverflowError; real domain errors raise ValueError.
# `_div`, `_pow`, `_log`, `_sin`, `_cos` also accept Values: the derivative rules call them.


def _div(a: Scalar, b: Scalar) -> Scalar:
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0:
            return nan
        return math.copysign(inf, a) * math.copysign(1.0, b)


def _pow(a: Scalar, b: Scalar) -> Scalar:
    if a < 0 and math.isfinite(b) and not float(b).is_integer():
        raise ValueError(
            f"pow: negative base {float(a)!r} with non-integer exponent {float(b)!r} has no real result"
        )
    try:
        return a**b
    except ZeroDivisionError:  # 0 ** negative
        return inf
    except OverflowError:
        return -inf if a < 0 and float(b) % 2 == 1 else inf


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return inf


def _log(x: Scalar) -> Scalar:
    if isinstance(x, Value):
        return x.log()
    if x <= 0:
        raise ValueError(f"log: input {x!r} is not positive; log is defined only for x > 0")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0:
        raise ValueError(f"sqrt: input {x!r} is negative; sqrt is defined only for x >= 0")
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    if x >= 0:  # two forms, so that exp never overflows
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _relu(x: float) -> float:
    return x if x > 0 or x != x else 0.0  # NaN passes through, as in PyTorch


def _sin(x: Scalar) -> Scalar:
    if isinstance(x, Value):
        return x.sin()
    return math.sin(x) if math.isfinite(x) else nan


def _cos(x: Scalar) -> Scalar:
    if isinstance(x, Value):
        return x.cos()
    return math.cos(x) if math.isfinite(x) else nan


def _ln_base(a: Scalar, out: Scalar) -> Scalar:
    """∂(a ** b)/∂b = a**b · ln a, defined for a > 0; PyTorch's values elsewhere (0 at a = 0)."""
    if a > 0:
        return out * _log(a)
    return 0.0 if a == 0 else nan


def _dot(xs: Sequence[float]) -> float:
    n = len(xs) // 2
    return sum(map(operator.mul, xs[:n], xs[n:]))


# ---------------------------------------------------------------------------------------------
# The table of calculus. Each row: op name -> (forward on floats, local derivatives).
# `out` is the node's own value, which several derivatives reuse (exp, tanh, sigmoid, sqrt, /).

UNARY: dict[str, tuple[Callable, Callable]] = {
    #           forward        ∂out/∂x
    "neg":     (operator.neg,  lambda x, out: -1.0),
    "exp":     (_exp,          lambda x, out: out),
    "log":     (_log,          lambda x, out: 1.0 / x),
    "tanh":    (math.tanh,     lambda x, out: 1.0 - out * out),
    "sigmoid": (_sigmoid,      lambda x, out: out * (1.0 - out)),
    "relu":    (_relu,         lambda x, out: 1.0 if x > 0 else 0.0),
    "abs":     (abs,           lambda x, out: 1.0 if x > 0 else -1.0 if x < 0 else 0.0),
    "sqrt":    (_sqrt,         lambda x, out: _div(0.5, out)),
    "sin":     (_sin,          lambda x, out: _cos(x)),
    "cos":     (_cos,          lambda x, out: -_sin(x)),
}  # fmt: skip

BINARY: dict[str, tuple[Callable, Callable]] = {
    #      forward        (∂out/∂a,             ∂out/∂b)
    "+":  (operator.add,  lambda a, b, out: (1.0, 1.0)),
    "-":  (operator.sub,  lambda a, b, out: (1.0, -1.0)),
    "*":  (operator.mul,  lambda a, b, out: (b, a)),
    "/":  (_div,          lambda a, b, out: (_div(1.0, b), _div(-out, b))),
    "**": (_pow,          lambda a, b, out: (b * _pow(a, b - 1.0), _ln_base(a, out))),
}  # fmt: skip

NARY: dict[str, tuple[Callable, Callable]] = {
    # "sum": x1 + … + xn.   "dot": children are x1…xn, y1…yn; out = Σ xi·yi.
    "sum": (sum,   lambda xs, out: (1.0,) * len(xs)),
    "dot": (_dot,  lambda xs, out: (*xs[len(xs) // 2:], *xs[: len(xs) // 2])),
}  # fmt: skip


# The forward column, and the derivative column with the arity that says how to call a rule
# (0: n-ary), split out for quick lookup on the hot paths.
_F_UNARY = {op: forward for op, (forward, _) in UNARY.items()}
_F_BINARY = {op: forward for op, (forward, _) in BINARY.items()}
_RULES = (
    {op: (1, rule) for op, (_, rule) in UNARY.items()}
    | {op: (2, rule) for op, (_, rule) in BINARY.items()}
    | {op: (0, rule) for op, (_, rule) in NARY.items()}
)


def local_grads(op: str, args: Sequence[Scalar], out: Scalar) -> Sequence[Scalar]:
    """∂out/∂child for each child of a node, from the table. `args` are the children's data and
    `out` the node's data (floats), or the children and the node themselves (Values)."""
    arity, rule = _RULES[op]
    if arity == 1:
        return (rule(args[0], out),)
    if arity == 2:
        return rule(args[0], args[1], out)
    return rule(args, out)


# ---------------------------------------------------------------------------------------------
# Grad mode: inside `no_grad()` operations compute data only, and their results are leaves.


class _GradMode(threading.local):
    disabled = 0  # nesting depth of no_grad() in this thread


_mode = _GradMode()
_no_grad_users = 0  # how many threads are inside no_grad(): while 0, skip the thread-local lookup
_no_grad_lock = threading.Lock()


def _grad_off() -> bool:
    return _no_grad_users > 0 and _mode.disabled > 0


class no_grad(ContextDecorator):
    """Context manager and decorator: operations inside build no graph (results are leaves).

    Nests, and applies to the current thread only, like `torch.no_grad`."""

    def __enter__(self) -> no_grad:
        global _no_grad_users
        with _no_grad_lock:
            _mode.disabled += 1
            _no_grad_users += _mode.disabled == 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _no_grad_users
        with _no_grad_lock:
            _mode.disabled -= 1
            _no_grad_users -= _mode.disabled == 0


def is_grad_enabled() -> bool:
    """False inside `no_grad()`."""
    return not _grad_off()


# ---------------------------------------------------------------------------------------------


def _as_float(data: object, what: str = "Value data") -> float:
    if isinstance(data, float):
        return float(data)  # also turns float subclasses (numpy.float64) into a plain float
    if isinstance(data, numbers.Real):
        return float(data)
    raise TypeError(f"{what} must be an int or float, not {type(data).__name__}: {data!r}")


def _lift(x: object) -> Value | None:
    """A Value as is; a number as a new Constant leaf; anything else None."""
    if isinstance(x, Value):
        return x
    if isinstance(x, (float, int)) or isinstance(x, numbers.Real):
        return Constant(x)
    return None


_new_object = object.__new__


def _unary_method(op: str) -> Callable[[Value], Value]:
    """The Value method for a row of UNARY: computes the forward formula, records the node."""
    forward = _F_UNARY[op]

    def method(self: Value) -> Value:
        data = forward(self.data)
        if _no_grad_users and _mode.disabled:
            return Value(data)
        return Value(data, "", (self,), op)

    method.__name__ = method.__qualname__ = op
    method.__doc__ = f"A new node {op}(self); its derivative is UNARY[{op!r}] in engine.py."
    return method


def _binary_methods(op: str) -> tuple[Callable, Callable]:
    """`self op other` and the reflected `other op self` for a row of BINARY (other: a Value or a
    number, lifted to a Constant; anything else gives NotImplemented, so Python raises TypeError)."""
    forward = _F_BINARY[op]

    def make(reflected: bool) -> Callable[[Value, Operand], Value]:
        def method(self: Value, other: Operand) -> Value:
            if not isinstance(other, Value) and (other := _lift(other)) is None:
                return NotImplemented
            children = (other, self) if reflected else (self, other)
            data = forward(children[0].data, children[1].data)
            if _no_grad_users and _mode.disabled:
                return Value(data)
            # Value(data, "", children, op) minus the class call and __init__'s checks (data is a
            # float already): arithmetic is the engine's hottest path, and this saves ~15% of it.
            node = _new_object(Value)
            node.data = data
            node.grad = 0.0
            node.label = ""
            node.children = children
            node.op = op
            return node

        method.__doc__ = f"A new node {'other ' + op + ' self' if reflected else 'self ' + op + ' other'}."
        return method

    return make(False), make(True)


class Value:
    """One scalar node of the computation graph.

    `data` is the number, `grad` is ∂(output of the last backward)/∂(this node), `op` the
    operation that produced it ("" for a leaf) and `children` the Values it was computed from.
    """

    __slots__ = ("data", "grad", "label", "op", "children", "_gv")

    def __init__(self, data: Number, label: str = "", _children: tuple = (), _op: str = ""):
        self.data = data if type(data) is float else _as_float(data)
        self.grad = 0.0
        self.label = label
        self.children = _children
        self.op = _op

    # -- building nodes: one method per row of the tables ---------------------------------------

    @staticmethod
    def _nary(children: tuple[Value, ...], op: str) -> Value:
        """The node for a row of NARY over `children`, which must all be Values already: `sum`
        and `dot` lift numbers first; Linear and Tensor's matmul, whose operands are always
        Values, call this directly (checking them costs ~12% of an MLP training step)."""
        data = NARY[op][0]([*map(_data_of, children)])
        if not children or _grad_off():
            return Value(data)
        return Value(data, "", children, op)

    __add__, __radd__ = _binary_methods("+")
    __sub__, __rsub__ = _binary_methods("-")
    __mul__, __rmul__ = _binary_methods("*")
    __truediv__, __rtruediv__ = _binary_methods("/")
    __pow__, __rpow__ = _binary_methods("**")
    __neg__ = _unary_method("neg")
    exp = _unary_method("exp")
    log = _unary_method("log")
    tanh = _unary_method("tanh")
    sigmoid = _unary_method("sigmoid")
    relu = _unary_method("relu")
    abs = __abs__ = _unary_method("abs")
    sqrt = _unary_method("sqrt")
    sin = _unary_method("sin")
    cos = _unary_method("cos")

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """One node x1 + … + xn with n children (an empty sum is a leaf 0.0)."""
        return Value._nary(_lift_all(values, "sum"), "sum")

    @staticmethod
    def dot(xs: Sequence[Operand], ys: Sequence[Operand]) -> Value:
        """One node Σ xi·yi whose children are x1…xn, y1…yn (Values or numbers)."""
        children = (*xs, *ys)
        if len(children) != 2 * len(xs):
            raise ValueError(f"dot: lengths differ: {len(xs)} and {len(children) - len(xs)}")
        return Value._nary(_lift_all(children, "dot"), "dot")

    # -- plain-number views --------------------------------------------------------------------

    def __lt__(self, other: Operand) -> bool:
        return self.data < _data(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= _data(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > _data(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _data(other)

    __hash__ = object.__hash__  # == and hash are identity: Values are dict and set keys

    def __float__(self) -> float:
        return self.data

    def item(self) -> float:
        """The data as a Python float."""
        return self.data

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    # -- gradients -----------------------------------------------------------------------------

    @property
    def grad_value(self) -> Value | None:
        """The gradient as a Value (a differentiable graph), after `backward(create_graph=True)`."""
        return getattr(self, "_gv", None)

    def backward(self, gradient: Operand = 1.0, create_graph: bool = False) -> None:
        """Reverse-mode pass: adds ∂self/∂leaf · gradient to every leaf's `.grad` and sets every
        non-leaf's `.grad` to ∂self/∂node · gradient.

        With `create_graph=True` the gradients are also built as Values (`.grad_value`), so they
        can be differentiated again."""
        if not isinstance(gradient, Value):
            gradient = _as_float(gradient, "backward gradient")
        if create_graph:
            return self._backward_create_graph(gradient)
        order = topological_order(self, leaves=False)  # leaves only receive gradients
        for node in order:
            node.grad = 0.0  # non-leaves hold this pass's gradient only
        self.grad = float(gradient) if self.children else self.grad + gradient
        _sweep(order, False)

    def _backward_create_graph(self, gradient: Value | float) -> None:
        order = topological_order(self)
        for node in order:  # leaves keep what they accumulated so far; None means "nothing yet"
            node.grad = None if node.children else _accumulated(node)
        self.grad = gradient if self.grad is None else self.grad + gradient
        with _enabled():
            _sweep(_inner(order), True)
        for node in order:
            g = node.grad if node.grad is not None else 0.0
            node._gv = g if isinstance(g, Value) else Value(g)
            node.grad = float(g)

    def zero_grad(self) -> None:
        """Set `.grad = 0.0` on every node of the graph below (and including) this one."""
        for node in topological_order(self):
            node.grad = 0.0
            node._gv = None

    def detach(self) -> Value:
        """A new leaf with the same data (and label)."""
        return Value(self.data, self.label)


class Constant(Value):
    """A number lifted into the graph (the 2 in `x * 2`): a leaf that is not an input."""

    __slots__ = ()


class ParameterValue(Value):
    """A leaf that belongs to an `nn.Parameter` (a trainable weight), so drawings can tell it apart."""

    __slots__ = ()


def _accumulated(leaf: Value) -> Value | float | None:
    """What a leaf has accumulated: its grad_value while that still matches `.grad` (an optimizer's
    zero_grad or a hand-set `.grad` makes it stale), else the float; None for nothing yet."""
    if leaf.grad_value is not None and leaf.grad_value.data == leaf.grad:
        return leaf.grad_value
    return leaf.grad if leaf.grad != 0.0 else None


def _data(x: Operand) -> float:
    return x.data if isinstance(x, Value) else x


def _lift_all(values: Iterable, op: str) -> tuple[Value, ...]:
    """`values` as a tuple of Values, numbers lifted to Constants (TypeError for anything else)."""
    values = tuple(values)
    if all(map(isinstance, values, repeat(Value))):
        return values
    return tuple(_lift_or_raise(v, op) for v in values)


def _lift_or_raise(x: object, op: str) -> Value:
    v = _lift(x)
    if v is None:
        raise TypeError(f"{op}: entries must be Values or numbers, not {type(x).__name__}: {x!r}")
    return v


# ---------------------------------------------------------------------------------------------
# Backward: a topological order without recursion, then one reverse sweep.


def topological_order(root: Value, leaves: bool = True) -> list[Value]:
    """Every node reachable from `root`, each after all of its children (root last); only the
    inner nodes with `leaves=False` (what backward walks: leaves have nothing to pass on).

    Iterative depth-first search with an explicit stack, so a graph of any depth works."""
    order: list[Value] = []
    seen: set[Value] = set()  # expanded nodes: marked when popped, not when pushed (see below)
    stack: list = [root]
    pop, push, add = stack.pop, stack.append, seen.add
    while stack:
        node = pop()
        if node is _EMIT:  # the node below the marker has all its children in `order` now
            order.append(pop())
            continue
        # A node can be on the stack twice (a child of two parents); the copy popped first is
        # expanded, so it lands in `order` before whichever parent needs it first.
        if node in seen:
            continue
        add(node)
        push(node)
        push(_EMIT)
        for child in node.children:
            if (leaves or child.children) and child not in seen:
                push(child)
    if not leaves and not root.children:
        order.pop()
    return order


_EMIT = object()


def _inner(order: list[Value]) -> list[Value]:
    return [node for node in order if node.children]


def _sweep(inner: list[Value], create_graph: bool) -> None:
    """The chain rule from the output down: each inner node (`inner`: the non-leaves, children
    before parents) pushes grad · ∂node/∂child into its children's `.grad`.
    Expects the output's grad seeded and the other non-leaves' cleared
    (to 0.0; to None with `create_graph`, where the derivatives are built from the nodes
    themselves so that the gradients form a graph)."""
    if create_graph:
        for node in reversed(inner):
            g = node.grad
            for child, d in zip(node.children, local_grads(node.op, node.children, node)):
                child.grad = d * g if child.grad is None else child.grad + d * g
        return
    # The same rules on floats, unrolled by arity: this loop is where training spends its time.
    rules = _RULES
    for node in reversed(inner):
        children = node.children
        g = node.grad
        arity, rule = rules[node.op]
        if arity == 1:
            (x,) = children
            x.grad += rule(x.data, node.data) * g
        elif arity == 2:
            a, b = children
            da, db = rule(a.data, b.data, node.data)
            a.grad += da * g
            b.grad += db * g
        elif node.op == "dot":  # NARY["dot"]'s rule (∂/∂xᵢ = yᵢ, ∂/∂yᵢ = xᵢ) unrolled pairwise:
            n = len(children) // 2  # most of an MLP's backward is here, and this is ~20% faster
            for x, y in zip(children[:n], children[n:]):
                x.grad += y.data * g
                y.grad += x.data * g
        else:
            for child, d in zip(children, rule(list(map(_data_of, children)), node.data)):
                child.grad += d * g


def grad(outputs: Value, inputs: Sequence[Value], create_graph: bool = False) -> list:
    """∂outputs/∂input for each input, without touching any `.grad`.

    Returns floats; with `create_graph=True`, Values that are part of a graph and can be
    differentiated again. An input the output does not depend on gets 0.0."""
    if not isinstance(outputs, Value):
        raise TypeError(f"grad: outputs must be a Value, not {type(outputs).__name__}")
    inputs = list(inputs)
    for x in inputs:
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs must be Values, not {type(x).__name__}")
    order = topological_order(outputs)
    saved = [node.grad for node in order]
    try:
        for node in order:
            node.grad = None if create_graph else 0.0
        outputs.grad = 1.0
        with _enabled():
            _sweep(_inner(order), create_graph)
        in_graph = set(order)
        result = [x.grad if x in in_graph and x.grad is not None else 0.0 for x in inputs]
    finally:
        for node, g in zip(order, saved):
            node.grad = g
    if create_graph:
        return [g if isinstance(g, Value) else Value(g) for g in result]
    return result


class _enabled:
    """Inside: grad mode on, whatever the caller's no_grad() says (a graph must be built)."""

    def __enter__(self) -> None:
        self.saved, _mode.disabled = _mode.disabled, 0

    def __exit__(self, *exc: object) -> None:
        _mode.disabled = self.saved
