"""The engine's fast path: the same algorithm as the reference in `engine.py`, tuned for CPython.

Nothing here changes a result (a property test checks that `Value.backward` and
`engine.reference_backward` give the same gradients on random expressions, user-defined ops
included); it only removes interpreter work from the loops that training spends its time in:

- `new_node` builds a node without the class call and `__init__` (~15% of arithmetic), and
  Value's operators and methods (`unary_method`, `binary_method`) do the same inline;
- `inner_order` is the topological order of the inner nodes only (leaves have nothing to pass
  on), with a marker object on the stack instead of (node, flag) tuples;
- `sweep` is the chain-rule loop with the rule call unrolled by arity, and the `dot` rule
  (∂/∂xᵢ = yᵢ, ∂/∂yᵢ = xᵢ), where most of an MLP's backward happens, written out pairwise
  (a Value used twice in one dot node may then add its two contributions in the other order
  than the reference does: the same sum, possibly rounded differently in the last bit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from puretorch_scalar import ops
from puretorch_scalar.grad_mode import threads_inside

_new_object = object.__new__
_DOT_RULE = ops.get("dot").derivative


def new_node(cls: type, data: float, children: tuple, op: str) -> Any:
    """`cls(data, "", children, op)` for a `data` that is a float already."""
    node = _new_object(cls)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node.children = children
    node.op = op
    return node


def unary_method(record: ops.Op, cls: type, careful: Callable) -> Callable:
    """`x.<op>()` for a unary op: `new_node` written out (a call costs ~15% of an op), and
    `careful(data, children, op)` while a mode is on in some thread."""
    forward, name, inside = record.forward, record.name, threads_inside  # a local: faster than a global

    def method(self: Any) -> Any:
        data = forward(self.data)
        if inside[0]:
            return careful(data, (self,), name)
        node = _new_object(cls)  # one statement per slot: a tuple assignment is ~10% slower
        node.data = data
        node.grad = 0.0
        node.label = ""
        node.children = (self,)
        node.op = name
        return node

    method.__name__ = method.__qualname__ = record.methods[0]
    method.__doc__ = f"A new node {name}(self): the op {name!r} of the registry (pts.ops.get({name!r}))."
    return method


def binary_method(record: ops.Op, cls: type, careful: Callable, lift: Callable, reflected: bool) -> Callable:
    """`self op other`, or the reflected `other op self`; `other` is a node or a number (`lift`
    makes it a Constant); anything else gives NotImplemented, so Python raises its TypeError."""
    forward, name, inside = record.forward, record.name, threads_inside

    def method(self: Any, other: Any) -> Any:
        if not isinstance(other, cls) and (other := lift(other)) is None:
            return NotImplemented
        children = (other, self) if reflected else (self, other)
        data = forward(children[0].data, children[1].data)
        if inside[0]:
            return careful(data, children, name)
        node = _new_object(cls)  # one statement per slot: a tuple assignment is ~10% slower
        node.data = data
        node.grad = 0.0
        node.label = ""
        node.children = children
        node.op = name
        return node

    method.__name__ = method.__qualname__ = record.methods[reflected]
    operands = "other, self" if reflected else "self, other"
    method.__doc__ = f"A new node {name}({operands}): the op {name!r} of the registry."
    return method


def dot_data(children: tuple) -> float:
    """Σ xᵢ·yᵢ over the data of children x1…xn, y1…yn (the registry's `dot`, which define_op
    cannot replace): the products in a list comprehension, whose `.data` reads the interpreter
    specialises (2× faster than `map(attrgetter("data"), …)` at every length), then `sum`."""
    n = len(children) // 2
    return sum([x.data * y.data for x, y in zip(children[:n], children[n:])])


def inner_order(root: Any, data_dot: type) -> tuple[list, list]:
    """`topological_order(root)` without the leaves (and without the root if it is a leaf); and
    the leaves whose gradient is not 0, each once per use: what backward must put back if it is
    interrupted (any other leaf it touched goes back to 0). Checking a leaf's gradient costs
    less than collecting every leaf. The data half of a `data_dot` node is not even looked at."""
    order: list = []
    seen: set = set()  # expanded nodes: marked when popped, not when pushed (see below)
    holding: list = [] if root.children or not root.grad else [root]
    stack: list = [root]
    pop, push, add, hold = stack.pop, stack.append, seen.add, holding.append
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
        children = node.children
        if node.__class__ is data_dot:
            children = children[len(children) // 2 :]
        for child in children:
            if child.children:
                if child not in seen:
                    push(child)
            elif child.grad:
                hold(child)
    if not root.children:
        order.pop()
    return order, holding


_EMIT = object()


def sweep(inner: list, data_dot: type) -> None:
    """The chain rule from the output down on floats, as `reference_backward`'s loop: each inner
    node (children before parents in `inner`) adds grad · ∂node/∂child to its children's grads.
    A `data_dot` node (engine.DataDot: a dot whose xs are data) adds to its ys only."""
    rules = ops.RULES
    node = None
    try:
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
            elif rule is _DOT_RULE:  # pairwise: the same sums as the rule's, ~30% faster
                n = len(children) // 2
                if node.__class__ is data_dot:  # the xs are data: half the work
                    for x, y in zip(children[:n], children[n:]):
                        y.grad += x.data * g
                    continue
                for x, y in zip(children[:n], children[n:]):
                    x.grad += y.data * g
                    y.grad += x.data * g
            else:
                local = rule(*[child.data for child in children], node.data)
                for child, d in zip(children, local):
                    child.grad += d * g
    except Exception as error:
        raise rule_failed(error, node) from None


def rule_failed(error: Exception, node: Any) -> Exception:
    """What backward raises when the chain rule failed at `node`: for an op removed since the
    node was built a KeyError saying so, else the error itself, with a note naming the op."""
    if node is None:
        return error
    if node.op not in ops.RULES:
        return KeyError(f"backward: op {node.op!r} is not defined (undefine_op removed it)")
    error.add_note(f"(in backward, applying the derivative rule of op {node.op!r})")
    return error
