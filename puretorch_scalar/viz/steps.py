"""Replaying the backward pass one node at a time: `backward_steps`.

Backward visits the nodes from the output down (reverse topological order). At each non-leaf
node it applies the chain rule once, pushing the node's gradient into its inputs:

    child.grad += ∂node/∂child · node.grad

`backward_steps(root)` records that sweep as frames. Frame 0 seeds the output's gradient; frame k
shows the k-th node processed (highlighted in red), the gradients it just updated (yellow) and
every gradient known so far; gradients not reached yet are blank. So there is one frame per
non-leaf node, plus the start.

The frames' gradients are computed in a private dictionary: the graph's `.grad` values are never
read or written. The frames show one clean pass, as if every gradient were zero before it.

In a notebook the result displays as a small HTML player (previous / next / play, a slider, ←/→
keys); `.save("steps.html")` writes the same player as a page. It is self-contained: each frame's
SVG is rendered once by Graphviz and embedded, and a few lines of plain JavaScript flip between
them — no widgets, no network.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template
from uuid import uuid4

from puretorch_scalar import ops
from puretorch_scalar.engine import Constant, Value, local_grads
from puretorch_scalar.viz.graph import Graph, Scene, fmt, op_symbol, output_values

LINES_PER_STEP = 6  # chain-rule lines a caption lists before "… and 58 more"

PLAYER = Template(files(__package__).joinpath("player.html").read_text(encoding="utf-8"))
PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>$title</title></head>
<body>
$player
</body>
</html>
""")


@dataclass(eq=False)
class Frame:
    """One step of the replay.

    node:    the Value whose gradient is being pushed to its inputs, highlighted (None for the
             start, and for a last frame of steps through nodes that are not drawn)
    grads:   every gradient known after this step (Values missing from it are still blank)
    caption: what happened, as the chain rule: `w1.grad += 2 × 0.5 → 1`
    graph:   the picture (a Digraph; displays inline in Jupyter)
    """

    node: Value | None
    grads: dict[Value, float] = field(repr=False)
    caption: str
    graph: Graph = field(repr=False)

    def _repr_html_(self) -> str:
        return f"<div>{_inline(self.graph)}<pre>{escape(self.caption)}</pre></div>"


class BackwardSteps(Sequence[Frame]):
    """The frames of one backward pass: `len(steps)`, `steps[k]`, a player in Jupyter, `.save(path)`."""

    def __init__(self, frames: list[Frame], title: str) -> None:
        self.frames = frames
        self.title = title
        self._svgs: list[str] | None = None

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, k: int | slice) -> Frame | list[Frame]:
        return self.frames[k]

    def __repr__(self) -> str:
        return f"BackwardSteps({self.title!r}, {len(self)} frames)"

    def svgs(self) -> list[str]:
        """Every frame as inline SVG, rendered by Graphviz on first use and kept."""
        if self._svgs is None:
            self._svgs = [_inline(frame.graph) for frame in self.frames]
        return self._svgs

    def _repr_html_(self) -> str:
        """The player: a fragment of HTML with its own style and script (a fresh id each time,
        so that the same steps displayed twice in a notebook make two working players)."""
        frames = "\n".join(
            f'<div class="pts-frame" data-step="{k}"{" hidden" if k else ""}>\n'
            f'<div class="pts-svg">{svg}</div>\n<pre class="pts-caption">{escape(frame.caption)}</pre>\n'
            "</div>"
            for k, (frame, svg) in enumerate(zip(self.frames, self.svgs()))
        )
        player_id = f"pts-steps-{uuid4().hex[:8]}"
        return PLAYER.substitute(player_id=player_id, frames=frames, count=len(self), last=len(self) - 1)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the player as a standalone HTML page and return its path."""
        path = Path(path)
        page = PAGE.substitute(title=escape(self.title), player=self._repr_html_())
        path.write_text(page, encoding="utf-8")
        return path


def _inline(graph: Graph) -> str:
    """The graph as an `<svg>` element to embed in HTML (without the XML prolog and doctype)."""
    svg = graph.pipe(format="svg", encoding="utf-8")
    return svg[svg.index("<svg") :]


def _name(v: Value) -> str:
    """How a caption refers to a node: its label, else its box in the picture: `[data 0.7616]`."""
    return v.label or f"[data {fmt(v.data)}]"


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
    drawn = set(scene.nodes)
    grads = {output: float(gradient)}  # the gradients known so far: this replay's own `.grad`

    def frame(node: Value | None, caption: str, updated: Iterable[Value]) -> Frame:
        known = dict(grads)
        picture = scene.draw(known.get, highlight=[node] if node is not None else [], updated=updated)
        return Frame(node, known, caption, picture)

    seed = f"Start: seed the output's gradient, {_name(output)}.grad = {fmt(gradient)}."
    frames = [frame(None, seed, [output])]
    order = [v for v in reversed(scene.everything) if v.children]  # the order backward visits them
    skipped = 0  # steps through nodes not drawn, since the last frame
    for k, node in enumerate(order, 1):
        g = grads[node]  # final: every node that uses `node` came earlier in this order
        shown = node in drawn
        lines = []
        for child, d in zip(node.children, local_grads(node.op, [c.data for c in node.children], node.data)):
            grads[child] = grads.get(child, 0.0) + d * g
            if shown and not isinstance(child, Constant):  # a constant's gradient is not drawn
                lines.append(f"  {_name(child)}.grad += {fmt(d)} × {fmt(g)} → {fmt(grads[child])}")
        if not shown:
            skipped += 1
            continue
        op, rule = op_symbol(node.op), ops.get(node.op).caption
        header = [f"(after {skipped} steps through nodes not drawn)"] if skipped else []
        header.append(f"Step {k} of {len(order)}: back through the {op} that made {_name(node)}   ({rule})")
        caption = "\n".join([*header, *_chain_rule_lines(lines)])
        frames.append(frame(node, caption, drawn.intersection(node.children)))
        skipped = 0
    if skipped:
        done = f"… then {skipped} steps through nodes not drawn; every gradient is final."
        frames.append(frame(None, done, []))
    return BackwardSteps(frames, f"backward pass from {_name(output)}")
