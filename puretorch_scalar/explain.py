"""`explain(output, x)`: a gradient taken apart, path by path.

The chain rule, written out in full, says that ∂output/∂x is a sum over every path from `output`
down to `x` of the product of the local derivatives along that path:

    ∂o/∂x = Σ over paths p   Π over the edges (node → child) of p   ∂node/∂child

`explain` lists those terms, largest first, so a learner can see *why* a gradient has the value
it has. It also shows what backward saves: a graph of depth d made of diamonds has 2ᵈ paths,
while backward adds them all up in one sweep over the nodes. So the number of paths is counted
without listing them (a node's count is the sum of its children's), and listing is refused
beyond `max_paths`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from puretorch_scalar.checks import positive_int
from puretorch_scalar.engine import Value, no_gradient_for, topological_order
from puretorch_scalar.naming import node_names
from puretorch_scalar.ops import local_grads

__all__ = ["explain", "Explanation"]

Path = tuple[tuple[Value, ...], float]  # the nodes from the output down to x, and the product


@dataclass(eq=False)
class Explanation:
    """What `explain` finds: `paths` (largest |product| first), their number `n_paths` and their
    sum `total` (which is ∂output/∂x, what backward gives)."""

    output: Value
    x: Value
    paths: list[Path]
    n_paths: int
    total: float
    steps: list[list[float]] = field(repr=False)  # per path: the local derivative on each edge
    names: dict[Value, str] = field(repr=False)  # a label, else t1, t2, … (children first)

    def _path_text(self, k: int) -> str:
        path, _ = self.paths[k]
        parts = [self.names[path[0]]]
        for d, child in zip(self.steps[k], path[1:]):
            parts.append(f"─({d:.4g})→ {self.names[child]}")
        return " ".join(parts)

    def _headline(self) -> str:
        return (
            f"∂{self.names.get(self.output, 'output')}/∂{self.names.get(self.x, 'x')} = {self.total:.6g}: "
            f"the sum over {self.n_paths} path(s) of the product of the local derivatives on each"
        )

    def __str__(self) -> str:
        rows = [
            f"{k + 1:>3}  {product:>12.6g}  {self._path_text(k)}" for k, (_, product) in enumerate(self.paths)
        ]
        return "\n".join([self._headline(), "  #       product  path (local derivative on each edge)", *rows])

    def _repr_html_(self) -> str:
        cells = [
            (k + 1, f"{product:.6g}", escape(self._path_text(k))) for k, (_, product) in enumerate(self.paths)
        ]
        rows = "".join(
            f"<tr><td>{k}</td><td>{p}</td><td><code>{path}</code></td></tr>" for k, p, path in cells
        )
        return (
            f"<p>{escape(self._headline())}</p><table><thead><tr><th>#</th><th>product</th>"
            f"<th>path (local derivative on each edge)</th></tr></thead><tbody>{rows}</tbody></table>"
        )

    def draw(self, top: int = 3, **kwargs: Any) -> Any:
        """`draw_graph(output)` with the nodes of the `top` largest paths highlighted in red."""
        from puretorch_scalar.viz import draw_graph  # here: drawing needs graphviz, explaining does not

        marked = dict.fromkeys(node for path, _ in self.paths[:top] for node in path)
        return draw_graph(self.output, highlight=list(marked), **kwargs)


def explain(output: Any, x: Value, max_paths: int = 1000) -> Explanation:
    """Every path from `output` (a Value, or a one-element Tensor) down to the Value `x`, with the
    product of the local derivatives along it. `x` not in the graph: no paths, total 0.0.
    More than `max_paths` paths raises ValueError saying how many there are."""
    output = _one_value(output)
    if not isinstance(x, Value):
        raise TypeError(f"explain: x must be a Value, not {type(x).__name__}: {x!r}")
    no_gradient_for(x, "explain")
    max_paths = positive_int(max_paths, "max_paths", "explain")
    order = topological_order(output)  # children first
    edges = {  # node -> [(child, ∂node/∂child)], one entry per use (a * a has two)
        node: list(zip(node.children, local_grads(node.op, [c.data for c in node.children], node.data)))
        for node in order
        if node.children and node is not x
    }
    # The paths below each node down to x, counted and summed children first (nothing listed):
    # backward's recursion, run from x upwards.
    count: dict[Value, int] = {x: 1}
    total: dict[Value, float] = {x: 1.0}
    for node in edges:
        count[node] = sum(count.get(child, 0) for child, _ in edges[node])
        total[node] = sum(d * total.get(child, 0.0) for child, d in edges[node])
    n_paths = count.get(output, 0)
    if n_paths > max_paths:
        raise ValueError(
            f"explain: there are {n_paths:,} paths from the output down to x, more than "
            f"max_paths={max_paths}; their sum, the gradient, is {total[output]:.6g} (one backward "
            "pass adds them all up without listing them)"
        )
    found = sorted(_paths(output, x, edges, count), key=lambda item: -abs(_product(item[1])))
    return Explanation(
        output,
        x,
        [(path, _product(steps)) for path, steps in found],
        n_paths,
        total.get(output, 0.0),
        [steps for _, steps in found],
        _names(output, order),
    )


def _paths(output: Value, x: Value, edges: dict, count: dict) -> list[tuple[tuple[Value, ...], list[float]]]:
    """Every path from output down to x (depth first, without recursion), with its derivatives."""
    found, stack = [], [((output,), [])]
    while stack:
        path, steps = stack.pop()
        if path[-1] is x:
            found.append((path, steps))
            continue
        for child, d in reversed(edges.get(path[-1], [])):
            if count.get(child, 0):  # only edges that lead to x
                stack.append(((*path, child), [*steps, d]))
    return found


def _product(steps: list[float]) -> float:
    product = 1.0
    for d in steps:
        product *= d
    return product


def _names(output: Value, order: list[Value]) -> dict[Value, str]:
    """The player's names (`naming.node_names`), the op next to an automatic one; constants by
    their number. `order`: the nodes below `output`."""
    names = node_names(output)
    for node in order:
        if node not in names:
            names[node] = f"{node.data:.4g}"
        elif not node.label and node.children:
            names[node] += f" ({node.op})"
    return names


def _one_value(output: Any) -> Value:
    if isinstance(output, Value):
        return output
    values = getattr(output, "values", None)
    if callable(values) and len(values()) == 1:
        return values()[0]
    raise TypeError(f"explain: output must be a Value or a one-element Tensor, not {type(output).__name__}")
