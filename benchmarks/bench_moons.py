"""micrograd's demo, one training step, three ways in one run:

- puretorch_scalar: `nn.MLP`, `F.hinge_loss` + 1e-4·`F.l2_penalty`, `optim.SGD`;
- micrograd itself (pip's `micrograd`, the `bench` extra), with the step of its demo notebook;
- plain floats: the same forward and backward written out by hand (the floor), in
  `puretorch_scalar.manual` (notebook 00b derives them).

A step is micrograd's: the MLP(2, [16, 16, 1]) on all 100 moons points, the hinge loss
mean(relu(1 − y·s)) + 1e-4·Σp², backward, and p ← p − lr·∂L/∂p. All three start from the same
weights and must compute the same loss (checked). Then the demo is trained end to end (100
steps with `fit`). Run: `python benchmarks/bench_moons.py [--steps N] [--repeats N]`.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
from collections.abc import Callable

from puretorch_scalar import Tensor, data, manual, nn, optim
from puretorch_scalar.demo import micrograd_mlp, train_like_micrograd
from puretorch_scalar.nn import functional as F
from puretorch_scalar.train import evaluate

try:
    from micrograd.engine import Value as MGValue
    from micrograd.nn import MLP as MGMLP
except ImportError:  # the table then leaves micrograd out
    MGMLP = None

ALPHA, LR = 1e-4, 0.5  # the L2 strength of the demo; one fixed learning rate for the timed steps
X, LABELS = data.make_moons(100, noise=0.1, seed=0)
Y = [2 * t - 1 for t in LABELS]


def puretorch_step(model: nn.Module) -> Callable[[], float]:
    opt = optim.SGD(model.parameters(), lr=LR)

    def step() -> float:
        loss = F.hinge_loss(model(Tensor(X)), Y) + ALPHA * F.l2_penalty(model.parameters())
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def micrograd_step(layers: list[tuple[list, list]]) -> Callable[[], float]:
    """The step of micrograd's demo.ipynb, on a micrograd MLP holding `layers`' weights."""
    model = MGMLP(2, [16, 16, 1])
    for layer, (W, b) in zip(model.layers, layers):
        for neuron, row, bias in zip(layer.neurons, W, b):
            for w, value in zip(neuron.w, row):
                w.data = value
            neuron.b.data = bias

    def step() -> float:
        inputs = [list(map(MGValue, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(Y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        model.zero_grad()
        total_loss.backward()
        for p in model.parameters():
            p.data -= LR * p.grad
        return total_loss.data

    return step


def floats_step(layers: list[tuple[list, list]]) -> Callable[[], float]:
    """The same step by hand: `manual.mlp_loss_and_grads` (the forward pass per sample, then
    the backward pass layer by layer, notebook 00b), then the update p ← p − lr·∂L/∂p."""
    Ws = [[list(row) for row in W] for W, _ in layers]
    Bs = [list(b) for _, b in layers]

    def step() -> float:
        loss, gW, gB = manual.mlp_loss_and_grads(Ws, Bs, X, Y, ALPHA)
        for W, b, gWl, gBl in zip(Ws, Bs, gW, gB):
            for j, row in enumerate(W):
                W[j] = [w - LR * g for w, g in zip(row, gWl[j])]
                b[j] -= LR * gBl[j]
        return loss

    return step


def ms_per_step(step: Callable[[], float], steps: int, repeats: int) -> float:
    """CPU milliseconds per step of a run of `steps` consecutive steps, as in a training loop
    (the garbage collector on, clearing earlier steps' graphs as it does in training); the best
    of `repeats` runs."""
    best = math.inf
    for _ in range(repeats):
        gc.collect()
        t0 = time.process_time()
        for _ in range(steps):
            step()
        best = min(best, (time.process_time() - t0) / steps)
    return best * 1e3


def train_demo() -> tuple[float, float]:
    """micrograd's demo end to end with `fit`: (CPU seconds, final training accuracy)."""
    model = micrograd_mlp(seed=0)
    t0 = time.process_time()
    train_like_micrograd(model, X, Y)
    return time.process_time() - t0, evaluate(model, nn.HingeLoss(), X, Y)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=5, help="consecutive steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per implementation (best counts)")
    args = parser.parse_args()
    sys.setrecursionlimit(20_000)  # micrograd's backward recurses once per node of the deepest path

    model = micrograd_mlp(seed=0)
    layers = [(m.weight.tolist(), m.bias.tolist()) for m in model.modules() if isinstance(m, nn.Linear)]
    steps = [("puretorch_scalar", puretorch_step(model))]
    if MGMLP is not None:
        steps.append(("micrograd 0.1.0", micrograd_step(layers)))
    steps.append(("plain floats (hand-written)", floats_step(layers)))

    first = {name: step() for name, step in steps}  # the same weights: the same loss
    for name, loss in first.items():
        if not math.isclose(loss, first["puretorch_scalar"], rel_tol=1e-9):
            raise AssertionError(
                f"{name} computed loss {loss!r}, puretorch_scalar {first['puretorch_scalar']!r}"
            )
    # A step alone (its own graph only) and a step inside a training loop, where the garbage
    # collector also clears the graphs of earlier steps: micrograd's closures make those cyclic.
    alone = {name: ms_per_step(step, 1, args.repeats + 2) for name, step in steps}
    loop = {name: ms_per_step(step, args.steps, args.repeats) for name, step in steps}

    print("one step of micrograd's demo: MLP 2-16-16-1, 100 moons points, hinge + L2, SGD")
    print(f"CPU ms per step, alone and in a loop of {args.steps} steps (best of a few runs)\n")
    print("| implementation | step alone | step in a loop | in a loop, relative to puretorch_scalar |")
    print("| --- | ---: | ---: | ---: |")
    for name, ms in loop.items():
        print(f"| {name} | {alone[name]:.1f} | {ms:.1f} | {ms / loop['puretorch_scalar']:.2f}× |")
    print()
    for label, times in (("alone", alone), ("in a loop", loop)):
        ours, floats = times["puretorch_scalar"], times["plain floats (hand-written)"]
        vs_micrograd = (
            f"{times['micrograd 0.1.0'] / ours:.1f}× faster than micrograd (target ≥ 30×), " if MGMLP else ""
        )
        print(f"{label}: {vs_micrograd}{ours / floats:.2f}× the hand-written floats' time (target ≤ 4×)")

    seconds, accuracy = train_demo()
    print(f"\nmicrograd's demo end to end (100 steps, lr 1.0 → 0.1, `fit`): {seconds:.1f} s CPU,")
    print(f"training accuracy {accuracy:.0%}")


if __name__ == "__main__":
    main()
