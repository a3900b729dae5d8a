"""Names for the nodes of a graph, one scheme for every tool that shows a graph in words: the
player's captions (`viz.backward_steps`), `explain`'s paths, and `jit`'s program.

A node is called by its label; an unlabelled one gets `t1`, `t2`, … in the order Python
evaluates the expression that built it, so `t1` is what a reader would compute first.
"""

from __future__ import annotations

from itertools import count

from puretorch_scalar.engine import Constant, Value

__all__ = ["node_names"]


def node_names(root: Value) -> dict[Value, str]:
    """A name for each Value below `root` but the constants, unique among them: its label, else
    `t1`, `t2`, … in the order Python evaluates an expression (each node after its inputs, taken
    left to right, where `topological_order` takes the last one first). An automatic name never
    takes a label's; a label used again gets `#2`, `#3`, … Constants are named by their number."""
    # Not engine.topological_order: it visits the last input first, and t1, t2, … must go left to right.
    order: list[Value] = []
    seen: set[Value] = set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.children) if child not in seen)
    values = [v for v in order if not isinstance(v, Constant)]
    labels = {v.label for v in values if v.label}
    automatic = (name for name in (f"t{i}" for i in count(1)) if name not in labels)
    names: dict[Value, str] = {}
    used: set[str] = set()
    for v in values:
        name = v.label or next(automatic)
        for k in count(2):
            if name not in used:
                break
            name = f"{v.label}#{k}"
        used.add(name)
        names[v] = name
    return names
