"""`make demo`: build an expression, backpropagate, print every gradient, and draw the graph; then
train micrograd's moons classifier with a progress bar and draw its decision boundary."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

from puretorch_scalar import Value, data, fit, nn, optim
from puretorch_scalar.engine import topological_order
from puretorch_scalar.nn import functional as F
from puretorch_scalar.plot import plot_decision_boundary
from puretorch_scalar.train import History, evaluate
from puretorch_scalar.viz import GraphvizNotFoundError, backward_steps, draw_graph


def neuron() -> Value:
    """micrograd's classic neuron, o = tanh(x1·w1 + x2·w2 + b), every named node labelled."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def expression_demo() -> Value:
    """Backpropagate through micrograd's neuron and print every labelled node's gradient."""
    o = neuron()
    o.backward()
    print("o = tanh(x1*w1 + x2*w2 + b)")
    for v in reversed(topological_order(o)):
        if v.label:
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
    print(f"  {steps.name:<22} the backward pass step by step, with its arithmetic (← / →, play)")


def micrograd_mlp(seed: int = 0) -> nn.MLP:
    """micrograd's model: MLP(2, [16, 16, 1]) with micrograd's initialisation (weights uniform in
    [−1, 1], biases 0) instead of PyTorch's smaller ±1/√in, which trains more slowly here."""
    random.seed(seed)
    model = nn.MLP(2, [16, 16, 1])
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            nn.init.uniform_(layer.weight, -1.0, 1.0)
            nn.init.zeros_(layer.bias)
    return model


def train_like_micrograd(
    model: nn.Module, X: list, y: list, epochs: int = 100, progress: bool = False, **fit_options: Any
) -> History:
    """micrograd's training of its demo with `fit`: hinge loss (labels ±1) + 1e-4·L2 penalty,
    full-batch SGD with the learning rate 1.0 − 0.9·step/100. `fit_options` go to `fit`
    (`seed=`, `jit=`, …)."""
    return fit(
        model,
        nn.HingeLoss(),
        optim.SGD(model.parameters(), lr=1.0),
        X,
        y,
        epochs=epochs,
        progress=progress,
        regularizer=lambda m: 1e-4 * F.l2_penalty(m.parameters()),
        lr_schedule=lambda step: 1.0 - 0.9 * step / 100,
        **fit_options,
    )


def moons_demo(out: Path, progress: bool = True, seed: int = 0) -> float:
    """micrograd's demo: 100 moons points (noise 0.1), hinge loss + 1e-4·L2, SGD with the
    learning rate decaying linearly from 1.0 to 0.1 over 100 full-batch steps. Writes the
    decision boundary to `out`/moons.png and returns the final training accuracy."""
    X, labels = data.make_moons(100, noise=0.1, seed=seed)
    y = [2 * t - 1 for t in labels]  # hinge loss wants ±1
    model = micrograd_mlp(seed)
    print("\ntraining MLP(2, [16, 16, 1]) on make_moons(100) as micrograd's demo does")
    history = train_like_micrograd(model, X, y, progress=progress)
    final = evaluate(model, nn.HingeLoss(), X, y)[1]
    print(f"loss {history['loss'][0]:.3f} -> {history['loss'][-1]:.3f}, training accuracy {final:.0%}")
    try:
        ax = plot_decision_boundary(model, X, y)
    except ImportError as error:  # matplotlib is in the notebooks extra
        print(f"no decision-boundary picture: {error}", file=sys.stderr)
        return final
    out.mkdir(parents=True, exist_ok=True)
    ax.set_title(f"micrograd's moons demo: {final:.0%} training accuracy")
    ax.figure.savefig(out / "moons.png", dpi=120)
    print(f"  {'moons.png':<22} the decision boundary after training")
    return final


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="out", help="folder for the pictures and pages")
    args = parser.parse_args(argv)
    o = expression_demo()
    pictures_demo(o, Path(args.out))
    moons_demo(Path(args.out))


if __name__ == "__main__":
    main()
