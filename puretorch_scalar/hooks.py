"""Gradient hooks, and the careful backward that runs them.

`v.register_hook(fn)` (on a Value or a Tensor) asks backward to call `fn(grad)` once the gradient
with respect to `v` is complete, as PyTorch's `Tensor.register_hook` does: `grad` is a float
(a Value under `create_graph=True`; nested lists for a Tensor); a returned number (or nested
list) replaces the gradient before it flows on to `v`'s children, `None` leaves it. Several
hooks run in the order they were registered; `handle.remove()` takes one away.

"Complete" is what the topological order gives: walked from the output down, a node is reached
after every node that uses it, so its gradient has received all of its contributions. A
Tensor's elements are reached together (its hook sees them all at once), so the order here
treats a hooked Tensor as one unit.

The fast backward (fastpath.py) knows nothing of hooks: while no node that is still alive has a
hook, and `detect_anomaly` is off, nothing here runs and nothing costs. Otherwise backward takes
`sweep` below, the reference loop of engine.py plus the hooks and the anomaly checks; it also
serves `create_graph=True`, where the rules run on Values.
"""

from __future__ import annotations

import math
import numbers
import weakref
from collections.abc import Callable
from typing import Any

from puretorch_scalar import anomaly
from puretorch_scalar.fastpath import rule_failed
from puretorch_scalar.grad_mode import anomaly_on
from puretorch_scalar.ops import local_grads

Hook = Callable[[Any], Any]

# node -> its hooks, in registration order: a Value hook is a function, a Tensor hook a TensorHook
# shared by the tensor's elements. Weak keys: a node that is garbage takes its hooks with it, so
# that backward goes back to the fast path once no hooked node is alive.
_hooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def registered() -> bool:
    """Whether a hook is registered on any Value or Tensor that is still alive."""
    return len(_hooks) > 0


def on(node: Any) -> list:
    """The hooks of `node` (empty when it has none)."""
    return _hooks.get(node, []) if _hooks else []


class RemovableHandle:
    """What `register_hook` returns: `.remove()` takes the hook away (again: nothing happens)."""

    def __init__(self, nodes: tuple, entry: object) -> None:
        self._nodes = [weakref.ref(node) for node in nodes]
        self._entry = entry

    def remove(self) -> None:
        for ref in self._nodes:
            node = ref()
            hooks = _hooks.get(node, []) if node is not None else []
            if self._entry in hooks:
                hooks.remove(self._entry)
                if not hooks:
                    del _hooks[node]
        self._entry = None


class TensorHook:
    """A hook on a Tensor: its elements (reached together by the sweep; held weakly, so the hook
    does not keep them alive) and its shape."""

    def __init__(self, values: tuple, shape: tuple, fn: Hook) -> None:
        self._values = [weakref.ref(v) for v in values]
        self.shape, self.fn = shape, fn

    @property
    def values(self) -> list:
        return [ref() for ref in self._values]


def register(node: Any, fn: Hook) -> RemovableHandle:
    """`node.register_hook(fn)` for a Value."""
    return _attach((node,), fn, fn)


def register_tensor(values: list, shape: tuple, fn: Hook) -> RemovableHandle:
    """`tensor.register_hook(fn)`: one hook over all the elements."""
    values = tuple(values)
    return _attach(values, fn, TensorHook(values, shape, fn))


def _attach(nodes: tuple, fn: object, entry: object) -> RemovableHandle:
    if not callable(fn):
        raise TypeError(f"register_hook: the hook must be callable, not {type(fn).__name__}: {fn!r}")
    for node in nodes:
        _hooks.setdefault(node, []).append(entry)
    return RemovableHandle(nodes, entry)


# ---------------------------------------------------------------------------------------------
# The careful backward.


def units(order: list) -> list[tuple]:
    """`order` (a topological order) regrouped so that the elements of each hooked Tensor form
    one unit, placed after every unit any of them depends on: a topological order of the graph
    in which each hooked Tensor is one node. Without Tensor hooks, each node is its own unit."""
    tensors = {id(hook): hook for node in order for hook in _tensor_hooks((node,))}
    if not tensors:
        return [(node,) for node in order]
    unit_of: dict = {}
    for hook in tensors.values():
        members = frozenset(hook.values)
        for v in hook.values:
            if unit_of.setdefault(v, members) != members:
                raise ValueError(
                    "register_hook: two hooked Tensors share some elements but not all; "
                    "backward cannot give each one its gradient as one piece"
                )
    key = lambda node: unit_of.get(node, node)  # noqa: E731
    members_of = {key(node): [] for node in order}
    for node in order:
        members_of[key(node)].append(node)
    result, done, started = [], set(), set()
    stack = [(key(node), False) for node in reversed(order)]
    while stack:
        unit, children_done = stack.pop()
        if children_done:
            done.add(unit)
            result.append(tuple(members_of[unit]))
        elif unit in started:
            if unit not in done:  # reached again from its own descendants
                raise ValueError(
                    "register_hook: the hooked Tensor's elements depend on one another (one is "
                    "computed from another), so no moment exists when all of their gradients are complete"
                )
        else:
            started.add(unit)
            stack.append((unit, True))
            for node in members_of[unit]:
                stack.extend((key(child), False) for child in node.children if key(child) not in done)
    return result


def sweep(order: list, grads: dict, create_graph: bool) -> None:
    """`engine.reference_backward`'s loop over `order`, plus hooks and anomaly checks, with the
    gradients kept in `grads` (node -> gradient; missing: none reached it yet) rather than in
    the nodes' `.grad`: nothing in the graph changes, so a failure leaves it as it was and
    several threads can differentiate one graph at once. Expects the output's gradient seeded."""
    checking = anomaly_on()
    for unit in reversed(units(order)):
        for node in unit:
            for entry in on(node):
                if not isinstance(entry, TensorHook) and node in grads:
                    grads[node] = _checked(entry(grads[node]), grads[node], node, create_graph)
        for entry in _tensor_hooks(unit):
            _run_tensor_hook(entry, grads, create_graph)
        for node in unit:
            if node.children and node in grads:
                _chain_rule(node, grads, create_graph, checking)


def _chain_rule(node: Any, grads: dict, create_graph: bool, checking: bool) -> None:
    g = grads[node]
    try:
        if create_graph:
            local = _local_grads_on_values(node)
        else:
            local = local_grads(node.op, [child.data for child in node.children], node.data)
        contributions = [d * g for d in local]
    except Exception as error:
        raise rule_failed(error, node) from None
    for child, d, contribution in zip(node.children, local, contributions):
        if checking:
            anomaly.check_contribution(node, child, d, g, contribution)
        grads[child] = grads[child] + contribution if child in grads else contribution


def _local_grads_on_values(node: Any) -> tuple:
    try:
        return local_grads(node.op, node.children, node)
    except (TypeError, AttributeError) as error:
        raise TypeError(
            f"backward(create_graph=True): the derivative rule of op {node.op!r} failed on Values "
            f"({type(error).__name__}: {error}). A rule must be written with operators and "
            f"pts.ops functions (pts.ops.exp, pts.ops.log, …), not math.* functions or float()"
        ) from error


def _tensor_hooks(unit: tuple) -> list[TensorHook]:
    seen: dict[int, TensorHook] = {}
    for node in unit:
        for entry in on(node):
            if isinstance(entry, TensorHook):
                seen.setdefault(id(entry), entry)
    return list(seen.values())


def _run_tensor_hook(hook: TensorHook, grads: dict, create_graph: bool) -> None:
    from puretorch_scalar.tensor import _nest  # here: tensor.py imports the engine, which imports this

    result = hook.fn(_nest([grads.get(v, 0.0) for v in hook.values], hook.shape))
    if result is not None:
        for v, g in zip(hook.values, _flatten(result, hook.shape)):
            grads[v] = _checked(g, grads.get(v, 0.0), v, create_graph)


def _checked(result: Any, grad: Any, node: Any, create_graph: bool) -> Any:
    """The gradient of `node` after a hook returned `result`: `grad` for None, else `result`,
    which must be a number (a Value too, under create_graph)."""
    if result is None:
        return grad
    if isinstance(result, bool) or not (isinstance(result, numbers.Real) or _is_value(result)):
        raise TypeError(
            f"a hook on {anomaly.name(node)} returned {type(result).__name__} {result!r}: "
            "a hook returns the new gradient (a number) or None"
        )
    if anomaly_on() and math.isnan(float(getattr(result, "data", result))):
        raise anomaly.AnomalyError(f"detect_anomaly: backward: a hook on {anomaly.name(node)} returned NaN")
    if create_graph:
        return result
    return float(result.data) if _is_value(result) else float(result)


def _flatten(nested: Any, shape: tuple) -> list:
    """A Tensor hook's nested-list result as a flat list, checked against the tensor's shape."""
    level = [nested]
    for depth, n in enumerate(shape):
        for x in level:
            if not isinstance(x, (list, tuple)) or len(x) != n:
                got = f"{type(x).__name__} of length {len(x)}" if isinstance(x, (list, tuple)) else repr(x)
                raise ValueError(
                    f"a Tensor hook returned nested lists that do not match the tensor's shape {shape}: "
                    f"at depth {depth} a {got} where {n} entries belong"
                )
        level = [y for x in level for y in x]
    return level


def _is_value(x: Any) -> bool:
    return hasattr(x, "children") and hasattr(x, "data")
