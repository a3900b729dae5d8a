"""Replaying the backward pass one node at a time: `backward_steps`.

Backward visits the nodes from the output down (reverse topological order). At each non-leaf
node it applies the chain rule once, pushing the node's gradient into each of its inputs:

    child.grad = child.grad + ∂node/∂child · node.grad

`backward_steps(root)` records that sweep as frames. Frame 0 seeds the output's gradient; frame k
is step k, the k-th node processed (highlighted in red, its edges turned round to show the
gradient flowing back), with the gradients it just updated (yellow) and every gradient known so
far; gradients not reached yet are blank. So there is one frame per non-leaf node, plus the start.

Every Value has a name, written on its box: its label, else an automatic `t1`, `t2`, … (in the
order the forward pass made them). A caption states the step with those names and numbers:

    Step 3 of 5: back through the × that made t1 = x1 × w1, with t1.grad = 0.5
      rule: ∂(a·b)/∂a = b, ∂(a·b)/∂b = a
      ∂t1/∂x1 = w1 = −3;  x1.grad = 0 + (−3)(0.5) = −1.5
      ∂t1/∂w1 = x1 = 2;  w1.grad = 0 + (2)(0.5) = 1

The rule and the symbol come from the op registry. `∂t1/∂x1 = w1` is the registry's derivative
run on the nodes themselves (as `backward(create_graph=True)` does), so it names the Values it
is made of; the sum shows the gradient as it was before the step, which is where a node used
twice accumulates.

The frames' gradients are computed in a private dictionary: the graph's `.grad` values are never
read or written. The frames show one clean pass, as if every gradient were zero before it.

In a notebook the result displays as a small HTML player (previous / next / play at a chosen
speed, a slider, ←/→ keys, the visit order with the finished nodes ticked); `.save("steps.html")`
writes the same player as a page. It is self-contained: Graphviz draws the picture once, and a
few lines of plain JavaScript restyle that one SVG for each frame (red node and edges, yellow
grad cells, the grad texts) from a small table of what each step changed — no widgets, no network.
"""

from __future__ import annotations

import json
import numbers
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template
from uuid import uuid4

from puretorch_scalar import ops
from puretorch_scalar.engine import Constant, Value, local_grads
from puretorch_scalar.grad_mode import enable_grad
from puretorch_scalar.naming import node_names
from puretorch_scalar.viz.graph import (
    HIGHLIGHT_FILL,
    HIGHLIGHT_LINE,
    UPDATED_FILL,
    Graph,
    Scene,
    fmt,
    op_symbol,
    output_values,
)

LINES_PER_STEP = 6  # chain-rule lines a caption lists before "… and 58 more"
OPERANDS_SHOWN = 3  # of an n-ary node's operands, in "t9 = Σ(t1, t2, t3, … 64 in all)"

PLAYER = Template(files(__package__).joinpath("player.html").read_text(encoding="utf-8"))
PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>$title</title></head>
<body>
$player
</body>
</html>
""")
SVG = "http://www.w3.org/2000/svg"
NS = "{" + SVG + "}"  # how ElementTree spells a tag in SVG's namespace: NS + "g"
ET.register_namespace("", SVG)  # write SVG's tags as <g>, not <ns0:g>


@dataclass(eq=False)
class Frame:
    """One step of the replay.

    step:    backward's step number: 0 for the start, k for the k-th node processed (the
             counter of the player shows it)
    node:    the Value whose gradient is being pushed to its inputs, highlighted (None for the
             start, and for a last frame of steps through nodes that are not drawn)
    grads:   every gradient known after this step (Values missing from it are still blank)
    updated: the drawn Values whose gradient this step changed (their grad cells are yellow)
    caption: what happened, as the chain rule with names and numbers (see the module docstring)
    graph:   the picture (a Digraph; displays inline in Jupyter), made on demand by `draw`
    """

    step: int
    node: Value | None
    grads: dict[Value, float] = field(repr=False)
    updated: tuple[Value, ...] = field(repr=False)
    caption: str
    draw: Callable[[Frame], Graph] = field(repr=False)

    @property
    def graph(self) -> Graph:
        return self.draw(self)

    def _repr_html_(self) -> str:
        return f"<div>{inline_svg(self.graph)}<pre>{escape(self.caption)}</pre></div>"


class BackwardSteps(Sequence[Frame]):
    """The frames of one backward pass: `len(steps)`, `steps[k]`, a player in Jupyter, `.save(path)`.

    `names` maps every Value but the constants to its name in the pictures and captions."""

    def __init__(self, frames: list[Frame], title: str, scene: Scene, names: dict[Value, str]) -> None:
        self.frames = frames
        self.title = title
        self.scene = scene
        self.names = names
        self.marker = f"pts-back-{uuid4().hex[:8]}"  # the id of the SVG's backward arrowhead

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, k: int | slice) -> Frame | list[Frame]:
        return self.frames[k]

    def __repr__(self) -> str:
        return f"BackwardSteps({self.title!r}, {len(self)} frames)"

    @cached_property
    def svg(self) -> str:
        """The player's one picture, as inline SVG: the first frame, drawn by Graphviz (on first
        use), with the hooks its script restyles (see `_stage`)."""
        first = self.frames[0]
        graph = self.scene.draw(first.grads.get, names=self.names)
        graded = {vid for v, vid in self.scene.ids().items() if not isinstance(v, Constant)}
        return _stage(inline_svg(graph), graded, self.marker)

    def script_data(self) -> dict:
        """What the player's script needs, per frame: the step, the highlighted node, the grad
        texts that changed since the frame before, the yellow cells and the caption."""
        ids = self.scene.ids()
        known: dict[Value, float] = {}
        frames = []
        for frame in self.frames:
            changed = {
                ids[v]: fmt(g)
                for v, g in frame.grads.items()
                if v in ids and not isinstance(v, Constant) and known.get(v) != g
            }
            known = frame.grads
            frames.append(
                {
                    "step": frame.step,
                    "node": ids.get(frame.node),
                    "grads": changed,
                    "updated": [ids[v] for v in frame.updated],
                    "caption": frame.caption,
                }
            )
        return {"steps": self.frames[-1].step, "frames": frames}  # the last frame ends backward

    def _repr_html_(self) -> str:
        """The player: a fragment of HTML with its own style and script (a fresh id each time,
        so that the same steps displayed twice in a notebook make two working players)."""
        order = "\n".join(
            f'<li data-frame="{k}">{escape(self.names[frame.node])}</li>'
            for k, frame in enumerate(self.frames)
            if frame.node is not None
        )
        data = self.script_data()
        return PLAYER.substitute(
            player_id=f"pts-steps-{uuid4().hex[:8]}",
            svg=self.svg,
            marker=self.marker,
            caption=escape(self.frames[0].caption),
            order=order,
            data=json.dumps(data, ensure_ascii=False).replace("<", "\\u003c"),  # no "</script>" inside
            last=len(self) - 1,
            steps=data["steps"],
            hot_fill=HIGHLIGHT_FILL,
            hot_line=HIGHLIGHT_LINE,
            updated_fill=UPDATED_FILL,
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the player as a standalone HTML page and return its path."""
        path = Path(path)
        page = PAGE.substitute(title=escape(self.title), player=self._repr_html_())
        path.write_text(page, encoding="utf-8")
        return path


def inline_svg(graph: Graph) -> str:
    """The graph as an `<svg>` element to embed in HTML (without the XML prolog and doctype)."""
    svg = graph.pipe(format="svg", encoding="utf-8")
    return svg[svg.index("<svg") :]


def _stage(svg: str, graded: set[str], marker: str) -> str:
    """Graphviz's SVG with hooks for the player's script and style.

    Each Value's group gets `data-node="v3"` (its Graphviz name, which SVG keeps as `<title>`),
    its background `class="pts-box"`, and, for the names in `graded`, its grad cell and text
    `pts-grad-cell` and `pts-grad` (the text centred in its cell, so that any number fits there).
    Op ovals and edges get `data-step-of="v3"`: the node whose step turns them red. A `<marker>`
    with the id `marker` draws the arrowheads of red edges at their tail, pointing backward."""
    root = ET.fromstring(svg)
    for group in root.iter(f"{NS}g"):
        title = group.findtext(f"{NS}title", "")
        kind = group.get("class")
        if kind == "node" and re.fullmatch(r"v\d+", title):
            group.set("data-node", title)
            shapes = [e for e in group if e.tag in (f"{NS}polygon", f"{NS}text")]
            shapes[0].set("class", "pts-box")
            if title in graded:  # the last cell is the grad: its border, then its text
                cell, text = shapes[-2], shapes[-1]
                xs = [float(point.split(",")[0]) for point in cell.get("points").split()]
                cell.set("class", "pts-grad-cell")
                text.attrib.update(
                    {"class": "pts-grad", "text-anchor": "middle", "x": f"{(min(xs) + max(xs)) / 2:g}"}
                )
        elif kind == "node" and title.endswith("_op"):
            group.set("data-step-of", title.removesuffix("_op"))
        elif kind == "edge" and "_cut" not in title:  # "v1->v3_op" or "v3_op->v3"
            group.set("data-step-of", re.search(r"(v\d+)_op", title)[1])
    defs = ET.Element(f"{NS}defs")
    arrow = ET.SubElement(defs, f"{NS}marker", id=marker, viewBox="0 0 10 7", refX="10", refY="3.5")
    arrow.attrib.update(markerWidth="8", markerHeight="5.6", markerUnits="userSpaceOnUse")
    arrow.set("orient", "auto-start-reverse")  # at the path's start, pointing away from it
    ET.SubElement(arrow, f"{NS}path", d="M0,0 L10,3.5 L0,7 z", fill=HIGHLIGHT_LINE)
    root.insert(0, defs)
    return ET.tostring(root, encoding="unicode")


# -- captions -----------------------------------------------------------------------------------


def _num(x: float) -> str:
    """A number in a caption: 4 significant digits, with a real minus sign."""
    return fmt(x).replace("-", "−")


def _formula(op: str, operands: Sequence[str]) -> str:
    """The op applied to operands (already written out): `x1 × w1`, `tanh(n)`, `−x`, or
    `Σ(t1, t2, t3, … 64 in all)`."""
    record = ops.get(op)
    if op == "neg":  # its symbol, −x, is already a formula
        return f"−{operands[0]}"
    if record.arity == 2:
        return f"{operands[0]} {op_symbol(op)} {operands[1]}"
    if len(operands) > OPERANDS_SHOWN + 1:
        operands = [*operands[:OPERANDS_SHOWN], f"… {len(operands)} in all"]
    return f"{op_symbol(op)}({', '.join(operands)})"


def _expression(d: Value | float, names: Mapping[Value, str]) -> str:
    """A local derivative as a formula of named Values: a node of the graph is its name, a number
    is itself, and a node the rule built is its op applied to its operands (an operand that is
    itself written with an operator, or negative, in parentheses)."""
    if not isinstance(d, Value):
        return _num(d)
    if d in names:
        return names[d]
    if not d.children:
        return _num(d.data)
    infix = d.op == "neg" or ops.get(d.op).arity == 2
    operands = [_expression(c, names) for c in d.children]
    if infix:
        operands = [
            f"({text})" if _is_compound(c, names) or text.startswith("−") else text
            for c, text in zip(d.children, operands)
        ]
    return _formula(d.op, operands)


def _is_compound(v: Value | float, names: Mapping[Value, str]) -> bool:
    """Whether `v` is written with an infix operator (and so needs parentheses as an operand)."""
    return (
        isinstance(v, Value)
        and v not in names
        and bool(v.children)
        and (v.op == "neg" or ops.get(v.op).arity == 2)
    )


def _symbolic(node: Value) -> tuple[Value | float, ...] | None:
    """∂node/∂child for each child as expressions: the registry's rule run on the nodes themselves
    (`∂(a·b)/∂a = b` gives the child `b`), None for a rule that only works on floats."""
    try:
        with enable_grad():
            return local_grads(node.op, node.children, node)
    except (TypeError, AttributeError):  # e.g. math.exp in a define_op rule: the numbers will do
        return None


def _chain_rule_lines(lines: list[str]) -> Iterable[str]:
    yield from lines[:LINES_PER_STEP]
    if len(lines) > LINES_PER_STEP:
        yield f"  … and {len(lines) - LINES_PER_STEP} more"


def backward_steps(
    root: object,
    gradient: float = 1.0,
    rankdir: str = "LR",
    max_nodes: int | None = 60,
    legend: bool = True,
) -> BackwardSteps:
    """The backward pass from `root` (one Value, or a one-element Tensor), one node per frame.

    `gradient` seeds the output (∂root/∂root = 1 by default). Frames cover the nodes drawn:
    with a graph bigger than `max_nodes` (see `draw_graph`), steps through nodes that are cut
    are applied without a frame of their own, and the next caption says how many there were.
    The graph's `.grad` values are left untouched.
    """
    outputs = output_values(root, "backward_steps")
    if len(outputs) != 1:
        raise ValueError(
            f"backward_steps: needs one output Value to start from, got {len(outputs)}; "
            "reduce them to one first, e.g. with .sum()"
        )
    if isinstance(gradient, bool) or not isinstance(gradient, numbers.Real):
        raise TypeError(f"backward_steps: gradient must be a number, not {type(gradient).__name__}")
    output = outputs[0]
    scene = Scene.of(output, rankdir, True, legend, max_nodes)
    names = node_names(output)
    drawn = set(scene.nodes)
    grads = {output: float(gradient)}  # the gradients known so far: this replay's own `.grad`

    def picture(frame: Frame) -> Graph:
        highlight = [frame.node] if frame.node is not None else []
        return scene.draw(frame.grads.get, highlight, frame.updated, names, backward=True)

    def frame(step: int, node: Value | None, caption: str, updated: Iterable[Value]) -> Frame:
        shown = tuple(v for v in dict.fromkeys(updated) if v in drawn)
        return Frame(step, node, dict(grads), shown, caption, picture)

    seed = f"Start: seed the output's gradient, {names[output]}.grad = {_num(gradient)}."
    frames = [frame(0, None, seed, [output])]
    order = [v for v in reversed(scene.everything) if v.children]  # the order backward visits them
    skipped = 0  # steps through nodes not drawn, since the last frame
    for k, node in enumerate(order, 1):
        g = grads[node]  # final: every node that uses `node` came earlier in this order
        local = local_grads(node.op, [c.data for c in node.children], node.data)
        if node not in drawn:
            for child, d in zip(node.children, local):
                grads[child] = grads.get(child, 0.0) + d * g
            skipped += 1
            continue
        said = _symbolic(node) or local
        name = names[node]
        lines = []
        for child, d, formula in zip(node.children, local, said):
            before = grads.get(child, 0.0)
            grads[child] = before + d * g
            if isinstance(child, Constant):  # a constant's gradient is not drawn
                continue
            why = f"∂{name}/∂{names[child]} = {_expression(formula, names)}"
            why += "" if why.endswith(f" = {_num(d)}") else f" = {_num(d)}"
            sums = f"{names[child]}.grad = {_num(before)} + ({_num(d)})({_num(g)}) = {_num(grads[child])}"
            lines.append(f"  {why};  {sums}")
        made = _formula(node.op, [names.get(c, _num(c.data)) for c in node.children])
        header = [f"(after {skipped} steps through nodes not drawn)"] if skipped else []
        header.append(
            f"Step {k} of {len(order)}: back through the {op_symbol(node.op)} that made "
            f"{name} = {made}, with {name}.grad = {_num(g)}"
        )
        header.append(f"  rule: {ops.get(node.op).caption}")
        frames.append(frame(k, node, "\n".join([*header, *_chain_rule_lines(lines)]), node.children))
        skipped = 0
    if skipped:
        done = f"… then {skipped} steps through nodes not drawn; every gradient is final."
        frames.append(frame(len(order), None, done, []))
    return BackwardSteps(frames, f"backward pass from {names[output]}", scene, names)
