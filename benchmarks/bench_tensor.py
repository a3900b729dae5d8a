"""Tensor benchmark: forward + backward of a 32×32 @ 32×32 product and of a 2-layer MLP on a batch,
in one run, for

- puretorch_scalar's `Tensor` (one `dot` node per output element),
- the same computation written micrograd's way (binary + and * nodes) on puretorch_scalar's `Value`,
- micrograd itself (pip's `micrograd`, the `bench` extra), and
- hand-written plain-float code (the forward and the backward by hand: the floor).

Every variant computes the same scalar loss (the sum of the product's entries; the mean squared
output of the MLP) and backpropagates from it. Run: `python benchmarks/bench_tensor.py`.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sys
import time
from collections.abc import Callable

from puretorch_scalar import Tensor, Value

try:
    from micrograd.engine import Value as MGValue
except ImportError:  # the table then leaves micrograd out
    MGValue = None

N = 32  # the product is N×N @ N×N
BATCH, NIN, HIDDEN, NOUT = 32, 16, 32, 4  # the MLP: NIN → HIDDEN (relu) → NOUT, on BATCH samples


def matrix(rows: int, cols: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.gauss(0.0, 1.0) for _ in range(cols)] for _ in range(rows)]


A, B = matrix(N, N, 1), matrix(N, N, 2)
X = matrix(BATCH, NIN, 3)
W1, B1 = matrix(NIN, HIDDEN, 4), matrix(1, HIDDEN, 5)[0]
W2, B2 = matrix(HIDDEN, NOUT, 6), matrix(1, NOUT, 7)[0]


# -- the product --------------------------------------------------------------------------------


def matmul_tensor() -> float:
    a, b = Tensor(A), Tensor(B)
    loss = (a @ b).sum()
    loss.backward()
    return loss.item()


def matmul_binary(value_cls: type) -> Callable[[], None]:
    """out[i][j] = a[i][0]·b[0][j] + a[i][1]·b[1][j] + …: one * and one + node per term."""

    def run() -> float:
        a = [[value_cls(x) for x in row] for row in A]
        b = [[value_cls(x) for x in row] for row in B]
        total = value_cls(0.0)
        for i in range(N):
            for j in range(N):
                out = value_cls(0.0)
                for k in range(N):
                    out = out + a[i][k] * b[k][j]
                total = total + out
        total.backward()
        return total.data

    return run


def matmul_floats() -> float:
    """loss = Σ (A @ B): ∂loss/∂A[i][k] = Σ_j B[k][j] and ∂loss/∂B[k][j] = Σ_i A[i][k]."""
    out = [[sum(A[i][k] * B[k][j] for k in range(N)) for j in range(N)] for i in range(N)]
    row_sums_b = [sum(row) for row in B]
    col_sums_a = [sum(A[i][k] for i in range(N)) for k in range(N)]
    [[row_sums_b[k] for k in range(N)] for _ in range(N)]  # dA
    [[col_sums_a[k] for _ in range(N)] for k in range(N)]  # dB
    return sum(map(sum, out))


# -- the MLP ------------------------------------------------------------------------------------


def mlp_tensor() -> float:
    w1, b1, w2, b2 = Tensor(W1), Tensor(B1), Tensor(W2), Tensor(B2)
    h = (Tensor(X) @ w1 + b1).relu()  # (BATCH, HIDDEN)
    y = h @ w2 + b2  # (BATCH, NOUT)
    loss = (y * y).mean()
    loss.backward()
    return loss.item()


def mlp_binary(value_cls: type) -> Callable[[], None]:
    """micrograd's neuron: act = Σ wᵢ·xᵢ + b with one * and one + node per input."""

    def layer(xs: list, ws: list, bs: list, relu: bool) -> list:
        outs = []
        for j in range(len(bs)):
            act = bs[j]
            for i in range(len(xs)):
                act = act + ws[i][j] * xs[i]
            outs.append(act.relu() if relu else act)
        return outs

    def run() -> float:
        w1 = [[value_cls(x) for x in row] for row in W1]
        w2 = [[value_cls(x) for x in row] for row in W2]
        b1, b2 = [value_cls(x) for x in B1], [value_cls(x) for x in B2]
        total = value_cls(0.0)
        for x in X:
            for y in layer(layer(x, w1, b1, True), w2, b2, False):
                total = total + y * y
        loss = total * (1.0 / (BATCH * NOUT))
        loss.backward()
        return loss.data

    return run


def mlp_floats() -> float:
    """The same MLP with its backward pass written out by hand."""
    scale, loss = 2.0 / (BATCH * NOUT), 0.0
    gw1 = [[0.0] * HIDDEN for _ in range(NIN)]
    gw2 = [[0.0] * NOUT for _ in range(HIDDEN)]
    gb1, gb2 = [0.0] * HIDDEN, [0.0] * NOUT
    for x in X:
        pre = [B1[j] + sum(W1[i][j] * x[i] for i in range(NIN)) for j in range(HIDDEN)]
        h = [p if p > 0 else 0.0 for p in pre]
        y = [B2[j] + sum(W2[i][j] * h[i] for i in range(HIDDEN)) for j in range(NOUT)]
        loss += sum(v * v for v in y) / (BATCH * NOUT)
        gy = [scale * v for v in y]
        gh = [sum(W2[i][j] * gy[j] for j in range(NOUT)) if pre[i] > 0 else 0.0 for i in range(HIDDEN)]
        for j in range(NOUT):
            gb2[j] += gy[j]
            for i in range(HIDDEN):
                gw2[i][j] += h[i] * gy[j]
        for j in range(HIDDEN):
            gb1[j] += gh[j]
            for i in range(NIN):
                gw1[i][j] += x[i] * gh[j]
    return loss


# -- timing -------------------------------------------------------------------------------------


def best_ms(run: Callable[[], float], repeats: int, expected: float) -> float:
    """Best-of-`repeats` CPU milliseconds (building the leaves included), after checking that
    `run` computes the same loss as the other implementations."""
    loss = run()
    if not math.isclose(loss, expected, rel_tol=1e-9, abs_tol=1e-9):
        raise AssertionError(f"{run.__qualname__} computed loss {loss!r}, expected {expected!r}")
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.process_time()
        run()
        best = min(best, time.process_time() - t0)
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sys.setrecursionlimit(20_000)  # micrograd's backward recurses once per node of the deepest chain

    variants = [
        ("puretorch_scalar `Tensor` (dot nodes)", matmul_tensor, mlp_tensor),
        ("puretorch_scalar `Value`, binary nodes", matmul_binary(Value), mlp_binary(Value)),
    ]
    if MGValue is not None:
        variants.append(("micrograd 0.1.0 (binary nodes)", matmul_binary(MGValue), mlp_binary(MGValue)))
    variants.append(("plain floats (hand-written)", matmul_floats, mlp_floats))
    expected = matmul_floats(), mlp_floats()
    times = [
        (name, best_ms(mm, args.repeats, expected[0]), best_ms(mlp, args.repeats, expected[1]))
        for name, mm, mlp in variants
    ]
    reference = dict((name, (mm, mlp)) for name, mm, mlp in times).get("micrograd 0.1.0 (binary nodes)")

    print(
        f"forward + backward, best of {args.repeats}, CPU time: {N}×{N} @ {N}×{N} product; "
        f"MLP {NIN}→{HIDDEN}→{NOUT} (relu) on a batch of {BATCH}\n"
    )
    print("| implementation | matmul ms | vs micrograd | MLP ms | vs micrograd |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, mm, mlp in times:
        ratios = (f"{reference[0] / mm:.1f}×", f"{reference[1] / mlp:.1f}×") if reference else ("n/a", "n/a")
        print(f"| {name} | {mm:.1f} | {ratios[0]} | {mlp:.1f} | {ratios[1]} |")


if __name__ == "__main__":
    main()
