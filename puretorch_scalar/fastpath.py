"""The engine's fast path: the same algorithm as the reference in `engine.py`, tuned for CPython.

Nothing here changes a result (a property test checks that `Value.backward` and
`engine.reference_backward` give identical gradients on random expressions, user-defined ops
included); it only removes interpreter work from the loops that training spends its time in:

- `new_node` builds a node without the class call and `__init__` (~15% of arithmetic);
- `inner_order` is the topological order of the inner nodes only (leaves have nothing to pass
  on), with a marker object on the stack instead of (node, flag) tuples;
- `sweep` is the chain-rule loop with the rule call unrolled by arity, and the `dot` rule
  (∂/∂xᵢ = yᵢ, ∂/∂yᵢ = xᵢ), where most of an MLP's backward happens, written out pairwise.
"""

from __future__ import annotations

from typing import Any

from puretorch_scalar import ops

_new_object = object.__new__
_BUILTIN_DOT = ops.get("dot")


def new_node(cls: type, data: float, children: tuple, op: str) -> Any:
    """`cls(data, "", children, op)` for a `data` that is a float already."""
    node = _new_object(cls)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node.children = children
    node.op = op
    return node


def inner_order(root: Any) -> list:
    """`topological_order(root)` without the leaves (and without the root if it is a leaf)."""
    order: list = []
    seen: set = set()  # expanded nodes: marked when popped, not when pushed (see below)
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
            if child.children and child not in seen:
                push(child)
    if not root.children:
        order.pop()
    return order


_EMIT = object()


def sweep(inner: list) -> None:
    """The chain rule from the output down on floats, as `reference_backward`'s loop: each inner
    node (children before parents in `inner`) adds grad · ∂node/∂child to its children's grads."""
    registry = ops.REGISTRY
    node = None
    try:
        for node in reversed(inner):
            children = node.children
            g = node.grad
            record = registry[node.op]
            arity = record.arity
            if arity == 1:
                (x,) = children
                x.grad += record.derivative(x.data, node.data) * g
            elif arity == 2:
                a, b = children
                da, db = record.derivative(a.data, b.data, node.data)
                a.grad += da * g
                b.grad += db * g
            elif record is _BUILTIN_DOT:
                n = len(children) // 2
                xs, ys = children[:n], children[n:]
                for x, y in zip(xs, ys):  # the x's first, then the y's: the reference's order
                    x.grad += y.data * g
                for x, y in zip(xs, ys):
                    y.grad += x.data * g
            else:
                local = record.derivative(*[child.data for child in children], node.data)
                for child, d in zip(children, local):
                    child.grad += d * g
    except KeyError as error:
        if node is not None and node.op not in registry:
            raise KeyError(f"backward: op {node.op!r} is not defined (undefine_op removed it)") from None
        raise error
    except Exception as error:
        if node is not None:
            error.add_note(f"(in backward, applying the derivative rule of op {node.op!r})")
        raise
