"""Drawing the computation graph with Graphviz: `draw_graph`.

As in micrograd, each Value is one record node `label | data | grad` and each operation is its
own small oval between its inputs and its result (`Σ` for `Value.sum`, `dot` for `Value.dot`).
Numbers show 4 significant digits. The fill colour says what kind of Value a node is:

    input         light blue   a leaf you made (`Value(2.0)`, a `Tensor` of data)
    parameter     orange       a leaf of an `nn.Parameter`: a weight that training updates
    constant      grey, small  a number lifted into the graph (the 2 in `x * 2`); drawn without grad
    intermediate  white        the result of an operation
    output        green        the root(s) you asked to draw

Highlighted nodes (`highlight=`) get a red border, a light-red fill and a red oval for the
operation that made them; their input edges turn red too. A legend under the picture names the
kinds that appear. (`backward_steps` also writes a name on unlabelled nodes, in italics, and
turns the red edges round: there they show the gradient flowing backward.)

Big graphs are summarised (`max_nodes`): only the Values nearest the output are kept, and of a
wide node only its first inputs (a `dot` keeps its pairs xᵢ, yᵢ together); each cut is a dashed
"… 48 more inputs" box, and the caption says how many Values were left out.

Records are drawn as HTML-like tables rather than Graphviz `record` shapes: the cells can then be
coloured one by one, and the grad cell has a fixed minimum width, so a gradient appearing in
`backward_steps` does not move the layout.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from typing import Any

import graphviz

from puretorch_scalar import ops
from puretorch_scalar.engine import Constant, ParameterValue, Value, topological_order

KIND_COLOURS = {
    "input": "#cfe2ff",
    "data": "#e5dbff",  # requires_grad=False: drawn without a grad cell, as it never gets one
    "parameter": "#ffd8a8",
    "constant": "#e9ecef",
    "intermediate": "#ffffff",
    "output": "#c3f0ca",
}
HIGHLIGHT_FILL, HIGHLIGHT_LINE = "#ffc9c9", "#e03131"
UPDATED_FILL = "#ffec99"  # the grad cell of a node whose gradient just changed (backward_steps)
LINE, FAINT = "#495057", "#868e96"
FONT = "Helvetica"
GRAD_CELL_WIDTH = 84  # points: room for "grad -0.7071", so most gradients never widen a node

OP_STYLE = {"shape": "ellipse", "style": "filled", "fillcolor": "#f1f3f5", "color": FAINT}
OP_STYLE |= {"fontsize": "10", "width": "0", "height": "0", "margin": "0.05,0.02"}
FAN_IN_SHOWN = 6  # when summarising, inputs followed per node at first (then 12, 24, … while room is left)

INSTALL_HINT = (
    "Graphviz's `dot` program is not installed (or not on PATH), so the graph cannot be rendered; "
    "building it works, and `.source` holds its DOT text. Install Graphviz: `apt-get install graphviz` "
    "(Debian/Ubuntu), `brew install graphviz` (macOS), `conda install graphviz`, or see "
    "https://graphviz.org/download/"
)


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs Graphviz's `dot` program, and it is not installed."""


@contextmanager
def _dot_required() -> Iterator[None]:
    try:
        yield
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError(INSTALL_HINT) from None


class Graph(graphviz.Digraph):
    """A `graphviz.Digraph` whose rendering says how to install Graphviz when `dot` is missing.

    Everything else is graphviz's own: `.source`, `.render(...)`, `.pipe(...)`, and the inline
    SVG display in Jupyter (which goes through `.pipe`)."""

    def render(self, *args: Any, **kwargs: Any) -> Any:
        with _dot_required():
            return super().render(*args, **kwargs)

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        with _dot_required():
            return super().pipe(*args, **kwargs)


def op_symbol(op: str) -> str:
    """How an op node is labelled: the symbol in the op registry (`×` for "*", `Σ` for "sum"); a
    node made by an op removed since (`undefine_op`) shows the op's name."""
    return ops.get(op).symbol if op in ops.names() else op


def output_values(root: object, caller: str = "draw_graph") -> list[Value]:
    """The Values to draw from: a Value, anything with `.values()` (a Tensor), or a list of those."""
    items = root if isinstance(root, (list, tuple)) else [root]
    outputs: list[Value] = []
    for item in items:
        values = [item] if isinstance(item, Value) else getattr(item, "values", None)
        if callable(values):
            values = list(values())
        if values is None or not all(isinstance(v, Value) for v in values):
            kind = type(item).__name__
            raise TypeError(f"{caller}: expected a Value, a Tensor or a list of them, not {kind}")
        outputs += values
    if not outputs:
        raise ValueError(f"{caller}: nothing to draw (no Values in {root!r})")
    return list(dict.fromkeys(outputs))  # each output once, in the order given


def kind_of(v: Value, outputs: set[Value] | frozenset[Value]) -> str:
    """Which colour `v` gets: "output", "intermediate", "constant", "data", "parameter" or "input"."""
    if v in outputs:
        return "output"
    if v.children:
        return "intermediate"
    if isinstance(v, Constant):
        return "constant"
    if not v.requires_grad:
        return "data"
    return "parameter" if isinstance(v, ParameterValue) else "input"


def fmt(x: float) -> str:
    """4 significant digits; -0.0 prints as 0."""
    return f"{x + 0.0:.4g}"


def _shown_children(node: Value, fan_in: int) -> tuple[Value, ...]:
    """The first `fan_in` inputs of `node` (for `dot`, pairs: x1, y1, x2, y2, …)."""
    kids = node.children
    if node.op == "dot":  # children are x1…xn, y1…yn: keep each pair (xi, yi) together
        n = len(kids) // 2
        kids = tuple(c for pair in zip(kids[:n], kids[n:]) for c in pair)
    return kids[:fan_in]


def _nearest(outputs: list[Value], max_nodes: int) -> set[Value]:
    """`max_nodes` Values nearest the outputs: breadth-first, following only the first few inputs
    of each node; while there is room left, again from the start, following twice as many."""
    kept = dict.fromkeys(outputs[:max_nodes])
    fan_in = FAN_IN_SHOWN
    while len(kept) < max_nodes:  # ends: once fan_in covers every node, one pass fills the room
        queue = deque(kept)
        while queue and len(kept) < max_nodes:
            for child in _shown_children(queue.popleft(), fan_in):
                if child not in kept and len(kept) < max_nodes:
                    kept[child] = None
                    queue.append(child)
        fan_in *= 2
    return set(kept)


@dataclass
class Scene:
    """What a picture shows, chosen once so that several pictures (the frames of
    `backward_steps`) share it: the Values drawn, in the engine's order, and the options."""

    outputs: list[Value]
    everything: list[Value]  # every Value below the outputs, each after its children
    nodes: list[Value]  # the ones drawn (all of them unless summarised), in the same order
    rankdir: str
    show_grad: bool
    legend: bool
    max_nodes: int | None

    @classmethod
    def of(cls, root: object, rankdir: str, show_grad: bool, legend: bool, max_nodes: int | None) -> Scene:
        if rankdir not in ("LR", "TB", "RL", "BT"):
            raise ValueError(f"rankdir must be 'LR', 'TB', 'RL' or 'BT', not {rankdir!r}")
        if max_nodes is not None and (type(max_nodes) is not int or max_nodes < 1):
            raise ValueError(f"max_nodes must be a positive int or None, not {max_nodes!r}")
        outputs = output_values(root)
        # one engine walk over all outputs: from a scratch node that joins them (dropped again)
        everything = topological_order(*outputs)
        nodes = everything
        if max_nodes is not None and len(everything) > max_nodes:
            kept = _nearest(outputs, max_nodes)
            nodes = [v for v in everything if v in kept]
        return cls(outputs, everything, nodes, rankdir, show_grad, legend, max_nodes)

    def ids(self) -> dict[Value, str]:
        """The Graphviz name of each Value drawn: "v0", "v1", … (the oval of its op is "v1_op")."""
        return {v: f"v{i}" for i, v in enumerate(self.nodes)}

    def draw(
        self,
        grad_of: Callable[[Value], float | None],
        highlight: Iterable[Value] = (),
        updated: Iterable[Value] = (),
        names: Mapping[Value, str] | None = None,
        backward: bool = False,
    ) -> Graph:
        """The picture, with `grad_of(v)` in each grad cell (None: blank), `highlight` in red and
        the grad cells of `updated` in yellow. `names`: what to call unlabelled nodes (written in
        italics); `backward`: the red edges point from result to inputs, the way gradients flow."""
        highlight, updated, outputs = set(highlight), set(updated), set(self.outputs)
        g = Graph(
            graph_attr={"rankdir": self.rankdir, "bgcolor": "white", "fontname": FONT, "fontsize": "10"},
            node_attr={"fontname": FONT, "fontsize": "11", "shape": "plain"},
            edge_attr={"arrowsize": "0.6", "color": LINE},
        )
        ids = self.ids()
        kinds = {v: kind_of(v, outputs) for v in self.nodes}
        for v, vid in ids.items():
            hot = v in highlight
            grad = grad_of(v) if self.show_grad and kinds[v] != "constant" else None
            name = v.label or (names or {}).get(v, "")
            label = _record(v, name, kinds[v], grad, hot, v in updated, self.show_grad)
            g.node(vid, label, **({"class": "highlight"} if hot else {}))
            if v.children:
                self._draw_op(g, v, vid, ids, hot, backward)
        caption = self._caption(sorted(set(kinds.values()), key=list(KIND_COLOURS).index))
        if caption:
            g.attr(label=caption, labelloc="b")
        return g

    def _draw_op(
        self, g: Graph, v: Value, vid: str, ids: dict[Value, str], hot: bool, backward: bool
    ) -> None:
        """The op oval of `v`, its edges, and a dashed "… more inputs" box for inputs not drawn."""
        red = {"color": HIGHLIGHT_LINE, "penwidth": "2"} if hot else {}
        if hot and backward:  # the arrowhead at the tail end: same layout, reversed arrow
            red["dir"] = "back"
        op_id = vid + "_op"
        g.node(op_id, escape(op_symbol(v.op)), **(OP_STYLE | red))
        g.edge(op_id, vid, **red)
        missing = 0
        for child in v.children:
            if child in ids:
                g.edge(ids[child], op_id, **red)
            else:
                missing += 1
        if missing:
            more = f"… {missing} more input{'s' if missing > 1 else ''}"
            g.node(vid + "_cut", more, shape="box", style="dashed,rounded", color=FAINT, fontcolor=FAINT)
            g.edge(vid + "_cut", op_id, style="dashed", color=FAINT)

    def _caption(self, kinds: list[str]) -> str:
        """An HTML label: the legend (the kinds present) and what a summary left out."""
        rows = []
        if self.legend:
            cells = "".join(f'<td bgcolor="{KIND_COLOURS[k]}" border="1">{k}</td>' for k in kinds)
            rows.append(f"<tr>{cells}</tr>")
        if len(self.nodes) < len(self.everything):
            shown, total = len(self.nodes), len(self.everything)
            note = f"showing {shown:,} of {total:,} values (max_nodes={self.max_nodes}); dashed: left out"
            rows.append(f'<tr><td colspan="{max(len(kinds), 1)}"><i>{note}</i></td></tr>')
        if not rows:
            return ""
        return f'<<table border="0" cellspacing="4" color="{FAINT}">{"".join(rows)}</table>>'


def _record(
    v: Value, name: str, kind: str, grad: float | None, hot: bool, updated: bool, show_grad: bool
) -> str:
    """The HTML-like label of one Value: `name | data | grad` cells (a constant: its number). A
    name that is not the Value's own label is an automatic one, set in italics."""
    fill, line = (HIGHLIGHT_FILL, HIGHLIGHT_LINE) if hot else (KIND_COLOURS[kind], LINE)
    table = f'<table border="0" cellborder="1" cellspacing="0" bgcolor="{fill}" color="{line}"'
    if kind == "constant":
        number = f'<font point-size="9">{fmt(v.data)}</font>'
        return f'<{table} cellpadding="2"><tr><td>{number}</td></tr></table>>'
    cells = []
    if name:
        cells.append(
            f"<td><b>{escape(name)}</b></td>" if name == v.label else f"<td><i>{escape(name)}</i></td>"
        )
    cells.append(f"<td>data {fmt(v.data)}</td>")
    if show_grad and kind != "data":
        shading = f' bgcolor="{UPDATED_FILL}"' if updated else ""
        text = "" if grad is None else fmt(grad)
        cells.append(f'<td width="{GRAD_CELL_WIDTH}"{shading}>grad {text}</td>')
    return f'<{table} cellpadding="4"><tr>{"".join(cells)}</tr></table>>'


def draw_graph(
    root: object,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int | None = 60,
    highlight: Value | Iterable[Value] | None = None,
    grads: Mapping[Value, float] | None = None,
    legend: bool = True,
) -> Graph:
    """The computation graph below `root` (a Value, a Tensor, or a list of them) as a Digraph.

    In Jupyter it displays inline as SVG; `.render(outfile="g.png")` or `.pipe(format="svg")`
    write images (these need Graphviz's `dot`; without it they raise `GraphvizNotFoundError`
    saying how to install it). See the module docstring for the colours.

    rankdir:    "LR" (inputs left, output right, as micrograd) or "TB" (top to bottom).
    show_grad:  draw the grad cell.
    max_nodes:  draw at most this many Values, the ones nearest the output, and mark what was
                cut; None draws everything.
    highlight:  Values to draw in red (must be in the graph; ones a summary cut are skipped).
    grads:      gradients to show instead of each node's `.grad` (e.g. from `grad(...)`);
                nodes missing from the mapping get a blank grad.
    legend:     a colour key under the picture.
    """
    scene = Scene.of(root, rankdir, show_grad, legend, max_nodes)
    marked = [highlight] if isinstance(highlight, Value) else list(highlight or ())
    if marked:
        in_graph = set(scene.everything)
        for v in marked:
            if not isinstance(v, Value) or v not in in_graph:
                raise ValueError(f"highlight: {v!r} is not a Value of the graph below the root")
    if grads is not None and not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a mapping from Value to float, not {type(grads).__name__}")
    grad_of = (lambda v: v.grad) if grads is None else grads.get
    return scene.draw(grad_of, highlight=marked)
