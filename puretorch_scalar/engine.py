"""The scalar autograd engine: `Value`, and backward.

A `Value` is one node of the computation graph: a float, the operation that made it and the
Values it was made from. Every operation is one record of the op registry (`ops.py`): its
forward formula on floats next to its local derivatives ∂out/∂input. Backward is the chain rule
applied once per node, from the output down, and the whole algorithm is the two functions
below: a topological order, and one loop over it.

`Value.backward` runs exactly this algorithm through `fastpath.py`, the same loops tuned for
speed; a property test checks that both give the same gradients (to the bit, but for a Value used
twice in one dot node, whose two contributions the fast loop may add in the other order). With
hooks, anomaly checks or `create_graph`, backward takes `hooks.sweep`, this loop again.
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from typing import Any, Union

from puretorch_scalar import anomaly, hooks, ops
from puretorch_scalar.checks import boolean
from puretorch_scalar.fastpath import binary_method, dot_data, inner_order, new_node, sweep, unary_method
from puretorch_scalar.grad_mode import (
    anomaly_on,
    decided_by_data,
    enable_grad,
    grad_off,
    is_grad_enabled,
    no_grad,
    threads_inside,
    tracing,
)
from puretorch_scalar.ops import local_grads

__all__ = ["Value", "Constant", "ParameterValue", "DataValue", "grad", "no_grad", "is_grad_enabled"]
__all__ += ["topological_order", "local_grads", "reference_backward"]

Number = int | float
Operand = Union["Value", int, float]
Scalar = Union[float, "Value"]  # what the derivative rules compute on: floats, or Values (create_graph)


# ---------------------------------------------------------------------------------------------
# The algorithm.


def topological_order(*roots: Value) -> list[Value]:
    """Every node below any of `roots` (and the roots), each after all of its children.

    Depth-first search with a stack of its own instead of recursion, so a graph of any depth
    works: a node is put back on the stack, marked done, under its children, and comes off again
    once they are all in the order."""
    order: list[Value] = []
    visited: set[Value] = set()
    stack = [(root, False) for root in reversed(roots)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))  # back to it after its children
            stack.extend((child, False) for child in node.children if child not in visited)
    return order


def reference_backward(root: Value, gradient: float = 1.0) -> None:
    """What `root.backward(gradient)` does, written as plainly as possible."""
    order = topological_order(root)
    for node in order:
        if node.children:
            node.grad = 0.0  # an inner node holds this pass's gradient only; leaves accumulate
    root.grad += gradient
    for node in reversed(order):  # every node after all of its users: its gradient is complete
        if node.children:
            local = local_grads(node.op, [child.data for child in node.children], node.data)
            for child, d in zip(node.children, local):
                child.grad += d * node.grad  # the chain rule; += sums over every path


# ---------------------------------------------------------------------------------------------
# The node.


class Value:
    """One scalar node of the computation graph.

    `data` is the number, `grad` is ∂(output of the last backward)/∂(this node), `op` the
    operation that produced it ("" for a leaf) and `children` the Values it was computed from.
    Its arithmetic operators and methods (`+`, `*`, `.tanh()`, …) are made from the op registry:
    see `install_methods` below and `puretorch_scalar.ops`.
    """

    __slots__ = ("data", "grad", "label", "op", "children", "_gv", "__weakref__")  # hooks.py: weak keys

    def __init__(
        self,
        data: Number,
        label: str = "",
        _children: tuple = (),
        _op: str = "",
        *,
        requires_grad: bool = True,
    ):
        self.data = data if type(data) is float else as_float(data)
        self.grad = 0.0
        self.label = label if type(label) is str else _label(label)
        self.children = _children
        self.op = _op
        if requires_grad is not True:
            _become_data(self, requires_grad)

    @property
    def requires_grad(self) -> bool:
        """Whether backward gives this node a gradient: False only for data
        (`Value(x, requires_grad=False)`, and what is computed from data alone)."""
        return True

    @requires_grad.setter
    def requires_grad(self, flag: object) -> None:
        raise AttributeError(
            "requires_grad is fixed when a Value is made: Value(x, requires_grad=False) makes a leaf "
            "without gradient, and v.detach() gives one with v's data"
        )

    # -- the n-ary ops (one node over many children) -------------------------------------------

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """One node x1 + … + xn with n children (an empty sum is a leaf 0.0)."""
        return _nary(_lift_all(values, "sum"), "sum")

    @staticmethod
    def dot(xs: Sequence[Operand], ys: Sequence[Operand]) -> Value:
        """One node Σ xi·yi whose children are x1…xn, y1…yn (Values or numbers)."""
        try:
            children = (*xs, *ys)
        except TypeError:  # checked only now: an isinstance(…, Iterable) costs ~10% of a Linear
            kinds = f"{type(xs).__name__} and {type(ys).__name__}"
            raise TypeError(f"dot: xs and ys must be sequences of Values or numbers, not {kinds}") from None
        if len(children) != 2 * len(xs):
            raise ValueError(f"dot: lengths differ: {len(xs)} and {len(children) - len(xs)}")
        if not children:
            return Value(0.0)
        try:  # Values, as from matmul and Linear: checking each one costs ~15% of an MLP step
            data = dot_data(children)
        except (AttributeError, TypeError):  # a number (no `.data`, or numpy's, not a float)
            children = _lift_all(children, "dot")
            data = dot_data(children)
        n = len(xs)
        if children[0].__class__ in _NO_GRAD or children[n].__class__ in _NO_GRAD:  # one test per dot
            return dot_with_data(data, children, n)
        if threads_inside[0]:
            return build_node(data, children, "dot")
        return new_node(Value, data, children, "dot")

    # -- plain-number views --------------------------------------------------------------------

    # Each is a Python decision on the number, which a jit trace cannot record: TraceError while
    # this thread traces (grad_mode.decided_by_data).

    def __lt__(self, other: Operand) -> bool:
        decided_by_data("comparing a Value (<)")
        return self.data < _data(other)

    def __le__(self, other: Operand) -> bool:
        decided_by_data("comparing a Value (<=)")
        return self.data <= _data(other)

    def __gt__(self, other: Operand) -> bool:
        decided_by_data("comparing a Value (>)")
        return self.data > _data(other)

    def __ge__(self, other: Operand) -> bool:
        decided_by_data("comparing a Value (>=)")
        return self.data >= _data(other)

    __hash__ = object.__hash__  # == and hash are identity: Values are dict and set keys

    def __bool__(self) -> bool:
        """The truth of the number (0.0 is False), as a one-element PyTorch tensor's."""
        decided_by_data("the truth value of a Value (bool(), if, and/or)")
        return self.data != 0.0

    def __float__(self) -> float:
        if _building.gradients:
            raise TypeError(
                "float() of a Value while backward builds gradients as Values (create_graph=True): a "
                "derivative rule called float() or a math.* function, which would cut the graph"
            )
        decided_by_data("float() of a Value (a math.* function calls it too)")
        return self.data

    def item(self) -> float:
        """The data as a Python float."""
        decided_by_data(".item() of a Value")
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
        non-leaf's `.grad` to ∂self/∂node · gradient (`reference_backward`, run fast).

        With `create_graph=True` the gradients are also built as Values (`.grad_value`), so they
        can be differentiated again."""
        if not isinstance(gradient, Value):
            gradient = as_float(gradient, "backward gradient")
        if create_graph or hooks.registered() or anomaly_on():
            return _careful_backward(self, gradient, create_graph)
        inner, holding = inner_order(self, DataDot)  # leaves only receive gradients
        before = [node.grad for node in inner], [leaf.grad for leaf in holding]
        for node in inner:
            node.grad = 0.0
        try:
            self.grad = float(gradient) if self.children else self.grad + gradient
            sweep(inner, DataDot)
        except BaseException:  # an error in a rule, or Ctrl-C: every .grad as it was before
            _restore(inner, holding, before)
            raise

    def register_hook(self, fn: Callable[[Any], Any]) -> hooks.RemovableHandle:
        """Call `fn(grad)` during backward once this node's gradient is complete; a number it
        returns replaces the gradient (what flows on to the children, and what a leaf
        accumulates), None keeps it. Returns a handle whose `.remove()` takes the hook away.
        As PyTorch's `Tensor.register_hook` (see hooks.py)."""
        no_gradient_for(self, "register_hook")
        return hooks.register(self, fn)

    def zero_grad(self) -> None:
        """Set `.grad = 0.0` on every node of the graph below (and including) this one."""
        zero_grads(topological_order(self))

    # -- copying and pickling: the graph below, walked without recursion -----------------------

    def __copy__(self) -> Value:
        twin = _plain_copy(self)
        twin.children = self.children
        return twin

    def __deepcopy__(self, memo: dict) -> Value:
        """The graph below copied children first (so a graph of any depth works), sharing what
        `memo` already holds: nodes that other copied objects share stay shared."""
        for node in topological_order(self):
            if id(node) not in memo:
                twin = _plain_copy(node)
                twin.children = tuple(memo[id(child)] for child in node.children)
                memo[id(node)] = twin
        return memo[id(self)]

    def __reduce__(self) -> tuple:
        """Pickle the graph below as a flat list of its inner nodes, children first (pickle's own
        recursion would fail on deep graphs); leaves are pickled as themselves, so a leaf that
        other pickled objects share (a weight) stays shared."""
        inner = [node for node in topological_order(self) if node.children]
        if not inner:
            return _leaf, (type(self), self.data, self.grad, self.label)
        position = {node: k for k, node in enumerate(inner)}
        rows = [
            (type(node), node.data, node.grad, node.label, node.op,
             tuple(position[c] if c.children else c for c in node.children))
            for node in inner
        ]  # fmt: skip
        return _graph, (rows,)

    def detach(self) -> Value:
        """A new leaf with the same data (and label) that requires no gradient, as PyTorch's."""
        return data_leaf(self.data, self.label)


class Constant(Value):
    """A number lifted into the graph (the 2 in `x * 2`): a leaf that is not an input."""

    __slots__ = ()


class ParameterValue(Value):
    """A leaf that belongs to an `nn.Parameter` (a trainable weight), so drawings can tell it apart."""

    __slots__ = ()


def computed_constant(f: Callable[[list[float]], float], values: Sequence[Value]) -> Constant:
    """`Constant(f([v.data for v in values]))`: a number computed from Values' data that
    gradients do not flow through, such as the max that softmax subtracts (the result does not
    depend on it, so to the derivative it is a constant). While jit traces, the program records
    `f` and the Values, so that every compiled call computes it from the current data."""
    constant = Constant(f([v.data for v in values]))
    if tracing.active:
        tracing.computed[constant] = (f, tuple(values))
    return constant


class DataValue(Value):
    """Data: a leaf made with `requires_grad=False` (an input pixel, a target), or a number
    computed from data alone. Backward gives it no gradient: its `.grad` reads 0.0 and ignores
    what backward adds to it, and an operation on data alone builds no graph (its methods,
    made from the registry as Value's are, return data)."""

    __slots__ = ()

    @property
    def requires_grad(self) -> bool:
        return False

    @requires_grad.setter
    def requires_grad(self, flag: object) -> None:
        Value.requires_grad.fset(self, flag)

    @property
    def grad(self) -> float:
        return 0.0

    @grad.setter
    def grad(self, value: object) -> None:
        pass  # a chain-rule contribution arriving at data: dropped, nothing needs it

    @property
    def grad_value(self) -> None:
        return None


class DataDot(Value):
    """A `dot` node Σ xᵢ·yᵢ whose xs are all data (or constants), as a Linear layer's
    first dot over input pixels: backward passes gradients to its ys only (fastpath.py)."""

    __slots__ = ()


_NO_GRAD = frozenset({DataValue, Constant})  # leaves that never need a gradient


def data_leaf(data: float, label: str = "") -> DataValue:
    """A DataValue for a float, built without the class call (as fastpath.new_node)."""
    leaf = object.__new__(DataValue)
    leaf.data, leaf.label, leaf.children, leaf.op = data, label, (), ""
    return leaf


def all_data(values: Sequence[Value]) -> bool:
    """Whether every Value is data or a constant and at least one is data: what makes an
    operation's result data (no graph). The first one is checked alone first: a type test is
    all that training's operations, on weights, pay."""
    if not values or values[0].__class__ not in _NO_GRAD:
        return False
    kinds = set(map(type, values))
    return kinds <= _NO_GRAD and DataValue in kinds


def no_gradient_for(value: Value, where: str) -> None:
    """RuntimeError (as PyTorch's) when `where` would need a gradient that data never gets."""
    if not value.requires_grad:
        name = f" {value.label!r}" if value.label else ""
        raise RuntimeError(
            f"{where}: the Value{name} (data {value.data:.6g}) does not require grad: it was made with "
            "requires_grad=False (or computed from such data alone), so backward gives it no gradient"
        )


def _become_data(value: Value, requires_grad: object) -> None:
    """`Value(x, requires_grad=False)`: the new leaf becomes a DataValue."""
    if boolean(requires_grad, "requires_grad", "Value") or type(value) is DataValue:
        return
    if type(value) is not Value or value.children:
        raise ValueError(
            f"requires_grad=False makes a data leaf: Value(x, requires_grad=False), not a "
            f"{type(value).__name__}{' with children' if value.children else ''}"
        )
    value.__class__ = DataValue


# ---------------------------------------------------------------------------------------------
# Building nodes: every op of the registry becomes methods of Value.


def install_methods(record: ops.Op) -> None:
    """Give Value the op's methods: `x.tanh()`; `a + b` and, reflected, `2 + a`; `a.f(b)`.

    Each computes the op's forward formula on its operands' data and returns the new node
    `Value(data, children=operands, op=record.name)`, a number operand lifted to a Constant
    first. fastpath.py writes them out without the class call; when a mode is on (`no_grad`,
    `detect_anomaly`) they build through `build_node` instead."""
    if record.arity == 1:
        for name in record.methods:
            setattr(Value, name, unary_method(record, Value, build_node))
            setattr(DataValue, name, _data_unary(record))
    elif record.arity == 2:
        for reflected, name in enumerate(record.methods):
            method = binary_method(record, Value, build_node, _lift, bool(reflected))
            setattr(Value, name, method)
            setattr(DataValue, name, _data_binary(record, method, bool(reflected)))


def remove_methods(record: ops.Op) -> None:
    for name in record.methods:
        delattr(Value, name)
        delattr(DataValue, name)


def _data_unary(record: ops.Op) -> Callable:
    """`d.<op>()` on data: data again, no graph."""
    forward = record.forward

    def method(self: DataValue) -> DataValue:
        return data_leaf(forward(self.data))

    method.__name__ = method.__qualname__ = record.methods[0]
    return method


def _data_binary(record: ops.Op, graph_method: Callable, reflected: bool) -> Callable:
    """`d op other` (or reflected): data when `other` is data or a number (a Constant is a lifted
    number), else Value's method, which builds the node (and backward leaves `d` out). Python
    calls this one first even for `value op d`, DataValue being a subclass of Value with its own
    reflected method."""
    forward = record.forward

    def method(self: DataValue, other: Any) -> Any:
        if type(other) in _NO_GRAD:  # data, or a constant
            other = other.data
        elif isinstance(other, Value) or not isinstance(other, numbers.Real):
            return graph_method(self, other)  # a node; or NotImplemented, and Python's TypeError
        else:
            other = as_float(other)
        return data_leaf(forward(other, self.data) if reflected else forward(self.data, other))

    method.__name__ = method.__qualname__ = record.methods[reflected]
    return method


def apply_op(record: ops.Op, operands: Sequence[object]) -> Value:
    """The op applied to Values or numbers (numbers become Constants): `pts.ops.exp(v)`."""
    values = _lift_all(operands, record.name)
    if record.arity == 0:
        return _nary(values, record.name)
    return build_node(record.forward(*(v.data for v in values)), values, record.name)


def _nary(children: tuple[Value, ...], op: str) -> Value:
    data = ops.get(op).forward(*[child.data for child in children])
    if not children:
        return Value(data)
    if threads_inside[0] or all_data(children):
        return build_node(data, children, op)
    return new_node(Value, data, children, op)


def dot_with_data(data: float, children: tuple[Value, ...], n: int) -> Value:
    """The node of a dot product one of whose halves starts with data: a DataDot when a whole
    half is data (put first: Σ xᵢ·yᵢ = Σ yᵢ·xᵢ to the bit), data when both are."""
    xs_data = children[0].__class__ in _NO_GRAD and all_data(children[:n])
    ys_data = children[n].__class__ in _NO_GRAD and all_data(children[n:])
    if xs_data and ys_data:
        return data_leaf(data)
    cls = DataDot if xs_data or ys_data else Value
    if ys_data:
        children = children[n:] + children[:n]
    if threads_inside[0]:
        return build_node(data, children, "dot", cls)
    return new_node(cls, data, children, "dot")


def build_node(data: float, children: tuple[Value, ...], op: str, cls: type = Value) -> Value:
    """A new node, minding this thread's modes and its operands: data (a leaf without gradient)
    inside `no_grad()` or from data alone; recorded (and checked for a NaN) inside
    `detect_anomaly()`."""
    if grad_off() or all_data(children):
        return data_leaf(data)
    node = cls(data, "", children, op)
    if anomaly_on():
        anomaly.created(node)
    return node


# ---------------------------------------------------------------------------------------------
# Numbers in, Values out.


def as_float(data: object, what: str = "Value data") -> float:
    if not isinstance(data, numbers.Real) and type(data).__name__ != "bool":  # numpy's bool too
        raise TypeError(f"{what} must be an int or float, not {type(data).__name__}: {data!r}")
    try:
        return float(data)  # also turns numpy scalars and float subclasses into a plain float
    except OverflowError:
        digits = len(str(abs(int(data))))
        raise ValueError(
            f"{what} is an integer of {digits} digits, too large for a float (max ~1.8e308)"
        ) from None


def _label(label: object) -> str:
    if not isinstance(label, str):
        raise TypeError(f"Value label must be a str, not {type(label).__name__}: {label!r}")
    return label


def _lift(x: object) -> Value | None:
    """A Value as is; a number as a new Constant leaf; anything else None."""
    if isinstance(x, Value):
        return x
    if type(x) is float:  # the common case (`x * 0.5`), built without the class call
        return new_node(Constant, x, (), "")
    if isinstance(x, int) or isinstance(x, numbers.Real):  # the slow ABC check last
        return Constant(x)
    return None


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


def _data(x: Operand) -> float:
    return x.data if isinstance(x, Value) else x


# ---------------------------------------------------------------------------------------------
# Gradients as graphs (create_graph=True), and grad().


def _plain_copy(node: Value) -> Value:
    twin = object.__new__(type(node))
    twin.data, twin.grad, twin.label, twin.op, twin.children = node.data, node.grad, node.label, node.op, ()
    return twin


def _leaf(cls: type, data: float, grad: float, label: str) -> Value:
    """A leaf from a pickle."""
    leaf = cls(data, label)
    leaf.grad = grad
    return leaf


def _graph(rows: list[tuple]) -> Value:
    """The graph of a pickled Value: its inner nodes rebuilt children first; the last is it."""
    nodes: list[Value] = []
    for cls, data, grad, label, op, children in rows:
        node = cls(data, label, tuple(nodes[c] if isinstance(c, int) else c for c in children), op)
        node.grad = grad
        nodes.append(node)
    return nodes[-1]


def _restore(inner: list[Value], holding: list[Value], before: tuple[list, list]) -> None:
    """Undo an interrupted backward: the inner nodes' and the leaves' gradients as they were
    (`holding`: the leaves that held a gradient other than 0; any other leaf had 0)."""
    for node in inner:
        for child in node.children:
            if not child.children:
                child.grad = 0.0
    for nodes, grads in zip((inner, holding), before):
        for node, g in zip(nodes, grads):
            node.grad = g


def zero_grads(values: Iterable[Value]) -> None:
    """Set each Value's `.grad` to 0.0 and drop its `grad_value` (the gradient graph that
    `backward(create_graph=True)` left, which the next such backward would otherwise build on):
    what every `zero_grad` does."""
    for v in values:
        v.grad = 0.0
        v._gv = None


def _accumulated(leaf: Value) -> Value | float | None:
    """What a leaf has accumulated: its grad_value while that still matches `.grad` (an optimizer's
    zero_grad or a hand-set `.grad` makes it stale), else the float; None for nothing yet."""
    if leaf.grad_value is not None and leaf.grad_value.data == leaf.grad:
        return leaf.grad_value
    return leaf.grad if leaf.grad != 0.0 else None


class _Building(threading.local):
    gradients = False  # while rules run on Values: float(v) would silently cut the gradient graph


_building = _Building()


def _careful_backward(root: Value, gradient: Value | float, create_graph: bool) -> None:
    """`backward` with hooks, anomaly checks, or gradients built as Values (`create_graph`): the
    reference loop of hooks.sweep, computing this pass's gradients apart; only when it has
    finished are they written (inner nodes hold them, leaves add them to what they had), so
    an error or Ctrl-C in the sweep changes no `.grad`."""
    order = topological_order(root)
    if anomaly_on():
        anomaly.check_leaves(order)
    grads = _pass_gradients(order, root, gradient if create_graph else float(gradient), create_graph)
    for node in order:
        g = grads.get(node)
        if not node.children:  # a leaf accumulates over passes
            earlier = _accumulated(node) if create_graph else node.grad
            g = earlier if g is None else g if earlier is None else earlier + g
        g = 0.0 if g is None else g
        if create_graph:
            node._gv = g if isinstance(g, Value) else Value(g)
            g = g.data if isinstance(g, Value) else g
        node.grad = float(g)


def _pass_gradients(order: list[Value], root: Value, seed: Value | float, create_graph: bool) -> dict:
    """One pass's gradient of every node below `root` (missing: none reached it), by hooks.sweep;
    with create_graph the rules run on the nodes (and float() on a Value is an error there)."""
    grads = {root: seed}
    if not create_graph:
        hooks.sweep(order, grads, False)
        return grads
    _building.gradients = True
    try:
        with enable_grad():
            hooks.sweep(order, grads, True)
    finally:
        _building.gradients = False
    return grads


def grad(outputs: Value, inputs: Sequence[Value], create_graph: bool = False) -> list:
    """∂outputs/∂input for each input, without touching any `.grad` (the gradients are kept
    apart, so several threads may differentiate one graph at once).

    Returns floats; with `create_graph=True`, Values that are part of a graph and can be
    differentiated again. An input the output does not depend on gets 0.0."""
    if not isinstance(outputs, Value):
        raise TypeError(f"grad: outputs must be a Value, not {type(outputs).__name__}")
    inputs = list(inputs)
    for x in inputs:
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs must be Values, not {type(x).__name__}")
        no_gradient_for(x, "grad")
    grads = _pass_gradients(topological_order(outputs), outputs, 1.0, create_graph)
    result = [grads.get(x, 0.0) for x in inputs]
    if create_graph:
        return [g if isinstance(g, Value) else Value(g) for g in result]
    return [float(g) for g in result]


# Value's operators and methods: one set per op of the registry (define_op adds more later).
for _record in ops.records():
    install_methods(_record)
