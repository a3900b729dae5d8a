"""Notebook 02, drawing graphs: reading a picture, predicting the player's next frame."""

from __future__ import annotations

import random
from typing import Any

from puretorch_scalar import nn
from puretorch_scalar.engine import Value, topological_order
from puretorch_scalar.exercises.core import Report, exercise
from puretorch_scalar.tensor import Tensor
from puretorch_scalar.viz import backward_steps


@exercise(
    "count_boxes",
    "02",
    "(how many Value boxes, how many op ovals) draw_graph draws for L = (x·y + x)**2",
    answer=(6, 3),
    notes="Boxes: x, y, q = x·y, r = q + x, the constant 2 and L; ovals: ×, +, ^:",
)
def _count_boxes(answer: Any, r: Report) -> None:
    x, y = Value(3.0), Value(-2.0)
    nodes = topological_order((x * y + x) ** 2)
    boxes, ovals = len(nodes), sum(1 for v in nodes if v.children)
    if r.sized(answer, 2, "boxes, ovals"):
        r.equal("Value boxes", answer[0], boxes, "every Value is a box, the constant 2 of ** 2 too")
        r.equal("op ovals", answer[1], ovals, "one oval per operation, that is per Value that is not a leaf")


def _neuron() -> Value:
    a, b, c = Value(2.0, label="a"), Value(-1.0, label="b"), Value(1.0, label="c")
    ab = a * b
    ab.label = "ab"
    n = ab + c
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


@exercise(
    "next_frame",
    "02",
    "(a.grad, b.grad) shown by frame 3 of backward_steps(o) for o = tanh(a·b + c), a = 2, b = −1, c = 1",
    answer=(-0.41997434161402614, 0.8399486832280523),
    notes="Frame 1: n.grad = 1 − tanh²(−1) = 0.42; frame 2: ab.grad = c.grad = 0.42; frame 3, the ×: "
    "a.grad = b·0.42, b.grad = a·0.42:",
)
def _next_frame(answer: Any, r: Report) -> None:
    o = _neuron()
    frame = backward_steps(o)[3]
    shown = {v.label: g for v, g in frame.grads.items()}
    if r.sized(answer, 2, "a.grad, b.grad"):
        r.equal(
            "a.grad in frame 3", answer[0], shown["a"], "frame 3 goes back through ×: a.grad += b × ab.grad"
        )
        r.equal("b.grad in frame 3", answer[1], shown["b"], "b.grad += a × ab.grad")


@exercise(
    "widest_node",
    "02",
    "(op, number of children) of the node with the most children in notebook 2's MLP(4, [8, 8, 1]) loss",
    answer=("dot", 18),
    notes="Each Linear output is one dot node over [x, 1] and [w, b]: 2·(8 + 1) children for 8 inputs:",
)
def _widest_node(answer: Any, r: Report) -> None:
    random.seed(0)
    mlp = nn.MLP(4, [8, 8, 1])
    loss = (mlp(Tensor.randn(8, 4, seed=0)) ** 2).mean()
    widest = max(topological_order(loss.values()[0]), key=lambda v: len(v.children))
    if r.sized(answer, 2, "op, children"):
        r.equal("the op of the widest node", answer[0], widest.op, "look at how nn.Linear computes an output")
        r.equal(
            "its number of children",
            answer[1],
            len(widest.children),
            "a dot node over n pairs has 2n children: the xs, then the ws",
        )
