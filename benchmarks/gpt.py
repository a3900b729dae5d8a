"""GPT benchmark: the microgpt-sized GPT trained on first names, one name per step.

1. The full run: `puretorch_scalar.models.GPT` (4,192 parameters) trained with `models.train`
   for `--steps` steps (default 1,000, microgpt's schedule: Adam, lr 0.01 decaying linearly to 0,
   betas (0.85, 0.99)): CPU seconds per step and for 1,000 steps, and the loss at the start and
   at the end.
2. Side by side, in the same run: the same model from the same weights trained on the same first
   `--compare-steps` names, five ways:
   - puretorch_scalar's `GPT` (Tensor ops: one `dot` node per row of every matrix product);
   - microgpt's design: scalar code in which every + and * is its own node, the positions
     processed one after the other with a cache of keys and values, on a `Value` that stores its
     local derivatives when it is made. microgpt is a single script, not a package, so this is
     its design re-written here, not its code;
   - the same scalar code on puretorch_scalar's `Value`;
   - the same scalar code on micrograd's `Value` (pip's `micrograd`, the `bench` extra), given the
     exp and log it lacks;
   - plain floats: the forward and backward passes written out by hand (the floor), in
     `puretorch_scalar.manual` (notebook 00b derives them).
   All five must compute the same first loss, and the hand-written gradients must equal the
   engine's (both checked).

Times are CPU time (`time.process_time`) of one process. Run:
`python benchmarks/gpt.py [--steps 1000] [--compare-steps 20]`.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable

from puretorch_scalar import Value, data, manual
from puretorch_scalar.models import GPT, CharTokenizer, GPTConfig, train

try:
    from micrograd.engine import Value as MGValue
except ImportError:  # the table then leaves micrograd out
    MGValue = None

LR, BETAS, EPS = 0.01, (0.85, 0.99), 1e-5  # Adam's lr and betas; RMSNorm's eps
C, D = 16, 4  # embedding width, head width (4 heads)
SCALE = 1 / math.sqrt(D)
Matrix = manual.Matrix
Step = Callable[[list[int], float], float]  # (tokens, lr) -> the loss, after one Adam step


class Adam:
    """PyTorch's Adam (microgpt's update) on a flat list of floats, for the versions without optim."""

    def __init__(self, n: int) -> None:
        self.m, self.v, self.t = [0.0] * n, [0.0] * n, 0

    def update(self, params: list[float], grads: list[float], lr: float) -> list[float]:
        self.t += 1
        (b1, b2), m, v = BETAS, self.m, self.v
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        out = []
        for i, (p, g) in enumerate(zip(params, grads)):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            out.append(p - lr * (m[i] / c1) / (math.sqrt(v[i] / c2) + 1e-8))
        return out


# -- microgpt's way: every + and * a node, one position at a time ------------------------------


def scalar_gpt(weights: dict[str, Matrix], value: type) -> Step:
    """The GPT in scalar code on Values of class `value`: each position t is run through the
    model once, appending its key and value to a cache that later positions attend over."""
    W = {name: [[value(x) for x in row] for row in m] for name, m in weights.items()}
    params = [p for m in W.values() for row in m for p in row]
    adam = Adam(len(params))

    def linear(w: list, x: list) -> list:
        return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]

    def rmsnorm(x: list) -> list:
        scale = (sum(xi * xi for xi in x) / len(x) + EPS) ** -0.5
        return [xi * scale for xi in x]

    def softmax(z: list) -> list:
        top = max(zi.data for zi in z)
        exps = [(zi - top).exp() for zi in z]
        total = sum(exps)
        return [e / total for e in exps]

    def step(tokens: list[int], lr: float) -> float:
        keys, values, losses = [], [], []
        for t in range(len(tokens) - 1):
            x = rmsnorm([a + b for a, b in zip(W["wte"][tokens[t]], W["wpe"][t])])
            h = rmsnorm(x)
            q = linear(W["query"], h)
            keys.append(linear(W["key"], h))
            values.append(linear(W["value"], h))
            att = []
            for lo in range(0, C, D):
                weights = softmax([sum(q[i] * k[i] for i in range(lo, lo + D)) * SCALE for k in keys])
                att += [sum(w * v[i] for w, v in zip(weights, values)) for i in range(lo, lo + D)]
            x = [a + b for a, b in zip(linear(W["proj"], att), x)]
            hidden = [f.relu() for f in linear(W["fc1"], rmsnorm(x))]
            x = [a + b for a, b in zip(linear(W["fc2"], hidden), x)]
            probs = softmax(linear(W["lm_head"], x))
            losses.append(-probs[tokens[t + 1]].log())
        loss = sum(losses) * (1 / len(losses))
        loss.backward()
        for p, new in zip(params, adam.update([p.data for p in params], [p.grad for p in params], lr)):
            p.data, p.grad = new, 0.0
        return loss.data

    return step


class MicroValue:
    """A scalar Value in microgpt's design, written here: each node stores its local derivatives
    when it is made, so backward is one loop (child.grad += local · grad) with no closures."""

    __slots__ = ("data", "grad", "children", "local_grads")

    def __init__(self, data: float, children: tuple = (), local_grads: tuple = ()) -> None:
        self.data, self.grad, self.children, self.local_grads = data, 0.0, children, local_grads

    def __add__(self, other: MicroValue | float) -> MicroValue:
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        return MicroValue(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other: MicroValue | float) -> MicroValue:
        other = other if isinstance(other, MicroValue) else MicroValue(other)
        return MicroValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k: float) -> MicroValue:
        return MicroValue(self.data**k, (self,), (k * self.data ** (k - 1),))

    def exp(self) -> MicroValue:
        e = math.exp(self.data)
        return MicroValue(e, (self,), (e,))

    def log(self) -> MicroValue:
        return MicroValue(math.log(self.data), (self,), (1 / self.data,))

    def relu(self) -> MicroValue:
        return MicroValue(max(self.data, 0.0), (self,), (float(self.data > 0),))

    __radd__, __rmul__ = __add__, __mul__

    def __neg__(self) -> MicroValue:
        return self * -1.0

    def __sub__(self, other: MicroValue | float) -> MicroValue:
        return self + -other

    def __truediv__(self, other: MicroValue) -> MicroValue:
        return self * other**-1

    def backward(self) -> None:
        order, seen = [], set()

        def visit(v: MicroValue) -> None:  # recursive depth-first search
            if v not in seen:
                seen.add(v)
                for child in v.children:
                    visit(child)
                order.append(v)

        visit(self)
        self.grad = 1.0
        for v in reversed(order):
            for child, local in zip(v.children, v.local_grads):
                child.grad += local * v.grad


def _exp(self: MGValue) -> MGValue:
    out = MGValue(math.exp(self.data), (self,), "exp")

    def _backward() -> None:
        self.grad += out.data * out.grad

    out._backward = _backward
    return out


def _log(self: MGValue) -> MGValue:
    out = MGValue(math.log(self.data), (self,), "log")

    def _backward() -> None:
        self.grad += out.grad / self.data

    out._backward = _backward
    return out


# -- plain floats: the backward pass by hand (puretorch_scalar.manual, derived in notebook 00b) --


def floats_gpt(weights: dict[str, Matrix]) -> Step:
    W = {name: [list(row) for row in m] for name, m in weights.items()}
    adam = Adam(sum(len(row) for m in W.values() for row in m))

    def step(tokens: list[int], lr: float) -> float:
        loss, G = manual.gpt_loss_and_grads(W, tokens, n_head=C // D, eps=EPS)
        flat = adam.update(
            [x for m in W.values() for row in m for x in row],
            [g for m in G.values() for row in m for g in row],
            lr,
        )
        for m in W.values():
            for row in m:
                row[:], flat = flat[: len(row)], flat[len(row) :]
        return loss

    return step


# -- running -----------------------------------------------------------------------------------


def setup(seed: int) -> tuple[CharTokenizer, list[list[int]]]:
    """The names in microgpt's way: shuffled with a seed, each encoded as [BOS, letters…, BOS]."""
    names = data.load_names()
    random.Random(seed).shuffle(names)
    tokenizer = CharTokenizer(names)
    return tokenizer, [tokenizer.encode(name) for name in names]


def new_model(vocab_size: int, seed: int) -> GPT:
    random.seed(seed)
    return GPT(GPTConfig(vocab_size))


def check_gradients(model: GPT, tokens: list[int]) -> None:
    """The hand-written backward pass must agree with the engine's, element by element."""
    loss = model.loss(tokens)
    model.zero_grad()
    loss.backward()
    params = dict(model.named_parameters())
    floats_loss, G = manual.gpt_loss_and_grads(manual.gpt_weights(model), tokens, n_head=C // D, eps=EPS)
    assert math.isclose(floats_loss, loss.item(), rel_tol=1e-12), (floats_loss, loss.item())
    for short, name in manual.GPT_NAMES.items():
        for ours, theirs in zip(sum(params[name].grad, []), sum(G[short], [])):
            assert math.isclose(ours, theirs, rel_tol=1e-8, abs_tol=1e-12), (name, ours, theirs)
    model.zero_grad()


def timed(step: Step, docs: list[list[int]]) -> tuple[float, list[float]]:
    """CPU seconds per step, and the losses, training on docs with microgpt's schedule."""
    t0 = time.process_time()
    losses = [step(tokens, LR * (1 - i / len(docs))) for i, tokens in enumerate(docs)]
    return (time.process_time() - t0) / len(docs), losses


def timed_train(model: GPT, docs: list[list[int]], steps: int) -> tuple[float, list[float]]:
    """The same for puretorch_scalar's GPT, trained by `models.train` (the same schedule)."""
    t0 = time.process_time()
    losses = train(model, docs, steps)
    return (time.process_time() - t0) / steps, losses


def full_run(tokenizer: CharTokenizer, docs: list[list[int]], steps: int, seed: int) -> None:
    model = new_model(tokenizer.vocab_size, seed)
    per_step, losses = timed_train(model, docs, steps)
    k = min(50, steps)
    rows = [
        ("parameters", f"{sum(p.size for p in model.parameters()):,}"),
        ("seconds per step", f"{per_step:.4f}"),
        (f"seconds for {steps:,} steps", f"{per_step * steps:.1f}"),
        *([("seconds for 1,000 steps (extrapolated)", f"{per_step * 1000:.1f}")] if steps != 1000 else []),
        ("loss, first step", f"{losses[0]:.3f}"),
        (f"loss, mean of the first {k} steps", f"{sum(losses[:k]) / k:.3f}"),
        (f"loss, mean of the last {k} steps", f"{sum(losses[-k:]) / k:.3f}"),
    ]
    print(f"## puretorch_scalar GPT on names: {steps:,} steps, one name per step (CPU time)\n")
    print("| | |\n| --- | ---: |")
    for name, value in rows:
        print(f"| {name} | {value} |")


def side_by_side(tokenizer: CharTokenizer, docs: list[list[int]], seed: int) -> None:
    model = new_model(tokenizer.vocab_size, seed)
    check_gradients(model, docs[0])
    weights = manual.gpt_weights(model)
    variants: dict[str, Callable[[], tuple[float, list[float]]]] = {
        "puretorch_scalar `GPT` (Tensor ops, dot nodes)": lambda: timed_train(model, docs, len(docs)),
        "microgpt's design: scalar code, binary nodes, KV cache": lambda: timed(
            scalar_gpt(weights, MicroValue), docs
        ),
        "the same scalar code on puretorch_scalar `Value`": lambda: timed(scalar_gpt(weights, Value), docs),
    }
    if MGValue is not None:
        MGValue.exp, MGValue.log = _exp, _log  # microgpt's Value does exp and log; micrograd's does not
        variants["the same scalar code on micrograd 0.1.0 `Value`"] = lambda: timed(
            scalar_gpt(weights, MGValue), docs
        )
    variants["plain floats (backward by hand)"] = lambda: timed(floats_gpt(weights), docs)
    results = {name: run() for name, run in variants.items()}
    first = results["puretorch_scalar `GPT` (Tensor ops, dot nodes)"][1][0]
    for name, (_, losses) in results.items():  # the same model from the same weights
        assert math.isclose(losses[0], first, rel_tol=1e-9), (name, losses[0], first)

    reference = results["microgpt's design: scalar code, binary nodes, KV cache"][0]
    print(f"\n## Side by side: the same model from the same weights, the first {len(docs)} names\n")
    print("| implementation | ms / step (= s / 1,000 steps) | speed vs microgpt | mean loss |")
    print("| --- | ---: | ---: | ---: |")
    for name, (per_step, losses) in results.items():
        mean = sum(losses) / len(losses)
        print(f"| {name} | {per_step * 1e3:.1f} | {reference / per_step:.2f}× | {mean:.6f} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=1000, help="steps of the full run (microgpt: 1,000)")
    parser.add_argument("--compare-steps", type=int, default=20, help="steps of each side-by-side run")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    sys.setrecursionlimit(100_000)  # the scalar versions' backward recurses once per node of the deepest path
    tokenizer, docs = setup(args.seed)
    full_run(tokenizer, docs, args.steps, args.seed)
    if args.compare_steps:
        side_by_side(tokenizer, docs[: args.compare_steps], args.seed)


if __name__ == "__main__":
    main()
