"""`make demo`: build an expression, backpropagate, print every gradient, and draw the graph."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from puretorch_scalar import Value
from puretorch_scalar.viz import GraphvizNotFoundError, backward_steps, draw_graph


def expression_demo() -> Value:
    """micrograd's classic neuron: o = tanh(x1·w1 + x2·w2 + b)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    print("o = tanh(x1*w1 + x2*w2 + b)")
    for v in (x1, x2, w1, w2, b, n, o):
        print(f"  {v.label:>2} = {v.data:8.4f}   do/d{v.label} = {v.grad:8.4f}")
    return o


def pictures_demo(root: Value, out: Path) -> None:
    """Write the graph of `root` (SVG and PNG) and its backward pass, one step per frame (HTML)."""
    out.mkdir(parents=True, exist_ok=True)
    graph = draw_graph(root)
    svg, png, steps = out / "neuron.svg", out / "neuron.png", out / "neuron_backward.html"
    try:
        svg.write_text(graph.pipe(format="svg", encoding="utf-8"), encoding="utf-8")
        graph.graph_attr["dpi"] = "150"  # a sharper PNG
        png.write_bytes(graph.pipe(format="png"))
        backward_steps(root).save(steps)
    except GraphvizNotFoundError as error:
        print(f"\nno pictures: {error}", file=sys.stderr)
        return
    print(f"\npictures in {out.resolve()}:")
    print(f"  {svg.name:<22} the graph (open it in a browser)")
    print(f"  {png.name:<22} the same, as PNG")
    print(f"  {steps.name:<22} the backward pass, one node at a time (prev / next / play)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="out", help="folder for the pictures and pages")
    args = parser.parse_args(argv)
    o = expression_demo()
    pictures_demo(o, Path(args.out))


if __name__ == "__main__":
    main()
