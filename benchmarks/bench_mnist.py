"""MNIST, the 5,000 real digits shipped with the package (4,000 to train on, 1,000 to test on):
an MLP and a small CNN trained with Adam, and one MLP step against hand-written floats.

1. The MLP 784-32-10 (ReLU), Adam with the learning rate falling linearly from 0.005 to 0 over
   the run, batches of 32 (as notebook 11 trains it): per epoch, training CPU seconds, training
   loss and accuracy, test accuracy; then seconds per epoch and the training time until the
   test accuracy first reaches 90 % (target: ≥ 90 % within 2 minutes).
2. The CNN of notebook 11: conv 5×5 stride 2 (1 → 8 channels, 28×28 → 12×12), ReLU, conv 3×3
   stride 2 (8 → 16, → 5×5), ReLU, dropout 0.25, Linear 400 → 10. The same table; target ≥ 95 %
   within 10 minutes.
3. One MLP training step on a batch of 32 (forward, cross-entropy, backward, Adam), from the same
   weights, three ways: the engine with the images as data (`Tensor(X, requires_grad=False)`,
   as `fit` makes them), the engine with images that require gradients (`Tensor(X)`, the
   default: backward also computes ∂loss/∂pixel), and the same arithmetic hand-written on
   floats (`manual.mlp_cross_entropy_loss_and_grads` and Adam written out; no gradient for the
   pixels). All three must compute the same losses over their first steps (checked). Target:
   the engine with data inputs within 2.5× the floats' time.
4. The graph of one image in a training step: its edges (node → child pairs) and the CPU time
   per edge, for both models.

CPU time (`time.process_time`); training time excludes testing. Steps run with Python's cycle
collector paused, as `fit` runs them. Run:
`python benchmarks/bench_mnist.py [--quick] [--mlp-epochs N] [--cnn-epochs N] [--repeats N]`;
`--quick` trains one epoch of each model on 500 images (a smoke test of the script, not a result).
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import time
from collections.abc import Callable

from bench_digits import fit_epochs

from puretorch_scalar import Tensor, data, manual, nn, optim
from puretorch_scalar.engine import topological_order
from puretorch_scalar.nn import functional as F

BETAS, EPS = (0.9, 0.999), 1e-8
MLP_LR, MLP_EPOCHS = 5e-3, 4
CNN_LR, CNN_EPOCHS = 5e-3, 6
STEP_LR = 1e-3  # the learning rate of the timed steps
BATCH = 32


class CNN(nn.Module):
    """Notebook 11's CNN: rows of 784 pixels → (N, 1, 28, 28) → conv 5×5/2 → 8×12×12 → ReLU →
    conv 3×3/2 → 16×5×5 → ReLU → flatten (400) → dropout 0.25 → Linear → 10 logits."""

    def __init__(self) -> None:
        self.conv1 = nn.Conv2d(1, 8, 5, stride=2)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2)
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(400, 10)

    def forward(self, x: Tensor) -> Tensor:
        x = x.reshape(-1, 1, 28, 28)
        x = self.conv1(x).relu()
        x = self.conv2(x).relu()
        return self.fc(self.drop(x.flatten(1)))


def train(
    name: str, model: nn.Module, lr: float, epochs: int, goal: tuple[float, float], X, y, X_test, y_test
) -> None:
    """Trains `model` epoch by epoch with `fit` (Adam, the learning rate decaying linearly from `lr`
    to 0 over the run), printing a table; then s/epoch and the training time until the test
    accuracy first reaches `goal` = (accuracy, within so many seconds)."""
    target, limit = goal
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    n_params = sum(p.size for p in model.parameters())
    per_epoch = math.ceil(len(X) / BATCH)
    print(
        f"\n### {name}: {n_params:,} parameters; Adam lr {lr} → 0 over {epochs} epochs, batches of {BATCH}\n"
    )
    total, reached, test_accuracy = fit_epochs(
        model, loss_fn, optimizer, (X, y), (X_test, y_test), epochs, BATCH, target,
        lr_schedule_of=lambda epoch: lambda step, first=epoch * per_epoch: (
            lr * (1 - (first + step) / (epochs * per_epoch))
        ),
    )  # fmt: skip
    print(f"\n{name}: {total / epochs:.1f} s per epoch, {total:.1f} s in all", end="; ")
    print(f"final test accuracy {test_accuracy:.1%}")
    if reached is None:
        print(f"{name}: test accuracy did not reach {target:.0%} in {epochs} epoch{'s' * (epochs != 1)}")
    else:
        verdict = "met" if reached <= limit else "missed"
        print(f"{name}: {target:.0%} test accuracy after {reached:.1f} s of training", end=" ")
        print(f"(target ≤ {limit:.0f} s: {verdict})")


# -- one MLP step, three ways ------------------------------------------------------------------


def engine_step(model: nn.Module, batches: list, requires_grad: bool) -> Callable[[int], float]:
    optimizer = optim.Adam(model.parameters(), lr=STEP_LR, betas=BETAS, eps=EPS)

    def step(k: int) -> float:
        Xb, yb = batches[k % len(batches)]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(Tensor(Xb, requires_grad=requires_grad)), yb)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def floats_step(layers: list[tuple[list, list]], batches: list) -> Callable[[int], float]:
    """The same step by hand: `manual.mlp_cross_entropy_loss_and_grads`, then Adam as
    `optim.Adam` computes it (PyTorch's order: θ − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)),
    one row of a weight matrix at a time."""
    Ws = [[list(row) for row in W] for W, _ in layers]
    Bs = [list(b) for _, b in layers]
    params = [row for W in Ws for row in W] + Bs  # every row of numbers that Adam updates
    ms = [[0.0] * len(row) for row in params]
    vs = [[0.0] * len(row) for row in params]
    (b1, b2), t = BETAS, [0]

    def step(k: int) -> float:
        Xb, yb = batches[k % len(batches)]
        loss, gW, gB = manual.mlp_cross_entropy_loss_and_grads(Ws, Bs, Xb, yb)
        grads = [row for G in gW for row in G] + gB
        t[0] += 1
        step_size, root_bias2 = STEP_LR / (1 - b1 ** t[0]), math.sqrt(1 - b2 ** t[0])
        for p, g, m, v in zip(params, grads, ms, vs):
            m[:] = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
            v[:] = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
            p[:] = [pi - step_size * mi / (math.sqrt(vi) / root_bias2 + EPS) for pi, mi, vi in zip(p, m, v)]
        return loss

    return step


def ms_per_step(step: Callable[[int], float], steps: int, repeats: int) -> float:
    """CPU milliseconds per step of `steps` consecutive steps (on consecutive batches), with the
    cycle collector paused as in `fit`; the best of `repeats` runs."""
    best = math.inf
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            t0 = time.process_time()
            for k in range(steps):
                step(k)
            best = min(best, (time.process_time() - t0) / steps)
        finally:
            gc.enable()
    return best * 1e3


def compare_steps(X, y, steps: int, repeats: int) -> None:
    batches = [(X[i : i + BATCH], y[i : i + BATCH]) for i in range(0, BATCH * steps, BATCH)]
    models = []
    for _ in range(2):
        random.seed(0)  # two engine models from the same weights
        models.append(nn.MLP(784, [32, 10]))
    layers = [(m.weight.tolist(), m.bias.tolist()) for m in models[0].modules() if isinstance(m, nn.Linear)]
    ways = {
        "engine, images as data (requires_grad=False)": engine_step(models[0], batches, False),
        "engine, images require gradients": engine_step(models[1], batches, True),
        "plain floats (hand-written)": floats_step(layers, batches),
    }
    # the same weights and batches: the same losses over three steps (forward, backward and Adam)
    losses = {name: [step(k) for k in range(3)] for name, step in ways.items()}
    reference = losses["engine, images as data (requires_grad=False)"]
    for name, values in losses.items():
        if not all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(values, reference)):
            raise AssertionError(f"{name} computed losses {values}, the engine {reference}")
    times = {name: ms_per_step(step, steps, repeats) for name, step in ways.items()}
    floats = times["plain floats (hand-written)"]
    print(f"\n### One MLP step: 784-32-10, a batch of {BATCH}, cross-entropy, backward, Adam\n")
    print(f"CPU ms per step, best of {repeats} runs of {steps} consecutive steps\n")
    print("| implementation | ms per step | relative to the floats |")
    print("| --- | ---: | ---: |")
    for name, ms in times.items():
        print(f"| {name} | {ms:.1f} | {ms / floats:.2f}× |")
    ours = times["engine, images as data (requires_grad=False)"]
    with_grad = times["engine, images require gradients"]
    print(
        f"\nthe engine with data inputs: {ours / floats:.2f}× the hand-written floats' time (target ≤ 2.5×); "
        f"requires_grad=False saves {1 - ours / with_grad:.0%} of a step ({with_grad:.1f} → {ours:.1f} ms)"
    )


# -- edges per image ---------------------------------------------------------------------------


def edges_per_image(model: nn.Module, image: list[float], label: int) -> int:
    """The node → child pairs of one image's training graph: the model's output and the loss."""
    loss = F.cross_entropy(model(Tensor([image], requires_grad=False)), [label])
    return sum(len(node.children) for node in topological_order(*loss.values()))


def cost_per_edge(name: str, model: nn.Module, X, y, steps: int, repeats: int) -> None:
    edges = edges_per_image(model, X[0], y[0])
    batches = [(X[i : i + BATCH], y[i : i + BATCH]) for i in range(0, BATCH * steps, BATCH)]
    ms = ms_per_step(engine_step(model, batches, False), steps, repeats)
    per_image = ms / 1e3 / BATCH
    print(
        f"| {name} | {edges:,} | {per_image * 1e3:.2f} | {per_image / edges * 1e6:.3f} | "
        f"{per_image * len(X):.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mlp-epochs", type=int, default=MLP_EPOCHS)
    parser.add_argument("--cnn-epochs", type=int, default=CNN_EPOCHS)
    parser.add_argument("--steps", type=int, default=5, help="consecutive steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per implementation (best counts)")
    parser.add_argument("--quick", action="store_true", help="one epoch of each on 500 images: a smoke test")
    args = parser.parse_args()

    X, y = data.load_mnist("train")
    X_test, y_test = data.load_mnist("test")
    mlp_epochs, cnn_epochs = args.mlp_epochs, args.cnn_epochs
    if args.quick:
        X, y, mlp_epochs, cnn_epochs = X[:500], y[:500], 1, 1
    print(f"MNIST: {len(X):,} training and {len(X_test):,} test images of 28×28 pixels")
    print("CPU time of training (testing not counted)")

    random.seed(0)
    train("MLP 784-32-10", nn.MLP(784, [32, 10]), MLP_LR, mlp_epochs, (0.90, 120), X, y, X_test, y_test)
    random.seed(0)
    train("CNN", CNN(), CNN_LR, cnn_epochs, (0.95, 600), X, y, X_test, y_test)

    compare_steps(X, y, args.steps, args.repeats)

    print("\n### The graph of one image in a training step\n")
    print(f"| model | edges per image | ms per image | µs per edge | s per epoch ({len(X):,} images) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    random.seed(0)
    cost_per_edge("MLP 784-32-10", nn.MLP(784, [32, 10]), X, y, args.steps, args.repeats)
    random.seed(0)
    cost_per_edge("CNN", CNN(), X, y, 2, args.repeats)


if __name__ == "__main__":
    main()
